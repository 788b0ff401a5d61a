/*
 * Secret redaction, shared by pyrod (guest command output, strings it
 * stores) and pyro-diskhelper (file content and image blocks read from a
 * stopped disk).  Raw secret values must never reach what pyro prints or
 * writes from a workspace.
 *
 * Two modes: text replaces each value with PYRO_REDACTED; mask replaces
 * each byte of a value with '*', so lengths, offsets, tar sizes and file
 * sizes stay valid (archives, raw file bytes, disk images).
 *
 * The streaming redactor takes chunks from one or more streams (1 stdout,
 * 2 stderr) in arrival order and holds back the bytes that could still be
 * part of a match.  A value is found when it is whole in any one stream
 * (even with other streams' bytes arriving in between) or whole across the
 * streams in arrival order (split between stdout and stderr, as a terminal
 * shows it).  Held-back bytes remember their stream: masked bytes keep
 * theirs; in text mode the replacement goes to the stream of the match's
 * first byte and its other bytes are dropped.  Bytes go out in arrival
 * order.
 */
#ifndef PYRO_REDACT_H
#define PYRO_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

#define PYRO_SECRETS_MAX	32
#define PYRO_REDACTED		"[REDACTED]"
#define PYRO_REDACT_STREAMS	4	/* stream numbers 0..3 */

/* The values to find.  Borrowed: the caller keeps them alive. */
struct pyro_secrets {
	const uint8_t	*val[PYRO_SECRETS_MAX];
	size_t		 len[PYRO_SECRETS_MAX];
	int		 n;
	size_t		 maxlen;
};

enum pyro_redact_mode {
	PYRO_REDACT_TEXT,	/* each value becomes PYRO_REDACTED */
	PYRO_REDACT_MASK,	/* each byte of a value becomes '*' */
};

struct pyro_redactor {
	unsigned		 masked;	/* bit s: stream s is masked */
	uint8_t			*c;	/* held-back bytes, arrival order */
	uint8_t			*meta;	/* per byte: stream, gap, marks */
	size_t			 n, cap;
	/* Per view (each stream, then all): the bytes already out since
	 * the last replacement, up to maxlen - 1 (a later drop may join
	 * them to held bytes). */
	uint8_t			*ctx[PYRO_REDACT_STREAMS + 1];
	size_t			 ctxn[PYRO_REDACT_STREAMS + 1], ctxcap;
};

/* Released bytes of one stream, in order; called once per run. */
typedef void	(*pyro_redact_out_fn)(void *arg, int stream, const uint8_t *,
		    size_t);

/* Add a value (empty ones are ignored); -1 when the set is full. */
int	pyro_secrets_add(struct pyro_secrets *, const uint8_t *, size_t);

/*
 * Every stream in one mode; set_mode then changes one stream's (an archive
 * on stdout, its errors on stderr).  In a match over both kinds, a masked
 * stream's bytes become '*' and a text stream shows PYRO_REDACTED if the
 * match began there, nothing otherwise.
 */
void	pyro_redactor_init(struct pyro_redactor *, enum pyro_redact_mode);
void	pyro_redactor_set_mode(struct pyro_redactor *, int stream,
	    enum pyro_redact_mode);
/* Forget held bytes (zeroed: they may be part of a value). */
void	pyro_redactor_free(struct pyro_redactor *);
/* Bytes held back now. */
size_t	pyro_redactor_held(const struct pyro_redactor *);
/*
 * Feed a chunk of one stream; what is safe goes out through fn now.  On
 * no memory returns -1 and drops the chunk (never passes it unredacted).
 */
int	pyro_redact_feed(struct pyro_redactor *, const struct pyro_secrets *,
	    int stream, const uint8_t *, size_t, pyro_redact_out_fn,
	    void *arg);
/* The end of every stream: release what was held, redacted. */
int	pyro_redact_flush(struct pyro_redactor *, const struct pyro_secrets *,
	    pyro_redact_out_fn, void *arg);
/* One buffer at once; the result is malloc'd (NULL: no memory). */
uint8_t	*pyro_redact(const struct pyro_secrets *, const uint8_t *, size_t,
	    enum pyro_redact_mode, size_t *outlen);

/*
 * An output sink for pyro_redact_feed: write at a file offset (pwrite),
 * offset advancing; a failed write is kept in error (an errno).
 */
struct pyro_redact_pwrite {
	int		fd;
	int64_t		off;
	int		error;
};
void	pyro_redact_pwrite_fn(void *arg, int stream, const uint8_t *, size_t);


#endif
