/*
 * Workspace requests that run in the guest or read the record: list,
 * status, logs, exec, sync push, export, diff and snapshots (the views of
 * VMs too, which share the listing code).  Lifecycle requests are in
 * workspace.c; shells and services in wsruntime.c.
 *
 * Paths from clients are resolved lexically against /workspace first
 * (pyro_path_resolve with UNDER_BASE); the guest-side scripts resolve them
 * again with symlinks and refuse anything that lands outside /workspace.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "frame.h"
#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define EXEC_TIMEOUT_MAX	86400
#define XFER_TIMEOUT_S		3600
#define DIFF_OUTPUT_MAX		(16 * 1024 * 1024)
#define HISTORY_READ_MAX	(1024 * 1024)
#define SNAPSHOTS_MAX		64


/* ---- views ---- */

static void
op_list(struct request *rq, enum rec_kind k, const char *key)
{
	struct record	*r;
	cJSON		*res = cJSON_CreateObject();
	cJSON		*arr = cJSON_AddArrayToObject(res, key);

	LIST_FOREACH(r, &records, entry) {
		cJSON *o;

		if (r->kind != k || !rec_visible(r, rq->uid))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", r->id);
		cJSON_AddStringToObject(o, k == REC_VM ? "vm_id" :
		    "workspace_id", r->id);
		cJSON_AddStringToObject(o, "state", rec_state(r));
		cJSON_AddItemToObject(o, "environment", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "environment"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddItemToObject(o, "created_at", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "created_at"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddNumberToObject(o, "owner_uid", r->owner);
		cJSON_AddItemToArray(arr, o);
	}
	ctl_reply_ok(rq, res);
}

void
op_vm_list(struct request *rq, const cJSON *args)
{
	op_list(rq, REC_VM, "vms");
}

void
op_vm_status(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct record		*r;
	const char		*id;

	if (arg_id(args, "vm_id", &id, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((r = store_find(REC_VM, id)) == NULL || !rec_visible(r, rq->uid)) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "no VM \"%s\"", id);
		return;
	}
	ctl_reply_ok(rq, vm_json(r));
}

void
op_workspace_list(struct request *rq, const cJSON *args)
{
	op_list(rq, REC_WORKSPACE, "workspaces");
}

/* What status shows: the record without bookkeeping, plus live state. */
cJSON *
ws_status_json(struct ws *w)
{
	static const char *hidden[] = { "baseline_saved", "expiry_warned",
	    "started_at_epoch", "events", NULL };
	cJSON		*o = cJSON_Duplicate(w->rec->doc, 1), *it;
	const cJSON	*evs, *started;
	int		 i, n;

	started = cJSON_GetObjectItem(w->rec->doc, "started_at_epoch");
	for (i = 0; hidden[i] != NULL; i++)
		cJSON_DeleteItemFromObject(o, hidden[i]);
	cJSON_AddStringToObject(o, "workspace_id", w->rec->id);
	if (w->v != NULL && cJSON_IsNumber(started))
		cJSON_AddNumberToObject(o, "uptime_seconds",
		    (double)time(NULL) - started->valuedouble);
	else
		cJSON_AddNullToObject(o, "uptime_seconds");
	if ((it = cJSON_GetObjectItem(o, "expires_at")) != NULL &&
	    cJSON_IsNumber(it)) {
		double left = it->valuedouble - (double)time(NULL);

		cJSON_AddNumberToObject(o, "ttl_remaining_seconds",
		    left > 0 ? (double)(long long)left : 0);
	}
	cJSON_AddItemToObject(o, "shells", shells_json(w));
	cJSON_AddItemToObject(o, "services", services_json(w));
	cJSON_AddStringToObject(o, "services_note", "services run until they "
	    "exit, are stopped, or the workspace stops; starting a "
	    "workspace does not restart them");
	/* The last lifecycle event, for a one-line "why". */
	evs = cJSON_GetObjectItem(w->rec->doc, "events");
	if ((n = cJSON_GetArraySize(evs)) > 0)
		cJSON_AddItemToObject(o, "last_event", cJSON_Duplicate(
		    cJSON_GetArrayItem(evs, n - 1), 1));
	return o;
}

void
op_workspace_status(struct request *rq, const cJSON *args)
{
	struct ws	*w;

	if ((w = ws_host_or_reply(rq, args)) != NULL)
		ctl_reply_ok(rq, ws_status_json(w));
}

/* ---- history ---- */

static void
history_add(struct ws *w, const char *kind, const char *command,
    const struct pyro_msg_exec_exit *x, long long t0_ms, long long dur_ms)
{
	char	 ts[32], te[32], *line, *red;
	cJSON	*o = cJSON_CreateObject();
	time_t	 end = time(NULL);
	int	 fd;

	iso_time(ts, sizeof(ts), end - (time_t)(dur_ms / 1000));
	iso_time(te, sizeof(te), end);
	cJSON_AddStringToObject(o, "kind", kind);
	red = ws_redact_str(w, command);
	cJSON_AddStringToObject(o, "command", red ? red : "");
	free(red);
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
	(void)t0_ms;
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

void
op_workspace_logs(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	cJSON		*res, *hist;
	char		*buf, *p, *nl;
	struct stat	 sb;
	off_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((w = ws_host_or_reply(rq, args)) == NULL)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	hist = cJSON_AddArrayToObject(res, "history");
	fd = store_openat(w->rec, "history.jsonl", O_RDONLY, 0);
	if (fd >= 0 && fstat(fd, &sb) == 0 &&
	    (buf = malloc(HISTORY_READ_MAX + 1)) != NULL) {
		if (sb.st_size > HISTORY_READ_MAX)
			off = sb.st_size - HISTORY_READ_MAX;
		n = pread(fd, buf, HISTORY_READ_MAX, off);
		buf[n > 0 ? n : 0] = '\0';
		p = buf;
		if (off > 0 && (nl = strchr(p, '\n')) != NULL)
			p = nl + 1;	/* skip the cut line */
		for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			cJSON *e;

			*nl = '\0';
			if ((e = cJSON_Parse(p)) != NULL)
				cJSON_AddItemToArray(hist, e);
		}
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	cJSON_AddItemToObject(res, "events", cJSON_Duplicate(
	    cJSON_GetObjectItem(w->rec->doc, "events"), 1) ?:
	    cJSON_CreateArray());
	ctl_reply_ok(rq, res);
}

/* ---- exec ---- */

struct execctx {
	char	*command;	/* for the history, before redaction */
};

static void
exec_cancel(struct request *rq)
{
	struct wjob	*j = rq->ctx;

	/* Nobody waits for the output: the command is killed. */
	ctl_clear_drain(rq, j);
	j->rq = NULL;
	wjob_kill(j);
}

static void
exec_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct execctx	*c = j->arg;
	struct request	*rq = j->rq;
	long long	 dur = now_ms() - j->t0;
	cJSON		*res;

	history_add(j->w, "exec", c->command, x, j->t0, dur);
	if (rq != NULL) {
		ctl_clear_drain(rq, j);
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
		else {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    j->w->rec->id);
			cJSON_AddNumberToObject(res, "exit_code", x->exit_code);
			if (x->signal)
				cJSON_AddNumberToObject(res, "signal",
				    x->signal);
			cJSON_AddNumberToObject(res, "duration_ms",
			    (double)dur);
			cJSON_AddStringToObject(res, "execution_mode",
			    "guest_serial");
			ctl_reply_ok(rq, res);
		}
	}
	free(c->command);
	free(c);
	wjob_free(j);
}

/* argv (array) or command (string) into an argv and a history line. */
static int
command_args(const cJSON *args, const char ***argvp, int *shell,
    char **line, struct pyro_status *st)
{
	const cJSON	*argv = cJSON_GetObjectItemCaseSensitive(args, "argv");
	const char	*command;
	const char	**av;
	size_t		 len = 1;
	int		 n = 0, i;
	const cJSON	*it;

	if (arg_string(args, "command", 0, PYRO_MSG_MAXPAYLOAD, &command,
	    st) < 0)
		return -1;
	if ((argv == NULL) == (command == NULL))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give exactly "
		    "one of \"argv\" (an array) and \"command\" (a string)");
	if (command != NULL) {
		if ((av = calloc(2, sizeof(*av))) == NULL)
			return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
		av[0] = command;
		*argvp = av;
		*shell = 1;
		*line = strdup(command);
		return 0;
	}
	if (!cJSON_IsArray(argv) || (n = cJSON_GetArraySize(argv)) == 0 ||
	    n > GP_ARGS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"argv\" must be an array of 1 to %d strings",
		    GP_ARGS_MAX);
	if ((av = calloc((size_t)n + 1, sizeof(*av))) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	i = 0;
	cJSON_ArrayForEach(it, argv) {
		if (!cJSON_IsString(it)) {
			free(av);
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "argument \"argv\" must be an array of strings");
		}
		av[i++] = it->valuestring;
		len += strlen(it->valuestring) + 1;
	}
	*argvp = av;
	*shell = 0;
	if ((*line = malloc(len)) != NULL) {
		(*line)[0] = '\0';
		for (i = 0; i < n; i++) {
			if (i)
				strcat(*line, " ");
			strcat(*line, av[i]);
		}
	}
	return 0;
}

