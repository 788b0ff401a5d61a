/*
 * VM operations.  A VM is a record (vms/<id>/vm.json, its disk next to it)
 * plus, while it runs, a vmi (vmi.c).  One-shot runs (`vm.run`) chain
 * create, start, exec and delete; the lifecycle ops expose the steps:
 *
 *	created --start--> starting --ready--> running --stop--> stopped
 *	   any --delete--> (gone);  running --exec--> (exec, then deleted)
 *	a VM whose helper or guest dies unexpectedly is "failed".
 *
 * Every VM has a TTL (default 600 s); pyrod deletes VMs past it by itself
 * every few seconds, and `vm.reap-expired` does it on demand.  One request
 * at a time may act on a VM; others get "busy".
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
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define RUN_TIMEOUT_MAX		86400
#define TTL_DEFAULT		600
#define TTL_MAX			(30 * 86400)
#define REAP_INTERVAL_MS	5000

/* What a live VM is doing for which request. */
enum vm_job {
	JOB_NONE,
	JOB_RUN,	/* one-shot: boot, exec, delete */
	JOB_START,
	JOB_EXEC,	/* then delete */
	JOB_STOP,
	JOB_DELETE,
	JOB_PING,
};

struct vmctx {
	struct record		*rec;
	struct vmi		*v;
	struct request		*rq;
	enum vm_job		 job;
	uint8_t			*exec;		/* gp_exec payload */
	size_t			 exec_len;
	uint32_t		 stream;
	int			 timeout_s;
	int			 have_exit;
	struct pyro_msg_exec_exit exit;
	uint32_t		 boot_ms;
	long long		 t0;
	int			 delete_after;
	int			 reaped;	/* TTL expiry, not a request */
	long long		 t0_us;
	struct timer		*exec_timer;	/* host-side exec deadline */
};


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

#define EXEC_GRACE_MS	10000

static void
ctx_free(struct vmctx *c)
{
	timer_cancel(c->exec_timer);
	free(c->exec);
	free(c);
}

/*
 * The agent kills a command at its timeout; this deadline, a little later,
 * is for a guest that does not: the command counts as timed out and the
 * VM is stopped (and deleted, as after any exec).
 */
static void
exec_deadline(void *arg)
{
	struct vmctx	*c = arg;

	c->exec_timer = NULL;
	if (c->have_exit || c->v == NULL)
		return;
	log_warnx("vm %s: the guest did not end its command in time",
	    c->rec->id);
	memset(&c->exit, 0, sizeof(c->exit));
	c->exit.stream = c->stream;
	c->exit.timed_out = 1;
	c->exit.exit_code = -1;
	c->have_exit = 1;
	c->delete_after = 1;
	vmi_stop(c->v);
}

static void
exec_started(struct vmctx *c)
{
	timer_cancel(c->exec_timer);
	c->exec_timer = timer_add((long long)c->timeout_s * 1000 +
	    EXEC_GRACE_MS, exec_deadline, c);
}

/* Reply to the pending request, if any is still there. */
static void
finish_ok(struct vmctx *c, cJSON *res)
{
	if (c->rq != NULL) {
		ctl_clear_drain(c->rq, c);
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
		ctl_clear_drain(c->rq, c);
		c->rq->cancel = NULL;
		ctl_reply_status(c->rq, st);
		c->rq = NULL;
	}
}

/* A VM as clients see it: the record, its id also as "vm_id". */
cJSON *
vm_json(const struct record *r)
{
	cJSON	*o = cJSON_Duplicate(r->doc, 1);

	cJSON_DeleteItemFromObjectCaseSensitive(o, "vm_id");
	cJSON_AddStringToObject(o, "vm_id", r->id);
	return o;
}

