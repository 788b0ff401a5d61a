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
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/oldcache" start_pyrod -f "$TMP/pyrod.conf"
expect_error unsupported pyro run debian:12 -- true
grep -q 'without Firecracker support' "$TMP/xe" || fail "mismatch: $(cat "$TMP/xe")"
leftovers "after the mismatch"
n=$((n+1)); pass "an environment without vsock: unsupported, before anything starts"

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
