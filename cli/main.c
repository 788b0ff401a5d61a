/*
 * pyro: the command-line interface.  One table describes every command:
 * its words, operands, options (the JSON key each fills and how its value
 * is read) and summary.  One parser reads every command line from it, and
 * every usage text is printed from it, so that --help, --json and the
 * usage errors behave the same everywhere.  Handlers get what the parser
 * found and make their libpyro calls; nothing here talks to pyrod.
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Shorthands for the option rows. */
#define OINT(f, k)	{ f, k, O_INT, "N", 0 }
#define OSTR(f, k, m)	{ f, k, O_STR, m, 0 }
#define OBOOL(f, k)	{ f, k, O_BOOL, NULL, 0 }
#define OSECRETENV	{ "secret-env", "secret_env", O_LIST, "NAME[=ENV]", 0 }
#define OVCPU		OINT("vcpu-count", "vcpu_count")
#define OMEM		OINT("mem-mib", "mem_mib")
#define OHOSTCOMPAT	OBOOL("allow-host-compat", "allow_host_compat")
#define OTIMEOUT	OINT("timeout-seconds", "timeout_seconds")
#define OTTL		OINT("ttl-seconds", "ttl_seconds")
#define OALLOW		{ "allow-egress", "allow_egress", O_LIST, "RULE", 0 }
#define NOOPTS		{ { NULL, NULL, 0, NULL, 0 } }

#define WS		"workspace"
#define ID		"WORKSPACE_ID"

