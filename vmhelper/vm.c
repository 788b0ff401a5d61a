/*
 * One VM under its VMM (a driver: QEMU in qemu.c).  pyrod hands over the
 * files (kernel, initramfs, the environment's rootfs, the VM's own disk)
 * as fds, then VM_START; we copy the disk, start the VMM through its
 * driver, wait for the agent's hello, relay execs, and stop the VM: agent
 * power-off, then the VMM's own quit, then SIGKILL, each with a deadline.
 *
 * Trust boundary: the guest agent's frames are checked with gp_check() and
 * gp_exec_parse() bounds; a guest that breaks the protocol gets its VM
 * stopped.  Output is forwarded chunk by chunk and never accumulated.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/random.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/fs.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "errcode.h"
#include "frame.h"
#include "clock.h"
#include "guestproto.h"
#include "helper.h"
#include "log.h"
#include "msg.h"
#include "vmhelper.h"
#include "vmint.h"

#define POWEROFF_WAIT_MS	10000
#define QUIT_WAIT_MS		3000
#define SAVE_WAIT_MS		60000
#define FORK_FLUSH_MS		10000	/* a guest that does not quiesce */
#define AGENT_OUTQ_MAX		(8 * 1024 * 1024)
#define NET_POLL_MAX		(DNS_POLL_MAX + 16 + 2 * 64)	/* DNS, proxy */

struct vm		vm;
pid_t			launcher_pid = -1;
static const struct vmm_driver *drv = &vmm_qemu;


int
vm_launcher_fork(void)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((launcher_pid = fork()) < 0)
		return -errno;
	if (launcher_pid == 0) {
		close(sv[0]);
		(void)close(PYRO_HELPER_FD);
		launcher_main(sv[1]);
	}
	close(sv[1]);
	vm.launcher_sock = sv[0];
	return 0;
}

/* Up to len bytes at off, by pread and pwrite: the count, or -errno. */
static ssize_t
copy_plain(int src, int dst, off_t off, size_t len)
{
	static uint8_t	buf[1 << 20];
	ssize_t		n, w, done;

	n = pread(src, buf, len < sizeof(buf) ? len : sizeof(buf), off);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	for (done = 0; done < n; done += w)
		if ((w = pwrite(dst, buf + done, (size_t)(n - done),
		    off + done)) <= 0)
			return w < 0 ? -errno : -EIO;
	return n;
}

/*
 * Copy the environment's image into the VM's disk without reading holes:
 * a reflink where the filesystem can, else data extents only.
 */
int
copy_sparse(int src, int dst)
{
	struct stat	st;
	off_t		data, hole, off;
	ssize_t		n;

	if (fstat(src, &st) < 0)
		return -errno;
	if (ioctl(dst, FICLONE, src) == 0)
		return 0;
	/* Nothing of an earlier copy (a restore that fell back) stays. */
	if (ftruncate(dst, 0) < 0 || ftruncate(dst, st.st_size) < 0)
		return -errno;
	for (off = 0; off < st.st_size; off = hole) {
		data = lseek(src, off, SEEK_DATA);
		if (data < 0)
			break;		/* ENXIO: only a hole is left */
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		off = data;
		while (off < hole) {
			loff_t in = off, out = off;

			n = copy_file_range(src, &in, dst, &out,
			    (size_t)(hole - off), 0);
			/* Across filesystems (the state directory elsewhere
			 * than the cache): plain reads and writes. */
			if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP ||
			    errno == EINVAL || errno == ENOSYS))
				n = copy_plain(src, dst, off,
				    (size_t)(hole - off));
			else if (n < 0)
				n = -errno;
			if (n <= 0)
				return n < 0 ? (int)n : -EIO;
			off += n;
		}
	}
	return fsync(dst) < 0 ? -errno : 0;
}

/* The hex sha256 of the whole file behind fd. */
static int
sha256_fd(int fd, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
	static uint8_t		buf[1 << 20];
	struct sha256_ctx	ctx;
	uint8_t			dg[SHA256_DIGEST_SIZE];
	off_t			off = 0;
	ssize_t			n;
	int			i;

	sha256_init(&ctx);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		sha256_update(&ctx, (size_t)n, buf);
		off += n;
	}
	if (n < 0)
		return -errno;
	sha256_digest(&ctx, sizeof(dg), dg);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", dg[i]);
	return 0;
}

/* Does the file behind fd hash to the manifest's hex sha256? */
static int
verify_part(int fd, const char *want)
{
	char	hex[2 * SHA256_DIGEST_SIZE + 1];
	int	rc;

	if ((rc = sha256_fd(fd, hex)) < 0)
		return rc;
	return strncmp(hex, want, sizeof(hex)) == 0 ? 0 : -EBADMSG;
}

/* Write what the agent channel takes now; keep the rest queued. */
static int
agent_flush(void)
{
	ssize_t	w;
	size_t	off = 0;

	while (off < vm.outlen) {
		w = send(vm.agent, vm.outq + off, vm.outlen - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -EPIPE;
		}
		off += (size_t)w;
	}
	memmove(vm.outq, vm.outq + off, vm.outlen - off);
	vm.outlen -= off;
	return 0;
}

static int
agent_send(uint16_t type, uint32_t stream, const void *p, size_t len)
{
	struct gp_hdr	 h;
	size_t		 need = vm.outlen + sizeof(h) + len;
	uint8_t		*q;

	if (vm.agent < 0)
		return -EPIPE;
	if (need > AGENT_OUTQ_MAX)
		return -ENOBUFS;
	if (need > vm.outcap) {
		size_t cap = vm.outcap ? vm.outcap : 65536;

		while (cap < need)
			cap *= 2;
		if ((q = realloc(vm.outq, cap)) == NULL)
			return -ENOMEM;
		vm.outq = q;
		vm.outcap = cap;
	}
	gp_hdr_set(&h, type, stream, (uint32_t)len);
	memcpy(vm.outq + vm.outlen, &h, sizeof(h));
	if (len)
		memcpy(vm.outq + vm.outlen + sizeof(h), p, len);
	vm.outlen += sizeof(h) + len;
	return agent_flush();
}

