#!/bin/sh
# `pyro mcp serve`: the official MCP TypeScript SDK client through a whole
# workspace life (tests/mcp_client.cjs), then the protocol's bad input by
# hand: malformed JSON, unknown methods, calls before initialize, huge
# messages, and a client that closes stdin in the middle of a vm_run (no
# VM may be left behind).
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
need_guests
npm_dir=${PYRO_TEST_NPM_DIR:-/var/tmp/pyro-test-npm}
if [ ! -d "$npm_dir/node_modules/@modelcontextprotocol/sdk" ]; then
	echo "SKIP: no MCP SDK in $npm_dir (scripts/test.sh installs it)"
	exit 77
fi
start_pyrod
export PYRO_SOCKET="$TMP/pyrod.sock"
n=0

PYRO="$PYRO" TMPDIR_TEST="$TMP" NODE_PATH="$npm_dir/node_modules" \
    node "$PYRO_SRCDIR/tests/mcp_client.cjs" >"$TMP/node.out" 2>"$TMP/node.err" ||
    fail "the SDK client: $(cat "$TMP/node.out" "$TMP/node.err" | tail -20)"
cat "$TMP/node.out"
grep -q 'MCP client checks passed' "$TMP/node.out" || fail "client output"
n=$((n+1)); pass "the official MCP SDK client through a workspace's life"

# ---- the protocol's bad input, by hand ----
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
{
	echo '{"jsonrpc":"2.0","id":0,"method":"tools/list"}'
	echo "$init"
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo '{not json'
	echo '{"jsonrpc":"1.0","id":2,"method":"ping"}'
	echo '{"jsonrpc":"2.0","id":3,"method":"no/such/method"}'
	echo '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":"x"}'
	echo '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"vm_run","arguments":{"environment":"debian:12","command":7}}}'
	head -c 9000000 /dev/zero | tr '\0' 'a'; echo
	echo '[{"jsonrpc":"2.0","id":6,"method":"ping"}]'
	echo '{"jsonrpc":"2.0","id":7,"method":"ping"}'
} | "$PYRO" mcp serve >"$TMP/raw.out" 2>"$TMP/raw.err" || fail "mcp serve exit $?"
line() { grep "\"id\":$1[,}]" "$TMP/raw.out" || true; }
line 0 | grep -q '"code":-32600' || fail "a call before initialize: $(line 0)"
line 1 | grep -q '"protocolVersion":"2025-11-25"' ||
    fail "version negotiation: $(line 1)"
grep -q '"id":null,"error":{"code":-32700' "$TMP/raw.out" || fail "parse error"
line 2 | grep -q '"code":-32600' || fail "jsonrpc 1.0: $(line 2)"
line 3 | grep -q '"code":-32601' || fail "unknown method: $(line 3)"
line 4 | grep -q '"code":-32602' || fail "params not an object: $(line 4)"
line 5 | grep -q '"isError":true' && line 5 | grep -q 'invalid_argument' ||
    fail "a wrong argument type: $(line 5)"
grep -q 'larger than 8 MiB' "$TMP/raw.out" || fail "a huge message"
grep -q 'batches are not supported' "$TMP/raw.out" || fail "a batch"
line 7 | grep -q '"result":{}' || fail "the server stopped answering"
[ "$(grep -vc '^{"jsonrpc":"2.0"' "$TMP/raw.out")" = 0 ] ||
    fail "stdout carries something else than JSON-RPC"
n=$((n+1)); pass "malformed JSON, unknown methods, early calls, huge and batch messages: the right JSON-RPC errors"

# A client that goes away in the middle of a vm_run: the VM goes too.
{
	echo "$init"
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"vm_run","arguments":{"environment":"debian:12","command":"sleep 300"}}}'
	sleep 3
} | "$PYRO" mcp serve >/dev/null 2>&1 || true
for _ in $(seq 150); do
	[ "$(ls "$TMP/state/vms" | wc -l)" = 0 ] && [ "$(qemus)" = 0 ] && break
	sleep 0.2
done
[ "$(ls "$TMP/state/vms" | wc -l)" = 0 ] || fail "a VM was left behind"
[ "$(qemus)" = 0 ] || fail "a QEMU was left behind"
n=$((n+1)); pass "a client that closes stdin mid vm_run leaves no VM"

echo "$n passed, 0 failed"
