/*
 * A workspace's VM: booting it, the boot steps, its end, and the disk's
 * cleanup after a stop.
 *
 * Every boot runs the same steps once the agent says hello (the table
 * `steps` below, in order; a step may run once per item): make the
 * runtime directories, install each secret, then for a create the seed
 * and the baseline, for a reset the chosen archive.  A create that fails
 * at any step leaves nothing: the VM is stopped and the record removed.
 *
 * When the VM goes (ws_on_gone), its jobs have already ended (vmi.c ends
 * every stream first), so shells and services are finished by their own
 * callbacks; this file only moves the lifecycle on.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "diskreq.h"
#include "guestsh.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define STEP_TIMEOUT_S		3600

static void	boot_next(struct ws *);
static void	clean_continue(struct ws *, const struct pyro_status *);

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
	if (fc_jail_remove(w->rec->id) > 0)
		snprintf(removed + strlen(removed), sizeof(removed) -
		    strlen(removed), "%sfirecracker-jail", removed[0] ? " " : "");
	if (removed[0] != '\0')
		ws_event(w, "stale_removed", removed);
}

static const struct vmi_ops ws_vmi_ops;

int
ws_boot(struct ws *w, struct pyro_status *st)
{
	struct env	 env;
	int		 disk, copy = 0;

	remove_stale(w);
	if (env_open(ws_env_name(w->rec), NULL, &env, st) < 0)
		return -1;
	if ((disk = store_open_disk(w->rec, &copy)) < 0) {
		env_close(&env);
		return pyro_fail(st, PYRO_E_IO, "cannot open the workspace's "
		    "disk in %s: %s", conf.state_dir, strerror(-disk));
	}
	w->step = w->sub = 0;
	/* From the first boot on, the disk holds a run's state. */
	cJSON_DeleteItemFromObject(w->rec->doc, "disk_clean");
	cJSON_AddFalseToObject(w->rec->doc, "disk_clean");
	(void)store_save(w->rec);
	if (w->fork_state >= 0) {
		/* A fork's first boot: the state its source saved. */
		int state = w->fork_state;

		w->fork_state = -1;
		w->v = vmi_start_restore(w->rec, &env, disk, state,
		    &ws_vmi_ops, w, st);
	} else
		w->v = vmi_start(w->rec, &env, disk, copy, &ws_vmi_ops, w, st);
	if (w->v == NULL)
		return -1;
	ws_test_point(w, "boot");
	return 0;
}

/* ---- the boot steps ---- */

/* A step failed: answer, and a create leaves nothing (on_gone). */
static void
boot_failed(struct ws *w, const struct pyro_status *st)
{
	lc_reply_err(w, st);
	if (w->op != WSOP_CREATE) {
		rec_set_state(w->rec, ST_FAILED, "failed", st->message);
		(void)store_save(w->rec);
	}
	if (w->v != NULL)
		vmi_stop(w->v);
}

static void
step_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct ws		*w = j->arg;
	struct pyro_status	 st;
	char			*err;
	enum pyro_err		 why;

	if (x == NULL) {	/* the VM went away: on_gone reports it */
		job_free(j);
		return;
	}
	if (x->exit_code != 0 || x->error != 0 || x->timed_out ||
	    j->file_error != 0) {
		err = job_err_text(j, 200);
		why = gs_refusal(x->exit_code);
		if (why == PYRO_E_INVALID_PATH && err != NULL)
			pyro_fail(&st, why, "%s", err);
		else
			pyro_fail(&st, x->timed_out ? PYRO_E_TIMEOUT :
			    PYRO_E_IO, "a workspace boot step failed (%s): "
			    "%s", w->what, err ? err :
			    j->file_error ? strerror(j->file_error) :
			    "no message");
		free(err);
		job_free(j);
		boot_failed(w, &st);
		return;
	}
	if (j->sink == JOB_FILE && (fsync(j->fd) < 0 || store_rename(w->rec,
	    PYRO_TMP_PREFIX "baseline.tar", "baseline.tar") < 0)) {
		pyro_fail(&st, PYRO_E_IO, "cannot save the baseline");
		job_free(j);
		boot_failed(w, &st);
		return;
	}
	job_free(j);
	w->sub++;
	boot_next(w);
}

/*
 * Run one step's script in the guest: stdin from in_fd, stdout to out_fd
 * (the baseline), or -1.  Returns 1 (started; step_done follows) or -1.
 */
static int
step_run(struct ws *w, const char *what, enum gs_script s,
    const char *const *args, int in_fd, int out_fd)
{
	struct pyro_status	 st;
	struct job		*j;
	const char		*argv[8];
	struct job_cmd		 c = { argv, 0, NULL, "/", 0, STEP_TIMEOUT_S,
				    0, 0 };

	if (gs_argv(s, argv, 8, args) < 0 ||
	    (j = ws_job(w, out_fd >= 0 ? JOB_FILE : JOB_BUFFER, step_done,
	    w)) == NULL) {
		if (out_fd >= 0)
			close(out_fd);
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		boot_failed(w, &st);
		return -1;
	}
	j->err.max = 4096;
	j->out.max = 4096;
	j->fd = out_fd;
	w->what = what;
	lc_progress(w, what);
	if (job_start(j, w->v, &c, in_fd, &st) < 0) {
		boot_failed(w, &st);
		return -1;
	}
	ws_test_point(w, what);
	return 1;
}

