/*
 * pyro workspace ...: every workspace command.  main.c's table describes
 * each command's operands and options and its one parser reads them; each
 * command's handler here makes one libpyro call and renders its result.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static char *
opts_text(const struct args *p)
{
	return cJSON_PrintUnformatted(p->opts);
}

/* ---- renderers ---- */

static void
render_status(const cJSON *r)
{
	const cJSON	*it;

	printf("Workspace:    %s\n", jstr(r, "workspace_id", "?"));
	printf("State:        %s\n", jstr(r, "state", "?"));
	printf("Environment:  %s (%s)\n", jstr(r, "environment", "-"),
	    jstr(r, "execution_mode", "-"));
	printf("Resources:    %.0f vCPU, %.0f MiB\n", jnum(r, "vcpu_count", 0),
	    jnum(r, "mem_mib", 0));
	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "uptime_seconds")))
		printf("Uptime:       %.0f s\n", jnum(r, "uptime_seconds", 0));
	printf("TTL left:     %.0f s\n", jnum(r, "ttl_remaining_seconds", 0));
	printf("Seed:         %s\n", jstr(r, "seed", "none"));
	if ((it = cJSON_GetObjectItem(r, "networking")) != NULL)
		out_networking(it);
	printf("Secrets:      ");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "secrets"))
		printf("%s ", it->valuestring);
	printf("\nSnapshots:    ");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "snapshots"))
		printf("%s ", jstr(it, "name", "?"));
	printf("\nShells:       ");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "shells"))
		printf("%s(%s) ", jstr(it, "shell_id", "?"),
		    jstr(it, "state", "?"));
	printf("\nServices:     ");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "services"))
		printf("%s(%s) ", jstr(it, "service_name", "?"),
		    jstr(it, "state", "?"));
	printf("\n");
	if ((it = cJSON_GetObjectItem(r, "last_event")) != NULL)
		printf("Last event:   %s %s%s%s\n", jstr(it, "at", ""),
		    jstr(it, "event", ""), jstr(it, "detail", NULL) ? ": " :
		    "", ostr(it, "detail", ""));
}

static void
render_list(const cJSON *r)
{
	out_records(r, "workspaces");
}

static void
render_logs(const cJSON *r)
{
	const cJSON	*it;

	printf("History:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "history")) {
		const cJSON *ec = cJSON_GetObjectItem(it, "exit_code");
		char code[16];

		if (cJSON_IsNumber(ec))
			snprintf(code, sizeof(code), "%d", (int)ec->valuedouble);
		else
			snprintf(code, sizeof(code), "-");
		printf("  %s  %-9s exit=%-4s %6.0fms  %s\n",
		    jstr(it, "started_at", "?"), jstr(it, "kind", "?"), code,
		    jnum(it, "duration_ms", 0), ocommand(it));
	}
	printf("Events:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "events"))
		printf("  %s  %-16s %s%s%s\n", jstr(it, "at", "?"),
		    jstr(it, "event", "?"), jstr(it, "state", ""),
		    jstr(it, "detail", NULL) ? ": " : "",
		    ostr(it, "detail", ""));
}

/*
 * A unified diff's lines all start with one of " +-@\\"; a newline followed
 * by anything else came from inside a name (the guest chose it) and would
 * forge a line of output: it is shown as the two characters \\n.
 */
static void
print_diff_text(const char *t)
{
	size_t	 n = strlen(t), i, o = 0;
	char	*b = malloc(2 * n + 3);

	if (b == NULL)
		return;
	/* The text's first line is held to the same rule. */
	if (n > 0 && strchr(" +-@\\", t[0]) == NULL) {
		b[o++] = '\\';
		b[o++] = 'n';
	}
	for (i = 0; i < n; i++) {
		if (t[i] == '\n' && t[i + 1] != '\0' &&
		    strchr(" +-@\\", t[i + 1]) == NULL) {
			b[o++] = '\\';
			b[o++] = 'n';
		} else
			b[o++] = t[i];
	}
	b[o] = '\0';
	fputs(otext(b), stdout);
	if (o > 0 && b[o - 1] != '\n')
		putchar('\n');	/* the next line starts a line */
	free(b);
}

static void
render_diff(const cJSON *r)
{
	const cJSON	*it, *s = cJSON_GetObjectItem(r, "summary");

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "files")) {
		const char *st = jstr(it, "status", "?");

		printf("%c %s%s\n", st[0] == 'a' ? 'A' : st[0] == 'd' ? 'D' :
		    'M', oname(it, "path", "?"), jbool(it, "binary") ?
		    " (binary)" : "");
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "files"))
		if (jstr(it, "diff", NULL) != NULL)
			print_diff_text(jstr(it, "diff", ""));
	printf("%.0f added, %.0f modified, %.0f deleted%s\n",
	    jnum(s, "added", 0), jnum(s, "modified", 0), jnum(s, "deleted", 0),
	    jbool(r, "truncated") ? " (truncated)" : "");
}

