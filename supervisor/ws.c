/*
 * Workspaces: the core.  A workspace is a record under workspaces/<id>/
 * and, while one runs, its VM (vmi) and its live context (struct ws).
 *
 *	creating --ready+seeded--> running --stop--> stopped --start--> running
 *	running|stopped|failed --reset--> resetting --> running
 *	any --delete--> (gone); a VM that dies unexpectedly: failed
 *
 * Which request may act in which state is the gate table below, nowhere
 * else; the control dispatcher applies it (ws_gate) before an op's handler
 * runs.  The record directory is flat: workspace.json, rootfs.ext4 (a
 * sparse or reflinked copy of the environment's rootfs), baseline.tar,
 * snapshot-<name>.tar, secret-<name> (0600), history.jsonl.
 *
 * The core knows no feature: shells and services are parts (struct
 * ws_part) that add themselves at start, for status and for the record's
 * removal; their jobs end on their own when the VM goes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "workspace.h"

#define PARTS_MAX	4

static LIST_HEAD(, ws)	wss = LIST_HEAD_INITIALIZER(wss);
static const struct ws_part *parts[PARTS_MAX];
static int		 nparts;

/*
 * The gate table: per state, per request kind, 0 (allowed) or the error.
 * A state missing here (a record from a newer pyrod) is busy throughout.
 */
#define B	PYRO_E_BUSY
#define R	PYRO_E_WORKSPACE_RUNNING
#define N	PYRO_E_WORKSPACE_NOT_RUNNING
static const enum pyro_err gates[ST__MAX][REQ__MAX] = {
	/*		  GUEST	START	STOP	RESET	DELETE	HOST	DISK */
	[ST_UNKNOWN] =	{ B,	B,	B,	B,	B,	B,	B },
	[ST_CREATED] =	{ B,	B,	B,	B,	B,	B,	B },
	[ST_CREATING] =	{ B,	B,	B,	B,	0,	0,	B },
	[ST_STARTING] =	{ B,	B,	B,	B,	0,	0,	B },
	[ST_RUNNING] =	{ 0,	R,	0,	0,	0,	0,	R },
	[ST_STOPPING] =	{ B,	B,	B,	B,	0,	0,	B },
	[ST_STOPPED] =	{ N,	0,	0,	0,	0,	0,	0 },
	[ST_RESETTING] = { B,	B,	B,	B,	0,	0,	B },
	[ST_FAILED] =	{ N,	0,	0,	0,	0,	0,	0 },
	/* Being deleted: still shown (status says "deleting"), not used. */
	[ST_DELETING] =	{ B,	B,	B,	B,	B,	0,	B },
};
#undef B
#undef R
#undef N

enum pyro_err
ws_gate_refusal(enum rec_st st, enum ws_req k)
{
	if ((unsigned)st >= ST__MAX || (unsigned)k >= REQ__MAX)
		return PYRO_E_BUSY;
	return gates[st][k];
}

void
ws_part_add(const struct ws_part *p)
{
	if (nparts < PARTS_MAX)
		parts[nparts++] = p;
}

const char *
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
	w->fork_state = -1;
	LIST_INIT(&w->shells);
	LIST_INIT(&w->services);
	LIST_INSERT_HEAD(&wss, w, entry);
	return w;
}

/* Forget the workspace: its record is gone. */
void
ws_free(struct ws *w)
{
	int	i;

	LIST_REMOVE(w, entry);
	if (w->seed_fd >= 0)
		close(w->seed_fd);
	if (w->fork_state >= 0)
		close(w->fork_state);
	for (i = 0; i < nparts; i++)
		parts[i]->free(w);
	ws_forget_secrets(w);
	free(w);
}

void
ws_event(struct ws *w, const char *event, const char *detail)
{
	rec_set_state(w->rec, rec_st(w->rec), event, detail);
	(void)store_save(w->rec);
}

int
ws_disk_clean(const struct ws *w)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(w->rec->doc, "disk_clean"));
}

/* ---- the gate ---- */

static void
refuse(struct request *rq, const struct ws *w, enum ws_req k,
    enum pyro_err e)
{
	const struct record	*r = w->rec;

