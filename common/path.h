/*
 * Names and paths that come from clients or guests.  Every such string goes
 * through one of these functions before it is used; they are lexical (they
 * never touch the filesystem), so host-side opens still go through
 * pyro_openat_beneath(), which refuses symlinks and escapes in the kernel.
 */
#ifndef PYRO_PATH_H
#define PYRO_PATH_H

#include <stddef.h>
#include <sys/types.h>

#define PYRO_NAME_LEN_MAX	64
#define PYRO_PATH_LEN_MAX	4095
#define PYRO_GUEST_WORKDIR	"/workspace"

/* 1-64 bytes of [A-Za-z0-9._-], starting with a letter or digit. */
int	pyro_name_valid(const char *name);

#define PYRO_PATH_ABS_OK	0x1	/* absolute paths allowed */
#define PYRO_PATH_CLAMP		0x2	/* ".." at the root stays at the root */
#define PYRO_PATH_UNDER_BASE	0x4	/* result must be base or below it */

/*
 * Resolve `in` (len bytes, may not contain NUL) against the absolute
 * directory `base` into a normalised absolute path in out.  Relative input
 * is taken relative to base; "." and empty components vanish; ".." goes up
 * one level and is an error above "/" unless PYRO_PATH_CLAMP.
 * Returns 0, -EINVAL (empty, NUL, absolute without ABS_OK), -ENAMETOOLONG,
 * or -EXDEV (escapes the root or, with UNDER_BASE, the base).
 */
int	pyro_path_resolve(const char *in, size_t len, const char *base,
	    unsigned flags, char *out, size_t outsz);

/*
 * openat(2) that resolves `rel` strictly beneath dirfd: no symlinks in any
 * component, no magic links, no "..".  Returns an fd (O_CLOEXEC added) or
 * -errno (-ELOOP for a symlink, -EXDEV for an escape).
 */
int	pyro_openat_beneath(int dirfd, const char *rel, int flags, mode_t mode);

/*
 * The first size - 1 bytes of a small file the host's kernel writes
 * (/proc, /sys, cgroup files), NUL-terminated in buf: its length, 0 when
 * nothing could be read, -1 when it cannot be opened (buf is "" then).
 */
ssize_t	pyro_read_small(const char *path, char *buf, size_t size);

/* Random ids: 16 lowercase hex digits. */
#define PYRO_ID_LEN		16
int	pyro_id_new(char out[PYRO_ID_LEN + 1]);
int	pyro_id_valid(const char *id);

#endif
