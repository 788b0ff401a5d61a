/*
 * The host-compat driver: no VMM.  pyro-agent itself runs on the host, as
 * the caller's uid, as PID 1 of its own user, mount, pid, ipc, uts, net and
 * cgroup namespaces, with the VM's disk as its root, no capabilities,
 * no_new_privs and a seccomp filter; it speaks the guest protocol over a
 * socketpair, so everything above this file (execs, shells, services,
 * sync, snapshots, reset) works as it does with a guest.
 *
 * Who does what:
 *
 *   pyro-vmhelper (sandboxed)  sends the launch message with the disk,
 *       agent and console fds; asks the launcher to end the sandbox.
 *   the launcher (root, forked before the vmhelper's sandbox) builds the
 *       root: the disk attached to a loop device (autoclear) and mounted
 *       nosuid,nodev; a one-shot run gets the environment's image
 *       read-only under an overlay whose upper layer is a tmpfs; a tmpfs
 *       /dev with only null, zero, full, random, urandom and tty bound from
 *       the host.  It then forks A and stays, root, to kill the sandbox
 *       when asked (or when the vmhelper goes away: its socket closes).
 *   A drops to the caller's uid and gid (never 0), creates the namespaces
 *       (an unprivileged user namespace: its owner is the caller, uid 0 is
 *       not mapped in it) and forks B.
 *   B, PID 1 of the new pid namespace, mounts /proc, /dev/pts, /tmp, /run
 *       and /dev/shm, names the host "pyro", brings lo up (the only
 *       interface: host-compat has no network), pivots into the root,
 *       drops every capability, sets no_new_privs, loads the filter and
 *       execs pyro-agent --host-compat (from an fd opened before the
 *       pivot) with the channel as fd 3.
 *
 * The disk is an ext4 image that only this host's kernel ever wrote: a
 * host-compat workspace is created as one and never boots in a VM (its
 * record says so), and nothing in the sandbox can reach the image file or
 * the loop device.  Its size bounds what the sandbox can write; the VM's
 * cgroup (made for the launcher, inherited) bounds memory (tmpfs pages
 * included) and tasks.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/loop.h>
#include <net/if.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "msg.h"
#include "lo.h"
#include "vmhelper.h"
#include "vmint.h"

/* ---- the vmhelper's side ---- */

static int
hc_launch(void)
{
	static struct {
		struct launch	l;
		char		strings[LAUNCH_STRINGS_MAX];
	} m;
	int		 agent[2], con[2], fds[LFD__MAX], rc, k, disk;
	size_t		 len;
	struct iovec	 iov;

	if (vm.start.run_uid == 0 || vm.start.run_gid == 0 ||
	    vm.start.host_id < 65536 || vm.start.agent[0] != '/')
		return -EINVAL;
	memset(&m.l, 0, sizeof(m.l));
	m.l.mode = LAUNCH_HOST_COMPAT;
	m.l.uid = vm.start.run_uid;
	m.l.gid = vm.start.run_gid;
	m.l.readonly = vm.start.snapshot;
	m.l.tmp_mib = vm.start.mem_mib;
	m.l.host_id = vm.start.host_id;
	m.l.nargs = 1;
	memcpy(m.l.hide, vm.start.hide, sizeof(m.l.hide));
	len = strlen(vm.start.agent) + 1;
	memcpy(m.strings, vm.start.agent, len);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0) {
		rc = -errno;
		close(agent[0]);
		close(agent[1]);
		return rc;
	}
	disk = vm.start.snapshot ? vm.files[VM_FILE_ROOTFS] :
	    vm.files[VM_FILE_DISK];
	/* Slots this driver does not use carry the disk again. */
	for (k = 0; k < LFD__MAX; k++)
		fds[k] = disk;
	fds[LFD_AGENT] = agent[1];
	fds[LFD_CONSOLE] = con[1];
	iov.iov_base = &m;
	iov.iov_len = sizeof(m.l) + len;
	rc = (int)pyro_sendmsg_fds(vm.launcher_sock, &iov, 1, fds, LFD__MAX);
	close(agent[1]);
	close(con[1]);
	if (rc < 0) {
		close(agent[0]);
		close(con[0]);
		return rc;
	}
	/* launcher_sock stays open: a byte on it, or its close, ends it. */
	vm.agent = agent[0];
	vm.console = con[0];
	vm.ctl = -1;
	(void)fcntl(vm.console, F_SETFL, O_NONBLOCK);
	vm.vmm_pid = launcher_pid;
	vm.pidfd = (int)syscall(SYS_pidfd_open, launcher_pid, 0);
	return vm.pidfd < 0 ? -errno : 0;
}

