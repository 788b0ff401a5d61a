/*
 * Moving trees between the host and a workspace, on the client side and
 * with the client's own rights (pyrod, which runs as root, never opens a
 * client's host path).
 *
 * Packing (seed, sync push): a directory or a .tar/.tar.gz/.tgz is read
 * with libarchive and every entry checked before anything is sent: names
 * must be relative without "..", symlinks must point inside the tree,
 * hard links must name an earlier file of the archive, and only regular
 * files, directories and links are allowed.  Then a thread writes the
 * entries again as one plain pax archive into a socket whose other end
 * pyrod hands to the VM helper.
 *
 * Unpacking (export): the guest's archive is the least trusted input on
 * this side.  It is not given to a generic extractor: each entry is made
 * by hand under a fresh directory, every parent opened with
 * RESOLVE_BENEATH and no symlinks (pyro_openat_beneath), every file created
 * O_EXCL|O_NOFOLLOW, so no entry writes through a symlink or outside the
 * directory.  The result is renamed into place at the end.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "internal.h"
#include "path.h"

#define ENTRIES_MAX	1000000

#define fail pyro__fail

/*
 * An archive member name as a clean relative path ("" for the root):
 * leading "./" and "/" runs, "." and empty components dropped.  Returns
 * -1 for an absolute name, a ".." component, or one too long.
 */
static int
norm_name(const char *in, char *out, size_t size)
{
	const char	*p = in, *e;
	size_t		 o = 0, k;

	if (in[0] == '/')
		return -1;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		k = e ? (size_t)(e - p) : strlen(p);
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(k == 1 && p[0] == '.')) {
			if (o + k + 2 > size)
				return -1;
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, k);
			o += k;
		}
		p += k;
	}
	out[o] = '\0';
	return 0;
}

/* Does a symlink at `name` with `target` stay inside the tree? */
static int
link_inside(const char *name, const char *target)
{
	const char	*p, *e;
	int		 depth = 0;
	size_t		 k;

	if (target[0] == '/' || target[0] == '\0')
		return 0;
	for (p = name; (e = strchr(p, '/')) != NULL; p = e + 1)
		depth++;		/* the link's directory */
	for (p = target; *p != '\0'; p += k) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		k = e ? (size_t)(e - p) : strlen(p);
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (!(k == 1 && p[0] == '.'))
			depth++;
	}
	return 1;
}

/* ---- a map of names to what they are ---- */

/*
 * The names an archive made so far and what each is (enum ent): the packer
 * uses it for hard link targets and symlinks, the unpacker to tell its own
 * entries from anything else.
 */
enum ent {
	ENT_FILE = 1,
	ENT_DIR,		/* a directory entry of the archive */
	ENT_DIR_IMPLIED,	/* made as the parent of an entry */
	ENT_LINK,
};

struct nameslot {
	char	*s;
	int	 kind;
	char	*target;	/* ENT_LINK in the packer: where it points */
};

struct nameset {
	struct nameslot	*slot;
	size_t		 cap, n;
};

