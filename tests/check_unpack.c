/*
 * The export unpacker (libpyro/transfer.c) against hostile archives, and
 * the seed packer's symlink checks.  The guest writes the export stream;
 * nothing it sends may change anything outside the output directory:
 * each case stats a file outside before and after and compares mode,
 * owner, times and content.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "internal.h"

struct tent {
	char		 type;		/* d f l h */
	const char	*name;
	const char	*arg;		/* file data, link target */
	mode_t		 mode;
};

static char	top[256], outside[512], victim[600];
static struct stat before;

static void
setup(void)
{
	char	tmpl[] = "/tmp/pyro-check-unpack.XXXXXX";
	int	fd;
	struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(top, sizeof(top), "%s", tmpl);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	snprintf(victim, sizeof(victim), "%s/secret.txt", outside);
	fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "original\n", 9), 9);
	ck_assert_int_eq(futimens(fd, ts), 0);
	close(fd);
	ck_assert_int_eq(mkdir(strcat(strcpy((char[600]){0}, top), "/out"),
	    0700), 0);
	ck_assert_int_eq(stat(victim, &before), 0);
}

static void
rm_rf(const char *path)
{
	char	cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

/* Nothing outside changed; no temporary directory was left. */
static void
check_outside(void)
{
	struct stat	 after;
	char		 buf[64], dir[600];
	DIR		*d;
	struct dirent	*de;
	int		 fd;
	ssize_t		 n;

	ck_assert_int_eq(lstat(victim, &after), 0);
	ck_assert(S_ISREG(after.st_mode));
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_uint_eq(after.st_uid, before.st_uid);
	ck_assert_uint_eq(after.st_gid, before.st_gid);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(after.st_atim.tv_sec, before.st_atim.tv_sec);
	ck_assert_uint_eq(after.st_nlink, 1);
	fd = open(victim, O_RDONLY | O_NOATIME);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, 9);
	ck_assert(memcmp(buf, "original\n", 9) == 0);
	/* The outside directory holds the victim alone. */
	ck_assert_ptr_nonnull(d = opendir(outside));
	n = 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(n, 1);
	snprintf(dir, sizeof(dir), "%s/out", top);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(strncmp(de->d_name, ".pyro-export-", 13) != 0,
		    "left %s behind", de->d_name);
	closedir(d);
}

static void
teardown(void)
{
	rm_rf(top);
}

/* A tar stream of the entries, in memory. */
static size_t
build(const struct tent *t, uint8_t *buf, size_t cap)
{
	struct archive		*a = archive_write_new();
	struct archive_entry	*e;
	size_t			 used = 0;

	ck_assert_int_eq(archive_write_set_format_pax_restricted(a),
	    ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used),
	    ARCHIVE_OK);
	for (; t->type != 0; t++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, t->name);
		archive_entry_set_mtime(e, 12345, 0);
		switch (t->type) {
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, t->mode);
			break;
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, t->mode);
			archive_entry_set_size(e, (la_int64_t)strlen(t->arg));
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, t->arg);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, t->arg);
			break;
		}
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (t->type == 'f')
			ck_assert_int_eq(archive_write_data(a, t->arg,
			    strlen(t->arg)), (la_ssize_t)strlen(t->arg));
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

/* Unpack t into top/out/x; returns the call's result, err filled. */
static int
unpack(const struct tent *t, pyro_error *err)
{
	static uint8_t		buf[1 << 20];
	struct pyro_unpack	u;
	char			out[700];
	size_t			n = build(t, buf, sizeof(buf));

	snprintf(out, sizeof(out), "%s/out/x", top);
	memset(err, 0, sizeof(*err));
	ck_assert_int_eq(pyro__unpack_start(&u, out, 0, err), 0);
	pyro__unpack_feed(&u, buf, n);
	return pyro__unpack_finish(&u, 1, err);
}

/* Each hostile case, with an absolute and a relative link target. */
static const char *target_abs(void) { return victim; }

static void
expect_refused(const struct tent *t)
{
	pyro_error	err;

	ck_assert_int_eq(unpack(t, &err), -1);
	ck_assert_msg(strcmp(err.code, "invalid_archive") == 0,
	    "code %s: %s", err.code, err.message);
	check_outside();
}

/* From top/out/.pyro-export-XXXXXX/t/: four levels up is top. */
#define REL_VICTIM	"../../../outside/secret.txt"
#define REL_OUTSIDE	"../../../outside"

