/*
 * pyro workspace ...: every workspace command.  One table describes each
 * command's operands and options (which JSON key each option fills, and
 * how); one parser reads them; each command's handler makes one libpyro
 * call and renders its result.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum otype {
	O_INT,		/* positive integer */
	O_INT0,		/* integer >= 0 */
	O_STR,
	O_BOOL,		/* flag: true */
	O_NOT,		/* flag: false */
	O_LIST,		/* repeatable: array of strings */
	O_KV,		/* repeatable NAME=VALUE: object */
};

struct wopt {
	const char	*flag;
	const char	*key;
	enum otype	 type;
};

struct wcmd {
	const char	*name;		/* as in the command table */
	int		 npos;		/* operands before options/-- */
	int		 optional_pos;	/* how many of them may be missing */
	int		 command;	/* takes -- COMMAND... */
	struct wopt	 opts[12];
};

static const struct wcmd wcmds[] = {
	{ "create", 1, 0, 0, {
	    { "seed-path", "seed_path", O_STR },
	    { "network-policy", "network_policy", O_STR },
	    { "secret", "secrets", O_KV },
	    { "secret-file", "secret_files", O_KV },
	    { "vcpu-count", "vcpu_count", O_INT },
	    { "mem-mib", "mem_mib", O_INT },
	    { "ttl-seconds", "ttl_seconds", O_INT },
	    { "allow-host-compat", "allow_host_compat", O_BOOL } } },
	{ "list", 0, 0, 0, { { NULL } } },
	{ "status", 1, 0, 0, { { NULL } } },
	{ "logs", 1, 0, 0, { { NULL } } },
	{ "delete", 1, 0, 0, { { NULL } } },
	{ "start", 1, 0, 0, { { NULL } } },
	{ "stop", 1, 0, 0, { { NULL } } },
	{ "diff", 1, 0, 0, { { NULL } } },
	{ "sync push", 2, 0, 0, { { "dest", "dest", O_STR } } },
	{ "exec", 1, 0, 1, {
	    { "timeout-seconds", "timeout_seconds", O_INT },
	    { "secret-env", "secret_env", O_LIST } } },
	{ "export", 2, 0, 0, {
	    { "output", "output", O_STR },
	    { "force", "force", O_BOOL } } },
	{ "reset", 1, 0, 0, { { "snapshot", "snapshot", O_STR } } },
	{ "snapshot create", 2, 0, 0, { { NULL } } },
	{ "snapshot list", 1, 0, 0, { { NULL } } },
	{ "snapshot delete", 2, 0, 0, { { NULL } } },
	{ "shell open", 1, 0, 0, {
	    { "cwd", "cwd", O_STR },
	    { "cols", "cols", O_INT },
	    { "rows", "rows", O_INT },
	    { "secret-env", "secret_env", O_LIST } } },
	{ "shell read", 2, 0, 0, {
	    { "cursor", "cursor", O_INT0 },
	    { "max-chars", "max_chars", O_INT } } },
	{ "shell write", 2, 0, 0, {
	    { "input", "input", O_STR },
	    { "no-newline", "append_newline", O_NOT } } },
	{ "shell signal", 2, 0, 0, { { "signal", "signal_name", O_STR } } },
	{ "shell close", 2, 0, 0, { { NULL } } },
	{ "service start", 2, 0, 1, {
	    { "cwd", "cwd", O_STR },
	    { "ready-file", "ready_file", O_STR },
	    { "ready-tcp", "ready_tcp", O_STR },
	    { "ready-http", "ready_http", O_STR },
	    { "ready-command", "ready_command", O_STR },
	    { "ready-timeout-seconds", "ready_timeout_seconds", O_INT },
	    { "ready-interval-ms", "ready_interval_ms", O_INT },
	    { "secret-env", "secret_env", O_LIST },
	    { "publish", "published_ports", O_LIST } } },
	{ "service list", 1, 0, 0, { { NULL } } },
	{ "service status", 2, 0, 0, { { NULL } } },
	{ "service logs", 2, 0, 0, { { "tail-lines", "tail_lines", O_INT } } },
	{ "service stop", 2, 0, 0, { { NULL } } },
	{ "disk list", 2, 1, 0, { { "recursive", "recursive", O_BOOL } } },
	{ "disk read", 2, 0, 0, { { "max-bytes", "max_bytes", O_INT } } },
	{ "disk export", 1, 0, 0, {
	    { "output", "output", O_STR },
	    { "force", "force", O_BOOL } } },
	{ NULL, 0, 0, 0, { { NULL } } }
};

