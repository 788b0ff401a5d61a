/*
 * The 3.1.0 disk tools: list, read and export a stopped workspace's disk
 * through pyro-diskhelper.  Guest-backed, stopped workspaces only; a disk
 * that was not scrubbed since its last run (pyrod crashed or shut down
 * under it) is cleaned up first, so no request ever sees runtime state.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "diskreq.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define ENTRIES_PER_EVENT	500

struct dctx {
	struct request	*rq;
	struct ws	*w;
	enum pyro_disk_op op;
	char		 path[4096];
	uint32_t	 flags;
	uint64_t	 max;
	int		 out_fd;
	struct dreq	*d;
	cJSON		*batch;		/* entries not sent yet */
	uint64_t	 sent;
};

static void
dctx_free(struct dctx *c)
{
	if (c->rq != NULL) {
		ctl_clear_drain(c->rq, c);
		c->rq->cancel = NULL;
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	cJSON_Delete(c->batch);
	free(c);
}

static const char *
type_name(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000: return "file";
	case 0040000: return "directory";
	case 0120000: return "symlink";
	case 0020000: return "char_device";
	case 0060000: return "block_device";
	case 0010000: return "fifo";
	case 0140000: return "socket";
	default: return "unknown";
	}
}

static void
flush_batch(struct dctx *c)
{
	cJSON	*ev;

	if (c->batch == NULL || cJSON_GetArraySize(c->batch) == 0)
		return;
	ev = cJSON_CreateObject();
	cJSON_AddItemToObject(ev, "entries", c->batch);
	c->batch = NULL;
	if (c->rq != NULL)
		ctl_event(c->rq, "disk_entries", ev);
	else
		cJSON_Delete(ev);
}

static void
add_int(cJSON *o, const char *key, long long v)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	cJSON_AddRawToObject(o, key, buf);
}

static void
on_entry(const struct disk_entry *e, void *arg)
{
	struct dctx	*c = arg;
	cJSON		*o = cJSON_CreateObject();
	const char	*slash = strrchr(e->path, '/');
	char		 mode[16], perm[8], ts[32], *name, *path, *tgt;

	snprintf(mode, sizeof(mode), "%o", e->mode);
	snprintf(perm, sizeof(perm), "%04o", e->mode & 07777);
	iso_time(ts, sizeof(ts), (time_t)e->mtime);
	path = utf8_sanitize((const uint8_t *)e->path, strlen(e->path));
	name = utf8_sanitize((const uint8_t *)(slash ? slash + 1 : e->path),
	    strlen(slash ? slash + 1 : e->path));
	cJSON_AddStringToObject(o, "path", path ? path : "");
	cJSON_AddStringToObject(o, "name", name ? name : "");
	cJSON_AddStringToObject(o, "type", type_name(e->mode));
	cJSON_AddStringToObject(o, "mode", mode);
	cJSON_AddStringToObject(o, "permissions", perm);
	/* Integers as raw text: cJSON prints doubles slowly (and 10,000
	 * entries make that the cost of a listing). */
	add_int(o, "uid", e->uid);
	add_int(o, "gid", e->gid);
	add_int(o, "size", (long long)e->size);
	add_int(o, "mtime", e->mtime);
	cJSON_AddStringToObject(o, "mtime_iso", ts);
	add_int(o, "inode", e->ino);
	add_int(o, "links", e->nlink);
	if ((e->mode & 0170000) == 0120000) {
		tgt = utf8_sanitize((const uint8_t *)e->target,
		    strlen(e->target));
		cJSON_AddStringToObject(o, "symlink_target", tgt ? tgt : "");
		free(tgt);
	}
	free(path);
	free(name);
	if (c->batch == NULL)
		c->batch = cJSON_CreateArray();
	cJSON_AddItemToArray(c->batch, o);
	c->sent++;
	if (cJSON_GetArraySize(c->batch) >= ENTRIES_PER_EVENT)
		flush_batch(c);
}

static void
resume(void *arg)
{
	struct dctx	*c = arg;

	if (c->d != NULL)
		dreq_pause(c->d, 0);
}

static void
on_data(const uint8_t *p, size_t n, void *arg)
{
	struct dctx	*c = arg;

	/* The client's pace: past the mark, stop reading the helper. */
	if (c->rq != NULL && ctl_event_data(c->rq, "stdout", p, n) >
	    CTL_OUTPUT_HIGH && c->rq != NULL && c->d != NULL) {
		dreq_pause(c->d, 1);
		ctl_on_drain(c->rq, resume, c);
	}
}

static void
on_done(const struct pyro_status *err, const struct pyro_msg_disk_done *r,
    void *arg)
{
	struct dctx	*c = arg;
	cJSON		*res;

	c->d = NULL;
	if (c->rq != NULL) {
		ctl_clear_drain(c->rq, c);
		c->rq->cancel = NULL;
		if (err != NULL)
			ctl_reply_status(c->rq, err);
		else {
			flush_batch(c);
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    c->w->rec->id);
			if (c->op != DISK_EXPORT)
				cJSON_AddStringToObject(res, "path",
				    c->path[0] ? c->path : "/workspace");
			if (c->op == DISK_LIST)
				cJSON_AddNumberToObject(res, "count",
				    (double)r->count);
			else
				cJSON_AddNumberToObject(res, "bytes",
				    (double)r->bytes);
			if (c->op == DISK_READ)
				cJSON_AddBoolToObject(res, "truncated",
				    c->max > 0 && r->bytes >= c->max);
			ctl_reply_ok(c->rq, res);
		}
		c->rq = NULL;	/* freed with its reply */
	}
	dctx_free(c);
}