static struct stdin_src *
src_find(uint32_t stream)
{
	int	i;

	for (i = 0; i < STDIN_SOURCES_MAX; i++)
		if (vm.src[i].stream == stream && stream != 0)
			return &vm.src[i];
	return NULL;
}

static void
src_close(struct stdin_src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->stream = 0;
	s->inflight = 0;
}

/* The input ends: EOF to the agent; the slot stays until the exec ends. */
static void
src_end(struct stdin_src *s)
{
	(void)agent_send(GP_STDIN, s->stream, NULL, 0);
	close(s->fd);
	s->fd = -1;
}

/* The source is readable and the window open: one chunk to the agent. */
static void
src_pump(struct stdin_src *s)
{
	static uint8_t	buf[GP_MAXPAYLOAD];
	size_t		room = GP_STDIN_WINDOW - s->inflight;
	ssize_t		n;

	n = read(s->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF (or a broken source, which ends the input too). */
		src_end(s);
		return;
	}
	s->inflight += (uint32_t)n;
	(void)agent_send(GP_STDIN, s->stream, buf, (size_t)n);
}

static void
console_keep(void)
{
	char	buf[4096];
	ssize_t	n;

	while (vm.console >= 0 && (n = read(vm.console, buf,
	    sizeof(buf))) != 0) {
		if (n < 0)
			return;		/* EAGAIN: nothing more for now */
		size_t k = (size_t)n;

		if (k >= sizeof(vm.con)) {
			memcpy(vm.con, buf + k - sizeof(vm.con), sizeof(vm.con));
			vm.conlen = sizeof(vm.con);
			continue;
		}
		if (vm.conlen + k > sizeof(vm.con)) {
			size_t drop = vm.conlen + k - sizeof(vm.con);
			memmove(vm.con, vm.con + drop, vm.conlen - drop);
			vm.conlen -= drop;
		}
		memcpy(vm.con + vm.conlen, buf, k);
		vm.conlen += k;
	}
	if (vm.console >= 0) {		/* EOF: QEMU is going away */
		close(vm.console);
		vm.console = -1;
	}
}

/*
 * Host-compat: the console's last line (its launcher says there why it
 * could not start the sandbox), printable and bounded, as "; it said:
 * ...".  The sandbox can write there too: it is shown, never trusted.
 */
