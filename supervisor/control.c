/*
 * The control socket.  Trust boundary: anything a client sends is
 * untrusted.  The caller's identity comes from SO_PEERCRED/SO_PEERGROUPS,
 * which the kernel fills in at connect time, never from the request.  Frames
 * are bounded (PYRO_FRAME_MAX), every request is answered exactly once, and a
 * client that cannot keep up with its replies is disconnected instead of
 * stalling the loop.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/base64.h>

#include "frame.h"
#include "log.h"
#include "pyrod.h"

#define CLIENTS_MAX		256
#define CLIENT_REQUESTS_MAX	32
#define CLIENT_OUTQ_MAX		(32 * 1024 * 1024)
#define CLIENT_OUTQ_LOW		(1024 * 1024)
#define CLIENT_FDS_MAX		4

struct client {
	LIST_ENTRY(client)		 entry;
	struct ev			 ev;
	uid_t				 uid;
	gid_t				 gid;
	pid_t				 pid;
	int				 closing;	/* close once flushed */
	struct pyro_frame_reader	 rd;
	uint8_t				*out;
	size_t				 outlen, outoff, outcap;
	LIST_HEAD(, request)		 requests;
	int				 nrequests;
	/* fds passed with SCM_RIGHTS, oldest first, not yet claimed. */
	int				 fds[CLIENT_FDS_MAX];
	int				 nfds;
	/* Called once when the backlog falls below CLIENT_OUTQ_LOW. */
	void				(*drain_fn)(void *);
	void				*drain_arg;
};

static LIST_HEAD(, client)	clients = LIST_HEAD_INITIALIZER(clients);
static int			nclients;
static struct ev		listen_ev = { .fd = -1 };
static char			listen_path[108];

/*
 * What fd an op may be passed, checked before its handler runs.  A client
 * is not trusted to pass what it says: an O_PATH fd, a directory, an
 * epoll or eventfd, /dev/urandom or a listening socket fed to a guest's
 * stdin would stall or spin a helper instead of failing.
 */
enum fd_rule {
	FDR_NONE,		/* a passed fd is refused */
	FDR_READ_STREAM,	/* regular file, pipe or socket, for reading */
	FDR_WRITE_STREAM,	/* regular file, pipe or socket, for writing */
	FDR_EXPORT,		/* the handler checks it (an empty file) */
};

static const struct op {
	const char	 *name;
	void		(*fn)(struct request *, const cJSON *);
	enum fd_rule	  fd;
} ops[] = {
	{ "doctor",		op_doctor, FDR_NONE },
	{ "vm.list",		op_vm_list, FDR_NONE },
	{ "vm.status",		op_vm_status, FDR_NONE },
	{ "workspace.list",	op_workspace_list, FDR_NONE },
	{ "workspace.status",	op_workspace_status, FDR_NONE },
	{ "vm.run",		op_vm_run, FDR_NONE },
	{ "vm.create",		op_vm_create, FDR_NONE },
	{ "vm.start",		op_vm_start, FDR_NONE },
	{ "vm.exec",		op_vm_exec, FDR_NONE },
	{ "vm.stop",		op_vm_stop, FDR_NONE },
	{ "vm.delete",		op_vm_delete, FDR_NONE },
	{ "vm.network_info",	op_vm_network_info, FDR_NONE },
	{ "vm.reap_expired",	op_vm_reap_expired, FDR_NONE },
	{ "vm.ping",		op_vm_ping, FDR_NONE },
	{ "workspace.create",	op_workspace_create, FDR_READ_STREAM },
	{ "workspace.start",	op_workspace_start, FDR_NONE },
	{ "workspace.stop",	op_workspace_stop, FDR_NONE },
	{ "workspace.reset",	op_workspace_reset, FDR_NONE },
	{ "workspace.delete",	op_workspace_delete, FDR_NONE },
	{ "workspace.logs",	op_workspace_logs, FDR_NONE },
	{ "workspace.exec",	op_workspace_exec, FDR_NONE },
	{ "workspace.sync_push", op_workspace_sync_push, FDR_READ_STREAM },
	{ "workspace.export",	op_workspace_export, FDR_NONE },
	{ "workspace.diff",	op_workspace_diff, FDR_NONE },
	{ "workspace.snapshot_create", op_snapshot_create, FDR_NONE },
	{ "workspace.snapshot_list", op_snapshot_list, FDR_NONE },
	{ "workspace.snapshot_delete", op_snapshot_delete, FDR_NONE },
	{ "workspace.shell_open", op_shell_open, FDR_NONE },
	{ "workspace.shell_read", op_shell_read, FDR_NONE },
	{ "workspace.shell_write", op_shell_write, FDR_NONE },
	{ "workspace.shell_signal", op_shell_signal, FDR_NONE },
	{ "workspace.shell_close", op_shell_close, FDR_NONE },
	{ "workspace.service_start", op_service_start, FDR_NONE },
	{ "workspace.service_list", op_service_list, FDR_NONE },
	{ "workspace.service_status", op_service_status, FDR_NONE },
	{ "workspace.service_logs", op_service_logs, FDR_NONE },
	{ "workspace.service_stop", op_service_stop, FDR_NONE },
	{ "workspace.disk_list", op_workspace_disk_list, FDR_NONE },
	{ "workspace.disk_read", op_workspace_disk_read, FDR_WRITE_STREAM },
	{ "workspace.disk_export", op_workspace_disk_export, FDR_EXPORT },
	{ NULL, NULL, FDR_NONE }
};

