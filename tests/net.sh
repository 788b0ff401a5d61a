#!/bin/sh
# Guest networking against a test internet in network namespaces
# (tests/netlab.sh): egress by address and name, no network without it,
# policies, published ports, egress allowlists, what is always blocked,
# bad input, and teardown after delete, a killed helper and a killed pyrod.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
. "${PYRO_SRCDIR:-.}/tests/netlab.sh"
need_guests
trap 'cleanup; netlab_down' EXIT
netlab_up
# Two /30s: the third networked VM finds the pool used up.
cat >"$TMP/pyrod.conf" <<EOF
network_pool = 10.250.0.0/29
network_dns = 198.51.100.1
EOF
start_pyrod_net "$TMP/pyrod.conf"
export PYRO_SOCKET="$TMP/pyrod.sock"

# Guest-side probes (python3 is in the debian:12 test environment).
GET='import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=4).read().decode().strip())
except Exception as e:
    print("FAIL", type(e).__name__); sys.exit(1)'
CONNECT='import sys, socket
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close(); print("open")
except Exception as e:
    print("FAIL", type(e).__name__); sys.exit(1)'
RESOLVE='import sys, socket
try:
    print(socket.gethostbyname(sys.argv[1]))
except Exception as e:
    print("FAIL", type(e).__name__); sys.exit(1)'
# ws_py ID CODE ARGS...: run a probe in a workspace, its stdout in $TMP/o.
ws_py() {
	id=$1 code=$2
	shift 2
	"$PYRO" workspace exec "$id" -- python3 -c "$code" "$@" >"$TMP/o" \
	    2>>"$TMP/all.err" || true
}
want() { grep -qx "$1" "$TMP/o" || fail "$2: got $(cat "$TMP/o")"; }

# --- bad input, refused before anything boots ---
expect_error invalid_argument "$PYRO" run --allow-egress 10.0.0.0/8 \
    debian:12 -- true
for bad in 10.0.0.0/33 10.0.0.300 "" "bad_name!" "a..b" "*."; do
	expect_error invalid_argument "$PYRO" vm create debian:12 --network \
	    --allow-egress "$bad"
done
long=$(printf 'a%.0s' $(seq 64)).test
expect_error invalid_argument "$PYRO" vm create debian:12 --network \
    --allow-egress "$long"
many=""
for i in $(seq 33); do many="$many --allow-egress 10.0.$i.0/24"; done
# shellcheck disable=SC2086
expect_error limit_exceeded "$PYRO" vm create debian:12 --network $many
expect_error invalid_argument "$PYRO" workspace create debian:12 \
    --network-policy everything
[ "$("$PYRO" vm list --json | grep -c vm_id || true)" = 0 ] ||
    fail "a refused create left a VM"
pass "bad egress rules and policies are refused (invalid_argument, limit_exceeded)"

# --- one-shot runs ---
"$PYRO" run --network debian:12 -- python3 -c "$GET" http://198.51.100.10/ \
    >"$TMP/o" 2>>"$TMP/all.err" || fail "run --network by address"
want outside "run --network by address"
"$PYRO" run --network debian:12 -- python3 -c "$GET" http://allowed.test/ \
    >"$TMP/o" 2>>"$TMP/all.err" || fail "run --network by name"
want outside "run --network by name"
pass "run --network reaches the outside by address and by name"
t0=$(date +%s)
"$PYRO" run debian:12 -- sh -c 'ls /sys/class/net; python3 -c "$1" \
    198.51.100.10 80' sh "$CONNECT" >"$TMP/o" 2>>"$TMP/all.err" &&
    fail "run without --network reached the outside"
grep -qx lo "$TMP/o" && ! grep -q eth0 "$TMP/o" ||
    fail "run without --network has a network device: $(cat "$TMP/o")"
