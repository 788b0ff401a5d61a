/*
 * Guest commands run for a workspace.  Every exec, transfer, diff, probe,
 * shell and service is one job on one stream of the workspace's VM; the
 * job says where its output goes (the client, a bounded buffer, a file in
 * the state dir, a shell's scrollback) and what happens when it ends.
 *
 * Secrets never leave through a job: text output is redacted (each secret
 * value becomes "[REDACTED]"), archive streams are masked byte for byte
 * (each byte of a value becomes '*', so tar sizes and checksums of the
 * members' data stay valid).  A value split across two chunks, or between
 * stdout and stderr, is caught: each job has one redactor over both of its
 * streams, which holds back the bytes that could still be part of a match
 * (common/redact.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "frame.h"
#include "guestproto.h"
#include "log.h"
#include "workspace.h"

#define JOB_GRACE_MS		10000

struct wjob *
wjob_new(struct ws *w, enum wjob_sink sink, wjob_done_fn done, void *arg)
{
	struct wjob	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->w = w;
	j->sink = sink;
	j->done = done;
	j->arg = arg;
	j->fd = -1;
	pyro_redactor_init(&j->red, sink == SINK_FILE ? PYRO_REDACT_MASK :
	    PYRO_REDACT_TEXT);
	j->t0 = now_ms();
	LIST_INSERT_HEAD(&w->jobs, j, entry);
	return j;
}

void
wjob_free(struct wjob *j)
{
	if (j == NULL)
		return;
	LIST_REMOVE(j, entry);
	timer_cancel(j->deadline);
	/* j->rq: replied to (and freed) by the done callback, or cleared. */
	if (j->fd >= 0)
		close(j->fd);
	free(j->out.p);
	free(j->err.p);
	pyro_redactor_free(&j->red);
	free(j);
}

struct wjob *
wjob_find(struct ws *w, uint32_t stream)
{
	struct wjob	*j;

	LIST_FOREACH(j, &w->jobs, entry)
		if (j->stream == stream && stream != 0)
			return j;
	return NULL;
}

/* ---- redaction (common/redact.c) ---- */

void
ws_secrets_view(struct ws *w, struct pyro_secrets *s)
{
	int	k;

	memset(s, 0, sizeof(*s));
	(void)ws_load_secrets(w);
	for (k = 0; k < w->nsecrets; k++)
		(void)pyro_secrets_add(s, w->secret_val[k], w->secret_len[k]);
}

uint8_t *
ws_redact(struct ws *w, const uint8_t *data, size_t len, int mask,
    size_t *outlen)
{
	struct pyro_secrets	s;

	ws_secrets_view(w, &s);
	return pyro_redact(&s, data, len, mask ? PYRO_REDACT_MASK :
	    PYRO_REDACT_TEXT, outlen);
}

char *
ws_redact_str(struct ws *w, const char *s)
{
	size_t	 n;
	uint8_t	*r = ws_redact(w, (const uint8_t *)s, strlen(s), 0, &n);
	char	*out;

	if (r == NULL)
		return NULL;
	out = utf8_sanitize(r, n);
	free(r);
	return out;
}

/* ---- output ---- */

