/*
 * A workspace's secrets.  Given at create (values, or files the client
 * read), stored in the record's directory as secret-NAME (0600), written
 * into the guest at /run/pyro-secrets/NAME (tmpfs) at every boot, mapped
 * into one command's environment by "secret_env", and redacted from
 * everything pyro prints or writes from the workspace (common/redact.c).
 * Values are loaded once, when first needed, and wiped when forgotten.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "path.h"
#include "workspace.h"

void
ws_forget_secrets(struct ws *w)
{
	int	i;

	for (i = 0; i < w->nsecrets; i++) {
		free(w->secret_name[i]);
		if (w->secret_val[i] != NULL)
			explicit_bzero(w->secret_val[i], w->secret_len[i]);
		free(w->secret_val[i]);
	}
	w->nsecrets = 0;
	w->secrets_loaded = 0;
	memset(&w->sec, 0, sizeof(w->sec));
}

/* Read every secret-<name> file of the record once. */
int
ws_load_secrets(struct ws *w)
{
	const cJSON	*names, *it;
	char		 file[96];
	struct stat	 sb;
	int		 fd;

	if (w->secrets_loaded)
		return 0;
	w->secrets_loaded = 1;
	names = cJSON_GetObjectItem(w->rec->doc, "secrets");
	cJSON_ArrayForEach(it, names) {
		uint8_t *v;

		if (!cJSON_IsString(it) || w->nsecrets >= WS_SECRETS_MAX ||
		    !pyro_name_valid(it->valuestring))
			continue;
		snprintf(file, sizeof(file), "secret-%s", it->valuestring);
		if ((fd = store_openat(w->rec, file, O_RDONLY, 0)) < 0)
			continue;
		if (fstat(fd, &sb) < 0 || sb.st_size <= 0 ||
		    sb.st_size > WS_SECRET_BYTES_MAX ||
		    (v = malloc((size_t)sb.st_size)) == NULL) {
			close(fd);
			continue;
		}
		if (pread(fd, v, (size_t)sb.st_size, 0) != sb.st_size) {
			free(v);
			close(fd);
			continue;
		}
		close(fd);
		w->secret_name[w->nsecrets] = strdup(it->valuestring);
		w->secret_val[w->nsecrets] = v;
		w->secret_len[w->nsecrets] = (size_t)sb.st_size;
		(void)pyro_secrets_add(&w->sec, v, (size_t)sb.st_size);
		w->nsecrets++;
	}
	return 0;
}

const uint8_t *
ws_secret(struct ws *w, const char *name, size_t *len)
{
	int	i;

	(void)ws_load_secrets(w);
	for (i = 0; i < w->nsecrets; i++)
		if (w->secret_name[i] != NULL &&
		    strcmp(w->secret_name[i], name) == 0) {
			*len = w->secret_len[i];
			return w->secret_val[i];
		}
	return NULL;
}

void
ws_free_env(char **env, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (env[i] != NULL)
			explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
}

/* Valid environment variable names: [A-Za-z_][A-Za-z0-9_]*, <= 64. */
static int
envname_valid(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9')))
			return 0;
	return 1;
}

/*
 * "secret_env": ["NAME", "NAME=ENV_VAR", ...]: each maps one secret into
 * the command's environment (as NAME when no ENV_VAR is given).
 */
int
ws_secret_env(struct ws *w, const cJSON *arr, char ***envp, int *np,
    struct pyro_status *st)
{
	const cJSON	*it;
	char		**env, name[80];
	const char	*eq, *var;
	const uint8_t	*val;
	size_t		 vlen;
	int		 n = 0, k;

	*envp = NULL;
	*np = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > WS_SECRETS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"secret_env\" must be an array of at most %d strings "
		    "NAME or NAME=ENV_VAR", WS_SECRETS_MAX);
	if ((env = calloc(WS_SECRETS_MAX + 1, sizeof(*env))) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) > 140)
			goto bad;
		eq = strchr(it->valuestring, '=');
		k = eq ? (int)(eq - it->valuestring) :
		    (int)strlen(it->valuestring);
		if (k <= 0 || k >= (int)sizeof(name))
			goto bad;
		memcpy(name, it->valuestring, (size_t)k);
		name[k] = '\0';
		var = eq ? eq + 1 : name;
		if (!pyro_name_valid(name) || !envname_valid(var)) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_INVALID_NAME, "\"%.80s\" is "
			    "not SECRET or SECRET=ENV_VAR (a secret name of "
			    "[A-Za-z0-9._-], an environment variable name)",
			    it->valuestring);
		}
		if ((val = ws_secret(w, name, &vlen)) == NULL) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_NOT_FOUND, "the workspace "
			    "has no secret \"%s\"", name);
		}
		if (memchr(val, '\0', vlen) != NULL) {
			ws_free_env(env, n);
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "secret "
			    "\"%s\" holds a NUL byte and cannot be an "
			    "environment variable", name);
		}
		if ((env[n] = malloc(strlen(var) + vlen + 2)) == NULL)
			goto bad;
		memcpy(env[n], var, strlen(var));
		env[n][strlen(var)] = '=';
		memcpy(env[n] + strlen(var) + 1, val, vlen);
		env[n][strlen(var) + 1 + vlen] = '\0';
		n++;
	}
	*envp = env;
	*np = n;
	return 0;
