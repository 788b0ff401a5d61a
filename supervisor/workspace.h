/*
 * Workspaces inside pyrod, by role:
 *
 *	ws.c		the core: live contexts, the state gate table, the
 *			lifecycle request, events, status, parts
 *	wssecret.c	secrets: stored, loaded, mapped into commands, redacted
 *	wsboot.c	a workspace's VM: boot steps (a table), ready, gone,
 *			the disk's cleanup after a stop
 *	wslife.c	create, start, stop, reset, delete, the TTL sweep
 *	wsexec.c	exec and its history
 *	wstransfer.c	sync push, export, diff
 *	wssnap.c	snapshots
 *	shell.c		PTY shells		(a part: registered at start)
 *	service.c	services		(a part: registered at start)
 *	wsdisk.c	the stopped-disk tools
 *	wsview.c	list, status, logs
 *
 * Every command in the guest is a job (job.h).  The core never calls into
 * a feature: shells and services end with their jobs, and hook into
 * status and the record's removal through struct ws_part.
 */
#ifndef PYROD_WORKSPACE_H
#define PYROD_WORKSPACE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "pyrod.h"
#include "redact.h"

#define WS_SECRETS_MAX		PYRO_SECRETS_MAX
#define WS_SECRET_BYTES_MAX	(64 * 1024)
#define WS_SHELLS_MAX		16
#define WS_SERVICES_MAX		32
#define WS_REDACTED		PYRO_REDACTED
#define WS_XFER_TIMEOUT_S	3600

struct shell;
struct service;

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
	int			 forking;	/* wsfork.c: its VM is being forked */
	int			 fork_state;	/* a fork's first boot: its state */
	/* The disk's cleanup after a stop: scrub, and if the journal needs
	 * it, one boot and power-off first (the guest's kernel replays it). */
	int			 cleaning;
	int			 recovery_boots;
	void			(*clean_done)(struct ws *,
				    const struct pyro_status *, void *);
	void			*clean_arg;
	uint64_t		 scrubbed;
	int			 step, sub;	/* boot step, and item in it */
	const char		*what;		/* the step running, for errors */
	LIST_HEAD(, shell)	 shells;	/* shell.c's */
	LIST_HEAD(, service)	 services;	/* service.c's */
	int			 nshells, nservices;
	/* Secret values, loaded from the state dir when first needed;
	 * sec views them for the redactor. */
	char			*secret_name[WS_SECRETS_MAX];
	uint8_t			*secret_val[WS_SECRETS_MAX];
	size_t			 secret_len[WS_SECRETS_MAX];
	int			 nsecrets;
	int			 secrets_loaded;
	struct pyro_secrets	 sec;
};

/* Which request kind an op is, for the gate table (ws.c). */
enum ws_req {
	REQ_GUEST,	/* exec, sync, export, diff, snapshot create, shells... */
	REQ_START,
	REQ_STOP,
	REQ_RESET,
	REQ_DELETE,
	REQ_HOST,	/* snapshot list/delete, status, logs */
	REQ_DISK,	/* disk list/read/export: stopped disks only */
	REQ__MAX
};

/* A feature that keeps state in a workspace (shells, services). */
struct ws_part {
	const char	*name;
	/* The record is going away: free what the part keeps. */
	void		(*free)(struct ws *);
	/* Add the part's view to a status object. */
	void		(*status)(struct ws *, cJSON *);
};

/* ws.c */
/* The gate table alone: 0 or the refusal for state st and kind k. */
enum pyro_err	 ws_gate_refusal(enum rec_st st, enum ws_req k);
void		 ws_part_add(const struct ws_part *);
/* service.c: every published port of the workspace (a new array). */
cJSON		*services_ports_json(struct ws *);
struct ws	*ws_of(struct record *);
void		 ws_free(struct ws *);
void		 ws_event(struct ws *, const char *event, const char *detail);
const char	*ws_env_name(const struct record *);
/*
 * The workspace named by "workspace_id" in args if the gate table lets
 * request kind k act on it now; otherwise reply with the refusal and
 * return NULL.  The dispatcher calls it before an op's handler runs.
 */
struct ws	*ws_gate(struct request *, const cJSON *args, enum ws_req k);
int		 ws_disk_clean(const struct ws *);
cJSON		*ws_status_json(struct ws *);
/* The lifecycle request: one at a time per workspace. */
void		 lc_attach(struct ws *, struct request *, enum ws_op);
void		 lc_progress(struct ws *, const char *phase);
void		 lc_progress_boot(struct ws *, const char *phase,
		    const char *how, const char *why);
/* A test point at step of the workspace's lifecycle op. */
void		 ws_test_point(const struct ws *, const char *step);
void		 lc_reply_ok(struct ws *);
void		 lc_reply_err(struct ws *, const struct pyro_status *);

/* wssecret.c */
int		 ws_load_secrets(struct ws *);
void		 ws_forget_secrets(struct ws *);
const uint8_t	*ws_secret(struct ws *, const char *name, size_t *len);
/* Check one "secret_env" array into "NAME=value" strings (malloc'd,
 * NULL-terminated). */
int		 ws_secret_env(struct ws *, const cJSON *arr, char ***env,
		    int *n, struct pyro_status *);
void		 ws_free_env(char **env, int n);
/* secrets: [{"name", "value"}...] into secret-NAME files; the count. */
int		 ws_save_secrets(struct record *, const cJSON *arr,
		    struct pyro_status *);
/* The workspace's secrets for a job's redactor (loaded if needed). */
const struct pyro_secrets *ws_secrets(struct ws *);
/* Redact (or mask) every secret in data; returns a malloc'd copy. */
uint8_t		*ws_redact(struct ws *, const uint8_t *data, size_t len,
		    int mask, size_t *outlen);
char		*ws_redact_str(struct ws *, const char *s);
/* A job of the workspace's VM: its secrets, its sink. */
struct job	*ws_job(struct ws *, enum job_sink, job_done_fn, void *arg);

/* wsboot.c */
int		 ws_boot(struct ws *, struct pyro_status *);
/* Scrub the stopped disk (after a recovery boot if its journal is dirty);
 * done(w, err, arg) once the workspace is "stopped" again. */
void		 ws_clean(struct ws *, void (*done)(struct ws *,
		    const struct pyro_status *, void *), void *arg);
/* ws_clean(), then answer the lifecycle request (a stop). */
void		 ws_stop_clean(struct ws *);
/* The record and its files are gone: answer a delete, free the ws. */
void		 ws_deleted(struct ws *);

/* wsfork.c */
void		 op_workspace_fork(struct request *, const cJSON *args);

/* wsexec.c */
void		 ws_history_add(struct ws *, const char *kind,
		    const struct cmdline *, const struct pyro_msg_exec_exit *,
		    long long dur_ms);

/* shell.c, service.c: the parts, registered at start. */
void		 shell_init(void);
void		 service_init(void);

#endif
