#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netrule.h"

static int
why_set(char *why, size_t sz, const char *msg)
{
	if (why != NULL && sz > 0)
		snprintf(why, sz, "%s", msg);
	return -1;
}

int
net_cidr_parse(const char *text, uint32_t *addr, uint32_t *prefix)
{
	char		 buf[32], *slash, *end;
	struct in_addr	 in;
	unsigned long	 p = 32;
	uint32_t	 mask;

	if (strlen(text) >= sizeof(buf))
		return -1;
	memcpy(buf, text, strlen(text) + 1);
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (*slash < '0' || *slash > '9')
			return -1;
		p = strtoul(slash, &end, 10);
		if (*end != '\0' || p > 32 || end - slash > 2)
			return -1;
	}
	/* inet_pton takes exactly four decimal parts: no "10.1", no hex. */
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	mask = p == 0 ? 0 : htonl(~0u << (32 - p));
	*addr = in.s_addr & mask;
	*prefix = (uint32_t)p;
	return 0;
}

/* One label: 1-63 of [a-z0-9-], not starting or ending with '-'; '_' is
 * allowed too (real names use it: _dmarc, SRV owners). */
static int
label_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
name_ok(const char *name)
{
	const char	*p = name, *dot;
	size_t		 n = strlen(name);

	if (n == 0 || n > NET_NAME_MAX)
		return 0;
	for (;;) {
		dot = strchr(p, '.');
		if (!label_ok(p, dot ? (size_t)(dot - p) : strlen(p)))
			return 0;
		if (dot == NULL)
			return 1;
		p = dot + 1;
	}
}

int
netrule_parse(const char *text, struct pyro_net_rule *r, char *why,
    size_t whysz)
{
	char		 buf[NET_RULE_TEXT_MAX + 1], *colon, *end, *p;
	size_t		 n;
	unsigned long	 port;

	memset(r, 0, sizeof(*r));
	n = strnlen(text, sizeof(buf));
	if (n == 0)
		return why_set(why, whysz, "an empty rule");
	if (n >= sizeof(buf))
		return why_set(why, whysz, "a rule is at most 272 characters");
	memcpy(buf, text, n + 1);
	for (p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if ((buf[0] >= '0' && buf[0] <= '9') && strspn(buf,
	    "0123456789./:") == n) {
		r->kind = NET_RULE_CIDR;
		if ((colon = strchr(buf, ':')) != NULL) {
			*colon++ = '\0';
			port = strtoul(colon, &end, 10);
			if (*colon == '\0' || *end != '\0' || port == 0 ||
			    port > 65535 || end - colon > 5)
				return why_set(why, whysz, "a port is 1-65535");
			r->port = (uint32_t)port;
		}
		if (net_cidr_parse(buf, &r->addr, &r->prefix) < 0)
			return why_set(why, whysz, "not an IPv4 address or "
			    "CIDR (a.b.c.d or a.b.c.d/len, len 0-32)");
		return 0;
	}
	r->kind = NET_RULE_NAME;
	p = buf;
	if (strncmp(p, "*.", 2) == 0) {
		r->wildcard = 1;
		p += 2;
	}
	n = strlen(p);
	if (n > 0 && p[n - 1] == '.')
		p[--n] = '\0';
	if (!name_ok(p))
		return why_set(why, whysz, "not a host name (labels of 1-63 "
		    "letters, digits, '-' or '_', at most 253 characters; "
		    "\"*.\" only as a prefix)");
	memcpy(r->name, p, n + 1);
	return 0;
}

int
netrule_valid(const struct pyro_net_rule *r)
{
	uint32_t	mask;

	switch (r->kind) {
	case NET_RULE_CIDR:
		if (r->prefix > 32 || r->port > 65535 || r->wildcard)
			return 0;
		mask = r->prefix == 0 ? 0 : htonl(~0u << (32 - r->prefix));
		return (r->addr & ~mask) == 0;
	case NET_RULE_NAME:
		if (r->port != 0 || r->addr != 0 || r->wildcard > 1 ||
		    memchr(r->name, '\0', sizeof(r->name)) == NULL)
			return 0;
		return name_ok(r->name);
	default:
		return 0;
	}
}

void
netrule_format(const struct pyro_net_rule *r, char *out, size_t sz)
{
	char	a[INET_ADDRSTRLEN];

	if (r->kind == NET_RULE_NAME) {
		snprintf(out, sz, "%s%s", r->wildcard ? "*." : "", r->name);
		return;
	}
	inet_ntop(AF_INET, &r->addr, a, sizeof(a));
	if (r->port)
		snprintf(out, sz, "%s/%u:%u", a, r->prefix, r->port);
	else
		snprintf(out, sz, "%s/%u", a, r->prefix);
}

int
netrule_name_match(const struct pyro_net_rule *r, const char *name)
{
	size_t	n = strlen(name), k = strlen(r->name);

	if (r->kind != NET_RULE_NAME)
		return 0;
	if (!r->wildcard)
		return strcmp(name, r->name) == 0;
	/* "*.example.com": a.example.com, a.b.example.com; not the apex. */
	return n > k + 1 && name[n - k - 1] == '.' &&
	    strcmp(name + n - k, r->name) == 0;
}

/* ---- DNS ---- */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Read the name at *off into out (lower case, dotted, "" for the root).
 * *off moves past the name as it sits in the message (a pointer counts two
 * bytes).  Labels must be printable without '.': a name is compared, never
 * shown unescaped, but a dot inside a label would fake a boundary.
 */
static int
read_name(const uint8_t *m, size_t len, size_t *off, char *out)
{
	size_t	pos = *off, outlen = 0, end = 0;
	int	hops = 0, jumped = 0;
	uint8_t	l;

	out[0] = '\0';
	for (;;) {
		if (pos >= len)
			return -1;
		l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > DNS_PTR_HOPS)
				return -1;
			if (!jumped)
				end = pos + 2;
			jumped = 1;
			pos = (size_t)(get16(m + pos) & 0x3fff);
			continue;
		}
		if (l & 0xc0)
			return -1;	/* 0x40, 0x80: extended labels */
		pos++;
		if (l == 0)
			break;
		if (pos + l > len || outlen + l + 1 > DNS_NAME_MAX)
			return -1;
		if (outlen > 0)
			out[outlen++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = m[pos + i];

			if (c <= ' ' || c >= 0x7f || c == '.')
				return -1;
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			out[outlen++] = (char)c;
		}
		pos += l;
	}
	out[outlen] = '\0';
	*off = jumped ? end : pos;
	return 0;
}

