/* Names and paths from clients and guests. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "escape.h"
#include "path.h"

START_TEST(names)
{
	char	long64[65], long65[66];

	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long65, 'a', 65);
	long65[65] = '\0';
	ck_assert(pyro_name_valid("baseline"));
	ck_assert(pyro_name_valid("snap-1.2_x"));
	ck_assert(pyro_name_valid("A"));
	ck_assert(pyro_name_valid(long64));
	ck_assert(!pyro_name_valid(long65));
	ck_assert(!pyro_name_valid(""));
	ck_assert(!pyro_name_valid(NULL));
	ck_assert(!pyro_name_valid("."));
	ck_assert(!pyro_name_valid(".."));
	ck_assert(!pyro_name_valid(".hidden"));
	ck_assert(!pyro_name_valid("-rf"));
	ck_assert(!pyro_name_valid("a/b"));
	ck_assert(!pyro_name_valid("a b"));
	ck_assert(!pyro_name_valid("a\nb"));
	ck_assert(!pyro_name_valid("caf\xc3\xa9"));
}
END_TEST

static const struct {
	const char	*in;
	unsigned	 flags;
	int		 rc;
	const char	*out;
} cases[] = {
	{ "src/main.c", 0, 0, "/workspace/src/main.c" },
	{ "./a//b/./c/", 0, 0, "/workspace/a/b/c" },
	{ ".", 0, 0, "/workspace" },
	{ "a/../b", 0, 0, "/workspace/b" },
	{ "..", 0, 0, "/" },
	{ "../..", 0, -EXDEV, NULL },
	{ "../../etc/passwd", 0, -EXDEV, NULL },
	{ "../etc", PYRO_PATH_UNDER_BASE, -EXDEV, NULL },
	{ "..", PYRO_PATH_UNDER_BASE, -EXDEV, NULL },
	{ "a/../..", PYRO_PATH_UNDER_BASE, -EXDEV, NULL },
	{ "sub/..", PYRO_PATH_UNDER_BASE, 0, "/workspace" },
	{ "/etc/passwd", 0, -EINVAL, NULL },
	{ "/etc/passwd", PYRO_PATH_ABS_OK, 0, "/etc/passwd" },
	{ "/etc/passwd", PYRO_PATH_ABS_OK | PYRO_PATH_UNDER_BASE, -EXDEV,
	  NULL },
	{ "/workspace/x", PYRO_PATH_ABS_OK | PYRO_PATH_UNDER_BASE, 0,
	  "/workspace/x" },
	{ "/workspacefoo", PYRO_PATH_ABS_OK | PYRO_PATH_UNDER_BASE, -EXDEV,
	  NULL },
	{ "/../../etc", PYRO_PATH_ABS_OK, -EXDEV, NULL },
	{ "/../../etc", PYRO_PATH_ABS_OK | PYRO_PATH_CLAMP, 0, "/etc" },
	{ "../../../x", PYRO_PATH_CLAMP, 0, "/x" },
	{ "/", PYRO_PATH_ABS_OK, 0, "/" },
	{ "", 0, -EINVAL, NULL },
	/* Symlink-looking strings are just names: nothing is followed. */
	{ "link -> /etc", 0, 0, "/workspace/link -> /etc" },
	{ "proc/self/root/etc", 0, 0, "/workspace/proc/self/root/etc" },
};

START_TEST(resolve_table)
{
	char	out[PYRO_PATH_LEN_MAX + 1];
	int	rc;

	rc = pyro_path_resolve(cases[_i].in, strlen(cases[_i].in),
	    "/workspace", cases[_i].flags, out, sizeof(out));
	ck_assert_msg(rc == cases[_i].rc, "%s: rc %d, want %d", cases[_i].in,
	    rc, cases[_i].rc);
	if (rc == 0)
		ck_assert_str_eq(out, cases[_i].out);
}
END_TEST

START_TEST(nul_and_overlong)
{
	char	out[PYRO_PATH_LEN_MAX + 1], *big;
	char	comp[300];

	ck_assert_int_eq(pyro_path_resolve("a\0b", 3, "/workspace", 0, out,
	    sizeof(out)), -EINVAL);
	big = malloc(PYRO_PATH_LEN_MAX + 10);
	memset(big, 'a', PYRO_PATH_LEN_MAX + 9);
	big[PYRO_PATH_LEN_MAX + 9] = '\0';
	ck_assert_int_eq(pyro_path_resolve(big, strlen(big), "/workspace", 0,
	    out, sizeof(out)), -ENAMETOOLONG);
	/* Many short components that add up past PATH_MAX. */
	for (size_t i = 0; i < PYRO_PATH_LEN_MAX; i += 2) {
		big[i] = 'a';
		big[i + 1] = '/';
	}
	big[PYRO_PATH_LEN_MAX - 1] = '\0';
	ck_assert_int_eq(pyro_path_resolve(big, strlen(big), "/workspace", 0,
	    out, sizeof(out)), -ENAMETOOLONG);
	/* One component over NAME_MAX. */
	memset(comp, 'b', 256);
	comp[256] = '\0';
	ck_assert_int_eq(pyro_path_resolve(comp, strlen(comp), "/workspace",
	    0, out, sizeof(out)), -ENAMETOOLONG);
	/* A small output buffer is never overrun. */
	ck_assert_int_eq(pyro_path_resolve("abcdef", 6, "/workspace", 0, out,
	    8), -ENAMETOOLONG);
	free(big);
}
END_TEST

