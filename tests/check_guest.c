/*
 * pyrod's guest-facing tables and parsers: the guest exec encoder against
 * its parser, gp_check, the frame accumulator, the guest scripts' output
 * parser (diff) and exit codes, and the state gate tables of workspaces
 * and VMs.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "guestproto.h"
#include "guestsh.h"
#include "workspace.h"

START_TEST(exec_encode_parse_roundtrip)
{
	static uint8_t	 buf[GP_MAXPAYLOAD];
	const char	*argv[] = { "echo", "a b", "", NULL };
	const char	*env[] = { "A=1", "B=x=y", NULL };
	char		*pa[GP_ARGS_MAX + 1], *pe[GP_ARGS_MAX + 1];
	const char	*cwd;
	struct gp_exec	 g = { 5000, 0, 0, GP_EXEC_STDIN, 80, 24 }, h;
	long		 n;

	n = gp_exec_encode(&g, "/workspace", argv, env, buf, sizeof(buf));
	ck_assert_int_gt(n, (long)sizeof(g));
	ck_assert_uint_eq(g.argc, 3);
	ck_assert_uint_eq(g.envc, 2);
	ck_assert_int_eq(gp_exec_parse(buf, (size_t)n, &h, &cwd, pa, pe), 0);
	ck_assert_str_eq(cwd, "/workspace");
	ck_assert_str_eq(pa[0], "echo");
	ck_assert_str_eq(pa[1], "a b");
	ck_assert_str_eq(pa[2], "");
	ck_assert_ptr_null(pa[3]);
	ck_assert_str_eq(pe[1], "B=x=y");
	ck_assert_uint_eq(h.timeout_ms, 5000);
	ck_assert_uint_eq(h.cols, 80);
	/* Too small a buffer, no argv: refused, never overrun. */
	ck_assert_int_eq(gp_exec_encode(&g, "/", argv, env, buf, 30), -1);
	ck_assert_int_eq(gp_exec_encode(&g, "/", (const char *[]){ NULL },
	    NULL, buf, sizeof(buf)), -1);
	/* One byte cut: the parser refuses the payload. */
	ck_assert_int_eq(gp_exec_parse(buf, (size_t)n - 1, &h, &cwd, pa, pe),
	    -EBADMSG);
	/* A shell command has exactly one argument. */
	g.flags = GP_EXEC_SHELL;
	n = gp_exec_encode(&g, "/", argv, NULL, buf, sizeof(buf));
	ck_assert_int_eq(gp_exec_parse(buf, (size_t)n, &h, &cwd, pa, pe),
	    -EBADMSG);
}
END_TEST

START_TEST(check_headers)
{
	struct gp_hdr	h;

	gp_hdr_set(&h, GP_STDOUT, 1, 10);
	ck_assert_int_eq(gp_check(&h, GP_FROM_AGENT), 0);
	ck_assert_int_eq(gp_check(&h, GP_FROM_HOST), -EBADMSG);
	gp_hdr_set(&h, GP_EXIT, 1, 3);
	ck_assert_int_eq(gp_check(&h, GP_FROM_AGENT), -EBADMSG);
	gp_hdr_set(&h, GP_STDOUT, 1, GP_MAXPAYLOAD + 1);
	ck_assert_int_eq(gp_check(&h, GP_FROM_AGENT), -EBADMSG);
	gp_hdr_set(&h, GP__MAX, 1, 0);
	ck_assert_int_eq(gp_check(&h, GP_FROM_AGENT), -EBADMSG);
	gp_hdr_set(&h, GP_KILL, 1, 0);
	h.flags = 1;
	ck_assert_int_eq(gp_check(&h, GP_FROM_HOST), -EBADMSG);
}
END_TEST

/* Frames split across reads come out whole; garbage stops the reader. */
START_TEST(reader_reassembles)
{
	static struct gp_reader	r;
	struct gp_hdr		h, out;
	uint8_t			*p;
	int			 sv[2], i;

	ck_assert_int_eq(pipe(sv), 0);
	gp_hdr_set(&h, GP_STDOUT, 7, 5);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(write(sv[1], &h, 3), 3);
		ck_assert_int_eq(gp_reader_fill(&r, sv[0]), 3);
		ck_assert_int_eq(gp_reader_next(&r, GP_FROM_AGENT, &out, &p),
		    0);
		ck_assert_int_eq(write(sv[1], (uint8_t *)&h + 3,
		    sizeof(h) - 3), (ssize_t)sizeof(h) - 3);
		ck_assert_int_eq(write(sv[1], "hello", 5), 5);
		ck_assert_int_gt(gp_reader_fill(&r, sv[0]), 0);
		ck_assert_int_eq(gp_reader_next(&r, GP_FROM_AGENT, &out, &p),
		    1);
		ck_assert_uint_eq(out.stream, 7);
		ck_assert(memcmp(p, "hello", 5) == 0);
		ck_assert_int_eq(gp_reader_next(&r, GP_FROM_AGENT, &out, &p),
		    0);
	}
	gp_hdr_set(&h, GP_EXEC, 1, 40);	/* host-only type from the agent */
	ck_assert_int_eq(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	ck_assert_int_gt(gp_reader_fill(&r, sv[0]), 0);
	ck_assert_int_eq(gp_reader_next(&r, GP_FROM_AGENT, &out, &p),
	    -EBADMSG);
	close(sv[1]);
	close(sv[0]);
}
END_TEST

static char *
plain(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	return utf8_sanitize(p, n);
}

#define REC(s)	s, sizeof(s) - 1

