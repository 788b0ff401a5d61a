/*
 * Workspace lifecycle requests: create, start, stop, reset, delete, and
 * the TTL sweep.  Each one is the workspace's lifecycle request (one at a
 * time, ws.c's gate) and finishes in wsboot.c: when the boot steps are
 * done, or when the VM is gone.  The dispatcher has already checked the
 * gate: rq->obj is the workspace.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "workspace.h"

#define TTL_DEFAULT		600
#define TTL_MAX			(30 * 86400)
#define SWEEP_INTERVAL_MS	5000

static struct timer	*sweep_timer;

/* ---- create ---- */

struct create_args {
	const char	*env, *policy, *seed_kind;
	long long	 vcpus, mem, ttl;
	int		 host_compat, seeded;
};

static int
create_args(struct request *rq, const cJSON *args, struct create_args *a,
    struct pyro_status *st)
{
	struct env	env;

	memset(a, 0, sizeof(*a));
	a->vcpus = 1;
	a->mem = 1024;
	a->ttl = TTL_DEFAULT;
	if (arg_string(args, "environment", 1, 64, &a->env, st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &a->vcpus, st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &a->mem, st) < 0 ||
	    arg_int(args, "ttl_seconds", 0, 1, TTL_MAX, &a->ttl, st) < 0 ||
	    arg_bool(args, "allow_host_compat", &a->host_compat, st) < 0 ||
	    arg_bool(args, "seed", &a->seeded, st) < 0 ||
	    arg_string(args, "seed_kind", 0, 32, &a->seed_kind, st) < 0 ||
	    arg_string(args, "network_policy", 0, 32, &a->policy, st) < 0)
		return -1;
	if (a->policy == NULL)
		a->policy = "off";
	if (strcmp(a->policy, "off") != 0 && strcmp(a->policy, "egress") != 0 &&
	    strcmp(a->policy, "egress+published-ports") != 0)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "network policy "
		    "is off, egress or egress+published-ports; got \"%.32s\"",
		    a->policy);
	if (a->seeded != (rq->fd >= 0))
		return pyro_fail(st, PYRO_E_BAD_REQUEST, "\"seed\": true comes "
		    "with the seed archive's fd, and only then");
	if ((a->host_compat = host_compat_pick(a->host_compat,
	    strcmp(a->policy, "off") != 0, st)) < 0)
		return -1;
	if (env_open(a->env, NULL, &env, st) < 0)
		return -1;
	env_close(&env);
	return 0;
}

static void
create_record(struct record *r, const struct create_args *a)
{
	cJSON_AddStringToObject(r->doc, "environment", a->env);
	cJSON_AddNumberToObject(r->doc, "vcpu_count", (double)a->vcpus);
	cJSON_AddNumberToObject(r->doc, "mem_mib", (double)a->mem);
	cJSON_AddNumberToObject(r->doc, "ttl_seconds", (double)a->ttl);
	cJSON_AddNumberToObject(r->doc, "expires_at",
	    (double)(time(NULL) + a->ttl));
	cJSON_AddStringToObject(r->doc, "execution_mode",
	    host_exec_mode(a->host_compat));
	cJSON_AddStringToObject(r->doc, "network_policy", a->policy);
	cJSON_AddStringToObject(r->doc, "workdir", PYRO_GUEST_WORKDIR);
	cJSON_AddStringToObject(r->doc, "seed", a->seeded ? (a->seed_kind ?
	    a->seed_kind : "archive") : "none");
	cJSON_AddItemToObject(r->doc, "snapshots", cJSON_CreateArray());
}

