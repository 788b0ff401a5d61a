/*
 * pyrod as a whole, over its real socket: bad input, authorization,
 * ownership, restart, supervision of misbehaving helpers, clean shutdown.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "testlib.h"

#define WS_ROOT		"0000000000000001"
#define WS_NOBODY	"0000000000000002"
#define WS_LIVE		"0000000000000003"

static struct tpyrod	t;
static uid_t		nobody_uid;
static gid_t		nobody_gid, users_gid;

static void
write_record(const char *kind, const char *file, const char *id, uid_t owner,
    const char *state)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", t.state, kind);
	mkdir(t.state, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s", t.state, kind, id);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s/%s", t.state, kind, id, file);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"id\":\"%s\",\"kind\":\"workspace\",\"owner_uid\":%u,"
	    "\"state\":\"%s\",\"environment\":\"debian:12\","
	    "\"created_at\":\"2026-11-28T00:00:00Z\",\"events\":[]}\n", id,
	    owner, state);
	fclose(f);
}

static void
setup(void)
{
	tp_init(&t);
	write_record("workspaces", "workspace.json", WS_ROOT, 0, "stopped");
	write_record("workspaces", "workspace.json", WS_NOBODY, nobody_uid,
	    "stopped");
	write_record("workspaces", "workspace.json", WS_LIVE, 0, "running");
	tp_start(&t, "--group", "users", "--socket-mode", "0666", NULL);
}

static void
teardown(void)
{
	tp_cleanup(&t);
}

static void
assert_alive(void)
{
	int	 fd = tc_connect(t.sock);
	cJSON	*r;

	ck_assert_int_ge(fd, 0);
	r = tc_call(fd, "{\"id\":1,\"op\":\"vm.list\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(r);
	close(fd);
	ck_assert_int_eq(kill(t.pid, 0), 0);
}

static const struct {
	const char	*req;
	const char	*code;
} bad[] = {
	{ "not json at all", "bad_request" },
	{ "[1,2]", "bad_request" },
	{ "{\"id\":1}", "bad_request" },
	{ "{\"id\":1,\"op\":42}", "bad_request" },
	{ "{\"id\":{\"x\":1},\"op\":\"vm.list\"}", "bad_request" },
	{ "{\"id\":-1,\"op\":\"vm.list\"}", "bad_request" },
	{ "{\"id\":1,\"op\":\"rm -rf\"}", "unknown_op" },
	{ "{\"id\":1,\"op\":\"vm.status\"}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.status\",\"args\":{\"vm_id\":123}}",
	  "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.status\",\"args\":[1]}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"workspace.status\",\"args\":"
	  "{\"workspace_id\":\"../../etc\"}}", "not_found" },
	{ "{\"id\":1,\"op\":\"workspace.status\",\"args\":"
	  "{\"workspace_id\":\"ffffffffffffffff\"}}", "not_found" },
	/* vm.run: refused before any VM exists. */
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"a\\u0000b\"]}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:99\",\"argv\":[\"true\"]}}", "unknown_environment" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\"}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[]}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[1,2]}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"x\"],\"command\":\"x\"}}",
	  "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"x\"],\"timeout_seconds\":0}}",
	  "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"x\"],\"network\":true,"
	  "\"allow_egress\":[\"10.0.0.0/33\"]}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"x\"],\"allow_egress\":"
	  "[\"example.com\"]}}", "invalid_argument" },
	{ "{\"id\":1,\"op\":\"vm.run\",\"args\":{\"environment\":"
	  "\"debian:12\",\"argv\":[\"x\"],\"environment_cache_dir\":"
	  "\"/nonexistent\"}}", "environment_not_installed" },
};

START_TEST(bad_requests_answered_connection_kept)
{
	int	 fd = tc_connect(t.sock);
	cJSON	*r;

	ck_assert_int_ge(fd, 0);
	r = tc_call(fd, bad[_i].req);
	ck_assert_ptr_nonnull(r);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "ok")));
	ck_assert_str_eq(tc_errcode(r), bad[_i].code);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(r,
	    "error"), "message")));
	cJSON_Delete(r);
	/* The same connection still serves. */
	r = tc_call(fd, "{\"id\":\"again\",\"op\":\"workspace.list\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	ck_assert_str_eq(cJSON_GetObjectItem(r, "id")->valuestring, "again");
	cJSON_Delete(r);
	close(fd);
}
END_TEST