START_TEST(symlink_then_dir)
{
	const char *tg[] = { target_abs(), REL_VICTIM };
	struct tent t[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'l', "t/evil", tg[_i], 0 },
		{ 'd', "t/evil/", NULL, 0777 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(t);
}
END_TEST

START_TEST(symlink_then_file)
{
	const char *tg[] = { target_abs(), REL_VICTIM };
	struct tent t[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'l', "t/evil", tg[_i], 0 },
		{ 'f', "t/evil", "pwned\n", 0777 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(t);
}
END_TEST

START_TEST(symlink_dir_then_beneath)
{
	const char *tg[] = { outside, REL_OUTSIDE };
	struct tent t[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'l', "t/d", tg[_i], 0 },
		{ 'f', "t/d/new", "pwned\n", 0777 },
		{ 'f', "t/d/secret.txt", "pwned\n", 0777 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(t);
}
END_TEST

START_TEST(symlink_dir_then_dir_beneath)
{
	const char *tg[] = { outside, REL_OUTSIDE };
	struct tent t[] = {
		{ 'l', "t/d", tg[_i], 0 },
		{ 'd', "t/d/sub/", NULL, 0777 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(t);
}
END_TEST

START_TEST(duplicates)
{
	struct tent files[] = {
		{ 'f', "t/a", "one\n", 0644 },
		{ 'f', "t/a", "two\n", 0644 },
		{ 0, NULL, NULL, 0 } };
	struct tent dirs[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'd', "t/", NULL, 0777 },
		{ 0, NULL, NULL, 0 } };
	struct tent file_over_dir[] = {
		{ 'd', "t/d/", NULL, 0755 },
		{ 'f', "t/d", "x\n", 0644 },
		{ 0, NULL, NULL, 0 } };
	struct tent dir_over_file[] = {
		{ 'f', "t/d", "x\n", 0644 },
		{ 'd', "t/d/", NULL, 0777 },
		{ 0, NULL, NULL, 0 } };
	struct tent file_as_parent[] = {
		{ 'f', "t/d", "x\n", 0644 },
		{ 'f', "t/d/e", "x\n", 0644 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(files);
	expect_refused(dirs);
	expect_refused(file_over_dir);
	expect_refused(dir_over_file);
	expect_refused(file_as_parent);
}
END_TEST

START_TEST(hardlinks)
{
	const char *tg[] = { target_abs(), REL_VICTIM };
	struct tent to_symlink[] = {
		{ 'l', "t/l", tg[_i], 0 },
		{ 'h', "t/h", "t/l", 0 },
		{ 0, NULL, NULL, 0 } };
	struct tent to_missing[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'h', "t/h", "t/nothing", 0 },
		{ 0, NULL, NULL, 0 } };
	struct tent to_dir[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'd', "t/d/", NULL, 0755 },
		{ 'h', "t/h", "t/d", 0 },
		{ 0, NULL, NULL, 0 } };
	struct tent out_of_tree[] = {
		{ 'd', "t/", NULL, 0755 },
		{ 'h', "t/h", "../outside/secret.txt", 0 },
		{ 0, NULL, NULL, 0 } };
	struct tent through_link[] = {
		{ 'l', "t/d", tg[_i], 0 },
		{ 'h', "t/h", "t/d/secret.txt", 0 },
		{ 0, NULL, NULL, 0 } };

	expect_refused(to_symlink);
	expect_refused(to_missing);
	expect_refused(to_dir);
	expect_refused(out_of_tree);
	expect_refused(through_link);
}
END_TEST

START_TEST(names)
{
	struct tent absolute[] = { { 'f', "/t/a", "x\n", 0644 },
		{ 0, NULL, NULL, 0 } };
	struct tent dotdot[] = { { 'f', "t/../../a", "x\n", 0644 },
		{ 0, NULL, NULL, 0 } };
	struct tent two_trees[] = { { 'f', "t/a", "x\n", 0644 },
		{ 'f', "u/a", "x\n", 0644 }, { 0, NULL, NULL, 0 } };
	expect_refused(absolute);
	expect_refused(dotdot);
	expect_refused(two_trees);
}
END_TEST

/* A well-formed export: modes, times, links, a hard link. */
START_TEST(good_export)
{
	struct tent t[] = {
		{ 'd', "t/", NULL, 0750 },
		{ 'd', "t/sub/", NULL, 0700 },
		{ 'f', "t/sub/f", "hello\n", 0640 },
		{ 'f', "t/sub/run.sh", "#!/bin/sh\n", 04755 },
		{ 'l', "t/l", "sub/f", 0 },
		{ 'l', "t/abs", "/etc/passwd", 0 },
		{ 'h', "t/h", "t/sub/f", 0 },
		{ 'f', "t/deep/er/file", "x\n", 0600 },
		{ 0, NULL, NULL, 0 } };
	pyro_error	 err;
	struct stat	 st, st2;
	char		 p[800], link[64];
	ssize_t		 n;

	ck_assert_msg(unpack(t, &err) == 0, "%s: %s", err.code, err.message);
	check_outside();
	snprintf(p, sizeof(p), "%s/out/x", top);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(st.st_mtim.tv_sec, 12345);
	snprintf(p, sizeof(p), "%s/out/x/sub", top);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	snprintf(p, sizeof(p), "%s/out/x/sub/f", top);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(st.st_size, 6);
	ck_assert_uint_eq(st.st_nlink, 2);
	/* No setuid bit survives the trip to the host. */
	snprintf(p, sizeof(p), "%s/out/x/sub/run.sh", top);
	ck_assert_int_eq(lstat(p, &st2), 0);
	ck_assert_uint_eq(st2.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/out/x/abs", top);
	n = readlink(p, link, sizeof(link) - 1);
	ck_assert_int_eq(n, 11);
	link[n] = '\0';
	ck_assert_str_eq(link, "/etc/passwd");
	snprintf(p, sizeof(p), "%s/out/x/h", top);
	ck_assert_int_eq(lstat(p, &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st.st_ino);
	snprintf(p, sizeof(p), "%s/out/x/deep/er/file", top);
	ck_assert_int_eq(lstat(p, &st), 0);
}
END_TEST

/* Garbage after a good start: refused, nothing left. */
START_TEST(truncated_stream)
{
	static uint8_t		buf[1 << 16];
	struct tent		t[] = { { 'f', "t/a", "hello\n", 0644 },
				    { 0, NULL, NULL, 0 } };
	struct pyro_unpack	u;
	pyro_error		err;
	char			out[700];
	size_t			n = build(t, buf, sizeof(buf));

	snprintf(out, sizeof(out), "%s/out/x", top);
	ck_assert_int_eq(pyro__unpack_start(&u, out, 0, &err), 0);
	pyro__unpack_feed(&u, buf, 700);
	pyro__unpack_feed(&u, "garbage garbage garbage", 23);
	ck_assert_int_eq(pyro__unpack_finish(&u, 1, &err), -1);
	(void)n;
	check_outside();
	ck_assert_int_eq(access(out, F_OK), -1);
}
END_TEST

/* ---- seeds: symlinks judged with the others followed ---- */

static int
pack_dir(const char *const *links, pyro_error *err)
{
	struct pyro_pack	p;
	char			dir[700], path[800], drain[65536];
	int			rfd, i, rc;

	snprintf(dir, sizeof(dir), "%s/seed", top);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	for (i = 0; links[i] != NULL; i += 2) {
		snprintf(path, sizeof(path), "%s/%s", dir, links[i]);
		ck_assert_int_eq(symlink(links[i + 1], path), 0);
	}
	memset(err, 0, sizeof(*err));
	rc = pyro__pack_start(&p, dir, &rfd, err);
	if (rc == 0) {
		while (read(rfd, drain, sizeof(drain)) > 0)
			;
		close(rfd);
		rc = pyro__pack_finish(&p, err);
	}
	rm_rf(dir);
	return rc;
}

START_TEST(seed_link_chains)
{
	static const char *const escape[][7] = {
		{ "q", ".", "p", "q/..", NULL },
		{ "a", "b/..", "b", ".", NULL },
		{ "x", "y", "y", "x", NULL },		/* a loop */
		{ "d", "e/f", "e", ".", "f", "..", NULL },
		{ "up", "..", NULL },
	};
	static const char *const fine[][7] = {
		{ "q", ".", "p", "q/file", NULL },
		{ "a", "b/file", "b", ".", NULL },
		{ "sub", "q/q/q", "q", ".", NULL },
	};
	pyro_error	err;
	size_t		i;

	for (i = 0; i < sizeof(escape) / sizeof(escape[0]); i++) {
		ck_assert_int_eq(pack_dir(escape[i], &err), -1);
		ck_assert_str_eq(err.code, "invalid_archive");
	}
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		ck_assert_msg(pack_dir(fine[i], &err) == 0, "case %zu: %s", i,
		    err.message);
}
END_TEST

/* A guest may not make the unpacker nest without end. */
START_TEST(too_deep)
{
	static char	 name[PATH_MAX];
	struct tent	 t[] = { { 'f', name, "x\n", 0644 },
			    { 0, NULL, NULL, 0 } };
	size_t		 i, o = 0;

	o += (size_t)snprintf(name, sizeof(name), "t");
	for (i = 0; i < 300 && o + 3 < sizeof(name); i++)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "/d");
	expect_refused(t);
}
END_TEST

/* A seed archive whose symlink lies behind another symlink is refused. */
START_TEST(seed_link_beneath_link)
{
	static uint8_t		buf[1 << 16];
	struct tent		t[] = { { 'd', "d0", NULL, 0755 },
				    { 'l', "d", "d0", 0 },
				    { 'l', "d/a", "..", 0 },
				    { 0, NULL, NULL, 0 } };
	struct pyro_pack	p;
	pyro_error		err;
	char			path[700];
	size_t			n = build(t, buf, sizeof(buf));
	int			fd, rfd;

	snprintf(path, sizeof(path), "%s/seed.tar", top);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(pyro__pack_start(&p, path, &rfd, &err), -1);
	ck_assert_str_eq(err.code, "invalid_archive");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("unpack");
	TCase	*tc = tcase_create("unpack");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, symlink_then_dir, 0, 2);
	tcase_add_loop_test(tc, symlink_then_file, 0, 2);
	tcase_add_loop_test(tc, symlink_dir_then_beneath, 0, 2);
	tcase_add_loop_test(tc, symlink_dir_then_dir_beneath, 0, 2);
	tcase_add_test(tc, duplicates);
	tcase_add_loop_test(tc, hardlinks, 0, 2);
	tcase_add_test(tc, names);
	tcase_add_test(tc, good_export);
	tcase_add_test(tc, truncated_stream);
	tcase_add_test(tc, seed_link_chains);
	tcase_add_test(tc, too_deep);
	tcase_add_test(tc, seed_link_beneath_link);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
