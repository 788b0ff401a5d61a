/*
 * libpyro internals shared by its files; nothing here is exported (the
 * version script keeps every pyro__ symbol local).
 */
#ifndef LIBPYRO_INTERNAL_H
#define LIBPYRO_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "pyro/pyro.h"

/* Fill err (when not NULL) with code and a message; returns -1. */
int	pyro__fail(pyro_error *err, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* pyro_call() with fd passed along ("fd": true); -1 for none. */
int	pyro__call_fd(pyro_client *, const char *op, const char *args_json,
	    int fd, char **result_json, pyro_error *err);
/* Exchange the client's output handler with the one in fn and arg. */
void	pyro__swap_output(pyro_client *, pyro_output_fn *fn, void **arg);
/* The same for the event handler. */
void	pyro__swap_event(pyro_client *, pyro_event_fn *fn, void **arg);

/* The client's progress handler (NULL: none) and its arg. */
pyro_progress_fn pyro__progress_of(const pyro_client *, void **arg);
/* Report the growth of fd as phase "write" until stopped; NULL: none. */
struct pyro__watch *pyro__watch_start(pyro_client *, int fd);
void	pyro__watch_stop(struct pyro__watch *);

/*
 * An archive stream made from a host directory or a .tar/.tar.gz/.tgz,
 * checked in full before the first byte goes out (so a bad entry fails
 * the call with nothing sent), then written by a thread into a socket
 * whose other end goes to pyrod.
 */
struct pyro_pack {
	char		 src[4096];
	int		 is_dir;
	int		 wfd;		/* the thread's end */
	pthread_t	 th;
	int		 started;
	uint64_t	 files, dirs, links, bytes;
	char		 err_code[64];
	char		 err_msg[400];
	int		 failed;
	/* Progress (pyro_set_progress_handler()): totals of the check. */
	pyro_progress_fn progress;
	void		*progress_arg;
	uint64_t	 total_files, total_bytes, sent_bytes, progress_ms;
	const char	*progress_phase;	/* of the last call */
};

/*
 * Check src and start the writer thread; *rfd is the end to pass to pyrod
 * (the caller closes it after sending).  Returns 0 or -1 with err set.
 */
int	pyro__pack_start(struct pyro_pack *, const char *src, int *rfd,
	    pyro_error *err);
/*
 * The same, with fn (may be NULL) called from the checking pass (phase
 * "check") and from the writer thread ("send"), at most ten times a
 * second.
 */
int	pyro__pack_start_progress(struct pyro_pack *, const char *src,
	    int *rfd, pyro_progress_fn fn, void *arg, pyro_error *err);
/* Wait for the writer; 0, or -1 with err set when it failed. */
int	pyro__pack_finish(struct pyro_pack *, pyro_error *err);
/* "directory", "tar", "tar.gz" (by the name and what is there). */
const char *pyro__pack_kind(const struct pyro_pack *);

/*
 * An export: the archive the guest sends (as stdout output) is unpacked by
 * a thread into a fresh directory next to the output path, then renamed
 * into place.  The unpacking refuses absolute paths, "..", writing through
 * symlinks, and anything but files, directories and symlinks.
 */
struct pyro_unpack {
	char		 out[4096];
	char		 tmp[4200];
	int		 force;
	int		 wfd, rfd;
	pthread_t	 th;
	int		 started;
	uint64_t	 files, dirs, links, bytes;
	char		 top[256];
	char		 err_msg[400];
	int		 failed;
};

int	pyro__unpack_start(struct pyro_unpack *, const char *out, int force,
	    pyro_error *err);
/* Feed output bytes (stdout of the export). */
void	pyro__unpack_feed(struct pyro_unpack *, const void *, size_t);
/* ok: the call succeeded; then move the result into place. */
int	pyro__unpack_finish(struct pyro_unpack *, int ok, pyro_error *err);

#endif
