/*
 * Workspaces: records under workspaces/<id>/ and, while one runs, its VM.
 *
 *	creating --ready+seeded--> running --stop--> stopped --start--> running
 *	running|stopped|failed --reset--> resetting --> running
 *	any --delete--> (gone); a VM that dies unexpectedly: failed
 *
 * Which request may act in which state is the table below, nowhere else.
 * The record directory is flat: workspace.json, rootfs.ext4 (a sparse or
 * reflinked copy of the environment's rootfs), baseline.tar,
 * snapshot-<name>.tar, secret-<name> (0600), history.jsonl.  Secrets are
 * written into the guest at /run/pyro-secrets/<name> (tmpfs) at every boot
 * and never onto its disk.
 *
 * Every boot runs the same steps once the agent says hello: make the
 * runtime directories, install the secrets, then for a create the seed and
 * the baseline, for a reset the chosen archive.  A create that fails at any
 * step leaves nothing: the VM is stopped and the record removed.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "disk.h"
#include "frame.h"
#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define TTL_DEFAULT		600
#define TTL_MAX			(30 * 86400)
#define SWEEP_INTERVAL_MS	5000
#define STEP_TIMEOUT_S		3600

static LIST_HEAD(, ws)	wss = LIST_HEAD_INITIALIZER(wss);
static struct timer	*sweep_timer;

/* ---- the state table ---- */

enum ws_req {
	REQ_GUEST,	/* exec, sync, export, diff, snapshot create, shells... */
	REQ_START,
	REQ_STOP,
	REQ_RESET,
	REQ_DELETE,
	REQ_HOST,	/* snapshot list/delete, status, logs */
	REQ_DISK,	/* disk list/read/export: stopped disks only */
};

static const struct {
	const char	*state;
	/* Per request kind: 0 allowed, else the error. */
	enum pyro_err	 refuse[7];
} state_table[] = {
	/*		  GUEST START STOP RESET DELETE HOST DISK */
	{ "creating",	{ PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY,
			  0, 0, PYRO_E_BUSY } },
	{ "starting",	{ PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY,
			  0, 0, PYRO_E_BUSY } },
	{ "running",	{ 0, PYRO_E_WORKSPACE_RUNNING, 0, 0, 0, 0,
			  PYRO_E_WORKSPACE_RUNNING } },
	{ "stopping",	{ PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY,
			  0, 0, PYRO_E_BUSY } },
	{ "stopped",	{ PYRO_E_WORKSPACE_NOT_RUNNING, 0, 0, 0, 0, 0, 0 } },
	{ "resetting",	{ PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY,
			  0, 0, PYRO_E_BUSY } },
	{ "failed",	{ PYRO_E_WORKSPACE_NOT_RUNNING, 0, 0, 0, 0, 0, 0 } },
	{ "deleting",	{ PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY,
			  PYRO_E_BUSY, PYRO_E_BUSY, PYRO_E_BUSY } },
	{ NULL,		{ 0 } },
};

static enum pyro_err
ws_refusal(const struct record *r, enum ws_req k)
{
	int	i;

	for (i = 0; state_table[i].state != NULL; i++)
		if (strcmp(state_table[i].state, rec_state(r)) == 0)
			return state_table[i].refuse[k];
	return PYRO_E_BUSY;
}

static const char *
ws_env_name(const struct record *r)
{
	const cJSON	*e = cJSON_GetObjectItem(r->doc, "environment");

	return cJSON_IsString(e) ? e->valuestring : "";
}

/* ---- the live context ---- */

struct ws *
ws_of(struct record *r)
{
	struct ws	*w;

	LIST_FOREACH(w, &wss, entry)
		if (w->rec == r)
			return w;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->rec = r;
	w->seed_fd = -1;
	LIST_INIT(&w->jobs);
	LIST_INIT(&w->shells);
	LIST_INIT(&w->services);
	LIST_INSERT_HEAD(&wss, w, entry);
	return w;
}

static void
ws_forget_secrets(struct ws *w)
{
	int	i;

	for (i = 0; i < w->nsecrets; i++) {
		free(w->secret_name[i]);
		if (w->secret_val[i] != NULL)
			explicit_bzero(w->secret_val[i], w->secret_len[i]);
		free(w->secret_val[i]);
	}
	w->nsecrets = 0;
	w->secrets_loaded = 0;
	w->secret_maxlen = 0;
}

/* Forget the workspace: its record is gone. */
static void
ws_free(struct ws *w)
{
	LIST_REMOVE(w, entry);
	if (w->seed_fd >= 0)
		close(w->seed_fd);
	services_free(w);
	ws_forget_secrets(w);
	free(w);
}

void
ws_event(struct ws *w, const char *event, const char *detail)
{
	rec_set_state(w->rec, rec_state(w->rec), event, detail);
	(void)store_save(w->rec);
}

