/*
 * pyro-diskhelper's ext4 code (diskhelper/ext4.c) on small images made
 * with mkfs.ext4 -d at test time: inline data, fast and slow symlinks,
 * sparse files, deep trees, a symlink loop, an absolute symlink, and
 * damaged images (superblock, truncation, an inode number out of range).
 * Cross-checked against what was put in, and e2fsck -fn after writes.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../diskhelper/ext4.h"
#include "errcode.h"
#include "checkmain.h"

static char	tmp[64];

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char	cmd[8192];
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/*
 * The tree every image holds.  mkfs.ext4 -d copies it in; -O inline_data
 * puts small files and directories in their inodes.
 */
static void
make_tree(const char *root)
{
	char	deep[2048];
	int	i;

	sh("mkdir -p %s/workspace/sub %s/etc %s/run/pyro", root, root, root);
	sh("printf 'hello\\n' > %s/workspace/small.txt", root);
	sh("head -c 300000 /dev/urandom > %s/workspace/big.bin", root);
	sh("truncate -s 50M %s/workspace/sparse.img && "
	    "printf 'tail' >> %s/workspace/sparse.img", root, root);
	sh("printf 'x' | dd of=%s/workspace/sparse.img bs=1 seek=1000 "
	    "conv=notrunc 2>/dev/null", root);
	sh("ln -s small.txt %s/workspace/fast-link", root);
	sh("ln -s %0100d %s/workspace/slow-link", 0, root);
	sh("ln -s /etc/hostname %s/workspace/abs-link", root);
	sh("ln -s loop-b %s/workspace/loop-a && ln -s loop-a "
	    "%s/workspace/loop-b", root, root);
	sh("ln -s ../../../../etc %s/workspace/up-link", root);
	sh("printf 'image-host\\n' > %s/etc/hostname", root);
	sh("printf 'stale\\n' > %s/run/pyro/agent.pid", root);
	sh("mkdir -p %s/root && printf 'echo hi\\n' > %s/root/.bash_history",
	    root, root);
	snprintf(deep, sizeof(deep), "%s/workspace/deep", root);
	for (i = 0; i < 30; i++)
		strcat(deep, "/d");
	sh("mkdir -p %s && printf 'bottom\\n' > %s/f", deep, deep);
}

static int
make_image(const char *name, const char *features)
{
	char	root[128], img[128];
	int	fd;

	snprintf(root, sizeof(root), "%s/root-%s", tmp, name);
	snprintf(img, sizeof(img), "%s/%s.ext4", tmp, name);
	if (access(root, F_OK) != 0) {
		sh("mkdir -p %s", root);
		make_tree(root);
	}
	sh("mkfs.ext4 -q -F %s -d %s %s 64M", features, root, img);
	fd = open(img, O_RDWR);
	ck_assert_int_ge(fd, 0);
	return fd;
}

struct seen {
	char		 names[4096];
	int		 n;
	const char	*want;		/* an entry to describe in full */
	char		 target[4096];
	long long	 size;
	unsigned	 mode;
};

static int
collect(const struct dk_entry *e, void *arg)
{
	struct seen	*s = arg;

	if (strlen(s->names) + strlen(e->path) + 2 < sizeof(s->names)) {
		strcat(s->names, e->path);
		strcat(s->names, "\n");
	}
	s->n++;
	if (s->want != NULL && strcmp(e->path, s->want) == 0) {
		snprintf(s->target, sizeof(s->target), "%s", e->target);
		s->size = (long long)e->size;
		s->mode = e->mode;
	}
	return 0;
}

struct bytes {
	char	*p;
	size_t	 len;
};