void
op_workspace_exec(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct wjob		*j;
	struct execctx		*c;
	const char		**argv = NULL;
	char			**env = NULL, *line = NULL;
	long long		 timeout = 30;
	int			 shell = 0, envc = 0;

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if (arg_int(args, "timeout_seconds", 0, 1, EXEC_TIMEOUT_MAX, &timeout,
	    &st) < 0 || command_args(args, &argv, &shell, &line, &st) < 0 ||
	    ws_secret_env(w, cJSON_GetObjectItemCaseSensitive(args,
	    "secret_env"), &env, &envc, &st) < 0)
		goto fail;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (j = wjob_new(w, SINK_CLIENT, exec_done, c)) == NULL) {
		free(c);
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		goto fail;
	}
	c->command = line;
	line = NULL;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = exec_cancel;
	if (wjob_start(j, argv, shell, env, envc, PYRO_GUEST_WORKDIR, 0,
	    (int)timeout, -1, 0, 0, &st) < 0) {
		rq->cancel = NULL;
		free(c->command);
		free(c);
		goto fail;
	}
	free(argv);
	ws_free_env(env, envc);
	return;
fail:
	free(argv);
	free(line);
	ws_free_env(env, envc);
	ctl_reply_status(rq, &st);
}

/* ---- transfers ---- */

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

