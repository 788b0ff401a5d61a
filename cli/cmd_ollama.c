/*
 * pyro demo ollama: a small agent loop.  A local Ollama server's chat API
 * (tool calling) gets vm_run as its one tool; every tool call the model
 * makes runs in a fresh microVM through libpyro, and its result goes back
 * to the model until it answers in words.  The transcript is printed.
 *
 * The HTTP client is a few lines over a TCP socket: the server is a local
 * one (http://HOST:PORT, no TLS), the request one POST with a body, the
 * answer one JSON document (Content-Length or chunked).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "url.h"

#define TURNS_MAX	6
#define REPLY_MAX	(16 * 1024 * 1024)
#define TOOL_OUTPUT_MAX	8192

static int
pyro_write_all_fd(int fd, const char *s)
{
	size_t	n = strlen(s);
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A chat server's base URL (common/url.c); path "" when it names none. */
struct http {
	struct pyro_url	u;
};

static int
parse_url(const char *url, struct http *h)
{
	if (pyro_url_parse(url, "11434", &h->u) < 0)
		return -1;
	if (strcmp(h->u.path, "/") == 0)
		h->u.path[0] = '\0';	/* the API's paths start with "/" */
	return 0;
}

/* Undo chunked transfer coding in place; the body's new length. */
static size_t
dechunk(char *b, size_t n)
{
	size_t	in = 0, out = 0, k;
	char	*end;

	while (in < n) {
		k = strtoul(b + in, &end, 16);
		if (end == b + in || (end = strstr(end, "\r\n")) == NULL)
			break;
		in = (size_t)(end - b) + 2;
		if (k == 0 || in + k > n)
			break;
		memmove(b + out, b + in, k);
		out += k;
		in += k + 2;
	}
	return out;
}

/* POST body to base+path; the parsed JSON answer, or NULL with err. */
static cJSON *
post(const struct http *h, const char *path, const char *body,
    pyro_error *err)
{
	struct addrinfo	 hints, *ai = NULL, *a;
	char		*buf = NULL, *p, head[1024];
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fd = -1, rc, status;
	cJSON		*j;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(h->u.host, h->u.port, &hints, &ai)) != 0) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_UNAVAILABLE);
		snprintf(err->message, sizeof(err->message), "cannot resolve "
		    "%s: %s", h->u.host, gai_strerror(rc));
		return NULL;
	}
	for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
		    a->ai_protocol)) < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_UNAVAILABLE);
		snprintf(err->message, sizeof(err->message), "no Ollama server "
		    "answers at http://%s:%s (%s); start one with `ollama "
		    "serve` and pull the model, or give --url", h->u.host,
		    h->u.port, strerror(errno));
		return NULL;
	}
	snprintf(head, sizeof(head), "POST %s%s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", h->u.path, path, h->u.host, h->u.port,
	    strlen(body));
	if (pyro_write_all_fd(fd, head) < 0 || pyro_write_all_fd(fd, body) < 0)
		goto io;
	for (;;) {
		if (len + 65536 + 1 > cap) {
			if (cap >= REPLY_MAX)
				goto io;
			cap = cap ? 2 * cap : 131072;
			if ((p = realloc(buf, cap)) == NULL)
				goto io;
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto io;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%*s %d", &status) != 1 ||
	    (p = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		snprintf(err->code, sizeof(err->code), PYRO_ERR_PROTOCOL);
		snprintf(err->message, sizeof(err->message), "the server's "
		    "answer is not HTTP");
		return NULL;
	}
	*p = '\0';
	p += 4;
	if (strcasestr(buf, "transfer-encoding: chunked") != NULL)
		p[dechunk(p, len - (size_t)(p - buf))] = '\0';
	if (status != 200) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_UNAVAILABLE);
		snprintf(err->message, sizeof(err->message), "the Ollama server "
		    "answered %d: %.300s", status, p);
		free(buf);
		return NULL;
	}
	j = cJSON_Parse(p);
	free(buf);
	if (j == NULL) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_PROTOCOL);
		snprintf(err->message, sizeof(err->message), "the server's "
		    "answer is not JSON");
	}
	return j;
io:
	close(fd);
	free(buf);
	snprintf(err->code, sizeof(err->code), PYRO_ERR_IO);
	snprintf(err->message, sizeof(err->message), "talking to the Ollama "
	    "server: %s", strerror(errno ? errno : EIO));
	return NULL;
}

struct grab {
	char	buf[TOOL_OUTPUT_MAX + 1];
	size_t	len;
};

