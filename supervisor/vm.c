/*
 * One-shot runs (`pyro run`, op "vm.run"): create a VM record, give a fresh
 * pyro-vmhelper the environment's files and a new disk, wait for the guest,
 * run one command with its output streamed to the client as events, stop
 * the VM and delete everything: record, disk, helper, QEMU.  Every path
 * (success, failure, timeout, a helper that dies, a client that leaves)
 * ends in run_finish(), which replies at most once and cleans up.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/base64.h>

#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define BOOT_TIMEOUT_MS		60000
#define STOP_GRACE_MS		30000
#define RUN_TIMEOUT_MAX		86400

enum run_phase {
	RUN_BOOT,
	RUN_EXEC,
	RUN_STOP,
	RUN_DONE,
};

struct run {
	struct request		*rq;
	struct record		*rec;
	struct helper		*h;
	struct env		 env;
	int			 disk;
	enum run_phase		 phase;
	long long		 t0;
	uint32_t		 boot_ms;
	uint8_t			*exec_msg;
	size_t			 exec_len;
	int			 have_exit;
	struct pyro_msg_exec_exit exit;
	int			 failed;
	struct pyro_status	 err;
	int			 timeout_s;
	struct timer		*timer;
};

static void	run_stop_vm(struct run *);

static cJSON *
progress(const char *phase)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "phase", phase);
	return o;
}

static void
run_fail(struct run *r, enum pyro_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
run_fail(struct run *r, enum pyro_err code, const char *fmt, ...)
{
	va_list	ap;

	if (r->failed)
		return;
	r->failed = 1;
	r->err.code = code;
	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
}

static void
run_free(struct run *r)
{
	timer_cancel(r->timer);
	env_close(&r->env);
	if (r->disk >= 0)
		close(r->disk);
	free(r->exec_msg);
	free(r);
}

/* The helper is gone: reply (if anyone listens) and delete everything. */
static void
run_finish(struct run *r)
{
	cJSON	*res;

	r->phase = RUN_DONE;
	if (r->rec != NULL) {
		store_remove(r->rec);
		r->rec = NULL;
	}
	if (r->rq != NULL) {
		r->rq->cancel = NULL;
		if (r->failed)
			ctl_reply_status(r->rq, &r->err);
		else if (!r->have_exit)
			ctl_reply_err(r->rq, PYRO_E_INTERNAL,
			    "the VM stopped without a result");
		else if (r->exit.timed_out)
			ctl_reply_err(r->rq, PYRO_E_TIMEOUT, "the command ran "
			    "longer than %d s and was killed; the VM was "
			    "deleted", r->timeout_s);
		else if (r->exit.error != 0)
			ctl_reply_err(r->rq, PYRO_E_INVALID_ARGUMENT,
			    "the command could not start in the guest: %s",
			    strerror(r->exit.error));
		else {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "environment",
			    r->env.name);
			cJSON_AddStringToObject(res, "execution_mode",
			    "guest_serial");
			cJSON_AddNumberToObject(res, "exit_code",
			    r->exit.exit_code);
			if (r->exit.signal != 0)
				cJSON_AddNumberToObject(res, "signal",
				    r->exit.signal);
			cJSON_AddNumberToObject(res, "duration_ms",
			    (double)(now_ms() - r->t0));
			cJSON_AddNumberToObject(res, "boot_ms", r->boot_ms);
			cJSON_AddStringToObject(res, "cleanup", "deleted");
			ctl_reply_ok(r->rq, res);
		}
		r->rq = NULL;
	}
	run_free(r);
}

static void
run_timeout(void *arg)
{
	struct run	*r = arg;

	r->timer = NULL;
	run_fail(r, PYRO_E_TIMEOUT, "the VM did not finish in time; it was "
	    "killed and deleted");
	if (r->h != NULL)
		helper_kill(r->h, "run deadline passed");
}

static void
run_stop_vm(struct run *r)
{
	if (r->phase >= RUN_STOP || r->h == NULL)
		return;
	r->phase = RUN_STOP;
	if (r->rec != NULL) {
		rec_set_state(r->rec, "stopping", "stop", NULL);
		(void)store_save(r->rec);
	}
	if (helper_send(r->h, PYRO_MSG_VM_STOP, NULL, 0, -1) < 0)
		helper_kill(r->h, "cannot ask it to stop");
	timer_cancel(r->timer);
	r->timer = timer_add(STOP_GRACE_MS, run_timeout, r);
}

