#!/bin/sh
# One list of error codes: include/pyro/errcodes.h.  Every code there is
# documented in docs/public-contract.md's table and every documented code
# is there; libpyro, the CLI and the MCP server take codes from the list
# (PYRO_ERR_*), never spell one as a string of their own.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
src=${PYRO_SRCDIR:-.}
n=0

sed -n 's/^#define PYRO_ERR_[A-Z_]*[[:space:]]*"\([a-z_]*\)"$/\1/p' \
    "$src/include/pyro/errcodes.h" | grep -v '^ok$' | sort -u >"$TMP/listed"
[ -s "$TMP/listed" ] || fail "no codes in errcodes.h"
sed -n '/^## Error codes/,/^## /p' "$src/docs/public-contract.md" |
    sed -n 's/^| `\([a-z_]*\)` |.*/\1/p' | sort -u >"$TMP/documented"
if ! cmp -s "$TMP/listed" "$TMP/documented"; then
	diff "$TMP/listed" "$TMP/documented" >&2 || true
	fail "errcodes.h and the contract's error table differ (< listed, > documented)"
fi
n=$((n+1)); pass "$(wc -l <"$TMP/listed") codes, each listed and documented"

# The X-macro list and the string macros agree, code by code.
sed -n 's/^[[:space:]]*X(\([A-Z_]*\), "\([a-z_]*\)",.*/\1 \2/p' \
    "$src/include/pyro/errcodes.h" | sort >"$TMP/x"
sed -n 's/^#define PYRO_ERR_\([A-Z_]*\)[[:space:]]*"\([a-z_]*\)"$/\1 \2/p' \
    "$src/include/pyro/errcodes.h" | sort >"$TMP/m"
cmp -s "$TMP/x" "$TMP/m" || fail "PYRO_ERRCODES and PYRO_ERR_* disagree"
n=$((n+1)); pass "the enum's list and the PYRO_ERR_* strings agree"

# No code spelled by hand in the clients' error calls (comments aside):
# a literal code as an argument of an error setter or copied into a code.
pat=$(paste -sd'|' "$TMP/listed")
for f in "$src"/libpyro/*.c "$src"/cli/*.c "$src"/mcp/*.c; do
	awk -v name="${f#"$src"/}" '
		{ line = $0 }
		incomment { if (sub(/.*\*\//, "", line)) incomment = 0; else next }
		{ gsub(/\/\*[^*]*\*\//, "", line) }
		/\/\*/ { sub(/\/\*.*/, "", line); incomment = 1 }
		{ print name ":" NR ": " line }' "$f" |
	    grep -E "([a-z_]*(err|fail|error)[a-z_]*\\([^\"]*|code[^a-z_][^\"]*)\"($pat)\"" \
	    >>"$TMP/spelled" || true
done
if [ -s "$TMP/spelled" ]; then
	head -n 20 "$TMP/spelled" >&2
	fail "error codes spelled by hand (use PYRO_ERR_* from pyro/errcodes.h)"
fi
n=$((n+1)); pass "libpyro, the CLI and MCP take every code from the list"
echo "$n passed, 0 failed"
