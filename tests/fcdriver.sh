#!/bin/sh
# The Firecracker driver end to end, where no Firecracker can run: pyrod
# (vmm = firecracker) -> pyro-vmhelper -> the jail it builds -> a jailer
# peer (tests/fcjailer.py: the jailer's documented options, layout and pid
# file) -> a Firecracker peer (tests/fcpeer.py: the API as Firecracker
# answers it, every body checked against Firecracker's published API
# description, the hybrid vsock) whose "guest" is the VM's own disk mounted
# with the real pyro-agent as PID 1.  A one-shot run and a workspace (seed,
# exec, stop, start, a file kept on the disk, delete) pass through it with
# execution_mode guest_vsock; doctor names Firecracker; an environment
# without vsock is refused; a jailer that exits at once, an API error, a
# socket that never appears, a vsock answer that is garbage and a guest
# that never boots give clear errors; and no jail directory, cgroup,
# process or loop device is left, the disk is root's again.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
need_fc_api
command -v unshare >/dev/null || { echo "SKIP: needs unshare"; exit 77; }
grep -q '"vmms":\[[^]]*"firecracker"' "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" ||
    { echo "SKIP: the test environment has no vsock (rebuild: scripts/test-envs.sh)"; exit 77; }
n=0

mkdir -p "$TMP/bin"
printf 'not a real Firecracker: the jailer peer starts tests/fcpeer.py\n' \
    >"$TMP/bin/firecracker"
chmod 0755 "$TMP/bin/firecracker"
echo normal >"$TMP/fcmode"
cat >"$TMP/bin/jailer" <<EOF
#!/bin/sh
exec $py "$PYRO_SRCDIR/tests/fcjailer.py" --yaml "$yaml" --log "$TMP/fc.log" \
    --agent "$PYRO_BUILDDIR/pyro-agent" --mode "\$(cat "$TMP/fcmode")" -- "\$@"
EOF
chmod 0755 "$TMP/bin/jailer"
cat >"$TMP/pyrod.conf" <<EOF
vmm = firecracker
firecracker_path = $TMP/bin/firecracker
jailer_path = $TMP/bin/jailer
boot_timeout_seconds = 8
EOF
export PYRO_TEST_FIRECRACKER_WITHOUT_KVM=1
start_pyrod -f "$TMP/pyrod.conf"
export PYRO_SOCKET="$TMP/pyrod.sock"

leftovers() {
	[ -z "$(ls -A "$TMP/state/jail/firecracker" 2>/dev/null)" ] ||
	    fail "$1: a jail is left: $(ls "$TMP/state/jail/firecracker")"
	! pgrep -f "fcpeer.py.*$TMP/state" >/dev/null ||
	    fail "$1: a Firecracker peer is left"
	[ "$(losetup -a | grep -c "$TMP/state" || true)" = 0 ] ||
	    fail "$1: a loop device is left"
	if [ -n "${2:-}" ]; then
		for _ in $(seq 30); do	# removed once the VMM is reaped
			[ -z "$(ls -d /sys/fs/cgroup/*/pyro/"$2" /sys/fs/cgroup/pyro/"$2" 2>/dev/null)" ] && return 0
			sleep 0.1
		done
		fail "$1: the cgroup of $2 is left"
	fi
}

# ---- 1. doctor names the driver ----
pyro doctor >"$TMP/doctor" || fail "doctor"
grep -q '^VMM:          firecracker' "$TMP/doctor" &&
    grep -q '^  why: vmm = firecracker$' "$TMP/doctor" ||
    fail "doctor: $(grep -A3 '^VMM' "$TMP/doctor")"
n=$((n+1)); pass "doctor: Firecracker selected, and why"

# ---- 2. a one-shot run ----
: >"$TMP/fc.log"
pyro run debian:12 -- sh -c 'echo hello from $(cat /etc/hostname); id -u' \
    >"$TMP/run.out" 2>"$TMP/run.err" || fail "run: $(cat "$TMP/run.err")"