/* "1 file", "2 files". */
static const char *
plural(double n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
render_transfer(const cJSON *r)
{
	const cJSON	*t = cJSON_GetObjectItem(r, "transfer");
	double		 f = jnum(t, "files", 0), d = jnum(t, "directories", 0);
	double		 l = jnum(t, "symlinks", 0), b = jnum(t, "bytes", 0);

	printf("%s %.0f %s, %.0f %s, %.0f %s, %.0f %s to %s\n",
	    jstr(r, "output_path", NULL) ? "Exported" : "Pushed", f,
	    plural(f, "file", "files"), d, plural(d, "directory",
	    "directories"), l, plural(l, "symlink", "symlinks"), b,
	    plural(b, "byte", "bytes"), jstr(r, "output_path", jstr(r, "dest",
	    "/workspace")));
}

static void
render_snapshots(const cJSON *r)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "snapshots"))
		printf("%-24s %-22s %12.0f bytes\n", jstr(it, "name", "?"),
		    jstr(it, "created_at", "-"), jnum(it, "size_bytes", 0));
}

static void
render_snapshot(const cJSON *r)
{
	printf("Snapshot %s %s.\n", jstr(r, "name", jstr(r, "snapshot_name",
	    "?")), jbool(r, "deleted") ? "deleted" : "created");
}

static void
render_shell(const cJSON *r)
{
	if (cJSON_GetObjectItem(r, "output") != NULL) {
		fputs(jstr(r, "output", ""), stdout);
		fprintf(stderr, "[shell] next_cursor=%.0f state=%s\n",
		    jnum(r, "next_cursor", 0), jstr(r, "state", "?"));
		return;
	}
	if (jbool(r, "closed")) {
		printf("Shell %s closed.\n", jstr(r, "shell_id", "?"));
		return;
	}
	printf("%s\n", jstr(r, "shell_id", "?"));
}

static void
render_shell_write(const cJSON *r)
{
	printf("Wrote to shell %s", jstr(r, "shell_id", "?"));
	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "written")))
		printf(" (%.0f bytes)", jnum(r, "written", 0));
	printf("; read its output with: pyro workspace shell read %s %s\n",
	    jstr(r, "workspace_id", "WORKSPACE_ID"), jstr(r, "shell_id", "?"));
}

static void
render_shell_signal(const cJSON *r)
{
	printf("Sent %s to the foreground job of shell %s.\n",
	    jstr(r, "signal_name", jstr(r, "signal", "the signal")),
	    jstr(r, "shell_id", "?"));
}

static void
render_service(const cJSON *r)
{
	char	pid[24] = "pending";

	/* Without a readiness check the guest may not have reported it yet. */
	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "pid")))
		snprintf(pid, sizeof(pid), "%.0f", jnum(r, "pid", 0));
	printf("%-16s %-9s pid=%-7s restarts=%.0f", jstr(r, "service_name",
	    "?"), jstr(r, "state", "?"), pid, jnum(r, "restarts", 0));
	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "exit_code")))
		printf(" exit_code=%.0f", jnum(r, "exit_code", 0));
	if (cJSON_GetObjectItem(r, "argv") != NULL ||
	    jstr(r, "command", NULL) != NULL)
		printf("  %s", ocommand(r));
	printf("%s%s\n", jstr(r, "reason", NULL) ? "  " : "",
	    ostr(r, "reason", ""));
}

