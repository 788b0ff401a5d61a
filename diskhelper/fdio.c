/*
 * An io_manager over one fd, for libext2fs in pyro-diskhelper: the process
 * can open no path (its seccomp filter allows none), so the image is the
 * fd pyrod passed, and nothing else is ever read or written.  A short
 * image reads as zeros past its end (and says so with SHORT_READ).
 */
#include "config.h"

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "ext4.h"
#include "ext4int.h"

static int	fdio_fd = -1;	/* the image, set by dk_open() */

struct fdio {
	int	fd;
	int	rw;
};

static struct struct_io_manager fdio_manager;

static errcode_t
fdio_open(const char *name, int flags, io_channel *out)
{
	io_channel	 ch;
	struct fdio	*f;

	(void)name;	/* no path is ever opened: the fd is the image */
	if (fdio_fd < 0)
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = calloc(1, sizeof(*ch));
	f = calloc(1, sizeof(*f));
	if (ch == NULL || f == NULL || (ch->name = strdup("image")) == NULL) {
		free(f);
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	f->fd = fdio_fd;
	f->rw = (flags & IO_FLAG_RW) != 0;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &fdio_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = f;
	*out = ch;
	return 0;
}

static errcode_t
fdio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->private_data);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t
fdio_set_blksize(io_channel ch, int size)
{
	if (size <= 0 || size > 65536)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = size;
	return 0;
}

static errcode_t
fdio_rw(io_channel ch, unsigned long long block, int count, void *buf,
    int write)
{
	struct fdio	*f = ch->private_data;
	size_t		 len = count < 0 ? (size_t)-count :
			    (size_t)count * (size_t)ch->block_size;
	off_t		 off = (off_t)(block * (unsigned long long)ch->block_size);
	size_t		 done = 0;
	ssize_t		 n;

	if (write && !f->rw)
		return EXT2_ET_RO_FILSYS;
	while (done < len) {
		n = write ? pwrite(f->fd, (char *)buf + done, len - done,
		    off + (off_t)done) : pread(f->fd, (char *)buf + done,
		    len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A short image: what lies past its end reads as 0. */
			if (!write && n == 0) {
				memset((char *)buf + done, 0, len - done);
				return EXT2_ET_SHORT_READ;
			}
			return write ? EXT2_ET_SHORT_WRITE : EXT2_ET_SHORT_READ;
		}
		done += (size_t)n;
	}
	return 0;
}

static errcode_t
fdio_read_blk64(io_channel ch, unsigned long long block, int count,
    void *buf)
{
	return fdio_rw(ch, block, count, buf, 0);
}

static errcode_t
fdio_write_blk64(io_channel ch, unsigned long long block, int count,
    const void *buf)
{
	return fdio_rw(ch, block, count, (void *)buf, 1);
}

static errcode_t
fdio_read_blk(io_channel ch, unsigned long block, int count, void *buf)
{
	return fdio_rw(ch, block, count, buf, 0);
}

static errcode_t
fdio_write_blk(io_channel ch, unsigned long block, int count,
    const void *buf)
{
	return fdio_rw(ch, block, count, (void *)buf, 1);
}

static errcode_t
fdio_write_byte(io_channel ch, unsigned long offset, int size,
    const void *buf)
{
	struct fdio	*f = ch->private_data;

	if (!f->rw)
		return EXT2_ET_RO_FILSYS;
	if (size < 0 || pwrite(f->fd, buf, (size_t)size, (off_t)offset) !=
	    size)
		return EXT2_ET_SHORT_WRITE;
	return 0;
}

static errcode_t
fdio_flush(io_channel ch)
{
	struct fdio	*f = ch->private_data;

	return (f->rw && fsync(f->fd) < 0) ? (errcode_t)errno : 0;
}

static errcode_t
fdio_set_option(io_channel ch, const char *opt, const char *arg)
{
	(void)ch;
	(void)opt;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager fdio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "pyro fd I/O manager",
	.open = fdio_open,
	.close = fdio_close,
	.set_blksize = fdio_set_blksize,
	.read_blk = fdio_read_blk,
	.write_blk = fdio_write_blk,
	.flush = fdio_flush,
	.write_byte = fdio_write_byte,
	.set_option = fdio_set_option,
	.read_blk64 = fdio_read_blk64,
	.write_blk64 = fdio_write_blk64,
};

struct struct_io_manager *
dk_fdio(int fd)
{
	fdio_fd = fd;
	return &fdio_manager;
}
