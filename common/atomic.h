/*
 * Atomic replacement of small state files: write a temporary file in the
 * same directory, fsync it, rename it over the target, fsync the directory.
 * A crash at any point leaves either the old or the new file, never a mix;
 * a leftover temporary is removed by pyro_atomic_sweep() at the next start.
 */
#ifndef PYRO_ATOMIC_H
#define PYRO_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

#define PYRO_TMP_PREFIX	".pyro-tmp."

/* Returns 0 or -errno; on failure the temporary file is gone. */
int	pyro_atomic_write(int dirfd, const char *name, const void *data,
	    size_t len, mode_t mode);
/* Remove PYRO_TMP_PREFIX* entries in dirfd.  Returns how many, or -errno. */
int	pyro_atomic_sweep(int dirfd);

#endif
