/*
 * PTY shells and named services of a running workspace.
 *
 * A shell is one long-lived job on a guest PTY: what the client writes goes
 * through a pipe pyrod holds (the vmhelper feeds it to the agent under the
 * stdin window), what the terminal prints is kept here as scrollback with
 * absolute cursors, redacted before it is stored.  Reads never block.
 *
 * A service is a job whose output the guest itself appends to
 * /run/pyro/services/<name>.log (tmpfs: never in /workspace, never on the
 * disk); pyrod checks readiness by running small probe commands in the
 * guest every interval until the check passes or the timeout ends.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define SHELL_SCROLLBACK	(1024 * 1024)
#define SHELL_READ_MAX		(1024 * 1024)
#define SERVICE_STOP_GRACE_MS	5000
#define PROBE_TIMEOUT_S		5
#define LOG_TAIL_MAX		100000

/* cwd for a shell or service: relative to /workspace, any guest dir. */
static int
guest_cwd(const cJSON *args, char *out, size_t size, struct pyro_status *st)
{
	const char	*in;
	int		 rc;

	if (arg_string(args, "cwd", 0, 255, &in, st) < 0)
		return -1;
	if (in == NULL)
		in = PYRO_GUEST_WORKDIR;
	if ((rc = pyro_path_resolve(in, strlen(in), PYRO_GUEST_WORKDIR,
	    PYRO_PATH_ABS_OK, out, size)) < 0)
		return pyro_fail(st, PYRO_E_INVALID_PATH, "cwd \"%.200s\" is "
		    "not a valid guest path (%s)", in, strerror(-rc));
	return 0;
}

/* ---- shells ---- */

static struct shell *
shell_find(struct ws *w, const char *id)
{
	struct shell	*s;

	LIST_FOREACH(s, &w->shells, entry)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static void
shell_free(struct ws *w, struct shell *s)
{
	LIST_REMOVE(s, entry);
	w->nshells--;
	if (s->job != NULL) {
		s->job->arg = NULL;
		wjob_kill(s->job);
	}
	if (s->in >= 0)
		close(s->in);
	free(s->buf);
	free(s);
}

void
shell_output(struct wjob *j, const uint8_t *p, size_t n)
{
	struct shell	*s = j->arg;
	uint8_t		*q;

	if (s == NULL || n == 0)
		return;
	if (n >= SHELL_SCROLLBACK) {
		s->base += s->len + (n - SHELL_SCROLLBACK);
		p += n - SHELL_SCROLLBACK;
		n = SHELL_SCROLLBACK;
		s->len = 0;
	}
	if (s->len + n > SHELL_SCROLLBACK) {
		size_t drop = s->len + n - SHELL_SCROLLBACK;

		memmove(s->buf, s->buf + drop, s->len - drop);
		s->len -= drop;
		s->base += drop;
	}
	if (s->buf == NULL) {
		if ((q = malloc(SHELL_SCROLLBACK)) == NULL)
			return;
		s->buf = q;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
shell_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct shell	*s = j->arg;

	if (s != NULL) {
		s->job = NULL;
		s->exited = 1;
		s->exit_code = x != NULL ? x->exit_code : -1;
		if (s->in >= 0)
			close(s->in);
		s->in = -1;
	}
	wjob_free(j);
}

void
shells_gone(struct ws *w)
{
	struct shell	*s;

	while ((s = LIST_FIRST(&w->shells)) != NULL)
		shell_free(w, s);
}

static cJSON *
shell_json(struct ws *w, struct shell *s)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "shell_id", s->id);
	cJSON_AddStringToObject(o, "workspace_id", w->rec->id);
	cJSON_AddStringToObject(o, "state", s->exited ? "exited" : "open");
	if (s->exited)
		cJSON_AddNumberToObject(o, "exit_code", s->exit_code);
	cJSON_AddStringToObject(o, "cwd", s->cwd);
	cJSON_AddNumberToObject(o, "cols", s->cols);
	cJSON_AddNumberToObject(o, "rows", s->rows);
	cJSON_AddStringToObject(o, "opened_at", s->opened_at);
	cJSON_AddNumberToObject(o, "cursor", (double)(s->base + s->len));
	return o;
}

