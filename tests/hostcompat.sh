#!/bin/sh
# Host-compat mode (docs/host-compat.md): with no usable VMM (pyrod.conf
# points qemu_path nowhere), `run` fails closed without the flag; with
# --allow-host-compat the command runs on the host as the caller's uid (a
# non-root member of pyrod's group), in its own namespaces: it sees no host
# process, cannot write outside its tree or the image's root-owned files,
# has no network and no capabilities, and cannot make namespaces.  A
# host-compat workspace passes the README's workspace sequence; disk tools
# refuse it with not_guest_backed; a fork bomb meets the pids limit and a
# fill meets the disk's size, and the workspace still answers; nothing is
# left: no process, loop device, cgroup, mount or state file.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }
command -v losetup >/dev/null || { echo "SKIP: needs losetup"; exit 77; }
grp=$(getent group 65534 | cut -d: -f1)
[ -n "$grp" ] || { echo "SKIP: no group 65534"; exit 77; }
U=4242		# a uid with no passwd entry: its group is then 65534
n=0

# pyro as uid $U, a member of pyrod's group, from copies it can read.
as_user() {
	if [ ! -x "$TMP/u/pyro" ]; then
		mkdir -p "$TMP/u"
		cp "$PYRO_BUILDDIR/.libs/pyro" "$PYRO_BUILDDIR/.libs/libpyro.so.1" \
		    "$TMP/u/"
		chmod 0755 "$TMP"
		chmod 0777 "$TMP/u"
	fi
	setpriv --reuid=$U --regid=65534 --groups=65534 env HOME="$TMP/u" \
	    LD_LIBRARY_PATH="$TMP/u" PYRO_SOCKET="$TMP/pyrod.sock" \
	    PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_ENVIRONMENT_CACHE_DIR" \
	    "$TMP/u/pyro" "$@"
}
# Sandboxes run on the host as ids of their own: host_compat_id_base
# (1500000000 by default) plus 16 bits of the record's id.
sandbox_procs() {	# [NAME]: how many processes run as a sandbox id
	ps -eo uid=,comm= | awk -v n="${1:-}" '$1 >= 1500000000 &&
	    $1 < 1500065536 && (n == "" || $2 == n)' | wc -l
}
leftovers() {	# what a stopped or deleted sandbox must not leave
	p=$(sandbox_procs)
	[ "$p" = 0 ] || fail "$1: $p sandbox processes left: $(ps -eo uid,pid,cmd | awk '$1 >= 1500000000')"
	p=$(pgrep -u $U -c . || true)
	[ "$p" = 0 ] || fail "$1: $p processes of uid $U left"
	l=$(losetup -a | grep -c "$TMP/state" || true)
	[ "$l" = 0 ] || fail "$1: loop devices left: $(losetup -a | grep "$TMP/state")"
	m=$(grep -c "$TMP/state" /proc/self/mountinfo || true)
	[ "$m" = 0 ] || fail "$1: mounts left"
}

printf 'qemu_path = /nonexistent\n' >"$TMP/pyrod.conf"
start_pyrod -f "$TMP/pyrod.conf" --group "$grp"
export PYRO_SOCKET="$TMP/pyrod.sock"

# ---- 1. fail closed without the flag; doctor says what it would do ----
expect_error vmm_unavailable as_user run debian:12 -- true
grep -q 'no usable VMM' "$TMP/xe" || fail "refusal: $(cat "$TMP/xe")"
expect_error vmm_unavailable as_user workspace create debian:12
pyro doctor >"$TMP/doctor" || fail "doctor"
grep -q '^Host-compat:  policy=fallback usable=yes, used when asked (--allow-host-compat): no VMM is usable$' \
    "$TMP/doctor" || fail "doctor: $(grep -A1 Host-compat "$TMP/doctor")"
grep -q '^VMM:          none' "$TMP/doctor" || fail "doctor VMM"
n=$((n+1)); pass "no VMM: run and create fail closed (vmm_unavailable); doctor names the host-compat policy"