START_TEST(oversized_frame_cuts_only_that_client)
{
	int		 fd = tc_connect(t.sock), other = tc_connect(t.sock);
	uint8_t		 hdr[4] = { 0x7f, 0xff, 0xff, 0xff };
	cJSON		*r;
	char		 junk[4096];

	ck_assert_int_ge(fd, 0);
	tc_send_raw(fd, hdr, 4);
	memset(junk, 'x', sizeof(junk));
	/* May fail with EPIPE once pyrod has cut us off: that is the point. */
	(void)send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
	r = tc_read(fd, 5000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(tc_errcode(r), "frame_too_large");
	cJSON_Delete(r);
	ck_assert_ptr_null(tc_read(fd, 5000));	/* closed */
	close(fd);
	/* Another client, connected all along, is unaffected. */
	r = tc_call(other, "{\"id\":3,\"op\":\"vm.list\"}");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(r);
	close(other);
	assert_alive();
}
END_TEST

START_TEST(slow_client_does_not_block_others)
{
	/* A client that sends half a frame and stalls. */
	int	 slow = tc_connect(t.sock);
	uint8_t	 hdr[4] = { 0, 0, 0, 100 };

	tc_send_raw(slow, hdr, 4);
	tc_send_raw(slow, "{\"id\":", 6);
	assert_alive();
	close(slow);
	assert_alive();
}
END_TEST

/* Run as nobody (optionally with a supplementary group) and call op. */
static int
as_nobody(gid_t extra, const char *req, char *out, size_t outsz)
{
	int	 p[2], status;
	pid_t	 pid;
	ssize_t	 n;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cJSON	*r;
		char	*txt;
		int	 fd;

		close(p[0]);
		if (setgroups(extra ? 1 : 0, &extra) < 0 ||
		    setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0)
			_exit(3);
		if ((fd = tc_connect(t.sock)) < 0)
			_exit(4);
		/* pyrod may refuse and close before this write: read anyway. */
		(void)tc_try_send_json(fd, req);
		r = tc_read(fd, 10000);
		if (r == NULL)
			_exit(5);
		txt = cJSON_PrintUnformatted(r);
		(void)write(p[1], txt, strlen(txt));
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], out, outsz - 1);
	out[n < 0 ? 0 : n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(authorization_by_peer_credentials)
{
	char	 out[8192];
	cJSON	*r;

	/* nobody, not in the group: refused by SO_PEERCRED, not by mode. */
	ck_assert_int_eq(as_nobody(0, "{\"id\":1,\"op\":\"workspace.list\"}",
	    out, sizeof(out)), 0);
	r = cJSON_Parse(out);
	ck_assert_str_eq(tc_errcode(r), "permission_denied");
	cJSON_Delete(r);
	/* nobody with the group as a supplementary group: served. */
	ck_assert_int_eq(as_nobody(users_gid, "{\"id\":1,\"op\":"
	    "\"workspace.list\"}", out, sizeof(out)), 0);
	r = cJSON_Parse(out);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(r);
	assert_alive();
}
END_TEST

START_TEST(owners_see_only_their_own)
{
	char		 out[8192], req[256], missing[8192];
	cJSON		*r, *ws;
	const cJSON	*it;
	int		 n = 0;

	ck_assert_int_eq(as_nobody(users_gid, "{\"id\":1,\"op\":"
	    "\"workspace.list\"}", out, sizeof(out)), 0);
	r = cJSON_Parse(out);
	ws = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"),
	    "workspaces");
	cJSON_ArrayForEach(it, ws) {
		ck_assert_str_eq(cJSON_GetObjectItem(it, "id")->valuestring,
		    WS_NOBODY);
		n++;
	}
	ck_assert_int_eq(n, 1);
	cJSON_Delete(r);

	/* Root's workspace is "not found" for nobody, worded as a miss. */
	snprintf(req, sizeof(req), "{\"id\":1,\"op\":\"workspace.status\","
	    "\"args\":{\"workspace_id\":\"%s\"}}", WS_ROOT);
	ck_assert_int_eq(as_nobody(users_gid, req, out, sizeof(out)), 0);
	r = cJSON_Parse(out);
	ck_assert_str_eq(tc_errcode(r), "not_found");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"),
	    "message")->valuestring, "no workspace \"" WS_ROOT "\"");
	cJSON_Delete(r);
	/* Exactly the words of an id that does not exist at all. */
	snprintf(req, sizeof(req), "{\"id\":1,\"op\":\"workspace.status\","
	    "\"args\":{\"workspace_id\":\"%s\"}}", "00000000000000ff");
	ck_assert_int_eq(as_nobody(users_gid, req, missing, sizeof(missing)),
	    0);
	r = cJSON_Parse(missing);
	ck_assert_str_eq(tc_errcode(r), "not_found");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"),
	    "message")->valuestring, "no workspace \"00000000000000ff\"");
	cJSON_Delete(r);

	/* Root sees all three. */
	{
		int fd = tc_connect(t.sock);

		r = tc_call(fd, "{\"id\":1,\"op\":\"workspace.list\"}");
		ws = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"),
		    "workspaces");
		ck_assert_int_eq(cJSON_GetArraySize(ws), 3);
		cJSON_Delete(r);
		close(fd);
	}
}
END_TEST

