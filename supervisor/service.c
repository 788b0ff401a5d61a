/*
 * Named services of a running workspace.  A service is a job whose output
 * the guest itself appends to /run/pyro/services/<name>.log (tmpfs: never
 * in /workspace, never on the disk; guestsh.c's GS_SERVICE); pyrod checks
 * readiness by running small probe jobs in the guest every interval until
 * the check passes or the timeout ends.  A service ends with its job: it
 * exited, was stopped, or the VM went ("stopped: the workspace stopped");
 * its entry stays for status until the record goes.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestproto.h"
#include "guestsh.h"
#include "path.h"
#include "url.h"
#include "workspace.h"

#define SERVICE_STOP_GRACE_MS	5000
#define PROBE_TIMEOUT_S		5
#define LOG_TAIL_MAX		100000
#define WS_PUBLISHED_MAX	16	/* the VM helper's listeners */

struct service {
	LIST_ENTRY(service)	 entry;
	struct ws		*w;
	char			 name[65];
	struct job		*job;		/* NULL once it exited */
	struct job		*probe;		/* a readiness check in flight */
	char			 state[16];	/* starting ready exited failed stopped */
	char			 reason[160];
	char			 ready_kind[16];	/* none file tcp http command */
	char			*ready_arg;
	long long		 ready_deadline;
	unsigned		 interval_ms;
	struct timer		*timer;
	struct timer		*kill_timer;
	uint32_t		 pid;
	int			 exit_code;
	int			 signal;
	unsigned		 restarts;
	char			 started_at[32];
	char			*command;	/* for status, redacted */
	char			 cwd[256];
	struct request		*rq;		/* start or stop waiting */
	uint32_t		 ports[NET_PUBLISH_MAX][2];	/* host, guest */
	int			 pub_fd[NET_PUBLISH_MAX];	/* until sent */
	int			 nports;
	int			 published;	/* the helper serves some */
	int			 pub_ok[NET_PUBLISH_MAX];	/* this one */
};

