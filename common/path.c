#include "config.h"

#include <sys/random.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

int
pyro_name_valid(const char *name)
{
	size_t	i, n;

	if (name == NULL)
		return 0;
	n = strnlen(name, PYRO_NAME_LEN_MAX + 1);
	if (n == 0 || n > PYRO_NAME_LEN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return 0;
		if (!alnum && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* Append one component; pop it for "..". */
static int
path_push(char *out, size_t outsz, size_t *olen, const char *c, size_t clen,
    unsigned flags)
{
	if (clen == 0 || (clen == 1 && c[0] == '.'))
		return 0;
	if (clen == 2 && c[0] == '.' && c[1] == '.') {
		if (*olen <= 1) {
			if (flags & PYRO_PATH_CLAMP)
				return 0;
			return -EXDEV;
		}
		while (*olen > 1 && out[*olen - 1] != '/')
			(*olen)--;
		if (*olen > 1)
			(*olen)--;
		out[*olen] = '\0';
		return 0;
	}
	if (clen > 255)
		return -ENAMETOOLONG;
	if (*olen + (*olen > 1) + clen + 1 > outsz ||
	    *olen + (*olen > 1) + clen > PYRO_PATH_LEN_MAX)
		return -ENAMETOOLONG;
	if (*olen > 1)
		out[(*olen)++] = '/';
	memcpy(out + *olen, c, clen);
	*olen += clen;
	out[*olen] = '\0';
	return 0;
}

static int
path_walk(const char *p, size_t len, char *out, size_t outsz, size_t *olen,
    unsigned flags)
{
	size_t	i = 0, j;
	int	rc;

	while (i < len) {
		while (i < len && p[i] == '/')
			i++;
		for (j = i; j < len && p[j] != '/'; j++)
			;
		if (j > i && (rc = path_push(out, outsz, olen, p + i, j - i,
		    flags)) < 0)
			return rc;
		i = j;
	}
	return 0;
}

int
pyro_path_resolve(const char *in, size_t len, const char *base,
    unsigned flags, char *out, size_t outsz)
{
	size_t	olen = 1, blen;
	int	rc;

	if (in == NULL || len == 0 || outsz < 2)
		return -EINVAL;
	if (memchr(in, '\0', len) != NULL)
		return -EINVAL;
	if (len > PYRO_PATH_LEN_MAX)
		return -ENAMETOOLONG;
	if (in[0] == '/' && !(flags & PYRO_PATH_ABS_OK))
		return -EINVAL;
	out[0] = '/';
	out[1] = '\0';
	blen = strlen(base);
	if (in[0] != '/' && (rc = path_walk(base, blen, out, outsz, &olen,
	    0)) < 0)
		return rc;
	if ((rc = path_walk(in, len, out, outsz, &olen, flags)) < 0)
		return rc;
	if (flags & PYRO_PATH_UNDER_BASE) {
		char	 nb[PYRO_PATH_LEN_MAX + 1];
		size_t	 nl = 1;

		nb[0] = '/';
		nb[1] = '\0';
		if ((rc = path_walk(base, blen, nb, sizeof(nb), &nl, 0)) < 0)
			return rc;
		if (nl > 1 && (strncmp(out, nb, nl) != 0 ||
		    (out[nl] != '\0' && out[nl] != '/')))
			return -EXDEV;
	}
	return 0;
}

int
pyro_openat_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how	how;
	long		fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned)(flags | O_CLOEXEC | O_NOFOLLOW);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	return (int)fd;
}

int
pyro_id_new(char out[PYRO_ID_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		rnd[PYRO_ID_LEN / 2];
	ssize_t			n;
	int			i;

	do {
		n = getrandom(rnd, sizeof(rnd), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd))
		return -EIO;
	for (i = 0; i < (int)sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[PYRO_ID_LEN] = '\0';
	return 0;
}

int
pyro_id_valid(const char *id)
{
	int	i;

	if (id == NULL || strlen(id) != PYRO_ID_LEN)
		return 0;
	for (i = 0; i < PYRO_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

ssize_t
pyro_read_small(const char *path, char *buf, size_t size)
{
	ssize_t	n = -1;
	int	fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return 0;
	}
	buf[n] = '\0';
	return n;
}