static cJSON *
ws_call(const char *op, const char *id)
{
	char	 req[256];
	int	 fd = tc_connect(t.sock);
	cJSON	*r;

	snprintf(req, sizeof(req), "{\"id\":1,\"op\":\"%s\","
	    "\"args\":{\"workspace_id\":\"%s\"}}", op, id);
	r = tc_call(fd, req);
	close(fd);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	return r;
}

static cJSON *
status_of(const char *id)
{
	return ws_call("workspace.status", id);
}

START_TEST(restart_keeps_registry)
{
	cJSON	*r, *res, *evs;
	int	 status;

	/* The "running" record had no VM after the (re)start: stopped. */
	r = status_of(WS_LIVE);
	res = cJSON_GetObjectItem(r, "result");
	ck_assert_str_eq(cJSON_GetObjectItem(res, "state")->valuestring,
	    "stopped");
	/* status shows the last event; logs has them all. */
	evs = cJSON_GetObjectItem(res, "last_event");
	ck_assert_str_eq(cJSON_GetObjectItem(evs, "event")->valuestring,
	    "recovered");
	cJSON_Delete(r);

	status = tp_stop(&t);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_ne(access(t.sock, F_OK), 0);	/* socket removed */
	tp_start(&t, "--group", "users", "--socket-mode", "0666", NULL);

	r = status_of(WS_LIVE);
	res = cJSON_GetObjectItem(r, "result");
	ck_assert_str_eq(cJSON_GetObjectItem(res, "state")->valuestring,
	    "stopped");
	ck_assert_str_eq(cJSON_GetObjectItem(res, "environment")->valuestring,
	    "debian:12");
	cJSON_Delete(r);
	/* A second restart adds no second "recovered": it was stopped. */
	r = ws_call("workspace.logs", WS_LIVE);
	res = cJSON_GetObjectItem(r, "result");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res,
	    "events")), 1);
	cJSON_Delete(r);
	r = status_of(WS_NOBODY);
	cJSON_Delete(r);
}
END_TEST

START_TEST(second_pyrod_refuses_same_socket)
{
	char	prog[512], *b = getenv("PYRO_BUILDDIR");
	pid_t	pid;
	int	status;

	snprintf(prog, sizeof(prog), "%s/pyrod", b ? b : ".");
	pid = fork();
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 2);
		execl(prog, "pyrod", "-d", "--state-dir", t.state, "--socket",
		    t.sock, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	assert_alive();
}
END_TEST

START_TEST(doctor_reports_kvm_and_helpers)
{
	int		 fd = tc_connect(t.sock);
	cJSON		*r, *res, *kvm, *h;

	r = tc_call(fd, "{\"id\":1,\"op\":\"doctor\"}");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	res = cJSON_GetObjectItem(r, "result");
	kvm = cJSON_GetObjectItem(res, "kvm");
	ck_assert(cJSON_IsBool(cJSON_GetObjectItem(kvm, "exists")));
	ck_assert(cJSON_IsBool(cJSON_GetObjectItem(kvm, "readable")));
	ck_assert(cJSON_IsBool(cJSON_GetObjectItem(kvm, "writable")));
	ck_assert(cJSON_IsBool(cJSON_GetObjectItem(kvm, "usable")));
	if (cJSON_IsFalse(cJSON_GetObjectItem(kvm, "usable")))
		ck_assert_int_gt(strlen(cJSON_GetObjectItem(kvm,
		    "reason")->valuestring), 10);
	h = cJSON_GetObjectItem(res, "helpers");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(h,
	    "pyro-vmhelper"), "ok")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(h,
	    "pyro-diskhelper"), "ok")));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(res, "vmm"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(res, "capabilities"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(res, "networking"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(res,
	    "runtime"), "status"));
	cJSON_Delete(r);
	close(fd);
}
END_TEST

/* --- supervision: a pyrod whose vmhelper misbehaves --------------------- */

static char	fakedir[160];

