/*
 * Messages between pyrod and its helpers over a SOCK_SEQPACKET socketpair.
 * One datagram = one header + payload, with at most one fd (SCM_RIGHTS).
 * pyro_msg_table[] is the single source of validation: pyro_msg_recv()
 * checks type, direction, size, fd presence and string termination against
 * it before any handler sees the message.
 */
#ifndef PYRO_MSG_H
#define PYRO_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guestproto.h"
#include "netrule.h"

#define PYRO_MSG_VERSION	1
#define PYRO_MSG_MAXPAYLOAD	(64 * 1024)
#define PYRO_HELPER_FD		3	/* helpers find their socket here */

struct pyro_msg_hdr {
	uint16_t	type;		/* enum pyro_msg_type */
	uint16_t	flags;		/* PYRO_MSGF_FD: one fd rides along */
	uint32_t	len;		/* payload bytes after the header */
	uint32_t	id;		/* request id, echoed in every reply */
};
#define PYRO_MSGF_FD	0x0001

/* Who sends or receives a message. */
enum pyro_peer {
	PEER_SUPERVISOR = 0x1,
	PEER_VMHELPER = 0x2,
	PEER_DISKHELPER = 0x4,
};
#define PEER_HELPERS	(PEER_VMHELPER | PEER_DISKHELPER)

enum pyro_msg_type {
	PYRO_MSG_HELLO = 1,		/* S->H: pyro_msg_hello */
	PYRO_MSG_HELLO_ACK,		/* H->S: pyro_msg_hello_ack */
	PYRO_MSG_PING,			/* S->H: empty */
	PYRO_MSG_PONG,			/* H->S: empty */
	PYRO_MSG_SHUTDOWN,		/* S->H: empty */
	PYRO_MSG_ERROR,			/* H->S: pyro_msg_error */
	PYRO_MSG_PROBE,			/* S->vmhelper: empty, fd /dev/kvm optional */
	PYRO_MSG_PROBE_RESULT,		/* vmhelper->S: pyro_msg_probe_result */
	PYRO_MSG_VM_FILE,		/* S->vmhelper: pyro_msg_vm_file + fd */
	PYRO_MSG_VM_START,		/* S->vmhelper: pyro_msg_vm_start */
	PYRO_MSG_VM_READY,		/* vmhelper->S: pyro_msg_vm_ready */
	PYRO_MSG_EXEC,			/* S->vmhelper: pyro_msg_exec + strings,
				   fd: the stdin source when GP_EXEC_STDIN */
	PYRO_MSG_EXEC_OUTPUT,		/* vmhelper->S: pyro_msg_output + data */
	PYRO_MSG_EXEC_EXIT,		/* vmhelper->S: pyro_msg_exec_exit */
	PYRO_MSG_EXEC_KILL,		/* S->vmhelper: pyro_msg_stream */
	PYRO_MSG_VM_STOP,		/* S->vmhelper: empty */
	PYRO_MSG_VM_STOPPED,		/* vmhelper->S: pyro_msg_vm_stopped */
	PYRO_MSG_GUEST_PING,		/* S->vmhelper: pyro_msg_stream (seq) */
	PYRO_MSG_GUEST_PONG,		/* vmhelper->S: pyro_msg_stream (seq) */
	PYRO_MSG_EXEC_SIGNAL,		/* S->vmhelper: pyro_msg_exec_signal */
	PYRO_MSG_EXEC_STARTED,		/* vmhelper->S: pyro_msg_exec_started */
	PYRO_MSG_DISK_OUTPUT,		/* S->diskhelper: u32 0, fd: output */
	PYRO_MSG_DISK_REQUEST,		/* S->diskhelper: pyro_msg_disk_request,
					   fd: the image */
	PYRO_MSG_DISK_ENTRIES,		/* diskhelper->S: pyro_disk_rec... */
	PYRO_MSG_DISK_DATA,		/* diskhelper->S: file content */
	PYRO_MSG_DISK_DONE,		/* diskhelper->S: pyro_msg_disk_done */
	PYRO_MSG_DISK_SECRET,		/* S->diskhelper: one secret value (the
					   raw bytes), before DISK_REQUEST */
	PYRO_MSG_NET_PUBLISH,		/* S->vmhelper: pyro_msg_net_port,
					   fd: the listening socket */
	PYRO_MSG_NET_UNPUBLISH,		/* S->vmhelper: pyro_msg_net_port */
	PYRO_MSG_NET_SWEEP,		/* S->vmhelper: pyro_msg_net_sweep */
	PYRO_MSG_NET_SWEPT,		/* vmhelper->S: pyro_msg_net_swept */
	PYRO_MSG_VM_SAVED,		/* vmhelper->S: pyro_msg_vm_saved */
	PYRO_MSG_VM_FORK_DISK,		/* S->vmhelper: u32 0, fd: the fork's
					   disk (empty) */
	PYRO_MSG_VM_FORK,		/* S->vmhelper: u32 0, fd: the fork's
					   state file (empty) */
	PYRO_MSG_VM_FORKED,		/* vmhelper->S: pyro_msg_vm_forked */
	PYRO_MSG__MAX
};