# ---- 2. run --allow-host-compat: the caller's uid, contained ----
sleep 600 &
marker=$!
# A listener on the host's loopback, which the sandbox must not reach.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$TMP/port" &
listener=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PYRO_TEST_PORT=$(cat "$TMP/port")
[ -n "$PYRO_TEST_PORT" ] || fail "no listener"
as_user run debian:12 --allow-host-compat -- sh -c '
	echo "uid=$(id -u)"
	echo "host=$(hostname)"
	echo "pids=$(ls /proc | grep -c "^[0-9]")"
	cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep | sed "s/^/sleeps=/"
	if echo x >>/etc/passwd 2>/dev/null; then echo etc=writable; else echo etc=refused; fi
	if touch /newfile 2>/dev/null; then echo root=writable; else echo root=refused; fi
	echo hi >/workspace/mine && echo workspace=writable
	grep "^CapEff" /proc/self/status
	grep -c ":" /proc/net/dev | sed "s/^/ifaces=/"
	if bash -c "echo >/dev/tcp/127.0.0.1/'"$PYRO_TEST_PORT"'" 2>/dev/null; then echo tcp=reached; else echo tcp=refused; fi
	if unshare -U true 2>/dev/null; then echo unshare=allowed; else echo unshare=refused; fi
	if python3 -c "import socket; socket.socket(40, 1)" 2>/dev/null; then echo vsock=allowed; else echo vsock=refused; fi
	ls '"$TMP"' >/dev/null 2>&1 && echo hosttmp=visible || echo hosttmp=absent
' >"$TMP/run.out" 2>"$TMP/run.err" || fail "run: $(cat "$TMP/run.err")"
kill "$marker" "$listener"
want() { grep -qx "$1" "$TMP/run.out" || fail "run: wanted $1, got: $(tr '\n' ' ' <"$TMP/run.out")"; }
want "uid=$U"
want "host=pyro"
want "sleeps=0"
want "etc=refused"
want "root=refused"
want "workspace=writable"
want "CapEff:	0000000000000000"
want "ifaces=1"
want "tcp=refused"
want "unshare=refused"
want "vsock=refused"
want "hosttmp=absent"
pids=$(sed -n 's/^pids=//p' "$TMP/run.out")
[ "$pids" -le 6 ] || fail "the sandbox sees $pids processes"
grep -q '^\[run\] environment=debian:12 execution_mode=host_compat exit_code=0 ' \
    "$TMP/run.err" || fail "[run] line: $(cat "$TMP/run.err")"
as_user --json run debian:12 --allow-host-compat -- true >"$TMP/run.json" ||
    fail "run --json"
grep -q '"execution_mode":[[:space:]]*"host_compat"' "$TMP/run.json" ||
    fail "run --json: $(cat "$TMP/run.json")"
leftovers "after runs"
n=$((n+1)); pass "run --allow-host-compat: uid $U, own pid/net/uts namespaces, no caps, no writes outside, no network, execution_mode=host_compat"

# A root caller's commands run as nobody, never as root.
pyro run debian:12 --allow-host-compat -- id -u >"$TMP/root.out" 2>/dev/null ||
    fail "run as root"
[ "$(cat "$TMP/root.out")" = 65534 ] || fail "root's command ran as $(cat "$TMP/root.out")"
n=$((n+1)); pass "a root caller's command runs as 65534"

# The same through the Python SDK and MCP (both carry the flag to pyrod);
# Python cannot load a sanitizer build's libpyro.
if ldd "$PYRO_BUILDDIR/.libs/libpyro.so.1" | grep -q libasan; then
	printf 'host_compat 65534\nrefused vmm_unavailable\n' >"$TMP/py.out"
	echo "# a sanitizer build: the Python SDK step is not run"
else
PYRO_LIBPYRO="$PYRO_BUILDDIR/.libs/libpyro.so.1" \
PYTHONPATH="$PYRO_SRCDIR/python" PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c '
from pyro_mcp import Pyro
r = Pyro().run_in_vm("debian:12", ["id", "-u"], allow_host_compat=True)
print(r["execution_mode"], r["stdout"].strip())
try:
    Pyro().run_in_vm("debian:12", ["true"])
except Exception as e:
    print("refused", getattr(e, "code", e))
' >"$TMP/py.out" 2>"$TMP/py.err" || fail "Python: $(cat "$TMP/py.err")"
fi
[ "$(cat "$TMP/py.out")" = "host_compat 65534
refused vmm_unavailable" ] || fail "Python: $(cat "$TMP/py.out" "$TMP/py.err")"
{
	echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"vm_run","arguments":{"environment":"debian:12","command":"id -u","allow_host_compat":true}}}'
	for _ in $(seq 300); do
		grep -q '"id":2,' "$TMP/mcp.out" 2>/dev/null && break
		sleep 0.1
	done
} | "$PYRO" mcp serve >"$TMP/mcp.out" 2>"$TMP/mcp.err" ||
    fail "mcp serve: $(cat "$TMP/mcp.err")"
