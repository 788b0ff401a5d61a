/*
 * Trees in and out of a running workspace, and what changed in it: sync
 * push (a tar stream the client made, into /workspace), export (a tar
 * stream out, which the client unpacks with its own rights), diff (the
 * live /workspace against the baseline).  Each runs one guest script
 * (guestsh.c) as a job.
 *
 * Paths from clients are resolved lexically against /workspace first
 * (pyro_path_resolve with UNDER_BASE); the guest scripts resolve them again
 * with symlinks and refuse anything that lands outside /workspace.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestsh.h"
#include "path.h"
#include "workspace.h"

#define DIFF_OUTPUT_MAX		(16 * 1024 * 1024)

/* A guest path under /workspace, relative ones taken from /workspace. */
static int
ws_path(const cJSON *args, const char *key, const char *dflt, char *out,
    size_t size, struct pyro_status *st)
{
	const char	*in;
	int		 rc;

	if (arg_string(args, key, dflt == NULL, PYRO_PATH_LEN_MAX, &in,
	    st) < 0)
		return -1;
	if (in == NULL)
		in = dflt;
	rc = pyro_path_resolve(in, strlen(in), PYRO_GUEST_WORKDIR,
	    PYRO_PATH_ABS_OK | PYRO_PATH_UNDER_BASE, out, size);
	if (rc == -EXDEV)
		return pyro_fail(st, PYRO_E_INVALID_PATH, "\"%.200s\" is "
		    "outside %s", in, PYRO_GUEST_WORKDIR);
	if (rc < 0)
		return pyro_fail(st, PYRO_E_INVALID_PATH, "\"%.200s\" is not a "
		    "valid path (%s)", in, strerror(-rc));
	return 0;
}

static void
job_cancel(struct request *rq)
{
	struct job	*j = rq->ctx;

	job_detach(j);
	job_kill(j);
}

static int
succeeded(const struct pyro_msg_exec_exit *x)
{
	return x != NULL && x->exit_code == 0 && x->error == 0;
}

/* Run script s for rq; the job replies through done.  0, or -1 (replied). */
static int
run_script(struct request *rq, struct job *j, enum gs_script s,
    const char *arg, int stdin_fd)
{
	struct pyro_status	 st;
	struct ws		*w = rq->obj;
	const char		*argv[8], *args[2] = { arg, NULL };

	(void)gs_argv(s, argv, 8, args);
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = job_cancel;
	if (job_start(j, w->v, &(struct job_cmd){ argv, 0, NULL, "/", 0,
	    WS_XFER_TIMEOUT_S, 0, 0 }, stdin_fd, &st) < 0) {
		rq->cancel = NULL;
		ctl_reply_status(rq, &st);
		return -1;
	}
	return 0;
}

/* ---- sync push ---- */

struct pushctx {
	struct ws	*w;
	char		 dest[PYRO_PATH_LEN_MAX + 1];
};

static void
push_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct pushctx	*c = j->arg;
	struct request	*rq = j->rq;
	struct cmdline	 line = { NULL, 1, c->dest };
	cJSON		*res;

	ws_history_add(c->w, "sync_push", &line, x, now_ms() - j->t0);
	if (rq != NULL) {
		rq->cancel = NULL;
		if (succeeded(x)) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    c->w->rec->id);
			cJSON_AddStringToObject(res, "dest", c->dest);
			cJSON_AddNumberToObject(res, "duration_ms",
			    (double)(now_ms() - j->t0));
			ctl_reply_ok(rq, res);
		} else
			job_reply_failed(rq, j, x, "sync push");
	}
	free(c);
	job_free(j);
}

void
op_workspace_sync_push(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct pushctx		*c;
	struct job		*j;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	c->w = rq->obj;
	if (ws_path(args, "dest", PYRO_GUEST_WORKDIR, c->dest,
	    sizeof(c->dest), &st) < 0) {
		free(c);
		ctl_reply_status(rq, &st);
		return;
	}
	if (rq->fd < 0) {
		free(c);
		ctl_reply_err(rq, PYRO_E_BAD_REQUEST, "sync push needs the "
		    "archive's fd (\"fd\": true)");
		return;
	}
	if ((j = ws_job(c->w, JOB_BUFFER, push_done, c)) == NULL) {
		free(c);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = 4096;
	if (run_script(rq, j, GS_EXTRACT, c->dest, rq->fd) < 0) {
		free(c);
		return;
	}
	close(rq->fd);
	rq->fd = -1;
}

/* ---- export ---- */

static void
export_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	char		*path = j->arg;
	cJSON		*res;

	if (rq != NULL) {
		rq->cancel = NULL;
		if (succeeded(x)) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    ((struct ws *)rq->obj)->rec->id);
			cJSON_AddStringToObject(res, "path", path);
			ctl_reply_ok(rq, res);
		} else
			job_reply_failed(rq, j, x, "export");
	}
	free(path);
	job_free(j);
}

void
op_workspace_export(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct job		*j;
	char			 path[PYRO_PATH_LEN_MAX + 1], *p;

	if (ws_path(args, "path", NULL, path, sizeof(path), &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((p = strdup(path)) == NULL ||
	    (j = ws_job(rq->obj, JOB_CLIENT, export_done, p)) == NULL) {
		free(p);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	/* The archive is masked byte for byte; stderr is kept for errors. */
	pyro_redactor_set_mode(&j->red, 1, PYRO_REDACT_MASK);
	j->err_to_buffer = 1;
	if (run_script(rq, j, GS_EXPORT, path, -1) < 0)
		free(p);
}

/* ---- diff ---- */

/* Guest bytes as a JSON-safe, redacted string. */
static char *
diff_clean(void *arg, const uint8_t *p, size_t n)
{
	size_t	 k;
	uint8_t	*r = ws_redact(arg, p, n, 0, &k);
	char	*s;

	if (r == NULL)
		return NULL;
	s = utf8_sanitize(r, k);
	free(r);
	return s;
}

static void
diff_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	struct ws	*w = j->arg;
	cJSON		*res;

	if (rq != NULL) {
		rq->cancel = NULL;
		if (succeeded(x)) {
			res = gs_diff_parse(j->out.p, j->out.len,
			    j->out.truncated, diff_clean, w);
			cJSON_AddStringToObject(res, "workspace_id",
			    w->rec->id);
			cJSON_AddStringToObject(res, "against", "baseline");
			ctl_reply_ok(rq, res);
		} else
			job_reply_failed(rq, j, x, "diff");
	}
	job_free(j);
}

void
op_workspace_diff(struct request *rq, const cJSON *args)
{
	struct ws	*w = rq->obj;
	struct job	*j;
	struct stat	 sb;
	char		 kib[24];
	int		 fd;

	(void)args;
	if ((fd = store_openat(w->rec, "baseline.tar", O_RDONLY, 0)) < 0) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "baseline", w->rec->id);
		return;
	}
	snprintf(kib, sizeof(kib), "%lld", fstat(fd, &sb) == 0 ?
	    (long long)sb.st_size / 1024 + 1 : 1048576LL);
	if ((j = ws_job(w, JOB_BUFFER, diff_done, w)) == NULL) {
		close(fd);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = DIFF_OUTPUT_MAX;
	(void)run_script(rq, j, GS_DIFF, kib, fd);
	close(fd);
}