/* Each step: 1 started a command, 0 nothing (more) to do, -1 failed. */
static int
step_setup(struct ws *w, int i)
{
	return i > 0 ? 0 : step_run(w, "setup", GS_SETUP, NULL, -1, -1);
}

static int
step_secret(struct ws *w, int i)
{
	const cJSON		*it = cJSON_GetArrayItem(cJSON_GetObjectItem(
				    w->rec->doc, "secrets"), i);
	const char		*args[2] = { NULL, NULL };
	struct pyro_status	 st;
	char			 file[96];
	int			 fd, rc;

	if (it == NULL)
		return 0;
	args[0] = cJSON_IsString(it) ? it->valuestring : "";
	snprintf(file, sizeof(file), "secret-%s", args[0]);
	if (!pyro_name_valid(args[0]) || (fd = store_openat(w->rec, file,
	    O_RDONLY, 0)) < 0) {
		pyro_fail(&st, PYRO_E_IO, "secret \"%s\" is missing from the "
		    "state directory", args[0]);
		boot_failed(w, &st);
		return -1;
	}
	rc = step_run(w, "secrets", GS_SECRET, args, fd, -1);
	close(fd);
	return rc;
}

/* A create's seed or a reset's archive, into /workspace. */
static int
step_restore(struct ws *w, int i)
{
	const char		*args[] = { PYRO_GUEST_WORKDIR, NULL };
	struct pyro_status	 st;
	int			 fd, rc;

	if (i > 0)
		return 0;
	if (w->seed_fd >= 0) {
		rc = step_run(w, "seed", GS_EXTRACT, args, w->seed_fd, -1);
		close(w->seed_fd);
		w->seed_fd = -1;
		return rc;
	}
	if (w->restore[0] == '\0')
		return 0;
	if ((fd = store_openat(w->rec, w->restore, O_RDONLY, 0)) < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot open %s: %s", w->restore,
		    strerror(-fd));
		boot_failed(w, &st);
		return -1;
	}
	w->restore[0] = '\0';
	rc = step_run(w, "restore", GS_EXTRACT, args, fd, -1);
	close(fd);
	return rc;
}

/* A create keeps /workspace as it is now: the baseline. */
static int
step_baseline(struct ws *w, int i)
{
	struct pyro_status	st;
	int			fd;

	if (i > 0 || w->op != WSOP_CREATE || cJSON_GetObjectItem(w->rec->doc,
	    "baseline_saved") != NULL)
		return 0;
	(void)store_unlink(w->rec, PYRO_TMP_PREFIX "baseline.tar");
	fd = store_openat(w->rec, PYRO_TMP_PREFIX "baseline.tar",
	    O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot write the baseline: %s",
		    strerror(-fd));
		boot_failed(w, &st);
		return -1;
	}
	cJSON_AddBoolToObject(w->rec->doc, "baseline_saved", 1);
	return step_run(w, "baseline", GS_ARCHIVE, NULL, -1, fd);
}

static int	(*const steps[])(struct ws *, int) = {
	step_setup, step_secret, step_restore, step_baseline
};

/* Run the next step; after the last one the workspace is running. */
static void
boot_next(struct ws *w)
{
	int	rc;

	while ((size_t)w->step < sizeof(steps) / sizeof(steps[0])) {
		if ((rc = steps[w->step](w, w->sub)) != 0)
			return;		/* started (1) or failed (-1) */
		w->step++;
		w->sub = 0;
	}
	rec_set_state(w->rec, ST_RUNNING, w->op == WSOP_CREATE ? "created" :
	    w->op == WSOP_RESET ? "reset" : "started", NULL);
	cJSON_DeleteItemFromObject(w->rec->doc, "reset_pending");
	(void)store_save(w->rec);
	lc_reply_ok(w);
}

static void
ws_on_boot(struct vmi *v, const char *how, const char *why, void *arg)
{
	(void)v;
	lc_progress_boot(arg, "boot", how, why);
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
	cJSON_DeleteItemFromObject(w->rec->doc, "boot");
	cJSON_AddStringToObject(w->rec->doc, "boot", vmi_boot(v));
	/* A fork's state is read once, by its first start. */
	(void)store_unlink(w->rec, "fork.state");
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
	w->step = w->sub = 0;
	boot_next(w);
}

/* ---- the end of a VM ---- */

