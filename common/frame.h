/*
 * Control protocol frames: a 4-byte big-endian length followed by exactly
 * that many bytes of one JSON object.  The length is bounded by
 * PYRO_FRAME_MAX on both sides; a peer that announces more is cut off,
 * because the stream cannot be resynchronised without reading the bytes.
 */
#ifndef PYRO_FRAME_H
#define PYRO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PYRO_FRAME_MAX		(1024 * 1024)
#define PYRO_FRAME_HDR		4

struct pyro_frame_reader {
	uint8_t	*buf;
	size_t	 len;		/* bytes held */
	size_t	 cap;
	size_t	 max;		/* largest payload accepted */
	int	 keep_raw;	/* keep the last frame's text in raw */
	char	*raw;		/* NUL-terminated, valid until the next frame */
	size_t	 rawcap;
};

enum pyro_frame_status {
	PYRO_FRAME_NEED_MORE = 0,
	PYRO_FRAME_OK = 1,
	PYRO_FRAME_BAD_JSON = -1,	/* frame consumed; stream still usable */
	PYRO_FRAME_TOO_LARGE = -2,	/* stream unusable: close it */
	PYRO_FRAME_NOMEM = -3,
	PYRO_FRAME_HAS_NUL = -4,	/* a string holds \u0000; frame consumed */
};

void	pyro_frame_reader_init(struct pyro_frame_reader *, size_t max);
void	pyro_frame_reader_free(struct pyro_frame_reader *);
/* Append n bytes read from the peer.  Returns 0 or -ENOMEM/-EMSGSIZE. */
int	pyro_frame_reader_feed(struct pyro_frame_reader *, const void *, size_t);
/*
 * Take the next complete frame.  On PYRO_FRAME_OK *out is a new JSON object
 * owned by the caller.  Anything that parses but is not an object counts as
 * PYRO_FRAME_BAD_JSON.
 */
enum pyro_frame_status
	pyro_frame_next(struct pyro_frame_reader *, cJSON **out);

/*
 * Serialise obj into a newly allocated frame (header included).  Returns the
 * frame length, or -EMSGSIZE when it would exceed max, or -ENOMEM.
 */
long	pyro_frame_encode(const cJSON *obj, size_t max, uint8_t **out);

/* Blocking helpers for clients.  timeout_ms < 0 waits forever. */
int	pyro_write_all(int fd, const void *, size_t);
int	pyro_frame_write(int fd, const cJSON *obj);
/*
 * The same over a socket with send(MSG_NOSIGNAL): a peer that closed gives
 * -EPIPE, never SIGPIPE.  Library code (libpyro) writes sockets only so,
 * since the caller's program may not ignore SIGPIPE.
 */
int	pyro_send_all(int sock, const void *, size_t);
int	pyro_frame_send(int sock, const cJSON *obj);
int	pyro_frame_read(int fd, struct pyro_frame_reader *, cJSON **out,
	    int timeout_ms);

/*
 * Does the JSON text p[0..n) hold a NUL, raw or as the escape \u0000 inside
 * a string?  A lexical scan of strings and escapes (not a parse).
 */
int	pyro_json_has_nul(const char *p, size_t n);

#endif
