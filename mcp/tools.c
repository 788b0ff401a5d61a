/*
 * The MCP tools: one row per tool, with the JSON Schema of its arguments
 * (types, defaults, enums, descriptions that tell a model when to use it)
 * and of its structured result, and the libpyro call behind it.  Most
 * tools map one to one onto a pyrod operation (pyro_call); the ones that
 * touch host paths (seeds, sync, exports) or collect output use the typed
 * libpyro calls, which do that work on this side.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "catalog.h"
#include "mcp.h"
#include "utf8.h"

#define OUTPUT_CAP	(1024 * 1024)

/* ---- schema text ---- */

#define S_OBJ(props, req) "{\"type\":\"object\",\"properties\":{" props \
	"},\"required\":[" req "],\"additionalProperties\":false}"
#define S_OUT(props) "{\"type\":\"object\",\"properties\":{" props \
	"},\"additionalProperties\":true}"

#define P_WS "\"workspace_id\":{\"type\":\"string\",\"description\":" \
	"\"The workspace's id (16 hex digits) from workspace_create.\"}"
#define P_VM "\"vm_id\":{\"type\":\"string\",\"description\":" \
	"\"The VM's id (16 hex digits) from vm_create.\"}"
/*
 * No enum: a name outside the catalog goes to pyrod, whose code
 * (unknown_environment) is the one the CLI and the SDK report too.
 */
#define P_ENV "\"environment\":{\"type\":\"string\",\"minLength\":1," \
	"\"examples\":[\"debian:12\",\"debian:12-base\",\"debian:12-build\"]," \
	"\"description\":\"The guest environment: debian:12 (git, python3), " \
	"debian:12-base (minimal), debian:12-build (git, python3, gcc, " \
	"make). Other names fail with unknown_environment.\"}"
#define P_CMD(what) "\"command\":{\"type\":[\"string\",\"array\"]," \
	"\"minLength\":1,\"minItems\":1,\"items\":{\"type\":\"string\"}," \
	"\"description\":\"" what " A string runs with /bin/sh -lc in " \
	"/workspace (use shell syntax for pipes, && and redirections). A list " \
	"of several strings runs as an argv, without a shell; a list of one " \
	"string is a shell command line like a string.\"}"
#define P_INT(name, def, lo, hi, desc) "\"" name "\":{\"type\":\"integer\"," \
	"\"default\":" #def ",\"minimum\":" #lo ",\"maximum\":" #hi \
	",\"description\":\"" desc "\"}"
#define P_BOOL(name, def, desc) "\"" name "\":{\"type\":\"boolean\"," \
	"\"default\":" #def ",\"description\":\"" desc "\"}"
#define P_STR(name, desc) "\"" name "\":{\"type\":\"string\"," \
	"\"description\":\"" desc "\"}"
#define P_STRD(name, def, desc) "\"" name "\":{\"type\":\"string\"," \
	"\"default\":\"" def "\",\"description\":\"" desc "\"}"
#define P_SECRET_ENV "\"secret_env\":{\"type\":[\"array\",\"null\"]," \
	"\"items\":{\"type\":\"string\"},\"default\":null,\"description\":" \
	"\"Secrets to expose as environment variables: NAME (as $NAME) or " \
	"NAME=ENV_VAR. Their values are redacted from every output.\"}"
#define P_RES "\"vcpu_count\":{\"type\":\"integer\",\"default\":1," \
	"\"minimum\":1,\"maximum\":32,\"description\":\"Virtual CPUs.\"}," \
	"\"mem_mib\":{\"type\":\"integer\",\"default\":1024,\"minimum\":128," \
	"\"maximum\":65536,\"description\":\"Guest memory in MiB.\"}," \
	"\"ttl_seconds\":{\"type\":\"integer\",\"default\":600,\"minimum\":1," \
	"\"maximum\":2592000,\"description\":\"Seconds until pyro deletes " \
	"it by itself.\"}"
#define P_ALLOW "\"allow_egress\":{\"type\":[\"array\",\"null\"]," \
	"\"items\":{\"type\":\"string\",\"maxLength\":272},\"maxItems\":32," \
	"\"default\":null,\"description\":\"Egress allowlist: each rule " \
	"is a CIDR with an optional :PORT (10.0.0.0/8, 192.0.2.7:443) or a " \
	"host name, optionally *.NAME for its subdomains. With any rule, " \
	"everything else is denied. Needs a network.\"}"
#define P_NET "\"network\":{\"type\":\"boolean\",\"default\":false," \
	"\"description\":\"Give the guest outbound networking (NAT; cloud " \
	"metadata, the host and other guests stay unreachable).\"}," \
	P_ALLOW "," \
	"\"allow_host_compat\":{\"type\":\"boolean\",\"default\":false," \
	"\"description\":\"When no guest can be booted, run on the host " \
	"instead, contained (the caller's uid, own namespaces, no " \
	"privileges, no network); execution_mode then says host_compat.\"}"

