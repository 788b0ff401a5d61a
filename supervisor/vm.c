/*
 * VM operations.  A VM is a record (vms/<id>/vm.json, its disk next to it)
 * plus, while it runs, a vmi (vmi.c).  One-shot runs (`vm.run`) chain
 * create, start, exec and delete; the lifecycle ops expose the steps:
 *
 *	created --start--> starting --ready--> running --stop--> stopped
 *	   any --delete--> (gone);  running --exec--> (exec, then deleted)
 *	a VM whose helper or guest dies unexpectedly is "failed".
 *
 * Which request may act in which state is the gate table below; the
 * control dispatcher applies it (vm_gate) before an op's handler runs.
 * One request at a time may act on a live VM; others get "busy".  The
 * command of a run or an exec is a job (job.c), so its output, the
 * client's pace and the host's deadline are the job's.  Every VM has a
 * TTL (default 600 s); pyrod deletes VMs past it by itself every few
 * seconds, and `vm.reap-expired` does it on demand.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestproto.h"
#include "job.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define RUN_TIMEOUT_MAX		86400
#define TTL_DEFAULT		600
#define TTL_MAX			(30 * 86400)
#define REAP_INTERVAL_MS	5000

/* What a live VM is doing for which request. */
enum vm_op {
	VMOP_NONE,
	VMOP_RUN,	/* one-shot: boot, exec, delete */
	VMOP_START,
	VMOP_EXEC,	/* then delete */
	VMOP_STOP,
	VMOP_DELETE,
	VMOP_PING,
};

struct vmctx {
	struct record		*rec;
	struct vmi		*v;
	struct request		*rq;
	enum vm_op		 op;
	cJSON			*args;		/* the run's or exec's */
	struct cmdline		 cmd;		/* points into args */
	int			 timeout_s;
	struct job		*job;		/* the command, while it runs */
	int			 have_exit;
	struct pyro_msg_exec_exit exit;
	uint32_t		 boot_ms;
	const char		*boot;		/* "restored" or "cold" */
	long long		 t0;
	int			 delete_after;
	int			 reaped;	/* TTL expiry, not a request */
	uint32_t		 seq;		/* pings */
	long long		 t0_us;
};

/*
 * The gate table: per state, per request kind, 0 (allowed) or the error.
 * EXEC also needs the VM's helper running; all but HOST need no other
 * request on it.
 */
#define B	PYRO_E_BUSY
#define NR	PYRO_E_VM_NOT_RUNNING
static const enum pyro_err gates[ST__MAX][VMREQ__MAX] = {
	/*		  EXEC	START	STOP	HOST */
	[ST_UNKNOWN] =	{ B,	B,	B,	0 },
	[ST_CREATED] =	{ NR,	0,	0,	0 },
	[ST_CREATING] =	{ B,	B,	B,	0 },
	[ST_STARTING] =	{ B,	B,	B,	0 },
	[ST_RUNNING] =	{ 0,	B,	0,	0 },
	[ST_STOPPING] =	{ B,	B,	B,	0 },
	[ST_STOPPED] =	{ NR,	0,	0,	0 },
	[ST_RESETTING] = { B,	B,	B,	0 },
	[ST_FAILED] =	{ NR,	0,	0,	0 },
	[ST_DELETING] =	{ B,	B,	B,	0 },
};
#undef B
#undef NR

static struct timer	*reap_timer;

static cJSON *
progress(const char *phase, const struct vmctx *c)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "phase", phase);
	cJSON_AddStringToObject(o, "vm_id", c->rec->id);
	return o;
}

static void
emit(struct vmctx *c, const char *kind, cJSON *ev)
{
	if (c->rq != NULL)
		ctl_event(c->rq, kind, ev);
	else
		cJSON_Delete(ev);
}

static const char *
rec_env(const struct record *r)
{
	const cJSON	*e = cJSON_GetObjectItem(r->doc, "environment");

	return cJSON_IsString(e) ? e->valuestring : "";
}

static void
ctx_free(struct vmctx *c)
{
	if (c->job != NULL) {
		c->job->arg = NULL;
		job_detach(c->job);
	}
	cmdline_free(&c->cmd);
	cJSON_Delete(c->args);
	free(c);
}

/* A VM as clients see it: the record, its id also as "vm_id". */
cJSON *
vm_json(const struct record *r)
{
	cJSON		*o = cJSON_Duplicate(r->doc, 1);
	struct vmi	*v = vmi_find(r);

	cJSON_DeleteItemFromObjectCaseSensitive(o, "vm_id");
	cJSON_AddStringToObject(o, "vm_id", r->id);
	net_info(cJSON_AddObjectToObject(o, "networking"), r,
	    v != NULL ? vmi_net(v) : NULL, NULL);
	return o;
}

