// The official MCP TypeScript SDK client against `pyro mcp serve`: list the
// tools, compile every inputSchema and outputSchema with Ajv, and call them
// through a whole workspace life, errors included.  Run by tests/mcp.sh.
'use strict';
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } =
    require('@modelcontextprotocol/sdk/client/stdio.js');
const Ajv = require('ajv');
const fs = require('fs');

const pyro = process.env.PYRO;
const tmp = process.env.TMPDIR_TEST;
let checks = 0;

function fail(msg) {
	console.error('FAIL: ' + msg);
	process.exit(1);
}
function ok(msg) {
	checks++;
	console.log('ok - ' + msg);
}
function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

async function call(client, name, args) {
	const r = await client.callTool({ name, arguments: args },
	    undefined, { timeout: 600000 });
	return r;
}
async function good(client, name, args) {
	const r = await call(client, name, args);
	if (r.isError)
		fail(`${name}: ${JSON.stringify(r.structuredContent)}`);
	if (typeof r.structuredContent !== 'object')
		fail(`${name}: no structuredContent`);
	if (!r.content || r.content[0].type !== 'text')
		fail(`${name}: no text content`);
	return r.structuredContent;
}
async function bad(client, name, args, code) {
	const r = await call(client, name, args);
	if (!r.isError)
		fail(`${name} should have failed with ${code}`);
	if (r.structuredContent.error_code !== code)
		fail(`${name}: wanted ${code}, got ` +
		    JSON.stringify(r.structuredContent));
}

const contract = ['vm_run', 'vm_list_environments', 'vm_create', 'vm_start',
    'vm_exec', 'vm_stop', 'vm_delete', 'vm_status', 'vm_network_info',
    'vm_reap_expired', 'workspace_create', 'workspace_sync_push',
    'workspace_exec', 'workspace_export', 'workspace_diff',
    'snapshot_create', 'snapshot_list', 'snapshot_delete', 'workspace_reset',
    'service_start', 'service_list', 'service_status', 'service_logs',
    'service_stop', 'shell_open', 'shell_read', 'shell_write',
    'shell_signal', 'shell_close', 'workspace_status', 'workspace_logs',
    'workspace_delete', 'workspace_stop', 'workspace_start',
    'workspace_disk_list', 'workspace_disk_read', 'workspace_disk_export'];