static void
render_services(const cJSON *r)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "services"))
		render_service(it);
}

static void
render_service_logs(const cJSON *r)
{
	fputs(jstr(r, "logs", ""), stdout);
}

static void
render_ok(const cJSON *r)
{
	if (jbool(r, "deleted"))
		printf("Deleted workspace %s.\n", jstr(r, "workspace_id", "?"));
	else
		render_status(r);
}

/* A fork prints its id, as create does; --json the whole status. */
static void
render_forked(const cJSON *r)
{
	printf("%s\n", jstr(r, "workspace_id", "?"));
}

static void
render_entries(const cJSON *r)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "entries")) {
		printf("%7s %5.0f %5.0f %10.0f %s %s", jstr(it, "mode", "?"),
		    jnum(it, "uid", 0), jnum(it, "gid", 0),
		    jnum(it, "size", 0), jstr(it, "mtime_iso", "-"),
		    oname(it, "path", "?"));
		if (jstr(it, "symlink_target", NULL) != NULL)
			printf(" -> %s", oname(it, "symlink_target", ""));
		printf("\n");
	}
}

/* Entries printed as they stream in: no 10,000-entry document is built. */
static void
print_entries(void *arg, const char *kind, const char *json)
{
	cJSON	*ev;

	(void)arg;
	if (strcmp(kind, "disk_entries") != 0 ||
	    (ev = cJSON_Parse(json)) == NULL)
		return;
	render_entries(ev);
	cJSON_Delete(ev);
}

static void
render_disk_export(const cJSON *r)
{
	printf("Exported the disk of %s to %s (%.0f bytes in use)\n",
	    jstr(r, "workspace_id", "?"), jstr(r, "output_path", "?"),
	    jnum(r, "bytes", 0));
}

/* ---- handlers ---- */

static void
ws_event(void *arg, const char *kind, const char *json)
{
	cJSON	*ev;

	(void)arg;
	if (strcmp(kind, "progress") != 0 || (ev = cJSON_Parse(json)) == NULL)
		return;
	out_progress_done();
	fprintf(stderr, "[workspace] phase=%s", jstr(ev, "phase", "?"));
	out_boot_fields(ev);
	fprintf(stderr, "\n");
	cJSON_Delete(ev);
}

/* Progress lines and the transfer progress, never with --json. */
static void
ws_progress(struct cli *cli, const char *label)
{
	if (cli->json)
		return;
	pyro_set_event_handler(cli->client, ws_event, NULL);
	out_progress_attach(cli, label);
}

/*
 * The result of a call made in done()'s own argument list: res is read
 * through its address, after the call has filled it (C leaves the order of
 * argument evaluation open).
 */
static int
done(struct cli *cli, int rc, char **res, const pyro_error *err,
    void (*render)(const cJSON *))
{
	out_progress_done();
	if (rc < 0)
		return out_error(cli, err);
	rc = out_result(cli, *res, render);
	pyro_free(*res);
	*res = NULL;
	return rc;
}

static int
do_create(struct cli *cli, const struct args *p, pyro_error *err)
{
	char	*o = opts_text(p), *res = NULL;
	cJSON	*r;
	int	 rc;

	ws_progress(cli, "seed");
	rc = pyro_workspace_create(cli->client, p->pos[0], o, &res, err);
	free(o);
	if (rc < 0 || cli->json)
		return done(cli, rc, &res, err, NULL);
	out_progress_done();
	/* The id alone on stdout, for WS=$(pyro workspace create ...). */
	r = cJSON_Parse(res);
	printf("%s\n", jstr(r, "workspace_id", "?"));
	fprintf(stderr, "[workspace] %s is %s (%s, seed: %s)\n",
	    jstr(r, "workspace_id", "?"), jstr(r, "state", "?"),
	    jstr(r, "environment", "?"), jstr(r, "seed", "none"));
	cJSON_Delete(r);
	pyro_free(res);
	return EXIT_OK;
}

