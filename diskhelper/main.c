/*
 * pyro-diskhelper: offline inspection of stopped workspaces' ext4 disks.
 * Started by pyrod, one process per request, with its socket on fd 3.
 * The hello tells it which unprivileged uid to become; it sandboxes itself
 * before acknowledging, so pyrod never sends it work before the sandbox is
 * in place.  Then: at most one DISK_OUTPUT (the export's output fd), the
 * workspace's secret values (DISK_SECRET, one each), one DISK_REQUEST with
 * the image's fd, its answers, and exit.
 *
 * A read's content and an export's blocks pass through the mask redactor
 * (each byte of a secret value becomes '*', lengths and offsets kept), so
 * a guest that wrote a secret into a file cannot have pyro print it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errcode.h"
#include "ext4.h"
#include "helper.h"
#include "log.h"
#include "msg.h"
#include "redact.h"
#include "sandbox.h"

struct dh {
	int	 out_fd;	/* DISK_EXPORT's output, DISK_READ's if given */
	int	 out_closed;	/* the reader of out_fd went away */
	uint8_t	 buf[PYRO_MSG_MAXPAYLOAD];
	size_t	 len;
	int	 requested;	/* the DISK_REQUEST came: no more secrets */
	uint8_t	*secret[PYRO_SECRETS_MAX];	/* owned copies */
	struct pyro_secrets	sec;		/* views of them */
	struct pyro_redactor	red;		/* a read's content */
	int	 out_rc;	/* the first failed write of redacted data */
};

static int
flush_entries(struct dh *h)
{
	int	rc = 0;

	if (h->len > 0)
		rc = pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_DISK_ENTRIES, 0,
		    h->buf, h->len, -1);
	h->len = 0;
	return rc < 0 ? PYRO_E_IO : 0;
}

/* Pack one entry; full messages go out as they fill. */
static int
on_entry(const struct dk_entry *e, void *arg)
{
	struct dh		*h = arg;
	struct pyro_disk_rec	 r;
	size_t			 pl = strlen(e->path), tl = strlen(e->target);

	if (pl == 0 || pl > 4095 || tl > 4095)
		return PYRO_E_LIMIT_EXCEEDED;
	if (h->len + sizeof(r) + pl + tl > sizeof(h->buf) && flush_entries(h))
		return PYRO_E_IO;
	memset(&r, 0, sizeof(r));
	r.ino = e->ino;
	r.mode = e->mode;
	r.uid = e->uid;
	r.gid = e->gid;
	r.nlink = e->nlink;
	r.path_len = (uint16_t)pl;
	r.target_len = (uint16_t)tl;
	r.size = e->size;
	r.mtime = e->mtime;
	memcpy(h->buf + h->len, &r, sizeof(r));
	memcpy(h->buf + h->len + sizeof(r), e->path, pl);
	memcpy(h->buf + h->len + sizeof(r) + pl, e->target, tl);
	h->len += sizeof(r) + pl + tl;
	return 0;
}

