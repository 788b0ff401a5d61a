#!/bin/sh
# Real guests under QEMU (TCG here): pyro run end to end through pyrod.
# Needs the environments that scripts/test-envs.sh builds into
# PYRO_TEST_ENV_CACHE (the test command does that first).
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
if [ -z "${PYRO_TEST_ENV_CACHE:-}" ] ||
    [ ! -f "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" ]; then
	echo "SKIP: no test environments (run scripts/test-envs.sh BUILDDIR" \
	    "and set PYRO_TEST_ENV_CACHE)"
	exit 77
fi
export PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_TEST_ENV_CACHE"
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

leftovers() {
	# VM directories, QEMU processes, and temp files of ours.
	echo "vms=$(ls "$TMP/state/vms" | wc -l) qemu=$(qemus)" \
	    "tmp=$(ls /tmp | grep -cE '^(qemu|vl\.|pyro-vm)' || true)"
}
clean="vms=0 qemu=0 tmp=0"

"$PYRO" run debian:12 -- git --version >"$TMP/out" 2>"$TMP/err" ||
    fail "git --version: exit $?"
grep -q '^git version 2\.' "$TMP/out" || fail "no git version: $(cat "$TMP/out")"
grep -q 'execution_mode=guest_serial exit_code=0' "$TMP/err" ||
    fail "summary line: $(cat "$TMP/err")"
grep -q '^\[run\] phase=create environment=debian:12$' "$TMP/err" ||
    fail "create phase line"
n=$((n+1)); pass "git --version in a real guest, summary line"

for code in 0 1 42; do
	set +e
	"$PYRO" run debian:12 -- sh -c "echo to-out; echo to-err >&2; exit $code" \
	    >"$TMP/o" 2>"$TMP/e"
	rc=$?
	set -e
	[ $rc = "$code" ] || fail "exit $code came back as $rc"
	[ "$(cat "$TMP/o")" = to-out ] || fail "stdout mixed: $(cat "$TMP/o")"
	grep -q '^to-err$' "$TMP/e" || fail "stderr lost"
	grep -q '^to-out$' "$TMP/e" && fail "stdout leaked into stderr"
done
n=$((n+1)); pass "exit codes 0/1/42 pass through; stdout and stderr separated"

"$PYRO" run debian:12 -- sh -c 'yes pyro-data | head -c 10485760' \
    >"$TMP/big" 2>/dev/null || fail "10 MiB run failed"
want=$(yes pyro-data | head -c 10485760 | sha256sum | cut -d' ' -f1)
[ "$(sha256sum <"$TMP/big" | cut -d' ' -f1)" = "$want" ] ||
    fail "10 MiB output corrupted ($(stat -c %s "$TMP/big") bytes)"
n=$((n+1)); pass "10 MiB of output arrives intact"

# A one-shot VM's disk is a throwaway overlay: it must take real writes
# (it once lived in a 64 MiB tmpfs, and QEMU paused the guest on ENOSPC).
"$PYRO" run debian:12 --timeout-seconds 120 -- sh -c \
    'dd if=/dev/zero of=/root/big bs=1M count=192 2>/dev/null && sync &&
    stat -c %s /root/big' >"$TMP/o" 2>/dev/null || fail "192 MiB write"
[ "$(cat "$TMP/o")" = 201326592 ] || fail "192 MiB write: $(cat "$TMP/o")"
n=$((n+1)); pass "a one-shot guest writes 192 MiB to its disk"

set +e
t0=$(date +%s)
"$PYRO" run debian:12 --timeout-seconds 2 -- sleep 60 2>"$TMP/e"; rc=$?
t1=$(date +%s)
set -e
[ $rc = 1 ] || fail "timeout: exit $rc"
grep -q '(timeout)' "$TMP/e" || fail "timeout: no timeout error"
[ $((t1 - t0)) -lt 30 ] || fail "timeout took $((t1 - t0)) s"
[ "$(leftovers)" = "$clean" ] || fail "timeout left: $(leftovers)"
n=$((n+1)); pass "--timeout-seconds 2 -- sleep 60: timeout in $((t1 - t0)) s, nothing left"

