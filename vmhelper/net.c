/*
 * The network of one VM, owned by its pyro-vmhelper:
 *
 *	TAP "pyro-<10 hex of the id>"	/dev/net/tun, TUNSETIFF, not
 *					persistent: it vanishes with the last
 *					fd (ours and QEMU's), so a SIGKILLed
 *					helper leaves no device behind.
 *	gateway .1/30 on the TAP	libnl-route-3, link up.
 *	table inet "pyro_<same hex>"	libnftables: every rule of this VM
 *					in one table, so teardown is one
 *					"delete table"; pyrod's sweep removes
 *					tables whose helper was killed.
 *
 * The table (N = the /30, G = gateway, V = guest, D = the DNS forwarder's
 * port on G):
 *   prerouting nat:  from the TAP to G udp 53 -> redirect to D
 *   postrouting nat: from V out of any other interface -> masquerade
 *   input:   from the TAP: no IPv6, nothing not from V; packets of
 *            connections the host opened (published ports) and udp to D
 *            pass; the rest is dropped, so no host service (0.0.0.0 or
 *            not) is reachable from a guest
 *   output:  to the TAP: replies, and new connections from the proxy
 *            (marked) only: no other host process reaches a guest
 *   forward: from the TAP -> chain egress; to the TAP: replies only
 *   egress:  no IPv6, no spoofed source, nothing a host DNAT rewrote;
 *            link-local (169.254/16, cloud metadata), loopback,
 *            multicast, broadcast, pyrod's whole pool (other guests) and
 *            network_block (private ranges by default) are dropped; so
 *            is port 53 and 853 anywhere (the forwarder is the only DNS);
 *            then replies pass; then with allow rules: each CIDR rule,
 *            then the set "allowed" (addresses the forwarder answered for
 *            allowed names, with their TTL) accept, and everything else
 *            is dropped; without rules everything else is accepted.
 * Every base chain has policy accept: other tables and the host's own
 * firewall see the rest as before.  Chains run at priority -5 (filter) so
 * this VM's drops come before a host's accept rules of priority 0.
 *
 * Everything written into the ruleset text is a number or a name this
 * file made (checked by netrule_valid() and the TAP name check): no guest
 * byte and no client string reaches libnftables' parser.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <nftables/libnftables.h>

#include "clock.h"
#include "log.h"
#include "path.h"
#include "vmhelper.h"

#define RULESET_MAX	(24 * 1024)

static struct {
	int			 up;
	struct pyro_vm_net	 cfg;
	int			 tapfd;
	uint32_t		 gw, guest;	/* network order */
	char			 table[32];
	int			 table_made;
	int			 persist;	/* handed over: delete it */
	struct nft_ctx		*nft;
} net = { .tapfd = -1 };

/* "pyro-" and 10 lower-case hex digits: the only names we make or sweep. */
int
net_tap_name_ok(const char *name)
{
	size_t	n = strnlen(name, 16), p = strlen(NET_TAP_PREFIX);

	if (n != p + 10 || strncmp(name, NET_TAP_PREFIX, p) != 0)
		return 0;
	return strspn(name + p, "0123456789abcdef") == 10;
}

static void
table_name(const char *tap, char *out, size_t sz)
{
	snprintf(out, sz, "pyro_%.10s", tap + strlen(NET_TAP_PREFIX));
}

static struct nft_ctx *
nft_open(void)
{
	struct nft_ctx	*c;

	if ((c = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL)
		return NULL;
	(void)nft_ctx_buffer_output(c);
	(void)nft_ctx_buffer_error(c);
	return c;
}

/* Run ruleset text; on failure put libnftables' first error line in err. */
static int
nft_run(struct nft_ctx *c, const char *cmd, char *err, size_t errsz)
{
	const char	*e;

	if (nft_run_cmd_from_buffer(c, cmd) == 0)
		return 0;
	e = nft_ctx_get_error_buffer(c);
	if (err != NULL)
		snprintf(err, errsz, "nftables: %.*s", (int)strcspn(e ? e :
		    "failed", "\n"), e ? e : "failed");
	return -1;
}

static int
tap_open(const char *name, char *err, size_t errsz)
{
	struct ifreq	ifr;
	int		fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errsz, "creating TAP %s: %s%s", name,
		    strerror(errno), errno == EBUSY ? " (a device of that "
		    "name is in use)" : "");
		close(fd);
		return -1;
	}
	/*
	 * TUNSETIFF attaches to an idle persistent TAP of the same name:
	 * that device is someone else's, and ours must be new (it vanishes
	 * with its last fd).  Refuse it, and leave it alone.
	 */
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || (ifr.ifr_flags & IFF_PERSIST)) {
		snprintf(err, errsz, "a TAP device named %s already exists "
		    "(persistent, not pyro's): remove it or rename it", name);
		close(fd);
		return -1;
	}
	/* The name must be ours exactly: no "%d" expansion, no truncation. */
	if (strcmp(ifr.ifr_name, name) != 0) {
		snprintf(err, errsz, "TAP %s came up as %.16s", name,
		    ifr.ifr_name);
		close(fd);
		return -1;
	}
	return fd;
}

