/*
 * The Firecracker driver's data (vmhelper/fcapi.c): the boot plan and
 * what it refuses, the HTTP bytes, the reader of Firecracker's responses
 * (its exact 204, its two error shapes, partial and hostile input), the
 * jailer's argv and the hybrid-vsock reply.
 *
 * With "--dump FILE" it writes instead, one JSON object a line, every
 * request of several VM shapes and the jailer's argv of several jails,
 * for tests/fcschema.py to hold against Firecracker's published API
 * description and the jailer's documented options.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "checkmain.h"

#include "fcapi.h"

static const struct fc_vm vm_plain = {
	1, 512, "console=ttyS0 reboot=k panic=1 pci=off quiet", 0, NULL, NULL
};
static const struct fc_vm vm_net = {
	2, 1024, "console=ttyS0 reboot=k panic=1 pci=off pyro.net=10.0.0.2/30",
	0, "pyro-0123456789", "02:50:59:52:4F:01"
};

START_TEST(plan_order)
{
	struct fc_req	r[FC_PLAN_MAX];
	int		n, i;
	const char	*want[] = { "/machine-config", "/boot-source",
			    "/drives/rootfs", "/network-interfaces/eth0",
			    "/vsock", "/actions" };

	n = fc_boot_plan(&vm_net, r, FC_PLAN_MAX);
	ck_assert_int_eq(n, 6);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(r[i].method, "PUT");
		ck_assert_str_eq(r[i].path, want[i]);
	}
	ck_assert_str_eq(r[5].body, "{\"action_type\":\"InstanceStart\"}");
	ck_assert_ptr_nonnull(strstr(r[3].body,
	    "\"host_dev_name\":\"pyro-0123456789\""));
	ck_assert_ptr_nonnull(strstr(r[4].body, "\"guest_cid\":3"));
	for (i = 0; i < n; i++)
		fc_req_free(&r[i]);
	/* Without a TAP, no network interface. */
	n = fc_boot_plan(&vm_plain, r, FC_PLAN_MAX);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(r[3].path, "/vsock");
	for (i = 0; i < n; i++)
		fc_req_free(&r[i]);
}
END_TEST

START_TEST(plan_refusals)
{
	struct fc_req	r[FC_PLAN_MAX];
	struct fc_vm	v;

	v = vm_plain;
	v.vcpus = 0;
	ck_assert_int_eq(fc_boot_plan(&v, r, FC_PLAN_MAX), -1);
	v.vcpus = 33;			/* the API's maximum is 32 */
	ck_assert_int_eq(fc_boot_plan(&v, r, FC_PLAN_MAX), -1);
	v = vm_plain;
	v.boot_args = "console=ttyS0\" evil=\"1";
	ck_assert_int_eq(fc_boot_plan(&v, r, FC_PLAN_MAX), -1);
	v = vm_net;
	v.tap = "a-name-too-long-for-ifnamsiz";
	ck_assert_int_eq(fc_boot_plan(&v, r, FC_PLAN_MAX), -1);
	v = vm_net;
	v.mac = "02:50:59:52:4F";
	ck_assert_int_eq(fc_boot_plan(&v, r, FC_PLAN_MAX), -1);
	ck_assert_int_eq(fc_boot_plan(&vm_plain, r, 3), -1);
	ck_assert_int_eq(fc_req_action(&r[0], "Reboot"), -1);
	ck_assert_int_eq(fc_req_snapshot_create(&r[0], "rel", "/m"), -1);
}
END_TEST

START_TEST(http_bytes)
{
	struct fc_req	r;
	char		buf[512];
	int		k;

	ck_assert_int_eq(fc_req_vm_state(&r, 1), 0);
	k = fc_http_request(&r, buf, sizeof(buf));
	ck_assert_int_gt(k, 0);
	ck_assert_str_eq(buf, "PATCH /vm HTTP/1.1\r\nHost: localhost\r\n"
	    "Accept: application/json\r\nContent-Type: application/json\r\n"
	    "Content-Length: 18\r\n\r\n{\"state\":\"Paused\"}");
	ck_assert_int_eq(fc_http_request(&r, buf, 40), -1);
	fc_req_free(&r);
}
END_TEST

static int
resp(const char *s, struct fc_resp *rp)
{
	return fc_http_response(s, strlen(s), rp);
}

/* A response with body and its exact Content-Length. */
static const char *
mk(char *buf, size_t size, const char *head, const char *body)
{
	snprintf(buf, size, "%sContent-Length: %zu\r\n\r\n%s", head,
	    strlen(body), body);
	return buf;
}