static void	client_cb(struct ev *, uint32_t);
static void	client_close(struct client *);

int
ctl_authorized(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int	i;

	if (uid == 0)
		return 1;
	if (conf.group_gid == (gid_t)-1)
		return 0;
	if (gid == conf.group_gid)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == conf.group_gid)
			return 1;
	return 0;
}

static void
client_want_write(struct client *c)
{
	uint32_t	ev = EPOLLIN;

	if (c->outlen > c->outoff)
		ev |= EPOLLOUT;
	if (c->closing)
		ev &= ~EPOLLIN;
	(void)loop_mod(&c->ev, ev);
}

/* Queue a frame; a client whose queue is full is cut off. */
static void
client_send(struct client *c, const cJSON *obj)
{
	uint8_t	*f, *nb;
	long	 n;
	size_t	 need, ncap;

	if (c->ev.fd < 0)
		return;
	if ((n = pyro_frame_encode(obj, PYRO_FRAME_MAX, &f)) < 0) {
		log_warnx("reply to uid %u too large or no memory", c->uid);
		return;
	}
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	need = c->outlen + (size_t)n;
	if (need - c->outoff > CLIENT_OUTQ_MAX) {
		log_warnx("client pid %d does not read its replies; "
		    "disconnecting", (int)c->pid);
		free(f);
		client_close(c);
		return;
	}
	if (need > c->outcap) {
		ncap = c->outcap ? c->outcap : 65536;
		while (ncap < need)
			ncap *= 2;
		if ((nb = realloc(c->out, ncap)) == NULL) {
			free(f);
			client_close(c);
			return;
		}
		c->out = nb;
		c->outcap = ncap;
	}
	memcpy(c->out + c->outlen, f, (size_t)n);
	c->outlen += (size_t)n;
	free(f);
	client_want_write(c);
}

static cJSON *
error_obj(const cJSON *id, enum pyro_err code, const char *msg)
{
	cJSON	*o = cJSON_CreateObject(), *e = cJSON_CreateObject();

	if (id != NULL)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
	else
		cJSON_AddNullToObject(o, "id");
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(e, "code", pyro_err_code(code));
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddItemToObject(o, "error", e);
	return o;
}

static void
client_error(struct client *c, const cJSON *id, enum pyro_err code,
    const char *msg)
{
	cJSON	*o = error_obj(id, code, msg);

	client_send(c, o);
	cJSON_Delete(o);
}

static void
request_free(struct request *rq)
{
	if (rq->fd >= 0)
		close(rq->fd);
	if (rq->client != NULL) {
		LIST_REMOVE(rq, entry);
		rq->client->nrequests--;
	}
	cJSON_Delete(rq->id);
	free(rq);
}

static void
request_finish(struct request *rq, cJSON *frame)
{
	if (rq->client != NULL)
		client_send(rq->client, frame);
	cJSON_Delete(frame);
	request_free(rq);
}

void
ctl_reply_ok(struct request *rq, cJSON *result)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "id", cJSON_Duplicate(rq->id, 1));
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddItemToObject(o, "result", result ? result :
	    cJSON_CreateObject());
	request_finish(rq, o);
}

void
ctl_reply_err(struct request *rq, enum pyro_err code, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("%s (uid %u): %s: %s", rq->op, rq->uid, pyro_err_code(code),
	    msg);
	request_finish(rq, error_obj(rq->id, code, msg));
}

void
ctl_reply_status(struct request *rq, const struct pyro_status *st)
{
	ctl_reply_err(rq, st->code, "%s", st->message);
}

