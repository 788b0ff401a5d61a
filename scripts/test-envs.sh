#!/bin/sh
# Build the environments the guest tests boot, into PYRO_TEST_ENV_CACHE,
# reusing what is there unless it was built with another pyro-agent.
# Usage: scripts/test-envs.sh BUILDDIR
set -eu
builddir=$(cd "$1" && pwd)
cache=${PYRO_TEST_ENV_CACHE:-/var/tmp/pyro-test-environments}
agent_sha=$(sha256sum "$builddir/pyro-agent" | cut -d' ' -f1)
for env in debian:12 debian:12-base debian:12-build; do
	m="$cache/$env/manifest.json"
	if [ -f "$m" ] && grep -q "\"agent_sha256\":\"$agent_sha\"" "$m"; then
		echo "[test-envs] $env: up to date"
		continue
	fi
	echo "[test-envs] $env: building (about a minute)"
	PYRO_LIBEXECDIR=$builddir PYRO_ENVIRONMENT_CACHE_DIR=$cache \
	    "$builddir/pyro" env build "$env"
done