static void	service_set(struct service *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	probe_tick(void *);
static void	service_done(struct job *, const struct pyro_msg_exec_exit *);

static struct service *
service_find(struct ws *w, const char *name)
{
	struct service	*v;

	LIST_FOREACH(v, &w->services, entry)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* The service's published ports: [{host_address, host_port, guest_port}]. */
static cJSON *
ports_json(const struct service *v, int with_name)
{
	cJSON	*arr = cJSON_CreateArray(), *p;
	char	 a[16];

	for (int i = 0; i < v->nports && v->published; i++) {
		if (!v->pub_ok[i])
			continue;
		p = cJSON_CreateObject();
		if (with_name)
			cJSON_AddStringToObject(p, "service_name", v->name);
		cJSON_AddStringToObject(p, "host_address",
		    net_publish_address(a));
		cJSON_AddNumberToObject(p, "host_port", v->ports[i][0]);
		cJSON_AddNumberToObject(p, "guest_port", v->ports[i][1]);
		cJSON_AddItemToArray(arr, p);
	}
	return arr;
}

/* Ports the workspace's running services publish now. */
static int
ports_in_use(struct ws *w)
{
	struct service	*v;
	int		 n = 0;

	LIST_FOREACH(v, &w->services, entry)
		for (int i = 0; i < v->nports && v->published; i++)
			n += v->pub_ok[i];
	return n;
}

/* Every published port of the workspace, for its network status. */
cJSON *
services_ports_json(struct ws *w)
{
	cJSON		*arr = cJSON_CreateArray(), *one, *it;
	struct service	*v;

	LIST_FOREACH(v, &w->services, entry) {
		one = ports_json(v, 1);
		while ((it = cJSON_DetachItemFromArray(one, 0)) != NULL)
			cJSON_AddItemToArray(arr, it);
		cJSON_Delete(one);
	}
	return arr;
}

static void
ports_close(struct service *v)
{
	for (int i = 0; i < v->nports; i++) {
		if (v->pub_fd[i] >= 0)
			close(v->pub_fd[i]);
		v->pub_fd[i] = -1;
	}
}

/* The service ended: its host ports close (the helper owns them). */
static void
ports_unpublish(struct service *v)
{
	ports_close(v);
	if (v->published && v->w->v != NULL)
		for (int i = 0; i < v->nports; i++)
			if (v->pub_ok[i])
				(void)vmi_unpublish(v->w->v, v->ports[i][0]);
	v->published = 0;
	memset(v->pub_ok, 0, sizeof(v->pub_ok));
}

static cJSON *
service_json(struct ws *w, struct service *v)
{
	cJSON	*o = cJSON_CreateObject(), *r;

	cJSON_AddStringToObject(o, "service_name", v->name);
	cJSON_AddStringToObject(o, "workspace_id", w->rec->id);
	cJSON_AddStringToObject(o, "state", v->state);
	if (v->reason[0])
		cJSON_AddStringToObject(o, "reason", v->reason);
	if (v->job != NULL && v->job->pid)
		v->pid = v->job->pid;
	if (v->pid)
		cJSON_AddNumberToObject(o, "pid", v->pid);
	else
		cJSON_AddNullToObject(o, "pid");
	if (strcmp(v->state, "exited") == 0 ||
	    strcmp(v->state, "stopped") == 0) {
		cJSON_AddNumberToObject(o, "exit_code", v->exit_code);
		if (v->signal)
			cJSON_AddNumberToObject(o, "signal", v->signal);
	}
	cJSON_AddNumberToObject(o, "restarts", v->restarts);
	cJSON_AddStringToObject(o, "command", v->command ? v->command : "");
	cJSON_AddStringToObject(o, "cwd", v->cwd);
	cJSON_AddStringToObject(o, "started_at", v->started_at);
	cJSON_AddItemToObject(o, "published_ports", ports_json(v, 0));
	r = cJSON_AddObjectToObject(o, "readiness");
	cJSON_AddStringToObject(r, "kind", v->ready_kind);
	if (v->ready_arg != NULL) {
		char *red = ws_redact_str(w, v->ready_arg);

		cJSON_AddStringToObject(r, "target", red ? red : "");
		free(red);
	}
	{
		char path[128];

		snprintf(path, sizeof(path), "/run/pyro/services/%s.log",
		    v->name);
		cJSON_AddStringToObject(o, "log_path", path);
	}
	return o;
}

static cJSON *
services_json(struct ws *w)
{
	cJSON		*arr = cJSON_CreateArray();
	struct service	*v;

	LIST_FOREACH(v, &w->services, entry)
		cJSON_AddItemToArray(arr, service_json(w, v));
	return arr;
}

/* The start or stop request waiting on v, answered now. */
static void
service_answer(struct ws *w, struct service *v, enum pyro_err err)
{
	struct request	*rq = v->rq;

	if (rq == NULL)
		return;
	v->rq = NULL;
	rq->cancel = NULL;
	if (err != PYRO_OK)
		ctl_reply_err(rq, err, "service \"%s\" %s", v->name,
		    v->reason[0] ? v->reason : v->state);
	else
		ctl_reply_ok(rq, service_json(w, v));
}

static void
service_set(struct service *v, const char *state, const char *fmt, ...)
{
	va_list	ap;

	pyro_strlcpy(v->state, state, sizeof(v->state));
	v->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
		va_end(ap);
	}
}

static void
service_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct service	*v = j->arg;
	struct ws	*w = v != NULL ? v->w : NULL;
	int		 stopping, starting;
	enum pyro_err	 err;

	if (v != NULL && j->pid)
		v->pid = j->pid;
	job_free(j);
	if (v == NULL)
		return;
	v->job = NULL;
	ports_unpublish(v);
	timer_cancel(v->timer);
	v->timer = NULL;
	timer_cancel(v->kill_timer);
	v->kill_timer = NULL;
	stopping = strcmp(v->state, "stopping") == 0;
	starting = strcmp(v->state, "starting") == 0;
	v->exit_code = x ? x->exit_code : -1;
	v->signal = x ? x->signal : 0;
	err = PYRO_OK;
	if (x == NULL)
		service_set(v, "stopped", "the workspace stopped");
	else if (stopping)
		service_set(v, "stopped", NULL);
	else if (x->error != 0) {
		service_set(v, "failed", "could not start: %s",
		    strerror(x->error));
		err = PYRO_E_INVALID_ARGUMENT;
	} else if (starting) {
		service_set(v, "exited", "exited with code %d before it was "
		    "ready", x->exit_code);
		err = PYRO_E_IO;
	} else
		service_set(v, "exited", "exited with code %d", x->exit_code);
	if (v->probe != NULL) {
		v->probe->arg = NULL;
		job_kill(v->probe);
		v->probe = NULL;
	}
	ws_event(w, "service_ended", v->name);
	service_answer(w, v, err);
}