static const struct dreq_ops disk_ops = { on_entry, on_data, on_done };

static void
disk_cancel(struct request *rq)
{
	struct dctx	*c = rq->ctx;

	ctl_clear_drain(rq, c);
	c->rq = NULL;		/* the helper finishes; nobody hears it */
	if (c->d != NULL)
		dreq_pause(c->d, 0);
}

static void
run(struct dctx *c)
{
	struct pyro_status	st;
	int			fd = c->out_fd;

	c->out_fd = -1;
	c->d = dreq_start(c->w->rec, c->op, c->path, c->flags, c->max, fd,
	    &disk_ops, c, &st);
	/* A read or an export masks the secrets (the diskhelper does it);
	 * the helper is only spawned yet, it has not been sent anything. */
	if (c->d != NULL && c->op != DISK_LIST)
		(void)dreq_set_secrets(c->d, ws_secrets(c->w));
	if (c->d != NULL && c->rq != NULL)
		test_point(c->rq->op, "running");
	if (c->d == NULL) {
		if (c->rq != NULL) {
			c->rq->cancel = NULL;
			ctl_reply_status(c->rq, &st);
			c->rq = NULL;
		}
		dctx_free(c);
	}
}

static void
after_clean(struct ws *w, const struct pyro_status *err, void *arg)
{
	struct dctx	*c = arg;

	if (err != NULL) {
		if (c->rq != NULL) {
			c->rq->cancel = NULL;
			ctl_reply_status(c->rq, err);
			c->rq = NULL;
		}
		dctx_free(c);
		return;
	}
	run(c);
}

/* Checks shared by the three requests; the context, or NULL (replied). */
static struct dctx *
begin(struct request *rq, const cJSON *args, enum pyro_disk_op op)
{
	struct pyro_status	 st;
	struct dctx		*c;
	const char		*path = NULL;
	struct ws		*w;

	if (op != DISK_EXPORT &&
	    arg_string(args, "path", op == DISK_READ, PYRO_PATH_LEN_MAX, &path,
	    &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if (path != NULL && path[0] == '\0' && op == DISK_READ) {
		ctl_reply_err(rq, PYRO_E_INVALID_PATH, "the path is empty");
		return NULL;
	}
	w = rq->obj;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return NULL;
	}
	c->out_fd = -1;
	c->rq = rq;
	c->w = w;
	c->op = op;
	pyro_strlcpy(c->path, path ? path : "", sizeof(c->path));
	rq->ctx = c;
	rq->cancel = disk_cancel;
	return c;
}

static void
go(struct dctx *c)
{
	if (!ws_disk_clean(c->w) &&
	    cJSON_GetObjectItem(c->w->rec->doc, "disk_clean") != NULL) {
		ws_clean(c->w, after_clean, c);
		return;
	}
	run(c);
}

void
op_workspace_disk_list(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct dctx		*c;
	int			 rec = 0;

	if (arg_bool(args, "recursive", &rec, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((c = begin(rq, args, DISK_LIST)) == NULL)
		return;
	c->flags = rec ? DISK_RECURSIVE : 0;
	go(c);
}

void
op_workspace_disk_read(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct dctx		*c;
	long long		 max = 0;

	if (arg_int(args, "max_bytes", 0, 1, (long long)1 << 50, &max,
	    &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	/* With an fd, the content goes straight to it (the client's pipe,
	 * file or terminal); without, as stdout events. */
	if (rq->fd >= 0) {
		int fl = fcntl(rq->fd, F_GETFL);

		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
			ctl_reply_err(rq, PYRO_E_INVALID_ARGUMENT, "the output "
			    "fd is not open for writing");
			return;
		}
	}
	if ((c = begin(rq, args, DISK_READ)) == NULL)
		return;
	c->max = (uint64_t)max;
	c->out_fd = rq->fd;
	rq->fd = -1;
	go(c);
}

/*
 * The client opens the output itself (its own rights: a root daemon must
 * not open a user's path) and passes the fd; here it must be an empty
 * regular file open for writing.  Nothing else is ever written.
 */
void
op_workspace_disk_export(struct request *rq, const cJSON *args)
{
	struct dctx	*c;
	struct stat	 sb;
	int		 fl;

	if (rq->fd < 0) {
		ctl_reply_err(rq, PYRO_E_BAD_REQUEST, "disk export needs the "
		    "output file's fd (\"fd\": true)");
		return;
	}
	fl = fcntl(rq->fd, F_GETFL);
	if (fstat(rq->fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size != 0 ||
	    fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		ctl_reply_err(rq, PYRO_E_INVALID_ARGUMENT, "the output must be "
		    "an empty regular file open for writing");
		return;
	}
	if ((c = begin(rq, args, DISK_EXPORT)) == NULL)
		return;
	c->out_fd = rq->fd;
	rq->fd = -1;
	go(c);
}