/* Read every secret-<name> file of the record once. */
int
ws_load_secrets(struct ws *w)
{
	const cJSON	*names, *it;
	char		 file[96];
	struct stat	 sb;
	int		 fd;

	if (w->secrets_loaded)
		return 0;
	w->secrets_loaded = 1;
	names = cJSON_GetObjectItem(w->rec->doc, "secrets");
	cJSON_ArrayForEach(it, names) {
		uint8_t *v;

		if (!cJSON_IsString(it) || w->nsecrets >= WS_SECRETS_MAX ||
		    !pyro_name_valid(it->valuestring))
			continue;
		snprintf(file, sizeof(file), "secret-%s", it->valuestring);
		if ((fd = store_openat(w->rec, file, O_RDONLY, 0)) < 0)
			continue;
		if (fstat(fd, &sb) < 0 || sb.st_size <= 0 ||
		    sb.st_size > WS_SECRET_BYTES_MAX ||
		    (v = malloc((size_t)sb.st_size)) == NULL) {
			close(fd);
			continue;
		}
		if (pread(fd, v, (size_t)sb.st_size, 0) != sb.st_size) {
			free(v);
			close(fd);
			continue;
		}
		close(fd);
		w->secret_name[w->nsecrets] = strdup(it->valuestring);
		w->secret_val[w->nsecrets] = v;
		w->secret_len[w->nsecrets] = (size_t)sb.st_size;
		if ((size_t)sb.st_size > w->secret_maxlen)
			w->secret_maxlen = (size_t)sb.st_size;
		w->nsecrets++;
	}
	return 0;
}

const uint8_t *
ws_secret(struct ws *w, const char *name, size_t *len)
{
	int	i;

	(void)ws_load_secrets(w);
	for (i = 0; i < w->nsecrets; i++)
		if (w->secret_name[i] != NULL &&
		    strcmp(w->secret_name[i], name) == 0) {
			*len = w->secret_len[i];
			return w->secret_val[i];
		}
	return NULL;
}

void
ws_free_env(char **env, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (env[i] != NULL)
			explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
}

/* Valid environment variable names: [A-Za-z_][A-Za-z0-9_]*, <= 64. */
static int
envname_valid(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9')))
			return 0;
	return 1;
}

/*
 * "secret_env": ["NAME", "NAME=ENV_VAR", ...]: each maps one secret into
 * the command's environment (as NAME when no ENV_VAR is given).
 */
int
ws_secret_env(struct ws *w, const cJSON *arr, char ***envp, int *np,
    struct pyro_status *st)
{
	const cJSON	*it;
	char		**env, name[80];
	const char	*eq, *var;
	const uint8_t	*val;
	size_t		 vlen;
	int		 n = 0, k;

	*envp = NULL;
	*np = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > WS_SECRETS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"secret_env\" must be an array of at most %d strings "
		    "NAME or NAME=ENV_VAR", WS_SECRETS_MAX);
	if ((env = calloc(WS_SECRETS_MAX + 1, sizeof(*env))) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) > 140)
			goto bad;
		eq = strchr(it->valuestring, '=');
		k = eq ? (int)(eq - it->valuestring) :
		    (int)strlen(it->valuestring);
		if (k <= 0 || k >= (int)sizeof(name))
			goto bad;
		memcpy(name, it->valuestring, (size_t)k);
		name[k] = '\0';
		var = eq ? eq + 1 : name;
		if (!pyro_name_valid(name) || !envname_valid(var)) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_INVALID_NAME, "\"%.80s\" is "
			    "not SECRET or SECRET=ENV_VAR (a secret name of "
			    "[A-Za-z0-9._-], an environment variable name)",
			    it->valuestring);
		}
		if ((val = ws_secret(w, name, &vlen)) == NULL) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_NOT_FOUND, "the workspace "
			    "has no secret \"%s\"", name);
		}
		if (memchr(val, '\0', vlen) != NULL) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "secret "
			    "\"%s\" holds a NUL byte and cannot be an "
			    "environment variable", name);
		}
		if ((env[n] = malloc(strlen(var) + vlen + 2)) == NULL)
			goto bad;
		memcpy(env[n], var, strlen(var));
		env[n][strlen(var)] = '=';
		memcpy(env[n] + strlen(var) + 1, val, vlen);
		env[n][strlen(var) + 1 + vlen] = '\0';
		n++;
	}
	*envp = env;
	*np = n;
	return 0;
bad:
	ws_free_env(env, n);
	return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument \"secret_env\" "
	    "must hold strings NAME or NAME=ENV_VAR");
}

/* ---- finding workspaces for requests ---- */

static struct record *
ws_find(struct request *rq, const cJSON *args, struct pyro_status *st)
{
	struct record	*r;
	const char	*id;

	if (arg_id(args, "workspace_id", &id, st) < 0)
		return NULL;
	if ((r = store_find(REC_WORKSPACE, id)) == NULL ||
	    !rec_visible(r, rq->uid)) {
		pyro_fail(st, PYRO_E_NOT_FOUND, "no workspace \"%s\"", id);
		return NULL;
	}
	return r;
}

/* The workspace, if the state table lets request kind k act on it. */
static struct ws *
ws_for(struct request *rq, const cJSON *args, enum ws_req k)
{
	struct pyro_status	 st;
	struct record		*r;
	struct ws		*w;
	enum pyro_err		 e;

	if ((r = ws_find(rq, args, &st)) == NULL) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((w = ws_of(r)) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (k == REQ_DISK && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(
	    r->doc, "execution_mode")) ?: "", "host_compat") == 0) {
		ctl_reply_err(rq, PYRO_E_NOT_GUEST_BACKED, "workspace %s runs "
		    "on the host (host-compat): it has no guest disk to "
		    "inspect", r->id);
		return NULL;
	}
	if ((e = ws_refusal(r, k)) != 0 || (w->cleaning && k != REQ_HOST) ||
	    (k != REQ_HOST && k != REQ_GUEST && k != REQ_DELETE &&
	    w->op != WSOP_NONE)) {
		if (e == PYRO_E_WORKSPACE_RUNNING && k == REQ_DISK)
			ctl_reply_err(rq, e, "workspace %s is running; disk "
			    "tools read stopped disks only: stop it first "
			    "(pyro workspace stop %s)", r->id, r->id);
		else if (e == PYRO_E_WORKSPACE_NOT_RUNNING)
			ctl_reply_err(rq, e, "workspace %s is %s; start it "
			    "first (pyro workspace start %s)", r->id,
			    rec_state(r), r->id);
		else if (e == PYRO_E_WORKSPACE_RUNNING)
			ctl_reply_err(rq, e, "workspace %s is already running",
			    r->id);
		else
			ctl_reply_err(rq, PYRO_E_BUSY, "workspace %s is %s; "
			    "try again when that is done", r->id,
			    rec_state(r));
		return NULL;
	}
	if (k == REQ_GUEST && (w->v == NULL ||
	    vmi_state(w->v) != VMI_RUNNING)) {
		ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "workspace %s "
		    "is not running; start it first (pyro workspace start %s)",
		    r->id, r->id);
		return NULL;
	}
	return w;
}

