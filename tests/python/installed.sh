#!/bin/sh
# The Python SDK as `make install` puts it: install into a staging root,
# then import pyro_mcp with PYTHONPATH at the staged site directory and
# run one command in a guest through it.  Like tests/installed.sh, run by
# scripts/test.sh after make check (it installs).  Usage:
# tests/python/installed.sh BUILDDIR
set -eu
PYRO_BUILDDIR=$(cd "$1" && pwd)
PYRO_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
export PYRO_BUILDDIR PYRO_SRCDIR
. "$PYRO_SRCDIR/tests/lib.sh"
need_guests
root="$TMP/root"
make -C "$PYRO_BUILDDIR" install DESTDIR="$root" >"$TMP/install.log" 2>&1 ||
    fail "make install: $(tail -n 20 "$TMP/install.log")"
init=$(find "$root" -path '*/pyro_mcp/__init__.py' | head -n 1)
[ -n "$init" ] || fail "make install did not install pyro_mcp"
site=$(dirname "$(dirname "$init")")
[ -f "$site/pyro_mcp/py.typed" ] || fail "no py.typed in $site/pyro_mcp"
lib=$(find "$root" -name 'libpyro.so.1' | head -n 1)
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
(cd "$TMP" && PYTHONPATH="$site" PYRO_LIBPYRO="$lib" /usr/bin/python3 -c '
import pyro_mcp, sys
from pyro_mcp import Pyro
assert pyro_mcp.__file__.startswith(sys.argv[1]), pyro_mcp.__file__
print(Pyro().run_in_vm("debian:12", "git --version")["stdout"], end="")
' "$site") >"$TMP/o" 2>&1 || fail "the installed package: $(cat "$TMP/o")"
grep -q '^git version 2\.' "$TMP/o" || fail "output: $(cat "$TMP/o")"
pass "make install put pyro_mcp in $(echo "$site" | sed "s|^$root||"); it imports and runs"
echo "1 passed, 0 failed"