static int
gather(const void *p, size_t n, void *arg)
{
	struct bytes	*b = arg;

	b->p = realloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static struct dk *
open_ok(int fd, int rw)
{
	struct dk	*d;
	char		 err[DK_ERR_MAX];

	ck_assert_msg(dk_open(fd, rw, &d, err) == 0, "open: %s", err);
	return d;
}

static void
read_check(const char *features)
{
	struct seen	 s;
	struct bytes	 b = { NULL, 0 };
	struct dk	*d;
	char		 err[DK_ERR_MAX], want[128];
	uint64_t	 n, total;
	int		 fd = make_image(features[0] ? "inline" : "plain",
			    features);

	d = open_ok(fd, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "", 0, collect, &s, &n, err), 0);
	ck_assert_ptr_nonnull(strstr(s.names, "small.txt\n"));
	ck_assert_ptr_nonnull(strstr(s.names, "deep\n"));
	ck_assert_ptr_null(strstr(s.names, "deep/d"));
	/* Recursive: the 30-deep file is there, with its path. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "deep", 1, collect, &s, &n, err), 0);
	ck_assert_int_eq(s.n, 31);
	/* Fast and slow symlinks: the targets. */
	memset(&s, 0, sizeof(s));
	s.want = "fast-link";
	ck_assert_int_eq(dk_list(d, "/workspace", 0, collect, &s, &n, err), 0);
	ck_assert_str_eq(s.target, "small.txt");
	ck_assert_int_eq(s.mode & 0170000, 0120000);
	memset(&s, 0, sizeof(s));
	s.want = "slow-link";
	ck_assert_int_eq(dk_list(d, "/workspace", 0, collect, &s, &n, err), 0);
	memset(want, '0', 100);
	want[100] = '\0';
	ck_assert_str_eq(s.target, want);
	ck_assert_int_eq(s.size, 100);
	ck_assert_int_eq(dk_read(d, "small.txt", 0, gather, &b, &total, err),
	    0);
	ck_assert_str_eq(b.p, "hello\n");
	b.len = 0;
	/* Symlinks resolve inside the image: fast, absolute, and ".." runs
	 * that would climb above the root stop at it. */
	ck_assert_int_eq(dk_read(d, "fast-link", 0, gather, &b, &total, err),
	    0);
	ck_assert_str_eq(b.p, "hello\n");
	b.len = 0;
	ck_assert_int_eq(dk_read(d, "abs-link", 0, gather, &b, &total, err),
	    0);
	ck_assert_str_eq(b.p, "image-host\n");
	b.len = 0;
	ck_assert_int_eq(dk_read(d, "up-link/hostname", 0, gather, &b, &total,
	    err), 0);
	ck_assert_str_eq(b.p, "image-host\n");
	b.len = 0;
	ck_assert_int_eq(dk_read(d, "../../../../etc/hostname", 0, gather,
	    &b, &total, err), 0);
	ck_assert_str_eq(b.p, "image-host\n");
	b.len = 0;
	/* A loop is an error, not a hang. */
	ck_assert_int_eq(dk_read(d, "loop-a", 0, gather, &b, &total, err),
	    PYRO_E_INVALID_PATH);
	/* Sparse: 50 MiB + 4 read back, holes as zeros, bounded by max. */
	ck_assert_int_eq(dk_read(d, "sparse.img", 0, gather, &b, &total, err),
	    0);
	ck_assert_uint_eq(total, 50 * 1024 * 1024 + 4);
	ck_assert_int_eq(b.p[1000], 'x');
	ck_assert_int_eq(b.p[999], 0);
	ck_assert_int_eq(memcmp(b.p + total - 4, "tail", 4), 0);
	b.len = 0;
	ck_assert_int_eq(dk_read(d, "big.bin", 1000, gather, &b, &total, err),
	    0);
	ck_assert_uint_eq(total, 1000);
	/* Refusals. */
	ck_assert_int_eq(dk_read(d, "sub", 0, gather, &b, &total, err),
	    PYRO_E_INVALID_ARGUMENT);
	ck_assert_int_eq(dk_read(d, "nothing", 0, gather, &b, &total, err),
	    PYRO_E_NOT_FOUND);
	ck_assert_int_eq(dk_list(d, "nothing/x", 0, collect, &s, &n, err),
	    PYRO_E_NOT_FOUND);
	free(b.p);
	ck_assert_int_eq(dk_close(d, err), 0);
	close(fd);
}

START_TEST(plain_image)
{
	read_check("");
}
END_TEST

START_TEST(inline_data_image)
{
	read_check("-O inline_data");
}
END_TEST