grep '"id":2,' "$TMP/mcp.out" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]["structuredContent"]
assert r["execution_mode"] == "host_compat", r
assert r["stdout"].strip() == "65534", r' || fail "MCP vm_run: $(cat "$TMP/mcp.out")"
n=$((n+1)); pass "the Python SDK and MCP vm_run run host-compat with the flag (and fail closed without)"

# Network is refused, not silently dropped.
expect_error unsupported as_user run debian:12 --allow-host-compat --network -- true
n=$((n+1)); pass "host-compat with --network: unsupported"

# ---- 3. the README's workspace sequence, host-compat ----
mkdir "$TMP/u/readme"
chmod 0777 "$TMP/u/readme"
sed -n '/^<!-- workspace-sequence -->$/,/^<!-- \/workspace-sequence -->$/p' \
    "$PYRO_SRCDIR/README.md" | sed '1,2d' | sed '$d' | sed '$d' |
    sed 's/workspace create debian:12/workspace create debian:12 --allow-host-compat/' \
    >"$TMP/sequence"
grep -q 'create debian:12 --allow-host-compat' "$TMP/sequence" ||
    fail "README sequence not found"
cat >"$TMP/u/seq.sh" <<EOF
set -e
pyro() { "$TMP/u/pyro" "\$@"; }
cd "$TMP/u/readme"
$(cat "$TMP/sequence")
EOF
# The sequence's own outputs are checked line by line below.
setpriv --reuid=$U --regid=65534 --groups=65534 env HOME="$TMP/u" \
    LD_LIBRARY_PATH="$TMP/u" PYRO_SOCKET="$TMP/pyrod.sock" \
    PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_ENVIRONMENT_CACHE_DIR" \
    sh -x "$TMP/u/seq.sh" >"$TMP/seq.out" 2>"$TMP/seq.err" ||
    fail "README sequence on host-compat: $(tail -5 "$TMP/seq.err")"
grep -qx 'hello from the host' "$TMP/seq.out" || fail "sequence: cat"
grep -qx 'pushed later' "$TMP/seq.out" || fail "sequence: sync push"
grep -qx 'D hello.txt' "$TMP/seq.out" || fail "sequence: diff"
grep -qx 'token is \[REDACTED\]' "$TMP/seq.out" || fail "sequence: secret (redacted)"
grep -q 'tok-123-abc' "$TMP/seq.out" && fail "sequence: the secret leaked"
[ "$(cat "$TMP/u/readme/demo-out/hello.txt")" = 'hello from the host' ] ||
    fail "sequence: export after reset"
leftovers "after the README sequence"
n=$((n+1)); pass "the README workspace sequence passes on a host-compat workspace"

# ---- 4. a workspace: status, disk tools refused, bombs and fills ----
id=$(as_user workspace create debian:12 --allow-host-compat) || fail "create"
as_user --json workspace status "$id" >"$TMP/st.json" || fail "status"
grep -q '"execution_mode":[[:space:]]*"host_compat"' "$TMP/st.json" ||
    fail "status: $(cat "$TMP/st.json")"
as_user workspace status "$id" | grep -q '^Environment:  debian:12 (host_compat)$' ||
    fail "status: no host_compat"
expect_error not_guest_backed as_user workspace disk list "$id"
expect_error not_guest_backed as_user workspace disk read "$id" /etc/hostname
n=$((n+1)); pass "status says host_compat; disk tools: not_guest_backed"

# On the host the sandbox is not the caller: its own id, a user namespace
# of root's, so the caller's host processes cannot enter or trace it.
hid=$((1500000000 + 0x$(echo "$id" | cut -c13-16)))
agent=$(ps -eo pid=,uid=,args= | awk -v u="$hid" '$2 == u && $3 == "pyro-agent" { print $1 }')
[ -n "$agent" ] || fail "no pyro-agent runs as host uid $hid: $(ps -eo uid,pid,args | grep pyro-agent)"
if setpriv --reuid=$U --regid=65534 --clear-groups nsenter -t "$agent" -U -m true 2>/dev/null; then
	fail "uid $U entered the sandbox's namespaces"
fi
if setpriv --reuid=$U --regid=65534 --clear-groups cat "/proc/$agent/environ" >/dev/null 2>&1; then
	fail "uid $U read the sandbox's environment"
