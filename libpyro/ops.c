/*
 * libpyro: one function per operation.  Each builds its arguments and calls
 * pyro_call(); nothing here interprets results beyond what the contract says.
 */
#include "config.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "internal.h"

/*
 * A disk export's progress: the helper writes the image straight into
 * our fd, so a thread watches the file grow (allocated bytes: the image
 * is sparse) until the call ends.
 */
struct pyro__watch {
	int			 fd;
	pyro_progress_fn	 fn;
	void			*arg;
	int			 stop;
	pthread_t		 th;
};

static void *
watch_thread(void *p)
{
	struct pyro__watch	*w = p;
	struct stat		 st;
	struct timespec		 ts = { 0, 100 * 1000 * 1000 };
	int			 n = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&ts, NULL);
		if (++n % 2 == 0 && fstat(w->fd, &st) == 0)
			w->fn(w->arg, "write", (unsigned long long)
			    st.st_blocks * 512ULL, 0, 0, 0);
	}
	return NULL;
}

struct pyro__watch *
pyro__watch_start(pyro_client *c, int fd)
{
	struct pyro__watch	*w;
	void			*arg;
	pyro_progress_fn	 fn = pyro__progress_of(c, &arg);

	if (fn == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	if (pthread_create(&w->th, NULL, watch_thread, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void
pyro__watch_stop(struct pyro__watch *w)
{
	if (w == NULL)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(w->th, NULL);
	free(w);
}

/* Call op with args (consumed). */
static int
call_obj(pyro_client *c, const char *op, cJSON *args, char **result,
    pyro_error *err)
{
	char	*text = NULL;
	int	 rc;

	if (args != NULL && (text = cJSON_PrintUnformatted(args)) == NULL) {
		cJSON_Delete(args);
		if (err) {
			strcpy(err->code, PYRO_ERR_INTERNAL);
			strcpy(err->message, "out of memory");
		}
		return -1;
	}
	cJSON_Delete(args);
	rc = pyro_call(c, op, text, result, err);
	free(text);
	return rc;
}

static cJSON *
args_with_id(const char *key, const char *id)
{
	cJSON	*a = cJSON_CreateObject();

	if (a != NULL && id != NULL)
		cJSON_AddStringToObject(a, key, id);
	return a;
}

/*
 * The environment cache is per user, so pyrod cannot know it: the client
 * reports its own view into the result.
 */
int
pyro_usage(pyro_client *c, char **result, pyro_error *err)
{
	return call_obj(c, "usage", NULL, result, err);
}

int
pyro_doctor(pyro_client *c, char **result, pyro_error *err)
{
	char		 dir[4096], *text;
	cJSON		*res, *cache;
	struct stat	 st;

	if (call_obj(c, "doctor", NULL, &text, err) < 0)
		return -1;
	if (result == NULL) {
		free(text);
		return 0;
	}
	res = cJSON_Parse(text);
	free(text);
	if (res == NULL || (cache = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(res);
		if (err) {
			strcpy(err->code, PYRO_ERR_PROTOCOL);
			strcpy(err->message, "pyrod sent an unreadable result");
		}
		return -1;
	}
	if (pyro_environment_cache_dir(dir, sizeof(dir)) == 0) {
		cJSON_AddStringToObject(cache, "path", dir);
		cJSON_AddBoolToObject(cache, "exists",
		    stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	} else {
		cJSON_AddNullToObject(cache, "path");
		cJSON_AddBoolToObject(cache, "exists", 0);
	}
	cJSON_AddItemToObject(res, "environment_cache", cache);
	*result = cJSON_PrintUnformatted(res);
	cJSON_Delete(res);
	return *result ? 0 : -1;
}

int
pyro_vm_list(pyro_client *c, char **result, pyro_error *err)
{
	return call_obj(c, "vm.list", NULL, result, err);
}

int
pyro_vm_status(pyro_client *c, const char *id, char **result, pyro_error *err)
{
	return call_obj(c, "vm.status", args_with_id("vm_id", id), result, err);
}

int
pyro_workspace_list(pyro_client *c, char **result, pyro_error *err)
{
	return call_obj(c, "workspace.list", NULL, result, err);
}

int
pyro_workspace_status(pyro_client *c, const char *id, char **result,
    pyro_error *err)
{
	return call_obj(c, "workspace.status",
	    args_with_id("workspace_id", id), result, err);
}

static int
invalid(pyro_error *err, const char *msg)
{
	if (err) {
		snprintf(err->code, sizeof(err->code), PYRO_ERR_INVALID_ARGUMENT);
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	return -1;
}

/* options_json parsed into a new object (empty when NULL), or NULL. */
static cJSON *
options(const char *options_json, pyro_error *err)
{
	cJSON	*o;

	if (options_json == NULL)
		return cJSON_CreateObject();
	if ((o = cJSON_Parse(options_json)) == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		invalid(err, "options_json must be a JSON object");
		return NULL;
	}
	return o;
}

/*
 * The one rule for commands, shared by every surface: several arguments
 * are an argv, run as they are; exactly one argument is a command line
 * for the guest's shell, sent as "command" (pyrod runs it with
 * /bin/sh -lc), so that "echo a && echo b" works as one would expect.
 */
static int
set_argv(cJSON *args, const char *const *argv)
{
	cJSON	*arr;
	size_t	 i;

	/* Options cannot override what the typed parameters say. */
	cJSON_DeleteItemFromObjectCaseSensitive(args, "argv");
	cJSON_DeleteItemFromObjectCaseSensitive(args, "command");
	if (argv[0] != NULL && argv[1] == NULL) {
		cJSON_AddStringToObject(args, "command", argv[0]);
		return 0;
	}
	arr = cJSON_AddArrayToObject(args, "argv");
	for (i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(argv[i]));
	return 0;
}

static void
set_str(cJSON *args, const char *key, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(args, key);
	cJSON_AddStringToObject(args, key, val);
}

int
pyro_run_in_vm(pyro_client *c, const char *environment,
    const char *const *argv, const char *options_json, char **result,
    pyro_error *err)
{
	cJSON	*args;

	if (environment == NULL || argv == NULL || argv[0] == NULL)
		return invalid(err, "an environment and a command are "
		    "required");
	if ((args = options(options_json, err)) == NULL)
		return -1;
	set_str(args, "environment", environment);
	set_argv(args, argv);
	return call_obj(c, "vm.run", args, result, err);
}

int
pyro_vm_create(pyro_client *c, const char *environment,
    const char *options_json, char **result, pyro_error *err)
{
	cJSON	*args;

	if (environment == NULL)
		return invalid(err, "an environment is required");
	if ((args = options(options_json, err)) == NULL)
		return -1;
	set_str(args, "environment", environment);
	return call_obj(c, "vm.create", args, result, err);
}

int
pyro_vm_exec(pyro_client *c, const char *id, const char *const *argv,
    const char *options_json, char **result, pyro_error *err)
{
	cJSON	*args;

	if (id == NULL || argv == NULL || argv[0] == NULL)
		return invalid(err, "a VM id and a command are required");
	if ((args = options(options_json, err)) == NULL)
		return -1;
	set_str(args, "vm_id", id);
	set_argv(args, argv);
	return call_obj(c, "vm.exec", args, result, err);
}

int
pyro_vm_start(pyro_client *c, const char *id, char **result, pyro_error *err)
{
	return call_obj(c, "vm.start", args_with_id("vm_id", id), result, err);
}

int
pyro_vm_stop(pyro_client *c, const char *id, char **result, pyro_error *err)
{
	return call_obj(c, "vm.stop", args_with_id("vm_id", id), result, err);
}

int
pyro_vm_delete(pyro_client *c, const char *id, char **result,
    pyro_error *err)
{
	return call_obj(c, "vm.delete", args_with_id("vm_id", id), result,
	    err);
}

int
pyro_vm_network_info(pyro_client *c, const char *id, char **result,
    pyro_error *err)
{
	return call_obj(c, "vm.network_info", args_with_id("vm_id", id),
	    result, err);
}

int
pyro_vm_reap_expired(pyro_client *c, char **result, pyro_error *err)
{
	return call_obj(c, "vm.reap_expired", NULL, result, err);
}

/*
 * Warm start: make (or find) the template of an environment for a shape
 * (options {mem_mib, vcpu_count}); root only.
 */
int
pyro_env_warm(pyro_client *c, const char *environment,
    const char *options_json, char **result, pyro_error *err)
{
	cJSON	*args;

	if (environment == NULL)
		return invalid(err, "an environment is required");
	if ((args = options(options_json, err)) == NULL)
		return -1;
	set_str(args, "environment", environment);
	return call_obj(c, "environment.warm", args, result, err);
}

/* The templates pyrod holds; prune (root) removes those out of date. */
int
pyro_env_templates(pyro_client *c, int prune, char **result,
    pyro_error *err)
{
	cJSON	*args = cJSON_CreateObject();

	if (prune)
		cJSON_AddTrueToObject(args, "prune");
	return call_obj(c, "environment.templates", args, result, err);
}
