/*
 * ext4 images through libext2fs, for pyro-diskhelper.  The only file that
 * includes ext2fs.h.
 *
 * Trust: the image was written by a guest, the least trusted party.  It is
 * read through a small io_manager over the fd pyrod passed (the process
 * can open no path), every walk is bounded (depth, entries, link hops,
 * sizes), and every libext2fs error becomes a clear "disk_corrupt" or
 * "not_found" answer.  A malformed image may still crash this process;
 * that only fails the one request (pyrod reports it), which is why each
 * request gets its own diskhelper.
 */
#include "config.h"

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "ext4.h"

#define COPY_CHUNK	(1024 * 1024)
#define SCRUB_MAX	100000

struct dk {
	ext2_filsys	fs;
	int		rw;
};

/* ---- an io_manager over one fd ---- */

static int	fdio_fd = -1;	/* the image, set by dk_open() */

struct fdio {
	int	fd;
	int	rw;
};

static struct struct_io_manager fdio_manager;

static errcode_t
fdio_open(const char *name, int flags, io_channel *out)
{
	io_channel	 ch;
	struct fdio	*f;

	(void)name;	/* no path is ever opened: the fd is the image */
	if (fdio_fd < 0)
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = calloc(1, sizeof(*ch));
	f = calloc(1, sizeof(*f));
	if (ch == NULL || f == NULL || (ch->name = strdup("image")) == NULL) {
		free(f);
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	f->fd = fdio_fd;
	f->rw = (flags & IO_FLAG_RW) != 0;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &fdio_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = f;
	*out = ch;
	return 0;
}

static errcode_t
fdio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->private_data);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t
fdio_set_blksize(io_channel ch, int size)
{
	if (size <= 0 || size > 65536)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = size;
	return 0;
}

static errcode_t
fdio_rw(io_channel ch, unsigned long long block, int count, void *buf,
    int write)
{
	struct fdio	*f = ch->private_data;
	size_t		 len = count < 0 ? (size_t)-count :
			    (size_t)count * (size_t)ch->block_size;
	off_t		 off = (off_t)(block * (unsigned long long)ch->block_size);
	size_t		 done = 0;
	ssize_t		 n;

	if (write && !f->rw)
		return EXT2_ET_RO_FILSYS;
	while (done < len) {
		n = write ? pwrite(f->fd, (char *)buf + done, len - done,
		    off + (off_t)done) : pread(f->fd, (char *)buf + done,
		    len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A short image: what lies past its end reads as 0. */
			if (!write && n == 0) {
				memset((char *)buf + done, 0, len - done);
				return EXT2_ET_SHORT_READ;
			}
			return write ? EXT2_ET_SHORT_WRITE : EXT2_ET_SHORT_READ;
		}
		done += (size_t)n;
	}
	return 0;
}

static errcode_t
fdio_read_blk64(io_channel ch, unsigned long long block, int count,
    void *buf)
{
	return fdio_rw(ch, block, count, buf, 0);
}

static errcode_t
fdio_write_blk64(io_channel ch, unsigned long long block, int count,
    const void *buf)
{
	return fdio_rw(ch, block, count, (void *)buf, 1);
}

static errcode_t
fdio_read_blk(io_channel ch, unsigned long block, int count, void *buf)
{
	return fdio_rw(ch, block, count, buf, 0);
}

static errcode_t
fdio_write_blk(io_channel ch, unsigned long block, int count,
    const void *buf)
{
	return fdio_rw(ch, block, count, (void *)buf, 1);
}

static errcode_t
fdio_write_byte(io_channel ch, unsigned long offset, int size,
    const void *buf)
{
	struct fdio	*f = ch->private_data;

	if (!f->rw)
		return EXT2_ET_RO_FILSYS;
	if (size < 0 || pwrite(f->fd, buf, (size_t)size, (off_t)offset) !=
	    size)
		return EXT2_ET_SHORT_WRITE;
	return 0;
}

static errcode_t
fdio_flush(io_channel ch)
{
	struct fdio	*f = ch->private_data;

	return (f->rw && fsync(f->fd) < 0) ? (errcode_t)errno : 0;
}

