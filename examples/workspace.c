/*
 * A workspace with libpyro: create it seeded from a host directory, run a
 * command (its output streamed), change a file, diff against the baseline,
 * snapshot, reset to the snapshot, export a file, stop it and read the
 * file from its disk offline (3.1.0), start it again, delete.
 *
 *	cc -o workspace workspace.c $(pkg-config --cflags --libs pyro)
 *	./workspace debian:12 ./my-project
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pyro/pyro.h>

static void
on_output(void *arg, int fd, const void *data, size_t len)
{
	(void)arg;
	fwrite(data, 1, len, fd == 1 ? stdout : stderr);
}

/* "key":"value" out of a JSON result; enough for this example. */
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

static int
check(int rc, const char *what, const pyro_error *err)
{
	if (rc < 0)
		fprintf(stderr, "%s: %s (%s)\n", what, err->message, err->code);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const char *const ls[] = { "ls", "-l", NULL };
	static const char *const edit[] = { "sh", "-c",
	    "echo 'written in the guest' > note.txt", NULL };
	pyro_client	*c;
	pyro_error	 err;
	char		*res = NULL, id[64], opts[4200];
	int		 rc = 1;

	if (argc != 3 || strlen(argv[2]) > 4000) {
		fprintf(stderr, "usage: workspace ENV SEED_DIR\n");
		return 2;
	}
	if (check(pyro_connect(NULL, &c, &err), "connect", &err) < 0)
		return 1;
	pyro_set_output_handler(c, on_output, NULL);
	snprintf(opts, sizeof(opts), "{\"seed_path\":\"%s\"}", argv[2]);
	if (check(pyro_workspace_create(c, argv[1], opts, &res, &err),
	    "create", &err) < 0 || field(res, "workspace_id", id,
	    sizeof(id)) < 0)
		goto out;
	pyro_free(res);
	res = NULL;
	printf("workspace %s\n", id);
	if (check(pyro_workspace_exec(c, id, ls, NULL, NULL, &err), "exec",
	    &err) < 0 ||
	    check(pyro_workspace_exec(c, id, edit, NULL, NULL, &err), "edit",
	    &err) < 0 ||
	    check(pyro_workspace_diff(c, id, &res, &err), "diff", &err) < 0)
		goto cleanup;
	printf("diff: %s\n", strstr(res, "\"summary\"") ? strstr(res,
	    "\"summary\"") : res);
	pyro_free(res);
	res = NULL;
	if (check(pyro_snapshot_create(c, id, "edited", NULL, &err),
	    "snapshot", &err) < 0 ||
	    check(pyro_workspace_reset(c, id, "edited", NULL, &err), "reset",
	    &err) < 0 ||
	    check(pyro_workspace_export(c, id, "note.txt", "note.txt", 1,
	    NULL, &err), "export", &err) < 0)
		goto cleanup;
	printf("exported note.txt\n");
	if (check(pyro_workspace_stop(c, id, NULL, &err), "stop", &err) < 0)
		goto cleanup;
	printf("from the stopped disk: ");
	fflush(stdout);
	if (check(pyro_workspace_disk_read(c, id, "note.txt", 0, NULL, &err),
	    "disk read", &err) < 0 ||
	    check(pyro_workspace_start(c, id, NULL, &err), "start", &err) < 0)
		goto cleanup;
	printf("started again\n");
	rc = 0;
cleanup:
	if (check(pyro_workspace_delete(c, id, NULL, &err), "delete",
	    &err) == 0)
		printf("deleted %s\n", id);
out:
	pyro_free(res);
	pyro_disconnect(c);
	return rc;
}