static void
hc_quit(void)
{
	char	k = 'k';

	if (vm.launcher_sock >= 0)
		(void)write(vm.launcher_sock, &k, 1);
}

/*
 * Ask the launcher to kill the sandbox and wait for it: it exits only once
 * PID 1 of the sandbox (and so every process in it) is gone, which a
 * SIGKILL of the launcher would not wait for.  SIGKILL after 3 s.
 */
static void
hc_kill(void)
{
	struct pollfd	p = { vm.pidfd, POLLIN, 0 };

	hc_quit();
	if (vm.pidfd < 0 || poll(&p, 1, 3000) != 1)
		(void)kill(vm.vmm_pid, SIGKILL);
}

static void
hc_ctl_event(void)
{
}

const struct vmm_driver vmm_host_compat = {
	"host-compat", hc_launch, hc_quit, hc_ctl_event, hc_kill, NULL, NULL,
	NULL, NULL
};

/* ---- the launcher's side (root until A drops) ---- */

static int	hc_console = -1;

/* Say why on the console (the workspace's last console bytes), then die. */
#define hc_fail(...)	launch_die(hc_console, __VA_ARGS__)

/* A free loop device bound to fd, autoclear: the last unmount frees it. */
static int
loop_attach(int fd, int ro, char *dev, size_t devlen)
{
	struct loop_config	cfg;
	int			ctl, n, lfd, tries;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (tries = 0; tries < 16; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			break;
		snprintf(dev, devlen, "/dev/loop%d", n);
		if ((lfd = open(dev, (ro ? O_RDONLY : O_RDWR) |
		    O_CLOEXEC)) < 0)
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR |
		    (ro ? LO_FLAGS_READ_ONLY : 0);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			close(ctl);
			return lfd;
		}
		close(lfd);
		if (errno != EBUSY)
			break;		/* another taker won the race: retry */
	}
	close(ctl);
	return -1;
}

static void
xmount(const char *src, const char *dst, const char *type,
    unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		hc_fail("host-compat: mounting %s on %s", type ? type : src,
		    dst);
}

/*
 * dir/name must be a real directory before anything is mounted on it: a
 * previous run may have left a symlink or a file there (the root is the
 * workspace's disk), and mount(2) follows symlinks.  Nothing runs in the
 * sandbox yet, so nothing can race this.
 */
static void
real_dir(int dirfd, const char *name, mode_t mode)
{
	struct stat	st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return;
		if (unlinkat(dirfd, name, 0) < 0)
			hc_fail("host-compat: removing /%s", name);
	} else if (errno != ENOENT)
		hc_fail("host-compat: /%s", name);
	if (mkdirat(dirfd, name, mode) < 0)
		hc_fail("host-compat: making /%s", name);
}

/* The caller owns /workspace and /root (the image has them as root). */
static void
own_dir(int dirfd, const char *name, uid_t uid, gid_t gid)
{
	int	fd;

	real_dir(dirfd, name, 0755);
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || fchown(fd, uid, gid) < 0)
		hc_fail("host-compat: giving /%s to uid %u", name, uid);
	close(fd);
}

