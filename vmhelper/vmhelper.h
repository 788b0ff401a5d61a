#ifndef VMHELPER_H
#define VMHELPER_H

#include <stddef.h>

#include <sys/types.h>

#include <stdint.h>

#include "msg.h"

/* launcher.c: the pre-sandbox child that becomes QEMU. */
#define LAUNCH_ARGS_MAX		64
#define LAUNCH_STRINGS_MAX	8192
enum {
	LFD_DISK,	/* these five become fds 3..7 of QEMU */
	LFD_AGENT,
	LFD_CONSOLE,
	LFD_QMP,
	LFD_DISK_RO,	/* QEMU's fdset needs one fd per access mode */
	LFD_TAP,	/* fd 8 with networking; else a placeholder, closed */
	LFD_KERNEL,	/* copied into the jail, then closed */
	LFD_INITRD,
	LFD_STATE,	/* Firecracker's warm start: linked into the jail */
	LFD_MEM,
	LFD__MAX
};
#define LAUNCH_QEMU		0
#define LAUNCH_HOST_COMPAT	1	/* hostcompat.c: no VMM */
#define LAUNCH_FIRECRACKER	2	/* firecracker.c: the jailer */
struct launch {
	uint32_t	mode;		/* LAUNCH_* */
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	nargs;
	uint32_t	tap;		/* LFD_TAP is the VM's TAP */
	uint32_t	readonly;	/* host-compat: the disk is the image */
	uint32_t	tmp_mib;	/* host-compat: /tmp's size */
	uint32_t	host_id;	/* host-compat: the host uid and gid */
	uint32_t	warm;		/* Firecracker: WARM_* (LFD_STATE, MEM) */
	char		hide[2][256];
	char		jail[256];	/* Firecracker: <base>/firecracker/<id> */
};
void	launcher_main(int sock) __attribute__((noreturn));
void	launch_die(int con, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));
/* hostcompat.c: the launcher's part of a host-compat start. */
void	hc_launcher(int sock, struct launch *l, const char *agent, int *fds)
	    __attribute__((noreturn));
/* firecracker.c: the launcher's part of a Firecracker start. */
void	fc_launcher(int sock, struct launch *l, char *strings, int *fds)
	    __attribute__((noreturn));
/* vm.c: a sparse copy of src into dst (a reflink where it can). */
int	copy_sparse(int src, int dst);

/* vm.c: one VM under QEMU. */
int	vm_launcher_fork(void);
int	vm_serve(uid_t uid, gid_t gid);

/* sandbox.c */
int	vmh_sandbox_enter(void);

/* probe.c: host checks that only the VM helper may perform. */
int	probe_kvm(int kvm_fd, char *reason, size_t size);
int	probe_tun(char *reason, size_t size);
int	probe_nft(char *reason, size_t size);

/* net.c: the VM's TAP, addresses and nftables table. */
struct pyro_vm_net;
struct pyro_msg_net_sweep;
struct pyro_msg_net_swept;
int	net_tap_name_ok(const char *name);
int	net_setup(const struct pyro_vm_net *, char *err, size_t errsz);
int	net_tap_fd(void);
int	net_tap_hand_over(uid_t, gid_t, char *err, size_t errsz);
void	net_guest_arg(char *out, size_t sz);
uint32_t net_guest_addr(void);
uint32_t net_gateway(void);
uint32_t net_proxy_mark(void);
struct dns_a;
int	net_allow_addrs(const struct dns_a *, int n);
void	net_teardown(void);
void	net_sweep_leftovers(struct pyro_msg_net_sweep *,
	    struct pyro_msg_net_swept *);

/* dns.c: the VM's DNS forwarder. */
struct pollfd;
int	dns_open(const struct pyro_vm_net *, uint32_t gw, char *err,
	    size_t errsz);
void	dns_close(void);
int	dns_pollfds(struct pollfd *);		/* at most DNS_POLL_MAX */
void	dns_events(const struct pollfd *, int n);
#define DNS_POLL_MAX	(1 + 64)
void	dns_tick(void);
int	dns_next_deadline(void);		/* ms, -1: none */

/* cgroup.c: the VMM's cgroup. */
int	cg_make(const struct pyro_vm_cgroup *, pid_t pid, char *err,
	    size_t errsz);
int	cg_oomed(void);
void	cg_remove(void);

/* proxy.c: published ports. */
int	proxy_publish(uint32_t host_port, uint32_t guest_port, int fd);
void	proxy_unpublish(uint32_t host_port);
void	proxy_close_all(void);
int	proxy_pollfds(struct pollfd *, int max);
void	proxy_events(const struct pollfd *, int n);

#endif
