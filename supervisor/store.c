/*
 * The registry on disk.  Layout under the state directory:
 *
 *	vms/<id>/vm.json
 *	workspaces/<id>/workspace.json
 *
 * Only pyrod writes here.  Records are replaced atomically (atomic.c), so a
 * crash leaves the old or the new record; leftover temporaries are swept at
 * start.  A record that does not parse or does not match its directory is
 * logged and skipped, never "repaired" by guesswork.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define RECORD_MAX	(1024 * 1024)
#define RECORDS_MAX	4096
#define EVENTS_MAX	200

struct record_list	records = LIST_HEAD_INITIALIZER(records);
static int		state_fd = -1;

static const struct {
	const char	*dir;
	const char	*file;
	const char	*name;
} kinds[] = {
	[REC_VM] = { "vms", "vm.json", "vm" },
	[REC_WORKSPACE] = { "workspaces", "workspace.json", "workspace" },
};

/* States in which a VM process must exist; after a restart none does. */
/* The one name table of record states (enum rec_st), and which of them
 * mean a VM was live (no helper survives a pyrod restart). */
static const struct {
	const char	*name;
	int		 live;
} states[ST__MAX] = {
	[ST_UNKNOWN] = { "unknown", 0 },
	[ST_CREATED] = { "created", 0 },
	[ST_CREATING] = { "creating", 1 },
	[ST_STARTING] = { "starting", 1 },
	[ST_RUNNING] = { "running", 1 },
	[ST_STOPPING] = { "stopping", 1 },
	[ST_STOPPED] = { "stopped", 0 },
	[ST_RESETTING] = { "resetting", 1 },
	[ST_FAILED] = { "failed", 0 },
	[ST_DELETING] = { "deleting", 0 },
};

const char *
rec_st_name(enum rec_st st)
{
	return (unsigned)st < ST__MAX ? states[st].name : "unknown";
}

enum rec_st
rec_st(const struct record *r)
{
	const char	*name = rec_state(r);
	int		 i;

	for (i = 1; i < ST__MAX; i++)
		if (strcmp(states[i].name, name) == 0)
			return (enum rec_st)i;
	return ST_UNKNOWN;
}

int
rec_visible(const struct record *r, uid_t uid)
{
	return uid == 0 || r->owner == uid;
}

const char *
rec_kind_name(enum rec_kind k)
{
	return kinds[k].name;
}

static int
mkdirat_p(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void
rec_free(struct record *r)
{
	cJSON_Delete(r->doc);
	free(r);
}

static cJSON *
read_json_at(int dirfd, const char *name)
{
	char		*buf;
	struct stat	 st;
	ssize_t		 n;
	int		 fd;
	cJSON		*doc;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RECORD_MAX) {
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	doc = cJSON_Parse(buf);
	free(buf);
	if (doc != NULL && !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/*
 * A snapshot archive its record does not list: pyrod died between putting
 * it in place and saving the record that names it.  Nobody can see or
 * reset to it, and it would hold bytes outside the snapshot budget.
 */
static void
sweep_snapshots(int rfd, const char *id, const cJSON *doc)
{
	const cJSON	*arr = cJSON_GetObjectItem(doc, "snapshots"), *it;
	struct dirent	*de;
	DIR		*d;
	size_t		 len;
	int		 dfd, listed;
	char		 name[80];

	if ((dfd = dup(rfd)) < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "snapshot-", 9) != 0 || len < 14 ||
		    len - 13 >= sizeof(name) ||
		    strcmp(de->d_name + len - 4, ".tar") != 0)
			continue;
		memcpy(name, de->d_name + 9, len - 13);
		name[len - 13] = '\0';
		listed = 0;
		cJSON_ArrayForEach(it, arr) {
			const cJSON *n = cJSON_GetObjectItem(it, "name");

			if (cJSON_IsString(n) && strcmp(n->valuestring,
			    name) == 0)
				listed = 1;
		}
		if (!listed && unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("workspace %s: removed %s, which its record "
			    "does not list", id, de->d_name);
	}
	closedir(d);
}

static void
load_kind(enum rec_kind k)
{
	DIR		*d;
	struct dirent	*de;
	int		 kfd, rfd, dfd, n = 0;
	struct record	*r;
	cJSON		*doc;
	const cJSON	*id, *owner;

	if ((kfd = openat(state_fd, kinds[k].dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) < 0)
		fatal("open %s", kinds[k].dir);
	if ((dfd = dup(kfd)) < 0 || (d = fdopendir(dfd)) == NULL)
		fatal("opendir %s", kinds[k].dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!pyro_id_valid(de->d_name)) {
			log_warnx("ignoring %s/%s: not a record id",
			    kinds[k].dir, de->d_name);
			continue;
		}
		if (++n > RECORDS_MAX) {
			log_warnx("more than %d %s records; ignoring the rest",
			    RECORDS_MAX, kinds[k].name);
			break;
		}
		rfd = openat(kfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW);
		if (rfd < 0)
			continue;
		(void)pyro_atomic_sweep(rfd);
		doc = read_json_at(rfd, kinds[k].file);
		id = cJSON_GetObjectItemCaseSensitive(doc, "id");
		owner = cJSON_GetObjectItemCaseSensitive(doc, "owner_uid");
		if (doc == NULL || !cJSON_IsString(id) ||
		    strcmp(id->valuestring, de->d_name) != 0 ||
		    !cJSON_IsNumber(owner) || owner->valuedouble < 0 ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc,
		    "state"))) {
			log_warnx("ignoring %s/%s: unreadable or inconsistent "
			    "record", kinds[k].dir, de->d_name);
			cJSON_Delete(doc);
			close(rfd);
			continue;
		}
		if (k == REC_WORKSPACE)
			sweep_snapshots(rfd, de->d_name, doc);
		close(rfd);
		if ((r = calloc(1, sizeof(*r))) == NULL)
			fatal("calloc");
		r->kind = k;
		memcpy(r->id, de->d_name, PYRO_ID_LEN + 1);
		r->owner = (uid_t)owner->valuedouble;
		r->doc = doc;
		LIST_INSERT_HEAD(&records, r, entry);
	}
	closedir(d);
	close(kfd);
}

