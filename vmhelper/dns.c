/*
 * The VM's DNS forwarder: the guest's only resolver.  A UDP socket on the
 * gateway address (an ephemeral port; the table redirects the guest's
 * port 53 to it, so the helper needs no CAP_NET_BIND_SERVICE) takes the
 * guest's queries and sends them on from a second socket to the host's
 * resolvers (pyrod read them from its configuration or /etc/resolv.conf,
 * which is why a host stub on 127.0.0.53 works: we ask it from the host).
 *
 * Trust boundary: every query is guest bytes, every reply bytes from a
 * resolver the guest can steer.  Queries must parse as one question
 * (dns_parse_query).  Each query goes upstream from its own socket,
 * connected to one resolver's port 53 (so the kernel drops datagrams
 * from anywhere else) on a fresh random port, with a random id: a forged
 * reply must guess both.  A reply must parse and answer the question.
 * With allow rules but no name rule, every name is REFUSED (DNS would be
 * a way out otherwise); with name rules, a name that matches none is
 * REFUSED here and never leaves the host, and an answer's A records
 * (following CNAMEs) are put into the table's "allowed" set, in one
 * transaction, before the guest sees the reply.  Queries are rate-limited
 * (a token bucket of dns_qps per second, burst 2x) and at most
 * PENDING_MAX are in flight; past either the query is dropped, and the
 * forwarder stays up.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "vmhelper.h"

#define PENDING_MAX	64
#define QUERY_WAIT_MS	3000
#define DNS_BUF		4096

struct pending {
	int			fd;		/* -1: free */
	uint16_t		our_id;
	struct dns_question	q;
	struct sockaddr_in	from;
	long long		deadline;
};

static struct {
	int			 gsock;
	const struct pyro_vm_net *cfg;
	uint32_t		 gw, guest;
	int			 names;		/* any NAME rule */
	int			 refuse_all;	/* CIDR rules only */
	double			 tokens;
	long long		 refill_ms;
	uint32_t		 dropped;
	struct pending		 p[PENDING_MAX];
	int			 slot[PENDING_MAX];	/* pollfd -> pending */
	int			 nslot;
} d = { .gsock = -1 };

int
dns_open(const struct pyro_vm_net *cfg, uint32_t gw, char *err,
    size_t errsz)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);

	d.cfg = cfg;
	d.gw = gw;
	d.guest = htonl(ntohl(gw) + 1);
	d.tokens = cfg->dns_qps;
	d.refill_ms = pyro_mono_ms();
	for (int i = 0; i < PENDING_MAX; i++)
		d.p[i].fd = -1;
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].kind == NET_RULE_NAME)
			d.names = 1;
	d.refuse_all = cfg->nrules > 0 && !d.names;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = gw;
	if ((d.gsock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0 || bind(d.gsock, (struct sockaddr *)&sa,
	    sizeof(sa)) < 0 || getsockname(d.gsock, (struct sockaddr *)&sa,
	    &len) < 0) {
		snprintf(err, errsz, "the DNS forwarder's socket: %s",
		    strerror(errno));
		return -1;
	}
	return ntohs(sa.sin_port);
}