static const struct cmd commands[] = {
	{ NULL, "run", cmd_run, "ENV", 1, 0, C_COMMAND,
	  "run one command in a fresh VM, then delete the VM",
	  { OVCPU, OMEM, OTIMEOUT, OBOOL("network", "network"), OALLOW,
	    OHOSTCOMPAT } },
	{ "demo", "ollama", cmd_demo_ollama, "", 0, 0, C_NO_RESULT,
	  "an agent loop: a local Ollama model calls vm_run through libpyro",
	  { OSTR("model", "model", "NAME"), OSTR("url", "url", "URL"),
	    OSTR("prompt", "prompt", "TEXT"),
	    OSTR("environment", "environment", "ENV") } },
	{ NULL, "demo", cmd_demo, "", 0, 0, C_JSON_ONLY,
	  "prove the one-shot VM lifecycle end to end (prints JSON)",
	  { OBOOL("network", "network") } },
	{ "env", "list", cmd_env_list, "", 0, 0, 0,
	  "list the catalog and what is installed", NOOPTS },
	{ "env", "inspect", cmd_env_inspect, "NAME", 1, 0, 0,
	  "show an installed environment's manifest", NOOPTS },
	{ "env", "pull", cmd_env_pull, "NAME", 1, 0, 0,
	  "install an environment unless it is up to date (from the registry "
	  "when one is configured)",
	  { OBOOL("build", "build"), OBOOL("force", "force"),
	    OSTR("registry", "registry", "URL") } },
	{ "env", "import", cmd_env_import, "NAME", 1, 0, 0,
	  "make a custom environment of a container image (root)",
	  { OSTR("image", "image", "REF"), OSTR("base", "base", "ENV") } },
	{ "env", "push", cmd_env_push, "NAME", 1, 0, 0,
	  "publish an installed environment to a registry (an OCI artifact)",
	  { OSTR("registry", "registry", "URL") } },
	{ "env", "build", cmd_env_pull, "NAME", 1, 0, 0,
	  "build an environment from Debian packages (root)", NOOPTS },
	{ "env", "prune", cmd_env_prune, "", 0, 0, 0,
	  "remove partial, replaced and unknown environments (and, as root, "
	  "warm-start templates out of date)", NOOPTS },
	{ "env", "warm", cmd_env_warm, "NAME", 1, 0, 0,
	  "make the warm-start template of an environment for a shape (root)",
	  { OVCPU, OMEM, OBOOL("network", "network") } },
	{ "env", "templates", cmd_env_templates, "", 0, 0, 0,
	  "list pyrod's warm-start templates", NOOPTS },
	{ NULL, "status", cmd_simple, "", 0, 0, 0,
	  "show pyrod's budgets and what is in use", NOOPTS },
	{ NULL, "doctor", cmd_doctor, "", 0, 0, 0,
	  "check this host: KVM, the VMM, networking, helpers", NOOPTS },
	{ "vm", "create", cmd_vm_create, "ENV", 1, 0, 0,
	  "create a VM (TTL 600 s by default); prints its id",
	  { OVCPU, OMEM, OTTL, OBOOL("network", "network"), OALLOW,
	    OHOSTCOMPAT } },
	{ "vm", "start", cmd_simple, "VM_ID", 1, 0, 0, "boot a VM", NOOPTS },
	{ "vm", "exec", cmd_vm_exec, "VM_ID", 1, 0, C_COMMAND,
	  "run one command in a running VM, then delete it", { OTIMEOUT } },
	{ "vm", "stop", cmd_simple, "VM_ID", 1, 0, 0,
	  "power a VM off, keeping its disk", NOOPTS },
	{ "vm", "delete", cmd_simple, "VM_ID", 1, 0, 0, "delete a VM", NOOPTS },
	{ "vm", "status", cmd_simple, "VM_ID", 1, 0, 0, "show one VM", NOOPTS },
	{ "vm", "list", cmd_simple, "", 0, 0, 0, "list your VMs", NOOPTS },
	{ "vm", "network-info", cmd_simple, "VM_ID", 1, 0, 0,
	  "show a VM's network: policy, TAP, addresses, egress rules",
	  NOOPTS },
	{ "vm", "reap-expired", cmd_simple, "", 0, 0, 0,
	  "delete your VMs past their TTL", NOOPTS },
	{ WS, "list", cmd_workspace, "", 0, 0, 0, "list your workspaces",
	  NOOPTS },
	{ WS, "status", cmd_workspace, ID, 1, 0, 0,
	  "show one workspace: state, resources, shells, services, TTL",
	  NOOPTS },
	{ WS, "create", cmd_workspace, "ENV", 1, 0, 0,
	  "create a workspace (booted and seeded); prints its id",
	  { OSTR("seed-path", "seed_path", "DIR|ARCHIVE"),
	    OSTR("network-policy", "network_policy",
	    "off|egress|egress+published-ports"), OALLOW,
	    { "secret", "secrets", O_KV, "NAME=VALUE", 0 },
	    { "secret-file", "secret_files", O_KV, "NAME=PATH", 0 },
	    OVCPU, OMEM, OTTL, OHOSTCOMPAT } },
	{ WS, "logs", cmd_workspace, ID, 1, 0, 0,
	  "show a workspace's command history and events", NOOPTS },
	{ WS, "delete", cmd_workspace, ID, 1, 0, 0,
	  "stop and remove a workspace", NOOPTS },
	{ WS, "fork", cmd_workspace, ID, 1, 0, 0,
	  "a new running workspace from a running one (memory and disk); "
	  "prints its id", NOOPTS },
	{ WS, "start", cmd_workspace, ID, 1, 0, 0,
	  "boot a stopped workspace again", NOOPTS },
	{ WS, "stop", cmd_workspace, ID, 1, 0, 0,
	  "flush the guest and power the workspace off", NOOPTS },
	{ WS, "exec", cmd_workspace, ID, 1, 0, C_COMMAND,
	  "run a command in /workspace", { OTIMEOUT, OSECRETENV } },
	{ WS, "sync push", cmd_workspace, ID " SOURCE_PATH", 2, 0, 0,
	  "copy a host directory or archive into the workspace",
	  { OSTR("dest", "dest", "DIR") } },
	{ WS, "diff", cmd_workspace, ID, 1, 0, 0,
	  "compare /workspace with the baseline", NOOPTS },
	{ WS, "export", cmd_workspace, ID " PATH", 2, 0, 0,
	  "copy a file or directory out to the host",
	  { { "output", "output", O_STR, "HOST_PATH", OF_REQUIRED },
	    OBOOL("force", "force") } },
	{ WS, "snapshot create", cmd_workspace, ID " NAME", 2, 0, 0,
	  "checkpoint /workspace", NOOPTS },
	{ WS, "snapshot list", cmd_workspace, ID, 1, 0, 0,
	  "list the baseline and snapshots", NOOPTS },
	{ WS, "snapshot delete", cmd_workspace, ID " NAME", 2, 0, 0,
	  "delete a snapshot", NOOPTS },
	{ WS, "reset", cmd_workspace, ID, 1, 0, 0,
	  "rebuild the disk and restore the baseline or a snapshot",
	  { OSTR("snapshot", "snapshot", "NAME") } },
	{ WS, "shell open", cmd_workspace, ID, 1, 0, 0,
	  "open a persistent PTY shell; prints its id",
	  { OSTR("cwd", "cwd", "DIR"), OINT("cols", "cols"),
	    OINT("rows", "rows"), OSECRETENV } },
	{ WS, "shell read", cmd_workspace, ID " SHELL_ID", 2, 0, 0,
	  "read a shell's output from a cursor",
	  { { "cursor", "cursor", O_INT0, "N", 0 },
	    OINT("max-chars", "max_chars") } },
	{ WS, "shell write", cmd_workspace, ID " SHELL_ID", 2, 0, 0,
	  "type into a shell",
	  { { "input", "input", O_STR, "TEXT", OF_REQUIRED },
	    { "no-newline", "append_newline", O_NOT, NULL, 0 } } },
	{ WS, "shell signal", cmd_workspace, ID " SHELL_ID", 2, 0, 0,
	  "signal a shell's foreground job",
	  { { "signal", "signal_name", O_STR, "INT|TERM|KILL|HUP|QUIT",
	    OF_CHOICE } } },
	{ WS, "shell close", cmd_workspace, ID " SHELL_ID", 2, 0, 0,
	  "close a shell", NOOPTS },
	{ WS, "service start", cmd_workspace, ID " NAME", 2, 0, C_COMMAND,
	  "start a named background service",
	  { OSTR("cwd", "cwd", "DIR"),
	    { "ready-file", "ready_file", O_STR, "PATH", OF_ALT },
	    { "ready-tcp", "ready_tcp", O_STR, "HOST:PORT", OF_ALT },
	    { "ready-http", "ready_http", O_STR, "URL", OF_ALT },
	    { "ready-command", "ready_command", O_STR, "CMD", OF_ALT },
	    OINT("ready-timeout-seconds", "ready_timeout_seconds"),
	    OINT("ready-interval-ms", "ready_interval_ms"), OSECRETENV,
	    { "publish", "published_ports", O_LIST, "HOST_PORT:GUEST_PORT",
	    0 } } },
	{ WS, "service list", cmd_workspace, ID, 1, 0, 0,
	  "list a workspace's services", NOOPTS },
	{ WS, "service status", cmd_workspace, ID " NAME", 2, 0, 0,
	  "show one service", NOOPTS },
	{ WS, "service logs", cmd_workspace, ID " NAME", 2, 0, 0,
	  "show a service's output", { OINT("tail-lines", "tail_lines") } },
	{ WS, "service stop", cmd_workspace, ID " NAME", 2, 0, 0,
	  "stop a service (TERM, then KILL)", NOOPTS },
	{ WS, "disk list", cmd_workspace, ID " [PATH]", 2, 1, 0,
	  "list a stopped workspace's disk (PATH: /workspace)",
	  { OBOOL("recursive", "recursive") } },
	{ WS, "disk read", cmd_workspace, ID " PATH", 2, 0, 0,
	  "print a file from a stopped workspace's disk",
	  { OINT("max-bytes", "max_bytes") } },
	{ WS, "disk export", cmd_workspace, ID, 1, 0, 0,
	  "write a stopped workspace's disk as one raw ext4 image",
	  { { "output", "output", O_STR, "FILE.ext4", OF_REQUIRED },
	    OBOOL("force", "force") } },
	{ "mcp", "serve", cmd_mcp_serve, "", 0, 0, C_NO_RESULT,
	  "serve the MCP tools on stdio (JSON-RPC 2.0, for MCP clients)",
	  NOOPTS },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NOOPTS }
};

