/* pyrod's side of pyro-diskhelper: one helper per disk request. */
#ifndef PYROD_DISK_H
#define PYROD_DISK_H

#include <stdint.h>

#include "pyrod.h"
#include "redact.h"

struct disk_entry {
	uint32_t	 ino, mode, uid, gid, nlink;
	uint64_t	 size;
	int64_t		 mtime;
	const char	*path;
	const char	*target;
};

struct dreq;
struct dreq_ops {
	/* Checked entries of a list, in order. */
	void	(*on_entry)(const struct disk_entry *, void *arg);
	/* File content of a read, in order. */
	void	(*on_data)(const uint8_t *, size_t, void *arg);
	/* Exactly once; err NULL on success. */
	void	(*on_done)(const struct pyro_status *err,
		    const struct pyro_msg_disk_done *, void *arg);
};

/*
 * Open the record's rootfs.ext4 (read-write only for DISK_SCRUB), spawn a
 * diskhelper and give it the request.  out_fd (or -1) is the export's
 * output; it is taken in every case.  The request, or NULL with st set
 * (no callback then); it is freed after on_done.
 */
struct dreq	*dreq_start(struct record *, enum pyro_disk_op, const char *path,
	    uint32_t flags, uint64_t max_bytes, int out_fd,
	    const struct dreq_ops *, void *arg, struct pyro_status *st);
/*
 * The secret values the helper masks in a read's content and an export's
 * blocks (copied; call right after dreq_start).  -1: no memory, or a value
 * too long to pass; the request then fails (on_done with an error).
 */
int	dreq_set_secrets(struct dreq *, const struct pyro_secrets *);
/* Stop (1) or resume (0) reading the helper: the client's pace. */
void	dreq_pause(struct dreq *, int paused);

#endif
