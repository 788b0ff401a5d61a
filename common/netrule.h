/*
 * Guest networking, the parts with no I/O: egress allow rules (parsed in
 * pyrod from client strings, checked again in pyro-vmhelper), host-name
 * matching, and the DNS message reader of the per-VM forwarder.  DNS
 * replies and guest queries are attacker input (the guest chooses the
 * names, a resolver it queried chooses the answers): dns_* never reads
 * past the buffer, follows at most DNS_PTR_HOPS compression pointers per
 * name and keeps names within 255 bytes; fuzz/fuzz_dns.c runs them.
 */
#ifndef PYRO_NETRULE_H
#define PYRO_NETRULE_H

#include <stddef.h>
#include <stdint.h>

#define NET_RULES_MAX		32	/* --allow-egress rules per VM */
#define NET_NAME_MAX		253	/* a host name in a rule */
#define NET_RULE_TEXT_MAX	272	/* the longest rule string */
#define NET_TAP_PREFIX		"pyro-"	/* TAP devices; nft tables are "pyro_" */

enum net_rule_kind {
	NET_RULE_CIDR = 1,	/* addr/prefix[:port] */
	NET_RULE_NAME,		/* name, or *.name: its subdomains */
};

struct pyro_net_rule {
	uint32_t	kind;
	uint32_t	addr;		/* network order; NET_RULE_CIDR */
	uint32_t	prefix;		/* 0..32 */
	uint32_t	port;		/* 0: every port */
	uint32_t	wildcard;	/* NET_RULE_NAME: "*." given */
	char		name[NET_NAME_MAX + 3];	/* lower case, no "*.", no
					   trailing dot */
};

/*
 * Parse one rule: "10.0.0.0/8", "192.0.2.7", "192.0.2.0/24:443",
 * "example.com", "*.example.com".  Returns 0, or -1 with a reason.
 */
int	netrule_parse(const char *text, struct pyro_net_rule *,
	    char *why, size_t whysz);
/* Is the rule well formed (what netrule_parse() makes)?  1 or 0. */
int	netrule_valid(const struct pyro_net_rule *);
/* The rule as text again, for status ("10.0.0.0/8:443", "*.x.test"). */
void	netrule_format(const struct pyro_net_rule *, char *out, size_t sz);
/* Does a lower-case name without the trailing dot match a NAME rule? */
int	netrule_name_match(const struct pyro_net_rule *, const char *name);

/* "a.b.c.d/len" into addr (network order) and prefix; 0 or -1. */
int	net_cidr_parse(const char *text, uint32_t *addr, uint32_t *prefix);

/* ---- DNS messages (RFC 1035) ---- */
#define DNS_HDR_LEN	12
#define DNS_NAME_MAX	255
#define DNS_PTR_HOPS	16
#define DNS_ANSWERS_MAX	64	/* A records we take from one reply */
#define DNS_CHAIN_MAX	8	/* CNAME hops we follow */

#define DNS_TYPE_A	1
#define DNS_TYPE_CNAME	5
#define DNS_CLASS_IN	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_REFUSED	5

struct dns_question {
	uint16_t	id;
	uint16_t	qtype, qclass;
	size_t		end;		/* offset just past the question */
	char		name[DNS_NAME_MAX + 1];	/* lower case, dotted */
};

struct dns_a {
	uint32_t	addr;		/* network order */
	uint32_t	ttl;
};

/*
 * A query from a guest: a header with QR=0, opcode 0, exactly one
 * question and no answers.  0 or -1.
 */
int	dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *);
/*
 * A reply to that question: same id, QR=1, the same question.  The A
 * records of the answer section owned by the question's name or by a name
 * it reaches through CNAMEs (in order, at most DNS_CHAIN_MAX) go to out.
 * Returns how many, or -1 for a malformed reply.
 */
int	dns_parse_reply(const uint8_t *msg, size_t len,
	    const struct dns_question *, struct dns_a *out, int max);
/*
 * The reply to refuse or fail a query in place: msg[0..q->end) becomes a
 * header + question with QR, RA and rcode set.  Returns its length.
 */
size_t	dns_make_error(uint8_t *msg, const struct dns_question *, int rcode);

#endif
