/*
 * Installed environments, as pyrod uses them.  pyrod opens the parts of an
 * environment itself (from its own cache: root installs environments) and
 * hands the fds to the VM helper; it never passes a path on.
 *
 * Integrity: manifest.json lists every part's size and sha256.  Sizes are
 * checked here on every use; hashing a 1 GiB image takes seconds, so it is
 * done by the VM helper, off this loop, and only for parts whose
 * (device, inode, size, mtime, ctime) stamp has not been verified before by
 * this pyrod.  Any change to a file changes its stamp.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "log.h"
#include "pyrod.h"

#define MANIFEST_MAX	65536
#define STAMPS_MAX	64

static struct env_stamp	verified[STAMPS_MAX];
static int		nverified;

static const char *part_names[] = {
	[VM_FILE_KERNEL] = "vmlinux",
	[VM_FILE_INITRD] = "initramfs.cpio",
	[VM_FILE_ROOTFS] = "rootfs.ext4",
};

const char *
env_cache_dir(void)
{
	static char	 dir[4096];
	const char	*s = getenv("PYRO_ENVIRONMENT_CACHE_DIR");
	struct passwd	*pw;

	if (dir[0] != '\0')
		return dir;
	if (s != NULL && *s != '\0')
		snprintf(dir, sizeof(dir), "%s", s);
	else if ((pw = getpwuid(0)) != NULL)
		snprintf(dir, sizeof(dir), "%s/.cache/pyro/environments",
		    pw->pw_dir);
	else
		snprintf(dir, sizeof(dir), "/root/.cache/pyro/environments");
	return dir;
}

int
env_stamp_fd(int fd, struct env_stamp *s)
{
	struct stat	st;

	if (fstat(fd, &st) < 0)
		return -errno;
	memset(s, 0, sizeof(*s));
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->ctime = st.st_ctim;
	return 0;
}

int
env_stamp_known(const struct env_stamp *s)
{
	int	i;

	for (i = 0; i < nverified; i++)
		if (memcmp(&verified[i], s, sizeof(*s)) == 0)
			return 1;
	return 0;
}

void
env_mark_verified(const struct env *e, uint32_t mask)
{
	int	k;

	for (k = VM_FILE_KERNEL; k < VM_FILE__MAX; k++) {
		if (!(mask & (1u << k)) || env_stamp_known(&e->stamp[k]))
			continue;
		if (nverified == STAMPS_MAX)
			nverified = 0;	/* forget the oldest: re-verify */
		verified[nverified++] = e->stamp[k];
	}
}

/* Close the files; the name and digests stay for reporting. */
void
env_close(struct env *e)
{
	int	k;

	for (k = 0; k < VM_FILE__MAX; k++) {
		if (e->fd[k] >= 0)
			close(e->fd[k]);
		e->fd[k] = -1;
	}
}

/* A small JSON file (under max bytes) in dfd, parsed; NULL if not. */
cJSON *
env_read_json(int dfd, const char *name, size_t max)
{
	char	*buf;
	ssize_t	 n;
	int	 fd;
	cJSON	*m;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, max);
	close(fd);
	if (n <= 0 || (size_t)n == max) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	m = cJSON_Parse(buf);
	free(buf);
	return m;
}