static errcode_t
fdio_set_option(io_channel ch, const char *opt, const char *arg)
{
	(void)ch;
	(void)opt;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager fdio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "pyro fd I/O manager",
	.open = fdio_open,
	.close = fdio_close,
	.set_blksize = fdio_set_blksize,
	.read_blk = fdio_read_blk,
	.write_blk = fdio_write_blk,
	.flush = fdio_flush,
	.write_byte = fdio_write_byte,
	.set_option = fdio_set_option,
	.read_blk64 = fdio_read_blk64,
	.write_blk64 = fdio_write_blk64,
};

/* ---- errors ---- */

static int
fail(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, DK_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

static int
corrupt(char *err, const char *what, errcode_t e)
{
	return fail(err, PYRO_E_DISK_CORRUPT, "the disk image is damaged "
	    "(%s: %s); e2fsck can tell more", what, error_message(e));
}

/* ---- open and close ---- */

int
dk_open(int fd, int rw, struct dk **out, char *err)
{
	struct dk	*d;
	errcode_t	 e;
	int		 flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP |
			    (rw ? EXT2_FLAG_RW : 0);

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return fail(err, PYRO_E_INTERNAL, "out of memory");
	fdio_fd = fd;
	d->rw = rw;
	e = ext2fs_open2("image", NULL, flags, 0, 0, &fdio_manager, &d->fs);
	if (e != 0) {
		free(d);
		return corrupt(err, "superblock", e);
	}
	/* Bounds the rest of the work trusts. */
	if (d->fs->blocksize < 1024 || d->fs->blocksize > 65536 ||
	    d->fs->super->s_inodes_count == 0) {
		ext2fs_close_free(&d->fs);
		free(d);
		return fail(err, PYRO_E_DISK_CORRUPT, "the disk image has an "
		    "impossible block size or inode count");
	}
	*out = d;
	return 0;
}

int
dk_close(struct dk *d, char *err)
{
	errcode_t	e;

	if (d == NULL)
		return 0;
	e = ext2fs_close2(d->fs, 0);
	if (e != 0)
		ext2fs_free(d->fs);
	free(d);
	fdio_fd = -1;
	return e != 0 ? corrupt(err, "writing it back", e) : 0;
}

int
dk_needs_recovery(const struct dk *d)
{
	return ext2fs_has_feature_journal_needs_recovery(d->fs->super);
}

/* ---- paths and inodes ---- */

/*
 * path: relative to /workspace, absolute from the image's root.  ".." at
 * the root stays there (the root's ".." is itself); symlinks resolve from
 * the image's root, never the host's.  libext2fs bounds link nesting.
 */
static int
resolve(struct dk *d, const char *path, ext2_ino_t *ino, char *err)
{
	ext2_ino_t	cwd = EXT2_ROOT_INO;
	errcode_t	e;

	if (path[0] == '\0')
		path = ".";
	if (strlen(path) > 4095)
		return fail(err, PYRO_E_INVALID_PATH, "the path is longer than "
		    "4095 bytes");
	if (path[0] != '/') {
		e = ext2fs_namei_follow(d->fs, EXT2_ROOT_INO, EXT2_ROOT_INO,
		    "workspace", &cwd);
		if (e != 0)
			return fail(err, PYRO_E_NOT_FOUND, "the disk has no "
			    "/workspace");
	}
	e = ext2fs_namei_follow(d->fs, EXT2_ROOT_INO, cwd, path, ino);
	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return fail(err, PYRO_E_NOT_FOUND, "no %.200s%s on the disk",
		    path, path[0] == '/' ? "" : " under /workspace");
	if (e == EXT2_ET_SYMLINK_LOOP)
		return fail(err, PYRO_E_INVALID_PATH, "%.200s: too many "
		    "levels of symbolic links", path);
	if (e != 0)
		return corrupt(err, "resolving the path", e);
	if (*ino < EXT2_ROOT_INO || *ino > d->fs->super->s_inodes_count)
		return fail(err, PYRO_E_DISK_CORRUPT, "%.200s names inode %u, "
		    "outside the image's %u", path, *ino,
		    d->fs->super->s_inodes_count);
	return 0;
}

static int
read_inode(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *err)
{
	errcode_t	e;

	memset(in, 0, sizeof(*in));
	if (ino < 1 || ino > d->fs->super->s_inodes_count)
		return fail(err, PYRO_E_DISK_CORRUPT, "a directory entry "
		    "names inode %u, outside the image's %u inodes", ino,
		    d->fs->super->s_inodes_count);
	e = ext2fs_read_inode_full(d->fs, ino, (struct ext2_inode *)in,
	    sizeof(*in));
	return e != 0 ? corrupt(err, "reading an inode", e) : 0;
}

/* A symlink's target, NUL-terminated, at most DK_TARGET_MAX bytes. */
static int
read_link(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *buf, char *err)
{
	struct ext2_inode	*i = (struct ext2_inode *)in;
	ext2_file_t		 f;
	uint64_t		 size = EXT2_I_SIZE(i);
	unsigned		 got = 0;
	errcode_t		 e;

	if (size > DK_TARGET_MAX)
		return fail(err, PYRO_E_DISK_CORRUPT, "a symlink's target is "
		    "%llu bytes long", (unsigned long long)size);
	if (ext2fs_is_fast_symlink(i)) {
		memcpy(buf, (char *)i->i_block, size < sizeof(i->i_block) ?
		    size : sizeof(i->i_block));
		buf[size < sizeof(i->i_block) ? size : sizeof(i->i_block)] =
		    '\0';
		return 0;
	}
	if ((e = ext2fs_file_open2(d->fs, ino, i, 0, &f)) != 0)
		return corrupt(err, "opening a symlink", e);
	e = ext2fs_file_read(f, buf, (unsigned)size, &got);
	ext2fs_file_close(f);
	if (e != 0)
		return corrupt(err, "reading a symlink", e);
	buf[got] = '\0';
	return 0;
}

/* ---- list ---- */

struct walk {
	struct dk	*d;
	dk_entry_fn	 fn;
	void		*arg;
	int		 recursive;
	int		 depth;
	uint64_t	 count;
	int		 rc;
	char		*err;
	char		 path[8192];
	size_t		 plen;
	/* Subdirectories of this level, walked after it (no recursion
	 * inside the libext2fs callback). */
	ext2_ino_t	*subs;
	char		**subnames;
	size_t		 nsubs, capsubs;
	uint32_t	 last_mode;	/* of the entry emit() saw last */
};

static int
emit(struct walk *w, ext2_ino_t ino, const char *relpath)
{
	struct ext2_inode_large	 in;
	struct ext2_inode	*i = (struct ext2_inode *)&in;
	struct dk_entry		 de;
	char			 target[DK_TARGET_MAX + 1] = "";
	int			 rc;

	if ((rc = read_inode(w->d, ino, &in, w->err)) != 0)
		return rc;
	if (LINUX_S_ISLNK(i->i_mode) &&
	    (rc = read_link(w->d, ino, &in, target, w->err)) != 0)
		return rc;
	memset(&de, 0, sizeof(de));
	de.ino = ino;
	de.mode = i->i_mode;
	de.uid = inode_uid(*i);
	de.gid = inode_gid(*i);
	de.nlink = i->i_links_count;
	de.size = EXT2_I_SIZE(i);
	de.mtime = (int64_t)i->i_mtime;
	de.path = relpath;
	de.target = target;
	w->last_mode = i->i_mode;
	if (++w->count > DK_ENTRIES_MAX)
		return fail(w->err, PYRO_E_LIMIT_EXCEEDED, "more than %d "
		    "entries", DK_ENTRIES_MAX);
	return w->fn(&de, w->arg);
}

static int
list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int off,
    int blocksize, char *buf, void *priv)
{
	struct walk	*w = priv;
	int		 len = ext2fs_dirent_name_len(dirent);
	char		 name[DK_NAME_MAX + 1];
	size_t		 k;

	(void)dir;
	(void)entry;
	(void)off;
	(void)blocksize;
	(void)buf;
	if (len <= 0 || len > DK_NAME_MAX)
		return 0;
	memcpy(name, dirent->name, (size_t)len);
	name[len] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (memchr(name, '/', (size_t)len) != NULL ||
	    memchr(name, '\0', (size_t)len) != NULL) {
		w->rc = fail(w->err, PYRO_E_DISK_CORRUPT, "a directory entry "
		    "has a name with '/' or NUL");
		return DIRENT_ABORT;
	}
	k = w->plen;
	if (k + (size_t)len + 2 > sizeof(w->path)) {
		w->rc = fail(w->err, PYRO_E_LIMIT_EXCEEDED, "a path in the "
		    "image is too long");
		return DIRENT_ABORT;
	}
	if (k > 0)
		w->path[k++] = '/';
	memcpy(w->path + k, name, (size_t)len + 1);
	w->rc = emit(w, dirent->inode, w->path);
	if (w->rc == 0 && w->recursive && LINUX_S_ISDIR(w->last_mode)) {
		/* Walked after this directory: remember it. */
		if (w->nsubs == w->capsubs) {
			size_t cap = w->capsubs ? 2 * w->capsubs : 64;
			ext2_ino_t *s = realloc(w->subs, cap * sizeof(*s));
			char **n = s ? realloc(w->subnames, cap *
			    sizeof(*n)) : NULL;

			if (s != NULL)
				w->subs = s;
			if (n == NULL) {
				w->rc = fail(w->err, PYRO_E_INTERNAL,
				    "out of memory");
				w->path[w->plen] = '\0';
				return DIRENT_ABORT;
			}
			w->subnames = n;
			w->capsubs = cap;
		}
		w->subs[w->nsubs] = dirent->inode;
		w->subnames[w->nsubs++] = strdup(w->path);
	}
	w->path[w->plen] = '\0';
	return w->rc != 0 ? DIRENT_ABORT : 0;
}