static const char *
console_last_line(void)
{
	static char	out[220];
	size_t		end, start, i, k;

	out[0] = '\0';
	if (drv == &vmm_qemu)
		return out;
	console_keep();
	end = vm.conlen;
	while (end > 0 && (vm.con[end - 1] == '\n' || vm.con[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && vm.con[start - 1] != '\n')
		start--;
	if (end - start > 160)
		start = end - 160;
	if (start == end)
		return out;
	k = (size_t)snprintf(out, sizeof(out), "; it said: ");
	for (i = start; i < end && k < sizeof(out) - 1; i++)
		out[k++] = vm.con[i] >= 0x20 && vm.con[i] < 0x7f ?
		    vm.con[i] : '?';
	out[k] = '\0';
	return out;
}

/*
 * QEMU died without being asked: say why, an OOM kill in its cgroup as
 * vm_oom (never as a guest that broke the protocol).  Once.
 */
static void
vmm_death_report(int status)
{
	static int	said;

	if (said || vm.stopping)
		return;
	said = 1;
	/* Host-compat's launcher passes its PID 1's SIGKILL on as 137. */
	if (((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	    (drv == &vmm_host_compat && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 128 + SIGKILL)) && cg_oomed())
		(void)helper_send_error(0, PYRO_E_VM_OOM, "the VM went over its "
		    "memory limit of %llu MiB (%u MiB of guest memory, the "
		    "VMM's overhead and its disk's page cache) and its VMM was "
		    "killed", (unsigned long long)(vm.start.cg.mem_bytes >> 20),
		    vm.start.mem_mib);
	else if (vm.warm_stage == WS_LOADING)
		/* QEMU refused the template's state: the template's fault. */
		(void)helper_send_error(0, PYRO_E_GUEST_BOOT_FAILED,
		    "restoring the VM: the VMM (%s) ended while loading the "
		    "state (wait status %#x)", drv->name, status);
	else if (WIFSIGNALED(status))
		(void)helper_send_error(0, PYRO_E_HELPER_FAILED, "the "
		    "VMM (%s) exited: killed by signal %d (%s)", drv->name,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		(void)helper_send_error(0, PYRO_E_HELPER_FAILED, "the "
		    "VMM (%s) exited with status %d (wait status "
		    "%#x)%s", drv->name, WEXITSTATUS(status), status,
		    console_last_line());
}

/* Report the end of the VM and exit: nothing of it is left behind. */
static void __attribute__((noreturn))
vm_finish(int forced, int status)
{
	struct pyro_msg_vm_stopped	s;
	size_t				k;

	if (!vm.stopping && vm.vmm_pid > 0 && (WIFSIGNALED(status) ||
	    !vm.ready))
		vmm_death_report(status);
	/* A launcher that outlives its VMM (Firecracker's jail connector)
	 * leaves with our word, before its group goes. */
	if (vm.launcher_sock >= 0) {
		close(vm.launcher_sock);
		vm.launcher_sock = -1;
	}
	for (int t = 0; launcher_pid > 0 && launcher_pid != vm.vmm_pid &&
	    t < 50 && waitpid(launcher_pid, NULL, WNOHANG) == 0; t++)
		(void)poll(NULL, 0, 20);
	cg_remove();
	memset(&s, 0, sizeof(s));
	s.forced = (uint32_t)forced;
	s.unexpected = (uint32_t)!vm.stopping;
	s.status = status;
	console_keep();
	k = vm.conlen < sizeof(s.console) - 1 ? vm.conlen :
	    sizeof(s.console) - 1;
	memcpy(s.console, vm.con + vm.conlen - k, k);
	net_teardown();
	(void)pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_STOPPED, 0, &s,
	    sizeof(s), -1);
	_exit(0);
}

static void __attribute__((noreturn))
vmm_reap_and_finish(int forced)
{
	int	status = 0;

	(void)waitpid(vm.vmm_pid, &status, 0);
	vm_finish(forced, status);
}

/*
 * The agent channel broke: if that is because QEMU itself died (killed,
 * crashed), say so with its wait status and finish, rather than blame the
 * guest.  Its exit and the channel's hangup race, so wait a little.
 */
static void
vmm_gone_check(void)
{
	struct pollfd	p = { vm.pidfd, POLLIN, 0 };
	int		status = 0;

	if (vm.pidfd < 0 || vm.vmm_pid <= 0 || poll(&p, 1, 500) != 1 ||
	    !(p.revents & POLLIN) || waitpid(vm.vmm_pid, &status, 0) < 0)
		return;
	vmm_death_report(status);
	vm_finish(vm.stop_stage > 0, status);
}

static void __attribute__((noreturn))
vm_kill_now(void)
{
	/* Our own decision: its end is no unexpected death to report. */
	vm.stopping = 1;
	drv->kill();
	vmm_reap_and_finish(1);
}

/* Escalate: power-off was asked; then the VMM's own quit; then SIGKILL. */
static void
stop_escalate(void)
{
	if (vm.stop_stage == 0) {
		log_warnx("guest did not power off in time; %s quit",
		    drv->name);
		drv->quit();
		vm.stop_stage = 1;
		vm.deadline = pyro_mono_ms() + QUIT_WAIT_MS;
		return;
	}
	log_warnx("%s did not quit in time; SIGKILL", drv->name);
	vm_kill_now();
}

static void
vm_stop(void)
{
	vm.stopping = 1;
	if (!vm.ready || agent_send(GP_POWEROFF, 0, NULL, 0) < 0) {
		vm.stop_stage = 0;
		stop_escalate();
		return;
	}
	vm.stop_stage = 0;
	vm.deadline = pyro_mono_ms() + POWEROFF_WAIT_MS;
}

/*
 * The agent has reset the clock, reseeded and (a networked VM) set its
 * address: the VM is ready.
 */
static int
on_resumed(const uint8_t *p, size_t len)
{
	struct pyro_msg_vm_ready	r;
	struct gp_resumed		g;

	memset(&g, 0, sizeof(g));
	memcpy(&g, p, len < sizeof(g) ? len : sizeof(g));
	/* A network was asked of a version 3 agent: its answer says. */
	if (vm.start.net.enabled && (len < sizeof(g) || g.version < 3))
		g.net_error = EPROTO;
	/* Each version's answer has its own size. */
	if (g.version < GP_VERSION_MIN || g.version > GP_VERSION ||
	    len != (g.version >= 3 ? sizeof(g) : GP_RESUMED_V2_SIZE) ||
	    g.clock_error != 0 || g.entropy_error != 0 || g.net_error != 0) {
		/* A clone that shares its siblings' CRNG, runs on the
		 * template's clock or has no address is not handed out:
		 * pyrod boots cold. */
		(void)helper_send_error(0, PYRO_E_GUEST_BOOT_FAILED, "the "
		    "restored guest could not %s (agent protocol %u, errno "
		    "%d)", g.entropy_error != 0 ? "reseed its CRNG" :
		    g.clock_error != 0 ? "set its clock" : g.net_error != 0 ?
		    "configure its network" : "resume", g.version,
		    g.entropy_error != 0 ? g.entropy_error : g.clock_error != 0 ?
		    g.clock_error : g.net_error);
		vm_kill_now();
	}
	vm.warm_stage = WS_NONE;
	vm.ready = 1;
	vm.deadline = 0;
	/* The VMM has read the state: it is not needed again. */
	for (int k = VM_FILE_STATE; k <= VM_FILE_MEM; k++) {
		if (vm.files[k] >= 0)
			close(vm.files[k]);
		vm.files[k] = -1;
	}
	memset(&r, 0, sizeof(r));
	r.boot_ms = (uint32_t)(pyro_mono_ms() - vm.started_ms);
	r.restored = 1;
	return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_READY, 0, &r,
	    sizeof(r), -1);
}

/* A saved file on disk, and its size: 0, or -1 (errno). */
static int
sync_size(int fd, uint64_t *bytes)
{
	struct stat	st;

	if (fsync(fd) < 0 || fstat(fd, &st) < 0)
		return -1;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

/* The fork's answer to pyrod; the fork's files are closed. */
static void
fork_end(void)
{
	long long	now = pyro_mono_ms();

	vm.fork.paused_ms = (uint32_t)(now - vm.save_t0);
	(void)pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_FORKED, 0, &vm.fork,
	    sizeof(vm.fork), -1);
	if (vm.fork_disk >= 0)
		close(vm.fork_disk);
	if (vm.files[VM_FILE_STATE] >= 0)
		close(vm.files[VM_FILE_STATE]);
	vm.fork_disk = vm.files[VM_FILE_STATE] = -1;
	vm.forking = 0;
	vm.warm_stage = WS_NONE;
}

static void
fork_fail(int rc, const char *what)
{
	if (vm.fork.err == 0) {
		vm.fork.err = rc < 0 ? rc : -EIO;
		snprintf(vm.fork.message, sizeof(vm.fork.message), "%s", what);
	}
}

/*
 * A fork's steps: the VM was saved (or not): copy its disk while it is
 * stopped, then continue it; once it runs again, answer pyrod.  The
 * source never stays stopped: a failed fork continues it too, and a VM
 * that cannot continue is stopped for good.
 */
static void
fork_step(int rc, const char *why)
{
	long long	t0;

	if (vm.warm_stage == WS_SAVING) {
		vm.fork.save_ms = (uint32_t)(pyro_mono_ms() - vm.save_t0);
		if (rc < 0)
			fork_fail(rc, why);
		else if (sync_size(vm.files[VM_FILE_STATE],
		    &vm.fork.state_bytes) < 0)
			fork_fail(-errno, "syncing the fork's state");
		else {
			t0 = pyro_mono_ms();
			if ((rc = copy_sparse(vm.files[VM_FILE_DISK],
			    vm.fork_disk)) < 0)
				fork_fail(rc, "copying the disk");
			vm.fork.copy_ms = (uint32_t)(pyro_mono_ms() - t0);
		}
		vm.warm_stage = WS_CONTINUING;
		if ((rc = drv->resume()) < 0)
			fork_step(rc, "the VMM cannot continue");
		return;
	}
	if (vm.warm_stage != WS_CONTINUING)
		return;
	if (rc < 0) {
		/* The fork may be whole; the source is not. */
		vm.fork.resumed = 0;
		fork_end();
		(void)helper_send_error(0, PYRO_E_INTERNAL, "the VM could not "
		    "run again after its fork: %s", why);
		vm_kill_now();
	}
	vm.fork.resumed = 1;
	fork_end();
}

/*
 * The driver's save or restore ended.  A save: the state is complete;
 * sync it, tell pyrod, and have the VMM quit (a template is never run
 * on).  A restore: the guest runs again; its first frame is GP_RESUME,
 * the host's clock and 64 fresh bytes, before anything else.
 */
void
vm_warm_done(int rc, const char *why)
{
	if (vm.forking) {
		fork_step(rc, why);
		return;
	}
	if (rc < 0) {
		log_warnx("%s: %s", vm.start.warm == WARM_SAVE ? "save" :
		    "restore", why);
		(void)helper_send_error(0, PYRO_E_GUEST_BOOT_FAILED, "%s the "
		    "VM: %s", vm.start.warm == WARM_SAVE ? "saving" :
		    "restoring", why);
		vm_kill_now();
	}
	if (vm.start.warm == WARM_SAVE && vm.warm_stage == WS_SAVING) {
		struct pyro_msg_vm_saved	sv;

		memset(&sv, 0, sizeof(sv));
		sv.save_ms = (uint32_t)(pyro_mono_ms() - vm.save_t0);
		/* The guest is stopped: its disk is what the state holds. */
		if (sync_size(vm.files[VM_FILE_STATE], &sv.state_bytes) < 0 ||
		    fsync(vm.files[VM_FILE_DISK]) < 0) {
			vm_warm_done(-errno, "syncing the state file");
			return;
		}
		/* Firecracker's guest memory is a file of its own. */
		if (vm.files[VM_FILE_MEM] >= 0 &&
		    sync_size(vm.files[VM_FILE_MEM], &sv.mem_bytes) < 0) {
			vm_warm_done(-errno, "syncing the memory file");
			return;
		}
		if (sha256_fd(vm.files[VM_FILE_STATE], sv.state_sha256) < 0 ||
		    sha256_fd(vm.files[VM_FILE_DISK], sv.disk_sha256) < 0 ||
		    (vm.files[VM_FILE_MEM] >= 0 &&
		    sha256_fd(vm.files[VM_FILE_MEM], sv.mem_sha256) < 0)) {
			vm_warm_done(-EIO, "hashing the template");
			return;
		}
		sv.boot_ms = (uint32_t)vm.boot_ms;
		vm.warm_stage = WS_NONE;
		(void)pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_SAVED, 0, &sv,
		    sizeof(sv), -1);
		vm.stopping = 1;
		vm.stop_stage = 1;
		drv->quit();
		vm.deadline = pyro_mono_ms() + QUIT_WAIT_MS;
		return;
	}
	if (vm.start.warm == WARM_RESTORE && vm.warm_stage == WS_LOADING) {
		struct gp_resume	r;
		struct timespec		ts;

		memset(&r, 0, sizeof(r));
		if (getrandom(r.seed, sizeof(r.seed), 0) !=
		    (ssize_t)sizeof(r.seed)) {
			vm_warm_done(-EIO, "no entropy for the guest");
			return;
		}
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		r.realtime_sec = ts.tv_sec;
		r.realtime_nsec = (uint32_t)ts.tv_nsec;
		memcpy(r.hostname, "pyro", 5);
		vm.warm_stage = WS_RESUMING;
		if (vm.start.net.enabled) {
			/* Its template's NIC has no address: this VM's. */
			struct {
				struct gp_resume	r;
				struct gp_resume_net	n;
			} __attribute__((packed)) rn;

			r.flags = GP_RESUME_NET;
			rn.r = r;
			rn.n.addr = net_guest_addr();	/* network order */
			rn.n.gateway = net_gateway();	/* the TAP's */
			rc = agent_send(GP_RESUME, 0, &rn, sizeof(rn));
			explicit_bzero(&rn, sizeof(rn));
		} else
			rc = agent_send(GP_RESUME, 0, &r, sizeof(r));
		explicit_bzero(&r, sizeof(r));
		if (rc < 0)
			vm_warm_done(rc, "cannot reach the restored agent");
	}
}

static int
on_agent_frame(struct gp_hdr *h, uint8_t *p)
{
	switch (h->type) {
	case GP_HELLO: {
		struct pyro_msg_vm_ready r;
		struct gp_hello g;

		/* A restored guest has said hello already, in its template. */
		if (vm.ready || vm.warm_stage != WS_NONE ||
		    vm.start.warm == WARM_RESTORE)
			return -EPROTO;
		memcpy(&g, p, sizeof(g));
		if (g.version < GP_VERSION_MIN || g.version > GP_VERSION) {
			/* An environment built by another pyro release. */
			(void)helper_send_error(0, PYRO_E_ENVIRONMENT_CORRUPT,
			    "the environment's guest agent speaks protocol %u, "
			    "this pyro speaks %u to %u: rebuild the environment "
			    "(pyro env pull NAME)", g.version, GP_VERSION_MIN,
			    GP_VERSION);
			return -EPROTONOSUPPORT;
		}
		/* A networked template's guest takes its address at restore. */
		if (vm.start.warm == WARM_SAVE && vm.start.nic && g.version < 3) {
			(void)helper_send_error(0, PYRO_E_UNSUPPORTED, "the "
			    "environment's guest agent (protocol %u) cannot take "
			    "an address after a restore: rebuild the environment "
			    "(pyro env pull NAME --force) for networked templates",
			    g.version);
			return -EPROTONOSUPPORT;
		}
		if (vm.start.warm == WARM_SAVE) {
			/* Quiesce at a frame boundary, then save. */
			vm.boot_ms = pyro_mono_ms() - vm.started_ms;
			vm.warm_stage = WS_FLUSH;
			vm.deadline = pyro_mono_ms() + SAVE_WAIT_MS;
			return agent_send(GP_FLUSH, 0, NULL, 0);
		}
		vm.ready = 1;
		vm.deadline = 0;
		memset(&r, 0, sizeof(r));
		r.boot_ms = (uint32_t)(pyro_mono_ms() - vm.started_ms);
		memcpy(r.kernel, g.kernel, sizeof(r.kernel) - 1);
		return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_READY, 0, &r,
		    sizeof(r), -1);
	}
	case GP_STDOUT:
	case GP_STDERR: {
		static uint8_t buf[PYRO_MSG_MAXPAYLOAD];
		struct pyro_msg_output o = { h->stream,
		    h->type == GP_STDOUT ? 1 : 2 };
		size_t max = PYRO_MSG_MAXPAYLOAD - sizeof(o), off = 0, k;

		while (off < h->len) {
			k = h->len - off < max ? h->len - off : max;
			memcpy(buf, &o, sizeof(o));
			memcpy(buf + sizeof(o), p + off, k);
			if (pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_EXEC_OUTPUT,
			    0, buf, sizeof(o) + k, -1) < 0)
				return -1;
			off += k;
		}
		return 0;
	}
	case GP_EXIT: {
		struct gp_exit x;
		struct pyro_msg_exec_exit e;

		memcpy(&x, p, sizeof(x));
		if (src_find(h->stream) != NULL)
			src_close(src_find(h->stream));
		memset(&e, 0, sizeof(e));
		e.stream = h->stream;
		e.exit_code = x.exit_code;
		e.signal = x.signal;
		e.timed_out = x.timed_out;
		e.error = x.error;
		return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_EXEC_EXIT, 0, &e,
		    sizeof(e), -1);
	}
	case GP_STARTED: {
		struct pyro_msg_exec_started st;

		st.stream = h->stream;
		memcpy(&st.pid, p, sizeof(st.pid));
		return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_EXEC_STARTED, 0,
		    &st, sizeof(st), -1);
	}
	case GP_STDIN_ACK: {
		struct stdin_src *s = src_find(h->stream);
		uint32_t n;

		memcpy(&n, p, sizeof(n));
		if (s == NULL)
			return 0;	/* acks after the exec ended */
		if (n > s->inflight) {
			log_warnx("the guest acked stdin it was not sent");
			return -1;
		}
		s->inflight -= n;
		return 0;
	}
	case GP_PONG: {
		struct pyro_msg_stream ps;

		/* Our pings carry the sequence number as their payload. */
		if (h->len != sizeof(ps.stream))
			return 0;
		memcpy(&ps.stream, p, sizeof(ps.stream));
		return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_GUEST_PONG, 0,
		    &ps, sizeof(ps), -1);
	}
	case GP_FLUSHED:
		if (vm.warm_stage == WS_FLUSH) {
			int rc;

			vm.warm_stage = WS_SAVING;
			if (!vm.forking)
				vm.save_t0 = pyro_mono_ms();
			if ((rc = drv->save()) < 0)
				vm_warm_done(rc, "the VMM cannot save");
		}
		return 0;
	case GP_RESUMED:
		if (vm.warm_stage == WS_RESUMING)
			return on_resumed(p, h->len);
		return 0;	/* unasked: nothing to relay */
	default:
		return 0;
	}
}