/*
 * exec streams the command's output and exits with its status; with
 * --json the output goes into the one result document instead.
 */
static int
do_exec(struct cli *cli, const struct args *p, pyro_error *err)
{
	struct capture	 cap = { cli, cli->json, { NULL }, { 0 }, 0 };
	char		*o = opts_text(p), *res = NULL;
	cJSON		*r;
	int		 rc, code;

	pyro_set_output_handler(cli->client, out_capture, &cap);
	rc = pyro_workspace_exec(cli->client, p->pos[0],
	    (const char *const *)p->argv, o, &res, err);
	free(o);
	if (rc < 0) {
		out_capture_free(&cap);
		return out_error(cli, err);
	}
	r = cJSON_Parse(res);
	code = (int)jnum(r, "exit_code", 1);
	if (cJSON_GetObjectItem(r, "signal") != NULL)
		code = 128 + (int)jnum(r, "signal", 0);
	if (cli->json) {
		out_add_bytes(r, "stdout", cap.buf[1], cap.len[1]);
		out_add_bytes(r, "stderr", cap.buf[2], cap.len[2]);
		cJSON_AddBoolToObject(r, "output_truncated", cap.truncated);
		out_json(r);
	}
	out_capture_free(&cap);
	cJSON_Delete(r);
	pyro_free(res);
	return code & 0xff;
}

static int
do_service_start(struct cli *cli, const struct args *p, pyro_error *err)
{
	char	*o = opts_text(p), *res = NULL;
	int	 rc;

	rc = pyro_service_start(cli->client, p->pos[0], p->pos[1],
	    (const char *const *)p->argv, o, &res, err);
	free(o);
	return done(cli, rc, &res, err, render_service);
}

static int
do_shell(struct cli *cli, const char *name, const struct args *p,
    pyro_error *err)
{
	const cJSON	*it;
	char		*o = opts_text(p), *res = NULL;
	int		 rc = -1;
	void		(*render)(const cJSON *) = render_shell;

	if (strcmp(name, "shell open") == 0)
		rc = pyro_shell_open(cli->client, p->pos[0], o, &res, err);
	else if (strcmp(name, "shell read") == 0) {
		it = cJSON_GetObjectItem(p->opts, "cursor");
		rc = pyro_shell_read(cli->client, p->pos[0], p->pos[1],
		    it ? (long long)it->valuedouble : 0,
		    (long long)jnum(p->opts, "max_chars", 0), &res, err);
	} else if (strcmp(name, "shell write") == 0) {
		rc = pyro_shell_write(cli->client, p->pos[0], p->pos[1],
		    jstr(p->opts, "input", ""), !cJSON_IsFalse(
		    cJSON_GetObjectItem(p->opts, "append_newline")), &res, err);
		render = render_shell_write;
	} else if (strcmp(name, "shell signal") == 0) {
		rc = pyro_shell_signal(cli->client, p->pos[0], p->pos[1],
		    jstr(p->opts, "signal_name", "INT"), &res, err);
		render = render_shell_signal;
	} else if (strcmp(name, "shell close") == 0)
		rc = pyro_shell_close(cli->client, p->pos[0], p->pos[1], &res,
		    err);
	free(o);
	return done(cli, rc, &res, err, render);
}

/* disk list without --json: entries printed as they stream in. */
static int
disk_list_stream(struct cli *cli, const struct args *p, pyro_error *err)
{
	cJSON	*a = cJSON_CreateObject();
	char	*text, *res = NULL;
	int	 rc;

	cJSON_AddStringToObject(a, "workspace_id", p->pos[0]);
	if (p->pos[1] != NULL)
		cJSON_AddStringToObject(a, "path", p->pos[1]);
	cJSON_AddBoolToObject(a, "recursive", jbool(p->opts, "recursive"));
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	pyro_set_event_handler(cli->client, print_entries, NULL);
	rc = pyro_call(cli->client, "workspace.disk_list", text, &res, err);
	free(text);
	pyro_free(res);
	return rc < 0 ? out_error(cli, err) : EXIT_OK;
}

