/*
 * pyrod.conf(5): "key = value" lines, '#' comments.  Unknown keys are
 * errors, so a typo never silently falls back to a default.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pyrod.h"

struct pyrod_config conf;

#define STR(f)	offsetof(struct pyrod_config, f), sizeof(((struct pyrod_config *)0)->f)
static const struct {
	const char	*key;
	size_t		 off;
	size_t		 size;
} keys[] = {
	{ "socket", STR(socket_path) },
	{ "state_dir", STR(state_dir) },
	{ "libexec_dir", STR(libexec_dir) },
	{ "group", STR(group) },
	{ "helper_user", STR(helper_user) },
	{ "pid_file", STR(pid_file) },
	{ "vmm", STR(vmm) },
	{ "qemu_path", STR(qemu_path) },
	{ "firecracker_path", STR(firecracker_path) },
	{ "jailer_path", STR(jailer_path) },
};

void
config_defaults(struct pyrod_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s",
	    "/run/pyro/pyrod.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", "/var/lib/pyro");
	snprintf(c->libexec_dir, sizeof(c->libexec_dir), "%s", PYRO_LIBEXECDIR);
	snprintf(c->group, sizeof(c->group), "%s", "pyro");
	snprintf(c->helper_user, sizeof(c->helper_user), "%s", "nobody");
	snprintf(c->vmm, sizeof(c->vmm), "%s", "auto");
	c->socket_mode = 0660;
	c->boot_timeout_s = 60;
	c->group_gid = (gid_t)-1;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
config_load(struct pyrod_config *c, const char *path)
{
	FILE	*f;
	char	 line[4200], *k, *v, *eq;
	int	 lineno = 0, rc = 0;
	size_t	 i;

	if ((f = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((k = strchr(line, '#')) != NULL)
			*k = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			log_warnx("%s:%d: expected \"key = value\"", path,
			    lineno);
			rc = -1;
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (strcmp(k, "boot_timeout_seconds") == 0) {
			char *end;
			unsigned long t = strtoul(v, &end, 10);
			if (*end != '\0' || t < 1 || t > 3600) {
				log_warnx("%s:%d: boot_timeout_seconds must be "
				    "1 to 3600", path, lineno);
				rc = -1;
			} else
				c->boot_timeout_s = (unsigned)t;
			continue;
		}
		if (strcmp(k, "socket_mode") == 0) {
			char *end;
			unsigned long m = strtoul(v, &end, 8);
			if (*end != '\0' || m > 0777) {
				log_warnx("%s:%d: bad socket_mode", path,
				    lineno);
				rc = -1;
			} else
				c->socket_mode = (unsigned)m;
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(keys[i].key, k) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			log_warnx("%s:%d: unknown key \"%s\"", path, lineno,
			    k);
			rc = -1;
			continue;
		}
		if (strlen(v) >= keys[i].size) {
			log_warnx("%s:%d: value too long", path, lineno);
			rc = -1;
			continue;
		}
		memcpy((char *)c + keys[i].off, v, strlen(v) + 1);
	}
	fclose(f);
	return rc;
}

/* Turn names into ids once, at start. */
int
config_resolve(struct pyrod_config *c)
{
	struct passwd	*pw;
	struct group	*gr;

	if (strcmp(c->vmm, "auto") != 0 && strcmp(c->vmm, "qemu") != 0 &&
	    strcmp(c->vmm, "firecracker") != 0) {
		log_warnx("vmm must be auto, qemu or firecracker");
		return -1;
	}
	if ((pw = getpwnam(c->helper_user)) == NULL) {
		log_warnx("helper_user %s does not exist", c->helper_user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("helper_user must not be root");
		return -1;
	}
	c->helper_uid = pw->pw_uid;
	c->helper_gid = pw->pw_gid;
	if ((gr = getgrnam(c->group)) != NULL)
		c->group_gid = gr->gr_gid;
	else
		log_info("group %s does not exist: only root may use pyrod",
		    c->group);
	return 0;
}
