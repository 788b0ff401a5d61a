/*
 * Snapshots: named tree archives of /workspace (snapshot-NAME.tar in the
 * record's directory, written from the guest's tar through a masking
 * redactor), listed with the baseline, restored by `workspace reset`.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "guestsh.h"
#include "path.h"
#include "workspace.h"

#define SNAPSHOTS_MAX		64

struct snapctx {
	struct ws	*w;
	char		 name[65];
	char		 tmp[128];
	char		 file[96];
};

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

static void
snap_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct snapctx	*c = j->arg;
	struct ws	*w = c->w;
	struct request	*rq = j->rq;
	struct pyro_status	 st;
	struct stat	 sb;
	cJSON		*o, *arr;
	char		 ts[32];

	w->snapshotting = 0;
	st.code = PYRO_OK;
	if (x == NULL || x->exit_code != 0 || x->error != 0 ||
	    j->file_error != 0 || fsync(j->fd) < 0 || fstat(j->fd, &sb) < 0 ||
	    admit_snapshot_written(w->rec, (long long)sb.st_size, &st) < 0 ||
	    store_rename(w->rec, c->tmp, c->file) < 0) {
		(void)store_unlink(w->rec, c->tmp);
		if (rq != NULL) {
			rq->cancel = NULL;
			if (st.code != PYRO_OK)
				ctl_reply_status(rq, &st);
			else if (j->file_error != 0)
				ctl_reply_err(rq, PYRO_E_IO, "cannot write the "
				    "snapshot: %s", strerror(j->file_error));
			else
				job_reply_failed(rq, j, x, "snapshot");
		}
		free(c);
		job_free(j);
		return;
	}
	test_point("workspace.snapshot_create", "commit");
	iso_time(ts, sizeof(ts), time(NULL));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "created_at", ts);
	cJSON_AddNumberToObject(o, "size_bytes", (double)sb.st_size);
	if ((arr = cJSON_GetObjectItem(w->rec->doc, "snapshots")) == NULL)
		arr = cJSON_AddArrayToObject(w->rec->doc, "snapshots");
	cJSON_AddItemToArray(arr, o);
	/* Listed on disk before anyone is told: an unlisted archive is
	 * removed at pyrod's next start. */
	if (store_save(w->rec) < 0) {
		cJSON_DetachItemViaPointer(arr, o);
		cJSON_Delete(o);
		(void)store_unlink(w->rec, c->file);
		if (rq != NULL) {
			rq->cancel = NULL;
			ctl_reply_err(rq, PYRO_E_IO, "cannot record the "
			    "snapshot in the state directory; it was not kept");
		}
		free(c);
		job_free(j);
		return;
	}
	ws_event(w, "snapshot_created", c->name);
	if (rq != NULL) {
		cJSON *res = cJSON_Duplicate(o, 1);

		rq->cancel = NULL;
		cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
		ctl_reply_ok(rq, res);
	}
	free(c);
	job_free(j);
}

/* Room for one more snapshot named name?  0, or -1 after a refusal. */
static int
snap_room(struct request *rq, struct ws *w, const char *name)
{
	if (snap_find(w, name) != NULL) {
		ctl_reply_err(rq, PYRO_E_EXISTS, "workspace %s already has a "
		    "snapshot \"%s\"", w->rec->id, name);
		return -1;
	}
	if (w->snapshotting ||
	    cJSON_GetArraySize(cJSON_GetObjectItem(w->rec->doc,
	    "snapshots")) >= SNAPSHOTS_MAX) {
		ctl_reply_err(rq, w->snapshotting ? PYRO_E_BUSY :
		    PYRO_E_LIMIT_EXCEEDED, w->snapshotting ? "a snapshot of "
		    "this workspace is being taken" : "a workspace keeps at "
		    "most %d snapshots; delete one first", SNAPSHOTS_MAX);
		return -1;
	}
	return 0;
}

void
op_snapshot_create(struct request *rq, const cJSON *args)
{
	const char		*argv[8];
	struct pyro_status	 st;
	struct snapctx		*c;
	const char		*name;
	struct ws		*w = rq->obj;
	struct job		*j = NULL;
	int			 fd;

	if (snap_name(args, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (snap_room(rq, w, name) < 0)
		return;
	if (admit_snapshot(w->rec, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	c->w = w;
	pyro_strlcpy(c->name, name, sizeof(c->name));
	snprintf(c->file, sizeof(c->file), "snapshot-%s.tar", name);
	snprintf(c->tmp, sizeof(c->tmp), PYRO_TMP_PREFIX "%s", c->file);
	(void)store_unlink(w->rec, c->tmp);
	if ((fd = store_openat(w->rec, c->tmp, O_WRONLY | O_CREAT | O_EXCL,
	    0600)) < 0 || (j = ws_job(w, JOB_FILE, snap_done, c)) == NULL) {
		if (fd >= 0)
			close(fd);
		free(c);
		ctl_reply_err(rq, PYRO_E_IO, "cannot write the snapshot");
		return;
	}
	j->fd = fd;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = NULL;	/* a snapshot completes without its client */
	w->snapshotting = 1;
	(void)gs_argv(GS_ARCHIVE, argv, 8, NULL);
	if (job_start(j, w->v, &(struct job_cmd){ argv, 0, NULL, "/", 0,
	    WS_XFER_TIMEOUT_S, 0, 0 }, -1, &st) < 0) {
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

	w = rq->obj;
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
	const cJSON		*it2;
	char			 file[96];

	if (snap_name(args, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	w = rq->obj;
	if ((it = snap_find(w, name)) == NULL) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "snapshot \"%s\"", w->rec->id, name);
		return;
	}
	snprintf(file, sizeof(file), "snapshot-%s.tar", name);
	it2 = cJSON_GetObjectItem(w->rec->doc, "reset_pending");
	if (cJSON_IsString(it2) && strcmp(it2->valuestring, file) == 0) {
		ctl_reply_err(rq, PYRO_E_BUSY, "workspace %s has a reset to "
		    "snapshot \"%s\" that did not finish; start it (which "
		    "finishes the reset) before deleting the snapshot",
		    w->rec->id, name);
		return;
	}
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
