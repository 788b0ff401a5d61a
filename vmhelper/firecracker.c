/*
 * The Firecracker driver: Firecracker started through its jailer, driven
 * over its API socket, the agent reached over its hybrid vsock.
 *
 *   the launcher (root, forked before the vmhelper's sandbox) makes the
 *       jail the jailer expects, <fc_base>/firecracker/<id>/root, and puts
 *       the VM's files there as the jail's uid: the kernel and initramfs
 *       copied, the workspace's disk hard-linked (a one-shot run's disk a
 *       sparse copy of the environment's image: Firecracker has no
 *       throwaway overlay), /run for the sockets.  It sends the vmhelper
 *       an O_PATH fd of the root, then forks the jailer (argv from
 *       fcapi.c) with the console socket as stdout and stderr, in the
 *       VM's cgroup the vmhelper made (the jailer's own cgroup options are
 *       not used: one code path makes, limits, watches and removes every
 *       VM's group, whatever its VMM), and reports its exit status.  Then
 *       it stays, as the jail's connector: Firecracker makes its sockets
 *       as the jail's uid, where the vmhelper (no DAC capability) may not
 *       connect, so on the vmhelper's word ('A': the API, 'V': the vsock)
 *       it connects to that one name in the jail's /run (by fd, no
 *       symlink, a socket only: nothing of the host is reachable from the
 *       chroot, so it can only be a socket Firecracker bound) and passes
 *       the connected fd back.  It reads nothing from either socket.  It
 *       exits when the vmhelper's socket closes.
 *   the jailer chroots, drops to the jail's uid, forks Firecracker as PID
 *       1 of a new pid namespace, writes its pid file and exits;
 *       Firecracker is reparented to the vmhelper, a child subreaper.
 *   the vmhelper reads the pid (and checks Firecracker is its child),
 *       talks HTTP over the API connection the connector gives it, sends
 *       the boot plan, then asks for vsock connections and sends CONNECT
 *       on each until the agent in the guest listens.
 *
 * Stop: the agent's power-off reboots the guest, and Firecracker exits on
 * a guest reboot (reboot=k); then SendCtrlAltDel; then SIGKILL.  pyrod
 * removes the jail directory after the helper is gone and gives the disk
 * back to root.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "errcode.h"
#include "fcapi.h"
#include "fcclient.h"
#include "helper.h"
#include "log.h"
#include "msg.h"
#include "path.h"
#include "procs.h"
#include "vmhelper.h"
#include "vmint.h"

#define FC_JAIL_WAIT_MS		60000	/* the jail: a one-shot disk's copy */
#define FC_JAILER_WAIT_MS	10000	/* the jailer copies Firecracker */
#define FC_API_WAIT_MS		5000	/* its API socket appears */
#define FC_CALL_MS		5000
#define FC_SNAPSHOT_MS		30000	/* its memory: under pyrod's backstop */
#define FC_RETRY_MS		100	/* the agent's vsock port, again */
/* Warm start: the state and memory files, as the jail names them. */
#define FC_STATE		"/vm.state"
#define FC_MEM			"/vm.mem"

static struct {
	int	root;		/* O_PATH: the jail's root */
	int	api;		/* the API connection */
	int	connecting;	/* waiting for the agent's port */
	int	paused;		/* saved: nothing runs in it again */
	int	status;		/* the last answer's HTTP status; 0: none */
	long long next_try;
	char	err[200];	/* the last vsock error */
} fc = { -1, -1, 0, 0, 0, 0, "" };

/* ---- the vmhelper's side ---- */

/*
 * One message from the launcher: a tag byte, an int, maybe an fd.
 * Returns the tag or -errno; *fd is the fd or -1.
 */