static void
run_cancel(struct request *rq)
{
	struct run	*r = rq->ctx;

	/* The client left (Ctrl-C): nobody gets a reply; the VM goes. */
	r->rq = NULL;
	run_fail(r, PYRO_E_INTERNAL, "cancelled");
	run_stop_vm(r);
}

static void
send_output(struct run *r, const struct pyro_msg *m)
{
	struct pyro_msg_output		 o;
	struct base64_encode_ctx	 b64;
	size_t				 n = m->hdr.len - sizeof(o), k;
	char				*text;
	cJSON				*ev;

	memcpy(&o, m->payload, sizeof(o));
	if (r->rq == NULL || o.which < 1 || o.which > 2)
		return;
	if ((text = malloc(BASE64_ENCODE_LENGTH(n) +
	    BASE64_ENCODE_FINAL_LENGTH + 1)) == NULL)
		return;
	base64_encode_init(&b64);
	k = base64_encode_update(&b64, text, n, m->payload + sizeof(o));
	k += base64_encode_final(&b64, text + k);
	text[k] = '\0';
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "data_b64", text);
	free(text);
	ctl_event(r->rq, o.which == 1 ? "stdout" : "stderr", ev);
}

static void
run_msg(struct helper *h, struct pyro_msg *m, void *arg)
{
	struct run	*r = arg;

	switch (m->hdr.type) {
	case PYRO_MSG_VM_READY: {
		struct pyro_msg_vm_ready ready;
		cJSON *ev;

		if (r->phase != RUN_BOOT) {
			helper_kill(h, "said ready twice");
			return;
		}
		memcpy(&ready, m->payload, sizeof(ready));
		r->boot_ms = ready.boot_ms;
		env_mark_verified(&r->env, r->env.verify_mask);
		rec_set_state(r->rec, "running", "started", NULL);
		(void)store_save(r->rec);
		ev = progress("start");
		cJSON_AddStringToObject(ev, "vm_id", r->rec->id);
		cJSON_AddNumberToObject(ev, "boot_ms", ready.boot_ms);
		if (r->rq)
			ctl_event(r->rq, "progress", ev);
		else
			cJSON_Delete(ev);
		r->phase = RUN_EXEC;
		if (helper_send(h, PYRO_MSG_EXEC, r->exec_msg, r->exec_len,
		    -1) < 0) {
			helper_kill(h, "cannot send the command");
			return;
		}
		ev = progress("execute");
		cJSON_AddStringToObject(ev, "vm_id", r->rec->id);
		if (r->rq)
			ctl_event(r->rq, "progress", ev);
		else
			cJSON_Delete(ev);
		return;
	}
	case PYRO_MSG_EXEC_OUTPUT:
		if (r->phase == RUN_EXEC)
			send_output(r, m);
		return;
	case PYRO_MSG_EXEC_EXIT:
		if (r->phase != RUN_EXEC || r->have_exit)
			return;
		memcpy(&r->exit, m->payload, sizeof(r->exit));
		r->have_exit = 1;
		run_stop_vm(r);
		return;
	case PYRO_MSG_ERROR: {
		const struct pyro_msg_error *e = (const void *)m->payload;
		enum pyro_err code = (e->err > 0 && e->err < PYRO_E__MAX) ?
		    (enum pyro_err)e->err : PYRO_E_INTERNAL;

		if (code == PYRO_E_TIMEOUT && r->phase == RUN_BOOT)
			code = PYRO_E_GUEST_BOOT_FAILED;
		run_fail(r, code, "%s", e->message);
		return;
	}
	case PYRO_MSG_VM_STOPPED: {
		struct pyro_msg_vm_stopped s;

		memcpy(&s, m->payload, sizeof(s));
		if (s.unexpected && !r->failed)
			run_fail(r, r->phase == RUN_BOOT ?
			    PYRO_E_GUEST_BOOT_FAILED : PYRO_E_INTERNAL,
			    "the VM stopped unexpectedly%s%s",
			    s.console[0] ? "; console: " : "", s.console);
		if (s.forced)
			log_info("vm %s: forced to stop", r->rec ?
			    r->rec->id : "?");
		helper_shutdown(h);
		return;
	}
	default:
		helper_kill(h, "sent an unexpected message");
	}
}