#define O_EXEC "\"exit_code\":{\"type\":\"integer\"},\"stdout\":{\"type\":" \
	"\"string\"},\"stderr\":{\"type\":\"string\"},\"duration_ms\":" \
	"{\"type\":\"number\"},\"output_truncated\":{\"type\":\"boolean\"}"
#define O_WS "\"workspace_id\":{\"type\":\"string\"},\"state\":{\"type\":" \
	"\"string\"},\"environment\":{\"type\":\"string\"}"
#define O_VM "\"vm_id\":{\"type\":\"string\"},\"id\":{\"type\":\"string\"}," \
	"\"state\":{\"type\":\"string\"},\"environment\":{\"type\":\"string\"}"
#define O_SVC "\"service_name\":{\"type\":\"string\"},\"state\":{\"type\":" \
	"\"string\"},\"restarts\":{\"type\":\"integer\"}"
#define O_SHELL "\"shell_id\":{\"type\":\"string\"},\"state\":{\"type\":" \
	"\"string\"},\"next_cursor\":{\"type\":\"integer\"},\"output\":" \
	"{\"type\":\"string\"}"
#define O_ERR "\"error_code\":{\"type\":\"string\"},\"message\":{\"type\":" \
	"\"string\"}"

/* ---- helpers ---- */

struct capture {
	char	*buf[3];
	size_t	 len[3];
	int	 truncated;
};

static void
capture_output(void *arg, int fd, const void *data, size_t len)
{
	struct capture	*c = arg;
	char		*n;

	if (fd < 1 || fd > 2)
		return;
	if (c->len[fd] + len > OUTPUT_CAP) {
		c->truncated = 1;
		len = OUTPUT_CAP - c->len[fd];
	}
	if (len == 0 || (n = realloc(c->buf[fd], c->len[fd] + len + 1)) ==
	    NULL)
		return;
	memcpy(n + c->len[fd], data, len);
	c->len[fd] += len;
	n[c->len[fd]] = '\0';
	c->buf[fd] = n;
}

/* A JSON string from bytes (invalid UTF-8 and NUL become U+FFFD). */
static char *
text_of(const char *p, size_t n)
{
	/* Invalid UTF-8 and NUL show as U+FFFD (common/utf8.c). */
	return pyro_utf8_text((const uint8_t *)p, n, 1);
}

static cJSON *
parse_result(char *res, pyro_error *err)
{
	cJSON	*r = res ? cJSON_Parse(res) : NULL;

	free(res);
	if (r == NULL) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_PROTOCOL);
		snprintf(err->message, sizeof(err->message), "pyrod sent an "
		    "unreadable result");
	}
	return r;
}

/* args copied, with the defaults of the input schema filled in. */
static cJSON *
with_defaults(const struct mcp_tool *t, const cJSON *args)
{
	cJSON		*a = cJSON_Duplicate(args, 1);
	cJSON		*schema = cJSON_Parse(t->input_schema);
	const cJSON	*it, *d;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(schema, "properties")) {
		d = cJSON_GetObjectItem(it, "default");
		if (d != NULL && !cJSON_IsNull(d) &&
		    cJSON_GetObjectItem(a, it->string) == NULL)
			cJSON_AddItemToObject(a, it->string,
			    cJSON_Duplicate(d, 1));
	}
	cJSON_Delete(schema);
	return a;
}

/*
 * The command rule of every surface (pyro.h): "command" as a string, or
 * a list of one string, is a sh -lc command line; a longer list is an
 * argv, sent as such.
 */
static void
command_rule(cJSON *a)
{
	cJSON	*cmd = cJSON_GetObjectItem(a, "command");

	if (!cJSON_IsArray(cmd))
		return;
	cmd = cJSON_DetachItemFromObject(a, "command");
	if (cJSON_GetArraySize(cmd) == 1) {
		cJSON_AddItemToObject(a, "command", cJSON_DetachItemFromArray(
		    cmd, 0));
		cJSON_Delete(cmd);
	} else
		cJSON_AddItemToObject(a, "argv", cmd);
}

/*
 * Results of the vm tools carry "vm_id" (older pyrods said "id"), and a
 * one-shot run's cleanup is {deleted, reason, vm_id} (older: "deleted").
 */