static void
probe_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct service	*v = j->arg;
	struct ws	*w = v != NULL ? v->w : NULL;

	job_free(j);
	if (v == NULL)
		return;
	v->probe = NULL;
	if (strcmp(v->state, "starting") != 0)
		return;
	if (x != NULL && x->exit_code == 0 && x->error == 0 &&
	    !x->timed_out) {
		service_set(v, "ready", NULL);
		ws_event(w, "service_ready", v->name);
		service_answer(w, v, PYRO_OK);
		return;
	}
	if (now_ms() >= v->ready_deadline) {
		service_set(v, "failed", "readiness (%s) did not pass within "
		    "the timeout; the service is still running",
		    v->ready_kind);
		ws_event(w, "service_failed", v->name);
		service_answer(w, v, PYRO_E_TIMEOUT);
		return;
	}
	v->timer = timer_add(v->interval_ms, probe_tick, v);
}

static void
probe_tick(void *arg)
{
	struct service		*v = arg;
	struct pyro_status	 st;
	struct pyro_url		 u;
	struct job		*j;
	char			 host[256], port[16];
	const char		*argv[8] = { NULL }, *args[4] = { NULL };
	int			 shell = 0;

	v->timer = NULL;
	if (v->job == NULL || strcmp(v->state, "starting") != 0)
		return;
	if (strcmp(v->ready_kind, "file") == 0) {
		argv[0] = "test";
		argv[1] = "-e";
		argv[2] = v->ready_arg;
	} else if (strcmp(v->ready_kind, "tcp") == 0) {
		const char *c = strrchr(v->ready_arg, ':');

		snprintf(host, sizeof(host), "%.*s", (int)(c - v->ready_arg),
		    v->ready_arg);
		snprintf(port, sizeof(port), "%s", c + 1);
		args[0] = host;
		args[1] = port;
		(void)gs_argv(GS_PROBE_TCP, argv, 8, args);
	} else if (strcmp(v->ready_kind, "http") == 0) {
		(void)pyro_url_parse(v->ready_arg, "80", &u);
		args[0] = u.host;
		args[1] = u.port;
		args[2] = u.path;
		(void)gs_argv(GS_PROBE_HTTP, argv, 8, args);
	} else {
		argv[0] = v->ready_arg;
		shell = 1;
	}
	if ((j = ws_job(v->w, JOB_DROP, probe_done, v)) == NULL ||
	    job_start(j, v->w->v, &(struct job_cmd){ argv, shell, NULL, v->cwd,
	    0, PROBE_TIMEOUT_S, 0, 0 }, -1, &st) < 0) {
		v->timer = timer_add(v->interval_ms, probe_tick, v);
		return;
	}
	v->probe = j;
}

static void
service_free(struct service *v)
{
	ports_close(v);
	timer_cancel(v->timer);
	timer_cancel(v->kill_timer);
	free(v->ready_arg);
	free(v->command);
	free(v);
}

static void
services_free(struct ws *w)
{
	struct service	*v;

	while ((v = LIST_FIRST(&w->services)) != NULL) {
		LIST_REMOVE(v, entry);
		if (v->job != NULL)
			v->job->arg = NULL;
		if (v->probe != NULL)
			v->probe->arg = NULL;
		service_free(v);
	}
	w->nservices = 0;
}

static void
service_cancel(struct request *rq)
{
	struct service	*v = rq->ctx;

	v->rq = NULL;	/* the service stays; only the reply is moot */
}