enum pyro_fd_rule {
	FD_NONE,
	FD_ONE,
	FD_OPTIONAL,
};


struct pyro_msg_hello {
	uint32_t	version;
	uint32_t	uid;		/* unprivileged uid to switch to */
	uint32_t	gid;
	uint32_t	verbose;
	char		tag[72];	/* what the helper serves, for logs */
};

struct pyro_msg_hello_ack {
	uint32_t	version;
	uint32_t	pid;
};

struct pyro_msg_error {
	int32_t		err;		/* enum pyro_err */
	char		message[252];
};

struct pyro_probe_item {
	uint32_t	ok;
	char		reason[124];
};

struct pyro_msg_probe_result {
	struct pyro_probe_item	kvm;	/* a vCPU really runs */
	struct pyro_probe_item	tun;	/* /dev/net/tun gives a TAP */
	struct pyro_probe_item	nft;	/* libnftables can list tables */
};

enum pyro_vm_file {
	VM_FILE_KERNEL = 1,
	VM_FILE_INITRD,
	VM_FILE_ROOTFS,		/* the environment's image, read-only */
	VM_FILE_DISK,		/* the VM's own disk, read-write */
	VM_FILE_STATE,		/* warm start: the VMM's saved state (restore:
				   read-only; save: write-only, empty) */
	VM_FILE_MEM,		/* warm start under Firecracker: the guest's
				   memory, a file of its own (as STATE) */
	VM_FILE__MAX
};

struct pyro_msg_vm_file {
	uint32_t	role;		/* enum pyro_vm_file */
};

/*
 * A networked VM: its TAP, its /30 out of pyrod's pool (network, gateway =
 * network + 1, guest = network + 2), where DNS goes upstream, and its
 * egress rules.  enabled = 0: no network device at all.
 */
#define NET_RESOLVERS_MAX	4
#define NET_BLOCK_MAX		16	/* network_block ranges */
#define NET_ALLOWED_MAX		65536	/* addresses in the "allowed" set */
#define PYRO_PROXY_MARK		0x00800000	/* network_proxy_mark default */
struct pyro_vm_net {
	uint32_t	enabled;
	uint32_t	subnet;		/* network order, a /30 */
	uint32_t	pool;		/* the whole pool: other guests */
	uint32_t	pool_prefix;
	uint32_t	resolvers[NET_RESOLVERS_MAX];	/* network order */
	uint32_t	nresolvers;
	uint32_t	dns_qps;	/* guest queries per second */
	uint32_t	nrules;
	uint32_t	proxy_mark;	/* one bit: the proxy's sockets */
	uint32_t	nblock;		/* never reachable, beside the pool */
	uint32_t	block[NET_BLOCK_MAX];		/* network order */
	uint32_t	block_prefix[NET_BLOCK_MAX];
	char		tap[16];	/* NET_TAP_PREFIX + part of the id */
	struct pyro_net_rule rules[NET_RULES_MAX];
};

/*
 * The VMM's cgroup: version 0 none, 1 (memory, cpu, pids hierarchies
 * under /sys/fs/cgroup/CTRL/pyro/) or 2 (/sys/fs/cgroup/pyro/); the
 * group is named by the 16 hex digits of id.
 */
struct pyro_vm_cgroup {
	uint32_t	version;
	uint32_t	pids_max;
	uint32_t	cpu_weight;	/* 1-10000, 100 is the default */
	uint32_t	required;	/* fail the start if it cannot be made */
	uint64_t	mem_bytes;
	uint64_t	id;
};