int
env_hexdigest_ok(const char *s)
{
	int	i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

int
env_open(const char *name, const char *cache, struct env *e,
    struct pyro_status *st)
{
	char		 path[4200];
	cJSON		*m = NULL;
	const cJSON	*parts, *p, *kv;
	struct env_stamp	 s;
	int		 dfd = -1, k;

	memset(e, 0, sizeof(*e));
	for (k = 0; k < VM_FILE__MAX; k++)
		e->fd[k] = -1;
	/* A catalog name, or a custom one that pyro env import made. */
	if (pyro_catalog_find(name) == NULL && !pyro_env_name_custom_ok(name))
		return pyro_fail(st, PYRO_E_UNKNOWN_ENVIRONMENT,
		    "unknown environment \"%.64s\"; pyro env list shows the "
		    "catalog", name);
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", cache ? cache : env_cache_dir(),
	    name);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0 && pyro_catalog_find(name) == NULL)
		return pyro_fail(st, PYRO_E_UNKNOWN_ENVIRONMENT,
		    "unknown environment \"%.64s\": not in the catalog, and "
		    "no custom environment of that name is installed (pyro "
		    "env import NAME --image REF)", name);
	if (dfd < 0)
		return pyro_fail(st, PYRO_E_ENVIRONMENT_NOT_INSTALLED,
		    "environment %s is not installed; run: pyro env pull %s",
		    name, name);
	if ((m = env_read_json(dfd, "manifest.json", MANIFEST_MAX)) == NULL)
		goto corrupt;
	kv = cJSON_GetObjectItemCaseSensitive(m, "name");
	if (!cJSON_IsString(kv) || strcmp(kv->valuestring, name) != 0)
		goto corrupt;
	if (pyro_catalog_find(name) == NULL &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "custom")))
		goto corrupt;
	kv = cJSON_GetObjectItemCaseSensitive(m, "kernel_version");
	if (cJSON_IsString(kv))
		snprintf(e->kernel_version, sizeof(e->kernel_version), "%s",
		    kv->valuestring);
	/* Environments built before "vmms" run under QEMU only. */
	kv = cJSON_GetObjectItemCaseSensitive(m, "vmms");
	e->firecracker = 0;
	for (p = kv != NULL ? kv->child : NULL; cJSON_IsArray(kv) && p != NULL;
	    p = p->next)
		if (cJSON_IsString(p) && strcmp(p->valuestring,
		    "firecracker") == 0)
			e->firecracker = 1;
	parts = cJSON_GetObjectItemCaseSensitive(m, "parts");
	for (k = VM_FILE_KERNEL; k <= VM_FILE_ROOTFS; k++) {
		const cJSON *sz, *dg;

		p = cJSON_GetObjectItemCaseSensitive(parts, part_names[k]);
		sz = cJSON_GetObjectItemCaseSensitive(p, "size");
		dg = cJSON_GetObjectItemCaseSensitive(p, "sha256");
		if (!cJSON_IsNumber(sz) || !cJSON_IsString(dg) ||
		    !env_hexdigest_ok(dg->valuestring))
			goto corrupt;
		memcpy(e->sha256[k], dg->valuestring, 65);
		e->fd[k] = openat(dfd, part_names[k], O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW);
		if (e->fd[k] < 0 || env_stamp_fd(e->fd[k], &s) < 0)
			goto corrupt;
		e->stamp[k] = s;
		if ((double)s.size != sz->valuedouble) {
			pyro_fail(st, PYRO_E_ENVIRONMENT_CORRUPT,
			    "environment %s: %s has %lld bytes, the manifest "
			    "says %.0f; rebuild it (pyro env pull %s)", name,
			    part_names[k], (long long)s.size, sz->valuedouble,
			    name);
			goto fail;
		}
		if (!env_stamp_known(&s))
			e->verify_mask |= 1u << k;
	}
	cJSON_Delete(m);
	close(dfd);
	return 0;
corrupt:
	pyro_fail(st, PYRO_E_ENVIRONMENT_CORRUPT, "environment %s is "
	    "incomplete or its manifest is unreadable; rebuild it (pyro env "
	    "pull %s)", name, name);
fail:
	cJSON_Delete(m);
	if (dfd >= 0)
		close(dfd);
	env_close(e);
	return -1;
}

/*
 * The cache pyrod boots from, and which catalog environments it holds
 * (installed: the manifest opens and its parts have their sizes; the
 * sha256 check waits for the first boot, as always).
 */
void
op_environment_cache(struct request *rq, const cJSON *args)
{
	const struct pyro_catalog_entry	*c;
	struct pyro_status		 st;
	struct env			 e;
	cJSON				*res, *arr, *o;

	(void)args;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "cache_dir", env_cache_dir());
	/* The registry pyro env pull uses when the caller names none. */
	if (conf.env_registry[0] != '\0')
		cJSON_AddStringToObject(res, "environment_registry",
		    conf.env_registry);
	arr = cJSON_AddArrayToObject(res, "environments");
	for (c = pyro_catalog; c->name != NULL; c++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		if (env_open(c->name, NULL, &e, &st) == 0) {
			env_close(&e);
			cJSON_AddTrueToObject(o, "installed");
		} else {
			cJSON_AddFalseToObject(o, "installed");
			if (st.code != PYRO_E_ENVIRONMENT_NOT_INSTALLED)
				cJSON_AddStringToObject(o, "problem",
				    st.message);
		}
		cJSON_AddItemToArray(arr, o);
	}
	ctl_reply_ok(rq, res);
}
