/*
 * SIGKILL the tasks of a cgroup.procs file (common/procs.c), but PID 1
 * and the caller: how many were signalled, or -errno.
 */
#ifndef PYRO_PROCS_H
#define PYRO_PROCS_H

int	pyro_kill_procs(const char *procs_file);

#endif
