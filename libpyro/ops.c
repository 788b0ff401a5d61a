/*
 * libpyro: one function per operation.  Each builds its arguments and calls
 * pyro_call(); nothing here interprets results beyond what the contract says.
 */
#include "config.h"

#include <sys/stat.h>

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

int
pyro_run_in_vm(pyro_client *c, const char *environment,
    const char *const *argv, const char *options_json, char **result,
    pyro_error *err)
{
	cJSON	*args, *arr, *opts = NULL, *it;
	size_t	 i;

	if (environment == NULL || argv == NULL || argv[0] == NULL) {
		if (err) {
			strcpy(err->code, "invalid_argument");
			strcpy(err->message, "an environment and a command are "
			    "required");
		}
		return -1;
	}
	if (options_json != NULL &&
	    ((opts = cJSON_Parse(options_json)) == NULL ||
	    !cJSON_IsObject(opts))) {
		cJSON_Delete(opts);
		if (err) {
			strcpy(err->code, "invalid_argument");
			strcpy(err->message, "options_json must be a JSON "
			    "object");
		}
		return -1;
	}
	args = opts ? opts : cJSON_CreateObject();
	/* Options cannot override what the typed parameters say. */
	cJSON_DeleteItemFromObjectCaseSensitive(args, "environment");
	cJSON_DeleteItemFromObjectCaseSensitive(args, "argv");
	cJSON_DeleteItemFromObjectCaseSensitive(args, "command");
	cJSON_AddStringToObject(args, "environment", environment);
	arr = cJSON_AddArrayToObject(args, "argv");
	for (i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(argv[i]));
	(void)it;
	return call_obj(c, "vm.run", args, result, err);
}
