#ifndef DISKHELPER_SANDBOX_H
#define DISKHELPER_SANDBOX_H

#include <sys/types.h>

/*
 * Enter pyro-diskhelper's sandbox: become uid/gid (never root) with no
 * capabilities, then allow only the syscalls needed to read and write the fds
 * pyrod passes in.  Returns 0 or -errno; the process must exit on failure.
 */
int	dh_sandbox_enter(uid_t uid, gid_t gid);

#endif
