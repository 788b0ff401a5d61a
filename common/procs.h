/*
 * SIGKILL the tasks of a cgroup.procs file (common/procs.c), but PID 1
 * and the caller: how many were signalled, or -errno.
 */
#ifndef PYRO_PROCS_H
#define PYRO_PROCS_H

int	pyro_kill_procs(const char *procs_file);

/*
 * Remove dirfd/name (dirfd may be AT_FDCWD) and what is beneath it with
 * rm -rf --one-file-system in a child: 0, or -1 (also for a name ending
 * in "", "." or "..").
 */
int	pyro_rm_tree_at(int dirfd, const char *name);

#endif
