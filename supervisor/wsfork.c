/*
 * workspace.fork: a new workspace from a running one, running too, with
 * its memory and disk as the source's were at the fork.  The source's VM
 * helper quiesces its agent (FLUSH), stops the guest, saves it (QMP
 * migrate into the fork's state file), copies its disk into the fork's,
 * and continues it: the source loses a fraction of a second, nothing
 * else.  The fork then starts from that state (vmi_start_restore) with
 * its own id, TTL, history and copies of the source's secrets and
 * baseline; GP_RESUME reseeds its CRNG and sets its clock before anything
 * runs in it.
 *
 * Refused: a workspace that is not running (the gate), a host-compat or
 * Firecracker one, one with a network (its addresses live in the guest's
 * kernel), and one that is busy (a lifecycle request, a snapshot, a fork,
 * or any command, shell or service open: their output would be cut
 * mid-frame in the fork's copy of the agent's channel).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "path.h"
#include "workspace.h"

#define FORK_STATE	"fork.state"

struct fork_ctx {
	struct request	*rq;
	struct ws	*src;
	struct record	*dst;
	long long	 t0;
};

/* The record keys a fork takes from its source, as they are. */
static const char *const fork_keys[] = {
	"environment", "vcpu_count", "mem_mib", "ttl_seconds",
	"execution_mode", "network_policy", "workdir", "seed", "secrets",
	"baseline_saved", NULL
};

static void
fork_cancel(struct request *rq)
{
	struct fork_ctx	*c = rq->ctx;

	c->rq = NULL;
}

/* A small file of the source's record directory into the fork's. */
static int
copy_file(struct record *from, struct record *to, const char *name)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out, rc = 0;

	if ((in = store_openat(from, name, O_RDONLY, 0)) < 0)
		return in == -ENOENT ? 0 : in;
	if ((out = store_openat(to, name, O_WRONLY | O_CREAT | O_EXCL,
	    0600)) < 0) {
		close(in);
		return out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (pyro_write_all(out, buf, (size_t)n) < 0) {
			rc = -errno;
			break;
		}
	if (n < 0)
		rc = -errno;
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	close(in);
	close(out);
	return rc;
}

/* The fork's record: the source's settings, a new TTL, its files. */
static int
fork_record(struct ws *src, struct record *r, struct pyro_status *st)
{
	const cJSON	*it;
	char		 file[96];
	int		 i, rc;

	for (i = 0; fork_keys[i] != NULL; i++)
		if ((it = cJSON_GetObjectItem(src->rec->doc,
		    fork_keys[i])) != NULL)
			cJSON_AddItemToObject(r->doc, fork_keys[i],
			    cJSON_Duplicate(it, 1));
	it = cJSON_GetObjectItem(r->doc, "ttl_seconds");
	cJSON_AddNumberToObject(r->doc, "expires_at", (double)(time(NULL) +
	    (cJSON_IsNumber(it) ? (long long)it->valuedouble : 600)));
	cJSON_AddStringToObject(r->doc, "forked_from", src->rec->id);
	cJSON_AddItemToObject(r->doc, "snapshots", cJSON_CreateArray());
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r->doc, "secrets")) {
		if (!cJSON_IsString(it) || !pyro_name_valid(it->valuestring))
			continue;
		snprintf(file, sizeof(file), "secret-%s", it->valuestring);
		if ((rc = copy_file(src->rec, r, file)) < 0)
			return pyro_fail(st, PYRO_E_IO, "copying secret %s: %s",
			    it->valuestring, strerror(-rc));
	}
	if ((rc = copy_file(src->rec, r, "baseline.tar")) < 0)
		return pyro_fail(st, PYRO_E_IO, "copying the baseline: %s",
		    strerror(-rc));
	if (store_save(r) < 0)
		return pyro_fail(st, PYRO_E_IO, "cannot write the record");
	return 0;
}

static void
fork_fail(struct fork_ctx *c, const struct pyro_status *st)
{
	struct ws	*w;

	if (c->rq != NULL) {
		c->rq->cancel = NULL;
		ctl_reply_status(c->rq, st);
	}
	if (c->dst != NULL) {
		if ((w = ws_of(c->dst)) != NULL)
			ws_free(w);
		store_remove(c->dst);
	}
	free(c);
}