struct ws *
ws_running_or_reply(struct request *rq, const cJSON *args)
{
	return ws_for(rq, args, REQ_GUEST);
}

struct ws *
ws_host_or_reply(struct request *rq, const cJSON *args)
{
	return ws_for(rq, args, REQ_HOST);
}

struct ws *
ws_disk_or_reply(struct request *rq, const cJSON *args)
{
	return ws_for(rq, args, REQ_DISK);
}

int
ws_disk_clean(const struct ws *w)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(w->rec->doc, "disk_clean"));
}

/* ---- the lifecycle request ---- */

static void
lc_cancel(struct request *rq)
{
	struct ws	*w = rq->ctx;

	/* The work goes on; only the reply has nobody to go to. */
	w->rq = NULL;
}

static void
lc_attach(struct ws *w, struct request *rq, enum ws_op op)
{
	w->op = op;
	w->rq = rq;
	if (rq != NULL) {
		rq->ctx = w;
		rq->cancel = lc_cancel;
	}
}

static void
lc_progress(struct ws *w, const char *phase)
{
	cJSON	*ev;

	if (w->rq == NULL)
		return;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "phase", phase);
	cJSON_AddStringToObject(ev, "workspace_id", w->rec->id);
	ctl_event(w->rq, "progress", ev);
}

static void
lc_reply_ok(struct ws *w)
{
	struct request	*rq = w->rq;

	w->op = WSOP_NONE;
	w->rq = NULL;
	if (rq != NULL) {
		rq->cancel = NULL;
		ctl_reply_ok(rq, ws_status_json(w));
	}
}

static void
lc_reply_err(struct ws *w, const struct pyro_status *st)
{
	struct request	*rq = w->rq;

	w->rq = NULL;
	if (rq != NULL) {
		rq->cancel = NULL;
		ctl_reply_status(rq, st);
	}
}

/* ---- booting ---- */

static const struct vmi_ops ws_vmi_ops;
static void	boot_step(struct ws *);
static void	clean_continue(struct ws *, const struct pyro_status *);
static void	stop_cleaned(struct ws *, const struct pyro_status *, void *);

/* The guest side of every boot step; $0 and on are arguments. */
static const char SETUP_SH[] =
    "set -e; mkdir -p /workspace /run/pyro/services /run/pyro-secrets; "
    "chmod 0700 /run/pyro /run/pyro-secrets; "
    "printf 'set enable-bracketed-paste off\\n$include /etc/inputrc\\n' "
    ">/run/pyro/inputrc";
static const char SECRET_SH[] =
    "set -e; umask 0377; rm -f \"/run/pyro-secrets/$0\"; "
    "cat > \"/run/pyro-secrets/$0\"";
/*
 * Unpack a tar stream into a directory under /workspace.  The destination
 * is resolved in the guest (symlinks included) and must stay inside
 * /workspace.  GNU tar refuses members with "..", strips leading "/", and
 * makes links that point outside the tree only at the end, so no member is
 * written through one.
 */
const char EXTRACT_SH[] =
    "set -e; d=$(realpath -m -- \"$0\"); case \"$d\" in /workspace|"
    "/workspace/*) ;; *) echo \"$0 leads outside /workspace\" >&2; "
    "exit 90;; esac; mkdir -p -- \"$d\"; "
    "exec tar -C \"$d\" -xf - --no-same-owner --delay-directory-restore";
const char ARCHIVE_SH[] =
    "cd /workspace && exec tar -cf - --numeric-owner --sort=name .";

static void
ws_gone_cleanup(struct ws *w)
{
	wjobs_gone(w);
	shells_gone(w);
	services_gone(w);
}

/*
 * What a VMM run may leave in the record's directory: the Firecracker
 * driver's API and vsock sockets, a QEMU's QMP and agent sockets when they
 * are not socketpairs, the VMM's pid file.  None may survive into the next
 * run: a stale socket would make the VMM fail to bind, a stale pid file
 * could name another process.
 */
static const char *const stale_runtime[] = {
	"firecracker.sock", "firecracker.vsock", "qmp.sock", "agent.sock",
	"vmm.pid", NULL
};

static void
remove_stale(struct ws *w)
{
	char	removed[160] = "";
	int	i;

	for (i = 0; stale_runtime[i] != NULL; i++)
		if (store_unlink(w->rec, stale_runtime[i]) == 0) {
			log_info("workspace %s: removed stale %s", w->rec->id,
			    stale_runtime[i]);
			if (strlen(removed) + strlen(stale_runtime[i]) + 2 <
			    sizeof(removed))
				snprintf(removed + strlen(removed),
				    sizeof(removed) - strlen(removed), "%s%s",
				    removed[0] ? " " : "", stale_runtime[i]);
		}
	if (removed[0] != '\0')
		ws_event(w, "stale_removed", removed);
}

