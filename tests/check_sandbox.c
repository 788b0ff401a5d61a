/*
 * The helpers' sandboxes.  Two levels:
 *  - the sandbox functions themselves, entered in a forked child that then
 *    tries a syscall outside its allowlist and must die of SIGSYS;
 *  - the real helper binaries, spawned by pyrod's own spawn.c, inspected
 *    through /proc while they serve: uid, capabilities, no_new_privs,
 *    seccomp mode, and exactly the fds they were given.  Then kill -9: the
 *    supervisor notices and reports why.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "../diskhelper/sandbox.h"
#include "../vmhelper/vmhelper.h"
#include "log.h"
#include "pyrod.h"

static uid_t	nobody_uid;
static gid_t	nobody_gid;

/* Run fn in a child; return its wait status. */
static int
in_child(void (*fn)(void))
{
	pid_t	pid;
	int	status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void
dh_open_a_path(void)
{
	if (dh_sandbox_enter(nobody_uid, nobody_gid) < 0)
		_exit(10);
	if (getuid() != nobody_uid || capng_have_capabilities(
	    CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		_exit(11);
	/* Allowed: plain I/O on an fd we already hold. */
	if (write(2, "", 0) != 0)
		_exit(12);
	/* Forbidden: any syscall that takes a path. */
	(void)open("/etc/hostname", O_RDONLY);
	_exit(13);
}

START_TEST(diskhelper_cannot_open_paths)
{
	int	status = in_child(dh_open_a_path);

	ck_assert_msg(WIFSIGNALED(status), "exit %d", WEXITSTATUS(status));
	ck_assert_int_eq(WTERMSIG(status), SIGSYS);
}
END_TEST

static void
dh_as_root(void)
{
	_exit(dh_sandbox_enter(0, 0) == -EINVAL ? 0 : 1);
}

START_TEST(diskhelper_refuses_root)
{
	int	status = in_child(dh_as_root);

	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static void
vmh_exec(void)
{
	if (vmh_sandbox_enter() < 0)
		_exit(10);
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_KILL) ||
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) ||
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_DAC_OVERRIDE))
		_exit(11);
	execl("/bin/true", "true", (char *)NULL);
	_exit(12);
}

START_TEST(vmhelper_cannot_exec)
{
	int	status = in_child(vmh_exec);

	ck_assert_msg(WIFSIGNALED(status), "exit %d", WEXITSTATUS(status));
	ck_assert_int_eq(WTERMSIG(status), SIGSYS);
}
END_TEST

static void
vmh_ptrace(void)
{
	if (vmh_sandbox_enter() < 0)
		_exit(10);
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);	/* not allowed */
	_exit(12);
}

START_TEST(vmhelper_cannot_ptrace)
{
	int	status = in_child(vmh_ptrace);

	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGSYS);
}
END_TEST

/*
 * The VM helper keeps root's uid but may write no file by path (Landlock)
 * except /dev/net/tun: a file root owns stays whole, reads still work.
 */
static char	ll_path[64];

/* The raw exit: ASan's own _exit unsets its signal stack (sigaltstack),
 * which the filter does not allow. */
static void __attribute__((noreturn))
ll_exit(int code)
{
	syscall(SYS_exit_group, code);
	for (;;)
		;
}

static void
vmh_write_a_file(void)
{
	char	c;
	int	fd;

	if (vmh_sandbox_enter() < 0)
		ll_exit(10);
	if ((fd = open(ll_path, O_RDONLY)) < 0 || read(fd, &c, 1) != 1)
		ll_exit(11);
	close(fd);
	if ((fd = open(ll_path, O_WRONLY)) >= 0)
		ll_exit(12);
	if (errno != EACCES)
		ll_exit(13);
	if (open("/tmp/pyro-landlock-new", O_WRONLY | O_CREAT, 0600) >= 0)
		ll_exit(14);
	if ((fd = open("/dev/net/tun", O_RDWR)) < 0 && errno == EACCES)
		ll_exit(15);
	ll_exit(0);
}

START_TEST(vmhelper_cannot_write_files)
{
	int	status, fd;

	snprintf(ll_path, sizeof(ll_path), "/tmp/pyro-ll-%d", (int)getpid());
	fd = open(ll_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	status = in_child(vmh_write_a_file);
	(void)unlink(ll_path);
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL) < 1)
		return;		/* no Landlock in this kernel */
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x", status);
	ck_assert_int_ne(access("/tmp/pyro-landlock-new", F_OK), 0);
}
END_TEST

/* --- live helpers through spawn.c ----------------------------------------- */

static volatile int	quit;
static int		got_ready, got_exit;
static char		exit_why[256];

static void
on_ready(struct helper *h, void *arg)
{
	got_ready = 1;
	quit = 1;
}

static void
on_exit_cb(struct helper *h, const char *why, void *arg)
{
	got_exit = 1;
	snprintf(exit_why, sizeof(exit_why), "%s", why);
}

static const struct helper_ops ops = { NULL, on_ready, on_exit_cb };

static void
give_up(void *arg)
{
	quit = 1;
}

