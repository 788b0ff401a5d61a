/*
 * A live VM instance: one pyro-vmhelper and its QEMU, bound to a VM or
 * workspace record.  This file owns the helper conversation (files,
 * start, execs, stop).  Its owner (vm.c, wsboot.c) gets the VM's events
 * through vmi_ops; each exec gets its own stream callbacks (vmi_exec), so
 * a command's output goes straight to whoever started it (job.c).  A vmi
 * ends exactly once, whatever happened (a clean stop, a guest that never
 * booted, a helper that died): first every exec still open is ended with
 * on_exit(NULL), then the owner's on_gone.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define STOP_GRACE_MS		30000

/* An exec in flight: who gets its output and its end. */
struct vstream {
	LIST_ENTRY(vstream)		 entry;
	uint32_t			 id;
	const struct vmi_stream_ops	*ops;
	void				*arg;
};

struct vmi {
	LIST_ENTRY(vmi)		 entry;
	LIST_HEAD(, vstream)	 streams;
	struct record		*rec;
	struct helper		*h;
	struct env		 env;
	int			 disk;		/* -1: snapshot mode */
	int			 copy_rootfs;
	enum vmi_state		 state;
	uint32_t		 next_stream;
	const struct vmi_ops	*ops;
	void			*arg;
	struct pyro_status	 err;
	int			 failed;
	int			 forced;
	struct timer		*timer;
	char			 qemu[256];	/* found once, at start */
	int			 fc;		/* qemu[] is Firecracker */
	struct net_lease	 net;		/* slot -1: no network */
	int			 wait_sweep;	/* start once the sweep ends */
	/*
	 * Warm start (template.c): WARM_RESTORE starts from tpl (its disk
	 * as ROOTFS, its state) and keeps env and disk until the guest
	 * runs, to boot cold with them if the restore fails; WARM_SAVE
	 * makes a template (tpl holds the state file to write).
	 */
	int			 warm;
	struct env		 tpl;
	char			 tkey[65];
	int			 lazy;		/* no template: make one */
	char			 cold_why[260];
	uint32_t		 env_mask, tpl_mask;	/* what was verified */
	int			 restored;
	/* A fork of this VM in flight (vmi_fork). */
	void			(*fork_done)(struct vmi *,
				    const struct pyro_msg_vm_forked *, void *);
	void			*fork_arg;
};

static LIST_HEAD(, vmi)	vmis = LIST_HEAD_INITIALIZER(vmis);
static int		shutting_down;
static void		(*all_gone)(void);

int
vmi_shutting_down(void)
{
	return shutting_down;
}

int
vmi_count(void)
{
	struct vmi	*v;
	int		 n = 0;

	LIST_FOREACH(v, &vmis, entry)
		n++;
	return n;
}

/* pyrod is going down: ask every VM to power off; fn once all are gone. */
int
vmi_stop_all(void (*fn)(void))
{
	struct vmi	*v;

	shutting_down = 1;
	all_gone = fn;
	LIST_FOREACH(v, &vmis, entry)
		vmi_stop(v);
	return vmi_count();
}

struct vmi *
vmi_find(const struct record *rec)
{
	struct vmi	*v;

	LIST_FOREACH(v, &vmis, entry)
		if (v->rec == rec)
			return v;
	return NULL;
}

void *
vmi_arg(const struct vmi *v)
{
	return v->arg;
}

enum vmi_state
vmi_state(const struct vmi *v)
{
	return v->state;
}