"$PYRO" --json run debian:12 -- echo json-out >"$TMP/j" 2>/dev/null
jq -e '.exit_code == 0 and .stdout == "json-out\n" and
    .execution_mode == "guest_serial" and .cleanup.deleted == true and
    .cleanup.reason == "post_exec_cleanup"' "$TMP/j" \
    >/dev/null || fail "--json result: $(cat "$TMP/j")"
n=$((n+1)); pass "--json prints one structured result"

i=0
while [ $i -lt 20 ]; do
	"$PYRO" run debian:12 -- true 2>/dev/null || fail "sequential run $i"
	i=$((i+1))
done
[ "$(leftovers)" = "$clean" ] || fail "20 runs left: $(leftovers)"
n=$((n+1)); pass "20 sequential runs leave no QEMU, VM dir or temp file"

pids=
for k in 1 2 3; do
	"$PYRO" run debian:12 -- sh -c "echo conc-$k" >"$TMP/c$k" 2>/dev/null &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || fail "a concurrent run failed"
done
for k in 1 2 3; do
	[ "$(cat "$TMP/c$k")" = "conc-$k" ] || fail "concurrent run $k"
done
[ "$(leftovers)" = "$clean" ] || fail "concurrent runs left: $(leftovers)"
n=$((n+1)); pass "3 concurrent runs all succeed"

"$PYRO" run debian:12-base -- sh -c 'test ! -e /usr/bin/git && echo base' \
    2>/dev/null | grep -q '^base$' || fail "debian:12-base"
cat >"$TMP/hello.sh" <<'HELLO'
cd /tmp && printf '#include <stdio.h>\nint main(void){puts("hello from C");return 0;}\n' >h.c && cc -o h h.c && ./h && git --version >/dev/null && make --version >/dev/null
HELLO
"$PYRO" run debian:12-build --timeout-seconds 120 -- sh -c "$(cat "$TMP/hello.sh")" \
    2>"$TMP/e" | grep -q '^hello from C$' || fail "debian:12-build: $(tail -3 "$TMP/e")"
n=$((n+1)); pass "debian:12-base boots; debian:12-build compiles and runs C"

# Bad input: unknown and broken environments.
set +e
"$PYRO" run debian:99 -- true 2>"$TMP/e"; rc=$?
set -e
[ $rc = 1 ] && grep -q '(unknown_environment)' "$TMP/e" || fail "unknown env"
bad="$TMP/badcache"
mkdir -p "$bad"
cp -a --sparse=always "$PYRO_TEST_ENV_CACHE/debian:12" "$bad/"
printf 'X' | dd of="$bad/debian:12/vmlinux" bs=1 seek=4096 conv=notrunc 2>/dev/null
# pyrod opens environments from its own cache: restart it on the bad one.
run_in_bad() {
	"$PYRO" --json run debian:12 -- true >"$TMP/j" 2>/dev/null || true
}
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
export PYRO_ENVIRONMENT_CACHE_DIR="$bad"
start_pyrod
run_in_bad
[ "$(jq -r .error.code "$TMP/j")" = environment_corrupt ] ||
    fail "flipped byte not caught: $(cat "$TMP/j")"
truncate -s 1000 "$bad/debian:12/initramfs.cpio"
run_in_bad
[ "$(jq -r .error.code "$TMP/j")" = environment_corrupt ] ||
    fail "truncated file not caught: $(cat "$TMP/j")"
[ "$(leftovers)" = "$clean" ] || fail "corrupt envs left: $(leftovers)"
n=$((n+1)); pass "unknown and corrupt environments: clear errors, nothing left"

