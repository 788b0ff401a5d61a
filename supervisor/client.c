/*
 * Control-socket connections: frames in, replies and events out, one
 * request object per request, answered exactly once.  Trust boundary:
 * anything a client sends is untrusted.  Frames are bounded
 * (PYRO_FRAME_MAX); a frame that is not one JSON object is answered and
 * the connection kept; fds come only with SCM_RIGHTS, one per request,
 * four unclaimed at most.  A client that cannot keep up with its replies
 * is disconnected instead of stalling the loop.  What a request asks for
 * is control.c's: it gets each well-formed request through the dispatch
 * hook given to client_new().
 *
 * Fairness: one uid may not hold everyone's slots.  control.c refuses a
 * connection over max_clients or its uid's cap with a too_many_clients
 * frame (client_refuse_fd); here a uid's requests in flight on all its
 * connections are capped (max_requests_per_uid), and a connection whose
 * unfinished frame is older than frame_timeout_seconds is closed, so a
 * peer that writes half a header and waits frees its slot.  A connection
 * with no partial frame may stay idle: it holds no buffer.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/base64.h>

#include "frame.h"
#include "log.h"
#include "pyrod.h"

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
	/* Armed while rd holds part of a frame: its first byte's age. */
	struct timer			*stall;
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
	void				(*dispatch)(struct request *,
					    const char *op, const cJSON *args);
};

static LIST_HEAD(, client)	clients = LIST_HEAD_INITIALIZER(clients);
static int			nclients;

static void	client_cb(struct ev *, uint32_t);
static void	client_close(struct client *);
static void	client_write(struct client *);

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
 * Room for one more request on c: 0, or -1 after a limit_exceeded frame.
 * Per connection (CLIENT_REQUESTS_MAX), then per uid on all its
 * connections, so many connections do not multiply one uid's share.
 */
static int
request_room(struct client *c, const cJSON *id)
{
	char	msg[256];
	int	n;

	if (c->nrequests >= CLIENT_REQUESTS_MAX) {
		client_error(c, id, PYRO_E_LIMIT_EXCEEDED, "too many requests "
		    "in flight on this connection");
		return -1;
	}
	if ((n = requests_of_uid(c->uid)) >= (int)conf.max_requests_per_uid) {
		snprintf(msg, sizeof(msg), "uid %u has %d requests in flight, "
		    "the limit per uid is %u; wait for some to finish or raise "
		    "max_requests_per_uid in pyrod.conf", (unsigned)c->uid, n,
		    conf.max_requests_per_uid);
		client_error(c, id, PYRO_E_LIMIT_EXCEEDED, msg);
		return -1;
	}
	return 0;
}

/*
 * A frame: check its envelope, claim its fd, make the request and hand it
 * to the dispatcher (which answers it, now or later).
 */
