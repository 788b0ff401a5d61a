/*
 * bench/sdk (C side): N no-op calls through the C SDK, for comparison with
 * the same calls through the Python SDK.  The call is pyro_workspace_status
 * of a running workspace: pyrod answers from its registry, no guest is
 * involved, so the time is the SDK's and the control socket's.  Prints
 * the median round trip in microseconds.
 *
 *	sdkping N WORKSPACE_ID
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "pyro/pyro.h"
#include "bench.h"

int
main(int argc, char *argv[])
{
	pyro_client	*c;
	pyro_error	 err;
	char		*res;
	long long	*rtt, t;
	int		 n, k;

	if (argc != 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: sdkping N WORKSPACE_ID\n");
		return 2;
	}
	if ((rtt = calloc((size_t)n, sizeof(*rtt))) == NULL)
		return 1;
	if (pyro_connect(NULL, &c, &err) < 0)
		goto fail;
	for (k = 0; k < n; k++) {
		t = pyro_mono_us();
		if (pyro_workspace_status(c, argv[2], &res, &err) < 0)
			goto fail;
		pyro_free(res);
		rtt[k] = pyro_mono_us() - t;
	}
	printf("%lld\n", median_ll(rtt, n));
	pyro_disconnect(c);
	free(rtt);
	return 0;
fail:
	fprintf(stderr, "sdkping: %s (%s)\n", err.message, err.code);
	return 1;
}