/* The reply for a job whose command failed: its stderr says why. */
static void
reply_job_error(struct request *rq, struct wjob *j,
    const struct pyro_msg_exec_exit *x, const char *what)
{
	char	*err = j->err.len ? utf8_sanitize(j->err.p, j->err.len > 300 ?
		    300 : j->err.len) : NULL;
	char	*nl;

	if (err != NULL && (nl = strrchr(err, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	if (x == NULL)
		ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "the workspace "
		    "stopped during the %s", what);
	else if (x->timed_out)
		ctl_reply_err(rq, PYRO_E_TIMEOUT, "the %s took longer than "
		    "%d s", what, j->timeout_s);
	else if (x->exit_code == 90)
		ctl_reply_err(rq, PYRO_E_INVALID_PATH, "%s", err ? err :
		    "the path leads outside /workspace");
	else if (x->exit_code == 91)
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "%s", err ? err :
		    "no such path in the workspace");
	else
		ctl_reply_err(rq, PYRO_E_IO, "the %s failed in the guest: %s",
		    what, err ? err : "no message");
	free(err);
}

static void
job_cancel(struct request *rq)
{
	struct wjob	*j = rq->ctx;

	ctl_clear_drain(rq, j);
	j->rq = NULL;
	wjob_kill(j);
}

static void
push_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	char		*dest = j->arg;
	cJSON		*res;

	history_add(j->w, "sync_push", dest, x, j->t0, now_ms() - j->t0);
	if (rq != NULL) {
		rq->cancel = NULL;
		if (x != NULL && x->exit_code == 0 && x->error == 0) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    j->w->rec->id);
			cJSON_AddStringToObject(res, "dest", dest);
			cJSON_AddNumberToObject(res, "duration_ms",
			    (double)(now_ms() - j->t0));
			ctl_reply_ok(rq, res);
		} else
			reply_job_error(rq, j, x, "sync push");
	}
	free(dest);
	wjob_free(j);
}

