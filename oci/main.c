/*
 * pyro-oci pull URL NAME CACHE [AGENT_SHA256] [--force]
 * pyro-oci push URL NAME CACHE
 * pyro-oci import IMAGE NAME CACHE BASE
 *
 * Started by libpyro (pyro_env_pull(), pyro_env_push()) as the caller:
 * progress lines on stdout, one JSON document on fd 3 (the result, or
 * {"error":{"code","message"}}), exit 0 or 1.  It holds registry
 * credentials, so it is not dumpable and writes no core.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ocitool.h"

const char *verb = "pull";

void
progress(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int
emit(cJSON *o)
{
	char	*s = cJSON_PrintUnformatted(o);
	FILE	*f = fcntl(3, F_GETFD) >= 0 ? fdopen(3, "w") : stdout;

	if (s == NULL || f == NULL)
		return -1;
	fprintf(f, "%s\n", s);
	fflush(f);
	free(s);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pyro-oci pull URL NAME CACHE [AGENT_SHA256] "
	    "[--force]\n       pyro-oci push URL NAME CACHE\n"
	    "       pyro-oci import IMAGE NAME CACHE BASE\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct rlimit	 rl = { 0, 0 };
	struct oerr	 e = { PYRO_ERR_INTERNAL, "failed" };
	cJSON		*res = NULL, *o, *er;
	int		 force = 0;

	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)umask(022);
	if (argc > 1 && strcmp(argv[argc - 1], "--force") == 0) {
		force = 1;
		argc--;
	}
	if (argc < 5)
		usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	if (strcmp(argv[1], "pull") == 0 && argc <= 6)
		res = cmd_pull(argv[2], argv[3], argv[4], argc == 6 ? argv[5] :
		    NULL, force, &e);
	else if (strcmp(argv[1], "push") == 0 && argc == 5)
		res = cmd_push(argv[2], argv[3], argv[4], &e);
	else if (strcmp(argv[1], "import") == 0 && argc == 6)
		res = cmd_import(argv[2], argv[3], argv[4], argv[5], &e);
	else
		usage();
	curl_global_cleanup();
	if (res != NULL) {
		emit(res);
		cJSON_Delete(res);
		return 0;
	}
	o = cJSON_CreateObject();
	er = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(er, "code", e.code);
	cJSON_AddStringToObject(er, "message", e.msg);
	emit(o);
	cJSON_Delete(o);
	return 1;
}
