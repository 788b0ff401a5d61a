/*
 * Published ports: a TCP proxy from a host port to the guest.  pyrod binds
 * and listens on 127.0.0.1:HOST_PORT (or the configured address) and hands
 * us the socket; we accept, connect from the gateway to GUEST:PORT over
 * the TAP, and copy both ways.  A proxy rather than DNAT: it needs no
 * route_localnet (which would let the whole host route 127/8), a port
 * already used by a host service fails at pyrod's bind() as port_in_use
 * instead of being silently shadowed by a DNAT rule, and unpublishing is
 * closing a socket.  The guest's side is just TCP bytes: nothing here
 * parses them.  At most PROXY_CONNS_MAX connections per VM; past that a
 * new one is accepted and closed at once.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vmhelper.h"

#define PUBLISH_MAX		16
#define PROXY_CONNS_MAX		64
#define PROXY_BUF		16384

struct listener {
	int		fd;		/* -1: free */
	uint32_t	host_port, guest_port;
};

struct half {
	uint8_t		buf[PROXY_BUF];
	size_t		len, off;
	int		eof;		/* the reading side ended */
};

struct conn {
	int		used;
	int		c, g;		/* client, guest */
	int		connecting;
	int		hup_c, hup_g;	/* that side hung up: not polled */
	uint32_t	host_port;
	struct half	up, down;	/* client->guest, guest->client */
};

static struct listener	ls[PUBLISH_MAX] = {
	[0 ... PUBLISH_MAX - 1] = { -1, 0, 0 }
};
static struct conn	cs[PROXY_CONNS_MAX];

/* What each pollfd slot of the last proxy_pollfds() stands for. */
static struct { int kind, idx; } slot[PUBLISH_MAX + 2 * PROXY_CONNS_MAX];

static void
conn_close(struct conn *c)
{
	if (c->c >= 0)
		close(c->c);
	if (c->g >= 0)
		close(c->g);
	c->used = 0;
}

int
proxy_publish(uint32_t host_port, uint32_t guest_port, int fd)
{
	int	i;

	if (host_port == 0 || host_port > 65535 || guest_port == 0 ||
	    guest_port > 65535 || net_tap_fd() < 0)
		return -EINVAL;
	for (i = 0; i < PUBLISH_MAX; i++)
		if (ls[i].fd >= 0 && ls[i].host_port == host_port)
			return -EADDRINUSE;
	for (i = 0; i < PUBLISH_MAX; i++)
		if (ls[i].fd < 0) {
			ls[i].fd = fd;
			ls[i].host_port = host_port;
			ls[i].guest_port = guest_port;
			return 0;
		}
	return -ENOSPC;
}

/* The port closes, and so does every connection through it. */
void
proxy_unpublish(uint32_t host_port)
{
	for (int i = 0; i < PUBLISH_MAX; i++)
		if (ls[i].fd >= 0 && ls[i].host_port == host_port) {
			close(ls[i].fd);
			ls[i].fd = -1;
		}
	for (int i = 0; i < PROXY_CONNS_MAX; i++)
		if (cs[i].used && cs[i].host_port == host_port)
			conn_close(&cs[i]);
}

void
proxy_close_all(void)
{
	for (int i = 0; i < PUBLISH_MAX; i++)
		if (ls[i].fd >= 0)
			proxy_unpublish(ls[i].host_port);
}

