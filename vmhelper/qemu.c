/*
 * The QEMU driver: QEMU's command line (a microvm with the disk, agent,
 * console and QMP channels as inherited fds), its start through the
 * launcher (launcher.c builds its jail), QMP quit, and QMP's chatter
 * drained.  The agent, console and QMP channels are socketpairs, so QEMU
 * leaves no socket file behind on any path.
 *
 * Warm start talks QMP for real: a save is stop, getfd (the state file
 * passed with SCM_RIGHTS), migrate "fd:", query-migrate until completed;
 * a restore starts QEMU with "-incoming defer", then getfd,
 * migrate-incoming "fd:", query-migrate until completed, cont.  "fd:"
 * because QEMU's own sandbox (spawn=deny) kills it on "exec:" migration.
 * QMP's answers are QEMU's, not the guest's; still, each line is bounded
 * and parsed by cJSON, and only our own ids are read.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
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
	/*
	 * No image locking: the disk is this VM's alone (pyrod runs one VM
	 * per record, and QEMU sees no other disk), and the lock QEMU takes
	 * again when a migration activates the disk (a restore, a forked VM
	 * that continues) trips over the fdset's second descriptor of the
	 * same file.
	 */
	A("id=root,file=/dev/fdset/1,format=raw,if=none,file.locking=off%s",
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
	if (s->net.enabled || s->nic) {
		/*
		 * The TAP is fd 8; the MAC is fixed and local (02:...).  A
		 * networked shape's template has the same NIC on a hub port
		 * with nothing else on it: a restore's VM (with its TAP)
		 * then has the devices the saved state names.
		 */
		A("-netdev");
		A(s->net.enabled ? "tap,id=net0,fd=8" : "hubport,id=net0,"
		    "hubid=0");
		A("-device");
		A("virtio-net-device,netdev=net0,mac=02:50:59:52:4f:01");
	}
	if (s->warm == WARM_RESTORE) {
		A("-incoming");
		A("defer");
	}
	A("-sandbox");
	A("on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	    "resourcecontrol=deny");
#undef A
	return rc;
}

/*
 * The QMP conversation of a save or a restore: one command in flight,
 * each with its step number as its id; query-migrate is asked again every
 * POLL_MS until the migration completed or failed.
 */
#define QMP_LINE_MAX	65536
#define POLL_MS		10
enum qstep {
	Q_IDLE,
	Q_CAPS,
	Q_STOP,
	Q_GETFD,
	Q_MIGRATE,
	Q_POLL,
	Q_CONT,
	Q_DONE,
};
static const enum qstep save_steps[] = {
	Q_CAPS, Q_STOP, Q_GETFD, Q_MIGRATE, Q_POLL, Q_DONE
};
static const enum qstep restore_steps[] = {
	Q_CAPS, Q_GETFD, Q_MIGRATE, Q_POLL, Q_CONT, Q_DONE
};
static const enum qstep cont_steps[] = {
	Q_CONT, Q_DONE
};
static struct {
	const enum qstep *steps;
	int		 at;		/* index into steps */
	int		 waiting;	/* a command is in flight */
	long long	 poll_at;	/* ms: ask query-migrate again */
	int		 negotiated;	/* qmp_capabilities was answered */
	int		 outgoing;	/* a save (or a fork), not a restore */
	char		 line[QMP_LINE_MAX];
	size_t		 len;
	char		 why[160];
} q;

static enum qstep
q_step(void)
{
	return q.steps != NULL ? q.steps[q.at] : Q_IDLE;
}

static void
q_fail(const char *what, const char *detail)
{
	q.steps = NULL;
	snprintf(q.why, sizeof(q.why), "%s%.100s", what, detail);
	vm_warm_done(-EIO, q.why);
}

/* Send the current step's command. */
static void
q_send(void)
{
	char		 cmd[256];
	const char	*fdname = q.outgoing ? "mig" : "in";
	int		 id, n = 0, fd = -1;
	struct iovec	 iov;

	/* QMP negotiates once per connection (a fork of a restored VM,
	 * a second fork). */
	if (q_step() == Q_CAPS && q.negotiated)
		q.at++;
	id = q.at + 1;
	switch (q_step()) {
	case Q_CAPS:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":"
		    "\"qmp_capabilities\",\"id\":%d}\n", id);
		break;
	case Q_STOP:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":\"stop\","
		    "\"id\":%d}\n", id);
		break;
	case Q_GETFD:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":\"getfd\","
		    "\"arguments\":{\"fdname\":\"%s\"},\"id\":%d}\n", fdname,
		    id);
		fd = vm.files[VM_FILE_STATE];
		break;
	case Q_MIGRATE:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\","
		    "\"arguments\":{\"uri\":\"fd:%s\"},\"id\":%d}\n",
		    q.outgoing ? "migrate" : "migrate-incoming",
		    fdname, id);
		break;
	case Q_POLL:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":"
		    "\"query-migrate\",\"id\":%d}\n", id);
		break;
	case Q_CONT:
		n = snprintf(cmd, sizeof(cmd), "{\"execute\":\"cont\","
		    "\"id\":%d}\n", id);
		break;
	case Q_DONE:
		q.steps = NULL;
		vm_warm_done(0, "");
		return;
	case Q_IDLE:
		return;
	}
	log_debug("qmp: %.*s", n - 1, cmd);
	iov.iov_base = cmd;
	iov.iov_len = (size_t)n;
	if ((fd >= 0 ? pyro_sendmsg_fds(vm.ctl, &iov, 1, &fd, 1) :
	    pyro_write_all(vm.ctl, cmd, (size_t)n)) < 0) {
		q_fail("cannot talk to QEMU's monitor", "");
		return;
	}
	q.waiting = 1;
}