static void
pending_free(struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void
dns_close(void)
{
	if (d.gsock >= 0)
		close(d.gsock);
	d.gsock = -1;
	for (int i = 0; i < PENDING_MAX; i++)
		pending_free(&d.p[i]);
}

/* The guest's socket, then one per query in flight. */
int
dns_pollfds(struct pollfd *pfd)
{
	int	n = 0;

	if (d.gsock < 0)
		return 0;
	pfd[n].fd = d.gsock;
	pfd[n++].events = POLLIN;
	d.nslot = 0;
	for (int i = 0; i < PENDING_MAX; i++)
		if (d.p[i].fd >= 0) {
			pfd[n].fd = d.p[i].fd;
			pfd[n++].events = POLLIN;
			d.slot[d.nslot++] = i;
		}
	return n;
}

static int
allowed(const char *name)
{
	if (d.refuse_all)
		return 0;
	if (!d.names)
		return 1;
	for (uint32_t i = 0; i < d.cfg->nrules; i++)
		if (netrule_name_match(&d.cfg->rules[i], name))
			return 1;
	return 0;
}

static int
take_token(void)
{
	long long	now = pyro_mono_ms();
	double		cap = 2.0 * d.cfg->dns_qps;

	d.tokens += (double)(now - d.refill_ms) * d.cfg->dns_qps / 1000.0;
	d.refill_ms = now;
	if (d.tokens > cap)
		d.tokens = cap;
	if (d.tokens < 1.0)
		return 0;
	d.tokens -= 1.0;
	return 1;
}

/* A fresh socket on a random port, connected to the next resolver. */
static int
upstream_send(struct pending *p, uint8_t *msg, size_t len)
{
	static uint32_t		next;
	struct sockaddr_in	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	sa.sin_addr.s_addr = d.cfg->resolvers[next++ % d.cfg->nresolvers];
	if ((p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pending_free(p);
		return -1;
	}
	msg[0] = (uint8_t)(p->our_id >> 8);
	msg[1] = (uint8_t)p->our_id;
	if (send(p->fd, msg, len, MSG_DONTWAIT) < 0) {
		pending_free(p);
		return -1;
	}
	p->deadline = pyro_mono_ms() + QUERY_WAIT_MS;
	return 0;
}

static void
to_guest(const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	(void)sendto(d.gsock, msg, len, MSG_DONTWAIT,
	    (const struct sockaddr *)to, sizeof(*to));
}

static void
on_query(void)
{
	static uint8_t		msg[DNS_BUF];
	struct dns_question	q;
	struct sockaddr_in	from;
	socklen_t		flen = sizeof(from);
	struct pending		*p = NULL;
	ssize_t			n;

	n = recvfrom(d.gsock, msg, sizeof(msg), 0, (struct sockaddr *)&from,
	    &flen);
	if (n <= 0 || from.sin_family != AF_INET ||
	    from.sin_addr.s_addr != d.guest)
		return;
	if (!take_token()) {
		if (d.dropped++ % 1000 == 0)
			log_warnx("the guest floods DNS; queries dropped "
			    "(%u so far)", d.dropped);
		return;
	}
	if (dns_parse_query(msg, (size_t)n, &q) < 0)
		return;		/* not a query we answer */
	if (!allowed(q.name) || d.cfg->nresolvers == 0) {
		to_guest(&from, msg, dns_make_error(msg, &q,
		    d.cfg->nresolvers == 0 ? DNS_RCODE_SERVFAIL :
		    DNS_RCODE_REFUSED));
		return;
	}
	for (int i = 0; i < PENDING_MAX && p == NULL; i++)
		if (d.p[i].fd < 0)
			p = &d.p[i];
	if (p == NULL)
		return;		/* too many in flight: the guest retries */
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->q = q;
	p->from = from;
	if (getrandom(&p->our_id, sizeof(p->our_id), 0) != sizeof(p->our_id))
		p->our_id = (uint16_t)pyro_mono_ms();
	if (upstream_send(p, msg, (size_t)n) < 0)
		to_guest(&from, msg, dns_make_error(msg, &q,
		    DNS_RCODE_SERVFAIL));
}

static void
on_reply(struct pending *p)
{
	static uint8_t		 msg[DNS_BUF];
	struct dns_a		 a[DNS_ANSWERS_MAX];
	ssize_t			 n;
	int			 k;

	n = recv(p->fd, msg, sizeof(msg), MSG_DONTWAIT);
	if (n < DNS_HDR_LEN || (uint16_t)(msg[0] << 8 | msg[1]) !=
	    p->our_id)
		return;		/* ICMP errors, strays: keep waiting */
	/* Back to the guest's id, then check the reply against its question. */
	msg[0] = (uint8_t)(p->q.id >> 8);
	msg[1] = (uint8_t)p->q.id;
	k = dns_parse_reply(msg, (size_t)n, &p->q, a, DNS_ANSWERS_MAX);
	if (k < 0)
		return;		/* not the answer; keep waiting */
	if (d.names && k > 0 && net_allow_addrs(a, k) < 0)
		log_warnx("cannot admit the answered addresses");
	to_guest(&p->from, msg, (size_t)n);
	pending_free(p);
}

/* A query unanswered in time: SERVFAIL, and its slot is free again. */
void
dns_tick(void)
{
	static uint8_t	msg[DNS_BUF];
	long long	now = pyro_mono_ms();

	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &d.p[i];

		if (p->fd < 0 || now < p->deadline)
			continue;
		pending_free(p);
		/* We keep no copy of the query: header only.  The guest's
		 * resolver retries (resolv.conf's attempts). */
		memset(msg, 0, DNS_HDR_LEN);
		msg[0] = (uint8_t)(p->q.id >> 8);
		msg[1] = (uint8_t)p->q.id;
		msg[2] = 0x81;		/* QR, RD */
		msg[3] = 0x80 | DNS_RCODE_SERVFAIL;
		to_guest(&p->from, msg, DNS_HDR_LEN);
	}
}

int
dns_next_deadline(void)
{
	long long	now = pyro_mono_ms(), best = -1;

	for (int i = 0; i < PENDING_MAX; i++)
		if (d.p[i].fd >= 0 && (best < 0 || d.p[i].deadline < best))
			best = d.p[i].deadline;
	if (best < 0)
		return -1;
	return best <= now ? 0 : (int)(best - now);
}

void
dns_events(const struct pollfd *pfd, int n)
{
	for (int i = 1; i < n && i - 1 < d.nslot; i++) {
		struct pending *p = &d.p[d.slot[i - 1]];

		if ((pfd[i].revents & (POLLIN | POLLERR)) &&
		    p->fd == pfd[i].fd)
			on_reply(p);
	}
	if (pfd[0].revents & POLLIN)
		on_query();
}
