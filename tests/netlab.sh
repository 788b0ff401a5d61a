# A small internet in network namespaces, for the networking tests.
# Sourced after tests/lib.sh.  No packet leaves the machine: pyrod runs in
# NET_HOST, whose only route leads to NET_OUT, which plays the internet:
#
#   NET_HOST  198.51.100.2/24 (veth), default via .1; a service on 0.0.0.0:9999
#   NET_OUT   198.51.100.1/24 and .10 .11 .12 .20, 169.254.169.254,
#             192.168.77.1 (a "LAN" address) (veth)
#             dnsmasq on .1:53: allowed.test=.10 denied.test=.11 cdn.test=.12
#                               viacname.test CNAME cdn.test
#             HTTP on :80 everywhere ("outside"), :8081 ("port8081"), and a
#             TCP listener on :853 (a DNS-over-TLS stand-in)
NET_HOST=pyro-th-$$
NET_OUT=pyro-to-$$
NET_PIDS=

in_host() { ip netns exec "$NET_HOST" "$@"; }
in_out() { ip netns exec "$NET_OUT" "$@"; }

netlab_down() {
	for p in $NET_PIDS; do kill "$p" 2>/dev/null || true; done
	# $! of `in_out CMD &` is a subshell's: the servers themselves are
	# its children.  Whatever still runs in the namespaces goes too.
	for ns in "$NET_HOST" "$NET_OUT"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null || true
		done
	done
	ip netns del "$NET_HOST" 2>/dev/null || true
	ip netns del "$NET_OUT" 2>/dev/null || true
}

netlab_up() {
	command -v dnsmasq >/dev/null || {
		echo "SKIP: dnsmasq is not installed (dnsmasq-base)"; exit 77; }
	ip netns add "$NET_HOST"
	ip netns add "$NET_OUT"
	ip link add "pth$$" type veth peer name "pto$$"
	ip link set "pth$$" netns "$NET_HOST"
	ip link set "pto$$" netns "$NET_OUT"
	in_host ip link set lo up
	in_host ip addr add 198.51.100.2/24 dev "pth$$"
	in_host ip link set "pth$$" up
	in_host ip route add default via 198.51.100.1
	in_out ip link set lo up
	for a in 1 10 11 12 20; do
		in_out ip addr add "198.51.100.$a/24" dev "pto$$"
	done
	in_out ip addr add 169.254.169.254/32 dev "pto$$"
	in_out ip addr add 192.168.77.1/32 dev "pto$$"
	in_out ip link set "pto$$" up
	mkdir -p "$TMP/www" "$TMP/www8081"
	echo outside >"$TMP/www/index.html"
	echo port8081 >"$TMP/www8081/index.html"
	in_out python3 -m http.server -b 0.0.0.0 -d "$TMP/www" 80 \
	    >/dev/null 2>&1 &
	NET_PIDS="$NET_PIDS $!"
	in_out python3 -m http.server -b 0.0.0.0 -d "$TMP/www8081" 8081 \
	    >/dev/null 2>&1 &
	NET_PIDS="$NET_PIDS $!"
	in_out python3 -m http.server -b 0.0.0.0 -d "$TMP/www" 853 \
	    >/dev/null 2>&1 &
	NET_PIDS="$NET_PIDS $!"
	mkdir -p "$TMP/hostsvc"
	echo host-secret >"$TMP/hostsvc/index.html"
	in_host python3 -m http.server -b 0.0.0.0 -d "$TMP/hostsvc" 9999 \
	    >/dev/null 2>&1 &
	NET_PIDS="$NET_PIDS $!"
	in_out dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	    --listen-address=198.51.100.1 --pid-file= --user=root \
	    --address=/allowed.test/198.51.100.10 \
	    --address=/denied.test/198.51.100.11 \
	    --host-record=cdn.test,198.51.100.12 \
	    --cname=viacname.test,cdn.test >"$TMP/dnsmasq.log" 2>&1 &
	NET_PIDS="$NET_PIDS $!"
	# Everything answers before a test relies on it.
	for _ in $(seq 100); do
		if in_host python3 -c 'import socket
for p in (80, 8081, 853):
    socket.create_connection(("198.51.100.1", p), 1).close()' \
		    2>/dev/null && in_host python3 -c 'import socket
socket.create_connection(("127.0.0.1", 9999), 1).close()' 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "the test internet did not come up"
}

# pyrod inside NET_HOST, with CONF as its pyrod.conf.
start_pyrod_net() {
	PYROD_WRAP="ip netns exec $NET_HOST" start_pyrod -f "$1"
}

# What is left of pyro's in NET_HOST: TAP devices and nft tables.
net_leftovers() {
	in_host ip -o link show | grep -o 'pyro-[0-9a-f]\{10\}:' || true
	in_host nft list tables | grep -o 'pyro_[0-9a-f]\{10\}' || true
}
