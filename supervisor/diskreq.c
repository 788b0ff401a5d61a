/*
 * One disk request: a pyro-diskhelper spawned for it, the image's fd (and
 * an output fd for an export) passed in, the answers checked and handed to
 * the caller's callbacks, the helper gone at the end.  The image is opened
 * here, read-only unless the request is a scrub.
 *
 * Trust: the diskhelper parses a guest-written image, so it is treated as
 * compromised-on-arrival: every entry it sends is checked (lengths inside
 * the message, no NUL or '/' in a name component, no "..", sizes bounded)
 * before it becomes JSON, and a helper that sends anything else is killed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskreq.h"
#include "log.h"
#include "path.h"

#define DISK_DEADLINE_MS	(10 * 60 * 1000)

struct dreq {
	struct helper			*h;
	int				 image, out;
	struct pyro_msg_disk_request	 q;
	const struct dreq_ops		*ops;
	void				*arg;
	int				 done;
	struct pyro_status		 err;
	struct pyro_msg_disk_done	 result;
	struct timer			*timer;
	/* Secret values for the helper's mask redactor (copies, owned). */
	uint8_t				*secret[PYRO_SECRETS_MAX];
	size_t				 secret_len[PYRO_SECRETS_MAX];
	int				 nsecrets;
	int				 secrets_failed;
};

static void
dreq_free(struct dreq *d)
{
	int	i;

	for (i = 0; i < d->nsecrets; i++) {
		explicit_bzero(d->secret[i], d->secret_len[i]);
		free(d->secret[i]);
	}
	timer_cancel(d->timer);
	if (d->image >= 0)
		close(d->image);
	if (d->out >= 0)
		close(d->out);
	free(d);
}

/* A path the diskhelper sent: relative, no empty, "." or ".." parts. */
static int
rec_path_ok(const char *p, size_t n)
{
	size_t	i, start = 0;

	if (n == 0 || p[0] == '/' || memchr(p, '\0', n) != NULL)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			size_t k = i - start;

			if (k == 0 || (k == 1 && p[start] == '.') ||
			    (k == 2 && p[start] == '.' && p[start + 1] == '.'))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

static int
parse_entries(struct dreq *d, const uint8_t *p, size_t len)
{
	struct pyro_disk_rec	 r;
	struct disk_entry	 e;
	char			 path[4096], target[4096];
	size_t			 off = 0;

	while (off < len) {
		if (len - off < sizeof(r))
			return -1;
		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.path_len == 0 || r.path_len > 4095 ||
		    r.target_len > 4095 ||
		    len - off < (size_t)r.path_len + r.target_len)
			return -1;
		memcpy(path, p + off, r.path_len);
		path[r.path_len] = '\0';
		memcpy(target, p + off + r.path_len, r.target_len);
		target[r.target_len] = '\0';
		off += (size_t)r.path_len + r.target_len;
		if (!rec_path_ok(path, r.path_len) ||
		    memchr(target, '\0', r.target_len) != NULL)
			return -1;
		memset(&e, 0, sizeof(e));
		e.ino = r.ino;
		e.mode = r.mode;
		e.uid = r.uid;
		e.gid = r.gid;
		e.nlink = r.nlink;
		e.size = r.size;
		e.mtime = r.mtime;
		e.path = path;
		e.target = target;
		if (d->ops->on_entry)
			d->ops->on_entry(&e, d->arg);
	}
	return 0;
}

static void
dreq_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct dreq	*d = arg;

	switch (m->hdr.type) {
	case PYRO_MSG_DISK_ENTRIES:
		if (d->q.op != DISK_LIST || d->done ||
		    parse_entries(d, m->payload, m->hdr.len) < 0)
			helper_kill(h, "sent malformed entries");
		return;
	case PYRO_MSG_DISK_DATA:
		if (d->q.op != DISK_READ || d->done) {
			helper_kill(h, "sent unexpected data");
			return;
		}
		if (d->ops->on_data)
			d->ops->on_data(m->payload, m->hdr.len, d->arg);
		return;
	case PYRO_MSG_DISK_DONE:
		if (d->done) {
			helper_kill(h, "answered twice");
			return;
		}
		memcpy(&d->result, m->payload, sizeof(d->result));
		d->done = 1;
		helper_shutdown(h);
		return;
	case PYRO_MSG_ERROR: {
		const struct pyro_msg_error *e = (const void *)m->payload;

		if (d->done)
			return;
		d->err.code = (e->err > 0 && e->err < PYRO_E__MAX) ?
		    (enum pyro_err)e->err : PYRO_E_DISK_CORRUPT;
		snprintf(d->err.message, sizeof(d->err.message), "%s",
		    e->message);
		d->done = 1;
		helper_shutdown(h);
		return;
	}
	default:
		helper_kill(h, "sent an unexpected message");
	}
}