static cJSON *
exec_result(struct vmctx *c)
{
	cJSON	*res = cJSON_CreateObject(), *cleanup;

	cJSON_AddStringToObject(res, "vm_id", c->rec->id);
	cJSON_AddStringToObject(res, "environment", rec_env(c->rec));
	cJSON_AddStringToObject(res, "execution_mode", "guest_serial");
	cJSON_AddNumberToObject(res, "exit_code", c->exit.exit_code);
	if (c->exit.signal != 0)
		cJSON_AddNumberToObject(res, "signal", c->exit.signal);
	cJSON_AddNumberToObject(res, "duration_ms", (double)(now_ms() - c->t0));
	if (c->boot_ms)
		cJSON_AddNumberToObject(res, "boot_ms", c->boot_ms);
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

static void
vm_on_ready(struct vmi *v, uint32_t boot_ms, void *arg)
{
	struct vmctx	*c = arg;
	cJSON		*ev;

	c->boot_ms = boot_ms;
	rec_set_state(c->rec, "running", "started", NULL);
	(void)store_save(c->rec);
	ev = progress("start", c);
	cJSON_AddNumberToObject(ev, "boot_ms", boot_ms);
	emit(c, "progress", ev);
	if (c->job == JOB_START) {
		c->job = JOB_NONE;
		finish_ok(c, vm_json(c->rec));
		return;
	}
	if (c->job == JOB_RUN) {
		if ((c->stream = vmi_exec(v, c->exec, c->exec_len, -1)) == 0) {
			vmi_stop(v);
			return;
		}
		exec_started(c);
		emit(c, "progress", progress("execute", c));
	}
}

static void
output_resume(void *arg)
{
	struct vmctx	*c = arg;

	if (c->v != NULL)
		vmi_pause(c->v, 0);
}

/*
 * Output flows at the pace of the client: past CTL_OUTPUT_HIGH bytes queued
 * for it, pyrod stops reading this VM's helper, the helper stops reading
 * the guest channel, and the writing process in the guest blocks.
 */
static void
vm_on_output(struct vmi *v, uint32_t stream, int which, const uint8_t *data,
    size_t len, void *arg)
{
	struct vmctx	*c = arg;

	if (c->rq == NULL || stream != c->stream)
		return;
	if (ctl_event_data(c->rq, which == 1 ? "stdout" : "stderr", data,
	    len) > CTL_OUTPUT_HIGH && c->rq != NULL) {
		vmi_pause(v, 1);
		ctl_on_drain(c->rq, output_resume, c);
	}
}

static void
vm_on_exit(struct vmi *v, const struct pyro_msg_exec_exit *x, void *arg)
{
	struct vmctx	*c = arg;

	if (x->stream != c->stream || c->have_exit)
		return;
	timer_cancel(c->exec_timer);
	c->exec_timer = NULL;
	c->exit = *x;
	c->have_exit = 1;
	/* vm.exec and one-shot runs clean up after their one command. */
	c->delete_after = 1;
	rec_set_state(c->rec, "stopping", "stop", "after its command");
	(void)store_save(c->rec);
	vmi_stop(v);
}

static void
vm_on_gone(struct vmi *v, const struct pyro_status *err, int forced,
    void *arg)
{
	struct vmctx	*c = arg;
	enum vm_job	 job = c->job;

	c->v = NULL;
	if (c->delete_after || job == JOB_DELETE || job == JOB_RUN) {
		if (job == JOB_RUN || job == JOB_EXEC)
			finish_exec(c, err);
		else if (job == JOB_DELETE) {
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
	if (err != NULL && job != JOB_STOP) {
		rec_set_state(c->rec, "failed", "failed", err->message);
		(void)store_save(c->rec);
		finish_err(c, err);
	} else {
		rec_set_state(c->rec, "stopped", forced ? "killed" : "stopped",
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

	if (c->job != JOB_PING || seq != c->stream)
		return;
	c->job = JOB_NONE;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "vm_id", c->rec->id);
	cJSON_AddNumberToObject(res, "rtt_us", (double)(now_us() - c->t0_us));
	finish_ok(c, res);
}

static const struct vmi_ops vm_ops = {
	.on_ready = vm_on_ready,
	.on_output = vm_on_output,
	.on_exit = vm_on_exit,
	.on_pong = vm_on_pong,
	.on_gone = vm_on_gone,
};

/* A client that leaves: one-shot runs and execs still clean up. */
static void
vm_cancel(struct request *rq)
{
	struct vmctx	*c = rq->ctx;

	c->rq = NULL;
	if ((c->job == JOB_RUN || c->job == JOB_EXEC) && c->v != NULL) {
		c->delete_after = 1;
		vmi_stop(c->v);
	}
}

static void
attach(struct vmctx *c, struct request *rq, enum vm_job job)
{
	c->rq = rq;
	c->job = job;
	c->t0 = now_ms();
	rq->ctx = c;
	rq->cancel = vm_cancel;
}

/* The guest exec request: gp_exec, then cwd, argv (or one shell string). */
static int
build_exec(struct vmctx *c, const cJSON *args, struct pyro_status *st)
{
	struct gp_exec	 g;
	const cJSON	*argv, *it;
	const char	*command;
	long long	 timeout = 30;
	size_t		 len = sizeof(g) + sizeof(PYRO_GUEST_WORKDIR), n;
	uint8_t		*p;

	if (arg_string(args, "command", 0, PYRO_MSG_MAXPAYLOAD, &command,
	    st) < 0 || arg_int(args, "timeout_seconds", 0, 1,
	    RUN_TIMEOUT_MAX, &timeout, st) < 0)
		return -1;
	argv = cJSON_GetObjectItemCaseSensitive(args, "argv");
	if ((argv == NULL) == (command == NULL))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give exactly "
		    "one of \"argv\" (an array) and \"command\" (a string)");
	memset(&g, 0, sizeof(g));
	g.timeout_ms = (uint32_t)(timeout * 1000);
	if (command != NULL) {
		g.argc = 1;
		g.flags = GP_EXEC_SHELL;
		len += strlen(command) + 1;
	} else {
		if (!cJSON_IsArray(argv))
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "argument \"argv\" must be an array of strings");
		cJSON_ArrayForEach(it, argv) {
			if (!cJSON_IsString(it))
				return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
				    "argument \"argv\" must be an array of "
				    "strings");
			g.argc++;
			len += strlen(it->valuestring) + 1;
		}
		if (g.argc == 0 || g.argc > GP_ARGS_MAX)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "argument \"argv\" must hold 1 to %d strings",
			    GP_ARGS_MAX);
	}
	if (len + 4 > PYRO_MSG_MAXPAYLOAD)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "the command line "
		    "is longer than %d bytes", PYRO_MSG_MAXPAYLOAD - 64);
	if ((p = c->exec = malloc(len)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	memcpy(p, &g, sizeof(g));
	n = sizeof(g);
	memcpy(p + n, PYRO_GUEST_WORKDIR, sizeof(PYRO_GUEST_WORKDIR));
	n += sizeof(PYRO_GUEST_WORKDIR);
	if (command != NULL) {
		memcpy(p + n, command, strlen(command) + 1);
		n += strlen(command) + 1;
	} else
		cJSON_ArrayForEach(it, argv) {
			memcpy(p + n, it->valuestring,
			    strlen(it->valuestring) + 1);
			n += strlen(it->valuestring) + 1;
		}
	c->exec_len = n;
	c->timeout_s = (int)timeout;
	return 0;
}

/* Checks shared by create and run; fills a new record.  */
static struct record *
new_vm(struct request *rq, const cJSON *args, struct pyro_status *st)
{
	const char	*envname, *cache = NULL;
	long long	 vcpus = 1, mem = 1024, ttl = TTL_DEFAULT;
	int		 network = 0, host_compat = 0;
	struct env	 env;
	struct record	*r;

	if (arg_string(args, "environment", 1, 64, &envname, st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &vcpus, st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &mem, st) < 0 ||
	    arg_int(args, "ttl_seconds", 0, 1, TTL_MAX, &ttl, st) < 0 ||
	    arg_bool(args, "network", &network, st) < 0 ||
	    arg_bool(args, "allow_host_compat", &host_compat, st) < 0 ||
	    arg_string(args, "environment_cache_dir", 0, 4000, &cache,
	    st) < 0)
		return NULL;
	if (network) {
		pyro_fail(st, PYRO_E_UNSUPPORTED, "guest networking is not "
		    "available in this release; run without --network");
		return NULL;
	}
	/* Only root may point pyrod at another cache: it reads as root. */
	if (cache != NULL && rq->uid != 0) {
		pyro_fail(st, PYRO_E_PERMISSION_DENIED, "only root may choose "
		    "pyrod's environment cache");
		return NULL;
	}
	if (env_open(envname, cache, &env, st) < 0)
		return NULL;
	env_close(&env);
	if ((r = store_create(REC_VM, rq->uid)) == NULL) {
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
	cJSON_AddStringToObject(r->doc, "execution_mode", "guest_serial");
	cJSON_AddBoolToObject(r->doc, "network", 0);
	rec_set_state(r, "created", "created", NULL);
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
		rec_set_state(c->rec, "starting", "start", NULL);
		(void)store_save(c->rec);
		return 0;
	}
	disk = store_openat(c->rec, "rootfs.ext4", O_RDWR, 0);
	if (disk == -ENOENT) {
		disk = store_openat(c->rec, "rootfs.ext4", O_RDWR | O_CREAT |
		    O_EXCL, 0600);
		copy = 1;
	}
	if (disk < 0) {
		env_close(&env);
		return pyro_fail(st, PYRO_E_IO, "cannot open the VM's disk in "
		    "%s: %s", conf.state_dir, strerror(-disk));
	}
	if ((c->v = vmi_start(c->rec, &env, disk, copy, &vm_ops, c,
	    st)) == NULL)
		return -1;
	rec_set_state(c->rec, "starting", "start", NULL);
	(void)store_save(c->rec);
	return 0;
}

static struct record *
find_vm(struct request *rq, const cJSON *args, struct pyro_status *st)
{
	struct record	*r;
	const char	*id;

	if (arg_id(args, "vm_id", &id, st) < 0)
		return NULL;
	if ((r = store_find(REC_VM, id)) == NULL || !rec_visible(r, rq->uid)) {
		pyro_fail(st, PYRO_E_NOT_FOUND, "no VM \"%s\"", id);
		return NULL;
	}
	return r;
}

/* find_vm(), replying with the error itself when there is none. */
static struct record *
vm_or_reply(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct record		*r;

	if ((r = find_vm(rq, args, &st)) == NULL)
		ctl_reply_status(rq, &st);
	return r;
}

static struct vmctx *
ctx_of(struct record *r)
{
	struct vmi	*v = vmi_find(r);

	return v ? vmi_arg(v) : NULL;
}

/*
 * The VM named in args, running and with no request on it; otherwise
 * reply with the reason and return NULL.
 */
static struct vmctx *
idle_running(struct request *rq, const cJSON *args)
{
	struct record		*r;
	struct vmctx		*c;

	if ((r = vm_or_reply(rq, args)) == NULL)
		return NULL;
	c = ctx_of(r);
	if (c == NULL || vmi_state(c->v) != VMI_RUNNING) {
		ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "VM %s is not "
		    "running; start it first (pyro vm start %s)", r->id, r->id);
		return NULL;
	}
	if (c->job != JOB_NONE) {
		ctl_reply_err(rq, PYRO_E_BUSY, "VM %s is busy", r->id);
		return NULL;
	}
	return c;
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
	if (build_exec(c, args, &st) < 0 ||
	    (c->rec = new_vm(rq, args, &st)) == NULL)
		goto fail;
	cJSON_AddBoolToObject(c->rec->doc, "one_shot", 1);
	/*
	 * The TTL sweep must not reap a one-shot VM while its command may
	 * still run: it lives at least for boot, the command and the stop.
	 */
	{
		const cJSON	*exp = cJSON_GetObjectItem(c->rec->doc,
				    "expires_at");
		double		 need = (double)time(NULL) +
				    conf.boot_timeout_s + c->timeout_s + 60;

		if (cJSON_IsNumber(exp) && exp->valuedouble < need)
			cJSON_SetNumberValue(cJSON_GetObjectItem(c->rec->doc,
			    "expires_at"), need);
	}
	if (store_save(c->rec) < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot write the VM's record");
		goto fail;
	}
	ev = progress("create", c);
	cJSON_AddStringToObject(ev, "environment", rec_env(c->rec));
	ctl_event(rq, "progress", ev);
	attach(c, rq, JOB_RUN);
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
	struct record		*r;
	struct vmctx		*c;

	if ((r = vm_or_reply(rq, args)) == NULL)
		return;
	if (vmi_find(r) != NULL) {
		ctl_reply_err(rq, PYRO_E_BUSY, "VM %s is already running or "
		    "busy", r->id);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	c->rec = r;
	attach(c, rq, JOB_START);
	if (boot(c, 0, &st) < 0) {
		rq->cancel = NULL;
		ctl_reply_status(rq, &st);
		ctx_free(c);
	}
}

void
op_vm_exec(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct vmctx		*c;

	if ((c = idle_running(rq, args)) == NULL)
		return;
	free(c->exec);
	c->exec = NULL;
	if (build_exec(c, args, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	attach(c, rq, JOB_EXEC);
	if ((c->stream = vmi_exec(c->v, c->exec, c->exec_len, -1)) == 0) {
		rq->cancel = NULL;
		c->rq = NULL;
		c->job = JOB_NONE;
		ctl_reply_err(rq, PYRO_E_HELPER_FAILED, "cannot send the "
		    "command to VM %s", c->rec->id);
		return;
	}
	exec_started(c);
	emit(c, "progress", progress("execute", c));
}

/* A no-op round trip to the guest agent through pyrod and the helper. */
void
op_vm_ping(struct request *rq, const cJSON *args)
{
	struct vmctx		*c;

	if ((c = idle_running(rq, args)) == NULL)
		return;
	attach(c, rq, JOB_PING);
	rq->cancel = NULL;
	c->stream++;
	c->t0_us = now_us();
	if (vmi_ping(c->v, c->stream) < 0) {
		c->job = JOB_NONE;
		c->rq = NULL;
		ctl_reply_err(rq, PYRO_E_HELPER_FAILED, "cannot reach VM %s",
		    c->rec->id);
	}
}

void
op_vm_stop(struct request *rq, const cJSON *args)
{
	struct record		*r;
	struct vmctx		*c;

	if ((r = vm_or_reply(rq, args)) == NULL)
		return;
	if ((c = ctx_of(r)) == NULL) {
		ctl_reply_ok(rq, vm_json(r));	/* stopped */
		return;
	}
	if (c->job != JOB_NONE) {
		ctl_reply_err(rq, PYRO_E_BUSY, "VM %s is busy", r->id);
		return;
	}
	attach(c, rq, JOB_STOP);
	rq->cancel = NULL;	/* a stop completes even if the client left */
	rec_set_state(r, "stopping", "stop", NULL);
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
	c->job = JOB_DELETE;
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
	struct record		*r;

	if ((r = vm_or_reply(rq, args)) == NULL)
		return;
	delete_vm(r, rq, 0);
}

void
op_vm_network_info(struct request *rq, const cJSON *args)
{
	struct record		*r;
	cJSON			*res;

	if ((r = vm_or_reply(rq, args)) == NULL)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "vm_id", r->id);
	cJSON_AddBoolToObject(res, "network", 0);
	cJSON_AddArrayToObject(res, "interfaces");
	cJSON_AddStringToObject(res, "note", "guest networking is not "
	    "available in this release: the VM has no network device");
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
		if ((c = ctx_of(r)) != NULL && c->job == JOB_DELETE)
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