static size_t
hash(const char *s)
{
	size_t	h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static struct nameslot *
nameset_find(const struct nameset *ns, const char *s)
{
	size_t	i;

	if (ns->cap == 0)
		return NULL;
	for (i = hash(s) % ns->cap; ns->slot[i].s != NULL;
	    i = (i + 1) % ns->cap)
		if (strcmp(ns->slot[i].s, s) == 0)
			return &ns->slot[i];
	return NULL;
}

/* What s is (enum ent), or 0 when the set does not hold it. */
static int
nameset_kind(const struct nameset *ns, const char *s)
{
	const struct nameslot	*e = nameset_find(ns, s);

	return e != NULL ? e->kind : 0;
}

static int
nameset_has(const struct nameset *ns, const char *s)
{
	return nameset_kind(ns, s) == ENT_FILE;
}

static int
nameset_grow(struct nameset *ns)
{
	struct nameset	big = { NULL, ns->cap ? ns->cap * 2 : 1024, 0 };
	size_t		i, j;

	if ((big.slot = calloc(big.cap, sizeof(*big.slot))) == NULL)
		return -1;
	for (i = 0; i < ns->cap; i++) {
		if (ns->slot[i].s == NULL)
			continue;
		for (j = hash(ns->slot[i].s) % big.cap; big.slot[j].s != NULL;
		    j = (j + 1) % big.cap)
			;
		big.slot[j] = ns->slot[i];
		big.n++;
	}
	free(ns->slot);
	*ns = big;
	return 0;
}

/* Add s as kind, or change the kind of an s already there. */
static int
nameset_put(struct nameset *ns, const char *s, int kind)
{
	struct nameslot	*e;
	size_t		 i;

	if ((e = nameset_find(ns, s)) != NULL) {
		e->kind = kind;
		return 0;
	}
	if (ns->n * 2 >= ns->cap && nameset_grow(ns) < 0)
		return -1;
	for (i = hash(s) % ns->cap; ns->slot[i].s != NULL;
	    i = (i + 1) % ns->cap)
		;
	if ((ns->slot[i].s = strdup(s)) == NULL)
		return -1;
	ns->slot[i].kind = kind;
	ns->n++;
	return 0;
}

/* s is a symlink to target (a later entry of the same name wins). */
static int
nameset_link(struct nameset *ns, const char *s, const char *target)
{
	struct nameslot	*e;
	char		*t;

	if ((t = strdup(target)) == NULL || nameset_put(ns, s, ENT_LINK) < 0) {
		free(t);
		return -1;
	}
	e = nameset_find(ns, s);
	free(e->target);
	e->target = t;
	return 0;
}

static int
nameset_add(struct nameset *ns, const char *s)
{
	return nameset_put(ns, s, ENT_FILE);
}

static void
nameset_free(struct nameset *ns)
{
	size_t	i;

	for (i = 0; i < ns->cap; i++) {
		free(ns->slot[i].s);
		free(ns->slot[i].target);
	}
	free(ns->slot);
	ns->slot = NULL;
	ns->cap = ns->n = 0;
}

/*
 * Does the symlink `name` stay inside the tree once every link on its way
 * is followed, as the guest's kernel would follow them?  A textual check
 * of each target alone is not enough: with q -> . and p -> q/.., p's
 * target looks like the tree's root but is its parent.  Returns 1 inside,
 * 0 outside or a loop (more than PYRO_LINK_HOPS links followed).
 */
#define PYRO_LINK_HOPS	40

static int
link_chain_inside(const struct nameset *ns, const char *name)
{
	char			 dir[PATH_MAX], rest[2 * PATH_MAX], tmp[2 * PATH_MAX];
	const struct nameslot	*e = nameset_find(ns, name);
	const char		*slash;
	char			*c, *next;
	size_t			 k;
	int			 hops = 0;

	if (e == NULL || e->target == NULL)
		return 0;
	/* dir: where we are (components joined by '/'); rest: to walk. */
	slash = strrchr(name, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - name) : 0,
	    name);
	if (snprintf(rest, sizeof(rest), "%s", e->target) >= (int)sizeof(rest))
		return 0;
	while (rest[0] != '\0') {
		c = rest;
		while (*c == '/')
			c++;
		next = strchr(c, '/');
		k = next ? (size_t)(next - c) : strlen(c);
		if (k == 0)
			break;
		if (k == 1 && c[0] == '.') {
			/* nothing */
		} else if (k == 2 && c[0] == '.' && c[1] == '.') {
			char *up = strrchr(dir, '/');

			if (dir[0] == '\0')
				return 0;	/* above the tree's root */
			if (up != NULL)
				*up = '\0';
			else
				dir[0] = '\0';
		} else {
			size_t	 d = strlen(dir);
			const struct nameslot *l;

			if (d + k + 2 > sizeof(dir))
				return 0;
			if (d > 0)
				dir[d++] = '/';
			memcpy(dir + d, c, k);
			dir[d + k] = '\0';
			l = nameset_find(ns, dir);
			if (l != NULL && l->kind == ENT_LINK) {
				if (++hops > PYRO_LINK_HOPS ||
				    l->target == NULL || l->target[0] == '/')
					return 0;
				dir[d > 0 ? d - 1 : 0] = '\0';
				/* Walk the link's target, then what was left. */
				if (snprintf(tmp, sizeof(tmp), "%s/%s",
				    l->target, next ? next : "") >=
				    (int)sizeof(tmp))
					return 0;
				memcpy(rest, tmp, strlen(tmp) + 1);
				continue;
			}
		}
		if (next == NULL)
			break;
		memmove(rest, next, strlen(next) + 1);
	}
	return 1;
}

/* Does a parent of name lie behind a symlink of the archive?  Then the
 * link's real place is not its name: it is refused rather than guessed. */
static int
beneath_link(const struct nameset *ns, const char *name)
{
	char	buf[PATH_MAX], *slash;

	snprintf(buf, sizeof(buf), "%s", name);
	for (slash = buf; (slash = strchr(slash, '/')) != NULL; *slash++ = '/') {
		*slash = '\0';
		if (nameset_kind(ns, buf) == ENT_LINK)
			return 1;
	}
	return 0;
}

