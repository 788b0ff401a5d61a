/*
 * pyrod: the privileged supervisor.  It owns the control socket, the
 * registry of VMs and workspaces, the state directory, and the helper
 * processes.  Everything runs in one thread around one epoll loop, so no
 * handler may block: work that takes time goes to a helper and finishes in a
 * callback.
 */
#ifndef PYROD_H
#define PYROD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <time.h>

#include <stdint.h>

#include <cjson/cJSON.h>

#include "errcode.h"
#include "msg.h"

/* config.c */
struct pyrod_config {
	char	 socket_path[108];
	char	 state_dir[4096];
	char	 libexec_dir[4096];
	char	 group[64];		/* may use pyrod besides root */
	char	 helper_user[64];	/* unprivileged uid for helpers */
	char	 pid_file[4096];
	char	 vmm[16];		/* auto, qemu, firecracker */
	char	 host_compat[16];	/* fallback, prefer, off */
	char	 env_registry[512];	/* environment_registry: pulls' */
	char	 warm_start[8];		/* on, lazy, off (template.c) */
	unsigned hc_id_base;		/* host-compat sandboxes' host ids */
	char	 qemu_path[4096];
	char	 firecracker_path[4096];
	char	 jailer_path[4096];
	unsigned socket_mode;
	unsigned boot_timeout_s;	/* guest hello deadline */
	uid_t	 helper_uid;
	gid_t	 helper_gid;
	char	 firecracker_user[64];	/* Firecracker's uid; "": helper_user */
	uid_t	 fc_uid;
	gid_t	 fc_gid;
	gid_t	 group_gid;		/* (gid_t)-1: no such group */
	/* Clients (client.c, control.c): see pyrod.conf(5). */
	unsigned max_clients;		/* connections in all */
	unsigned max_clients_per_uid;	/* connections of one uid */
	unsigned max_clients_root;	/* root's own cap */
	unsigned max_requests_per_uid;	/* in flight, on all connections */
	unsigned frame_timeout_s;	/* an unfinished frame's bytes */
	/* Admission (admit.c): budgets for guests. */
	unsigned long long memory_budget_mib;
	unsigned max_running_vms;
	unsigned max_workspaces_per_uid;
	double	 vcpu_overcommit;	/* guest vCPUs per host CPU */
	unsigned long long snapshot_budget_kib;	/* per workspace */
	/* Guest networking (net.c): see pyrod.conf(5). */
	uint32_t net_pool;		/* network order */
	unsigned net_pool_prefix;
	uint32_t dns[NET_RESOLVERS_MAX];	/* network order */
	unsigned ndns;			/* 0: /etc/resolv.conf's */
	int	 net_forward_enable;	/* turn ip_forward on if off */
	uint32_t publish_addr;		/* network order */
	unsigned dns_qps;
	/* VMs in cgroups (cgroup.c). */
	int	 cgroups;		/* CG_AUTO, CG_REQUIRE, CG_OFF */
	unsigned vmm_overhead_mib;	/* the VMM's memory beyond the guest */
	int	 page_cache_mib;	/* -1: the disk's size (auto) */
	uint32_t block[NET_BLOCK_MAX];	/* network_block, network order */
	uint32_t block_prefix[NET_BLOCK_MAX];
	unsigned nblock;
	uint32_t proxy_mark;		/* network_proxy_mark, one bit */
	/* The host, read once by config_defaults(). */
	unsigned long long host_mem_mib;	/* 0: unknown */
	unsigned host_cpus;
};
extern struct pyrod_config conf;

/* Command-line values; NULL where a flag was not given. */
struct config_flags {
	const char	*socket, *state_dir, *libexec_dir, *group;
	const char	*socket_mode;
};

void	config_defaults(struct pyrod_config *);
int	config_load(struct pyrod_config *, const char *path);
int	config_resolve(struct pyrod_config *);
/* Defaults, then the file (if any), the environment, the flags. */
int	config_layer(struct pyrod_config *, const char *file,
	    const struct config_flags *);

/* loop.c: one epoll loop plus one-shot timers. */
struct ev {
	int	  fd;
	void	(*cb)(struct ev *, uint32_t events);
	void	 *arg;
};
struct timer;