static void
fake_setup(const char *mode)
{
	char	cmd[1024], *b = getenv("PYRO_BUILDDIR");
	FILE	*f;

	tp_cleanup(&t);
	tp_init(&t);
	snprintf(fakedir, sizeof(fakedir), "%s/libexec", t.dir);
	mkdir(fakedir, 0755);
	snprintf(cmd, sizeof(cmd), "cp '%s/tests/fakehelper' "
	    "'%s/pyro-vmhelper' && cp '%s/pyro-diskhelper' '%s/'",
	    b ? b : ".", fakedir, b ? b : ".", fakedir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/mode", fakedir);
	f = fopen(cmd, "w");
	fprintf(f, "%s\n", mode);
	fclose(f);
	snprintf(t.libexec, sizeof(t.libexec), "%s", fakedir);
	tp_start(&t, NULL);
}

static pid_t
fake_pid(void)
{
	char	path[512];
	FILE	*f;
	int	pid = 0, i;

	snprintf(path, sizeof(path), "%s/pid", fakedir);
	for (i = 0; i < 500; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
			if (pid > 0)
				return pid;
		}
		usleep(10000);
	}
	ck_abort_msg("fake helper never started");
	return 0;
}

static const char *
doctor_vmhelper_reason(cJSON *r)
{
	cJSON	*h = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"),
		    "helpers");
	cJSON	*v = cJSON_GetObjectItem(h, "pyro-vmhelper");

	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(v, "ok")));
	return cJSON_GetObjectItem(v, "reason")->valuestring;
}

START_TEST(helper_killed_with_sigkill)
{
	int	 fd;
	cJSON	*r;

	fake_setup("hang");
	fd = tc_connect(t.sock);
	tc_send_json(fd, "{\"id\":1,\"op\":\"doctor\"}");
	ck_assert_int_eq(kill(fake_pid(), SIGKILL), 0);
	r = tc_read(fd, 15000);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(doctor_vmhelper_reason(r), "signal 9") != NULL,
	    "reason: %s", doctor_vmhelper_reason(r));
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(r, "result"), "runtime"), "status")->valuestring,
	    "FAIL");
	cJSON_Delete(r);
	close(fd);
	assert_alive();
}
END_TEST

START_TEST(helper_sending_garbage_is_killed)
{
	int	 fd;
	pid_t	 pid;
	cJSON	*r;

	fake_setup("garbage");
	fd = tc_connect(t.sock);
	r = tc_call(fd, "{\"id\":1,\"op\":\"doctor\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(doctor_vmhelper_reason(r), "invalid message") !=
	    NULL, "reason: %s", doctor_vmhelper_reason(r));
	cJSON_Delete(r);
	close(fd);
	pid = fake_pid();
	/* Reaped, not left as a zombie or a stray. */
	ck_assert(kill(pid, 0) < 0 && errno == ESRCH);
	assert_alive();
}
END_TEST

START_TEST(helper_without_hello_is_killed)
{
	int	 fd;
	cJSON	*r;

	fake_setup("noack");
	fd = tc_connect(t.sock);
	r = tc_call(fd, "{\"id\":1,\"op\":\"doctor\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(doctor_vmhelper_reason(r), "hello") != NULL,
	    "reason: %s", doctor_vmhelper_reason(r));
	cJSON_Delete(r);
	close(fd);
	assert_alive();
}
END_TEST

START_TEST(sigterm_kills_no_helper_leaks)
{
	int	 fd, status;
	pid_t	 pid;

	fake_setup("hang");
	fd = tc_connect(t.sock);
	tc_send_json(fd, "{\"id\":1,\"op\":\"doctor\"}");
	pid = fake_pid();
	status = tp_stop(&t);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(kill(pid, 0) < 0 && errno == ESRCH);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("daemon");
	TCase		*tc = tcase_create("daemon");
	TCase		*sup = tcase_create("supervision");
	struct passwd	*pw;
	struct group	*gr;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: pyrod must run as root\n");
		return 77;
	}
	pw = getpwnam("nobody");
	gr = getgrnam("users");
	if (pw == NULL || gr == NULL) {
		fprintf(stderr, "SKIP: needs the user nobody and group users\n");
		return 77;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	users_gid = gr->gr_gid;

	/*
	 * pyrod may close a connection while a test still writes to it (the
	 * oversized-frame test does so on purpose): EPIPE, not death.
	 */
	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, bad_requests_answered_connection_kept, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, oversized_frame_cuts_only_that_client);
	tcase_add_test(tc, slow_client_does_not_block_others);
	tcase_add_test(tc, authorization_by_peer_credentials);
	tcase_add_test(tc, owners_see_only_their_own);
	tcase_add_test(tc, restart_keeps_registry);
	tcase_add_test(tc, second_pyrod_refuses_same_socket);
	tcase_add_test(tc, doctor_reports_kvm_and_helpers);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(sup, setup, teardown);
	tcase_set_timeout(sup, 60);
	tcase_add_test(sup, helper_killed_with_sigkill);
	tcase_add_test(sup, helper_sending_garbage_is_killed);
	tcase_add_test(sup, helper_without_hello_is_killed);
	tcase_add_test(sup, sigterm_kills_no_helper_leaks);
	suite_add_tcase(s, sup);

	return run_suite(s);
}