/* Every symlink of the archive, followed through the others. */
static int
links_inside(struct pyro_pack *p, const struct nameset *ns)
{
	size_t	i;

	for (i = 0; i < ns->cap; i++) {
		const struct nameslot *e = &ns->slot[i];

		if (e->s == NULL || e->kind != ENT_LINK ||
		    (!beneath_link(ns, e->s) && link_chain_inside(ns, e->s)))
			continue;
		snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INVALID_ARCHIVE);
		snprintf(p->err_msg, sizeof(p->err_msg), "symlink \"%.200s\" "
		    "(-> %.100s) leads out of the tree or into a loop once the "
		    "links on its way are followed", e->s, e->target);
		return -1;
	}
	return 0;
}

/* ---- packing ---- */

static int
has_suffix(const char *s, const char *suf)
{
	size_t	a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

const char *
pyro__pack_kind(const struct pyro_pack *p)
{
	if (p->is_dir)
		return "directory";
	return has_suffix(p->src, ".tar") ? "tar" : "tar.gz";
}

static struct archive *
pack_reader(struct pyro_pack *p)
{
	struct archive	*a;

	if (p->is_dir) {
		if ((a = archive_read_disk_new()) == NULL)
			return NULL;
		archive_read_disk_set_symlink_physical(a);
		archive_read_disk_set_behavior(a,
		    ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
		    ARCHIVE_READDISK_NO_FFLAGS);
		if (archive_read_disk_open(a, p->src) != ARCHIVE_OK) {
			snprintf(p->err_msg, sizeof(p->err_msg), "%.200s: %s",
			    p->src, archive_error_string(a));
			archive_read_free(a);
			return NULL;
		}
		return a;
	}
	if ((a = archive_read_new()) == NULL)
		return NULL;
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, p->src, 65536) != ARCHIVE_OK) {
		snprintf(p->err_msg, sizeof(p->err_msg), "%.200s: %s", p->src,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int
pack_next(struct pyro_pack *p, struct archive *a, struct archive_entry *e)
{
	int	rc;

	if (p->is_dir) {
		rc = archive_read_next_header2(a, e);
		if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN)
			archive_read_disk_descend(a);
		return rc;
	}
	return archive_read_next_header2(a, e);
}

/*
 * The member's name relative to the root of what is packed, checked.
 * Returns 1 to pack it, 0 to skip it (the root itself), -1 on a bad entry
 * (code and message in p).
 */
static int
pack_check(struct pyro_pack *p, struct archive_entry *e, struct nameset *ns,
    char *name, size_t size)
{
	const char	*raw = archive_entry_pathname(e), *hl, *sl;
	char		 t[PATH_MAX];
	mode_t		 type = archive_entry_filetype(e);

	if (raw == NULL)
		goto bad_name;
	if (p->is_dir) {
		size_t k = strlen(p->src);

		if (strncmp(raw, p->src, k) != 0)
			goto bad_name;
		raw += k;
		while (*raw == '/')
			raw++;
	}
	if (norm_name(raw, name, size) < 0)
		goto bad_name;
	if (name[0] == '\0')
		return 0;
	if ((hl = archive_entry_hardlink(e)) != NULL) {
		if (norm_name(hl, t, sizeof(t)) < 0 || !nameset_has(ns, t)) {
			snprintf(p->err_code, sizeof(p->err_code),
			    "invalid_archive");
			snprintf(p->err_msg, sizeof(p->err_msg), "\"%.200s\" "
			    "is a hard link to \"%.100s\", which is not an "
			    "earlier file of the archive", name, hl);
			return -1;
		}
		p->files++;
		return 1;
	}
	switch (type) {
	case AE_IFREG:
		if (nameset_add(ns, name) < 0)
			goto nomem;
		p->files++;
		p->bytes += (uint64_t)archive_entry_size(e);
		return 1;
	case AE_IFDIR:
		p->dirs++;
		return 1;
	case AE_IFLNK:
		sl = archive_entry_symlink(e);
		if (sl == NULL || !link_inside(name, sl)) {
			snprintf(p->err_code, sizeof(p->err_code),
			    "invalid_archive");
			snprintf(p->err_msg, sizeof(p->err_msg), "symlink "
			    "\"%.200s\" points out of the tree (-> %.100s)",
			    name, sl ? sl : "?");
			return -1;
		}
		if (nameset_link(ns, name, sl) < 0)
			goto nomem;
		p->links++;
		return 1;
	default:
		snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INVALID_ARCHIVE);
		snprintf(p->err_msg, sizeof(p->err_msg), "\"%.200s\" is a %s; "
		    "only files, directories and links can be copied", name,
		    type == AE_IFCHR || type == AE_IFBLK ? "device node" :
		    type == AE_IFIFO ? "FIFO" : type == AE_IFSOCK ? "socket" :
		    "special file");
		return -1;
	}
bad_name:
	snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INVALID_ARCHIVE);
	snprintf(p->err_msg, sizeof(p->err_msg), "member \"%.200s\" has an "
	    "absolute path, a \"..\" component, or is too long",
	    raw ? raw : "?");
	return -1;
