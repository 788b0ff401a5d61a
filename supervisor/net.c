/*
 * Guest networking, pyrod's side.  pyrod decides; pyro-vmhelper does (it
 * alone touches TAP devices and nftables):
 *
 *	the pool	network_pool (pyrod.conf) cut into /30s, one per
 *			running networked VM; a lease lives exactly as long as
 *			its vmi, so after a pyrod restart (every VM went down
 *			with the old pyrod) the pool is whole again, and the
 *			sweep has removed what the old helpers left.
 *	egress rules	"allow_egress" strings, parsed here once into the
 *			record (normalised) and into the VM's start message.
 *	resolvers	network_dns, else the IPv4 nameservers of the host's
 *			/etc/resolv.conf, read at each boot.
 *	ip_forward	on when pyrod.conf says network_ip_forward = enable
 *			(the default), logged when pyrod turns it on.
 *	published	pyrod binds publish_address:HOST_PORT itself (so a
 *	ports		port in use is port_in_use, and ports below 1024 need
 *			no capability in the helper), then hands the socket
 *			to the VM's helper, which proxies to the guest.
 *	the sweep	a short-lived pyro-vmhelper removes TAP devices and
 *			nft tables of pyro's that no live VM owns: at start,
 *			after a networked VM's helper died, and every 5 min.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netrule.h"
#include "path.h"
#include "pyrod.h"

#define SWEEP_EVERY_MS	(5 * 60 * 1000)
#define POOL_SLOTS_MAX	65536

static uint8_t		*pool_used;
static uint32_t		 pool_slots;
static struct timer	*sweep_timer;
static int		 sweep_running, sweep_again;

static const char *
ipstr(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int
net_wanted(const struct record *r)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(r->doc, "network");
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(r->doc,
			    "network_policy");

	if (r->kind == REC_VM)
		return cJSON_IsTrue(n);
	return cJSON_IsString(p) && strcmp(p->valuestring, "off") != 0;
}

int
net_publish_allowed(const struct record *r)
{
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(r->doc,
			    "network_policy");

	return cJSON_IsString(p) && strcmp(p->valuestring,
	    "egress+published-ports") == 0;
}

/*
 * "allow_egress": an array of rule strings (or null).  Each is parsed; the
 * record keeps them normalised, so status shows what is enforced.
 */
int
net_rules_arg(const cJSON *args, cJSON *doc, int networked,
    struct pyro_status *st)
{
	const cJSON		*a = cJSON_GetObjectItemCaseSensitive(args,
				    "allow_egress"), *it;
	struct pyro_net_rule	 r;
	cJSON			*out;
	char			 why[160], text[NET_RULE_TEXT_MAX + 8];
	int			 n = 0;

	if (a == NULL || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "\"allow_egress\" "
		    "is a list of rules");
	if (cJSON_GetArraySize(a) == 0)
		return 0;
	if (!networked)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "egress rules "
		    "need a network: add --network (or --network-policy "
		    "egress)");
	if (cJSON_GetArraySize(a) > NET_RULES_MAX)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "at most %d egress "
		    "rules (got %d)", NET_RULES_MAX, cJSON_GetArraySize(a));
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(it, a) {
		n++;
		if (!cJSON_IsString(it) || netrule_parse(it->valuestring, &r,
		    why, sizeof(why)) < 0) {
			cJSON_Delete(out);
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "egress "
			    "rule %d: %s", n, cJSON_IsString(it) ? why :
			    "not a string");
		}
		netrule_format(&r, text, sizeof(text));
		cJSON_AddItemToArray(out, cJSON_CreateString(text));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "allow_egress");
	cJSON_AddItemToObject(doc, "allow_egress", out);
	return 0;
}

int
net_init(void)
{
	uint32_t	n = 1u << (30 - conf.net_pool_prefix);

	pool_slots = n > POOL_SLOTS_MAX ? POOL_SLOTS_MAX : n;
	if ((pool_used = calloc(pool_slots, 1)) == NULL)
		return -1;
	net_sweep();
	return 0;
}

int
net_lease_take(struct net_lease *l, const struct record *r,
    struct pyro_status *st)
{
	char		a[INET_ADDRSTRLEN];
	uint32_t	i;