bad:
	ws_free_env(env, n);
	return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument \"secret_env\" "
	    "must hold strings NAME or NAME=ENV_VAR");
}

/* ---- create ---- */

/* secrets: [{"name": N, "value": V}, ...]; written 0600, names listed. */
int
ws_save_secrets(struct record *r, const cJSON *arr, struct pyro_status *st)
{
	const cJSON	*it, *name, *val;
	cJSON		*names = cJSON_AddArrayToObject(r->doc, "secrets");
	char		 file[96];
	int		 fd, n = 0;

	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > WS_SECRETS_MAX)
		return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "argument "
		    "\"secrets\" must be an array of at most %d objects "
		    "{\"name\", \"value\"}", WS_SECRETS_MAX);
	cJSON_ArrayForEach(it, arr) {
		const cJSON *x;

		name = cJSON_GetObjectItemCaseSensitive(it, "name");
		val = cJSON_GetObjectItemCaseSensitive(it, "value");
		if (!cJSON_IsString(name) || !cJSON_IsString(val))
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "each "
			    "secret is an object {\"name\": string, "
			    "\"value\": string}");
		if (!pyro_name_valid(name->valuestring))
			return pyro_fail(st, PYRO_E_INVALID_NAME, "secret name "
			    "\"%.80s\" must be 1-64 characters of "
			    "[A-Za-z0-9._-], starting with a letter or digit",
			    name->valuestring);
		if (val->valuestring[0] == '\0' ||
		    strlen(val->valuestring) > WS_SECRET_BYTES_MAX)
			return pyro_fail(st, PYRO_E_INVALID_ARGUMENT, "secret "
			    "\"%s\" must hold 1 to %d bytes", name->valuestring,
			    WS_SECRET_BYTES_MAX);
		cJSON_ArrayForEach(x, names)
			if (strcmp(x->valuestring, name->valuestring) == 0)
				return pyro_fail(st, PYRO_E_EXISTS, "secret "
				    "\"%s\" is given twice", name->valuestring);
		snprintf(file, sizeof(file), "secret-%s", name->valuestring);
		if ((fd = store_openat(r, file, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) < 0)
			return pyro_fail(st, PYRO_E_IO, "cannot store secret "
			    "\"%s\": %s", name->valuestring, strerror(-fd));
		if (pyro_write_all(fd, val->valuestring,
		    strlen(val->valuestring)) < 0 || fsync(fd) < 0) {
			close(fd);
			return pyro_fail(st, PYRO_E_IO, "cannot store secret "
			    "\"%s\"", name->valuestring);
		}
		close(fd);
		cJSON_AddItemToArray(names,
		    cJSON_CreateString(name->valuestring));
		n++;
	}
	return n;
}

const struct pyro_secrets *
ws_secrets(struct ws *w)
{
	(void)ws_load_secrets(w);
	return &w->sec;
}

uint8_t *
ws_redact(struct ws *w, const uint8_t *data, size_t len, int mask,
    size_t *outlen)
{
	return pyro_redact(ws_secrets(w), data, len, mask ? PYRO_REDACT_MASK :
	    PYRO_REDACT_TEXT, outlen);
}

char *
ws_redact_str(struct ws *w, const char *s)
{
	size_t	 n;
	uint8_t	*r = ws_redact(w, (const uint8_t *)s, strlen(s), 0, &n);
	char	*out;

	if (r == NULL)
		return NULL;
	out = utf8_sanitize(r, n);
	free(r);
	return out;
}

struct job *
ws_job(struct ws *w, enum job_sink sink, job_done_fn done, void *arg)
{
	return job_new(sink, ws_secrets(w), done, arg);
}