nomem:
	snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INTERNAL);
	snprintf(p->err_msg, sizeof(p->err_msg), "out of memory");
	return -1;
}

/*
 * The progress hook: n more bytes went out; at most ten calls a second,
 * and always at the first call of a phase.  It only reads counters, so it
 * changes nothing that is checked or sent.
 */
static void
pack_progress(struct pyro_pack *p, const char *phase, uint64_t n)
{
	uint64_t	now = (uint64_t)pyro_mono_ms();

	p->sent_bytes += n;
	if (p->progress == NULL || (p->progress_phase == phase &&
	    now < p->progress_ms + 100))
		return;
	p->progress_phase = phase;
	p->progress_ms = now;
	p->progress(p->progress_arg, phase, p->sent_bytes, p->total_bytes,
	    p->files, p->total_files);
}

static ssize_t
sock_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct pyro_pack	*p = arg;
	ssize_t			 w;

	do
		w = send(p->wfd, buf, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		archive_set_error(a, errno, "the workspace stopped reading: %s",
		    strerror(errno));
		return -1;
	}
	return w;
}

/* One pass over the source: check only (w NULL), or check and write. */
static int
pack_pass(struct pyro_pack *p, struct archive *w)
{
	struct archive		*a;
	struct archive_entry	*e;
	struct nameset		 ns = { NULL, 0, 0 };
	char			 name[PATH_MAX], hl[PATH_MAX];
	uint8_t			 buf[65536];
	la_ssize_t		 n;
	uint64_t		 count = 0;
	int			 rc, ok = -1;

	p->files = p->dirs = p->links = p->bytes = 0;
	if ((a = pack_reader(p)) == NULL) {
		snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INVALID_ARCHIVE);
		if (p->err_msg[0] == '\0')
			snprintf(p->err_msg, sizeof(p->err_msg), "cannot read "
			    "%.200s", p->src);
		return -1;
	}
	e = archive_entry_new();
	for (;;) {
		rc = pack_next(p, a, e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			snprintf(p->err_code, sizeof(p->err_code),
			    "invalid_archive");
			snprintf(p->err_msg, sizeof(p->err_msg), "%.200s: %s",
			    p->src, archive_error_string(a));
			goto out;
		}
		if (++count > ENTRIES_MAX) {
			snprintf(p->err_code, sizeof(p->err_code),
			    "limit_exceeded");
			snprintf(p->err_msg, sizeof(p->err_msg), "more than %d "
			    "entries", ENTRIES_MAX);
			goto out;
		}
		if ((rc = pack_check(p, e, &ns, name, sizeof(name))) < 0)
			goto out;
		pack_progress(p, w == NULL ? "check" : "send", 0);
		if (rc == 0 || w == NULL)
			continue;
		/* The member as the guest gets it: clean name, root-owned. */
		archive_entry_set_pathname(e, name);
		if (archive_entry_hardlink(e) != NULL) {
			(void)norm_name(archive_entry_hardlink(e), hl,
			    sizeof(hl));
			archive_entry_set_hardlink(e, hl);
		}
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_uname(e, "root");
		archive_entry_set_gname(e, "root");
		archive_entry_set_mode(e, archive_entry_filetype(e) |
		    (archive_entry_perm(e) & 07777));
		if (archive_write_header(w, e) != ARCHIVE_OK)
			goto werr;
		if (archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e) != NULL)
			continue;
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
			if (archive_write_data(w, buf, (size_t)n) != n)
				goto werr;
			pack_progress(p, "send", (uint64_t)n);
		}
		if (n < 0) {
			snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_IO);
			snprintf(p->err_msg, sizeof(p->err_msg), "reading "
			    "%.200s: %s", name, archive_error_string(a));
			goto out;
		}
	}
	/* Links are judged once all of them are known. */
	ok = links_inside(p, &ns);
	goto out;
werr:
	snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_IO);
	snprintf(p->err_msg, sizeof(p->err_msg), "sending the archive: %s",
	    archive_error_string(w));
out:
	archive_entry_free(e);
	archive_read_free(a);
	nameset_free(&ns);
	return ok;
}

static void *
pack_thread(void *arg)
{
	struct pyro_pack	*p = arg;
	struct archive		*w;

	if ((w = archive_write_new()) == NULL ||
	    archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open(w, p, NULL, sock_write, NULL) != ARCHIVE_OK) {
		p->failed = 1;
		snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_INTERNAL);
		snprintf(p->err_msg, sizeof(p->err_msg), "cannot start the "
		    "archive writer");
	} else if (pack_pass(p, w) < 0)
		p->failed = 1;
	if (w != NULL) {
		if (archive_write_close(w) != ARCHIVE_OK && !p->failed) {
			p->failed = 1;
			snprintf(p->err_code, sizeof(p->err_code), PYRO_ERR_IO);
			snprintf(p->err_msg, sizeof(p->err_msg), "sending the "
			    "archive: %s", archive_error_string(w));
		}
		archive_write_free(w);
	}
	/* EOF for the guest's tar. */
	close(p->wfd);
	p->wfd = -1;
	return NULL;
}

