/*
 * The MCP stdio transport and JSON-RPC 2.0 dispatch.  One reader thread
 * (this one) reads newline-delimited messages from stdin and answers
 * initialize, ping and tools/list at once; every tools/call runs in a
 * worker thread of its own with its own connection to pyrod, so a long
 * call never holds up a ping.  Responses are written whole, one line
 * each, under a lock.  stdout carries nothing but protocol messages; logs
 * go to stderr.
 *
 * When stdin closes, the server exits without waiting: the connections
 * of calls still running close with it and pyrod winds their work down
 * (a one-shot VM is deleted), so nothing is left behind.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp.h"

#define LINE_MAX_BYTES		(8 * 1024 * 1024)
#define CALLS_MAX		16

#define E_PARSE			-32700
#define E_INVALID_REQUEST	-32600
#define E_METHOD		-32601
#define E_PARAMS		-32602
#define E_INTERNAL		-32603

static const char *const versions[] = { "2025-11-25", "2025-06-18", NULL };

static pthread_mutex_t	out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	calls_lock = PTHREAD_MUTEX_INITIALIZER;
static int		ncalls;
static int		initialized;
static const char	*sockpath;

static void
send_msg(cJSON *msg)
{
	char	*text = cJSON_PrintUnformatted(msg);

	cJSON_Delete(msg);
	if (text == NULL)
		return;
	pthread_mutex_lock(&out_lock);
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	free(text);
}

static void
send_result(const cJSON *id, cJSON *result)
{
	cJSON	*m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddItemToObject(m, "id", cJSON_Duplicate(id, 1));
	cJSON_AddItemToObject(m, "result", result);
	send_msg(m);
}

static void
send_error(const cJSON *id, int code, const char *message)
{
	cJSON	*m = cJSON_CreateObject(), *e;

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddItemToObject(m, "id", id ? cJSON_Duplicate(id, 1) :
	    cJSON_CreateNull());
	e = cJSON_AddObjectToObject(m, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	send_msg(m);
}

static cJSON *
initialize_result(const cJSON *params)
{
	const cJSON	*v = cJSON_GetObjectItem(params, "protocolVersion");
	const char	*chosen = versions[0];
	cJSON		*r = cJSON_CreateObject(), *caps, *info;
	int		 i;

	/* The client's version when we speak it, else our newest. */
	for (i = 0; cJSON_IsString(v) && versions[i] != NULL; i++)
		if (strcmp(v->valuestring, versions[i]) == 0)
			chosen = versions[i];
	cJSON_AddStringToObject(r, "protocolVersion", chosen);
	caps = cJSON_AddObjectToObject(r, "capabilities");
	cJSON_AddFalseToObject(cJSON_AddObjectToObject(caps, "tools"),
	    "listChanged");
	info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", "pyro");
	cJSON_AddStringToObject(info, "title", "pyro microVM sandboxes");
	cJSON_AddStringToObject(info, "version", pyro_version());
	cJSON_AddStringToObject(r, "instructions", "pyro runs commands in "
	    "isolated microVMs. For one command use vm_run. For work over "
	    "many steps create a workspace (workspace_create), run commands "
	    "in it (workspace_exec), inspect changes (workspace_diff), and "
	    "delete it when done (workspace_delete). Tool failures come back "
	    "with isError and a stable error code.");
	return r;
}

static cJSON *
tools_list(void)
{
	const struct mcp_tool	*t;
	cJSON			*r = cJSON_CreateObject();
	cJSON			*arr = cJSON_AddArrayToObject(r, "tools");

	for (t = mcp_tools; t->name != NULL; t++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", t->name);
		cJSON_AddStringToObject(o, "description", t->description);
		cJSON_AddItemToObject(o, "inputSchema",
		    cJSON_Parse(t->input_schema));
		cJSON_AddItemToObject(o, "outputSchema",
		    cJSON_Parse(t->output_schema));
		cJSON_AddItemToArray(arr, o);
	}
	return r;
}

/* A tool's failure, for the model to read: isError plus the code. */
/*
 * Argument checks against a tool's input schema (types, enums, ranges,
 * lengths), before anything reaches pyrod.
 */

