/*
 * One-shot run with libpyro: boot a fresh microVM, run one command, print
 * its output as it arrives, delete the VM.
 *
 *	cc -o oneshot oneshot.c $(pkg-config --cflags --libs pyro)
 *	./oneshot debian:12 git --version
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pyro/pyro.h>

static void
on_output(void *arg, int fd, const void *data, size_t len)
{
	fwrite(data, 1, len, fd == 1 ? stdout : stderr);
}

int
main(int argc, char *argv[])
{
	pyro_client	*c;
	pyro_error	 err;
	char		*result;

	if (argc < 3) {
		fprintf(stderr, "usage: oneshot ENV COMMAND...\n");
		return 2;
	}
	if (pyro_connect(NULL, &c, &err) < 0) {
		fprintf(stderr, "oneshot: %s (%s)\n", err.message, err.code);
		return 1;
	}
	pyro_set_output_handler(c, on_output, NULL);
	if (pyro_run_in_vm(c, argv[1], (const char *const *)argv + 2,
	    "{\"timeout_seconds\":60}", &result, &err) < 0) {
		fprintf(stderr, "oneshot: %s (%s)\n", err.message, err.code);
		pyro_disconnect(c);
		return 1;
	}
	/* The result is JSON: {"exit_code":0,"execution_mode":...}. */
	fprintf(stderr, "result: %s\n", result);
	pyro_free(result);
	pyro_disconnect(c);
	return 0;
}
