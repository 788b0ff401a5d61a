/*
 * workspace exec, and the workspace's command history (history.jsonl in
 * the record's directory: one JSON line per exec and sync push, redacted,
 * read back by `workspace logs`).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "guestproto.h"
#include "path.h"
#include "workspace.h"

#define EXEC_TIMEOUT_MAX	86400

void
ws_history_add(struct ws *w, const char *kind, const struct cmdline *cmd,
    const struct pyro_msg_exec_exit *x, long long dur_ms)
{
	char	 ts[32], te[32], *line, *red;
	cJSON	*o = cJSON_CreateObject(), *argv;
	time_t	 end = time(NULL);
	int	 fd, i;

	iso_time(ts, sizeof(ts), end - (time_t)(dur_ms / 1000));
	iso_time(te, sizeof(te), end);
	cJSON_AddStringToObject(o, "kind", kind);
	red = ws_redact_str(w, cmd->line);
	cJSON_AddStringToObject(o, "command", red ? red : "");
	free(red);
	if (!cmd->shell && cmd->argv != NULL) {
		argv = cJSON_AddArrayToObject(o, "argv");
		for (i = 0; cmd->argv[i] != NULL; i++) {
			red = ws_redact_str(w, cmd->argv[i]);
			cJSON_AddItemToArray(argv, cJSON_CreateString(red ?
			    red : ""));
			free(red);
		}
	}
	if (x != NULL) {
		cJSON_AddNumberToObject(o, "exit_code", x->exit_code);
		if (x->signal)
			cJSON_AddNumberToObject(o, "signal", x->signal);
		if (x->timed_out)
			cJSON_AddTrueToObject(o, "timed_out");
	} else
		cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddNumberToObject(o, "duration_ms", (double)dur_ms);
	cJSON_AddStringToObject(o, "started_at", ts);
	cJSON_AddStringToObject(o, "finished_at", te);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (line == NULL)
		return;
	fd = store_openat(w->rec, "history.jsonl", O_WRONLY | O_APPEND |
	    O_CREAT, 0600);
	if (fd >= 0) {
		size_t n = strlen(line);

		line[n] = '\n';
		(void)pyro_write_all(fd, line, n + 1);
		close(fd);
		line[n] = '\0';
	}
	free(line);
}

/* ---- exec ---- */

struct execctx {
	struct ws	*w;
	struct cmdline	 cmd;	/* for the history, before redaction */
	cJSON		*args;	/* cmd.argv points into it */
};

static void
execctx_free(struct execctx *c)
{
	cmdline_free(&c->cmd);
	cJSON_Delete(c->args);
	free(c);
}

static void
exec_cancel(struct request *rq)
{
	struct job	*j = rq->ctx;

	/* Nobody waits for the output: the command is killed. */
	job_detach(j);
	job_kill(j);
}

static cJSON *
exec_result(struct job *j, const struct pyro_msg_exec_exit *x,
    long long dur)
{
	struct execctx	*c = j->arg;
	cJSON		*res = cJSON_CreateObject();

	cJSON_AddStringToObject(res, "workspace_id", c->w->rec->id);
	cJSON_AddNumberToObject(res, "exit_code", x->exit_code);
	if (x->signal)
		cJSON_AddNumberToObject(res, "signal", x->signal);
	cJSON_AddNumberToObject(res, "duration_ms", (double)dur);
	cJSON_AddStringToObject(res, "execution_mode",
	    rec_exec_mode(c->w->rec));
	return res;
}

static void
exec_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct execctx	*c = j->arg;
	struct request	*rq = j->rq;
	long long	 dur = now_ms() - j->t0;

	ws_history_add(c->w, "exec", &c->cmd, x, dur);
	if (rq != NULL) {
		rq->cancel = NULL;
		if (x == NULL)
			ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
			    "workspace stopped while the command ran");
		else if (x->timed_out)
			ctl_reply_err(rq, PYRO_E_TIMEOUT, "the command ran "
			    "longer than %d s and was killed", j->timeout_s);
		else if (x->error != 0)
			ctl_reply_err(rq, PYRO_E_INVALID_ARGUMENT, "the "
			    "command could not start in the guest: %s",
			    strerror(x->error));
		else
			ctl_reply_ok(rq, exec_result(j, x, dur));
	}
	execctx_free(c);
	job_free(j);
}

void
op_workspace_exec(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w = rq->obj;
	struct job		*j = NULL;
	struct execctx		*c;
	char			**env = NULL;
	long long		 timeout = 30;
	int			 envc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->args = cJSON_Duplicate(args, 1)) == NULL) {
		free(c);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	c->w = w;
	if (arg_int(args, "timeout_seconds", 0, 1, EXEC_TIMEOUT_MAX, &timeout,
	    &st) < 0 || arg_command(c->args, &c->cmd, &st) < 0 ||
	    ws_secret_env(w, cJSON_GetObjectItemCaseSensitive(args,
	    "secret_env"), &env, &envc, &st) < 0)
		goto fail;
	if ((j = ws_job(w, JOB_CLIENT, exec_done, c)) == NULL) {
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = exec_cancel;
	if (job_start(j, w->v, &(struct job_cmd){ c->cmd.argv, c->cmd.shell,
	    (const char *const *)env, PYRO_GUEST_WORKDIR, 0, (int)timeout, 0,
	    0 }, -1, &st) < 0) {
		rq->cancel = NULL;
		goto fail;
	}
	ws_free_env(env, envc);
	return;
fail:
	execctx_free(c);
	ws_free_env(env, envc);
	ctl_reply_status(rq, &st);
}