static void
vm_result(const char *op, cJSON *r)
{
	const cJSON	*id = cJSON_GetObjectItem(r, "id");
	const cJSON	*cl = cJSON_GetObjectItem(r, "cleanup");
	cJSON		*o;

	if (strncmp(op, "vm.", 3) != 0)
		return;
	if (cJSON_GetObjectItem(r, "vm_id") == NULL && cJSON_IsString(id))
		cJSON_AddStringToObject(r, "vm_id", id->valuestring);
	if (cJSON_IsString(cl)) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "deleted", strcmp(cl->valuestring,
		    "deleted") == 0);
		cJSON_AddStringToObject(o, "reason", "post_exec_cleanup");
		cJSON_AddStringToObject(o, "vm_id", cJSON_GetStringValue(
		    cJSON_GetObjectItem(r, "vm_id")) ?: "");
		cJSON_ReplaceItemInObject(r, "cleanup", o);
	}
}

/* A call of op with a (consumed), output captured when cap != NULL. */
static cJSON *
call_op(pyro_client *c, const char *op, cJSON *a, struct capture *cap,
    pyro_error *err)
{
	char	*text, *res = NULL;
	cJSON	*r;
	int	 rc;

	command_rule(a);
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	if (cap != NULL)
		pyro_set_output_handler(c, capture_output, cap);
	rc = pyro_call(c, op, text, &res, err);
	free(text);
	if (rc < 0)
		return NULL;
	if ((r = parse_result(res, err)) != NULL && cap != NULL) {
		char *o = text_of(cap->buf[1] ? cap->buf[1] : "", cap->len[1]);
		char *e = text_of(cap->buf[2] ? cap->buf[2] : "", cap->len[2]);

		cJSON_AddStringToObject(r, "stdout", o ? o : "");
		cJSON_AddStringToObject(r, "stderr", e ? e : "");
		cJSON_AddBoolToObject(r, "output_truncated", cap->truncated);
		free(o);
		free(e);
	}
	if (r != NULL)
		vm_result(op, r);
	return r;
}

/* ---- the tools ---- */

static const struct mcp_tool *self_of(const char *);

#define PASS(fn, toolname, op, keep_output)					\
static cJSON *								\
fn(pyro_client *c, const cJSON *args, char **text, pyro_error *err)	\
{									\
	struct capture	 cap = { { NULL }, { 0 }, 0 };			\
	cJSON		*r;						\
									\
	r = call_op(c, op, with_defaults(self_of(toolname), args),	\
	    keep_output ? &cap : NULL, err);				\
	free(cap.buf[1]);						\
	free(cap.buf[2]);						\
	return r;							\
}

PASS(t_vm_run, "vm_run", "vm.run", 1)
PASS(t_vm_create, "vm_create", "vm.create", 0)
PASS(t_vm_start, "vm_start", "vm.start", 0)
PASS(t_vm_exec, "vm_exec", "vm.exec", 1)
PASS(t_vm_stop, "vm_stop", "vm.stop", 0)
PASS(t_vm_delete, "vm_delete", "vm.delete", 0)
PASS(t_vm_status, "vm_status", "vm.status", 0)
PASS(t_vm_list, "vm_list", "vm.list", 0)
PASS(t_vm_network_info, "vm_network_info", "vm.network_info", 0)
PASS(t_vm_reap_expired, "vm_reap_expired", "vm.reap_expired", 0)
PASS(t_ws_exec, "workspace_exec", "workspace.exec", 1)
PASS(t_ws_diff, "workspace_diff", "workspace.diff", 0)
PASS(t_ws_status, "workspace_status", "workspace.status", 0)
PASS(t_ws_list, "workspace_list", "workspace.list", 0)
PASS(t_ws_logs, "workspace_logs", "workspace.logs", 0)
PASS(t_ws_delete, "workspace_delete", "workspace.delete", 0)
PASS(t_ws_stop, "workspace_stop", "workspace.stop", 0)
PASS(t_ws_start, "workspace_start", "workspace.start", 0)
PASS(t_ws_fork, "workspace_fork", "workspace.fork", 0)
PASS(t_ws_reset, "workspace_reset", "workspace.reset", 0)
PASS(t_snap_create, "snapshot_create", "workspace.snapshot_create", 0)
PASS(t_snap_list, "snapshot_list", "workspace.snapshot_list", 0)
PASS(t_snap_delete, "snapshot_delete", "workspace.snapshot_delete", 0)
PASS(t_svc_list, "service_list", "workspace.service_list", 0)
PASS(t_svc_status, "service_status", "workspace.service_status", 0)
PASS(t_svc_logs, "service_logs", "workspace.service_logs", 0)
PASS(t_svc_stop, "service_stop", "workspace.service_stop", 0)
PASS(t_shell_open, "shell_open", "workspace.shell_open", 0)
PASS(t_shell_read, "shell_read", "workspace.shell_read", 0)
PASS(t_shell_write, "shell_write", "workspace.shell_write", 0)
PASS(t_shell_signal, "shell_signal", "workspace.shell_signal", 0)
PASS(t_shell_close, "shell_close", "workspace.shell_close", 0)