struct pyro_msg_vm_start {
	uint32_t	mem_mib;
	uint32_t	vcpus;
	uint32_t	accel_kvm;	/* 0: TCG */
	uint32_t	boot_timeout_ms;
	uint32_t	tsc_khz;
	uint32_t	copy_rootfs;	/* copy ROOTFS into DISK first */
	uint32_t	snapshot;	/* no DISK: ROOTFS + a throwaway overlay */
	uint32_t	verify_mask;	/* 1 << VM_FILE_*: check these sha256 */
	char		sha256[VM_FILE__MAX][65];
	/*
	 * Warm start (QEMU; Firecracker with MEM as well): WARM_SAVE boots
	 * cold, waits for the agent, quiesces it and saves the VM into STATE
	 * (VM_SAVED), then ends it;
	 * WARM_RESTORE starts the VMM from STATE instead of booting, then
	 * GP_RESUME (clock, entropy, name) before VM_READY (restored = 1).
	 */
	uint32_t	warm;		/* WARM_* */
	/*
	 * A networked shape's template (WARM_SAVE, QEMU): its NIC, with no
	 * network behind it; the guest gets an address when restored.
	 */
	uint32_t	nic;
	char		qemu[256];
	char		hide[2][256];	/* directories QEMU must not see */
	struct pyro_vm_net net;
	struct pyro_vm_cgroup cg;
	/*
	 * Host-compat (no VMM): pyro-agent runs on the host in its own
	 * namespaces over the disk, as run_uid and run_gid (the caller's,
	 * never 0) inside, host_id outside; agent is its path.
	 */
	uint32_t	host_compat;
	uint32_t	run_uid;	/* inside the sandbox: the caller's */
	uint32_t	run_gid;
	uint32_t	host_id;	/* on the host: the workspace's own */
	char		agent[256];
	/*
	 * Firecracker (firecracker != 0): its binary and jailer, and the
	 * jail's base directory (the record's own, in the state directory);
	 * Firecracker runs as run_uid and run_gid (never 0).
	 */
	uint32_t	firecracker;
	char		vm_id[17];	/* the record's id: the jail's */
	char		fc_exec[256];
	char		fc_jailer[256];
	char		fc_base[256];
};

#define WARM_NONE	0
#define WARM_SAVE	1
#define WARM_RESTORE	2

struct pyro_msg_vm_ready {
	uint32_t	boot_ms;
	uint32_t	copy_ms;
	uint32_t	restored;	/* from a saved state, not a boot */
	char		kernel[64];
};

struct pyro_msg_stream {
	uint32_t	stream;
};

/*
 * An exec: the stream pyrod chose, then the guest exec request exactly as
 * the agent gets it (struct gp_exec and its strings, see guestproto.h).
 */
struct pyro_msg_exec {
	uint32_t	stream;
	struct gp_exec	exec;
	/* then cwd\0 argv[0]\0 ... env[0]\0 ... */
};

struct pyro_msg_output {
	uint32_t	stream;
	uint32_t	which;		/* 1 stdout, 2 stderr */
	/* then the bytes */
};

struct pyro_msg_exec_exit {
	uint32_t	stream;
	int32_t		exit_code;
	int32_t		signal;
	uint32_t	timed_out;
	int32_t		error;		/* errno when it did not start */
};

struct pyro_msg_exec_signal {
	uint32_t	stream;
	uint32_t	signo;		/* INT, TERM, KILL, HUP or QUIT */
};

struct pyro_msg_exec_started {
	uint32_t	stream;
	uint32_t	pid;		/* in the guest */
};

enum pyro_disk_op {
	DISK_LIST = 1,
	DISK_READ,
	DISK_EXPORT,
	DISK_SCRUB,
	DISK__MAX
};

#define DISK_RECURSIVE	0x1

struct pyro_msg_disk_request {
	uint32_t	op;		/* enum pyro_disk_op */
	uint32_t	flags;
	uint64_t	max_bytes;	/* DISK_READ; 0: all */
	char		path[4096];	/* relative to /workspace or absolute */
};

/* One directory entry; then path_len + target_len bytes, no NULs. */
struct pyro_disk_rec {
	uint32_t	ino;
	uint32_t	mode;
	uint32_t	uid, gid;
	uint32_t	nlink;
	uint16_t	path_len;	/* 1..4095 */
	uint16_t	target_len;	/* 0..4095 */
	uint64_t	size;
	int64_t		mtime;
};

struct pyro_msg_disk_done {
	uint32_t	needs_recovery;	/* DISK_SCRUB found the journal dirty */
	uint32_t	pad;
	uint64_t	count;		/* entries listed, inodes scrubbed */
	uint64_t	bytes;		/* read or exported */
};

