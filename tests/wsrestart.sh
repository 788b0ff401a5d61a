#!/bin/sh
# pyrod restarted while a workspace runs: by SIGTERM (it powers the guest
# off and records "stopped") and by kill -9 (the VM helper powers the
# guest off by itself; the restarted pyrod marks it stopped).  Either way
# the workspace starts again with every file written before, and its
# history and snapshots.  Also stop/start and the TTL sweep.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

state() { pyro --json workspace status "$1" | jq -r .state; }

id=$(pyro workspace create debian:12 --vcpu-count 2 --mem-mib 512 \
    --allow-host-compat 2>"$TMP/err") || fail "create: $(cat "$TMP/err")"
[ "$(pyro workspace exec "$id" -- nproc)" = 2 ] || fail "--vcpu-count 2"
mem=$(pyro workspace exec "$id" -- awk '/MemTotal/ { print $2 }' /proc/meminfo)
[ "$mem" -gt 400000 ] && [ "$mem" -lt 524288 ] || fail "--mem-mib 512: $mem kB"
pyro --json workspace status "$id" | jq -e '.vcpu_count == 2 and
    .mem_mib == 512 and .execution_mode == "guest_serial"' >/dev/null ||
    fail "status resources"
pyro workspace exec "$id" -- sh -c 'head -c 3000000 /dev/urandom >r1 &&
    sha256sum r1 >r1.sum && sync' || fail "write r1"
pyro workspace snapshot create "$id" before >/dev/null || fail "snapshot"
# Written without a sync: the power-off on SIGTERM flushes it.
pyro workspace exec "$id" -- sh -c 'echo unsynced >u.txt' || fail "write u"

kill -TERM "$PYROD_PID"
wait "$PYROD_PID" 2>/dev/null || true
PYROD_PID=
[ "$(qemus)" = 0 ] || fail "QEMU outlived pyrod's SIGTERM"
grep -q 'stopping 1 running VM' "$TMP/pyrod.log" || fail "no orderly stop"
start_pyrod
[ "$(state "$id")" = stopped ] || fail "after SIGTERM: $(state "$id")"
pyro workspace status "$id" | grep -q 'pyrod shut down' || fail "why"
pyro workspace start "$id" >/dev/null 2>&1 || fail "start after SIGTERM"
pyro workspace exec "$id" -- sha256sum -c r1.sum >/dev/null || fail "r1 lost"
[ "$(pyro workspace exec "$id" -- cat u.txt)" = unsynced ] || fail "u.txt lost"
pyro workspace snapshot list "$id" | grep -q '^before ' || fail "snapshot lost"
pyro workspace logs "$id" | grep -q 'head -c 3000000' || fail "history lost"
n=$((n+1)); pass "pyrod SIGTERM: guest powered off, workspace stopped, starts with its files"

pyro workspace exec "$id" -- sh -c 'echo k9 >k9.txt && sync' || fail "write k9"
kill -KILL "$PYROD_PID"
wait "$PYROD_PID" 2>/dev/null || true
PYROD_PID=
# The VM helper notices and powers the guest off by itself.
for _ in $(seq 100); do [ "$(qemus)" = 0 ] && break; sleep 0.2; done
[ "$(qemus)" = 0 ] || fail "QEMU outlived pyrod's kill -9"
# A killed pyrod leaves its socket: without this, start_pyrod would take
# the stale file for the new pyrod being up and ask too early.
rm -f "$TMP/pyrod.sock"
start_pyrod
[ "$(state "$id")" = stopped ] || fail "after kill -9: $(state "$id")"
pyro workspace status "$id" | grep -q 'recovered' || fail "no recovered event"
pyro workspace start "$id" >/dev/null 2>"$TMP/start.err" ||
    fail "start after kill -9: $(cat "$TMP/start.err"; pyro --json \
    workspace logs "$id" | jq -c '.events[-3:]')"
[ "$(pyro workspace exec "$id" -- cat k9.txt)" = k9 ] || fail "k9 lost"
pyro workspace exec "$id" -- sha256sum -c r1.sum >/dev/null || fail "r1 lost (2)"
n=$((n+1)); pass "pyrod kill -9: workspace recovered as stopped, starts with its files"
# The restart's sweep of unlisted archives kept the listed one.
[ -f "$TMP/state/workspaces/$id/snapshot-before.tar" ] ||
    fail "the listed snapshot's archive went at the restart"
n=$((n+1)); pass "a snapshot its record lists keeps its archive across restarts"

# ---- stop/start: states, refusals, and the same disk ----
pyro workspace stop "$id" | grep -q '^State: *stopped$' || fail "stop"
set +e
pyro workspace exec "$id" -- true 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(workspace_not_running)$' "$TMP/e" ||
    fail "exec on a stopped workspace: $(cat "$TMP/e")"
pyro workspace stop "$id" >/dev/null || fail "stop twice"
pyro workspace start "$id" >/dev/null 2>&1 || fail "start"
set +e
pyro workspace start "$id" 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(workspace_running)$' "$TMP/e" || fail "start twice"
[ "$(pyro workspace exec "$id" -- cat k9.txt)" = k9 ] || fail "k9 after stop"
pyro workspace delete "$id" >/dev/null
n=$((n+1)); pass "stop/start keep the disk; refusals have stable codes"

# ---- TTL: a workspace past its TTL is stopped and deleted ----
id=$(pyro workspace create debian:12 --ttl-seconds 12 2>/dev/null) ||
    fail "create with TTL"
# While the guest powers off the workspace is "deleting" (status and logs
# still answer, and say so); poll until it is gone.
warned=0
deleting=0
for _ in $(seq 120); do
	if pyro workspace logs "$id" >"$TMP/l" 2>"$TMP/le"; then
		grep -q 'expiring' "$TMP/l" && warned=1
		# The window is the guest's power-off: often too short to
		# see, so it is counted, not required.
		pyro workspace status "$id" --json 2>/dev/null |
		    jq -e '.state == "deleting"' >/dev/null &&
		    deleting=$((deleting + 1))
	elif [ "$(code_of "$TMP/le")" != busy ]; then
		break
	fi
	sleep 0.2
done
[ $warned = 1 ] || fail "the logs never said the TTL was ending"
expect_error not_found pyro workspace status "$id"
grep -q "workspace $id: TTL expired; deleted" "$TMP/pyrod.log" ||
    fail "no TTL log line"
[ "$(ls "$TMP/state/workspaces" | wc -l)" = 0 ] || fail "TTL left files"
[ "$(qemus)" = 0 ] || fail "TTL left QEMU"
n=$((n+1)); pass "TTL: stopped and deleted by pyrod (status showed \"deleting\" $deleting time(s) on the way)"

echo "$n passed, 0 failed"