void
op_workspace_sync_push(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct wjob		*j;
	char			 dest[PYRO_PATH_LEN_MAX + 1], *d;
	const char		*argv[] = { "/bin/sh", "-c", EXTRACT_SH, dest,
				    NULL };

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if (ws_path(args, "dest", PYRO_GUEST_WORKDIR, dest, sizeof(dest),
	    &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (rq->fd < 0) {
		ctl_reply_err(rq, PYRO_E_BAD_REQUEST, "sync push needs the "
		    "archive's fd (\"fd\": true)");
		return;
	}
	if ((d = strdup(dest)) == NULL ||
	    (j = wjob_new(w, SINK_BUFFER, push_done, d)) == NULL) {
		free(d);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = 4096;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = job_cancel;
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, XFER_TIMEOUT_S, rq->fd, 0,
	    0, &st) < 0) {
		rq->cancel = NULL;
		free(d);
		ctl_reply_status(rq, &st);
		return;
	}
	close(rq->fd);
	rq->fd = -1;
}

/*
 * Export: the guest tars one path (not following symlinks); the client
 * unpacks it on the host with its own rights.  The parent directory is
 * resolved in the guest and must stay inside /workspace.
 */
static const char EXPORT_SH[] =
    "set -e; if [ \"$0\" != /workspace ]; then "
    "d=$(realpath -m -- \"$(dirname -- \"$0\")\"); case \"$d\" in "
    "/workspace|/workspace/*) ;; *) echo \"$0 leads outside "
    "/workspace\" >&2; exit 90;; esac; fi; "
    "if [ ! -e \"$0\" ] && [ ! -L \"$0\" ]; then echo \"$0 does not "
    "exist\" >&2; exit 91; fi; cd -- \"$(dirname -- \"$0\")\"; "
    "exec tar -cf - --numeric-owner -- \"$(basename -- \"$0\")\"";

static void
export_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	char		*path = j->arg;
	cJSON		*res;

	if (rq != NULL) {
		ctl_clear_drain(rq, j);
		rq->cancel = NULL;
		if (x != NULL && x->exit_code == 0 && x->error == 0) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    j->w->rec->id);
			cJSON_AddStringToObject(res, "path", path);
			ctl_reply_ok(rq, res);
		} else
			reply_job_error(rq, j, x, "export");
	}
	free(path);
	wjob_free(j);
}

