#!/bin/sh
# The main job on a fresh Debian 12 machine: install dependencies, build and
# install pyro, start pyrod, check the host with `pyro doctor`, prepare the
# debian:12 environment when it is missing, and run a command in a guest.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
scripts/deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure --prefix=/usr/local --sysconfdir=/etc \
    --localstatedir=/var
make -j"$(nproc)"
make install
ldconfig
if /usr/local/bin/pyro --json vm list >/dev/null 2>&1; then
	echo "[quickstart] pyrod is already running"
else
	/usr/local/sbin/pyrod
	echo "[quickstart] started pyrod on /run/pyro/pyrod.sock"
fi
/usr/local/bin/pyro doctor
if ! /usr/local/bin/pyro env list | grep -q '^debian:12 .*\[installed\]'; then
	/usr/local/bin/pyro env pull debian:12
fi
/usr/local/bin/pyro run debian:12 -- git --version
