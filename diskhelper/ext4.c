/*
 * ext4 images through libext2fs, for pyro-diskhelper.  The only file that
 * includes ext2fs.h.
 *
 * Trust: the image was written by a guest, the least trusted party.  It is
 * read through a small io_manager over the fd pyrod passed (the process
 * can open no path), every walk is bounded (depth, entries, link hops,
 * sizes), and every libext2fs error becomes a clear "disk_corrupt" or
 * "not_found" answer.  libext2fs is not a parser of hostile images: paths
 * are walked and symlinks read here (walk(), read_link()), and every inode
 * is checked (inode_check()) before a libext2fs call trusts its sizes.
 * A malformed image may still crash this process;
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
#include "ext4int.h"

#define COPY_CHUNK	(1024 * 1024)

/* ---- errors ---- */

int
dk_fail(char *err, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, DK_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

int
dk_corrupt(char *err, const char *what, errcode_t e)
{
	return dk_fail(err, PYRO_E_DISK_CORRUPT, "the disk image is damaged "
	    "(%s: %s); e2fsck can tell more", what, error_message(e));
}

/* ---- open and close ---- */

void
dk_init(void)
{
	static int	done;

	/* error_message() knows only the tables it was given: without
	 * libext2fs's, its codes read "Unknown code ext2 146". */
	if (!done)
		initialize_ext2_error_table();
	done = 1;
}

int
dk_open(int fd, int rw, struct dk **out, char *err)
{
	struct dk	*d;
	errcode_t	 e;
	int		 flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP |
			    (rw ? EXT2_FLAG_RW : 0);

	*out = NULL;
	dk_init();
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
	d->rw = rw;
	e = ext2fs_open2("image", NULL, flags, 0, 0, dk_fdio(fd), &d->fs);
	if (e != 0) {
		free(d);
		return dk_corrupt(err, "superblock", e);
	}
	/* Bounds the rest of the work trusts. */
	if (d->fs->blocksize < 1024 || d->fs->blocksize > 65536 ||
	    d->fs->super->s_inodes_count == 0) {
		ext2fs_close_free(&d->fs);
		free(d);
		return dk_fail(err, PYRO_E_DISK_CORRUPT, "the disk image has an "
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
	(void)dk_fdio(-1);
	return e != 0 ? dk_corrupt(err, "writing it back", e) : 0;
}

int
dk_needs_recovery(const struct dk *d)
{
	return ext2fs_has_feature_journal_needs_recovery(d->fs->super);
}

/* ---- inodes ---- */

static int
bad_inode(char *err, ext2_ino_t ino, const char *what)
{
	return dk_fail(err, PYRO_E_DISK_CORRUPT, "the disk image is damaged "
	    "(inode %u %s); e2fsck can tell more", ino, what);
}

/*
 * What libext2fs would take on trust in an inode the guest wrote, checked
 * before any call that uses it: dk_read_inode() runs this on every inode it
 * loads.  Checked here: the size, a symlink's size against its kind, and
 * the size of inline data.  0 or PYRO_E_DISK_CORRUPT.
 */
static int
inode_check(struct dk *d, ext2_ino_t ino, const struct ext2_inode_large *in,
    char *err)
{
	const struct ext2_inode	*i = (const struct ext2_inode *)in;
	uint64_t		 size = EXT2_I_SIZE(i);
	uint64_t		 bs = d->fs->blocksize;
	size_t			 isz;
	errcode_t		 e;
	int			 inl = (i->i_flags & EXT4_INLINE_DATA_FL) != 0;

	/* A file maps at most 2^32 blocks: a larger size is a lie that no
	 * offset arithmetic downstream should have to survive. */
	if (size > (bs << 32))
		return bad_inode(err, ino, "is larger than any ext4 file");
	if (LINUX_S_ISLNK(i->i_mode)) {
		/* symlink(2) refuses an empty target, and no target is
		 * longer than PATH_MAX - 1: the buffers are sized so. */
		if (size == 0 || size > DK_TARGET_MAX)
			return bad_inode(err, ino, "is a symlink of a size no "
			    "symlink has");
		/* Neither inline nor fast (in i_block): one block holds
		 * the target, so it cannot be longer than a block. */
		if (!inl && size >= sizeof(i->i_block) && size > bs)
			return bad_inode(err, ino, "is a symlink longer than "
			    "its block");
	}
	if (!inl)
		return 0;
	/* i_block holds inline data or an extent tree, never both; and
	 * without the feature, the flag is noise libext2fs would act on. */
	if (!ext2fs_has_feature_inline_data(d->fs->super) ||
	    (i->i_flags & EXT4_EXTENTS_FL))
		return bad_inode(err, ino, "has inline data it cannot have");
	if ((e = ext2fs_inline_data_size(d->fs, ino, &isz)) != 0)
		return dk_corrupt(err, "reading inline data", e);
	/* The kernel keeps inline data inside the inode, which is never
	 * larger than a block; libext2fs's file reader copies it into a
	 * buffer sized from the block size. */
	if (isz > bs)
		return bad_inode(err, ino, "has more inline data than fits a "
		    "block");
	/* i_size is how many of the inline bytes are the file: more than
	 * the inode holds would be read past them. */
	if (size > isz)
		return bad_inode(err, ino, "is larger than its inline data");
	return 0;
}

/* Load inode ino, checked (inode_check()): 0 or a code. */
int
dk_read_inode(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *err)
{
	errcode_t	e;

	memset(in, 0, sizeof(*in));
	if (ino < 1 || ino > d->fs->super->s_inodes_count)
		return dk_fail(err, PYRO_E_DISK_CORRUPT, "a directory entry "
		    "names inode %u, outside the image's %u inodes", ino,
		    d->fs->super->s_inodes_count);
	e = ext2fs_read_inode_full(d->fs, ino, (struct ext2_inode *)in,
	    sizeof(*in));
	if (e != 0)
		return dk_corrupt(err, "reading an inode", e);
	return inode_check(d, ino, in, err);
}

/*
 * The first len bytes of an inline-data inode (len <= its i_size, which
 * inode_check() bounded by what it holds) into buf.  Read through the
 * xattr calls, which allocate the value at the size they find, rather than
 * ext2fs_inline_data_get(), which copies all the image holds into a buffer
 * the caller sized: so the length checked is the length held.
 */
static int
inline_bytes(struct dk *d, ext2_ino_t ino, const struct ext2_inode_large *in,
    char *buf, size_t len, char *err)
{
	struct ext2_xattr_handle	*h = NULL;
	void				*v = NULL;
	size_t				 vlen = 0, head;
	errcode_t			 e;

	head = len < EXT4_MIN_INLINE_DATA_SIZE ? len :
	    EXT4_MIN_INLINE_DATA_SIZE;
	memcpy(buf, in->i_block, head);
	if (len == head)
		return 0;
	if ((e = ext2fs_xattrs_open(d->fs, ino, &h)) == 0 &&
	    (e = ext2fs_xattrs_read(h)) == 0)
		e = ext2fs_xattr_get(h, "system.data", &v, &vlen);
	if (h != NULL)
		(void)ext2fs_xattrs_close(&h);
	if (e != 0)
		return dk_corrupt(err, "reading inline data", e);
	if (vlen >= len - head)
		memcpy(buf + head, v, len - head);
	ext2fs_free_mem(&v);
	return vlen >= len - head ? 0 : bad_inode(err, ino, "holds less "
	    "inline data than its size");
}

/*
 * A slow symlink's target: block 0 of the link, inside the image, and no
 * more than it (size <= a block).  i_blocks only has to be nonzero: mke2fs
 * -d counts a link's block in 512-byte units whatever the block size.
 */
static int
block_link(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *buf, size_t size, char *err)
{
	ext2_filsys	 fs = d->fs;
	blk64_t		 pblk = 0;
	char		*blk;
	errcode_t	 e;

	if (size > fs->blocksize || (in->i_blocks == 0 &&
	    in->osd2.linux2.l_i_blocks_hi == 0))
		return bad_inode(err, ino, "is a symlink whose target is not "
		    "in a block");
	if ((e = ext2fs_bmap2(fs, ino, (struct ext2_inode *)in, NULL, 0, 0,
	    NULL, &pblk)) != 0)
		return dk_corrupt(err, "mapping a symlink", e);
	if (pblk < fs->super->s_first_data_block ||
	    pblk >= ext2fs_blocks_count(fs->super))
		return bad_inode(err, ino, "is a symlink whose block is "
		    "outside the image");
	if ((blk = malloc(fs->blocksize)) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
	if ((e = io_channel_read_blk64(fs->io, pblk, 1, blk)) == 0)
		memcpy(buf, blk, size);
	free(blk);
	return e != 0 ? dk_corrupt(err, "reading a symlink", e) : 0;
}

/*
 * A symlink's target, NUL-terminated, at most DK_TARGET_MAX bytes, from
 * where its kind keeps it: inline data, i_block itself (a fast symlink, as
 * libext2fs tells one: shorter than i_block), or its one block.
 */
static int
read_link(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    char *buf, char *err)
{
	struct ext2_inode	*i = (struct ext2_inode *)in;
	size_t			 size = EXT2_I_SIZE(i);
	int			 rc;

	buf[0] = '\0';
	/* inode_check() saw to this; buf depends on it, so once more. */
	if (size == 0 || size > DK_TARGET_MAX)
		return bad_inode(err, ino, "is a symlink of a size no symlink "
		    "has");
	if (i->i_flags & EXT4_INLINE_DATA_FL)
		rc = inline_bytes(d, ino, in, buf, size, err);
	else if (size < sizeof(i->i_block)) {
		memcpy(buf, i->i_block, size);
		rc = 0;
	} else
		rc = block_link(d, ino, in, buf, size, err);
	buf[rc == 0 ? size : 0] = '\0';
	return rc;
}

/* ---- paths ---- */

#define HOPS_MAX	40	/* symlinks per walk, as Linux's MAXSYMLINKS */
#define WALK_MAX	16384	/* a path with link targets spliced in */

struct rwalk {
	char	path[WALK_MAX];		/* what is left to walk */
	char	target[DK_TARGET_MAX + 1];
};

/*
 * Look a name of len bytes up in directory dir and load what it names.
 * ext2fs_lookup() only ever sees an inode that dk_read_inode() checked and
 * that is a directory.  PYRO_E_NOT_FOUND comes without a message.
 */
static int
step(struct dk *d, ext2_ino_t dir, const char *name, size_t len,
    ext2_ino_t *ino, struct ext2_inode_large *in, char *err)
{
	errcode_t	e;
	int		rc;

	if ((rc = dk_read_inode(d, dir, in, err)) != 0)
		return rc;
	if (!LINUX_S_ISDIR(in->i_mode) || len > EXT2_NAME_LEN)
		return PYRO_E_NOT_FOUND;
	e = ext2fs_lookup(d->fs, dir, name, (int)len, NULL, ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return PYRO_E_NOT_FOUND;
	if (e != 0)
		return dk_corrupt(err, "looking a name up", e);
	return dk_read_inode(d, *ino, in, err);
}

/*
 * Walk path from directory start (from the root when absolute), one
 * component at a time, in pyro's code rather than ext2fs_namei(), whose
 * link reading trusts the image's sizes.  ".." is the directory's own
 * entry, so the root's stays at the root.  follow: symlinks are followed
 * (at most HOPS_MAX; absolute targets from the image's root, relative ones
 * from the link's directory) by splicing the target in front of what is
 * left.  Without it no link is followed: one on the way is not a
 * directory, one at the end is the answer.
 */
static int
walk(struct dk *d, ext2_ino_t start, const char *path, int follow,
    ext2_ino_t *out, char *err)
{
	struct ext2_inode_large	 in;
	struct rwalk		*r;
	ext2_ino_t		 cur = path[0] == '/' ? EXT2_ROOT_INO : start;
	ext2_ino_t		 ino;
	char			*p, *name;
	size_t			 len, tlen, rest;
	int			 hops = 0, rc = 0;

	if ((r = malloc(sizeof(*r))) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
	snprintf(r->path, sizeof(r->path), "%s", path);
	for (p = r->path;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			*out = cur;
			break;
		}
		name = p;
		len = strcspn(p, "/");
		p += len;
		if ((rc = step(d, cur, name, len, &ino, &in, err)) != 0)
			break;
		if (!follow || !LINUX_S_ISLNK(in.i_mode)) {
			cur = ino;
			continue;
		}
		if (++hops > HOPS_MAX) {
			rc = dk_fail(err, PYRO_E_INVALID_PATH, "%.200s: too many "
			    "levels of symbolic links", path);
			break;
		}
		if ((rc = read_link(d, ino, &in, r->target, err)) != 0)
			break;
		tlen = strlen(r->target);
		rest = strlen(p);
		if (tlen == 0) {
			rc = PYRO_E_NOT_FOUND;
			break;
		}
		if (tlen + rest + 1 > sizeof(r->path)) {
			rc = dk_fail(err, PYRO_E_INVALID_PATH, "%.200s: too long "
			    "with its symbolic links followed", path);
			break;
		}
		memmove(r->path + tlen, p, rest + 1);
		memcpy(r->path, r->target, tlen);
		p = r->path;
		if (r->target[0] == '/')
			cur = EXT2_ROOT_INO;
	}
	free(r);
	return rc;
}

/*
 * path: relative to /workspace, absolute from the image's root.  ".." at
 * the root stays there; symlinks resolve from the image's root, never the
 * host's (walk()).  follow: 0 for the scrub, which follows no link.
 */
int
dk_resolve(struct dk *d, const char *path, int follow, ext2_ino_t *ino,
    char *err)
{
	ext2_ino_t	cwd = EXT2_ROOT_INO;
	int		rc;

	if (path[0] == '\0')
		path = ".";
	if (strlen(path) > 4095)
		return dk_fail(err, PYRO_E_INVALID_PATH, "the path is longer than "
		    "4095 bytes");
	if (path[0] != '/') {
		rc = walk(d, EXT2_ROOT_INO, "/workspace", 1, &cwd, err);
		if (rc == PYRO_E_NOT_FOUND)
			return dk_fail(err, PYRO_E_NOT_FOUND, "the disk has no "
			    "/workspace");
		if (rc != 0)
			return rc;
	}
	rc = walk(d, cwd, path, follow, ino, err);
	if (rc == PYRO_E_NOT_FOUND)
		return dk_fail(err, PYRO_E_NOT_FOUND, "no %.200s%s on the disk",
		    path, path[0] == '/' ? "" : " under /workspace");
	return rc;
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

	if ((rc = dk_read_inode(w->d, ino, &in, w->err)) != 0)
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
		return dk_fail(w->err, PYRO_E_LIMIT_EXCEEDED, "more than %d "
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
		w->rc = dk_fail(w->err, PYRO_E_DISK_CORRUPT, "a directory entry "
		    "has a name with '/' or NUL");
		return DIRENT_ABORT;
	}
	k = w->plen;
	if (k + (size_t)len + 2 > sizeof(w->path)) {
		w->rc = dk_fail(w->err, PYRO_E_LIMIT_EXCEEDED, "a path in the "
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
				w->rc = dk_fail(w->err, PYRO_E_INTERNAL,
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
		return dk_fail(w->err, PYRO_E_LIMIT_EXCEEDED, "directories nest "
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
		rc = dk_corrupt(w->err, "reading a directory", e);
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
	if ((rc = dk_resolve(d, path, 1, &ino, err)) != 0 ||
	    (rc = dk_read_inode(d, ino, &in, err)) != 0)
		return rc;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
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

/* A file kept in its inode: at most a block (inode_check()), in one go. */
static int
read_inline(struct dk *d, ext2_ino_t ino, struct ext2_inode_large *in,
    uint64_t max, dk_data_fn fn, void *arg, uint64_t *total, char *err)
{
	uint64_t	 len = EXT2_I_SIZE((struct ext2_inode *)in);
	char		*buf;
	int		 rc;

	if (max > 0 && max < len)
		len = max;
	if (len == 0)
		return 0;
	if ((buf = malloc((size_t)len)) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
	if ((rc = inline_bytes(d, ino, in, buf, (size_t)len, err)) == 0 &&
	    (rc = fn(buf, (size_t)len, arg)) == 0)
		*total = len;
	free(buf);
	return rc;
}

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
	if ((rc = dk_resolve(d, path, 1, &ino, err)) != 0 ||
	    (rc = dk_read_inode(d, ino, &in, err)) != 0)
		return rc;
	if (LINUX_S_ISDIR(in.i_mode))
		return dk_fail(err, PYRO_E_INVALID_ARGUMENT, "%.200s is a "
		    "directory; use disk list", path);
	if (!LINUX_S_ISREG(in.i_mode))
		return dk_fail(err, PYRO_E_INVALID_ARGUMENT, "%.200s is not a "
		    "regular file (a device node, FIFO or socket)", path);
	if (in.i_flags & EXT4_INLINE_DATA_FL)
		return read_inline(d, ino, &in, max, fn, arg, total, err);
	if ((e = ext2fs_file_open2(d->fs, ino, (struct ext2_inode *)&in, 0,
	    &f)) != 0)
		return dk_corrupt(err, "opening the file", e);
	for (;;) {
		want = sizeof(buf);
		if (max > 0 && max - *total < want)
			want = (unsigned)(max - *total);
		if (want == 0)
			break;
		if ((e = ext2fs_file_read(f, buf, want, &got)) != 0) {
			ext2fs_file_close(f);
			return dk_corrupt(err, "reading the file", e);
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

/*
 * Copy one run of blocks; with secrets, through the mask redactor w writes
 * to (same length, so every byte keeps its offset).  A run that does not
 * continue the previous one ends the previous match search first: a value
 * split across blocks that are not contiguous on the disk is not found.
 */
static int
copy_run(int in, int out, off_t off, off_t len, char *buf,
    const struct pyro_secrets *sec, struct pyro_redactor *r,
    struct pyro_redact_pwrite *w)
{
	ssize_t	n;
	off_t	done = 0;

	if (sec != NULL && sec->n > 0 &&
	    off != (off_t)(w->off + (int64_t)pyro_redactor_held(r))) {
		if (pyro_redact_flush(r, sec, pyro_redact_pwrite_fn, w) < 0)
			return -1;
		w->off = off;
	}
	while (done < len) {
		size_t k = (size_t)(len - done > COPY_CHUNK ? COPY_CHUNK :
		    len - done);

		n = pread(in, buf, k, off + done);
		if (n <= 0)
			return -1;
		if (sec == NULL || sec->n == 0) {
			if (pwrite(out, buf, (size_t)n, off + done) != n)
				return -1;
		} else if (pyro_redact_feed(r, sec, 1, (uint8_t *)buf,
		    (size_t)n, pyro_redact_pwrite_fn, w) < 0 || w->error) {
			errno = w->error ? w->error : ENOMEM;
			return -1;
		}
		done += n;
	}
	return 0;
}

int
dk_export_masked(struct dk *d, int in_fd, int out_fd,
    const struct pyro_secrets *sec, uint64_t *bytes, char *err)
{
	ext2_filsys	fs = d->fs;
	blk64_t		blk, start, end = ext2fs_blocks_count(fs->super);
	off_t		bs = fs->blocksize;
	char		*buf;
	errcode_t	e;
	int		rc = 0;
	struct pyro_redactor		r;
	struct pyro_redact_pwrite	w = { out_fd, 0, 0 };

	*bytes = 0;
	if ((e = ext2fs_read_block_bitmap(fs)) != 0)
		return dk_corrupt(err, "reading the block bitmap", e);
	if ((buf = malloc(COPY_CHUNK)) == NULL)
		return dk_fail(err, PYRO_E_INTERNAL, "out of memory");
	/* The whole size first: what is not written stays a hole. */
	if (ftruncate(out_fd, (off_t)end * bs) < 0) {
		free(buf);
		return dk_fail(err, PYRO_E_IO, "cannot size the output: %s",
		    strerror(errno));
	}
	pyro_redactor_init(&r, PYRO_REDACT_MASK);
	/* Block 0 holds the boot block and, with 1 KiB blocks, is outside
	 * the bitmap: always copied. */
	if (copy_run(in_fd, out_fd, 0, fs->super->s_first_data_block ?
	    2048 : bs, buf, sec, &r, &w) < 0)
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
		    (off_t)(blk - start) * bs, buf, sec, &r, &w) < 0)
			rc = -1;
		*bytes += (uint64_t)(blk - start) * (uint64_t)bs;
	}
	if (rc == 0 && sec != NULL && sec->n > 0 &&
	    (pyro_redact_flush(&r, sec, pyro_redact_pwrite_fn, &w) < 0 ||
	    w.error))
		rc = -1;
	pyro_redactor_free(&r);
	free(buf);
	if (rc < 0)
		return dk_fail(err, PYRO_E_IO, "copying the image: %s",
		    strerror(errno ? errno : EIO));
	if (fsync(out_fd) < 0)
		return dk_fail(err, PYRO_E_IO, "flushing the output: %s",
		    strerror(errno));
	return 0;
}
