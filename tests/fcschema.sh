#!/bin/sh
# The Firecracker driver's requests and jailer command lines against
# Firecracker's published API description (read where it lies: set
# PYRO_FC_API_YAML, or the shared reference beside the repository) and
# the jailer's documented options; see tests/fcschema.py.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_fc_api
"$py" -c 'import jsonschema, yaml' 2>/dev/null ||
    fail "python3-jsonschema and python3-yaml are missing (scripts/deps.sh)"
"$PYRO_BUILDDIR/tests/check_fc" --dump "$TMP/plan.jsonl" ||
    fail "check_fc --dump"
"$py" "$PYRO_SRCDIR/tests/fcschema.py" "$yaml" "$TMP/plan.jsonl"
