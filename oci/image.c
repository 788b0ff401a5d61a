/*
 * pyro env import NAME --image REF: a container image as a custom
 * environment.
 *
 *	GET the image's manifest (an index: its linux/amd64 entry); every
 *	  layer a tar (plain, gzip or zstd)
 *	fetch the layers into CACHE/.staging-import-NAME/ (digests checked
 *	  as in a pull)
 *	apply them in order into STAGE/root, in a child that chroot()s there
 *	  first: per layer, its whiteouts on what the layers below made
 *	  (.wh.NAME removes NAME, .wh..wh..opq empties the directory), then
 *	  its entries with owners, modes, times, xattrs and ACLs
 *	refuse the image without /bin/sh (commands run as sh -lc)
 *	mkfs.ext4 -d STAGE/root into rootfs.ext4; the kernel and pyro's
 *	  initramfs (which holds pyro-agent) from the base environment
 *	manifest.json with "custom": true, then the atomic install
 *
 * Trust: the image is hostile.  Its names never resolve outside the
 * tree: names with ".." or a leading "/" are refused by name before
 * libarchive sees them (it refuses them too, and any write through a
 * symlink: ARCHIVE_EXTRACT_SECURE_*; nothing else writes in the 0700
 * staging directory meanwhile), hard link targets are held to the same
 * rules, whiteouts go through pyro_openat_beneath() (the kernel refuses a
 * symlink in any component), the shell check resolves in the tree
 * (RESOLVE_IN_ROOT), owners stay numeric (no NSS lookup of the image's
 * names), device nodes are skipped (the guest's /dev is devtmpfs), file
 * flags are not applied (an immutable file would outlive cleanup), and
 * the tree is bounded in bytes and entries.  No chroot: inside one, glibc
 * would read the image's gconv and NSS files.  Writing foreign owners
 * needs root, so import is root's.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cap-ng.h>
#include <cjson/cJSON.h>

#include "catalog.h"
#include "path.h"
#include "procs.h"
#include "ocitool.h"

#define TREE_MAX_DEFAULT	(16ULL << 30)	/* bytes of files */
#define ENTRIES_MAX		(2 * 1000 * 1000)
#define WH			".wh."
#define WH_OPAQUE		".wh..wh..opq"

/* What the child tells the parent through a pipe: its error, or the
 * tree's size (entries and bytes of files). */
struct childerr {
	struct oerr		e;
	unsigned long		entries;
	unsigned long long	bytes;
};