/* The source's helper answered: start the fork from what it saved. */
static void
fork_saved(struct vmi *v, const struct pyro_msg_vm_forked *f, void *arg)
{
	struct fork_ctx		*c = arg;
	struct pyro_status	 st;
	struct ws		*w;
	char			 detail[200];

	(void)v;
	c->src->forking = 0;
	if (f->err != 0) {
		pyro_fail(&st, f->err == -EBUSY ? PYRO_E_BUSY : PYRO_E_IO,
		    "forking workspace %s: %.150s", c->src->rec->id,
		    f->message);
		log_warnx("%s", st.message);
		fork_fail(c, &st);
		return;
	}
	log_info("workspace %s forked into %s: state %llu bytes, saved in %u "
	    "ms, disk copied in %u ms, source paused %u ms", c->src->rec->id,
	    c->dst->id, (unsigned long long)f->state_bytes, f->save_ms,
	    f->copy_ms, f->paused_ms);
	snprintf(detail, sizeof(detail), "into %s (paused %u ms)", c->dst->id,
	    f->paused_ms);
	ws_event(c->src, "forked", detail);
	cJSON_AddNumberToObject(c->dst->doc, "fork_paused_ms", f->paused_ms);
	w = ws_of(c->dst);		/* made, and held, at the fork's start */
	w->forking = 0;
	ws_event(w, "forked_from", c->src->rec->id);
	if ((w->fork_state = store_openat(c->dst, FORK_STATE, O_RDONLY,
	    0)) < 0) {
		pyro_fail(&st, PYRO_E_IO, "the fork's state is gone");
		ws_free(w);
		fork_fail(c, &st);
		return;
	}
	if (c->rq != NULL) {
		c->rq->cancel = NULL;
		lc_attach(w, c->rq, WSOP_CREATE);
	}
	if (ws_boot(w, &st) < 0) {
		lc_reply_err(w, &st);
		store_remove(c->dst);
		ws_free(w);
	}
	free(c);
}

void
op_workspace_fork(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w = rq->obj, *dw;
	struct fork_ctx		*c;
	const cJSON		*mem, *vc;
	cJSON			*ev;
	int			 disk = -1, state = -1, fresh;

	(void)args;
	if (rec_host_compat(w->rec)) {
		ctl_reply_err(rq, PYRO_E_NOT_GUEST_BACKED, "workspace %s runs on "
		    "the host (host-compat): it has no VM to fork", w->rec->id);
		return;
	}
	if (strcmp(rec_exec_mode(w->rec), "guest_serial") != 0 ||
	    net_wanted(w->rec)) {
		ctl_reply_err(rq, PYRO_E_UNSUPPORTED, "workspace %s cannot be "
		    "forked: forks are of QEMU guests without a network (this "
		    "one is %s, network policy %s)", w->rec->id,
		    rec_exec_mode(w->rec), cJSON_GetStringValue(
		    cJSON_GetObjectItem(w->rec->doc, "network_policy")) ?: "off");
		return;
	}
	if (w->op != WSOP_NONE || w->snapshotting || w->forking ||
	    vmi_busy(w->v)) {
		ctl_reply_err(rq, PYRO_E_BUSY, "workspace %s is busy (a command, "
		    "shell, service, snapshot or lifecycle request is open); "
		    "fork it when it is idle", w->rec->id);
		return;
	}
	mem = cJSON_GetObjectItem(w->rec->doc, "mem_mib");
	vc = cJSON_GetObjectItem(w->rec->doc, "vcpu_count");
	/* The fork is the source owner's, whoever asked (root may). */
	if (admit_vm(w->rec->owner, cJSON_IsNumber(mem) ?
	    (long long)mem->valuedouble : 1024, cJSON_IsNumber(vc) ?
	    (long long)vc->valuedouble : 1, ADMIT_NEW_WORKSPACE, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->dst = store_create(REC_WORKSPACE, w->rec->owner)) == NULL) {
		free(c);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	/*
	 * The new record is held like its source until the save is done:
	 * every request but status is busy, the TTL sweep passes it by.
	 */
	if ((dw = ws_of(c->dst)) == NULL) {
		pyro_fail(&st, PYRO_E_INTERNAL, "out of memory");
		fork_fail(c, &st);
		return;
	}
	dw->forking = 1;
	c->rq = rq;
	c->src = w;
	c->t0 = now_ms();
	if (fork_record(w, c->dst, &st) < 0) {
		fork_fail(c, &st);
		return;
	}
	if ((disk = store_open_disk(c->dst, &fresh)) < 0 ||
	    (state = store_openat(c->dst, FORK_STATE, O_RDWR | O_CREAT |
	    O_EXCL, 0600)) < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot make the fork's files: %s",
		    strerror(-(disk < 0 ? disk : state)));
		if (disk >= 0)
			close(disk);
		fork_fail(c, &st);
		return;
	}
	if (vmi_fork(w->v, disk, state, fork_saved, c) < 0) {
		close(disk);
		close(state);
		pyro_fail(&st, PYRO_E_HELPER_FAILED, "cannot reach the "
		    "workspace's VM helper");
		fork_fail(c, &st);
		return;
	}
	/* The helper holds them now. */
	close(disk);
	close(state);
	w->forking = 1;
	rq->ctx = c;
	rq->cancel = fork_cancel;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "phase", "fork");
	cJSON_AddStringToObject(ev, "workspace_id", c->dst->id);
	cJSON_AddStringToObject(ev, "source_workspace_id", w->rec->id);
	ctl_event(rq, "progress", ev);
}