/* What the parser found: operands, options as JSON, the command. */
struct parsed {
	const char	*pos[3];
	cJSON		*opts;
	char		**argv;		/* after --, NULL-terminated */
};

static const struct wcmd *
wcmd_find(const char *name)
{
	const struct wcmd	*w;

	for (w = wcmds; w->name != NULL; w++)
		if (strcmp(w->name, name) == 0)
			return w;
	return NULL;
}

static int
add_kv(cJSON *opts, const char *key, const char *arg, const struct cmd *c,
    const char *flag)
{
	const char	*eq = strchr(arg, '=');
	cJSON		*obj = cJSON_GetObjectItemCaseSensitive(opts, key);
	char		 name[80];

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return out_usage_error(c, "--%s takes NAME=%s", flag,
		    strcmp(flag, "secret") == 0 ? "VALUE" : "PATH");
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	if (obj == NULL)
		obj = cJSON_AddObjectToObject(opts, key);
	if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL)
		return out_usage_error(c, "secret \"%s\" is given twice", name);
	cJSON_AddStringToObject(obj, name, eq + 1);
	return 0;
}

/*
 * Parse argv for command w; returns 0, or the exit status after printing
 * usage (or help).
 */
static int
wparse(struct cli *cli, const struct cmd *c, const struct wcmd *w, int argc,
    char **argv, struct parsed *p)
{
	struct option	 longopts[16];
	int		 n = 0, ch, i, npos, idx;
	char		*end;
	long long	 v;

	memset(p, 0, sizeof(*p));
	for (i = 0; w->opts[i].flag != NULL; i++) {
		longopts[n].name = w->opts[i].flag;
		longopts[n].has_arg = (w->opts[i].type == O_BOOL ||
		    w->opts[i].type == O_NOT) ? no_argument :
		    required_argument;
		longopts[n].flag = NULL;
		longopts[n++].val = 1000 + i;
	}
	longopts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	p->opts = cJSON_CreateObject();
	/* 0, not 1: glibc then also resets its permutation state. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		const struct wopt *o;

		if (ch == 'j') {
			cli->json = 1;
			continue;
		}
		if (ch == 'h')
			return cli_usage(c, 0);
		if (ch < 1000)
			return cli_usage(c, 1);
		o = &w->opts[ch - 1000];
		switch (o->type) {
		case O_INT:
		case O_INT0:
			v = strtoll(optarg, &end, 10);
			if (*end != '\0' || v < (o->type == O_INT ? 1 : 0) ||
			    v > 1000000000000LL)
				return out_usage_error(c, "--%s needs a%s "
				    "integer", o->flag, o->type == O_INT ?
				    " positive" : " non-negative");
			cJSON_DeleteItemFromObject(p->opts, o->key);
			cJSON_AddNumberToObject(p->opts, o->key, (double)v);
			break;
		case O_STR:
			cJSON_DeleteItemFromObject(p->opts, o->key);
			cJSON_AddStringToObject(p->opts, o->key, optarg);
			break;
		case O_BOOL:
		case O_NOT:
			cJSON_DeleteItemFromObject(p->opts, o->key);
			cJSON_AddBoolToObject(p->opts, o->key,
			    o->type == O_BOOL);
			break;
		case O_LIST: {
			cJSON *arr = cJSON_GetObjectItem(p->opts, o->key);

			if (arr == NULL)
				arr = cJSON_AddArrayToObject(p->opts, o->key);
			cJSON_AddItemToArray(arr, cJSON_CreateString(optarg));
			break;
		}
		case O_KV:
			if (add_kv(p->opts, o->key, optarg, c, o->flag) != 0)
				return EXIT_USAGE;
			break;
		}
	}
	/* Operands come first; a command, if any, after "--". */
	for (npos = 0; optind < argc && npos < w->npos; npos++)
		p->pos[npos] = argv[optind++];
	if (npos < w->npos - w->optional_pos)
		return out_usage_error(c, "missing operand");
	if (w->command) {
		if (optind >= argc)
			return out_usage_error(c, "no command given after --");
		p->argv = argv + optind;
	} else if (optind < argc)
		return out_usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	return 0;
}

static char *
opts_text(const struct parsed *p)
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
		    "", jstr(it, "detail", ""));
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
		    jnum(it, "duration_ms", 0), jstr(it, "command", ""));
	}
	printf("Events:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "events"))
		printf("  %s  %-16s %s%s%s\n", jstr(it, "at", "?"),
		    jstr(it, "event", "?"), jstr(it, "state", ""),
		    jstr(it, "detail", NULL) ? ": " : "",
		    jstr(it, "detail", ""));
}

