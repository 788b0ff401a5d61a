/*
 * PTY shells of a running workspace.  A shell is one long-lived job on a
 * guest PTY: what the client writes goes through a pipe pyrod holds (the
 * vmhelper feeds it to the agent under the stdin window), what the
 * terminal prints is kept here as scrollback with absolute cursors,
 * redacted before it is stored.  Reads never block.  A shell ends with its
 * job: when it exits (kept, "exited") or when the VM goes (removed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestproto.h"
#include "path.h"
#include "workspace.h"

#define SHELL_SCROLLBACK	(1024 * 1024)
#define SHELL_READ_MAX		(1024 * 1024)

struct shell {
	LIST_ENTRY(shell)	 entry;
	struct ws		*w;
	char			 id[17];
	struct job		*job;		/* NULL once it exited */
	int			 in;		/* our end of its stdin pipe */
	uint8_t			*buf;		/* scrollback, redacted */
	size_t			 len;
	uint64_t		 base;		/* cursor of buf[0] */
	char			 cwd[256];
	int			 exited;
	int			 exit_code;
	unsigned		 cols, rows;
	char			 opened_at[32];
};

static void	shell_free(struct ws *, struct shell *);

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
		job_kill(s->job);
	}
	if (s->in >= 0)
		close(s->in);
	free(s->buf);
	free(s);
}

static void
shell_output(struct job *j, const uint8_t *p, size_t n)
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
shell_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct shell	*s = j->arg;

	if (s != NULL && x == NULL) {
		/* The VM went away: the shell goes with it. */
		s->job = NULL;
		job_free(j);
		shell_free(s->w, s);
		return;
	}
	if (s != NULL) {
		s->job = NULL;
		s->exited = 1;
		s->exit_code = x != NULL ? x->exit_code : -1;
		if (s->in >= 0)
			close(s->in);
		s->in = -1;
	}
	job_free(j);
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

/* ---- the part: status, the record's removal ---- */

static void
shells_status(struct ws *w, cJSON *o)
{
	cJSON		*arr = cJSON_AddArrayToObject(o, "shells");
	struct shell	*s;

	LIST_FOREACH(s, &w->shells, entry)
		cJSON_AddItemToArray(arr, shell_json(w, s));
}

static void
shells_free(struct ws *w)
{
	struct shell	*s;

	while ((s = LIST_FIRST(&w->shells)) != NULL)
		shell_free(w, s);
}

static const struct ws_part shell_part = {
	"shells", shells_free, shells_status
};

void
shell_init(void)
{
	ws_part_add(&shell_part);
}

void
op_shell_open(struct request *rq, const cJSON *args)
{
	static const char	*argv[] = { "/bin/bash", "-i", NULL };
	struct pyro_status	 st;
	struct ws		*w = rq->obj;
	struct shell		*s;
	struct job		*j;
	char			**env = NULL;
	long long		 cols = 120, rows = 30;
	int			 envc = 0, p[2];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	s->in = -1;
	s->w = w;
	if (arg_guest_cwd(args, s->cwd, sizeof(s->cwd), &st) < 0 ||
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
	if ((j = ws_job(w, JOB_CALLBACK, shell_done, s)) == NULL) {
		close(p[0]);
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	j->on_data = shell_output;
	if (job_start(j, w->v, &(struct job_cmd){ argv, 0,
	    (const char *const *)env, s->cwd, GP_EXEC_PTY, 0, s->cols,
	    s->rows }, p[0], &st) < 0) {
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

	*wp = rq->obj;
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
		job_signal(s->job, sig);
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