/* One readiness kind and its target from the request. */
static int
readiness(const cJSON *args, struct service *v, struct pyro_status *st)
{
	static const char *kinds[] = { "file", "tcp", "http", "command" };
	struct pyro_url	 u;
	char		 key[32];
	const char	*val;
	int		 i, n = 0;

	pyro_strlcpy(v->ready_kind, "none", sizeof(v->ready_kind));
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "ready_%s", kinds[i]);
		if (arg_string(args, key, 0, 4000, &val, st) < 0)
			return -1;
		if (val == NULL)
			continue;
		if (n++ > 0)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give at "
			    "most one readiness check");
		pyro_strlcpy(v->ready_kind, kinds[i], sizeof(v->ready_kind));
		if (val[0] == '\0')
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
			    "\"%s\" is empty", key);
		if (i == 1) {
			const char *c = strrchr(val, ':');
			char *end;
			long p = c ? strtol(c + 1, &end, 10) : 0;

			if (c == NULL || c == val || c - val > 200 ||
			    c[1] == '\0' || *end != '\0' || p < 1 ||
			    p > 65535)
				return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
				    "--ready-tcp takes HOST:PORT");
		}
		if (i == 2 && pyro_url_parse(val, "80", &u) < 0)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "--ready-http takes http://HOST[:PORT][/PATH]");
		if ((v->ready_arg = strdup(val)) == NULL)
			return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	}
	return 0;
}

/* The service's settings from the request (name, cwd, readiness). */
static int
service_args(struct request *rq, const cJSON *args, struct service *v,
    long long *tmo, long long *interval, struct pyro_status *st)
{
	struct ws	*w = rq->obj;
	const char	*name;
	struct service	*old;

	if (arg_string(args, "service_name", 1, 200, &name, st) < 0 ||
	    arg_guest_cwd(args, v->cwd, sizeof(v->cwd), st) < 0 ||
	    arg_int(args, "ready_timeout_seconds", 0, 1, 3600, tmo, st) < 0 ||
	    arg_int(args, "ready_interval_ms", 0, 50, 60000, interval,
	    st) < 0 || readiness(args, v, st) < 0)
		return -1;
	if (!pyro_name_valid(name))
		return pyro_fail(st, PYRO_E_INVALID_NAME, "service names are "
		    "1-64 characters of [A-Za-z0-9._-], starting with a letter "
		    "or digit");
	if (net_ports_arg(args, v->ports, &v->nports, st) < 0)
		return -1;
	if (v->nports > 0 && !net_publish_allowed(w->rec))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "publishing "
		    "ports needs a workspace created with --network-policy "
		    "egress+published-ports (this one's is %s)",
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    w->rec->doc, "network_policy")));
	if (v->nports > 0 && (w->v == NULL || vmi_net(w->v) == NULL))
		return pyro_fail(st, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
		    "workspace's VM is not running");
	if (v->nports > 0 && ports_in_use(w) + v->nports > WS_PUBLISHED_MAX)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "a workspace "
		    "publishes at most %d ports at a time (%d in use)",
		    WS_PUBLISHED_MAX, ports_in_use(w));
	for (int i = 0; i < v->nports; i++)
		if (net_port_privileged(v->ports[i][0]) && rq->uid != 0)
			return pyro_fail(st, PYRO_E_PERMISSION_DENIED, "only "
			    "root may publish on host port %u (below the "
			    "host's unprivileged port start)", v->ports[i][0]);
	if ((old = service_find(w, name)) != NULL && old->job != NULL)
		return pyro_fail(st, PYRO_E_EXISTS, "service \"%s\" is already "
		    "running; stop it first", name);
	if (old == NULL && w->nservices >= WS_SERVICES_MAX)
		return pyro_fail(st, PYRO_E_LIMIT_EXCEEDED, "a workspace has "
		    "at most %d services", WS_SERVICES_MAX);
	/* Bind now: a port in use fails the start before anything runs. */
	for (int i = 0; i < v->nports; i++)
		if ((v->pub_fd[i] = net_publish_socket(v->ports[i][0],
		    st)) < 0)
			return -1;
	pyro_strlcpy(v->name, name, sizeof(v->name));
	v->restarts = old != NULL ? old->restarts + 1 : 0;
	return 0;
}