void
ws_deleted(struct ws *w)
{
	struct request	*rq = w->rq;
	cJSON		*res;
	char		 id[17];

	pyro_strlcpy(id, w->rec->id, sizeof(id));
	ws_test_point(w, "remove");
	if (w->reaped)
		log_info("workspace %s: TTL expired; deleted", id);
	store_remove(w->rec);
	ws_free(w);
	if (rq != NULL) {
		rq->cancel = NULL;
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "workspace_id", id);
		cJSON_AddBoolToObject(res, "deleted", 1);
		ctl_reply_ok(rq, res);
	}
}

/* pyrod is going down: the workspace is stopped, the request refused. */
static void
gone_at_shutdown(struct ws *w, const struct pyro_status *err, int forced)
{
	struct pyro_status	st;

	rec_set_state(w->rec, ST_STOPPED, "stopped", forced ? "pyrod shut "
	    "down; the guest did not power off and was killed" : "pyrod shut "
	    "down; the guest was powered off");
	(void)store_save(w->rec);
	if (err == NULL)
		pyro_fail(&st, PYRO_E_DAEMON_UNAVAILABLE, "pyrod is shutting "
		    "down");
	lc_reply_err(w, err ? err : &st);
	w->op = WSOP_NONE;
}

/* The VM went when nobody asked (or a start or reset did not finish). */
static void
gone_failed(struct ws *w, const struct pyro_status *err, enum ws_op op)
{
	struct pyro_status	st;

	if (err == NULL)
		pyro_fail(&st, PYRO_E_INTERNAL, op == WSOP_NONE ? "the "
		    "workspace's VM stopped" : "the workspace's VM stopped "
		    "before the %s finished", op == WSOP_RESET ? "reset" :
		    "start");
	rec_set_state(w->rec, ST_FAILED, "failed", err ? err->message :
	    st.message);
	(void)store_save(w->rec);
	lc_reply_err(w, err ? err : &st);
	w->op = WSOP_NONE;
}

/* 1 when the lifecycle request took the VM's end over. */
static int
gone_for_op(struct ws *w, const struct pyro_status **err, int forced,
    struct pyro_status *st)
{
	switch (w->op) {
	case WSOP_DELETE:
		ws_deleted(w);
		return 1;
	case WSOP_CREATE:
		/* Nothing of a failed create stays behind. */
		if (*err == NULL)
			pyro_fail(st, PYRO_E_GUEST_BOOT_FAILED, "the "
			    "workspace's VM stopped before it was ready");
		lc_reply_err(w, *err ? *err : st);
		store_remove(w->rec);
		ws_free(w);
		return 1;
	case WSOP_RESET:
		if (*err != NULL || !w->reboot || vmi_shutting_down())
			return 0;
		/* Stopped for the reset: a new disk, then boot. */
		w->reboot = 0;
		(void)store_unlink(w->rec, "rootfs.ext4");
		if (ws_boot(w, st) == 0)
			return 1;
		*err = st;
		return 0;
	case WSOP_STOP:
		if ((*err != NULL && !forced) || vmi_shutting_down())
			return 0;
		rec_set_state(w->rec, ST_STOPPING, forced ? "killed" :
		    "powered_off", forced ? "forced: the guest did not power "
		    "off in time" : NULL);
		(void)store_save(w->rec);
		ws_stop_clean(w);
		return 1;
	default:
		return 0;
	}
}

static void
ws_on_gone(struct vmi *v, const struct pyro_status *err, int forced,
    void *arg)
{
	struct ws		*w = arg;
	struct pyro_status	 st;
	enum ws_op		 op = w->op;

	(void)v;
	w->v = NULL;
	cJSON_DeleteItemFromObject(w->rec->doc, "started_at_epoch");
	if (w->cleaning && !vmi_shutting_down()) {
		clean_continue(w, err);
		return;
	}
	if (gone_for_op(w, &err, forced, &st))
		return;
	if (vmi_shutting_down())
		gone_at_shutdown(w, err, forced);
	else
		gone_failed(w, err, op);
}

static const struct vmi_ops ws_vmi_ops = {
	.on_ready = ws_on_ready,
	.on_boot = ws_on_boot,
	.on_gone = ws_on_gone,
};

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
	rec_set_state(w->rec, ST_STOPPED, err == NULL ? "stopped" :
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

	w->clean_done = done;
	w->clean_arg = arg;
	w->cleaning = 1;
	w->recovery_boots = 0;
	w->scrubbed = 0;
	rec_set_state(w->rec, ST_STOPPING, "scrub", NULL);
	(void)store_save(w->rec);
	lc_progress(w, "scrub");
	if (dreq_start(w->rec, DISK_SCRUB, NULL, 0, 0, -1, &scrub_ops, w,
	    &st) == NULL)
		clean_finish(w, &st);
	else
		ws_test_point(w, "scrub");
}

/* A stop's cleanup ended: answer the stop (the scrub's outcome is in the
 * status and the logs). */
static void
stop_cleaned(struct ws *w, const struct pyro_status *err, void *arg)
{
	(void)err;
	(void)arg;
	lc_reply_ok(w);
}

void
ws_stop_clean(struct ws *w)
{
	ws_clean(w, stop_cleaned, NULL);
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
