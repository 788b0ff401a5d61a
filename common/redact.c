/*
 * Secret redaction (see redact.h for the contract).
 *
 * The held-back bytes are kept in arrival order, each with a meta byte:
 * its stream and what is known of it.  Each feed appends the chunk, then
 * over every view (all streams in arrival order, and each stream alone)
 * marks every whole match, and marks as pending every byte of a tail that
 * is the start of a value (a later byte could complete it).  Then the
 * longest prefix of bytes that are not pending, or marked, goes out.
 *
 * Bytes go out in arrival order, so what a terminal shows is the view that
 * was searched: releasing one stream ahead of another would let a guest
 * compose a value on the screen from pieces that no view held whole.  The
 * cost: a stream stalled on the start of a value holds the other stream
 * back.  Past HOLD_MAX held bytes, such a stalled start is hidden as if it
 * matched (a few bytes redacted too many, never one too few).
 *
 * Every match is marked, not only the first one at a position: with the
 * values "pass" and "password", "password" must not leave "word" behind.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"

#define M_STREAM	0x03
#define M_PENDING	0x04	/* a later byte may complete a match over it */
#define M_START		0x08	/* text: the replacement goes out here */
#define M_CONT		0x10	/* covered by a match, dropped (text) */
#define M_MARKED	(M_START | M_CONT)

#define HOLD_MAX	(64 * 1024)
#define NOPOS		((size_t)-1)	/* a context byte: already out */
#define V_ALL		PYRO_REDACT_STREAMS	/* the arrival-order view */

#define REDACTED_LEN	(sizeof(PYRO_REDACTED) - 1)

int
pyro_secrets_add(struct pyro_secrets *s, const uint8_t *v, size_t len)
{
	if (len == 0)
		return 0;
	if (s->n >= PYRO_SECRETS_MAX)
		return -1;
	s->val[s->n] = v;
	s->len[s->n] = len;
	s->n++;
	if (len > s->maxlen)
		s->maxlen = len;
	return 0;
}

void
pyro_redactor_init(struct pyro_redactor *r, enum pyro_redact_mode mode)
{
	memset(r, 0, sizeof(*r));
	r->masked = mode == PYRO_REDACT_MASK ? ~0u : 0;
}

void
pyro_redactor_set_mode(struct pyro_redactor *r, int stream,
    enum pyro_redact_mode mode)
{
	unsigned	bit = 1u << (stream & M_STREAM);

	r->masked = mode == PYRO_REDACT_MASK ? r->masked | bit :
	    r->masked & ~bit;
}

void
pyro_redactor_free(struct pyro_redactor *r)
{
	int	i;

	if (r->c != NULL)
		explicit_bzero(r->c, r->cap);
	free(r->c);
	free(r->meta);
	for (i = 0; i <= V_ALL; i++)
		free(r->ctx[i]);
	memset(r, 0, sizeof(*r));
}

size_t
pyro_redactor_held(const struct pyro_redactor *r)
{
	return r->n;
}

static int
append(struct pyro_redactor *r, int stream, const uint8_t *p, size_t len)
{
	uint8_t	*c, *m;
	size_t	 cap;

	if (r->n + len > r->cap) {
		cap = r->cap ? r->cap : 256;
		while (cap < r->n + len)
			cap *= 2;
		/* A fresh buffer, so no copy of held bytes is left behind. */
		if ((c = malloc(cap)) == NULL)
			return -1;
		if ((m = realloc(r->meta, cap)) == NULL) {
			free(c);
			return -1;
		}
		if (r->n)
			memcpy(c, r->c, r->n);
		if (r->c != NULL)
			explicit_bzero(r->c, r->cap);
		free(r->c);
		r->c = c;
		r->meta = m;
		r->cap = cap;
	}
	memcpy(r->c + r->n, p, len);
	memset(r->meta + r->n, stream & M_STREAM, len);
	r->n += len;
	return 0;
}