/*
 * disk read: the helper writes the bytes straight to our stdout; with
 * --json they are captured (16 MiB at most unless --max-bytes says
 * otherwise) into "content", as text when they are UTF-8 and else in
 * base64, which "encoding" says.
 */
static int
disk_read(struct cli *cli, const struct args *p, pyro_error *err)
{
	struct capture	 cap = { cli, 1, { NULL }, { 0 }, 0 };
	long long	 max = (long long)jnum(p->opts, "max_bytes", 0);
	char		*res = NULL;
	cJSON		*r, *tmp;
	int		 rc;

	if (!cli->json) {
		fflush(stdout);
		rc = pyro_workspace_disk_read_fd(cli->client, p->pos[0],
		    p->pos[1], max, STDOUT_FILENO, &res, err);
		pyro_free(res);
		return rc < 0 ? out_error(cli, err) : EXIT_OK;
	}
	pyro_set_output_handler(cli->client, out_capture, &cap);
	rc = pyro_workspace_disk_read(cli->client, p->pos[0], p->pos[1],
	    max > 0 ? max : 16 * 1024 * 1024, &res, err);
	if (rc < 0) {
		out_capture_free(&cap);
		return out_error(cli, err);
	}
	r = cJSON_Parse(res);
	pyro_free(res);
	tmp = cJSON_CreateObject();
	out_add_bytes(tmp, "content", cap.buf[1], cap.len[1]);
	if (cJSON_GetObjectItem(tmp, "content_base64") == NULL) {
		cJSON_AddItemToObject(r, "content", cJSON_DetachItemFromObject(
		    tmp, "content"));
		cJSON_AddStringToObject(r, "encoding", "utf-8");
	} else {
		cJSON_AddItemToObject(r, "content", cJSON_DetachItemFromObject(
		    tmp, "content_base64"));
		cJSON_AddStringToObject(r, "encoding", "base64");
	}
	cJSON_Delete(tmp);
	out_json(r);
	cJSON_Delete(r);
	out_capture_free(&cap);
	return EXIT_OK;
}

static int
do_disk(struct cli *cli, const char *name, const struct args *p,
    pyro_error *err)
{
	char	*res = NULL;

	if (strcmp(name, "disk list") == 0 && cli->json)
		return done(cli, pyro_workspace_disk_list(cli->client,
		    p->pos[0], p->pos[1], jbool(p->opts, "recursive"), &res,
		    err), &res, err, NULL);
	if (strcmp(name, "disk list") == 0)
		return disk_list_stream(cli, p, err);
	if (strcmp(name, "disk export") == 0) {
		ws_progress(cli, "disk export");
		return done(cli, pyro_workspace_disk_export(cli->client,
		    p->pos[0], jstr(p->opts, "output", NULL),
		    jbool(p->opts, "force"), &res, err), &res, err,
		    render_disk_export);
	}
	return disk_read(cli, p, err);
}