static void
cmd_words(const struct cmd *c, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", c->group ? c->group : "",
	    c->group ? " " : "", c->name);
}

/* "--flag META", "--flag META...", "--flag" */
static void
opt_text(const struct opt *o, char *buf, size_t size)
{
	snprintf(buf, size, "--%s%s%s%s", o->flag, o->metavar ? " " : "",
	    o->metavar ? o->metavar : "", o->type == O_LIST ||
	    o->type == O_KV ? "..." : "");
}

/* Append word to the usage line in buf, wrapping before column 79. */
static void
put_word(char *buf, size_t size, size_t *col, const char *word)
{
	size_t	len = strlen(buf), w = strlen(word);

	if (*col + 1 + w > 78 && *col > 30) {
		snprintf(buf + len, size - len, "\n       ");
		len = strlen(buf);
		*col = 6;
	}
	snprintf(buf + len, size - len, " %s", word);
	*col += 1 + w;
}

/*
 * The usage text of c, made from its table row: operands, options (the
 * required ones bare, alternatives joined by "|"), --json, the command.
 */
static void
usage_text(const struct cmd *c, char *buf, size_t size)
{
	const struct opt	*o;
	char			 words[64], w[160], alt[400];
	size_t			 col;

	cmd_words(c, words, sizeof(words));
	snprintf(buf, size, "usage: pyro %s", words);
	col = strlen(buf);
	if (c->operands[0] != '\0')
		put_word(buf, size, &col, c->operands);
	for (o = c->opts; o->flag != NULL; o++) {
		opt_text(o, w, sizeof(w));
		if (o->flags & OF_ALT) {
			snprintf(alt, sizeof(alt), "[%s", w);
			while ((o + 1)->flag != NULL && ((o + 1)->flags &
			    OF_ALT)) {
				o++;
				opt_text(o, w, sizeof(w));
				put_word(buf, size, &col, alt);
				snprintf(alt, sizeof(alt), "| %s", w);
			}
			if (strlen(alt) + 1 < sizeof(alt))
				memcpy(alt + strlen(alt), "]", 2);
			put_word(buf, size, &col, alt);
			continue;
		}
		if (o->flags & OF_REQUIRED)
			put_word(buf, size, &col, w);
		else {
			snprintf(alt, sizeof(alt), "[%s]", w);
			put_word(buf, size, &col, alt);
		}
	}
	if (!(c->flags & C_NO_RESULT))
		put_word(buf, size, &col, "[--json]");
	if (c->flags & C_COMMAND)
		put_word(buf, size, &col, "-- COMMAND...");
}

