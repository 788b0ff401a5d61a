/*
 * The ext4 work of pyro-diskhelper, behind an interface free of libext2fs
 * types (only the files behind ext4int.h include ext2fs.h).  Every function
 * works on an image fd it was given; none opens a path.  Errors are a
 * stable pyro error code plus a sentence in err.
 */
#ifndef PYRO_DISKHELPER_EXT4_H
#define PYRO_DISKHELPER_EXT4_H

#include <stddef.h>
#include <stdint.h>

#include "redact.h"		/* dk_export's secrets */

#define DK_ERR_MAX		240
#define DK_NAME_MAX		255
#define DK_TARGET_MAX		4095
#define DK_DEPTH_MAX		64
#define DK_ENTRIES_MAX		1000000

struct dk;

struct dk_entry {
	uint32_t	 ino;
	uint32_t	 mode;		/* type and permission bits */
	uint32_t	 uid, gid;
	uint32_t	 nlink;
	uint64_t	 size;
	int64_t		 mtime;
	const char	*path;		/* relative to the listed directory */
	const char	*target;	/* symlinks; "" otherwise */
};

/* Return 0 to go on, nonzero to stop (the walk then returns that). */
typedef int	(*dk_entry_fn)(const struct dk_entry *, void *arg);
typedef int	(*dk_data_fn)(const void *, size_t, void *arg);

/*
 * Load libext2fs's error messages (once; dk_open() does it too).  Called
 * before the sandbox, so that the table is in place before any request.
 */
void	dk_init(void);
/* Open the ext4 image behind fd (rw: for the scrub only). 0 or a code. */
int	dk_open(int fd, int rw, struct dk **, char *err);
/* Flush (rw) and close; 0 or a code. */
int	dk_close(struct dk *, char *err);
/* The journal holds transactions not yet replayed. */
int	dk_needs_recovery(const struct dk *);
/*
 * List a directory (or describe one non-directory): path relative to
 * /workspace, absolute from the image's root; symlinks on the way are
 * followed inside the image (at most 40; more is PYRO_E_INVALID_PATH).
 */
int	dk_list(struct dk *, const char *path, int recursive, dk_entry_fn,
	    void *arg, uint64_t *count, char *err);
/* A regular file's content, at most max bytes (0: all). */
int	dk_read(struct dk *, const char *path, uint64_t max, dk_data_fn,
	    void *arg, uint64_t *total, char *err);
/*
 * Copy the image's in-use blocks from in_fd to out_fd (sparse), each byte
 * of a secret value (sec, or NULL) masked with '*' over each contiguous
 * run of copied blocks; a value split across blocks that are not
 * contiguous on the disk is not found.
 */
int	dk_export_masked(struct dk *, int in_fd, int out_fd,
	    const struct pyro_secrets *sec, uint64_t *bytes, char *err);
/* The same without secrets. */
static inline int
dk_export(struct dk *d, int in_fd, int out_fd, uint64_t *bytes, char *err)
{
	return dk_export_masked(d, in_fd, out_fd, NULL, bytes, err);
}
/* Remove runtime-only state; *removed counts the inodes freed. */
int	dk_scrub(struct dk *, uint64_t *removed, char *err);

#endif
