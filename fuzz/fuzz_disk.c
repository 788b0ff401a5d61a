/*
 * libFuzzer target for diskhelper/ext4.c: the bytes are an ext4 image a
 * guest wrote.  Each input goes into a memfd and through what pyrod can ask
 * of pyro-diskhelper: a recursive list of the root, lists and reads of a
 * few paths (through /workspace, symlinks, "..", inline data), then the
 * scrub on a copy opened read-write.  Deterministic (no clock or random
 * input reaches a decision) and bounded: reads stop at READ_MAX bytes, and
 * the walks carry the limits of ext4.c itself.
 *
 * Build (scripts/fuzz.sh): clang -g -O1 -fsanitize=fuzzer,address,undefined
 * -I<builddir> -Icommon -Iinclude -Idiskhelper fuzz/fuzz_disk.c
 * diskhelper/ext4.c common/errcode.c $(pkg-config --cflags --libs ext2fs
 * com_err).  Seeds: fuzz/corpus/disk (fuzz/make-disk-seeds.sh); crashes
 * found become fuzz/regress/disk images and tests in tests/check_disk.c.
 */
#include "config.h"		/* _GNU_SOURCE, for memfd_create() */

#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ext4.h"

#define READ_MAX	(256 * 1024)

static const char *const list_paths[] = {
	"", "/", "/workspace/sub", "link", "../../etc", "/run", NULL
};
static const char *const read_paths[] = {
	"small.txt", "inline.txt", "fast-link", "slow-link", "abs-link",
	"sub/deep/f", "/etc/hostname", "loop-a", "evil", NULL
};

static int
drop_entry(const struct dk_entry *e, void *arg)
{
	/* Touch what a caller would, so ASan sees bad pointers here. */
	*(size_t *)arg += strlen(e->path) + strlen(e->target);
	return 0;
}

static int
drop_data(const void *p, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += n;
	return 0;
}

/* A memfd holding data, at offset 0; -1 if one cannot be made. */
static int
image_fd(const uint8_t *data, size_t size)
{
	int	fd = memfd_create("fuzz-disk", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
read_only(int fd)
{
	struct dk	*d;
	char		 err[DK_ERR_MAX];
	uint64_t	 n;
	size_t		 sink = 0;
	int		 i;

	if (dk_open(fd, 0, &d, err) != 0)
		return;
	(void)dk_needs_recovery(d);
	(void)dk_list(d, "/", 1, drop_entry, &sink, &n, err);
	for (i = 0; list_paths[i] != NULL; i++)
		(void)dk_list(d, list_paths[i], 0, drop_entry, &sink, &n,
		    err);
	for (i = 0; read_paths[i] != NULL; i++)
		(void)dk_read(d, read_paths[i], READ_MAX, drop_data, &sink,
		    &n, err);
	(void)dk_close(d, err);
}

static void
scrub(int fd)
{
	struct dk	*d;
	char		 err[DK_ERR_MAX];
	uint64_t	 n;

	if (dk_open(fd, 1, &d, err) != 0)
		return;
	(void)dk_scrub(d, &n, err);
	(void)dk_close(d, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	fd;

	/* Below a superblock's end there is nothing to open. */
	if (size < 2048)
		return 0;
	if ((fd = image_fd(data, size)) >= 0) {
		read_only(fd);
		close(fd);
	}
	/* The scrub writes: a fresh copy, so the input stays as given. */
	if ((fd = image_fd(data, size)) >= 0) {
		scrub(fd);
		close(fd);
	}
	return 0;
}