void
op_workspace_create(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct create_args	 a;
	struct record		*r;
	struct ws		*w;

	if (create_args(rq, args, &a, &st) < 0 ||
	    admit_vm(rq->uid, a.mem, a.vcpus, ADMIT_NEW_WORKSPACE, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((r = store_create(REC_WORKSPACE, rq->uid)) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	create_record(r, &a);
	st.code = PYRO_OK;
	if (net_rules_arg(args, r->doc, net_wanted(r), &st) < 0 ||
	    ws_save_secrets(r, cJSON_GetObjectItemCaseSensitive(args,
	    "secrets"), &st) < 0 || store_save(r) < 0) {
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

/* A boot that could not begin: the workspace failed. */
static void
boot_refused(struct ws *w, const struct pyro_status *st)
{
	rec_set_state(w->rec, ST_FAILED, "failed", st->message);
	(void)store_save(w->rec);
	lc_reply_err(w, st);
	w->op = WSOP_NONE;
}

/*
 * A reset that did not finish (its VM, helper or pyrod died between the
 * old disk's end and the archive's restore): the disk may be the old one,
 * a new one without /workspace, or half restored.  A start finishes the
 * reset instead of booting that disk.
 */
static int
resume_reset(struct ws *w, struct pyro_status *st)
{
	const cJSON	*p = cJSON_GetObjectItem(w->rec->doc, "reset_pending");
	int		 fd;

	if (!cJSON_IsString(p))
		return 0;
	if (p->valuestring[0] == '.' || strchr(p->valuestring, '/') != NULL ||
	    strlen(p->valuestring) >= sizeof(w->restore))
		return pyro_fail(st, PYRO_E_INTERNAL, "workspace %s: a bad "
		    "unfinished reset in its record", w->rec->id);
	/* The archive first: the disk goes only if it can be restored. */
	if ((fd = store_openat(w->rec, p->valuestring, O_RDONLY, 0)) < 0)
		return pyro_fail(st, PYRO_E_NOT_FOUND, "workspace %s: the "
		    "archive its unfinished reset restores (%s) is gone; "
		    "reset it to another snapshot", w->rec->id,
		    p->valuestring);
	close(fd);
	pyro_strlcpy(w->restore, p->valuestring, sizeof(w->restore));
	(void)store_unlink(w->rec, "rootfs.ext4");
	ws_event(w, "reset_resumed", "the last reset did not finish; this "
	    "start finishes it");
	return 0;
}

void
op_workspace_start(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w = rq->obj;

	(void)args;
	if (admit_record(w->rec, &st) < 0 || resume_reset(w, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	lc_attach(w, rq, WSOP_START);
	rec_set_state(w->rec, ST_STARTING, "start", NULL);
	(void)store_save(w->rec);
	if (ws_boot(w, &st) < 0)
		boot_refused(w, &st);
}

void
op_workspace_stop(struct request *rq, const cJSON *args)
{
	struct ws	*w = rq->obj;

	(void)args;
	if (w->v == NULL) {		/* stopped or failed already */
		if (ws_disk_clean(w) || cJSON_GetObjectItem(w->rec->doc,
		    "disk_clean") == NULL) {
			ctl_reply_ok(rq, ws_status_json(w));
			return;
		}
		/* Stopped by a crash or a shutdown: clean it up now. */
		lc_attach(w, rq, WSOP_STOP);
		rq->cancel = NULL;
		ws_stop_clean(w);
		return;
	}
	lc_attach(w, rq, WSOP_STOP);
	rq->cancel = NULL;	/* a stop completes without its client */
	rec_set_state(w->rec, ST_STOPPING, "stop", NULL);
	(void)store_save(w->rec);
	lc_progress(w, "stop");
	ws_test_point(w, "halt");
	vmi_stop(w->v);
}

void
op_workspace_reset(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	const char		*snap = NULL;
	struct ws		*w = rq->obj;
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
	/* A running workspace keeps what it holds across the reboot. */
	if (w->v == NULL && admit_record(w->rec, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	pyro_strlcpy(w->restore, file, sizeof(w->restore));
	lc_attach(w, rq, WSOP_RESET);
	rec_set_state(w->rec, ST_RESETTING, "reset", snap ? snap : "baseline");
	/* Until the archive is in, a start finishes the reset (below). */
	cJSON_DeleteItemFromObject(w->rec->doc, "reset_pending");
	cJSON_AddStringToObject(w->rec->doc, "reset_pending", file);
	(void)store_save(w->rec);
	lc_progress(w, "reset");
	if (w->v != NULL) {
		w->reboot = 1;
		ws_test_point(w, "halt");
		vmi_stop(w->v);		/* on_gone boots the new disk */
		return;
	}
	(void)store_unlink(w->rec, "rootfs.ext4");
	if (ws_boot(w, &st) < 0)
		boot_refused(w, &st);
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
		rec_set_state(w->rec, ST_DELETING, "delete", reaped ?
		    "TTL expired" : NULL);
		(void)store_save(w->rec);
		ws_test_point(w, "halt");
		vmi_stop(w->v);		/* on_gone finishes the delete */
		return;
	}
	/* Said on disk first: a crash mid-removal is finished at start. */
	rec_set_state(w->rec, ST_DELETING, "delete", reaped ? "TTL expired" :
	    NULL);
	(void)store_save(w->rec);
	ws_deleted(w);
}

void
op_workspace_delete(struct request *rq, const cJSON *args)
{
	(void)args;
	ws_delete(rq->obj, rq, 0);
}

/* ---- TTL ---- */

static void
sweep_tick(void *arg)
{
	struct record	*r, *next;
	const cJSON	*exp, *ttl;
	double		 now = (double)time(NULL), warn;
	struct ws	*w;

	(void)arg;
	for (r = LIST_FIRST(&records); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if (r->kind != REC_WORKSPACE)
			continue;
		exp = cJSON_GetObjectItem(r->doc, "expires_at");
		ttl = cJSON_GetObjectItem(r->doc, "ttl_seconds");
		if (!cJSON_IsNumber(exp) || (w = ws_of(r)) == NULL ||
		    w->op == WSOP_DELETE || w->cleaning || w->forking)
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
