/*
 * The VM lifecycle with libpyro: create, start, stop, start again, exec
 * (which deletes the VM afterwards).  Prints each step's state.
 *
 *	cc -o lifecycle lifecycle.c $(pkg-config --cflags --libs pyro)
 *	./lifecycle debian:12
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pyro/pyro.h>

/* A tiny field reader, enough for this example: "key":"value". */
static int
field(const char *json, const char *key, char *out, size_t size)
{
	char		 pat[64];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >= size)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

/* Call one lifecycle function on id and print the VM's new state. */
static int
step(pyro_client *c, const char *what,
    int (*fn)(pyro_client *, const char *, char **, pyro_error *),
    const char *id)
{
	pyro_error	 e;
	pyro_error	*err = &e;
	char		*res = NULL, state[32] = "";
	int		 rc = fn(c, id, &res, err);

	if (rc < 0) {
		fprintf(stderr, "%s: %s (%s)\n", what, err->message, err->code);
		return -1;
	}
	(void)field(res, "state", state, sizeof(state));
	printf("%s: %s\n", what, state[0] ? state : "ok");
	pyro_free(res);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const char *const cmd[] = { "uname", "-r", NULL };
	pyro_client	*c;
	pyro_error	 err;
	char		*res, id[64];

	if (argc != 2) {
		fprintf(stderr, "usage: lifecycle ENV\n");
		return 2;
	}
	if (pyro_connect(NULL, &c, &err) < 0 ||
	    pyro_vm_create(c, argv[1], "{\"ttl_seconds\":300}", &res,
	    &err) < 0) {
		fprintf(stderr, "lifecycle: %s (%s)\n", err.message, err.code);
		return 1;
	}
	if (field(res, "id", id, sizeof(id)) < 0)
		return 1;
	printf("created %s\n", id);
	pyro_free(res);
	if (step(c, "start", pyro_vm_start, id) < 0 ||
	    step(c, "stop", pyro_vm_stop, id) < 0 ||
	    step(c, "start", pyro_vm_start, id) < 0)
		return 1;
	if (pyro_vm_exec(c, id, cmd, NULL, &res, &err) < 0) {
		fprintf(stderr, "exec: %s (%s)\n", err.message, err.code);
		return 1;
	}
	printf("exec: %s\n", res);
	pyro_free(res);
	/* vm exec deleted the VM: its status is now not_found. */
	if (pyro_vm_status(c, id, &res, &err) == 0 ||
	    strcmp(err.code, "not_found") != 0) {
		fprintf(stderr, "lifecycle: the VM outlived its exec\n");
		return 1;
	}
	printf("deleted: %s\n", err.code);
	pyro_disconnect(c);
	return 0;
}