# No VMM: a plain vmm_unavailable, before anything is started.
kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
export PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_TEST_ENV_CACHE"
printf 'qemu_path = /nonexistent/qemu-system-x86_64\n' >"$TMP/noqemu.conf"
start_pyrod -f "$TMP/noqemu.conf"
run_in_bad
[ "$(jq -r .error.code "$TMP/j")" = vmm_unavailable ] ||
    fail "no VMM: $(cat "$TMP/j")"
[ "$(leftovers)" = "$clean" ] || fail "no VMM left: $(leftovers)"
n=$((n+1)); pass "no VMM: vmm_unavailable, nothing left"

kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
export PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_TEST_ENV_CACHE"
start_pyrod
# Ctrl-C of the CLI deletes the VM.
"$PYRO" run debian:12 -- sleep 120 2>"$TMP/e" &
cli=$!
for _ in $(seq 300); do
	grep -q 'phase=execute' "$TMP/e" && break
	sleep 0.1
done
kill -INT "$cli"
wait "$cli" 2>/dev/null || true
for _ in $(seq 150); do
	[ "$(leftovers)" = "$clean" ] && break
	sleep 0.1
done
[ "$(leftovers)" = "$clean" ] || fail "Ctrl-C left: $(leftovers)"
n=$((n+1)); pass "Ctrl-C of the CLI deletes the VM"

# An interrupted build is never listed as installed; prune removes it.
ic="$TMP/icache"
PYRO_ENVIRONMENT_CACHE_DIR="$ic" PYRO_LIBEXECDIR="$PYRO_BUILDDIR" \
    "$PYRO" env build debian:12-base >/dev/null 2>&1 &
b=$!
sleep 4
kill -TERM "$b" 2>/dev/null || true
pkill -TERM -f "pyro-env-build debian:12-base $ic" 2>/dev/null || true
wait "$b" 2>/dev/null || true
# debootstrap's own children may outlive the builder for a moment: they
# must be gone before prune (and before this test removes its files).
for _ in $(seq 50); do
	pgrep -f "$ic" >/dev/null || break
	pkill -TERM -f "$ic" 2>/dev/null || true
	sleep 0.2
done
pkill -KILL -f "$ic" 2>/dev/null || true
sleep 1
PYRO_ENVIRONMENT_CACHE_DIR="$ic" "$PYRO" env list |
    grep -q '^debian:12-base *\[not installed\]' || fail "partial env listed"
PYRO_ENVIRONMENT_CACHE_DIR="$ic" "$PYRO" env prune >/dev/null
[ -z "$(ls -A "$ic" 2>/dev/null)" ] || fail "prune left: $(ls -A "$ic")"
n=$((n+1)); pass "interrupted env build: not installed, pruned"

# ---- GP_RESUME (warm start groundwork): clock, CRNG reseed, hostname ----
# The agent takes the host's clock (an hour ahead here, so the change is
# visible), mixes in a seed and reseeds (RNDADDENTROPY + RNDRESEEDCRNG),
# and takes a hostname, each step reporting its errno; a network whose
# two ends are one address is refused (EINVAL) without failing the rest.
r=$("$PYRO_BUILDDIR/bench/gpbare" resume "$PYRO_TEST_ENV_CACHE/debian:12") ||
    fail "gpbare resume"
case $r in
"version=3 clock_error=0 entropy_error=0 hostname_error=0 net_error=0 bad_net_error=22 bad_net_others=0 offset_s="*) ;;
*) fail "GP_RESUME: $r" ;;
esac
off=${r#*offset_s=}
off=${off%% *}
[ "$off" -ge -2 ] && [ "$off" -le 2 ] || fail "GP_RESUME: guest clock off by $off s"
name=${r#*hostname=}
[ "${name%% *}" = "${r#*expected=}" ] || fail "GP_RESUME: hostname: $r"
n=$((n+1)); pass "GP_RESUME: the guest takes the host's clock (off by ${off} s), reseeds its CRNG and takes its name; a bad network is EINVAL"

echo "$n passed, 0 failed"