static void
grab_output(void *arg, int fd, const void *data, size_t n)
{
	struct grab	*g = arg;

	(void)fd;
	if (n > TOOL_OUTPUT_MAX - g->len)
		n = TOOL_OUTPUT_MAX - g->len;
	memcpy(g->buf + g->len, data, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

/* Run one vm_run tool call; the tool message's content (malloc'd). */
static char *
run_tool(struct cli *cli, const char *env, const cJSON *call)
{
	const cJSON	*fn = cJSON_GetObjectItem(call, "function");
	const cJSON	*args = cJSON_GetObjectItem(fn, "arguments");
	const cJSON	*cmd;
	struct grab	 g;
	pyro_error	 err;
	char		*res = NULL, *out;
	cJSON		*o = cJSON_CreateObject(), *parsed = NULL, *r;
	const char	*argv[2] = { NULL, NULL };

	/* Arguments come as an object (Ollama) or as JSON text. */
	if (cJSON_IsString(args))
		args = parsed = cJSON_Parse(args->valuestring);
	cmd = cJSON_GetObjectItem(args, "command");
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(fn, "name")) ?:
	    "", "vm_run") != 0 || !cJSON_IsString(cmd)) {
		cJSON_AddStringToObject(o, "error", "unknown tool or no "
		    "\"command\" string; the only tool is vm_run(command)");
		goto done;
	}
	/* One argument: libpyro runs it with sh -lc, as vm_run does. */
	argv[0] = cmd->valuestring;
	printf("[tool] vm_run: %s\n", cmd->valuestring);
	/* pyrod only once the model asks for a VM. */
	if (cli->client == NULL && pyro_connect(cli->socket, &cli->client,
	    &err) < 0) {
		cJSON_AddStringToObject(o, "error", err.message);
		printf("[tool] error %s: %s\n", err.code, err.message);
		goto done;
	}
	memset(&g, 0, sizeof(g));
	pyro_set_output_handler(cli->client, grab_output, &g);
	if (pyro_run_in_vm(cli->client, env, argv, NULL, &res, &err) < 0) {
		cJSON_AddStringToObject(o, "error", err.message);
		printf("[tool] error %s: %s\n", err.code, err.message);
		goto done;
	}
	r = cJSON_Parse(res);
	pyro_free(res);
	cJSON_AddNumberToObject(o, "exit_code", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(r, "exit_code")));
	cJSON_AddStringToObject(o, "output", g.buf);
	printf("[tool] exit_code=%.0f output:\n%s%s", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(r, "exit_code")), g.buf,
	    g.len && g.buf[g.len - 1] != '\n' ? "\n" : "");
	cJSON_Delete(r);
done:
	cJSON_Delete(parsed);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static const char TOOLS[] = "[{\"type\":\"function\",\"function\":{"
    "\"name\":\"vm_run\",\"description\":\"Run one shell command in a fresh, "
    "isolated Linux microVM (Debian 12) and get its exit code and output.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":{"
    "\"type\":\"string\",\"description\":\"The shell command.\"}},"
    "\"required\":[\"command\"]}}}]";

int
cmd_demo_ollama(struct cli *cli, const struct cmd *c, const struct args *a)
{
	const char	*model = jstr(a->opts, "model", "llama3.2:3b");
	const char	*url = jstr(a->opts, "url", "http://127.0.0.1:11434");
	const char	*env = jstr(a->opts, "environment", "debian:12");
	const char	*prompt = jstr(a->opts, "prompt", "Use the vm_run tool "
			    "to find out which Linux kernel version the sandbox "
			    "runs, then tell me in one sentence.");
	struct http	 h;
	pyro_error	 err;
	cJSON		*msgs, *req, *resp, *m, *calls, *call;
	char		*body, *content;
	int		 turn;

	if (parse_url(url, &h) < 0)
		return out_usage_error(c, "--url takes http://HOST[:PORT]");
	msgs = cJSON_CreateArray();
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "system");
	cJSON_AddStringToObject(m, "content", "You can run shell commands in "
	    "an isolated microVM with the vm_run tool. Use it to answer.");
	cJSON_AddItemToArray(msgs, m);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", prompt);
	cJSON_AddItemToArray(msgs, m);
	printf("[user] %s\n", prompt);
	for (turn = 0; turn < TURNS_MAX; turn++) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "model", model);
		cJSON_AddItemReferenceToObject(req, "messages", msgs);
		cJSON_AddItemToObject(req, "tools", cJSON_Parse(TOOLS));
		cJSON_AddFalseToObject(req, "stream");
		body = cJSON_PrintUnformatted(req);
		cJSON_Delete(req);
		resp = post(&h, "/api/chat", body, &err);
		free(body);
		if (resp == NULL) {
			cJSON_Delete(msgs);
			return out_error(cli, &err);
		}
		m = cJSON_DetachItemFromObject(resp, "message");
		cJSON_Delete(resp);
		if (!cJSON_IsObject(m)) {
			cJSON_Delete(m);
			cJSON_Delete(msgs);
			snprintf(err.code, sizeof(err.code), PYRO_ERR_PROTOCOL);
			snprintf(err.message, sizeof(err.message), "the chat "
			    "answer has no message");
			return out_error(cli, &err);
		}
		content = cJSON_GetStringValue(cJSON_GetObjectItem(m,
		    "content"));
		if (content != NULL && *content != '\0')
			printf("[assistant] %s\n", content);
		calls = cJSON_GetObjectItem(m, "tool_calls");
		cJSON_AddItemToArray(msgs, m);
		if (cJSON_GetArraySize(calls) == 0) {
			cJSON_Delete(msgs);
			printf("[done] %d turn(s)\n", turn + 1);
			return EXIT_OK;
		}
		cJSON_ArrayForEach(call, calls) {
			char	*out = run_tool(cli, env, call);
			cJSON	*t = cJSON_CreateObject();

			cJSON_AddStringToObject(t, "role", "tool");
			cJSON_AddStringToObject(t, "content", out ? out : "{}");
			free(out);
			cJSON_AddItemToArray(msgs, t);
		}
	}
	cJSON_Delete(msgs);
	printf("[done] stopped after %d turns\n", TURNS_MAX);
	return EXIT_OK;
}