void
op_workspace_export(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct wjob		*j;
	char			 path[PYRO_PATH_LEN_MAX + 1], *p;
	const char		*argv[] = { "/bin/sh", "-c", EXPORT_SH, path,
				    NULL };

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if (ws_path(args, "path", NULL, path, sizeof(path), &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((p = strdup(path)) == NULL ||
	    (j = wjob_new(w, SINK_CLIENT, export_done, p)) == NULL) {
		free(p);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	/* The archive is masked byte for byte; stderr is kept for errors. */
	pyro_redactor_set_mode(&j->red, 1, PYRO_REDACT_MASK);
	j->err_to_buffer = 1;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = job_cancel;
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, XFER_TIMEOUT_S, -1, 0, 0,
	    &st) < 0) {
		rq->cancel = NULL;
		free(p);
		ctl_reply_status(rq, &st);
	}
}

/* ---- diff ---- */

/*
 * The baseline archive comes in on stdin and is unpacked in a scratch
 * directory outside /workspace: on /tmp (tmpfs) when it has twice the
 * baseline's size ($0, in KiB) free, so that a full disk does not stop
 * the review of what filled it, else on /var/tmp.  The output is
 * NUL-separated records:
 * "A" path, "D" path, "M" path, then "T" path text (a unified diff of a
 * text file) or "B" path (binary).  Directories are not entries.
 */
static const char DIFF_SH[] =
    "set -eu; export LC_ALL=C; "
    "s=/tmp; a=$(df -Pk /tmp | { read -r _; read -r _ _ _ a _; "
    "echo \"${a:-0}\"; }); [ \"$a\" -gt $(($0 * 2)) ] || s=/var/tmp; "
    "t=$(mktemp -d $s/pyro-diff.XXXXXX); "
    "trap 'rm -rf -- \"$t\"' EXIT; mkdir \"$t/b\"; "
    "tar -C \"$t/b\" -xf - --no-same-owner; "
    "(cd \"$t/b\" && find . -mindepth 1 ! -type d -printf '%P\\0' | "
    "sort -z) > \"$t/old\"; "
    "(cd /workspace && find . -mindepth 1 ! -type d -printf '%P\\0' | "
    "sort -z) > \"$t/new\"; "
    "text() { [ -f \"$1\" ] && [ ! -L \"$1\" ] && "
    "iconv -f UTF-8 -t UTF-8 -- \"$1\" >/dev/null 2>&1 && "
    "[ \"$(tr -d '\\000' < \"$1\" | wc -c)\" = \"$(wc -c < \"$1\")\" ]; }; "
    "show() { if { [ \"$2\" = /dev/null ] || text \"$2\"; } && "
    "{ [ \"$3\" = /dev/null ] || text \"$3\"; }; then "
    "printf 'T\\0%s\\0' \"$1\"; diff -u --label \"$4\" --label \"$5\" -- "
    "\"$2\" \"$3\" || true; printf '\\0'; else printf 'B\\0%s\\0' "
    "\"$1\"; fi; }; "
    "comm -z -13 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "printf 'A\\0%s\\0' \"$p\"; show \"$p\" /dev/null \"/workspace/$p\" "
    "/dev/null \"b/$p\"; done; "
    "comm -z -23 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "printf 'D\\0%s\\0' \"$p\"; show \"$p\" \"$t/b/$p\" /dev/null "
    "\"a/$p\" /dev/null; done; "
    "comm -z -12 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "o=\"$t/b/$p\"; n=\"/workspace/$p\"; "
    "if [ -L \"$o\" ] || [ -L \"$n\" ]; then [ -L \"$o\" ] && [ -L \"$n\" ] "
    "&& [ \"$(readlink -- \"$o\")\" = \"$(readlink -- \"$n\")\" ] && "
    "continue; elif cmp -s -- \"$o\" \"$n\" && [ \"$(stat -c %a -- \"$o\")\" "
    "= \"$(stat -c %a -- \"$n\")\" ]; then continue; fi; "
    "printf 'M\\0%s\\0' \"$p\"; show \"$p\" \"$o\" \"$n\" \"a/$p\" "
    "\"b/$p\"; done";

/* Next NUL-terminated field of [*p, end), or NULL. */
static char *
field(char **p, char *end)
{
	char	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

static cJSON *
diff_parse(struct ws *w, struct obuf *b)
{
	cJSON	*res = cJSON_CreateObject(), *files, *o = NULL, *summary;
	char	*p = (char *)b->p, *end = p + b->len, *tag, *path, *text;
	int	 na = 0, nm = 0, nd = 0;

	files = cJSON_AddArrayToObject(res, "files");
	while (p != NULL && (tag = field(&p, end)) != NULL &&
	    (path = field(&p, end)) != NULL) {
		char *clean = utf8_sanitize((uint8_t *)path, strlen(path));

		if (strcmp(tag, "A") == 0 || strcmp(tag, "D") == 0 ||
		    strcmp(tag, "M") == 0) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "path", clean ? clean : "");
			cJSON_AddStringToObject(o, "status", tag[0] == 'A' ?
			    "added" : tag[0] == 'D' ? "deleted" : "modified");
			cJSON_AddItemToArray(files, o);
			na += tag[0] == 'A';
			nd += tag[0] == 'D';
			nm += tag[0] == 'M';
		} else if (strcmp(tag, "B") == 0 && o != NULL) {
			cJSON_AddBoolToObject(o, "binary", 1);
		} else if (strcmp(tag, "T") == 0 && o != NULL) {
			char *red;

			if ((text = field(&p, end)) == NULL)
				text = "";
			red = ws_redact_str(w, text);
			cJSON_AddBoolToObject(o, "binary", 0);
			cJSON_AddStringToObject(o, "diff", red ? red : "");
			free(red);
		} else {
			free(clean);
			break;		/* not ours: stop reading */
		}
		free(clean);
	}
	summary = cJSON_AddObjectToObject(res, "summary");
	cJSON_AddNumberToObject(summary, "added", na);
	cJSON_AddNumberToObject(summary, "modified", nm);
	cJSON_AddNumberToObject(summary, "deleted", nd);
	cJSON_AddBoolToObject(res, "truncated", b->truncated);
	return res;
}

