#ifndef VMHELPER_H
#define VMHELPER_H

#include <stddef.h>

#include <sys/types.h>

#include <stdint.h>

/* launcher.c: the pre-sandbox child that becomes QEMU. */
#define LAUNCH_ARGS_MAX		64
#define LAUNCH_STRINGS_MAX	8192
enum {
	LFD_DISK,	/* these five become fds 3..7 of QEMU */
	LFD_AGENT,
	LFD_CONSOLE,
	LFD_QMP,
	LFD_DISK_RO,	/* QEMU's fdset needs one fd per access mode */
	LFD_KERNEL,	/* copied into the jail, then closed */
	LFD_INITRD,
	LFD__MAX
};
struct launch {
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	nargs;
	char		hide[2][256];
};
void	launcher_main(int sock) __attribute__((noreturn));

/* vm.c: one VM under QEMU. */
int	vm_launcher_fork(void);
int	vm_serve(uid_t uid, gid_t gid);

/* sandbox.c */
int	vmh_sandbox_enter(void);

/* probe.c: host checks that only the VM helper may perform. */
int	probe_kvm(int kvm_fd, char *reason, size_t size);
int	probe_tun(char *reason, size_t size);
int	probe_nft(char *reason, size_t size);

#endif