static int
read_agent(void)
{
	struct gp_hdr	 h;
	uint8_t		*p;
	ssize_t		 n;
	int		 rc;

	if ((n = gp_reader_fill(&vm.rd, vm.agent)) == 0)
		return -1;
	if (n < 0)
		return (n == -EAGAIN || n == -EINTR) ? 0 : -1;
	while ((rc = gp_reader_next(&vm.rd, GP_FROM_AGENT, &h, &p)) > 0)
		if ((rc = on_agent_frame(&h, p)) < 0) {
			log_warnx("cannot relay the agent's frame (type %u): "
			    "%s", h.type, strerror(-rc));
			return -1;
		}
	if (rc < 0) {
		log_warnx("the guest agent broke the protocol (type %u, "
		    "length %u)", h.type, h.len);
		return -1;
	}
	return 0;
}

static int
on_exec(struct pyro_msg *m)
{
	static char	*argv[GP_ARGS_MAX + 1], *env[GP_ARGS_MAX + 1];
	static uint8_t	 copy[PYRO_MSG_MAXPAYLOAD];
	struct gp_exec	 hdr;
	const char	*cwd;
	uint32_t	 stream;
	size_t		 off = offsetof(struct pyro_msg_exec, exec);
	size_t		 len = m->hdr.len - off;

	memcpy(&stream, m->payload + offsetof(struct pyro_msg_exec, stream),
	    sizeof(stream));
	/* Check before forwarding: the agent must never see garbage. */
	memcpy(copy, m->payload + off, len);
	if (stream == 0 || gp_exec_parse(copy, len, &hdr, &cwd, argv,
	    env) < 0 || src_find(stream) != NULL ||
	    ((hdr.flags & GP_EXEC_STDIN) != 0) != (m->fd >= 0)) {
		log_warnx("malformed exec request from pyrod");
		return -1;
	}
	/*
	 * A VM on its way down runs nothing more, and says nothing about the
	 * exec: pyrod learns why from the error and VM_STOPPED that follow.
	 */
	if (!vm.ready || vm.stopping) {
		log_debug("exec on stream %u dropped: the VM is stopping",
		    stream);
		return 0;
	}
	/* Nothing new reaches a guest being forked (it would be in both). */
	if (vm.forking) {
		struct pyro_msg_exec_exit e;

		memset(&e, 0, sizeof(e));
		e.stream = stream;
		e.error = EBUSY;
		return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_EXEC_EXIT, 0, &e,
		    sizeof(e), -1);
	}
	if (m->fd >= 0) {
		struct stdin_src *s = src_find(0);
		int i;

		for (i = 0; i < STDIN_SOURCES_MAX && s == NULL; i++)
			if (vm.src[i].stream == 0)
				s = &vm.src[i];
		if (s == NULL) {
			log_warnx("too many execs with stdin");
			return -1;
		}
		(void)fcntl(m->fd, F_SETFL, O_NONBLOCK);
		s->stream = stream;
		s->fd = m->fd;
		s->inflight = 0;
		m->fd = -1;
	}
	return agent_send(GP_EXEC, stream, m->payload + off, len);
}

