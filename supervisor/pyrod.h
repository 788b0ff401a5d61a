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
	char	 qemu_path[4096];
	char	 firecracker_path[4096];
	char	 jailer_path[4096];
	unsigned socket_mode;
	unsigned boot_timeout_s;	/* guest hello deadline */
	uid_t	 helper_uid;
	gid_t	 helper_gid;
	gid_t	 group_gid;		/* (gid_t)-1: no such group */
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
};

int	control_listen(const char *path, unsigned mode, gid_t group);
void	control_close(void);
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
int		 store_save(struct record *);
const char	*rec_state(const struct record *);
/* t as the registry writes times: "2026-11-29T01:02:03Z" (UTC). */
void		 iso_time(char *buf, size_t size, time_t t);
void		 rec_set_state(struct record *, const char *state,
		    const char *event, const char *detail);
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
/* Delete the record and every file in its directory. */
void		 store_remove(struct record *);

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
};
const char	*env_cache_dir(void);
int		 env_open(const char *name, const char *cache, struct env *,
		    struct pyro_status *);
void		 env_close(struct env *);
void		 env_mark_verified(const struct env *, uint32_t mask);

/* vmi.c: a live VM instance (helper + QEMU) bound to a record. */
enum vmi_state {
	VMI_BOOTING,
	VMI_RUNNING,
	VMI_STOPPING,
};
struct vmi;
struct pyro_msg_exec_exit;
struct vmi_ops {
	void	(*on_ready)(struct vmi *, uint32_t boot_ms, void *arg);
	void	(*on_output)(struct vmi *, uint32_t stream, int which,
		    const uint8_t *data, size_t len, void *arg);
	void	(*on_exit)(struct vmi *, const struct pyro_msg_exec_exit *,
		    void *arg);
	void	(*on_pong)(struct vmi *, uint32_t seq, void *arg);
	/* Optional: the guest started the exec as pid. */
	void	(*on_started)(struct vmi *, uint32_t stream, uint32_t pid,
		    void *arg);
	/* Exactly once: the helper and QEMU are gone (err NULL if clean). */
	void	(*on_gone)(struct vmi *, const struct pyro_status *err,
		    int forced, void *arg);
};
/* Takes env's fds and disk. */
struct vmi	*vmi_start(struct record *, struct env *, int disk,
		    int copy_rootfs, const struct vmi_ops *, void *arg,
		    struct pyro_status *);
struct vmi	*vmi_find(const struct record *);
void		*vmi_arg(const struct vmi *);
enum vmi_state	 vmi_state(const struct vmi *);
/*
 * Returns the exec's stream id, 0 on failure.  stdin_fd (or -1) feeds the
 * command's stdin (GP_EXEC_STDIN); the caller keeps its copy.
 */
uint32_t	 vmi_exec(struct vmi *, const uint8_t *gp_exec, size_t len,
		    int stdin_fd);
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