	if (e == PYRO_E_WORKSPACE_RUNNING && k == REQ_DISK)
		ctl_reply_err(rq, e, "workspace %s is running; disk tools read "
		    "stopped disks only: stop it first (pyro workspace stop "
		    "%s)", r->id, r->id);
	else if (e == PYRO_E_WORKSPACE_NOT_RUNNING)
		ctl_reply_err(rq, e, "workspace %s is %s; start it first (pyro "
		    "workspace start %s)", r->id, rec_state(r), r->id);
	else if (e == PYRO_E_WORKSPACE_RUNNING)
		ctl_reply_err(rq, e, "workspace %s is already running", r->id);
	else
		ctl_reply_err(rq, PYRO_E_BUSY, "workspace %s is %s; try again "
		    "when that is done", r->id, rec_state(r));
}

struct ws *
ws_gate(struct request *rq, const cJSON *args, enum ws_req k)
{
	struct pyro_status	 st;
	struct record		*r;
	struct ws		*w;
	const char		*id;
	enum pyro_err		 e;

	if (arg_id(args, "workspace_id", &id, &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((r = store_find(REC_WORKSPACE, id)) == NULL ||
	    !rec_visible(r, rq->uid)) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "no workspace \"%s\"", id);
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
	e = ws_gate_refusal(rec_st(r), k);
	/* A cleanup or a lifecycle request in flight holds the rest off. */
	if (e == 0 && ((w->cleaning && k != REQ_HOST) || (k != REQ_HOST &&
	    k != REQ_GUEST && k != REQ_DELETE && w->op != WSOP_NONE)))
		e = PYRO_E_BUSY;
	/* A fork quiesces the guest: nothing new reaches it meanwhile. */
	if (e == 0 && w->forking && k != REQ_HOST)
		e = PYRO_E_BUSY;
	if (e != 0) {
		refuse(rq, w, k, e);
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

/* ---- the lifecycle request ---- */

static void
lc_cancel(struct request *rq)
{
	struct ws	*w = rq->ctx;

	/* The work goes on; only the reply has nobody to go to. */
	w->rq = NULL;
}

void
lc_attach(struct ws *w, struct request *rq, enum ws_op op)
{
	w->op = op;
	w->rq = rq;
	if (rq != NULL) {
		rq->ctx = w;
		rq->cancel = lc_cancel;
	}
}

void
lc_progress(struct ws *w, const char *phase)
{
	lc_progress_boot(w, phase, NULL, NULL);
}

/* A progress line; a boot's says how it starts, and why cold. */
void
lc_progress_boot(struct ws *w, const char *phase, const char *how,
    const char *why)
{
	cJSON	*ev;

	if (w->rq == NULL)
		return;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "phase", phase);
	cJSON_AddStringToObject(ev, "workspace_id", w->rec->id);
	if (how != NULL)
		cJSON_AddStringToObject(ev, "boot", how);
	if (why != NULL && why[0] != '\0')
		cJSON_AddStringToObject(ev, "reason", why);
	ctl_event(w->rq, "progress", ev);
}

void
ws_test_point(const struct ws *w, const char *step)
{
	static const char *const names[] = {
		[WSOP_CREATE] = "workspace.create",
		[WSOP_START] = "workspace.start",
		[WSOP_STOP] = "workspace.stop",
		[WSOP_RESET] = "workspace.reset",
		[WSOP_DELETE] = "workspace.delete",
	};

	(void)names;
	if ((size_t)w->op < sizeof(names) / sizeof(names[0]))
		test_point(names[w->op], step);
}

void
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

void
lc_reply_err(struct ws *w, const struct pyro_status *st)
{
	struct request	*rq = w->rq;

	w->rq = NULL;
	if (rq != NULL) {
		rq->cancel = NULL;
		ctl_reply_status(rq, st);
	}
}

/* ---- status ---- */

/* What status shows: the record without bookkeeping, plus live state. */
cJSON *
ws_status_json(struct ws *w)
{
	static const char *hidden[] = { "baseline_saved", "expiry_warned",
	    "started_at_epoch", "events", "reset_pending", NULL };
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
	for (i = 0; i < nparts; i++)
		parts[i]->status(w, o);
	net_info(cJSON_AddObjectToObject(o, "networking"), w->rec,
	    w->v != NULL ? vmi_net(w->v) : NULL, services_ports_json(w));
	/* The last lifecycle event, for a one-line "why". */
	evs = cJSON_GetObjectItem(w->rec->doc, "events");
	if ((n = cJSON_GetArraySize(evs)) > 0)
		cJSON_AddItemToObject(o, "last_event", cJSON_Duplicate(
		    cJSON_GetArrayItem(evs, n - 1), 1));
	return o;
}