grep -q "FAIL OSError" "$TMP/o" || fail "no-network connect: $(cat "$TMP/o")"
[ $(($(date +%s) - t0)) -lt 60 ] || fail "no-network connect was slow"
pass "run without --network has only lo and fails fast"
"$PYRO" run --network --allow-egress 198.51.100.10/32 debian:12 -- sh -c \
    'python3 -c "$1" http://198.51.100.10/; python3 -c "$2" allowed.test' \
    sh "$GET" "$RESOLVE" >"$TMP/o" 2>>"$TMP/all.err" || true
[ "$(cat "$TMP/o")" = "outside
FAIL gaierror" ] || fail "CIDR rules only: $(cat "$TMP/o")"
pass "with address rules only, the CIDR is reachable and no name resolves (DNS is no way out)"

# --- the same through MCP: vm_run's network and allow_egress ---
FETCH="python3 -c \"import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=4).read().decode().strip())\" \"\$0\" || echo FAIL"
mcp_run() {	# ID URL ALLOW(JSON): one vm_run request
	jq -cn --argjson id "$1" --arg cmd "$FETCH" --arg url "$2" \
	    --argjson allow "$3" '{jsonrpc: "2.0", id: $id,
	    method: "tools/call", params: {name: "vm_run", arguments: {
	    environment: "debian:12", command: ($cmd | sub("\\$0"; $url)),
	    network: true, allow_egress: $allow, timeout_seconds: 60}}}'
}
{
	echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	mcp_run 2 http://198.51.100.10/ '["198.51.100.10/32"]'
	mcp_run 3 http://198.51.100.11/ '["198.51.100.10/32"]'
	# Stay connected until both answered (a client that goes, cancels).
	for _ in $(seq 900); do
		[ "$(grep -c '"id":[23],' "$TMP/mcpnet.out" 2>/dev/null)" = 2 ] &&
		    break
		sleep 0.2
	done
} | "$PYRO" mcp serve >"$TMP/mcpnet.out" 2>"$TMP/mcpnet.err" ||
    fail "mcp serve: $(cat "$TMP/mcpnet.err")"
mcp_out() { grep "\"id\":$1," "$TMP/mcpnet.out" |
    jq -r '.result.structuredContent.stdout'; }
[ "$(mcp_out 2)" = outside ] ||
    fail "MCP vm_run with allow_egress to the address: $(grep '"id":2,' "$TMP/mcpnet.out")"
[ "$(mcp_out 3)" = FAIL ] ||
    fail "MCP vm_run to an address outside allow_egress: $(grep '"id":3,' "$TMP/mcpnet.out")"
pass "MCP vm_run with network and allow_egress: the allowed address answers, another does not"

# --- workspaces: egress+published-ports, egress with allow rules, off ---
A=$("$PYRO" workspace create debian:12 \
    --network-policy egress+published-ports) || fail "create A"
B=$("$PYRO" workspace create debian:12 \
    --network-policy egress+published-ports --allow-egress allowed.test \
    --allow-egress viacname.test --allow-egress 198.51.100.20/32:8081) ||
    fail "create B"
ws_py "$A" "$GET" http://198.51.100.11/
want outside "workspace with egress"
"$PYRO" workspace status "$A" --json >"$TMP/sa"
[ "$(jq -r .networking.policy "$TMP/sa")" = egress+published-ports ] &&
    jq -r .networking.guest_ip "$TMP/sa" | grep -q '^10\.250\.0\.' ||
    fail "status shows no network: $(cat "$TMP/sa")"
pass "a workspace with egress reaches the outside; status shows its network"

expect_error resources_exhausted "$PYRO" run --network debian:12 -- true
pass "an exhausted address pool is resources_exhausted"

# Published ports.
"$PYRO" workspace service start "$A" web --ready-tcp 127.0.0.1:8080 \
    --publish 18080:8080 -- python3 -m http.server 8080 >/dev/null \
    2>>"$TMP/all.err" || fail "service start --publish"
in_host python3 -c "$GET" http://127.0.0.1:18080/ >"$TMP/o" ||
    fail "GET 127.0.0.1:18080: $(cat "$TMP/o")"
