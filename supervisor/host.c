/* Facts about this host that pyrod reads once. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyrod.h"

static int	kvm_usable = -1;

int
host_kvm_usable(void)
{
	return kvm_usable;
}

void
host_set_kvm_usable(int ok)
{
	kvm_usable = ok;
}

int
host_find_exe(const char *configured, const char *name, char *out,
    size_t size)
{
	static const char	*dirs[] = { "/usr/local/bin", "/usr/bin",
	    "/usr/local/sbin", "/usr/sbin", "/bin", NULL };
	int			 i;

	if (configured[0] != '\0') {
		snprintf(out, size, "%s", configured);
		return access(out, X_OK) == 0;
	}
	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return 1;
	}
	out[0] = '\0';
	return 0;
}

/*
 * The VMM that runs guests under pyrod.conf's vmm: "qemu" with its path,
 * or NULL; why says which and why (doctor prints it).  Firecracker needs
 * a working KVM, its jailer and its driver, whose API and jailer layer
 * (vmhelper/fcapi.c) exists but which does not yet start VMs: until it
 * does, neither `auto` nor `firecracker` picks it.  QEMU runs with KVM
 * where it works and with TCG everywhere else.
 */
const char *
host_vmm(char *path, size_t size, const char **why)
{
	char	fc[4200], jailer[4200];
	int	have_fc = host_find_exe(conf.firecracker_path, "firecracker",
		    fc, sizeof(fc)) && host_find_exe(conf.jailer_path, "jailer",
		    jailer, sizeof(jailer));
	int	kvm = host_kvm_usable() == 1;

#ifdef PYRO_TEST_POINTS
	/*
	 * A test build only: tests/fcdriver.sh runs the Firecracker driver
	 * against a Firecracker peer on a host whose KVM cannot run guests.
	 */
	if (getenv("PYRO_TEST_FIRECRACKER_WITHOUT_KVM") != NULL)
		kvm = 1;
#endif
	int	have_qemu = host_find_exe(conf.qemu_path,
		    "qemu-system-x86_64", path, size);

	if (strcmp(conf.vmm, "firecracker") == 0 ||
	    (strcmp(conf.vmm, "auto") == 0 && have_fc && kvm)) {
		if (!have_fc)
			*why = "vmm = firecracker, but firecracker or its "
			    "jailer is not installed";
		else if (!kvm)
			*why = "vmm = firecracker, but KVM is not usable "
			    "(Firecracker has no software emulation)";
		else
			*why = strcmp(conf.vmm, "auto") == 0 ? "auto: "
			    "Firecracker and its jailer are installed and KVM "
			    "works" : "vmm = firecracker";
		snprintf(path, size, "%s", have_fc ? fc : "");
		return have_fc && kvm ? "firecracker" : NULL;
	}
	if (strcmp(conf.vmm, "qemu") == 0) {
		*why = have_qemu ? "vmm = qemu" : "vmm = qemu, but QEMU is "
		    "not installed";
		return have_qemu ? "qemu" : NULL;
	}
	*why = have_qemu ? (have_fc ? "auto: QEMU (Firecracker is installed "
	    "but KVM is not usable)" : "auto: QEMU (Firecracker and its "
	    "jailer are not installed)") : "auto: no usable VMM";
	return have_qemu ? "qemu" : NULL;
}

/*
 * Does a request run on the host?  Only with the caller's explicit
 * allow_host_compat, and then only when no guest can be booted or
 * pyrod.conf prefers it (host_compat = fallback | prefer | off).
 * 1: host-compat, 0: a guest, -1: refused (st says why).
 */
int
host_compat_pick(int allow, int network, struct pyro_status *st)
{
	char		 path[4200];
	const char	*why;
	int		 vmm = host_vmm(path, sizeof(path), &why) != NULL;

	if (!allow || (vmm && strcmp(conf.host_compat, "prefer") != 0))
		return 0;
	if (strcmp(conf.host_compat, "off") == 0)
		return vmm ? 0 : pyro_fail(st, PYRO_E_VMM_UNAVAILABLE, "no "
		    "usable VMM (%s), and host_compat = off in pyrod.conf "
		    "refuses host execution", why);
	if (network)
		return pyro_fail(st, PYRO_E_UNSUPPORTED, "host-compat has no "
		    "network in this release: run without --network (or on "
		    "a host with a VMM)");
	return 1;
}

/* What a new record says it runs on: host_compat, guest_vsock (the agent
 * over Firecracker's vsock) or guest_serial (QEMU's virtio-serial). */
const char *
host_exec_mode(int host_compat)
{
	char		 path[4200];
	const char	*why, *kind;

	if (host_compat)
		return "host_compat";
	kind = host_vmm(path, sizeof(path), &why);
	return kind != NULL && strcmp(kind, "firecracker") == 0 ?
	    "guest_vsock" : "guest_serial";
}

int
rec_host_compat(const struct record *r)
{
	return strcmp(rec_exec_mode(r), "host_compat") == 0;
}

/* guest_serial or host_compat, as the record was created. */
const char *
rec_exec_mode(const struct record *r)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(r->doc,
	    "execution_mode"));

	return m != NULL ? m : "guest_serial";
}

/*
 * The guest kernel calibrates its clock against this; without it, a TCG
 * guest sometimes hangs at calibration under host load (measured: 1 in 4).
 */
unsigned
host_tsc_khz(void)
{
	static unsigned	 khz;
	FILE		*f;
	char		 line[256];
	double		 mhz;

	if (khz != 0 || (f = fopen("/proc/cpuinfo", "re")) == NULL)
		return khz;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
			khz = (unsigned)(mhz * 1000);
			break;
		}
	fclose(f);
	return khz;
}
