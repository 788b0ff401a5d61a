#!/bin/sh
# The VM lifecycle through the CLI against real guests: create, start,
# stop, start again, exec (which deletes), delete of a running VM, TTL
# expiry, network-info, ownership of state, and pyro demo.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
if [ -z "${PYRO_TEST_ENV_CACHE:-}" ] ||
    [ ! -f "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" ]; then
	echo "SKIP: no test environments (see scripts/test-envs.sh)"
	exit 77
fi
export PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_TEST_ENV_CACHE"
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0
state() { "$PYRO" --json vm status "$1" | jq -r .state; }

id=$("$PYRO" vm create debian:12 --mem-mib 512)
[ "$(state "$id")" = created ] || fail "create: $(state "$id")"
"$PYRO" --json vm status "$id" | jq -e '.mem_mib == 512 and
    .ttl_seconds == 600 and .environment == "debian:12"' >/dev/null ||
    fail "create: record"
"$PYRO" vm list | grep -q "^$id  created" || fail "list"
n=$((n+1)); pass "vm create records a VM; list and status show it"

"$PYRO" vm start "$id" >/dev/null || fail "start"
[ "$(state "$id")" = running ] || fail "after start: $(state "$id")"
[ "$(qemus)" = 1 ] || fail "one QEMU expected, $(qemus) running"
set +e
"$PYRO" vm start "$id" 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(busy)' "$TMP/e" || fail "second start not busy"
"$PYRO" --json vm network-info "$id" | jq -e '.network == false' \
    >/dev/null || fail "network-info"
"$PYRO" vm stop "$id" >/dev/null || fail "stop"
[ "$(state "$id")" = stopped ] || fail "after stop: $(state "$id")"
[ "$(qemus)" = 0 ] || fail "QEMU left after stop"
[ -f "$TMP/state/vms/$id/rootfs.ext4" ] || fail "stop lost the disk"
n=$((n+1)); pass "start, busy, network-info, stop keeps the disk"

"$PYRO" vm start "$id" >/dev/null || fail "second start"
[ "$(state "$id")" = running ] || fail "after restart"
set +e
out=$("$PYRO" vm exec "$id" -- sh -c 'echo exec-out; exit 7' 2>/dev/null)
rc=$?
set -e
[ $rc = 7 ] || fail "vm exec exit $rc"
[ "$out" = exec-out ] || fail "vm exec output: $out"
set +e
"$PYRO" vm status "$id" 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(not_found)' "$TMP/e" || fail "exec did not delete"
[ ! -e "$TMP/state/vms/$id" ] || fail "exec left the VM directory"
[ "$(qemus)" = 0 ] || fail "QEMU left after exec"
n=$((n+1)); pass "restart on the same disk; exec passes its exit code, then deletes"

id=$("$PYRO" vm create debian:12)
"$PYRO" vm start "$id" >/dev/null
"$PYRO" vm delete "$id" | grep -q "Deleted VM $id" || fail "delete"
[ ! -e "$TMP/state/vms/$id" ] && [ "$(qemus)" = 0 ] ||
    fail "delete of a running VM left something"
n=$((n+1)); pass "delete of a running VM leaves nothing"

id=$("$PYRO" vm create debian:12 --ttl-seconds 1)
for _ in $(seq 150); do
	"$PYRO" vm status "$id" >/dev/null 2>&1 || break
	sleep 0.1
done
"$PYRO" vm status "$id" >/dev/null 2>&1 && fail "TTL not enforced"
# reap-expired races pyrod's own reaper (every 5 s): either may delete
# it, and the answer lists it only if reap-expired did.  Either way it is
# gone once reap-expired returns.
id=$("$PYRO" vm create debian:12 --ttl-seconds 1)
sleep 1.2
"$PYRO" --json vm reap-expired >"$TMP/reap.json" || fail "reap-expired"
jq -e '.deleted | type == "array"' "$TMP/reap.json" >/dev/null ||
    fail "reap-expired result: $(cat "$TMP/reap.json")"
"$PYRO" vm status "$id" >/dev/null 2>&1 && fail "reap-expired kept it"
n=$((n+1)); pass "VMs past their TTL are deleted (by pyrod and reap-expired)"

set +e
"$PYRO" vm exec 0000000000000000 -- true 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(not_found)' "$TMP/e" || fail "exec unknown VM"
id=$("$PYRO" vm create debian:12)
set +e
"$PYRO" vm exec "$id" -- true 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q 'not running' "$TMP/e" || fail "exec on a created VM"
"$PYRO" vm delete "$id" >/dev/null
n=$((n+1)); pass "exec on unknown or stopped VMs: clear errors"

"$PYRO" demo >"$TMP/demo.json" 2>/dev/null || fail "demo"
jq -e '.cleanup.deleted == true and
    .cleanup.reason == "post_exec_cleanup" and .cleanup.vm_id == .vm_id and
    .command == "git --version" and
    .environment == "debian:12" and .execution_mode == "guest_serial" and
    .exit_code == 0 and (.stdout | startswith("git version"))' \
    "$TMP/demo.json" >/dev/null || fail "demo JSON: $(cat "$TMP/demo.json")"
n=$((n+1)); pass "pyro demo prints the contract's JSON"

"$PYRO_BUILDDIR/examples/oneshot" debian:12 sh -c 'echo sdk-out; exit 0' \
    >"$TMP/o" 2>"$TMP/e" || fail "examples/oneshot: $(cat "$TMP/e")"
[ "$(cat "$TMP/o")" = sdk-out ] || fail "examples/oneshot output"
grep -q '"exit_code":0' "$TMP/e" || fail "examples/oneshot result"
"$PYRO_BUILDDIR/examples/lifecycle" debian:12 >"$TMP/o" 2>"$TMP/e" ||
    fail "examples/lifecycle: $(cat "$TMP/e")"
grep -q '^stop: stopped$' "$TMP/o" && grep -q '^deleted: not_found$' "$TMP/o" ||
    fail "examples/lifecycle output: $(cat "$TMP/o")"
n=$((n+1)); pass "the C SDK examples run against real guests"

echo "$n passed, 0 failed"