grep -q "Directory listing" "$TMP/o" || fail "published port: $(cat "$TMP/o")"
# A large answer arrives whole through the proxy.
"$PYRO" workspace exec "$A" -- sh -c 'head -c 3145728 /dev/urandom >big &&
    sha256sum big' >"$TMP/sum" 2>>"$TMP/all.err" || fail "write big"
in_host python3 -c 'import hashlib, sys, urllib.request
print(hashlib.sha256(urllib.request.urlopen(sys.argv[1], timeout=20).read()).hexdigest())' \
    http://127.0.0.1:18080/big >"$TMP/got" || fail "GET big"
[ "$(cut -d" " -f1 "$TMP/sum")" = "$(cat "$TMP/got")" ] ||
    fail "3 MiB through the published port differ"
[ "$("$PYRO" workspace status "$A" --json |
    jq '.networking.published_ports[0].host_port')" = 18080 ] ||
    fail "status does not show the published port"
expect_error port_in_use "$PYRO" workspace service start "$B" web2 \
    --publish 18080:8080 -- sleep 100
for bad in 0:80 70000:80 18081:0 abc 18081; do
	expect_error invalid_argument "$PYRO" workspace service start "$A" \
	    bad --publish "$bad" -- sleep 1
done
expect_error invalid_argument "$PYRO" workspace service start "$A" dup \
    --publish 18082:80 --publish 18082:81 -- sleep 1
"$PYRO" workspace service stop "$A" web >/dev/null || fail "service stop"
for _ in $(seq 50); do
	in_host python3 -c "$CONNECT" 127.0.0.1 18080 >/dev/null 2>&1 ||
	    break
	sleep 0.1
done
in_host python3 -c "$CONNECT" 127.0.0.1 18080 >/dev/null 2>&1 &&
    fail "the published port stayed open after service stop"
pass "published ports: a GET on 127.0.0.1:18080 reaches the guest, port_in_use, bad ports refused, closed after stop"

# Allowlists (B): names through the forwarder, CIDR:PORT, nothing else.
ws_py "$B" "$GET" http://allowed.test/
want outside "allowed name"
ws_py "$B" "$GET" http://viacname.test/
want outside "allowed name through a CNAME"
ws_py "$B" "$RESOLVE" denied.test
want "FAIL gaierror" "denied name resolves"
ws_py "$B" "$CONNECT" 198.51.100.11 80
want "FAIL TimeoutError" "denied address by number"
ws_py "$B" "$GET" http://198.51.100.20:8081/
want port8081 "CIDR:PORT allowed"
ws_py "$B" "$CONNECT" 198.51.100.20 80
want "FAIL TimeoutError" "CIDR:PORT, another port"
for p in 53 853; do
	ws_py "$B" "$CONNECT" 198.51.100.1 "$p"
	want "FAIL TimeoutError" "another DNS server on $p"
	ws_py "$A" "$CONNECT" 198.51.100.1 "$p"
	want "FAIL TimeoutError" "another DNS server on $p (no rules)"
done
# A guest flooding its forwarder: dropped past the rate, the forwarder
# stays up and answers again.
bgw=$("$PYRO" workspace status "$B" --json | jq -r .networking.gateway_ip)
ws_py "$B" 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
q = bytes.fromhex("abcd01000001000000000000") + b"\x07allowed\x04test\x00\x00\x01\x00\x01"
for i in range(3000):
    s.sendto(q, (sys.argv[1], 53))
print("sent")' "$bgw"
want sent "the DNS flood"
sleep 1
ws_py "$B" "$RESOLVE" allowed.test
want 198.51.100.10 "the forwarder after a flood"
grep -q "floods DNS" "$TMP/pyrod.log" || fail "no word of the flood in the log"
pass "allowlists: allowed names (and CNAMEs) work, denied names do not resolve, unlisted addresses, ports and other DNS servers are dropped"

