#!/bin/sh
# Guests that misbehave (tests/badagent as the initramfs's /init): one that
# never says hello, one that sends a malformed frame, one that floods output
# and ignores its timeout and power-off.  Each run fails with a clear error,
# leaves no QEMU, VM directory or temp file, and pyrod keeps serving.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
if [ -z "${PYRO_TEST_ENV_CACHE:-}" ] ||
    [ ! -f "$PYRO_TEST_ENV_CACHE/debian:12-base/manifest.json" ]; then
	echo "SKIP: no test environments (see scripts/test-envs.sh)"
	exit 77
fi
n=0
src="$PYRO_TEST_ENV_CACHE/debian:12-base"

# A copy of debian:12-base whose initramfs runs the bad agent in `mode`,
# with a manifest that matches (so only the guest is wrong).
make_env() {
	mode=$1 cache="$TMP/$1"
	mkdir -p "$cache/debian:12-base" "$TMP/ir-$mode"
	cp --sparse=always "$src/vmlinux" "$src/rootfs.ext4" \
	    "$cache/debian:12-base/"
	(cd "$TMP/ir-$mode" && cpio -id --quiet <"$src/initramfs.cpio")
	install -m 755 "$PYRO_BUILDDIR/tests/badagent" "$TMP/ir-$mode/init"
	echo "$mode" >"$TMP/ir-$mode/etc/pyro/badmode"
	(cd "$TMP/ir-$mode" && find . | sort | cpio -o -H newc --quiet) \
	    >"$cache/debian:12-base/initramfs.cpio"
	f="$cache/debian:12-base/initramfs.cpio"
	jq --arg sha "$(sha256sum "$f" | cut -d' ' -f1)" \
	    --argjson size "$(stat -c %s "$f")" \
	    '.parts["initramfs.cpio"] = {size: $size, sha256: $sha}' \
	    "$src/manifest.json" >"$cache/debian:12-base/manifest.json"
}

# Long enough for a loaded machine to boot the garbage and flood guests.
printf 'boot_timeout_seconds = 20\n' >"$TMP/pyrod.conf"
check_mode() {
	mode=$1 want=$2
	make_env "$mode"
	export PYRO_ENVIRONMENT_CACHE_DIR="$TMP/$mode"
	start_pyrod -f "$TMP/pyrod.conf"
	export PYRO_SOCKET="$TMP/pyrod.sock"
	t0=$(date +%s)
	set +e
	"$PYRO" --json run debian:12-base --timeout-seconds 3 -- true \
	    >"$TMP/j" 2>"$TMP/run.err"
	rc=$?
	set -e
	t1=$(date +%s)
	[ $rc = 1 ] || fail "$mode: exit $rc"
	[ "$(jq -r .error.code "$TMP/j")" = "$want" ] ||
	    fail "$mode: $(cat "$TMP/j"; tail -n 30 "$TMP/run.err")"
	[ $((t1 - t0)) -lt 60 ] || fail "$mode: took $((t1 - t0)) s"
	for _ in $(seq 100); do
		[ "$(qemus)" = 0 ] && [ -z "$(ls "$TMP/state/vms")" ] && break
		sleep 0.1
	done
	[ "$(qemus)" = 0 ] || fail "$mode: QEMU left"
	[ -z "$(ls "$TMP/state/vms")" ] || fail "$mode: VM directory left"
	"$PYRO" vm list >/dev/null || fail "$mode: pyrod stopped serving"
	kill "$PYROD_PID"; wait "$PYROD_PID" 2>/dev/null || true
	PYROD_PID=
	secs=$((t1 - t0))
}

# Not in $(...): a failure must stop this shell, whose trap stops pyrod.
check_mode silent guest_boot_failed
n=$((n+1)); pass "a guest that never says hello: guest_boot_failed in $secs s"
check_mode garbage guest_protocol_error
n=$((n+1)); pass "a guest that sends a malformed frame: guest_protocol_error in $secs s"
check_mode flood timeout
n=$((n+1)); pass "a guest that floods and ignores its timeout: timeout in $secs s"

# An environment whose agent speaks guest protocol 2 (built by 3.1.0): no
# networked template of it (its agent could not take an address after a
# restore); nothing of the build is left.
make_env v2
PYRO_ENVIRONMENT_CACHE_DIR="$TMP/v2" start_pyrod -f "$TMP/pyrod.conf"
export PYRO_SOCKET="$TMP/pyrod.sock"
expect_error unsupported "$PYRO" env warm debian:12-base --mem-mib 256 \
    --network
grep -q 'protocol 2) cannot take an address after a restore' "$TMP/xe" ||
    fail "v2 agent, env warm --network: $(cat "$TMP/xe")"
for _ in $(seq 100); do
	[ "$(qemus)" = 0 ] && [ -z "$(ls -A "$TMP/state/templates")" ] && break
	sleep 0.1
done
[ "$(qemus)" = 0 ] || fail "v2: QEMU left"
[ -z "$(ls -A "$TMP/state/templates")" ] ||
    fail "v2: template files left: $(ls -A "$TMP/state/templates")"
n=$((n+1)); pass "a protocol-2 agent: env warm --network is unsupported (rebuild the environment), nothing left"
echo "$n passed, 0 failed"
