/*
 * Output: human-readable by default, one JSON document with --json.
 * Results go to stdout; errors go to stderr as "pyro: message (code)", or
 * to stdout as {"ok":false,"error":{...}} in JSON mode so that a machine
 * reading stdout always gets one document.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *
jstr(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

double
jnum(const cJSON *o, const char *key, double dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int
jbool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int
out_error(struct cli *cli, const pyro_error *err)
{
	if (cli->json) {
		cJSON	*o = cJSON_CreateObject();
		cJSON	*e = cJSON_AddObjectToObject(o, "error");
		char	*text;

		cJSON_AddFalseToObject(o, "ok");
		cJSON_AddStringToObject(e, "code", err->code);
		cJSON_AddStringToObject(e, "message", err->message);
		if ((text = cJSON_Print(o)) != NULL) {
			printf("%s\n", text);
			free(text);
		}
		cJSON_Delete(o);
	} else
		fprintf(stderr, "pyro: %s (%s)\n", err->message, err->code);
	return EXIT_FAILED;
}

int
out_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pyro: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return cli_usage(c, 1);
}

int
out_result(struct cli *cli, const char *result_json,
    void (*render)(const cJSON *))
{
	cJSON	*res = cJSON_Parse(result_json);
	char	*text;

	if (res == NULL) {
		fprintf(stderr, "pyro: pyrod sent an unreadable result "
		    "(protocol_error)\n");
		return EXIT_FAILED;
	}
	if (cli->json || render == NULL) {
		if ((text = cJSON_Print(res)) != NULL) {
			printf("%s\n", text);
			free(text);
		}
	} else
		render(res);
	cJSON_Delete(res);
	return EXIT_OK;
}

/* A registry listing ({KEY: [{id, state, environment, created_at}]}). */
void
out_records(const cJSON *r, const char *key)
{
	const cJSON	*it;
	int		 n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, key)) {
		if (n++ == 0)
			printf("%-16s  %-10s  %-16s  %s\n", "ID", "STATE",
			    "ENVIRONMENT", "CREATED");
		printf("%-16s  %-10s  %-16s  %s\n", jstr(it, "id", "?"),
		    jstr(it, "state", "?"), jstr(it, "environment", "-"),
		    jstr(it, "created_at", "-"));
	}
	if (n == 0)
		printf("No %s.\n", key);
}
