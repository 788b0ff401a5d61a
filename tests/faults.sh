#!/bin/sh
# Faults in the middle of work: kill -9 of QEMU during an exec, of the VM
# helper during a sync push, of the disk helper during a disk export; and
# a state directory that is full.  After each: the workspace is in a state
# the docs name (failed), `start` recovers it, what was synced before is
# intact (sha256), `e2fsck -fn` of the stopped disk is clean, pyrod keeps
# serving, and nothing leaks (QEMU, cgroups, pyrod's fds, temp files).
# (kill -9 of pyrod itself: tests/wsrestart.sh and tests/net.sh.)
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
command -v e2fsck >/dev/null || fail "e2fsck is missing (e2fsprogs)"
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

fds() { ls "/proc/$PYROD_PID/fd" | wc -l; }
state() { pyro workspace status "$1" --json | jq -r .state; }
vmhelper() { pgrep -P "$PYROD_PID" -f pyro-vmhelper | head -n 1; }
# The one child of pyrod's one VM helper: QEMU.
qemu_pid() { pgrep -P "$(vmhelper)" | head -n 1; }
intact() {	# ID WHAT
	got=$(pyro workspace exec "$1" -- sha256sum data | cut -d' ' -f1) ||
	    fail "$2: exec after recovery"
	[ "$got" = "$sha" ] || fail "$2: data changed ($got, want $sha)"
}
wait_state() {	# ID STATE
	for _ in $(seq 100); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 is $(state "$1"), want $2"
}

mkdir -p "$TMP/seed" "$TMP/big"
head -c 1048576 /dev/urandom >"$TMP/seed/data"
sha=$(sha256sum "$TMP/seed/data" | cut -d' ' -f1)
head -c 67108864 /dev/urandom >"$TMP/big/b"
ws=$(pyro workspace create debian:12 --seed-path "$TMP/seed" 2>/dev/null) ||
    fail "workspace create"
fd0=$(fds)

# --- QEMU killed during an exec ---------------------------------------------
pyro workspace exec "$ws" -- sleep 60 >/dev/null 2>"$TMP/e1" &
ex=$!
sleep 2
kill -9 "$(qemu_pid)"
wait "$ex" && fail "the exec outlived its QEMU"
wait_state "$ws" failed
pyro workspace start "$ws" >/dev/null 2>&1 || fail "start after QEMU's kill"
intact "$ws" "QEMU killed"
n=$((n+1)); pass "QEMU kill -9 during exec: exec fails, workspace failed, start recovers the data"

# --- the VM helper killed during a sync push -------------------------------
pyro workspace sync push "$ws" "$TMP/big" --dest /workspace/big \
    >/dev/null 2>"$TMP/e2" &
sp=$!
sleep 1.5
kill -9 "$(vmhelper)"
wait "$sp" && fail "the push outlived its VM helper"
wait_state "$ws" failed
[ "$(qemus)" = 0 ] || fail "QEMU outlived its helper"
pyro workspace start "$ws" >/dev/null 2>&1 || fail "start after the helper's kill"
intact "$ws" "VM helper killed"
n=$((n+1)); pass "VM helper kill -9 during sync push: push fails, QEMU gone, start recovers the data"

# --- the disk helper killed during a disk export ----------------------------
pyro workspace stop "$ws" >/dev/null || fail "stop"
( while ! pkill -9 -P "$PYROD_PID" -f pyro-diskhelper 2>/dev/null; do
	sleep 0.02; done ) &
killer=$!
pyro workspace disk export "$ws" --output "$TMP/d1.ext4" >/dev/null \
    2>"$TMP/e3" && { kill "$killer" 2>/dev/null; fail "export survived"; }
kill "$killer" 2>/dev/null || true
grep -q helper_failed "$TMP/e3" || fail "disk export: $(cat "$TMP/e3")"
pyro workspace disk export "$ws" --output "$TMP/d2.ext4" >/dev/null ||
    fail "a second export"
e2fsck -fn "$TMP/d2.ext4" >"$TMP/fsck" 2>&1 ||
    fail "e2fsck -fn after the faults: $(tail -n 5 "$TMP/fsck")"
n=$((n+1)); pass "disk helper kill -9 during export: helper_failed; the next export is whole and e2fsck -fn clean"

# --- nothing leaked ----------------------------------------------------------
pyro workspace delete "$ws" >/dev/null || fail "delete"
[ "$(qemus)" = 0 ] || fail "QEMU left"
for c in memory cpu pids; do
	[ ! -d "/sys/fs/cgroup/$c/pyro/$ws" ] ||
	    fail "cgroup $c/pyro/$ws left"
done
[ "$(fds)" -le "$fd0" ] || fail "pyrod has $(fds) fds, had $fd0"
[ -z "$(ls "$TMP/state/workspaces")" ] || fail "records left"
[ -z "$(find "$TMP/state" -name '*.tmp*' -o -name '.staging*' | head -n 1)" ] ||
    fail "temp files left: $(find "$TMP/state" -name '*.tmp*')"
n=$((n+1)); pass "after the faults and delete: no QEMU, cgroup, record or temp file left; pyrod's fds $(fds) (had $fd0)"

# --- a full state directory --------------------------------------------------
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
PYROD_PID=
rm -f "$TMP/pyrod.sock"
mkdir -p "$TMP/small"
mount -t tmpfs -o size=16m tmpfs "$TMP/small" || fail "mount a small tmpfs"
trap 'umount -l "$TMP/small" 2>/dev/null || true; cleanup' EXIT
"$PYRO_BUILDDIR/pyrod" -d --state-dir "$TMP/small/state" \
    --socket "$TMP/pyrod.sock" --libexec-dir "$PYRO_BUILDDIR" \
    2>"$TMP/pyrod.log" &
PYROD_PID=$!
for _ in $(seq 100); do [ -S "$TMP/pyrod.sock" ] && break; sleep 0.05; done
pyro workspace create debian:12 >/dev/null 2>"$TMP/e4" &&
    fail "a workspace fit in 16 MiB"
code=$(code_of "$TMP/e4")
case $code in
io_error|resources_exhausted) ;;
*) fail "full state dir: $(cat "$TMP/e4")" ;;
esac
grep -qi 'no space\|space left' "$TMP/e4" || fail "the error does not say the disk is full: $(cat "$TMP/e4")"
[ -z "$(ls "$TMP/small/state/workspaces" 2>/dev/null)" ] ||
    fail "a half-made workspace: $(ls "$TMP/small/state/workspaces")"
pyro workspace list >/dev/null || fail "pyrod stopped serving"
pyro vm list >/dev/null || fail "pyrod stopped serving"
[ "$(qemus)" = 0 ] || fail "QEMU left"
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
PYROD_PID=
umount "$TMP/small" || fail "the small state directory stayed busy"
n=$((n+1)); pass "a full state directory: create fails with $code saying so, no half-made record, pyrod serves on"
echo "$n passed, 0 failed"