int
cli_usage(const struct cmd *c, int status)
{
	FILE	*f = status == 0 ? stdout : stderr;
	char	 buf[2048];

	usage_text(c, buf, sizeof(buf));
	fprintf(f, "%s\n", buf);
	if (status != 0)
		return EXIT_USAGE;
	fprintf(f, "\n%s.\n", c->summary);
	if (c->flags & C_COMMAND)
		fprintf(f, "\nCOMMAND: several words run as they are (an argv); "
		    "exactly one word is a\nshell command line, run with "
		    "sh -lc in the guest (pipes, &&, redirections).\n");
	if (!(c->flags & C_NO_RESULT))
		fprintf(f, "\n--json prints one JSON document on stdout and "
		    "nothing else.\n");
	return EXIT_OK;
}

static size_t
words_width(void)
{
	const struct cmd	*c;
	char			 words[64];
	size_t			 w = 0;

	for (c = commands; c->name != NULL; c++) {
		cmd_words(c, words, sizeof(words));
		if (strlen(words) > w)
			w = strlen(words);
	}
	return w;
}

static void
print_commands(FILE *f)
{
	const struct cmd	*c;
	char			 words[64];
	int			 w = (int)words_width();

	fprintf(f, "Commands:\n");
	for (c = commands; c->name != NULL; c++) {
		cmd_words(c, words, sizeof(words));
		fprintf(f, "  %-*s  %s\n", w, words, c->summary);
	}
}

static int
main_usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: pyro [--json] [--socket PATH] COMMAND [ARGS...]\n"
	    "       pyro COMMAND --help\n       pyro --version\n\n");
	print_commands(f);
	fprintf(f, "\n--json and --socket PATH are accepted anywhere before "
	    "\"--\".\n"
	    "Environment: PYRO_SOCKET (default /run/pyro/pyrod.sock), "
	    "PYRO_ENVIRONMENT_CACHE_DIR.\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
	return status ? EXIT_USAGE : EXIT_OK;
}

int
cli_connect(struct cli *cli)
{
	pyro_error	err;

	if (cli->client != NULL)
		return 0;
	if (pyro_connect(cli->socket, &cli->client, &err) < 0)
		return out_error(cli, &err);
	return 0;
}

