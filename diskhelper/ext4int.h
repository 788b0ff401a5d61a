/*
 * Shared by the diskhelper's ext4 files (ext4.c: open, inodes, paths,
 * list, read, export; fdio.c: the io_manager over one fd; scrub.c: the
 * scrub of runtime state).  The only header that includes ext2fs.h.
 */
#ifndef PYRO_EXT4INT_H
#define PYRO_EXT4INT_H

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

struct dk {
	ext2_filsys	fs;
	int		rw;
};

/* fdio.c: libext2fs reads and writes the image through fd, no path. */
struct struct_io_manager *dk_fdio(int fd);

/* ext4.c */
int	dk_fail(char *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	dk_corrupt(char *err, const char *what, errcode_t e);
/* An inode, read and checked (inode_check) before anything trusts it. */
int	dk_read_inode(struct dk *, ext2_ino_t, struct ext2_inode_large *,
	    char *err);
/* path to an inode (follow: symlinks, else none on the way). */
int	dk_resolve(struct dk *, const char *path, int follow, ext2_ino_t *,
	    char *err);

#endif
