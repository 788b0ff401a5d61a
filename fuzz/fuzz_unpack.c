/*
 * The export unpacker (libpyro/transfer.c): the guest writes its input.
 * Each run unpacks into base/out, then checks that the sentinel file
 * beside it kept its mode, size and times, and that nothing but "out"
 * appeared in base; a change anywhere outside is a crash.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char		base[64], out[128], sentinel[128];
static struct stat	want;

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void
init(void)
{
	int	fd;

	snprintf(base, sizeof(base), "/tmp/pyro-fuzz-unpack.XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(out, sizeof(out), "%s/out", base);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", base);
	if ((fd = open(sentinel, O_WRONLY | O_CREAT, 0600)) < 0)
		abort();
	if (write(fd, "sentinel\n", 9) != 9)
		abort();
	close(fd);
	if (stat(sentinel, &want) < 0)
		abort();
}

static void
check(void)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;

	if (lstat(sentinel, &st) < 0 || st.st_mode != want.st_mode ||
	    st.st_size != want.st_size || st.st_nlink != 1 ||
	    st.st_mtim.tv_sec != want.st_mtim.tv_sec)
		abort();
	if ((d = opendir(base)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "sentinel") && strcmp(de->d_name, "out"))
			abort();
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyro_unpack	u;
	pyro_error		err;

	if (base[0] == '\0')
		init();
	if (pyro__unpack_start(&u, out, 1, &err) < 0)
		abort();
	pyro__unpack_feed(&u, data, size);
	(void)pyro__unpack_finish(&u, 1, &err);
	check();
	(void)nftw(out, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