static int
type_ok(const cJSON *v, const char *t)
{
	if (strcmp(t, "string") == 0)
		return cJSON_IsString(v);
	if (strcmp(t, "boolean") == 0)
		return cJSON_IsBool(v);
	if (strcmp(t, "object") == 0)
		return cJSON_IsObject(v);
	if (strcmp(t, "array") == 0)
		return cJSON_IsArray(v);
	if (strcmp(t, "null") == 0)
		return cJSON_IsNull(v);
	if (strcmp(t, "number") == 0)
		return cJSON_IsNumber(v);
	if (strcmp(t, "integer") == 0)
		return cJSON_IsNumber(v) && v->valuedouble ==
		    floor(v->valuedouble);
	return 0;
}

static int
value_ok(const cJSON *v, const cJSON *schema, const char *name,
    pyro_error *err)
{
	const cJSON	*t = cJSON_GetObjectItem(schema, "type"), *it, *x;
	int		 ok = 0;

	if (cJSON_IsString(t))
		ok = type_ok(v, t->valuestring);
	else
		cJSON_ArrayForEach(it, t)
			ok |= type_ok(v, it->valuestring);
	if (!ok)
		goto bad;
	if ((x = cJSON_GetObjectItem(schema, "enum")) != NULL) {
		ok = 0;
		cJSON_ArrayForEach(it, x)
			ok |= cJSON_IsString(v) &&
			    strcmp(v->valuestring, it->valuestring) == 0;
		if (!ok)
			goto bad;
	}
	if (cJSON_IsNumber(v) &&
	    (((x = cJSON_GetObjectItem(schema, "minimum")) != NULL &&
	    v->valuedouble < x->valuedouble) ||
	    ((x = cJSON_GetObjectItem(schema, "maximum")) != NULL &&
	    v->valuedouble > x->valuedouble)))
		goto bad;
	if (cJSON_IsString(v) &&
	    (x = cJSON_GetObjectItem(schema, "minLength")) != NULL &&
	    strlen(v->valuestring) < (size_t)x->valuedouble)
		goto bad;
	if (cJSON_IsArray(v) &&
	    (x = cJSON_GetObjectItem(schema, "minItems")) != NULL &&
	    cJSON_GetArraySize(v) < (int)x->valuedouble)
		goto bad;
	if (cJSON_IsArray(v) && (x = cJSON_GetObjectItem(schema, "items"))) {
		cJSON_ArrayForEach(it, v)
			if (value_ok(it, x, name, err) < 0)
				return -1;
	}
	if (cJSON_IsObject(v) &&
	    (x = cJSON_GetObjectItem(schema, "additionalProperties")) &&
	    cJSON_IsObject(x)) {
		cJSON_ArrayForEach(it, v)
			if (value_ok(it, x, name, err) < 0)
				return -1;
	}
	return 0;
bad:
	snprintf(err->code, sizeof(err->code), PYRO_ERR_INVALID_ARGUMENT);
	{
		const cJSON *d = cJSON_GetObjectItem(schema, "description");

		snprintf(err->message, sizeof(err->message), "argument "
		    "\"%.64s\" has the wrong type or value (see the tool's "
		    "inputSchema)%s%.300s", name, cJSON_IsString(d) ? ": " : "",
		    cJSON_IsString(d) ? d->valuestring : "");
	}
	return -1;
}

int
mcp_check_args(const struct mcp_tool *t, const cJSON *args, pyro_error *err)
{
	cJSON		*schema = cJSON_Parse(t->input_schema);
	const cJSON	*props = cJSON_GetObjectItem(schema, "properties");
	const cJSON	*req = cJSON_GetObjectItem(schema, "required"), *it;
	int		 rc = 0;

	cJSON_ArrayForEach(it, req)
		if (cJSON_GetObjectItem(args, it->valuestring) == NULL) {
			snprintf(err->code, sizeof(err->code),
			    "invalid_argument");
			snprintf(err->message, sizeof(err->message),
			    "missing argument \"%s\"", it->valuestring);
			rc = -1;
			goto out;
		}
	cJSON_ArrayForEach(it, args) {
		const cJSON *s = cJSON_GetObjectItem(props, it->string);

		if (s == NULL) {
			snprintf(err->code, sizeof(err->code),
			    "invalid_argument");
			snprintf(err->message, sizeof(err->message),
			    "unknown argument \"%.64s\"", it->string);
			rc = -1;
			goto out;
		}
		if (!cJSON_IsNull(it) && (rc = value_ok(it, s, it->string,
		    err)) < 0)
			goto out;
	}
out:
	cJSON_Delete(schema);
	return rc;
}

