/*
 * bench/exec (b): the round trip of a no-op agent request through the
 * whole host path (libpyro -> pyrod -> pyro-vmhelper -> agent and back)
 * on one running VM.  Creates and starts a debian:12 VM, sends N pings,
 * prints the median in microseconds, deletes the VM.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pyro/pyro.h"
#include "bench.h"



int
main(int argc, char *argv[])
{
	pyro_client	*c;
	pyro_error	 err;
	char		*res, args[128], id[64];
	long long	*rtt;
	cJSON		*o;
	int		 n = argc > 1 ? atoi(argv[1]) : 200, k, rc = 1;

	if (n <= 0 || (rtt = calloc((size_t)n, sizeof(*rtt))) == NULL)
		return 2;
	if (pyro_connect(NULL, &c, &err) < 0 ||
	    pyro_vm_create(c, "debian:12", NULL, &res, &err) < 0)
		goto fail;
	o = cJSON_Parse(res);
	snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(o, "id")->valuestring);
	cJSON_Delete(o);
	pyro_free(res);
	if (pyro_vm_start(c, id, &res, &err) < 0)
		goto fail;
	pyro_free(res);
	snprintf(args, sizeof(args), "{\"vm_id\":\"%s\"}", id);
	for (k = 0; k < n; k++) {
		long long t = pyro_mono_us();

		if (pyro_call(c, "vm.ping", args, NULL, &err) < 0)
			goto fail;
		rtt[k] = pyro_mono_us() - t;
	}
	printf("%lld\n", median_ll(rtt, n));
	rc = 0;
	(void)pyro_vm_delete(c, id, NULL, &err);
	pyro_disconnect(c);
	return rc;
fail:
	fprintf(stderr, "pyroping: %s (%s)\n", err.message, err.code);
	return 1;
}
