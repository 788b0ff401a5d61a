/*
 * Commands that take no argument or one id and map to one libpyro call:
 * status, vm list|status|start|stop|delete|network-info|reap-expired.
 * One table row per command.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
render_vms(const cJSON *r)
{
	out_records(r, "vms");
}

static void
render_status(const cJSON *r)
{
	const cJSON	*ev;

	printf("VM:           %s\n", out_vm_id(r));
	printf("State:        %s\n", jstr(r, "state", "?"));
	printf("Environment:  %s\n", jstr(r, "environment", "-"));
	printf("Created:      %s\n", jstr(r, "created_at", "-"));
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(r, "events"))
		printf("  %s  %-10s %s%s%s\n", jstr(ev, "at", "?"),
		    jstr(ev, "event", "?"), jstr(ev, "state", ""),
		    jstr(ev, "detail", NULL) ? ": " : "",
		    ostr(ev, "detail", ""));
}

static void
render_deleted(const cJSON *r)
{
	const cJSON	*it;

	if (!cJSON_IsArray(cJSON_GetObjectItem(r, "deleted"))) {
		printf("Deleted VM %s.\n", out_vm_id(r));
		return;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "deleted"))
		printf("Deleted VM %s (TTL expired).\n", it->valuestring);
}

/*
 * The "networking" object of vm network-info and workspace status.  Every
 * value is pyrod's own (addresses, normalised rules, port numbers).
 */
void
out_networking(const cJSON *n)
{
	const cJSON	*it;

	printf("Network:      %s", jstr(n, "policy", "off"));
	if (jstr(n, "guest_ip", NULL) != NULL)
		printf(", guest %s/30 via %s on %s, DNS %s", jstr(n, "guest_ip",
		    "?"), jstr(n, "gateway_ip", "?"), jstr(n, "tap", "?"),
		    jstr(n, "dns", "?"));
	else if (cJSON_IsTrue(cJSON_GetObjectItem(n, "enabled")))
		printf(" (not running)");
	printf("\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItem(n, "allow_egress")) > 0) {
		printf("Egress only:  ");
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(n, "allow_egress"))
			printf("%s ", cJSON_GetStringValue(it));
		printf("\n");
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(n, "published_ports"))
		printf("Published:    %s:%.0f -> guest port %.0f%s%s\n",
		    jstr(it, "host_address", "?"), jnum(it, "host_port", 0),
		    jnum(it, "guest_port", 0), jstr(it, "service_name", NULL) ?
		    " by service " : "", jstr(it, "service_name", ""));
}

static void
render_network(const cJSON *r)
{
	printf("VM:           %s\n", out_vm_id(r));
	out_networking(cJSON_GetObjectItem(r, "networking"));
}

/* pyro status: pyrod's budgets against use. */
static void
used_line(const char *label, const cJSON *o, const char *unit)
{
	printf("%-14s%.0f of %.0f%s\n", label, jnum(o, "used", 0),
	    jnum(o, "limit", 0), unit);
}

static void
render_usage(const cJSON *r)
{
	const cJSON	*w = cJSON_GetObjectItem(r, "workspaces"), *it;
	const cJSON	*cg = cJSON_GetObjectItem(r, "cgroups");
	double		 mine = 0;

	used_line("Guest memory:", cJSON_GetObjectItem(r, "memory_mib"),
	    " MiB");
	used_line("vCPUs:", cJSON_GetObjectItem(r, "vcpus"), "");
	used_line("Running VMs:", cJSON_GetObjectItem(r, "vms_running"), "");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(w, "by_uid"))
		mine += cJSON_IsNumber(it) ? it->valuedouble : 0;
	printf("%-14s%.0f (at most %.0f per user)\n", "Workspaces:", mine,
	    jnum(w, "limit_per_uid", 0));
	used_line("Connections:", cJSON_GetObjectItem(r, "connections"), "");
	used_line("Guest network:", cJSON_GetObjectItem(r, "network_pool"),
	    " /30s");
	printf("%-14s%s\n", "Cgroups:", cg == NULL ? "?" :
	    cJSON_IsTrue(cJSON_GetObjectItem(cg, "ok")) ? "yes" :
	    "no (VMs run without memory limits)");
}

typedef int (*list_fn)(pyro_client *, char **, pyro_error *);
typedef int (*id_fn)(pyro_client *, const char *, char **, pyro_error *);

static const struct {
	const char	*group, *name;
	list_fn		 list;
	id_fn		 byid;
	void		(*render)(const cJSON *);
} calls[] = {
	{ NULL, "status", pyro_usage, NULL, render_usage },
	{ "vm", "list", pyro_vm_list, NULL, render_vms },
	{ "vm", "reap-expired", pyro_vm_reap_expired, NULL, render_deleted },
	{ "vm", "status", NULL, pyro_vm_status, render_status },
	{ "vm", "start", NULL, pyro_vm_start, render_status },
	{ "vm", "stop", NULL, pyro_vm_stop, render_status },
	{ "vm", "delete", NULL, pyro_vm_delete, render_deleted },
	{ "vm", "network-info", NULL, pyro_vm_network_info, render_network },
};

int
cmd_simple(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	size_t		 k;
	int		 rc;

	for (k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
		if ((calls[k].group == NULL ? c->group == NULL :
		    c->group != NULL && strcmp(calls[k].group, c->group) == 0) &&
		    strcmp(calls[k].name, c->name) == 0)
			break;
	if (k == sizeof(calls) / sizeof(calls[0]))
		return cli_usage(c, 1);
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = calls[k].byid ? calls[k].byid(cli->client, a->pos[0], &res,
	    &err) : calls[k].list(cli->client, &res, &err);
	if (rc < 0)
		return out_error(cli, &err);
	rc = out_result(cli, res, calls[k].render);
	pyro_free(res);
	return rc;
}
