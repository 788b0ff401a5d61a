/*
 * Typed access to request arguments, and the one reader of a command
 * ("argv" or "command").  Each accessor fails with
 * invalid_argument and a sentence naming the key, so handlers need no
 * error text of their own for malformed input.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "guestproto.h"
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

/* cwd for a shell or service: relative to /workspace, any guest dir. */
int
arg_guest_cwd(const cJSON *args, char *out, size_t size, struct pyro_status *st)
{
	const char	*in;
	int		 rc;

	if (arg_string(args, "cwd", 0, 255, &in, st) < 0)
		return -1;
	if (in == NULL)
		in = PYRO_GUEST_WORKDIR;
	if ((rc = pyro_path_resolve(in, strlen(in), PYRO_GUEST_WORKDIR,
	    PYRO_PATH_ABS_OK, out, size)) < 0)
		return pyro_fail(st, PYRO_E_INVALID_PATH, "cwd \"%.200s\" is "
		    "not a valid guest path (%s)", in, strerror(-rc));
	return 0;
}

/* ---- "argv" (an array) or "command" (one string for sh -lc) ---- */

/* Does s need quoting to read back as one shell word? */
static int
needs_quotes(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s != '\0'; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_./=:,+@%^", *s) == NULL)
			return 1;
	return 0;
}

/* argv as one line a shell reads back the same: 'it'\''s' quoting. */
static char *
quote_argv(const char *const *argv)
{
	size_t	 n = 1, i, o = 0;
	char	*out;
	const char *p;

	for (i = 0; argv[i] != NULL; i++)
		n += 4 * strlen(argv[i]) + 3;
	if ((out = malloc(n)) == NULL)
		return NULL;
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			out[o++] = ' ';
		if (!needs_quotes(argv[i])) {
			memcpy(out + o, argv[i], strlen(argv[i]));
			o += strlen(argv[i]);
			continue;
		}
		out[o++] = '\'';
		for (p = argv[i]; *p != '\0'; p++) {
			if (*p == '\'') {
				memcpy(out + o, "'\\''", 4);
				o += 4;
			} else
				out[o++] = *p;
		}
		out[o++] = '\'';
	}
	out[o] = '\0';
	return out;
}

int
arg_command(const cJSON *args, struct cmdline *c, struct pyro_status *st)
{
	const cJSON	*argv = cJSON_GetObjectItemCaseSensitive(args, "argv");
	const cJSON	*it;
	const char	*command;
	int		 n, i = 0;

	memset(c, 0, sizeof(*c));
	if (arg_string(args, "command", 0, PYRO_MSG_MAXPAYLOAD, &command,
	    st) < 0)
		return -1;
	if ((argv == NULL || cJSON_IsNull(argv)) == (command == NULL))
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "give exactly "
		    "one of \"argv\" (an array) and \"command\" (a string)");
	if (command != NULL) {
		if ((c->argv = calloc(2, sizeof(*c->argv))) == NULL ||
		    (c->line = strdup(command)) == NULL) {
			cmdline_free(c);
			return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
		}
		c->argv[0] = command;
		c->shell = 1;
		return 0;
	}
	if (!cJSON_IsArray(argv) || (n = cJSON_GetArraySize(argv)) == 0 ||
	    n > GP_ARGS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"argv\" must be an array of 1 to %d strings",
		    GP_ARGS_MAX);
	if ((c->argv = calloc((size_t)n + 1, sizeof(*c->argv))) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, argv) {
		if (!cJSON_IsString(it)) {
			cmdline_free(c);
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT,
			    "argument \"argv\" must be an array of strings");
		}
		c->argv[i++] = it->valuestring;
	}
	if ((c->line = quote_argv(c->argv)) == NULL) {
		cmdline_free(c);
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	}
	return 0;
}

void
cmdline_free(struct cmdline *c)
{
	free(c->argv);
	free(c->line);
	c->argv = NULL;
	c->line = NULL;
}
