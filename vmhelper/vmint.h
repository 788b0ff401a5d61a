/*
 * pyro-vmhelper's one VM, shared by vm.c (the VM's life, the agent's
 * channel, execs) and the VMM drivers (how a VMM is started and asked to
 * quit: qemu.c).
 */
#ifndef VMINT_H
#define VMINT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "guestproto.h"
#include "msg.h"

#define STDIN_SOURCES_MAX	64

/*
 * An exec whose stdin comes from an fd pyrod passed (a client's pipe, an
 * archive in the state dir).  We read it only while the agent has acked
 * enough (GP_STDIN_WINDOW), so neither side buffers without bound.
 */
struct stdin_src {
	uint32_t	stream;		/* 0: slot free */
	int		fd;
	uint32_t	inflight;	/* sent, not yet acked */
};

struct vm {
	int		 files[VM_FILE__MAX];
	int		 launcher_sock;
	pid_t		 vmm_pid;
	int		 pidfd;
	int		 agent, console;
	int		 ctl;		/* the VMM's control channel (QMP) */
	uid_t		 uid;
	gid_t		 gid;
	int		 ready;
	int		 stopping;	/* VM_STOP received */
	long long	 started_ms;
	long long	 deadline;	/* boot or stop deadline, 0: none */
	int		 stop_stage;	/* 0 poweroff sent, 1 quit sent */
	struct gp_reader rd;		/* the agent channel */
	char		 con[1024];	/* the console's last bytes */
	struct stdin_src src[STDIN_SOURCES_MAX];
	/* Frames for the agent not yet written: the channel never blocks us. */
	uint8_t		*outq;
	size_t		 outlen, outcap;
	size_t		 conlen;
	struct pyro_msg_vm_start start;
	/* Warm start (vm.start.warm): where the save or restore is. */
	int		 warm_stage;	/* WS_* */
	long long	 boot_ms;	/* a template's cold boot */
	long long	 save_t0;
	/* A fork of this running VM (VM_FORK): its disk, and how it went. */
	int		 forking;
	int		 fork_disk;
	long long	 fork_deadline;	/* for the guest's FLUSHED */
	struct pyro_msg_vm_forked fork;
};
enum {
	WS_NONE,
	WS_FLUSH,	/* save: the agent said hello; FLUSH sent */
	WS_SAVING,	/* save: the driver saves the VM */
	WS_LOADING,	/* restore: the driver loads the state */
	WS_RESUMING,	/* restore: GP_RESUME sent, RESUMED awaited */
	WS_CONTINUING,	/* fork: saved and copied; the VM is continued */
};

extern struct vm	vm;
extern pid_t		launcher_pid;	/* the pre-sandbox launcher */

/*
 * A VMM driver.  launch() starts the VMM for vm.start and vm.files and
 * sets vm.agent (the agent's stream), vm.console (or -1), vm.ctl (or -1),
 * vm.vmm_pid and vm.pidfd: 0 or -errno.  quit() asks the VMM to end the VM
 * after the guest did not power off in time.  ctl_event() is called when
 * vm.ctl is readable or hung up.  kill() ends it now; vm.vmm_pid is then
 * reaped.  tick(), when set, is called each turn of the loop: the longest
 * wait (ms) it allows, or -1.  error(), when set, says why launch failed.
 *
 * Warm start: with vm.start.warm == WARM_RESTORE, launch() starts the VMM
 * from vm.files[VM_FILE_STATE] instead of booting it, and the driver calls
 * vm_warm_done() once the guest runs again (or could not).  save(), called
 * on a booted, quiesced guest (WARM_SAVE), writes the VM into
 * vm.files[VM_FILE_STATE] and calls vm_warm_done() when the state is
 * complete; the VMM is then only asked to quit.  A driver without save
 * (NULL) has no warm start: pyrod does not ask it for one.  A fork saves
 * a running VM the same way, then resume() runs it again and calls
 * vm_warm_done() when it does.
 */
struct vmm_driver {
	const char	*name;
	int		(*launch)(void);
	void		(*quit)(void);
	void		(*ctl_event)(void);
	void		(*kill)(void);
	int		(*tick)(void);
	const char	*(*error)(void);
	int		(*save)(void);
	int		(*resume)(void);
};
/* vm.c: the driver's save or restore ended: 0, or -errno and why. */
void	vm_warm_done(int rc, const char *why);
extern const struct vmm_driver	vmm_qemu;
extern const struct vmm_driver	vmm_host_compat;
extern const struct vmm_driver	vmm_firecracker;

#endif