static int
ws_boot(struct ws *w, struct pyro_status *st)
{
	struct env	 env;
	int		 disk, copy = 0;

	remove_stale(w);
	if (env_open(ws_env_name(w->rec), NULL, &env, st) < 0)
		return -1;
	disk = store_openat(w->rec, "rootfs.ext4", O_RDWR, 0);
	if (disk == -ENOENT) {
		disk = store_openat(w->rec, "rootfs.ext4", O_RDWR | O_CREAT |
		    O_EXCL, 0600);
		copy = 1;
	}
	if (disk < 0) {
		env_close(&env);
		return pyro_fail(st, PYRO_E_IO, "cannot open the workspace's "
		    "disk in %s: %s", conf.state_dir, strerror(-disk));
	}
	w->step = 0;
	/* From the first boot on, the disk holds a run's state. */
	cJSON_DeleteItemFromObject(w->rec->doc, "disk_clean");
	cJSON_AddFalseToObject(w->rec->doc, "disk_clean");
	(void)store_save(w->rec);
	if ((w->v = vmi_start(w->rec, &env, disk, copy, &ws_vmi_ops, w,
	    st)) == NULL)
		return -1;
	return 0;
}

/* A boot step's command ended. */
static void
step_done(struct wjob *j, const struct pyro_msg_exec_exit *x)
{
	struct ws		*w = j->w;
	struct pyro_status	 st;
	char			*err = NULL;

	if (x == NULL) {	/* the VM went away: on_gone reports it */
		wjob_free(j);
		return;
	}
	if (x->exit_code != 0 || x->error != 0 || x->timed_out ||
	    j->file_error != 0) {
		if (j->err.len > 0)
			err = utf8_sanitize(j->err.p, j->err.len < 200 ?
			    j->err.len : 200);
		if (x->exit_code == 90 && err != NULL)
			pyro_fail(&st, PYRO_E_INVALID_PATH, "%s", err);
		else
			pyro_fail(&st, x->timed_out ? PYRO_E_TIMEOUT :
			    PYRO_E_IO, "a workspace boot step failed (%s): "
			    "%s", (const char *)j->arg, err ? err :
			    j->file_error ? strerror(j->file_error) :
			    "no message");
		free(err);
		wjob_free(j);
		lc_reply_err(w, &st);
		/* A create leaves nothing; anything else is failed. */
		if (w->op != WSOP_CREATE) {
			rec_set_state(w->rec, "failed", "failed", st.message);
			(void)store_save(w->rec);
		}
		if (w->v != NULL)
			vmi_stop(w->v);
		return;
	}
	if (j->sink == SINK_FILE && strcmp(j->arg, "baseline") == 0) {
		if (fsync(j->fd) < 0 || store_rename(w->rec,
		    PYRO_TMP_PREFIX "baseline.tar", "baseline.tar") < 0) {
			pyro_fail(&st, PYRO_E_IO, "cannot save the baseline");
			wjob_free(j);
			lc_reply_err(w, &st);
			vmi_stop(w->v);
			return;
		}
	}
	wjob_free(j);
	w->step++;
	boot_step(w);
}

static int
step_run(struct ws *w, const char *what, const char *const *argv,
    int stdin_fd, int out_fd)
{
	struct pyro_status	 st;
	struct wjob		*j;

	if ((j = wjob_new(w, out_fd >= 0 ? SINK_FILE : SINK_BUFFER, step_done,
	    (void *)what)) == NULL)
		return -1;
	j->err.max = 4096;
	j->out.max = 4096;
	if (out_fd >= 0) {
		j->fd = out_fd;
		j->err.max = 4096;
	}
	lc_progress(w, what);
	if (wjob_start(j, argv, 0, NULL, 0, "/", 0, STEP_TIMEOUT_S, stdin_fd,
	    0, 0, &st) < 0) {
		lc_reply_err(w, &st);
		vmi_stop(w->v);
		return -1;
	}
	return 0;
}

/* Run boot step number w->step; the last one finishes the request. */
static void
boot_step(struct ws *w)
{
	const cJSON	*names = cJSON_GetObjectItem(w->rec->doc, "secrets");
	int		 nsec = cJSON_GetArraySize(names), s = w->step, fd, rc;
	char		 file[96];

	if (s == 0) {
		const char *argv[] = { "/bin/sh", "-c", SETUP_SH, NULL };

		(void)step_run(w, "setup", argv, -1, -1);
		return;
	}
	if (s - 1 < nsec) {
		const cJSON	*it = cJSON_GetArrayItem(names, s - 1);
		const char	*argv[] = { "/bin/sh", "-c", SECRET_SH,
				    cJSON_IsString(it) ? it->valuestring : "",
				    NULL };

		snprintf(file, sizeof(file), "secret-%s", argv[3]);
		if (!pyro_name_valid(argv[3]) || (fd = store_openat(w->rec,
		    file, O_RDONLY, 0)) < 0) {
			struct pyro_status st;

			pyro_fail(&st, PYRO_E_IO, "secret \"%s\" is missing "
			    "from the state directory", argv[3]);
			lc_reply_err(w, &st);
			vmi_stop(w->v);
			return;
		}
		rc = step_run(w, "secrets", argv, fd, -1);
		close(fd);
		return;
	}
	s -= 1 + nsec;
	if (s == 0 && (w->seed_fd >= 0 || w->restore[0] != '\0')) {
		const char *argv[] = { "/bin/sh", "-c", EXTRACT_SH,
		    PYRO_GUEST_WORKDIR, NULL };

		if (w->seed_fd >= 0) {
			rc = step_run(w, "seed", argv, w->seed_fd, -1);
			close(w->seed_fd);
			w->seed_fd = -1;
			return;
		}
		if ((fd = store_openat(w->rec, w->restore, O_RDONLY, 0)) < 0) {
			struct pyro_status st;

			pyro_fail(&st, PYRO_E_IO, "cannot open %s: %s",
			    w->restore, strerror(-fd));
			lc_reply_err(w, &st);
			vmi_stop(w->v);
			return;
		}
		w->restore[0] = '\0';
		rc = step_run(w, "restore", argv, fd, -1);
		close(fd);
		return;
	}
	if (w->op == WSOP_CREATE && cJSON_GetObjectItem(w->rec->doc,
	    "baseline_saved") == NULL) {
		const char *argv[] = { "/bin/sh", "-c", ARCHIVE_SH, NULL };

		(void)store_unlink(w->rec, PYRO_TMP_PREFIX "baseline.tar");
		fd = store_openat(w->rec, PYRO_TMP_PREFIX "baseline.tar",
		    O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			struct pyro_status st;

			pyro_fail(&st, PYRO_E_IO, "cannot write the baseline: "
			    "%s", strerror(-fd));
			lc_reply_err(w, &st);
			vmi_stop(w->v);
			return;
		}
		cJSON_AddBoolToObject(w->rec->doc, "baseline_saved", 1);
		(void)step_run(w, "baseline", argv, -1, fd);
		return;
	}
	(void)rc;
	/* Every step done: the workspace is running. */
	rec_set_state(w->rec, "running", w->op == WSOP_CREATE ? "created" :
	    w->op == WSOP_RESET ? "reset" : "started", NULL);
	(void)store_save(w->rec);
	lc_reply_ok(w);
}