async function main() {
	const transport = new StdioClientTransport({
		command: pyro, args: ['mcp', 'serve'], env: process.env,
		stderr: 'inherit',
	});
	const client = new Client({ name: 'pyro-test', version: '1.0.0' });
	await client.connect(transport);
	const info = client.getServerVersion();
	if (!info || info.name !== 'pyro')
		fail('serverInfo: ' + JSON.stringify(info));
	ok(`initialize: ${info.name} ${info.version}`);

	const { tools } = await client.listTools();
	const ajv = new Ajv({ strict: false, allErrors: true });
	const names = new Set();
	for (const t of tools) {
		names.add(t.name);
		if (t.inputSchema.type !== 'object')
			fail(`${t.name}: inputSchema is not an object schema`);
		try {
			ajv.compile(t.inputSchema);
			ajv.compile(t.outputSchema);
		} catch (e) {
			fail(`${t.name}: schema does not compile: ${e.message}`);
		}
		if (!t.description || t.description.length < 20)
			fail(`${t.name}: no useful description`);
		for (const [k, p] of Object.entries(t.inputSchema.properties))
			if (!p.description)
				fail(`${t.name}.${k}: no description`);
	}
	for (const n of contract)
		if (!names.has(n))
			fail(`tools/list lacks ${n}`);
	ok(`tools/list: ${tools.length} tools, every schema compiles, the ` +
	    'contract\'s tools are all there');

	let r = await good(client, 'vm_run', { environment: 'debian:12',
	    command: 'git --version' });
	if (r.exit_code !== 0 || !/^git version 2\./.test(r.stdout))
		fail('vm_run: ' + JSON.stringify(r));
	ok('vm_run git --version: ' + r.stdout.trim());

	fs.mkdirSync(`${tmp}/mcpseed`, { recursive: true });
	fs.writeFileSync(`${tmp}/mcpseed/hello.txt`, 'hello over mcp\n');
	r = await good(client, 'workspace_create', { environment: 'debian:12',
	    seed_path: `${tmp}/mcpseed`, secrets: { API_KEY: 'mcp-s3cret-77' } });
	const ws = r.workspace_id;
	if (!/^[0-9a-f]{16}$/.test(ws) || r.state !== 'running')
		fail('workspace_create: ' + JSON.stringify(r));
	r = await good(client, 'workspace_exec', { workspace_id: ws,
	    command: 'cat hello.txt; echo "key=$API_KEY" >&2; echo new >new.txt',
	    secret_env: ['API_KEY'] });
	if (r.stdout !== 'hello over mcp\n' || r.stderr !== 'key=[REDACTED]\n')
		fail('workspace_exec: ' + JSON.stringify(r));
	await good(client, 'snapshot_create', { workspace_id: ws,
	    snapshot_name: 'one' });
	r = await good(client, 'workspace_diff', { workspace_id: ws });
	if (r.summary.added !== 1 || r.files[0].path !== 'new.txt')
		fail('workspace_diff: ' + JSON.stringify(r));
	ok('workspace_create, workspace_exec (secret redacted), ' +
	    'snapshot_create, workspace_diff');

	r = await good(client, 'shell_open', { workspace_id: ws });
	const sh = r.shell_id;
	await good(client, 'shell_write', { workspace_id: ws, shell_id: sh,
	    input: 'cd /tmp && echo "in $(pwd)"' });
	let out = '';
	for (let i = 0; i < 100 && !/in \/tmp/.test(out); i++) {
		r = await good(client, 'shell_read', { workspace_id: ws,
		    shell_id: sh, cursor: 0 });
		out = r.output;
		await sleep(200);
	}
	if (!/in \/tmp/.test(out))
		fail('shell_read: ' + out);
	await good(client, 'shell_close', { workspace_id: ws, shell_id: sh });
	r = await good(client, 'service_start', { workspace_id: ws,
	    service_name: 'web', command: 'touch /tmp/up; exec sleep 600',
	    readiness: { file: '/tmp/up' } });
	r = await good(client, 'service_status', { workspace_id: ws,
	    service_name: 'web' });
	if (r.state !== 'ready')
		fail('service_status: ' + JSON.stringify(r));
	// The other readiness shape, and a command given as a list of one.
	await good(client, 'service_start', { workspace_id: ws,
	    service_name: 'web2', command: ['touch /tmp/up2 && exec sleep 600'],
	    readiness: { type: 'file', path: '/tmp/up2' } });
	r = await good(client, 'service_status', { workspace_id: ws,
	    service_name: 'web2' });
	if (r.state !== 'ready')
		fail('service_start {type, path}: ' + JSON.stringify(r));
	r = await good(client, 'workspace_exec', { workspace_id: ws,
	    command: ['sh', '-c', 'echo "$0"', 'a && b'] });
	if (r.stdout !== 'a && b\n')
		fail('workspace_exec argv list: ' + JSON.stringify(r));
	ok('shell_open/write/read/close, service_start/status, readiness ' +
	    '{type, path}, commands as lists');

	r = await good(client, 'workspace_stop', { workspace_id: ws });
	if (r.state !== 'stopped')
		fail('workspace_stop: ' + JSON.stringify(r));
	// Without a path: /workspace, as in the CLI.
	r = await good(client, 'workspace_disk_list', { workspace_id: ws });
	if (!r.entries.some((e) => e.name === 'new.txt' && e.type === 'file'))
		fail('workspace_disk_list: ' + JSON.stringify(r));
	r = await good(client, 'workspace_disk_read', { workspace_id: ws,
	    path: 'hello.txt' });
	if (r.content !== 'hello over mcp\n')
		fail('workspace_disk_read: ' + JSON.stringify(r));
	await good(client, 'workspace_start', { workspace_id: ws });
	r = await good(client, 'workspace_exec', { workspace_id: ws,
	    command: 'cat new.txt' });
	if (r.stdout !== 'new\n')
		fail('after workspace_start: ' + JSON.stringify(r));
	ok('workspace_stop, workspace_disk_list, workspace_disk_read, ' +
	    'workspace_start');

	await bad(client, 'workspace_status', { workspace_id: 'ffffffffffffffff' },
	    'not_found');
	await bad(client, 'workspace_exec', { workspace_id: ws, command: 42 },
	    'invalid_argument');
	await bad(client, 'workspace_exec', { workspace_id: ws },
	    'invalid_argument');
	await bad(client, 'vm_run', { environment: 'debian:12', command: 'true',
	    timeout_seconds: -1 }, 'invalid_argument');
	// pyrod's code, as the CLI reports it.
	await bad(client, 'vm_run', { environment: 'debian:99', command: 'true' },
	    'unknown_environment');
	await bad(client, 'workspace_disk_read', { workspace_id: ws,
	    path: 'hello.txt' }, 'workspace_running');
	let threw = false;
	try {
		await client.callTool({ name: 'no_such_tool', arguments: {} });
	} catch (e) {
		threw = e.code === -32602;
	}
	if (!threw)
		fail('an unknown tool is not a -32602 protocol error');
	ok('errors: unknown workspace, wrong types, missing and out-of-range ' +
	    'arguments, a running workspace come back as isError results; an ' +
	    'unknown tool is a protocol error');

	r = await good(client, 'workspace_delete', { workspace_id: ws });
	if (r.deleted !== true)
		fail('workspace_delete: ' + JSON.stringify(r));
	ok('workspace_delete');
	await client.close();
	console.log(`${checks} MCP client checks passed`);
}

main().catch((e) => fail(e.stack || String(e)));
