/* pyro doctor */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *
yesno(int b)
{
	return b ? "yes" : "no";
}

static void
render_item(const char *label, const cJSON *o)
{
	printf("  %-13s %s", label, jbool(o, "ok") ? "ok" : "FAIL");
	if (jstr(o, "reason", NULL) != NULL)
		printf(" (%s)", jstr(o, "reason", ""));
	printf("\n");
}

static void
render_doctor(const cJSON *r)
{
	const cJSON	*p, *k, *v, *n, *c, *rt, *h, *e, *it;

	p = cJSON_GetObjectItemCaseSensitive(r, "platform");
	k = cJSON_GetObjectItemCaseSensitive(r, "kvm");
	v = cJSON_GetObjectItemCaseSensitive(r, "vmm");
	n = cJSON_GetObjectItemCaseSensitive(r, "networking");
	c = cJSON_GetObjectItemCaseSensitive(r, "capabilities");
	rt = cJSON_GetObjectItemCaseSensitive(r, "runtime");
	h = cJSON_GetObjectItemCaseSensitive(r, "helpers");
	e = cJSON_GetObjectItemCaseSensitive(r, "environment_cache");

	printf("Platform:     %s%s\n", jstr(p, "name", NULL) ? jstr(p, "name",
	    "") : "?", jbool(p, "supported") ? "" : " (unsupported)");
	printf("Kernel:       %s %s\n", jstr(p, "os", "?"),
	    jstr(p, "kernel", "?"));
	printf("Catalog version: %s\n", jstr(r, "catalog_version", "?"));
	printf("Runtime:      %s\n", jstr(rt, "status", "?"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rt, "reasons"))
		if (cJSON_IsString(it))
			printf("  - %s\n", it->valuestring);
	if (jstr(rt, "note", NULL))
		printf("  note: %s\n", jstr(rt, "note", ""));
	printf("KVM:          %s exists=%s readable=%s writable=%s "
	    "usable=%s\n", jstr(k, "device", "/dev/kvm"), yesno(jbool(k,
	    "exists")), yesno(jbool(k, "readable")), yesno(jbool(k, "writable")),
	    yesno(jbool(k, "usable")));
	if (jstr(k, "reason", NULL))
		printf("  reason: %s\n", jstr(k, "reason", ""));
	printf("VMM:          %s (accel %s)\n", jstr(v, "selected", "none"),
	    jstr(v, "accel", "none"));
	if (jstr(v, "reason", NULL))
		printf("  why: %s\n", jstr(v, "reason", ""));
	it = cJSON_GetObjectItemCaseSensitive(v, "qemu");
	printf("  qemu: %s\n", jbool(it, "found") ? "found" : "not found");
	it = cJSON_GetObjectItemCaseSensitive(v, "firecracker");
	printf("  firecracker: %s, jailer: %s (needs %s)\n",
	    jbool(it, "found") ? "found" : "not found",
	    jbool(it, "jailer_found") ? "found" : "not found",
	    jstr(it, "needs", "?"));
	it = cJSON_GetObjectItemCaseSensitive(r, "host_compat");
	printf("Host-compat:  policy=%s usable=%s, used when %s\n",
	    jstr(it, "policy", "?"), yesno(jbool(it, "usable")),
	    jstr(it, "used_when", "?"));
	if (jstr(it, "reason", NULL))
		printf("  reason: %s\n", jstr(it, "reason", ""));
	printf("Capabilities: vm_boot=%s guest_exec=%s guest_network=%s\n",
	    yesno(jbool(c, "vm_boot")), yesno(jbool(c, "guest_exec")),
	    yesno(jbool(c, "guest_network")));
	printf("Networking:   ip_forward=%s\n", yesno(jbool(n, "ip_forward")));
	render_item("tun", cJSON_GetObjectItemCaseSensitive(n, "tun"));
	render_item("nftables", cJSON_GetObjectItemCaseSensitive(n,
	    "nftables"));
	printf("Helpers:\n");
	render_item("vmhelper", cJSON_GetObjectItemCaseSensitive(h,
	    "pyro-vmhelper"));
	render_item("diskhelper", cJSON_GetObjectItemCaseSensitive(h,
	    "pyro-diskhelper"));
	printf("State dir:    %s\n", jstr(r, "state_dir", "?"));
	printf("Environment cache: %s%s (yours: pyro env list, pull)\n",
	    jstr(e, "path", "(unknown)"), jbool(e, "exists") ? "" :
	    " (not created yet)");
	e = cJSON_GetObjectItemCaseSensitive(r, "pyrod_environment_cache");
	if (jstr(e, "path", NULL) != NULL)
		printf("pyrod boots from:  %s%s\n", jstr(e, "path", ""),
		    strcmp(jstr(e, "path", ""), jstr(cJSON_GetObjectItem(r,
		    "environment_cache"), "path", "")) == 0 ? " (the same)" :
		    " (a different cache: see docs/troubleshooting.md)");
	printf("Registry:     %s\n", jstr(r, "environment_registry", NULL) ?
	    jstr(r, "environment_registry", "") : "none (pyro env pull builds "
	    "locally; environment_registry in pyrod.conf)");
}

int
cmd_doctor(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res;
	int		 rc;

	(void)c;
	(void)a;
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	if (pyro_doctor(cli->client, &res, &err) < 0)
		return out_error(cli, &err);
	rc = out_result(cli, res, render_doctor);
	pyro_free(res);
	return rc;
}
