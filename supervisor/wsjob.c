/*
 * Guest commands run for a workspace.  Every exec, transfer, diff, probe,
 * shell and service is one job on one stream of the workspace's VM; the
 * job says where its output goes (the client, a bounded buffer, a file in
 * the state dir, a shell's scrollback) and what happens when it ends.
 *
 * Secrets never leave through a job: text output is redacted (each secret
 * value becomes "[REDACTED]"), archive streams are masked byte for byte
 * (each byte of a value becomes '*', so tar sizes and checksums of the
 * members' data stay valid).  A value split across two chunks is caught:
 * the redactor holds back the tail that could still start a match.
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
	j->red[0].mask = j->red[1].mask = (sink == SINK_FILE);
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
	free(j->red[0].carry);
	free(j->red[1].carry);
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

/* ---- redaction ---- */

/* Does a secret start at buf[i] (wholly inside buf)?  Its length or 0. */
static size_t
match_at(struct ws *w, const uint8_t *buf, size_t len, size_t i)
{
	int	k;

	for (k = 0; k < w->nsecrets; k++) {
		size_t n = w->secret_len[k];

		if (n > 0 && n <= len - i && buf[i] == w->secret_val[k][0] &&
		    memcmp(buf + i, w->secret_val[k], n) == 0)
			return n;
	}
	return 0;
}

/*
 * Redact buf[0..len) into a new buffer; positions from `limit` on are not
 * scanned and their bytes are returned through *rest (a partial match may
 * start there).  Returns the output (malloc'd) and its length in *outlen.
 */
static uint8_t *
redact_span(struct ws *w, const uint8_t *buf, size_t len, size_t limit,
    int mask, size_t *outlen, size_t *rest)
{
	size_t	 i = 0, o = 0, n, cap = len + 16;
	uint8_t	*out = malloc(cap), *q;

	if (out == NULL)
		return NULL;
	while (i < limit) {
		n = match_at(w, buf, len, i);
		if (n == 0) {
			out[o++] = buf[i++];
			continue;
		}
		/* Room for the replacement and every byte still to come. */
		if (o + (mask ? n : sizeof(WS_REDACTED)) + (len - i - n) + 16 >
		    cap) {
			cap = 2 * (o + sizeof(WS_REDACTED) + n + len - i) + 16;
			if ((q = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = q;
		}
		if (mask)
			memset(out + o, '*', n);
		else
			memcpy(out + o, WS_REDACTED, sizeof(WS_REDACTED) - 1);
		o += mask ? n : sizeof(WS_REDACTED) - 1;
		i += n;
	}
	*outlen = o;
	*rest = i;
	return out;
}

uint8_t *
ws_redact(struct ws *w, const uint8_t *data, size_t len, int mask,
    size_t *outlen)
{
	size_t	rest;

	(void)ws_load_secrets(w);
	return redact_span(w, data, len, len, mask, outlen, &rest);
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

/*
 * Feed a chunk through the stream redactor; final flushes what it held.
 * Returns the bytes safe to pass on (malloc'd), or NULL on no memory.
 */
static uint8_t *
redact_feed(struct ws *w, struct redactor *r, const uint8_t *data,
    size_t len, int final, size_t *outlen)
{
	uint8_t	*buf, *out;
	size_t	 total = r->n + len, hold, limit, rest;

	(void)ws_load_secrets(w);
	if ((buf = malloc(total ? total : 1)) == NULL)
		return NULL;
	if (r->n)
		memcpy(buf, r->carry, r->n);
	if (len)
		memcpy(buf + r->n, data, len);
	hold = w->secret_maxlen > 1 ? w->secret_maxlen - 1 : 0;
	limit = final || total < hold ? (final ? total : 0) : total - hold;
	out = redact_span(w, buf, total, limit, r->mask, outlen, &rest);
	free(r->carry);
	r->carry = NULL;
	r->n = total - rest;
	if (r->n > 0 && (r->carry = malloc(r->n)) != NULL)
		memcpy(r->carry, buf + rest, r->n);
	else
		r->n = 0;
	free(buf);
	return out;
}

/* ---- UTF-8 ---- */

static size_t
utf8_len(const uint8_t *p, size_t n)
{
	size_t	k, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	c = k == 2 ? 0 : k == 3 ? (uint32_t)(p[0] & 0x0f) << 12 |
	    (uint32_t)(p[1] & 0x3f) << 6 : (uint32_t)(p[0] & 0x07) << 18 |
	    (uint32_t)(p[1] & 0x3f) << 12;
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return k;
}

char *
utf8_sanitize(const uint8_t *p, size_t len)
{
	char	*out = malloc(3 * len + 1);
	size_t	 i = 0, o = 0, k;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (p[i] == 0) {		/* JSON strings carry no NUL */
			i++;
			continue;
		}
		if ((k = utf8_len(p + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
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

void
wjob_output(struct wjob *j, int which, const uint8_t *data, size_t len)
{
	uint8_t	*r;
	size_t	 n;

	if (j->finished || which < 1 || which > 2)
		return;
	if ((r = redact_feed(j->w, &j->red[which - 1], data, len, 0,
	    &n)) == NULL)
		return;
	deliver(j, which, r, n);
	free(r);
}

static void
flush_redactors(struct wjob *j)
{
	uint8_t	*r;
	size_t	 n;
	int	 i;

	for (i = 0; i < 2; i++) {
		if (j->red[i].n == 0)
			continue;
		if ((r = redact_feed(j->w, &j->red[i], NULL, 0, 1,
		    &n)) != NULL) {
			deliver(j, i + 1, r, n);
			free(r);
		}
	}
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