static char *
proc_field(pid_t pid, const char *field)
{
	static char	line[256];
	char		path[64];
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0 &&
		    line[strlen(field)] == ':') {
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
			return line + strlen(field) + 1 + strspn(line +
			    strlen(field) + 1, " \t");
		}
	fclose(f);
	return NULL;
}

/*
 * The helper's fds: exactly 0, 1, 2 and its socket on 3, plus, for the VM
 * helper, the socket to its QEMU launcher on 4 (maxfd 4).
 */
static void
assert_fds(pid_t pid, int maxfd)
{
	char		 path[64], target[256];
	DIR		*d;
	struct dirent	*de;
	int		 seen = 0, fd;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		ck_assert_msg(fd <= maxfd, "helper holds unexpected fd %d", fd);
		seen |= 1 << fd;
		if (fd >= 3) {
			char l[128];
			ssize_t n;

			snprintf(l, sizeof(l), "%s/3", path);
			n = readlink(l, target, sizeof(target) - 1);
			ck_assert_int_gt(n, 0);
			target[n] = '\0';
			ck_assert_msg(strncmp(target, "socket:", 7) == 0,
			    "fd %d is %s", fd, target);
		}
	}
	closedir(d);
	ck_assert_int_eq(seen & 0x8, 0x8);
}

static struct helper *
spawn_ready(enum helper_kind k)
{
	struct helper	*h;
	struct timer	*t;

	quit = got_ready = got_exit = 0;
	ck_assert_int_eq(loop_init(), 0);
	h = helper_spawn(k, "check", &ops, NULL);
	ck_assert_ptr_nonnull(h);
	t = timer_add(10000, give_up, NULL);
	loop_run(&quit);
	timer_cancel(t);
	ck_assert_msg(got_ready, "helper did not become ready (%s)", exit_why);
	return h;
}

static void
kill9_and_reap(struct helper *h)
{
	int	i;

	ck_assert_int_eq(kill(helper_pid(h), SIGKILL), 0);
	for (i = 0; i < 500 && !got_exit; i++) {
		usleep(10000);
		helpers_reap();
	}
	ck_assert(got_exit);
	ck_assert_msg(strstr(exit_why, "signal 9") != NULL, "why: %s",
	    exit_why);
	ck_assert_int_eq(helpers_count(), 0);
}

START_TEST(live_diskhelper)
{
	struct helper	*h = spawn_ready(HELPER_DISK);
	char		 uid[64];
	pid_t		 pid = helper_pid(h);

	snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", nobody_uid, nobody_uid,
	    nobody_uid, nobody_uid);
	ck_assert_str_eq(proc_field(pid, "Uid"), uid);
	ck_assert_str_eq(proc_field(pid, "CapEff"), "0000000000000000");
	ck_assert_str_eq(proc_field(pid, "CapPrm"), "0000000000000000");
	ck_assert_str_eq(proc_field(pid, "CapBnd"), "0000000000000000");
	ck_assert_str_eq(proc_field(pid, "NoNewPrivs"), "1");
	ck_assert_str_eq(proc_field(pid, "Seccomp"), "2");
	ck_assert_str_eq(proc_field(pid, "Groups"), "");
	assert_fds(pid, 3);
	kill9_and_reap(h);
}
END_TEST

START_TEST(live_vmhelper)
{
	struct helper	*h = spawn_ready(HELPER_VM);
	pid_t		 pid = helper_pid(h);

	/* CAP_KILL (bit 5) and CAP_NET_ADMIN (bit 12), nothing else. */
	ck_assert_str_eq(proc_field(pid, "CapEff"), "0000000000001020");
	ck_assert_str_eq(proc_field(pid, "CapBnd"), "0000000000001020");
	ck_assert_str_eq(proc_field(pid, "NoNewPrivs"), "1");
	ck_assert_str_eq(proc_field(pid, "Seccomp"), "2");
	assert_fds(pid, 4);
	kill9_and_reap(h);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("sandbox");
	TCase		*tc = tcase_create("sandbox");
	struct passwd	*pw;
	const char	*b = getenv("PYRO_BUILDDIR");

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: the sandbox tests need root\n");
		return 77;
	}
	log_init("check_sandbox", 1, 0);
	if ((pw = getpwnam("nobody")) == NULL) {
		fprintf(stderr, "SKIP: no user nobody\n");
		return 77;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	config_defaults(&conf);
	snprintf(conf.libexec_dir, sizeof(conf.libexec_dir), "%s",
	    b ? b : ".");
	conf.helper_uid = nobody_uid;
	conf.helper_gid = nobody_gid;

	tcase_add_test(tc, diskhelper_cannot_open_paths);
	tcase_add_test(tc, diskhelper_refuses_root);
	tcase_add_test(tc, vmhelper_cannot_exec);
	tcase_add_test(tc, vmhelper_cannot_ptrace);
	tcase_add_test(tc, vmhelper_cannot_write_files);
	tcase_add_test(tc, live_diskhelper);
	tcase_add_test(tc, live_vmhelper);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
