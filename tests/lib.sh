# Shared by the shell tests: start a private pyrod, clean up on exit.
set -eu
: "${PYRO_BUILDDIR:=$(pwd)}"
: "${PYRO_SRCDIR:=$PYRO_BUILDDIR}"
PYRO="$PYRO_BUILDDIR/pyro"
TMP=$(mktemp -d /tmp/pyro-sh-XXXXXX)
PYROD_PID=
cleanup() {
	if [ -n "$PYROD_PID" ]; then
		kill "$PYROD_PID" 2>/dev/null || true
		wait "$PYROD_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$TMP/all.err" ]; then
		echo "--- the last errors the commands printed:" >&2
		tail -n 5 "$TMP/all.err" >&2
	fi
	if [ -s "$TMP/pyrod.log" ]; then
		echo "--- the last lines of pyrod's log:" >&2
		tail -n 25 "$TMP/pyrod.log" >&2
	fi
	exit 1
}
pass() { echo "ok - $*"; }

# PYROD_WRAP, when set, is a command pyrod runs under (ip netns exec NS).
start_pyrod() {
	# shellcheck disable=SC2086
	${PYROD_WRAP:-} "$PYRO_BUILDDIR/pyrod" -d --state-dir "$TMP/state" \
	    --socket "$TMP/pyrod.sock" --libexec-dir "$PYRO_BUILDDIR" "$@" \
	    2>"$TMP/pyrod.log" &
	PYROD_PID=$!
	for _ in $(seq 100); do
		[ -S "$TMP/pyrod.sock" ] && return 0
		sleep 0.05
	done
	cat "$TMP/pyrod.log" >&2
	fail "pyrod did not start"
}

# QEMUs of this test's pyrod, orphans included: each one's command line
# names the state directory (its -kernel lives there, in its jail).
qemus() { pgrep -c -f "qemu-system-x86_64 .*$TMP/state/" || true; }

# Guest tests: root (for pyrod), the test environments, then a private
# pyrod the pyro commands of the test talk to (pyro on PATH).
# The Firecracker tests: $yaml, Firecracker's published API description
# (PYRO_FC_API_YAML, or the shared reference beside the repository; read
# there, never copied), and $py, the Python that reads it; else a skip.
need_fc_api() {
	yaml=${PYRO_FC_API_YAML:-}
	for f in "$PYRO_SRCDIR/../shared/reference/firecracker/firecracker-api.yaml" \
	    /work/shared/reference/firecracker/firecracker-api.yaml; do
		[ -n "$yaml" ] || { [ -f "$f" ] && yaml=$f; }
	done
	if [ -z "$yaml" ] || [ ! -f "$yaml" ]; then
		echo "SKIP: Firecracker's API description not found (set PYRO_FC_API_YAML)"
		exit 77
	fi
	py=/usr/bin/python3
	[ -x "$py" ] || py=python3
}

need_guests() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for pyrod"; exit 77; }
	if [ -z "${PYRO_TEST_ENV_CACHE:-}" ] ||
	    [ ! -f "$PYRO_TEST_ENV_CACHE/debian:12/manifest.json" ]; then
		echo "SKIP: no test environments (scripts/test-envs.sh)"
		exit 77
	fi
	export PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_TEST_ENV_CACHE"
	export PATH="$PYRO_BUILDDIR:$PATH"
}

# Run the pyro CLI as uid 65534 (nobody), from copies in $TMP: the build
# directory may sit where that uid cannot reach (under a root-only home).
as_nobody() {
	if [ ! -x "$TMP/nobody/pyro" ]; then
		mkdir -p "$TMP/nobody"
		cp "$PYRO_BUILDDIR/.libs/pyro" "$PYRO_BUILDDIR/.libs/libpyro.so.1" \
		    "$TMP/nobody/"
		chmod 0755 "$TMP" "$TMP/nobody"
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env LD_LIBRARY_PATH="$TMP/nobody" "$TMP/nobody/pyro" "$@"
}

# The stable code a failed pyro command printed last: "... (code)".
code_of() { sed -n 's/.*(\([a-z_]*\))$/\1/p' "$1" | tail -n 1; }
# CODE then a command: it must fail, and its stderr end with (CODE).
expect_error() {
	xcode=$1
	shift
	if "$@" >"$TMP/xo" 2>"$TMP/xe"; then
		fail "$* succeeded; wanted $xcode"
	fi
	[ "$(code_of "$TMP/xe")" = "$xcode" ] ||
	    fail "$*: wanted $xcode, got: $(cat "$TMP/xe")"
}