static int
walk_dir(struct walk *w, ext2_ino_t dir)
{
	ext2_ino_t	*subs;
	char		**names;
	size_t		 nsubs, i;
	errcode_t	 e;
	int		 rc = 0;

	if (w->depth > DK_DEPTH_MAX)
		return fail(w->err, PYRO_E_LIMIT_EXCEEDED, "directories nest "
		    "deeper than %d", DK_DEPTH_MAX);
	w->subs = NULL;
	w->subnames = NULL;
	w->nsubs = w->capsubs = 0;
	e = ext2fs_dir_iterate2(w->d->fs, dir, 0, NULL, list_cb, w);
	subs = w->subs;
	names = w->subnames;
	nsubs = w->nsubs;
	if (w->rc != 0)
		rc = w->rc;
	else if (e != 0)
		rc = corrupt(w->err, "reading a directory", e);
	for (i = 0; i < nsubs; i++) {
		if (rc == 0 && names[i] != NULL) {
			size_t keep = w->plen;

			snprintf(w->path, sizeof(w->path), "%s", names[i]);
			w->plen = strlen(w->path);
			w->depth++;
			rc = walk_dir(w, subs[i]);
			w->depth--;
			w->plen = keep;
			w->path[keep] = '\0';
		}
		free(names[i]);
	}
	free(subs);
	free(names);
	return rc;
}