START_TEST(openat_beneath_refuses_symlinks)
{
	char	dir[] = "/tmp/pyro-path-XXXXXX";
	int	dfd, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(mkdirat(dfd, "sub", 0700), 0);
	ck_assert_int_eq(symlinkat("/etc", dfd, "out"), 0);
	ck_assert_int_eq(symlinkat("sub", dfd, "in"), 0);

	fd = pyro_openat_beneath(dfd, "sub/new", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	/* A symlink out of the tree, even as a directory component. */
	ck_assert_int_eq(pyro_openat_beneath(dfd, "out/passwd", O_RDONLY, 0),
	    -ELOOP);
	/* Even a symlink that stays inside is refused. */
	ck_assert_int_eq(pyro_openat_beneath(dfd, "in/new", O_RDONLY, 0),
	    -ELOOP);
	ck_assert_int_lt(pyro_openat_beneath(dfd, "out", O_RDONLY, 0), 0);
	ck_assert_int_eq(pyro_openat_beneath(dfd, "../etc/passwd", O_RDONLY,
	    0), -EXDEV);
	ck_assert_int_eq(pyro_openat_beneath(dfd, "/etc/passwd", O_RDONLY, 0),
	    -EXDEV);

	(void)unlinkat(dfd, "sub/new", 0);
	(void)unlinkat(dfd, "sub", AT_REMOVEDIR);
	(void)unlinkat(dfd, "out", 0);
	(void)unlinkat(dfd, "in", 0);
	close(dfd);
	rmdir(dir);
}
END_TEST

START_TEST(ids)
{
	char	a[PYRO_ID_LEN + 1], b[PYRO_ID_LEN + 1];

	ck_assert_int_eq(pyro_id_new(a), 0);
	ck_assert_int_eq(pyro_id_new(b), 0);
	ck_assert(pyro_id_valid(a));
	ck_assert_str_ne(a, b);
	ck_assert(!pyro_id_valid("0123456789abcdeF"));
	ck_assert(!pyro_id_valid("0123456789abcde"));
	ck_assert(!pyro_id_valid("../../etc/passwd"));
	ck_assert(!pyro_id_valid(NULL));
}
END_TEST

/* Guest text on a terminal: controls escaped, other UTF-8 kept. */
START_TEST(escape_text)
{
	static const struct { const char *in; unsigned fl; const char *out; }
	    c[] = {
		{ "plain", 0, "plain" },
		{ "a\n9 added", 0, "a\\n9 added" },
		{ "a\n\tb", PYRO_ESC_LINES, "a\n\tb" },
		{ "\033]0;pwned\007x", PYRO_ESC_LINES, "\\x1b]0;pwned\\x07x" },
		{ "cr\rx\x7f", 0, "cr\\rx\\x7f" },
		{ "x\\u0000y", PYRO_ESC_BACKSLASH, "x\\\\u0000y" },
		{ "x\\u0000y", 0, "x\\u0000y" },
		{ "caf\xc3\xa9 \xe2\x82\xac", 0, "caf\xc3\xa9 \xe2\x82\xac" },
		{ "c1\xc2\x9b[2J", 0, "c1\\u009b[2J" },
		{ "bidi\xe2\x80\xaex", 0, "bidi\\u202ex" },
		{ "bad\xff\xc3", 0, "bad\\xff\\xc3" },
		{ "over\xc0\xaf", 0, "over\\xc0\\xaf" },
		{ "sur\xed\xa0\x80", 0, "sur\\xed\\xa0\\x80" },
		{ "", 0, "" },
	};
	size_t	i;
	char	*e;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		e = pyro_escape_text(c[i].in, c[i].fl);
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(strcmp(e, c[i].out) == 0, "case %zu: got %s", i,
		    e);
		free(e);
	}
	/* The worst case fits the buffer: every byte a control. */
	e = pyro_escape_text("\001\002\003\004", 0);
	ck_assert_str_eq(e, "\\x01\\x02\\x03\\x04");
	free(e);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("path");
	TCase	*tc = tcase_create("path");

	tcase_add_test(tc, names);
	tcase_add_loop_test(tc, resolve_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, nul_and_overlong);
	tcase_add_test(tc, openat_beneath_refuses_symlinks);
	tcase_add_test(tc, ids);
	tcase_add_test(tc, escape_text);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
