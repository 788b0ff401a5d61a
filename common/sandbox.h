/*
 * Privilege reduction shared by the helpers: capabilities (libcap-ng),
 * no_new_privs, and a libseccomp allowlist whose default action kills the
 * whole process.  Each helper's sandbox.c lists what it needs and why.
 */
#ifndef PYRO_SANDBOX_H
#define PYRO_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* A syscall the filter allows, optionally only with arg0 == value. */
struct sb_rule {
	const char	*name;
	int		 arg0_set;
	unsigned long	 arg0;
};
#define SB_ALLOW(n)		{ #n, 0, 0 }
#define SB_ALLOW_ARG0(n, v)	{ #n, 1, (unsigned long)(v) }

/* Set no_new_privs and load the filter.  Returns 0 or -errno. */
int	sb_seccomp(const struct sb_rule *rules, size_t n);
/* Keep exactly the listed capabilities (and clear the bounding set). */
int	sb_keep_caps(const int *caps, size_t n);
/*
 * No more writes to the filesystem by path (Landlock): nothing may be
 * written, created, removed, renamed or truncated, except the listed
 * files (opened for writing) and, beneath listed directories, files
 * written and directories made or removed.  Reads and fds already open are untouched.
 * Returns 0, 1 when the kernel has no Landlock, or -errno.
 */
int	sb_landlock_writes(const char *const *files);
/* Become uid/gid with no supplementary groups and no capabilities at all. */
int	sb_become(uid_t uid, gid_t gid);

#endif
