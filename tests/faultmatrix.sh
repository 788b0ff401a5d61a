#!/bin/sh
# The fault matrix: at each named step of create, sync push, exec,
# snapshot, reset, stop, start, disk export and delete, kill -9 each
# process that is alive at that step (pyrod, the VM helper, the VMM, the
# disk helper).  pyrod stops itself at the step (a test point: builds
# configured with --enable-test-points), the test kills the process, and
# pyrod goes on (or, when pyrod was the one killed, is started again).
# After each: the operation's client got an answer (no hang); the
# workspace is in a state docs/reliability.md names for that fault; its
# recovery (start; after a reset's fault, the start finishes the reset)
# brings it up with every file synced before the fault (sha256); after a stop `e2fsck -fn` of its disk
# is clean; and nothing leaks: no QEMU or helper, no cgroup, no temp file
# in the state directory, pyrod's fds back where they were.
#
# FAULTMATRIX_ONLY, when set, is a pattern (grep -E) over "point target"
# for running part of it by hand.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
grep -q '^#define PYRO_TEST_POINTS 1' "$PYRO_BUILDDIR/config.h" || {
	echo "SKIP: not a test-point build (configure --enable-test-points)"
	exit 77
}
need_guests
command -v e2fsck >/dev/null || fail "e2fsck is missing (e2fsprogs)"
PYRO_TEST_POINT_FILE="$TMP/point"
export PYRO_TEST_POINT_FILE
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

state() {	# ID: its state, or "absent" (not_found); any other error fails
	if j=$(pyro --json workspace status "$1" 2>"$TMP/st.err"); then
		echo "$j" | jq -r .state
	elif [ "$(echo "$j" | jq -r .error.code 2>/dev/null)" = not_found ]
	then
		echo absent
	else
		fail "workspace status $1: $j $(cat "$TMP/st.err")"
	fi
}
vmhelper() { pgrep -P "$PYROD_PID" -f pyro-vmhelper | head -n 1; }
diskhelper() { pgrep -P "$PYROD_PID" -f pyro-diskhelper | head -n 1; }
target_pid() {	# pyrod|vmhelper|vmm|diskhelper
	case $1 in
	pyrod) echo "$PYROD_PID" ;;
	vmhelper) vmhelper ;;
	vmm)	# the helper's one child: QEMU, or at a boot step possibly
		# still its launcher, the same process before its exec
		h=$(vmhelper)
		[ -z "$h" ] || for c in $(pgrep -P "$h"); do
			case $(cat "/proc/$c/comm") in
			qemu-system-x86|pyro-vmhelper) echo "$c" ;;
			esac
		done | head -n 1 ;;
	diskhelper) diskhelper ;;
	esac
}
stopped() { [ "$(awk '{ print $3 }' "/proc/$PYROD_PID/stat")" = T ]; }
fds() {
	[ -d "/proc/$PYROD_PID/fd" ] || fail "pyrod ($PYROD_PID) is gone"
	ls "/proc/$PYROD_PID/fd" | wc -l
}
helpers() { pgrep -c -f "pyro-(vm|disk)helper.*$TMP/" || true; }

mkdir -p "$TMP/seed" "$TMP/pre" "$TMP/big"
head -c 1048576 /dev/urandom >"$TMP/seed/data"
head -c 65536 /dev/urandom >"$TMP/pre/pre"
head -c 33554432 /dev/urandom >"$TMP/big/b"
(cd "$TMP/seed" && sha256sum data) >"$TMP/seed/data.sum"
(cd "$TMP/pre" && sha256sum pre) >"$TMP/pre/pre.sum"