	l->slot = -1;
	for (i = 0; i < pool_slots; i++)
		if (!pool_used[i])
			break;
	if (i == pool_slots)
		return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "the guest "
		    "address pool %s/%u is used up (%u networked VMs run); "
		    "stop one or widen network_pool in pyrod.conf",
		    ipstr(conf.net_pool, a), conf.net_pool_prefix,
		    pool_slots);
	pool_used[i] = 1;
	l->slot = (int)i;
	l->subnet = htonl(ntohl(conf.net_pool) + 4 * i);
	snprintf(l->tap, sizeof(l->tap), "%s%.10s", NET_TAP_PREFIX, r->id);
	return 0;
}

int
net_pool_slots(void)
{
	return (int)pool_slots;
}

void
net_lease_drop(struct net_lease *l)
{
	if (l->slot >= 0 && (uint32_t)l->slot < pool_slots)
		pool_used[l->slot] = 0;
	l->slot = -1;
}

/* The host's IPv4 resolvers: pyrod.conf's, else /etc/resolv.conf's. */
static uint32_t
resolvers(uint32_t *out)
{
	char		 line[256], addr[64];
	struct in_addr	 in;
	uint32_t	 n = 0;
	FILE		*f;

	if (conf.ndns > 0) {
		memcpy(out, conf.dns, conf.ndns * sizeof(out[0]));
		return conf.ndns;
	}
	if ((f = fopen("/etc/resolv.conf", "re")) == NULL)
		return 0;
	while (n < NET_RESOLVERS_MAX && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " nameserver %63s", addr) == 1 &&
		    inet_pton(AF_INET, addr, &in) == 1)
			out[n++] = in.s_addr;
	fclose(f);
	return n;
}

/* ip_forward on, if it is not and the configuration lets us. */
static int
forwarding(struct pyro_status *st)
{
	char	c = '0';
	int	fd;

	if ((fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR |
	    O_CLOEXEC)) < 0)
		return pyro_fail(st, PYRO_E_NETWORK_UNAVAILABLE, "cannot read "
		    "/proc/sys/net/ipv4/ip_forward: %s", strerror(errno));
	if (read(fd, &c, 1) == 1 && c == '1') {
		close(fd);
		return 0;
	}
	if (!conf.net_forward_enable) {
		close(fd);
		return pyro_fail(st, PYRO_E_NETWORK_UNAVAILABLE, "IPv4 "
		    "forwarding is off and pyrod.conf says network_ip_forward "
		    "= leave; turn on net.ipv4.ip_forward");
	}
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		close(fd);
		return pyro_fail(st, PYRO_E_NETWORK_UNAVAILABLE, "cannot turn "
		    "on IPv4 forwarding: %s", strerror(errno));
	}
	close(fd);
	log_info("turned on IPv4 forwarding (net.ipv4.ip_forward = 1) for "
	    "guest networking; network_ip_forward = leave in pyrod.conf "
	    "stops this");
	return 0;
}

int
net_vm_config(const struct record *r, const struct net_lease *l,
    struct pyro_vm_net *n, struct pyro_status *st)
{
	const cJSON	*rules = cJSON_GetObjectItemCaseSensitive(r->doc,
			    "allow_egress"), *it;
	char		 why[160];

	memset(n, 0, sizeof(*n));
	if (forwarding(st) < 0)
		return -1;
	n->enabled = 1;
	n->subnet = l->subnet;
	n->pool = conf.net_pool;
	n->pool_prefix = conf.net_pool_prefix;
	n->nresolvers = resolvers(n->resolvers);
	n->dns_qps = conf.dns_qps;
	n->proxy_mark = conf.proxy_mark;
	n->nblock = conf.nblock;
	memcpy(n->block, conf.block, sizeof(n->block));
	memcpy(n->block_prefix, conf.block_prefix, sizeof(n->block_prefix));
	pyro_strlcpy(n->tap, l->tap, sizeof(n->tap));
	cJSON_ArrayForEach(it, rules) {
		if (n->nrules >= NET_RULES_MAX || !cJSON_IsString(it) ||
		    netrule_parse(it->valuestring, &n->rules[n->nrules], why,
		    sizeof(why)) < 0)
			return pyro_fail(st, PYRO_E_INTERNAL, "the record's "
			    "egress rules do not parse");
		n->nrules++;
	}
	return 0;
}

