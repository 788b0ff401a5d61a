#!/bin/sh
# pyrod as a detached daemon configured by pyrod.conf(5): it returns only
# once its socket answers, serves a doctor (helpers reaped: the signalfd is
# made after the fork), keeps no inherited fd, and stops on SIGTERM.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
n=0

cat >"$TMP/pyrod.conf" <<CONF
# a test configuration
socket = $TMP/d.sock
state_dir = $TMP/dstate   # trailing comment
libexec_dir = $PYRO_BUILDDIR
pid_file = $TMP/pyrod.pid
socket_mode = 0600
CONF
# An inherited fd must not survive into the daemon.
exec 7>"$TMP/inherited"
"$PYRO_BUILDDIR/pyrod" -f "$TMP/pyrod.conf" 2>"$TMP/d.log" ||
    fail "pyrod did not start: $(cat "$TMP/d.log")"
exec 7>&-
pid=$(cat "$TMP/pyrod.pid")
[ -S "$TMP/d.sock" ] || fail "socket not ready when pyrod returned"
[ "$(stat -c %a "$TMP/d.sock")" = 600 ] || fail "socket_mode ignored"
n=$((n+1)); pass "detached pyrod returns once its socket is ready"

if ls -l "/proc/$pid/fd" | grep -q "$TMP/inherited"; then
	fail "the daemon kept an inherited fd"
fi
n=$((n+1)); pass "no inherited fd in the daemon"

timeout 30 "$PYRO" --socket "$TMP/d.sock" --json doctor >"$TMP/doc.json" ||
    fail "doctor against the daemon failed or hung"
jq -e '.helpers["pyro-vmhelper"].ok and .helpers["pyro-diskhelper"].ok' \
    "$TMP/doc.json" >/dev/null || fail "helpers not ok: $(cat "$TMP/doc.json")"
# The helpers are gone and the /dev/kvm fd handed to the vmhelper is closed.
sleep 0.2
[ -z "$(pgrep -P "$pid")" ] || fail "helpers left behind"
if ls -l "/proc/$pid/fd" | grep -q /dev/kvm; then
	fail "pyrod leaked its /dev/kvm fd"
fi
n=$((n+1)); pass "doctor through the daemon, helpers reaped, no fd leak"

set +e
"$PYRO_BUILDDIR/pyrod" -f "$TMP/pyrod.conf" 2>"$TMP/d2.log"; rc=$?
set -e
[ $rc = 1 ] || fail "second pyrod on the same socket: exit $rc, want 1"
grep -q 'already listening' "$TMP/d2.log" || fail "second pyrod: message"
n=$((n+1)); pass "a second pyrod refuses the socket"

printf 'bogus_key = 1\n' >"$TMP/bad.conf"
set +e
"$PYRO_BUILDDIR/pyrod" -d -f "$TMP/bad.conf" 2>"$TMP/bad.log"; rc=$?
set -e
[ $rc = 1 ] || fail "bad config: exit $rc"
grep -q 'unknown key "bogus_key"' "$TMP/bad.log" || fail "bad config message"
n=$((n+1)); pass "unknown configuration keys are errors"

# A refused uid: pyrod answers permission_denied and closes, often before
# the client has written its request.  libpyro writes with MSG_NOSIGNAL,
# so the client reports the refusal instead of dying of SIGPIPE (141).
chmod 0666 "$TMP/d.sock"
chmod 0755 "$TMP"
for i in 1 2 3 4 5 6; do
	set +e
	as_nobody --socket "$TMP/d.sock" workspace list >/dev/null \
	    2>"$TMP/refused.err"
	rc=$?
	set -e
	[ $rc = 1 ] || fail "refused uid, run $i: exit $rc: $(cat "$TMP/refused.err")"
	grep -q '(permission_denied)$' "$TMP/refused.err" ||
	    fail "refused uid, run $i: $(cat "$TMP/refused.err")"
done
chmod 0700 "$TMP"
n=$((n+1)); pass "a refused uid gets permission_denied, never SIGPIPE (6 runs)"

kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$pid" 2>/dev/null && fail "pyrod ignored SIGTERM"
[ ! -e "$TMP/d.sock" ] || fail "socket left behind"
[ ! -e "$TMP/pyrod.pid" ] || fail "pid file left behind"
n=$((n+1)); pass "SIGTERM stops the daemon and removes its files"

echo "$n passed, 0 failed"
