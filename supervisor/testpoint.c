/*
 * Test points, for the fault matrix (tests/faultmatrix.sh) and only in
 * builds configured with --enable-test-points.  At a named step of an
 * operation ("workspace.stop:scrub"), pyrod stops itself (SIGSTOP) when
 * the file named by $PYRO_TEST_POINT_FILE holds that name; the test then
 * kills -9 whichever of pyrod, the VM helper, the VMM or the disk helper
 * it means to, and lets pyrod go on (SIGCONT).  The file is removed as the
 * point fires, so one arming stops pyrod once.  In other builds
 * test_point() is an empty macro (pyrod.h) and this file is empty.
 */
#include "config.h"

#ifdef PYRO_TEST_POINTS
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pyrod.h"

void
test_point(const char *op, const char *step)
{
	const char	*file = getenv("PYRO_TEST_POINT_FILE");
	char		 want[128], here[128];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if (file == NULL || op == NULL || (fd = open(file, O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	if (n <= 0)
		return;
	want[n] = '\0';
	want[strcspn(want, "\n")] = '\0';
	snprintf(here, sizeof(here), "%s:%s", op, step);
	if (strcmp(want, here) != 0)
		return;
	(void)unlink(file);
	log_warnx("test point %s: stopping until SIGCONT", here);
	(void)kill(getpid(), SIGSTOP);
	log_warnx("test point %s: going on", here);
}
#else
typedef int	testpoint_unused;	/* no empty translation unit */
#endif
