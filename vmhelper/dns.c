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
 * (dns_parse_query); replies are taken only from a configured resolver's
 * port 53, only for a query in flight with a random id, and only if they
 * parse.  With name rules, a name that matches none is answered REFUSED
 * here and never leaves the host; an answer's A records (following
 * CNAMEs) are put into the table's "allowed" set before the guest sees
 * the reply.  Queries are rate-limited (a token bucket of dns_qps per
 * second, burst 2x) and at most PENDING_MAX are in flight; past either the
 * query is dropped, and the forwarder stays up.
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

#define PENDING_MAX	128
#define QUERY_WAIT_MS	3000
#define DNS_BUF		4096

struct pending {
	int			used;
	uint16_t		our_id;
	struct dns_question	q;
	struct sockaddr_in	from;
	long long		deadline;
};

static struct {
	int			 gsock, usock;
	const struct pyro_vm_net *cfg;
	uint32_t		 gw, guest;
	int			 names;		/* any NAME rule */
	double			 tokens;
	long long		 refill_ms;
	uint32_t		 dropped;
	struct pending		 p[PENDING_MAX];
} d = { .gsock = -1, .usock = -1 };

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
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].kind == NET_RULE_NAME)
			d.names = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = gw;
	if ((d.gsock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0 || bind(d.gsock, (struct sockaddr *)&sa,
	    sizeof(sa)) < 0 || getsockname(d.gsock, (struct sockaddr *)&sa,
	    &len) < 0 || (d.usock = socket(AF_INET, SOCK_DGRAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errsz, "the DNS forwarder's sockets: %s",
		    strerror(errno));
		return -1;
	}
	return ntohs(sa.sin_port);
}

void
dns_close(void)
{
	if (d.gsock >= 0)
		close(d.gsock);
	if (d.usock >= 0)
		close(d.usock);
	d.gsock = d.usock = -1;
}

int
dns_pollfds(struct pollfd *pfd)
{
	if (d.gsock < 0)
		return 0;
	pfd[0].fd = d.gsock;
	pfd[0].events = POLLIN;
	pfd[1].fd = d.usock;
	pfd[1].events = POLLIN;
	return 2;
}

static int
allowed(const char *name)
{
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

static void
upstream_send(struct pending *p, uint8_t *msg, size_t len)
{
	struct sockaddr_in	sa;
	static uint32_t		next;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	sa.sin_addr.s_addr = d.cfg->resolvers[next++ % d.cfg->nresolvers];
	msg[0] = (uint8_t)(p->our_id >> 8);
	msg[1] = (uint8_t)p->our_id;
	(void)sendto(d.usock, msg, len, MSG_DONTWAIT, (struct sockaddr *)&sa,
	    sizeof(sa));
	p->deadline = pyro_mono_ms() + QUERY_WAIT_MS;
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
		if (!d.p[i].used)
			p = &d.p[i];
	if (p == NULL)
		return;		/* too many in flight: the guest retries */
	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->q = q;
	p->from = from;
	if (getrandom(&p->our_id, sizeof(p->our_id), 0) != sizeof(p->our_id))
		p->our_id = (uint16_t)pyro_mono_ms();
	upstream_send(p, msg, (size_t)n);
}

static int
from_resolver(const struct sockaddr_in *sa)
{
	if (sa->sin_family != AF_INET || sa->sin_port != htons(53))
		return 0;
	for (uint32_t i = 0; i < d.cfg->nresolvers; i++)
		if (d.cfg->resolvers[i] == sa->sin_addr.s_addr)
			return 1;
	return 0;
}

static void
on_reply(void)
{
	static uint8_t		 msg[DNS_BUF];
	struct dns_a		 a[DNS_ANSWERS_MAX];
	struct sockaddr_in	 from;
	socklen_t		 flen = sizeof(from);
	struct pending		*p = NULL;
	ssize_t			 n;
	uint16_t		 id;
	int			 k;

	n = recvfrom(d.usock, msg, sizeof(msg), 0, (struct sockaddr *)&from,
	    &flen);
	if (n < DNS_HDR_LEN || !from_resolver(&from))
		return;
	id = (uint16_t)(msg[0] << 8 | msg[1]);
	for (int i = 0; i < PENDING_MAX && p == NULL; i++)
		if (d.p[i].used && d.p[i].our_id == id)
			p = &d.p[i];
	if (p == NULL)
		return;
	/* Back to the guest's id, then check the reply against its question. */
	msg[0] = (uint8_t)(p->q.id >> 8);
	msg[1] = (uint8_t)p->q.id;
	k = dns_parse_reply(msg, (size_t)n, &p->q, a, DNS_ANSWERS_MAX);
	if (k < 0)
		return;		/* not the answer; keep waiting */
	if (d.names)
		for (int i = 0; i < k; i++)
			if (net_allow_addr(a[i].addr, a[i].ttl) < 0)
				log_warnx("cannot admit an answered address");
	to_guest(&p->from, msg, (size_t)n);
	p->used = 0;
}

/* A query unanswered in time: SERVFAIL, and its slot is free again. */
void
dns_tick(void)
{
	static uint8_t	msg[DNS_BUF];
	long long	now = pyro_mono_ms();

	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &d.p[i];

		if (!p->used || now < p->deadline)
			continue;
		p->used = 0;
		/* We keep no copy of the query; the guest's own retry
		 * (resolv.conf's attempts) asks again.  Say it failed. */
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
		if (d.p[i].used && (best < 0 || d.p[i].deadline < best))
			best = d.p[i].deadline;
	if (best < 0)
		return -1;
	return best <= now ? 0 : (int)(best - now);
}

void
dns_events(const struct pollfd *pfd)
{
	if (pfd[0].revents & POLLIN)
		on_query();
	if (pfd[1].revents & POLLIN)
		on_reply();
}