int
dk_list(struct dk *d, const char *path, int recursive, dk_entry_fn fn,
    void *arg, uint64_t *count, char *err)
{
	struct ext2_inode_large	 in;
	struct walk		*w;
	ext2_ino_t		 ino;
	int			 rc;

	*count = 0;
	if ((rc = resolve(d, path, &ino, err)) != 0 ||
	    (rc = read_inode(d, ino, &in, err)) != 0)
		return rc;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return fail(err, PYRO_E_INTERNAL, "out of memory");
	w->d = d;
	w->fn = fn;
	w->arg = arg;
	w->recursive = recursive;
	w->err = err;
	if (!LINUX_S_ISDIR(in.i_mode)) {
		/* One entry: the thing itself, under its own name. */
		const char *base = strrchr(path, '/');

		rc = emit(w, ino, base ? base + 1 : path);
	} else
		rc = walk_dir(w, ino);
	*count = w->count;
	free(w);
	return rc;
}

/* ---- read ---- */

int
dk_read(struct dk *d, const char *path, uint64_t max, dk_data_fn fn,
    void *arg, uint64_t *total, char *err)
{
	struct ext2_inode_large	 in;
	ext2_file_t		 f;
	ext2_ino_t		 ino;
	static char		 buf[65536 - 64];
	unsigned		 got, want;
	errcode_t		 e;
	int			 rc;

	*total = 0;
	if ((rc = resolve(d, path, &ino, err)) != 0 ||
	    (rc = read_inode(d, ino, &in, err)) != 0)
		return rc;
	if (LINUX_S_ISDIR(in.i_mode))
		return fail(err, PYRO_E_INVALID_ARGUMENT, "%.200s is a "
		    "directory; use disk list", path);
	if (!LINUX_S_ISREG(in.i_mode))
		return fail(err, PYRO_E_INVALID_ARGUMENT, "%.200s is not a "
		    "regular file (a device node, FIFO or socket)", path);
	if ((e = ext2fs_file_open2(d->fs, ino, (struct ext2_inode *)&in, 0,
	    &f)) != 0)
		return corrupt(err, "opening the file", e);
	for (;;) {
		want = sizeof(buf);
		if (max > 0 && max - *total < want)
			want = (unsigned)(max - *total);
		if (want == 0)
			break;
		if ((e = ext2fs_file_read(f, buf, want, &got)) != 0) {
			ext2fs_file_close(f);
			return corrupt(err, "reading the file", e);
		}
		if (got == 0)
			break;
		if ((rc = fn(buf, got, arg)) != 0) {
			ext2fs_file_close(f);
			return rc;
		}
		*total += got;
	}
	ext2fs_file_close(f);
	return 0;
}

