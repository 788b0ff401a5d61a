#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "frame.h"
#include "path.h"

int
pyro_atomic_write(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode)
{
	char	tmp[PYRO_NAME_LEN_MAX * 2 + 64], id[PYRO_ID_LEN + 1];
	int	fd = -1, rc;

	if (strchr(name, '/') != NULL || strlen(name) > PYRO_NAME_LEN_MAX * 2)
		return -EINVAL;
	if ((rc = pyro_id_new(id)) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s%s.%s", PYRO_TMP_PREFIX, name, id);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if ((rc = pyro_write_all(fd, data, len)) < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = -errno;
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

int
pyro_atomic_sweep(int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, n = 0;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PYRO_TMP_PREFIX,
		    strlen(PYRO_TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