/* A tmpfs /dev with the harmless devices bound from the host. */
static void
make_dev(const char *root)
{
	static const char *const nodes[] = { "null", "zero", "full",
	    "random", "urandom", "tty", NULL };
	static const char *const links[][2] = { { "ptmx", "pts/ptmx" },
	    { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	    { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" } };
	char	 dev[310], path[360], host[64];
	int	 i, fd;

	snprintf(dev, sizeof(dev), "%.300s/dev", root);
	xmount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=0755,size=64k");
	for (i = 0; nodes[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, nodes[i]);
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0666)) < 0)
			hc_fail("host-compat: /dev/%s", nodes[i]);
		close(fd);
		xmount(host, path, NULL, MS_BIND, NULL);
	}
	for (i = 0; i < (int)(sizeof(links) / sizeof(links[0])); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], path) < 0)
			hc_fail("host-compat: /dev/%s", links[i][0]);
	}
	snprintf(path, sizeof(path), "%s/pts", dev);
	if (mkdir(path, 0755) < 0)
		hc_fail("host-compat: /dev/pts");
	snprintf(path, sizeof(path), "%s/shm", dev);
	if (mkdir(path, 01777) < 0)
		hc_fail("host-compat: /dev/shm");
}

/*
 * Host-compat's seccomp filter: everything but what could reach past the
 * namespaces or widen the kernel's surface for an unprivileged process
 * (new namespaces, mounts, keyrings, BPF, perf, io_uring, userfaultfd,
 * handles to host files, module and clock and reboot calls), which fail
 * with EPERM (clone3 with ENOSYS, so libc falls back to clone, whose
 * flags the filter can see).  The agent's own needs are all allowed.
 */