static void
run_ready(struct helper *h, void *arg)
{
	struct run			*r = arg;
	struct pyro_msg_vm_start	 s;
	struct pyro_msg_vm_file		 f;
	char				*slash;
	int				 k;

	for (k = VM_FILE_KERNEL; k < VM_FILE__MAX; k++) {
		f.role = (uint32_t)k;
		if (helper_send(h, PYRO_MSG_VM_FILE, &f, sizeof(f),
		    k == VM_FILE_DISK ? r->disk : r->env.fd[k]) < 0) {
			helper_kill(h, "cannot pass the VM's files");
			return;
		}
	}
	memset(&s, 0, sizeof(s));
	s.mem_mib = r->rec ? (uint32_t)cJSON_GetObjectItem(r->rec->doc,
	    "mem_mib")->valuedouble : 1024;
	s.vcpus = (uint32_t)cJSON_GetObjectItem(r->rec->doc,
	    "vcpu_count")->valuedouble;
	s.accel_kvm = host_kvm_usable() == 1;
	s.boot_timeout_ms = BOOT_TIMEOUT_MS;
	s.tsc_khz = host_tsc_khz();
	s.copy_rootfs = 1;
	s.verify_mask = r->env.verify_mask;
	for (k = VM_FILE_KERNEL; k <= VM_FILE_ROOTFS; k++)
		memcpy(s.sha256[k], r->env.sha256[k], sizeof(s.sha256[k]));
	host_find_exe(conf.qemu_path, "qemu-system-x86_64", s.qemu,
	    sizeof(s.qemu));
	/* QEMU sees neither the state directory nor pyrod's run dir. */
	pyro_strlcpy(s.hide[0], conf.state_dir, sizeof(s.hide[0]));
	pyro_strlcpy(s.hide[1], conf.socket_path, sizeof(s.hide[1]));
	if ((slash = strrchr(s.hide[1], '/')) != NULL && slash != s.hide[1])
		*slash = '\0';
	else
		s.hide[1][0] = '\0';
	if (helper_send(h, PYRO_MSG_VM_START, &s, sizeof(s), -1) < 0)
		helper_kill(h, "cannot start the VM");
	/* The VM helper holds the files now. */
	env_close(&r->env);
	close(r->disk);
	r->disk = -1;
}

static void
run_exit(struct helper *h, const char *why, void *arg)
{
	struct run	*r = arg;

	r->h = NULL;
	if (r->phase != RUN_STOP && !r->failed)
		run_fail(r, PYRO_E_HELPER_FAILED, "pyro-vmhelper %s; the VM "
		    "was deleted", why);
	run_finish(r);
}

static const struct helper_ops run_ops = { run_msg, run_ready, run_exit };

