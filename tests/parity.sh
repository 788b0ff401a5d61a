#!/bin/sh
# The three surfaces stay equal: every CLI command has its libpyro call and,
# where the contract lists one, its MCP tool.  The table below is the
# mapping; a command missing from it, or a call or tool missing from the
# library or the server, fails the test.
. "${PYRO_SRCDIR:-.}/tests/lib.sh"
lib="$PYRO_BUILDDIR/.libs/libpyro.so"
[ -f "$lib" ] || fail "no $lib"
command -v nm >/dev/null || fail "nm is needed (binutils)"

cat >"$TMP/map" <<'MAP'
run|pyro_run_in_vm|vm_run
demo|pyro_run_in_vm|-
demo ollama|pyro_run_in_vm|-
env list|pyro_env_list|vm_list_environments
env inspect|pyro_env_inspect|-
env pull|pyro_env_pull_from|-
env push|pyro_env_push|-
env import|pyro_env_import|-
env build|pyro_env_build|-
env prune|pyro_env_prune|-
env warm|pyro_env_warm|-
env templates|pyro_env_templates|-
doctor|pyro_doctor|-
status|pyro_usage|-
vm create|pyro_vm_create|vm_create
vm start|pyro_vm_start|vm_start
vm exec|pyro_vm_exec|vm_exec
vm stop|pyro_vm_stop|vm_stop
vm delete|pyro_vm_delete|vm_delete
vm status|pyro_vm_status|vm_status
vm list|pyro_vm_list|vm_list
vm network-info|pyro_vm_network_info|vm_network_info
vm reap-expired|pyro_vm_reap_expired|vm_reap_expired
workspace list|pyro_workspace_list|workspace_list
workspace status|pyro_workspace_status|workspace_status
workspace create|pyro_workspace_create|workspace_create
workspace logs|pyro_workspace_logs|workspace_logs
workspace delete|pyro_workspace_delete|workspace_delete
workspace start|pyro_workspace_start|workspace_start
workspace fork|pyro_workspace_fork|workspace_fork
workspace stop|pyro_workspace_stop|workspace_stop
workspace exec|pyro_workspace_exec|workspace_exec
workspace sync push|pyro_workspace_sync_push|workspace_sync_push
workspace diff|pyro_workspace_diff|workspace_diff
workspace export|pyro_workspace_export|workspace_export
workspace snapshot create|pyro_snapshot_create|snapshot_create
workspace snapshot list|pyro_snapshot_list|snapshot_list
workspace snapshot delete|pyro_snapshot_delete|snapshot_delete
workspace reset|pyro_workspace_reset|workspace_reset
workspace shell open|pyro_shell_open|shell_open
workspace shell read|pyro_shell_read|shell_read
workspace shell write|pyro_shell_write|shell_write
workspace shell signal|pyro_shell_signal|shell_signal
workspace shell close|pyro_shell_close|shell_close
workspace service start|pyro_service_start|service_start
workspace service list|pyro_service_list|service_list
workspace service status|pyro_service_status|service_status
workspace service logs|pyro_service_logs|service_logs
workspace service stop|pyro_service_stop|service_stop
workspace disk list|pyro_workspace_disk_list|workspace_disk_list
workspace disk read|pyro_workspace_disk_read|workspace_disk_read
workspace disk export|pyro_workspace_disk_export|workspace_disk_export
mcp serve|-|-
MAP

"$PYRO" help --commands >"$TMP/cli" || fail "pyro help --commands"
nm -D --defined-only "$lib" | awk '{ print $3 }' | sed 's/@.*//' \
    >"$TMP/sdk"
printf '%s\n%s\n%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"parity","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
    "$PYRO" mcp serve 2>/dev/null | jq -r 'select(.id == 2) | .result.tools[].name' \
    >"$TMP/mcp"
[ "$(wc -l <"$TMP/mcp")" -gt 30 ] || fail "tools/list: $(cat "$TMP/mcp")"
gaps=0
while IFS= read -r cmd; do
	row=$(grep "^$cmd|" "$TMP/map" || true)
	if [ -z "$row" ]; then
		echo "gap: CLI command '$cmd' has no row in the mapping" >&2
		gaps=$((gaps + 1))
		continue
	fi
	sdk=$(echo "$row" | cut -d'|' -f2)
	tool=$(echo "$row" | cut -d'|' -f3)
	if [ "$sdk" != - ] && ! grep -qx "$sdk" "$TMP/sdk"; then
		echo "gap: '$cmd': libpyro does not export $sdk" >&2
		gaps=$((gaps + 1))
	fi
	if [ "$tool" != - ] && ! grep -qx "$tool" "$TMP/mcp"; then
		echo "gap: '$cmd': the MCP server has no tool $tool" >&2
		gaps=$((gaps + 1))
	fi
done <"$TMP/cli"
# And the other way: every tool and every pyro_ call belongs to something.
while IFS= read -r tool; do
	cut -d'|' -f3 "$TMP/map" | grep -qx "$tool" || {
		echo "gap: MCP tool $tool has no CLI command" >&2
		gaps=$((gaps + 1))
	}
done <"$TMP/mcp"
[ $gaps = 0 ] || fail "$gaps gap(s) between the CLI, libpyro and MCP"
pass "$(wc -l <"$TMP/cli") CLI commands, $(grep -c '^pyro_' "$TMP/sdk") libpyro calls, $(wc -l <"$TMP/mcp") MCP tools: no gap"
echo "1 passed, 0 failed"