struct pyro_msg_vm_saved {
	char		state_sha256[65];	/* hex, of the state file */
	char		disk_sha256[65];	/* and of the disk it matches */
	char		mem_sha256[65];		/* Firecracker's memory; or "" */
	uint64_t	state_bytes;
	uint64_t	mem_bytes;
	uint32_t	boot_ms;	/* the template's cold boot */
	uint32_t	save_ms;	/* stop to a completed migration */
};

/*
 * A running VM forked (VM_FORK_DISK, then VM_FORK): quiesced, stopped,
 * saved into the state file, its disk copied into the fork's, continued.
 * err 0 or -errno with message; resumed 0 when the source could not run
 * on (its VM is then stopped).
 */
struct pyro_msg_vm_forked {
	int32_t		err;
	uint32_t	resumed;
	uint32_t	save_ms;	/* stop to a completed migration */
	uint32_t	copy_ms;	/* the disk's copy */
	uint32_t	paused_ms;	/* stop to cont: what the source lost */
	uint64_t	state_bytes;
	char		message[200];
};

struct pyro_msg_vm_stopped {
	uint32_t	forced;		/* 0 clean power-off, 1 killed */
	uint32_t	unexpected;	/* 1: nobody asked it to stop */
	int32_t		status;		/* VMM wait status */
	char		console[256];	/* last console line(s) */
};

/* A published port: 127.0.0.1:host_port (pyrod's listening socket) to the
 * guest's guest_port. */
struct pyro_msg_net_port {
	uint32_t	host_port;
	uint32_t	guest_port;
};

/* Remove TAP devices and nft tables of pyro's that no live VM owns. */
#define NET_SWEEP_LIVE_MAX	4000	/* fits one message */
struct pyro_msg_net_sweep {
	uint32_t	nlive;
	char		live[NET_SWEEP_LIVE_MAX][16];	/* TAP names in use */
};

struct pyro_msg_net_swept {
	uint32_t	taps;		/* removed */
	uint32_t	tables;
};

/* The most NUL-terminated string fields one message type may have. */
#define PYRO_MSG_STRS_MAX	16

struct pyro_msg_spec {
	uint16_t	 type;
	const char	*name;
	uint32_t	 size;		/* exact payload size (minimum if max) */
	uint32_t	 size_max;	/* 0: exactly size */
	enum pyro_fd_rule fd;
	uint8_t		 from;		/* allowed senders (enum pyro_peer) */
	uint8_t		 to;		/* allowed receivers */
	/* Offsets/sizes of char arrays that must hold a NUL. */
	struct { uint16_t off, len; } str[PYRO_MSG_STRS_MAX];
};

extern const struct pyro_msg_spec pyro_msg_table[];

const struct pyro_msg_spec *pyro_msg_spec(uint16_t type);

struct pyro_msg {
	struct pyro_msg_hdr	hdr;
	uint8_t			payload[PYRO_MSG_MAXPAYLOAD];
	int			fd;	/* owned; -1 when none */
};

/*
 * sendmsg(2) with nfds (0 to 8) fds as one SCM_RIGHTS message, no
 * SIGPIPE, retried on EINTR: the one builder of fd-passing messages.
 * Returns the bytes sent or -errno.
 */
struct iovec;
ssize_t	pyro_sendmsg_fds(int sock, const struct iovec *, int iovcnt,
	    const int *fds, int nfds);
/*
 * Send one message; fd (when >= 0) is duplicated into the peer, the caller
 * keeps its copy.  Returns 0 or -errno.
 */
int	pyro_msg_send(int sock, uint16_t type, uint32_t id, const void *payload,
	    size_t len, int fd);
/*
 * Receive and validate one message as peer `self` from peer `from`.
 * Returns 0 (m->fd owned by the caller), -ECONNRESET on EOF, -EAGAIN, or
 * -EBADMSG when the message breaks a rule (any received fd is closed).
 */
int	pyro_msg_recv(int sock, struct pyro_msg *m, enum pyro_peer self,
	    enum pyro_peer from);
/* Validation alone, on an already received datagram (for tests/fuzzing). */
int	pyro_msg_validate(const struct pyro_msg_hdr *, size_t total,
	    const uint8_t *payload, int have_fd, enum pyro_peer self,
	    enum pyro_peer from);
/* Copy a string into a fixed field, always NUL-terminated. */
void	pyro_strlcpy(char *dst, const char *src, size_t dstsize);

#endif
