#!/bin/sh
# Every man page is mandoc -Tlint clean and renders.
set -eu
src="${PYRO_SRCDIR:-.}"
command -v mandoc >/dev/null || { echo "FAIL: mandoc missing (apt-get install mandoc)"; exit 1; }
n=0
for m in "$src"/man/*.[0-9]; do
	out=$(mandoc -Tlint -W warning "$m" 2>&1 || true)
	if [ -n "$out" ]; then
		echo "$out"
		echo "FAIL: $m"
		exit 1
	fi
	mandoc -Tascii "$m" >/dev/null
	n=$((n+1))
done
echo "$n passed, 0 failed"