void
ctl_event(struct request *rq, const char *kind, cJSON *fields)
{
	cJSON	*o = fields ? fields : cJSON_CreateObject();

	if (rq->client != NULL) {
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(rq->id, 1));
		cJSON_AddStringToObject(o, "event", kind);
		client_send(rq->client, o);
	}
	cJSON_Delete(o);
}

static int
valid_id(const cJSON *id)
{
	if (cJSON_IsNumber(id))
		return id->valuedouble >= 0 && id->valuedouble <= 4294967295.0;
	if (cJSON_IsString(id))
		return strlen(id->valuestring) <= 64;
	return 0;
}

/*
 * A passed fd against its op's rule; 0, or -1 with a message in msg.
 * Streams only: a regular file, a pipe or a connected socket, open in the
 * direction the op uses.
 */
static int
fd_check(int fd, enum fd_rule rule, enum pyro_err *code, char *msg,
    size_t len)
{
	struct stat	sb;
	int		fl, acc = 0;
	socklen_t	sl = sizeof(acc);

	*code = PYRO_E_INVALID_ARGUMENT;
	if (rule == FDR_NONE) {
		*code = PYRO_E_BAD_REQUEST;
		snprintf(msg, len, "this operation takes no file descriptor");
		return -1;
	}
	if (rule == FDR_EXPORT)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH) || fstat(fd, &sb) < 0) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for I/O (an O_PATH fd?); pass a regular file, a pipe or "
		    "a socket");
		return -1;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode) &&
	    !S_ISSOCK(sb.st_mode)) {
		snprintf(msg, len, "the file descriptor passed is a %s; pass "
		    "a regular file, a pipe or a socket", S_ISDIR(sb.st_mode) ?
		    "directory" : S_ISCHR(sb.st_mode) ? "character device" :
		    S_ISBLK(sb.st_mode) ? "block device" :
		    "special file (epoll, eventfd, signalfd...)");
		return -1;
	}
	if (S_ISSOCK(sb.st_mode) && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &acc, &sl) == 0 && acc) {
		snprintf(msg, len, "the socket passed is listening; pass a "
		    "connected one");
		return -1;
	}
	if (rule == FDR_READ_STREAM && (fl & O_ACCMODE) == O_WRONLY) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for reading");
		return -1;
	}
	if (rule == FDR_WRITE_STREAM && (fl & O_ACCMODE) == O_RDONLY) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for writing");
		return -1;
	}
	return 0;
}

static void
client_dispatch(struct client *c, cJSON *frame)
{
	const cJSON	*id, *op, *args;
	const struct op	*o;
	struct request	*rq;
	int		 wantfd, fd = -1;
	enum pyro_err	 code;
	char		 why[160];

	id = cJSON_GetObjectItemCaseSensitive(frame, "id");
	op = cJSON_GetObjectItemCaseSensitive(frame, "op");
	args = cJSON_GetObjectItemCaseSensitive(frame, "args");
	wantfd = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(frame, "fd"));
	if (id != NULL && !valid_id(id)) {
		client_error(c, NULL, PYRO_E_BAD_REQUEST,
		    "\"id\" must be a number or a string of at most 64 bytes");
		return;
	}
	if (!cJSON_IsString(op)) {
		client_error(c, id, PYRO_E_BAD_REQUEST,
		    "the request has no \"op\" string");
		return;
	}
	if (args != NULL && !cJSON_IsObject(args)) {
		client_error(c, id, PYRO_E_INVALID_ARGUMENT,
		    "\"args\" must be an object");
		return;
	}
	for (o = ops; o->name != NULL; o++)
		if (strcmp(o->name, op->valuestring) == 0)
			break;
	if (o->name == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "unknown operation \"%.64s\"",
		    op->valuestring);
		client_error(c, id, PYRO_E_UNKNOWN_OP, msg);
		return;
	}
	/*
	 * A frame that says "fd": true claims the oldest fd the client
	 * passed; the kernel delivers an fd no later than the first byte it
	 * was sent with, so it is here by now if the client sent it.
	 */
	if (wantfd) {
		if (c->nfds == 0) {
			client_error(c, id, PYRO_E_BAD_REQUEST, "the request "
			    "says \"fd\" but no file descriptor came with it");
			return;
		}
		fd = c->fds[0];
		memmove(c->fds, c->fds + 1, (size_t)(--c->nfds) * sizeof(int));
		if (fd_check(fd, o->fd, &code, why, sizeof(why)) < 0) {
			close(fd);
			client_error(c, id, code, why);
			return;
		}
	}
	if (c->nrequests >= CLIENT_REQUESTS_MAX) {
		if (fd >= 0)
			close(fd);
		client_error(c, id, PYRO_E_LIMIT_EXCEEDED,
		    "too many requests in flight on this connection");
		return;
	}
	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		if (fd >= 0)
			close(fd);
		client_error(c, id, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	rq->fd = fd;
	rq->client = c;
	rq->id = id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();
	rq->uid = c->uid;
	rq->gid = c->gid;
	snprintf(rq->op, sizeof(rq->op), "%s", o->name);
	LIST_INSERT_HEAD(&c->requests, rq, entry);
	c->nrequests++;
	o->fn(rq, args);
}

