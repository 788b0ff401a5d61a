/*
 * Guest networking's parsers (common/netrule.c): egress rules as clients
 * write them (CIDRs, ports, names, wildcards, and what is refused), name
 * matching, and the DNS forwarder's readers: a query, a reply with a CNAME
 * chain, replies that do not answer the question, compression loops, and
 * the REFUSED reply built in place.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "checkmain.h"

#include "netrule.h"

static struct pyro_net_rule
parse_ok(const char *text)
{
	struct pyro_net_rule	r;
	char			why[160];

	ck_assert_msg(netrule_parse(text, &r, why, sizeof(why)) == 0,
	    "%s: %s", text, why);
	ck_assert(netrule_valid(&r));
	return r;
}

START_TEST(rules_cidr)
{
	struct pyro_net_rule	r;
	char			out[300];

	r = parse_ok("10.1.2.3/8");
	ck_assert_uint_eq(r.kind, NET_RULE_CIDR);
	ck_assert_uint_eq(r.addr, inet_addr("10.0.0.0"));
	ck_assert_uint_eq(r.prefix, 8);
	netrule_format(&r, out, sizeof(out));
	ck_assert_str_eq(out, "10.0.0.0/8");
	r = parse_ok("192.0.2.7");
	ck_assert_uint_eq(r.prefix, 32);
	r = parse_ok("192.0.2.0/24:443");
	ck_assert_uint_eq(r.port, 443);
	netrule_format(&r, out, sizeof(out));
	ck_assert_str_eq(out, "192.0.2.0/24:443");
	r = parse_ok("0.0.0.0/0");
	ck_assert_uint_eq(r.prefix, 0);
}
END_TEST

START_TEST(rules_names)
{
	struct pyro_net_rule	r;
	char			out[300];

	r = parse_ok("Example.COM.");
	ck_assert_uint_eq(r.kind, NET_RULE_NAME);
	ck_assert_str_eq(r.name, "example.com");
	ck_assert(netrule_name_match(&r, "example.com"));
	ck_assert(!netrule_name_match(&r, "a.example.com"));
	ck_assert(!netrule_name_match(&r, "badexample.com"));
	r = parse_ok("*.example.com");
	ck_assert(r.wildcard);
	netrule_format(&r, out, sizeof(out));
	ck_assert_str_eq(out, "*.example.com");
	ck_assert(netrule_name_match(&r, "a.example.com"));
	ck_assert(netrule_name_match(&r, "a.b.example.com"));
	ck_assert(!netrule_name_match(&r, "example.com"));
	ck_assert(!netrule_name_match(&r, "aexample.com"));
	r = parse_ok("_dmarc.x-y.test");
	ck_assert_str_eq(r.name, "_dmarc.x-y.test");
}
END_TEST

START_TEST(rules_refused)
{
	static const char *bad[] = { "", "10.0.0.0/33", "10.0.0.256",
	    "10.0.0.0/8:0", "10.0.0.0/8:65536", "10.0.0.0/8:", "10.1/8",
	    "1.2.3.4/", "a..b", ".a", "a..", "*.", "*", "a.*.b", "-a.test",
	    "a-.test", "a b", "a/b", "bad_name!", "10.0.0.0/8:443:1", NULL };
	struct pyro_net_rule	r;
	char			why[160], longname[300];
	int			i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(netrule_parse(bad[i], &r, why, sizeof(why)) < 0,
		    "accepted \"%s\"", bad[i]);
	memset(longname, 'a', 64);
	strcpy(longname + 64, ".test");
	ck_assert(netrule_parse(longname, &r, why, sizeof(why)) < 0);
	/* 254 characters in all: too long even with short labels. */
	for (i = 0; i < 127; i++)
		memcpy(longname + 2 * i, "a.", 2);
	longname[253] = 'a';
	longname[254] = '\0';
	ck_assert(netrule_parse(longname, &r, why, sizeof(why)) < 0);
	/* "a.".."a" with 253 characters is still a name. */
	longname[252] = '\0';
	ck_assert(netrule_parse(longname, &r, why, sizeof(why)) == 0);
	/* A rule the helper gets must be what the parser makes. */
	memset(&r, 0, sizeof(r));
	r.kind = NET_RULE_CIDR;
	r.addr = inet_addr("10.0.0.1");
	r.prefix = 8;
	ck_assert(!netrule_valid(&r));
	r.kind = 9;
	ck_assert(!netrule_valid(&r));
}
END_TEST

/* ---- DNS ---- */

