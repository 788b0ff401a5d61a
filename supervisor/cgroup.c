/*
 * VMs in cgroups, pyrod's side.  pyrod finds the hierarchy at start and
 * makes pyro's parent groups; each VM's helper makes the VMM's own group
 * beneath them (vmhelper/cgroup.c) and removes it when QEMU is gone.
 * pyrod removes groups that no live VM owns (a killed helper's) at start
 * and with every network sweep.
 *
 *	v2	/sys/fs/cgroup/cgroup.controllers names memory, cpu and pids:
 *		/sys/fs/cgroup/pyro/, with those enabled for its children
 *	v1	/sys/fs/cgroup/{memory,cpu,pids} hierarchies: CTRL/pyro/
 *
 * cgroups = auto (the default) uses what the host has and runs VMs
 * without when it has nothing (doctor says so); require refuses to start
 * pyrod without; off never uses them.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "procs.h"
#include "pyrod.h"

static const char *const v1_ctrl[] = { "memory", "cpu", "pids" };
static int	cg_version;		/* 0 none, 1, 2 */
static char	cg_reason[200];

static int
has_controllers(const char *path)
{
	char	buf[512];

	if (pyro_read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	return strstr(buf, "memory") && strstr(buf, "pids") &&
	    strstr(buf, "cpu");
}

static int
write_str(const char *path, const char *s)
{
	int	fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int
mkdir_ok(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static int
setup(void)
{
	char	path[128];
	int	rc;

	if (has_controllers("/sys/fs/cgroup/cgroup.controllers")) {
		if ((rc = write_str("/sys/fs/cgroup/cgroup.subtree_control",
		    "+memory +cpu +pids")) < 0 ||
		    (rc = mkdir_ok("/sys/fs/cgroup/pyro")) < 0 ||
		    (rc = write_str("/sys/fs/cgroup/pyro/cgroup.subtree_control",
		    "+memory +cpu +pids")) < 0) {
			snprintf(cg_reason, sizeof(cg_reason), "cgroup v2: "
			    "cannot make /sys/fs/cgroup/pyro: %s",
			    strerror(-rc));
			return 0;
		}
		snprintf(cg_reason, sizeof(cg_reason), "cgroup v2 at "
		    "/sys/fs/cgroup/pyro");
		return 2;
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs",
		    v1_ctrl[i]);
		if (access(path, F_OK) < 0) {
			snprintf(cg_reason, sizeof(cg_reason), "no cgroup v2 "
			    "with memory, cpu and pids, and no v1 %s "
			    "hierarchy at /sys/fs/cgroup/%s", v1_ctrl[i],
			    v1_ctrl[i]);
			return 0;
		}
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/pyro",
		    v1_ctrl[i]);
		if ((rc = mkdir_ok(path)) < 0) {
			snprintf(cg_reason, sizeof(cg_reason), "cgroup v1: "
			    "cannot make %s: %s", path, strerror(-rc));
			return 0;
		}
	}
	snprintf(cg_reason, sizeof(cg_reason), "cgroup v1 (memory, cpu, "
	    "pids) at /sys/fs/cgroup/CTRL/pyro");
	return 1;
}

int
cgroup_init(void)
{
	if (conf.cgroups == CG_OFF) {
		snprintf(cg_reason, sizeof(cg_reason), "off in pyrod.conf");
		return 0;
	}
	cg_version = setup();
	if (cg_version == 0) {
		if (conf.cgroups == CG_REQUIRE) {
			log_warnx("cgroups = require, but %s", cg_reason);
			return -1;
		}
		log_warnx("VMs run without cgroups: %s", cg_reason);
	}
	cgroup_sweep();
	return 0;
}

/* Remove every group beneath one parent that no live VM owns. */
static int
sweep_dir(const char *parent)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[200];
	int		 n = 0;

	if ((d = opendir(parent)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 || strspn(de->d_name,
		    "0123456789abcdef") != 16 || vmi_owns_id(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (rmdir(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

void
cgroup_sweep(void)
{
	char	parent[64];
	int	n = 0;

	if (cg_version == 2)
		n = sweep_dir("/sys/fs/cgroup/pyro");
	else if (cg_version == 1)
		for (size_t i = 0; i < 3; i++) {
			snprintf(parent, sizeof(parent),
			    "/sys/fs/cgroup/%s/pyro", v1_ctrl[i]);
			n += sweep_dir(parent);
		}
	if (n > 0)
		log_info("removed %d leftover cgroup(s)", n);
}

/*
 * After a VM helper died without cleaning up: its VMM leaves a moment
 * later (its parent-death signal), so that VM's groups, and only those
 * (another pyrod on the host, as in tests, owns groups this one does not
 * know), are removed each second until they are empty, for at most a
 * minute; not if a VM of the same id has started again meanwhile.
 */
#define LATER_MAX	64
static struct {
	char	id[17];
	int	tries;
}			 later_ids[LATER_MAX];
static struct timer	*later;

/*
 * SIGKILL every task of a dead helper's VM group: a Firecracker (its
 * jailer's orphan, with no parent-death signal) or a host-compat sandbox
 * outlives its helper otherwise.  Only that VM's group: nothing else runs
 * there.
 */
static void
kill_tasks(const char *dir)
{
	char	path[220];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	(void)pyro_kill_procs(path);
}

/*
 * SIGKILL what is left in id's groups and wait (at most 2 s) until they
 * are empty: a Firecracker whose helper died must be gone before its jail
 * is removed and its disk given back.
 */
void
cgroup_kill_id(const char *id)
{
	char	path[200];
	FILE	*f;
	int	t, busy;

	if (cg_version == 0 || strlen(id) != 16)
		return;
	if (cg_version == 2)
		snprintf(path, sizeof(path), "/sys/fs/cgroup/pyro/%.16s", id);
	else
		snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/pyro/%.16s",
		    id);
	for (t = 0; t < 100; t++) {
		char	procs[220], line[32];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
		if ((f = fopen(procs, "re")) == NULL)
			return;
		busy = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		if (!busy)
			return;
		kill_tasks(path);
		usleep(20 * 1000);
	}
	log_warnx("%s: tasks remain in its cgroup", id);
}

/* Remove id's groups: 1 while one still holds a task. */
static int
remove_id(const char *id)
{
	char	path[200];
	int	busy = 0;

	if (cg_version == 2) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/pyro/%.16s", id);
		if (rmdir(path) < 0 && errno == EBUSY) {
			kill_tasks(path);
			busy = 1;
		}
	} else if (cg_version == 1)
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/pyro/"
			    "%.16s", v1_ctrl[i], id);
			if (rmdir(path) < 0 && errno == EBUSY) {
				kill_tasks(path);
				busy = 1;
			}
		}
	return busy;
}

static void
later_cb(void *arg)
{
	int	left = 0;

	(void)arg;
	later = NULL;
	for (size_t i = 0; i < LATER_MAX; i++) {
		if (later_ids[i].id[0] == '\0')
			continue;
		if (vmi_owns_id(later_ids[i].id) ||
		    !remove_id(later_ids[i].id) || ++later_ids[i].tries >= 60)
			later_ids[i].id[0] = '\0';
		else
			left = 1;
	}
	if (left)
		later = timer_add(1000, later_cb, NULL);
}

void
cgroup_remove_later(const char *id)
{
	size_t	i;

	if (cg_version == 0 || strlen(id) != 16)
		return;
	for (i = 0; i < LATER_MAX && later_ids[i].id[0] != '\0' &&
	    strcmp(later_ids[i].id, id) != 0; i++)
		;
	if (i == LATER_MAX) {
		cgroup_sweep();		/* full: the old way, once */
		return;
	}
	memcpy(later_ids[i].id, id, 17);
	later_ids[i].tries = 0;
	if (later == NULL)
		later = timer_add(1000, later_cb, NULL);
}

/*
 * The limit: the guest's memory, the VMM's own overhead, and the host page
 * cache of the VM's disk, which the kernel charges to the group that
 * wrote or read it (at most the disk's size; twice that for a one-shot VM,
 * whose writes go to an overlay on tmpfs).  Without the cache allowance a
 * guest that fills its disk would be OOM-killed for the host's caching.
 */
void
cgroup_vm(const struct record *r, unsigned mem_mib, unsigned vcpus,
    unsigned long long disk_bytes, int snapshot, struct pyro_vm_cgroup *c)
{
	unsigned long long	cache;

	memset(c, 0, sizeof(*c));
	if (cg_version == 0)
		return;
	cache = conf.page_cache_mib >= 0 ?
	    (unsigned long long)conf.page_cache_mib << 20 :
	    disk_bytes * (snapshot ? 2 : 1);
	c->version = (uint32_t)cg_version;
	c->required = conf.cgroups == CG_REQUIRE;
	c->mem_bytes = (((uint64_t)mem_mib + conf.vmm_overhead_mib) << 20) +
	    cache;
	c->pids_max = 256;
	c->cpu_weight = 100 * (vcpus ? vcpus : 1);
	if (c->cpu_weight > 10000)
		c->cpu_weight = 10000;
	c->id = strtoull(r->id, NULL, 16);
}

void
cgroup_doctor(cJSON *o)
{
	cJSON_AddBoolToObject(o, "ok", cg_version != 0);
	cJSON_AddNumberToObject(o, "version", cg_version);
	cJSON_AddStringToObject(o, "mode", conf.cgroups == CG_OFF ? "off" :
	    conf.cgroups == CG_REQUIRE ? "require" : "auto");
	cJSON_AddStringToObject(o, "reason", cg_reason);
	cJSON_AddNumberToObject(o, "vmm_overhead_mib", conf.vmm_overhead_mib);
	if (conf.page_cache_mib >= 0)
		cJSON_AddNumberToObject(o, "page_cache_mib", conf.page_cache_mib);
	else
		cJSON_AddStringToObject(o, "page_cache_mib", "auto");
}