static int
from_launcher(int sock, int timeout_ms, int *val, int *fd)
{
	struct pollfd	 p = { sock, POLLIN, 0 };
	struct msghdr	 mh;
	struct iovec	 iov;
	struct {
		char	tag;
		int	val;
	} __attribute__((packed)) b;
	ssize_t		 n;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct cmsghdr	*cm;

	*fd = -1;
	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &b;
	iov.iov_len = sizeof(b);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	if ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) != sizeof(b) ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	if ((cm = CMSG_FIRSTHDR(&mh)) != NULL) {
		if (cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)))
			return -EPROTO;
		memcpy(fd, CMSG_DATA(cm), sizeof(*fd));
	}
	*val = b.val;
	return (unsigned char)b.tag;
}

static void
to_vmhelper(int sock, char tag, int val, int fd)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct {
		char	tag;
		int	val;
	} __attribute__((packed)) b = { tag, val };
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &b;
	iov.iov_len = sizeof(b);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/*
 * From the jail's connector: a connection to its API ('A') or vsock ('V')
 * socket, or (after a save) its state, memory or disk file ('S', 'M',
 * 'D'), read-only; or -errno.
 */
static int
jail_ask(char what)
{
	int	fd, val, tag;

	if (vm.launcher_sock < 0)
		return -EPIPE;
	if (send(vm.launcher_sock, &what, 1, MSG_NOSIGNAL) != 1)
		return -errno;
	tag = from_launcher(vm.launcher_sock, 3000, &val, &fd);
	if (tag < 0)
		return tag;
	if (tag != what || (fd < 0 && val >= 0)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return fd >= 0 ? fd : val;
}

/*
 * Firecracker's pid from the jailer's pid file, if that process is our
 * child (reparented to us when the jailer exited): -1 otherwise.
 */
static pid_t
fc_pid(const char *pidfile)
{
	char		buf[32], path[64], st[512], *p;
	struct stat	sb;
	long		pid;
	int		fd;
	ssize_t		n;

	/* The jailer's (root's) regular file, never a fifo or a link. */
	if ((fd = openat(fc.root, pidfile, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
	    sb.st_nlink != 1) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, &p, 10);
	if (pid <= 1 || pid > 4194304 || (*p != '\0' && *p != '\n') ||
	    pid == (long)launcher_pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (pyro_read_small(path, st, sizeof(st)) <= 0)
		return -1;
	/* "pid (comm) S ppid ...": comm may hold anything; the last ')' */
	if ((p = strrchr(st, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ' || strtol(p + 4, NULL, 10) != (long)getpid())
		return -1;
	/* And it runs as the jail's uid, as the jailer made it. */
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (pyro_read_small(path, st, sizeof(st)) <= 0)
		return -1;
	if ((p = strstr(st, "\nUid:\t")) == NULL ||
	    strtoul(p + 6, NULL, 10) != vm.start.run_uid)
		return -1;
	return (pid_t)pid;
}

static int
fc_fail(int rc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(fc.err, sizeof(fc.err), fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * One request (built: its builder's return), its answer checked: 0, or
 * -errno and why in fc.err.
 */
static int
fc_do(int built, struct fc_req *r, int timeout_ms)
{
	struct fc_resp	rp;
	int		rc = 0;

	if (built < 0) {
		fc_req_free(r);
		return fc_fail(-ENOMEM, "cannot make %s", r->path);
	}
	rp.status = 0;
	if (fc_call(fc.api, r, &rp, timeout_ms) < 0)
		rc = fc_fail(-EPROTO, "Firecracker refused %s %s: %s%s",
		    r->method, r->path, rp.status ? "" : "(no answer) ",
		    rp.fault);
	fc_req_free(r);
	fc.status = rp.status;
	return rc;
}

/*
 * A restore: the jail holds the template's state and memory (the
 * launcher linked them, root's and read-only); Firecracker loads them
 * before anything is configured and resumes the guest, whose vsock
 * connection of the save was reset (its listening socket was not): the
 * agent takes our new connection, and vm_warm_done() follows it.
 */
static int
fc_load(void)
{
	struct fc_req	r;
	int		rc;

	if ((rc = fc_do(fc_req_snapshot_load(&r, FC_STATE, FC_MEM, 1), &r,
	    FC_SNAPSHOT_MS)) < 0) {
		/*
		 * Refused (a 4xx): the template's fault, told first, so
		 * pyrod removes it.  No answer (a timeout, Firecracker
		 * killed) says nothing of the template.
		 */
		if (fc.status >= 400 && fc.status < 500)
			(void)helper_send_error(0, PYRO_E_GUEST_BOOT_FAILED,
			    "restoring the VM: %s", fc.err);
		return rc;
	}
	fc.connecting = 1;
	fc.next_try = 0;
	return 0;
}

static int
fc_launch(void)
{
	static struct {
		struct launch	l;
		char		strings[LAUNCH_STRINGS_MAX];
	} m;
	struct fc_jail	 j;
	struct fc_vm	 fv;
	struct fc_req	 plan[FC_PLAN_MAX];
	char		*argv[FC_ARGV_MAX], args[LAUNCH_STRINGS_MAX], id[32];
	char		 boot[512], netarg[64], pidfile[64];
	const char	*exe;
	int		 con[2], fds[LFD__MAX], rc, k, n, status;
	struct iovec	 iov;
	long long	 deadline;
	pid_t		 pid;
	size_t		 len = 0;

	fc.err[0] = '\0';
	if (vm.start.run_uid == 0 || vm.start.run_gid == 0)
		return fc_fail(-EINVAL, "Firecracker may not run as root");
	memset(&j, 0, sizeof(j));
	snprintf(id, sizeof(id), "%s", vm.start.vm_id);
	j.jailer = vm.start.fc_jailer;
	j.exec_file = vm.start.fc_exec;
	j.id = id;
	j.chroot_base = vm.start.fc_base;
	j.uid = vm.start.run_uid;
	j.gid = vm.start.run_gid;
	if ((n = fc_jailer_argv(&j, args, sizeof(args), argv,
	    FC_ARGV_MAX)) < 0)
		return fc_fail(-EINVAL, "no jailer command line for %s", id);
	memset(&m.l, 0, sizeof(m.l));
	m.l.mode = LAUNCH_FIRECRACKER;
	m.l.uid = j.uid;
	m.l.gid = j.gid;
	m.l.readonly = vm.start.snapshot;
	m.l.warm = vm.start.warm;
	memcpy(m.l.hide, vm.start.hide, sizeof(m.l.hide));
	/* The jailer works in <base>/<exec file's name>/<id>/root. */
	if ((exe = strrchr(vm.start.fc_exec, '/')) == NULL || exe[1] == '\0')
		return fc_fail(-EINVAL, "Firecracker's path is not absolute");
	exe++;
	if (snprintf(m.l.jail, sizeof(m.l.jail), "%.200s/%.40s/%s",
	    vm.start.fc_base, exe, id) >= (int)sizeof(m.l.jail) ||
	    strlen(vm.start.fc_base) > 200 || strlen(exe) > 40)
		return -ENAMETOOLONG;
	snprintf(pidfile, sizeof(pidfile), "%s.pid", exe);
	for (k = 0; k < n; k++) {
		size_t sl = strlen(argv[k]) + 1;

		if (len + sl > sizeof(m.strings))
			return -E2BIG;
		memcpy(m.strings + len, argv[k], sl);
		len += sl;
	}
	m.l.nargs = (uint32_t)n;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0)
		return -errno;
	for (k = 0; k < LFD__MAX; k++)
		fds[k] = con[1];
	fds[LFD_DISK] = vm.start.snapshot ? vm.files[VM_FILE_ROOTFS] :
	    vm.files[VM_FILE_DISK];
	fds[LFD_KERNEL] = vm.files[VM_FILE_KERNEL];
	fds[LFD_INITRD] = vm.files[VM_FILE_INITRD];
	/* A restore's template files; a save's the launcher never needs. */
	if (vm.start.warm == WARM_RESTORE) {
		fds[LFD_STATE] = vm.files[VM_FILE_STATE];
		fds[LFD_MEM] = vm.files[VM_FILE_MEM];
	}
	iov.iov_base = &m;
	iov.iov_len = sizeof(m.l) + len;
	rc = (int)pyro_sendmsg_fds(vm.launcher_sock, &iov, 1, fds, LFD__MAX);
	close(con[1]);
	if (rc < 0) {
		close(con[0]);
		return rc;
	}
	vm.console = con[0];
	(void)fcntl(vm.console, F_SETFL, O_NONBLOCK);
	vm.ctl = -1;

	/* The jail's root, then the jailer's end. */
	if (from_launcher(vm.launcher_sock, FC_JAIL_WAIT_MS, &status,
	    &fc.root) != 'R' || fc.root < 0)
		return fc_fail(-EPROTO, "the launcher could not make the jail");
	if ((rc = from_launcher(vm.launcher_sock, FC_JAILER_WAIT_MS, &status,
	    &k)) != 'J') {
		if (k >= 0)
			close(k);
		return fc_fail(rc == -ETIMEDOUT ? -ETIMEDOUT : -EPROTO,
		    "the jailer did not finish in %d ms", FC_JAILER_WAIT_MS);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fc_fail(-ECHILD, "the jailer exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status));
	if ((pid = fc_pid(pidfile)) < 0)
		return fc_fail(-ESRCH, "no Firecracker process after the "
		    "jailer (its pid file names none of ours)");
	vm.vmm_pid = pid;
	if ((vm.pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return -errno;

	/* The API: its socket appears once Firecracker is up. */
	deadline = pyro_mono_ms() + FC_API_WAIT_MS;
	for (;;) {
		if ((fc.api = jail_ask('A')) >= 0)
			break;
		if (fc.api == -EPIPE || fc.api == -EPROTO)
			return fc_fail(-EPROTO, "the jail's connector is gone");
		if (pyro_mono_ms() >= deadline)
			return fc_fail(-ETIMEDOUT, "Firecracker's API socket "
			    "did not appear in %d ms", FC_API_WAIT_MS);
		(void)poll(NULL, 0, 20);
	}

	if (vm.start.warm == WARM_RESTORE)
		return fc_load();
	memset(&fv, 0, sizeof(fv));
	fv.vcpus = vm.start.vcpus;
	fv.mem_mib = vm.start.mem_mib;
	if (vm.start.net.enabled) {
		if (net_tap_hand_over(j.uid, j.gid, fc.err, sizeof(fc.err)) < 0)
			return -EIO;
		net_guest_arg(netarg, sizeof(netarg));
		snprintf(boot, sizeof(boot), "console=ttyS0 reboot=k panic=1 "
		    "pci=off quiet pyro.channel=vsock pyro.net=%s", netarg);
		fv.tap = vm.start.net.tap;
		fv.mac = "02:50:59:52:4f:01";
	} else
		snprintf(boot, sizeof(boot), "console=ttyS0 reboot=k panic=1 "
		    "pci=off quiet pyro.channel=vsock");
	fv.boot_args = boot;
	if ((n = fc_boot_plan(&fv, plan, FC_PLAN_MAX)) < 0)
		return fc_fail(-EINVAL, "no boot plan for this VM's shape");
	rc = 0;
	for (k = 0; k < n; k++) {
		if (rc == 0)
			rc = fc_do(0, &plan[k], FC_CALL_MS);
		else
			fc_req_free(&plan[k]);
	}
	if (rc < 0)
		return rc;
	fc.connecting = 1;
	fc.next_try = 0;
	return 0;
}

/* Until the agent listens on its port: one try per FC_RETRY_MS. */
static int
fc_tick(void)
{
	long long	now;
	int		fd;

	if (!fc.connecting || vm.stopping)
		return -1;
	now = pyro_mono_ms();
	if (now < fc.next_try)
		return (int)(fc.next_try - now);
	fd = jail_ask('V');
	if (fd >= 0)
		fd = fc_vsock_handshake(fd, FC_AGENT_PORT, 500, fc.err,
		    sizeof(fc.err));
	if (fd >= 0) {
		fc.connecting = 0;
		vm.agent = fd;
		if (vm.warm_stage == WS_LOADING)
			vm_warm_done(0, NULL);	/* GP_RESUME goes first */
		return -1;
	}
	fc.next_try = pyro_mono_ms() + FC_RETRY_MS;
	return FC_RETRY_MS;
}

static void
fc_kill(void)
{
	if (vm.vmm_pid > 0)
		(void)kill(vm.vmm_pid, SIGKILL);
}

/*
 * The snapshot is made: copy the jail's state, memory and disk into the
 * template's own files (pyrod's, never the jail's), which vm.c then
 * syncs and hashes.  Firecracker is paused and is never run again.
 */
static int
fc_copy_out(void)
{
	static const struct {
		char	 what;
		int	 role;
	} parts[] = {
		{ 'S', VM_FILE_STATE }, { 'M', VM_FILE_MEM }, { 'D', VM_FILE_DISK },
	};
	size_t	i;
	int	fd, rc;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if ((fd = jail_ask(parts[i].what)) < 0)
			return fc_fail(fd, "cannot open the jail's %c file: %s",
			    parts[i].what, strerror(-fd));
		rc = copy_sparse(fd, vm.files[parts[i].role]);
		close(fd);
		if (rc < 0)
			return fc_fail(rc, "copying the snapshot out of the "
			    "jail: %s", strerror(-rc));
	}
	return 0;
}

/*
 * A save (a template's, after the agent flushed): pause the VM and have
 * Firecracker write its state and memory into the files the launcher
 * linked into the jail for it.  The VM stays paused until it is ended.
 */
static int
fc_save(void)
{
	struct fc_req	r;
	int		rc;

	fc.err[0] = '\0';
	if ((rc = fc_do(fc_req_vm_state(&r, 1), &r, FC_CALL_MS)) == 0) {
		fc.paused = 1;
		rc = fc_do(fc_req_snapshot_create(&r, FC_STATE, FC_MEM), &r,
		    FC_SNAPSHOT_MS);
	}
	if (rc == 0)
		rc = fc_copy_out();
	vm_warm_done(rc, fc.err);
	return 0;
}

static void
fc_quit(void)
{
	struct fc_req	r;
	struct fc_resp	rp;

	if (fc.paused) {
		/* A paused guest powers nothing off: the snapshot is made. */
		fc_kill();
		return;
	}
	if (fc.api < 0 || fc_req_action(&r, "SendCtrlAltDel") < 0)
		return;
	if (fc_call(fc.api, &r, &rp, 1000) < 0)
		log_warnx("SendCtrlAltDel: %s", rp.fault);
	fc_req_free(&r);
}

static void
fc_ctl_event(void)
{
}

static const char *
fc_error(void)
{
	return fc.err;
}

const struct vmm_driver vmm_firecracker = {
	"Firecracker", fc_launch, fc_quit, fc_ctl_event, fc_kill, fc_tick,
	fc_error, fc_save, NULL
};

/* ---- the launcher's side (root) ---- */


/* An empty file of the jail's, for Firecracker to write. */
static void
jail_new(int con, int rootfd, const char *name, uid_t uid, gid_t gid)
{
	int	fd;

	if ((fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 || fchown(fd, uid, gid) < 0)
		launch_die(con, "firecracker: /%s in the jail", name);
	close(fd);
}

static void
jail_copy(int con, int src, int rootfd, const char *name, uid_t uid,
    gid_t gid, int sparse)
{
	int	dst;

	if ((dst = openat(rootfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, sparse ? 0600 : 0400)) < 0)
		launch_die(con, "firecracker: /%s in the jail", name);
	if (copy_sparse(src, dst) < 0 || fchown(dst, uid, gid) < 0)
		launch_die(con, "firecracker: copying /%s into the jail", name);
	close(dst);
}

/* fd's file as name in the jail (a hard link), the jail's if mine. */
static void
jail_link(int con, int fd, int rootfd, const char *name, int mine, uid_t uid,
    gid_t gid)
{
	struct stat	sb;
	char		self[64];

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		launch_die(con, "firecracker: /%s is not a file to link", name);
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, self, rootfd, name, AT_SYMLINK_FOLLOW) < 0 ||
	    (mine && fchown(fd, uid, gid) < 0))
		launch_die(con, "firecracker: linking /%s into the jail", name);
}

/* A regular file of the jail, read-only (never through a link): or -errno. */
static int
jail_open(int rootfd, const char *name)
{
	struct stat	sb;
	int		fd;

	if ((fd = openat(rootfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/*
 * SIGKILL every other task of the VM's cgroup (ours: the vmhelper put us
 * there before the jailer ran) until none is left, for at most 3 s.
 */
static void
kill_own_group(void)
{
	char	line[256], path[320], *g;
	FILE	*f;
	int	t;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return;
	path[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* v1 "N:pids:/pyro/<id>", v2 "0::/pyro/<id>" */
		if ((g = strstr(line, ":/pyro/")) == NULL)
			continue;
		if (strncmp(strchr(line, ':') + 1, "pids:", 5) == 0)
			snprintf(path, sizeof(path), "/sys/fs/cgroup/pids%s/"
			    "cgroup.procs", g + 1);
		else if (strncmp(line, "0::", 3) == 0 && path[0] == '\0')
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/"
			    "cgroup.procs", g + 1);
	}
	fclose(f);
	if (path[0] == '\0')
		return;
	for (t = 0; t < 150 && pyro_kill_procs(path) > 0; t++)
		(void)poll(NULL, 0, 20);
}

void
fc_launcher(int sock, struct launch *l, char *strings, int *fds)
{
	char		*argv[FC_ARGV_MAX + 1], *p = strings, path[300];
	int		 con = fds[LFD_CONSOLE], rootfd, dfd, run, status;
	pid_t		 jailer;
	uint32_t	 i;

	for (i = 0; i < l->nargs && i < FC_ARGV_MAX; i++) {
		argv[i] = p;
		p += strlen(p) + 1;
	}
	argv[i] = NULL;
	if (l->uid == 0 || l->gid == 0 || l->jail[0] != '/' ||
	    l->warm > WARM_RESTORE) {
		errno = EINVAL;
		launch_die(con, "firecracker: a jail as root, or no jail");
	}
	/* <base>/firecracker/<id>/root, new: pyrod removed an old one. */
	snprintf(path, sizeof(path), "%.250s/root", l->jail);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			launch_die(con, "firecracker: making %s", path);
		*p = '/';
	}
	if (mkdir(path, 0755) < 0)
		launch_die(con, "firecracker: making the jail %s", path);
	if ((rootfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		launch_die(con, "firecracker: opening the jail");
	if (mkdirat(rootfd, "run", 0700) < 0 ||
	    (dfd = openat(rootfd, "run", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0 || fchown(dfd, l->uid, l->gid) < 0)
		launch_die(con, "firecracker: the jail's /run");
	close(dfd);
	/* A restore boots nothing: its kernel is in the saved memory. */
	if (l->warm != WARM_RESTORE) {
		jail_copy(con, fds[LFD_KERNEL], rootfd, FC_KERNEL + 1, l->uid,
		    l->gid, 0);
		jail_copy(con, fds[LFD_INITRD], rootfd, FC_INITRD + 1, l->uid,
		    l->gid, 0);
	}
	/*
	 * A save writes into files of the jail's own (new, empty; its disk
	 * a copy), which the vmhelper copies out once the snapshot is made:
	 * no inode of a template is ever the jail's.  A restore's state
	 * and memory are the template's inodes, root's, which pyrod made
	 * readable by the jail's group alone (Firecracker reads the state
	 * and maps the memory privately: nothing writes back into them).
	 */
	if (l->warm == WARM_SAVE) {
		jail_new(con, rootfd, FC_STATE + 1, l->uid, l->gid);
		jail_new(con, rootfd, FC_MEM + 1, l->uid, l->gid);
	} else if (l->warm == WARM_RESTORE) {
		jail_link(con, fds[LFD_STATE], rootfd, FC_STATE + 1, 0, l->uid,
		    l->gid);
		jail_link(con, fds[LFD_MEM], rootfd, FC_MEM + 1, 0, l->uid,
		    l->gid);
	}
	if (l->readonly || l->warm == WARM_SAVE)
		jail_copy(con, fds[LFD_DISK], rootfd, FC_ROOTFS + 1, l->uid,
		    l->gid, 1);
	else	/* The workspace's own disk, the same inode, as the jail's. */
		jail_link(con, fds[LFD_DISK], rootfd, FC_ROOTFS + 1, 1, l->uid,
		    l->gid);
	/* The vmhelper reads the jail (the pid file) through this fd. */
	if ((dfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		launch_die(con, "firecracker: the jail's fd");
	to_vmhelper(sock, 'R', 0, dfd);
	close(dfd);
	if ((run = openat(rootfd, "run", O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		launch_die(con, "firecracker: the jail's /run");
	/* A vmhelper that gave up waiting gets no Firecracker. */
	{
		struct pollfd hp = { sock, 0, 0 };

		if (poll(&hp, 1, 0) == 1 && (hp.revents & (POLLHUP |
		    POLLERR)))
			_exit(0);
	}
	if ((jailer = fork()) < 0)
		launch_die(con, "firecracker: fork");
	if (jailer == 0) {
		char *envp[] = { NULL };

		/* stdin /dev/null, stdout and stderr the console. */
		if ((dfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
		    dup2(con, 20) < 0 || dup2(dfd, 0) < 0 ||
		    dup2(20, 1) < 0 || dup2(20, 2) < 0)
			launch_die(con, "firecracker: stdio");
		(void)close_range(3, ~0U, 0);
		/* The jailer clears the environment itself; give it none. */
		execve(argv[0], argv, envp);
		launch_die(2, "firecracker: exec %s", argv[0]);
	}
	close(con);
	for (i = 0; i < LFD__MAX; i++)
		(void)close(fds[i]);
	/* --new-pid-ns: the jailer exits once Firecracker runs. */
	while (waitpid(jailer, &status, 0) < 0)
		if (errno != EINTR)
			_exit(121);
	/*
	 * The jailer gave the jail's root to Firecracker's uid; take it
	 * back before any guest code runs: Firecracker then writes only
	 * its /run and the disk, never new entries beside them.
	 */
	if (fchown(rootfd, 0, 0) < 0 || fchmod(rootfd, 0755) < 0)
		status = 0x7f00;	/* exit 127: not a jail to boot */
	to_vmhelper(sock, 'J', status, -1);
	/*
	 * The connector, until the vmhelper goes: the API ('A') and vsock
	 * ('V') sockets; after a save, the files Firecracker wrote
	 * (state 'S', memory 'M', disk 'D'), opened read-only: the
	 * vmhelper, without DAC capabilities, could not open the jail's.
	 */
	for (;;) {
		char	what;
		ssize_t	n = recv(sock, &what, 1, 0);
		int	fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && l->warm == WARM_SAVE && (what == 'S' ||
		    what == 'M' || what == 'D')) {
			fd = jail_open(rootfd, what == 'S' ? FC_STATE + 1 :
			    what == 'M' ? FC_MEM + 1 : FC_ROOTFS + 1);
			to_vmhelper(sock, what, fd < 0 ? fd : 0, fd);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (n != 1 || (what != 'A' && what != 'V')) {
			/*
			 * The vmhelper is gone (or done): nothing of this VM
			 * outlives it.  Firecracker has no parent-death
			 * signal, so its group's tasks get SIGKILL here.
			 */
			kill_own_group();
			_exit(0);
		}
		fd = fc_connect(run, what == 'A' ? "firecracker.sock" :
		    "firecracker.vsock", 1000);
		to_vmhelper(sock, what, fd < 0 ? fd : 0, fd);
		if (fd >= 0)
			close(fd);
	}
}
