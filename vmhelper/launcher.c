/*
 * The QEMU launcher: a child that pyro-vmhelper forks before it sandboxes
 * itself, so that it still has the privileges to build QEMU's jail.  It
 * waits for exactly one launch message from its parent, then:
 *
 *   1. enters a private mount namespace, so nothing it mounts is seen on
 *      the host;
 *   2. mounts an empty tmpfs over every directory QEMU must not see (the
 *      state directory with the other VMs' and workspaces' disks, pyrod's
 *      runtime directory) and puts only this VM's kernel and initramfs
 *      there, copied from fds that pyrod opened;
 *   3. moves the disk and channel fds to 3..7 and closes every other fd;
 *   4. drops to the unprivileged helper uid with no groups and no
 *      capabilities, asks for SIGKILL if the vmhelper dies, sets
 *      no_new_privs, and execs QEMU with its own seccomp sandbox on.
 *
 * The launcher trusts its parent (same binary, forked before any input was
 * read) but still bounds what it reads.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vmhelper.h"

static int
copy_to_file(int src, const char *path, uid_t uid, gid_t gid)
{
	struct stat	st;
	off_t		off = 0;
	ssize_t		n;
	int		dst;

	if (fstat(src, &st) < 0)
		return -errno;
	dst = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	if (dst < 0)
		return -errno;
	while (off < st.st_size) {
		n = sendfile(dst, src, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			close(dst);
			return n < 0 ? -errno : -EIO;
		}
	}
	if (fchown(dst, uid, gid) < 0) {
		close(dst);
		return -errno;
	}
	close(dst);
	return 0;
}

static unsigned long long
fsize(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/*
 * A launcher that cannot go on: "what: strerror(errno)" on con (the VM's
 * console, whose last line the vmhelper reports), then exit 120.
 */
void
launch_die(int con, const char *fmt, ...)
{
	char	buf[300];
	va_list	ap;
	int	n, e = errno;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s\n", strerror(e));
	if (con >= 0)
		(void)write(con, buf, strlen(buf));
	_exit(120);
}

static void __attribute__((noreturn))
launcher_fail(const char *what)
{
	log_warn("launcher: %s", what);
	_exit(120);
}