/* The caller's cache, as pyro env list sees it: catalog and custom. */
static cJSON *
t_envs(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	char	*res = NULL;
	cJSON	*r;

	(void)c;
	(void)args;
	(void)text;
	if (pyro_env_list(&res, err) < 0)
		return NULL;
	r = cJSON_Parse(res);
	pyro_free(res);
	return r;
}

static cJSON *
t_ws_create(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	cJSON	*a = with_defaults(self_of("workspace_create"), args);
	char	*opts, *res = NULL, env[80];
	int	 rc;

	snprintf(env, sizeof(env), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(a, "environment")) ?: "");
	cJSON_DeleteItemFromObject(a, "environment");
	if (cJSON_IsNull(cJSON_GetObjectItem(a, "seed_path")))
		cJSON_DeleteItemFromObject(a, "seed_path");
	opts = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	rc = pyro_workspace_create(c, env, opts, &res, err);
	free(opts);
	return rc < 0 ? NULL : parse_result(res, err);
}

static cJSON *
t_ws_sync(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	char	*res = NULL;

	if (pyro_workspace_sync_push(c, cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "workspace_id")), cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "source_path")), cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "dest")), &res, err) < 0)
		return NULL;
	return parse_result(res, err);
}

static cJSON *
t_ws_export(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	char	*res = NULL;

	if (pyro_workspace_export(c, cJSON_GetStringValue(cJSON_GetObjectItem(
	    args, "workspace_id")), cJSON_GetStringValue(cJSON_GetObjectItem(
	    args, "path")), cJSON_GetStringValue(cJSON_GetObjectItem(args,
	    "output_path")), cJSON_IsTrue(cJSON_GetObjectItem(args, "force")),
	    &res, err) < 0)
		return NULL;
	return parse_result(res, err);
}

/*
 * readiness, in either shape: {"file": PATH} (one key of file, tcp, http,
 * command), or {"type": "file"|"tcp"|"http"|"command", and its value
 * under "path", "target", "url" or "command"}.  Sets ready_KIND in a.
 */
static int
readiness(cJSON *a, const cJSON *r, pyro_error *err)
{
	static const char	*kinds[] = { "file", "tcp", "http", "command",
				    NULL };
	static const char	*vals[] = { "path", "target", "url", "command",
				    NULL };
	const cJSON		*t = cJSON_GetObjectItem(r, "type"), *v;
	char			 key[32];
	int			 i, n = 0;

	for (i = 0; kinds[i] != NULL; i++) {
		if (cJSON_IsString(t))
			v = strcmp(t->valuestring, kinds[i]) == 0 ?
			    cJSON_GetObjectItem(r, vals[i]) : NULL;
		else
			v = cJSON_GetObjectItem(r, kinds[i]);
		if (cJSON_IsString(v)) {
			snprintf(key, sizeof(key), "ready_%s", kinds[i]);
			cJSON_AddStringToObject(a, key, v->valuestring);
			n++;
		}
	}
	if (n == 1)
		return 0;
	snprintf(err->code, sizeof(err->code), PYRO_ERR_INVALID_ARGUMENT);
	snprintf(err->message, sizeof(err->message), "readiness is one check: "
	    "{\"file\": PATH}, {\"tcp\": \"HOST:PORT\"}, {\"http\": URL}, "
	    "{\"command\": CMD}, or {\"type\": \"file\"|\"tcp\"|\"http\"|"
	    "\"command\", \"path\"|\"target\"|\"url\"|\"command\": VALUE}");
	return -1;
}

static cJSON *
t_svc_start(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	cJSON	*a = with_defaults(self_of("service_start"), args);
	cJSON	*r = cJSON_DetachItemFromObject(a, "readiness");

	if (cJSON_IsObject(r) && readiness(a, r, err) < 0) {
		cJSON_Delete(r);
		cJSON_Delete(a);
		return NULL;
	}
	cJSON_Delete(r);
	if (cJSON_IsNull(cJSON_GetObjectItem(a, "published_ports")))
		cJSON_DeleteItemFromObject(a, "published_ports");
	return call_op(c, "workspace.service_start", a, NULL, err);
}

static cJSON *
t_disk_list(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	char	*res = NULL;

	if (pyro_workspace_disk_list(c, cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "workspace_id")), cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "path")) ?: "/workspace", cJSON_IsTrue(
	    cJSON_GetObjectItem(args, "recursive")), &res, err) < 0)
		return NULL;
	return parse_result(res, err);
}