/* The commands that take the id (and maybe a name) and render a result. */
static int
do_plain(struct cli *cli, const char *n, const struct args *p,
    pyro_error *err)
{
	const char	*id = p->pos[0], *nm = p->pos[1];
	char		*res = NULL;

	if (strcmp(n, "list") == 0)
		return done(cli, pyro_workspace_list(cli->client, &res, err),
		    &res, err, render_list);
	if (strcmp(n, "status") == 0)
		return done(cli, pyro_workspace_status(cli->client, id, &res,
		    err), &res, err, render_status);
	if (strcmp(n, "logs") == 0)
		return done(cli, pyro_workspace_logs(cli->client, id, &res,
		    err), &res, err, render_logs);
	if (strcmp(n, "delete") == 0)
		return done(cli, pyro_workspace_delete(cli->client, id, &res,
		    err), &res, err, render_ok);
	if (strcmp(n, "diff") == 0)
		return done(cli, pyro_workspace_diff(cli->client, id, &res,
		    err), &res, err, render_diff);
	if (strcmp(n, "snapshot create") == 0)
		return done(cli, pyro_snapshot_create(cli->client, id, nm,
		    &res, err), &res, err, render_snapshot);
	if (strcmp(n, "snapshot list") == 0)
		return done(cli, pyro_snapshot_list(cli->client, id, &res,
		    err), &res, err, render_snapshots);
	if (strcmp(n, "snapshot delete") == 0)
		return done(cli, pyro_snapshot_delete(cli->client, id, nm,
		    &res, err), &res, err, render_snapshot);
	if (strcmp(n, "service list") == 0)
		return done(cli, pyro_service_list(cli->client, id, &res, err),
		    &res, err, render_services);
	if (strcmp(n, "service status") == 0)
		return done(cli, pyro_service_status(cli->client, id, nm, &res,
		    err), &res, err, render_service);
	if (strcmp(n, "service logs") == 0)
		return done(cli, pyro_service_logs(cli->client, id, nm,
		    (long long)jnum(p->opts, "tail_lines", 0), &res, err),
		    &res, err, render_service_logs);
	if (strcmp(n, "service stop") == 0)
		return done(cli, pyro_service_stop(cli->client, id, nm, &res,
		    err), &res, err, render_service);
	return -1;
}

/* The commands that take long: progress lines and transfer progress. */
static int
do_long(struct cli *cli, const char *n, const struct args *p,
    pyro_error *err)
{
	const char	*id = p->pos[0];
	char		*res = NULL;

	if (strcmp(n, "start") == 0 || strcmp(n, "stop") == 0) {
		ws_progress(cli, n);
		return done(cli, (n[2] == 'a' ? pyro_workspace_start :
		    pyro_workspace_stop)(cli->client, id, &res, err), &res,
		    err, render_ok);
	}
	if (strcmp(n, "fork") == 0) {
		ws_progress(cli, n);
		return done(cli, pyro_workspace_fork(cli->client, id, &res,
		    err), &res, err, render_forked);
	}
	if (strcmp(n, "reset") == 0) {
		ws_progress(cli, n);
		return done(cli, pyro_workspace_reset(cli->client, id,
		    jstr(p->opts, "snapshot", NULL), &res, err), &res, err,
		    render_ok);
	}
	if (strcmp(n, "sync push") == 0) {
		ws_progress(cli, "push");
		return done(cli, pyro_workspace_sync_push(cli->client, id,
		    p->pos[1], jstr(p->opts, "dest", NULL), &res, err), &res,
		    err, render_transfer);
	}
	if (strcmp(n, "export") == 0) {
		ws_progress(cli, "export");
		return done(cli, pyro_workspace_export(cli->client, id,
		    p->pos[1], jstr(p->opts, "output", NULL),
		    jbool(p->opts, "force"), &res, err), &res, err,
		    render_transfer);
	}
	return -1;
}

int
cmd_workspace(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	const char	*n = c->name;
	int		 rc;

	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	if (strcmp(n, "create") == 0)
		rc = do_create(cli, a, &err);
	else if (strcmp(n, "exec") == 0)
		rc = do_exec(cli, a, &err);
	else if (strncmp(n, "shell ", 6) == 0)
		rc = do_shell(cli, n, a, &err);
	else if (strcmp(n, "service start") == 0)
		rc = do_service_start(cli, a, &err);
	else if (strncmp(n, "disk ", 5) == 0)
		rc = do_disk(cli, n, a, &err);
	else if ((rc = do_plain(cli, n, a, &err)) < 0 &&
	    (rc = do_long(cli, n, a, &err)) < 0)
		rc = cli_usage(c, 1);
	if (cli->client != NULL)
		pyro_set_progress_handler(cli->client, NULL, NULL);
	return rc;
}