/* Remove everything in directory fd (not the directory). */
static int
empty_dir(int fd)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 dup_fd, rc = 0;

	/* A description of its own: a dup would share the offset. */
	if ((dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? pyro_rm_tree_at(fd, de->d_name) < 0 :
		    unlinkat(fd, de->d_name, 0) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* One whiteout, relative to the tree's root fd. */
static int
whiteout(int root, const char *name)
{
	char		 dir[4096], *slash;
	const char	*base;
	struct stat	 st;
	int		 fd, rc;

	snprintf(dir, sizeof(dir), "%s", name);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		base = slash + 1;
		fd = pyro_openat_beneath(root, dir, O_RDONLY | O_DIRECTORY, 0);
	} else {
		base = dir;
		fd = dup(root);
	}
	/* ".wh..", ".wh..." would name the directory or its parent. */
	if (strcmp(base, WH_OPAQUE) != 0 && (strcmp(base + strlen(WH), ".") ==
	    0 || strcmp(base + strlen(WH), "..") == 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0)
		return 0;	/* nothing below to hide, or under a link */
	if (strcmp(base, WH_OPAQUE) == 0)
		rc = empty_dir(fd);
	else if (fstatat(fd, base + strlen(WH), &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = 0;
	else
		rc = S_ISDIR(st.st_mode) ? pyro_rm_tree_at(fd, base + strlen(WH)) :
		    unlinkat(fd, base + strlen(WH), 0);
	close(fd);
	return rc < 0 ? -1 : 0;
}

static struct archive *
layer_open(int fd)
{
	struct archive	*a = archive_read_new();

	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Pass 1: the layer's whiteouts, on what the layers below made. */
static int
layer_whiteouts(int fd, int root, int n, struct childerr *ce)
{
	struct archive		*a;
	struct archive_entry	*ent;
	char			 name[4096], what[64];
	const char		*b;
	int			 r, rc = 0;

	snprintf(what, sizeof(what), "layer %d", n);
	if ((a = layer_open(fd)) == NULL)
		return oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s is not a tar "
		    "archive", what);
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		if (oci_layer_name(archive_entry_pathname(ent), name,
		    sizeof(name)) != 0)
			continue;	/* pass 2 refuses it by name */
		b = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		if (strncmp(b, WH, strlen(WH)) != 0)
			continue;
		if (strlen(b) == strlen(WH) || whiteout(root, name) < 0) {
			rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s: a "
			    "whiteout that cannot be applied", what);
			break;
		}
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s is not a "
		    "readable tar archive", what);
	archive_read_free(a);
	return rc;
}

/*
 * The xattrs an entry keeps: user.*, security.capability (file caps of
 * the image's programs) and POSIX ACLs; not trusted.* (overlayfs and
 * friends read those on the host), nor other security.* labels.
 */
static void
keep_xattrs(struct archive_entry *ent)
{
	const char	*name[64];
	const void	*val[64];
	size_t		 size[64];
	const char	*k;
	const void	*v;
	size_t		 sz;
	int		 n = 0, i;

	if (archive_entry_xattr_reset(ent) == 0)
		return;
	while (archive_entry_xattr_next(ent, &k, &v, &sz) == ARCHIVE_OK &&
	    n < 64)
		if (strncmp(k, "user.", 5) == 0 ||
		    strcmp(k, "security.capability") == 0 ||
		    strncmp(k, "system.posix_acl_", 17) == 0) {
			name[n] = strdup(k);
			val[n] = malloc(sz ? sz : 1);
			if (name[n] == NULL || val[n] == NULL) {
				free((void *)name[n]);
				free((void *)val[n]);
				break;
			}
			memcpy((void *)val[n], v, sz);
			size[n++] = sz;
		}
	archive_entry_xattr_clear(ent);
	for (i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(ent, name[i], val[i], size[i]);
		free((void *)name[i]);
		free((void *)val[i]);
	}
}

/* Pass 2: the layer's entries, written beneath the tree's root. */
static int
layer_extract(int fd, int n, unsigned long long *bytes,
    unsigned long long max, unsigned long *entries, struct childerr *ce)
{
	struct archive		*a, *w;
	struct archive_entry	*ent;
	char			 name[4096], link[4096], what[64];
	const char		*b;
	mode_t			 t;
	int			 r, rc = 0, k;

	snprintf(what, sizeof(what), "layer %d", n);
	if ((a = layer_open(fd)) == NULL)
		return oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s is not a tar "
		    "archive", what);
	w = archive_write_disk_new();
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_OWNER |
	    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
	    ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	/* Numeric owners only: no name lookup (NSS) on the image's names. */
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		if ((k = oci_layer_name(archive_entry_pathname(ent), name,
		    sizeof(name))) < 0) {
			rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s has an "
			    "entry with an absolute name or \"..\"", what);
			break;
		}
		if (k == 1)
			continue;	/* "./": the root is ours */
		b = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		if (strncmp(b, WH, strlen(WH)) == 0)
			continue;	/* applied in pass 1 */
		t = archive_entry_filetype(ent);
		if (t == AE_IFCHR || t == AE_IFBLK)
			continue;	/* the guest's /dev is devtmpfs */
		if (archive_entry_hardlink(ent) != NULL) {
			if (oci_layer_name(archive_entry_hardlink(ent), link,
			    sizeof(link)) != 0) {
				rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s "
				    "has a hard link out of the tree", what);
				break;
			}
			archive_entry_set_hardlink(ent, link);
		}
		/* A regular file's size, as libarchive will write it: set,
		 * not negative (pax realsize), and summed without wrapping. */
		if (t == AE_IFREG && (!archive_entry_size_is_set(ent) ||
		    archive_entry_size(ent) < 0)) {
			rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s has an "
			    "entry without a usable size", what);
			break;
		}
		if (t == AE_IFREG)
			*bytes += (unsigned long long)archive_entry_size(ent);
		if (++*entries > ENTRIES_MAX || *bytes > max) {
			rc = oerr_set(&ce->e, PYRO_ERR_LIMIT_EXCEEDED, "the image "
			    "unpacks to more than %llu MiB or %d entries "
			    "(PYRO_IMPORT_MAX_MIB)", max >> 20, ENTRIES_MAX);
			break;
		}
		archive_entry_set_pathname(ent, name);
		archive_entry_set_fflags(ent, 0, 0);
		keep_xattrs(ent);
		if (archive_write_header(w, ent) < ARCHIVE_WARN) {
			rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s: an entry "
			    "cannot be written", what);
			break;
		}
		if (archive_entry_size(ent) > 0) {
			const void	*buf;
			size_t		 len;
			la_int64_t	 off;

			while ((r = archive_read_data_block(a, &buf, &len,
			    &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, buf, len, off) <
				    ARCHIVE_WARN)
					break;
			if (r != ARCHIVE_EOF) {
				rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s: "
				    "an entry's data is damaged", what);
				break;
			}
		}
		if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
			rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s: an entry "
			    "cannot be finished", what);
			break;
		}
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = oerr_set(&ce->e, PYRO_ERR_INVALID_ARCHIVE, "%s is not a "
		    "readable tar archive", what);
	archive_write_close(w);
	archive_write_free(w);
	archive_read_free(a);
	return rc;
}

