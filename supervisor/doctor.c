/*
 * `pyro doctor`.  Cheap host facts are read here; everything that touches
 * KVM, TAP devices or nftables is asked of a freshly spawned pyro-vmhelper
 * (the only program allowed to touch them), and a pyro-diskhelper is spawned
 * and pinged to prove that its sandbox comes up.  The answer waits for both,
 * under one deadline, without blocking other clients.
 */
#include "config.h"

#include <sys/utsname.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define DOCTOR_TIMEOUT_MS	20000

struct doctor {
	struct request		*rq;
	cJSON			*res;
	struct helper		*vmh, *dkh;
	int			 kvm_fd;
	int			 vm_done, disk_done;
	struct pyro_msg_probe_result probe;
	int			 have_probe;
	char			 vm_error[256], disk_error[256];
	struct timer		*timer;
};

static int
read_flag(const char *path)
{
	char	buf[8];
	ssize_t	n = pyro_read_small(path, buf, sizeof(buf));

	if (n < 0)
		return -1;
	return n > 0 && buf[0] == '1';
}

/*
 * The cache pyrod boots guests from; libpyro adds the caller's own as
 * "environment_cache", so doctor shows both when they differ.
 */
static void
add_env_cache(cJSON *res)
{
	cJSON		*o = cJSON_AddObjectToObject(res,
			    "pyrod_environment_cache");
	struct stat	 st;

	cJSON_AddStringToObject(o, "path", env_cache_dir());
	cJSON_AddBoolToObject(o, "exists", stat(env_cache_dir(), &st) == 0 &&
	    S_ISDIR(st.st_mode));
	/* Where pyro env pull goes when the caller names no registry. */
	if (conf.env_registry[0] != '\0')
		cJSON_AddStringToObject(res, "environment_registry",
		    conf.env_registry);
	else
		cJSON_AddNullToObject(res, "environment_registry");
}

static cJSON *
item(int ok, const char *reason)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", ok);
	if (reason != NULL && reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", reason);
	return o;
}

/* Which VMM runs guests, and what each needs; 1 when one can. */
static int
doctor_vmm(cJSON *res, int kvm_ok)
{
	char		 qemu[4200], fc[4200], jailer[4200];
	int		 have_qemu, have_fc, have_jailer;
	const char	*sel, *why;
	cJSON		*vmm, *hl;

	sel = host_vmm(qemu, sizeof(qemu), &why);
	have_qemu = host_find_exe(conf.qemu_path, "qemu-system-x86_64", qemu,
	    sizeof(qemu));
	have_fc = host_find_exe(conf.firecracker_path, "firecracker", fc,
	    sizeof(fc));
	have_jailer = host_find_exe(conf.jailer_path, "jailer", jailer,
	    sizeof(jailer));
	vmm = cJSON_AddObjectToObject(res, "vmm");
	cJSON_AddStringToObject(vmm, "configured", conf.vmm);
	cJSON_AddStringToObject(vmm, "reason", why);
	if (sel != NULL) {
		cJSON_AddStringToObject(vmm, "selected", sel);
		/* Firecracker runs on KVM only. */
		cJSON_AddStringToObject(vmm, "accel", kvm_ok ||
		    strcmp(sel, "firecracker") == 0 ? "kvm" : "tcg");
	} else {
		cJSON_AddNullToObject(vmm, "selected");
		cJSON_AddNullToObject(vmm, "accel");
	}
	hl = cJSON_AddObjectToObject(vmm, "qemu");
	cJSON_AddBoolToObject(hl, "found", have_qemu);
	cJSON_AddStringToObject(hl, "path", qemu);
	hl = cJSON_AddObjectToObject(vmm, "firecracker");
	cJSON_AddBoolToObject(hl, "found", have_fc);
	cJSON_AddStringToObject(hl, "path", fc);
	cJSON_AddBoolToObject(hl, "jailer_found", have_jailer);
	cJSON_AddStringToObject(hl, "jailer_path", jailer);
	cJSON_AddBoolToObject(hl, "driver_ready", 1);
	cJSON_AddStringToObject(hl, "needs", "firecracker and jailer (1.8 "
	    "or later), a usable KVM, an environment built with vsock");
	(void)kvm_ok;
	return sel != NULL;
}