static int
hc_seccomp(void)
{
	static const char *const deny[] = { "add_key", "request_key",
	    "keyctl", "bpf", "perf_event_open", "kexec_load",
	    "kexec_file_load", "init_module", "finit_module", "delete_module",
	    "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct",
	    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	    "open_by_handle_at", "name_to_handle_at", "userfaultfd",
	    "io_uring_setup", "io_uring_enter", "io_uring_register",
	    "fsopen", "fsmount", "fsconfig", "fspick", "move_mount",
	    "open_tree", "mount_setattr", "quotactl", "syslog", "vhangup",
	    "lookup_dcookie", "uselib", "quotactl_fd", NULL };
	/*
	 * Socket families a contained process has no business with: vsock
	 * is not namespaced (it would reach the host's and other VMs'
	 * listeners), the others only widen the kernel it reaches.
	 */
	static const int bad_af[] = { AF_VSOCK, AF_ALG, AF_KEY, AF_PACKET,
	    AF_XDP, AF_BLUETOOTH, AF_TIPC, AF_RDS, AF_CAN, AF_LLC, AF_NFC,
	    AF_APPLETALK, AF_X25, AF_AX25, AF_IEEE802154, AF_PPPOX, AF_RXRPC,
	    AF_ISDN, AF_PHONET, AF_CAIF, AF_KCM, AF_QIPCRTR, AF_SMC };
	static const unsigned long ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS,
	    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
	    CLONE_NEWCGROUP, CLONE_NEWTIME };
	scmp_filter_ctx	ctx;
	int		i, rc = 0, nr;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -ENOMEM;
	for (i = 0; deny[i] != NULL && rc == 0; i++) {
		if ((nr = seccomp_syscall_resolve_name(deny[i])) ==
		    __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	for (i = 0; i < (int)(sizeof(ns_flags) / sizeof(ns_flags[0])) &&
	    rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    ns_flags[i], ns_flags[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	for (i = 0; i < (int)(sizeof(bad_af) / sizeof(bad_af[0])) &&
	    rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
		    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)bad_af[i]));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

static void
drop_all_caps(void)
{
	struct __user_cap_header_struct	hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	data[2];

	/* The bounding set went before the uid change (hc_init). */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		hc_fail("host-compat: capset");
}

/*
 * B: PID 1 of the sandbox, until it becomes pyro-agent.  It starts with
 * every capability in the new user namespace (root's, not the caller's:
 * no host process of the caller can enter or trace it) and host uid 0,
 * unmapped there.  Its working directory is the root (A entered it by fd
 * before the namespaces), and paths are relative to it.
 */
static void __attribute__((noreturn))
hc_init(const struct launch *l, int agent_fd, int chan, int con, int life)
{
	static char	*const argv[] = { "pyro-agent", "--host-compat", NULL };
	static char	*const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:"
			    "/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct pollfd	 p = { life, POLLIN, 0 };
	struct rlimit	 none = { 0, 0 };
	char		 opts[96];
	int		 null, rc, cap;

	/* Dies with A; and if A is already gone, now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&p, 1, 0) != 0)
		_exit(122);
	close(life);
	/* No controlling terminal of pyrod's, ever (TIOCSTI). */
	(void)setsid();
	xmount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/*
	 * The root as this namespace's own mount (the copies of the
	 * launcher's are locked, and pivot_root(2) refuses a locked one),
	 * then into it: the parent, hide[0]'s tmpfs, is 0755.
	 */
	xmount(".", ".", NULL, MS_BIND | MS_REC, NULL);
	if (chdir("../root") < 0)
		hc_fail("host-compat: entering the root's bind mount");
	xmount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	xmount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620");
	snprintf(opts, sizeof(opts), "mode=1777,size=%um", l->tmp_mib);
	xmount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	xmount("tmpfs", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	snprintf(opts, sizeof(opts), "mode=0755,size=64m,uid=%u,gid=%u",
	    l->uid, l->gid);
	xmount("tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	if (sethostname("pyro", 4) < 0)
		hc_fail("host-compat: sethostname");
	(void)pyro_lo_up();
	if (syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		hc_fail("host-compat: pivot_root");
	/* No core dump of attacker memory to the host's handler. */
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		hc_fail("host-compat: RLIMIT_CORE");
	/* The bounding set while CAP_SETPCAP lasts; then the caller's ids. */
	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			hc_fail("host-compat: dropping capability %d", cap);
	if (setgroups(0, NULL) < 0 || setresgid(l->gid, l->gid, l->gid) < 0 ||
	    setresuid(l->uid, l->uid, l->uid) < 0)
		hc_fail("host-compat: becoming uid %u", l->uid);
	drop_all_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		hc_fail("host-compat: no_new_privs");
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		hc_fail("host-compat: /dev/null");
	/* 0 /dev/null, 1 and 2 the console, 3 the channel, 4 the agent. */
	if (dup2(agent_fd, 24) < 0 || dup2(chan, 23) < 0 ||
	    dup2(con, 22) < 0 || dup2(null, 0) < 0 || dup2(22, 1) < 0 ||
	    dup2(22, 2) < 0 || dup2(23, 3) < 0 || dup2(24, 4) < 0 ||
	    fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		hc_fail("host-compat: dup2");
	if (close_range(5, ~0U, 0) < 0)
		hc_fail("host-compat: close_range");
	hc_console = 2;
	if ((rc = hc_seccomp()) < 0) {
		errno = -rc;
		hc_fail("host-compat: seccomp");
	}
	syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
	hc_fail("host-compat: exec pyro-agent");
}

/*
 * A: still root; makes the namespaces (their user namespace is root's),
 * lets the launcher write the id maps (the caller's ids inside, the
 * workspace's own host ids outside), forks B, then passes B's wait status
 * on as its own.
 */
static void __attribute__((noreturn))
hc_sandbox(const struct launch *l, pid_t launcher, int rootfd, int agent_fd,
    int chan, int con, int report, int maps)
{
	pid_t	b;
	int	status, life[2];
	char	c;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher)
		_exit(122);
	/* A keyring of its own, not pyrod's session keyring. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
		hc_fail("host-compat: a session keyring");
	/*
	 * Into the root by fd, before the new mount namespace: unshare()
	 * moves the working directory to its copy there (an fd would keep
	 * pointing into the launcher's namespace).
	 */
	if (fchdir(rootfd) < 0)
		hc_fail("host-compat: entering the root");
	close(rootfd);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP) < 0)
		hc_fail("host-compat: new namespaces");
	c = 'u';
	if (write(report, &c, 1) != 1 || read(maps, &c, 1) != 1 || c != 'm')
		_exit(122);	/* the launcher could not write the maps */
	close(maps);
	if (pipe2(life, O_CLOEXEC) < 0 || (b = fork()) < 0)
		hc_fail("host-compat: fork");
	if (b == 0) {
		close(report);
		close(life[1]);
		hc_init(l, agent_fd, chan, con, life[0]);
	}
	close(life[0]);
	if (write(report, &b, sizeof(b)) != sizeof(b))
		hc_fail("host-compat: reporting");
	close(report);
	close(chan);
	close(agent_fd);
	while (waitpid(b, &status, 0) < 0)
		if (errno != EINTR)
			_exit(121);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status));
}

static int
write_map(pid_t pid, const char *which, unsigned inside, unsigned outside)
{
	char	path[64], map[64];
	int	fd, n, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	n = snprintf(map, sizeof(map), "%u %u 1\n", inside, outside);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, map, (size_t)n) != n)
		rc = -1;
	close(fd);
	return rc;
}