/* Mark one match over held positions at[first..first + len); 1 if new. */
static int
mark_match(struct pyro_redactor *r, const size_t *at, size_t first,
    size_t len)
{
	size_t	i, p;
	int	any = 0, added = 0;

	for (i = 0; i < len; i++) {
		p = at ? at[first + i] : first + i;
		if (p != NOPOS && (r->meta[p] & M_MARKED))
			any = 1;
	}
	/* The first byte still held shows the replacement. */
	for (i = 0; i < len; i++) {
		p = at ? at[first + i] : first + i;
		if (p == NOPOS || (r->meta[p] & M_MARKED))
			continue;
		r->meta[p] |= !any ? M_START : M_CONT;
		any = added = 1;
	}
	return added;
}

/*
 * One segment vb[0..m) of a view (at maps it to held positions): mark
 * every whole value; when tail (the view's end), mark pending a tail that
 * starts one.  Returns whether a new mark was made.
 */
static int
mark_segment(struct pyro_redactor *r, const struct pyro_secrets *s,
    const uint8_t *vb, const size_t *at, size_t m, int tail)
{
	size_t	i, j, len;
	int	k, found = 0;

	for (i = 0; i < m; i++)
		for (k = 0; k < s->n; k++) {
			len = s->len[k];
			if (len == 0 || vb[i] != s->val[k][0])
				continue;
			if (len <= m - i) {
				if (memcmp(vb + i, s->val[k], len) == 0)
					found |= mark_match(r, at, i, len);
			} else if (tail &&
			    memcmp(vb + i, s->val[k], m - i) == 0) {
				for (j = i; j < m; j++)
					if (at[j] != NOPOS)
						r->meta[at[j]] |= M_PENDING;
			}
		}
	return found;
}

/*
 * One view v (a stream, or V_ALL), as it will show: the bytes already out
 * since the last replacement (its context), then the held ones, where a
 * text stream's dropped bytes are left out (what they separated is then
 * searched joined), and a replacement or a mask separates.
 */
static int
mark_view(struct pyro_redactor *r, const struct pyro_secrets *s, int v,
    uint8_t *vb, size_t *at, int final)
{
	size_t	i, m = 0, skip;
	int	st, found = 0;
	uint8_t	meta;
	unsigned streams = v == V_ALL ? ~0u : 1u << v;

	skip = r->ctxn[v] > r->ctxcap ? r->ctxn[v] - r->ctxcap : 0;
	for (i = skip; i < r->ctxn[v]; i++) {
		vb[m] = r->ctx[v][i];
		at[m++] = NOPOS;
	}
	for (i = 0; i < r->n; i++) {
		meta = r->meta[i];
		st = meta & M_STREAM;
		if (!(streams & (1u << st)))
			continue;
		if (!(meta & M_MARKED)) {
			vb[m] = r->c[i];
			at[m++] = i;
			continue;
		}
		if ((meta & M_CONT) && !(r->masked & (1u << st)))
			continue;			/* dropped */
		found |= mark_segment(r, s, vb, at, m, 0);
		m = 0;
	}
	found |= mark_segment(r, s, vb, at, m, !final);
	return found;
}

/*
 * Every view until no new match appears (a match drops bytes, which may
 * join others into a value): all streams in arrival order (a terminal),
 * then each stream alone (a stream redirected to a file).
 */
static int
mark_all(struct pyro_redactor *r, const struct pyro_secrets *s, int final)
{
	uint8_t		*vb;
	size_t		*at, i;
	unsigned	 present = 0;
	int		 st, found;

	if ((vb = malloc(r->n + r->ctxcap)) == NULL ||
	    (at = malloc((r->n + r->ctxcap) * sizeof(*at))) == NULL) {
		free(vb);
		return -1;
	}
	for (i = 0; i < r->n; i++)
		present |= 1u << (r->meta[i] & M_STREAM);
	do {
		for (i = 0; i < r->n; i++)
			r->meta[i] &= ~M_PENDING;
		found = mark_view(r, s, V_ALL, vb, at, final);
		for (st = 0; st < PYRO_REDACT_STREAMS; st++)
			if ((present & (1u << st)) || r->ctxn[st] > 0)
				found |= mark_view(r, s, st, vb, at, final);
	} while (found);
	explicit_bzero(vb, r->n + r->ctxcap);
	free(vb);
	free(at);
	return 0;
}