static void
obuf_add(struct obuf *b, const uint8_t *p, size_t n)
{
	uint8_t	*q;
	size_t	 room = b->max > b->len ? b->max - b->len : 0;

	if (n > room) {
		b->truncated = 1;
		n = room;
	}
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->truncated = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
client_resume(void *arg)
{
	struct wjob	*j = arg;

	if (j->w->v != NULL)
		vmi_pause(j->w->v, 0);
}

static void
send_client(struct wjob *j, int which, const uint8_t *p, size_t n)
{
	if (j->rq == NULL)
		return;
	/* The client's pace: past the mark, stop reading this VM. */
	if (ctl_event_data(j->rq, which == 1 ? "stdout" : "stderr", p, n) >
	    CTL_OUTPUT_HIGH && j->rq != NULL && j->w->v != NULL) {
		vmi_pause(j->w->v, 1);
		ctl_on_drain(j->rq, client_resume, j);
	}
}

static void
deliver(struct wjob *j, int which, const uint8_t *p, size_t n)
{
	if (which == 2 && (j->err_to_buffer || j->sink == SINK_FILE)) {
		obuf_add(&j->err, p, n);
		return;
	}
	switch (j->sink) {
	case SINK_DROP:
		break;
	case SINK_CLIENT:
		send_client(j, which, p, n);
		break;
	case SINK_BUFFER:
		obuf_add(which == 1 ? &j->out : &j->err, p, n);
		break;
	case SINK_FILE:
		if (which == 1 && j->fd >= 0 && j->file_error == 0 &&
		    pyro_write_all(j->fd, p, n) < 0)
			j->file_error = errno ? errno : EIO;
		break;
	case SINK_SHELL:
		shell_output(j, p, n);
		break;
	}
}

static void
deliver_fn(void *arg, int which, const uint8_t *p, size_t n)
{
	deliver(arg, which, p, n);
}

void
wjob_output(struct wjob *j, int which, const uint8_t *data, size_t len)
{
	struct pyro_secrets	s;

	if (j->finished || which < 1 || which > 2)
		return;
	ws_secrets_view(j->w, &s);
	/* On no memory the chunk is dropped, never passed on unredacted. */
	(void)pyro_redact_feed(&j->red, &s, which, data, len, deliver_fn, j);
}

static void
flush_redactors(struct wjob *j)
{
	struct pyro_secrets	s;

	if (pyro_redactor_held(&j->red) == 0)
		return;
	ws_secrets_view(j->w, &s);
	(void)pyro_redact_flush(&j->red, &s, deliver_fn, j);
}

/* The command ended (x) or its VM went away (x NULL): exactly once. */
void
wjob_exit(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	if (j->finished)
		return;
	j->finished = 1;
	timer_cancel(j->deadline);
	j->deadline = NULL;
	flush_redactors(j);
	j->done(j, x);
}

void
wjobs_gone(struct ws *w)
{
	struct wjob	*j, *next;

	for (j = LIST_FIRST(&w->jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		j->stream = 0;
		if (!j->finished)
			wjob_exit(j, NULL);
	}
}

/*
 * The agent kills a command at its timeout; this later deadline is for a
 * guest that does not answer: the job ends as timed out.
 */
static void
job_deadline(void *arg)
{
	struct wjob			*j = arg;
	struct pyro_msg_exec_exit	 x;

	j->deadline = NULL;
	log_warnx("workspace %s: the guest did not end a command in time",
	    j->w->rec->id);
	if (j->w->v != NULL)
		vmi_kill_exec(j->w->v, j->stream);
	memset(&x, 0, sizeof(x));
	x.stream = j->stream;
	x.exit_code = -1;
	x.timed_out = 1;
	wjob_exit(j, &x);
}

int
wjob_start(struct wjob *j, const char *const *argv, int shell,
    char *const *env, int envc, const char *cwd, uint32_t flags,
    int timeout_s, int stdin_fd, unsigned cols, unsigned rows,
    struct pyro_status *st)
{
	struct gp_exec	 g;
	size_t		 len = sizeof(g) + strlen(cwd) + 1, n;
	uint8_t		*p;
	int		 i, argc = 0;

	memset(&g, 0, sizeof(g));
	for (argc = 0; argv[argc] != NULL; argc++)
		len += strlen(argv[argc]) + 1;
	for (i = 0; i < envc; i++)
		len += strlen(env[i]) + 1;
	if (argc == 0 || argc + envc > GP_ARGS_MAX ||
	    len + 4 > PYRO_MSG_MAXPAYLOAD) {
		wjob_free(j);
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "the command line "
		    "and its environment exceed %d bytes",
		    PYRO_MSG_MAXPAYLOAD - 64);
	}
	g.timeout_ms = (uint32_t)timeout_s * 1000;
	g.argc = (uint32_t)argc;
	g.envc = (uint32_t)envc;
	g.flags = flags | (shell ? GP_EXEC_SHELL : 0) |
	    (stdin_fd >= 0 ? GP_EXEC_STDIN : 0);
	g.cols = (uint16_t)cols;
	g.rows = (uint16_t)rows;
	if ((p = malloc(len)) == NULL) {
		wjob_free(j);
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	}
	memcpy(p, &g, sizeof(g));
	n = sizeof(g);
	memcpy(p + n, cwd, strlen(cwd) + 1);
	n += strlen(cwd) + 1;
	for (i = 0; i < argc; i++) {
		memcpy(p + n, argv[i], strlen(argv[i]) + 1);
		n += strlen(argv[i]) + 1;
	}
	for (i = 0; i < envc; i++) {
		memcpy(p + n, env[i], strlen(env[i]) + 1);
		n += strlen(env[i]) + 1;
	}
	j->stream = j->w->v != NULL ? vmi_exec(j->w->v, p, n, stdin_fd) : 0;
	free(p);
	if (j->stream == 0) {
		wjob_free(j);
		return pyro_fail(st, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
		    "workspace's VM is not running");
	}
	j->timeout_s = timeout_s;
	if (timeout_s > 0)
		j->deadline = timer_add((long long)timeout_s * 1000 +
		    JOB_GRACE_MS, job_deadline, j);
	return 0;
}

void
wjob_kill(struct wjob *j)
{
	if (j->w->v != NULL && j->stream != 0 && !j->finished)
		vmi_kill_exec(j->w->v, j->stream);
}

void
wjob_signal(struct wjob *j, int signo)
{
	if (j->w->v != NULL && j->stream != 0 && !j->finished)
		vmi_signal(j->w->v, j->stream, signo);
}
