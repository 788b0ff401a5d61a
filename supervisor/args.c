/*
 * Typed access to request arguments.  Each accessor fails with
 * invalid_argument and a sentence naming the key, so handlers need no
 * error text of their own for malformed input.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "path.h"
#include "pyrod.h"

int
arg_string(const cJSON *args, const char *key, int required, size_t maxlen,
    const char **out, struct pyro_status *st)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(args, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "missing argument \"%s\"", key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"%s\" must be a string", key);
	if (strlen(v->valuestring) > maxlen)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"%s\" is longer than %zu bytes", key, maxlen);
	*out = v->valuestring;
	return 0;
}

int
arg_int(const cJSON *args, const char *key, int required, long long min,
    long long max, long long *out, struct pyro_status *st)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(args, key);
	double		 d;

	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "missing argument \"%s\"", key);
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"%s\" must be an integer", key);
	d = v->valuedouble;
	if (d != floor(d) || d < (double)min || d > (double)max)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"%s\" must be an integer from %lld to %lld",
		    key, min, max);
	*out = (long long)d;
	return 0;
}

int
arg_bool(const cJSON *args, const char *key, int *out, struct pyro_status *st)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(args, key);

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
		    "argument \"%s\" must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

int
arg_id(const cJSON *args, const char *key, const char **out,
    struct pyro_status *st)
{
	if (arg_string(args, key, 1, 64, out, st) < 0)
		return -1;
	/* A malformed id names nothing: say not_found, as for any id. */
	if (!pyro_id_valid(*out))
		return pyro_fail(st, PYRO_E_NOT_FOUND, "no %s \"%.64s\"",
		    strcmp(key, "vm_id") == 0 ? "VM" : "workspace", *out);
	return 0;
}