/*
 * A fork of this running VM: the fork's disk, then its state file; then
 * quiesce (FLUSH), save, copy, continue (fork_step).  Only a QEMU guest
 * without a network that runs and does nothing else of the kind.
 */
static void
on_fork(struct pyro_msg *m)
{
	const char	*no = NULL;

	if (!vm.ready || vm.stopping || drv->save == NULL ||
	    drv->resume == NULL || vm.start.net.enabled)
		no = "the VM cannot be forked now (it is not a running QEMU "
		    "guest without a network)";
	else if (vm.forking || vm.warm_stage != WS_NONE)
		no = "the VM is being forked already";
	else if (m->hdr.type == PYRO_MSG_VM_FORK_DISK) {
		if (vm.fork_disk >= 0)
			close(vm.fork_disk);
		vm.fork_disk = m->fd;
		m->fd = -1;
		return;
	} else if (vm.fork_disk < 0 || vm.files[VM_FILE_DISK] < 0)
		no = "no disk to fork into";
	/* One answer per fork: VM_FORK's; a refused disk just goes. */
	if (no != NULL && m->hdr.type == PYRO_MSG_VM_FORK_DISK)
		return;
	if (no != NULL && !vm.forking && vm.fork_disk >= 0) {
		close(vm.fork_disk);
		vm.fork_disk = -1;
	}
	if (no != NULL) {
		memset(&vm.fork, 0, sizeof(vm.fork));
		vm.fork.err = -EBUSY;
		vm.fork.resumed = 1;
		snprintf(vm.fork.message, sizeof(vm.fork.message), "%s", no);
		(void)pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_VM_FORKED, 0,
		    &vm.fork, sizeof(vm.fork), -1);
		return;
	}
	memset(&vm.fork, 0, sizeof(vm.fork));
	if (vm.files[VM_FILE_STATE] >= 0)
		close(vm.files[VM_FILE_STATE]);
	vm.files[VM_FILE_STATE] = m->fd;
	m->fd = -1;
	vm.forking = 1;
	vm.save_t0 = pyro_mono_ms();
	vm.fork_deadline = vm.save_t0 + FORK_FLUSH_MS;
	vm.warm_stage = WS_FLUSH;
	if (agent_send(GP_FLUSH, 0, NULL, 0) < 0) {
		fork_fail(-EPIPE, "the agent's channel is closed");
		fork_end();
	}
}

