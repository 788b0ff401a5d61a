/*
 * The VMM's cgroup, made by pyro-vmhelper before the launcher execs QEMU
 * and removed when QEMU is gone.  pyrod made the parent directories (and
 * sweeps groups a killed helper left); Landlock lets this helper write
 * only beneath them.
 *
 *	v1: /sys/fs/cgroup/{memory,cpu,pids}/pyro/<id>/
 *	    memory.limit_in_bytes, cpu.shares, pids.max, cgroup.procs
 *	v2: /sys/fs/cgroup/pyro/<id>/
 *	    memory.max, cpu.weight, pids.max, cgroup.procs
 *
 * An OOM kill shows in v1's memory.oom_control ("oom_kill N") or v2's
 * memory.events; cg_oomed() reads it after QEMU died, before the group
 * goes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "vmhelper.h"

static const char *const v1_ctrl[] = { "memory", "cpu", "pids", NULL };

static struct {
	int		made;
	uint32_t	version;
	char		dir[3][96];	/* v1: one per controller; v2: [0] */
	int		ndir;
} cg;

static int
put(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
put(const char *dir, const char *file, const char *fmt, ...)
{
	char	path[160], buf[64];
	va_list	ap;
	int	fd, n, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		rc = -errno;
	close(fd);
	return rc;
}

void
cg_remove(void)
{
	/* Its last tasks may still be leaving (a VMM's children): 1 s. */
	for (int i = 0; i < cg.ndir; i++)
		for (int t = 0; rmdir(cg.dir[i]) < 0 && errno != ENOENT; t++) {
			if (errno != EBUSY || t == 50) {
				log_warn("removing cgroup %s", cg.dir[i]);
				break;
			}
			(void)poll(NULL, 0, 20);
		}
	cg.ndir = 0;
	cg.made = 0;
}

/* Make the group, set its limits, put pid (the launcher) in it. */
static int
cg_make_once(const struct pyro_vm_cgroup *c, pid_t pid, char *err,
    size_t errsz)
{
	int	i, rc = 0;

	cg.version = c->version;
	if (c->version == 0)
		return 0;
	if (c->version == 1) {
		for (i = 0; v1_ctrl[i] != NULL; i++)
			snprintf(cg.dir[i], sizeof(cg.dir[i]),
			    "/sys/fs/cgroup/%s/pyro/%016llx", v1_ctrl[i],
			    (unsigned long long)c->id);
		cg.ndir = i;
	} else {
		snprintf(cg.dir[0], sizeof(cg.dir[0]),
		    "/sys/fs/cgroup/pyro/%016llx", (unsigned long long)c->id);
		cg.ndir = 1;
	}
	/* A group a killed helper left behind is made anew: its counters
	 * (an old oom_kill) must not speak for this VM. */
	for (i = 0; i < cg.ndir; i++)
		if (mkdir(cg.dir[i], 0755) < 0 && (errno != EEXIST ||
		    rmdir(cg.dir[i]) < 0 || mkdir(cg.dir[i], 0755) < 0)) {
			rc = -errno;
			snprintf(err, errsz, "cgroup %s: %s", cg.dir[i],
			    strerror(errno));
			cg.ndir = i;
			cg_remove();
			return rc;
		}
	cg.made = 1;
	if (c->version == 1) {
		if ((rc = put(cg.dir[0], "memory.limit_in_bytes", "%llu",
		    (unsigned long long)c->mem_bytes)) < 0 ||
		    (rc = put(cg.dir[1], "cpu.shares", "%u",
		    c->cpu_weight * 1024 / 100 + 2)) < 0 ||
		    (rc = put(cg.dir[2], "pids.max", "%u", c->pids_max)) < 0)
			goto fail;
		for (i = 0; i < cg.ndir; i++)
			if ((rc = put(cg.dir[i], "cgroup.procs", "%d",
			    (int)pid)) < 0)
				goto fail;
		return 0;
	}
	if ((rc = put(cg.dir[0], "memory.max", "%llu",
	    (unsigned long long)c->mem_bytes)) < 0 ||
	    (rc = put(cg.dir[0], "cpu.weight", "%u", c->cpu_weight)) < 0 ||
	    (rc = put(cg.dir[0], "pids.max", "%u", c->pids_max)) < 0 ||
	    (rc = put(cg.dir[0], "cgroup.procs", "%d", (int)pid)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errsz, "setting up the VMM's cgroup: %s",
	    strerror(-rc));
	cg_remove();
	return rc;
}

/*
 * Another pyrod on the host (tests run several) sweeps empty groups it
 * does not own: one swept between our mkdir and our task joining it
 * answers ENODEV or ENOENT.  Made again, a few times; once the launcher
 * is in it, the group is not empty and no sweep can take it.
 */
int
cg_make(const struct pyro_vm_cgroup *c, pid_t pid, char *err, size_t errsz)
{
	int	rc, t;

	for (t = 0; t < 5; t++)
		if ((rc = cg_make_once(c, pid, err, errsz)) != -ENODEV &&
		    rc != -ENOENT)
			break;
	return rc;
}

/* Did the kernel OOM-kill something in the group? */
int
cg_oomed(void)
{
	char	path[160], buf[512], *p;

	if (!cg.made)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", cg.dir[0], cg.version == 1 ?
	    "memory.oom_control" : "memory.events");
	if (pyro_read_small(path, buf, sizeof(buf)) <= 0 ||
	    (p = strstr(buf, "oom_kill ")) == NULL)
		return 0;
	return atoi(p + strlen("oom_kill ")) > 0;
}

