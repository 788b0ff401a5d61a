/*
 * One job type for every command pyrod runs in a guest: a VM's exec or
 * one-shot run, a workspace's exec, transfer, diff, snapshot, boot step,
 * shell, service or readiness probe.  A job is one exec stream of a VM
 * (vmi_exec); its output goes straight from the VM helper's conversation
 * to the job's sink (a client's events, a bounded buffer, a file in the
 * state directory, or the owner's callback), through the owner's secret
 * redactor; the client's pace (backpressure) and the host-side deadline
 * live here, once.  A job ends exactly once, through its done callback:
 * with the exit, or with NULL when its VM went away first.  The job is
 * the owner's to free (job_free) from that callback or later.
 */
#ifndef PYROD_JOB_H
#define PYROD_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "pyrod.h"
#include "redact.h"

enum job_sink {
	JOB_DROP,
	JOB_CLIENT,	/* stdout/stderr events to rq (backpressured) */
	JOB_BUFFER,	/* kept in out/err up to their max */
	JOB_FILE,	/* stdout written to fd (masked, as archives are) */
	JOB_CALLBACK,	/* to on_data (a shell's scrollback) */
};

struct obuf {
	uint8_t		*p;
	size_t		 len, cap, max;
	int		 truncated;
};

struct job;
typedef void	(*job_done_fn)(struct job *, const struct pyro_msg_exec_exit *);

struct job {
	struct vmi		*v;
	uint32_t		 stream;
	uint32_t		 pid;		/* in the guest, once started */
	enum job_sink		 sink;
	struct request		*rq;		/* JOB_CLIENT; NULL: dropped */
	struct obuf		 out, err;	/* JOB_BUFFER, err_to_buffer */
	int			 fd;		/* JOB_FILE, owned */
	int			 file_error;	/* errno of a failed write */
	int			 err_to_buffer;	/* stderr into err, not the sink */
	void			(*on_data)(struct job *, const uint8_t *,
				    size_t);	/* JOB_CALLBACK */
	const struct pyro_secrets *secrets;	/* NULL: nothing to redact */
	struct pyro_redactor	 red;
	uint8_t			*pend;		/* gathered for the redactor */
	size_t			 npend;
	int			 pend_which;
	struct timer		*pend_timer;
	job_done_fn		 done;
	void			*arg;
	long long		 t0;		/* ms, when it was made */
	struct timer		*deadline;
	int			 timeout_s;
	int			 started;	/* the exec was sent */
	int			 finished;
};

/* What to run. */
struct job_cmd {
	const char *const	*argv;		/* NULL-terminated */
	int			 shell;		/* argv[0] for /bin/sh -lc */
	const char *const	*env;		/* "K=V", NULL-terminated; or NULL */
	const char		*cwd;
	uint32_t		 flags;		/* GP_EXEC_PTY */
	int			 timeout_s;	/* 0: none */
	unsigned		 cols, rows;
};

/* A job with sink and done; its redactor masks for JOB_FILE. */
struct job	*job_new(enum job_sink, const struct pyro_secrets *,
		    job_done_fn, void *arg);
/*
 * Start cmd on v; stdin_fd (or -1) feeds its stdin, the caller keeps its
 * copy.  On failure the job is freed and -1 returned with st set.
 */
int		 job_start(struct job *, struct vmi *, const struct job_cmd *,
		    int stdin_fd, struct pyro_status *);
void		 job_kill(struct job *);
void		 job_signal(struct job *, int signo);
/* After done, or before start. */
void		 job_free(struct job *);
/* The job's client leaves: output is dropped from now on. */
void		 job_detach(struct job *);
/*
 * The reply for a guest script that failed (x NULL: the VM went away):
 * its exit code (guestsh.h) and stderr say why; `what` names the work.
 */
void		 job_reply_failed(struct request *, struct job *,
		    const struct pyro_msg_exec_exit *, const char *what);
/* Stderr of a failed command, sanitized and cut to max bytes (malloc'd). */
char		*job_err_text(const struct job *, size_t max);

#endif
