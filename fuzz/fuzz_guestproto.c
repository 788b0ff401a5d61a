/*
 * The guest protocol (common/guestproto.c), both sides: gp_check() on a
 * header from the agent and from the host, and gp_exec_parse() on an exec
 * payload (the agent parses what the host sends).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_hdr	 h;
	struct gp_exec	 x;
	const char	*cwd;
	char		**argv, **env;
	uint8_t		*p;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	(void)gp_check(&h, GP_FROM_AGENT);
	(void)gp_check(&h, GP_FROM_HOST);
	data += sizeof(h);
	size -= sizeof(h);
	if (size > GP_MAXPAYLOAD)
		return 0;
	argv = calloc(GP_ARGS_MAX + 1, sizeof(*argv));
	env = calloc(GP_ARGS_MAX + 1, sizeof(*env));
	if ((p = malloc(size ? size : 1)) != NULL && argv && env) {
		memcpy(p, data, size);
		if (size >= sizeof(x))
			memcpy(&x, p, sizeof(x));
		else
			memset(&x, 0, sizeof(x));
		(void)gp_exec_parse(p, size, &x, &cwd, argv, env);
	}
	free(p);
	free(argv);
	free(env);
	return 0;
}