START_TEST(http_responses)
{
	struct fc_resp	rp;
	const char	*ok204 = "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
			    "Connection: keep-alive\r\n\r\n";
	char		 b1[512], b2[512], b3[512], two[256];
	const char	*e400 = mk(b1, sizeof(b1), "HTTP/1.1 400 \r\nServer: "
			    "Firecracker API\r\nConnection: keep-alive\r\n"
			    "Content-Type: application/json\r\n",
			    "{\"fault_message\":\"The requested operation is "
			    "not supported.\\nAnd more.\"}");
	const char	*eh = mk(b2, sizeof(b2), "HTTP/1.1 503 \r\n"
			    "Connection: close\r\n",
			    "{ \"error\": \"Too many open connections\" }");

	ck_assert_int_eq(resp(ok204, &rp), (int)strlen(ok204));
	ck_assert_int_eq(rp.status, 204);
	/* A reason phrase, or none at all, is fine too. */
	ck_assert_int_gt(resp("HTTP/1.1 204 No Content\r\n\r\n", &rp), 0);
	ck_assert_int_gt(resp("HTTP/1.1 204\r\n\r\n", &rp), 0);
	ck_assert_int_eq(resp(e400, &rp), (int)strlen(e400));
	ck_assert_int_eq(rp.status, 400);
	ck_assert_str_eq(rp.fault, "The requested operation is not "
	    "supported. And more.");
	ck_assert_int_eq(resp(eh, &rp), (int)strlen(eh));
	ck_assert_str_eq(rp.fault, "Too many open connections");
	/* Partial: more bytes needed, in the head and in the body. */
	ck_assert_int_eq(fc_http_response(ok204, 20, &rp), 0);
	ck_assert_int_eq(fc_http_response(e400, strlen(e400) - 1, &rp), 0);
	/* Two responses back to back: the first only. */
	snprintf(two, sizeof(two), "%s%s", ok204, ok204);
	ck_assert_int_eq(resp(two, &rp), (int)strlen(ok204));
	/* Not Firecracker. */
	ck_assert_int_eq(resp("HTTP/2 204\r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 20 \r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 100 \r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 204 \r\nContent-Length: 2\r\n\r\nab",
	    &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nContent-Length: 99999999\r\n"
	    "\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nContent-Length: -1\r\n\r\n",
	    &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nTransfer-Encoding: chunked"
	    "\r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nbroken\r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\nX: a\r\n\r\n", &rp), -1);
	ck_assert_int_eq(rp.status, 0);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nX: a\nb\r\n\r\n", &rp), -1);
	ck_assert_int_eq(resp("HTTP/1.1 200 \r\nX: \033[2J\r\n\r\n", &rp), -1);
	/* A hostile error text reaches no terminal as control bytes. */
	ck_assert_int_gt(resp(mk(b3, sizeof(b3), "HTTP/1.1 400 \r\n",
	    "{\"fault_message\":\"a\\u001b[2Jb\"}"), &rp), 0);
	ck_assert_str_eq(rp.fault, "a?[2Jb");
	ck_assert_int_gt(resp("HTTP/1.1 500 \r\nContent-Length: 3\r\n\r\n"
	    "{x}", &rp), 0);
	ck_assert_str_eq(rp.fault, "HTTP 500 without a message");
}
END_TEST

START_TEST(http_head_limit)
{
	struct fc_resp	 rp;
	char		*big = malloc(9000);

	memcpy(big, "HTTP/1.1 200 \r\n", 15);
	memset(big + 15, 'a', 9000 - 15);
	ck_assert_int_eq(fc_http_response(big, 9000, &rp), -1);
	ck_assert_int_eq(fc_http_response(big, 4000, &rp), 0);
	free(big);
}
END_TEST

static const struct fc_jail jail_v1 = {
	"/usr/bin/jailer", "/usr/bin/firecracker", "0123456789abcdef",
	"/var/lib/pyro/jail", NULL, 999, 999, 1, "pyro", 1600ULL << 20, 256,
	1024
};

START_TEST(jailer_argv)
{
	char		 buf[2048], *argv[FC_ARGV_MAX];
	struct fc_jail	 j = jail_v1;
	int		 argc, i, dashes = 0;

	argc = fc_jailer_argv(&j, buf, sizeof(buf), argv, FC_ARGV_MAX);
	ck_assert_int_gt(argc, 10);
	ck_assert_ptr_null(argv[argc]);
	ck_assert_str_eq(argv[0], "/usr/bin/jailer");
	ck_assert_str_eq(argv[1], "--id");
	ck_assert_str_eq(argv[2], "0123456789abcdef");
	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			dashes++;
	ck_assert_int_eq(dashes, 1);
	ck_assert_str_eq(argv[argc - 2], "--api-sock");
	ck_assert_str_eq(argv[argc - 1], FC_API_SOCK);
	/* Ids: [A-Za-z0-9-], 1..64; no "_" (the API's ids are the reverse). */
	ck_assert(fc_jail_id_ok("pyro-0123"));
	ck_assert(!fc_jail_id_ok("pyro_0123"));
	ck_assert(!fc_jail_id_ok(""));
	ck_assert(!fc_jail_id_ok("a/../b"));
	ck_assert(!fc_jail_id_ok("--daemonize"));
	ck_assert(!fc_jail_id_ok("-x"));
	j.uid = 0;
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv,
	    FC_ARGV_MAX), -1);
	j = jail_v1;
	j.id = "../x";
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv,
	    FC_ARGV_MAX), -1);
	j = jail_v1;
	j.parent_cgroup = "../escape";
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv,
	    FC_ARGV_MAX), -1);
	j.parent_cgroup = "/abs";
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv,
	    FC_ARGV_MAX), -1);
	j = jail_v1;
	j.chroot_base = "--daemonize";
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv,
	    FC_ARGV_MAX), -1);
	j = jail_v1;
	ck_assert_int_eq(fc_jailer_argv(&j, buf, 100, argv, FC_ARGV_MAX), -1);
	ck_assert_int_eq(fc_jailer_argv(&j, buf, sizeof(buf), argv, 8), -1);
}
END_TEST