int		 loop_init(void);
int		 loop_add(struct ev *, uint32_t events);
int		 loop_mod(struct ev *, uint32_t events);
void		 loop_del(struct ev *);
/* Free p with fn once the current batch of events is handled. */
void		 loop_defer_free(void (*fn)(void *), void *p);
struct timer	*timer_add(long long ms, void (*cb)(void *), void *arg);
void		 timer_cancel(struct timer *);
long long	 now_ms(void);		/* monotonic */
long long	 now_us(void);
/* Runs until *quit becomes nonzero. */
void		 loop_run(volatile int *quit);

/* testpoint.c: stop at a named step of op (test builds only). */
#ifdef PYRO_TEST_POINTS
void	test_point(const char *op, const char *step);
#else
#define test_point(op, step)	((void)0)
#endif

/* control.c: clients and requests. */
struct client;
struct request {
	LIST_ENTRY(request)	 entry;
	struct client		*client;	/* NULL once it went away */
	cJSON			*id;
	uid_t			 uid;		/* from SO_PEERCRED */
	gid_t			 gid;
	char			 op[64];
	int			 fd;		/* passed with "fd": true, or -1 */
	/* Called once if the client disconnects before the reply. */
	void			(*cancel)(struct request *);
	void			*ctx;
	/* What the op's gate found (a struct ws, a VM's context). */
	void			*obj;
};

/* control.c: the socket, authorization, the op table and its gates. */
int	control_listen(const char *path, unsigned mode, gid_t group);
void	control_close(void);

/* client.c: connections; each request goes to dispatch. */
struct ucred;
int	client_new(int fd, const struct ucred *, void (*dispatch)(
	    struct request *, const char *op, const cJSON *args));
int	clients_count(void);
/* Connections of uid, and its requests in flight on all of them. */
int	clients_of_uid(uid_t);
int	requests_of_uid(uid_t);
/*
 * A connection refused before it became a client: one error frame written
 * at once (without blocking: a new socket's buffer is empty), then the fd
 * is closed.  Takes fd.
 */