/* The network part of status and network-info; takes pub (may be NULL). */
void
net_info(cJSON *o, const struct record *r, const struct net_lease *l,
    cJSON *pub)
{
	const cJSON	*rules = cJSON_GetObjectItemCaseSensitive(r->doc,
			    "allow_egress");
	char		 a[INET_ADDRSTRLEN];

	cJSON_AddBoolToObject(o, "enabled", net_wanted(r));
	if (r->kind == REC_WORKSPACE)
		cJSON_AddStringToObject(o, "policy", cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(r->doc,
		    "network_policy")));
	else
		cJSON_AddStringToObject(o, "policy", net_wanted(r) ? "egress" :
		    "off");
	cJSON_AddItemToObject(o, "allow_egress", rules ?
	    cJSON_Duplicate(rules, 1) : cJSON_CreateArray());
	if (l == NULL || l->slot < 0) {
		cJSON_AddNullToObject(o, "tap");
		cJSON_AddNullToObject(o, "guest_ip");
		cJSON_AddNullToObject(o, "gateway_ip");
		cJSON_AddNullToObject(o, "dns");
	} else {
		cJSON_AddStringToObject(o, "tap", l->tap);
		cJSON_AddStringToObject(o, "guest_ip", ipstr(htonl(ntohl(
		    l->subnet) + 2), a));
		cJSON_AddStringToObject(o, "gateway_ip", ipstr(htonl(ntohl(
		    l->subnet) + 1), a));
		cJSON_AddStringToObject(o, "dns", a);
		cJSON_AddNumberToObject(o, "prefix_length", 30);
	}
	cJSON_AddItemToObject(o, "published_ports", pub ? pub :
	    cJSON_CreateArray());
}

/* Below the host's ip_unprivileged_port_start (1024 unless changed)? */
int
net_port_privileged(uint32_t port)
{
	char	buf[16];
	int	start = 1024;

	if (pyro_read_small("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    buf, sizeof(buf)) > 0)
		start = atoi(buf);
	return (int)port < start;
}

/* What doctor shows of the configuration. */
void
net_doctor(cJSON *o)
{
	uint32_t	r[NET_RESOLVERS_MAX], n = resolvers(r);
	cJSON		*arr;
	char		 a[INET_ADDRSTRLEN], pool[40];

	snprintf(pool, sizeof(pool), "%s/%u", ipstr(conf.net_pool, a),
	    conf.net_pool_prefix);
	cJSON_AddStringToObject(o, "address_pool", pool);
	cJSON_AddNumberToObject(o, "pool_in_use", vmi_net_live(NULL, 0));
	cJSON_AddStringToObject(o, "publish_address", ipstr(conf.publish_addr,
	    a));
	arr = cJSON_AddArrayToObject(o, "blocked");
	for (uint32_t i = 0; i < conf.nblock; i++) {
		snprintf(pool, sizeof(pool), "%s/%u", ipstr(conf.block[i], a),
		    conf.block_prefix[i]);
		cJSON_AddItemToArray(arr, cJSON_CreateString(pool));
	}
	arr = cJSON_AddArrayToObject(o, "dns_upstream");
	for (uint32_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(ipstr(r[i], a)));
}

/* publish_address as text; buf holds INET_ADDRSTRLEN. */
const char *
net_publish_address(char *buf)
{
	return ipstr(conf.publish_addr, buf);
}

/*
 * Bind and listen on publish_address:port for the helper to serve.
 * Returns the socket, or -1 with port_in_use or the reason.
 */
int
net_publish_socket(uint32_t port, struct pyro_status *st)
{
	struct sockaddr_in	sa;
	int			fd, one = 1;
	char			a[INET_ADDRSTRLEN];

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = conf.publish_addr;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return pyro_fail(st, PYRO_E_INTERNAL, "socket: %s",
		    strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		if (e == EADDRINUSE)
			return pyro_fail(st, PYRO_E_PORT_IN_USE, "%s:%u is "
			    "already in use on the host", ipstr(
			    conf.publish_addr, a), port);
		return pyro_fail(st, PYRO_E_NETWORK_UNAVAILABLE, "cannot "
		    "listen on %s:%u: %s", ipstr(conf.publish_addr, a), port,
		    strerror(e));
	}
	return fd;
}

/*
 * "published_ports": ["H:G", ...] or [{"host_port": H, "guest_port": G}],
 * at most NET_PUBLISH_MAX, no host port twice.  Fills ports[] (pairs).
 */
int
net_ports_arg(const cJSON *args, uint32_t ports[][2], int *n,
    struct pyro_status *st)
{
	const cJSON	*pub = cJSON_GetObjectItemCaseSensitive(args,
			    "published_ports"), *it;
	unsigned long	 h, g;
	char		*end;

	*n = 0;
	if (pub == NULL || cJSON_IsNull(pub))
		return 0;
	if (!cJSON_IsArray(pub))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "\"published_ports\" is a list of \"HOST_PORT:GUEST_PORT\"");
	if (cJSON_GetArraySize(pub) > NET_PUBLISH_MAX)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "at most %d "
		    "published ports per service", NET_PUBLISH_MAX);
	cJSON_ArrayForEach(it, pub) {
		if (cJSON_IsObject(it)) {
			const cJSON *hp = cJSON_GetObjectItem(it, "host_port");
			const cJSON *gp = cJSON_GetObjectItem(it, "guest_port");

			h = cJSON_IsNumber(hp) && hp->valuedouble >= 0 &&
			    hp->valuedouble <= 65535 && hp->valuedouble ==
			    (double)(long)hp->valuedouble ?
			    (unsigned long)hp->valuedouble : 0;
			g = cJSON_IsNumber(gp) && gp->valuedouble >= 0 &&
			    gp->valuedouble <= 65535 && gp->valuedouble ==
			    (double)(long)gp->valuedouble ?
			    (unsigned long)gp->valuedouble : 0;
		} else if (cJSON_IsString(it)) {
			const char *s = it->valuestring;

			h = g = 0;
			if (*s >= '0' && *s <= '9') {
				h = strtoul(s, &end, 10);
				if (*end == ':' && end[1] >= '0' &&
				    end[1] <= '9') {
					g = strtoul(end + 1, &end, 10);
					if (*end != '\0' || strlen(s) > 11)
						g = 0;
				} else
					h = 0;
			}
		} else
			h = g = 0;
		if (h == 0 || h > 65535 || g == 0 || g > 65535)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "published port %d: HOST_PORT:GUEST_PORT, each "
			    "1-65535", *n + 1);
		for (int k = 0; k < *n; k++)
			if (ports[k][0] == h)
				return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
				    "host port %lu is published twice", h);
		ports[*n][0] = (uint32_t)h;
		ports[*n][1] = (uint32_t)g;
		(*n)++;
	}
	return 0;
}

