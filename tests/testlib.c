#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "frame.h"
#include "testlib.h"

static const char *
builddir(void)
{
	const char	*b = getenv("PYRO_BUILDDIR");

	return b ? b : ".";
}

void
tp_init(struct tpyrod *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/pyro-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	/* Others must reach the socket for the authorization tests. */
	chmod(t->dir, 0755);
	snprintf(t->sock, sizeof(t->sock), "%s/pyrod.sock", t->dir);
	snprintf(t->state, sizeof(t->state), "%s/state", t->dir);
	snprintf(t->libexec, sizeof(t->libexec), "%s", builddir());
}

int
tc_connect(const char *sock)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void
tp_start(struct tpyrod *t, ...)
{
	char		 prog[512];
	const char	*argv[32];
	const char	*a;
	va_list		 ap;
	int		 n = 0, i, fd;

	snprintf(prog, sizeof(prog), "%s/pyrod", builddir());
	argv[n++] = prog;
	argv[n++] = "-d";
	argv[n++] = "--state-dir";
	argv[n++] = t->state;
	argv[n++] = "--socket";
	argv[n++] = t->sock;
	argv[n++] = "--libexec-dir";
	argv[n++] = t->libexec;
	va_start(ap, t);
	while ((a = va_arg(ap, const char *)) != NULL && n < 30)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	t->pid = fork();
	ck_assert_int_ge(t->pid, 0);
	if (t->pid == 0) {
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if ((fd = tc_connect(t->sock)) >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	ck_abort_msg("pyrod did not come up");
}

int
tp_stop(struct tpyrod *t)
{
	int	status = -1;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		waitpid(t->pid, &status, 0);
		t->pid = 0;
	}
	return status;
}

void
tp_cleanup(struct tpyrod *t)
{
	char	cmd[256];

	(void)tp_stop(t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	(void)system(cmd);
}

void
tc_send_raw(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(pyro_write_all(fd, p, n), 0);
}

int
tc_try_send_json(int fd, const char *json)
{
	uint8_t	hdr[4];
	size_t	n = strlen(json);

	hdr[0] = n >> 24;
	hdr[1] = n >> 16;
	hdr[2] = n >> 8;
	hdr[3] = n;
	if (pyro_write_all(fd, hdr, 4) < 0)
		return -1;
	return pyro_write_all(fd, json, n) < 0 ? -1 : 0;
}

void
tc_send_json(int fd, const char *json)
{
	ck_assert_int_eq(tc_try_send_json(fd, json), 0);
}

/* Read exactly n bytes, or fail on EOF/timeout. */
static int
read_exact(int fd, void *p, size_t n, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	uint8_t		*b = p;
	ssize_t		 r;

	while (n > 0) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Byte-exact, so that no second frame is swallowed into a buffer. */
cJSON *
tc_read(int fd, int timeout_ms)
{
	uint8_t	 hdr[4];
	uint32_t len;
	char	*buf;
	cJSON	*o;

	if (read_exact(fd, hdr, 4, timeout_ms) < 0)
		return NULL;
	len = ((uint32_t)hdr[0] << 24) | (hdr[1] << 16) | (hdr[2] << 8) |
	    hdr[3];
	ck_assert_uint_le(len, PYRO_FRAME_MAX);
	buf = malloc(len + 1);
	if (read_exact(fd, buf, len, timeout_ms) < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	o = cJSON_Parse(buf);
	free(buf);
	return o;
}

cJSON *
tc_call(int fd, const char *json)
{
	cJSON	*o;

	tc_send_json(fd, json);
	for (;;) {
		o = tc_read(fd, 30000);
		if (o == NULL || cJSON_GetObjectItem(o, "event") == NULL)
			return o;
		cJSON_Delete(o);
	}
}

const char *
tc_errcode(const cJSON *resp)
{
	const cJSON	*e = cJSON_GetObjectItem(resp, "error");
	const cJSON	*c = cJSON_GetObjectItem(e, "code");

	return cJSON_IsString(c) ? c->valuestring : "";
}