static void
render_diff(const cJSON *r)
{
	const cJSON	*it, *s = cJSON_GetObjectItem(r, "summary");

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "files")) {
		const char *st = jstr(it, "status", "?");

		printf("%c %s%s\n", st[0] == 'a' ? 'A' : st[0] == 'd' ? 'D' :
		    'M', jstr(it, "path", "?"), jbool(it, "binary") ?
		    " (binary)" : "");
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "files"))
		if (jstr(it, "diff", NULL) != NULL)
			fputs(jstr(it, "diff", ""), stdout);
	printf("%.0f added, %.0f modified, %.0f deleted%s\n",
	    jnum(s, "added", 0), jnum(s, "modified", 0), jnum(s, "deleted", 0),
	    jbool(r, "truncated") ? " (truncated)" : "");
}

static void
render_transfer(const cJSON *r)
{
	const cJSON	*t = cJSON_GetObjectItem(r, "transfer");

	printf("%s %.0f files, %.0f directories, %.0f symlinks, %.0f bytes "
	    "to %s\n", jstr(r, "output_path", NULL) ? "Exported" : "Pushed",
	    jnum(t, "files", 0), jnum(t, "directories", 0),
	    jnum(t, "symlinks", 0), jnum(t, "bytes", 0),
	    jstr(r, "output_path", jstr(r, "dest", "?")));
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
render_service(const cJSON *r)
{
	char	pid[16] = "-";

	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "pid")))
		snprintf(pid, sizeof(pid), "%.0f", jnum(r, "pid", 0));
	printf("%-16s %-9s pid=%-6s restarts=%.0f", jstr(r, "service_name",
	    "?"), jstr(r, "state", "?"), pid, jnum(r, "restarts", 0));
	if (cJSON_IsNumber(cJSON_GetObjectItem(r, "exit_code")))
		printf(" exit_code=%.0f", jnum(r, "exit_code", 0));
	printf("%s%s\n", jstr(r, "reason", NULL) ? "  " : "",
	    jstr(r, "reason", ""));
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

static void
render_entries(const cJSON *r)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "entries")) {
		printf("%7s %5.0f %5.0f %10.0f %s %s", jstr(it, "mode", "?"),
		    jnum(it, "uid", 0), jnum(it, "gid", 0),
		    jnum(it, "size", 0), jstr(it, "mtime_iso", "-"),
		    jstr(it, "path", "?"));
		if (jstr(it, "symlink_target", NULL) != NULL)
			printf(" -> %s", jstr(it, "symlink_target", ""));
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
ws_output(void *arg, int fd, const void *data, size_t len)
{
	(void)arg;
	(void)fwrite(data, 1, len, fd == 1 ? stdout : stderr);
	(void)fflush(fd == 1 ? stdout : stderr);
}

static void
ws_event(void *arg, const char *kind, const char *json)
{
	cJSON	*ev;

	if (strcmp(kind, "progress") != 0 || (ev = cJSON_Parse(json)) == NULL)
		return;
	fprintf(stderr, "[workspace] phase=%s\n", jstr(ev, "phase", "?"));
	cJSON_Delete(ev);
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
	if (rc < 0)
		return out_error(cli, err);
	rc = out_result(cli, *res, render);
	pyro_free(*res);
	*res = NULL;
	return rc;
}

static int
do_create(struct cli *cli, const struct parsed *p, pyro_error *err)
{
	char	*o = opts_text(p), *res = NULL;
	cJSON	*r;
	int	 rc;

	pyro_set_event_handler(cli->client, ws_event, NULL);
	rc = pyro_workspace_create(cli->client, p->pos[0], o, &res, err);
	free(o);
	if (rc < 0 || cli->json)
		return done(cli, rc, &res, err, NULL);
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

static int
do_exec(struct cli *cli, const struct parsed *p, pyro_error *err)
{
	char	*o = opts_text(p), *res = NULL;
	cJSON	*r;
	int	 rc, code;

	pyro_set_output_handler(cli->client, ws_output, NULL);
	rc = pyro_workspace_exec(cli->client, p->pos[0],
	    (const char *const *)p->argv, o, &res, err);
	free(o);
	if (rc < 0)
		return out_error(cli, err);
	r = cJSON_Parse(res);
	code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "exit_code"));
	if (cJSON_GetObjectItem(r, "signal") != NULL)
		code = 128 + (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r,
		    "signal"));
	if (cli->json)
		(void)out_result(cli, res, NULL);
	cJSON_Delete(r);
	pyro_free(res);
	return code & 0xff;
}

