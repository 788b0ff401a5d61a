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

#include <sys/resource.h>

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

/*
 * A hostile image can ask for a lot of memory (a directory of a million
 * names, extents mapping one block many times): the helper's address
 * space is capped so that it fails alone instead of pressing on the host.
 */
#define DH_MEMORY_MAX	(1024UL * 1024 * 1024)

int
dh_sandbox_enter(uid_t uid, gid_t gid)
{
	struct rlimit	rl = { DH_MEMORY_MAX, DH_MEMORY_MAX };
	int		rc;

#ifndef __SANITIZE_ADDRESS__	/* ASan's shadow memory alone is larger */
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		return -errno;
#else
	(void)rl;
#endif
	if ((rc = sb_become(uid, gid)) < 0)
		return rc;
	return sb_seccomp(dh_rules, sizeof(dh_rules) / sizeof(dh_rules[0]));
}
