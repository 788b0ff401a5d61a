#include "config.h"

#include <string.h>

#include "catalog.h"

const struct pyro_catalog_entry pyro_catalog[] = {
	{ "debian:12", "Debian 12 with Git and Python 3 preinstalled for "
	  "common agent workflows (the default)" },
	{ "debian:12-base", "minimal Debian 12 for shell and core Unix "
	  "tooling" },
	{ "debian:12-build", "Debian 12 with Git, Python 3 and common build "
	  "tools (compiler, make)" },
	{ NULL, NULL }
};

const struct pyro_catalog_entry *
pyro_catalog_find(const char *name)
{
	const struct pyro_catalog_entry	*e;

	for (e = pyro_catalog; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int
name_chars(const char *s, size_t n, int first_alnum)
{
	size_t	i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' &&
		    s[i] <= '9') && ((i == 0 && first_alnum) ||
		    (s[i] != '.' && s[i] != '_' && s[i] != '-')))
			return 0;
	return 1;
}

int
pyro_env_name_custom_ok(const char *name)
{
	const char	*colon;

	if (name == NULL || pyro_catalog_find(name) != NULL)
		return 0;
	if ((colon = strchr(name, ':')) == NULL)
		return name_chars(name, strlen(name), 1);
	return name_chars(name, (size_t)(colon - name), 1) &&
	    name_chars(colon + 1, strlen(colon + 1), 0) &&
	    strcmp(colon + 1, ".") != 0 && strcmp(colon + 1, "..") != 0;
}