int
pyro__pack_start(struct pyro_pack *p, const char *src, int *rfd,
    pyro_error *err)
{
	return pyro__pack_start_progress(p, src, rfd, NULL, NULL, err);
}

int
pyro__pack_start_progress(struct pyro_pack *p, const char *src, int *rfd,
    pyro_progress_fn fn, void *arg, pyro_error *err)
{
	struct stat	st;
	int		sv[2];
	size_t		k;

	memset(p, 0, sizeof(*p));
	p->wfd = -1;
	p->progress = fn;
	p->progress_arg = arg;
	if (src == NULL || src[0] == '\0' || strlen(src) >= sizeof(p->src))
		return fail(err, PYRO_ERR_INVALID_ARGUMENT, "a source path is "
		    "required");
	if (stat(src, &st) < 0)
		return fail(err, PYRO_ERR_NOT_FOUND, "%s: %s", src, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		p->is_dir = 1;
		/* archive_read_disk names members after the path as given. */
		if (realpath(src, p->src) == NULL)
			return fail(err, PYRO_ERR_NOT_FOUND, "%s: %s", src,
			    strerror(errno));
		k = strlen(p->src);
		while (k > 1 && p->src[k - 1] == '/')
			p->src[--k] = '\0';
	} else if (S_ISREG(st.st_mode) && (has_suffix(src, ".tar") ||
	    has_suffix(src, ".tar.gz") || has_suffix(src, ".tgz")))
		snprintf(p->src, sizeof(p->src), "%s", src);
	else
		return fail(err, PYRO_ERR_INVALID_ARGUMENT, "%s: give a directory or "
		    "a .tar, .tar.gz or .tgz file", src);
	/* The whole source is checked before anything is sent. */
	if (pack_pass(p, NULL) < 0)
		return fail(err, p->err_code[0] ? p->err_code :
		    "invalid_archive", "%s", p->err_msg);
	p->total_files = p->files;
	p->total_bytes = p->bytes;
	p->sent_bytes = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail(err, PYRO_ERR_INTERNAL, "socketpair: %s",
		    strerror(errno));
	p->wfd = sv[0];
	if (pthread_create(&p->th, NULL, pack_thread, p) != 0) {
		close(sv[0]);
		close(sv[1]);
		return fail(err, PYRO_ERR_INTERNAL, "cannot start a thread");
	}
	p->started = 1;
	*rfd = sv[1];
	return 0;
}

int
pyro__pack_finish(struct pyro_pack *p, pyro_error *err)
{
	if (p->started) {
		pthread_join(p->th, NULL);
		p->started = 0;
	}
	if (p->failed)
		return fail(err, p->err_code[0] ? p->err_code : PYRO_ERR_IO,
		    "%s", p->err_msg);
	return 0;
}

/* ---- unpacking ---- */

/*
 * Trust: the export stream is written by the guest, which may have replaced
 * its own tar.  This code runs in the caller's process, often as root, so
 * the whole class of "resolve a name the archive controls" is closed:
 *
 * - Every entry is made beneath a directory this run created (mkdtemp),
 *   and its parent is opened component by component with openat2
 *   RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (pyro_openat_beneath); each
 *   component must also be a directory that this run made (the name map
 *   `made`), so nothing resolves through a symlink or a name the run did
 *   not create.
 * - An entry whose name was made already (a duplicate, a directory entry
 *   over a symlink or a file, a file over a directory) is invalid_archive:
 *   nothing is ever replaced or reopened by name.
 * - Files are created O_EXCL|O_NOFOLLOW; their mode and times are set
 *   through their fd.  Directory modes and times are set at the end, again
 *   through an fd opened beneath the root without following links and
 *   checked to be a directory.  No *at() call ever follows a link.
 * - Hard links may only name an earlier regular file of this run.
 */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? 0 : 0;
	return unlink(path) < 0 ? 0 : 0;
}

static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/*
 * What one export may make: directories nested this deep, and this many
 * bytes of names kept in `made` (a guest could otherwise turn a few MiB of
 * tar into GiB of memory with long, ever different paths).
 */
#define UNPACK_DEPTH_MAX	256
#define UNPACK_NAMES_MAX	(256 * 1024 * 1024)

struct unpack_run {
	struct pyro_unpack	*u;
	int			 root;
	struct nameset		 made;	/* every name made, with its kind */
	size_t			 made_bytes;
	char			**dirs;	/* directory entries, in order */
	mode_t			*dmode;
	time_t			*dtime;
	size_t			 ndirs, capdirs;
};

