/*
 * Firecracker's API and jailer as data, without I/O: the requests that
 * configure, boot, pause and snapshot a microVM (method, path, JSON body),
 * the bytes of an HTTP/1.1 request, a strict reader of Firecracker's
 * responses, the jailer's command line, and the host side of the hybrid
 * vsock handshake.  The Firecracker driver (pyro-vmhelper) sends these;
 * tests/check_fc.c and tests/fcschema.py check them against Firecracker's
 * published API description and the jailer's documented options, and
 * fuzz/fuzz_fchttp.c feeds the readers hostile bytes (a VMM a guest took
 * over may answer anything).
 *
 * Targets Firecracker 1.8 or later (ACPI device discovery on x86_64);
 * the API description read by the tests is 1.17.
 */
#ifndef PYRO_FCAPI_H
#define PYRO_FCAPI_H

#include <stddef.h>

#include "guestproto.h"

/* Paths inside the jail (the jailer's chroot). */
#define FC_API_SOCK		"/run/firecracker.sock"
#define FC_VSOCK_UDS		"/run/firecracker.vsock"
#define FC_KERNEL		"/vmlinux"
#define FC_INITRD		"/initramfs.cpio"
#define FC_ROOTFS		"/rootfs.ext4"
#define FC_GUEST_CID		3
/* The agent's vsock port in the guest. */
#define FC_AGENT_PORT		GP_VSOCK_PORT
#define FC_ID_MAX		64
#define FC_BODY_MAX		(50 * 1024)	/* Firecracker takes 51200 */
#define FC_RESP_MAX		(64 * 1024)	/* more is not Firecracker */
#define FC_PLAN_MAX		8

struct fc_req {
	const char	*method;		/* "PUT", "PATCH", "GET" */
	char		 path[64];
	char		*body;			/* JSON; NULL: none */
};

/* One microVM's shape, with jail paths. */
struct fc_vm {
	unsigned	 vcpus;			/* 1..32 */
	unsigned	 mem_mib;
	const char	*boot_args;		/* the kernel command line */
	int		 rootfs_ro;
	const char	*tap;			/* NULL: no network */
	const char	*mac;			/* "02:..." with tap */
};

/*
 * The cold boot, in Firecracker's order: machine-config, boot-source,
 * drives/rootfs, network-interfaces/eth0 (with a TAP), vsock, then
 * actions InstanceStart.  Returns the count, or -1 (a value Firecracker
 * would refuse, or no memory).  fc_req_free() each.
 */
int	fc_boot_plan(const struct fc_vm *, struct fc_req *out, int max);
int	fc_req_action(struct fc_req *, const char *action_type);
int	fc_req_vm_state(struct fc_req *, int paused);
int	fc_req_snapshot_create(struct fc_req *, const char *state_path,
	    const char *mem_path);
int	fc_req_snapshot_load(struct fc_req *, const char *state_path,
	    const char *mem_path, int resume);
void	fc_req_free(struct fc_req *);

/* The request's bytes (always with Content-Length): the length, or -1. */
int	fc_http_request(const struct fc_req *, char *buf, size_t size);

struct fc_resp {
	int		status;			/* 200..599; 0: none */
	size_t		body_len;
	char		fault[256];		/* the error's text, printable */
};
/*
 * One response at the start of buf: 0 when more bytes are needed, the
 * bytes it takes, or -1 when it is not a Firecracker response (why in
 * fault).  Accepts an empty reason phrase, a 204 without Content-Length,
 * and errors as {"fault_message": ...} or {"error": ...}.
 */
int	fc_http_response(const char *buf, size_t len, struct fc_resp *);

/* The jailer. */
struct fc_jail {
	const char	*jailer;		/* its path */
	const char	*exec_file;		/* firecracker's path */
	const char	*id;			/* [A-Za-z0-9-], 1..64, not "-" first */
	const char	*chroot_base;
	const char	*netns;			/* NULL: the host's */
	unsigned	 uid, gid;		/* not 0 */
	unsigned	 cgroup_version;	/* 1 or 2; 0: no cgroup */
	const char	*parent_cgroup;		/* relative, e.g. "pyro" */
	unsigned long long mem_max;		/* bytes; 0: no limit */
	unsigned	 pids_max;
	unsigned	 cpu_weight;		/* v2 cpu.weight, v1 shares */
};
#define FC_ARGV_MAX	40
int	fc_jail_id_ok(const char *);
/* argv (NULL-terminated, strings in buf): argc, or -1. */
int	fc_jailer_argv(const struct fc_jail *, char *buf, size_t size,
	    char **argv, int max);

/* Hybrid vsock, the host's side: "CONNECT <port>\n" -> "OK <n>\n". */
int	fc_vsock_connect_line(unsigned port, char *buf, size_t size);
/* 0 more bytes needed, the line's length, or -1 (not "OK <n>\n"). */
int	fc_vsock_ok(const char *buf, size_t len, unsigned *host_port);

#endif