# A workspace with the seed (in its baseline) and a file synced after.
new_ws() {
	ws=$(pyro workspace create debian:12 --seed-path "$TMP/seed" \
	    2>"$TMP/cerr") || fail "create: $(cat "$TMP/cerr")"
	echo "$ws" >>"$TMP/ids"
	pyro workspace sync push "$ws" "$TMP/pre" --dest /workspace \
	    >/dev/null 2>"$TMP/cerr" || fail "push pre: $(cat "$TMP/cerr")"
	has_pre=1
}
# Everything synced before the fault is there (a reset keeps the seed).
intact() {	# WHAT
	pyro workspace exec "$ws" -- sha256sum -c data.sum >/dev/null \
	    2>&1 || fail "$1: the seed's data changed or went"
	[ "$has_pre" = 0 ] || pyro workspace exec "$ws" -- sha256sum -c \
	    pre.sum >/dev/null 2>&1 || fail "$1: the synced file changed"
}
want_running() {
	[ "$(state "$ws")" = running ] ||
	    pyro workspace start "$ws" >/dev/null 2>&1 || fail "start $ws"
}
want_stopped() {
	[ "$(state "$ws")" != running ] ||
	    pyro workspace stop "$ws" >/dev/null 2>&1 || fail "stop $ws"
}
# After a case: stopped, the disk clean, nothing left behind.
settle() {	# WHAT
	pyro workspace stop "$ws" >/dev/null 2>"$TMP/serr" ||
	    fail "$1: stop after recovery: $(cat "$TMP/serr")"
	e2fsck -fn "$TMP/state/workspaces/$ws/rootfs.ext4" >"$TMP/fsck" 2>&1 ||
	    fail "$1: e2fsck -fn after stop: $(tail -n 5 "$TMP/fsck")"
	leaks "$1"
}
cgroups() {	# the cgroups of this test's workspaces
	for id in $(cat "$TMP/ids"); do
		for c in /sys/fs/cgroup/*/pyro/"$id" /sys/fs/cgroup/pyro/"$id"; do
			[ ! -e "$c" ] || echo "$c"
		done
	done
}
leaks() {	# WHAT
	# A helper killed leaves QEMU and its cgroup for a moment.
	for _ in $(seq 100); do
		[ "$(qemus)" = 0 ] && [ "$(helpers)" = 0 ] &&
		    [ -z "$(cgroups)" ] && break
		sleep 0.1
	done
	[ "$(qemus)" = 0 ] || fail "$1: QEMU left"
	[ "$(helpers)" = 0 ] || fail "$1: a helper left: $(pgrep -af \
	    "pyro-(vm|disk)helper")"
	[ -z "$(cgroups)" ] || fail "$1: cgroups left: $(cgroups)"
	left=$(find "$TMP/state" \( -name '.pyro-tmp.*' -o -name '*.tmp' \
	    -o -name '.staging*' \) | head -n 3)
	[ -z "$left" ] || fail "$1: temp files left: $left"
	# Every snapshot archive is one the workspace lists.
	if [ -n "${ws:-}" ] && [ -d "$TMP/state/workspaces/$ws" ]; then
		ls "$TMP/state/workspaces/$ws" | sed -n \
		    's/^snapshot-\(.*\)\.tar$/\1/p' | sort >"$TMP/snaps.disk"
		pyro --json workspace snapshot list "$ws" |
		    jq -r '.snapshots[] | select(.baseline != true) | .name' | sort >"$TMP/snaps.listed"
		cmp -s "$TMP/snaps.disk" "$TMP/snaps.listed" || fail "$1: \
snapshot archives not listed: $(comm -23 "$TMP/snaps.disk" "$TMP/snaps.listed")"
	fi
	[ "$(fds)" -le "$fd0" ] || fail "$1: pyrod has $(fds) fds, had $fd0"
}

# The operation of a point, run as its client would (in the background;
# a client that waits 300 s has hung).
tpyro() { timeout 300 pyro "$@"; }
run_op() {	# POINT
	case $1 in
	workspace.create:*)
		tpyro workspace create debian:12 --seed-path "$TMP/seed" ;;
	workspace.sync_push:*)
		tpyro workspace sync push "$ws" "$TMP/big" --dest /workspace/big ;;
	workspace.exec:*)
		tpyro workspace exec "$ws" -- sh -c 'sleep 30' ;;
	workspace.snapshot_create:*)
		tpyro workspace snapshot create "$ws" "s$n" ;;
	workspace.reset:*)
		tpyro workspace reset "$ws" ;;
	workspace.stop:*)
		tpyro workspace stop "$ws" ;;
	workspace.start:*)
		tpyro workspace start "$ws" ;;
	workspace.disk_export:*)
		tpyro workspace disk export "$ws" --output "$TMP/export.ext4" ;;
	workspace.delete:*)
		tpyro workspace delete "$ws" ;;
	esac
}

# One cell: POINT TARGET STATE, STATE being what docs/reliability.md
# says the workspace is after that fault (absent: no such workspace).
cell() {
	point=$1 target=$2 want=$3
	if [ -n "${FAULTMATRIX_ONLY:-}" ] &&
	    ! echo "$point $target" | grep -Eq "$FAULTMATRIX_ONLY"; then
		return 0
	fi
	case $point in
	workspace.start:*|workspace.disk_export:*|workspace.create:*|\
	workspace.delete:remove)
		want_stopped ;;
	*)	want_running ;;
	esac
	# What a reset throws away: a file synced after the baseline.
	case $point in
	workspace.reset:*)
		[ "$has_pre" = 1 ] || pyro workspace sync push "$ws" \
		    "$TMP/pre" --dest /workspace >/dev/null 2>&1 ||
		    fail "push pre"
		has_pre=1 ;;
	esac
	before=$(ls "$TMP/state/workspaces")
	echo "$point" >"$PYRO_TEST_POINT_FILE"
	run_op "$point" >"$TMP/op.out" 2>"$TMP/op.err" &
	op=$!
	for _ in $(seq 1200); do
		stopped && break
		kill -0 "$op" 2>/dev/null || break
		sleep 0.1
	done
	stopped || fail "$point: pyrod never reached the point (the \
client: $(cat "$TMP/op.err"))"
	pid=$(target_pid "$target")
	[ -n "$pid" ] || fail "$point: no $target alive at this step"
	kill -9 "$pid"
	if [ "$target" = pyrod ]; then
		wait "$PYROD_PID" 2>/dev/null || true
		PYROD_PID=
		# The helpers notice and go, taking QEMU with them.
		for _ in $(seq 150); do
			[ "$(qemus)" = 0 ] && [ "$(helpers)" = 0 ] && break
			sleep 0.2
		done
		rm -f "$TMP/pyrod.sock"
		start_pyrod
		pyro workspace list >/dev/null	# up: its state is open
		fd0=$(fds)
		# The archive in place, the record not yet naming it.
		[ "$point" != workspace.snapshot_create:commit ] ||
		    grep -q 'snapshot-.*which its record does not list' \
		    "$TMP/pyrod.log" || fail "$point: the unlisted archive \
was not removed at the restart"
	else
		kill -CONT "$PYROD_PID"
	fi
	rc=0
	wait "$op" || rc=$?
	[ "$rc" != 124 ] || fail "$point, $target killed: the client hung"
	said=ok
	[ "$rc" = 0 ] || said=$(code_of "$TMP/op.err")
	[ -n "$said" ] || fail "$point, $target killed: the client failed \
without a code: $(cat "$TMP/op.err")"
	# The workspace of a create: whichever record is new.
	case $point in
	workspace.create:*)
		cws=$(ls "$TMP/state/workspaces" | grep -vxF "$before" |
		    head -n 1) || true
		st=absent
		[ -z "$cws" ] || { echo "$cws" >>"$TMP/ids"; st=$(state "$cws"); }
		[ "$st" = "$want" ] || fail "$point, $target killed: the new \
workspace is $st, docs/reliability.md says $want"
		[ "$st" = absent ] || pyro workspace delete "$cws" \
		    >/dev/null 2>&1 || fail "$point: delete the $st workspace"
		leaks "$point $target"
		echo "  $point $target: client $said; new workspace $st" \
		    "(deleted)" >>"$TMP/table"
		n=$((n+1)); pass "$point, kill -9 $target: the create answered ($said), its workspace $st, nothing left"
		return 0 ;;
	esac
	st=$(state "$ws")
	[ "$st" = "$want" ] || fail "$point, $target killed: the workspace \
is $st, docs/reliability.md says $want"
	case $point:$st in
	workspace.delete:*:absent)
		leaks "$point $target"
		echo "  $point $target: client $said; deleted" >>"$TMP/table"
		n=$((n+1)); pass "$point, kill -9 $target: the delete finished, nothing left"
		new_ws
		want_stopped
		return 0 ;;
	*:running|*:stopped|*:failed) ;;
	*)	fail "$point, $target killed: the workspace is $st" ;;
	esac
	how=none
	case $point:$st in
	workspace.delete:*)
		how=delete
		pyro workspace delete "$ws" >/dev/null 2>"$TMP/rerr" ||
		    fail "$point: delete again: $(cat "$TMP/rerr")"
		[ "$(state "$ws")" = absent ] || fail "$point: still there"
		leaks "$point $target"
		new_ws ;;
	*:failed|*:stopped)
		how=start
		pyro workspace start "$ws" >/dev/null 2>"$TMP/rerr" ||
		    fail "$point: start to recover: $(cat "$TMP/rerr")" ;;
	esac
	# A reset's fault: the reset happened, or the start finished it.
	case $point in
	workspace.reset:*)
		has_pre=0
		pyro workspace exec "$ws" -- test -e pre 2>/dev/null &&
		    fail "$point, $target killed: the file synced after the \
baseline outlived the reset"
		[ "$how" != start ] || pyro --json workspace logs "$ws" |
		    jq -e '[.events[].event] | index("reset_resumed")' \
		    >/dev/null || fail "$point: no reset_resumed event" ;;
	esac
	intact "$point, $target killed"
	settle "$point $target"
	echo "  $point $target: client $said; $st; recovered by $how" \
	    >>"$TMP/table"
	n=$((n+1)); pass "$point, kill -9 $target: $st, $how recovers it with its files; e2fsck clean; nothing left"
}

: >"$TMP/table"
: >"$TMP/ids"
new_ws
want_stopped
fd0=$(fds)

# The matrix: each point with, for each process killed there, the state
# docs/reliability.md names (pyrod killed: what the restarted pyrod says).
for p in workspace.create:boot workspace.create:seed; do
	cell "$p" pyrod failed
	cell "$p" vmhelper absent
	cell "$p" vmm absent
done
for p in workspace.sync_push:started workspace.exec:started \
    workspace.snapshot_create:started workspace.reset:restore \
    workspace.start:boot; do
	cell "$p" pyrod stopped
	cell "$p" vmhelper failed
	cell "$p" vmm failed
done
cell workspace.reset:halt pyrod stopped
cell workspace.reset:halt vmhelper running
cell workspace.reset:halt vmm running
for t in pyrod vmhelper vmm; do
	cell workspace.stop:halt "$t" stopped
	cell workspace.delete:halt "$t" absent
done
cell workspace.snapshot_create:commit pyrod stopped
for t in pyrod diskhelper; do
	cell workspace.stop:scrub "$t" stopped
	cell workspace.disk_export:running "$t" stopped
done
# The codes the table names where a helper or the VMM dies mid-way.
[ -n "${FAULTMATRIX_ONLY:-}" ] || for c in \
    "workspace.disk_export:running diskhelper: client helper_failed;" \
    "workspace.create:boot vmm: client helper_failed;" \
    "workspace.start:boot vmm: client helper_failed;" \
    "workspace.exec:started vmm: client workspace_not_running;"; do
	grep -qF "$c" "$TMP/table" || fail "not in the matrix: $c"
done
cell workspace.delete:remove pyrod absent

# A reset to a named snapshot, interrupted: the snapshot it restores
# cannot be deleted until a start has finished the reset.
if [ -z "${FAULTMATRIX_ONLY:-}" ]; then
	want_running
	pyro workspace snapshot create "$ws" keep >/dev/null || fail "snapshot keep"
	echo workspace.reset:restore >"$PYRO_TEST_POINT_FILE"
	pyro workspace reset "$ws" --snapshot keep >/dev/null 2>&1 &
	op=$!
	for _ in $(seq 1200); do stopped && break; sleep 0.1; done
	stopped || fail "the reset to keep never reached its restore"
	kill -9 "$(vmhelper)"
	kill -CONT "$PYROD_PID"
	wait "$op" && fail "the interrupted reset succeeded"
	[ "$(state "$ws")" = failed ] || fail "after the interrupted reset: $(state "$ws")"
	expect_error busy pyro workspace snapshot delete "$ws" keep
	pyro workspace start "$ws" >/dev/null 2>&1 || fail "start to finish the reset"
	intact "the reset to keep, finished by start"
	pyro workspace snapshot delete "$ws" keep >/dev/null ||
	    fail "delete keep once the reset is done"
	n=$((n+1)); pass "an unfinished reset's snapshot is busy until a start finishes the reset"
fi

pyro workspace delete "$ws" >/dev/null || fail "the last delete"
leaks "the end"
[ -z "$(ls "$TMP/state/workspaces")" ] || fail "records left"
echo "the matrix (point, process killed: the client's exit, the state, the recovery):"
cat "$TMP/table"
echo "$n passed, 0 failed"
