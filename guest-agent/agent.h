#ifndef PYRO_AGENT_H
#define PYRO_AGENT_H

#include <stdarg.h>
#include <stdint.h>

/* init.c: stage 1, from the initramfs to the root disk. */
int	init_stage1(void);
int	init_stage2_mounts(void);
void	init_loopback(void);
void	init_network(void);
/* eth0 as pyro.net= says (addresses in network order): 0 or an errno. */
int	net_configure(uint32_t addr, uint32_t gateway);
void	init_poweroff(void) __attribute__((noreturn));
extern int agent_host_compat;
void	alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The virtio-serial port named GP_PORT_NAME, opened; -1 after 5 s. */
int	agent_find_channel(void);
/*
 * Under Firecracker: the host's vsock connection; -1 not asked, -2 error.
 * The listening socket stays open (agent_vsock_listener): a snapshot
 * resets every vsock connection, and a restored guest takes the host's
 * next one with agent_vsock_accept() (-1 on an error).
 */
int	agent_vsock_channel(void);
int	agent_vsock_accept(void);
extern int agent_vsock_listener;

/* agent.c: serve the host channel; returns when asked to power off. */
int	agent_serve(int chan);

#endif