/*
 * A loop device already backed by this image (a mount that outlived its
 * sandbox): a second ext4 mount of the same file would corrupt it.
 */
static int
image_attached(int fd)
{
	char		 self[64], img[PATH_MAX], path[300], back[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	ssize_t		 n;
	int		 found = 0, bfd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if ((n = readlink(self, img, sizeof(img) - 1)) <= 0)
		return 0;
	img[n] = '\0';
	if ((d = opendir("/sys/block")) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%.200s/loop/"
		    "backing_file", de->d_name);
		if ((bfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(bfd, back, sizeof(back) - 1);
		close(bfd);
		if (n <= 0)
			continue;
		back[n] = '\0';
		back[strcspn(back, "\n")] = '\0';
		found = strcmp(back, img) == 0;
	}
	closedir(d);
	return found;
}

void
hc_launcher(int sock, struct launch *l, const char *agent, int *fds)
{
	char		 root[300], lower[300], rw[300], opts[1000], dev[32];
	struct pollfd	 p[2];
	struct stat	 st;
	pid_t		 a, b = -1, self;
	int		 rfd, loop, agent_fd, pipefd[2], mapfd[2], status = 0;
	int		 pidfd = -1;
	char		 c;

	hc_console = fds[LFD_CONSOLE];
	if (l->uid == 0 || l->gid == 0 || l->host_id < 65536 ||
	    strlen(l->hide[0]) > 250) {
		errno = EPERM;
		hc_fail("host-compat: refusing to run as root (or in a long "
		    "state path)");
	}
	/* The sandbox (in this group) is what the OOM killer takes first. */
	{
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			(void)write(fd, "-1000", 5);
			close(fd);
		}
	}
	if ((agent_fd = open(agent, O_RDONLY | O_CLOEXEC)) < 0)
		hc_fail("host-compat: opening %s", agent);
	if (unshare(CLONE_NEWNS) < 0)
		hc_fail("host-compat: unshare(CLONE_NEWNS)");
	xmount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/* hide[0] (the state directory) becomes the sandbox's workbench. */
	xmount("tmpfs", l->hide[0], "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=1m");
	snprintf(root, sizeof(root), "%.250s/root", l->hide[0]);
	if (mkdir(root, 0755) < 0)
		hc_fail("host-compat: %s", root);
	if (!l->readonly && image_attached(fds[LFD_DISK])) {
		errno = EBUSY;
		hc_fail("host-compat: the disk is still attached to a loop "
		    "device (a mount outlived its sandbox)");
	}
	if ((loop = loop_attach(fds[LFD_DISK], l->readonly, dev,
	    sizeof(dev))) < 0)
		hc_fail("host-compat: attaching the disk to a loop device");
	if (l->readonly) {
		/* The environment's image, read-only, under a tmpfs layer. */
		snprintf(lower, sizeof(lower), "%.250s/lower", l->hide[0]);
		snprintf(rw, sizeof(rw), "%.250s/rw", l->hide[0]);
		if (mkdir(lower, 0755) < 0 || mkdir(rw, 0755) < 0)
			hc_fail("host-compat: layers");
		xmount(dev, lower, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV,
		    NULL);
		if (fstat(fds[LFD_DISK], &st) < 0)
			hc_fail("host-compat: the image");
		snprintf(opts, sizeof(opts), "mode=0755,size=%lluk",
		    (unsigned long long)st.st_size / 1024 + 65536);
		xmount("tmpfs", rw, "tmpfs", MS_NOSUID | MS_NODEV, opts);
		snprintf(opts, sizeof(opts), "%s/upper", rw);
		if (mkdir(opts, 0755) < 0)
			hc_fail("host-compat: upper layer");
		snprintf(opts, sizeof(opts), "%s/work", rw);
		if (mkdir(opts, 0755) < 0)
			hc_fail("host-compat: work layer");
		snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,"
		    "workdir=%s/work", lower, rw, rw);
		xmount("overlay", root, "overlay", MS_NOSUID | MS_NODEV, opts);
	} else
		xmount(dev, root, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
		    NULL);
	close(loop);	/* the mount holds the device; autoclear frees it */

	if ((rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		hc_fail("host-compat: %s", root);
	real_dir(rfd, "dev", 0755);
	real_dir(rfd, "proc", 0555);
	real_dir(rfd, "tmp", 01777);
	real_dir(rfd, "run", 0755);
	own_dir(rfd, "workspace", l->host_id, l->host_id);
	own_dir(rfd, "root", l->host_id, l->host_id);
	make_dev(root);

	if (pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(mapfd, O_CLOEXEC) < 0)
		hc_fail("host-compat: pipe");
	self = getpid();
	if ((a = fork()) < 0)
		hc_fail("host-compat: fork");
	if (a == 0) {
		/* Only what A and B need: nothing of the image's fds. */
		close(sock);
		close(pipefd[0]);
		close(mapfd[1]);
		for (int k = 0; k < LFD__MAX; k++)
			if (fds[k] != fds[LFD_AGENT] &&
			    fds[k] != fds[LFD_CONSOLE])
				(void)close(fds[k]);
		hc_sandbox(l, self, rfd, agent_fd, fds[LFD_AGENT],
		    fds[LFD_CONSOLE], pipefd[1], mapfd[0]);
	}
	close(rfd);
	close(pipefd[1]);
	close(mapfd[0]);
	close(agent_fd);
	for (int k = 0; k < LFD__MAX; k++)
		if (k != LFD_CONSOLE)
			(void)close(fds[k]);
	/* The maps: the caller's ids inside, the workspace's host ids. */
	if (read(pipefd[0], &c, 1) == 1 && c == 'u' &&
	    write_map(a, "uid_map", l->uid, l->host_id) == 0 &&
	    write_map(a, "gid_map", l->gid, l->host_id) == 0) {
		c = 'm';
		(void)write(mapfd[1], &c, 1);
	}
	close(mapfd[1]);
	/* A is root's code: its report is B's pid, alive until A reaps it. */
	if (read(pipefd[0], &b, sizeof(b)) == sizeof(b) && b > 0)
		pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	close(pipefd[0]);
	/*
	 * Stay until PID 1 of the sandbox is gone (the pid namespace goes
	 * with it): a byte from the vmhelper, or its end, kills it first.
	 */
	p[0].fd = sock;
	p[0].events = POLLIN;
	p[1].fd = pidfd;
	p[1].events = POLLIN;
	while (pidfd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN)
			break;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL,
			    NULL, 0);
			p[0].fd = -1;
		}
	}
	if (pidfd < 0)		/* no sandbox came up: end A */
		(void)kill(a, SIGKILL);
	while (waitpid(a, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 121);
}