/* How many bytes may go: the prefix not waiting for a later byte. */
static size_t
releasable(const struct pyro_redactor *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if ((r->meta[i] & (M_PENDING | M_MARKED)) == M_PENDING)
			break;
	return i;
}

/*
 * Too much held behind a stalled start of a value: hide the pending bytes
 * except the last maxlen - 1 (those may still become a match whole),
 * one run per stream, as if they matched.
 */
static void
force(struct pyro_redactor *r, size_t maxlen)
{
	size_t	i, end = r->n > maxlen ? r->n - maxlen + 1 : 0, run;

	for (i = 0; i < end; i++) {
		if ((r->meta[i] & (M_PENDING | M_MARKED)) != M_PENDING)
			continue;
		for (run = i + 1; run < end && (r->meta[run] & M_STREAM) ==
		    (r->meta[i] & M_STREAM) &&
		    (r->meta[run] & (M_PENDING | M_MARKED)) == M_PENDING;
		    run++)
			;
		(void)mark_match(r, NULL, i, run - i);
		i = run - 1;
	}
}

/* Send out held[0..count), one run per stream change. */
static int
emit(struct pyro_redactor *r, size_t count, pyro_redact_out_fn fn,
    void *arg)
{
	uint8_t	*out, meta;
	size_t	 i, o = 0, run = 0, size = 0;
	int	 st = -1, text;

	for (i = 0; i < count; i++) {
		meta = r->meta[i];
		text = !(r->masked & (1u << (meta & M_STREAM)));
		size += !(meta & M_MARKED) || !text ? 1 :
		    (meta & M_START) ? REDACTED_LEN : 0;
	}
	if (size == 0)
		return 0;
	if ((out = malloc(size)) == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		meta = r->meta[i];
		if (st != (meta & M_STREAM)) {
			if (o > run)
				fn(arg, st, out + run, o - run);
			run = o;
			st = meta & M_STREAM;
		}
		text = !(r->masked & (1u << st));
		if (!(meta & M_MARKED))
			out[o++] = r->c[i];
		else if (!text)
			out[o++] = '*';
		else if (meta & M_START) {
			memcpy(out + o, PYRO_REDACTED, REDACTED_LEN);
			o += REDACTED_LEN;
		}
	}
	if (o > run)
		fn(arg, st, out + run, o - run);
	explicit_bzero(out, size);
	free(out);
	return 0;
}

/* Room for maxlen - 1 bytes of context per view. */
static int
ctx_size(struct pyro_redactor *r, size_t maxlen)
{
	size_t	cap = maxlen > 1 ? maxlen - 1 : 0;
	uint8_t	*p;
	int	v;

	if (cap <= r->ctxcap)
		return 0;
	for (v = 0; v <= V_ALL; v++) {
		if ((p = realloc(r->ctx[v], cap)) == NULL)
			return -1;
		r->ctx[v] = p;
	}
	r->ctxcap = cap;
	return 0;
}

/* Is held[i] in view v, and does it show as itself (not dropped)? */
static int
in_view(const struct pyro_redactor *r, int v, size_t i, int *sep)
{
	uint8_t	meta = r->meta[i];
	int	st = meta & M_STREAM;

	*sep = 0;
	if (v != V_ALL && st != v)
		return 0;
	if ((meta & M_CONT) && !(r->masked & (1u << st)))
		return 0;			/* dropped */
	*sep = (meta & M_MARKED) != 0;		/* a replacement or a mask */
	return !*sep;
}

/* What view v shows of held[0..count) joins its context. */
static void
ctx_update(struct pyro_redactor *r, int v, size_t count)
{
	size_t	i, start = 0, shown = 0, skip, excess;
	int	sep;

	if (r->ctxcap == 0)
		return;
	for (i = 0; i < count; i++) {
		if (in_view(r, v, i, &sep))
			shown++;
		else if (sep) {
			start = i + 1;
			shown = 0;
			r->ctxn[v] = 0;
		}
	}
	skip = shown > r->ctxcap ? shown - r->ctxcap : 0;
	if (skip > 0)
		r->ctxn[v] = 0;
	else if (r->ctxn[v] + shown > r->ctxcap) {
		excess = r->ctxn[v] + shown - r->ctxcap;
		memmove(r->ctx[v], r->ctx[v] + excess, r->ctxn[v] - excess);
		r->ctxn[v] -= excess;
	}
	for (i = start; i < count; i++) {
		if (!in_view(r, v, i, &sep))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		r->ctx[v][r->ctxn[v]++] = r->c[i];
	}
}

