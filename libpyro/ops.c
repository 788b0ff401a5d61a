/*
 * libpyro: one function per operation.  Each builds its arguments and calls
 * pyro_call(); nothing here interprets results beyond what the contract says.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pyro/pyro.h"

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
			strcpy(err->code, "internal");
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
			strcpy(err->code, "protocol_error");
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
		snprintf(err->code, sizeof(err->code), "invalid_argument");
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

static int
set_argv(cJSON *args, const char *const *argv)
{
	cJSON	*arr;
	size_t	 i;

	/* Options cannot override what the typed parameters say. */
	cJSON_DeleteItemFromObjectCaseSensitive(args, "argv");
	cJSON_DeleteItemFromObjectCaseSensitive(args, "command");
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
