/*
 * pyrod.conf (supervisor/config.c): the whole reader, from a file, with
 * its key table, number ranges, CIDR lists and cross-checks.  The file is
 * the operator's, but a typo must be an error, never a crash or a limit
 * quietly switched off.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"
#include "pyrod.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	path[64];
	static int	devnull = -1;
	struct pyrod_config c;
	FILE		*f;
	int		saved, rc;

	if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY)) < 0)
		return 0;
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/pyro-fuzz-conf-%d",
		    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	(void)fwrite(data, 1, size, f);
	fclose(f);
	config_defaults(&c);
	/* The reader's warnings go nowhere; libFuzzer's own do not. */
	saved = dup(2);
	(void)dup2(devnull, 2);
	rc = config_load(&c, path);
	(void)dup2(saved, 2);
	close(saved);
	if (rc == 0) {
		/* Accepted: every limit is still a limit. */
		if (c.max_clients == 0 || c.max_running_vms == 0 ||
		    c.memory_budget_mib < 128 || c.nblock > NET_BLOCK_MAX ||
		    c.ndns > NET_RESOLVERS_MAX || c.net_pool_prefix > 29 ||
		    c.proxy_mark == 0 || !(c.vcpu_overcommit > 0))
			abort();
	}
	return 0;
}