/*
 * Host-compat (--allow-host-compat): what it needs here (unprivileged user
 * namespaces, loop devices, overlayfs, pyro-agent) and the policy.
 */
static void
doctor_host_compat(cJSON *res, int vm_ok, int have_agent)
{
	cJSON		*hc = cJSON_AddObjectToObject(res, "host_compat");
	const char	*why = NULL;
	FILE		*f;
	char		 line[256];
	int		 overlay = 0;

	if ((f = fopen("/proc/filesystems", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "\toverlay") != NULL)
				overlay = 1;
		fclose(f);
	}
	if (read_flag("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		why = "unprivileged user namespaces are off "
		    "(kernel.unprivileged_userns_clone = 0)";
	else if (pyro_read_small("/proc/sys/user/max_user_namespaces", line,
	    sizeof(line)) > 0 && line[0] == '0')
		why = "user namespaces are off (user.max_user_namespaces = 0)";
	else if (access("/dev/loop-control", F_OK) < 0)
		why = "no /dev/loop-control (loop devices)";
	else if (!overlay)
		why = "the kernel has no overlayfs";
	else if (!have_agent)
		why = "pyro-agent is not installed";
	cJSON_AddStringToObject(hc, "policy", conf.host_compat);
	cJSON_AddBoolToObject(hc, "usable", why == NULL &&
	    strcmp(conf.host_compat, "off") != 0);
	if (why != NULL)
		cJSON_AddStringToObject(hc, "reason", why);
	else if (strcmp(conf.host_compat, "off") == 0)
		cJSON_AddStringToObject(hc, "reason", "host_compat = off in "
		    "pyrod.conf");
	cJSON_AddStringToObject(hc, "used_when", strcmp(conf.host_compat,
	    "off") == 0 ? "never" : strcmp(conf.host_compat, "prefer") == 0 ?
	    "asked (--allow-host-compat)" : vm_ok ? "asked "
	    "(--allow-host-compat) and no VMM is usable (now: one is)" :
	    "asked (--allow-host-compat): no VMM is usable");
}

/* The runtime's verdict, with its reasons. */
static void
doctor_runtime(cJSON *res, const struct doctor *d, int vm_ok, int kvm_ok)
{
	cJSON	*rt = cJSON_AddObjectToObject(res, "runtime");
	cJSON	*why = cJSON_CreateArray();

	if (!vm_ok)
		cJSON_AddItemToArray(why, cJSON_CreateString(
		    "no usable VMM: install qemu-system-x86 "
		    "(apt-get install qemu-system-x86)"));
	if (!d->have_probe)
		cJSON_AddItemToArray(why, cJSON_CreateString(
		    "pyro-vmhelper did not start"));
	if (d->disk_error[0] != '\0')
		cJSON_AddItemToArray(why, cJSON_CreateString(
		    "pyro-diskhelper did not start"));
	cJSON_AddStringToObject(rt, "status",
	    cJSON_GetArraySize(why) == 0 ? "PASS" : "FAIL");
	cJSON_AddItemToObject(rt, "reasons", why);
	if (!kvm_ok && vm_ok && strcmp(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    res, "vmm"), "selected")) ?: "", "qemu") == 0)
		cJSON_AddStringToObject(rt, "note", "KVM is not usable: "
		    "guests run under QEMU software emulation (TCG), slower "
		    "but fully isolated");
}