/* Encode the guest exec request: u32 stream, gp_exec, strings. */
static int
build_exec(struct run *r, const cJSON *argv, const char *command,
    long long timeout_s, struct pyro_status *st)
{
	struct gp_exec	 g;
	const cJSON	*it;
	size_t		 len = sizeof(uint32_t) + sizeof(g), n;
	uint32_t	 stream = 1;
	uint8_t		*p;

	memset(&g, 0, sizeof(g));
	g.timeout_ms = (uint32_t)(timeout_s * 1000);
	len += sizeof(PYRO_GUEST_WORKDIR);
	if (command != NULL) {
		g.argc = 1;
		g.flags = GP_EXEC_SHELL;
		len += strlen(command) + 1;
	} else {
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
	if (len > PYRO_MSG_MAXPAYLOAD)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "the command line "
		    "is longer than %d bytes", PYRO_MSG_MAXPAYLOAD - 64);
	if ((p = r->exec_msg = malloc(len)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	memcpy(p, &stream, sizeof(stream));
	memcpy(p + sizeof(stream), &g, sizeof(g));
	n = sizeof(stream) + sizeof(g);
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
	r->exec_len = n;
	return 0;
}

static int
run_args(struct run *r, struct request *rq, const cJSON *args,
    struct pyro_status *st)
{
	const char	*envname, *command, *cache = NULL;
	const cJSON	*argv;
	long long	 timeout = 30, vcpus = 1, mem = 1024;
	int		 network = 0, host_compat = 0;

	if (arg_string(args, "environment", 1, 64, &envname, st) < 0 ||
	    arg_string(args, "command", 0, PYRO_MSG_MAXPAYLOAD, &command,
	    st) < 0 ||
	    arg_int(args, "timeout_seconds", 0, 1, RUN_TIMEOUT_MAX, &timeout,
	    st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &vcpus, st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &mem, st) < 0 ||
	    arg_bool(args, "network", &network, st) < 0 ||
	    arg_bool(args, "allow_host_compat", &host_compat, st) < 0 ||
	    arg_string(args, "environment_cache_dir", 0, 4000, &cache,
	    st) < 0)
		return -1;
	argv = cJSON_GetObjectItemCaseSensitive(args, "argv");
	if ((argv == NULL) == (command == NULL))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give exactly "
		    "one of \"argv\" (an array) and \"command\" (a string)");
	if (argv != NULL && !cJSON_IsArray(argv))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"argv\" must be an array of strings");
	if (network)
		return pyro_fail(st, PYRO_E_UNSUPPORTED, "guest networking is "
		    "not available in this release; run without --network");
	/* Only root may point pyrod at another cache: it reads as root. */
	if (cache != NULL && rq->uid != 0)
		return pyro_fail(st, PYRO_E_PERMISSION_DENIED, "only root may "
		    "choose pyrod's environment cache");
	r->timeout_s = (int)timeout;
	if (build_exec(r, argv, command, timeout, st) < 0)
		return -1;
	if (env_open(envname, cache, &r->env, st) < 0)
		return -1;
	if ((r->rec = store_create(REC_VM, rq->uid)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	cJSON_AddStringToObject(r->rec->doc, "environment", envname);
	cJSON_AddNumberToObject(r->rec->doc, "vcpu_count", (double)vcpus);
	cJSON_AddNumberToObject(r->rec->doc, "mem_mib", (double)mem);
	cJSON_AddStringToObject(r->rec->doc, "execution_mode",
	    "guest_serial");
	cJSON_AddBoolToObject(r->rec->doc, "one_shot", 1);
	return 0;
}

void
op_vm_run(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct run		*r;
	cJSON			*ev;
	char			 qemu[4200];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	r->disk = -1;
	r->t0 = now_ms();
	if (run_args(r, rq, args, &st) < 0)
		goto fail;
	if (!host_find_exe(conf.qemu_path, "qemu-system-x86_64", qemu,
	    sizeof(qemu))) {
		pyro_fail(&st, PYRO_E_VMM_UNAVAILABLE, "no VMM: install "
		    "qemu-system-x86 (pyro doctor explains)");
		goto fail;
	}
	if (store_save(r->rec) < 0 || (r->disk = store_openat(r->rec,
	    "rootfs.ext4", O_RDWR | O_CREAT | O_EXCL, 0600)) < 0) {
		pyro_fail(&st, PYRO_E_IO, "cannot create the VM's disk in %s",
		    conf.state_dir);
		goto fail;
	}
	ev = progress("create");
	cJSON_AddStringToObject(ev, "environment", r->env.name);
	cJSON_AddStringToObject(ev, "vm_id", r->rec->id);
	ctl_event(rq, "progress", ev);
	r->rq = rq;
	rq->ctx = r;
	rq->cancel = run_cancel;
	r->timer = timer_add(BOOT_TIMEOUT_MS + STOP_GRACE_MS +
	    (long long)r->timeout_s * 1000, run_timeout, r);
	if ((r->h = helper_spawn(HELPER_VM, r->rec->id, &run_ops, r)) == NULL) {
		run_fail(r, PYRO_E_HELPER_FAILED, "cannot start pyro-vmhelper");
		run_finish(r);
	}
	return;
fail:
	if (r->rec != NULL)
		store_remove(r->rec);
	r->rec = NULL;
	ctl_reply_status(rq, &st);
	run_free(r);
}