static int
on_pyrod(void)
{
	static struct pyro_msg	m;
	int			rc = 0;

	rc = pyro_msg_recv(PYRO_HELPER_FD, &m, PEER_VMHELPER, PEER_SUPERVISOR);
	if (rc == -EAGAIN)
		return 0;
	if (rc < 0)
		return -1;	/* EOF or garbage: pyrod is gone or broken */
	switch (m.hdr.type) {
	case PYRO_MSG_VM_FILE: {
		struct pyro_msg_vm_file f;

		memcpy(&f, m.payload, sizeof(f));
		if (f.role == 0 || f.role >= VM_FILE__MAX ||
		    vm.files[f.role] >= 0 || vm.vmm_pid > 0) {
			rc = -1;
			break;
		}
		vm.files[f.role] = m.fd;
		m.fd = -1;
		break;
	}
	case PYRO_MSG_VM_START: {
		long long t0 = pyro_mono_ms();

		memcpy(&vm.start, m.payload, sizeof(vm.start));
		drv = vm.start.host_compat ? &vmm_host_compat :
		    vm.start.firecracker ? &vmm_firecracker : &vmm_qemu;
		if (vm.vmm_pid > 0 || vm.files[VM_FILE_KERNEL] < 0 ||
		    vm.files[VM_FILE_INITRD] < 0 || (vm.start.snapshot ?
		    vm.files[VM_FILE_ROOTFS] < 0 || vm.start.copy_rootfs :
		    vm.files[VM_FILE_DISK] < 0) ||
		    (vm.start.warm != WARM_NONE) !=
		    (vm.files[VM_FILE_STATE] >= 0) ||
		    (vm.start.warm != WARM_NONE && vm.start.firecracker) !=
		    (vm.files[VM_FILE_MEM] >= 0) ||
		    vm.start.warm > WARM_RESTORE ||
		    (vm.start.nic && (vm.start.warm != WARM_SAVE ||
		    vm.start.firecracker || vm.start.host_compat)) ||
		    (vm.start.warm == WARM_SAVE && vm.start.snapshot)) {
			rc = -1;
			break;
		}
		/* Warm start: a save has no network (a networked shape's
		 * template has a NIC alone), and a restore under Firecracker
		 * none either (its snapshot would name another TAP). */
		if (vm.start.warm != WARM_NONE && (drv->save == NULL ||
		    (vm.start.net.enabled && (vm.start.firecracker ||
		    vm.start.warm == WARM_SAVE)))) {
			(void)helper_send_error(m.hdr.id, PYRO_E_UNSUPPORTED,
			    "%s has no warm start here", drv->name);
			rc = -1;
			break;
		}
		for (int k = VM_FILE_KERNEL; k < VM_FILE__MAX; k++) {
			vm.start.sha256[k][64] = '\0';
			if (!(vm.start.verify_mask & (1u << k)))
				continue;
			if (vm.files[k] < 0 ||
			    verify_part(vm.files[k], vm.start.sha256[k]) < 0) {
				(void)helper_send_error(m.hdr.id,
				    PYRO_E_ENVIRONMENT_CORRUPT, "%s",
				    vm.start.warm == WARM_RESTORE ? "a warm-start "
				    "template's file does not match its digest" :
				    "an environment file does not match the "
				    "sha256 in its manifest; rebuild it (pyro "
				    "env pull)");
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		log_debug("verified in %lld ms", pyro_mono_ms() - t0);
		if (vm.start.copy_rootfs) {
			if (vm.files[VM_FILE_ROOTFS] < 0 ||
			    (rc = copy_sparse(vm.files[VM_FILE_ROOTFS],
			    vm.files[VM_FILE_DISK])) < 0) {
				(void)helper_send_error(m.hdr.id, PYRO_E_IO,
				    "copying the environment's disk: %s",
				    strerror(rc < 0 ? -rc : EBADF));
				rc = -1;
				break;
			}
		}
		log_debug("disk ready in %lld ms", pyro_mono_ms() - t0);
		if (vm.start.net.enabled) {
			char err[200];

			if (net_setup(&vm.start.net, err, sizeof(err)) < 0) {
				log_warnx("%s", err);
				(void)helper_send_error(m.hdr.id,
				    PYRO_E_NETWORK_UNAVAILABLE, "%s", err);
				rc = -1;
				break;
			}
		}
		/*
		 * A host-compat sandbox has no guest memory size to bound
		 * it: without its group (memory, tasks) it does not start.
		 */
		if ((vm.start.host_compat || vm.start.firecracker) &&
		    vm.start.cg.version == 0) {
			(void)helper_send_error(m.hdr.id, PYRO_E_UNSUPPORTED,
			    "%s needs cgroups (%s), and this pyrod has none "
			    "(cgroups = off, or no usable hierarchy: pyro doctor "
			    "says)", vm.start.host_compat ? "host-compat" :
			    "Firecracker", vm.start.host_compat ? "to bound its "
			    "memory and tasks" : "Firecracker has no parent-death "
			    "signal: its group is how it is ended");
			rc = -1;
			break;
		}
		if (vm.start.cg.version != 0) {
			char err[200];

			if (cg_make(&vm.start.cg, launcher_pid, err,
			    sizeof(err)) < 0) {
				log_warnx("%s", err);
				if (vm.start.cg.required ||
				    vm.start.host_compat ||
				    vm.start.firecracker) {
					(void)helper_send_error(m.hdr.id,
					    PYRO_E_UNSUPPORTED, "%s (cgroups = "
					    "off in pyrod.conf runs VMs "
					    "without)", err);
					rc = -1;
					break;
				}
			}
		}
		if (vm.start.warm == WARM_RESTORE)
			vm.warm_stage = WS_LOADING;
		if ((rc = drv->launch()) < 0) {
			/* Its launcher died (killed) or would not take it. */
			const char *why = drv->error ? drv->error() : "";

			(void)helper_send_error(m.hdr.id, PYRO_E_HELPER_FAILED,
			    "starting %s: %s%s", drv->name, why[0] ? why :
			    strerror(-rc), console_last_line());
			rc = -1;
			break;
		}
		vm.started_ms = pyro_mono_ms();
		vm.deadline = vm.started_ms + vm.start.boot_timeout_ms;
		break;
	}
	case PYRO_MSG_VM_FORK_DISK:
	case PYRO_MSG_VM_FORK:
		on_fork(&m);
		break;
	case PYRO_MSG_EXEC:
		rc = on_exec(&m);
		break;
	case PYRO_MSG_EXEC_KILL: {
		struct pyro_msg_stream s;

		memcpy(&s, m.payload, sizeof(s));
		if (vm.ready && !vm.forking)
			(void)agent_send(GP_KILL, s.stream, NULL, 0);
		break;
	}
	case PYRO_MSG_EXEC_SIGNAL: {
		struct pyro_msg_exec_signal sg;

		memcpy(&sg, m.payload, sizeof(sg));
		if (vm.ready && !vm.stopping && !vm.forking)
			(void)agent_send(GP_SIGNAL, sg.stream, &sg.signo,
			    sizeof(sg.signo));
		break;
	}
	case PYRO_MSG_GUEST_PING: {
		struct pyro_msg_stream ps;

		memcpy(&ps, m.payload, sizeof(ps));
		if (vm.ready && !vm.stopping && !vm.forking)
			(void)agent_send(GP_PING, 0, &ps.stream,
			    sizeof(ps.stream));
		break;
	}
	case PYRO_MSG_VM_STOP:
		if (vm.vmm_pid <= 0)
			return 1;
		vm_stop();
		break;
	case PYRO_MSG_PROBE: {
		struct pyro_msg_probe_result r;

		memset(&r, 0, sizeof(r));
		r.kvm.ok = (uint32_t)probe_kvm(m.fd, r.kvm.reason,
		    sizeof(r.kvm.reason));
		r.tun.ok = (uint32_t)probe_tun(r.tun.reason,
		    sizeof(r.tun.reason));
		r.nft.ok = (uint32_t)probe_nft(r.nft.reason,
		    sizeof(r.nft.reason));
		rc = pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_PROBE_RESULT,
		    m.hdr.id, &r, sizeof(r), -1);
		break;
	}
	case PYRO_MSG_NET_PUBLISH: {
		struct pyro_msg_net_port pp;

		memcpy(&pp, m.payload, sizeof(pp));
		/* pyrod checked the counts; a refusal here loses the port,
		 * not the VM. */
		if ((rc = proxy_publish(pp.host_port, pp.guest_port,
		    m.fd)) < 0) {
			log_warnx("cannot publish port %u: %s", pp.host_port,
			    strerror(-rc));
			rc = 0;
			break;
		}
		m.fd = -1;
		break;
	}
	case PYRO_MSG_NET_UNPUBLISH: {
		struct pyro_msg_net_port pp;

		memcpy(&pp, m.payload, sizeof(pp));
		proxy_unpublish(pp.host_port);
		break;
	}
	case PYRO_MSG_NET_SWEEP: {
		static struct pyro_msg_net_sweep sw;
		struct pyro_msg_net_swept r;

		memcpy(&sw, m.payload, sizeof(sw));
		memset(&r, 0, sizeof(r));
		net_sweep_leftovers(&sw, &r);
		rc = pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_NET_SWEPT,
		    m.hdr.id, &r, sizeof(r), -1);
		break;
	}
	case PYRO_MSG_PING:
		rc = pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_PONG, m.hdr.id,
		    NULL, 0, -1);
		break;
	case PYRO_MSG_SHUTDOWN:
		return 1;
	default:
		rc = -1;
	}
	if (m.fd >= 0)
		close(m.fd);
	return rc < 0 ? -1 : 0;
}