/* The gateway address on the TAP, then the link up, over rtnetlink. */
static int
tap_address(const char *name, uint32_t gw, char *err, size_t errsz)
{
	struct nl_sock		*sk;
	struct rtnl_addr	*a = NULL;
	struct rtnl_link	*link = NULL, *req = NULL;
	struct nl_addr		*local = NULL;
	int			 idx, rc = -1, e;

	if ((idx = (int)if_nametoindex(name)) == 0) {
		snprintf(err, errsz, "TAP %s vanished: %s", name,
		    strerror(errno));
		return -1;
	}
	if ((sk = nl_socket_alloc()) == NULL || nl_connect(sk,
	    NETLINK_ROUTE) < 0) {
		snprintf(err, errsz, "rtnetlink: cannot connect");
		goto out;
	}
	if ((a = rtnl_addr_alloc()) == NULL || (local = nl_addr_build(AF_INET,
	    &gw, 4)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	nl_addr_set_prefixlen(local, 30);
	rtnl_addr_set_ifindex(a, idx);
	if ((e = rtnl_addr_set_local(a, local)) < 0 ||
	    (e = rtnl_addr_add(sk, a, 0)) < 0) {
		snprintf(err, errsz, "addressing %s: %s", name,
		    nl_geterror(e));
		goto out;
	}
	if ((e = rtnl_link_get_kernel(sk, idx, NULL, &link)) < 0 ||
	    (req = rtnl_link_alloc()) == NULL) {
		snprintf(err, errsz, "reading link %s: %s", name,
		    nl_geterror(e));
		goto out;
	}
	rtnl_link_set_flags(req, IFF_UP);
	if ((e = rtnl_link_change(sk, link, req, 0)) < 0) {
		snprintf(err, errsz, "bringing %s up: %s", name,
		    nl_geterror(e));
		goto out;
	}
	rc = 0;
out:
	if (req != NULL)
		rtnl_link_put(req);
	if (link != NULL)
		rtnl_link_put(link);
	if (local != NULL)
		nl_addr_put(local);
	if (a != NULL)
		rtnl_addr_put(a);
	if (sk != NULL)
		nl_socket_free(sk);
	return rc;
}

struct rs {
	char	buf[RULESET_MAX];
	size_t	len;
	int	full;
};

static void
rs_add(struct rs *r, const char *fmt, ...)
{
	va_list	ap;
	int	k;

	va_start(ap, fmt);
	k = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(r->buf) - r->len)
		r->full = 1;
	else
		r->len += (size_t)k;
}

static const char *
ip(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void
egress_rules(struct rs *r)
{
	const struct pyro_vm_net	*c = &net.cfg;
	char				 a[INET_ADDRSTRLEN];
	uint32_t			 i;

	/*
	 * Drops first, before "established": nothing a guest opened (or that
	 * a host DNAT rule rewrote, like a container's published port) may
	 * reach a blocked place, whatever conntrack thinks of it.
	 */
	rs_add(r, "chain egress {\n"
	    "meta nfproto ipv6 drop\n"
	    "ip saddr != %s drop\n"
	    "ct status dnat drop\n", ip(net.guest, a));
	rs_add(r, "ip daddr { 169.254.0.0/16, 127.0.0.0/8, 0.0.0.0/8, "
	    "224.0.0.0/3 } drop\n");
	rs_add(r, "ip daddr %s/%u drop\n", ip(c->pool, a), c->pool_prefix);
	for (i = 0; i < c->nblock; i++)
		rs_add(r, "ip daddr %s/%u drop\n", ip(c->block[i], a),
		    c->block_prefix[i]);
	rs_add(r, "meta l4proto { tcp, udp } th dport { 53, 853 } drop\n"
	    "ct state established,related accept\n");
	if (c->nrules == 0) {
		rs_add(r, "accept\n}\n");
		return;
	}
	for (i = 0; i < c->nrules; i++) {
		const struct pyro_net_rule *u = &c->rules[i];

		if (u->kind != NET_RULE_CIDR)
			continue;
		if (u->port)
			rs_add(r, "ip daddr %s/%u meta l4proto { tcp, udp } "
			    "th dport %u accept\n", ip(u->addr, a), u->prefix,
			    u->port);
		else
			rs_add(r, "ip daddr %s/%u accept\n", ip(u->addr, a),
			    u->prefix);
	}
	rs_add(r, "ip daddr @allowed accept\ndrop\n}\n");
}

static int
table_make(int dns_port, char *err, size_t errsz)
{
	static struct rs	 r;
	char			 g[INET_ADDRSTRLEN], v[INET_ADDRSTRLEN];
	const char		*tap = net.cfg.tap;

	memset(&r, 0, sizeof(r));
	ip(net.gw, g);
	ip(net.guest, v);
	rs_add(&r, "table inet %s {\n", net.table);
	rs_add(&r, "set allowed { type ipv4_addr; flags timeout; size %d; }\n",
	    NET_ALLOWED_MAX);
	rs_add(&r, "chain pre { type nat hook prerouting priority dstnat; "
	    "policy accept;\n"
	    "iifname \"%s\" ip daddr %s udp dport 53 redirect to :%d\n}\n",
	    tap, g, dns_port);
	rs_add(&r, "chain post { type nat hook postrouting priority srcnat; "
	    "policy accept;\n"
	    "ip saddr %s oifname != \"%s\" masquerade\n}\n", v, tap);
	/*
	 * From the guest to the host: only its DNS queries, and packets of
	 * connections the host opened to it (published ports), always from
	 * its own address (no forged "reply" to another host connection)
	 * and never "related" (no forged ICMP errors about them).
	 */
	rs_add(&r, "chain input { type filter hook input priority -5; "
	    "policy accept;\n"
	    "iifname \"%s\" meta nfproto ipv6 drop\n"
	    "iifname \"%s\" ip saddr != %s drop\n"
	    "iifname \"%s\" ct state established accept\n"
	    "iifname \"%s\" ip daddr %s udp dport %d accept\n"
	    "iifname \"%s\" drop\n}\n", tap, tap, v, tap, tap, g, dns_port,
	    tap);
	/*
	 * From the host to the guest: replies (DNS answers, ICMP), and new
	 * connections only from the published-port proxy (its sockets carry
	 * network_proxy_mark, one bit that needs CAP_NET_ADMIN to set): no
	 * other host process without that capability reaches a guest.
	 */
	rs_add(&r, "chain output { type filter hook output priority -5; "
	    "policy accept;\n"
	    "oifname \"%s\" ct state established,related accept\n"
	    "oifname \"%s\" meta mark & %#x == %#x accept\n"
	    "oifname \"%s\" drop\n}\n", tap, tap, net.cfg.proxy_mark,
	    net.cfg.proxy_mark, tap);
	rs_add(&r, "chain forward { type filter hook forward priority -5; "
	    "policy accept;\n"
	    "iifname \"%s\" jump egress\n"
	    "oifname \"%s\" ct state established,related accept\n"
	    "oifname \"%s\" drop\n}\n", tap, tap, tap);
	egress_rules(&r);
	rs_add(&r, "}\n");
	if (r.full) {
		snprintf(err, errsz, "the VM's ruleset is too long");
		return -1;
	}
	if (nft_run(net.nft, r.buf, err, errsz) < 0)
		return -1;
	net.table_made = 1;
	return 0;
}

int
net_setup(const struct pyro_vm_net *cfg, char *err, size_t errsz)
{
	uint32_t	i, base;
	int		dns_port;

	net.cfg = *cfg;
	net.cfg.tap[sizeof(net.cfg.tap) - 1] = '\0';
	base = ntohl(cfg->subnet);
	if (!net_tap_name_ok(net.cfg.tap) || (base & 3) != 0 ||
	    cfg->pool_prefix > 30 || cfg->nrules > NET_RULES_MAX ||
	    cfg->nresolvers > NET_RESOLVERS_MAX ||
	    cfg->nblock > NET_BLOCK_MAX || cfg->proxy_mark == 0 ||
	    (cfg->proxy_mark & (cfg->proxy_mark - 1)) != 0) {
		snprintf(err, errsz, "malformed network request");
		return -1;
	}
	for (i = 0; i < cfg->nblock; i++)
		if (cfg->block_prefix[i] > 32) {
			snprintf(err, errsz, "malformed blocked range");
			return -1;
		}
	for (i = 0; i < cfg->nrules; i++)
		if (!netrule_valid(&cfg->rules[i])) {
			snprintf(err, errsz, "malformed egress rule");
			return -1;
		}
	net.gw = htonl(base + 1);
	net.guest = htonl(base + 2);
	table_name(net.cfg.tap, net.table, sizeof(net.table));
	net.up = 1;
	if ((net.nft = nft_open()) == NULL) {
		snprintf(err, errsz, "libnftables: cannot create a context");
		return -1;
	}
	if ((net.tapfd = tap_open(net.cfg.tap, err, errsz)) < 0 ||
	    tap_address(net.cfg.tap, net.gw, err, errsz) < 0)
		return -1;
	if ((dns_port = dns_open(&net.cfg, net.gw, err, errsz)) < 0)
		return -1;
	return table_make(dns_port, err, errsz);
}

int
net_tap_fd(void)
{
	return net.tapfd;
}

/*
 * Firecracker opens the TAP by name, as its jail's uid, and a TAP takes one
 * queue: make ours persistent, owned by that uid and gid, and let go of
 * it.  It is then deleted by name at teardown (and, if we are killed
 * first, by pyrod's sweep of leftover pyro- TAPs).
 */
int
net_tap_hand_over(uid_t uid, gid_t gid, char *err, size_t errsz)
{
	if (net.tapfd < 0)
		return 0;
	if (ioctl(net.tapfd, TUNSETOWNER, (unsigned long)uid) < 0 ||
	    ioctl(net.tapfd, TUNSETGROUP, (unsigned long)gid) < 0 ||
	    ioctl(net.tapfd, TUNSETPERSIST, 1UL) < 0) {
		snprintf(err, errsz, "handing TAP %s over: %s", net.cfg.tap,
		    strerror(errno));
		return -1;
	}
	net.persist = 1;
	close(net.tapfd);
	net.tapfd = -1;
	return 0;
}

static void
tap_delete(const char *name)
{
	struct nl_sock		*sk;
	struct rtnl_link	*l;

	if ((sk = nl_socket_alloc()) == NULL)
		return;
	if (nl_connect(sk, NETLINK_ROUTE) == 0 &&
	    (l = rtnl_link_alloc()) != NULL) {
		rtnl_link_set_name(l, name);
		if (rtnl_link_delete(sk, l) < 0)
			log_warnx("cannot delete TAP %s", name);
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
}

/* The guest's side, for the kernel command line: "V/30,G". */
void
net_guest_arg(char *out, size_t sz)
{
	char	v[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	snprintf(out, sz, "%s/30,%s", ip(net.guest, v), ip(net.gw, g));
}

uint32_t
net_guest_addr(void)
{
	return net.guest;
}

uint32_t
net_proxy_mark(void)
{
	return net.cfg.proxy_mark;
}

uint32_t
net_gateway(void)
{
	return net.gw;
}

/*
 * Addresses the forwarder answered for allowed names go into the set for
 * the record's TTL plus a grace (clamped to [60 s, 1 day]), so
 * connections made right after the answer, or by a resolver cache in the
 * guest, work.  One transaction per reply.  An element already in the set
 * keeps its timeout unless deleted first, so we remember what we added:
 * an address with at least half its time left is skipped, one that is
 * still there is deleted and added again, the rest only added.  If the
 * transaction fails (an element expired in between), each is added alone.
 */
#define ADMIT_TRACK	NET_ALLOWED_MAX	/* as many as the set holds */
static struct {
	uint32_t	addr;
	long long	until;		/* monotonic ms; 0: never used */
} adm[ADMIT_TRACK];

/*
 * The slot of addr (open addressing on all 32 bits of it), or the free one
 * it would take; never one of the taken[0..ntaken) this reply already
 * claimed.  At most ADMIT_PROBES are looked at: past that an address
 * reuses a slot, so its next answer is only added, not refreshed (the
 * guest then asks again), and no reply costs a scan of the whole table.
 */
#define ADMIT_PROBES	64
static int
admit_slot(uint32_t addr, long long now, const int *taken, int ntaken)
{
	uint32_t	h = (ntohl(addr) * 2654435761u) >> 16;
	int		 free_i = -1, i;

	for (uint32_t k = 0; k < ADMIT_PROBES; k++) {
		int claimed = 0;

		i = (int)((h + k) % ADMIT_TRACK);
		for (int j = 0; j < ntaken; j++)
			claimed |= taken[j] == i;
		if (claimed)
			continue;
		if (adm[i].until == 0)
			return free_i >= 0 ? free_i : i;
		if (adm[i].addr == addr)
			return i;
		if (adm[i].until <= now && free_i < 0)
			free_i = i;	/* expired: reusable */
	}
	if (free_i >= 0)
		return free_i;
	for (uint32_t k = 0; k < ADMIT_PROBES; k++) {
		int claimed = 0;

		i = (int)((h + k) % ADMIT_TRACK);
		for (int j = 0; j < ntaken; j++)
			claimed |= taken[j] == i;
		if (!claimed)
			return i;
	}
	return -1;
}

int
net_allow_addrs(const struct dns_a *a, int n)
{
	static char	del[8192], add[8192], one[256];
	char		ipb[INET_ADDRSTRLEN];
	size_t		dl = 0, al = 0;
	long long	now = pyro_mono_ms();
	int		i, j, k, rc = 0, slot[DNS_ANSWERS_MAX];
	uint32_t	tt[DNS_ANSWERS_MAX];

	if (!net.table_made)
		return -1;
	if (n > DNS_ANSWERS_MAX)
		n = DNS_ANSWERS_MAX;
	for (i = 0; i < n; i++) {
		uint32_t t = a[i].ttl > 86400 - 30 ? 86400 : a[i].ttl + 30;

		t = t < 60 ? 60 : t;
		tt[i] = t;
		slot[i] = -1;
		for (j = 0; j < i && a[j].addr != a[i].addr; j++)
			;
		if (j < i)
			continue;	/* twice in one reply */
		k = admit_slot(a[i].addr, now, slot, i);
		ip(a[i].addr, ipb);
		/* The kernel may keep an element a little past our clock:
		 * treat one due within 2 s as still there. */
		if (k >= 0 && adm[k].addr == a[i].addr &&
		    adm[k].until + 2000 > now) {
			if (adm[k].until - now >= (long long)t * 500)
				continue;	/* plenty of time left */
			dl += (size_t)snprintf(del + dl, sizeof(del) - dl,
			    "%s%s", dl ? ", " : "", ipb);
		}
		al += (size_t)snprintf(add + al, sizeof(add) - al,
		    "%s%s timeout %us", al ? ", " : "", ipb, t);
		slot[i] = k;
	}
	if (al == 0)
		return 0;
	{
		static char cmd[16600];

		if (dl > 0)
			snprintf(cmd, sizeof(cmd), "delete element inet %s "
			    "allowed { %s }\nadd element inet %s allowed { "
			    "%s }\n", net.table, del, net.table, add);
		else
			snprintf(cmd, sizeof(cmd), "add element inet %s "
			    "allowed { %s }\n", net.table, add);
		if (nft_run(net.nft, cmd, NULL, 0) == 0) {
			/* Only what the kernel took is remembered. */
			now = pyro_mono_ms();
			for (i = 0; i < n; i++)
				if (slot[i] >= 0) {
					adm[slot[i]].addr = a[i].addr;
					adm[slot[i]].until = now +
					    (long long)tt[i] * 1000;
				}
			return 0;
		}
	}
	/* An element to refresh had gone after all (or the batch failed
	 * otherwise): each address alone, delete and add, else add. */
	for (i = 0; i < n; i++) {
		if (slot[i] < 0)
			continue;
		ip(a[i].addr, ipb);
		snprintf(one, sizeof(one), "delete element inet %s allowed { "
		    "%s }\nadd element inet %s allowed { %s timeout %us }\n",
		    net.table, ipb, net.table, ipb, tt[i]);
		if (nft_run(net.nft, one, NULL, 0) < 0) {
			snprintf(one, sizeof(one), "add element inet %s "
			    "allowed { %s timeout %us }\n", net.table, ipb,
			    tt[i]);
			if (nft_run(net.nft, one, NULL, 0) < 0) {
				rc = -1;
				continue;
			}
		}
		adm[slot[i]].addr = a[i].addr;
		adm[slot[i]].until = pyro_mono_ms() + (long long)tt[i] * 1000;
	}
	return rc;
}

/* Everything this VM's network made, gone; safe to call more than once. */
void
net_teardown(void)
{
	char	cmd[64];

	if (!net.up)
		return;
	proxy_close_all();
	dns_close();
	if (net.table_made && net.nft != NULL) {
		snprintf(cmd, sizeof(cmd), "delete table inet %s\n", net.table);
		if (nft_run(net.nft, cmd, NULL, 0) < 0)
			log_warnx("cannot delete nft table %s", net.table);
		net.table_made = 0;
	}
	if (net.tapfd >= 0)
		close(net.tapfd);	/* the TAP goes with QEMU's fd too */
	net.tapfd = -1;
	if (net.persist)
		tap_delete(net.cfg.tap);
	net.persist = 0;
	if (net.nft != NULL)
		nft_ctx_free(net.nft);
	net.nft = NULL;
	net.up = 0;
}

static int
is_live(const struct pyro_msg_net_sweep *s, const char *tap)
{
	for (uint32_t i = 0; i < s->nlive; i++)
		if (strcmp(s->live[i], tap) == 0)
			return 1;
	return 0;
}

/* A persistent TAP is never pyro's (ours go with their last fd). */
static int
tap_persistent(const char *name)
{
	char		path[96], buf[32];

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	(void)pyro_read_small(path, buf, sizeof(buf));
	return (strtoul(buf, NULL, 16) & IFF_PERSIST) != 0;
}

static uint32_t
sweep_links(const struct pyro_msg_net_sweep *s)
{
	struct nl_sock		*sk;
	struct nl_cache		*cache = NULL;
	struct nl_object	*o;
	uint32_t		 n = 0;

	if ((sk = nl_socket_alloc()) == NULL)
		return 0;
	if (nl_connect(sk, NETLINK_ROUTE) < 0 || rtnl_link_alloc_cache(sk,
	    AF_UNSPEC, &cache) < 0)
		goto out;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		const char *type = rtnl_link_get_type(l);

		if (name == NULL || !net_tap_name_ok(name) ||
		    is_live(s, name) || (type != NULL &&
		    strcmp(type, "tun") != 0) || tap_persistent(name))
			continue;
		if (rtnl_link_delete(sk, l) == 0) {
			log_info("removed leftover TAP %s", name);
			n++;
		}
	}
out:
	if (cache != NULL)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return n;
}

static uint32_t
sweep_tables(const struct pyro_msg_net_sweep *s)
{
	struct nft_ctx	*c;
	const char	*out, *p;
	char		 name[40], tap[16], cmd[80];
	uint32_t	 n = 0;

	if ((c = nft_open()) == NULL)
		return 0;
	if (nft_run(c, "list tables inet\n", NULL, 0) < 0)
		goto out;
	out = nft_ctx_get_output_buffer(c);
	/* Copy first: the next command reuses the output buffer. */
	char *copy = strdup(out ? out : "");
	for (p = copy; p != NULL && *p; p = strchr(p, '\n') ? strchr(p,
	    '\n') + 1 : NULL) {
		if (sscanf(p, "table inet %39s", name) != 1 ||
		    strncmp(name, "pyro_", 5) != 0 || strlen(name) != 15)
			continue;
		snprintf(tap, sizeof(tap), "%s%.10s", NET_TAP_PREFIX, name + 5);
		if (!net_tap_name_ok(tap) || is_live(s, tap))
			continue;
		snprintf(cmd, sizeof(cmd), "delete table inet %s\n", name);
		if (nft_run(c, cmd, NULL, 0) == 0) {
			log_info("removed leftover nft table %s", name);
			n++;
		}
	}
	free(copy);
out:
	nft_ctx_free(c);
	return n;
}

void
net_sweep_leftovers(struct pyro_msg_net_sweep *s,
    struct pyro_msg_net_swept *r)
{
	if (s->nlive > NET_SWEEP_LIVE_MAX)
		s->nlive = NET_SWEEP_LIVE_MAX;
	for (uint32_t i = 0; i < s->nlive; i++)
		s->live[i][sizeof(s->live[i]) - 1] = '\0';
	r->taps = sweep_links(s);
	r->tables = sweep_tables(s);
}