/* Reply to the pending request, if any is still there. */
static void
finish_ok(struct vmctx *c, cJSON *res)
{
	if (c->rq != NULL) {
		c->rq->cancel = NULL;
		ctl_reply_ok(c->rq, res);
		c->rq = NULL;
	} else
		cJSON_Delete(res);
}

static void
finish_err(struct vmctx *c, const struct pyro_status *st)
{
	if (c->rq != NULL) {
		c->rq->cancel = NULL;
		ctl_reply_status(c->rq, st);
		c->rq = NULL;
	}
}

static cJSON *
exec_result(struct vmctx *c)
{
	cJSON	*res = cJSON_CreateObject(), *cleanup;

	cJSON_AddStringToObject(res, "vm_id", c->rec->id);
	cJSON_AddStringToObject(res, "environment", rec_env(c->rec));
	cJSON_AddStringToObject(res, "execution_mode", rec_exec_mode(c->rec));
	cJSON_AddNumberToObject(res, "exit_code", c->exit.exit_code);
	if (c->exit.signal != 0)
		cJSON_AddNumberToObject(res, "signal", c->exit.signal);
	cJSON_AddNumberToObject(res, "duration_ms", (double)(now_ms() - c->t0));
	if (c->boot_ms)
		cJSON_AddNumberToObject(res, "boot_ms", c->boot_ms);
	if (c->boot != NULL)
		cJSON_AddStringToObject(res, "boot", c->boot);
	cleanup = cJSON_AddObjectToObject(res, "cleanup");
	cJSON_AddBoolToObject(cleanup, "deleted", 1);
	cJSON_AddStringToObject(cleanup, "reason", "post_exec_cleanup");
	cJSON_AddStringToObject(cleanup, "vm_id", c->rec->id);
	return res;
}

/* The exec's outcome as a reply, given the VM is gone (deleted). */
static void
finish_exec(struct vmctx *c, const struct pyro_status *gone_err)
{
	struct pyro_status	st;

	if (!c->have_exit) {
		if (gone_err != NULL)
			finish_err(c, gone_err);
		else {
			pyro_fail(&st, PYRO_E_INTERNAL, "the VM stopped "
			    "without a result");
			finish_err(c, &st);
		}
	} else if (c->exit.timed_out) {
		pyro_fail(&st, PYRO_E_TIMEOUT, "the command ran longer than "
		    "%d s and was killed; the VM was deleted", c->timeout_s);
		finish_err(c, &st);
	} else if (c->exit.error != 0) {
		pyro_fail(&st, PYRO_E_INVALID_ARGUMENT, "the command could not "
		    "start in the guest: %s", strerror(c->exit.error));
		finish_err(c, &st);
	} else
		finish_ok(c, exec_result(c));
}

/* ---- the command ---- */

/* The command ended (or the VM went first): vm.exec and runs clean up. */
static void
exec_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct vmctx	*c = j->arg;

	job_free(j);
	if (c == NULL)
		return;
	c->job = NULL;
	if (x == NULL || c->have_exit)
		return;			/* on_gone reports it */
	c->exit = *x;
	c->have_exit = 1;
	c->delete_after = 1;
	if (c->v == NULL)
		return;
	rec_set_state(c->rec, ST_STOPPING, "stop", "after its command");
	(void)store_save(c->rec);
	vmi_stop(c->v);
}