START_TEST(diff_output_parsed)
{
	static const char out[] =
	    "A\0new.txt\0T\0new.txt\0--- /dev/null\n+++ b/new.txt\n+x\n\0"
	    "D\0old.bin\0B\0old.bin\0"
	    "M\0caf\xc3\xa9\xff.txt\0T\0caf\xc3\xa9\xff.txt\0-a\n+b\n\0";
	cJSON	*r = gs_diff_parse((const uint8_t *)out, sizeof(out) - 1, 0,
		    plain, NULL), *f;

	f = cJSON_GetObjectItem(r, "files");
	ck_assert_int_eq(cJSON_GetArraySize(f), 3);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0),
	    "status")->valuestring, "added");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0),
	    "binary")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 1),
	    "binary")));
	/* Invalid UTF-8 in a guest name becomes U+FFFD. */
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 2),
	    "path")->valuestring, "caf\xc3\xa9\xef\xbf\xbd.txt");
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "summary"),
	    "deleted")->valueint, 1);
	cJSON_Delete(r);
}
END_TEST

/* Unknown tags, a text before any file, and a cut record end the parse. */
START_TEST(diff_output_hostile)
{
	static const char bad[][40] = {
		"X\0what\0A\0a\0",
		"T\0a\0text\0A\0a\0",
		"AA\0a\0",
		"A\0a",
	};
	static const size_t len[] = { 12, 15, 6, 3 };
	size_t	i;
	cJSON	*r;

	for (i = 0; i < 4; i++) {
		r = gs_diff_parse((const uint8_t *)bad[i], len[i], 1, plain,
		    NULL);
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r,
		    "files")), 0);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "truncated")));
		cJSON_Delete(r);
	}
}
END_TEST

START_TEST(scripts_and_exit_codes)
{
	const char	*argv[8], *args[] = { "/workspace/x", NULL };

	ck_assert_int_eq(gs_argv(GS_EXPORT, argv, 8, args), 4);
	ck_assert_str_eq(argv[0], "/bin/sh");
	ck_assert_str_eq(argv[1], "-c");
	ck_assert_str_eq(argv[3], "/workspace/x");
	ck_assert_ptr_null(argv[4]);
	ck_assert_int_eq(gs_argv(GS_DIFF, argv, 8, NULL), 3);
	ck_assert_str_eq(argv[0], "/bin/bash");
	ck_assert_int_eq(gs_argv(GS_EXPORT, argv, 4, args), -1);
	ck_assert_int_eq(gs_refusal(0), PYRO_OK);
	ck_assert_int_eq(gs_refusal(GS_EXIT_OUTSIDE), PYRO_E_INVALID_PATH);
	ck_assert_int_eq(gs_refusal(GS_EXIT_MISSING), PYRO_E_NOT_FOUND);
	ck_assert_int_eq(gs_refusal(1), PYRO_E__MAX);
}
END_TEST

/* The gate tables, as the contract states them. */
START_TEST(gate_tables)
{
	ck_assert_int_eq(ws_gate_refusal(ST_RUNNING, REQ_GUEST), 0);
	ck_assert_int_eq(ws_gate_refusal(ST_STOPPED, REQ_GUEST),
	    PYRO_E_WORKSPACE_NOT_RUNNING);
	ck_assert_int_eq(ws_gate_refusal(ST_RUNNING, REQ_DISK),
	    PYRO_E_WORKSPACE_RUNNING);
	ck_assert_int_eq(ws_gate_refusal(ST_STOPPED, REQ_DISK), 0);
	ck_assert_int_eq(ws_gate_refusal(ST_RUNNING, REQ_START),
	    PYRO_E_WORKSPACE_RUNNING);
	ck_assert_int_eq(ws_gate_refusal(ST_CREATING, REQ_DELETE), 0);
	ck_assert_int_eq(ws_gate_refusal(ST_CREATING, REQ_GUEST),
	    PYRO_E_BUSY);
	/* Being deleted: shown (status, logs), never used. */
	ck_assert_int_eq(ws_gate_refusal(ST_DELETING, REQ_HOST), 0);
	ck_assert_int_eq(ws_gate_refusal(ST_DELETING, REQ_GUEST), PYRO_E_BUSY);
	ck_assert_int_eq(ws_gate_refusal(ST_DELETING, REQ_DELETE),
	    PYRO_E_BUSY);
	ck_assert_int_eq(ws_gate_refusal(ST_FAILED, REQ_RESET), 0);
	ck_assert_int_eq(ws_gate_refusal(ST_UNKNOWN, REQ_HOST), PYRO_E_BUSY);
	ck_assert_int_eq(ws_gate_refusal(ST__MAX, REQ_HOST), PYRO_E_BUSY);
	ck_assert_int_eq(vm_gate_refusal(ST_STOPPED, VMREQ_EXEC),
	    PYRO_E_VM_NOT_RUNNING);
	ck_assert_int_eq(vm_gate_refusal(ST_CREATED, VMREQ_START), 0);
	ck_assert_int_eq(vm_gate_refusal(ST_RUNNING, VMREQ_START),
	    PYRO_E_BUSY);
	ck_assert_int_eq(vm_gate_refusal(ST_STOPPING, VMREQ_HOST), 0);
	/* Every state has a name, and names map back to their state. */
	ck_assert_str_eq(rec_st_name(ST_RESETTING), "resetting");
	ck_assert_str_eq(rec_st_name(ST__MAX), "unknown");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("guest");
	TCase	*tc = tcase_create("guest");

	tcase_add_test(tc, exec_encode_parse_roundtrip);
	tcase_add_test(tc, check_headers);
	tcase_add_test(tc, reader_reassembles);
	tcase_add_test(tc, diff_output_parsed);
	tcase_add_test(tc, diff_output_hostile);
	tcase_add_test(tc, scripts_and_exit_codes);
	tcase_add_test(tc, gate_tables);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
