#!/bin/sh
# The CLI as a user meets it: help, usage errors, exit codes, no daemon,
# and doctor end to end through libpyro and pyrod.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
command -v jq >/dev/null || fail "jq is missing (apt-get install jq)"
n=0

"$PYRO" --help >"$TMP/out" || fail "--help exit $?"
grep -q '^  doctor ' "$TMP/out" || fail "--help does not list doctor"
grep -q 'workspace status' "$TMP/out" || fail "--help misses workspace status"
n=$((n+1)); pass "pyro --help lists the commands"

"$PYRO" doctor --help | grep -q '^usage: pyro doctor' || fail "doctor --help"
"$PYRO" workspace --help | grep -q 'pyro workspace list' || fail "group help"
n=$((n+1)); pass "per-command help"

set +e
"$PYRO" frobnicate 2>"$TMP/err"; rc=$?
set -e
[ $rc = 2 ] || fail "unknown command exit $rc, want 2"
grep -q 'unknown command' "$TMP/err" || fail "unknown command message"
set +e
"$PYRO" vm status 2>"$TMP/err"; rc=$?
set -e
[ $rc = 2 ] || fail "missing argument exit $rc, want 2"
grep -q 'usage: pyro vm status VM_ID' "$TMP/err" || fail "usage line"
set +e
"$PYRO" doctor --bogus 2>/dev/null; rc=$?
set -e
[ $rc = 2 ] || fail "unknown option exit $rc, want 2"
n=$((n+1)); pass "usage errors exit 2"

# No daemon: a clear message, exit 1, at once.
set +e
start=$(date +%s%N)
PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" doctor 2>"$TMP/err"; rc=$?
end=$(date +%s%N)
set -e
[ $rc = 1 ] || fail "no daemon: exit $rc, want 1"
grep -q 'daemon_unavailable' "$TMP/err" || fail "no daemon: code"
grep -q "start it with 'pyrod'" "$TMP/err" || fail "no daemon: how to start"
[ $(( (end - start) / 1000000 )) -lt 2000 ] || fail "no daemon: too slow"
set +e
PYRO_SOCKET="$TMP/nothing.sock" "$PYRO" --json doctor >"$TMP/out"; rc=$?
set -e
[ $rc = 1 ] || fail "no daemon --json: exit $rc"
[ "$(jq -r .error.code "$TMP/out")" = daemon_unavailable ] ||
    fail "no daemon --json: not one JSON error document"
n=$((n+1)); pass "no daemon: daemon_unavailable, exit 1, no hang"

start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
"$PYRO" --json doctor >"$TMP/doctor.json" || fail "doctor --json exit $?"
for k in .platform.os .platform.arch .runtime.status .kvm.exists \
    .kvm.readable .kvm.writable .kvm.usable .vmm.selected \
    .capabilities.vm_boot .capabilities.guest_exec \
    .capabilities.guest_network .networking.tun.ok \
    .networking.ip_forward .state_dir .environment_cache.path; do
	[ "$(jq "$k" "$TMP/doctor.json")" != null ] || fail "doctor: no $k"
done
if [ "$(jq .kvm.usable "$TMP/doctor.json")" = false ]; then
	[ -n "$(jq -r '.kvm.reason // empty' "$TMP/doctor.json")" ] ||
	    fail "kvm unusable without a reason"
fi
[ "$(jq -r .environment_cache.path "$TMP/doctor.json")" = \
    "$HOME/.cache/pyro/environments" ] || fail "default cache dir"
PYRO_ENVIRONMENT_CACHE_DIR=/srv/envs "$PYRO" --json doctor |
    jq -e '.environment_cache.path == "/srv/envs"' >/dev/null ||
    fail "PYRO_ENVIRONMENT_CACHE_DIR ignored"
"$PYRO" doctor --json | jq -e .kvm >/dev/null || fail "--json after command"
n=$((n+1)); pass "doctor --json has every field"

"$PYRO" doctor >"$TMP/human" || fail "doctor exit $?"
grep -q '^KVM: .*usable=' "$TMP/human" || fail "human doctor: KVM line"
grep -q '^Runtime: ' "$TMP/human" || fail "human doctor: runtime line"
n=$((n+1)); pass "doctor human output"

set +e
"$PYRO" workspace status ffffffffffffffff 2>"$TMP/err"; rc=$?
set -e
[ $rc = 1 ] || fail "unknown workspace: exit $rc"
grep -q '(not_found)' "$TMP/err" || fail "unknown workspace: code"
"$PYRO" workspace list | grep -q 'No workspaces' || fail "empty list"
n=$((n+1)); pass "registry commands"

echo "$n passed, 0 failed"