int
store_open(const char *dir)
{
	int	rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state_fd < 0)
		return -errno;
	if ((rc = mkdirat_p(state_fd, kinds[REC_VM].dir)) < 0 ||
	    (rc = mkdirat_p(state_fd, kinds[REC_WORKSPACE].dir)) < 0)
		return rc;
	load_kind(REC_VM);
	load_kind(REC_WORKSPACE);
	/* No VM runs yet: every jail is an earlier run's, every disk root's,
	 * every unfinished template build a dead one. */
	(void)fc_jail_remove(NULL);
	tpl_builds_remove();
	{
		struct record *r;

		LIST_FOREACH(r, &records, entry)
			if (r->kind == REC_WORKSPACE)
				fc_disk_reclaim(r);
	}
	return 0;
}

void
store_close(void)
{
	struct record	*r;

	while ((r = LIST_FIRST(&records)) != NULL) {
		LIST_REMOVE(r, entry);
		rec_free(r);
	}
	if (state_fd >= 0)
		close(state_fd);
	state_fd = -1;
}

struct record *
store_find(enum rec_kind k, const char *id)
{
	struct record	*r;

	LIST_FOREACH(r, &records, entry)
		if (r->kind == k && strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

void
iso_time(char *buf, size_t size, time_t t)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
iso_now(char *buf, size_t size)
{
	iso_time(buf, size, time(NULL));
}

struct record *
store_create(enum rec_kind k, uid_t owner)
{
	struct record	*r;
	char		 ts[32];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	do {
		if (pyro_id_new(r->id) < 0) {
			free(r);
			return NULL;
		}
	} while (store_find(k, r->id) != NULL);
	r->kind = k;
	r->owner = owner;
	iso_now(ts, sizeof(ts));
	r->doc = cJSON_CreateObject();
	cJSON_AddStringToObject(r->doc, "id", r->id);
	cJSON_AddStringToObject(r->doc, "kind", kinds[k].name);
	cJSON_AddNumberToObject(r->doc, "owner_uid", owner);
	cJSON_AddStringToObject(r->doc, "state", "creating");
	cJSON_AddStringToObject(r->doc, "created_at", ts);
	cJSON_AddItemToObject(r->doc, "events", cJSON_CreateArray());
	LIST_INSERT_HEAD(&records, r, entry);
	return r;
}

int
store_save(struct record *r)
{
	char	*text;
	int	 kfd, rfd, rc;

	if ((text = cJSON_Print(r->doc)) == NULL)
		return -ENOMEM;
	kfd = openat(state_fd, kinds[r->kind].dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (kfd < 0) {
		free(text);
		return -errno;
	}
	if ((rc = mkdirat_p(kfd, r->id)) == 0) {
		rfd = openat(kfd, r->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOFOLLOW);
		if (rfd < 0)
			rc = -errno;
		else {
			rc = pyro_atomic_write(rfd, kinds[r->kind].file, text,
			    strlen(text), 0600);
			close(rfd);
		}
	}
	close(kfd);
	free(text);
	if (rc < 0)
		log_warnx("saving %s %s: %s", kinds[r->kind].name, r->id,
		    strerror(-rc));
	return rc;
}

const char *
rec_state(const struct record *r)
{
	const cJSON	*s = cJSON_GetObjectItemCaseSensitive(r->doc, "state");

	return cJSON_IsString(s) ? s->valuestring : "unknown";
}

/* Set doc[key] = val, in place when the key exists, appended otherwise. */
static void
set_string(cJSON *doc, const char *key, const char *val)
{
	if (cJSON_GetObjectItemCaseSensitive(doc, key) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(doc, key,
		    cJSON_CreateString(val));
	else
		cJSON_AddStringToObject(doc, key, val);
}

/* Change state and append a lifecycle event (bounded). */
void
rec_set_state(struct record *r, enum rec_st st, const char *event,
    const char *detail)
{
	const char	*state = rec_st_name(st);
	cJSON		*evs, *ev;
	char		 ts[32];

	iso_now(ts, sizeof(ts));
	/* Replace in place: a record keeps its key order on disk. */
	set_string(r->doc, "state", state);
	set_string(r->doc, "updated_at", ts);
	evs = cJSON_GetObjectItemCaseSensitive(r->doc, "events");
	if (!cJSON_IsArray(evs)) {
		cJSON_DeleteItemFromObjectCaseSensitive(r->doc, "events");
		evs = cJSON_AddArrayToObject(r->doc, "events");
	}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "at", ts);
	cJSON_AddStringToObject(ev, "event", event);
	cJSON_AddStringToObject(ev, "state", state);
	if (detail != NULL)
		cJSON_AddStringToObject(ev, "detail", detail);
	cJSON_AddItemToArray(evs, ev);
	while (cJSON_GetArraySize(evs) > EVENTS_MAX)
		cJSON_DeleteItemFromArray(evs, 0);
}

/*
 * After a restart no helper of ours is alive (they exit when pyrod's end of
 * their socket closes), so a record that claims a live VM is stale: it is
 * marked stopped (a workspace caught mid-create: failed), its disk
 * untouched, and the event says why.  A record caught mid-delete is
 * removed: its VM is gone and the delete was asked for.
 */
int
store_recover(void)
{
	struct record	*r, *next;
	enum rec_st	 st;
	int		 n = 0;

	for (r = LIST_FIRST(&records); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		st = rec_st(r);
		if (st == ST_DELETING) {
			log_info("%s %s: was %s before the restart, now "
			    "removed", kinds[r->kind].name, r->id,
			    rec_st_name(st));
			store_remove(r);
			n++;
			continue;
		}
		if (!states[st].live)
			continue;
		/* A workspace caught mid-create never got its baseline. */
		if (r->kind == REC_WORKSPACE && st == ST_CREATING)
			rec_set_state(r, ST_FAILED, "recovered", "pyrod "
			    "restarted while the workspace was being created; "
			    "delete it and create it again");
		else
			rec_set_state(r, ST_STOPPED, "recovered", "pyrod "
			    "restarted; the VM was no longer running");
		(void)store_save(r);
		log_info("%s %s: was %s before the restart, now stopped",
		    kinds[r->kind].name, r->id, rec_st_name(st));
		n++;
	}
	return n;
}

/*
 * Remove dirfd/name and everything beneath it without following a
 * symlink: a Firecracker jail is written by the VMM (its chroot), so it
 * may hold anything.  Depth-bounded; 1 when something was removed.
 */
static int
rmtree_at(int dirfd, const char *name, int depth)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) == 0;
	if (depth > 32 || (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name,
		    "..") != 0)
			(void)rmtree_at(fd, de->d_name, depth + 1);
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		log_warn("removing %s", name);
	return 1;
}

/*
 * Firecracker jails: <state>/jail/firecracker/<id> (the jailer's
 * layout), removed after each run; all of them at start (id NULL), when
 * no VM runs.  1 when one was there.
 */
int
fc_jail_remove(const char *id)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, n = 0;

	if ((fd = openat(state_fd, "jail/firecracker", O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (id != NULL) {
		n = rmtree_at(fd, id, 0);
		/* Too deep to remove: out of the way, for the next sweep. */
		if (faccessat(fd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			char aside[64];

			snprintf(aside, sizeof(aside), ".stale-%s-%lld", id,
			    (long long)time(NULL));
			if (renameat(fd, id, fd, aside) < 0)
				log_warn("moving jail %s aside", id);
		}
		close(fd);
		return n;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name,
		    "..") != 0)
			n += rmtree_at(dirfd(d), de->d_name, 0);
	closedir(d);
	if (n > 0)
		log_info("removed %d Firecracker jail(s) of an earlier run", n);
	return n;
}

/*
 * After a Firecracker run: the disk the jail shared is root's again, mode
 * 0600, with no ACL Firecracker may have added while it owned the inode.
 */
void
fc_disk_reclaim(struct record *r)
{
	struct stat	st;
	int		fd = store_openat(r, "rootfs.ext4", O_RDONLY |
			    O_NONBLOCK, 0);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_uid != 0 ||
	    st.st_gid != 0 || (st.st_mode & 07777) != 0600)) {
		if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0600) < 0)
			log_warn("%s: giving the disk back to root", r->id);
		(void)fremovexattr(fd, "system.posix_acl_access");
	}
	close(fd);
}

