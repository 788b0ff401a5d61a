#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"

static struct pyro_msg	m;

static int
wait_readable(int timeout_ms)
{
	struct pollfd	pfd = { .fd = PYRO_HELPER_FD, .events = POLLIN };
	int		rc;

	do {
		rc = poll(&pfd, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

int
helper_recv_hello(enum pyro_peer self, struct pyro_msg_hello *hello)
{
	int	rc;

	if (fcntl(PYRO_HELPER_FD, F_GETFD) < 0) {
		log_warnx("no socket on fd %d: helpers are started by pyrod",
		    PYRO_HELPER_FD);
		return -1;
	}
	if (wait_readable(HELPER_HELLO_WAIT_MS) <= 0) {
		log_warnx("no hello from pyrod");
		return -1;
	}
	rc = pyro_msg_recv(PYRO_HELPER_FD, &m, self, PEER_SUPERVISOR);
	if (rc < 0 || m.hdr.type != PYRO_MSG_HELLO) {
		if (rc == 0 && m.fd >= 0)
			close(m.fd);
		log_warnx("expected a valid hello from pyrod");
		return -1;
	}
	memcpy(hello, m.payload, sizeof(*hello));
	if (hello->version != PYRO_MSG_VERSION) {
		log_warnx("protocol version %u, expected %u", hello->version,
		    PYRO_MSG_VERSION);
		return -1;
	}
	return 0;
}

int
helper_send_ack(void)
{
	struct pyro_msg_hello_ack	ack;

	memset(&ack, 0, sizeof(ack));
	ack.version = PYRO_MSG_VERSION;
	ack.pid = (uint32_t)getpid();
	return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_HELLO_ACK, 0, &ack,
	    sizeof(ack), -1);
}

int
helper_send_error(uint32_t id, int err, const char *fmt, ...)
{
	struct pyro_msg_error	e;
	va_list			ap;

	memset(&e, 0, sizeof(e));
	e.err = err;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_ERROR, id, &e,
	    sizeof(e), -1);
}

int
helper_serve(enum pyro_peer self, helper_handler fn, void *arg)
{
	int	rc;

	for (;;) {
		if (wait_readable(-1) < 0)
			return -1;
		rc = pyro_msg_recv(PYRO_HELPER_FD, &m, self, PEER_SUPERVISOR);
		if (rc == -EAGAIN)
			continue;
		if (rc == -ECONNRESET)
			return 0;	/* pyrod went away: we go too */
		if (rc < 0) {
			log_warnx("invalid message from pyrod; exiting");
			return -1;
		}
		switch (m.hdr.type) {
		case PYRO_MSG_PING:
			rc = pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_PONG,
			    m.hdr.id, NULL, 0, -1);
			break;
		case PYRO_MSG_SHUTDOWN:
			rc = 1;
			break;
		case PYRO_MSG_HELLO:
			log_warnx("second hello from pyrod; exiting");
			rc = -1;
			break;
		default:
			rc = fn(&m, arg);
			break;
		}
		if (m.fd >= 0)
			close(m.fd);
		m.fd = -1;
		if (rc != 0)
			return rc > 0 ? 0 : -1;
	}
}

int
helper_main(const char *name, enum pyro_peer self, int argc,
    int (*sandbox)(const struct pyro_msg_hello *),
    int (*serve)(const struct pyro_msg_hello *))
{
	struct pyro_msg_hello	hello;
	int			rc;

	log_init(name, 1, 0);
	if (argc != 1) {
		log_warnx("takes no arguments; it is started by pyrod");
		return 2;
	}
	if (helper_recv_hello(self, &hello) < 0)
		return 1;
	log_setverbose((int)hello.verbose);
	/* From here on the helper holds only what its job needs. */
	if ((rc = sandbox(&hello)) < 0) {
		log_warnx("cannot enter the sandbox: %s", strerror(-rc));
		return 1;
	}
	if (helper_send_ack() < 0)
		return 1;
	return serve(&hello) < 0 ? 1 : 0;
}
