/*
 * Guest commands (see job.h).  Output arrives from the VM's helper through
 * the stream callbacks vmi_exec() bound to the job, is redacted with the
 * owner's secrets (common/redact.c: text gets "[REDACTED]", archives are
 * masked byte for byte; one redactor over stdout and stderr in arrival
 * order, so a value split between them is caught), and goes to the sink.
 *
 * Backpressure: past CTL_OUTPUT_HIGH bytes queued for the job's client,
 * pyrod stops reading this VM's helper, the helper stops reading the guest
 * channel, and the writing process in the guest blocks, until the client
 * catches up.  Deadline: the agent kills a command at its timeout; JOB_GRACE
 * later the host ends the job as timed out, for a guest that does not.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "guestproto.h"
#include "guestsh.h"
#include "job.h"
#include "log.h"

#define JOB_GRACE_MS	10000
/*
 * Output waiting for the redactor, per job.  The redactor's work grows
 * with what it holds back, so a guest that sends its output a byte per
 * frame (behind a stalled partial match) must not cost a full pass per
 * byte: small chunks are gathered here (one stream at a time) and fed at
 * REDACT_CHUNK bytes, or at the end of this turn of the loop.
 */
#define REDACT_CHUNK	4096

static void	job_on_output(void *, int, const uint8_t *, size_t);
static void	job_on_started(void *, uint32_t);
static void	job_on_exit(void *, const struct pyro_msg_exec_exit *);

static const struct vmi_stream_ops job_stream_ops = {
	job_on_output, job_on_started, job_on_exit
};

struct job *
job_new(enum job_sink sink, const struct pyro_secrets *secrets,
    job_done_fn done, void *arg)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->sink = sink;
	j->secrets = secrets;
	j->done = done;
	j->arg = arg;
	j->fd = -1;
	if (secrets != NULL && (j->pend = malloc(REDACT_CHUNK)) == NULL) {
		free(j);
		return NULL;
	}
	pyro_redactor_init(&j->red, sink == JOB_FILE ? PYRO_REDACT_MASK :
	    PYRO_REDACT_TEXT);
	j->t0 = now_ms();
	return j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	timer_cancel(j->deadline);
	timer_cancel(j->pend_timer);
	if (j->pend != NULL)
		explicit_bzero(j->pend, REDACT_CHUNK);
	free(j->pend);
	/* j->rq: replied to (and freed) by the done callback, or detached;
	 * its drain callback was cleared when the job ended. */
	if (j->fd >= 0)
		close(j->fd);
	free(j->out.p);
	free(j->err.p);
	pyro_redactor_free(&j->red);
	free(j);
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
	struct job	*j = arg;

	if (j->v != NULL)
		vmi_pause(j->v, 0);
}

static void
send_client(struct job *j, int which, const uint8_t *p, size_t n)
{
	if (j->rq == NULL)
		return;
	/* The client's pace: past the mark, stop reading this VM. */
	if (ctl_event_data(j->rq, which == 1 ? "stdout" : "stderr", p, n) >
	    CTL_OUTPUT_HIGH && j->rq != NULL && j->v != NULL) {
		vmi_pause(j->v, 1);
		ctl_on_drain(j->rq, client_resume, j);
	}
}

/* Redacted bytes of one stream, to the sink. */
static void
deliver(void *arg, int which, const uint8_t *p, size_t n)
{
	struct job	*j = arg;

	if (which == 2 && (j->err_to_buffer || j->sink == JOB_FILE)) {
		obuf_add(&j->err, p, n);
		return;
	}
	switch (j->sink) {
	case JOB_DROP:
		break;
	case JOB_CLIENT:
		send_client(j, which, p, n);
		break;
	case JOB_BUFFER:
		obuf_add(which == 1 ? &j->out : &j->err, p, n);
		break;
	case JOB_FILE:
		if (which == 1 && j->fd >= 0 && j->file_error == 0 &&
		    pyro_write_all(j->fd, p, n) < 0)
			j->file_error = errno ? errno : EIO;
		break;
	case JOB_CALLBACK:
		if (j->on_data != NULL)
			j->on_data(j, p, n);
		break;
	}
}

/* Feed what was gathered to the redactor (and on to the sink). */
static void
pending_flush(struct job *j)
{
	timer_cancel(j->pend_timer);
	j->pend_timer = NULL;
	if (j->npend == 0)
		return;
	/* On no memory the chunk is dropped, never passed on unredacted. */
	(void)pyro_redact_feed(&j->red, j->secrets, j->pend_which, j->pend,
	    j->npend, deliver, j);
	j->npend = 0;
}

static void
pending_timer(void *arg)
{
	struct job	*j = arg;

	j->pend_timer = NULL;
	pending_flush(j);
}

static void
job_on_output(void *arg, int which, const uint8_t *p, size_t n)
{
	struct job	*j = arg;
	size_t		 k;

	if (j->finished)
		return;
	if (j->secrets == NULL || j->secrets->n == 0) {
		deliver(j, which, p, n);
		return;
	}
	if (j->npend > 0 && which != j->pend_which)
		pending_flush(j);	/* arrival order across streams */
	while (n > 0) {
		k = REDACT_CHUNK - j->npend < n ? REDACT_CHUNK - j->npend : n;
		memcpy(j->pend + j->npend, p, k);
		j->npend += k;
		j->pend_which = which;
		p += k;
		n -= k;
		if (j->npend == REDACT_CHUNK)
			pending_flush(j);
	}
	if (j->npend > 0 && j->pend_timer == NULL)
		j->pend_timer = timer_add(0, pending_timer, j);
}