static void
on_accept(struct listener *l)
{
	struct sockaddr_in	 sa;
	struct conn		*c = NULL;
	int			 fd;

	if ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) < 0)
		return;
	for (int i = 0; i < PROXY_CONNS_MAX && c == NULL; i++)
		if (!cs[i].used)
			c = &cs[i];
	if (c == NULL) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->c = fd;
	c->host_port = l->host_port;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)l->guest_port);
	sa.sin_addr.s_addr = net_guest_addr();
	if ((c->g = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		close(fd);
		return;
	}
	c->used = 1;
	/* The VM's output chain lets only marked sockets open connections. */
	if (setsockopt(c->g, SOL_SOCKET, SO_MARK, &(unsigned){
	    net_proxy_mark() }, sizeof(unsigned)) < 0) {
		log_warn("SO_MARK");
		conn_close(c);
		return;
	}
	if (connect(c->g, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return;
	if (errno != EINPROGRESS) {
		conn_close(c);
		return;
	}
	c->connecting = 1;
}

/*
 * What each side wants.  up = client -> guest, down = guest -> client.
 * A side that hung up (POLLHUP: the peer closed both ways) takes nothing
 * more: what was queued for it is dropped, and its own data is still read
 * to the end and delivered.  A side that wants nothing is not polled, or
 * poll would report its hang-up at once, forever.
 */
static short
wants(const struct conn *c, int side)
{
	const struct half	*rd = side == 1 ? &c->up : &c->down;
	const struct half	*wr = side == 1 ? &c->down : &c->up;
	int			 hup_peer = side == 1 ? c->hup_g : c->hup_c;
	short			 ev = 0;

	if (side == 2 && c->connecting)
		return POLLOUT;
	if (c->connecting)
		return 0;
	if (rd->len == 0 && !rd->eof && !hup_peer)
		ev |= POLLIN;
	if (wr->len > 0)
		ev |= POLLOUT;
	return ev;
}

int
proxy_pollfds(struct pollfd *pfd, int max)
{
	int	n = 0;

	for (int i = 0; i < PUBLISH_MAX && n < max; i++) {
		if (ls[i].fd < 0)
			continue;
		pfd[n].fd = ls[i].fd;
		pfd[n].events = POLLIN;
		slot[n].kind = 0;
		slot[n++].idx = i;
	}
	for (int i = 0; i < PROXY_CONNS_MAX && n + 2 <= max; i++) {
		struct conn *c = &cs[i];

		if (!c->used)
			continue;
		for (int side = 1; side <= 2; side++) {
			pfd[n].events = wants(c, side);
			pfd[n].fd = pfd[n].events == 0 ? -1 : side == 1 ?
			    c->c : c->g;
			slot[n].kind = side;
			slot[n++].idx = i;
		}
	}
	return n;
}

/* Read from one side into h; 0, or -1 when the connection is done for. */
static int
fill(int fd, struct half *h, int peer)
{
	ssize_t	r = read(fd, h->buf, sizeof(h->buf));

	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (r == 0) {
		h->eof = 1;
		(void)shutdown(peer, SHUT_WR);
		return 0;
	}
	h->len = (size_t)r;
	h->off = 0;
	return 0;
}

static int
drain(int fd, struct half *h)
{
	ssize_t	w = send(fd, h->buf + h->off, h->len - h->off,
	    MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	h->off += (size_t)w;
	if (h->off == h->len)
		h->len = h->off = 0;
	return 0;
}

/* Both directions ended and what they carried was delivered (or dropped
 * because its side hung up). */
static int
conn_done(const struct conn *c)
{
	return c->up.eof && c->up.len == 0 && c->down.eof &&
	    c->down.len == 0;
}

/* side hung up: nothing more goes to it, nothing more is read for it. */
static void
hang_up(struct conn *c, int side)
{
	struct half	*to = side == 1 ? &c->down : &c->up;

	if (side == 1)
		c->hup_c = 1;
	else
		c->hup_g = 1;
	to->len = to->off = 0;
	to->eof = 1;
}

static void
conn_event(struct conn *c, int side, short rev)
{
	int	fd = side == 1 ? c->c : c->g, err = 0, rc = 0;
	socklen_t len = sizeof(err);
	struct half *rd = side == 1 ? &c->up : &c->down;
	struct half *wr = side == 1 ? &c->down : &c->up;

	if (rev & (POLLERR | POLLNVAL)) {
		conn_close(c);		/* a reset: nothing more will pass */
		return;
	}
	if (side == 2 && c->connecting) {
		if (!(rev & (POLLOUT | POLLHUP)))
			return;
		if (getsockopt(c->g, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			conn_close(c);	/* nothing listens in the guest */
			return;
		}
		c->connecting = 0;
		return;
	}
	if ((rev & POLLOUT) && wr->len > 0)
		rc = drain(fd, wr);
	if (rc == 0 && (rev & (POLLIN | POLLHUP)) && rd->len == 0 && !rd->eof)
		rc = fill(fd, rd, side == 1 ? c->g : c->c);
	if (rev & POLLHUP)
		hang_up(c, side);
	if (rc < 0 || conn_done(c))
		conn_close(c);
}

void
proxy_events(const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (slot[i].kind == 0) {
			if (ls[slot[i].idx].fd == pfd[i].fd)
				on_accept(&ls[slot[i].idx]);
			continue;
		}
		struct conn *c = &cs[slot[i].idx];
		if (c->used && (slot[i].kind == 1 ? c->c : c->g) == pfd[i].fd)
			conn_event(c, slot[i].kind, pfd[i].revents);
	}
}