static void
client_request(struct client *c, cJSON *frame)
{
	const cJSON	*id, *op, *args;
	struct request	*rq;
	int		 fd = -1;

	id = cJSON_GetObjectItemCaseSensitive(frame, "id");
	op = cJSON_GetObjectItemCaseSensitive(frame, "op");
	args = cJSON_GetObjectItemCaseSensitive(frame, "args");
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
	/*
	 * A frame that says "fd": true claims the oldest fd the client
	 * passed; the kernel delivers an fd no later than the first byte it
	 * was sent with, so it is here by now if the client sent it.
	 */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(frame, "fd"))) {
		if (c->nfds == 0) {
			client_error(c, id, PYRO_E_BAD_REQUEST, "the request "
			    "says \"fd\" but no file descriptor came with it");
			return;
		}
		fd = c->fds[0];
		memmove(c->fds, c->fds + 1, (size_t)(--c->nfds) * sizeof(int));
	}
	if (request_room(c, id) < 0) {
		if (fd >= 0)
			close(fd);
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
	snprintf(rq->op, sizeof(rq->op), "%.63s", op->valuestring);
	LIST_INSERT_HEAD(&c->requests, rq, entry);
	c->nrequests++;
	c->dispatch(rq, op->valuestring, args);
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

/*
 * The unfinished frame's time is up: say why, then close even if the
 * peer does not read (a small frame fits a socket buffer that was read).
 */
static void
client_stalled(void *arg)
{
	static long long	 logged;
	struct client		*c = arg;
	char			 msg[200];

	c->stall = NULL;
	/* A peer that does it on purpose gets one log line in ten seconds. */
	if (logged == 0 || now_ms() - logged >= 10000) {
		log_info("uid %u pid %d: a frame unfinished for %u s; closing",
		    (unsigned)c->uid, (int)c->pid, conf.frame_timeout_s);
		logged = now_ms();
	}
	snprintf(msg, sizeof(msg), "the request frame stayed unfinished for "
	    "%u s (frame_timeout_seconds in pyrod.conf); closing the "
	    "connection", conf.frame_timeout_s);
	client_error(c, NULL, PYRO_E_TIMEOUT, msg);
	c->closing = 1;
	client_write(c);
	if (c->ev.fd >= 0)
		client_close(c);
}

/*
 * After a read: a frame's first bytes start the clock, a finished frame
 * restarts it for whatever follows, and no partial frame stops it.
 */
static void
client_watch_partial(struct client *c, int finished)
{
	if (c->rd.len == 0 || c->closing) {
		timer_cancel(c->stall);
		c->stall = NULL;
		return;
	}
	if (c->stall != NULL && !finished)
		return;
	timer_cancel(c->stall);
	c->stall = timer_add((long long)conf.frame_timeout_s * 1000,
	    client_stalled, c);
}

static void
client_read(struct client *c)
{
	uint8_t	 buf[65536];
	ssize_t	 n;
	cJSON	*frame;
	int	 bad, finished = 0;

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
			client_watch_partial(c, finished);
			return;
		case PYRO_FRAME_OK:
			finished = 1;
			client_request(c, frame);
			cJSON_Delete(frame);
			break;
		case PYRO_FRAME_BAD_JSON:
			finished = 1;
			client_error(c, NULL, PYRO_E_BAD_REQUEST,
			    "the frame is not a JSON object");
			break;
		case PYRO_FRAME_HAS_NUL:
			finished = 1;
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
	timer_cancel(c->stall);
	c->stall = NULL;
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

/* A connection accepted and authorized by control.c. */
int
client_new(int fd, const struct ucred *cred, void (*dispatch)(struct request *,
    const char *, const cJSON *))
{
	struct client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->ev.fd = fd;
	c->ev.cb = client_cb;
	c->ev.arg = c;
	c->uid = cred->uid;
	c->gid = cred->gid;
	c->pid = cred->pid;
	c->dispatch = dispatch;
	LIST_INIT(&c->requests);
	pyro_frame_reader_init(&c->rd, PYRO_FRAME_MAX);
	if (loop_add(&c->ev, EPOLLIN) < 0) {
		client_free(c);
		return -1;
	}
	LIST_INSERT_HEAD(&clients, c, entry);
	nclients++;
	return 0;
}

int
clients_count(void)
{
	return nclients;
}

int
clients_of_uid(uid_t uid)
{
	struct client	*c;
	int		 n = 0;

	LIST_FOREACH(c, &clients, entry)
		if (c->uid == uid)
			n++;
	return n;
}

int
requests_of_uid(uid_t uid)
{
	struct client	*c;
	int		 n = 0;

	LIST_FOREACH(c, &clients, entry)
		if (c->uid == uid)
			n += c->nrequests;
	return n;
}

/*
 * One send, never blocking: the socket is new, so its buffer has room for
 * a frame this small; if not, the peer gets the close alone.
 */
void
client_refuse_fd(int fd, enum pyro_err code, const char *msg)
{
	cJSON	*o = error_obj(NULL, code, msg);
	uint8_t	*f;
	long	 n;

	if ((n = pyro_frame_encode(o, PYRO_FRAME_MAX, &f)) > 0) {
		(void)send(fd, f, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(f);
	}
	cJSON_Delete(o);
	close(fd);
}

void
clients_close_all(void)
{
	struct client	*c;

	while ((c = LIST_FIRST(&clients)) != NULL)
		client_close(c);
}