/* Start the command on the running VM; output streams to c->rq. */
static int
exec_start(struct vmctx *c, struct pyro_status *st)
{
	struct job	*j;

	if ((j = job_new(JOB_CLIENT, NULL, exec_done, c)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	j->rq = c->rq;
	if (job_start(j, c->v, &(struct job_cmd){ c->cmd.argv, c->cmd.shell,
	    NULL, PYRO_GUEST_WORKDIR, 0, c->timeout_s, 0, 0 }, -1, st) < 0)
		return -1;
	c->job = j;
	emit(c, "progress", progress("execute", c));
	return 0;
}

/* The command of a run or an exec, from the request. */
static int
exec_args(struct vmctx *c, const cJSON *args, struct pyro_status *st)
{
	long long	timeout = 30;

	if ((c->args = cJSON_Duplicate(args, 1)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	if (arg_command(c->args, &c->cmd, st) < 0 ||
	    arg_int(args, "timeout_seconds", 0, 1, RUN_TIMEOUT_MAX, &timeout,
	    st) < 0)
		return -1;
	c->timeout_s = (int)timeout;
	return 0;
}

/* ---- the VM's events ---- */

static void
vm_on_ready(struct vmi *v, uint32_t boot_ms, void *arg)
{
	struct vmctx		*c = arg;
	struct pyro_status	 st;
	cJSON			*ev;

	c->boot_ms = boot_ms;
	c->boot = vmi_boot(v);
	cJSON_DeleteItemFromObject(c->rec->doc, "boot");
	cJSON_AddStringToObject(c->rec->doc, "boot", c->boot);
	rec_set_state(c->rec, ST_RUNNING, "started", NULL);
	(void)store_save(c->rec);
	ev = progress("start", c);
	cJSON_AddNumberToObject(ev, "boot_ms", boot_ms);
	emit(c, "progress", ev);
	if (c->op == VMOP_START) {
		c->op = VMOP_NONE;
		finish_ok(c, vm_json(c->rec));
		return;
	}
	if (c->op == VMOP_RUN && exec_start(c, &st) < 0)
		vmi_stop(v);
}

static void
vm_on_boot(struct vmi *v, const char *how, const char *why, void *arg)
{
	struct vmctx	*c = arg;
	cJSON		*ev = progress("boot", c);

	(void)v;
	cJSON_AddStringToObject(ev, "boot", how);
	if (why != NULL && why[0] != '\0')
		cJSON_AddStringToObject(ev, "reason", why);
	emit(c, "progress", ev);
}

static void
vm_on_gone(struct vmi *v, const struct pyro_status *err, int forced,
    void *arg)
{
	struct vmctx	*c = arg;
	enum vm_op	 op = c->op;

	(void)v;
	c->v = NULL;
	if (c->delete_after || op == VMOP_DELETE || op == VMOP_RUN) {
		if (op == VMOP_RUN || op == VMOP_EXEC)
			finish_exec(c, err);
		else if (op == VMOP_DELETE) {
			cJSON *res = cJSON_CreateObject();

			cJSON_AddStringToObject(res, "vm_id", c->rec->id);
			cJSON_AddBoolToObject(res, "deleted", 1);
			finish_ok(c, res);
		}
		if (c->reaped)
			log_info("vm %s: TTL expired; deleted", c->rec->id);
		store_remove(c->rec);
		ctx_free(c);
		return;
	}
	if (err != NULL && op != VMOP_STOP) {
		rec_set_state(c->rec, ST_FAILED, "failed", err->message);
		(void)store_save(c->rec);
		finish_err(c, err);
	} else {
		rec_set_state(c->rec, ST_STOPPED, forced ? "killed" : "stopped",
		    forced ? "forced after the guest did not power off" : NULL);
		(void)store_save(c->rec);
		finish_ok(c, vm_json(c->rec));
	}
	ctx_free(c);
}

static void
vm_on_pong(struct vmi *v, uint32_t seq, void *arg)
{
	struct vmctx	*c = arg;
	cJSON		*res;

	(void)v;
	if (c->op != VMOP_PING || seq != c->seq)
		return;
	c->op = VMOP_NONE;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "vm_id", c->rec->id);
	cJSON_AddNumberToObject(res, "rtt_us", (double)(now_us() - c->t0_us));
	finish_ok(c, res);
}

static const struct vmi_ops vm_ops = {
	.on_ready = vm_on_ready,
	.on_boot = vm_on_boot,
	.on_pong = vm_on_pong,
	.on_gone = vm_on_gone,
};

/* A client that leaves: one-shot runs and execs still clean up. */
static void
vm_cancel(struct request *rq)
{
	struct vmctx	*c = rq->ctx;

	c->rq = NULL;
	if (c->job != NULL)
		job_detach(c->job);
	if ((c->op == VMOP_RUN || c->op == VMOP_EXEC) && c->v != NULL) {
		c->delete_after = 1;
		vmi_stop(c->v);
	}
}

static void
attach(struct vmctx *c, struct request *rq, enum vm_op op)
{
	c->rq = rq;
	c->op = op;
	c->t0 = now_ms();
	rq->ctx = c;
	rq->cancel = vm_cancel;
}

/* ---- records and boots ---- */

/* Checks shared by create and run; fills a new record.  */
static struct record *
new_vm(struct request *rq, const cJSON *args, struct pyro_status *st)
{
	const char	*envname, *cache = NULL;
	long long	 vcpus = 1, mem = 1024, ttl = TTL_DEFAULT;
	int		 network = 0, host_compat = 0;
	struct env	 env;
	struct record	*r;
	cJSON		*rules;

	if (arg_string(args, "environment", 1, 64, &envname, st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &vcpus, st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &mem, st) < 0 ||
	    arg_int(args, "ttl_seconds", 0, 1, TTL_MAX, &ttl, st) < 0 ||
	    arg_bool(args, "network", &network, st) < 0 ||
	    arg_bool(args, "allow_host_compat", &host_compat, st) < 0 ||
	    arg_string(args, "environment_cache_dir", 0, 4000, &cache,
	    st) < 0)
		return NULL;
	/* Egress rules are checked before anything else is looked at. */
	rules = cJSON_CreateObject();
	if (net_rules_arg(args, rules, network, st) < 0) {
		cJSON_Delete(rules);
		return NULL;
	}
	/* Only root may point pyrod at another cache: it reads as root. */
	if (cache != NULL && rq->uid != 0) {
		cJSON_Delete(rules);
		pyro_fail(st, PYRO_E_PERMISSION_DENIED, "only root may choose "
		    "pyrod's environment cache");
		return NULL;
	}
	if ((host_compat = host_compat_pick(host_compat, network, st)) < 0 ||
	    env_open(envname, cache, &env, st) < 0) {
		cJSON_Delete(rules);
		return NULL;
	}
	env_close(&env);
	if ((r = store_create(REC_VM, rq->uid)) == NULL) {
		cJSON_Delete(rules);
		pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
		return NULL;
	}
	cJSON_AddStringToObject(r->doc, "environment", envname);
	if (cache != NULL)
		cJSON_AddStringToObject(r->doc, "environment_cache_dir", cache);
	cJSON_AddNumberToObject(r->doc, "vcpu_count", (double)vcpus);
	cJSON_AddNumberToObject(r->doc, "mem_mib", (double)mem);
	cJSON_AddNumberToObject(r->doc, "ttl_seconds", (double)ttl);
	cJSON_AddNumberToObject(r->doc, "expires_at",
	    (double)(time(NULL) + ttl));
	cJSON_AddStringToObject(r->doc, "execution_mode",
	    host_exec_mode(host_compat));
	cJSON_AddBoolToObject(r->doc, "network", network);
	if (cJSON_GetObjectItem(rules, "allow_egress") != NULL)
		cJSON_AddItemToObject(r->doc, "allow_egress",
		    cJSON_DetachItemFromObject(rules, "allow_egress"));
	cJSON_Delete(rules);
	rec_set_state(r, ST_CREATED, "created", NULL);
	return r;
}

/*
 * Boot the record's VM: a fresh disk the first time, the same one after.
 * One-shot runs (snapshot) get no disk of their own: QEMU writes to a
 * throwaway overlay over the environment's read-only image.
 */
static int
boot(struct vmctx *c, int snapshot, struct pyro_status *st)
{
	const cJSON	*cache = cJSON_GetObjectItem(c->rec->doc,
			    "environment_cache_dir");
	struct env	 env;
	int		 disk, copy = 0;

	if (env_open(rec_env(c->rec), cJSON_IsString(cache) ?
	    cache->valuestring : NULL, &env, st) < 0)
		return -1;
	if (snapshot) {
		if ((c->v = vmi_start(c->rec, &env, -1, 0, &vm_ops, c,
		    st)) == NULL)
			return -1;
		rec_set_state(c->rec, ST_STARTING, "start", NULL);
		(void)store_save(c->rec);
		return 0;
	}
	if ((disk = store_open_disk(c->rec, &copy)) < 0) {
		env_close(&env);
		return pyro_fail(st, PYRO_E_IO, "cannot open the VM's disk in "
		    "%s: %s", conf.state_dir, strerror(-disk));
	}
	if ((c->v = vmi_start(c->rec, &env, disk, copy, &vm_ops, c,
	    st)) == NULL)
		return -1;
	rec_set_state(c->rec, ST_STARTING, "start", NULL);
	(void)store_save(c->rec);
	return 0;
}

/* ---- the gate ---- */

enum pyro_err
vm_gate_refusal(enum rec_st st, enum vm_req k)
{
	if ((unsigned)st >= ST__MAX || (unsigned)k >= VMREQ__MAX)
		return PYRO_E_BUSY;
	return gates[st][k];
}

static struct vmctx *
ctx_of(struct record *r)
{
	struct vmi	*v = vmi_find(r);

	return v ? vmi_arg(v) : NULL;
}

struct record *
vm_gate(struct request *rq, const cJSON *args, enum vm_req k)
{
	struct pyro_status	 st;
	struct record		*r;
	struct vmctx		*c;
	const char		*id;
	enum pyro_err		 e;

	if (arg_id(args, "vm_id", &id, &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((r = store_find(REC_VM, id)) == NULL || !rec_visible(r, rq->uid)) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "no VM \"%s\"", id);
		return NULL;
	}
	c = ctx_of(r);
	e = vm_gate_refusal(rec_st(r), k);
	if (e == 0 && k == VMREQ_EXEC && (c == NULL ||
	    vmi_state(c->v) != VMI_RUNNING))
		e = PYRO_E_VM_NOT_RUNNING;
	if (e == 0 && k != VMREQ_HOST && c != NULL && c->op != VMOP_NONE)
		e = PYRO_E_BUSY;
	if (e == PYRO_E_VM_NOT_RUNNING)
		ctl_reply_err(rq, e, "VM %s is not running; start it first "
		    "(pyro vm start %s)", r->id, r->id);
	else if (e != 0 && k == VMREQ_START)
		ctl_reply_err(rq, e, "VM %s is already running or busy",
		    r->id);
	else if (e != 0)
		ctl_reply_err(rq, e, "VM %s is busy", r->id);
	return e == 0 ? r : NULL;
}

/* ---- ops ---- */

void
op_vm_list(struct request *rq, const cJSON *args)
{
	(void)args;
	ctl_reply_ok(rq, store_list_json(REC_VM, rq->uid, "vms"));
}

void
op_vm_status(struct request *rq, const cJSON *args)
{
	(void)args;
	ctl_reply_ok(rq, vm_json(rq->obj));
}

/* The TTL sweep must not reap a one-shot VM while its command may still
 * run: it lives at least for boot, the command and the stop. */
static void
run_ttl(struct vmctx *c)
{
	cJSON	*exp = cJSON_GetObjectItem(c->rec->doc, "expires_at");
	double	 need = (double)time(NULL) + conf.boot_timeout_s +
		    c->timeout_s + 60;

	if (cJSON_IsNumber(exp) && exp->valuedouble < need)
		cJSON_SetNumberValue(exp, need);
}

void
op_vm_run(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct vmctx		*c;
	cJSON			*ev;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	if (exec_args(c, args, &st) < 0 || (c->rec = new_vm(rq, args,
	    &st)) == NULL || admit_record(c->rec, &st) < 0)
		goto fail;
	cJSON_AddBoolToObject(c->rec->doc, "one_shot", 1);
	run_ttl(c);
	if (store_save(c->rec) < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot write the VM's record");
		goto fail;
	}
	ev = progress("create", c);
	cJSON_AddStringToObject(ev, "environment", rec_env(c->rec));
	ctl_event(rq, "progress", ev);
	attach(c, rq, VMOP_RUN);
	if (boot(c, 1, &st) < 0) {
		rq->cancel = NULL;
		c->rq = NULL;
		goto fail;
	}
	return;
fail:
	if (c->rec != NULL)
		store_remove(c->rec);
	ctl_reply_status(rq, &st);
	ctx_free(c);
}

void
op_vm_create(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct record		*r;

	if ((r = new_vm(rq, args, &st)) == NULL) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (store_save(r) < 0) {
		store_remove(r);
		ctl_reply_err(rq, PYRO_E_IO, "cannot write the VM's record");
		return;
	}
	ctl_reply_ok(rq, vm_json(r));
}

void
op_vm_start(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct vmctx		*c;

	(void)args;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	c->rec = rq->obj;
	attach(c, rq, VMOP_START);
	if (admit_record(c->rec, &st) < 0 || boot(c, 0, &st) < 0) {
		rq->cancel = NULL;
		ctl_reply_status(rq, &st);
		ctx_free(c);
	}
}

void
op_vm_exec(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct vmctx		*c = ctx_of(rq->obj);

	cmdline_free(&c->cmd);
	cJSON_Delete(c->args);
	c->args = NULL;
	if (exec_args(c, args, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	attach(c, rq, VMOP_EXEC);
	if (exec_start(c, &st) < 0) {
		rq->cancel = NULL;
		c->rq = NULL;
		c->op = VMOP_NONE;
		ctl_reply_err(rq, PYRO_E_HELPER_FAILED, "cannot send the "
		    "command to VM %s", c->rec->id);
	}
}

/* A no-op round trip to the guest agent through pyrod and the helper. */
void
op_vm_ping(struct request *rq, const cJSON *args)
{
	struct vmctx	*c = ctx_of(rq->obj);

	(void)args;
	attach(c, rq, VMOP_PING);
	rq->cancel = NULL;
	c->seq++;
	c->t0_us = now_us();
	if (vmi_ping(c->v, c->seq) < 0) {
		c->op = VMOP_NONE;
		c->rq = NULL;
		ctl_reply_err(rq, PYRO_E_HELPER_FAILED, "cannot reach VM %s",
		    c->rec->id);
	}
}

void
op_vm_stop(struct request *rq, const cJSON *args)
{
	struct record	*r = rq->obj;
	struct vmctx	*c = ctx_of(r);

	(void)args;
	if (c == NULL) {
		ctl_reply_ok(rq, vm_json(r));	/* stopped */
		return;
	}
	attach(c, rq, VMOP_STOP);
	rq->cancel = NULL;	/* a stop completes even if the client left */
	rec_set_state(r, ST_STOPPING, "stop", NULL);
	(void)store_save(r);
	vmi_stop(c->v);
}

static void
delete_vm(struct record *r, struct request *rq, int reaped)
{
	struct vmctx	*c = ctx_of(r);

	if (c == NULL) {
		if (rq != NULL) {
			cJSON *res = cJSON_CreateObject();

			cJSON_AddStringToObject(res, "vm_id", r->id);
			cJSON_AddBoolToObject(res, "deleted", 1);
			ctl_reply_ok(rq, res);
		}
		if (reaped)
			log_info("vm %s: TTL expired; deleted", r->id);
		store_remove(r);
		return;
	}
	/* A request in flight loses its VM; it gets an error reply. */
	if (c->rq != NULL) {
		struct pyro_status st;

		pyro_fail(&st, PYRO_E_NOT_FOUND, "VM %s was deleted", r->id);
		finish_err(c, &st);
	}
	c->op = VMOP_DELETE;
	c->reaped = reaped;
	if (rq != NULL) {
		c->rq = rq;
		rq->ctx = c;
		rq->cancel = NULL;
	}
	vmi_stop(c->v);
}

void
op_vm_delete(struct request *rq, const cJSON *args)
{
	(void)args;
	delete_vm(rq->obj, rq, 0);
}

void
op_vm_network_info(struct request *rq, const cJSON *args)
{
	struct record		*r = rq->obj;
	cJSON			*res;

	(void)args;
	struct vmi		*v = vmi_find(r);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "vm_id", r->id);
	cJSON_AddBoolToObject(res, "network", net_wanted(r));
	net_info(cJSON_AddObjectToObject(res, "networking"), r,
	    v != NULL ? vmi_net(v) : NULL, NULL);
	ctl_reply_ok(rq, res);
}

/* Delete every visible VM past its TTL; returns their ids. */
static cJSON *
reap(uid_t uid)
{
	struct record	*r, *next;
	const cJSON	*exp;
	cJSON		*ids = cJSON_CreateArray();
	double		 now = (double)time(NULL);

	for (r = LIST_FIRST(&records); r != NULL; r = next) {
		struct vmctx *c;

		next = LIST_NEXT(r, entry);
		if (r->kind != REC_VM || !rec_visible(r, uid))
			continue;
		exp = cJSON_GetObjectItem(r->doc, "expires_at");
		if (!cJSON_IsNumber(exp) || exp->valuedouble > now)
			continue;
		if ((c = ctx_of(r)) != NULL && c->op == VMOP_DELETE)
			continue;	/* already going */
		cJSON_AddItemToArray(ids, cJSON_CreateString(r->id));
		delete_vm(r, NULL, 1);
	}
	return ids;
}

void
op_vm_reap_expired(struct request *rq, const cJSON *args)
{
	cJSON	*res = cJSON_CreateObject();

	cJSON_AddItemToObject(res, "deleted", reap(rq->uid));
	ctl_reply_ok(rq, res);
}

static void
reap_tick(void *arg)
{
	cJSON	*ids = reap(0);

	cJSON_Delete(ids);
	reap_timer = timer_add(REAP_INTERVAL_MS, reap_tick, NULL);
}

void
vm_reaper_start(void)
{
	reap_timer = timer_add(REAP_INTERVAL_MS, reap_tick, NULL);
}