static int
do_service_start(struct cli *cli, const struct parsed *p, pyro_error *err)
{
	char	*o = opts_text(p), *res = NULL;
	int	 rc;

	rc = pyro_service_start(cli->client, p->pos[0], p->pos[1],
	    (const char *const *)p->argv, o, &res, err);
	free(o);
	return done(cli, rc, &res, err, render_service);
}

static int
do_shell(struct cli *cli, const char *name, const struct parsed *p,
    pyro_error *err)
{
	const cJSON	*it;
	char		*o = opts_text(p), *res = NULL;
	int		 rc = -1;

	if (strcmp(name, "shell open") == 0)
		rc = pyro_shell_open(cli->client, p->pos[0], o, &res, err);
	else if (strcmp(name, "shell read") == 0) {
		it = cJSON_GetObjectItem(p->opts, "cursor");
		rc = pyro_shell_read(cli->client, p->pos[0], p->pos[1],
		    it ? (long long)it->valuedouble : 0,
		    (long long)jnum(p->opts, "max_chars", 0), &res, err);
	} else if (strcmp(name, "shell write") == 0) {
		it = cJSON_GetObjectItem(p->opts, "input");
		if (!cJSON_IsString(it)) {
			free(o);
			fprintf(stderr, "pyro: --input TEXT is required\n");
			return EXIT_USAGE;
		}
		rc = pyro_shell_write(cli->client, p->pos[0], p->pos[1],
		    it->valuestring, !cJSON_IsFalse(cJSON_GetObjectItem(
		    p->opts, "append_newline")), &res, err);
	} else if (strcmp(name, "shell signal") == 0)
		rc = pyro_shell_signal(cli->client, p->pos[0], p->pos[1],
		    jstr(p->opts, "signal_name", "INT"), &res, err);
	else if (strcmp(name, "shell close") == 0)
		rc = pyro_shell_close(cli->client, p->pos[0], p->pos[1], &res,
		    err);
	free(o);
	return done(cli, rc, &res, err, strcmp(name, "shell write") == 0 ||
	    strcmp(name, "shell signal") == 0 ? NULL : render_shell);
}

static int
do_disk(struct cli *cli, const char *name, const struct parsed *p,
    pyro_error *err)
{
	char	*res = NULL;
	int	 rc;

	if (strcmp(name, "disk list") == 0 && cli->json)
		return done(cli, pyro_workspace_disk_list(cli->client,
		    p->pos[0], p->pos[1], jbool(p->opts, "recursive"), &res,
		    err), &res, err, NULL);
	if (strcmp(name, "disk list") == 0) {
		cJSON	*a = cJSON_CreateObject();
		char	*text;

		cJSON_AddStringToObject(a, "workspace_id", p->pos[0]);
		if (p->pos[1] != NULL)
			cJSON_AddStringToObject(a, "path", p->pos[1]);
		cJSON_AddBoolToObject(a, "recursive",
		    jbool(p->opts, "recursive"));
		text = cJSON_PrintUnformatted(a);
		cJSON_Delete(a);
		pyro_set_event_handler(cli->client, print_entries, NULL);
		rc = pyro_call(cli->client, "workspace.disk_list", text, &res,
		    err);
		free(text);
		pyro_free(res);
		return rc < 0 ? out_error(cli, err) : EXIT_OK;
	}
	if (strcmp(name, "disk export") == 0)
		return done(cli, pyro_workspace_disk_export(cli->client,
		    p->pos[0], jstr(p->opts, "output", NULL),
		    jbool(p->opts, "force"), &res, err), &res, err,
		    render_disk_export);
	/* disk read: the disk helper writes the bytes to our stdout. */
	fflush(stdout);
	rc = pyro_workspace_disk_read_fd(cli->client, p->pos[0], p->pos[1],
	    (long long)jnum(p->opts, "max_bytes", 0), STDOUT_FILENO, &res,
	    err);
	if (rc < 0)
		return out_error(cli, err);
	if (cli->json)
		(void)out_result(cli, res, NULL);
	pyro_free(res);
	return EXIT_OK;
}

