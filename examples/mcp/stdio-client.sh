#!/bin/sh
# Any MCP stdio client: start `pyro mcp serve` and speak JSON-RPC 2.0, one
# message per line.  This one lists the tools and runs one command.
{
	echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
	echo '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"vm_run","arguments":{"environment":"debian:12","command":"git --version"}}}'
	sleep 30	# keep stdin open while the VM runs
} | pyro mcp serve | jq -c 'select(.id == 3) | .result.structuredContent'