static void
ws_on_ready(struct vmi *v, uint32_t boot_ms, void *arg)
{
	struct ws	*w = arg;
	cJSON		*it = cJSON_GetObjectItem(w->rec->doc, "boot_ms");

	if (it != NULL)
		cJSON_SetNumberValue(it, boot_ms);
	else
		cJSON_AddNumberToObject(w->rec->doc, "boot_ms", boot_ms);
	cJSON_DeleteItemFromObject(w->rec->doc, "started_at_epoch");
	cJSON_AddNumberToObject(w->rec->doc, "started_at_epoch",
	    (double)time(NULL));
	if (w->cleaning) {
		/* Mounting replayed the journal: power off at once. */
		lc_progress(w, "recovered");
		vmi_stop(v);
		return;
	}
	lc_progress(w, "booted");
	boot_step(w);
}

static void
ws_on_output(struct vmi *v, uint32_t stream, int which, const uint8_t *data,
    size_t len, void *arg)
{
	struct wjob	*j = wjob_find(arg, stream);

	if (j != NULL)
		wjob_output(j, which, data, len);
}

static void
ws_on_exit(struct vmi *v, const struct pyro_msg_exec_exit *x, void *arg)
{
	struct wjob	*j = wjob_find(arg, x->stream);

	if (j != NULL)
		wjob_exit(j, x);
}

static void
ws_on_started(struct vmi *v, uint32_t stream, uint32_t pid, void *arg)
{
	struct wjob	*j = wjob_find(arg, stream);

	if (j != NULL)
		j->pid = pid;
}

static void
ws_on_gone(struct vmi *v, const struct pyro_status *err, int forced,
    void *arg)
{
	struct ws		*w = arg;
	struct pyro_status	 st;
	enum ws_op		 op = w->op;

	w->v = NULL;
	ws_gone_cleanup(w);
	cJSON_DeleteItemFromObject(w->rec->doc, "started_at_epoch");
	if (w->cleaning && !vmi_shutting_down()) {
		clean_continue(w, err);
		return;
	}
	switch (op) {
	case WSOP_DELETE: {
		struct request *rq = w->rq;
		char id[17];

		pyro_strlcpy(id, w->rec->id, sizeof(id));
		if (w->reaped)
			log_info("workspace %s: TTL expired; deleted", id);
		store_remove(w->rec);
		ws_free(w);
		if (rq != NULL) {
			cJSON *res = cJSON_CreateObject();

			rq->cancel = NULL;
			cJSON_AddStringToObject(res, "workspace_id", id);
			cJSON_AddBoolToObject(res, "deleted", 1);
			ctl_reply_ok(rq, res);
		}
		return;
	}
	case WSOP_CREATE:
		/* Nothing of a failed create stays behind. */
		if (err == NULL)
			pyro_fail(&st, PYRO_E_GUEST_BOOT_FAILED, "the "
			    "workspace's VM stopped before it was ready");
		lc_reply_err(w, err ? err : &st);
		store_remove(w->rec);
		ws_free(w);
		return;
	case WSOP_RESET:
		if (err == NULL && w->reboot && !vmi_shutting_down()) {
			/* Stopped for the reset: a new disk, then boot. */
			w->reboot = 0;
			(void)store_unlink(w->rec, "rootfs.ext4");
			if (ws_boot(w, &st) == 0)
				return;
			err = &st;
		}
		break;
	case WSOP_STOP:
		if ((err == NULL || forced) && !vmi_shutting_down()) {
			rec_set_state(w->rec, "stopping", forced ? "killed" :
			    "powered_off", forced ? "forced: the guest did not "
			    "power off in time" : NULL);
			(void)store_save(w->rec);
			ws_clean(w, stop_cleaned, NULL);
			return;
		}
		break;
	default:
		break;
	}
	if (vmi_shutting_down()) {
		rec_set_state(w->rec, "stopped", "stopped", forced ? "pyrod "
		    "shut down; the guest did not power off and was killed" :
		    "pyrod shut down; the guest was powered off");
		(void)store_save(w->rec);
		if (err == NULL)
			pyro_fail(&st, PYRO_E_DAEMON_UNAVAILABLE, "pyrod is "
			    "shutting down");
		lc_reply_err(w, err ? err : &st);
		w->op = WSOP_NONE;
		return;
	}
	if (err == NULL && op == WSOP_NONE) {
		pyro_fail(&st, PYRO_E_INTERNAL, "the workspace's VM stopped");
		err = &st;
	}
	if (err == NULL)
		pyro_fail(&st, PYRO_E_INTERNAL, "the workspace's VM stopped "
		    "before the %s finished", op == WSOP_RESET ? "reset" :
		    "start");
	rec_set_state(w->rec, "failed", "failed", err ? err->message :
	    st.message);
	(void)store_save(w->rec);
	lc_reply_err(w, err ? err : &st);
	w->op = WSOP_NONE;
}

