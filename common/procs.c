/*
 * SIGKILL every task a cgroup.procs file lists (but PID 1 and the caller):
 * pyrod for a dead helper's VM group, the Firecracker connector for its
 * own group when its vmhelper is gone.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "procs.h"

int
pyro_kill_procs(const char *procs)
{
	char	line[32];
	FILE	*f;
	long	pid;
	int	n = 0;

	if ((f = fopen(procs, "re")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((pid = strtol(line, NULL, 10)) > 1 &&
		    pid != (long)getpid()) {
			(void)kill((pid_t)pid, SIGKILL);
			n++;
		}
	fclose(f);
	return n;
}