static cJSON *
tool_error(const pyro_error *err)
{
	cJSON	*r = cJSON_CreateObject(), *c, *s;
	char	 text[700];

	snprintf(text, sizeof(text), "error %s: %s", err->code, err->message);
	c = cJSON_AddArrayToObject(r, "content");
	cJSON_AddItemToArray(c, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(c, 0), "type", "text");
	cJSON_AddStringToObject(cJSON_GetArrayItem(c, 0), "text", text);
	s = cJSON_AddObjectToObject(r, "structuredContent");
	cJSON_AddStringToObject(s, "error_code", err->code);
	cJSON_AddStringToObject(s, "message", err->message);
	cJSON_AddTrueToObject(r, "isError");
	return r;
}

struct call {
	cJSON			*id;
	cJSON			*args;
	const struct mcp_tool	*tool;
};

static void *
call_thread(void *p)
{
	struct call	*c = p;
	pyro_client	*cl = NULL;
	pyro_error	 err;
	cJSON		*res, *out, *content;
	char		*text = NULL;

	memset(&err, 0, sizeof(err));
	if (pyro_connect(sockpath, &cl, &err) < 0 ||
	    (res = c->tool->run(cl, c->args, &text, &err)) == NULL) {
		send_result(c->id, tool_error(&err));
		goto out;
	}
	out = cJSON_CreateObject();
	content = cJSON_AddArrayToObject(out, "content");
	cJSON_AddItemToArray(content, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(content, 0), "type",
	    "text");
	if (text == NULL)
		text = cJSON_Print(res);
	cJSON_AddStringToObject(cJSON_GetArrayItem(content, 0), "text",
	    text ? text : "");
	cJSON_AddItemToObject(out, "structuredContent", res);
	cJSON_AddFalseToObject(out, "isError");
	send_result(c->id, out);
out:
	free(text);
	pyro_disconnect(cl);
	cJSON_Delete(c->id);
	cJSON_Delete(c->args);
	free(c);
	pthread_mutex_lock(&calls_lock);
	ncalls--;
	pthread_mutex_unlock(&calls_lock);
	return NULL;
}

static void
tools_call(const cJSON *id, const cJSON *params)
{
	const cJSON		*name = cJSON_GetObjectItem(params, "name");
	const cJSON		*args = cJSON_GetObjectItem(params,
				    "arguments");
	const struct mcp_tool	*t;
	struct call		*c;
	pthread_t		 th;
	pthread_attr_t		 attr;
	int			 full;

	if (!cJSON_IsString(name)) {
		send_error(id, E_PARAMS, "tools/call needs a \"name\"");
		return;
	}
	if ((t = mcp_tool_find(name->valuestring)) == NULL) {
		send_error(id, E_PARAMS, "unknown tool");
		return;
	}
	if (args != NULL && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
		send_error(id, E_PARAMS, "\"arguments\" must be an object");
		return;
	}
	/* Arguments that break the schema: a tool error the model can fix. */
	{
		pyro_error	 err;
		cJSON		*empty = cJSON_CreateObject();

		memset(&err, 0, sizeof(err));
		if (mcp_check_args(t, cJSON_IsObject(args) ? args : empty,
		    &err) < 0) {
			cJSON_Delete(empty);
			send_result(id, tool_error(&err));
			return;
		}
		cJSON_Delete(empty);
	}
	pthread_mutex_lock(&calls_lock);
	full = ncalls >= CALLS_MAX;
	if (!full)
		ncalls++;
	pthread_mutex_unlock(&calls_lock);
	if (full) {
		send_error(id, E_INTERNAL, "too many tool calls in flight");
		return;
	}
	c = calloc(1, sizeof(*c));
	c->id = cJSON_Duplicate(id, 1);
	c->args = args && cJSON_IsObject(args) ? cJSON_Duplicate(args, 1) :
	    cJSON_CreateObject();
	c->tool = t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, call_thread, c) != 0) {
		send_error(id, E_INTERNAL, "cannot start the call");
		cJSON_Delete(c->id);
		cJSON_Delete(c->args);
		free(c);
		pthread_mutex_lock(&calls_lock);
		ncalls--;
		pthread_mutex_unlock(&calls_lock);
	}
	pthread_attr_destroy(&attr);
}

static int
valid_id(const cJSON *id)
{
	return cJSON_IsString(id) || (cJSON_IsNumber(id) &&
	    id->valuedouble == (double)(long long)id->valuedouble);
}

