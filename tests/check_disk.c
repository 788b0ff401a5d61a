/*
 * pyro-diskhelper's ext4 code (diskhelper/ext4.c) on small images made
 * with mkfs.ext4 -d at test time: inline data, fast and slow symlinks,
 * sparse files, deep trees, a symlink loop, an absolute symlink, and
 * damaged images (superblock, truncation, an inode number out of range),
 * symlinks that lie about their size, and the images in fuzz/regress/disk.
 * Cross-checked against what was put in, and e2fsck -fn after writes.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
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
	/* libext2fs's codes come out in words (its com_err table is in). */
	ck_assert_ptr_nonnull(strstr(err, "super"));
	ck_assert_ptr_null(strstr(err, "Unknown code"));
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

/*
 * A small image of its own (8 MiB, tree from shell commands under ROOT),
 * then debugfs -w commands on it: what a hostile guest could have written.
 */
static int
make_crafted(const char *name, const char *mkfs, const char *tree,
    const char *cmds)
{
	char	root[128], img[128];
	int	fd;

	snprintf(root, sizeof(root), "%s/root-%s", tmp, name);
	snprintf(img, sizeof(img), "%s/%s.ext4", tmp, name);
	sh("mkdir -p %s/workspace && cd %s && %s", root, root, tree);
	sh("mkfs.ext4 -q -F %s -d %s %s 8M", mkfs, root, img);
	sh("debugfs -w -f - %s >/dev/null 2>&1 <<'EOF'\n%sEOF", img, cmds);
	fd = open(img, O_RDWR);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* rc is an error code whose message is in words, not a com_err number. */
static void
assert_corrupt(int rc, const char *err)
{
	ck_assert_msg(rc == PYRO_E_DISK_CORRUPT, "rc %d (%s)", rc, err);
	ck_assert_ptr_null(strstr(err, "Unknown code"));
}

/*
 * An inline-data symlink whose i_size (0) understates the 700 target
 * bytes it holds: libext2fs's namei sized its buffer by i_size and copied
 * the inline data in (a heap overflow).  Every way to it is an error.
 */
START_TEST(inline_symlink_lies)
{
	struct seen	 s;
	struct bytes	 b = { NULL, 0 };
	struct dk	*d;
	char		 err[DK_ERR_MAX], cmds[2048], t[701], img[128];
	uint64_t	 n;
	int		 fd;

	memset(t, 'x', 700);
	t[700] = '\0';
	snprintf(cmds, sizeof(cmds), "symlink /workspace/bad/zero %s\n"
	    "set_inode_field /workspace/bad/zero size 0\n"
	    "symlink /workspace/big %s\n"
	    "set_inode_field /workspace/big size 2000\n", t, t);
	fd = make_crafted("inlink", "-O inline_data -I 1024",
	    "mkdir workspace/bad && printf 'hello\\n' > workspace/small.txt",
	    cmds);
	/* The image is what the test means: 640 bytes in system.data. */
	snprintf(img, sizeof(img), "%s/inlink.ext4", tmp);
	sh("debugfs -R 'stat /workspace/bad/zero' %s 2>/dev/null | "
	    "grep -q 'system.data (640)'", img);
	d = open_ok(fd, 0);
	assert_corrupt(dk_read(d, "bad/zero", 0, gather, &b, &n, err), err);
	assert_corrupt(dk_read(d, "bad/zero/x", 0, gather, &b, &n, err), err);
	assert_corrupt(dk_read(d, "big", 0, gather, &b, &n, err), err);
	memset(&s, 0, sizeof(s));
	assert_corrupt(dk_list(d, "bad/zero", 0, collect, &s, &n, err), err);
	assert_corrupt(dk_list(d, "bad", 0, collect, &s, &n, err), err);
	assert_corrupt(dk_list(d, "/", 1, collect, &s, &n, err), err);
	/* The rest of the disk still reads. */
	ck_assert_int_eq(dk_read(d, "small.txt", 0, gather, &b, &n, err), 0);
	ck_assert_str_eq(b.p, "hello\n");
	free(b.p);
	(void)dk_close(d, err);
	close(fd);
}
END_TEST

/*
 * Sizes that do not fit the kind of symlink: a fast one (target in the
 * inode) claiming 200 bytes, block ones claiming more than their block.
 * Links chained 20 deep resolve; 41 deep, or onto themselves, do not.
 */
START_TEST(symlink_sizes_and_loops)
{
	struct seen	 s;
	struct bytes	 b = { NULL, 0 };
	struct dk	*d;
	char		 err[DK_ERR_MAX];
	uint64_t	 n;
	int		 fd;

	fd = make_crafted("links", "-b 1024",
	    "cd workspace && printf 'hello\\n' > small.txt && "
	    "ln -s small.txt fast && ln -s $(printf '%0200d' 0) slow && "
	    "ln -s $(printf '%0300d' 0) slow2 && ln -s self self && "
	    "ln -s small.txt c41 && for i in $(seq 40 -1 0); do "
	    "ln -s c$((i + 1)) c$i; done && ln -s c21 twenty",
	    "set_inode_field /workspace/fast size 200\n"
	    "set_inode_field /workspace/slow size 5000\n"
	    "set_inode_field /workspace/slow2 size 1500\n");
	d = open_ok(fd, 0);
	assert_corrupt(dk_read(d, "fast", 0, gather, &b, &n, err), err);
	assert_corrupt(dk_read(d, "slow", 0, gather, &b, &n, err), err);
	assert_corrupt(dk_read(d, "slow2/x", 0, gather, &b, &n, err), err);
	memset(&s, 0, sizeof(s));
	assert_corrupt(dk_list(d, "", 0, collect, &s, &n, err), err);
	ck_assert_int_eq(dk_read(d, "self", 0, gather, &b, &n, err),
	    PYRO_E_INVALID_PATH);
	ck_assert_int_eq(dk_read(d, "c0", 0, gather, &b, &n, err),
	    PYRO_E_INVALID_PATH);
	ck_assert_int_eq(dk_read(d, "twenty", 0, gather, &b, &n, err), 0);
	ck_assert_str_eq(b.p, "hello\n");
	free(b.p);
	(void)dk_close(d, err);
	close(fd);
}
END_TEST

/*
 * The scrub follows no symlink: /var/run -> /run and /root -> a home in
 * /workspace stay as they are, and so does user data behind /var when
 * /var itself is a link (the old lookup followed it).
 */
START_TEST(scrub_leaves_symlinks)
{
	struct seen	 s;
	struct dk	*d;
	char		 err[DK_ERR_MAX], img[128];
	uint64_t	 n;
	int		 fd;

	fd = make_crafted("scrublinks", "",
	    "mkdir -p run var workspace/home workspace/v/lock && "
	    "echo x > run/stale && ln -s /run var/run && "
	    "ln -s /workspace/home root && echo keep > "
	    "workspace/home/.bash_history && echo keep > workspace/v/lock/f",
	    "");
	d = open_ok(fd, 1);
	ck_assert_int_eq(dk_scrub(d, &n, err), 0);
	ck_assert_uint_eq(n, 1);	/* /run/stale, nothing else */
	ck_assert_int_eq(dk_close(d, err), 0);
	snprintf(img, sizeof(img), "%s/scrublinks.ext4", tmp);
	sh("e2fsck -fn %s >/dev/null 2>&1", img);
	d = open_ok(fd, 0);
	memset(&s, 0, sizeof(s));
	s.want = "run";
	ck_assert_int_eq(dk_list(d, "/var", 0, collect, &s, &n, err), 0);
	ck_assert_str_eq(s.target, "/run");
	ck_assert_int_eq(dk_list(d, "home/.bash_history", 0, collect, &s, &n,
	    err), 0);
	(void)dk_close(d, err);
	close(fd);

	fd = make_crafted("scrubvar", "",
	    "mkdir -p workspace/v/lock && echo keep > workspace/v/lock/f && "
	    "ln -s /workspace/v var", "");
	d = open_ok(fd, 1);
	ck_assert_int_eq(dk_scrub(d, &n, err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(dk_close(d, err), 0);
	d = open_ok(fd, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dk_list(d, "v/lock/f", 0, collect, &s, &n, err), 0);
	(void)dk_close(d, err);
	close(fd);
}
END_TEST

/*
 * Every image in fuzz/regress/disk (crashes the fuzzer found, kept) goes
 * through what fuzz/fuzz_disk.c does with it, and must come out alive.
 * The directory comes from automake's $srcdir; run by hand, from "..".
 */
START_TEST(fuzz_regressions)
{
	static const char *const paths[] = { "", "evil", "link2", "fast-link",
	    "slow-link", "/etc/hostname", NULL };
	struct seen	 s;
	struct bytes	 b = { NULL, 0 };
	struct dk	*d;
	struct dirent	*de;
	DIR		*dir;
	char		 err[DK_ERR_MAX], src[512], copy[128];
	const char	*top = getenv("srcdir");
	uint64_t	 n;
	int		 fd, i, seen = 0;

	snprintf(src, sizeof(src), "%s/fuzz/regress/disk", top ? top : "..");
	ck_assert_ptr_nonnull(dir = opendir(src));
	snprintf(copy, sizeof(copy), "%s/regress.img", tmp);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		sh("cp %s/%s %s", src, de->d_name, copy);
		ck_assert_int_ge(fd = open(copy, O_RDWR), 0);
		if (dk_open(fd, 0, &d, err) == 0) {
			memset(&s, 0, sizeof(s));
			(void)dk_list(d, "/", 1, collect, &s, &n, err);
			for (i = 0; paths[i] != NULL; i++) {
				(void)dk_list(d, paths[i], 0, collect, &s, &n,
				    err);
				(void)dk_read(d, paths[i], 65536, gather, &b,
				    &n, err);
			}
			(void)dk_close(d, err);
		}
		if (dk_open(fd, 1, &d, err) == 0) {
			(void)dk_scrub(d, &n, err);
			(void)dk_close(d, err);
		}
		close(fd);
		seen++;
	}
	closedir(dir);
	free(b.p);
	ck_assert_int_gt(seen, 0);
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
	tcase_add_test(t, inline_symlink_lies);
	tcase_add_test(t, symlink_sizes_and_loops);
	tcase_add_test(t, scrub_leaves_symlinks);
	tcase_add_test(t, fuzz_regressions);
	suite_add_tcase(s, t);
	return run_suite(s);
}
