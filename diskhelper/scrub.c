/*
 * The scrub of a stopped disk: what never belongs on it (runtime state
 * that got under the guest's tmpfs mounts, pyro's scratch, root's shell
 * history) is removed with libext2fs, writing only through the image fd.
 * Paths are walked without following any link (a /var/run -> /run link
 * is left alone), every inode checked before it is trusted, every walk
 * bounded (depth, entries).
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

#define SCRUB_MAX	100000

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
	if (ns->n >= SCRUB_MAX) {
		ns->oom = 1;	/* more than a scrub removes: give up */
		return DIRENT_ABORT;
	}
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
		return dk_corrupt(err, "freeing blocks", e);
	if ((acl = ext2fs_file_acl_block(d->fs, i)) != 0) {
		e = ext2fs_adjust_ea_refcount3(d->fs, acl, NULL, -1, &refs,
		    ino);
		if (e == 0 && refs == 0)
			ext2fs_block_alloc_stats2(d->fs, acl, -1);
		ext2fs_file_acl_block_set(d->fs, i, 0);
	}
	if ((e = ext2fs_write_inode_full(d->fs, ino, i, sizeof(*in))) != 0)
		return dk_corrupt(err, "writing an inode", e);
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
		return dk_fail(err, PYRO_E_LIMIT_EXCEEDED, "too much to scrub");
	e = ext2fs_lookup(d->fs, parent, name, (int)strlen(name), NULL, &ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return 0;
	if (e != 0)
		return dk_corrupt(err, "looking up a runtime file", e);
	if ((rc = dk_read_inode(d, ino, &in, err)) != 0)
		return rc;
	isdir = LINUX_S_ISDIR(in.i_mode);
	if (isdir) {
		e = ext2fs_dir_iterate2(d->fs, ino, 0, NULL, names_cb, &ns);
		if (e != 0 || ns.oom) {
			names_free(&ns);
			return e ? dk_corrupt(err, "reading a runtime directory",
			    e) : dk_fail(err, PYRO_E_INTERNAL, "out of memory");
		}
		for (k = 0; k < ns.n; k++)
			if ((rc = rm_entry(d, ino, ns.v[k], depth + 1, removed,
			    err)) != 0)
				break;
		names_free(&ns);
		if (rc != 0)
			return rc;
		if ((rc = dk_read_inode(d, ino, &in, err)) != 0)
			return rc;
	}
	if ((e = ext2fs_unlink(d->fs, parent, name, ino, 0)) != 0)
		return dk_corrupt(err, "unlinking a runtime file", e);
	if (isdir) {
		/* Its ".." no longer counts as a link of the parent. */
		if ((rc = dk_read_inode(d, parent, &pin, err)) != 0)
			return rc;
		if (pin.i_links_count > 1)
			pin.i_links_count--;
		if ((e = ext2fs_write_inode_full(d->fs, parent,
		    (struct ext2_inode *)&pin, sizeof(pin))) != 0)
			return dk_corrupt(err, "writing a directory", e);
	}
	(*removed)++;
	if (!isdir && in.i_links_count > 1) {
		in.i_links_count--;
		e = ext2fs_write_inode_full(d->fs, ino,
		    (struct ext2_inode *)&in, sizeof(in));
		return e ? dk_corrupt(err, "writing an inode", e) : 0;
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

	/* No following, anywhere on the way: a symlink here (e.g. /var/run)
	 * is left alone, and so is whatever a link to user data (/var ->
	 * /workspace/v) would have led the scrub into. */
	rc = dk_resolve(d, path, 0, &ino, err);
	if (rc == PYRO_E_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = dk_read_inode(d, ino, &in, err)) != 0 ||
	    !LINUX_S_ISDIR(in.i_mode))
		return rc;
	e = ext2fs_dir_iterate2(d->fs, ino, 0, NULL, names_cb, &ns);
	if (e != 0 || ns.oom) {
		names_free(&ns);
		return e ? dk_corrupt(err, "reading a runtime directory", e) :
		    dk_fail(err, PYRO_E_INTERNAL, "out of memory");
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
		return dk_fail(err, PYRO_E_INTERNAL, "the image is read-only");
	if (dk_needs_recovery(d))
		return dk_fail(err, PYRO_E_DISK_CORRUPT, "the journal needs "
		    "recovery");
	if ((e = ext2fs_read_bitmaps(d->fs)) != 0)
		return dk_corrupt(err, "reading the bitmaps", e);
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
