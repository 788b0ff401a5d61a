#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"

void
pyro_frame_reader_init(struct pyro_frame_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max ? max : PYRO_FRAME_MAX;
}

void
pyro_frame_reader_free(struct pyro_frame_reader *r)
{
	free(r->buf);
	free(r->raw);
	r->buf = NULL;
	r->raw = NULL;
	r->len = r->cap = r->rawcap = 0;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

int
pyro_frame_reader_feed(struct pyro_frame_reader *r, const void *data, size_t n)
{
	size_t	 want, ncap;
	uint8_t	*nb;

	/* Never hold more than one maximal frame plus the next header. */
	if (r->len + n > r->max + 2 * PYRO_FRAME_HDR + 65536)
		return -EMSGSIZE;
	want = r->len + n;
	if (want > r->cap) {
		ncap = r->cap ? r->cap : 4096;
		while (ncap < want)
			ncap *= 2;
		if ((nb = realloc(r->buf, ncap)) == NULL)
			return -ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

int
pyro_json_has_nul(const char *p, size_t n)
{
	size_t	i;
	int	in_string = 0;

	for (i = 0; i < n; i++) {
		if (!in_string) {
			in_string = p[i] == '"';
			continue;
		}
		if (p[i] == '\0')
			return 1;	/* raw, which cJSON would keep */
		if (p[i] == '"')
			in_string = 0;
		else if (p[i] == '\\' && i + 1 < n) {
			i++;		/* the escaped character */
			if (p[i] == 'u' && i + 4 < n &&
			    memcmp(p + i + 1, "0000", 4) == 0)
				return 1;
		}
	}
	return 0;
}

enum pyro_frame_status
pyro_frame_next(struct pyro_frame_reader *r, cJSON **out)
{
	uint32_t	 flen;
	cJSON		*obj;
	const char	*end = NULL;

	*out = NULL;
	if (r->len < PYRO_FRAME_HDR)
		return PYRO_FRAME_NEED_MORE;
	flen = get_be32(r->buf);
	if (flen > r->max)
		return PYRO_FRAME_TOO_LARGE;
	if (r->len - PYRO_FRAME_HDR < flen)
		return PYRO_FRAME_NEED_MORE;

	/*
	 * cJSON turns "\u0000" into a C string cut short at that point, which
	 * would silently change an argument.  No pyro string may hold a NUL,
	 * so such a frame is refused before parsing.  The check follows the
	 * JSON grammar's strings and escapes: an escaped backslash followed by
	 * the text "u0000" is six ordinary characters, not a NUL.
	 */
	if (pyro_json_has_nul((const char *)r->buf + PYRO_FRAME_HDR, flen)) {
		memmove(r->buf, r->buf + PYRO_FRAME_HDR + flen,
		    r->len - PYRO_FRAME_HDR - flen);
		r->len -= PYRO_FRAME_HDR + flen;
		return PYRO_FRAME_HAS_NUL;
	}
	/* The payload is not NUL-terminated: parse it with its length. */
	obj = cJSON_ParseWithLengthOpts((const char *)r->buf + PYRO_FRAME_HDR,
	    flen, &end, 0);
	/* One object per frame: nothing but white space may follow it. */
	if (obj != NULL) {
		const char *stop = (const char *)r->buf + PYRO_FRAME_HDR + flen;

		while (end < stop && (*end == ' ' || *end == '\t' ||
		    *end == '\n' || *end == '\r'))
			end++;
		if (end != stop) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	/* The text as received, for a reader that hands it on unchanged. */
	if (r->keep_raw && obj != NULL) {
		if (flen + 1 > r->rawcap) {
			char *n = realloc(r->raw, flen + 1);

			if (n != NULL) {
				r->raw = n;
				r->rawcap = flen + 1;
			}
		}
		if (flen + 1 <= r->rawcap) {
			memcpy(r->raw, r->buf + PYRO_FRAME_HDR, flen);
			r->raw[flen] = '\0';
		} else if (r->raw != NULL)
			r->raw[0] = '\0';
	}
	memmove(r->buf, r->buf + PYRO_FRAME_HDR + flen,
	    r->len - PYRO_FRAME_HDR - flen);
	r->len -= PYRO_FRAME_HDR + flen;
	if (obj == NULL || !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return PYRO_FRAME_BAD_JSON;
	}
	*out = obj;
	return PYRO_FRAME_OK;
}

long
pyro_frame_encode(const cJSON *obj, size_t max, uint8_t **out)
{
	char	*text;
	size_t	 n;
	uint8_t	*f;

	*out = NULL;
	if ((text = cJSON_PrintUnformatted(obj)) == NULL)
		return -ENOMEM;
	n = strlen(text);
	if (n > (max ? max : PYRO_FRAME_MAX)) {
		free(text);
		return -EMSGSIZE;
	}
	if ((f = malloc(n + PYRO_FRAME_HDR)) == NULL) {
		free(text);
		return -ENOMEM;
	}
	f[0] = n >> 24;
	f[1] = n >> 16;
	f[2] = n >> 8;
	f[3] = n;
	memcpy(f + PYRO_FRAME_HDR, text, n);
	free(text);
	*out = f;
	return (long)(n + PYRO_FRAME_HDR);
}

/* Write all n bytes: with write(2), or with send(MSG_NOSIGNAL). */
static int
out_all(int fd, const void *data, size_t n, int sock)
{
	const uint8_t	*p = data;
	ssize_t		 w;

	while (n > 0) {
		w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pyro_write_all(int fd, const void *data, size_t n)
{
	return out_all(fd, data, n, 0);
}

int
pyro_send_all(int sock, const void *data, size_t n)
{
	return out_all(sock, data, n, 1);
}

/* Encode obj and write it all with out (write(2) or send(2) based). */
static int
frame_out(int fd, const cJSON *obj, int (*out)(int, const void *, size_t))
{
	uint8_t	*f;
	long	 n;
	int	 rc;

	if ((n = pyro_frame_encode(obj, PYRO_FRAME_MAX, &f)) < 0)
		return (int)n;
	rc = out(fd, f, (size_t)n);
	free(f);
	return rc;
}

int
pyro_frame_write(int fd, const cJSON *obj)
{
	return frame_out(fd, obj, pyro_write_all);
}

int
pyro_frame_send(int sock, const cJSON *obj)
{
	return frame_out(sock, obj, pyro_send_all);
}

int
pyro_frame_read(int fd, struct pyro_frame_reader *r, cJSON **out,
    int timeout_ms)
{
	uint8_t		 buf[65536];
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	long long	 deadline = timeout_ms < 0 ? -1 : pyro_mono_ms() + timeout_ms;
	ssize_t		 n;
	int		 rc, wait;

	for (;;) {
		switch (pyro_frame_next(r, out)) {
		case PYRO_FRAME_OK:
			return 0;
		case PYRO_FRAME_BAD_JSON:
		case PYRO_FRAME_HAS_NUL:
			return -EBADMSG;
		case PYRO_FRAME_TOO_LARGE:
			return -EMSGSIZE;
		case PYRO_FRAME_NOMEM:
			return -ENOMEM;
		case PYRO_FRAME_NEED_MORE:
			break;
		}
		wait = -1;
		if (deadline >= 0) {
			long long left = deadline - pyro_mono_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > 60000 ? 60000 : (int)left;
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		if ((rc = pyro_frame_reader_feed(r, buf, (size_t)n)) < 0)
			return rc;
	}
}
