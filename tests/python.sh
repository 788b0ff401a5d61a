#!/bin/sh
# The Python SDK (python/pyro_mcp) against a private pyrod and real guests:
# pytest runs tests/python/ (the README's Python snippets verbatim, every
# workspace method on one workspace, errors, callbacks, threads, the
# examples), then tests/python_parity.py checks that every MCP tool and
# every exported libpyro call has its Python method and the reverse.
# Also: mypy --strict on the package, and pip install into a fresh venv
# followed by one run_in_vm.  Builds nothing: the package is pure Python
# over build/.libs/libpyro.so.1.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
n=0
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import pytest' 2>/dev/null || {
	echo "SKIP: no pytest for $PY (apt-get install python3-pytest)"
	exit 77
}
lib="$PYRO_BUILDDIR/.libs/libpyro.so.1"
[ -f "$lib" ] || fail "no $lib"
export PYRO_LIBPYRO="$lib"
export PYTHONPATH="$PYRO_SRCDIR/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

"$PY" "$PYRO_SRCDIR/tests/python_parity.py" "$PYRO_SRCDIR/mcp/tools.c" \
    "$PYRO_BUILDDIR/.libs/libpyro.so" || fail "Python parity"
n=$((n+1)); pass "Python parity with the MCP tools and libpyro's exports"

if command -v mypy >/dev/null; then
	(cd "$PYRO_SRCDIR/python" && mypy --strict --no-incremental \
	    --cache-dir=/dev/null pyro_mcp) >"$TMP/mypy.out" 2>&1 ||
	    fail "mypy --strict: $(cat "$TMP/mypy.out")"
	n=$((n+1)); pass "mypy --strict: $(tail -n 1 "$TMP/mypy.out")"
else
	echo "mypy not installed (apt-get install mypy): not checked"
fi

start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"

# pip into a fresh venv, offline, from a copy (pip builds in the tree).
cp -R "$PYRO_SRCDIR/python" "$TMP/pysrc"
chmod -R u+w "$TMP/pysrc"
"$PY" -m venv --system-site-packages "$TMP/venv" >"$TMP/pip.out" 2>&1 &&
    "$TMP/venv/bin/pip" install -q --no-index --no-build-isolation \
    "$TMP/pysrc" >>"$TMP/pip.out" 2>&1 || fail "pip install: $(cat "$TMP/pip.out")"
(cd "$TMP" && env -u PYTHONPATH "$TMP/venv/bin/python" -c '
from pyro_mcp import Pyro
import pyro_mcp, sys
assert pyro_mcp.__file__.startswith(sys.prefix), pyro_mcp.__file__
r = Pyro().run_in_vm("debian:12", "git --version")
assert r["exit_code"] == 0 and r["stdout"].startswith("git version 2."), r
print(r["stdout"], end="")') >"$TMP/venv.out" 2>&1 ||
    fail "the venv install: $(cat "$TMP/venv.out")"
n=$((n+1)); pass "pip install into a venv, then run_in_vm: $(cat "$TMP/venv.out")"

export PYRO_TEST_STATE_DIR="$TMP/state"
cd "$TMP"
set +e
"$PY" -m pytest -q -p no:cacheprovider "$PYRO_SRCDIR/tests/python/" \
    >"$TMP/pytest.out" 2>&1
rc=$?
set -e
cat "$TMP/pytest.out"
[ $rc = 0 ] || fail "pytest: exit $rc"
n=$((n+1)); pass "pytest: $(tail -n 1 "$TMP/pytest.out")"
[ "$(ls "$TMP/state/vms" 2>/dev/null | wc -l)" = 0 ] &&
    [ "$(qemus)" = 0 ] || fail "a VM or QEMU was left"
n=$((n+1)); pass "no VM left"
echo "$n passed, 0 failed"
