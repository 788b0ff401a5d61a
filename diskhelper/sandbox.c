/*
 * pyro-diskhelper parses ext4 images that a guest wrote: the least trusted
 * input in pyro.  So it runs as an unprivileged uid with no capabilities and
 * a seccomp allowlist in which no syscall takes a path: it cannot open,
 * create, link or exec anything.  It works only on fds pyrod passes in
 * (images opened by pyrod, read-only unless a scrub is asked for), and talks
 * only over its socket.  A compromised diskhelper can at worst lie about
 * the image it was given.
 */
#include "config.h"

#include <errno.h>

#include "sandbox.h"
#include "../common/sandbox.h"

static const struct sb_rule dh_rules[] = {
	/* The message loop. */
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(poll), SB_ALLOW(ppoll),
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(readv), SB_ALLOW(writev),
	SB_ALLOW(close), SB_ALLOW(fcntl),
	/* Image I/O on passed fds (libext2fs's unix io manager). */
	SB_ALLOW(pread64), SB_ALLOW(pwrite64), SB_ALLOW(lseek),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(statx),
	SB_ALLOW(fsync), SB_ALLOW(fdatasync), SB_ALLOW(ftruncate),
	SB_ALLOW(fallocate), SB_ALLOW(ioctl),
	/* Memory and time. */
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(mprotect), SB_ALLOW(madvise), SB_ALLOW(clock_gettime),
	SB_ALLOW(gettimeofday), SB_ALLOW(time), SB_ALLOW(getrandom),
	SB_ALLOW(futex), SB_ALLOW(getpid), SB_ALLOW(gettid),
	SB_ALLOW(rt_sigreturn), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(exit), SB_ALLOW(exit_group),
};

int
dh_sandbox_enter(uid_t uid, gid_t gid)
{
	int	rc;

	if ((rc = sb_become(uid, gid)) < 0)
		return rc;
	return sb_seccomp(dh_rules, sizeof(dh_rules) / sizeof(dh_rules[0]));
}