cJSON *
shells_json(struct ws *w)
{
	cJSON		*arr = cJSON_CreateArray();
	struct shell	*s;

	LIST_FOREACH(s, &w->shells, entry)
		cJSON_AddItemToArray(arr, shell_json(w, s));
	return arr;
}

void
op_shell_open(struct request *rq, const cJSON *args)
{
	static const char	*argv[] = { "/bin/bash", "-i", NULL };
	struct pyro_status	 st;
	struct ws		*w;
	struct shell		*s;
	struct wjob		*j;
	char			**env = NULL;
	long long		 cols = 120, rows = 30;
	int			 envc = 0, p[2];

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	s->in = -1;
	if (guest_cwd(args, s->cwd, sizeof(s->cwd), &st) < 0 ||
	    arg_int(args, "cols", 0, 10, 1000, &cols, &st) < 0 ||
	    arg_int(args, "rows", 0, 5, 1000, &rows, &st) < 0 ||
	    ws_secret_env(w, cJSON_GetObjectItemCaseSensitive(args,
	    "secret_env"), &env, &envc, &st) < 0)
		goto fail;
	if (w->nshells >= WS_SHELLS_MAX) {
		pyro_fail(&st, PYRO_E_LIMIT_EXCEEDED, "a workspace has at most "
		    "%d shells; close one first", WS_SHELLS_MAX);
		goto fail;
	}
	if (pyro_id_new(s->id) < 0 ||
	    pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		pyro_fail(&st, PYRO_E_INTERNAL, "cannot open a shell: %s",
		    strerror(errno));
		goto fail;
	}
	s->in = p[1];
	s->cols = (unsigned)cols;
	s->rows = (unsigned)rows;
	iso_time(s->opened_at, sizeof(s->opened_at), time(NULL));
	/* Shell output without bracketed-paste escapes around each line. */
	if (env == NULL && (env = calloc(2, sizeof(*env))) == NULL) {
		close(p[0]);
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	env[envc++] = strdup("INPUTRC=/run/pyro/inputrc");
	if ((j = wjob_new(w, SINK_SHELL, shell_done, s)) == NULL) {
		close(p[0]);
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (wjob_start(j, argv, 0, env, envc, s->cwd, GP_EXEC_PTY, 0, p[0],
	    s->cols, s->rows, &st) < 0) {
		close(p[0]);
		goto fail;
	}
	close(p[0]);
	s->job = j;
	LIST_INSERT_HEAD(&w->shells, s, entry);
	w->nshells++;
	ws_free_env(env, envc);
	ws_event(w, "shell_opened", s->id);
	ctl_reply_ok(rq, shell_json(w, s));
	return;
fail:
	if (s->in >= 0)
		close(s->in);
	free(s);
	ws_free_env(env, envc);
	ctl_reply_status(rq, &st);
}

static struct shell *
shell_or_reply(struct request *rq, const cJSON *args, struct ws **wp)
{
	struct pyro_status	 st;
	const char		*id;
	struct shell		*s;

	if ((*wp = ws_running_or_reply(rq, args)) == NULL)
		return NULL;
	if (arg_string(args, "shell_id", 1, 64, &id, &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((s = shell_find(*wp, id)) == NULL) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no shell "
		    "\"%.64s\"", (*wp)->rec->id, id);
		return NULL;
	}
	return s;
}

void
op_shell_read(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct shell		*s;
	long long		 cursor = 0, max = 65536;
	uint64_t		 from, end;
	char			*text;
	cJSON			*res;

	if ((s = shell_or_reply(rq, args, &w)) == NULL)
		return;
	if (arg_int(args, "cursor", 0, 0, (long long)1 << 50, &cursor,
	    &st) < 0 || arg_int(args, "max_chars", 0, 1, SHELL_READ_MAX, &max,
	    &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	from = (uint64_t)cursor < s->base ? s->base : (uint64_t)cursor;
	end = s->base + s->len;
	if (from > end)
		from = end;
	if (end - from > (uint64_t)max) {
		end = from + (uint64_t)max;
		/* Do not cut a UTF-8 sequence: stop before its first byte. */
		while (end > from && (s->buf[end - s->base] & 0xc0) == 0x80)
			end--;
	}
	text = utf8_sanitize(s->buf ? s->buf + (from - s->base) :
	    (const uint8_t *)"", (size_t)(end - from));
	res = shell_json(w, s);
	cJSON_AddStringToObject(res, "output", text ? text : "");
	free(text);
	/* The read's own cursor, not the shell's end (once, not twice). */
	cJSON_DeleteItemFromObjectCaseSensitive(res, "cursor");
	cJSON_AddNumberToObject(res, "cursor", (double)from);
	cJSON_AddNumberToObject(res, "next_cursor", (double)end);
	cJSON_AddBoolToObject(res, "more", end < s->base + s->len);
	cJSON_AddBoolToObject(res, "truncated_before",
	    (uint64_t)cursor < s->base);
	ctl_reply_ok(rq, res);
}

void
op_shell_write(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct shell		*s;
	const char		*input;
	int			 nl = 1;
	size_t			 n;
	ssize_t			 k;
	char			*buf;
	cJSON			*res;

	if ((s = shell_or_reply(rq, args, &w)) == NULL)
		return;
	if (arg_string(args, "input", 1, 65536, &input, &st) < 0 ||
	    arg_bool(args, "append_newline", &nl, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (s->exited || s->in < 0) {
		ctl_reply_err(rq, PYRO_E_INVALID_ARGUMENT, "shell %s has "
		    "exited; open a new one", s->id);
		return;
	}
	n = strlen(input);
	if ((buf = malloc(n + 2)) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	memcpy(buf, input, n);
	if (nl)
		buf[n++] = '\n';
	/* Small writes fit the pipe; a full pipe means the shell is stuck. */
	k = write(s->in, buf, n);
	free(buf);
	if (k < 0 || (size_t)k != n) {
		ctl_reply_err(rq, PYRO_E_BUSY, "shell %s is not taking input "
		    "(%s); read its output or signal it", s->id,
		    k < 0 ? strerror(errno) : "partial write");
		return;
	}
	res = shell_json(w, s);
	cJSON_AddNumberToObject(res, "written", (double)n);
	ctl_reply_ok(rq, res);
}

static int
signal_number(const char *name)
{
	static const struct { const char *n; int s; } sigs[] = {
		{ "INT", SIGINT }, { "TERM", SIGTERM }, { "KILL", SIGKILL },
		{ "HUP", SIGHUP }, { "QUIT", SIGQUIT }, { NULL, 0 }
	};
	int	i;

	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; sigs[i].n != NULL; i++)
		if (strcmp(sigs[i].n, name) == 0)
			return sigs[i].s;
	return 0;
}

void
op_shell_signal(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct shell		*s;
	const char		*name = NULL;
	int			 sig;
	cJSON			*res;

	if ((s = shell_or_reply(rq, args, &w)) == NULL)
		return;
	if (arg_string(args, "signal_name", 0, 16, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((sig = signal_number(name ? name : "INT")) == 0) {
		ctl_reply_err(rq, PYRO_E_INVALID_ARGUMENT, "signal must be one "
		    "of INT, TERM, KILL, HUP, QUIT");
		return;
	}
	if (s->job != NULL)
		wjob_signal(s->job, sig);
	res = shell_json(w, s);
	cJSON_AddStringToObject(res, "signal", name ? name : "INT");
	ctl_reply_ok(rq, res);
}

void
op_shell_close(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	struct shell	*s;
	cJSON		*res;
	char		 id[17];

	if ((s = shell_or_reply(rq, args, &w)) == NULL)
		return;
	pyro_strlcpy(id, s->id, sizeof(id));
	shell_free(w, s);
	ws_event(w, "shell_closed", id);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	cJSON_AddStringToObject(res, "shell_id", id);
	cJSON_AddBoolToObject(res, "closed", 1);
	ctl_reply_ok(rq, res);
}

/* ---- services ---- */

static const char SERVICE_SH[] =
    "mkdir -p /run/pyro/services && "
    "exec >>\"/run/pyro/services/$0.log\" 2>&1 </dev/null && exec \"$@\"";
static const char PROBE_TCP_SH[] = "exec 3<>\"/dev/tcp/$0/$1\"";
static const char PROBE_HTTP_SH[] =
    "exec 3<>\"/dev/tcp/$0/$1\" || exit 1; "
    "printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "
    "\"$2\" \"$0\" >&3; IFS= read -r line <&3 || exit 1; "
    "case \"$line\" in HTTP/*\\ [23][0-9][0-9]*) exit 0;; esac; exit 1";

static struct service *
service_find(struct ws *w, const char *name)
{
	struct service	*v;

	LIST_FOREACH(v, &w->services, entry)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static cJSON *
service_json(struct ws *w, struct service *v)
{
	cJSON	*o = cJSON_CreateObject(), *r;

	cJSON_AddStringToObject(o, "service_name", v->name);
	cJSON_AddStringToObject(o, "workspace_id", w->rec->id);
	cJSON_AddStringToObject(o, "state", v->state);
	if (v->reason[0])
		cJSON_AddStringToObject(o, "reason", v->reason);
	if (v->job != NULL && v->job->pid)
		v->pid = v->job->pid;
	if (v->pid)
		cJSON_AddNumberToObject(o, "pid", v->pid);
	else
		cJSON_AddNullToObject(o, "pid");
	if (strcmp(v->state, "exited") == 0 ||
	    strcmp(v->state, "stopped") == 0) {
		cJSON_AddNumberToObject(o, "exit_code", v->exit_code);
		if (v->signal)
			cJSON_AddNumberToObject(o, "signal", v->signal);
	}
	cJSON_AddNumberToObject(o, "restarts", v->restarts);
	cJSON_AddStringToObject(o, "command", v->command ? v->command : "");
	cJSON_AddStringToObject(o, "cwd", v->cwd);
	cJSON_AddStringToObject(o, "started_at", v->started_at);
	r = cJSON_AddObjectToObject(o, "readiness");
	cJSON_AddStringToObject(r, "kind", v->ready_kind);
	if (v->ready_arg != NULL) {
		char *red = ws_redact_str(w, v->ready_arg);

		cJSON_AddStringToObject(r, "target", red ? red : "");
		free(red);
	}
	{
		char path[128];

		snprintf(path, sizeof(path), "/run/pyro/services/%s.log",
		    v->name);
		cJSON_AddStringToObject(o, "log_path", path);
	}
	return o;
}

cJSON *
services_json(struct ws *w)
{
	cJSON		*arr = cJSON_CreateArray();
	struct service	*v;

	LIST_FOREACH(v, &w->services, entry)
		cJSON_AddItemToArray(arr, service_json(w, v));
	return arr;
}

/* The start or stop request waiting on v, answered now. */
static void
service_answer(struct ws *w, struct service *v, enum pyro_err err)
{
	struct request	*rq = v->rq;

	if (rq == NULL)
		return;
	v->rq = NULL;
	rq->cancel = NULL;
	if (err != PYRO_OK)
		ctl_reply_err(rq, err, "service \"%s\" %s", v->name,
		    v->reason[0] ? v->reason : v->state);
	else
		ctl_reply_ok(rq, service_json(w, v));
}

static void
service_set(struct service *v, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
service_set(struct service *v, const char *state, const char *fmt, ...)
{
	va_list	ap;

	pyro_strlcpy(v->state, state, sizeof(v->state));
	v->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
		va_end(ap);
	}
}

static void	probe_tick(void *);

static void
service_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct service	*v = j->arg;
	struct ws	*w = j->w;
	int		 stopping, starting;
	enum pyro_err	 err;

	if (v != NULL && j->pid)
		v->pid = j->pid;
	wjob_free(j);
	if (v == NULL)
		return;
	v->job = NULL;
	timer_cancel(v->timer);
	v->timer = NULL;
	timer_cancel(v->kill_timer);
	v->kill_timer = NULL;
	stopping = strcmp(v->state, "stopping") == 0;
	starting = strcmp(v->state, "starting") == 0;
	v->exit_code = x ? x->exit_code : -1;
	v->signal = x ? x->signal : 0;
	err = PYRO_OK;
	if (x == NULL)
		service_set(v, "stopped", "the workspace stopped");
	else if (stopping)
		service_set(v, "stopped", NULL);
	else if (x->error != 0) {
		service_set(v, "failed", "could not start: %s",
		    strerror(x->error));
		err = PYRO_E_INVALID_ARGUMENT;
	} else if (starting) {
		service_set(v, "exited", "exited with code %d before it was "
		    "ready", x->exit_code);
		err = PYRO_E_IO;
	} else
		service_set(v, "exited", "exited with code %d", x->exit_code);
	if (v->probe != NULL) {
		v->probe->arg = NULL;
		wjob_kill(v->probe);
		v->probe = NULL;
	}
	ws_event(w, "service_ended", v->name);
	service_answer(w, v, err);
}

static void
probe_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct service	*v = j->arg;
	struct ws	*w = j->w;

	wjob_free(j);
	if (v == NULL)
		return;
	v->probe = NULL;
	if (strcmp(v->state, "starting") != 0)
		return;
	if (x != NULL && x->exit_code == 0 && x->error == 0 &&
	    !x->timed_out) {
		service_set(v, "ready", NULL);
		ws_event(w, "service_ready", v->name);
		service_answer(w, v, PYRO_OK);
		return;
	}
	if (now_ms() >= v->ready_deadline) {
		service_set(v, "failed", "readiness (%s) did not pass within "
		    "the timeout; the service is still running",
		    v->ready_kind);
		ws_event(w, "service_failed", v->name);
		service_answer(w, v, PYRO_E_TIMEOUT);
		return;
	}
	v->timer = timer_add(v->interval_ms, probe_tick, v);
}

/* Parse http://HOST[:PORT][/PATH] (plain HTTP: the guest's own port). */
static int
parse_url(const char *url, char *host, size_t hs, char *port, size_t ps,
    const char **path)
{
	const char	*p, *slash, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	*path = slash ? slash : "/";
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if ((size_t)((colon ? colon : slash) - p) >= hs || colon == p ||
	    slash == p)
		return -1;
	snprintf(host, hs, "%.*s", (int)((colon ? colon : slash) - p), p);
	if (colon)
		snprintf(port, ps, "%.*s", (int)(slash - colon - 1), colon + 1);
	else
		snprintf(port, ps, "80");
	return 0;
}

static void
probe_tick(void *arg)
{
	struct service		*v = arg;
	struct ws		*w = NULL;
	struct pyro_status	 st;
	struct wjob		*j;
	char			 host[256], port[16], a[256], b[16];
	const char		*path, *argv[8] = { NULL };
	int			 shell = 0;

	v->timer = NULL;
	if (v->job == NULL || strcmp(v->state, "starting") != 0)
		return;
	w = v->job->w;
	if (strcmp(v->ready_kind, "file") == 0) {
		argv[0] = "test";
		argv[1] = "-e";
		argv[2] = v->ready_arg;
	} else if (strcmp(v->ready_kind, "tcp") == 0) {
		const char *c = strrchr(v->ready_arg, ':');

		snprintf(a, sizeof(a), "%.*s", (int)(c - v->ready_arg),
		    v->ready_arg);
		snprintf(b, sizeof(b), "%s", c + 1);
		argv[0] = "/bin/bash";
		argv[1] = "-c";
		argv[2] = PROBE_TCP_SH;
		argv[3] = a;
		argv[4] = b;
	} else if (strcmp(v->ready_kind, "http") == 0) {
		(void)parse_url(v->ready_arg, host, sizeof(host), port,
		    sizeof(port), &path);
		argv[0] = "/bin/bash";
		argv[1] = "-c";
		argv[2] = PROBE_HTTP_SH;
		argv[3] = host;
		argv[4] = port;
		argv[5] = path;
	} else {
		argv[0] = v->ready_arg;
		shell = 1;
	}
	if ((j = wjob_new(w, SINK_DROP, probe_done, v)) == NULL ||
	    wjob_start(j, argv, shell, NULL, 0, v->cwd, 0, PROBE_TIMEOUT_S,
	    -1, 0, 0, &st) < 0) {
		v->timer = timer_add(v->interval_ms, probe_tick, v);
		return;
	}
	v->probe = j;
}

static void
service_free(struct service *v)
{
	timer_cancel(v->timer);
	timer_cancel(v->kill_timer);
	free(v->ready_arg);
	free(v->command);
	free(v);
}

void
services_gone(struct ws *w)
{
	struct service	*v;

	/* Jobs ended already (wjobs_gone); the entries stay for status. */
	LIST_FOREACH(v, &w->services, entry) {
		timer_cancel(v->timer);
		v->timer = NULL;
		timer_cancel(v->kill_timer);
		v->kill_timer = NULL;
		if (v->rq != NULL)
			service_answer(w, v, PYRO_E_WORKSPACE_NOT_RUNNING);
	}
}

void
services_free(struct ws *w)
{
	struct service	*v;

	while ((v = LIST_FIRST(&w->services)) != NULL) {
		LIST_REMOVE(v, entry);
		if (v->job != NULL)
			v->job->arg = NULL;
		if (v->probe != NULL)
			v->probe->arg = NULL;
		service_free(v);
	}
	w->nservices = 0;
}

static void
service_cancel(struct request *rq)
{
	struct service	*v = rq->ctx;

	v->rq = NULL;	/* the service stays; only the reply is moot */
}

/* One readiness kind and its target from the request. */
static int
readiness(const cJSON *args, struct service *v, struct pyro_status *st)
{
	static const char *kinds[] = { "file", "tcp", "http", "command" };
	char		 key[32], host[256], port[16];
	const char	*val, *path;
	int		 i, n = 0;

	pyro_strlcpy(v->ready_kind, "none", sizeof(v->ready_kind));
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "ready_%s", kinds[i]);
		if (arg_string(args, key, 0, 4000, &val, st) < 0)
			return -1;
		if (val == NULL)
			continue;
		if (n++ > 0)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give at "
			    "most one readiness check");
		pyro_strlcpy(v->ready_kind, kinds[i], sizeof(v->ready_kind));
		if (val[0] == '\0')
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
			    "\"%s\" is empty", key);
		if (i == 1) {
			const char *c = strrchr(val, ':');
			char *end;
			long p = c ? strtol(c + 1, &end, 10) : 0;

			if (c == NULL || c == val || c - val > 200 ||
			    c[1] == '\0' || *end != '\0' || p < 1 ||
			    p > 65535)
				return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
				    "--ready-tcp takes HOST:PORT");
		}
		if (i == 2 && parse_url(val, host, sizeof(host), port,
		    sizeof(port), &path) < 0)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "--ready-http takes http://HOST[:PORT][/PATH]");
		if ((v->ready_arg = strdup(val)) == NULL)
			return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	}
	return 0;
}

void
op_service_start(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct service		*v, *old;
	struct wjob		*j;
	const cJSON		*argv = cJSON_GetObjectItemCaseSensitive(args,
				    "argv"), *it, *pub;
	const char		*name, *command, **av = NULL;
	char			**env = NULL;
	long long		 tmo = 30, interval = 500;
	int			 envc = 0, n = 0, k;
	size_t			 len = 1;

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	if (arg_string(args, "service_name", 1, 200, &name, &st) < 0 ||
	    arg_string(args, "command", 0, 60000, &command, &st) < 0 ||
	    guest_cwd(args, v->cwd, sizeof(v->cwd), &st) < 0 ||
	    arg_int(args, "ready_timeout_seconds", 0, 1, 3600, &tmo, &st) < 0 ||
	    arg_int(args, "ready_interval_ms", 0, 50, 60000, &interval,
	    &st) < 0 || readiness(args, v, &st) < 0)
		goto fail;
	if (!pyro_name_valid(name)) {
		pyro_fail(&st, PYRO_E_INVALID_NAME, "service names are 1-64 "
		    "characters of [A-Za-z0-9._-], starting with a letter or "
		    "digit");
		goto fail;
	}
	pub = cJSON_GetObjectItemCaseSensitive(args, "published_ports");
	if (pub != NULL && !cJSON_IsNull(pub) && cJSON_GetArraySize(pub) > 0) {
		pyro_fail(&st, PYRO_E_UNSUPPORTED, "published ports need "
		    "guest networking, which is not available in this "
		    "release");
		goto fail;
	}
	if ((argv == NULL) == (command == NULL)) {
		pyro_fail(&st, PYRO_E_INVALID_ARGUMENT, "give exactly one of "
		    "\"argv\" (an array) and \"command\" (a string)");
		goto fail;
	}
	if ((old = service_find(w, name)) != NULL && old->job != NULL) {
		pyro_fail(&st, PYRO_E_EXISTS, "service \"%s\" is already "
		    "running; stop it first", name);
		goto fail;
	}
	if (old == NULL && w->nservices >= WS_SERVICES_MAX) {
		pyro_fail(&st, PYRO_E_LIMIT_EXCEEDED, "a workspace has at most "
		    "%d services", WS_SERVICES_MAX);
		goto fail;
	}
	if (argv != NULL && (!cJSON_IsArray(argv) ||
	    (n = cJSON_GetArraySize(argv)) < 1 || n > 1000)) {
		pyro_fail(&st, PYRO_E_INVALID_ARGUMENT, "argument \"argv\" must "
		    "be an array of 1 to 1000 strings");
		goto fail;
	}
	if (ws_secret_env(w, cJSON_GetObjectItemCaseSensitive(args,
	    "secret_env"), &env, &envc, &st) < 0)
		goto fail;
	if ((av = calloc((size_t)n + 8, sizeof(*av))) == NULL) {
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	av[0] = "/bin/sh";
	av[1] = "-c";
	av[2] = SERVICE_SH;
	av[3] = name;
	if (command != NULL) {
		av[4] = "/bin/sh";
		av[5] = "-c";
		av[6] = command;
		len += strlen(command);
	} else {
		k = 4;
		cJSON_ArrayForEach(it, argv) {
			if (!cJSON_IsString(it)) {
				pyro_fail(&st, PYRO_E_INVALID_ARGUMENT,
				    "argument \"argv\" must hold strings");
				goto fail;
			}
			av[k++] = it->valuestring;
			len += strlen(it->valuestring) + 1;
		}
	}
	if ((v->command = malloc(len + 1)) != NULL) {
		v->command[0] = '\0';
		if (command != NULL)
			strcat(v->command, command);
		else
			for (k = 4; av[k] != NULL; k++) {
				if (k > 4)
					strcat(v->command, " ");
				strcat(v->command, av[k]);
			}
		{
			char *red = ws_redact_str(w, v->command);

			free(v->command);
			v->command = red;
		}
	}
	pyro_strlcpy(v->name, name, sizeof(v->name));
	if (old != NULL)
		v->restarts = old->restarts + 1;
	if ((j = wjob_new(w, SINK_DROP, service_done, v)) == NULL) {
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (wjob_start(j, av, 0, env, envc, v->cwd, 0, 0, -1, 0, 0, &st) < 0)
		goto fail;
	if (old != NULL) {
		LIST_REMOVE(old, entry);
		service_free(old);
		w->nservices--;
	}
	v->job = j;
	v->interval_ms = (unsigned)interval;
	v->ready_deadline = now_ms() + tmo * 1000;
	iso_time(v->started_at, sizeof(v->started_at), time(NULL));
	LIST_INSERT_HEAD(&w->services, v, entry);
	w->nservices++;
	free(av);
	ws_free_env(env, envc);
	ws_event(w, "service_started", v->name);
	if (strcmp(v->ready_kind, "none") == 0) {
		service_set(v, "ready", "no readiness check: ready once "
		    "started");
		ctl_reply_ok(rq, service_json(w, v));
		return;
	}
	service_set(v, "starting", NULL);
	v->rq = rq;
	rq->ctx = v;
	rq->cancel = service_cancel;
	probe_tick(v);
	return;
fail:
	free(av);
	ws_free_env(env, envc);
	free(v->ready_arg);
	free(v->command);
	free(v);
	ctl_reply_status(rq, &st);
}

static struct service *
service_or_reply(struct request *rq, const cJSON *args, struct ws **wp,
    int running)
{
	struct pyro_status	 st;
	const char		*name;
	struct service		*v;

	if ((*wp = running ? ws_running_or_reply(rq, args) :
	    ws_host_or_reply(rq, args)) == NULL)
		return NULL;
	if (arg_string(args, "service_name", 1, 200, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((v = service_find(*wp, name)) == NULL) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "service \"%.64s\"", (*wp)->rec->id, name);
		return NULL;
	}
	return v;
}

void
op_service_list(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	cJSON		*res;

	if ((w = ws_host_or_reply(rq, args)) == NULL)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	cJSON_AddItemToObject(res, "services", services_json(w));
	ctl_reply_ok(rq, res);
}

void
op_service_status(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	struct service	*v;

	if ((v = service_or_reply(rq, args, &w, 0)) != NULL)
		ctl_reply_ok(rq, service_json(w, v));
}

static void
service_kill(void *arg)
{
	struct service	*v = arg;

	v->kill_timer = NULL;
	if (v->job != NULL)
		wjob_kill(v->job);
}

void
op_service_stop(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	struct service	*v;

	if ((v = service_or_reply(rq, args, &w, 1)) == NULL)
		return;
	if (v->job == NULL) {
		ctl_reply_ok(rq, service_json(w, v));	/* not running */
		return;
	}
	if (v->rq != NULL) {
		ctl_reply_err(rq, PYRO_E_BUSY, "service \"%s\" is busy "
		    "starting or stopping", v->name);
		return;
	}
	service_set(v, "stopping", NULL);
	timer_cancel(v->timer);
	v->timer = NULL;
	v->rq = rq;
	rq->ctx = v;
	rq->cancel = service_cancel;
	wjob_signal(v->job, SIGTERM);
	v->kill_timer = timer_add(SERVICE_STOP_GRACE_MS, service_kill, v);
}

static void
logs_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	char		*text;
	cJSON		*res;

	if (rq != NULL) {
		rq->cancel = NULL;
		if (x == NULL)
			ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
			    "workspace stopped");
		else {
			text = utf8_sanitize(j->out.p ? j->out.p :
			    (const uint8_t *)"", j->out.len);
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    j->w->rec->id);
			cJSON_AddStringToObject(res, "service_name", j->arg);
			cJSON_AddStringToObject(res, "logs", text ? text : "");
			cJSON_AddBoolToObject(res, "truncated",
			    j->out.truncated);
			free(text);
			ctl_reply_ok(rq, res);
		}
	}
	free(j->arg);
	wjob_free(j);
}

static void
logs_cancel(struct request *rq)
{
	struct wjob	*j = rq->ctx;

	j->rq = NULL;
}

void
op_service_logs(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct service		*v;
	struct wjob		*j;
	long long		 tail = 200;
	char			 n[24], path[128], *name;
	const char		*argv[] = { "tail", "-n", n, "--", path, NULL };

	if ((v = service_or_reply(rq, args, &w, 1)) == NULL)
		return;
	if (arg_int(args, "tail_lines", 0, 1, LOG_TAIL_MAX, &tail, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	snprintf(n, sizeof(n), "%lld", tail);
	snprintf(path, sizeof(path), "/run/pyro/services/%s.log", v->name);
	if ((name = strdup(v->name)) == NULL ||
	    (j = wjob_new(w, SINK_BUFFER, logs_done, name)) == NULL) {
		free(name);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = 4 * 1024 * 1024;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = logs_cancel;
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, 30, -1, 0, 0, &st) < 0) {
		rq->cancel = NULL;
		free(name);
		ctl_reply_status(rq, &st);
	}
}