static void
vmi_fail(struct vmi *v, enum pyro_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
vmi_fail(struct vmi *v, enum pyro_err code, const char *fmt, ...)
{
	va_list	ap;

	if (v->failed)
		return;
	v->failed = 1;
	v->err.code = code;
	va_start(ap, fmt);
	vsnprintf(v->err.message, sizeof(v->err.message), fmt, ap);
	va_end(ap);
}

static void
vmi_deadline(void *arg)
{
	struct vmi	*v = arg;

	v->timer = NULL;
	vmi_fail(v, v->state == VMI_BOOTING ? PYRO_E_GUEST_BOOT_FAILED :
	    PYRO_E_TIMEOUT, v->state == VMI_BOOTING ? "the guest did not "
	    "boot in time" : "the VM did not stop in time; it was killed");
	v->forced = 1;
	if (v->h != NULL)
		helper_kill(v->h, "deadline passed");
}

void
vmi_stop(struct vmi *v)
{
	if (v->state == VMI_STOPPING || v->h == NULL)
		return;
	v->state = VMI_STOPPING;
	if (helper_send(v->h, PYRO_MSG_VM_STOP, NULL, 0, -1) < 0)
		helper_kill(v->h, "cannot ask it to stop");
	timer_cancel(v->timer);
	v->timer = timer_add(STOP_GRACE_MS, vmi_deadline, v);
}

static struct vstream *
stream_find(struct vmi *v, uint32_t id)
{
	struct vstream	*s;

	LIST_FOREACH(s, &v->streams, entry)
		if (s->id == id)
			return s;
	return NULL;
}

uint32_t
vmi_exec(struct vmi *v, struct gp_exec *g, const char *cwd,
    const char *const *argv, const char *const *env, int stdin_fd,
    const struct vmi_stream_ops *ops, void *arg)
{
	static uint8_t		 buf[PYRO_MSG_MAXPAYLOAD];
	struct pyro_msg_exec	 m;
	struct vstream		*s;
	long			 n;
	size_t			 off = offsetof(struct pyro_msg_exec, exec);

	if (v->state != VMI_RUNNING || v->h == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return 0;
	if ((n = gp_exec_encode(g, cwd, argv, env, buf + off,
	    sizeof(buf) - off)) < 0) {
		free(s);
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.stream = ++v->next_stream;
	memcpy(buf, &m.stream, sizeof(m.stream));
	if (helper_send(v->h, PYRO_MSG_EXEC, buf, off + (size_t)n,
	    stdin_fd) < 0) {
		free(s);
		return 0;
	}
	s->id = m.stream;
	s->ops = ops;
	s->arg = arg;
	LIST_INSERT_HEAD(&v->streams, s, entry);
	return s->id;
}

void
vmi_forget(struct vmi *v, uint32_t stream)
{
	struct vstream	*s = stream_find(v, stream);

	if (s != NULL) {
		LIST_REMOVE(s, entry);
		free(s);
	}
}

/* End every exec still open: its VM is gone. */
static void
streams_gone(struct vmi *v)
{
	struct vstream	*s;

	while ((s = LIST_FIRST(&v->streams)) != NULL) {
		LIST_REMOVE(s, entry);
		s->ops->on_exit(s->arg, NULL);
		free(s);
	}
}

void
vmi_kill_exec(struct vmi *v, uint32_t stream)
{
	struct pyro_msg_stream	s = { stream };

	if (v->h != NULL && v->state == VMI_RUNNING)
		(void)helper_send(v->h, PYRO_MSG_EXEC_KILL, &s, sizeof(s), -1);
}

void
vmi_signal(struct vmi *v, uint32_t stream, int signo)
{
	struct pyro_msg_exec_signal	s = { stream, (uint32_t)signo };

	if (v->h != NULL && v->state == VMI_RUNNING)
		(void)helper_send(v->h, PYRO_MSG_EXEC_SIGNAL, &s, sizeof(s),
		    -1);
}

void
vmi_pause(struct vmi *v, int paused)
{
	if (v->h != NULL)
		helper_pause(v->h, paused);
}

int
vmi_ping(struct vmi *v, uint32_t seq)
{
	struct pyro_msg_stream	s = { seq };

	if (v->h == NULL || v->state != VMI_RUNNING)
		return -1;
	return helper_send(v->h, PYRO_MSG_GUEST_PING, &s, sizeof(s), -1);
}

/* An exec's output, start or end, to its stream's callbacks. */
static void
stream_msg(struct vmi *v, const struct pyro_msg *m)
{
	struct pyro_msg_output		o;
	struct pyro_msg_exec_started	st;
	struct pyro_msg_exec_exit	x;
	struct vstream			*s;

	switch (m->hdr.type) {
	case PYRO_MSG_EXEC_OUTPUT:
		memcpy(&o, m->payload, sizeof(o));
		if (o.which >= 1 && o.which <= 2 &&
		    (s = stream_find(v, o.stream)) != NULL)
			s->ops->on_output(s->arg, (int)o.which,
			    m->payload + sizeof(o), m->hdr.len - sizeof(o));
		return;
	case PYRO_MSG_EXEC_STARTED:
		memcpy(&st, m->payload, sizeof(st));
		if ((s = stream_find(v, st.stream)) != NULL &&
		    s->ops->on_started != NULL)
			s->ops->on_started(s->arg, st.pid);
		return;
	case PYRO_MSG_EXEC_EXIT:
		memcpy(&x, m->payload, sizeof(x));
		if ((s = stream_find(v, x.stream)) == NULL)
			return;
		LIST_REMOVE(s, entry);
		s->ops->on_exit(s->arg, &x);
		free(s);
		return;
	}
}

/* The fork's answer, once, to whoever asked. */
static void
fork_finish(struct vmi *v, const struct pyro_msg_vm_forked *f)
{
	void	(*done)(struct vmi *, const struct pyro_msg_vm_forked *,
		    void *) = v->fork_done;

	v->fork_done = NULL;
	if (done != NULL)
		done(v, f, v->fork_arg);
}

int
vmi_fork(struct vmi *v, int disk, int state,
    void (*done)(struct vmi *, const struct pyro_msg_vm_forked *, void *),
    void *arg)
{
	uint32_t	zero = 0;

	if (v->h == NULL || v->state != VMI_RUNNING || v->fork_done != NULL ||
	    helper_send(v->h, PYRO_MSG_VM_FORK_DISK, &zero, sizeof(zero),
	    disk) < 0 || helper_send(v->h, PYRO_MSG_VM_FORK, &zero,
	    sizeof(zero), state) < 0)
		return -1;
	v->fork_done = done;
	v->fork_arg = arg;
	return 0;
}

int
vmi_busy(const struct vmi *v)
{
	return !LIST_EMPTY(&v->streams) || v->fork_done != NULL;
}

static void
vmi_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct vmi	*v = arg;

	switch (m->hdr.type) {
	case PYRO_MSG_GUEST_PONG: {
		struct pyro_msg_stream s;

		memcpy(&s, m->payload, sizeof(s));
		if (v->ops->on_pong)
			v->ops->on_pong(v, s.stream, v->arg);
		return;
	}
	case PYRO_MSG_VM_READY: {
		struct pyro_msg_vm_ready r;

		memcpy(&r, m->payload, sizeof(r));
		if (v->state != VMI_BOOTING || v->warm == WARM_SAVE ||
		    (r.restored && v->warm != WARM_RESTORE)) {
			helper_kill(h, "said ready twice");
			return;
		}
		timer_cancel(v->timer);
		v->timer = NULL;
		env_mark_verified(&v->env, v->env_mask);
		if ((v->restored = r.restored != 0))
			env_mark_verified(&v->tpl, v->tpl_mask);
		/* What a failed restore would have booted: not needed now. */
		env_close(&v->env);
		env_close(&v->tpl);
		if (v->disk >= 0)
			close(v->disk);
		v->disk = -1;
		if (v->lazy && !v->restored)
			tpl_lazy(v->rec, v->env.name, cJSON_GetStringValue(
			    cJSON_GetObjectItem(v->rec->doc,
			    "environment_cache_dir")), v->tkey, v->fc,
			    v->qemu);
		v->state = VMI_RUNNING;
		if (v->ops->on_ready)
			v->ops->on_ready(v, r.boot_ms, v->arg);
		return;
	}
	case PYRO_MSG_VM_SAVED: {
		struct pyro_msg_vm_saved sv;

		if (v->warm != WARM_SAVE || v->state != VMI_BOOTING) {
			helper_kill(h, "saved a VM it was not asked to");
			return;
		}
		memcpy(&sv, m->payload, sizeof(sv));
		timer_cancel(v->timer);
		v->timer = NULL;
		v->state = VMI_STOPPING;
		env_mark_verified(&v->env, v->env_mask);
		if (v->ops->on_saved)
			v->ops->on_saved(v, &sv, v->arg);
		return;
	}
	case PYRO_MSG_VM_FORKED: {
		struct pyro_msg_vm_forked f;

		if (v->fork_done == NULL) {
			helper_kill(h, "forked a VM it was not asked to");
			return;
		}
		memcpy(&f, m->payload, sizeof(f));
		fork_finish(v, &f);
		return;
	}
	case PYRO_MSG_EXEC_OUTPUT:
	case PYRO_MSG_EXEC_STARTED:
	case PYRO_MSG_EXEC_EXIT:
		stream_msg(v, m);
		return;
	case PYRO_MSG_ERROR: {
		const struct pyro_msg_error *e = (const void *)m->payload;
		enum pyro_err code = (e->err > 0 && e->err < PYRO_E__MAX) ?
		    (enum pyro_err)e->err : PYRO_E_INTERNAL;

		if (code == PYRO_E_TIMEOUT && v->state == VMI_BOOTING)
			code = PYRO_E_GUEST_BOOT_FAILED;
		vmi_fail(v, code, "%s", e->message);
		return;
	}
	case PYRO_MSG_VM_STOPPED: {
		struct pyro_msg_vm_stopped s;

		memcpy(&s, m->payload, sizeof(s));
		if (s.unexpected && !v->failed)
			vmi_fail(v, v->state == VMI_BOOTING ?
			    PYRO_E_GUEST_BOOT_FAILED : PYRO_E_INTERNAL,
			    "the VM stopped unexpectedly%s%s",
			    s.console[0] ? "; console: " : "", s.console);
		v->forced |= (int)s.forced;
		helper_shutdown(h);
		return;
	}
	default:
		helper_kill(h, "sent an unexpected message");
	}
}

/*
 * Host-compat runs pyro-agent as the record's owner, never as root: a
 * root caller's commands run as nobody (65534).  The group is the owner's
 * primary one unless that is root's.  Those are the ids inside; on the
 * host the sandbox runs as an id of its own, the same for a workspace on
 * every start (its files on the disk keep their owner): host_compat_id_base
 * plus 16 bits of the record's id, which no host process uses.
 */
static void
host_compat_user(const struct record *r, struct pyro_msg_vm_start *s)
{
	struct passwd	pw, *res = NULL;
	char		buf[4096];

	s->host_compat = 1;
	s->host_id = conf.hc_id_base + (uint32_t)(strtoull(r->id + 12, NULL,
	    16) & 0xffff);
	s->run_uid = r->owner != 0 ? (uint32_t)r->owner : 65534;
	s->run_gid = 65534;
	if (r->owner != 0 && getpwuid_r(r->owner, &pw, buf, sizeof(buf),
	    &res) == 0 && res != NULL && pw.pw_gid != 0)
		s->run_gid = (uint32_t)pw.pw_gid;
	/* Too long a path leaves it empty: the helper refuses the start. */
	if (snprintf(s->agent, sizeof(s->agent), "%s/pyro-agent",
	    conf.libexec_dir) >= (int)sizeof(s->agent))
		s->agent[0] = '\0';
}

/*
 * Firecracker: its binary (found at start), its jailer, the jail's base
 * (<state>/jail; the jailer makes firecracker/<id>/root under it) and the
 * jail's uid.  A jail of the same id left by a crash goes first.
 */
static int
fc_fields(struct vmi *v, struct pyro_msg_vm_start *s)
{
	char	jailer[4200];

	if (!host_find_exe(conf.jailer_path, "jailer", jailer,
	    sizeof(jailer)) || strlen(jailer) >= sizeof(s->fc_jailer) ||
	    snprintf(s->fc_base, sizeof(s->fc_base), "%s/jail",
	    conf.state_dir) >= (int)sizeof(s->fc_base) - 40)
		return -1;
	s->firecracker = 1;
	s->run_uid = (uint32_t)conf.fc_uid;
	s->run_gid = (uint32_t)conf.fc_gid;
	memcpy(s->fc_exec, v->qemu, sizeof(s->fc_exec));
	memcpy(s->fc_jailer, jailer, strlen(jailer) + 1);
	memcpy(s->vm_id, v->rec->id, sizeof(s->vm_id));
	if (fc_jail_remove(v->rec->id) > 0)
		log_info("%s: removed a Firecracker jail left by an earlier run",
		    v->rec->id);
	return 0;
}

static void
vmi_send_files(struct helper *h, struct vmi *v)
{
	static struct pyro_msg_vm_start	 s;
	struct pyro_msg_vm_file		 f;
	struct pyro_status		 st;
	const cJSON			*it;
	char				*slash;
	int				 k;

	memset(&s, 0, sizeof(s));
	if (v->net.slot >= 0) {
		if (net_sweep_busy()) {
			v->wait_sweep = 1;
			return;
		}
		v->wait_sweep = 0;
		if (net_vm_config(v->rec, &v->net, &s.net, &st) < 0) {
			vmi_fail(v, st.code, "%s", st.message);
			helper_kill(h, "cannot set up the VM's network");
			return;
		}
	}

	/* A restore's disk, state and memory are the template's. */
	for (k = VM_FILE_KERNEL; k < VM_FILE__MAX; k++) {
		const struct env *src = (k == VM_FILE_STATE ||
		    k == VM_FILE_MEM || (k == VM_FILE_ROOTFS &&
		    v->warm == WARM_RESTORE)) ? &v->tpl : &v->env;

		f.role = (uint32_t)k;
		if (k == VM_FILE_ROOTFS && !v->copy_rootfs && v->disk >= 0)
			continue;
		if (k == VM_FILE_DISK && v->disk < 0)
			continue;
		if (k == VM_FILE_STATE && v->warm == WARM_NONE)
			continue;
		if (k == VM_FILE_MEM && (v->warm == WARM_NONE || !v->fc))
			continue;
		if (helper_send(h, PYRO_MSG_VM_FILE, &f, sizeof(f),
		    k == VM_FILE_DISK ? v->disk : src->fd[k]) < 0) {
			helper_kill(h, "cannot pass the VM's files");
			return;
		}
	}
	it = cJSON_GetObjectItem(v->rec->doc, "mem_mib");
	s.mem_mib = cJSON_IsNumber(it) ? (uint32_t)it->valuedouble : 1024;
	it = cJSON_GetObjectItem(v->rec->doc, "vcpu_count");
	s.vcpus = cJSON_IsNumber(it) ? (uint32_t)it->valuedouble : 1;
	{
		/* The disk's host page cache counts in the VMM's cgroup; a
		 * first boot's disk is still empty: the image's size then. */
		struct stat		dst;
		unsigned long long	disk = 0;

		if (v->disk >= 0 && fstat(v->disk, &dst) == 0)
			disk = (unsigned long long)dst.st_size;
		if (v->env.fd[VM_FILE_ROOTFS] >= 0 &&
		    fstat(v->env.fd[VM_FILE_ROOTFS], &dst) == 0 &&
		    (unsigned long long)dst.st_size > disk)
			disk = (unsigned long long)dst.st_size;

		cgroup_vm(v->rec, s.mem_mib, s.vcpus, disk, v->disk < 0,
		    &s.cg);
	}
	s.accel_kvm = host_kvm_usable() == 1;
	s.boot_timeout_ms = conf.boot_timeout_s * 1000;
	s.tsc_khz = host_tsc_khz();
	s.copy_rootfs = (uint32_t)v->copy_rootfs;
	s.snapshot = v->disk < 0;
	s.warm = (uint32_t)v->warm;
	/* A networked shape's template: a NIC with nothing behind it. */
	s.nic = v->warm == WARM_SAVE && cJSON_IsTrue(cJSON_GetObjectItem(
	    v->rec->doc, "template_nic"));
	v->env_mask = v->env.verify_mask;
	v->tpl_mask = 0;
	if (!v->copy_rootfs && !s.snapshot)
		v->env_mask &= ~(1u << VM_FILE_ROOTFS);
	if (v->warm == WARM_RESTORE) {
		v->env_mask &= ~(1u << VM_FILE_ROOTFS);
		v->tpl_mask = v->tpl.verify_mask & ((1u << VM_FILE_ROOTFS) |
		    (1u << VM_FILE_STATE) | (1u << VM_FILE_MEM));
		if (!v->copy_rootfs && !s.snapshot)
			v->tpl_mask &= ~(1u << VM_FILE_ROOTFS);
	}
	s.verify_mask = v->env_mask | v->tpl_mask;
	for (k = VM_FILE_KERNEL; k < VM_FILE__MAX; k++)
		memcpy(s.sha256[k], (v->tpl_mask & (1u << k)) ?
		    v->tpl.sha256[k] : v->env.sha256[k], sizeof(s.sha256[k]));
	memcpy(s.qemu, v->qemu, sizeof(s.qemu));
	if (rec_host_compat(v->rec))
		host_compat_user(v->rec, &s);
	else if (v->fc && fc_fields(v, &s) < 0) {
		vmi_fail(v, PYRO_E_VMM_UNAVAILABLE, "Firecracker's jailer or "
		    "its jail directory is not usable here");
		helper_kill(h, "cannot start Firecracker");
		return;
	}
	/* QEMU sees neither the state directory nor pyrod's run dir. */
	pyro_strlcpy(s.hide[0], conf.state_dir, sizeof(s.hide[0]));
	pyro_strlcpy(s.hide[1], conf.socket_path, sizeof(s.hide[1]));
	if ((slash = strrchr(s.hide[1], '/')) != NULL && slash != s.hide[1])
		*slash = '\0';
	else
		s.hide[1][0] = '\0';
	if (helper_send(h, PYRO_MSG_VM_START, &s, sizeof(s), -1) < 0)
		helper_kill(h, "cannot start the VM");
	/* The VM helper holds the files now; a restore keeps what a cold
	 * boot would need until the guest runs. */
	env_close(&v->tpl);
	if (v->warm == WARM_RESTORE)
		return;
	env_close(&v->env);
	if (v->disk >= 0)
		close(v->disk);
	v->disk = -1;
}

static void
vmi_ready_cb(struct helper *h, void *arg)
{
	vmi_send_files(h, arg);
}

static void
vmi_free(struct vmi *v)
{
	net_lease_drop(&v->net);
	timer_cancel(v->timer);
	env_close(&v->env);
	env_close(&v->tpl);
	if (v->disk >= 0)
		close(v->disk);
	free(v);
}

static const struct helper_ops vmi_helper_ops;

/*
 * A restore that failed before the guest ran (a state or disk that does
 * not match its digest, QEMU refusing the state, a guest that could not
 * reseed, a timeout): the template goes, and the VM boots cold from the
 * files kept for it, in a new helper.  0 if that began.
 */
static int
restore_fallback(struct vmi *v, const char *why)
{
	char	reason[300];

	/* Only a helper that ended by itself: it left nothing running. */
	if (v->warm != WARM_RESTORE || v->state != VMI_BOOTING ||
	    shutting_down || strncmp(why, "exited", 6) != 0 ||
	    v->env.fd[VM_FILE_KERNEL] < 0)
		return -1;
	snprintf(reason, sizeof(reason), "restoring failed: %s%s%s",
	    v->failed ? v->err.message : "the VM stopped (its helper ",
	    v->failed ? "" : why, v->failed ? "" : ")");
	/* The template goes only when it is at fault: its files do not
	 * match, QEMU refused its state, or its guest could not resume; a
	 * timeout or an OOM kill under load says nothing about it. */
	if (v->tkey[0] != '\0' && v->failed &&
	    ((v->err.code == PYRO_E_ENVIRONMENT_CORRUPT &&
	    strstr(v->err.message, "template") != NULL) ||
	    strncmp(v->err.message, "restoring the VM: ", 18) == 0 ||
	    strncmp(v->err.message, "the restored guest ", 19) == 0))
		tpl_discard(v->tkey, reason);
	log_warnx("%s: %s; booting cold", v->rec->id, reason);
	v->warm = WARM_NONE;
	v->failed = v->forced = 0;
	memset(&v->err, 0, sizeof(v->err));
	if (v->ops->on_boot)
		v->ops->on_boot(v, "cold", reason, v->arg);
	timer_cancel(v->timer);
	v->timer = timer_add((long long)conf.boot_timeout_s * 1000 + 10000,
	    vmi_deadline, v);
	if ((v->h = helper_spawn(HELPER_VM, v->rec->id, &vmi_helper_ops,
	    v)) != NULL)
		return 0;
	vmi_fail(v, PYRO_E_HELPER_FAILED, "cannot start pyro-vmhelper");
	return -1;
}

static void
vmi_exit_cb(struct helper *h, const char *why, void *arg)
{
	struct vmi	*v = arg;

	v->h = NULL;
	(void)h;
	if (restore_fallback(v, why) == 0)
		return;
	if (v->state != VMI_STOPPING && !v->failed)
		vmi_fail(v, PYRO_E_HELPER_FAILED, "pyro-vmhelper %s", why);
	if (v->fc) {
		/* A helper that died leaves Firecracker: end it first. */
		if (strcmp(why, "exited") != 0)
			cgroup_kill_id(v->rec->id);
		(void)fc_jail_remove(v->rec->id);
		/* A template's build gives its files back itself. */
		if (v->warm != WARM_SAVE)
			fc_disk_reclaim(v->rec);
	}
	/* A helper that did not exit by itself may have left its table
	 * and its VMM's cgroup (removable once QEMU is gone too). */
	if (strcmp(why, "exited") != 0) {
		if (v->net.slot >= 0) {
			net_lease_drop(&v->net);
			net_sweep();
		}
		cgroup_remove_later(v->rec->id);
	}
	LIST_REMOVE(v, entry);
	streams_gone(v);
	if (v->fork_done != NULL) {
		struct pyro_msg_vm_forked f;

		memset(&f, 0, sizeof(f));
		f.err = -EPIPE;
		snprintf(f.message, sizeof(f.message), "the VM stopped during "
		    "the fork");
		fork_finish(v, &f);
	}
	if (v->ops->on_gone)
		v->ops->on_gone(v, v->failed ? &v->err : NULL, v->forced,
		    v->arg);
	vmi_free(v);
	if (shutting_down && LIST_EMPTY(&vmis) && all_gone != NULL)
		all_gone();
}

const struct net_lease *
vmi_net(const struct vmi *v)
{
	return v->net.slot >= 0 ? &v->net : NULL;
}

int
vmi_net_live(char names[][16], int max)
{
	struct vmi	*v;
	int		 n = 0;

	/* names NULL: just count. */
	LIST_FOREACH(v, &vmis, entry)
		if (v->net.slot >= 0) {
			if (names != NULL && n < max)
				memcpy(names[n], v->net.tap, 16);
			n++;
		}
	return names != NULL && n > max ? max : n;
}

int
vmi_owns_id(const char *id)
{
	struct vmi	*v;

	LIST_FOREACH(v, &vmis, entry)
		if (strcmp(v->rec->id, id) == 0)
			return 1;
	return 0;
}

void
vmi_sweep_done(void)
{
	struct vmi	*v;

	LIST_FOREACH(v, &vmis, entry)
		if (v->wait_sweep && v->h != NULL)
			vmi_send_files(v->h, v);
}

int
vmi_publish(struct vmi *v, uint32_t host_port, uint32_t guest_port, int fd)
{
	struct pyro_msg_net_port	p = { host_port, guest_port };

	if (v->h == NULL || v->net.slot < 0 || v->state != VMI_RUNNING)
		return -1;
	return helper_send(v->h, PYRO_MSG_NET_PUBLISH, &p, sizeof(p), fd);
}

int
vmi_unpublish(struct vmi *v, uint32_t host_port)
{
	struct pyro_msg_net_port	p = { host_port, 0 };

	if (v->h == NULL || v->net.slot < 0)
		return -1;
	return helper_send(v->h, PYRO_MSG_NET_UNPUBLISH, &p, sizeof(p), -1);
}

static const struct helper_ops vmi_helper_ops = {
	vmi_msg, vmi_ready_cb, vmi_exit_cb
};

const char *
vmi_boot(const struct vmi *v)
{
	return v->restored ? "restored" : "cold";
}

/*
 * A first boot from the environment's image (a one-shot VM's snapshot, a
 * fresh disk's copy) starts from a template when one matches; why says
 * why not.
 */
static void
warm_pick(struct vmi *v, int disk, int copy_rootfs)
{
	char	why[200];
	int	rc;

	v->cold_why[0] = '\0';
	if (disk >= 0 && !copy_rootfs) {
		snprintf(v->cold_why, sizeof(v->cold_why), "the disk has "
		    "booted before");
		return;
	}
	if (!tpl_eligible(v->rec, v->fc)) {
		snprintf(v->cold_why, sizeof(v->cold_why), "%s",
		    strcmp(conf.warm_start, "off") == 0 ? "warm_start = off" :
		    rec_host_compat(v->rec) ? "host-compat" :
		    "networked VMs boot cold under Firecracker");
		return;
	}
	if (tpl_key(v->rec, &v->env, v->fc, v->qemu, v->tkey) < 0) {
		snprintf(v->cold_why, sizeof(v->cold_why), "%s unreadable",
		    v->fc ? "Firecracker" : "QEMU");
		return;
	}
	if ((rc = tpl_open(v->tkey, v->fc, &v->tpl, why, sizeof(why))) == 0) {
		v->warm = WARM_RESTORE;
		return;
	}
	v->lazy = 1;
	snprintf(v->cold_why, sizeof(v->cold_why), "%s%s", rc > 0 ?
	    "no template for this environment and shape" : "template "
	    "unusable: ", rc > 0 ? "" : why);
}

static struct vmi *
vmi_begin(struct record *rec, struct env *env, int disk, int copy_rootfs,
    int warm, int state, int mem, const struct vmi_ops *ops, void *arg,
    struct pyro_status *st)
{
	struct vmi	*v = NULL;
	char		 qemu[4200];
	const char	*why = "", *kind = NULL;
	int		 k;

	/*
	 * Every boot comes through here: refuse plainly without a VMM.  A
	 * host-compat record (made only with --allow-host-compat) needs
	 * none, and boots nothing else: a guest never writes its disk.
	 */
	qemu[0] = '\0';
	if (!rec_host_compat(rec) && ((kind = host_vmm(qemu, sizeof(qemu),
	    &why)) == NULL || strlen(qemu) >= sizeof(v->qemu)))
		pyro_fail(st, PYRO_E_VMM_UNAVAILABLE, "no usable VMM (%s): "
		    "install qemu-system-x86 or set qemu_path in pyrod.conf, "
		    "or allow host-compat (pyro doctor explains)", why);
	/* A mismatch is a clear error, never a guest that cannot answer. */
	else if (kind != NULL && strcmp(kind, "firecracker") == 0 &&
	    !env->firecracker)
		pyro_fail(st, PYRO_E_UNSUPPORTED, "environment %s was built "
		    "without Firecracker support (no vsock in its initramfs): "
		    "rebuild it with this pyro (pyro env pull %s --force), or "
		    "set vmm = qemu", env->name, env->name);
	else if ((v = calloc(1, sizeof(*v))) == NULL)
		pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	if (v == NULL) {
		int	fds[3] = { disk, state, mem };

		env_close(env);
		for (k = 0; k < 3; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		return NULL;
	}
	memcpy(v->qemu, qemu, strlen(qemu) + 1);
	v->fc = kind != NULL && strcmp(kind, "firecracker") == 0;
	v->rec = rec;
	v->env = *env;		/* takes the fds */
	for (k = 0; k < VM_FILE__MAX; k++)
		env->fd[k] = -1;
	v->disk = disk;
	v->copy_rootfs = copy_rootfs;
	v->net.slot = -1;
	for (k = 0; k < VM_FILE__MAX; k++)
		v->tpl.fd[k] = -1;
	if (state >= 0) {
		/* A template's save, or a fork's restore (no digests: the
		 * state was written for this one start a moment ago). */
		v->warm = warm;
		v->tpl.fd[VM_FILE_STATE] = state;
		v->tpl.fd[VM_FILE_MEM] = mem;
	} else
		warm_pick(v, disk, copy_rootfs);
	if (net_wanted(rec) && net_lease_take(&v->net, rec, st) < 0) {
		vmi_free(v);
		return NULL;
	}
	v->ops = ops;
	v->arg = arg;
	v->state = VMI_BOOTING;
	LIST_INIT(&v->streams);
	LIST_INSERT_HEAD(&vmis, v, entry);
	/* The helper enforces the boot timeout; this is the backstop. */
	v->timer = timer_add((long long)conf.boot_timeout_s * 1000 + 10000,
	    vmi_deadline, v);
	if ((v->h = helper_spawn(HELPER_VM, rec->id, &vmi_helper_ops,
	    v)) == NULL) {
		LIST_REMOVE(v, entry);
		vmi_free(v);
		pyro_fail(st, PYRO_E_HELPER_FAILED,
		    "cannot start pyro-vmhelper");
		return NULL;
	}
	if (v->warm != WARM_SAVE && ops->on_boot)
		ops->on_boot(v, v->warm == WARM_RESTORE ? "restored" : "cold",
		    v->warm == WARM_RESTORE ? NULL : v->cold_why, arg);
	return v;
}

struct vmi *
vmi_start(struct record *rec, struct env *env, int disk, int copy_rootfs,
    const struct vmi_ops *ops, void *arg, struct pyro_status *st)
{
	return vmi_begin(rec, env, disk, copy_rootfs, WARM_NONE, -1, -1, ops,
	    arg, st);
}

struct vmi *
vmi_start_restore(struct record *rec, struct env *env, int disk, int state,
    const struct vmi_ops *ops, void *arg, struct pyro_status *st)
{
	return vmi_begin(rec, env, disk, 0, WARM_RESTORE, state, -1, ops, arg,
	    st);
}

struct vmi *
vmi_start_save(struct record *rec, struct env *env, int disk, int state,
    int mem, const struct vmi_ops *ops, void *arg, struct pyro_status *st)
{
	return vmi_begin(rec, env, disk, 1, WARM_SAVE, state, mem, ops, arg,
	    st);
}