/* Whether the tree has an executable at path, resolved inside it. */
static int
has_exec(int root, const char *path)
{
	struct open_how	 how = { .flags = O_PATH | O_CLOEXEC,
			    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct stat	 st;
	int		 fd, ok;

	if ((fd = (int)syscall(SYS_openat2, root, path, &how,
	    sizeof(how))) < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0111) != 0;
	close(fd);
	return ok;
}

/*
 * The child keeps only what writing an image's files takes: owners
 * (CHOWN), modes and times of files it does not own (FOWNER), setuid
 * bits (FSETID), directories of other owners (DAC_OVERRIDE), file
 * capabilities (SETFCAP); no_new_privs.  Not MKNOD: devices are skipped.
 */
static int
drop_to_extract(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_DAC_OVERRIDE, CAP_SETFCAP,
	    -1) < 0 || capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/*
 * In a child: work in the tree, apply the layers (fds, in order), check
 * for a shell.  0, or -1 with ce filled.
 */
static int
apply_layers(int rootdir, const int *fds, int n, struct childerr *ce)
{
	unsigned long long	 bytes = 0, max = TREE_MAX_DEFAULT;
	unsigned long		 entries = 0;
	const char		*s = getenv("PYRO_IMPORT_MAX_MIB");
	struct statvfs		 sv;
	int			 i, root;

	if (s != NULL && *s != '\0' && strtoull(s, NULL, 10) < (1ULL << 30))
		max = strtoull(s, NULL, 10) << 20;
	/* The tree, then an image of about its size: half of what is free. */
	if (fstatvfs(rootdir, &sv) == 0 && (unsigned long long)sv.f_bavail *
	    sv.f_frsize / 2 < max)
		max = (unsigned long long)sv.f_bavail * sv.f_frsize / 2;
	if (drop_to_extract() < 0)
		return oerr_set(&ce->e, PYRO_ERR_INTERNAL, "dropping privileges "
		    "failed");
	root = rootdir;
	umask(022);
	for (i = 0; i < n; i++) {
		progress("[import] phase=apply layer=%d/%d\n", i + 1, n);
		if (fchdir(rootdir) < 0)
			return oerr_set(&ce->e, PYRO_ERR_IO, "chdir: %s",
			    strerror(errno));
		if (layer_whiteouts(fds[i], root, i + 1, ce) < 0 ||
		    fchdir(rootdir) < 0 || layer_extract(fds[i], i + 1, &bytes,
		    max, &entries, ce) < 0)
			return -1;
	}
	ce->entries = entries;
	ce->bytes = bytes;
	if (!has_exec(root, "bin/sh"))
		return oerr_set(&ce->e, PYRO_ERR_UNSUPPORTED, "the image has no "
		    "/bin/sh: pyro runs commands with sh -lc (an image needs "
		    "a shell, and a libc for the tools you run)");
	return 0;
}

/* Fork, apply in the child, wait: 0 or -1 with e filled. */
static int
build_tree(int rootdir, const int *fds, int n, unsigned long *entries,
    unsigned long long *bytes, struct oerr *e)
{
	struct childerr	 ce;
	pid_t		 pid;
	int		 p[2], st, rc;
	ssize_t		 r;

	memset(&ce, 0, sizeof(ce));
	if (pipe2(p, O_CLOEXEC) < 0)
		return oerr_set(e, PYRO_ERR_INTERNAL, "pipe: %s",
		    strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return oerr_set(e, PYRO_ERR_INTERNAL, "fork: %s",
		    strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		rc = apply_layers(rootdir, fds, n, &ce);
		(void)!write(p[1], &ce, sizeof(ce));
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	while ((r = read(p[0], &ce, sizeof(ce))) < 0 && errno == EINTR)
		;
	close(p[0]);
	st = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    r == (ssize_t)sizeof(ce)) {
		*entries = ce.entries;
		*bytes = ce.bytes;
		return 0;
	}
	if (r == (ssize_t)sizeof(ce)) {
		ce.e.code[sizeof(ce.e.code) - 1] = '\0';
		ce.e.msg[sizeof(ce.e.msg) - 1] = '\0';
		return oerr_set(e, ce.e.code, "%s", ce.e.msg);
	}
	return oerr_set(e, PYRO_ERR_INTERNAL, "applying the layers failed");
}

/*
 * What workspaces use besides /bin/sh (supervisor/guestsh.c): the tools
 * an image lacks are named in the result, not refused: a one-shot run
 * needs the shell only.
 */
static const struct {
	const char	*tool;
	const char	*for_what;
} wanted[] = {
	{ "mkdir", "workspace create" },
	{ "chmod", "workspace create" },
	{ "tar", "workspace create, seeds, sync push, export, reset" },
	{ "realpath", "seeds, sync push, export" },
	{ "sync", "seeds, sync push, reset" },
	{ "bash", "workspace diff, readiness probes" },
	{ "find", "workspace diff" },
	{ "diff", "workspace diff" },
};

static cJSON *
missing_tools(int root)
{
	cJSON	*arr = cJSON_CreateArray(), *o;
	char	 p1[64], p2[64];
	size_t	 i;

	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		snprintf(p1, sizeof(p1), "bin/%s", wanted[i].tool);
		snprintf(p2, sizeof(p2), "usr/bin/%s", wanted[i].tool);
		if (has_exec(root, p1) || has_exec(root, p2))
			continue;
		progress("[import] note=missing tool=%s needed_by=\"%s\"\n",
		    wanted[i].tool, wanted[i].for_what);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "tool", wanted[i].tool);
		cJSON_AddStringToObject(o, "needed_by", wanted[i].for_what);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/*
 * mkfs.ext4 -d root into envfd/rootfs.ext4, sized for the tree: its files
 * and an inode (and a block) per entry, a quarter more, 256 MiB of room,
 * at least 1 GiB; -N inodes for every entry.  Both are passed to mkfs as
 * /proc/self/fd paths of fds opened here (no path that a rename could
 * redirect), and what mkfs says on stderr (file names from the image)
 * comes back escaped.
 */
static int
make_rootfs(int dfd, int envfd, unsigned long entries,
    unsigned long long bytes, struct oerr *e)
{
	unsigned long long	 mib;
	char			 img[64], src[64], inodes[32], msg[4096];
	const char		*mkfs = access("/sbin/mkfs.ext4", X_OK) == 0 ?
				    "/sbin/mkfs.ext4" : "/usr/sbin/mkfs.ext4";
	pid_t			 pid;
	ssize_t			 n, got = 0;
	int			 fd, dir, st = -1, p[2], i;

	mib = (bytes + (unsigned long long)entries * 8192) / (1 << 20) * 5 / 4 +
	    256;
	if (mib < 1024)
		mib = 1024;
	progress("[import] phase=rootfs size_mib=%llu entries=%lu\n", mib,
	    entries);
	if ((fd = openat(envfd, "rootfs.ext4", O_RDWR | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "rootfs.ext4: %s",
		    strerror(errno));
	if (ftruncate(fd, (off_t)(mib << 20)) < 0 || (dir = openat(dfd, "root",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		close(fd);
		return oerr_set(e, PYRO_ERR_IO, "rootfs.ext4: %s",
		    strerror(errno));
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		close(fd);
		close(dir);
		return oerr_set(e, PYRO_ERR_INTERNAL, "fork: %s",
		    strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY), f2 = dup(fd), d2 = dup(dir);

		if (null < 0 || f2 < 0 || d2 < 0 || dup2(null, 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(127);
		snprintf(img, sizeof(img), "/proc/self/fd/%d", f2);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", d2);
		snprintf(inodes, sizeof(inodes), "%lu", entries + entries / 5 +
		    1024);
		execl(mkfs, "mkfs.ext4", "-q", "-F", "-L", "root", "-N", inodes,
		    "-d", src, img, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	close(fd);
	close(dir);
	while ((n = read(p[0], msg + got, sizeof(msg) - 1 - (size_t)got)) != 0)
		if (n > 0)
			got += n;
		else if (errno != EINTR)
			break;
	close(p[0]);
	msg[got] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	for (i = 0; msg[i] != '\0'; i++)	/* the image's names: escaped */
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
	return oerr_set(e, PYRO_ERR_IO, "mkfs.ext4 -d failed: %.300s", msg);
}

/* Link (else copy) the base's part into envfd; its size and sha256. */
static int
take_part(int basefd, int envfd, const char *part, cJSON *parts,
    struct oerr *e)
{
	struct sha256_ctx	 sha;
	unsigned long long	 len;
	char			 hex[65];
	int			 in, out;
	cJSON			*o;
	ssize_t			 n;

	if (basefd != envfd && linkat(basefd, part, envfd, part, 0) < 0) {
		if ((in = openat(basefd, part, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			return oerr_set(e, PYRO_ERR_ENVIRONMENT_CORRUPT, "the "
			    "base environment's %s: %s", part,
			    strerror(errno));
		if ((out = openat(envfd, part, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
			close(in);
			return oerr_set(e, PYRO_ERR_IO, "%s: %s", part,
			    strerror(errno));
		}
		while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) >
		    0)
			;
		close(in);
		close(out);
		if (n < 0)
			return oerr_set(e, PYRO_ERR_IO, "copying %s: %s", part,
			    strerror(errno));
	}
	if ((in = openat(envfd, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "%s: %s", part,
		    strerror(errno));
	sha256_init(&sha);
	n = file_sha256_fd(in, &sha, &len);
	close(in);
	if (n < 0)
		return oerr_set(e, PYRO_ERR_IO, "hashing %s", part);
	sha_hex(&sha, hex);
	o = cJSON_AddObjectToObject(parts, part);
	cJSON_AddNumberToObject(o, "size", (double)len);
	cJSON_AddStringToObject(o, "sha256", hex);
	return 0;
}

/* The base environment's manifest (a catalog environment, installed). */
static cJSON *
base_manifest(int cachefd, const char *base, int *basefd, struct oerr *e)
{
	char	*b;
	cJSON	*m;

	if (pyro_catalog_find(base) == NULL) {
		oerr_set(e, PYRO_ERR_UNKNOWN_ENVIRONMENT, "the base must be a "
		    "catalog environment (%.64s is not)", base);
		return NULL;
	}
	if ((*basefd = openat(cachefd, base, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0 || (b = read_small_at(*basefd,
	    "manifest.json", 65536, NULL)) == NULL) {
		oerr_set(e, PYRO_ERR_ENVIRONMENT_NOT_INSTALLED, "the base "
		    "environment %s is not installed; pyro env pull %s", base,
		    base);
		return NULL;
	}
	m = cJSON_Parse(b);
	free(b);
	return m;
}

static cJSON *
env_manifest_of(const char *name, const char *ref, const char *digest,
    const char *base, const cJSON *bm)
{
	cJSON		*m = cJSON_CreateObject();
	char		 now[32];
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "version", PYRO_CATALOG_VERSION);
	cJSON_AddStringToObject(m, "kernel_version", cJSON_GetStringValue(
	    cJSON_GetObjectItem(bm, "kernel_version")) ?: "");
	cJSON_AddStringToObject(m, "created_at", now);
	cJSON_AddStringToObject(m, "source", "image");
	cJSON_AddTrueToObject(m, "custom");
	cJSON_AddStringToObject(m, "image", ref);
	cJSON_AddStringToObject(m, "image_digest", digest);
	cJSON_AddStringToObject(m, "base", base);
	if (cJSON_GetObjectItem(bm, "vmms") != NULL)
		cJSON_AddItemToObject(m, "vmms", cJSON_Duplicate(
		    cJSON_GetObjectItem(bm, "vmms"), 1));
	cJSON_AddStringToObject(m, "agent_sha256", cJSON_GetStringValue(
	    cJSON_GetObjectItem(bm, "agent_sha256")) ?: "");
	cJSON_AddObjectToObject(m, "parts");
	return m;
}

/* Checks on the image's manifest: layers that are tars. */
static int
check_image(const struct oci_manifest *m, const char *ref, struct oerr *e)
{
	int	i;

	if (strcmp(m->artifact_type, OCI_ARTIFACT_PYRO) == 0 ||
	    strcmp(m->config.media_type, OCI_MT_PYRO_CONFIG) == 0)
		return oerr_set(e, PYRO_ERR_INVALID_MANIFEST, "%.200s is a pyro "
		    "environment, not an image: pyro env pull", ref);
	for (i = 0; i < m->nlayers; i++)
		if (m->layers[i].layer < OCI_LAYER_TAR ||
		    m->layers[i].layer > OCI_LAYER_TAR_ZSTD)
			return oerr_set(e, PYRO_ERR_INVALID_MANIFEST, "%.200s "
			    "has a layer that is not a tar (%.80s)", ref,
			    m->layers[i].media_type);
	return 0;
}

cJSON *
cmd_import(const char *ref, const char *name, const char *cache,
    const char *base, struct oerr *e)
{
	struct reg		 r;
	struct oci_manifest	*m = NULL;
	char			*body = NULL, digest[72], stage[300], label[32];
	char			*mj = NULL;
	unsigned long long	 fetched = 0, tree = 0, need = 0;
	unsigned long		 entries = 0;
	struct statvfs		 sv;
	int			 cachefd = -1, dfd = -1, basefd = -1, envfd = -1;
	int			 rootdir = -1, fds[OCI_LAYERS_MAX], i, n = 0;
	int			 keep = 0, pick;
	cJSON			*bm = NULL, *em = NULL, *res = NULL;
	cJSON			*missing = NULL;
	struct oci_desc		 d;

	memset(&r, 0, sizeof(r));
	verb = "import";
	if (geteuid() != 0) {
		oerr_set(e, PYRO_ERR_PERMISSION_DENIED, "env import writes "
		    "files with the image's owners: run it as root");
		goto out;
	}
	if (!pyro_env_name_custom_ok(name)) {
		oerr_set(e, PYRO_ERR_INVALID_NAME, "a custom environment is "
		    "NAME[:TAG], lower-case letters, digits, . _ - (not a "
		    "catalog name): %.64s", name);
		goto out;
	}
	if (reg_open_image(&r, ref, e) < 0)
		goto out;
	progress("[import] phase=resolve image=%s%s repository=%s ref=%s\n",
	    r.base, "", r.repo, r.tag);
	if ((cachefd = cache_open(cache, e)) < 0 ||
	    (bm = base_manifest(cachefd, base, &basefd, e)) == NULL)
		goto out;
	if ((m = malloc(sizeof(*m))) == NULL || reg_login(&r, e) < 0 ||
	    (body = get_manifest(&r, r.tag, "the image", m, digest, e)) ==
	    NULL)
		goto out;
	if (m->kind == OCI_KIND_INDEX) {
		if ((pick = oci_index_pick(m, "linux", "amd64")) < 0) {
			oerr_set(e, PYRO_ERR_INVALID_MANIFEST, "the image has no "
			    "linux/amd64 entry");
			goto out;
		}
		snprintf(stage, sizeof(stage), "%s", m->layers[pick].digest);
		free(body);
		if ((body = get_manifest(&r, stage, "the image", m, digest,
		    e)) == NULL)
			goto out;
		if (m->kind != OCI_KIND_MANIFEST) {
			oerr_set(e, PYRO_ERR_INVALID_MANIFEST, "an index in an "
			    "index");
			goto out;
		}
	}
	if (check_image(m, ref, e) < 0)
		goto out;
	progress("[import] phase=manifest digest=%s layers=%d\n", digest,
	    m->nlayers);
	if ((dfd = staging_open(cachefd, "import", name, stage, sizeof(stage),
	    e)) < 0)
		goto out;
	sweep_foreign(dfd, m);
	for (i = 0; i < m->nlayers; i++)
		need += m->layers[i].size;
	if (fstatvfs(dfd, &sv) == 0 && (unsigned long long)sv.f_bavail *
	    sv.f_frsize < need + (1ULL << 30)) {
		oerr_set(e, PYRO_ERR_LIMIT_EXCEEDED, "the image's layers need "
		    "%llu MiB and at least 1 GiB more for its root file system; "
		    "%llu MiB are free", need >> 20, (unsigned long long)
		    sv.f_bavail * sv.f_frsize >> 20);
		goto out;
	}
	keep = 1;
	for (i = 0; i < m->nlayers; i++) {
		d = m->layers[i];
		snprintf(label, sizeof(label), "%d/%d", i + 1, m->nlayers);
		snprintf(d.title, sizeof(d.title), "%s", label);
		if (fetch_blob(&r, dfd, &d, &fetched, e) < 0) {
			keep = strcmp(e->code, PYRO_ERR_DIGEST_MISMATCH) != 0;
			goto out;
		}
	}
	keep = 0;
	(void)pyro_rm_tree_at(dfd, "root");
	(void)pyro_rm_tree_at(dfd, "env");
	if (mkdirat(dfd, "root", 0755) < 0 || mkdirat(dfd, "env", 0755) < 0 ||
	    (rootdir = openat(dfd, "root", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0 || (envfd = openat(dfd, "env",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		oerr_set(e, PYRO_ERR_IO, "staging: %s", strerror(errno));
		goto out;
	}
	for (n = 0; n < m->nlayers; n++)
		if ((fds[n] = openat(dfd, m->layers[n].digest + 7, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0) {
			oerr_set(e, PYRO_ERR_IO, "a layer: %s", strerror(errno));
			goto out;
		}
	if (build_tree(rootdir, fds, n, &entries, &tree, e) < 0)
		goto out;
	missing = missing_tools(rootdir);
	if (make_rootfs(dfd, envfd, entries, tree, e) < 0)
		goto out;
	em = env_manifest_of(name, ref, digest, base, bm);
	progress("[import] phase=parts base=%s\n", base);
	if (take_part(basefd, envfd, "vmlinux", cJSON_GetObjectItem(em,
	    "parts"), e) < 0 || take_part(basefd, envfd, "initramfs.cpio",
	    cJSON_GetObjectItem(em, "parts"), e) < 0 || take_part(envfd,
	    envfd, "rootfs.ext4", cJSON_GetObjectItem(em, "parts"), e) < 0)
		goto out;
	if ((mj = cJSON_PrintUnformatted(em)) == NULL ||
	    write_file_at(envfd, "manifest.json", mj, strlen(mj)) < 0 ||
	    fsync(envfd) < 0) {
		oerr_set(e, PYRO_ERR_IO, "writing the manifest: %s",
		    strerror(errno));
		goto out;
	}
	(void)pyro_rm_tree_at(dfd, "root");
	if (install_dir(cachefd, stage, name, e) < 0)
		goto out;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "environment", name);
	cJSON_AddStringToObject(res, "source", "image");
	cJSON_AddStringToObject(res, "image", ref);
	cJSON_AddStringToObject(res, "image_digest", digest);
	cJSON_AddStringToObject(res, "base", base);
	cJSON_AddNumberToObject(res, "layers", m->nlayers);
	cJSON_AddNumberToObject(res, "bytes_downloaded", (double)fetched);
	cJSON_AddNumberToObject(res, "rootfs_bytes", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(em,
	    "parts"), "rootfs.ext4"), "size")));
	cJSON_AddBoolToObject(res, "custom", 1);
	cJSON_AddItemToObject(res, "missing_tools", missing);
	missing = NULL;
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (rootdir >= 0)
		close(rootdir);
	if (envfd >= 0)
		close(envfd);
	if (dfd >= 0) {
		if (!keep)
			(void)pyro_rm_tree_at(cachefd, stage);
		close(dfd);
	}
	if (basefd >= 0)
		close(basefd);
	if (cachefd >= 0)
		close(cachefd);
	reg_close(&r);
	cJSON_Delete(bm);
	cJSON_Delete(em);
	cJSON_Delete(missing);
	free(body);
	free(mj);
	free(m);
	return res;
}