static void
doctor_finish(struct doctor *d)
{
	cJSON		*res = d->res, *kvm, *net, *caps, *hl;
	char		 agent[4200];
	int		 kvm_ok, vm_ok, have_agent, tun_ok, nft_ok, fwd;

	timer_cancel(d->timer);
	d->timer = NULL;
	kvm_ok = d->have_probe && d->probe.kvm.ok;
	tun_ok = d->have_probe && d->probe.tun.ok;
	nft_ok = d->have_probe && d->probe.nft.ok;
	kvm = cJSON_GetObjectItemCaseSensitive(res, "kvm");
	cJSON_AddBoolToObject(kvm, "usable", kvm_ok);
	if (!kvm_ok)
		cJSON_AddStringToObject(kvm, "reason", d->have_probe ?
		    d->probe.kvm.reason : d->vm_error[0] ? d->vm_error :
		    "pyro-vmhelper could not run the probe");
	vm_ok = doctor_vmm(res, kvm_ok);

	fwd = read_flag("/proc/sys/net/ipv4/ip_forward");
	net = cJSON_AddObjectToObject(res, "networking");
	cJSON_AddItemToObject(net, "tun", item(tun_ok, d->have_probe ?
	    d->probe.tun.reason : "not probed"));
	cJSON_AddBoolToObject(net, "ip_forward", fwd == 1);
	cJSON_AddStringToObject(net, "ip_forward_policy",
	    conf.net_forward_enable ? "enable" : "leave");
	net_doctor(net);
	cJSON_AddItemToObject(net, "nftables", item(nft_ok, d->have_probe ?
	    d->probe.nft.reason : "not probed"));

	cgroup_doctor(cJSON_AddObjectToObject(res, "cgroups"));
	hl = cJSON_AddObjectToObject(res, "helpers");
	cJSON_AddItemToObject(hl, "pyro-vmhelper", item(d->have_probe,
	    d->vm_error));
	cJSON_AddItemToObject(hl, "pyro-diskhelper", item(d->disk_error[0] ==
	    '\0', d->disk_error));

	/* Commands run in a guest only through pyro-agent, its PID 1. */
	snprintf(agent, sizeof(agent), "%s/pyro-agent", conf.libexec_dir);
	have_agent = access(agent, R_OK) == 0;
	caps = cJSON_AddObjectToObject(res, "capabilities");
	cJSON_AddBoolToObject(caps, "vm_boot", vm_ok && d->have_probe);
	cJSON_AddBoolToObject(caps, "guest_exec", vm_ok && d->have_probe &&
	    have_agent);
	if (!have_agent)
		cJSON_AddStringToObject(caps, "guest_exec_reason",
		    "pyro-agent is not installed");
	doctor_host_compat(res, vm_ok, have_agent);
	/* Forwarding that pyrod may turn on when a VM needs it counts. */
	cJSON_AddBoolToObject(caps, "guest_network", tun_ok && nft_ok &&
	    (fwd == 1 || (fwd == 0 && conf.net_forward_enable)));
	doctor_runtime(res, d, vm_ok, kvm_ok);
	d->res = NULL;
	ctl_reply_ok(d->rq, res);
	free(d);
}

static void
doctor_maybe_finish(struct doctor *d)
{
	if (d->vm_done && d->disk_done)
		doctor_finish(d);
}

static void
vm_ready(struct helper *h, void *arg)
{
	struct doctor	*d = arg;

	/* The helper owns KVM from here; pyrod only hands it the device. */
	if (helper_send(h, PYRO_MSG_PROBE, NULL, 0, d->kvm_fd) < 0)
		helper_kill(h, "cannot send probe");
}

static void
vm_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct doctor	*d = arg;

	if (m->hdr.type == PYRO_MSG_PROBE_RESULT && !d->have_probe) {
		memcpy(&d->probe, m->payload, sizeof(d->probe));
		d->have_probe = 1;
		/* VMs started from now on use what the probe found. */
		host_set_kvm_usable(d->probe.kvm.ok != 0);
		helper_shutdown(h);
	} else if (m->hdr.type == PYRO_MSG_ERROR) {
		const struct pyro_msg_error *e = (const void *)m->payload;

		snprintf(d->vm_error, sizeof(d->vm_error), "%s", e->message);
		helper_shutdown(h);
	} else
		helper_kill(h, "sent an unexpected message");
}

static void
vm_exit(struct helper *h, const char *why, void *arg)
{
	struct doctor	*d = arg;

	if (!d->have_probe && d->vm_error[0] == '\0')
		snprintf(d->vm_error, sizeof(d->vm_error),
		    "pyro-vmhelper %s before it answered", why);
	d->vmh = NULL;
	if (d->kvm_fd >= 0)
		close(d->kvm_fd);
	d->kvm_fd = -1;
	d->vm_done = 1;
	doctor_maybe_finish(d);
}

static const struct helper_ops vm_ops = { vm_msg, vm_ready, vm_exit };

static void
disk_ready(struct helper *h, void *arg)
{
	if (helper_send(h, PYRO_MSG_PING, NULL, 0, -1) < 0)
		helper_kill(h, "cannot send ping");
}

