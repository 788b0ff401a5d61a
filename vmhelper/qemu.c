/*
 * The QEMU driver: QEMU's command line (a microvm with the disk, agent,
 * console and QMP channels as inherited fds), its start through the
 * launcher (launcher.c builds its jail), QMP quit, and QMP's chatter
 * drained.  The agent, console and QMP channels are socketpairs, so QEMU
 * leaves no socket file behind on any path.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "guestproto.h"
#include "helper.h"
#include "log.h"
#include "msg.h"
#include "vmhelper.h"
#include "vmint.h"

static int
add_arg(char *buf, size_t *len, uint32_t *n, const char *fmt, ...)
{
	va_list	ap;
	int	k;

	if (*n >= LAUNCH_ARGS_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	k = vsnprintf(buf + *len, LAUNCH_STRINGS_MAX - *len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k + 1 > LAUNCH_STRINGS_MAX - *len)
		return -E2BIG;
	*len += (size_t)k + 1;
	(*n)++;
	return 0;
}

/*
 * QEMU's command line; fds 3..7 are the disk (read-write), the agent,
 * console and QMP channels, and the disk again read-only.
 */
static int
build_argv(const struct pyro_msg_vm_start *s, char *buf, size_t *len,
    uint32_t *n)
{
	const char	*dir = s->hide[0];
	int		 rc = 0;

#define A(...) do { if (rc == 0) rc = add_arg(buf, len, n, __VA_ARGS__); } while (0)
	A("%s", s->qemu);
	A("-M");
	A("microvm");
	A("-accel");
	A("%s", s->accel_kvm ? "kvm" : "tcg");
	A("-cpu");
	A("%s", s->accel_kvm ? "host" : "max");
	A("-m");
	A("%u", s->mem_mib);
	A("-smp");
	A("%u", s->vcpus);
	A("-nodefaults");
	A("-no-user-config");
	A("-display");
	A("none");
	A("-no-reboot");
	A("-kernel");
	A("%s/vmlinux", dir);
	A("-initrd");
	A("%s/initramfs.cpio", dir);
	A("-append");
	if (s->net.enabled) {
		char netarg[64];

		net_guest_arg(netarg, sizeof(netarg));
		A("console=ttyS0 quiet panic=-1 tsc_early_khz=%u tsc=reliable "
		    "pyro.net=%s", s->tsc_khz, netarg);
	} else
		A("console=ttyS0 quiet panic=-1 tsc_early_khz=%u tsc=reliable",
		    s->tsc_khz);
	A("-add-fd");
	A("fd=3,set=1");
	A("-add-fd");
	A("fd=7,set=1");
	A("-drive");
	/*
	 * snapshot=on: the environment's image stays read-only and writes go
	 * to a temporary overlay in QEMU's TMPDIR, the jail's own tmpfs.  A
	 * one-shot VM needs no copy of the disk it throws away.
	 */
	A("id=root,file=/dev/fdset/1,format=raw,if=none%s",
	    s->snapshot ? ",snapshot=on" : "");
	A("-device");
	A("virtio-blk-device,drive=root");
	A("-device");
	A("virtio-serial-device");
	A("-chardev");
	A("socket,id=agent,fd=4");
	A("-device");
	A("virtserialport,chardev=agent,name=%s", GP_PORT_NAME);
	A("-chardev");
	A("socket,id=con,fd=5");
	A("-serial");
	A("chardev:con");
	A("-chardev");
	A("socket,id=qmp,fd=6");
	A("-mon");
	A("chardev=qmp,mode=control");
	if (s->net.enabled) {
		/* The TAP is fd 8; the MAC is fixed and local (02:...). */
		A("-netdev");
		A("tap,id=net0,fd=8");
		A("-device");
		A("virtio-net-device,netdev=net0,mac=02:50:59:52:4f:01");
	}
	A("-sandbox");
	A("on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	    "resourcecontrol=deny");
#undef A
	return rc;
}

static int
qemu_launch(void)
{
	static struct {
		struct launch	l;
		char		strings[LAUNCH_STRINGS_MAX];
	} m;
	int		 agent[2], con[2], qmp[2], fds[LFD__MAX], rc, ro, disk;
	char		 self[64];
	size_t		 len = 0;
	struct iovec	 iov;
	memset(&m.l, 0, sizeof(m.l));
	m.l.mode = LAUNCH_QEMU;
	m.l.uid = vm.uid;
	m.l.gid = vm.gid;
	memcpy(m.l.hide, vm.start.hide, sizeof(m.l.hide));
	if ((rc = build_argv(&vm.start, m.strings, &len, &m.l.nargs)) < 0)
		return rc;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
		return -errno;
	/* Reopen our own disk read-only; we own it, no privilege needed. */
	disk = vm.start.snapshot ? vm.files[VM_FILE_ROOTFS] :
	    vm.files[VM_FILE_DISK];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", disk);
	if ((ro = open(self, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	fds[LFD_DISK] = disk;
	fds[LFD_DISK_RO] = ro;
	fds[LFD_AGENT] = agent[1];
	fds[LFD_CONSOLE] = con[1];
	fds[LFD_QMP] = qmp[1];
	/* Without a network the slot carries a copy of ro; fd 8 is closed. */
	m.l.tap = net_tap_fd() >= 0;
	fds[LFD_TAP] = m.l.tap ? net_tap_fd() : ro;
	fds[LFD_KERNEL] = vm.files[VM_FILE_KERNEL];
	fds[LFD_INITRD] = vm.files[VM_FILE_INITRD];

	iov.iov_base = &m;
	iov.iov_len = sizeof(m.l) + len;
	if ((rc = (int)pyro_sendmsg_fds(vm.launcher_sock, &iov, 1, fds,
	    LFD__MAX)) < 0)
		return rc;
	close(agent[1]);
	close(con[1]);
	close(qmp[1]);
	close(ro);
	close(vm.launcher_sock);
	vm.launcher_sock = -1;
	vm.agent = agent[0];
	vm.console = con[0];
	vm.ctl = qmp[0];
	/* The agent channel stays blocking: we read it only after POLLIN. */
	(void)fcntl(vm.console, F_SETFL, O_NONBLOCK);
	(void)fcntl(vm.ctl, F_SETFL, O_NONBLOCK);
	vm.vmm_pid = launcher_pid;
	vm.pidfd = (int)syscall(SYS_pidfd_open, launcher_pid, 0);
	if (vm.pidfd < 0)
		return -errno;
	return 0;
}

static void
qemu_ctl_event(void)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = read(vm.ctl, buf, sizeof(buf))) > 0)
		;
	if (n == 0) {
		close(vm.ctl);
		vm.ctl = -1;
	}
}

static void
qemu_quit(void)
{
	static const char cmd[] = "{\"execute\":\"qmp_capabilities\"}\n"
	    "{\"execute\":\"quit\"}\n";

	if (vm.ctl >= 0)
		(void)pyro_write_all(vm.ctl, cmd, sizeof(cmd) - 1);
}

static void
qemu_kill(void)
{
	(void)kill(vm.vmm_pid, SIGKILL);
}

const struct vmm_driver vmm_qemu = {
	"QEMU", qemu_launch, qemu_quit, qemu_ctl_event, qemu_kill, NULL, NULL
};
