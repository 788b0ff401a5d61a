/*
 * Workspaces inside pyrod: shared by workspace.c (records, lifecycle, the
 * state table), wsjob.c (guest commands run for a workspace, where their
 * output goes, secret redaction) and wsruntime.c (PTY shells, services).
 */
#ifndef PYROD_WORKSPACE_H
#define PYROD_WORKSPACE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "pyrod.h"
#include "redact.h"

#define WS_SECRETS_MAX		32
#define WS_SECRET_BYTES_MAX	(64 * 1024)
#define WS_SHELLS_MAX		16
#define WS_SERVICES_MAX		32
#define WS_REDACTED		PYRO_REDACTED

struct ws;
struct wjob;

/* Where a guest command's output goes. */
enum wjob_sink {
	SINK_DROP,
	SINK_CLIENT,	/* stdout/stderr events to the request (redacted) */
	SINK_BUFFER,	/* kept in memory up to a cap (stdout and stderr) */
	SINK_FILE,	/* stdout written to an fd (archives: masked) */
	SINK_SHELL,	/* appended to a shell's scrollback (redacted) */
};

struct obuf {
	uint8_t		*p;
	size_t		 len, cap, max;
	int		 truncated;
};

typedef void	(*wjob_done_fn)(struct wjob *, const struct pyro_msg_exec_exit *);

struct wjob {
	LIST_ENTRY(wjob)	 entry;
	struct ws		*w;
	uint32_t		 stream;
	uint32_t		 pid;
	enum wjob_sink		 sink;
	struct request		*rq;		/* SINK_CLIENT */
	struct obuf		 out, err;	/* SINK_BUFFER */
	int			 fd;		/* SINK_FILE, owned */
	int			 file_error;	/* errno of a failed write */
	/* One redactor over stdout and stderr in arrival order: a value
	 * split between the two streams is caught too. */
	struct pyro_redactor	 red;
	wjob_done_fn		 done;		/* x NULL: the VM went away */
	void			*arg;
	long long		 t0;
	struct timer		*deadline;
	int			 timeout_s;
	int			 finished;
	int			 err_to_buffer;	/* stderr into err, not the sink */
};

/* One PTY shell (wsruntime.c). */
struct shell {
	LIST_ENTRY(shell)	 entry;
	char			 id[17];
	struct wjob		*job;		/* NULL once it exited */
	int			 in;		/* our end of its stdin pipe */
	uint8_t			*buf;		/* scrollback, redacted */
	size_t			 len;
	uint64_t		 base;		/* cursor of buf[0] */
	char			 cwd[256];
	int			 exited;
	int			 exit_code;
	unsigned		 cols, rows;
	char			 opened_at[32];
};

/* One named service (wsruntime.c). */
struct service {
	LIST_ENTRY(service)	 entry;
	char			 name[65];
	struct wjob		*job;		/* NULL once it exited */
	struct wjob		*probe;		/* a readiness check in flight */
	char			 state[16];	/* starting ready exited failed stopped */
	char			 reason[160];
	char			 ready_kind[16];	/* none file tcp http command */
	char			*ready_arg;
	long long		 ready_deadline;
	unsigned		 interval_ms;
	struct timer		*timer;
	struct timer		*kill_timer;
	uint32_t		 pid;
	int			 exit_code;
	int			 signal;
	unsigned		 restarts;
	char			 started_at[32];
	char			*command;	/* for status, redacted */
	char			 cwd[256];
	struct request		*rq;		/* start or stop waiting */
};

/* What a workspace's VM is doing on the lifecycle side. */
enum ws_op {
	WSOP_NONE,
	WSOP_CREATE,
	WSOP_START,
	WSOP_STOP,
	WSOP_RESET,
	WSOP_DELETE,
};

