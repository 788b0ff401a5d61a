/*
 * Talking to one Firecracker: its API socket (one request, one response,
 * on a kept-alive connection) and its hybrid vsock (CONNECT, then a byte
 * stream to the guest's agent).  The sockets live in the jail, whose path
 * can be longer than sun_path's 108 bytes: each is opened O_PATH (never
 * through a symlink) and reached through /proc/self/fd/N.  Every wait,
 * the connect's too, has a deadline; every answer goes through fcapi.c's
 * strict readers.  Not reentrant (one VM per helper).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fcapi.h"
#include "fcclient.h"

/* Wait for fd until the deadline: 1 ready, 0 timed out, -errno. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	p = { fd, ev, 0 };
	long long	left;
	int		rc;

	for (;;) {
		left = deadline - pyro_mono_ms();
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * A stream socket to dirfd/name, in timeout_ms: the fd, or -errno.  name
 * must be a socket itself, not a symlink: Firecracker may write the
 * jail's /run, and a VMM a guest took over could otherwise point us at
 * any socket of the host.  The connect does not block: a listener whose
 * backlog is full would hold a blocking one forever.
 */
int
fc_connect(int dirfd, const char *name, int timeout_ms)
{
	struct sockaddr_un	sa;
	struct stat		st;
	long long		deadline = pyro_mono_ms() + timeout_ms;
	socklen_t		len = sizeof(int);
	int			fd, pfd, e = 0, rc;

	if (strchr(name, '/') != NULL)
		return -EINVAL;
	if ((pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(pfd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		close(pfd);
		return -ENOTSOCK;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", pfd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		e = errno;
		close(pfd);
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		/* AF_UNIX: EAGAIN is a full backlog, not a connect begun. */
		if (e == EINPROGRESS) {
			if ((rc = wait_fd(fd, POLLOUT, deadline)) <= 0)
				e = rc < 0 ? -rc : ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) < 0)
				e = errno;
		}
	}
	close(pfd);
	/* Connected: a blocking fd, as the agent's channel is read. */
	if (e == 0 && fcntl(fd, F_SETFL, 0) < 0)
		e = errno;
	if (e != 0) {
		close(fd);
		return -e;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n, long long deadline)
{
	ssize_t	k;
	int	rc;

	while (n > 0) {
		if ((rc = wait_fd(fd, POLLOUT, deadline)) <= 0)
			return rc < 0 ? rc : -ETIMEDOUT;
		k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
fc_call(int fd, const struct fc_req *r, struct fc_resp *rp, int timeout_ms)
{
	static char	buf[FC_BODY_MAX + 1024];
	static char	in[FC_RESP_MAX + 8192];
	long long	deadline = pyro_mono_ms() + timeout_ms;
	size_t		have = 0;
	ssize_t		k;
	int		n, rc;

	memset(rp, 0, sizeof(*rp));
	if ((n = fc_http_request(r, buf, sizeof(buf))) < 0) {
		snprintf(rp->fault, sizeof(rp->fault), "the request to %s "
		    "does not fit", r->path);
		return -1;
	}
	/* Not shutdown(SHUT_WR) after it: Firecracker would drop the reply. */
	if ((rc = send_all(fd, buf, (size_t)n, deadline)) < 0) {
		snprintf(rp->fault, sizeof(rp->fault), "sending %s %s: %s",
		    r->method, r->path, strerror(-rc));
		return -1;
	}
	for (;;) {
		if ((rc = wait_fd(fd, POLLIN, deadline)) <= 0) {
			snprintf(rp->fault, sizeof(rp->fault), "no answer to "
			    "%s %s in %d ms", r->method, r->path, timeout_ms);
			return -1;
		}
		k = recv(fd, in + have, sizeof(in) - have, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			snprintf(rp->fault, sizeof(rp->fault), "Firecracker "
			    "closed its API socket during %s %s", r->method,
			    r->path);
			return -1;
		}
		have += (size_t)k;
		if ((n = fc_http_response(in, have, rp)) < 0)
			return -1;
		if (n > 0)
			break;
		if (have == sizeof(in)) {
			snprintf(rp->fault, sizeof(rp->fault), "an answer "
			    "over %zu bytes", sizeof(in));
			return -1;
		}
	}
	/* One request in flight at a time: nothing may follow the answer. */
	if ((size_t)n != have) {
		snprintf(rp->fault, sizeof(rp->fault), "bytes after the "
		    "answer to %s %s", r->method, r->path);
		return -1;
	}
	return rp->status >= 200 && rp->status < 300 ? 0 : -1;
}

int
fc_vsock_open(int dirfd, const char *name, unsigned port, int timeout_ms,
    char *err, size_t errsz)
{
	int	fd;

	if ((fd = fc_connect(dirfd, name, timeout_ms)) < 0) {
		snprintf(err, errsz, "connecting to the vsock socket: %s",
		    strerror(-fd));
		return -1;
	}
	return fc_vsock_handshake(fd, port, timeout_ms, err, errsz);
}

int
fc_vsock_handshake(int fd, unsigned port, int timeout_ms, char *err,
    size_t errsz)
{
	long long	deadline = pyro_mono_ms() + timeout_ms;
	char		line[32], in[32];
	unsigned	host_port;
	size_t		have = 0;
	ssize_t		k;
	int		n, rc;

	if ((n = fc_vsock_connect_line(port, line, sizeof(line))) < 0 ||
	    send_all(fd, line, (size_t)n, deadline) < 0) {
		snprintf(err, errsz, "sending CONNECT %u", port);
		close(fd);
		return -1;
	}
	/* Byte by byte: what follows the line is the agent's, not ours. */
	for (;;) {
		if ((rc = wait_fd(fd, POLLIN, deadline)) <= 0) {
			snprintf(err, errsz, "no answer to CONNECT %u in %d ms",
			    port, timeout_ms);
			break;
		}
		k = recv(fd, in + have, 1, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			/* Firecracker closes when the guest does not listen. */
			snprintf(err, errsz, "the guest refused vsock port %u "
			    "(nothing listens there yet)", port);
			break;
		}
		have++;
		if ((n = fc_vsock_ok(in, have, &host_port)) < 0) {
			snprintf(err, errsz, "the vsock answered CONNECT with "
			    "something other than OK");
			break;
		}
		if (n > 0)
			return fd;
	}
	close(fd);
	return -1;
}