/* ---- the one parser ---- */

static const struct opt *
opt_find(const struct cmd *c, const char *name, size_t len)
{
	const struct opt	*o;

	for (o = c->opts; o->flag != NULL; o++)
		if (strlen(o->flag) == len && strncmp(o->flag, name, len) == 0)
			return o;
	return NULL;
}

static int
choice_ok(const char *choices, const char *v)
{
	const char	*p = choices;
	size_t		 n = strlen(v);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, v, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, '|')) != NULL)
			p++;
	}
	return 0;
}

/* Store one option's value in a->opts; 0 or the exit status. */
static int
opt_store(const struct cmd *c, const struct opt *o, const char *v,
    struct args *a)
{
	const char	*eq;
	cJSON		*obj;
	char		*end, name[80];
	long long	 n;

	switch (o->type) {
	case O_INT:
	case O_INT0:
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < (o->type == O_INT) ||
		    n > 1000000000000LL)
			return out_usage_error(c, "--%s needs a%s integer, not "
			    "\"%s\"", o->flag, o->type == O_INT ? " positive" :
			    " non-negative", v);
		cJSON_DeleteItemFromObjectCaseSensitive(a->opts, o->key);
		cJSON_AddNumberToObject(a->opts, o->key, (double)n);
		return 0;
	case O_STR:
		if ((o->flags & OF_CHOICE) && !choice_ok(o->metavar, v))
			return out_usage_error(c, "--%s takes one of %s, not "
			    "\"%s\"", o->flag, o->metavar, v);
		cJSON_DeleteItemFromObjectCaseSensitive(a->opts, o->key);
		cJSON_AddStringToObject(a->opts, o->key, v);
		return 0;
	case O_BOOL:
	case O_NOT:
		cJSON_DeleteItemFromObjectCaseSensitive(a->opts, o->key);
		cJSON_AddBoolToObject(a->opts, o->key, o->type == O_BOOL);
		return 0;
	case O_LIST:
		if ((obj = cJSON_GetObjectItemCaseSensitive(a->opts,
		    o->key)) == NULL)
			obj = cJSON_AddArrayToObject(a->opts, o->key);
		cJSON_AddItemToArray(obj, cJSON_CreateString(v));
		return 0;
	case O_KV:
		eq = strchr(v, '=');
		if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(name))
			return out_usage_error(c, "--%s takes %s, not \"%s\"",
			    o->flag, o->metavar, v);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - v), v);
		if ((obj = cJSON_GetObjectItemCaseSensitive(a->opts,
		    o->key)) == NULL)
			obj = cJSON_AddObjectToObject(a->opts, o->key);
		if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL)
			return out_usage_error(c, "--%s: \"%s\" is given twice",
			    o->flag, name);
		cJSON_AddStringToObject(obj, name, eq + 1);
		return 0;
	}
	return EXIT_USAGE;
}

/* The k-th word of the operands text, without brackets. */
static void
operand_name(const struct cmd *c, int k, char *buf, size_t size)
{
	const char	*p = c->operands;
	size_t		 n;

	while (k-- > 0 && (p = strchr(p, ' ')) != NULL)
		p++;
	if (p == NULL)
		p = "OPERAND";
	p += strspn(p, "[");
	n = strcspn(p, " ]");
	snprintf(buf, size, "%.*s", (int)n, p);
}

/*
 * One "--name[=value]" at argv[*i]; advances *i past a separate value.
 * Returns 0 or the exit status after printing the usage error.
 */