int
vm_serve(uid_t uid, gid_t gid)
{
	struct pollfd		 pfd[5 + STDIN_SOURCES_MAX + NET_POLL_MAX];
	struct stdin_src	*map[5 + STDIN_SOURCES_MAX];
	int			 i, n, nsrc, ndns, nproxy, rc, wait, dwait, twait;
	int			 pyrod_gone = 0;

	vm.uid = uid;
	vm.gid = gid;
	vm.agent = vm.console = vm.ctl = vm.pidfd = vm.fork_disk = -1;
	for (i = 0; i < VM_FILE__MAX; i++)
		vm.files[i] = -1;
	for (i = 0; i < STDIN_SOURCES_MAX; i++)
		vm.src[i].fd = -1;
	for (;;) {
		/* First: the driver may open the agent's channel here. */
		twait = drv->tick != NULL ? drv->tick() : -1;
		n = 0;
		pfd[n].fd = pyrod_gone ? -1 : PYRO_HELPER_FD;
		pfd[n++].events = POLLIN;
		pfd[n].fd = vm.pidfd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = vm.agent;
		pfd[n++].events = POLLIN | (vm.outlen > 0 ? POLLOUT : 0);
		pfd[n].fd = vm.console;
		pfd[n++].events = POLLIN;
		pfd[n].fd = vm.ctl;
		pfd[n++].events = POLLIN;
		/* Sources only while the window is open and the queue short. */
		for (i = 0; i < STDIN_SOURCES_MAX; i++) {
			struct stdin_src *s = &vm.src[i];

			if (s->stream == 0 || s->fd < 0 || !vm.ready ||
			    vm.forking || s->inflight >= GP_STDIN_WINDOW ||
			    vm.outlen > GP_STDIN_WINDOW)
				continue;
			map[n] = s;
			pfd[n].fd = s->fd;
			pfd[n++].events = POLLIN;
		}
		nsrc = n;
		ndns = dns_pollfds(pfd + n);
		n += ndns;
		nproxy = proxy_pollfds(pfd + n, NET_POLL_MAX - ndns);
		n += nproxy;
		wait = -1;
		if (vm.deadline) {
			long long left = vm.deadline - pyro_mono_ms();
			wait = left < 0 ? 0 : (int)left;
		}
		if ((dwait = dns_next_deadline()) >= 0 && (wait < 0 ||
		    dwait < wait))
			wait = dwait;
		if (vm.forking && vm.warm_stage == WS_FLUSH) {
			long long left = vm.fork_deadline - pyro_mono_ms();
			int fw = left < 0 ? 0 : (int)left;

			if (wait < 0 || fw < wait)
				wait = fw;
		}
		if (twait >= 0 && (wait < 0 || twait < wait))
			wait = twait;
		rc = poll(pfd, (nfds_t)n, wait);
		if (rc < 0 && errno != EINTR) {
			if (vm.vmm_pid > 0)
				vm_kill_now();
			net_teardown();
			return -1;
		}
		if (vm.deadline && pyro_mono_ms() >= vm.deadline) {
			vm.deadline = 0;
			if (!vm.ready && !vm.stopping) {
				log_warnx("the guest did not say hello in time");
				(void)helper_send_error(0, PYRO_E_TIMEOUT,
				    "the guest did not boot in time");
				vm_kill_now();
			}
			stop_escalate();
		}
		/* The guest never quiesced: no fork, nothing was stopped. */
		if (vm.forking && vm.warm_stage == WS_FLUSH &&
		    pyro_mono_ms() >= vm.fork_deadline) {
			fork_fail(-ETIMEDOUT, "the guest did not quiesce in time");
			fork_end();
		}
		if (pfd[1].revents & POLLIN)
			vmm_reap_and_finish(vm.stop_stage > 0);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			console_keep();
		if (pfd[4].revents & (POLLIN | POLLHUP))
			drv->ctl_event();
		if ((pfd[2].revents & POLLOUT) && agent_flush() < 0)
			pfd[2].revents |= POLLHUP;
		if (rc > 0 && ndns)
			dns_events(pfd + nsrc, ndns);
		dns_tick();
		if (rc > 0 && nproxy)
			proxy_events(pfd + nsrc + ndns, nproxy);
		for (i = 5; i < nsrc; i++) {
			if (map[i]->fd != pfd[i].fd)
				continue;
			/* Not a readable source (an O_PATH fd, a broken
			 * one): its end, not a poll that returns at once
			 * forever. */
			if (pfd[i].revents & (POLLNVAL | POLLERR))
				src_end(map[i]);
			else if (pfd[i].revents & (POLLIN | POLLHUP))
				src_pump(map[i]);
		}
		if ((pfd[2].revents & (POLLIN | POLLHUP)) && read_agent() < 0) {
			/* A broken or vanished agent: stop the VM for good. */
			vmm_gone_check();
			console_keep();
			if (!vm.stopping)
				log_warnx("agent channel lost; console ends: "
				    "%.*s", (int)(vm.conlen > 300 ? 300 :
				    vm.conlen), vm.con + (vm.conlen > 300 ?
				    vm.conlen - 300 : 0));
			if (!vm.stopping)
				(void)helper_send_error(0, PYRO_E_GUEST_PROTOCOL,
				    "the guest agent broke the protocol or "
				    "closed its channel; the VM was stopped");
			close(vm.agent);
			vm.agent = -1;
			vm.ready = 0;
			vm.outlen = 0;
			if (!vm.stopping) {
				vm.stopping = 1;
				vm.stop_stage = 0;
				stop_escalate();
			}
		}
		if (!pyrod_gone && (pfd[0].revents & (POLLIN | POLLHUP))) {
			rc = on_pyrod();
			/*
			 * pyrod died (a crash, kill -9): the guest is powered
			 * off as on a stop, so its disk is flushed and whole
			 * for the next start; we exit when QEMU does.
			 */
			if (rc < 0 && vm.vmm_pid > 0 && vm.ready &&
			    !vm.stopping) {
				log_warnx("pyrod is gone; powering the guest off");
				pyrod_gone = 1;
				vm_stop();
				continue;
			}
			if (rc != 0) {
				/* Asked to go (or nothing to save): no VM lives on. */
				if (vm.vmm_pid > 0)
					vm_kill_now();
				net_teardown();
				return rc > 0 ? 0 : -1;
			}
		}
	}
}