static void
disk_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct doctor	*d = arg;

	if (m->hdr.type == PYRO_MSG_PONG)
		helper_shutdown(h);
	else {
		snprintf(d->disk_error, sizeof(d->disk_error),
		    "pyro-diskhelper sent an unexpected message");
		helper_kill(h, "sent an unexpected message");
	}
}

static void
disk_exit(struct helper *h, const char *why, void *arg)
{
	struct doctor	*d = arg;

	/* A clean exit after our shutdown means the ping was answered. */
	if (d->disk_error[0] == '\0' && strcmp(why, "exited") != 0)
		snprintf(d->disk_error, sizeof(d->disk_error),
		    "pyro-diskhelper %s", why);
	d->dkh = NULL;
	d->disk_done = 1;
	doctor_maybe_finish(d);
}

static const struct helper_ops disk_ops = { disk_msg, disk_ready, disk_exit };

static void
doctor_timeout(void *arg)
{
	struct doctor	*d = arg;

	d->timer = NULL;
	if (d->vmh != NULL)
		helper_kill(d->vmh, "doctor probe timed out");
	if (d->dkh != NULL) {
		snprintf(d->disk_error, sizeof(d->disk_error),
		    "pyro-diskhelper did not answer in time");
		helper_kill(d->dkh, "doctor ping timed out");
	}
}

static void
add_kvm_node(cJSON *res, int *kvm_fd)
{
	cJSON		*kvm = cJSON_AddObjectToObject(res, "kvm");
	struct stat	 st;
	int		 fd;

	cJSON_AddStringToObject(kvm, "device", "/dev/kvm");
	cJSON_AddBoolToObject(kvm, "exists", stat("/dev/kvm", &st) == 0 &&
	    S_ISCHR(st.st_mode));
	fd = open("/dev/kvm", O_RDONLY | O_CLOEXEC);
	cJSON_AddBoolToObject(kvm, "readable", fd >= 0);
	if (fd >= 0)
		close(fd);
	*kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	cJSON_AddBoolToObject(kvm, "writable", *kvm_fd >= 0);
}

void
op_doctor(struct request *rq, const cJSON *args)
{
	struct doctor	*d;
	struct utsname	 u;
	cJSON		*p;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	d->rq = rq;
	d->res = cJSON_CreateObject();
	p = cJSON_AddObjectToObject(d->res, "platform");
	if (uname(&u) == 0) {
		char	name[160], *s;

		cJSON_AddStringToObject(p, "os", u.sysname);
		cJSON_AddStringToObject(p, "kernel", u.release);
		cJSON_AddStringToObject(p, "arch", u.machine);
		/* "linux-x86_64": the name users and release files know. */
		snprintf(name, sizeof(name), "%s-%s", u.sysname, u.machine);
		for (s = name; *s != '\0'; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s = (char)(*s - 'A' + 'a');
		cJSON_AddStringToObject(p, "name", name);
	}
	cJSON_AddStringToObject(p, "pyro_version", PACKAGE_VERSION);
	cJSON_AddBoolToObject(p, "supported", strcmp(u.sysname, "Linux") == 0 &&
	    strcmp(u.machine, "x86_64") == 0);
	add_kvm_node(d->res, &d->kvm_fd);
	cJSON_AddStringToObject(d->res, "state_dir", conf.state_dir);
	cJSON_AddStringToObject(d->res, "catalog_version",
	    PYRO_CATALOG_VERSION);
	add_env_cache(d->res);
	cJSON_AddStringToObject(d->res, "socket", conf.socket_path);

	d->timer = timer_add(DOCTOR_TIMEOUT_MS, doctor_timeout, d);
	if ((d->vmh = helper_spawn(HELPER_VM, "doctor", &vm_ops, d)) == NULL) {
		snprintf(d->vm_error, sizeof(d->vm_error),
		    "cannot spawn pyro-vmhelper");
		if (d->kvm_fd >= 0)
			close(d->kvm_fd);
		d->kvm_fd = -1;
		d->vm_done = 1;
	}
	if ((d->dkh = helper_spawn(HELPER_DISK, "doctor", &disk_ops,
	    d)) == NULL) {
		snprintf(d->disk_error, sizeof(d->disk_error),
		    "cannot spawn pyro-diskhelper");
		d->disk_done = 1;
	}
	doctor_maybe_finish(d);
}