/* One line from QMP: the answer to our command, or chatter to skip. */
static void
q_line(const char *line)
{
	cJSON		*o = cJSON_Parse(line), *id, *ret, *err, *st;
	const char	*status;

	log_debug("qmp said: %.200s", line);
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (o == NULL || q.steps == NULL || !q.waiting ||
	    !cJSON_IsNumber(id) || id->valueint != q.at + 1) {
		cJSON_Delete(o);
		return;			/* the greeting, events, quit's reply */
	}
	q.waiting = 0;
	err = cJSON_GetObjectItemCaseSensitive(o, "error");
	ret = cJSON_GetObjectItemCaseSensitive(o, "return");
	if (err != NULL || ret == NULL) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(err, "desc");

		q_fail("QEMU refused the migration: ",
		    cJSON_IsString(d) ? d->valuestring : "no reason given");
		cJSON_Delete(o);
		return;
	}
	if (q_step() == Q_POLL) {
		st = cJSON_GetObjectItemCaseSensitive(ret, "status");
		status = cJSON_IsString(st) ? st->valuestring : "";
		if (strcmp(status, "failed") == 0 ||
		    strcmp(status, "cancelled") == 0) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(ret,
			    "error-desc");

			q_fail("the migration failed: ",
			    cJSON_IsString(d) ? d->valuestring : status);
			cJSON_Delete(o);
			return;
		}
		if (strcmp(status, "completed") != 0) {
			q.poll_at = pyro_mono_ms() + POLL_MS;
			cJSON_Delete(o);
			return;
		}
	}
	cJSON_Delete(o);
	if (q_step() == Q_CAPS)
		q.negotiated = 1;
	q.at++;
	q_send();
}

static void
q_start(const enum qstep *steps)
{
	q.steps = steps;
	q.outgoing = steps == save_steps;
	q.at = 0;
	q.len = 0;
	q.poll_at = 0;
	q_send();
}

static int
qemu_save(void)
{
	if (vm.ctl < 0 || vm.files[VM_FILE_STATE] < 0)
		return -EBADF;
	q_start(save_steps);
	return 0;
}

/* Run a VM saved by a fork again (the source goes on). */
static int
qemu_resume(void)
{
	if (vm.ctl < 0)
		return -EBADF;
	q_start(cont_steps);
	return 0;
}

static int
qemu_tick(void)
{
	long long	left;

	if (q.steps == NULL || q.waiting || q.poll_at == 0)
		return -1;
	left = q.poll_at - pyro_mono_ms();
	if (left > 0)
		return (int)left;
	q.poll_at = 0;
	q_send();
	return -1;
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
	fds[LFD_STATE] = fds[LFD_MEM] = ro;	/* placeholders, closed */

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
	if (vm.start.warm == WARM_RESTORE)
		q_start(restore_steps);
	return 0;
}

static void
qemu_ctl_event(void)
{
	char	buf[4096], *nl;
	ssize_t	n;
	size_t	k;

	while ((n = read(vm.ctl, buf, sizeof(buf))) > 0) {
		if (q.steps == NULL)
			continue;	/* no conversation: chatter */
		if (q.len + (size_t)n >= sizeof(q.line)) {
			q_fail("QEMU's monitor sent a line over 64 KiB", "");
			continue;
		}
		memcpy(q.line + q.len, buf, (size_t)n);
		q.len += (size_t)n;
		q.line[q.len] = '\0';
		/* Take the line out first: q_line() may begin another
		 * conversation (a fork's cont), which empties the buffer. */
		while (q.steps != NULL && (nl = memchr(q.line, '\n',
		    q.len)) != NULL) {
			static char one[QMP_LINE_MAX];

			k = (size_t)(nl - q.line) + 1;
			memcpy(one, q.line, k - 1);
			one[k - 1] = '\0';
			memmove(q.line, q.line + k, q.len - k);
			q.len -= k;
			q.line[q.len] = '\0';
			q_line(one);
		}
	}
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
	"QEMU", qemu_launch, qemu_quit, qemu_ctl_event, qemu_kill, qemu_tick,
	NULL, qemu_save, qemu_resume
};
