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