int
store_openat(struct record *r, const char *name, int flags, mode_t mode)
{
	int	kfd, rfd, fd;

	kfd = openat(state_fd, kinds[r->kind].dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (kfd < 0)
		return -errno;
	if (mkdirat_p(kfd, r->id) < 0 || (rfd = openat(kfd, r->id, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		close(kfd);
		return -errno;
	}
	close(kfd);
	fd = openat(rfd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		fd = -errno;
	close(rfd);
	return fd;
}

int
store_rename(struct record *r, const char *from, const char *to)
{
	int	fd, rc = 0;

	if ((fd = store_openat(r, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		return fd;
	if (renameat(fd, from, fd, to) < 0 || fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
store_unlink(struct record *r, const char *name)
{
	int	fd, rc = 0;

	if ((fd = store_openat(r, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		return fd;
	if (unlinkat(fd, name, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void
store_remove(struct record *r)
{
	DIR		*d;
	struct dirent	*de;
	int		 kfd, rfd;

	kfd = openat(state_fd, kinds[r->kind].dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (kfd >= 0) {
		rfd = openat(kfd, r->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOFOLLOW);
		if (rfd >= 0 && (d = fdopendir(rfd)) != NULL) {
			/*
			 * Record directories are flat: files only.  The
			 * record's own file goes last, so a crash in between
			 * leaves a record that still says "deleting".
			 */
			while ((de = readdir(d)) != NULL)
				if (strcmp(de->d_name, ".") != 0 &&
				    strcmp(de->d_name, "..") != 0 &&
				    strcmp(de->d_name, kinds[r->kind].file) != 0)
					(void)unlinkat(dirfd(d), de->d_name, 0);
			(void)unlinkat(dirfd(d), kinds[r->kind].file, 0);
			closedir(d);
		} else if (rfd >= 0)
			close(rfd);
		if (unlinkat(kfd, r->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
			log_warn("removing %s %s", kinds[r->kind].name, r->id);
		close(kfd);
	}
	LIST_REMOVE(r, entry);
	rec_free(r);
}

/* A registry listing: {key: [{id, vm_id|workspace_id, state, ...}]}. */
cJSON *
store_list_json(enum rec_kind k, uid_t uid, const char *key)
{
	struct record	*r;
	cJSON		*res = cJSON_CreateObject(), *o;
	cJSON		*arr = cJSON_AddArrayToObject(res, key);

	LIST_FOREACH(r, &records, entry) {
		if (r->kind != k || !rec_visible(r, uid))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", r->id);
		cJSON_AddStringToObject(o, k == REC_VM ? "vm_id" :
		    "workspace_id", r->id);
		cJSON_AddStringToObject(o, "state", rec_state(r));
		cJSON_AddItemToObject(o, "environment", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "environment"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddItemToObject(o, "created_at", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "created_at"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddNumberToObject(o, "owner_uid", r->owner);
		cJSON_AddItemToArray(arr, o);
	}
	return res;
}

/*
 * The record's own disk, rootfs.ext4, read-write: the one from an earlier
 * run, or a new empty file (*fresh set: the environment's image is to be
 * copied into it).  Returns the fd or -errno.
 */
int
store_open_disk(struct record *r, int *fresh)
{
	int	fd = store_openat(r, "rootfs.ext4", O_RDWR, 0);

	*fresh = 0;
	if (fd == -ENOENT) {
		fd = store_openat(r, "rootfs.ext4", O_RDWR | O_CREAT | O_EXCL,
		    0600);
		*fresh = fd >= 0;
	}
	return fd;
}