/* ---- the disk's cleanup after a stop ---- */

static void	scrub_done(const struct pyro_status *,
		    const struct pyro_msg_disk_done *, void *);
static const struct dreq_ops scrub_ops = { NULL, NULL, scrub_done };

static void
clean_finish(struct ws *w, const struct pyro_status *err)
{
	void	(*done)(struct ws *, const struct pyro_status *, void *) =
		    w->clean_done;
	void	*arg = w->clean_arg;
	char	 detail[300];

	w->cleaning = 0;
	w->clean_done = NULL;
	cJSON_DeleteItemFromObject(w->rec->doc, "disk_clean");
	cJSON_AddBoolToObject(w->rec->doc, "disk_clean", err == NULL);
	if (err == NULL)
		snprintf(detail, sizeof(detail), "runtime state scrubbed from "
		    "the disk (%llu entries removed)",
		    (unsigned long long)w->scrubbed);
	else
		snprintf(detail, sizeof(detail), "the disk could not be "
		    "scrubbed: %s", err->message);
	rec_set_state(w->rec, "stopped", err == NULL ? "stopped" :
	    "scrub_failed", detail);
	(void)store_save(w->rec);
	if (done != NULL)
		done(w, err, arg);
}

static void
scrub_done(const struct pyro_status *err,
    const struct pyro_msg_disk_done *res, void *arg)
{
	struct ws		*w = arg;
	struct pyro_status	 st;

	if (err == NULL && res->needs_recovery) {
		/*
		 * The guest went down without unmounting (a forced stop, a
		 * crash): its journal holds work.  The guest's own kernel
		 * replays it on one boot; pyro never writes a journal.
		 */
		if (w->recovery_boots++ == 0) {
			ws_event(w, "recovery_boot", "the disk's journal needs "
			    "replaying: booting once to replay it");
			if (ws_boot(w, &st) == 0)
				return;
			clean_finish(w, &st);
			return;
		}
		pyro_fail(&st, PYRO_E_DISK_CORRUPT, "the disk's journal still "
		    "needs recovery after a recovery boot");
		clean_finish(w, &st);
		return;
	}
	if (err == NULL)
		w->scrubbed = res->count;
	clean_finish(w, err);
}

void
ws_clean(struct ws *w, void (*done)(struct ws *, const struct pyro_status *,
    void *), void *arg)
{
	struct pyro_status	st;

	w->cleaning = 1;
	w->recovery_boots = 0;
	w->scrubbed = 0;
	w->clean_done = done;
	w->clean_arg = arg;
	rec_set_state(w->rec, "stopping", "scrub", NULL);
	(void)store_save(w->rec);
	lc_progress(w, "scrub");
	if (dreq_start(w->rec, DISK_SCRUB, NULL, 0, 0, -1, &scrub_ops, w,
	    &st) == NULL)
		clean_finish(w, &st);
}

/* The recovery boot ended: scrub again (or give up). */
static void
clean_continue(struct ws *w, const struct pyro_status *err)
{
	struct pyro_status	st;

	if (err != NULL) {
		clean_finish(w, err);
		return;
	}
	lc_progress(w, "scrub");
	if (dreq_start(w->rec, DISK_SCRUB, NULL, 0, 0, -1, &scrub_ops, w,
	    &st) == NULL)
		clean_finish(w, &st);
}

/* A stop's cleanup ended: answer the stop. */
static void
stop_cleaned(struct ws *w, const struct pyro_status *err, void *arg)
{
	(void)arg;
	(void)err;	/* the scrub's outcome is in the status and logs */
	lc_reply_ok(w);
}

static const struct vmi_ops ws_vmi_ops = {
	.on_ready = ws_on_ready,
	.on_output = ws_on_output,
	.on_exit = ws_on_exit,
	.on_started = ws_on_started,
	.on_gone = ws_on_gone,
};

/* ---- create ---- */