/* File content: to the client's own fd when it gave one, else in messages. */
static int
write_data(struct dh *h, const uint8_t *b, size_t n)
{
	ssize_t		 w;
	size_t		 k;

	while (h->out_fd < 0 && n > 0) {
		k = n > PYRO_MSG_MAXPAYLOAD ? PYRO_MSG_MAXPAYLOAD : n;
		if (pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_DISK_DATA, 0, b, k,
		    -1) < 0)
			return PYRO_E_IO;
		b += k;
		n -= k;
	}
	while (n > 0) {
		w = write(h->out_fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			h->out_closed = 1;
			return PYRO_E_IO;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
redacted_out(void *arg, int stream, const uint8_t *p, size_t n)
{
	struct dh	*h = arg;

	(void)stream;
	if (h->out_rc == 0)
		h->out_rc = write_data(h, p, n);
}

/* Content through the mask redactor: it holds back a possible start of a
 * value until the next chunk (or the end, in flush_data). */
static int
on_data(const void *p, size_t n, void *arg)
{
	struct dh	*h = arg;

	if (h->sec.n == 0)
		return write_data(h, p, n);
	if (pyro_redact_feed(&h->red, &h->sec, 1, p, n, redacted_out, h) < 0)
		return PYRO_E_INTERNAL;
	return h->out_rc;
}

static int
flush_data(struct dh *h)
{
	if (pyro_redact_flush(&h->red, &h->sec, redacted_out, h) < 0)
		return PYRO_E_INTERNAL;
	return h->out_rc;
}

/* One secret value, kept until the request is done. */
static int
add_secret(struct dh *h, const struct pyro_msg *m)
{
	uint8_t	*v;

	if (h->requested || h->sec.n >= PYRO_SECRETS_MAX ||
	    (v = malloc(m->hdr.len)) == NULL) {
		log_warnx("unexpected or too many secrets");
		return -1;
	}
	memcpy(v, m->payload, m->hdr.len);
	h->secret[h->sec.n] = v;
	(void)pyro_secrets_add(&h->sec, v, m->hdr.len);
	return 0;
}

static int
do_request(struct dh *h, struct pyro_msg *m)
{
	struct pyro_msg_disk_request	 q;
	struct pyro_msg_disk_done	 done;
	struct dk			*d = NULL;
	char				 err[DK_ERR_MAX] = "";
	int				 rc;

	h->requested = 1;
	memcpy(&q, m->payload, sizeof(q));
	q.path[sizeof(q.path) - 1] = '\0';
	memset(&done, 0, sizeof(done));
	if (q.op == 0 || q.op >= DISK__MAX ||
	    (q.op == DISK_EXPORT && h->out_fd < 0) ||
	    (q.op != DISK_EXPORT && q.op != DISK_READ && h->out_fd >= 0)) {
		log_warnx("malformed disk request");
		return -1;
	}
	rc = dk_open(m->fd, q.op == DISK_SCRUB, &d, err);
	if (rc == 0) {
		switch (q.op) {
		case DISK_LIST:
			rc = dk_list(d, q.path, (q.flags & DISK_RECURSIVE) != 0,
			    on_entry, h, &done.count, err);
			if (rc == 0)
				rc = flush_entries(h);
			break;
		case DISK_READ:
			rc = dk_read(d, q.path, q.max_bytes, on_data, h,
			    &done.bytes, err);
			if (rc == 0)
				rc = flush_data(h);
			break;
		case DISK_EXPORT:
			rc = dk_export_masked(d, m->fd, h->out_fd, &h->sec,
			    &done.bytes, err);
			break;
		case DISK_SCRUB:
			if (dk_needs_recovery(d)) {
				done.needs_recovery = 1;
				break;
			}
			rc = dk_scrub(d, &done.count, err);
			break;
		}
		if (rc == 0)
			rc = dk_close(d, err);
		else {
			char ignored[DK_ERR_MAX];

			(void)dk_close(d, ignored);
		}
	}
	if (rc != 0) {
		if (h->out_closed)
			snprintf(err, sizeof(err), "the reader closed the "
			    "output before the end of the file");
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", pyro_err_summary(rc));
		(void)helper_send_error(m->hdr.id, rc, "%s", err);
		return 0;
	}
	(void)pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_DISK_DONE, m->hdr.id,
	    &done, sizeof(done), -1);
	return 0;	/* pyrod sends SHUTDOWN: one request per helper */
}

static int
dh_dispatch(struct pyro_msg *m, void *arg)
{
	struct dh	*h = arg;

	switch (m->hdr.type) {
	case PYRO_MSG_DISK_OUTPUT:
		if (h->out_fd >= 0)
			return -1;
		h->out_fd = m->fd;
		m->fd = -1;
		return 0;
	case PYRO_MSG_DISK_SECRET:
		return add_secret(h, m);
	case PYRO_MSG_DISK_REQUEST:
		return do_request(h, m);
	default:
		log_warnx("unexpected message type %u", m->hdr.type);
		return -1;
	}
}

static int
dh_sandbox(const struct pyro_msg_hello *hello)
{
	/* A reader that goes away is an error to report, not a death. */
	(void)signal(SIGPIPE, SIG_IGN);
	dk_init();
	return dh_sandbox_enter(hello->uid, hello->gid);
}

static int
dh_serve(const struct pyro_msg_hello *hello)
{
	static struct dh	h;

	h.out_fd = -1;
	pyro_redactor_init(&h.red, PYRO_REDACT_MASK);
	return helper_serve(PEER_DISKHELPER, dh_dispatch, &h);
}

int
main(int argc, char *argv[])
{
	return helper_main("pyro-diskhelper", PEER_DISKHELPER, argc,
	    dh_sandbox, dh_serve);
}
