#!/bin/sh
# Install everything pyro needs to build and test on Debian 12.
# Idempotent; needs root.  Packages come from the host's own apt sources.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
 libseccomp-dev libcap-ng-dev libnl-3-dev libnl-route-3-dev libnftables-dev
 libcjson-dev libext2fs-dev check
 qemu-system-x86 debootstrap e2fsprogs lz4 cpio kmod nftables iproute2
 dnsmasq-base
 mandoc jq nettle-dev libarchive-dev libcurl4-openssl-dev python3 binutils
 docker-registry zstd
 python3-pytest mypy python3-venv python3-wheel python3-setuptools
 python3-yaml python3-jsonschema
 clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "[deps] installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
else
	echo "[deps] all packages present"
fi
# Node.js and npm run the MCP client tests; a machine may carry its own
# Node.js (not Debian's), so only the commands are checked.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "[deps] installing: nodejs npm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends nodejs npm
fi
