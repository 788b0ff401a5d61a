#!/bin/sh
# Build the environments the guest tests boot, into PYRO_TEST_ENV_CACHE,
# reusing what is there unless it was built with another pyro-agent or
# another package list (pyro-env-build --packages NAME; the manifest
# records the list it was built with).
# Usage: scripts/test-envs.sh BUILDDIR
set -eu
builddir=$(cd "$1" && pwd)
cache=${PYRO_TEST_ENV_CACHE:-/var/tmp/pyro-test-environments}
agent_sha=$(sha256sum "$builddir/pyro-agent" | cut -d' ' -f1)
# The builder too: its initramfs (modules) is not in the agent's hash.
builder_sha=$(sha256sum "$builddir/pyro-env-build" | cut -d' ' -f1)
for env in debian:12 debian:12-base debian:12-build; do
	m="$cache/$env/manifest.json"
	pkgs=$(sh "$builddir/pyro-env-build" --packages "$env")
	if [ -f "$m" ] && grep -q "\"agent_sha256\":\"$agent_sha\"" "$m" &&
	    grep -q "\"packages\":\"$pkgs\"" "$m" &&
	    [ "$(cat "$cache/$env.builder" 2>/dev/null)" = "$builder_sha" ]; then
		echo "[test-envs] $env: up to date"
		continue
	fi
	echo "[test-envs] $env: building (about a minute; packages: ${pkgs:-none})"
	PYRO_LIBEXECDIR=$builddir PYRO_ENVIRONMENT_CACHE_DIR=$cache \
	    "$builddir/pyro" env build "$env"
	echo "$builder_sha" >"$cache/$env.builder"
done