/* ---- the sweep ---- */

static void
sweep_ready(struct helper *h, void *arg)
{
	static struct pyro_msg_net_sweep s;
	int				 n;

	memset(&s, 0, sizeof(s));
	/* A cut list would make live VMs look like leftovers: skip. */
	if ((n = vmi_net_live(NULL, 0)) > NET_SWEEP_LIVE_MAX) {
		log_warnx("network sweep skipped: %d networked VMs run, more "
		    "than one sweep can name (%d)", n, NET_SWEEP_LIVE_MAX);
		helper_shutdown(h);
		return;
	}
	s.nlive = (uint32_t)vmi_net_live(s.live, NET_SWEEP_LIVE_MAX);
	if (helper_send(h, PYRO_MSG_NET_SWEEP, &s, sizeof(s), -1) < 0)
		helper_kill(h, "cannot send the sweep");
}

static void
sweep_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct pyro_msg_net_swept r;

	if (m->hdr.type != PYRO_MSG_NET_SWEPT) {
		helper_kill(h, "sent an unexpected message");
		return;
	}
	memcpy(&r, m->payload, sizeof(r));
	if (r.taps || r.tables)
		log_info("network sweep: removed %u TAP device(s) and %u nft "
		    "table(s) that no VM owned", r.taps, r.tables);
	helper_shutdown(h);
}

/*
 * While a sweep runs, no networked VM is started (vmi waits for
 * vmi_sweep_done): a TAP or table made after the sweep took its list of
 * live names would otherwise look like a leftover.
 */
int
net_sweep_busy(void)
{
	return sweep_running;
}

static void
sweep_exit(struct helper *h, const char *why, void *arg)
{
	sweep_running = 0;
	if (sweep_again) {
		sweep_again = 0;
		net_sweep();
	}
	if (!sweep_running)
		vmi_sweep_done();
}

static const struct helper_ops sweep_ops = {
	sweep_msg, sweep_ready, sweep_exit
};

static void
sweep_tick(void *arg)
{
	sweep_timer = NULL;
	net_sweep();
	cgroup_sweep();
}

void
net_sweep(void)
{
	if (sweep_timer == NULL && !vmi_shutting_down())
		sweep_timer = timer_add(SWEEP_EVERY_MS, sweep_tick, NULL);
	if (sweep_running) {
		sweep_again = 1;
		return;
	}
	if (vmi_shutting_down())
		return;
	if (helper_spawn(HELPER_VM, "network sweep", &sweep_ops,
	    NULL) == NULL) {
		log_warnx("cannot start the network sweep");
		return;
	}
	sweep_running = 1;
}

void
net_shutdown(void)
{
	timer_cancel(sweep_timer);
	sweep_timer = NULL;
}