START_TEST(export_and_scrub)
{
	struct seen	 s;
	struct dk	*d;
	char		 err[DK_ERR_MAX], out[128];
	uint64_t	 n, bytes;
	int		 fd = make_image("plain", ""), ofd;
	struct stat	 st;

	snprintf(out, sizeof(out), "%s/export.ext4", tmp);
	ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(ofd, 0);
	d = open_ok(fd, 0);
	ck_assert_int_eq(dk_export(d, fd, ofd, &bytes, err), 0);
	(void)dk_close(d, err);
	close(ofd);
	/* Same size, fewer blocks (sparse), and e2fsck is happy. */
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_int_eq(st.st_size, 64 * 1024 * 1024);
	ck_assert_int_lt((long long)st.st_blocks * 512, 64LL * 1024 * 1024);
	sh("e2fsck -fn %s >/dev/null 2>&1", out);
	sh("test \"$(debugfs -R 'cat /workspace/small.txt' %s 2>/dev/null)\" "
	    "= hello", out);

	/* The scrub: runtime files gone, the rest kept, e2fsck clean. */
	d = open_ok(fd, 1);
	ck_assert_int_eq(dk_scrub(d, &n, err), 0);
	ck_assert_uint_ge(n, 3);	/* /run/pyro, its pid file, history */
	ck_assert_int_eq(dk_close(d, err), 0);
	snprintf(out, sizeof(out), "%s/plain.ext4", tmp);
	sh("e2fsck -fn %s >/dev/null 2>&1", out);
	d = open_ok(fd, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "/run", 0, collect, &s, &n, err), 0);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(dk_list(d, "/root/.bash_history", 0, collect, &s, &n,
	    err), PYRO_E_NOT_FOUND);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "", 0, collect, &s, &n, err), 0);
	ck_assert_ptr_nonnull(strstr(s.names, "small.txt\n"));
	(void)dk_close(d, err);
	close(fd);
}
END_TEST

START_TEST(damaged_images)
{
	struct seen	 s;
	struct dk	*d;
	char		 err[DK_ERR_MAX], img[128];
	uint64_t	 n;
	int		 fd;

	/* A superblock without its magic. */
	fd = make_image("badsb", "");
	ck_assert_int_eq(pwrite(fd, "\0\0", 2, 1024 + 56), 2);
	ck_assert_int_eq(dk_open(fd, 0, &d, err), PYRO_E_DISK_CORRUPT);
	close(fd);
	/* Cut in half: opens, then reads fail cleanly. */
	fd = make_image("short", "");
	ck_assert_int_eq(ftruncate(fd, 4 * 1024 * 1024), 0);
	if (dk_open(fd, 0, &d, err) == 0) {
		memset(&s, 0, sizeof(s));
		(void)dk_list(d, "", 1, collect, &s, &n, err);
		(void)dk_close(d, err);
	}
	close(fd);
	/* A directory entry naming an inode past the table (checksums off,
	 * so the entry is read as written). */
	fd = make_image("badino", "-O ^metadata_csum");
	close(fd);
	snprintf(img, sizeof(img), "%s/badino.ext4", tmp);
	sh("python3 - %s <<'EOF'\n"
	    "import re, subprocess, sys, struct\n"
	    "img = sys.argv[1]\n"
	    "out = subprocess.run(['debugfs', '-R', 'blocks /workspace', img],"
	    " capture_output=True, text=True).stdout.split()\n"
	    "blk = int(out[0])\n"
	    "bs = int(re.search(r'Block size:\\s+(\\d+)', subprocess.run("
	    "['dumpe2fs', '-h', img], capture_output=True, text=True)"
	    ".stdout).group(1))\n"
	    "f = open(img, 'r+b'); f.seek(blk * bs); b = bytearray(f.read(bs))\n"
	    "i = b.find(b'small.txt')\n"
	    "assert i > 8\n"
	    "b[i - 8:i - 4] = struct.pack('<I', 0x7fffffff)\n"
	    "f.seek(blk * bs); f.write(b); f.close()\n"
	    "EOF", img);
	fd = open(img, O_RDONLY);
	d = open_ok(fd, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "", 0, collect, &s, &n, err),
	    PYRO_E_DISK_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "outside the image"));
	{
		struct bytes b = { NULL, 0 };

		ck_assert_int_ne(dk_read(d, "small.txt", 0, gather, &b, &n,
		    err), 0);
		free(b.p);
	}
	(void)dk_close(d, err);
	close(fd);
}
END_TEST

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/pyro-disk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	(void)system(cmd);
}

int
main(void)
{
	Suite	*s = suite_create("disk");
	TCase	*t = tcase_create("ext4");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, plain_image);
	tcase_add_test(t, inline_data_image);
	tcase_add_test(t, export_and_scrub);
	tcase_add_test(t, damaged_images);
	suite_add_tcase(s, t);
	return run_suite(s);
}