/* ---- export ---- */

static int
copy_run(int in, int out, off_t off, off_t len, char *buf)
{
	ssize_t	n;
	off_t	done = 0;

	while (done < len) {
		size_t k = (size_t)(len - done > COPY_CHUNK ? COPY_CHUNK :
		    len - done);

		n = pread(in, buf, k, off + done);
		if (n <= 0)
			return -1;
		if (pwrite(out, buf, (size_t)n, off + done) != n)
			return -1;
		done += n;
	}
	return 0;
}

int
dk_export(struct dk *d, int in_fd, int out_fd, uint64_t *bytes, char *err)
{
	ext2_filsys	fs = d->fs;
	blk64_t		blk, start, end = ext2fs_blocks_count(fs->super);
	off_t		bs = fs->blocksize;
	char		*buf;
	errcode_t	e;
	int		rc = 0;

	*bytes = 0;
	if ((e = ext2fs_read_block_bitmap(fs)) != 0)
		return corrupt(err, "reading the block bitmap", e);
	if ((buf = malloc(COPY_CHUNK)) == NULL)
		return fail(err, PYRO_E_INTERNAL, "out of memory");
	/* The whole size first: what is not written stays a hole. */
	if (ftruncate(out_fd, (off_t)end * bs) < 0) {
		free(buf);
		return fail(err, PYRO_E_IO, "cannot size the output: %s",
		    strerror(errno));
	}
	/* Block 0 holds the boot block and, with 1 KiB blocks, is outside
	 * the bitmap: always copied. */
	if (copy_run(in_fd, out_fd, 0, fs->super->s_first_data_block ?
	    2048 : bs, buf) < 0)
		rc = -1;
	for (blk = fs->super->s_first_data_block; rc == 0 && blk < end;) {
		if (!ext2fs_test_block_bitmap2(fs->block_map, blk)) {
			blk++;
			continue;
		}
		for (start = blk; blk < end &&
		    ext2fs_test_block_bitmap2(fs->block_map, blk) &&
		    blk - start < COPY_CHUNK / (blk64_t)bs; blk++)
			;
		if (copy_run(in_fd, out_fd, (off_t)start * bs,
		    (off_t)(blk - start) * bs, buf) < 0)
			rc = -1;
		*bytes += (uint64_t)(blk - start) * (uint64_t)bs;
	}
	free(buf);
	if (rc < 0)
		return fail(err, PYRO_E_IO, "copying the image: %s",
		    strerror(errno ? errno : EIO));
	if (fsync(out_fd) < 0)
		return fail(err, PYRO_E_IO, "flushing the output: %s",
		    strerror(errno));
	return 0;
}