static int
bad(struct unpack_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct unpack_run *r, const char *fmt, ...)
{
	va_list	ap;

	if (r->u->err_msg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->u->err_msg, sizeof(r->u->err_msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Open a directory of this run beneath the root, checked to be one. */
static int
open_made_dir(struct unpack_run *r, const char *rel)
{
	struct stat	st;
	int		fd;

	if (rel[0] == '\0')
		return dup(r->root);
	fd = pyro_openat_beneath(r->root, rel, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	return fd;
}

/*
 * The parent directory of `name`, opened: each missing component is made
 * (and remembered as implied); each existing one must be a directory this
 * run made.
 */
static int
open_parent(struct unpack_run *r, const char *name)
{
	char	buf[PATH_MAX], *slash;
	int	kind, depth;

	snprintf(buf, sizeof(buf), "%s", name);
	if ((slash = strrchr(buf, '/')) == NULL)
		return dup(r->root);
	*slash = '\0';
	for (depth = 1, slash = buf; (slash = strchr(slash, '/')) != NULL;
	    slash++)
		depth++;
	if (depth > UNPACK_DEPTH_MAX)
		return bad(r, "\"%.100s...\" nests deeper than %d directories",
		    name, UNPACK_DEPTH_MAX);
	for (slash = buf;; slash++) {
		slash = strchr(slash, '/');
		if (slash != NULL)
			*slash = '\0';
		kind = nameset_kind(&r->made, buf);
		if (kind == 0) {
			/* Every name is kept: bound what a stream can make. */
			if ((r->made_bytes += strlen(buf)) > UNPACK_NAMES_MAX)
				return bad(r, "the export names more than %d "
				    "MiB of paths", UNPACK_NAMES_MAX >> 20);
			if (mkdirat(r->root, buf, 0700) < 0 ||
			    nameset_put(&r->made, buf, ENT_DIR_IMPLIED) < 0)
				return bad(r, "%.200s: cannot make the "
				    "directory: %s", buf, strerror(errno));
		} else if (kind != ENT_DIR && kind != ENT_DIR_IMPLIED)
			return bad(r, "\"%.200s\" is used as a directory, but "
			    "the archive made it a %s", buf, kind == ENT_LINK ?
			    "symlink" : "file");
		if (slash == NULL)
			break;
		*slash = '/';
	}
	return open_made_dir(r, buf);
}

static int
dir_remember(struct unpack_run *r, const char *name, mode_t mode, time_t t)
{
	if (r->ndirs == r->capdirs) {
		size_t	 cap = r->capdirs ? 2 * r->capdirs : 64;
		char	**d = realloc(r->dirs, cap * sizeof(*d));
		mode_t	*m = d ? realloc(r->dmode, cap * sizeof(*m)) : NULL;
		time_t	*tt = m ? realloc(r->dtime, cap * sizeof(*tt)) : NULL;

		if (d != NULL)
			r->dirs = d;
		if (m != NULL)
			r->dmode = m;
		if (tt == NULL)
			return -1;
		r->dtime = tt;
		r->capdirs = cap;
	}
	if ((r->dirs[r->ndirs] = strdup(name)) == NULL)
		return -1;
	r->dmode[r->ndirs] = mode;
	r->dtime[r->ndirs++] = t;
	return 0;
}

static int
make_file(struct unpack_run *r, int pfd, const char *base, const char *name,
    struct archive *a, struct archive_entry *e)
{
	struct timespec	 ts[2];
	uint8_t		 buf[65536];
	la_ssize_t	 n;
	int		 fd, rc = 0;

	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return bad(r, "%.200s: %s", name, strerror(errno));
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (pyro_write_all(fd, buf, (size_t)n) < 0) {
			rc = bad(r, "%.200s: %s", name, strerror(errno));
			break;
		}
		r->u->bytes += (uint64_t)n;
	}
	if (n < 0)
		rc = bad(r, "%.200s: %s", name, archive_error_string(a));
	/* Through the fd: never by name. */
	(void)fchmod(fd, archive_entry_perm(e) & 0777);
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	(void)futimens(fd, ts);
	close(fd);
	r->u->files++;
	return rc;
}

static int
make_hardlink(struct unpack_run *r, int pfd, const char *base,
    const char *name, const char *hl)
{
	char		t[PATH_MAX], proc[64];
	struct stat	st;
	int		tfd, rc = 0;

	if (norm_name(hl, t, sizeof(t)) < 0 ||
	    nameset_kind(&r->made, t) != ENT_FILE)
		return bad(r, "hard link %.150s -> %.150s does not name an "
		    "earlier file of the export", name, hl);
	if ((tfd = pyro_openat_beneath(r->root, t, O_PATH, 0)) < 0)
		return bad(r, "hard link %.150s -> %.150s: %s", name, hl,
		    strerror(-tfd));
	/* The fd names the file this run made; /proc links to it exactly. */
	if (fstat(tfd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = bad(r, "hard link %.150s -> %.150s is not a link to a "
		    "regular file", name, hl);
	else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
		if (linkat(AT_FDCWD, proc, pfd, base, AT_SYMLINK_FOLLOW) < 0)
			rc = bad(r, "%.200s: %s", name, strerror(errno));
	}
	close(tfd);
	r->u->files++;
	return rc;
}

static int
unpack_entry(struct unpack_run *r, struct archive *a,
    struct archive_entry *e, const char *name)
{
	const char	*base = strrchr(name, '/'), *sl, *hl;
	int		 pfd, rc = 0, kind;

	base = base ? base + 1 : name;
	if ((kind = nameset_kind(&r->made, name)) != 0 &&
	    !(kind == ENT_DIR_IMPLIED &&
	    archive_entry_filetype(e) == AE_IFDIR &&
	    archive_entry_hardlink(e) == NULL))
		return bad(r, "\"%.200s\" appears twice in the export",
		    name);
	if ((pfd = open_parent(r, name)) < 0)
		return bad(r, "%.200s: %s", name, strerror(-pfd));
	if ((hl = archive_entry_hardlink(e)) != NULL) {
		rc = make_hardlink(r, pfd, base, name, hl);
		kind = ENT_FILE;
		goto done;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		if (kind == 0 && mkdirat(pfd, base, 0700) < 0)
			rc = bad(r, "%.200s: %s", name, strerror(errno));
		else if (dir_remember(r, name, archive_entry_perm(e) & 0777,
		    archive_entry_mtime(e)) < 0)
			rc = bad(r, "out of memory");
		kind = ENT_DIR;
		r->u->dirs++;
		break;
	case AE_IFLNK:
		/* Made, never followed: nothing below opens through it. */
		sl = archive_entry_symlink(e);
		if (sl == NULL || symlinkat(sl, pfd, base) < 0)
			rc = bad(r, "%.200s: %s", name, strerror(errno));
		kind = ENT_LINK;
		r->u->links++;
		break;
	case AE_IFREG:
		rc = make_file(r, pfd, base, name, a, e);
		kind = ENT_FILE;
		break;
	default:
		rc = bad(r, "%.200s is not a file, directory or link; refused",
		    name);
		break;
	}
done:
	close(pfd);
	if (rc == 0 && (r->made_bytes += strlen(name)) > UNPACK_NAMES_MAX)
		rc = bad(r, "the export names more than %d MiB of paths",
		    UNPACK_NAMES_MAX >> 20);
	if (rc == 0 && nameset_put(&r->made, name, kind) < 0)
		rc = bad(r, "out of memory");
	return rc;
}

/*
 * Directory modes and times last, deepest first, so none blocks a write
 * and no later entry touches a time already set.  Each through its fd.
 */
static void
unpack_dirs(struct unpack_run *r, int apply)
{
	struct timespec	ts[2];
	size_t		i;
	int		fd;

	for (i = r->ndirs; i-- > 0;) {
		if (apply && (fd = open_made_dir(r, r->dirs[i])) >= 0) {
			ts[0].tv_sec = ts[1].tv_sec = r->dtime[i];
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			(void)futimens(fd, ts);
			(void)fchmod(fd, r->dmode[i]);
			close(fd);
		}
		free(r->dirs[i]);
	}
	free(r->dirs);
	free(r->dmode);
	free(r->dtime);
}

/* One tree: every member lies under the first member's top name. */
static int
unpack_name(struct unpack_run *r, struct archive_entry *e, char *name,
    size_t size)
{
	struct pyro_unpack	*u = r->u;
	size_t			 k;

	if (norm_name(archive_entry_pathname(e) ?
	    archive_entry_pathname(e) : "/", name, size) < 0 ||
	    name[0] == '\0')
		return bad(r, "the guest sent a bad member name");
	k = strcspn(name, "/");
	if (u->top[0] == '\0') {
		if (k >= sizeof(u->top))
			return bad(r, "the guest sent a bad member name");
		snprintf(u->top, sizeof(u->top), "%.*s", (int)k, name);
	}
	if (strlen(u->top) != k || strncmp(u->top, name, k) != 0)
		return bad(r, "the guest sent more than one tree");
	return 0;
}

static void *
unpack_thread(void *arg)
{
	struct unpack_run	 r;
	struct archive		*a;
	struct archive_entry	*e;
	char			 name[PATH_MAX], drain[65536];
	uint64_t		 count = 0;
	int			 rc = ARCHIVE_FATAL;

	memset(&r, 0, sizeof(r));
	r.u = arg;
	r.root = open(r.u->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (r.root < 0 || archive_read_open_fd(a, r.u->rfd, 65536) !=
	    ARCHIVE_OK) {
		bad(&r, "cannot read the export: %s", archive_error_string(a));
		r.u->failed = 1;
		goto out;
	}
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (++count > ENTRIES_MAX) {
			bad(&r, "the export has more than %d entries",
			    ENTRIES_MAX);
			r.u->failed = 1;
			break;
		}
		if (unpack_name(&r, e, name, sizeof(name)) < 0 ||
		    unpack_entry(&r, a, e, name) < 0) {
			r.u->failed = 1;
			break;
		}
	}
	if (!r.u->failed && rc != ARCHIVE_EOF) {
		bad(&r, "the export stream is broken: %s",
		    archive_error_string(a));
		r.u->failed = 1;
	}
	unpack_dirs(&r, !r.u->failed);
out:
	/* Drain what is left so the writer never blocks on us. */
	while (read(r.u->rfd, drain, sizeof(drain)) > 0)
		;
	archive_read_free(a);
	nameset_free(&r.made);
	if (r.root >= 0)
		close(r.root);
	return NULL;
}

int
pyro__unpack_start(struct pyro_unpack *u, const char *out, int force,
    pyro_error *err)
{
	char		 dir[4096], *slash;
	struct stat	 st;
	int		 sv[2];

	memset(u, 0, sizeof(*u));
	u->wfd = u->rfd = -1;
	u->force = force;
	if (out == NULL || out[0] == '\0' || strlen(out) >= sizeof(u->out))
		return fail(err, PYRO_ERR_INVALID_ARGUMENT, "an output path is "
		    "required");
	snprintf(u->out, sizeof(u->out), "%s", out);
	while (strlen(u->out) > 1 && u->out[strlen(u->out) - 1] == '/')
		u->out[strlen(u->out) - 1] = '\0';
	if (lstat(u->out, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return fail(err, PYRO_ERR_INVALID_PATH, "%s is a symlink; "
			    "refusing to write through it", u->out);
		if (!force)
			return fail(err, PYRO_ERR_EXISTS, "%s exists; give --force "
			    "to replace it", u->out);
		if (S_ISDIR(st.st_mode) && rmdir(u->out) < 0)
			return fail(err, PYRO_ERR_EXISTS, "%s is a directory that is "
			    "not empty; remove it first", u->out);
	}
	snprintf(dir, sizeof(dir), "%s", u->out);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	snprintf(u->tmp, sizeof(u->tmp), "%s/.pyro-export-XXXXXX", dir);
	if (mkdtemp(u->tmp) == NULL)
		return fail(err, errno == ENOENT ? PYRO_ERR_NOT_FOUND :
		    errno == EACCES ? "permission_denied" : "io_error",
		    "cannot write in %s: %s", dir, strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rmdir(u->tmp);
		return fail(err, PYRO_ERR_INTERNAL, "socketpair: %s",
		    strerror(errno));
	}
	u->wfd = sv[0];
	u->rfd = sv[1];
	if (pthread_create(&u->th, NULL, unpack_thread, u) != 0) {
		close(sv[0]);
		close(sv[1]);
		rmdir(u->tmp);
		return fail(err, PYRO_ERR_INTERNAL, "cannot start a thread");
	}
	u->started = 1;
	return 0;
}

void
pyro__unpack_feed(struct pyro_unpack *u, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 w;

	while (u->wfd >= 0 && n > 0) {
		w = send(u->wfd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(u->wfd);	/* the reader failed; stop feeding */
			u->wfd = -1;
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

int
pyro__unpack_finish(struct pyro_unpack *u, int ok, pyro_error *err)
{
	char	src[4500];
	int	rc = 0;

	if (u->wfd >= 0)
		close(u->wfd);
	u->wfd = -1;
	if (u->started)
		pthread_join(u->th, NULL);
	u->started = 0;
	if (u->rfd >= 0)
		close(u->rfd);
	u->rfd = -1;
	if (ok && u->failed)
		rc = fail(err, PYRO_ERR_INVALID_ARCHIVE, "export: %s", u->err_msg);
	else if (ok && u->top[0] == '\0')
		rc = fail(err, PYRO_ERR_IO, "export: the guest sent nothing");
	else if (ok) {
		snprintf(src, sizeof(src), "%s/%s", u->tmp, u->top);
		if (u->force)
			(void)unlink(u->out);
		if (rename(src, u->out) < 0)
			rc = fail(err, errno == EEXIST || errno == ENOTEMPTY ?
			    "exists" : "io_error", "cannot move the export to "
			    "%s: %s", u->out, strerror(errno));
	}
	rm_tree(u->tmp);
	return ok ? rc : -1;
}