/* Start the service's job: SERVICE_SH logging to its file, then cmd. */
static int
service_run(struct service *v, const struct cmdline *cmd, char **env,
    struct pyro_status *st)
{
	const char	*av[GP_ARGS_MAX + 8], *sh[] = { "/bin/sh", "-c", NULL };
	const char	*args[GP_ARGS_MAX + 4];
	struct job	*j;
	int		 k = 0, i;

	args[k++] = v->name;
	if (cmd->shell) {
		args[k++] = sh[0];
		args[k++] = sh[1];
	}
	for (i = 0; cmd->argv[i] != NULL && k < GP_ARGS_MAX + 2; i++)
		args[k++] = cmd->argv[i];
	args[k] = NULL;
	if (gs_argv(GS_SERVICE, av, GP_ARGS_MAX + 8, args) < 0)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "the command has "
		    "too many arguments");
	if ((j = ws_job(v->w, JOB_DROP, service_done, v)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	if (job_start(j, v->w->v, &(struct job_cmd){ av, 0,
	    (const char *const *)env, v->cwd, 0, 0, 0, 0 }, -1, st) < 0)
		return -1;
	v->job = j;
	return 0;
}

void
op_service_start(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w = rq->obj;
	struct service		*v, *old;
	struct cmdline		 cmd = { NULL, 0, NULL };
	char			**env = NULL;
	long long		 tmo = 30, interval = 500;
	int			 envc = 0;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	v->w = w;
	for (int i = 0; i < NET_PUBLISH_MAX; i++)
		v->pub_fd[i] = -1;
	if (service_args(rq, args, v, &tmo, &interval, &st) < 0 ||
	    arg_command(args, &cmd, &st) < 0 ||
	    ws_secret_env(w, cJSON_GetObjectItemCaseSensitive(args,
	    "secret_env"), &env, &envc, &st) < 0 ||
	    service_run(v, &cmd, env, &st) < 0)
		goto fail;
	v->command = ws_redact_str(w, cmd.line);
	/* The helper takes the listening sockets; ours close. */
	/* Each port the helper got is unpublished exactly once later. */
	for (int i = 0; i < v->nports; i++) {
		v->pub_ok[i] = vmi_publish(w->v, v->ports[i][0],
		    v->ports[i][1], v->pub_fd[i]) == 0;
		v->published |= v->pub_ok[i];
	}
	ports_close(v);
	if ((old = service_find(w, v->name)) != NULL) {
		LIST_REMOVE(old, entry);
		service_free(old);
		w->nservices--;
	}
	v->interval_ms = (unsigned)interval;
	v->ready_deadline = now_ms() + tmo * 1000;
	iso_time(v->started_at, sizeof(v->started_at), time(NULL));
	LIST_INSERT_HEAD(&w->services, v, entry);
	w->nservices++;
	cmdline_free(&cmd);
	ws_free_env(env, envc);
	ws_event(w, "service_started", v->name);
	if (strcmp(v->ready_kind, "none") == 0) {
		service_set(v, "ready", "no readiness check: ready once "
		    "started");
		ctl_reply_ok(rq, service_json(w, v));
		return;
	}
	service_set(v, "starting", NULL);
	v->rq = rq;
	rq->ctx = v;
	rq->cancel = service_cancel;
	probe_tick(v);
	return;
fail:
	cmdline_free(&cmd);
	ws_free_env(env, envc);
	ports_close(v);
	free(v->ready_arg);
	free(v);
	ctl_reply_status(rq, &st);
}

static struct service *
service_or_reply(struct request *rq, const cJSON *args, struct ws **wp,
    int running)
{
	struct pyro_status	 st;
	const char		*name;
	struct service		*v;

	(void)running;	/* the op's gate checked the state */
	*wp = rq->obj;
	if (arg_string(args, "service_name", 1, 200, &name, &st) < 0) {
		ctl_reply_status(rq, &st);
		return NULL;
	}
	if ((v = service_find(*wp, name)) == NULL) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "workspace %s has no "
		    "service \"%.64s\"", (*wp)->rec->id, name);
		return NULL;
	}
	return v;
}