/*
 * read(2), plus any fds passed with the bytes (SCM_RIGHTS only, close on
 * exec).  *bad is set when the client passed more fds than it may hold;
 * those fds are closed.
 */
static ssize_t
client_recv(struct client *c, uint8_t *buf, size_t size, int *bad)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CLIENT_FDS_MAX * sizeof(int))];
	} cbuf;
	struct iovec	 iov = { buf, size };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;
	size_t		 k, i;
	int		 fd;

	*bad = 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(c->ev.fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	if (mh.msg_flags & MSG_CTRUNC)
		*bad = 1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (k > 1 || c->nfds >= CLIENT_FDS_MAX) {
				close(fd);
				*bad = 1;
			} else
				c->fds[c->nfds++] = fd;
		}
	}
	return n;
}

static void
client_read(struct client *c)
{
	uint8_t	 buf[65536];
	ssize_t	 n;
	cJSON	*frame;
	int	 bad;

	n = client_recv(c, buf, sizeof(buf), &bad);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		client_close(c);
		return;
	}
	if (bad) {
		client_error(c, NULL, PYRO_E_BAD_REQUEST, "at most one file "
		    "descriptor per request, and at most 4 unclaimed; closing "
		    "the connection");
		c->closing = 1;
		client_want_write(c);
		return;
	}
	if (n == 0) {
		client_close(c);
		return;
	}
	if (pyro_frame_reader_feed(&c->rd, buf, (size_t)n) < 0) {
		client_error(c, NULL, PYRO_E_FRAME_TOO_LARGE,
		    "frame too large; closing the connection");
		c->closing = 1;
		client_want_write(c);
		return;
	}
	while (c->ev.fd >= 0 && !c->closing) {
		switch (pyro_frame_next(&c->rd, &frame)) {
		case PYRO_FRAME_NEED_MORE:
			return;
		case PYRO_FRAME_OK:
			client_dispatch(c, frame);
			cJSON_Delete(frame);
			break;
		case PYRO_FRAME_BAD_JSON:
			client_error(c, NULL, PYRO_E_BAD_REQUEST,
			    "the frame is not a JSON object");
			break;
		case PYRO_FRAME_HAS_NUL:
			client_error(c, NULL, PYRO_E_INVALID_ARGUMENT,
			    "strings may not contain NUL (\\u0000)");
			break;
		case PYRO_FRAME_TOO_LARGE:
		case PYRO_FRAME_NOMEM:
			client_error(c, NULL, PYRO_E_FRAME_TOO_LARGE,
			    "frame larger than 1048576 bytes; closing the "
			    "connection");
			c->closing = 1;
			client_want_write(c);
			return;
		}
	}
}

size_t
ctl_event_data(struct request *rq, const char *kind, const uint8_t *p,
    size_t n)
{
	struct base64_encode_ctx	 b64;
	char				*text;
	size_t				 k;
	cJSON				*ev;

	if (rq == NULL || rq->client == NULL || n == 0)
		return ctl_backlog(rq);
	if ((text = malloc(BASE64_ENCODE_LENGTH(n) +
	    BASE64_ENCODE_FINAL_LENGTH + 1)) == NULL)
		return ctl_backlog(rq);
	base64_encode_init(&b64);
	k = base64_encode_update(&b64, text, n, p);
	k += base64_encode_final(&b64, text + k);
	text[k] = '\0';
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "data_b64", text);
	free(text);
	ctl_event(rq, kind, ev);
	return ctl_backlog(rq);
}

size_t
ctl_backlog(const struct request *rq)
{
	if (rq == NULL || rq->client == NULL)
		return 0;
	return rq->client->outlen - rq->client->outoff;
}

void
ctl_on_drain(struct request *rq, void (*fn)(void *), void *arg)
{
	if (rq == NULL || rq->client == NULL) {
		fn(arg);
		return;
	}
	rq->client->drain_fn = fn;
	rq->client->drain_arg = arg;
}

void
ctl_clear_drain(struct request *rq, void *arg)
{
	if (rq != NULL && rq->client != NULL &&
	    rq->client->drain_arg == arg)
		rq->client->drain_fn = NULL;
}