static int
parse_long(struct cli *cli, const struct cmd *c, int argc, char **argv,
    int *i, struct args *a)
{
	const char		*arg = argv[*i] + 2, *eq = strchr(arg, '=');
	size_t			 len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt	*o = opt_find(c, arg, len);
	const char		*v = eq ? eq + 1 : NULL;

	if (o == NULL && len == 4 && strncmp(arg, "json", 4) == 0 && !eq) {
		cli->json = 1;
		return 0;
	}
	if (o == NULL && len == 6 && strncmp(arg, "socket", 6) == 0) {
		if (v == NULL && (*i + 1 >= argc ||
		    strcmp(argv[*i + 1], "--") == 0))
			return out_usage_error(c, "--socket needs a value "
			    "(PATH)");
		cli->socket = v ? v : argv[++*i];
		return 0;
	}
	if (o == NULL)
		return out_usage_error(c, "unknown option \"--%.*s\" (see the "
		    "usage below)", (int)len, arg);
	if (o->metavar == NULL) {
		if (v != NULL)
			return out_usage_error(c, "--%s takes no value",
			    o->flag);
		return opt_store(c, o, "", a);
	}
	if (v == NULL) {
		/* A flag where the value should be is a missing value. */
		if (*i + 1 >= argc || strcmp(argv[*i + 1], "--") == 0 ||
		    (strncmp(argv[*i + 1], "--", 2) == 0 &&
		    (opt_find(c, argv[*i + 1] + 2, strcspn(argv[*i + 1] + 2,
		    "=")) != NULL || strcmp(argv[*i + 1], "--json") == 0)))
			return out_usage_error(c, "--%s needs a value (%s)",
			    o->flag, o->metavar);
		v = argv[++*i];
	}
	return opt_store(c, o, v, a);
}

/* After the loop: operands, the command, required options. */
static int
parse_check(const struct cmd *c, int dashdash, struct args *a)
{
	const struct opt	*o;
	char			 name[64];

	if (a->npos < c->npos - c->optional) {
		operand_name(c, a->npos, name, sizeof(name));
		return out_usage_error(c, "%s is missing", name);
	}
	if (c->flags & C_COMMAND) {
		if (!dashdash)
			return out_usage_error(c, "no command: give it after "
			    "\"--\"");
		if (a->argv == NULL || a->argv[0] == NULL)
			return out_usage_error(c, "no command after \"--\"");
		if (a->argv[1] == NULL && a->argv[0][strspn(a->argv[0],
		    " \t\n")] == '\0')
			return out_usage_error(c, "the command is empty");
	}
	for (o = c->opts; o->flag != NULL; o++)
		if ((o->flags & OF_REQUIRED) && cJSON_GetObjectItemCaseSensitive(
		    a->opts, o->key) == NULL)
			return out_usage_error(c, "--%s %s is required",
			    o->flag, o->metavar);
	return 0;
}

/*
 * Read argv (argv[0] is the command's last word) for c into a.  --help
 * anywhere before "--" wins; --json and --socket are taken anywhere
 * before "--".  Returns 0, or -1 with *status the exit status after the
 * usage (or help) was printed.  Never talks to pyrod.
 */
static int
parse_args(struct cli *cli, const struct cmd *c, int argc, char **argv,
    struct args *a, int *status)
{
	int	i, rc = 0, dashdash = 0;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			*status = cli_usage(c, 0);
			return -1;
		}
		/* A usage error is then a JSON document too. */
		if (strcmp(argv[i], "--json") == 0)
			out_usage_json = 1;
	}
	a->opts = cJSON_CreateObject();
	for (i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			if (c->flags & C_COMMAND) {
				a->argv = argv + i + 1;
				break;
			}
			continue;
		}
		if (!dashdash && strncmp(argv[i], "--", 2) == 0)
			rc = parse_long(cli, c, argc, argv, &i, a);
		else if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0')
			rc = out_usage_error(c, "unknown option \"%s\" (see "
			    "the usage below)", argv[i]);
		else if (a->npos < c->npos)
			a->pos[a->npos++] = argv[i];
		else if (c->flags & C_COMMAND)
			rc = out_usage_error(c, "unexpected \"%s\": put \"--\" "
			    "before the command", argv[i]);
		else
			rc = out_usage_error(c, "unexpected argument \"%s\"",
			    argv[i]);
	}
	if (rc == 0)
		rc = parse_check(c, dashdash, a);
	if (rc != 0) {
		cJSON_Delete(a->opts);
		a->opts = NULL;
		*status = rc;
		return -1;
	}
	return 0;
}

