#!/bin/sh
# The SDKs as a user gets them from one `make install` into a staging
# root: the C examples compiled with nothing but `pkg-config --cflags
# --libs pyro` against the installed header and library, then run against
# a real pyrod and guests; then pyro_mcp imported from the staged site
# directory, running one command in a guest over the installed library.
# Run by scripts/test.sh after make check (it installs, so it stays out of
# a parallel make check).  Usage: tests/installed.sh BUILDDIR
set -eu
PYRO_BUILDDIR=$(cd "$1" && pwd)
PYRO_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
export PYRO_BUILDDIR PYRO_SRCDIR
. "$PYRO_SRCDIR/tests/lib.sh"
need_guests
root="$TMP/root"
make -C "$PYRO_BUILDDIR" install DESTDIR="$root" >"$TMP/install.log" 2>&1 ||
    fail "make install: $(tail -n 20 "$TMP/install.log")"
pc=$(find "$root" -name pyro.pc | head -n 1)
[ -n "$pc" ] || fail "no pyro.pc installed"
[ -f "$(find "$root" -path '*/include/pyro/pyro.h' | head -n 1)" ] ||
    fail "no pyro/pyro.h installed"
flags=$(PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$(dirname "$pc")" \
    pkg-config --cflags --libs pyro) || fail "pkg-config pyro"
libdir=$(dirname "$(find "$root" -name 'libpyro.so.1' | head -n 1)")
for ex in oneshot lifecycle workspace; do
	# shellcheck disable=SC2086
	cc -Wall -Werror -o "$TMP/$ex" "$PYRO_SRCDIR/examples/$ex.c" $flags ||
	    fail "$ex does not build against the installed SDK"
done
n=1
pass "the examples build with pkg-config --cflags --libs pyro ($flags)"

start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
export LD_LIBRARY_PATH="$libdir"
"$TMP/oneshot" debian:12 git --version >"$TMP/o" 2>&1 ||
    fail "oneshot: $(cat "$TMP/o")"
grep -q '^git version 2\.' "$TMP/o" || fail "oneshot output: $(cat "$TMP/o")"
"$TMP/lifecycle" debian:12 >"$TMP/o" 2>&1 || fail "lifecycle: $(cat "$TMP/o")"
mkdir "$TMP/seed" && echo seed >"$TMP/seed/s.txt"
(cd "$TMP" && "$TMP/workspace" debian:12 "$TMP/seed") >"$TMP/o" 2>&1 ||
    fail "workspace: $(cat "$TMP/o")"
grep -q '^started again$' "$TMP/o" || fail "workspace output: $(cat "$TMP/o")"
ldd "$TMP/oneshot" | grep -q "$libdir/libpyro.so.1" ||
    fail "the example did not use the installed library"
n=$((n+1))
pass "the installed examples run: one-shot, lifecycle, workspace"

init=$(find "$root" -path '*/pyro_mcp/__init__.py' | head -n 1)
[ -n "$init" ] || fail "make install did not install pyro_mcp"
site=$(dirname "$(dirname "$init")")
[ -f "$site/pyro_mcp/py.typed" ] || fail "no py.typed in $site/pyro_mcp"
(cd "$TMP" && PYTHONPATH="$site" PYRO_LIBPYRO="$libdir/libpyro.so.1" \
    /usr/bin/python3 -c '
import pyro_mcp, sys
from pyro_mcp import Pyro
assert pyro_mcp.__file__.startswith(sys.argv[1]), pyro_mcp.__file__
print(Pyro().run_in_vm("debian:12", "git --version")["stdout"], end="")
' "$site") >"$TMP/o" 2>&1 || fail "the installed package: $(cat "$TMP/o")"
grep -q '^git version 2\.' "$TMP/o" || fail "output: $(cat "$TMP/o")"
n=$((n+1))
pass "make install put pyro_mcp in $(echo "$site" | sed "s|^$root||"); it imports and runs"
echo "$n passed, 0 failed"