static void
diff_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	cJSON		*res;

	if (rq != NULL) {
		rq->cancel = NULL;
		if (x != NULL && x->exit_code == 0 && x->error == 0) {
			res = diff_parse(j->w, &j->out);
			cJSON_AddStringToObject(res, "workspace_id",
			    j->w->rec->id);
			cJSON_AddStringToObject(res, "against", "baseline");
			ctl_reply_ok(rq, res);
		} else
			reply_job_error(rq, j, x, "diff");
	}
	wjob_free(j);
}

void
op_workspace_diff(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct wjob		*j;
	struct stat		 sb;
	char			 kib[24];
	const char		*argv[] = { "/bin/bash", "-c", DIFF_SH, kib,
				    NULL };
	int			 fd;

	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if ((fd = store_openat(w->rec, "baseline.tar", O_RDONLY, 0)) < 0) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "baseline", w->rec->id);
		return;
	}
	snprintf(kib, sizeof(kib), "%lld", fstat(fd, &sb) == 0 ?
	    (long long)sb.st_size / 1024 + 1 : 1048576LL);
	if ((j = wjob_new(w, SINK_BUFFER, diff_done, NULL)) == NULL) {
		close(fd);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = DIFF_OUTPUT_MAX;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = job_cancel;
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, XFER_TIMEOUT_S, fd, 0, 0,
	    &st) < 0) {
		rq->cancel = NULL;
		ctl_reply_status(rq, &st);
	}
	close(fd);
}

/* ---- snapshots ---- */

static int
snap_name(const cJSON *args, const char **name, struct pyro_status *st)
{
	if (arg_string(args, "snapshot_name", 1, 200, name, st) < 0)
		return -1;
	if (!pyro_name_valid(*name) || strcmp(*name, "baseline") == 0)
		return pyro_fail(st, PYRO_E_INVALID_NAME, "snapshot names are "
		    "1-64 characters of [A-Za-z0-9._-], starting with a letter "
		    "or digit (\"baseline\" is taken)");
	return 0;
}

static cJSON *
snap_find(struct ws *w, const char *name)
{
	cJSON	*it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(w->rec->doc, "snapshots")) {
		const cJSON *n = cJSON_GetObjectItem(it, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return it;
	}
	return NULL;
}

struct snapctx {
	char	name[65];
	char	tmp[128];
	char	file[96];
};

static void
snap_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct snapctx	*c = j->arg;
	struct request	*rq = j->rq;
	struct stat	 sb;
	cJSON		*o, *arr;
	char		 ts[32];

	j->w->snapshotting = 0;
	if (x == NULL || x->exit_code != 0 || x->error != 0 ||
	    j->file_error != 0 || fsync(j->fd) < 0 || fstat(j->fd, &sb) < 0 ||
	    store_rename(j->w->rec, c->tmp, c->file) < 0) {
		(void)store_unlink(j->w->rec, c->tmp);
		if (rq != NULL) {
			rq->cancel = NULL;
			if (j->file_error != 0)
				ctl_reply_err(rq, PYRO_E_IO, "cannot write the "
				    "snapshot: %s", strerror(j->file_error));
			else
				reply_job_error(rq, j, x, "snapshot");
		}
		free(c);
		wjob_free(j);
		return;
	}
	iso_time(ts, sizeof(ts), time(NULL));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "created_at", ts);
	cJSON_AddNumberToObject(o, "size_bytes", (double)sb.st_size);
	if ((arr = cJSON_GetObjectItem(j->w->rec->doc, "snapshots")) == NULL)
		arr = cJSON_AddArrayToObject(j->w->rec->doc, "snapshots");
	cJSON_AddItemToArray(arr, o);
	ws_event(j->w, "snapshot_created", c->name);
	if (rq != NULL) {
		cJSON *res = cJSON_Duplicate(o, 1);

		rq->cancel = NULL;
		cJSON_AddStringToObject(res, "workspace_id", j->w->rec->id);
		ctl_reply_ok(rq, res);
	}
	free(c);
	wjob_free(j);
}