# Always blocked, whatever the policy.
bip=$("$PYRO" workspace status "$B" --json | jq -r .networking.guest_ip)
agw=$("$PYRO" workspace status "$A" --json | jq -r .networking.gateway_ip)
[ -n "$bip" ] && [ -n "$agw" ] || fail "no addresses in status"
ws_py "$A" "$CONNECT" 169.254.169.254 80
want "FAIL TimeoutError" "cloud metadata"
ws_py "$A" "$CONNECT" "$agw" 9999
want "FAIL TimeoutError" "a host service on 0.0.0.0 (gateway)"
ws_py "$A" "$CONNECT" 198.51.100.2 9999
want "FAIL TimeoutError" "a host service on 0.0.0.0 (uplink address)"
ws_py "$A" "$CONNECT" 192.168.77.1 80
want "FAIL TimeoutError" "a private (LAN) address"
# A container-style DNAT on the host does not open a way out either.
in_host nft -f - <<EOF
table ip dockerish {
	chain pre { type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.51.100.2 tcp dport 8088 dnat to 198.51.100.11:80; }
}
EOF
ws_py "$A" "$CONNECT" 198.51.100.2 8088
want "FAIL TimeoutError" "a host DNAT rule"
in_host nft delete table ip dockerish
"$PYRO" workspace exec "$B" -- python3 -m http.server 7000 \
    >/dev/null 2>&1 &
sleep 2
ws_py "$A" "$CONNECT" "$bip" 7000
want "FAIL TimeoutError" "another workspace"
in_host python3 -c "$CONNECT" "$bip" 7000 >"$TMP/o" 2>&1 || true
want "FAIL TimeoutError" "the host opening a connection to a guest"
pass "metadata, host services, LAN addresses, host DNAT, other guests are unreachable; the host cannot open connections to guests"

# Off: no network at all; no publishing.
C=$("$PYRO" workspace create debian:12) || fail "create C"
ws_py "$C" "$CONNECT" 198.51.100.10 80
want "FAIL OSError" "policy off"
expect_error invalid_argument "$PYRO" workspace service start "$C" web \
    --publish 18090:80 -- sleep 1
pass "a workspace with policy off has no network and cannot publish"

# --- teardown ---
"$PYRO" workspace delete "$A" >/dev/null || fail "delete A"
"$PYRO" workspace delete "$C" >/dev/null || fail "delete C"
net_leftovers >"$TMP/left"
[ "$(wc -l <"$TMP/left")" = 2 ] || fail "after delete: $(cat "$TMP/left")"
pass "delete removes the TAP and the nft table"

vmh=$(pgrep -P "$PYROD_PID" -f pyro-vmhelper | head -n 1)
[ -n "$vmh" ] || fail "no vmhelper for B"
kill -9 "$vmh"
for _ in $(seq 100); do
	[ -z "$(net_leftovers)" ] && break
	sleep 0.1
done
[ -z "$(net_leftovers)" ] || fail "after kill -9: $(net_leftovers)"
"$PYRO" workspace delete "$B" >/dev/null 2>&1 || true
pass "kill -9 of a vmhelper: its TAP and table are gone"

# A TAP of the VM's name that is not pyro's: refused, left alone, no
# table made.
V=$("$PYRO" vm create debian:12 --network) || fail "vm create --network"
tapname="pyro-$(echo "$V" | cut -c1-10)"
in_host ip tuntap add dev "$tapname" mode tap
expect_error network_unavailable "$PYRO" vm start "$V"
grep -q "already exists" "$TMP/xe" || fail "TAP collision: $(cat "$TMP/xe")"
in_host ip link show "$tapname" >/dev/null 2>&1 ||
    fail "pyro removed a TAP that was not its own"