static cJSON *
t_disk_read(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	struct capture	 cap = { { NULL }, { 0 }, 0 };
	const cJSON	*mb = cJSON_GetObjectItem(args, "max_bytes");
	cJSON		*r;
	char		*res = NULL, *t, *b64;
	size_t		 k;
	struct base64_encode_ctx e;

	pyro_set_output_handler(c, capture_output, &cap);
	if (pyro_workspace_disk_read(c, cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "workspace_id")), cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "path")), cJSON_IsNumber(mb) ?
	    (long long)mb->valuedouble : 65536, &res, err) < 0) {
		free(cap.buf[1]);
		return NULL;
	}
	if ((r = parse_result(res, err)) == NULL) {
		free(cap.buf[1]);
		return NULL;
	}
	t = text_of(cap.buf[1] ? cap.buf[1] : "", cap.len[1]);
	if (t != NULL && strlen(t) == cap.len[1] &&
	    memcmp(t, cap.buf[1] ? cap.buf[1] : "", cap.len[1]) == 0)
		cJSON_AddStringToObject(r, "content", t);
	else
		cJSON_AddNullToObject(r, "content");
	free(t);
	if ((b64 = malloc(BASE64_ENCODE_LENGTH(cap.len[1]) + 3)) != NULL) {
		base64_encode_init(&e);
		k = base64_encode_update(&e, b64, cap.len[1],
		    (const uint8_t *)(cap.buf[1] ? cap.buf[1] : ""));
		k += base64_encode_final(&e, b64 + k);
		b64[k] = '\0';
		cJSON_AddStringToObject(r, "content_base64", b64);
		free(b64);
	}
	free(cap.buf[1]);
	free(cap.buf[2]);
	return r;
}

static cJSON *
t_disk_export(pyro_client *c, const cJSON *args, char **text, pyro_error *err)
{
	char	*res = NULL;

	if (pyro_workspace_disk_export(c, cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "workspace_id")), cJSON_GetStringValue(
	    cJSON_GetObjectItem(args, "output_path")), cJSON_IsTrue(
	    cJSON_GetObjectItem(args, "force")), &res, err) < 0)
		return NULL;
	return parse_result(res, err);
}

#define WS_ONLY	S_OBJ(P_WS, "\"workspace_id\"")
#define VM_ONLY	S_OBJ(P_VM, "\"vm_id\"")
#define NONE	S_OBJ("", "")
#define P_SNAP "\"snapshot_name\":{\"type\":\"string\",\"description\":" \
	"\"1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or " \
	"digit.\"}"
#define P_SVC "\"service_name\":{\"type\":\"string\",\"description\":" \
	"\"The service's name (1-64 of A-Z a-z 0-9 . _ -).\"}"
#define P_SHELL "\"shell_id\":{\"type\":\"string\",\"description\":" \
	"\"The shell's id from shell_open.\"}"