fi
[ "$(as_user workspace exec "$id" -- sh -c 'echo x >/workspace/own; stat -c %u /workspace/own')" = $U ] ||
    fail "a file the command writes is not the caller's inside"
n=$((n+1)); pass "on the host the sandbox runs as uid $hid, not the caller's: uid $U cannot enter or read it; inside, files are uid $U's"

as_user workspace exec "$id" --timeout-seconds 60 -- sh -c '
	n=0; while [ $n -lt 2000 ]; do sleep 5 </dev/null >/dev/null 2>&1 & n=$((n+1)); done
	echo "forked $n"' >"$TMP/bomb.out" 2>"$TMP/bomb.err" || true
grep -q 'fork' "$TMP/bomb.err" || fail "fork bomb: not stopped: $(cat "$TMP/bomb.out" "$TMP/bomb.err")"
grep -q 'forked 2000' "$TMP/bomb.out" && fail "fork bomb: 2000 processes made"
out=$(as_user workspace exec "$id" -- sh -c 'echo alive' 2>&1)
[ "$out" = alive ] || fail "after the fork bomb: $out"
for _ in $(seq 30); do	# the bomb's sleeps end within 5 s
	[ "$(sandbox_procs sleep)" = 0 ] && break
	sleep 1
done
n=$((n+1)); pass "a fork bomb meets the pids limit; the workspace answers"

as_user workspace exec "$id" --timeout-seconds 120 -- sh -c \
    'head -c 8G /dev/zero >/workspace/fill; echo "rc=$?"' >"$TMP/fill.out" 2>"$TMP/fill.err" ||
    true
grep -q 'No space left on device' "$TMP/fill.err" ||
    fail "fill: $(cat "$TMP/fill.out" "$TMP/fill.err")"
out=$(as_user workspace exec "$id" -- sh -c 'rm /workspace/fill; echo alive') ||
    fail "after the fill: $out"
[ "$out" = alive ] || fail "after the fill: $out"
n=$((n+1)); pass "filling the disk ends in ENOSPC at its size; the workspace answers"

as_user workspace exec "$id" -- sh -c 'sleep 1000 >/dev/null 2>&1 &' ||
    fail "background"
as_user workspace stop "$id" >/dev/null || fail "stop"
leftovers "after stop"
as_user workspace start "$id" >/dev/null || fail "start"
as_user workspace delete "$id" >/dev/null || fail "delete"
leftovers "after delete"
[ -z "$(ls "$TMP/state/workspaces")" ] || fail "workspace files left"
[ -z "$(ls -d /sys/fs/cgroup/*/pyro/*/"$id" /sys/fs/cgroup/pyro/*/"$id" 2>/dev/null)" ] ||
    fail "cgroups left"
n=$((n+1)); pass "stop and delete leave no process, loop device, mount, cgroup or file"

# ---- 5. host_compat = off refuses; prefer is used even with a VMM ----
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
rm -f "$TMP/pyrod.sock"
printf 'qemu_path = /nonexistent\nhost_compat = off\n' >"$TMP/pyrod.conf"
start_pyrod -f "$TMP/pyrod.conf" --group "$grp"
expect_error vmm_unavailable as_user run debian:12 --allow-host-compat -- true
grep -q 'host_compat = off' "$TMP/xe" || fail "off: $(cat "$TMP/xe")"
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
rm -f "$TMP/pyrod.sock"
printf 'host_compat = prefer\n' >"$TMP/pyrod.conf"
start_pyrod -f "$TMP/pyrod.conf" --group "$grp"
out=$(as_user run debian:12 --allow-host-compat -- id -u 2>"$TMP/pref.err") ||
    fail "prefer: $(cat "$TMP/pref.err")"
[ "$out" = $U ] && grep -q 'execution_mode=host_compat' "$TMP/pref.err" ||
    fail "prefer: $out $(cat "$TMP/pref.err")"
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
rm -f "$TMP/pyrod.sock"
printf 'qemu_path = /nonexistent\ncgroups = off\n' >"$TMP/pyrod.conf"
start_pyrod -f "$TMP/pyrod.conf" --group "$grp"
expect_error unsupported as_user run debian:12 --allow-host-compat -- true
grep -q 'host-compat needs cgroups' "$TMP/xe" || fail "no cgroups: $(cat "$TMP/xe")"
n=$((n+1)); pass "host_compat = off refuses the flag (vmm_unavailable); prefer uses it with a VMM; without cgroups host-compat does not start (unsupported)"
leftovers "at the end"
echo "$n passed, 0 failed"