static void __attribute__((noreturn))
launcher_exec(struct launch *l, char *strings, int *fds)
{
	char		*argv[LAUNCH_ARGS_MAX + 1], *p = strings, path[300];
	char		 tmpdir[280], tmpenv[300], opts[128];
	char		*envp[3];
	uint32_t	 i;
	int		 k;

	for (i = 0; i < l->nargs; i++) {
		argv[i] = p;
		p += strlen(p) + 1;
	}
	argv[i] = NULL;

	if (unshare(CLONE_NEWNS) < 0)
		launcher_fail("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		launcher_fail("making / private");
	/*
	 * hide[1] (pyrod's run directory) may contain hide[0] (the state
	 * directory), as in tests: cover the outer one first, then recreate
	 * the inner mount point inside the new, empty tmpfs.
	 */
	for (k = 1; k >= 0; k--) {
		if (l->hide[k][0] == '\0')
			continue;
		/* hide[0] holds the kernel and initramfs; hide[1] nothing. */
		snprintf(opts, sizeof(opts), "mode=0755,size=%lluk",
		    k == 0 ? (fsize(fds[LFD_KERNEL]) +
		    fsize(fds[LFD_INITRD])) / 1024 + 16384 : 1024ULL);
		(void)mkdir(l->hide[k], 0755);
		if (mount("tmpfs", l->hide[k], "tmpfs", MS_NOSUID | MS_NODEV,
		    opts) < 0)
			launcher_fail("hiding a directory");
	}
	/* hide[0] is now an empty tmpfs: QEMU's whole view of pyro. */
	snprintf(path, sizeof(path), "%s/vmlinux", l->hide[0]);
	if (copy_to_file(fds[LFD_KERNEL], path, l->uid, l->gid) < 0)
		launcher_fail("copying the kernel");
	snprintf(path, sizeof(path), "%s/initramfs.cpio", l->hide[0]);
	if (copy_to_file(fds[LFD_INITRD], path, l->uid, l->gid) < 0)
		launcher_fail("copying the initramfs");
	/*
	 * QEMU's TMPDIR holds the snapshot overlay of a one-shot VM: its own
	 * tmpfs, as large as the disk image (the guest's filesystem cannot
	 * grow past it) plus slack, so writes never stall on ENOSPC and host
	 * memory per VM stays bounded.
	 */
	snprintf(tmpdir, sizeof(tmpdir), "%.256s/tmp", l->hide[0]);
	snprintf(opts, sizeof(opts), "mode=0700,uid=%u,gid=%u,size=%lluk",
	    l->uid, l->gid, fsize(fds[LFD_DISK]) / 1024 + 65536);
	if (mkdir(tmpdir, 0700) < 0 || mount("tmpfs", tmpdir, "tmpfs",
	    MS_NOSUID | MS_NODEV, opts) < 0)
		launcher_fail("making QEMU's TMPDIR");

	/* disk=3 agent=4 console=5 qmp=6 disk_ro=7 (tap=8), nothing else. */
	for (k = 0; k < LFD_KERNEL; k++)
		if (dup2(fds[k], 20 + k) < 0)
			launcher_fail("dup2");
	for (k = 0; k < LFD_KERNEL; k++)
		if (dup2(20 + k, 3 + k) < 0)
			launcher_fail("dup2");
	(void)close_range(3 + (l->tap ? LFD_TAP + 1 : LFD_TAP), ~0U, 0);

	if (setgroups(0, NULL) < 0 || setresgid(l->gid, l->gid, l->gid) < 0 ||
	    setresuid(l->uid, l->uid, l->uid) < 0)
		launcher_fail("dropping to the helper uid");
	if (setuid(0) == 0)
		launcher_fail("still able to become root");
	/* Cleared by the uid change above, so set it now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		_exit(121);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		launcher_fail("no_new_privs");
	envp[0] = "PATH=/usr/bin:/bin";
	snprintf(tmpenv, sizeof(tmpenv), "TMPDIR=%s", tmpdir);
	envp[1] = tmpenv;
	envp[2] = NULL;
	execve(argv[0], argv, envp);
	launcher_fail("exec QEMU");
}

void
launcher_main(int sock)
{
	static struct {
		struct launch	l;
		char		strings[LAUNCH_STRINGS_MAX];
	} m;
	struct iovec	 iov = { &m, sizeof(m) };
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(LFD__MAX * sizeof(int))];
	} cbuf;
	struct cmsghdr	*cm;
	int		 fds[LFD__MAX];
	ssize_t		 n;
	uint32_t	 i;
	char		*p, *end;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(0);	/* the vmhelper ended without a VM */
	cm = CMSG_FIRSTHDR(&mh);
	if ((size_t)n < sizeof(m.l) || (mh.msg_flags & (MSG_TRUNC |
	    MSG_CTRUNC)) || cm == NULL || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(LFD__MAX * sizeof(int)))
		launcher_fail("malformed launch message");
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	/* The strings must be exactly nargs NUL-terminated entries. */
	p = m.strings;
	end = (char *)&m + n;
	if (m.l.nargs == 0 || m.l.nargs > LAUNCH_ARGS_MAX)
		launcher_fail("bad argument count");
	for (i = 0; i < m.l.nargs; i++) {
		char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			launcher_fail("unterminated argument");
		p = nul + 1;
	}
	for (i = 0; i < 2; i++)
		if (memchr(m.l.hide[i], '\0', sizeof(m.l.hide[i])) == NULL)
			launcher_fail("unterminated directory");
	if (memchr(m.l.jail, '\0', sizeof(m.l.jail)) == NULL)
		launcher_fail("unterminated jail");
	if (m.l.mode == LAUNCH_HOST_COMPAT)
		hc_launcher(sock, &m.l, m.strings, fds);
	if (m.l.mode == LAUNCH_FIRECRACKER)
		fc_launcher(sock, &m.l, m.strings, fds);
	if (m.l.mode != LAUNCH_QEMU)
		launcher_fail("unknown launch mode");
	close(sock);
	launcher_exec(&m.l, m.strings, fds);
}
