/*
 * Processes acting on the host for pyro: SIGKILL every task a
 * cgroup.procs file lists (but PID 1 and the caller): pyrod for a dead
 * helper's VM group, the Firecracker connector for its own group when its
 * vmhelper is gone; and rm -rf of a tree in a child.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * Remove dirfd/name and what is beneath it, never following a link and
 * never leaving this file system: GNU rm -rf, which walks by fd (no path
 * grows past PATH_MAX, however deep the tree), in a child that works in
 * dirfd (AT_FDCWD: here), so the caller's working directory never
 * moves.  Used by libpyro (env prune) and pyro-oci.
 */
int
pyro_rm_tree_at(int dirfd, const char *name)
{
	const char	*last = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	pid_t		 pid;
	int		 st;

	if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if (dirfd != AT_FDCWD && fchdir(dirfd) < 0)
			_exit(127);
		execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", name,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
