/* The curated environment catalog that ships with this release. */
#ifndef PYRO_CATALOG_H
#define PYRO_CATALOG_H

#define PYRO_CATALOG_VERSION	"3.1.0"

struct pyro_catalog_entry {
	const char	*name;
	const char	*description;
};

extern const struct pyro_catalog_entry pyro_catalog[];

/* The entry for name, or NULL when it is not in the catalog. */
const struct pyro_catalog_entry *pyro_catalog_find(const char *name);

/*
 * A custom environment's name (pyro env import): NAME[:TAG], NAME
 * [a-z0-9][a-z0-9._-]{0,63}, TAG [a-z0-9._-]{1,64}, not a catalog name.
 * It is a directory name in the cache: no "/", never "." or "..".
 */
int	pyro_env_name_custom_ok(const char *name);

#endif
