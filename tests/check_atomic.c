/*
 * Atomic writes and the registry built on them: a crash in the middle of a
 * write leaves the old file intact, leftovers are swept, and records survive
 * a "restart" (close and reopen of the store).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "atomic.h"
#include "log.h"
#include "pyrod.h"

static char	dir[64];
static int	dfd = -1;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pyro-atomic-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	char	cmd[128];

	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static char *
slurp(const char *name, size_t *len)
{
	static char	buf[1 << 20];
	int		fd = openat(dfd, name, O_RDONLY);
	ssize_t		n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	*len = n < 0 ? 0 : (size_t)n;
	return buf;
}

static int
count_entries(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strncmp(de->d_name,
		    PYRO_TMP_PREFIX, strlen(PYRO_TMP_PREFIX)) == 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(write_and_replace)
{
	struct stat	 st;
	size_t		 len;

	ck_assert_int_eq(pyro_atomic_write(dfd, "a.json", "old", 3, 0600), 0);
	ck_assert_int_eq(pyro_atomic_write(dfd, "a.json", "new!", 4, 0600), 0);
	ck_assert_str_eq(slurp("a.json", &len), "new!");
	ck_assert_int_eq(fstatat(dfd, "a.json", &st, 0), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_int_eq(pyro_atomic_write(dfd, "../escape", "x", 1, 0600),
	    -EINVAL);
}
END_TEST

/*
 * The child dies of SIGXFSZ in the middle of writing a file larger than its
 * RLIMIT_FSIZE: a real crash mid-write, no test hook involved.
 */
START_TEST(crash_mid_write_keeps_old)
{
	static char	 big[256 * 1024];
	size_t		 len;
	pid_t		 pid;
	int		 status;

	ck_assert_int_eq(pyro_atomic_write(dfd, "rec.json", "old contents",
	    12, 0600), 0);
	memset(big, 'N', sizeof(big));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { 64 * 1024, 64 * 1024 };

		signal(SIGXFSZ, SIG_DFL);
		setrlimit(RLIMIT_FSIZE, &rl);
		pyro_atomic_write(dfd, "rec.json", big, sizeof(big), 0600);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGXFSZ);
	ck_assert_str_eq(slurp("rec.json", &len), "old contents");
	/* The half-written temporary is left behind... */
	ck_assert_int_eq(count_entries(), 2);
	/* ...and swept at the next start. */
	ck_assert_int_eq(pyro_atomic_sweep(dfd), 1);
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_str_eq(slurp("rec.json", &len), "old contents");
}
END_TEST

START_TEST(write_failure_leaves_no_temp)
{
	static char	big[256 * 1024];
	struct rlimit	rl = { 64 * 1024, 64 * 1024 };

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	ck_assert_int_eq(pyro_atomic_write(dfd, "b.json", "keep", 4, 0600), 0);
	ck_assert_int_eq(pyro_atomic_write(dfd, "b.json", big, sizeof(big),
	    0600), -EFBIG);
	ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(registry_survives_restart)
{
	struct record	*r, *r2;
	char		 id[17], sd[128];

	snprintf(sd, sizeof(sd), "%s/state", dir);
	ck_assert_int_eq(store_open(sd), 0);
	r = store_create(REC_WORKSPACE, 1234);
	ck_assert_ptr_nonnull(r);
	cJSON_AddStringToObject(r->doc, "environment", "debian:12");
	rec_set_state(r, ST_RUNNING, "started", NULL);
	ck_assert_int_eq(store_save(r), 0);
	memcpy(id, r->id, sizeof(id));
	r2 = store_create(REC_VM, 0);
	rec_set_state(r2, ST_STOPPED, "stopped", NULL);
	ck_assert_int_eq(store_save(r2), 0);
	store_close();

	/* Restart: the records come back, the live one marked stopped. */
	ck_assert_int_eq(store_open(sd), 0);
	r = store_find(REC_WORKSPACE, id);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->owner, 1234);
	ck_assert_str_eq(rec_state(r), "running");
	ck_assert_int_eq(store_recover(), 1);
	ck_assert_str_eq(rec_state(r), "stopped");
	store_close();

	ck_assert_int_eq(store_open(sd), 0);
	r = store_find(REC_WORKSPACE, id);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(rec_state(r), "stopped");
	ck_assert_str_eq(cJSON_GetObjectItem(r->doc, "environment")->valuestring,
	    "debian:12");
	ck_assert_int_eq(store_recover(), 0);
	store_close();
}
END_TEST

START_TEST(registry_skips_bad_records)
{
	char	sd[128], p[256];
	FILE	*f;

	snprintf(sd, sizeof(sd), "%s/state", dir);
	ck_assert_int_eq(store_open(sd), 0);
	store_close();
	/* Not JSON; id mismatch; not an id at all. */
	snprintf(p, sizeof(p), "%s/workspaces/00000000000000aa", sd);
	mkdir(p, 0700);
	strcat(p, "/workspace.json");
	f = fopen(p, "w");
	fputs("{not json", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/workspaces/00000000000000bb", sd);
	mkdir(p, 0700);
	strcat(p, "/workspace.json");
	f = fopen(p, "w");
	fputs("{\"id\":\"00000000000000cc\",\"owner_uid\":0,\"state\":\"x\"}", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/workspaces/..evil", sd);
	mkdir(p, 0700);
	ck_assert_int_eq(store_open(sd), 0);
	ck_assert_ptr_null(LIST_FIRST(&records));
	store_close();
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("atomic");
	TCase	*tc = tcase_create("atomic");

	log_init("check_atomic", 1, 0);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_and_replace);
	tcase_add_test(tc, crash_mid_write_keeps_old);
	tcase_add_test(tc, write_failure_leaves_no_temp);
	tcase_add_test(tc, registry_survives_restart);
	tcase_add_test(tc, registry_skips_bad_records);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