const struct mcp_tool mcp_tools[] = {
	{ "vm_run", "Run one shell command in a fresh, isolated microVM and "
	  "return its exit code, stdout and stderr; the VM is deleted "
	  "afterwards. The simplest way to run untrusted or throwaway code.",
	  S_OBJ(P_ENV "," P_CMD("The command to run.") ","
	  P_INT("timeout_seconds", 30, 1, 86400, "Kill the command after this "
	  "many seconds.") "," P_RES "," P_NET, "\"environment\",\"command\""),
	  S_OUT(O_EXEC ",\"environment\":{\"type\":\"string\"},"
	  "\"execution_mode\":{\"type\":\"string\"}," O_ERR), t_vm_run },
	{ "vm_list_environments", "List the guest environments: the "
	  "catalog's, whether each is installed, and custom ones imported "
	  "from container images (custom: true).", NONE,
	  S_OUT("\"environments\":{\"type\":\"array\"}," O_ERR), t_envs },
	{ "vm_create", "Create a VM record (not booted yet); use vm_start, "
	  "then vm_exec. Prefer vm_run for one command or a workspace for "
	  "many.", S_OBJ(P_ENV "," P_RES "," P_NET, "\"environment\""),
	  S_OUT(O_VM "," O_ERR), t_vm_create },
	{ "vm_start", "Boot a VM made with vm_create, or a stopped one.", VM_ONLY,
	  S_OUT(O_VM "," O_ERR), t_vm_start },
	{ "vm_exec", "Run one shell command in a running VM; the VM is "
	  "deleted afterwards.", S_OBJ(P_VM "," P_CMD("The command to run.")
	  "," P_INT("timeout_seconds", 30, 1, 86400, "Kill the command after "
	  "this many seconds."), "\"vm_id\",\"command\""),
	  S_OUT(O_EXEC "," O_ERR), t_vm_exec },
	{ "vm_stop", "Power a VM off, keeping its disk.", VM_ONLY,
	  S_OUT(O_VM "," O_ERR), t_vm_stop },
	{ "vm_delete", "Delete a VM and its disk.", VM_ONLY,
	  S_OUT("\"deleted\":{\"type\":\"boolean\"}," O_ERR), t_vm_delete },
	{ "vm_status", "Show one VM's record: state, environment, events.",
	  VM_ONLY, S_OUT(O_VM "," O_ERR), t_vm_status },
	{ "vm_list", "List the caller's VMs.", NONE,
	  S_OUT("\"vms\":{\"type\":\"array\"}," O_ERR), t_vm_list },
	{ "vm_network_info", "Show a VM's network: policy, TAP, guest and "
	  "gateway addresses, egress rules.", VM_ONLY,
	  S_OUT("\"network\":{\"type\":\"boolean\"},\"networking\":"
	  "{\"type\":\"object\"}," O_ERR), t_vm_network_info },
	{ "vm_reap_expired", "Delete the caller's VMs past their TTL now.",
	  NONE, S_OUT("\"deleted\":{\"type\":\"array\"}," O_ERR),
	  t_vm_reap_expired },
	{ "workspace_create", "Create a persistent workspace: a microVM whose "
	  "/workspace stays between commands. Seed it from a host directory "
	  "or .tar/.tar.gz/.tgz (that tree becomes the baseline for diff and "
	  "reset). Use it for multi-step work; delete it when done.",
	  S_OBJ(P_ENV "," P_RES ",\"network_policy\":{\"type\":\"string\","
	  "\"enum\":[\"off\",\"egress\",\"egress+published-ports\"],"
	  "\"default\":\"off\",\"description\":\"off: no network device; "
	  "egress: outbound networking; egress+published-ports: also "
	  "service ports published on the host's 127.0.0.1.\"}," P_ALLOW ","
	  "\"allow_host_compat\":{\"type\":\"boolean\",\"default\":false,"
	  "\"description\":\"When no guest can be booted, run the "
	  "workspace on the host, contained (no network; disk tools refuse "
	  "it).\"},"
	  "\"seed_path\":{\"type\":[\"string\",\"null\"],\"default\":null,"
	  "\"description\":\"A host directory or .tar/.tar.gz/.tgz to copy "
	  "into /workspace.\"},\"secrets\":{\"type\":[\"object\",\"null\"],"
	  "\"default\":null,\"additionalProperties\":{\"type\":\"string\"},"
	  "\"description\":\"Secrets as {NAME: VALUE}; the guest sees "
	  "/run/pyro-secrets/NAME, values are redacted from all output.\"}",
	  "\"environment\""), S_OUT(O_WS "," O_ERR), t_ws_create },
	{ "workspace_sync_push", "Copy a host directory or archive into a "
	  "running workspace (not atomic: workspace_reset recovers).",
	  S_OBJ(P_WS "," P_STR("source_path", "A host directory or "
	  ".tar/.tar.gz/.tgz.") "," P_STRD("dest", "/workspace", "Where in "
	  "the guest; inside /workspace."), "\"workspace_id\",\"source_path\""),
	  S_OUT("\"transfer\":{\"type\":\"object\"}," O_ERR), t_ws_sync },
	{ "workspace_exec", "Run a shell command in /workspace of a running "
	  "workspace; returns exit code, stdout and stderr. State on disk "
	  "persists between calls.", S_OBJ(P_WS "," P_CMD("The command to "
	  "run.") "," P_INT("timeout_seconds", 30, 1, 86400, "Kill the command "
	  "after this many seconds.") "," P_SECRET_ENV,
	  "\"workspace_id\",\"command\""), S_OUT(O_EXEC "," O_ERR), t_ws_exec },
	{ "workspace_export", "Copy one file or directory from /workspace to "
	  "a host path (refused if it exists unless force).",
	  S_OBJ(P_WS "," P_STR("path", "Relative to /workspace.") ","
	  P_STR("output_path", "The host path to create.") ","
	  P_BOOL("force", false, "Replace an existing output file."),
	  "\"workspace_id\",\"path\",\"output_path\""),
	  S_OUT("\"output_path\":{\"type\":\"string\"}," O_ERR), t_ws_export },
	{ "workspace_diff", "Compare /workspace with its baseline: added, "
	  "modified and deleted files with unified diffs of text files.",
	  WS_ONLY, S_OUT("\"files\":{\"type\":\"array\"},\"summary\":{\"type\":"
	  "\"object\"}," O_ERR), t_ws_diff },
	{ "snapshot_create", "Checkpoint /workspace under a name.",
	  S_OBJ(P_WS "," P_SNAP, "\"workspace_id\",\"snapshot_name\""),
	  S_OUT("\"name\":{\"type\":\"string\"}," O_ERR), t_snap_create },
	{ "snapshot_list", "List a workspace's baseline and snapshots.",
	  WS_ONLY, S_OUT("\"snapshots\":{\"type\":\"array\"}," O_ERR),
	  t_snap_list },
	{ "snapshot_delete", "Delete a named snapshot of a workspace (the "
	  "baseline stays).", S_OBJ(P_WS "," P_SNAP,
	  "\"workspace_id\",\"snapshot_name\""),
	  S_OUT("\"deleted\":{\"type\":\"boolean\"}," O_ERR), t_snap_delete },
	{ "workspace_reset", "Rebuild the workspace's disk and restore the "
	  "baseline or a snapshot (the id, secrets and settings stay).",
	  S_OBJ(P_WS "," P_STRD("snapshot", "baseline", "baseline or a "
	  "snapshot's name."), "\"workspace_id\""), S_OUT(O_WS "," O_ERR),
	  t_ws_reset },
	{ "service_start", "Start a named background process (a server, a "
	  "watcher) and wait until its readiness check passes.",
	  S_OBJ(P_WS "," P_SVC "," P_CMD("The service's command.") ","
	  P_STRD("cwd", "/workspace", "Its working directory.") ","
	  "\"readiness\":{\"type\":[\"object\",\"null\"],\"default\":null,"
	  "\"additionalProperties\":{\"type\":\"string\"},\"description\":"
	  "\"One check, in one of two shapes: {\\\"file\\\": PATH}, "
	  "{\\\"tcp\\\": \\\"HOST:PORT\\\"}, {\\\"http\\\": URL}, "
	  "{\\\"command\\\": CMD}; or {\\\"type\\\": \\\"file\\\", "
	  "\\\"path\\\": PATH}, {\\\"type\\\": \\\"tcp\\\", "
	  "\\\"target\\\": \\\"HOST:PORT\\\"}, {\\\"type\\\": "
	  "\\\"http\\\", \\\"url\\\": URL}, {\\\"type\\\": "
	  "\\\"command\\\", \\\"command\\\": CMD}.\"},"
	  P_INT("ready_timeout_seconds", 30, 1, 3600, "How long to wait for "
	  "readiness.") "," P_INT("ready_interval_ms", 500, 50, 60000, "How "
	  "often to check.") "," P_SECRET_ENV ",\"published_ports\":{\"type\":"
	  "[\"array\",\"null\"],\"items\":{\"type\":\"string\"},"
	  "\"maxItems\":8,\"default\":null,\"description\":\"Ports to "
	  "publish as \\\"HOST_PORT:GUEST_PORT\\\": the host's 127.0.0.1:"
	  "HOST_PORT forwards to the guest's GUEST_PORT while the service "
	  "runs. Needs network_policy egress+published-ports.\"}",
	  "\"workspace_id\",\"service_name\",\"command\""),
	  S_OUT(O_SVC "," O_ERR), t_svc_start },
	{ "service_list", "List a workspace's services.", WS_ONLY,
	  S_OUT("\"services\":{\"type\":\"array\"}," O_ERR), t_svc_list },
	{ "service_status", "Show one service: state, pid, exit code.",
	  S_OBJ(P_WS "," P_SVC, "\"workspace_id\",\"service_name\""),
	  S_OUT(O_SVC "," O_ERR), t_svc_status },
	{ "service_logs", "The last lines of a service's output.",
	  S_OBJ(P_WS "," P_SVC "," P_INT("tail_lines", 200, 1, 100000, "How "
	  "many lines."), "\"workspace_id\",\"service_name\""),
	  S_OUT("\"logs\":{\"type\":\"string\"}," O_ERR), t_svc_logs },
	{ "service_stop", "Stop a service (TERM, then KILL).",
	  S_OBJ(P_WS "," P_SVC, "\"workspace_id\",\"service_name\""),
	  S_OUT(O_SVC "," O_ERR), t_svc_stop },
	{ "shell_open", "Open a persistent interactive shell (a PTY) whose "
	  "cwd and variables persist between writes; read it with shell_read.",
	  S_OBJ(P_WS "," P_STRD("cwd", "/workspace", "Its working directory.")
	  "," P_INT("cols", 120, 10, 1000, "Terminal columns.") ","
	  P_INT("rows", 30, 5, 1000, "Terminal rows.") "," P_SECRET_ENV,
	  "\"workspace_id\""), S_OUT(O_SHELL "," O_ERR), t_shell_open },
	{ "shell_read", "Read a shell's output from a cursor (0: the oldest "
	  "kept); pass next_cursor to the next read.",
	  S_OBJ(P_WS "," P_SHELL "," P_INT("cursor", 0, 0, 1125899906842624,
	  "Where to read from.") "," P_INT("max_chars", 65536, 1, 1048576,
	  "At most this many bytes."), "\"workspace_id\",\"shell_id\""),
	  S_OUT(O_SHELL "," O_ERR), t_shell_read },
	{ "shell_write", "Type text into a shell opened with shell_open, "
	  "then read the result with shell_read.", S_OBJ(P_WS "," P_SHELL ","
	  P_STR("input", "The text to type.") "," P_BOOL("append_newline",
	  true, "Press Enter after it."), "\"workspace_id\",\"shell_id\","
	  "\"input\""), S_OUT(O_SHELL "," O_ERR), t_shell_write },
	{ "shell_signal", "Send a signal to a shell's foreground job (INT "
	  "stops a running command like Ctrl-C).", S_OBJ(P_WS "," P_SHELL ","
	  "\"signal_name\":{\"type\":\"string\",\"enum\":[\"INT\",\"TERM\","
	  "\"KILL\",\"HUP\",\"QUIT\"],\"default\":\"INT\",\"description\":"
	  "\"The signal.\"}", "\"workspace_id\",\"shell_id\""),
	  S_OUT(O_SHELL "," O_ERR), t_shell_signal },
	{ "shell_close", "Close a shell opened with shell_open (its "
	  "processes are killed).", S_OBJ(P_WS "," P_SHELL,
	  "\"workspace_id\",\"shell_id\""), S_OUT("\"closed\":{\"type\":"
	  "\"boolean\"}," O_ERR), t_shell_close },
	{ "workspace_status", "Show a workspace: state, resources, TTL, "
	  "shells, services, snapshots.", WS_ONLY, S_OUT(O_WS "," O_ERR),
	  t_ws_status },
	{ "workspace_list", "List the caller's workspaces.", NONE,
	  S_OUT("\"workspaces\":{\"type\":\"array\"}," O_ERR), t_ws_list },
	{ "workspace_logs", "A workspace's command history and lifecycle "
	  "events.", WS_ONLY, S_OUT("\"history\":{\"type\":\"array\"},"
	  "\"events\":{\"type\":\"array\"}," O_ERR), t_ws_logs },
	{ "workspace_delete", "Stop and delete a workspace with everything "
	  "in it.", WS_ONLY, S_OUT("\"deleted\":{\"type\":\"boolean\"}," O_ERR),
	  t_ws_delete },
	{ "workspace_stop", "Flush and power off a workspace, keeping its "
	  "disk; needed before the disk tools.", WS_ONLY, S_OUT(O_WS "," O_ERR),
	  t_ws_stop },
	{ "workspace_start", "Boot a stopped workspace again (services are "
	  "not restarted).", WS_ONLY, S_OUT(O_WS "," O_ERR), t_ws_start },
	{ "workspace_fork", "Fork a running, idle workspace: a new running "
	  "workspace with the source's memory and disk as they are now; the "
	  "source goes on.", WS_ONLY, S_OUT(O_WS "," O_ERR), t_ws_fork },
	{ "workspace_disk_list", "List files on a stopped workspace's disk "
	  "(relative paths are under /workspace).", S_OBJ(P_WS "," P_STRD("path",
	  "/workspace", "A directory or file on the disk: relative to "
	  "/workspace, or absolute from the disk's root.") "," P_BOOL("recursive",
	  false, "Walk subdirectories."), "\"workspace_id\""),
	  S_OUT("\"entries\":{\"type\":\"array\"},\"count\":{\"type\":"
	  "\"integer\"}," O_ERR), t_disk_list },
	{ "workspace_disk_read", "Read a file from a stopped workspace's disk.",
	  S_OBJ(P_WS "," P_STR("path", "The file (relative to /workspace or "
	  "absolute).") "," P_INT("max_bytes", 65536, 1, 16777216, "At most "
	  "this many bytes."), "\"workspace_id\",\"path\""),
	  S_OUT("\"content\":{\"type\":[\"string\",\"null\"]},"
	  "\"content_base64\":{\"type\":\"string\"},\"bytes\":{\"type\":"
	  "\"integer\"}," O_ERR), t_disk_read },
	{ "workspace_disk_export", "Write a stopped workspace's disk as one "
	  "raw ext4 image at a host path.", S_OBJ(P_WS "," P_STR("output_path",
	  "The host file to create.") "," P_BOOL("force", false, "Replace an "
	  "existing file."), "\"workspace_id\",\"output_path\""),
	  S_OUT("\"bytes\":{\"type\":\"integer\"},\"output_path\":{\"type\":"
	  "\"string\"}," O_ERR), t_disk_export },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct mcp_tool *
mcp_tool_find(const char *name)
{
	const struct mcp_tool	*t;

	for (t = mcp_tools; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static const struct mcp_tool *
self_of(const char *name)
{
	return mcp_tool_find(name);
}
