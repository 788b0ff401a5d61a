#ifndef VMHELPER_H
#define VMHELPER_H

#include <stddef.h>

/* sandbox.c */
int	vmh_sandbox_enter(void);

/* probe.c: host checks that only the VM helper may perform. */
int	probe_kvm(int kvm_fd, char *reason, size_t size);
int	probe_tun(char *reason, size_t size);
int	probe_nft(char *reason, size_t size);

#endif