int
cmd_workspace(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	const struct wcmd	*w = wcmd_find(c->name);
	struct parsed		 p;
	pyro_error		 err;
	char			*res = NULL;
	const char		*n = c->name;
	int			 rc;

	if (w == NULL)
		return cli_usage(c, 1);
	if ((rc = wparse(cli, c, w, argc, argv, &p)) != 0) {
		cJSON_Delete(p.opts);
		return rc;
	}
	if ((strcmp(n, "export") == 0 || strcmp(n, "disk export") == 0) &&
	    jstr(p.opts, "output", NULL) == NULL) {
		cJSON_Delete(p.opts);
		return out_usage_error(c, "--output HOST_PATH is required");
	}
	if (cli_connect(cli) != 0) {
		cJSON_Delete(p.opts);
		return EXIT_FAILED;
	}
	if (strcmp(n, "create") == 0)
		rc = do_create(cli, &p, &err);
	else if (strcmp(n, "exec") == 0)
		rc = do_exec(cli, &p, &err);
	else if (strncmp(n, "shell ", 6) == 0)
		rc = do_shell(cli, n, &p, &err);
	else if (strcmp(n, "service start") == 0)
		rc = do_service_start(cli, &p, &err);
	else if (strncmp(n, "disk ", 5) == 0)
		rc = do_disk(cli, n, &p, &err);
	else if (strcmp(n, "list") == 0)
		rc = done(cli, pyro_workspace_list(cli->client, &res, &err),
		    &res, &err, render_list);
	else if (strcmp(n, "status") == 0)
		rc = done(cli, pyro_workspace_status(cli->client, p.pos[0],
		    &res, &err), &res, &err, render_status);
	else if (strcmp(n, "logs") == 0)
		rc = done(cli, pyro_workspace_logs(cli->client, p.pos[0], &res,
		    &err), &res, &err, render_logs);
	else if (strcmp(n, "delete") == 0)
		rc = done(cli, pyro_workspace_delete(cli->client, p.pos[0],
		    &res, &err), &res, &err, render_ok);
	else if (strcmp(n, "start") == 0 || strcmp(n, "stop") == 0) {
		pyro_set_event_handler(cli->client, ws_event, NULL);
		rc = done(cli, (n[2] == 'a' ? pyro_workspace_start :
		    pyro_workspace_stop)(cli->client, p.pos[0], &res, &err),
		    &res, &err, render_ok);
	} else if (strcmp(n, "diff") == 0)
		rc = done(cli, pyro_workspace_diff(cli->client, p.pos[0], &res,
		    &err), &res, &err, render_diff);
	else if (strcmp(n, "sync push") == 0)
		rc = done(cli, pyro_workspace_sync_push(cli->client, p.pos[0],
		    p.pos[1], jstr(p.opts, "dest", NULL), &res, &err), &res,
		    &err, render_transfer);
	else if (strcmp(n, "export") == 0)
		rc = done(cli, pyro_workspace_export(cli->client, p.pos[0],
		    p.pos[1], jstr(p.opts, "output", NULL),
		    jbool(p.opts, "force"), &res, &err), &res, &err,
		    render_transfer);
	else if (strcmp(n, "reset") == 0) {
		pyro_set_event_handler(cli->client, ws_event, NULL);
		rc = done(cli, pyro_workspace_reset(cli->client, p.pos[0],
		    jstr(p.opts, "snapshot", NULL), &res, &err), &res, &err,
		    render_ok);
	} else if (strcmp(n, "snapshot create") == 0)
		rc = done(cli, pyro_snapshot_create(cli->client, p.pos[0],
		    p.pos[1], &res, &err), &res, &err, render_snapshot);
	else if (strcmp(n, "snapshot list") == 0)
		rc = done(cli, pyro_snapshot_list(cli->client, p.pos[0], &res,
		    &err), &res, &err, render_snapshots);
	else if (strcmp(n, "snapshot delete") == 0)
		rc = done(cli, pyro_snapshot_delete(cli->client, p.pos[0],
		    p.pos[1], &res, &err), &res, &err, render_snapshot);
	else if (strcmp(n, "service list") == 0)
		rc = done(cli, pyro_service_list(cli->client, p.pos[0], &res,
		    &err), &res, &err, render_services);
	else if (strcmp(n, "service status") == 0)
		rc = done(cli, pyro_service_status(cli->client, p.pos[0],
		    p.pos[1], &res, &err), &res, &err, render_service);
	else if (strcmp(n, "service logs") == 0)
		rc = done(cli, pyro_service_logs(cli->client, p.pos[0],
		    p.pos[1], (long long)jnum(p.opts, "tail_lines", 0), &res,
		    &err),
		    &res, &err, render_service_logs);
	else if (strcmp(n, "service stop") == 0)
		rc = done(cli, pyro_service_stop(cli->client, p.pos[0],
		    p.pos[1], &res, &err), &res, &err, render_service);
	else
		rc = cli_usage(c, 1);
	cJSON_Delete(p.opts);
	return rc;
}
