/*
 * pyro-vmhelper keeps root's uid (it will hand the VMM an unprivileged uid
 * of its own) but only the capabilities its job needs:
 *
 *	CAP_NET_ADMIN	create the VM's TAP device (TUNSETIFF), address it
 *			over netlink, own its nftables table (and, for pyrod's
 *			sweep, delete leftover ones of pyro's), mark the
 *			published-port proxy's sockets (SO_MARK).
 *	CAP_KILL	stop its QEMU, which runs as the unprivileged helper
 *			uid (the QEMU launcher is forked before this drop).
 *
 * Everything else (DAC override, module loading, raw I/O, ptrace, mounts)
 * is gone from the effective, permitted and bounding sets, and
 * no_new_privs keeps it that way across exec.  The seccomp allowlist covers
 * its message loop, the KVM ioctls of the probe, netlink for the network,
 * and the VMM's cgroup.
 *
 * Networking adds no capability: the DNS forwarder binds an ephemeral port
 * on the gateway (the table redirects port 53 to it, so no
 * CAP_NET_BIND_SERVICE), and published ports arrive as sockets pyrod bound.
 * It adds accept4 and shutdown (the proxy) and pselect6/select (libnftables
 * waits on netlink with select(2)); the cgroup adds mkdir and rmdir, which
 * Landlock keeps to pyro's cgroup directories.
 */
#include "config.h"

#include <linux/capability.h>

#include "vmhelper.h"
#include "../common/sandbox.h"

static const int vmh_caps[] = { CAP_NET_ADMIN, CAP_KILL };

static const struct sb_rule vmh_rules[] = {
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(poll), SB_ALLOW(ppoll),
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(readv), SB_ALLOW(writev),
	SB_ALLOW(close), SB_ALLOW(fcntl), SB_ALLOW(ioctl),
	/* /dev/net/tun for TAP devices; netlink for addresses and nftables. */
	SB_ALLOW(openat), SB_ALLOW(socket), SB_ALLOW(bind), SB_ALLOW(connect),
	SB_ALLOW(getsockname), SB_ALLOW(setsockopt), SB_ALLOW(getsockopt),
	SB_ALLOW(sendto), SB_ALLOW(recvfrom),
	/* Published ports: pyrod's listening socket, relayed to the guest. */
	SB_ALLOW(accept4), SB_ALLOW(shutdown),
	/* The VMM's cgroup (Landlock keeps these to pyro's cgroup dirs). */
	SB_ALLOW(mkdir), SB_ALLOW(mkdirat), SB_ALLOW(rmdir),
	/* libnftables waits for netlink replies with select(2). */
	SB_ALLOW(pselect6), SB_ALLOW(select),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(statx), SB_ALLOW(lseek),
	SB_ALLOW(access), SB_ALLOW(faccessat), SB_ALLOW(faccessat2),
	/* Memory (including the vCPU's kvm_run mapping) and time. */
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(mprotect), SB_ALLOW(madvise), SB_ALLOW(clock_gettime),
	SB_ALLOW(gettimeofday), SB_ALLOW(time), SB_ALLOW(getrandom),
	SB_ALLOW(futex), SB_ALLOW(getpid), SB_ALLOW(gettid), SB_ALLOW(uname),
	SB_ALLOW(getuid), SB_ALLOW(geteuid), SB_ALLOW(getgid), SB_ALLOW(getegid),
	SB_ALLOW(rt_sigreturn), SB_ALLOW(rt_sigprocmask),
	/* Sanitizer builds set an alternate signal stack at exit. */
	SB_ALLOW(sigaltstack),
	SB_ALLOW(rt_sigaction),
	/* The VM: its disk copy, its channels, and its QEMU child. */
	SB_ALLOW(copy_file_range), SB_ALLOW(ftruncate), SB_ALLOW(fsync),
	SB_ALLOW(pread64), SB_ALLOW(pwrite64),
	SB_ALLOW(socketpair), SB_ALLOW(pidfd_open), SB_ALLOW(wait4),
	SB_ALLOW(waitid), SB_ALLOW(kill),
	SB_ALLOW(exit), SB_ALLOW(exit_group),
};

/*
 * The helper keeps root's uid, and root owns most of the host's files:
 * Landlock takes away every write by path but /dev/net/tun and pyro's own
 * cgroup directories (where it makes its VMM's group), so a bug in what
 * parses guest bytes here (the DNS forwarder, the proxy, the agent
 * channel) cannot rewrite the host's files.
 */
static const char *const vmh_writable[] = { "/dev/net/tun",
	"/sys/fs/cgroup/memory/pyro", "/sys/fs/cgroup/cpu/pyro",
	"/sys/fs/cgroup/pids/pyro", "/sys/fs/cgroup/pyro", NULL };

int
vmh_sandbox_enter(void)
{
	int	rc;

	if ((rc = sb_keep_caps(vmh_caps,
	    sizeof(vmh_caps) / sizeof(vmh_caps[0]))) < 0)
		return rc;
	if ((rc = sb_landlock_writes(vmh_writable)) < 0)
		return rc;
	return sb_seccomp(vmh_rules, sizeof(vmh_rules) / sizeof(vmh_rules[0]));
}