START_TEST(vsock_reply)
{
	char		line[32];
	unsigned	port = 0;

	ck_assert_int_eq(fc_vsock_connect_line(FC_AGENT_PORT, line,
	    sizeof(line)), 13);
	ck_assert_str_eq(line, "CONNECT 1024\n");
	ck_assert_int_eq(fc_vsock_ok("OK 1073741824\nxx", 16, &port), 14);
	ck_assert_uint_eq(port, 1073741824u);
	ck_assert_int_eq(fc_vsock_ok("OK 10", 5, &port), 0);
	ck_assert_int_eq(fc_vsock_ok("ok 1\n", 5, &port), -1);
	ck_assert_int_eq(fc_vsock_ok("OK \n", 4, &port), -1);
	ck_assert_int_eq(fc_vsock_ok("OK 99999999999\n", 15, &port), -1);
	ck_assert_int_eq(fc_vsock_ok("OK 1x\n", 6, &port), -1);
	ck_assert_int_eq(fc_vsock_ok("OK 0000000000000000000000000000000",
	    34, &port), -1);
}
END_TEST

/* ---- --dump ---- */

static void
dump_req(FILE *f, const char *shape, const struct fc_req *r)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddStringToObject(o, "kind", "request");
	cJSON_AddStringToObject(o, "shape", shape);
	cJSON_AddStringToObject(o, "method", r->method);
	cJSON_AddStringToObject(o, "path", r->path);
	cJSON_AddItemToObject(o, "body", r->body ? cJSON_Parse(r->body) :
	    cJSON_CreateNull());
	s = cJSON_PrintUnformatted(o);
	fprintf(f, "%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static int
dump(const char *file)
{
	struct fc_req	 r[FC_PLAN_MAX];
	struct fc_jail	 j;
	char		 buf[2048], *argv[FC_ARGV_MAX], *s;
	const struct fc_vm *vms[] = { &vm_plain, &vm_net };
	const char	*names[] = { "plain", "network" };
	FILE		*f = fopen(file, "w");
	cJSON		*o, *a;
	int		 n, i, k;

	if (f == NULL)
		return 1;
	for (k = 0; k < 2; k++) {
		if ((n = fc_boot_plan(vms[k], r, FC_PLAN_MAX)) < 0)
			return 1;
		for (i = 0; i < n; i++) {
			dump_req(f, names[k], &r[i]);
			fc_req_free(&r[i]);
		}
	}
	if (fc_req_vm_state(&r[0], 1) < 0 || fc_req_vm_state(&r[1], 0) < 0 ||
	    fc_req_snapshot_create(&r[2], "/vm.state", "/vm.mem") < 0 ||
	    fc_req_snapshot_load(&r[3], "/vm.state", "/vm.mem", 1) < 0 ||
	    fc_req_action(&r[4], "SendCtrlAltDel") < 0)
		return 1;
	for (i = 0; i < 5; i++) {
		dump_req(f, "snapshot", &r[i]);
		fc_req_free(&r[i]);
	}
	for (k = 0; k < 3; k++) {
		j = jail_v1;
		if (k == 1) {
			j.cgroup_version = 2;
			j.netns = "/var/run/netns/pyro-test";
		} else if (k == 2)
			j.cgroup_version = 0;
		if ((n = fc_jailer_argv(&j, buf, sizeof(buf), argv,
		    FC_ARGV_MAX)) < 0)
			return 1;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", "jailer");
		a = cJSON_AddArrayToObject(o, "argv");
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
		s = cJSON_PrintUnformatted(o);
		fprintf(f, "%s\n", s);
		free(s);
		cJSON_Delete(o);
	}
	return fclose(f) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	Suite	*s;
	TCase	*tc;

	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2]);
	s = suite_create("fc");
	tc = tcase_create("core");
	tcase_add_test(tc, plan_order);
	tcase_add_test(tc, plan_refusals);
	tcase_add_test(tc, http_bytes);
	tcase_add_test(tc, http_responses);
	tcase_add_test(tc, http_head_limit);
	tcase_add_test(tc, jailer_argv);
	tcase_add_test(tc, vsock_reply);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