static const struct cmd *
find_command(int argc, char **argv, int *used)
{
	const struct cmd	*c;
	int			 group_known = 0;

	for (c = commands; c->name != NULL; c++) {
		if (c->group == NULL && strcmp(c->name, argv[0]) == 0) {
			*used = 1;
			return c;
		}
		if (c->group != NULL && strcmp(c->group, argv[0]) == 0) {
			const char *sp = strchr(c->name, ' ');

			group_known = 1;
			if (argc > 1 && sp == NULL &&
			    strcmp(c->name, argv[1]) == 0) {
				*used = 2;
				return c;
			}
			/* "sync push", "shell open": two words. */
			if (argc > 2 && sp != NULL && strlen(argv[1]) ==
			    (size_t)(sp - c->name) && strncmp(c->name, argv[1],
			    (size_t)(sp - c->name)) == 0 &&
			    strcmp(sp + 1, argv[2]) == 0) {
				*used = 3;
				return c;
			}
		}
	}
	*used = group_known ? 1 : 0;
	return NULL;
}

static int
group_usage(const char *group, int status)
{
	const struct cmd	*c;
	FILE			*f = status ? stderr : stdout;
	char			 buf[2048];

	for (c = commands; c->name != NULL; c++)
		if (c->group != NULL && strcmp(c->group, group) == 0) {
			usage_text(c, buf, sizeof(buf));
			fprintf(f, "%s\n", buf);
		}
	if (status == 0)
		fprintf(f, "\npyro %s COMMAND --help explains one command.\n",
		    group);
	return status ? EXIT_USAGE : EXIT_OK;
}

/* A group word alone, or with a word that names none of its commands. */
static int
group_error(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return group_usage(argv[0], 0);
	if (argc > 1 && strncmp(argv[1], "-", 1) != 0)
		fprintf(stderr, "pyro: unknown %s command \"%s%s%s\"\n",
		    argv[0], argv[1], argc > 2 && strncmp(argv[2], "-", 1) ?
		    " " : "", argc > 2 && strncmp(argv[2], "-", 1) ? argv[2] :
		    "");
	return group_usage(argv[0], 1);
}

/* pyro help [--commands | COMMAND...] */
static int
help(int argc, char **argv)
{
	const struct cmd	*c;
	char			 words[64];
	int			 used;

	if (argc > 1 && strcmp(argv[1], "--commands") == 0) {
		/* One command per line, for scripts (tests/parity.sh). */
		for (c = commands; c->name != NULL; c++) {
			cmd_words(c, words, sizeof(words));
			printf("%s\n", words);
		}
		return EXIT_OK;
	}
	if (argc < 2)
		return main_usage(0);
	if ((c = find_command(argc - 1, argv + 1, &used)) != NULL)
		return cli_usage(c, 0);
	if (used == 1)
		return group_usage(argv[1], 0);
	fprintf(stderr, "pyro: unknown command \"%s\"\n", argv[1]);
	return main_usage(1);
}

/* Global options before the command; the index of the command word. */
static int
global_opts(struct cli *cli, int argc, char **argv, int *status)
{
	int	i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			cli->json = out_usage_json = 1;
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			cli->socket = argv[++i];
		else if (strncmp(argv[i], "--socket=", 9) == 0)
			cli->socket = argv[i] + 9;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			*status = main_usage(0);
			return -1;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("pyro %s\n", pyro_version());
			*status = EXIT_OK;
			return -1;
		} else {
			fprintf(stderr, "pyro: unknown option \"%s\"%s\n",
			    argv[i], strcmp(argv[i], "--socket") == 0 ?
			    " needs a value (PATH)" : "");
			*status = main_usage(1);
			return -1;
		}
	}
	return i;
}

int
main(int argc, char *argv[])
{
	struct cli		 cli = { 0 };
	const struct cmd	*c;
	struct args		 a;
	int			 i, used, rc;

	if ((i = global_opts(&cli, argc, argv, &rc)) < 0)
		return rc;
	argc -= i;
	argv += i;
	if (argc == 0)
		return main_usage(1);
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	if ((c = find_command(argc, argv, &used)) == NULL) {
		if (used == 1)
			return group_error(argc, argv);
		fprintf(stderr, "pyro: unknown command \"%s\"\n", argv[0]);
		return main_usage(1);
	}
	/* The parser sees the command's last word as argv[0]. */
	if (parse_args(&cli, c, argc - used + 1, argv + used - 1, &a,
	    &rc) < 0)
		return rc;
	rc = c->fn(&cli, c, &a);
	cJSON_Delete(a.opts);
	pyro_disconnect(cli.client);
	return rc;
}
