#!/bin/sh
# The Firecracker driver's client against a Firecracker peer (tests/
# fcpeer.py: Firecracker's API and hybrid vsock as Firecracker answers
# them, bodies checked against its published API description): a cold
# boot, pause, snapshot, resume, the agent's vsock port and a refused one,
# SendCtrlAltDel; then a peer that refuses /boot-source, one that answers
# garbage and one that never answers.  No Firecracker can run here (see
# docs/host-requirements.md).
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_fc_api
n=0

peer() {	# MODE: a fresh jail root with a peer serving it
	mode=$1
	root="$TMP/jail-$1/root"
	mkdir -p "$root/run"
	: >"$root/vmlinux"; : >"$root/initramfs.cpio"; : >"$root/rootfs.ext4"
	"$py" "$PYRO_SRCDIR/tests/fcpeer.py" --yaml "$yaml" --root "$root" \
	    --api-sock /run/firecracker.sock --log "$TMP/peer-$1.log" \
	    --mode "$1" 2>"$TMP/peer-$1.err" &
	peer_pid=$!
}
drive() {	# MODE
	"$PYRO_BUILDDIR/tests/fcdrive" "$1" "$root" >"$TMP/drive.out" 2>&1 ||
	    fail "fcdrive $1: $(cat "$TMP/drive.out"; cat "$TMP/peer-$mode.err")"
	cat "$TMP/drive.out" | grep '^ok' | sed 's/^ok - /ok - fcdrive: /'
	n=$((n + $(grep -c '^ok' "$TMP/drive.out")))
}

peer normal
drive boot
# SendCtrlAltDel ends the peer as a rebooting guest ends Firecracker; it
# exits 1 if any request was one Firecracker would refuse for its form.
for _ in $(seq 50); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$peer_pid" 2>/dev/null && fail "SendCtrlAltDel did not end the peer"
rc=0; wait "$peer_pid" || rc=$?
[ "$rc" = 0 ] || fail "the peer saw a request Firecracker refuses: $(cat "$TMP/peer-normal.log")"
[ -f "$root/vm.state" ] && [ -f "$root/vm.mem" ] || fail "no snapshot files in the jail"
jq -r .path "$TMP/peer-normal.log" | tr '\n' ' ' >"$TMP/order"
[ "$(cat "$TMP/order")" = "/machine-config /boot-source /drives/rootfs /network-interfaces/eth0 /vsock /actions /vm /snapshot/create /vm /actions " ] ||
    fail "the requests' order: $(cat "$TMP/order")"
n=$((n+1)); pass "the peer took every request as Firecracker would, in order: $(cat "$TMP/order")"

# The peer is faithful here too: like Firecracker, it refuses to start on
# an API socket that exists (which is why the driver removes stale ones).
"$py" "$PYRO_SRCDIR/tests/fcpeer.py" --yaml "$yaml" --root "$root" \
    --api-sock /run/firecracker.sock --log "$TMP/x.log" 2>"$TMP/x.err" &&
    fail "a peer started on a socket that exists"
grep -q "Failed to open the API socket" "$TMP/x.err" || fail "$(cat "$TMP/x.err")"
n=$((n+1)); pass "the peer, like Firecracker, refuses to start on an existing API socket"

for m in fail-boot-source garbage silent; do
	peer "$m"
	case $m in fail-boot-source) drive fail ;; *) drive "$m" ;; esac
	kill "$peer_pid" 2>/dev/null || true
	wait "$peer_pid" 2>/dev/null || true
done
echo "$n passed, 0 failed"