struct ws {
	LIST_ENTRY(ws)		 entry;
	struct record		*rec;
	struct vmi		*v;
	enum ws_op		 op;
	struct request		*rq;		/* the lifecycle request */
	int			 seed_fd;	/* create: the client's archive */
	char			 restore[80];	/* reset: archive file name */
	int			 reaped;	/* deleted by the TTL sweep */
	int			 reboot;	/* reset: boot again once stopped */
	int			 snapshotting;
	/* The disk's cleanup after a stop: scrub, and if the journal needs
	 * it, one boot and power-off first (the guest's kernel replays it). */
	int			 cleaning;
	int			 recovery_boots;
	void			(*clean_done)(struct ws *,
				    const struct pyro_status *, void *);
	void			*clean_arg;
	uint64_t		 scrubbed;
	int			 step;		/* boot steps done */
	LIST_HEAD(, wjob)	 jobs;
	LIST_HEAD(, shell)	 shells;
	LIST_HEAD(, service)	 services;
	int			 nshells, nservices;
	/* Secret values, loaded from the state dir when first needed. */
	char			*secret_name[WS_SECRETS_MAX];
	uint8_t			*secret_val[WS_SECRETS_MAX];
	size_t			 secret_len[WS_SECRETS_MAX];
	int			 nsecrets;
	int			 secrets_loaded;
	size_t			 secret_maxlen;
};

/* workspace.c */
struct ws	*ws_of(struct record *);
void		 ws_event(struct ws *, const char *event, const char *detail);
int		 ws_load_secrets(struct ws *);
const uint8_t	*ws_secret(struct ws *, const char *name, size_t *len);
/* Check one "secret_env" array into "NAME=value" strings (malloc'd). */
int		 ws_secret_env(struct ws *, const cJSON *arr, char ***env,
		    int *n, struct pyro_status *);
void		 ws_free_env(char **env, int n);
struct ws	*ws_running_or_reply(struct request *, const cJSON *args);
/* The workspace if disk tools may read it now (stopped, guest-backed). */
struct ws	*ws_disk_or_reply(struct request *, const cJSON *args);
/* Scrub the stopped disk (after a recovery boot if its journal is dirty);
 * done(w, err) once the workspace is "stopped" again. */
void		 ws_clean(struct ws *, void (*done)(struct ws *,
		    const struct pyro_status *, void *), void *arg);
int		 ws_disk_clean(const struct ws *);

/* wsjob.c */
struct wjob	*wjob_new(struct ws *, enum wjob_sink, wjob_done_fn, void *arg);
/*
 * Start a command: argv (NULL-terminated) or a shell string (shell != 0),
 * env "K=V" strings, cwd, flags (GP_EXEC_*), stdin_fd (or -1; the job does
 * not keep it).  On failure the job is freed and -1 returned with st set.
 */
int		 wjob_start(struct wjob *, const char *const *argv, int shell,
		    char *const *env, int envc, const char *cwd,
		    uint32_t flags, int timeout_s, int stdin_fd,
		    unsigned cols, unsigned rows, struct pyro_status *);
void		 wjob_kill(struct wjob *);
void		 wjob_signal(struct wjob *, int signo);
void		 wjob_free(struct wjob *);
/* The VM is gone: every job ends with done(job, NULL). */
void		 wjobs_gone(struct ws *);
struct wjob	*wjob_find(struct ws *, uint32_t stream);
void		 wjob_output(struct wjob *, int which, const uint8_t *,
		    size_t);
void		 wjob_exit(struct wjob *, const struct pyro_msg_exec_exit *);
/* Redact (or mask) every secret in data; returns a malloc'd copy. */
uint8_t		*ws_redact(struct ws *, const uint8_t *data, size_t len,
		    int mask, size_t *outlen);
char		*ws_redact_str(struct ws *, const char *s);
/* The workspace's secret values (loaded if needed), borrowed from w. */
void		 ws_secrets_view(struct ws *, struct pyro_secrets *);

/* wsruntime.c */
void		 shells_gone(struct ws *);
void		 services_gone(struct ws *);
void		 services_free(struct ws *);
void		 shell_output(struct wjob *, const uint8_t *, size_t);
struct ws	*ws_host_or_reply(struct request *, const cJSON *args);
cJSON		*ws_status_json(struct ws *);
extern const char EXTRACT_SH[], ARCHIVE_SH[];
cJSON		*shells_json(struct ws *);
cJSON		*services_json(struct ws *);

#endif