void
op_service_list(struct request *rq, const cJSON *args)
{
	struct ws	*w = rq->obj;
	cJSON		*res;

	(void)args;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	cJSON_AddItemToObject(res, "services", services_json(w));
	ctl_reply_ok(rq, res);
}

void
op_service_status(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	struct service	*v;

	if ((v = service_or_reply(rq, args, &w, 0)) != NULL)
		ctl_reply_ok(rq, service_json(w, v));
}

static void
service_kill(void *arg)
{
	struct service	*v = arg;

	v->kill_timer = NULL;
	if (v->job != NULL)
		job_kill(v->job);
}

void
op_service_stop(struct request *rq, const cJSON *args)
{
	struct ws	*w;
	struct service	*v;

	if ((v = service_or_reply(rq, args, &w, 1)) == NULL)
		return;
	if (v->job == NULL) {
		ctl_reply_ok(rq, service_json(w, v));	/* not running */
		return;
	}
	if (v->rq != NULL) {
		ctl_reply_err(rq, PYRO_E_BUSY, "service \"%s\" is busy "
		    "starting or stopping", v->name);
		return;
	}
	service_set(v, "stopping", NULL);
	timer_cancel(v->timer);
	v->timer = NULL;
	v->rq = rq;
	rq->ctx = v;
	rq->cancel = service_cancel;
	job_signal(v->job, SIGTERM);
	v->kill_timer = timer_add(SERVICE_STOP_GRACE_MS, service_kill, v);
}

static void
logs_done(struct job *j, const struct pyro_msg_exec_exit *x)
{
	struct request	*rq = j->rq;
	char		*text;
	cJSON		*res;

	if (rq != NULL) {
		rq->cancel = NULL;
		if (x == NULL)
			ctl_reply_err(rq, PYRO_E_WORKSPACE_NOT_RUNNING, "the "
			    "workspace stopped");
		else {
			text = utf8_sanitize(j->out.p ? j->out.p :
			    (const uint8_t *)"", j->out.len);
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "workspace_id",
			    ((struct ws *)rq->obj)->rec->id);
			cJSON_AddStringToObject(res, "service_name", j->arg);
			cJSON_AddStringToObject(res, "logs", text ? text : "");
			cJSON_AddBoolToObject(res, "truncated",
			    j->out.truncated);
			free(text);
			ctl_reply_ok(rq, res);
		}
	}
	free(j->arg);
	job_free(j);
}

static void
logs_cancel(struct request *rq)
{
	job_detach(rq->ctx);
}

void
op_service_logs(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct ws		*w;
	struct service		*v;
	struct job		*j;
	long long		 tail = 200;
	char			 n[24], path[128], *name;
	const char		*argv[] = { "tail", "-n", n, "--", path, NULL };

	if ((v = service_or_reply(rq, args, &w, 1)) == NULL)
		return;
	if (arg_int(args, "tail_lines", 0, 1, LOG_TAIL_MAX, &tail, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	snprintf(n, sizeof(n), "%lld", tail);
	snprintf(path, sizeof(path), "/run/pyro/services/%s.log", v->name);
	if ((name = strdup(v->name)) == NULL ||
	    (j = ws_job(w, JOB_BUFFER, logs_done, name)) == NULL) {
		free(name);
		ctl_reply_err(rq, PYRO_E_INTERNAL, "out of memory");
		return;
	}
	j->out.max = 4 * 1024 * 1024;
	j->err.max = 4096;
	j->rq = rq;
	rq->ctx = j;
	rq->cancel = logs_cancel;
	if (job_start(j, w->v, &(struct job_cmd){ argv, 0, NULL, "/", 0, 30, 0,
	    0 }, -1, &st) < 0) {
		rq->cancel = NULL;
		free(name);
		ctl_reply_status(rq, &st);
	}
}

/* ---- the part: status, the record's removal ---- */

static void
services_status(struct ws *w, cJSON *o)
{
	cJSON_AddItemToObject(o, "services", services_json(w));
	cJSON_AddStringToObject(o, "services_note", "services run until they "
	    "exit, are stopped, or the workspace stops; starting a "
	    "workspace does not restart them");
}

static const struct ws_part service_part = {
	"services", services_free, services_status
};

void
service_init(void)
{
	ws_part_add(&service_part);
}