static void
dispatch(cJSON *msg)
{
	const cJSON	*v = cJSON_GetObjectItem(msg, "jsonrpc");
	const cJSON	*id = cJSON_GetObjectItem(msg, "id");
	const cJSON	*method = cJSON_GetObjectItem(msg, "method");
	const cJSON	*params = cJSON_GetObjectItem(msg, "params");
	const char	*m;

	if (!cJSON_IsObject(msg) || !cJSON_IsString(v) ||
	    strcmp(v->valuestring, "2.0") != 0) {
		send_error(valid_id(id) ? id : NULL, E_INVALID_REQUEST,
		    "not a JSON-RPC 2.0 message");
		return;
	}
	if (method == NULL) {
		/* A response from the client: we send no requests. */
		return;
	}
	if (!cJSON_IsString(method) || (id != NULL && !valid_id(id))) {
		send_error(valid_id(id) ? id : NULL, E_INVALID_REQUEST,
		    "\"method\" must be a string and \"id\" a string or an "
		    "integer");
		return;
	}
	if (params != NULL && !cJSON_IsObject(params)) {
		if (id != NULL)
			send_error(id, E_PARAMS, "\"params\" must be an "
			    "object");
		return;
	}
	m = method->valuestring;
	if (id == NULL) {
		/* Notifications (initialized, cancelled): nothing to say. */
		return;
	}
	if (strcmp(m, "initialize") == 0) {
		initialized = 1;
		send_result(id, initialize_result(params));
		return;
	}
	if (strcmp(m, "ping") == 0) {
		send_result(id, cJSON_CreateObject());
		return;
	}
	if (!initialized) {
		send_error(id, E_INVALID_REQUEST, "the server is not "
		    "initialized: send initialize first");
		return;
	}
	if (strcmp(m, "tools/list") == 0)
		send_result(id, tools_list());
	else if (strcmp(m, "tools/call") == 0)
		tools_call(id, params);
	else
		send_error(id, E_METHOD, "method not found");
}

/* One line of at most LINE_MAX_BYTES; longer ones are read and dropped. */
static char *
read_line(int *too_long)
{
	static char	*buf;
	static size_t	 cap;
	size_t		 len = 0;
	int		 ch;

	*too_long = 0;
	while ((ch = getchar()) != EOF && ch != '\n') {
		if (len >= LINE_MAX_BYTES) {
			*too_long = 1;
			continue;
		}
		if (len + 2 > cap) {
			char *n = realloc(buf, cap ? cap * 2 : 65536);

			if (n == NULL) {
				*too_long = 1;
				continue;
			}
			buf = n;
			cap = cap ? cap * 2 : 65536;
		}
		buf[len++] = (char)ch;
	}
	if (ch == EOF && len == 0)
		return NULL;
	if (buf == NULL)
		return "";
	buf[len] = '\0';
	return buf;
}

int
mcp_serve(const char *socket_path)
{
	char	*line;
	cJSON	*msg;
	int	 too_long;

	sockpath = socket_path;
	/* A client that goes away mid-answer must not kill us by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "pyro mcp: serving on stdio (pyrod at %s)\n",
	    socket_path ? socket_path : pyro_default_socket_path());
	while ((line = read_line(&too_long)) != NULL) {
		if (too_long) {
			send_error(NULL, E_INVALID_REQUEST, "message larger "
			    "than 8 MiB");
			continue;
		}
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		if ((msg = cJSON_Parse(line)) == NULL) {
			send_error(NULL, E_PARSE, "parse error");
			continue;
		}
		if (cJSON_IsArray(msg))
			send_error(NULL, E_INVALID_REQUEST, "batches are not "
			    "supported");
		else
			dispatch(msg);
		cJSON_Delete(msg);
	}
	/*
	 * Give calls that are about to answer a moment; longer ones end with
	 * us, and pyrod winds down what their connections started.
	 */
	for (int i = 0; i < 40; i++) {
		int busy;

		pthread_mutex_lock(&calls_lock);
		busy = ncalls;
		pthread_mutex_unlock(&calls_lock);
		if (busy == 0)
			break;
		usleep(50000);
	}
	fprintf(stderr, "pyro mcp: stdin closed; exiting\n");
	pthread_mutex_lock(&out_lock);
	fflush(stdout);
	_exit(0);
}