vm=$(sed -n 's/.*phase=start vm_id=\([0-9a-f]*\).*/\1/p' "$TMP/run.err" | head -n 1)
[ -n "$vm" ] || fail "no vm id in: $(cat "$TMP/run.err")"
[ "$(cat "$TMP/run.out")" = "hello from pyro
0" ] || fail "run printed: $(cat "$TMP/run.out")"
grep -q '^\[run\] environment=debian:12 execution_mode=guest_vsock exit_code=0 ' \
    "$TMP/run.err" || fail "[run] line: $(cat "$TMP/run.err")"
/usr/bin/python3 - "$TMP/fc.log" <<'PY' || fail "the API conversation: $(cat "$TMP/fc.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
seen = [(r["method"], r["path"]) for r in reqs]
want = [("PUT", "/machine-config"), ("PUT", "/boot-source"),
        ("PUT", "/drives/rootfs"), ("PUT", "/vsock"), ("PUT", "/actions")]
assert seen[:5] == want, seen
assert all(r["status"] == 204 for r in reqs), reqs
assert reqs[0]["body"] == {"vcpu_count": 1, "mem_size_mib": 1024, "smt": False}
assert reqs[1]["body"]["kernel_image_path"] == "/vmlinux"
assert "pyro.channel=vsock" in reqs[1]["body"]["boot_args"]
assert reqs[2]["body"]["path_on_host"] == "/rootfs.ext4"
assert reqs[3]["body"] == {"guest_cid": 3, "uds_path": "/run/firecracker.vsock"}
assert reqs[4]["body"] == {"action_type": "InstanceStart"}
PY
leftovers "after a run" "$vm"
n=$((n+1)); pass "pyro run through the jailer and Firecracker peers: output, guest_vsock, the API in Firecracker's order, nothing left"

# ---- 3. a workspace: its disk persists through stop and start ----
mkdir "$TMP/seed" && echo seeded >"$TMP/seed/a.txt"
ws=$(pyro workspace create debian:12 --seed-path "$TMP/seed") ||
    fail "workspace create"
[ "$(pyro workspace exec "$ws" -- cat a.txt)" = seeded ] || fail "seed"
pyro workspace exec "$ws" -- sh -c 'echo kept >/workspace/b.txt' ||
    fail "exec"
pyro --json workspace status "$ws" | grep -q '"execution_mode":[[:space:]]*"guest_vsock"' ||
    fail "status"
pyro workspace stop "$ws" >/dev/null || fail "stop"
leftovers "after stop" "$ws"
disk="$TMP/state/workspaces/$ws/rootfs.ext4"
[ "$(stat -c %u:%g "$disk")" = 0:0 ] ||
    fail "the disk belongs to $(stat -c %u:%g "$disk") after the run"
e2fsck -fn "$disk" >"$TMP/fsck" 2>&1 || fail "e2fsck: $(tail -5 "$TMP/fsck")"
pyro workspace start "$ws" >/dev/null || fail "start"
[ "$(pyro workspace exec "$ws" -- cat b.txt)" = kept ] ||
    fail "the file written before the stop is gone"
pyro workspace delete "$ws" >/dev/null || fail "delete"
leftovers "after delete" "$ws"
n=$((n+1)); pass "a workspace under Firecracker: seed, exec, stop (disk root's again, e2fsck clean), start (file kept), delete"

# ---- 3b. the helper killed: Firecracker (no parent-death signal) goes too
ws=$(pyro workspace create debian:12) || fail "workspace create (kill)"
# Firecracker's parent is the VM's helper, which adopted it (a child
# subreaper); the peer's guest service is the peer's child.
helper=
for peer in $(pgrep -f "fcpeer.py.*$ws"); do
	p=$(ps -o ppid= -p "$peer" | tr -d ' ')
	[ "$(ps -o comm= -p "$p")" = pyro-vmhelper ] && helper=$p
done
[ -n "$helper" ] || fail "no Firecracker peer adopted by its helper for $ws"
kill -9 "$helper"
for _ in $(seq 100); do	# pyrod cleans up once it reaps the helper
	pgrep -f "fcpeer.py.*$ws" >/dev/null ||
	    [ -n "$(ls -A "$TMP/state/jail/firecracker" 2>/dev/null)" ] || break
	sleep 0.1
done
! pgrep -f "fcpeer.py.*$ws" >/dev/null || fail "Firecracker outlived its helper"
leftovers "after kill -9 of the helper" "$ws"
[ "$(stat -c %u:%g:%a "$TMP/state/workspaces/$ws/rootfs.ext4")" = 0:0:600 ] ||
    fail "the disk after the helper's death: $(stat -c %u:%g:%a "$TMP/state/workspaces/$ws/rootfs.ext4")"
pyro workspace start "$ws" >/dev/null 2>&1 || pyro workspace status "$ws" >/dev/null ||
    fail "the workspace after the helper's death"
pyro workspace delete "$ws" >/dev/null || fail "delete (kill)"
leftovers "after delete (kill)" "$ws"
n=$((n+1)); pass "kill -9 of the helper: Firecracker is ended by its connector, the jail removed, the disk root's 0600"

# ---- 3c. warm start: a template saved through Firecracker's snapshot API,
# restored by a run and a workspace; a snapshot it cannot load: cold ----
T="$TMP/state/templates"
: >"$TMP/fc.log"
pyro --json env warm debian:12 --mem-mib 512 >"$TMP/w1" 2>"$TMP/w1.err" ||
    fail "env warm: $(cat "$TMP/w1" "$TMP/w1.err")"
key=$(ls "$T" | grep -v '^\.' | head -n 1)
[ -n "$key" ] || fail "no template after env warm: $(cat "$TMP/w1")"
$py - "$TMP/w1" "$TMP/fc.log" "$T/$key" <<'PY' || fail "the save: $(cat "$TMP/w1") $(cat "$TMP/fc.log")"
import json, os, stat, sys
res = json.load(open(sys.argv[1]))
assert res["status"] == "made" and res["vmm"] == "firecracker", res
reqs = [json.loads(l) for l in open(sys.argv[2]) if '"method"' in l]
seen = [(r["method"], r["path"]) for r in reqs]
i = seen.index(("PATCH", "/vm"))
assert seen[i:] == [("PATCH", "/vm"), ("PUT", "/snapshot/create")], seen
assert reqs[i]["body"] == {"state": "Paused"}, reqs[i]
assert reqs[i + 1]["body"] == {"snapshot_type": "Full", "snapshot_path":
                               "/vm.state", "mem_file_path": "/vm.mem"}
assert all(r["status"] == 204 for r in reqs), reqs
d = sys.argv[3]
for n, mode, group0 in (("state", 0o640, False), ("memory", 0o640, False),
                        ("rootfs.ext4", 0o600, True)):
    st = os.stat(os.path.join(d, n))
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == mode and \
        (st.st_gid == 0) == group0 and st.st_nlink == 1, (n, st)
assert os.stat(os.path.join(d, "memory")).st_size == 512 << 20
assert res["memory_bytes"] == 512 << 20 and len(res["memory_sha256"]) == 64
PY
leftovers "after env warm"
n=$((n+1)); pass "env warm under Firecracker: PATCH /vm Paused, PUT /snapshot/create into the jail's own files, copied out; the template's state and memory root's 0640, group the jail's, one link each"

: >"$TMP/fc.log"
pyro --json run debian:12 --mem-mib 512 -- sh -c 'echo warm; hostname' \
    >"$TMP/r1" 2>"$TMP/r1.err" || fail "restored run: $(cat "$TMP/r1.err")"
$py - "$TMP/r1" "$TMP/fc.log" <<'PY' || fail "the restore: $(cat "$TMP/r1") $(cat "$TMP/fc.log")"
import json, sys
res = json.load(open(sys.argv[1]))
assert res["boot"] == "restored" and res["stdout"] == "warm\npyro\n", res
assert res["execution_mode"] == "guest_vsock", res
reqs = [json.loads(l) for l in open(sys.argv[2]) if '"method"' in l]
assert [(r["method"], r["path"]) for r in reqs][0] == ("PUT", "/snapshot/load"), reqs
assert reqs[0]["body"] == {"snapshot_path": "/vm.state", "mem_backend":
                           {"backend_type": "File", "backend_path": "/vm.mem"},
                           "resume_vm": True}, reqs[0]
assert not [r for r in reqs if r["path"] in ("/boot-source", "/machine-config")]
PY
leftovers "after a restored run"
ws=$(pyro workspace create debian:12 --mem-mib 512 2>"$TMP/wc.err") ||
    fail "workspace create (warm): $(cat "$TMP/wc.err")"
grep -q 'phase=boot boot=restored' "$TMP/wc.err" || fail "create: $(cat "$TMP/wc.err")"
pyro workspace exec "$ws" -- sh -c 'echo kept >/workspace/w.txt' || fail "exec (warm)"
pyro workspace stop "$ws" >/dev/null || fail "stop (warm)"
e2fsck -fn "$TMP/state/workspaces/$ws/rootfs.ext4" >"$TMP/fsck" 2>&1 ||
    fail "e2fsck (warm): $(tail -5 "$TMP/fsck")"
pyro workspace start "$ws" >/dev/null 2>"$TMP/ws.err" || fail "start (warm)"
[ "$(pyro workspace exec "$ws" -- cat w.txt)" = kept ] || fail "file lost (warm)"
expect_error unsupported pyro workspace fork "$ws"
pyro workspace delete "$ws" >/dev/null || fail "delete (warm)"
leftovers "after a restored workspace" "$ws"
(cd "$T/$key" && $py -c '
import hashlib, json
t = json.load(open("template.json"))
for n, k in (("state", "state_sha256"), ("memory", "memory_sha256")):
    h = hashlib.sha256()
    with open(n, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    assert h.hexdigest() == t[k], n
') || fail "a restore changed the template"
n=$((n+1)); pass "restored under Firecracker: PUT /snapshot/load first and alone, then the agent answers GP_RESUME; a run and a workspace (exec, stop, e2fsck, start) work; the template is unchanged"

# A memory file whose digest was made to match, but Firecracker refuses it.
$py - "$T/$key" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
fd = os.open(os.path.join(d, "memory"), os.O_RDWR)
os.pwrite(fd, b"not guest memory", 0)
h = hashlib.sha256()
os.lseek(fd, 0, 0)
for b in iter(lambda: os.read(fd, 1 << 20), b""):
    h.update(b)
os.close(fd)
t = json.load(open(os.path.join(d, "template.json")))
t["memory_sha256"] = h.hexdigest()
json.dump(t, open(os.path.join(d, "template.json"), "w"))
PY
pyro run debian:12 --mem-mib 512 -- echo ok >"$TMP/r2" 2>"$TMP/r2.err" ||
    fail "run over a refused snapshot: $(cat "$TMP/r2.err")"
grep -q 'boot=restored' "$TMP/r2.err" &&
    grep -q 'boot=cold reason="restoring failed: restoring the VM: Firecracker refused PUT /snapshot/load' \
    "$TMP/r2.err" || fail "refused snapshot: $(cat "$TMP/r2.err")"
[ "$(cat "$TMP/r2")" = ok ] || fail "refused snapshot: $(cat "$TMP/r2")"
[ ! -e "$T/$key" ] || fail "a template Firecracker refused was kept"
leftovers "after a refused snapshot"
n=$((n+1)); pass "a snapshot Firecracker refuses: a cold boot in a new jail, the template removed, nothing left"

# ---- 4. failure paths: clear errors, nothing left ----
fails() {	# MODE CODE TEXT
	echo "$1" >"$TMP/fcmode"
	expect_error "$2" pyro run debian:12 -- true
	grep -q "$3" "$TMP/xe" || fail "$1: wanted \"$3\" in: $(cat "$TMP/xe")"
	leftovers "after $1"
	n=$((n+1)); pass "$1: $2 ($3); nothing left"
}
fails jailer-exits helper_failed 'the jailer exited with status 1'
fails fail-boot-source helper_failed 'Firecracker refused PUT /boot-source: Kernel file cannot be opened'
fails no-socket helper_failed "Firecracker's API socket did not appear"
fails vsock-garbage guest_boot_failed 'did not boot in time'
fails no-boot guest_boot_failed 'did not boot in time'
echo normal >"$TMP/fcmode"

# ---- 5. an environment built without vsock is refused ----
mkdir -p "$TMP/oldcache/debian:12"
for f in vmlinux initramfs.cpio rootfs.ext4; do
	ln "$PYRO_TEST_ENV_CACHE/debian:12/$f" "$TMP/oldcache/debian:12/$f" 2>/dev/null ||
	    cp --sparse=always "$PYRO_TEST_ENV_CACHE/debian:12/$f" "$TMP/oldcache/debian:12/$f"
done
sed 's/"vmms":\[[^]]*\],//' "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" \
    >"$TMP/oldcache/debian:12/manifest.json"
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
rm -f "$TMP/pyrod.sock"
# What a pyrod killed in a template's build leaves: gone at the next start.
mkdir -p "$TMP/state/templates/.build-0123" && : >"$TMP/state/templates/.build-0123/state"
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/oldcache" start_pyrod -f "$TMP/pyrod.conf"
[ ! -e "$TMP/state/templates/.build-0123" ] || fail "an unfinished build was kept"
expect_error unsupported pyro run debian:12 -- true
grep -q 'without Firecracker support' "$TMP/xe" || fail "mismatch: $(cat "$TMP/xe")"
leftovers "after the mismatch"
n=$((n+1)); pass "an environment without vsock: unsupported, before anything starts; an unfinished template build is removed at start"

# ---- 6. a network: the TAP handed to Firecracker, then removed ----
if command -v dnsmasq >/dev/null; then
	. "$PYRO_SRCDIR/tests/netlab.sh"
	trap 'cleanup; netlab_down' EXIT
	netlab_up
	kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
	rm -f "$TMP/pyrod.sock"
	printf 'network_pool = 10.250.0.0/29\nnetwork_dns = 198.51.100.1\n' \
	    >>"$TMP/pyrod.conf"
	: >"$TMP/fc.log"
	# nsenter, not ip netns exec: that one mounts a sysfs of its own,
	# without the cgroups Firecracker's VMs are ended by.
	PYROD_WRAP="nsenter --net=/run/netns/$NET_HOST" start_pyrod -f "$TMP/pyrod.conf"
	pyro run --network debian:12 -- true >/dev/null 2>"$TMP/net.err" ||
	    fail "run --network: $(cat "$TMP/net.err")"
	/usr/bin/python3 - "$TMP/fc.log" <<'PY' || fail "network: $(cat "$TMP/fc.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
taps = [l for l in lines if "tap" in l]
puts = [l for l in lines if l.get("path") == "/network-interfaces/eth0"]
assert len(taps) == 1 and taps[0]["owner"] != 0, taps
assert len(puts) == 1 and puts[0]["status"] == 204, puts
assert puts[0]["body"]["host_dev_name"] == taps[0]["tap"], puts
assert puts[0]["body"]["guest_mac"].startswith("02:"), puts
PY
	[ -z "$(net_leftovers)" ] || fail "network leftovers: $(net_leftovers)"
	leftovers "after a networked run"
	n=$((n+1)); pass "--network: the VM's TAP is persistent and the jail uid's when Firecracker opens it, and gone after"
else
	echo "# dnsmasq is not installed: the network case is not run"
fi
echo "$n passed, 0 failed"
