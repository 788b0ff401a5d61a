/*
 * pyro: the command-line interface.  A command table drives dispatch and
 * usage; every command talks to pyrod only through libpyro.
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd commands[] = {
	{ NULL, "run", cmd_run, "ENV [--vcpu-count N] [--mem-mib N] "
	  "[--timeout-seconds N] [--network] [--allow-host-compat] [--json] "
	  "-- COMMAND...",
	  "run one command in a fresh VM, then delete the VM" },
	{ "demo", "ollama", cmd_demo_ollama, "[--model NAME] [--url URL] "
	  "[--prompt TEXT] [--environment ENV]",
	  "an agent loop: a local Ollama model calls vm_run through libpyro" },
	{ NULL, "demo", cmd_demo, "[--network]",
	  "prove the one-shot VM lifecycle end to end (prints JSON)" },
	{ "env", "list", cmd_env_list, "[--json]",
	  "list the catalog and what is installed" },
	{ "env", "inspect", cmd_env_inspect, "NAME [--json]",
	  "show an installed environment's manifest" },
	{ "env", "pull", cmd_env_pull, "NAME [--json]",
	  "install an environment (built locally: no registry yet)" },
	{ "env", "build", cmd_env_build, "NAME [--json]",
	  "build an environment from Debian packages (root)" },
	{ "env", "prune", cmd_env_prune, "[--json]",
	  "remove partial, replaced and unknown environments" },
	{ NULL, "doctor", cmd_doctor, "[--json]",
	  "check this host: KVM, the VMM, networking, helpers" },
	{ "vm", "create", cmd_vm_create, "ENV [--vcpu-count N] [--mem-mib N] "
	  "[--ttl-seconds N] [--network] [--allow-host-compat] [--json]",
	  "create a VM (TTL 600 s by default); prints its id" },
	{ "vm", "start", cmd_simple, "VM_ID [--json]", "boot a VM" },
	{ "vm", "exec", cmd_vm_exec, "VM_ID [--timeout-seconds N] [--json] "
	  "-- COMMAND...", "run one command in a running VM, then delete it" },
	{ "vm", "stop", cmd_simple, "VM_ID [--json]",
	  "power a VM off, keeping its disk" },
	{ "vm", "delete", cmd_simple, "VM_ID [--json]", "delete a VM" },
	{ "vm", "status", cmd_simple, "VM_ID [--json]", "show one VM" },
	{ "vm", "list", cmd_simple, "[--json]", "list your VMs" },
	{ "vm", "network-info", cmd_simple, "VM_ID [--json]",
	  "show a VM's network devices" },
	{ "vm", "reap-expired", cmd_simple, "[--json]",
	  "delete your VMs past their TTL" },
	{ "workspace", "list", cmd_workspace, "[--json]",
	  "list your workspaces" },
	{ "workspace", "status", cmd_workspace, "WORKSPACE_ID [--json]",
	  "show one workspace: state, resources, shells, services, TTL" },
	{ "workspace", "create", cmd_workspace, "ENV [--seed-path DIR|ARCHIVE] [--network-policy off] [--secret NAME=VALUE]... [--secret-file NAME=PATH]... [--vcpu-count N] [--mem-mib N] [--ttl-seconds N] [--allow-host-compat] [--json]",
	  "create a workspace (booted and seeded); prints its id" },
	{ "workspace", "logs", cmd_workspace, "WORKSPACE_ID [--json]",
	  "show a workspace's command history and events" },
	{ "workspace", "delete", cmd_workspace, "WORKSPACE_ID [--json]",
	  "stop and remove a workspace" },
	{ "workspace", "start", cmd_workspace, "WORKSPACE_ID [--json]",
	  "boot a stopped workspace again" },
	{ "workspace", "stop", cmd_workspace, "WORKSPACE_ID [--json]",
	  "flush the guest and power the workspace off" },
	{ "workspace", "exec", cmd_workspace, "WORKSPACE_ID [--timeout-seconds N] [--secret-env NAME[=ENV]]... [--json] -- COMMAND...",
	  "run a command in /workspace" },
	{ "workspace", "sync push", cmd_workspace, "WORKSPACE_ID SOURCE_PATH [--dest DIR] [--json]",
	  "copy a host directory or archive into the workspace" },
	{ "workspace", "diff", cmd_workspace, "WORKSPACE_ID [--json]",
	  "compare /workspace with the baseline" },
	{ "workspace", "export", cmd_workspace, "WORKSPACE_ID PATH --output HOST_PATH [--force] [--json]",
	  "copy a file or directory out to the host" },
	{ "workspace", "snapshot create", cmd_workspace, "WORKSPACE_ID NAME [--json]",
	  "checkpoint /workspace" },
	{ "workspace", "snapshot list", cmd_workspace, "WORKSPACE_ID [--json]",
	  "list the baseline and snapshots" },
	{ "workspace", "snapshot delete", cmd_workspace, "WORKSPACE_ID NAME [--json]",
	  "delete a snapshot" },
	{ "workspace", "reset", cmd_workspace, "WORKSPACE_ID [--snapshot NAME] [--json]",
	  "rebuild the disk and restore the baseline or a snapshot" },
	{ "workspace", "shell open", cmd_workspace, "WORKSPACE_ID [--cwd DIR] [--cols N] [--rows N] [--secret-env NAME[=ENV]]... [--json]",
	  "open a persistent PTY shell; prints its id" },
	{ "workspace", "shell read", cmd_workspace, "WORKSPACE_ID SHELL_ID [--cursor N] [--max-chars N] [--json]",
	  "read a shell's output from a cursor" },
	{ "workspace", "shell write", cmd_workspace, "WORKSPACE_ID SHELL_ID --input TEXT [--no-newline] [--json]",
	  "type into a shell" },
	{ "workspace", "shell signal", cmd_workspace, "WORKSPACE_ID SHELL_ID [--signal INT|TERM|KILL|HUP|QUIT] [--json]",
	  "signal a shell's foreground job" },
	{ "workspace", "shell close", cmd_workspace, "WORKSPACE_ID SHELL_ID [--json]",
	  "close a shell" },
	{ "workspace", "service start", cmd_workspace, "WORKSPACE_ID NAME [--cwd DIR] [--ready-file PATH | --ready-tcp HOST:PORT | --ready-http URL | --ready-command CMD] [--ready-timeout-seconds N] [--ready-interval-ms N] [--secret-env NAME[=ENV]]... [--json] -- COMMAND...",
	  "start a named background service" },
	{ "workspace", "service list", cmd_workspace, "WORKSPACE_ID [--json]",
	  "list a workspace's services" },
	{ "workspace", "service status", cmd_workspace, "WORKSPACE_ID NAME [--json]",
	  "show one service" },
	{ "workspace", "service logs", cmd_workspace, "WORKSPACE_ID NAME [--tail-lines N] [--json]",
	  "show a service's output" },
	{ "workspace", "service stop", cmd_workspace, "WORKSPACE_ID NAME [--json]",
	  "stop a service (TERM, then KILL)" },
	{ "workspace", "disk list", cmd_workspace, "WORKSPACE_ID [PATH] [--recursive] [--json]",
	  "list a stopped workspace's disk (PATH: /workspace)" },
	{ "workspace", "disk read", cmd_workspace, "WORKSPACE_ID PATH [--max-bytes N] [--json]",
	  "print a file from a stopped workspace's disk" },
	{ "workspace", "disk export", cmd_workspace, "WORKSPACE_ID --output FILE.ext4 [--force] [--json]",
	  "write a stopped workspace's disk as one raw ext4 image" },
	{ "mcp", "serve", cmd_mcp_serve, "",
	  "serve the MCP tools on stdio (JSON-RPC 2.0, for MCP clients)" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void
print_commands(FILE *f)
{
	const struct cmd	*c;
	char			 words[64];

	fprintf(f, "Commands:\n");
	for (c = commands; c->name != NULL; c++) {
		snprintf(words, sizeof(words), "%s%s%s", c->group ? c->group :
		    "", c->group ? " " : "", c->name);
		fprintf(f, "  %-20s %s\n", words, c->summary);
	}
}

static int
main_usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: pyro [--json] [--socket PATH] COMMAND [ARGS...]\n"
	    "       pyro COMMAND --help\n       pyro --version\n\n");
	print_commands(f);
	fprintf(f, "\nEnvironment: PYRO_SOCKET (default "
	    "/run/pyro/pyrod.sock), PYRO_ENVIRONMENT_CACHE_DIR.\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
	return status ? EXIT_USAGE : EXIT_OK;
}

int
cli_usage(const struct cmd *c, int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: pyro %s%s%s %s\n", c->group ? c->group : "",
	    c->group ? " " : "", c->name, c->args);
	if (status == 0)
		fprintf(f, "\n%s.\n", c->summary);
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

int
cli_simple_args(struct cli *cli, const struct cmd *c, int argc, char **argv,
    int min_pos, int max_pos)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, npos;

	/* 0, not 1: glibc then also resets its permutation state. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			cli->json = 1;
			break;
		case 'h':
			exit(cli_usage(c, 0));
		default:
			exit(cli_usage(c, 1));
		}
	}
	npos = argc - optind;
	if (npos < min_pos || npos > max_pos) {
		out_usage_error(c, npos < min_pos ? "missing argument" :
		    "unexpected argument \"%s\"", argv[argc - 1]);
		exit(EXIT_USAGE);
	}
	return optind;
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

	for (c = commands; c->name != NULL; c++)
		if (c->group != NULL && strcmp(c->group, group) == 0)
			fprintf(f, "usage: pyro %s %s %s\n", c->group, c->name,
			    c->args);
	return status ? EXIT_USAGE : EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli		 cli = { 0 };
	const struct cmd	*c;
	int			 ch, used, rc;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			cli.json = 1;
			break;
		case 's':
			cli.socket = optarg;
			break;
		case 'h':
			return main_usage(0);
		case 'V':
			printf("pyro %s\n", pyro_version());
			return EXIT_OK;
		default:
			return main_usage(1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return main_usage(1);
	if (strcmp(argv[0], "help") == 0) {
		/* One command per line, for scripts (tests/parity.sh). */
		if (argc > 1 && strcmp(argv[1], "--commands") == 0) {
			for (c = commands; c->name != NULL; c++)
				printf("%s%s%s\n", c->group ? c->group : "",
				    c->group ? " " : "", c->name);
			return EXIT_OK;
		}
		return main_usage(0);
	}
	if ((c = find_command(argc, argv, &used)) == NULL) {
		if (used == 1) {
			if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
			    strcmp(argv[1], "-h") == 0))
				return group_usage(argv[0], 0);
			fprintf(stderr, "pyro: unknown %s command%s%s\n",
			    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] :
			    "");
			return group_usage(argv[0], 1);
		}
		fprintf(stderr, "pyro: unknown command \"%s\"\n", argv[0]);
		return main_usage(1);
	}
	/* The handler sees its own words as argv[0]. */
	rc = c->fn(&cli, c, argc - used + 1, argv + used - 1);
	pyro_disconnect(cli.client);
	return rc;
}