int
dns_parse_query(const uint8_t *m, size_t len, struct dns_question *q)
{
	size_t	off = DNS_HDR_LEN;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HDR_LEN || len > 4096)
		return -1;
	/* QR=0, opcode QUERY; one question, nothing else but EDNS. */
	if ((m[2] & 0x80) || (m[2] & 0x78) || get16(m + 4) != 1 ||
	    get16(m + 6) != 0 || get16(m + 8) != 0 || get16(m + 10) > 1)
		return -1;
	q->id = get16(m);
	if (read_name(m, len, &off, q->name) < 0 || off + 4 > len)
		return -1;
	/* A compressed question name points forward or at itself only in
	 * forged queries; read_name() bounded it, nothing more to do. */
	q->qtype = get16(m + off);
	q->qclass = get16(m + off + 2);
	q->end = off + 4;
	return 0;
}

static int
in_chain(char chain[][DNS_NAME_MAX + 1], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(chain[i], name) == 0)
			return 1;
	return 0;
}

int
dns_parse_reply(const uint8_t *m, size_t len, const struct dns_question *q,
    struct dns_a *out, int max)
{
	static char	chain[DNS_CHAIN_MAX + 1][DNS_NAME_MAX + 1];
	char		name[DNS_NAME_MAX + 1], target[DNS_NAME_MAX + 1];
	size_t		off = DNS_HDR_LEN;
	uint16_t	an, type, class, rdlen;
	uint32_t	ttl;
	int		nchain = 1, found = 0;

	if (len < DNS_HDR_LEN || get16(m) != q->id || !(m[2] & 0x80) ||
	    get16(m + 4) != 1)
		return -1;
	an = get16(m + 6);
	if (read_name(m, len, &off, name) < 0 || off + 4 > len ||
	    strcmp(name, q->name) != 0 || get16(m + off) != q->qtype ||
	    get16(m + off + 2) != q->qclass)
		return -1;
	off += 4;
	memcpy(chain[0], q->name, strlen(q->name) + 1);
	for (uint16_t i = 0; i < an; i++) {
		if (read_name(m, len, &off, name) < 0 || off + 10 > len)
			return -1;
		type = get16(m + off);
		class = get16(m + off + 2);
		ttl = get32(m + off + 4);
		rdlen = get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (class == DNS_CLASS_IN && in_chain(chain, nchain, name)) {
			if (type == DNS_TYPE_CNAME) {
				size_t t = off;

				if (read_name(m, off + rdlen, &t, target) < 0)
					return -1;
				if (nchain <= DNS_CHAIN_MAX &&
				    !in_chain(chain, nchain, target)) {
					memcpy(chain[nchain], target,
					    strlen(target) + 1);
					nchain++;
				}
			} else if (type == DNS_TYPE_A && rdlen == 4 &&
			    found < max) {
				memcpy(&out[found].addr, m + off, 4);
				out[found].ttl = ttl > 0x7fffffff ? 0 : ttl;
				found++;
			}
		}
		off += rdlen;
	}
	return found;
}

size_t
dns_make_error(uint8_t *m, const struct dns_question *q, int rcode)
{
	m[2] = (uint8_t)((m[2] & 0x79) | 0x80);	/* QR, keep opcode/RD */
	m[3] = (uint8_t)(0x80 | (rcode & 0x0f));	/* RA */
	memset(m + 6, 0, 6);			/* no AN, NS, AR */
	return q->end;
}