static size_t
put_name(uint8_t *p, const char *name)
{
	size_t	n = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

static size_t
put_hdr(uint8_t *p, uint16_t id, uint16_t flags, uint16_t an)
{
	memset(p, 0, 12);
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = (uint8_t)(flags >> 8);
	p[3] = (uint8_t)flags;
	p[5] = 1;
	p[7] = (uint8_t)an;
	return 12;
}

static size_t
put_q(uint8_t *p, const char *name)
{
	size_t	n = put_name(p, name);

	memcpy(p + n, "\0\1\0\1", 4);
	return n + 4;
}

/* An RR: owner (a pointer to offset 12 when name is NULL), type, data. */
static size_t
put_rr(uint8_t *p, const char *name, uint16_t type, const uint8_t *rd,
    uint16_t rdlen)
{
	size_t	n;

	if (name == NULL) {
		p[0] = 0xc0;
		p[1] = 12;
		n = 2;
	} else
		n = put_name(p, name);
	p[n++] = 0;
	p[n++] = (uint8_t)type;
	memcpy(p + n, "\0\1\0\0\1\54", 6);	/* IN, TTL 300 */
	n += 6;
	p[n++] = 0;
	p[n++] = (uint8_t)rdlen;
	memcpy(p + n, rd, rdlen);
	return n + rdlen;
}

START_TEST(dns_query_and_cname_chain)
{
	uint8_t			q[512], r[512], cname[64];
	static const uint8_t	a1[4] = { 198, 51, 100, 12 };
	static const uint8_t	a2[4] = { 203, 0, 113, 9 };
	struct dns_question	dq;
	struct dns_a		out[8];
	size_t			ql, rl, cl;

	ql = put_hdr(q, 0x4242, 0x0100, 0);
	ql += put_q(q + ql, "ViaCName.Test");
	ck_assert_int_eq(dns_parse_query(q, ql, &dq), 0);
	ck_assert_str_eq(dq.name, "viacname.test");
	ck_assert_uint_eq(dq.end, ql);
	rl = put_hdr(r, 0x4242, 0x8180, 3);
	rl += put_q(r + rl, "viacname.test");
	cl = put_name(cname, "cdn.test");
	rl += put_rr(r + rl, NULL, DNS_TYPE_CNAME, cname, (uint16_t)cl);
	rl += put_rr(r + rl, "cdn.test", DNS_TYPE_A, a1, 4);
	/* An A record for a name outside the chain is not taken. */
	rl += put_rr(r + rl, "other.test", DNS_TYPE_A, a2, 4);
	ck_assert_int_eq(dns_parse_reply(r, rl, &dq, out, 8), 1);
	ck_assert(memcmp(&out[0].addr, a1, 4) == 0);
	ck_assert_uint_eq(out[0].ttl, 300);
	/* Another id, or another question, is not the answer. */
	r[1] ^= 1;
	ck_assert_int_eq(dns_parse_reply(r, rl, &dq, out, 8), -1);
	r[1] ^= 1;
	r[13] = 'w';
	ck_assert_int_eq(dns_parse_reply(r, rl, &dq, out, 8), -1);
	/* Cut anywhere: refused, never read past the end. */
	r[13] = 'v';
	for (size_t cut = 0; cut < rl; cut++)
		ck_assert_int_le(dns_parse_reply(r, cut, &dq, out, 8), 1);
	/* REFUSED in place: header and question only. */
	ck_assert_uint_eq(dns_make_error(q, &dq, DNS_RCODE_REFUSED), ql);
	ck_assert_uint_eq(q[3] & 0x0f, DNS_RCODE_REFUSED);
	ck_assert(q[2] & 0x80);
}
END_TEST

START_TEST(dns_refused_shapes)
{
	uint8_t			q[512];
	struct dns_question	dq;
	size_t			ql;

	/* A reply is not a query; two questions are not one. */
	ql = put_hdr(q, 1, 0x8100, 0);
	ql += put_q(q + ql, "a.test");
	ck_assert_int_eq(dns_parse_query(q, ql, &dq), -1);
	ql = put_hdr(q, 1, 0x0100, 0);
	q[5] = 2;
	ql += put_q(q + ql, "a.test");
	ck_assert_int_eq(dns_parse_query(q, ql, &dq), -1);
	/* A pointer to itself in the question. */
	ql = put_hdr(q, 1, 0x0100, 0);
	q[12] = 0xc0;
	q[13] = 12;
	memcpy(q + 14, "\0\1\0\1", 4);
	ck_assert_int_eq(dns_parse_query(q, 18, &dq), -1);
	/* A dot inside a label would fake a name boundary. */
	ql = put_hdr(q, 1, 0x0100, 0);
	ql += put_q(q + ql, "ab.test");
	q[13] = '.';
	ck_assert_int_eq(dns_parse_query(q, ql, &dq), -1);
	/* Too short for a header. */
	ck_assert_int_eq(dns_parse_query(q, 11, &dq), -1);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite	*s = suite_create("net");
	TCase	*tc = tcase_create("net");

	tcase_add_test(tc, rules_cidr);
	tcase_add_test(tc, rules_names);
	tcase_add_test(tc, rules_refused);
	tcase_add_test(tc, dns_query_and_cname_chain);
	tcase_add_test(tc, dns_refused_shapes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(net_suite());
}
