/*
 * The DNS forwarder's readers (common/netrule.c): a guest's query, then a
 * resolver's reply to it (the guest picks the names, so it can steer the
 * answers), and the REFUSED reply built in place; plus the egress rule
 * parser and name matcher, which take client strings.  The input's first
 * byte splits it into query and reply.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netrule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		q[4096], r[4096];
	struct dns_question	dq;
	struct dns_a		a[DNS_ANSWERS_MAX];
	struct pyro_net_rule	rule;
	char			text[NET_RULE_TEXT_MAX + 2], why[160];
	size_t			split, ql, rl, n;

	if (size == 0)
		return 0;
	split = (size_t)data[0] * (size - 1) / 255;
	data++;
	size--;
	ql = split < sizeof(q) ? split : sizeof(q);
	rl = size - split < sizeof(r) ? size - split : sizeof(r);
	memcpy(q, data, ql);
	memcpy(r, data + split, rl);
	if (dns_parse_query(q, ql, &dq) == 0) {
		int k = dns_parse_reply(r, rl, &dq, a, DNS_ANSWERS_MAX);

		if (k > DNS_ANSWERS_MAX)
			abort();
		if (dq.end > ql || strlen(dq.name) > DNS_NAME_MAX)
			abort();
		(void)dns_make_error(q, &dq, DNS_RCODE_REFUSED);
	}
	/* The same bytes as a rule string. */
	n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	if (netrule_parse(text, &rule, why, sizeof(why)) == 0) {
		char back[NET_RULE_TEXT_MAX + 8];
		struct pyro_net_rule again;

		if (!netrule_valid(&rule))
			abort();
		netrule_format(&rule, back, sizeof(back));
		/* A normalised rule parses to itself. */
		if (netrule_parse(back, &again, why, sizeof(why)) < 0 ||
		    memcmp(&again, &rule, sizeof(rule)) != 0)
			abort();
		if (rule.kind == NET_RULE_NAME)
			(void)netrule_name_match(&rule, rule.name);
	}
	return 0;
}