void
op_snapshot_create(struct request *rq, const cJSON *args)
{
	static const char	*argv[] = { "/bin/sh", "-c", ARCHIVE_SH, NULL };
	struct pyro_status	 st;
	struct snapctx		*c;
	const char		*name;
	struct ws		*w;
	struct wjob		*j;
	int			 fd;

	if (snap_name(args, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((w = ws_running_or_reply(rq, args)) == NULL)
		return;
	if (snap_find(w, name) != NULL) {
		ctl_reply_err(rq, PYRO_E_EXISTS, "workspace %s already has a "
		    "snapshot \"%s\"", w->rec->id, name);
		return;
	}
	if (w->snapshotting ||
	    cJSON_GetArraySize(cJSON_GetObjectItem(w->rec->doc,
	    "snapshots")) >= SNAPSHOTS_MAX) {
		ctl_reply_err(rq, w->snapshotting ? PYRO_E_BUSY :
		    PYRO_E_LIMIT_EXCEEDED, w->snapshotting ? "a snapshot of "
		    "this workspace is being taken" : "a workspace keeps at "
		    "most %d snapshots; delete one first", SNAPSHOTS_MAX);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	pyro_strlcpy(c->name, name, sizeof(c->name));
	snprintf(c->file, sizeof(c->file), "snapshot-%s.tar", name);
	snprintf(c->tmp, sizeof(c->tmp), PYRO_TMP_PREFIX "%s", c->file);
	(void)store_unlink(w->rec, c->tmp);
	if ((fd = store_openat(w->rec, c->tmp, O_WRONLY | O_CREAT | O_EXCL,
	    0600)) < 0 || (j = wjob_new(w, SINK_FILE, snap_done, c)) == NULL) {
		if (fd >= 0)
			close(fd);
		free(c);
		ctl_reply_err(rq, PYRO_E_IO, "cannot write the snapshot");
		return;
	}
	j->fd = fd;
	j->err.max = 4096;
	j->err_to_buffer = 1;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = NULL;	/* a snapshot completes without its client */
	w->snapshotting = 1;
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, XFER_TIMEOUT_S, -1, 0, 0,
	    &st) < 0) {
		w->snapshotting = 0;
		(void)store_unlink(w->rec, c->tmp);
		free(c);
		ctl_reply_status(rq, &st);
	}
}

void
op_snapshot_list(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	cJSON		*res, *arr, *b;
	struct stat	 sb;
	int		 fd;

	if ((w = ws_host_or_reply(rq, args)) == NULL)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	arr = cJSON_AddArrayToObject(res, "snapshots");
	if ((fd = store_openat(w->rec, "baseline.tar", O_RDONLY, 0)) >= 0) {
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "name", "baseline");
		cJSON_AddItemToObject(b, "created_at", cJSON_Duplicate(
		    cJSON_GetObjectItem(w->rec->doc, "created_at"), 1));
		if (fstat(fd, &sb) == 0)
			cJSON_AddNumberToObject(b, "size_bytes",
			    (double)sb.st_size);
		cJSON_AddBoolToObject(b, "baseline", 1);
		cJSON_AddItemToArray(arr, b);
		close(fd);
	}
	{
		const cJSON *it;

		cJSON_ArrayForEach(it, cJSON_GetObjectItem(w->rec->doc,
		    "snapshots"))
			cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
	}
	ctl_reply_ok(rq, res);
}

void
op_snapshot_delete(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	const char		*name;
	struct ws		*w;
	cJSON			*it, *res;
	char			 file[96];

	if (snap_name(args, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((w = ws_host_or_reply(rq, args)) == NULL)
		return;
	if ((it = snap_find(w, name)) == NULL) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "snapshot \"%s\"", w->rec->id, name);
		return;
	}
	snprintf(file, sizeof(file), "snapshot-%s.tar", name);
	(void)store_unlink(w->rec, file);
	cJSON_DetachItemViaPointer(cJSON_GetObjectItem(w->rec->doc,
	    "snapshots"), it);
	cJSON_Delete(it);
	ws_event(w, "snapshot_deleted", name);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	cJSON_AddStringToObject(res, "snapshot_name", name);
	cJSON_AddBoolToObject(res, "deleted", 1);
	ctl_reply_ok(rq, res);
}