static void
job_on_started(void *arg, uint32_t pid)
{
	struct job	*j = arg;

	j->pid = pid;
	if (j->rq != NULL)
		test_point(j->rq->op, "started");
}

/* The command ended (x) or its VM went away (x NULL): exactly once. */
static void
job_end(struct job *j, const struct pyro_msg_exec_exit *x)
{
	if (j->finished)
		return;
	j->finished = 1;
	timer_cancel(j->deadline);
	j->deadline = NULL;
	pending_flush(j);
	if (j->secrets != NULL && pyro_redactor_held(&j->red) > 0)
		(void)pyro_redact_flush(&j->red, j->secrets, deliver, j);
	if (j->rq != NULL)
		ctl_clear_drain(j->rq, j);
	/* Ended by the host (deadline): the stream's end is not ours now. */
	if (j->v != NULL && j->stream != 0)
		vmi_forget(j->v, j->stream);
	if (x == NULL)
		j->v = NULL;
	j->done(j, x);
}

static void
job_on_exit(void *arg, const struct pyro_msg_exec_exit *x)
{
	struct job	*j = arg;

	j->stream = 0;		/* the VM forgot it */
	job_end(j, x);
}

/* The host's deadline: the guest did not end the command in time. */
static void
job_deadline(void *arg)
{
	struct job			*j = arg;
	struct pyro_msg_exec_exit	 x;

	j->deadline = NULL;
	log_warnx("the guest did not end a command (stream %u) in time",
	    j->stream);
	job_kill(j);
	memset(&x, 0, sizeof(x));
	x.stream = j->stream;
	x.exit_code = -1;
	x.timed_out = 1;
	job_end(j, &x);
}

/* ---- start, signals ---- */

int
job_start(struct job *j, struct vmi *v, const struct job_cmd *c,
    int stdin_fd, struct pyro_status *st)
{
	struct gp_exec	g;
	size_t		len = sizeof(g) + 4 + strlen(c->cwd) + 1;
	int		n = 0, e = 0;

	for (n = 0; c->argv[n] != NULL; n++)
		len += strlen(c->argv[n]) + 1;
	for (e = 0; c->env != NULL && c->env[e] != NULL; e++)
		len += strlen(c->env[e]) + 1;
	if (n == 0 || n + e > GP_ARGS_MAX || len > PYRO_MSG_MAXPAYLOAD) {
		job_free(j);
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "the command line "
		    "and its environment exceed %d bytes",
		    PYRO_MSG_MAXPAYLOAD - 64);
	}
	memset(&g, 0, sizeof(g));
	g.timeout_ms = (uint32_t)c->timeout_s * 1000;
	g.flags = c->flags | (c->shell ? GP_EXEC_SHELL : 0) |
	    (stdin_fd >= 0 ? GP_EXEC_STDIN : 0);
	g.cols = (uint16_t)c->cols;
	g.rows = (uint16_t)c->rows;
	j->v = v;
	j->stream = v == NULL ? 0 : vmi_exec(v, &g, c->cwd, c->argv, c->env,
	    stdin_fd, &job_stream_ops, j);
	if (j->stream == 0) {
		job_free(j);
		return pyro_fail(st, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
		    "workspace's VM is not running");
	}
	j->started = 1;
	j->timeout_s = c->timeout_s;
	if (c->timeout_s > 0)
		j->deadline = timer_add((long long)c->timeout_s * 1000 +
		    JOB_GRACE_MS, job_deadline, j);
	return 0;
}

void
job_kill(struct job *j)
{
	if (j->v != NULL && j->stream != 0 && !j->finished)
		vmi_kill_exec(j->v, j->stream);
}

void
job_signal(struct job *j, int signo)
{
	if (j->v != NULL && j->stream != 0 && !j->finished)
		vmi_signal(j->v, j->stream, signo);
}

void
job_detach(struct job *j)
{
	if (j->rq != NULL)
		ctl_clear_drain(j->rq, j);
	j->rq = NULL;
}

char *
job_err_text(const struct job *j, size_t max)
{
	char	*err, *nl;

	if (j->err.len == 0)
		return NULL;
	err = utf8_sanitize(j->err.p, j->err.len > max ? max : j->err.len);
	if (err != NULL && (nl = strrchr(err, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	return err;
}

void
job_reply_failed(struct request *rq, struct job *j,
    const struct pyro_msg_exec_exit *x, const char *what)
{
	char		*err = job_err_text(j, 300);
	enum pyro_err	 why = x != NULL ? gs_refusal(x->exit_code) :
			    PYRO_E__MAX;

	if (x == NULL)
		ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "the workspace "
		    "stopped during the %s", what);
	else if (x->timed_out)
		ctl_reply_err(rq, PYRO_E_TIMEOUT, "the %s took longer than "
		    "%d s", what, j->timeout_s);
	else if (why == PYRO_E_INVALID_PATH)
		ctl_reply_err(rq, why, "%s", err ? err :
		    "the path leads outside /workspace");
	else if (why == PYRO_E_NOT_FOUND)
		ctl_reply_err(rq, why, "%s", err ? err :
		    "no such path in the workspace");
	else
		ctl_reply_err(rq, PYRO_E_IO, "the %s failed in the guest: %s",
		    what, err ? err : "no message");
	free(err);
}