/* ---- scrub ---- */

struct names {
	char	**v;
	size_t	  n, cap;
	int	  oom;
};

static int
names_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int off,
    int blocksize, char *buf, void *priv)
{
	struct names	*ns = priv;
	int		 len = ext2fs_dirent_name_len(dirent);
	char		**v;

	(void)dir;
	(void)entry;
	(void)off;
	(void)blocksize;
	(void)buf;
	if (len <= 0 || (len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 32;
		if ((v = realloc(ns->v, ns->cap * sizeof(*v))) == NULL) {
			ns->oom = 1;
			return DIRENT_ABORT;
		}
		ns->v = v;
	}
	if ((ns->v[ns->n] = strndup(dirent->name, (size_t)len)) == NULL) {
		ns->oom = 1;
		return DIRENT_ABORT;
	}
	ns->n++;
	return 0;
}

static void
names_free(struct names *ns)
{
	size_t	i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* Free an inode and its blocks (as debugfs's kill_file does). */
static int
release(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *err)
{
	struct ext2_inode	*i = (struct ext2_inode *)in;
	blk64_t			 acl;
	__u32			 refs;
	errcode_t		 e;

	i->i_links_count = 0;
	i->i_dtime = (__u32)time(NULL);
	if (ext2fs_inode_has_valid_blocks2(d->fs, i) &&
	    (e = ext2fs_punch(d->fs, ino, i, NULL, 0, ~0ULL)) != 0)
		return corrupt(err, "freeing blocks", e);
	if ((acl = ext2fs_file_acl_block(d->fs, i)) != 0) {
		e = ext2fs_adjust_ea_refcount3(d->fs, acl, NULL, -1, &refs,
		    ino);
		if (e == 0 && refs == 0)
			ext2fs_block_alloc_stats2(d->fs, acl, -1);
		ext2fs_file_acl_block_set(d->fs, i, 0);
	}
	if ((e = ext2fs_write_inode_full(d->fs, ino, i, sizeof(*in))) != 0)
		return corrupt(err, "writing an inode", e);
	ext2fs_inode_alloc_stats2(d->fs, ino, -1, LINUX_S_ISDIR(i->i_mode));
	return 0;
}

/* Remove parent/name and, for a directory, all below it. */
static int
rm_entry(struct dk *d, ext2_ino_t parent, const char *name, int depth,
    uint64_t *removed, char *err)
{
	struct ext2_inode_large	 in, pin;
	struct names		 ns = { NULL, 0, 0, 0 };
	ext2_ino_t		 ino;
	errcode_t		 e;
	size_t			 k;
	int			 rc, isdir;

	if (depth > DK_DEPTH_MAX || *removed >= SCRUB_MAX)
		return fail(err, PYRO_E_LIMIT_EXCEEDED, "too much to scrub");
	e = ext2fs_lookup(d->fs, parent, name, (int)strlen(name), NULL, &ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return 0;
	if (e != 0)
		return corrupt(err, "looking up a runtime file", e);
	if ((rc = read_inode(d, ino, &in, err)) != 0)
		return rc;
	isdir = LINUX_S_ISDIR(in.i_mode);
	if (isdir) {
		e = ext2fs_dir_iterate2(d->fs, ino, 0, NULL, names_cb, &ns);
		if (e != 0 || ns.oom) {
			names_free(&ns);
			return e ? corrupt(err, "reading a runtime directory",
			    e) : fail(err, PYRO_E_INTERNAL, "out of memory");
		}
		for (k = 0; k < ns.n; k++)
			if ((rc = rm_entry(d, ino, ns.v[k], depth + 1, removed,
			    err)) != 0)
				break;
		names_free(&ns);
		if (rc != 0)
			return rc;
		if ((rc = read_inode(d, ino, &in, err)) != 0)
			return rc;
	}
	if ((e = ext2fs_unlink(d->fs, parent, name, ino, 0)) != 0)
		return corrupt(err, "unlinking a runtime file", e);
	if (isdir) {
		/* Its ".." no longer counts as a link of the parent. */
		if ((rc = read_inode(d, parent, &pin, err)) != 0)
			return rc;
		if (pin.i_links_count > 1)
			pin.i_links_count--;
		if ((e = ext2fs_write_inode_full(d->fs, parent,
		    (struct ext2_inode *)&pin, sizeof(pin))) != 0)
			return corrupt(err, "writing a directory", e);
	}
	(*removed)++;
	if (!isdir && in.i_links_count > 1) {
		in.i_links_count--;
		e = ext2fs_write_inode_full(d->fs, ino,
		    (struct ext2_inode *)&in, sizeof(in));
		return e ? corrupt(err, "writing an inode", e) : 0;
	}
	return release(d, ino, &in, err);
}

/* Remove every entry of the directory at path (kept itself). */
static int
empty_dir(struct dk *d, const char *path, int pred(const char *),
    uint64_t *removed, char *err)
{
	struct ext2_inode_large	 in;
	struct names		 ns = { NULL, 0, 0, 0 };
	ext2_ino_t		 ino;
	errcode_t		 e;
	size_t			 k;
	int			 rc = 0;

	/* No following: a symlink here (e.g. /var/run) is left alone. */
	e = ext2fs_namei(d->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
	if (e != 0)
		return 0;
	if ((rc = read_inode(d, ino, &in, err)) != 0 ||
	    !LINUX_S_ISDIR(in.i_mode))
		return rc;
	e = ext2fs_dir_iterate2(d->fs, ino, 0, NULL, names_cb, &ns);
	if (e != 0 || ns.oom) {
		names_free(&ns);
		return e ? corrupt(err, "reading a runtime directory", e) :
		    fail(err, PYRO_E_INTERNAL, "out of memory");
	}
	for (k = 0; k < ns.n && rc == 0; k++)
		if (pred == NULL || pred(ns.v[k]))
			rc = rm_entry(d, ino, ns.v[k], 0, removed, err);
	names_free(&ns);
	return rc;
}

static int
pyro_scratch(const char *name)
{
	return strncmp(name, "pyro-", 5) == 0;
}

static int
shell_history(const char *name)
{
	return strcmp(name, ".bash_history") == 0;
}

/*
 * What never belongs on a stopped disk: the contents of the runtime
 * directories (/run with /run/pyro and /run/pyro-secrets, /tmp, /var/lock:
 * tmpfs in the guest, so anything here got under the mounts), pyro's
 * scratch directories in /var/tmp, and root's shell history (pyro shells
 * run as root).
 */
int
dk_scrub(struct dk *d, uint64_t *removed, char *err)
{
	static const char *dirs[] = { "/run", "/tmp", "/var/lock",
	    "/var/run", NULL };
	errcode_t	e;
	int		i, rc = 0;

	*removed = 0;
	if (!d->rw)
		return fail(err, PYRO_E_INTERNAL, "the image is read-only");
	if (dk_needs_recovery(d))
		return fail(err, PYRO_E_DISK_CORRUPT, "the journal needs "
		    "recovery");
	if ((e = ext2fs_read_bitmaps(d->fs)) != 0)
		return corrupt(err, "reading the bitmaps", e);
	for (i = 0; dirs[i] != NULL && rc == 0; i++)
		rc = empty_dir(d, dirs[i], NULL, removed, err);
	if (rc == 0)
		rc = empty_dir(d, "/var/tmp", pyro_scratch, removed, err);
	if (rc == 0)
		rc = empty_dir(d, "/root", shell_history, removed, err);
	if (rc == 0 && *removed > 0) {
		ext2fs_mark_super_dirty(d->fs);
		ext2fs_mark_bb_dirty(d->fs);
		ext2fs_mark_ib_dirty(d->fs);
	}
	return rc;
}