/* secrets: [{"name": N, "value": V}, ...]; written 0600, names listed. */
static int
save_secrets(struct record *r, const cJSON *arr, struct pyro_status *st)
{
	const cJSON	*it, *name, *val;
	cJSON		*names = cJSON_AddArrayToObject(r->doc, "secrets");
	char		 file[96];
	int		 fd, n = 0;

	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > WS_SECRETS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"secrets\" must be an array of at most %d objects "
		    "{\"name\", \"value\"}", WS_SECRETS_MAX);
	cJSON_ArrayForEach(it, arr) {
		const cJSON *x;

		name = cJSON_GetObjectItemCaseSensitive(it, "name");
		val = cJSON_GetObjectItemCaseSensitive(it, "value");
		if (!cJSON_IsString(name) || !cJSON_IsString(val))
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "each "
			    "secret is an object {\"name\": string, "
			    "\"value\": string}");
		if (!pyro_name_valid(name->valuestring))
			return pyro_fail(st, PYRO_E_INVALID_NAME, "secret name "
			    "\"%.80s\" must be 1-64 characters of "
			    "[A-Za-z0-9._-], starting with a letter or digit",
			    name->valuestring);
		if (val->valuestring[0] == '\0' ||
		    strlen(val->valuestring) > WS_SECRET_BYTES_MAX)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "secret "
			    "\"%s\" must hold 1 to %d bytes", name->valuestring,
			    WS_SECRET_BYTES_MAX);
		cJSON_ArrayForEach(x, names)
			if (strcmp(x->valuestring, name->valuestring) == 0)
				return pyro_fail(st, PYRO_E_EXISTS, "secret "
				    "\"%s\" is given twice", name->valuestring);
		snprintf(file, sizeof(file), "secret-%s", name->valuestring);
		if ((fd = store_openat(r, file, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) < 0)
			return pyro_fail(st, PYRO_E_IO, "cannot store secret "
			    "\"%s\": %s", name->valuestring, strerror(-fd));
		if (pyro_write_all(fd, val->valuestring,
		    strlen(val->valuestring)) < 0 || fsync(fd) < 0) {
			close(fd);
			return pyro_fail(st, PYRO_E_IO, "cannot store secret "
			    "\"%s\"", name->valuestring);
		}
		close(fd);
		cJSON_AddItemToArray(names,
		    cJSON_CreateString(name->valuestring));
		n++;
	}
	return n;
}