static int
process(struct pyro_redactor *r, const struct pyro_secrets *s, int final,
    pyro_redact_out_fn fn, void *arg)
{
	size_t	count;
	int	v;

	if (r->n == 0)
		return 0;
	if (ctx_size(r, s->maxlen) < 0 || mark_all(r, s, final) < 0)
		return -1;
	count = releasable(r);
	if (r->n - count > HOLD_MAX && r->n - count > 4 * s->maxlen) {
		force(r, s->maxlen);
		count = releasable(r);
	}
	if (emit(r, count, fn, arg) < 0)
		return -1;
	for (v = 0; v <= V_ALL; v++)
		ctx_update(r, v, count);
	memmove(r->c, r->c + count, r->n - count);
	memmove(r->meta, r->meta + count, r->n - count);
	explicit_bzero(r->c + r->n - count, count);
	r->n -= count;
	return 0;
}

int
pyro_redact_feed(struct pyro_redactor *r, const struct pyro_secrets *s,
    int stream, const uint8_t *p, size_t len, pyro_redact_out_fn fn,
    void *arg)
{
	if (s == NULL || s->n == 0) {
		/* Nothing to find; bytes held from before go first. */
		if (r->n > 0) {
			static const struct pyro_secrets none;

			if (process(r, &none, 1, fn, arg) < 0)
				return -1;
		}
		if (len > 0)
			fn(arg, stream & M_STREAM, p, len);
		return 0;
	}
	if (len > 0 && append(r, stream, p, len) < 0)
		return -1;
	return process(r, s, 0, fn, arg);
}

int
pyro_redact_flush(struct pyro_redactor *r, const struct pyro_secrets *s,
    pyro_redact_out_fn fn, void *arg)
{
	static const struct pyro_secrets none;

	return process(r, s != NULL ? s : &none, 1, fn, arg);
}

struct collect {
	uint8_t	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
collect_fn(void *arg, int stream, const uint8_t *p, size_t n)
{
	struct collect	*c = arg;
	uint8_t		*q;
	size_t		 cap;

	(void)stream;
	if (c->oom)
		return;
	if (c->len + n > c->cap) {
		cap = c->cap ? c->cap : 64;
		while (cap < c->len + n)
			cap *= 2;
		if ((q = realloc(c->p, cap)) == NULL) {
			c->oom = 1;
			return;
		}
		c->p = q;
		c->cap = cap;
	}
	memcpy(c->p + c->len, p, n);
	c->len += n;
}

uint8_t *
pyro_redact(const struct pyro_secrets *s, const uint8_t *p, size_t len,
    enum pyro_redact_mode mode, size_t *outlen)
{
	struct pyro_redactor	r;
	struct collect		c;

	memset(&c, 0, sizeof(c));
	pyro_redactor_init(&r, mode);
	if (pyro_redact_feed(&r, s, 1, p, len, collect_fn, &c) < 0 ||
	    pyro_redact_flush(&r, s, collect_fn, &c) < 0)
		c.oom = 1;
	pyro_redactor_free(&r);
	if (!c.oom && c.p == NULL)
		c.p = malloc(1);
	if (c.oom || c.p == NULL) {
		free(c.p);
		return NULL;
	}
	*outlen = c.len;
	return c.p;
}

void
pyro_redact_pwrite_fn(void *arg, int stream, const uint8_t *p, size_t n)
{
	struct pyro_redact_pwrite	*w = arg;
	ssize_t				 k;

	(void)stream;
	while (n > 0 && w->error == 0) {
		k = pwrite(w->fd, p, n, (off_t)w->off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->error = k < 0 ? errno : EIO;
			break;
		}
		p += k;
		n -= (size_t)k;
		w->off += k;
	}
	/* A failed write still moves the offset: later runs stay in place. */
	w->off += (int64_t)n;
}

/* ---- UTF-8 ---- */

