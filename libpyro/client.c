/*
 * libpyro: the client side of the control protocol.  Each call sends one
 * request frame and reads frames until the final result for its id; events
 * in between go to the caller's event handler.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nettle/base64.h>

#include "pyro/pyro.h"
#include "internal.h"
#include "frame.h"
#include "msg.h"

#define PYRO_DEFAULT_SOCKET	"/run/pyro/pyrod.sock"

struct pyro_client {
	int				 fd;
	unsigned			 next_id;
	struct pyro_frame_reader	 rd;
	pyro_event_fn			 event_fn;
	void				*event_arg;
	pyro_output_fn			 output_fn;
	void				*output_arg;
	/* Long transfers report here (read once, when one starts). */
	pyro_progress_fn		 progress_fn;
	void				*progress_arg;
	char				 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int
seterr(pyro_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
seterr(pyro_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return -1;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
pyro_version(void)
{
	return PACKAGE_VERSION;
}

const char *
pyro_default_socket_path(void)
{
	const char	*s = getenv("PYRO_SOCKET");

	return (s != NULL && *s != '\0') ? s : PYRO_DEFAULT_SOCKET;
}

int
pyro_environment_cache_dir(char *buf, size_t size)
{
	const char	*s = getenv("PYRO_ENVIRONMENT_CACHE_DIR");
	const char	*home;
	struct passwd	*pw;
	int		 n;

	if (s != NULL && *s != '\0')
		n = snprintf(buf, size, "%s", s);
	else {
		home = getenv("HOME");
		if ((home == NULL || *home == '\0') &&
		    (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || *home == '\0')
			return -1;
		n = snprintf(buf, size, "%s/.cache/pyro/environments", home);
	}
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int
pyro_connect(const char *path, pyro_client **out, pyro_error *err)
{
	struct sockaddr_un	 sun;
	pyro_client		*c;
	int			 fd, flags;

	*out = NULL;
	if (path == NULL)
		path = pyro_default_socket_path();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return seterr(err, PYRO_ERR_INVALID_ARGUMENT,
		    "socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	/*
	 * Non-blocking connect: a unix socket connects at once or fails at
	 * once (EAGAIN when pyrod's backlog is full), so we never hang here.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return seterr(err, PYRO_ERR_INTERNAL, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		if (e == EACCES || e == EPERM)
			return seterr(err, PYRO_ERR_PERMISSION_DENIED,
			    "cannot connect to pyrod at %s: %s; ask an "
			    "administrator to add you to the 'pyro' group",
			    path, strerror(e));
		return seterr(err, PYRO_ERR_DAEMON_UNAVAILABLE,
		    "cannot connect to pyrod at %s: %s; start it with "
		    "'pyrod' (or 'systemctl start pyrod'), or point "
		    "PYRO_SOCKET at a running one", path, strerror(e));
	}
	flags = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return seterr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	c->fd = fd;
	c->next_id = 1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	pyro_frame_reader_init(&c->rd, PYRO_FRAME_MAX);
	c->rd.keep_raw = 1;	/* events go to handlers as received */
	*out = c;
	return 0;
}

void
pyro_disconnect(pyro_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	pyro_frame_reader_free(&c->rd);
	free(c);
}

void
pyro_set_event_handler(pyro_client *c, pyro_event_fn fn, void *arg)
{
	c->event_fn = fn;
	c->event_arg = arg;
}

void
pyro_set_progress_handler(pyro_client *c, pyro_progress_fn fn, void *arg)
{
	c->progress_fn = fn;
	c->progress_arg = arg;
}

pyro_progress_fn
pyro__progress_of(const pyro_client *c, void **arg)
{
	*arg = c != NULL ? c->progress_arg : NULL;
	return c != NULL ? c->progress_fn : NULL;
}

void
pyro_set_output_handler(pyro_client *c, pyro_output_fn fn, void *arg)
{
	c->output_fn = fn;
	c->output_arg = arg;
}

void
pyro_free(void *p)
{
	free(p);
}

static int
take_error(const cJSON *resp, pyro_error *err)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(resp, "error");
	const cJSON	*code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON	*msg = cJSON_GetObjectItemCaseSensitive(e, "message");

	return seterr(err, cJSON_IsString(code) ? code->valuestring :
	    "protocol_error", "%s", cJSON_IsString(msg) ? msg->valuestring :
	    "pyrod sent an error without a message");
}

static void
deliver_output(pyro_client *c, int fd, const cJSON *ev)
{
	const cJSON			*d;
	struct base64_decode_ctx	 b64;
	uint8_t				*buf;
	size_t				 n, len;

	d = cJSON_GetObjectItemCaseSensitive(ev, "data_b64");
	if (!cJSON_IsString(d))
		return;
	len = strlen(d->valuestring);
	if ((buf = malloc(BASE64_DECODE_LENGTH(len) + 1)) == NULL)
		return;
	n = BASE64_DECODE_LENGTH(len) + 1;
	base64_decode_init(&b64);
	if (base64_decode_update(&b64, &n, buf, len, d->valuestring) &&
	    base64_decode_final(&b64))
		c->output_fn(c->output_arg, fd, buf, n);
	free(buf);
}

static void
deliver_event(pyro_client *c, const cJSON *ev)
{
	const cJSON	*kind;
	char		*text;

	if (c->event_fn == NULL && c->output_fn == NULL)
		return;
	kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
	if (!cJSON_IsString(kind))
		return;
	if (c->output_fn != NULL && (strcmp(kind->valuestring, "stdout") == 0 ||
	    strcmp(kind->valuestring, "stderr") == 0)) {
		deliver_output(c, kind->valuestring[3] == 'o' ? 1 : 2, ev);
		return;
	}
	/* The frame's own text: no second serialisation of a big event. */
	if (c->rd.raw != NULL && c->rd.raw[0] != '\0') {
		if (c->event_fn != NULL)
			c->event_fn(c->event_arg, kind->valuestring, c->rd.raw);
		return;
	}
	if ((text = cJSON_PrintUnformatted(ev)) == NULL)
		return;
	if (c->event_fn != NULL)
		c->event_fn(c->event_arg, kind->valuestring, text);
	free(text);
}

/*
 * Send a frame with fd attached to its first byte (SCM_RIGHTS), so pyrod
 * has the fd by the time it reads the frame that says "fd": true.
 */
static int
frame_write_fd(int sock, const cJSON *obj, int fd)
{
	struct iovec	 iov;
	uint8_t		*f;
	long		 n;
	ssize_t		 w;
	int		 rc;

	if ((n = pyro_frame_encode(obj, PYRO_FRAME_MAX, &f)) < 0)
		return (int)n;
	iov.iov_base = f;
	iov.iov_len = 1;
	if ((w = pyro_sendmsg_fds(sock, &iov, 1, &fd, 1)) != 1) {
		free(f);
		return w < 0 ? (int)w : -EIO;
	}
	rc = pyro_send_all(sock, f + 1, (size_t)n - 1);
	free(f);
	return rc;
}

int
pyro_call(pyro_client *c, const char *op, const char *args_json,
    char **result_json, pyro_error *err)
{
	return pyro__call_fd(c, op, args_json, -1, result_json, err);
}

void
pyro__swap_output(pyro_client *c, pyro_output_fn *fn, void **arg)
{
	pyro_output_fn	 f = c->output_fn;
	void		*a = c->output_arg;

	c->output_fn = *fn;
	c->output_arg = *arg;
	*fn = f;
	*arg = a;
}

int
pyro__fail(pyro_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL) {
		snprintf(err->code, sizeof(err->code), "%s", code);
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
pyro__swap_event(pyro_client *c, pyro_event_fn *fn, void **arg)
{
	pyro_event_fn	 f = c->event_fn;
	void		*a = c->event_arg;

	c->event_fn = *fn;
	c->event_arg = *arg;
	*fn = f;
	*arg = a;
}

int
pyro__call_fd(pyro_client *c, const char *op, const char *args_json, int fd,
    char **result_json, pyro_error *err)
{
	cJSON		*req, *args = NULL, *resp = NULL;
	const cJSON	*rid, *ok;
	unsigned	 id;
	int		 rc;

	if (result_json != NULL)
		*result_json = NULL;
	if (c == NULL || op == NULL)
		return seterr(err, PYRO_ERR_INVALID_ARGUMENT, "no client or no op");
	if (args_json != NULL && (args = cJSON_Parse(args_json)) == NULL)
		return seterr(err, PYRO_ERR_INVALID_ARGUMENT,
		    "args_json is not valid JSON");
	if (args != NULL && !cJSON_IsObject(args)) {
		cJSON_Delete(args);
		return seterr(err, PYRO_ERR_INVALID_ARGUMENT,
		    "args_json must be a JSON object");
	}
	id = c->next_id++;
	if ((req = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(args);
		return seterr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	cJSON_AddNumberToObject(req, "id", id);
	cJSON_AddStringToObject(req, "op", op);
	cJSON_AddItemToObject(req, "args", args ? args : cJSON_CreateObject());
	if (fd >= 0) {
		cJSON_AddTrueToObject(req, "fd");
		rc = frame_write_fd(c->fd, req, fd);
	} else
		rc = pyro_frame_send(c->fd, req);
	cJSON_Delete(req);
	if (rc == -EMSGSIZE)
		return seterr(err, PYRO_ERR_FRAME_TOO_LARGE,
		    "the request is larger than %d bytes", PYRO_FRAME_MAX);
	if (rc < 0) {
		/*
		 * pyrod may have refused us (permission_denied) and closed
		 * before the request was written: its reason is still in the
		 * socket, and says more than EPIPE.
		 */
		if (pyro_frame_read(c->fd, &c->rd, &resp, 200) == 0 &&
		    cJSON_GetObjectItemCaseSensitive(resp, "error") != NULL) {
			rc = take_error(resp, err);
			cJSON_Delete(resp);
			return rc;
		}
		cJSON_Delete(resp);
		return seterr(err, PYRO_ERR_DAEMON_UNAVAILABLE,
		    "lost the connection to pyrod at %s: %s", c->path,
		    strerror(-rc));
	}

	for (;;) {
		cJSON_Delete(resp);
		resp = NULL;
		if ((rc = pyro_frame_read(c->fd, &c->rd, &resp, -1)) < 0) {
			if (rc == -EBADMSG || rc == -EMSGSIZE)
				return seterr(err, PYRO_ERR_PROTOCOL,
				    "pyrod sent a malformed frame");
			return seterr(err, PYRO_ERR_DAEMON_UNAVAILABLE,
			    "lost the connection to pyrod at %s: %s", c->path,
			    rc == -ECONNRESET ? "connection closed" :
			    strerror(-rc));
		}
		rid = cJSON_GetObjectItemCaseSensitive(resp, "id");
		if (cJSON_IsNull(rid) || rid == NULL) {
			/* Connection-level error from pyrod. */
			if (cJSON_GetObjectItemCaseSensitive(resp, "error")) {
				rc = take_error(resp, err);
				cJSON_Delete(resp);
				return rc;
			}
			continue;
		}
		if (!cJSON_IsNumber(rid) || (unsigned)rid->valuedouble != id)
			continue;
		if (cJSON_GetObjectItemCaseSensitive(resp, "event") != NULL) {
			deliver_event(c, resp);
			continue;
		}
		break;
	}
	ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
	if (!cJSON_IsTrue(ok)) {
		rc = take_error(resp, err);
		cJSON_Delete(resp);
		return rc;
	}
	if (result_json != NULL) {
		cJSON *res = cJSON_GetObjectItemCaseSensitive(resp, "result");

		*result_json = res ? cJSON_PrintUnformatted(res) :
		    strdup("{}");
		if (*result_json == NULL) {
			cJSON_Delete(resp);
			return seterr(err, PYRO_ERR_INTERNAL, "out of memory");
		}
	}
	cJSON_Delete(resp);
	return 0;
}