void
op_workspace_create(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	const char		*envname, *policy = NULL, *seed_kind = NULL;
	long long		 vcpus = 1, mem = 1024, ttl = TTL_DEFAULT;
	int			 host_compat = 0, seeded = 0;
	struct env		 env;
	struct record		*r;
	struct ws		*w;

	if (arg_string(args, "environment", 1, 64, &envname, &st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &vcpus, &st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &mem, &st) < 0 ||
	    arg_int(args, "ttl_seconds", 0, 1, TTL_MAX, &ttl, &st) < 0 ||
	    arg_bool(args, "allow_host_compat", &host_compat, &st) < 0 ||
	    arg_bool(args, "seed", &seeded, &st) < 0 ||
	    arg_string(args, "seed_kind", 0, 32, &seed_kind, &st) < 0 ||
	    arg_string(args, "network_policy", 0, 32, &policy, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (policy != NULL && strcmp(policy, "off") != 0) {
		ctl_reply_err(rq, strcmp(policy, "egress") == 0 ||
		    strcmp(policy, "egress+published-ports") == 0 ?
		    PYRO_E_UNSUPPORTED : PYRO_E_INVALID_ARGUMENT,
		    "network policy \"%.32s\" is not available in this "
		    "release; use \"off\"", policy);
		return;
	}
	if (seeded != (rq->fd >= 0)) {
		ctl_reply_err(rq, PYRO_E_BAD_REQUEST, "\"seed\": true comes "
		    "with the seed archive's fd, and only then");
		return;
	}
	if (env_open(envname, NULL, &env, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	env_close(&env);
	if ((r = store_create(REC_WORKSPACE, rq->uid)) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	cJSON_AddStringToObject(r->doc, "environment", envname);
	cJSON_AddNumberToObject(r->doc, "vcpu_count", (double)vcpus);
	cJSON_AddNumberToObject(r->doc, "mem_mib", (double)mem);
	cJSON_AddNumberToObject(r->doc, "ttl_seconds", (double)ttl);
	cJSON_AddNumberToObject(r->doc, "expires_at",
	    (double)(time(NULL) + ttl));
	cJSON_AddStringToObject(r->doc, "execution_mode", "guest_serial");
	cJSON_AddStringToObject(r->doc, "network_policy", "off");
	cJSON_AddStringToObject(r->doc, "workdir", PYRO_GUEST_WORKDIR);
	cJSON_AddStringToObject(r->doc, "seed", seeded ? (seed_kind ?
	    seed_kind : "archive") : "none");
	cJSON_AddItemToObject(r->doc, "snapshots", cJSON_CreateArray());
	if (save_secrets(r, cJSON_GetObjectItemCaseSensitive(args, "secrets"),
	    &st) < 0 || store_save(r) < 0) {
		if (st.code == PYRO_OK)
			pyro_fail(&st, PYRO_E_IO, "cannot write the record");
		store_remove(r);
		ctl_reply_status(rq, &st);
		return;
	}
	if ((w = ws_of(r)) == NULL) {
		store_remove(r);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	w->seed_fd = rq->fd;
	rq->fd = -1;
	lc_attach(w, rq, WSOP_CREATE);
	lc_progress(w, "create");
	if (ws_boot(w, &st) < 0) {
		lc_reply_err(w, &st);
		store_remove(r);
		ws_free(w);
	}
}

/* ---- start, stop, reset, delete ---- */

void
op_workspace_start(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;

	if ((w = ws_for(rq, args, REQ_START)) == NULL)
		return;
	lc_attach(w, rq, WSOP_START);
	rec_set_state(w->rec, "starting", "start", NULL);
	(void)store_save(w->rec);
	if (ws_boot(w, &st) < 0) {
		rec_set_state(w->rec, "failed", "failed", st.message);
		(void)store_save(w->rec);
		lc_reply_err(w, &st);
		w->op = WSOP_NONE;
	}
}

void
op_workspace_stop(struct request *rq, const cJSON *args)
{
	struct ws	*w;

	if ((w = ws_for(rq, args, REQ_STOP)) == NULL)
		return;
	if (w->v == NULL) {		/* stopped or failed already */
		if (ws_disk_clean(w) || cJSON_GetObjectItem(w->rec->doc,
		    "disk_clean") == NULL) {
			ctl_reply_ok(rq, ws_status_json(w));
			return;
		}
		/* Stopped by a crash or a shutdown: clean it up now. */
		lc_attach(w, rq, WSOP_STOP);
		rq->cancel = NULL;
		ws_clean(w, stop_cleaned, NULL);
		return;
	}
	lc_attach(w, rq, WSOP_STOP);
	rq->cancel = NULL;
	rec_set_state(w->rec, "stopping", "stop", NULL);
	(void)store_save(w->rec);
	lc_progress(w, "stop");
	vmi_stop(w->v);
}

void
op_workspace_reset(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	const char		*snap = NULL;
	struct ws		*w;
	char			 file[96];
	int			 fd;

	if (arg_string(args, "snapshot", 0, 80, &snap, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (snap != NULL && strcmp(snap, "baseline") != 0 &&
	    !pyro_name_valid(snap)) {
		ctl_reply_err(rq, PYRO_E_INVALID_NAME, "snapshot names are "
		    "1-64 characters of [A-Za-z0-9._-], starting with a letter "
		    "or digit");
		return;
	}
	if ((w = ws_for(rq, args, REQ_RESET)) == NULL)
		return;
	if (snap == NULL || strcmp(snap, "baseline") == 0)
		snprintf(file, sizeof(file), "baseline.tar");
	else
		snprintf(file, sizeof(file), "snapshot-%s.tar", snap);
	if ((fd = store_openat(w->rec, file, O_RDONLY, 0)) < 0) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "snapshot \"%s\"", w->rec->id, snap ? snap : "baseline");
		return;
	}
	close(fd);
	pyro_strlcpy(w->restore, file, sizeof(w->restore));
	lc_attach(w, rq, WSOP_RESET);
	w->step = 0;
	rec_set_state(w->rec, "resetting", "reset", snap ? snap : "baseline");
	(void)store_save(w->rec);
	lc_progress(w, "reset");
	if (w->v != NULL) {
		w->reboot = 1;
		vmi_stop(w->v);		/* on_gone boots the new disk */
		return;
	}
	(void)store_unlink(w->rec, "rootfs.ext4");
	if (ws_boot(w, &st) < 0) {
		rec_set_state(w->rec, "failed", "failed", st.message);
		(void)store_save(w->rec);
		lc_reply_err(w, &st);
		w->op = WSOP_NONE;
	}
}

static void
ws_delete(struct ws *w, struct request *rq, int reaped)
{
	struct pyro_status	st;

	/* A lifecycle request in flight loses its workspace. */
	if (w->rq != NULL) {
		pyro_fail(&st, PYRO_E_NOT_FOUND, "workspace %s was deleted",
		    w->rec->id);
		lc_reply_err(w, &st);
	}
	w->reaped = reaped;
	lc_attach(w, rq, WSOP_DELETE);
	if (rq != NULL)
		rq->cancel = NULL;
	if (w->v != NULL) {
		rec_set_state(w->rec, "deleting", "delete", reaped ?
		    "TTL expired" : NULL);
		(void)store_save(w->rec);
		vmi_stop(w->v);
		return;
	}
	ws_gone_cleanup(w);
	if (reaped)
		log_info("workspace %s: TTL expired; deleted", w->rec->id);
	if (rq != NULL) {
		cJSON *res = cJSON_CreateObject();

		rq->cancel = NULL;
		cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
		cJSON_AddBoolToObject(res, "deleted", 1);
		ctl_reply_ok(rq, res);
	}
	store_remove(w->rec);
	ws_free(w);
}

void
op_workspace_delete(struct request *rq, const cJSON *args)
{
	struct ws	*w;

	if ((w = ws_for(rq, args, REQ_DELETE)) == NULL)
		return;
	ws_delete(w, rq, 0);
}

/* ---- TTL ---- */

static void
sweep_tick(void *arg)
{
	struct record	*r, *next;
	const cJSON	*exp, *ttl;
	double		 now = (double)time(NULL), warn;
	struct ws	*w;

	for (r = LIST_FIRST(&records); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if (r->kind != REC_WORKSPACE)
			continue;
		exp = cJSON_GetObjectItem(r->doc, "expires_at");
		ttl = cJSON_GetObjectItem(r->doc, "ttl_seconds");
		if (!cJSON_IsNumber(exp) || (w = ws_of(r)) == NULL ||
		    w->op == WSOP_DELETE || w->cleaning)
			continue;
		/* Say so in the workspace's logs before it goes. */
		warn = cJSON_IsNumber(ttl) && ttl->valuedouble < 120 ?
		    ttl->valuedouble / 2 : 60;
		if (exp->valuedouble - now <= warn &&
		    cJSON_GetObjectItem(r->doc, "expiry_warned") == NULL) {
			cJSON_AddBoolToObject(r->doc, "expiry_warned", 1);
			ws_event(w, "expiring", "the TTL ends soon; the "
			    "workspace will be stopped and deleted");
		}
		if (exp->valuedouble > now)
			continue;
		ws_event(w, "expired", "TTL reached; stopping and deleting");
		ws_delete(w, NULL, 1);
	}
	sweep_timer = timer_add(SWEEP_INTERVAL_MS, sweep_tick, NULL);
}

void
workspace_sweeper_start(void)
{
	sweep_timer = timer_add(SWEEP_INTERVAL_MS, sweep_tick, NULL);
}