static void
client_drained(struct client *c)
{
	void	(*fn)(void *) = c->drain_fn;

	if (fn == NULL)
		return;
	c->drain_fn = NULL;
	fn(c->drain_arg);
}

static void
client_write(struct client *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = send(c->ev.fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outlen - c->outoff < CLIENT_OUTQ_LOW)
		client_drained(c);
	if (c->outoff == c->outlen && c->closing) {
		client_close(c);
		return;
	}
	client_want_write(c);
}

static void
client_cb(struct ev *ev, uint32_t events)
{
	struct client	*c = ev->arg;

	if (events & EPOLLIN)
		client_read(c);
	if (c->ev.fd >= 0 && (events & EPOLLOUT))
		client_write(c);
	if (c->ev.fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) &&
	    !(events & EPOLLIN))
		client_close(c);
}

static void
client_free(void *p)
{
	struct client	*c = p;

	pyro_frame_reader_free(&c->rd);
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
	free(c->out);
	free(c);
}

/*
 * Requests still in flight lose their client; their handlers finish and the
 * reply is dropped.  Work a request started (a VM, a helper) is cleaned up
 * by its own owner, not tied to the connection.
 */
static void
client_close(struct client *c)
{
	struct request	*rq;
	int		 fd = c->ev.fd;

	if (fd < 0)
		return;
	/* Whatever waited for this client to catch up may go on now. */
	client_drained(c);
	while ((rq = LIST_FIRST(&c->requests)) != NULL) {
		LIST_REMOVE(rq, entry);
		rq->client = NULL;
		/* Work started for a client that left is wound down. */
		if (rq->cancel != NULL)
			rq->cancel(rq);
	}
	c->nrequests = 0;
	loop_del(&c->ev);
	close(fd);
	LIST_REMOVE(c, entry);
	nclients--;
	loop_defer_free(client_free, c);
}

static int
peer_groups(int fd, gid_t *groups, int max)
{
	socklen_t	len = (socklen_t)(max * sizeof(gid_t));

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	return (int)(len / sizeof(gid_t));
}

static void
listen_cb(struct ev *ev, uint32_t events)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	gid_t		 groups[256];
	int		 fd, ng;

	fd = accept4(ev->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if (nclients >= CLIENTS_MAX) {
		log_warnx("too many clients; refusing pid %d", (int)cred.pid);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->ev.fd = fd;
	c->ev.cb = client_cb;
	c->ev.arg = c;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	LIST_INIT(&c->requests);
	pyro_frame_reader_init(&c->rd, PYRO_FRAME_MAX);
	if (loop_add(&c->ev, EPOLLIN) < 0) {
		close(fd);
		client_free(c);
		return;
	}
	LIST_INSERT_HEAD(&clients, c, entry);
	nclients++;

	ng = peer_groups(fd, groups, 256);
	if (!ctl_authorized(cred.uid, cred.gid, groups, ng)) {
		log_info("refused uid %u pid %d: not root and not in group %s",
		    cred.uid, (int)cred.pid, conf.group);
		client_error(c, NULL, PYRO_E_PERMISSION_DENIED,
		    "permission denied: only root and members of the pyro "
		    "group may use pyrod");
		c->closing = 1;
		client_want_write(c);
	}
}

int
control_listen(const char *path, unsigned mode, gid_t group)
{
	struct sockaddr_un	 sun;
	char			 dir[sizeof(sun.sun_path)], *slash;
	int			 fd, probe;
	mode_t			 omask;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	snprintf(listen_path, sizeof(listen_path), "%s", path);

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			fatal("mkdir %s", dir);
	}
	/* A socket file that nobody answers on is a leftover: replace it. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("another pyrod is already listening on %s", path);
	close(probe);
	(void)unlink(path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		fatal("socket");
	omask = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	umask(omask);
	if (group != (gid_t)-1 && chown(path, 0, group) < 0)
		log_warn("chown %s", path);
	if (chmod(path, mode) < 0)
		fatal("chmod %s", path);
	if (listen(fd, 64) < 0)
		fatal("listen");
	listen_ev.fd = fd;
	listen_ev.cb = listen_cb;
	if (loop_add(&listen_ev, EPOLLIN) < 0)
		fatal("epoll add");
	return 0;
}

void
control_close(void)
{
	struct client	*c;

	while ((c = LIST_FIRST(&clients)) != NULL)
		client_close(c);
	if (listen_ev.fd >= 0) {
		int fd = listen_ev.fd;

		loop_del(&listen_ev);
		close(fd);
		(void)unlink(listen_path);
	}
}
