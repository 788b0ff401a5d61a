#!/bin/sh
# The Firecracker driver's requests and jailer command lines against
# Firecracker's published API description (read where it lies: set
# PYRO_FC_API_YAML, or the shared reference beside the repository) and
# the jailer's documented options; see tests/fcschema.py.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
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
"$py" -c 'import jsonschema, yaml' 2>/dev/null ||
    fail "python3-jsonschema and python3-yaml are missing (scripts/deps.sh)"
"$PYRO_BUILDDIR/tests/check_fc" --dump "$TMP/plan.jsonl" ||
    fail "check_fc --dump"
"$py" "$PYRO_SRCDIR/tests/fcschema.py" "$yaml" "$TMP/plan.jsonl"