in_host nft list tables | grep -q pyro_ && fail "a table after the refusal"
in_host ip tuntap del dev "$tapname" mode tap
pass "a TAP name collision is network_unavailable; the other device stays, nothing is left"
"$PYRO" demo --network >"$TMP/o" 2>>"$TMP/all.err" || fail "demo --network"
jq -e '.exit_code == 0' "$TMP/o" >/dev/null || fail "demo --network: $(cat "$TMP/o")"
pass "pyro demo --network"
"$PYRO" vm start "$V" >/dev/null || fail "vm start"
"$PYRO" vm network-info "$V" >"$TMP/o" || fail "network-info"
grep -q "guest 10.250.0." "$TMP/o" || fail "network-info: $(cat "$TMP/o")"
kill -9 "$PYROD_PID"
wait "$PYROD_PID" 2>/dev/null || true
PYROD_PID=
rm -f "$TMP/pyrod.sock"
for _ in $(seq 150); do
	[ -z "$(net_leftovers)" ] && break
	sleep 0.2
done
start_pyrod_net "$TMP/pyrod.conf"
for _ in $(seq 100); do
	[ -z "$(net_leftovers)" ] && break
	sleep 0.1
done
[ -z "$(net_leftovers)" ] || fail "after pyrod kill -9 + restart: $(net_leftovers)"
# The pool is whole again: two networked runs side by side.
"$PYRO" vm start "$V" >/dev/null || fail "vm start after restart"
"$PYRO" run --network debian:12 -- python3 -c "$GET" http://198.51.100.10/ \
    >"$TMP/o" 2>>"$TMP/all.err" || fail "run beside V after restart"
"$PYRO" vm delete "$V" >/dev/null || fail "vm delete"
[ -z "$(net_leftovers)" ] || fail "after the last delete: $(net_leftovers)"
pass "kill -9 of pyrod, restart: no TAP or table left, the pool is whole"

# --- warm start with a network: a template with a NIC, the address given
# at restore (GP_RESUME): runs and workspaces of that shape restore and
# reach the outside by address and by name; a VM without a network never
# gets that template ---
"$PYRO" --json env warm debian:12 --mem-mib 512 --network >"$TMP/w" \
    2>>"$TMP/all.err" || fail "env warm --network: $(cat "$TMP/w")"
jq -e '.status == "made" and .network == true' "$TMP/w" >/dev/null ||
    fail "env warm --network: $(cat "$TMP/w")"
"$PYRO" run --network debian:12 --mem-mib 512 -- sh -c \
    'python3 -c "$1" http://198.51.100.10/; python3 -c "$1" http://allowed.test/' \
    sh "$GET" >"$TMP/o" 2>"$TMP/wr.err" || fail "restored run --network: $(cat "$TMP/wr.err")"
grep -q 'phase=boot vm_id=[0-9a-f]* boot=restored$' "$TMP/wr.err" ||
    fail "run --network did not restore: $(cat "$TMP/wr.err")"
[ "$(cat "$TMP/o")" = "outside
outside" ] || fail "restored run --network: $(cat "$TMP/o")"
"$PYRO" --json run debian:12 --mem-mib 512 -- sh -c 'ls /sys/class/net' \
    >"$TMP/o" 2>>"$TMP/all.err" || fail "run without a network"
jq -e '.boot == "cold" and (.stdout | test("eth0") | not)' "$TMP/o" \
    >/dev/null || fail "a VM without a network used the networked template: $(cat "$TMP/o")"
W=$("$PYRO" workspace create debian:12 --mem-mib 512 \
    --network-policy egress 2>"$TMP/wc.err") || fail "create (warm, network)"
grep -q 'phase=boot boot=restored' "$TMP/wc.err" ||
    fail "networked create did not restore: $(cat "$TMP/wc.err")"
ws_py "$W" "$GET" http://allowed.test/
want outside "a restored networked workspace"
"$PYRO" workspace delete "$W" >/dev/null || fail "delete W"
[ -z "$(net_leftovers)" ] || fail "after the warm networked VMs: $(net_leftovers)"
pass "env warm --network: runs and workspaces with a network restore and reach the outside by address and name; a VM without one boots cold"
