#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "guestproto.h"

/* Per type: sender, fixed payload size (or 0 with variable set). */
static const struct {
	uint8_t		from;
	uint8_t		variable;	/* any size up to GP_MAXPAYLOAD */
	uint32_t	size;		/* exact size, or minimum if variable */
} gp_table[GP__MAX] = {
	[GP_HELLO] = { GP_FROM_AGENT, 0, sizeof(struct gp_hello) },
	[GP_PING] = { GP_FROM_HOST, 1, 0 },
	[GP_PONG] = { GP_FROM_AGENT, 1, 0 },
	[GP_EXEC] = { GP_FROM_HOST, 1, sizeof(struct gp_exec) + 2 },
	[GP_STDOUT] = { GP_FROM_AGENT, 1, 1 },
	[GP_STDERR] = { GP_FROM_AGENT, 1, 1 },
	[GP_EXIT] = { GP_FROM_AGENT, 0, sizeof(struct gp_exit) },
	[GP_KILL] = { GP_FROM_HOST, 0, 0 },
	[GP_FLUSH] = { GP_FROM_HOST, 0, 0 },
	[GP_FLUSHED] = { GP_FROM_AGENT, 0, 0 },
	[GP_POWEROFF] = { GP_FROM_HOST, 0, 0 },
	[GP_STDIN] = { GP_FROM_HOST, 1, 0 },
	[GP_STDIN_ACK] = { GP_FROM_AGENT, 0, sizeof(uint32_t) },
	[GP_SIGNAL] = { GP_FROM_HOST, 0, sizeof(uint32_t) },
	[GP_STARTED] = { GP_FROM_AGENT, 0, sizeof(uint32_t) },
	/* Both grew in version 3: their readers check the exact sizes. */
	[GP_RESUME] = { GP_FROM_HOST, 1, sizeof(struct gp_resume) },
	[GP_RESUMED] = { GP_FROM_AGENT, 1, GP_RESUMED_V2_SIZE },
};

int
gp_check(const struct gp_hdr *h, unsigned from)
{
	if (h->type == 0 || h->type >= GP__MAX || h->flags != 0)
		return -EBADMSG;
	if (!(gp_table[h->type].from & from))
		return -EBADMSG;
	if (h->len > GP_MAXPAYLOAD)
		return -EBADMSG;
	if (gp_table[h->type].variable ? h->len < gp_table[h->type].size :
	    h->len != gp_table[h->type].size)
		return -EBADMSG;
	return 0;
}

void
gp_hdr_set(struct gp_hdr *h, uint16_t type, uint32_t stream, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->stream = stream;
	h->len = len;
}

/* Take the next NUL-terminated string from [*p, end). */
static char *
next_str(char **p, char *end)
{
	char	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

int
gp_exec_parse(uint8_t *payload, size_t len, struct gp_exec *hdr,
    const char **cwd, char **argv, char **env)
{
	char		*p, *end;
	uint32_t	 i;

	if (len < sizeof(*hdr))
		return -EBADMSG;
	memcpy(hdr, payload, sizeof(*hdr));
	if (hdr->argc == 0 || hdr->argc > GP_ARGS_MAX ||
	    hdr->envc > GP_ARGS_MAX || hdr->argc + hdr->envc > GP_ARGS_MAX ||
	    (hdr->flags & ~GP_EXEC_FLAGS) != 0 ||
	    hdr->cols > 1000 || hdr->rows > 1000 ||
	    ((hdr->flags & GP_EXEC_SHELL) && hdr->argc != 1))
		return -EBADMSG;
	p = (char *)payload + sizeof(*hdr);
	end = (char *)payload + len;
	if ((*cwd = next_str(&p, end)) == NULL || (*cwd)[0] != '/')
		return -EBADMSG;
	for (i = 0; i < hdr->argc; i++)
		if ((argv[i] = next_str(&p, end)) == NULL)
			return -EBADMSG;
	argv[i] = NULL;
	for (i = 0; i < hdr->envc; i++)
		if ((env[i] = next_str(&p, end)) == NULL ||
		    strchr(env[i], '=') == NULL || env[i][0] == '=')
			return -EBADMSG;
	env[i] = NULL;
	if (p != end)
		return -EBADMSG;	/* trailing bytes */
	return 0;
}

/* Append s and its NUL at *n; 0, or -1 when buf is full. */
static int
put_str(uint8_t *buf, size_t size, size_t *n, const char *s)
{
	size_t	k = strlen(s) + 1;

	if (k > size - *n)
		return -1;
	memcpy(buf + *n, s, k);
	*n += k;
	return 0;
}

long
gp_exec_encode(struct gp_exec *hdr, const char *cwd,
    const char *const *argv, const char *const *env, uint8_t *buf,
    size_t size)
{
	size_t		n = sizeof(*hdr);
	uint32_t	i;

	hdr->argc = hdr->envc = 0;
	while (argv != NULL && argv[hdr->argc] != NULL)
		hdr->argc++;
	while (env != NULL && env[hdr->envc] != NULL)
		hdr->envc++;
	if (hdr->argc == 0 || hdr->argc + hdr->envc > GP_ARGS_MAX ||
	    size < n || cwd == NULL || put_str(buf, size, &n, cwd) < 0)
		return -1;
	for (i = 0; i < hdr->argc; i++)
		if (put_str(buf, size, &n, argv[i]) < 0)
			return -1;
	for (i = 0; i < hdr->envc; i++)
		if (put_str(buf, size, &n, env[i]) < 0)
			return -1;
	memcpy(buf, hdr, sizeof(*hdr));
	return (long)n;
}

ssize_t
gp_reader_fill(struct gp_reader *r, int fd)
{
	ssize_t	n;

	gp_reader_consume(r);
	n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
	if (n < 0)
		return -errno;
	r->len += (size_t)n;
	return n;
}

void
gp_reader_consume(struct gp_reader *r)
{
	if (r->taken == 0)
		return;
	memmove(r->buf, r->buf + r->taken, r->len - r->taken);
	r->len -= r->taken;
	r->taken = 0;
}

int
gp_reader_next(struct gp_reader *r, unsigned from, struct gp_hdr *h,
    uint8_t **payload)
{
	gp_reader_consume(r);
	if (r->len < sizeof(*h))
		return 0;
	memcpy(h, r->buf, sizeof(*h));
	if (gp_check(h, from) < 0)
		return -EBADMSG;
	if (r->len < sizeof(*h) + h->len)
		return 0;
	*payload = r->buf + sizeof(*h);
	r->taken = sizeof(*h) + h->len;
	return 1;
}