static void
dreq_ready(struct helper *h, void *arg)
{
	struct dreq	*d = arg;
	uint32_t	 zero = 0;
	int		 i, rc = 0;

	/* The secrets go before the request they apply to. */
	for (i = 0; i < d->nsecrets && rc == 0; i++)
		rc = helper_send(h, PYRO_MSG_DISK_SECRET, d->secret[i],
		    d->secret_len[i], -1);
	if (d->secrets_failed) {
		helper_kill(h, "was not given the secrets to mask");
		return;
	}
	if (rc < 0 || (d->out >= 0 && helper_send(h, PYRO_MSG_DISK_OUTPUT,
	    &zero, sizeof(zero), d->out) < 0) ||
	    helper_send(h, PYRO_MSG_DISK_REQUEST, &d->q, sizeof(d->q),
	    d->image) < 0) {
		/* It never read the disk: its end says nothing of the image. */
		pyro_fail(&d->err, PYRO_E_HELPER_FAILED, "pyro-diskhelper "
		    "ended before it was given the request; try again");
		d->done = 1;
		helper_kill(h, "cannot pass the request");
		return;
	}
	/* The helper holds them now. */
	close(d->image);
	d->image = -1;
	if (d->out >= 0)
		close(d->out);
	d->out = -1;
}

static void
dreq_exit(struct helper *h, const char *why, void *arg)
{
	struct dreq		*d = arg;
	struct pyro_status	 st;

	d->h = NULL;
	/*
	 * A crash while it parsed the image points at the image; a kill
	 * (SIGKILL: an operator, the OOM killer) says nothing about it.
	 */
	if (!d->done && strstr(why, "signal 9 ") != NULL)
		pyro_fail(&st, PYRO_E_HELPER_FAILED, "pyro-diskhelper %s while "
		    "reading the disk; try again", why);
	else if (!d->done)
		pyro_fail(&st, PYRO_E_DISK_CORRUPT, "pyro-diskhelper %s while "
		    "reading the disk; the image may be damaged", why);
	else
		st = d->err;
	d->ops->on_done(d->done && d->err.code == PYRO_OK ? NULL : &st,
	    &d->result, d->arg);
	dreq_free(d);
}

static const struct helper_ops dreq_helper_ops = {
	dreq_msg, dreq_ready, dreq_exit
};

static void
dreq_deadline(void *arg)
{
	struct dreq	*d = arg;

	d->timer = NULL;
	if (d->h != NULL)
		helper_kill(d->h, "ran out of time");
}

struct dreq *
dreq_start(struct record *rec, enum pyro_disk_op op, const char *path,
    uint32_t flags, uint64_t max_bytes, int out_fd,
    const struct dreq_ops *ops, void *arg, struct pyro_status *st)
{
	struct dreq	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		if (out_fd >= 0)
			close(out_fd);
		pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
		return NULL;
	}
	d->out = out_fd;
	d->q.op = op;
	d->q.flags = flags;
	d->q.max_bytes = max_bytes;
	pyro_strlcpy(d->q.path, path ? path : "", sizeof(d->q.path));
	d->ops = ops;
	d->arg = arg;
	d->image = store_openat(rec, "rootfs.ext4", op == DISK_SCRUB ?
	    O_RDWR : O_RDONLY, 0);
	if (d->image < 0) {
		int e = -d->image;

		d->image = -1;
		dreq_free(d);
		pyro_fail(st, e == ENOENT ? PYRO_E_NOT_FOUND : PYRO_E_IO,
		    "the workspace has no disk to read (%s)", strerror(e));
		return NULL;
	}
	d->timer = timer_add(DISK_DEADLINE_MS, dreq_deadline, d);
	if ((d->h = helper_spawn(HELPER_DISK, rec->id, &dreq_helper_ops,
	    d)) == NULL) {
		dreq_free(d);
		pyro_fail(st, PYRO_E_HELPER_FAILED, "cannot start "
		    "pyro-diskhelper");
		return NULL;
	}
	return d;
}

void
dreq_pause(struct dreq *d, int paused)
{
	if (d->h != NULL)
		helper_pause(d->h, paused);
}

int
dreq_set_secrets(struct dreq *d, const struct pyro_secrets *s)
{
	int	i;

	for (i = 0; i < s->n && d->nsecrets < PYRO_SECRETS_MAX; i++) {
		if (s->len[i] == 0 || s->len[i] > PYRO_MSG_MAXPAYLOAD ||
		    (d->secret[d->nsecrets] = malloc(s->len[i])) == NULL) {
			/* Cannot pass it: the request fails, never leaks. */
			d->secrets_failed = 1;
			return -1;
		}
		memcpy(d->secret[d->nsecrets], s->val[i], s->len[i]);
		d->secret_len[d->nsecrets++] = s->len[i];
	}
	return 0;
}
