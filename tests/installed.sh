#!/bin/sh
# The C SDK as a user gets it: `make install` into a staging root, the
# examples compiled with nothing but `pkg-config --cflags --libs pyro`
# against the installed header and library, then run against a real pyrod
# and guests.  Run by scripts/test.sh after make check (it installs, so it
# stays out of a parallel make check).  Usage: tests/installed.sh BUILDDIR
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
echo "$n passed, 0 failed"