void	client_refuse_fd(int fd, enum pyro_err, const char *msg);
void	clients_close_all(void);
void	ctl_reply_ok(struct request *, cJSON *result);
void	ctl_reply_err(struct request *, enum pyro_err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	ctl_reply_status(struct request *, const struct pyro_status *);
void	ctl_event(struct request *, const char *kind, cJSON *fields);
/*
 * Backpressure: bytes of replies queued for the request's client, and a
 * one-shot callback for when that backlog is low again (called at once if
 * the client is gone, and when it goes).
 */
size_t	ctl_backlog(const struct request *);
/*
 * Command output to the request's client: one "stdout"/"stderr" event
 * with the bytes in base64.  Returns the client's backlog afterwards;
 * past CTL_OUTPUT_HIGH the caller stops reading the producer until
 * ctl_on_drain() says the client caught up.
 */
#define CTL_OUTPUT_HIGH	(4 * 1024 * 1024)
size_t	ctl_event_data(struct request *, const char *kind, const uint8_t *,
	    size_t);
void	ctl_on_drain(struct request *, void (*fn)(void *), void *arg);
/* Forget a drain callback registered with arg (before arg is freed). */
void	ctl_clear_drain(struct request *, void *arg);
/* Nonzero when uid may use pyrod (root, or a member of conf.group). */
int	ctl_authorized(uid_t uid, gid_t gid, const gid_t *groups, int ngroups);

/* args.c: typed access to request arguments, with stable errors. */
int	arg_string(const cJSON *args, const char *key, int required,
	    size_t maxlen, const char **out, struct pyro_status *);
int	arg_int(const cJSON *args, const char *key, int required, long long min,
	    long long max, long long *out, struct pyro_status *);
int	arg_bool(const cJSON *args, const char *key, int *out,
	    struct pyro_status *);
int	arg_id(const cJSON *args, const char *key, const char **out,
	    struct pyro_status *);
/*
 * A command: "argv" (1 to GP_ARGS_MAX strings) or "command" (one string,
 * run with sh -lc), exactly one of them.  argv points into args (which
 * must outlive it); line is the command as one shell-quoted line, for
 * history and status.  Free with cmdline_free().
 */
struct cmdline {
	const char	**argv;		/* NULL-terminated */
	int		  shell;	/* argv[0] is a string for sh -lc */
	char		 *line;
};
int	arg_command(const cJSON *args, struct cmdline *, struct pyro_status *);
/* "cwd" of a shell or service: relative to /workspace, any guest dir. */
int	arg_guest_cwd(const cJSON *args, char *out, size_t size,
	    struct pyro_status *);
void	cmdline_free(struct cmdline *);

/* net.c: guest networking's host side. */
#define NET_PUBLISH_MAX	8		/* published ports per service */
struct net_lease {
	int		slot;		/* -1: none */
	uint32_t	subnet;		/* network order */
	char		tap[16];
};
struct record;
int	net_init(void);
void	net_shutdown(void);
void	net_sweep(void);
int	net_sweep_busy(void);
int	net_wanted(const struct record *);
int	net_publish_allowed(const struct record *);
int	net_rules_arg(const cJSON *args, cJSON *doc, int networked,
	    struct pyro_status *);
int	net_lease_take(struct net_lease *, const struct record *,
	    struct pyro_status *);
void	net_lease_drop(struct net_lease *);
int	net_pool_slots(void);
int	net_vm_config(const struct record *, const struct net_lease *,
	    struct pyro_vm_net *, struct pyro_status *);
void	net_info(cJSON *o, const struct record *, const struct net_lease *,
	    cJSON *published);
const char *net_publish_address(char *buf);
void	net_doctor(cJSON *networking);
int	net_publish_socket(uint32_t port, struct pyro_status *);
int	net_port_privileged(uint32_t port);
int	net_ports_arg(const cJSON *args, uint32_t ports[][2], int *n,
	    struct pyro_status *);

/* cgroup.c: VMs in cgroups. */
enum { CG_AUTO, CG_REQUIRE, CG_OFF };
int	cgroup_init(void);
void	cgroup_sweep(void);
void	cgroup_remove_later(const char *vm_id);
void	cgroup_vm(const struct record *, unsigned mem_mib, unsigned vcpus,
	    unsigned long long disk_bytes, int snapshot,
	    struct pyro_vm_cgroup *);
void	cgroup_doctor(cJSON *);

/* store.c: the registry on disk. */
enum rec_kind {
	REC_VM,
	REC_WORKSPACE,
};
struct record {
	LIST_ENTRY(record)	 entry;
	enum rec_kind		 kind;
	char			 id[17];
	uid_t			 owner;
	cJSON			*doc;		/* the whole record */
};
LIST_HEAD(record_list, record);
extern struct record_list records;

int		 store_open(const char *state_dir);
void		 store_close(void);
struct record	*store_find(enum rec_kind, const char *id);
struct record	*store_create(enum rec_kind, uid_t owner);
int		 fc_jail_remove(const char *id);
void		 cgroup_kill_id(const char *id);
void		 fc_disk_reclaim(struct record *);
int		 store_save(struct record *);
const char	*rec_state(const struct record *);
/* t as the registry writes times: "2026-11-29T01:02:03Z" (UTC). */
void		 iso_time(char *buf, size_t size, time_t t);
/*
 * Record states; store.c has their one name table (the names are what
 * records hold on disk and clients see).
 */
enum rec_st {
	ST_UNKNOWN,
	ST_CREATED,	/* a VM made but never started */
	ST_CREATING,	/* a workspace's first boot and seed */
	ST_STARTING,
	ST_RUNNING,
	ST_STOPPING,
	ST_STOPPED,
	ST_RESETTING,
	ST_FAILED,
	ST_DELETING,
	ST__MAX
};
const char	*rec_st_name(enum rec_st);
enum rec_st	 rec_st(const struct record *);
void		 rec_set_state(struct record *, enum rec_st, const char *event,
		    const char *detail);
const char	*rec_kind_name(enum rec_kind);
/* Root sees every record; anyone else only their own. */
int		 rec_visible(const struct record *, uid_t);
int		 store_recover(void);
/* Open a file in the record's directory (created if needed). */
int		 store_openat(struct record *, const char *name, int flags,
		    mode_t mode);
/* Rename or remove a file in the record's directory; 0 or -errno. */
int		 store_rename(struct record *, const char *from,
		    const char *to);
int		 store_unlink(struct record *, const char *name);
/* The record's rootfs.ext4 (made empty the first time: *fresh). */
int		 store_open_disk(struct record *, int *fresh);
/* Delete the record and every file in its directory. */
void		 store_remove(struct record *);
/* The records of kind k visible to uid: {key: [{id, state, ...}]}. */
cJSON		*store_list_json(enum rec_kind k, uid_t uid, const char *key);

/* env.c */
struct env_stamp {
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime, ctime;
};
struct env {
	struct env_stamp stamp[VM_FILE__MAX];	/* taken at env_open() */
	char		name[64];
	char		kernel_version[64];
	int		fd[VM_FILE__MAX];
	char		sha256[VM_FILE__MAX][65];
	uint32_t	verify_mask;
	int		firecracker;	/* its manifest lists it in "vmms" */
};
const char	*env_cache_dir(void);
int		 env_open(const char *name, const char *cache, struct env *,
		    struct pyro_status *);
void		 env_close(struct env *);
void		 env_mark_verified(const struct env *, uint32_t mask);
int		 env_stamp_fd(int fd, struct env_stamp *);
cJSON		*env_read_json(int dfd, const char *name, size_t max);
int		 env_hexdigest_ok(const char *hex);
int		 env_stamp_known(const struct env_stamp *);

/* template.c: warm-start templates (see there). */
int		 tpl_eligible(const struct record *, int fc);
/* vmm: QEMU's or (fc) Firecracker's path. */
int		 tpl_key(const struct record *, const struct env *, int fc,
		    const char *vmm, char key[65]);
int		 tpl_open(const char *key, int fc, struct env *, char *why,
		    size_t whysz);
void		 tpl_discard(const char *key, const char *why);
/* At start: remove what builds of an earlier run left (templates/.build-*). */
void		 tpl_builds_remove(void);
void		 tpl_lazy(const struct record *, const char *env,
		    const char *cache, const char *key, int fc,
		    const char *vmm);
void		 op_environment_warm(struct request *, const cJSON *args);
void		 op_environment_templates(struct request *, const cJSON *args);
/* environment.cache: pyrod's cache and what it holds. */
void		 op_environment_cache(struct request *, const cJSON *args);

/* vmi.c: a live VM instance (helper + QEMU) bound to a record. */
enum vmi_state {
	VMI_BOOTING,
	VMI_RUNNING,
	VMI_STOPPING,
};
struct vmi;
struct pyro_msg_exec_exit;
struct gp_exec;
struct vmi_ops {
	/* The guest runs: booted, or restored from a template (vmi_boot). */
	void	(*on_ready)(struct vmi *, uint32_t boot_ms, void *arg);
	/* How it starts: "restored" or "cold", and why cold (or NULL);
	 * again with "cold" when a restore failed and it boots instead. */
	void	(*on_boot)(struct vmi *, const char *how, const char *why,
		    void *arg);
	/* A template's save completed (vmi_start_save). */
	void	(*on_saved)(struct vmi *, const struct pyro_msg_vm_saved *,
		    void *arg);
	void	(*on_pong)(struct vmi *, uint32_t seq, void *arg);
	/* Exactly once: the helper and QEMU are gone (err NULL if clean).
	 * Every exec's on_exit(NULL) came first. */
	void	(*on_gone)(struct vmi *, const struct pyro_status *err,
		    int forced, void *arg);
};
/* One exec's events, to whoever started it (job.c). */
struct vmi_stream_ops {
	void	(*on_output)(void *arg, int which, const uint8_t *, size_t);
	void	(*on_started)(void *arg, uint32_t pid);	/* optional */
	/* Exactly once: the exit, or NULL when the VM went away first. */
	void	(*on_exit)(void *arg, const struct pyro_msg_exec_exit *);
};
/* Takes env's fds and disk. */
struct vmi	*vmi_start(struct record *, struct env *, int disk,
		    int copy_rootfs, const struct vmi_ops *, void *arg,
		    struct pyro_status *);
/* A template: a cold boot onto disk, saved into state (and, under
 * Firecracker, mem) once it runs. */
struct vmi	*vmi_start_save(struct record *, struct env *, int disk,
		    int state, int mem, const struct vmi_ops *, void *arg,
		    struct pyro_status *);
/* A fork's VM: its own disk (copied) and the state the fork saved. */
struct vmi	*vmi_start_restore(struct record *, struct env *, int disk,
		    int state, const struct vmi_ops *, void *arg,
		    struct pyro_status *);
/*
 * Fork the running VM into disk and state (empty files): done(v, result,
 * arg) once, with the helper's answer (or an error of its own if the VM
 * went first).  -1 if it cannot begin.
 */
int		 vmi_fork(struct vmi *, int disk, int state,
		    void (*done)(struct vmi *, const struct pyro_msg_vm_forked *,
		    void *), void *arg);
/* Is an exec, shell or service stream open on the VM? */
int		 vmi_busy(const struct vmi *);
/* "restored" or "cold": how the running guest started. */
const char	*vmi_boot(const struct vmi *);
struct vmi	*vmi_find(const struct record *);
const struct net_lease *vmi_net(const struct vmi *);
/* The TAP names of every live networked VM, for the sweep. */
int		 vmi_net_live(char names[][16], int max);
/* Does a live VM belong to the record with this id? */
int		 vmi_owns_id(const char *id);
/* The sweep ended: networked VMs that waited for it may start. */
void		 vmi_sweep_done(void);
int		 vmi_publish(struct vmi *, uint32_t host_port,
		    uint32_t guest_port, int fd);
int		 vmi_unpublish(struct vmi *, uint32_t host_port);
void		*vmi_arg(const struct vmi *);
enum vmi_state	 vmi_state(const struct vmi *);
/*
 * Start an exec (g: timeout, flags, PTY size; argc/envc are counted here)
 * and bind its events to ops/arg.  Returns the stream id, 0 on failure
 * (no callback then).  stdin_fd (or -1) feeds the command's stdin; the
 * caller keeps its copy.
 */
uint32_t	 vmi_exec(struct vmi *, struct gp_exec *g, const char *cwd,
		    const char *const *argv, const char *const *env,
		    int stdin_fd, const struct vmi_stream_ops *, void *arg);
/* Unbind a stream's callbacks (its end will not be reported). */
void		 vmi_forget(struct vmi *, uint32_t stream);
void		 vmi_signal(struct vmi *, uint32_t stream, int signo);
void		 vmi_kill_exec(struct vmi *, uint32_t stream);
int		 vmi_ping(struct vmi *, uint32_t seq);
void		 vmi_stop(struct vmi *);
void		 vmi_pause(struct vmi *, int paused);
/* Shutdown: power every VM off; fn is called once none is left. */
int		 vmi_stop_all(void (*fn)(void));
int		 vmi_count(void);
int		 vmi_shutting_down(void);

/* host.c: facts about this host, read once. */
unsigned	 host_tsc_khz(void);
int		 host_find_exe(const char *configured, const char *name,
		    char *out, size_t size);
const char	*host_vmm(char *path, size_t size, const char **why);
int		 host_compat_pick(int allow, int network,
		    struct pyro_status *st);
int		 rec_host_compat(const struct record *);
const char	*host_exec_mode(int host_compat);
const char	*rec_exec_mode(const struct record *);
int		 host_kvm_usable(void);		/* last probe: -1 unknown */
void		 host_set_kvm_usable(int);

/* spawn.c: helper processes. */
enum helper_kind {
	HELPER_VM,
	HELPER_DISK,
};
struct helper;
struct helper_ops {
	/* A validated message other than hello_ack. */
	void	(*on_msg)(struct helper *, struct pyro_msg *, void *arg);
	/* The helper said hello_ack: it is sandboxed and serving. */
	void	(*on_ready)(struct helper *, void *arg);
	/* The helper is gone (exit, signal, or killed by us for `why`). */
	void	(*on_exit)(struct helper *, const char *why, void *arg);
};

struct helper	*helper_spawn(enum helper_kind, const char *tag,
		    const struct helper_ops *, void *arg);
int		 helper_send(struct helper *, uint16_t type, const void *,
		    size_t, int fd);
void		 helper_kill(struct helper *, const char *why);
void		 helper_shutdown(struct helper *);
/* Stop (1) or resume (0) reading the helper's messages. */
void		 helper_pause(struct helper *, int paused);
pid_t		 helper_pid(const struct helper *);
const char	*helper_name(enum helper_kind);
void		 helpers_reap(void);
void		 helpers_kill_all(void);
int		 helpers_count(void);

/*
 * admit.c: admission control.  Every figure is computed from the live
 * records (a VM or workspace counts while its state is creating,
 * starting, running, stopping or resetting, or while it has a VM), so
 * nothing is counted twice or forgotten.  Each returns 0, or -1 with
 * resources_exhausted and the numbers (asked, in use, limit) in st.
 */
enum admit_kind {
	ADMIT_BOOT,		/* a VM or workspace about to boot */
	ADMIT_NEW_WORKSPACE,	/* the same, and one more workspace of uid */
};
int	admit_vm(uid_t, long long mem_mib, long long vcpus, enum admit_kind,
	    struct pyro_status *);
/* admit_vm() for a record about to boot (its owner, mem_mib, vcpu_count). */
int	admit_record(const struct record *, struct pyro_status *);
/* Before a snapshot: the workspace's stored snapshots are under budget. */
int	admit_snapshot(const struct record *, struct pyro_status *);
/* After it is written: the new one's bytes keep the total in budget. */
int	admit_snapshot_written(const struct record *, long long bytes,
	    struct pyro_status *);
/* "usage": what is in use against each limit. */
void	op_usage(struct request *, const cJSON *args);

/* Operations (one file per area). */
void	op_doctor(struct request *, const cJSON *args);
void	op_vm_list(struct request *, const cJSON *args);
void	op_vm_status(struct request *, const cJSON *args);
void	op_workspace_list(struct request *, const cJSON *args);
void	op_workspace_status(struct request *, const cJSON *args);
void	op_vm_run(struct request *, const cJSON *args);
void	op_vm_create(struct request *, const cJSON *args);
void	op_vm_start(struct request *, const cJSON *args);
void	op_vm_exec(struct request *, const cJSON *args);
void	op_vm_stop(struct request *, const cJSON *args);
void	op_vm_delete(struct request *, const cJSON *args);
void	op_vm_network_info(struct request *, const cJSON *args);
void	op_vm_reap_expired(struct request *, const cJSON *args);
void	op_vm_ping(struct request *, const cJSON *args);
/* vm.c's gate table, by request kind (applied by the dispatcher). */
enum vm_req {
	VMREQ_EXEC,	/* exec, ping: running and idle */
	VMREQ_START,
	VMREQ_STOP,
	VMREQ_HOST,	/* status, network info, delete */
	VMREQ__MAX
};
/* The VM named by "vm_id" if the gate lets request kind k act on it now;
 * otherwise reply with the refusal and return NULL. */
struct record	*vm_gate(struct request *, const cJSON *args, enum vm_req);
/* The gate table alone: 0 or the refusal for state st and kind k. */
enum pyro_err	 vm_gate_refusal(enum rec_st st, enum vm_req k);
/* A VM record as clients see it (with "vm_id"). */
cJSON	*vm_json(const struct record *);
void	vm_reaper_start(void);
void	op_workspace_create(struct request *, const cJSON *args);
void	op_workspace_start(struct request *, const cJSON *args);
void	op_workspace_stop(struct request *, const cJSON *args);
void	op_workspace_reset(struct request *, const cJSON *args);
void	op_workspace_delete(struct request *, const cJSON *args);
void	op_workspace_logs(struct request *, const cJSON *args);
void	op_workspace_exec(struct request *, const cJSON *args);
void	op_workspace_sync_push(struct request *, const cJSON *args);
void	op_workspace_export(struct request *, const cJSON *args);
void	op_workspace_diff(struct request *, const cJSON *args);
void	op_snapshot_create(struct request *, const cJSON *args);
void	op_snapshot_list(struct request *, const cJSON *args);
void	op_snapshot_delete(struct request *, const cJSON *args);
void	op_shell_open(struct request *, const cJSON *args);
void	op_shell_read(struct request *, const cJSON *args);
void	op_shell_write(struct request *, const cJSON *args);
void	op_shell_signal(struct request *, const cJSON *args);
void	op_shell_close(struct request *, const cJSON *args);
void	op_service_start(struct request *, const cJSON *args);
void	op_service_list(struct request *, const cJSON *args);
void	op_service_status(struct request *, const cJSON *args);
void	op_service_logs(struct request *, const cJSON *args);
void	op_service_stop(struct request *, const cJSON *args);
void	op_workspace_disk_list(struct request *, const cJSON *args);
void	op_workspace_disk_read(struct request *, const cJSON *args);
void	op_workspace_disk_export(struct request *, const cJSON *args);
void	workspace_sweeper_start(void);

#endif
