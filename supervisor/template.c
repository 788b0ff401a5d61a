/*
 * Warm-start templates.  A template is one guest of an environment,
 * booted cold once, stopped right after its agent said hello (and synced
 * its disk), and saved: the VMM's state in "state" (QEMU: guest memory
 * and devices; Firecracker: devices, its guest memory in "memory"), the
 * disk it ran on in "rootfs.ext4", and what they hash to in
 * "template.json".  A VM whose shape matches is started from them instead
 * of booted (vmi.c): its disk is the template's disk (a one-shot VM's
 * snapshot overlay over it, a workspace's copy of it), because the saved
 * memory holds that disk's page cache and ext4 state.
 *
 * Layout, in the state directory (root's, hidden from every VMM):
 *	templates/<key>/template.json, state, rootfs.ext4 (, memory)
 *	templates/.build-<key>/		while one is made
 * <key> is the sha256 of everything the saved state depends on: the
 * environment's three parts (so its agent), the machine's shape (memory,
 * vCPUs), the accelerator and CPU model, the VMM itself (QEMU or
 * Firecracker: which, path, size, mtime),
 * the guest protocol, and the clock rate the guest calibrated to.  A
 * change to any of them is another key: an old template is never used
 * for it, and `environment.templates` with "prune" removes it.
 *
 * Trust: templates are made by pyrod from a fresh boot in which nothing
 * but the environment ran; template.json is pyrod's own.  Still, each
 * file is checked before use (sizes here, sha256 by the VM helper once
 * per stamp, as environments are), and a template that fails a check is
 * removed and the VM boots cold.  A Firecracker template's files were
 * never the jail's (its build wrote into the jail's own files, which the
 * VM helper copied out); its state and memory are root's, mode 0640,
 * group the jail's: a restore links them into its jail, where Firecracker
 * reads them and maps the memory privately.  Their stamps leave out the
 * ctime, which each link and unlink changes (nobody but root can write
 * them: a size or mtime still tells a change).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "atomic.h"
#include "frame.h"
#include "guestproto.h"
#include "log.h"
#include "path.h"
#include "pyrod.h"

#define TPL_FORMAT	1
#define TPL_DIR		"templates"
#define TPL_JSON_MAX	8192
#define TPL_BUILDS_MAX	4
#define TPL_LAZY_MAX	16

static const char *const tpl_files[] = { "state", "rootfs.ext4",
	"template.json", "memory", NULL };

/* What a template is made for, beside its environment. */
struct shape {
	unsigned		 mem, vcpus;
	int			 fc;		/* Firecracker's, else QEMU's */
	int			 nic;		/* a networked VM's */
	const char		*vmm;		/* the VMM's path */
};

/* A template being made (a cold boot that ends in a save). */
struct tbuild {
	int			 used;
	char			 key[65];
	char			 env[64];
	unsigned		 mem, vcpus;
	int			 fc;		/* Firecracker's */
	int			 nic;		/* a networked shape's */
	struct record		 rec;		/* transient: never stored */
	struct vmi		*v;
	struct request		*rq;		/* environment.warm, or NULL */
	int			 dfd;		/* templates/.build-<key> */
	int			 saved;
	struct pyro_msg_vm_saved sv;
	long long		 t0;
};
static struct tbuild	builds[TPL_BUILDS_MAX];
/*
 * Keys whose build the guest refused (unsupported: an environment whose
 * agent cannot take an address after a restore): lazy builds do not boot
 * them again.  Another environment is another key.
 */
#define TPL_REFUSED_MAX	16
static char		refused[TPL_REFUSED_MAX][65];
static int		nrefused;

/* templates/ under the state directory, made if needed. */
static int
tpl_root(void)
{
	char	path[4200];

	snprintf(path, sizeof(path), "%s/%s", conf.state_dir, TPL_DIR);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* Remove a template's (flat) directory; 0 if it is gone. */
static int
tpl_rmdir(int root, const char *name)
{
	int	dfd, i;

	if ((dfd = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) >= 0) {
		for (i = 0; tpl_files[i] != NULL; i++)
			(void)unlinkat(dfd, tpl_files[i], 0);
		(void)pyro_atomic_sweep(dfd);	/* a write cut short */
		close(dfd);
	}
	if (unlinkat(root, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		log_warn("removing template %s", name);
		return -1;
	}
	return 0;
}

static int
rec_num(const struct record *r, const char *key, int dflt)
{
	const cJSON	*it = cJSON_GetObjectItem(r->doc, key);

	return cJSON_IsNumber(it) ? (int)it->valuedouble : dflt;
}

/*
 * The key of a VM of this environment and shape (its VMM, QEMU's or
 * Firecracker's path): the hex sha256 of a canonical text of every
 * input.  -1 when the VMM is not there.
 */
static int
key_of(const struct env *e, const struct shape *sh, char key[65],
    char *desc, size_t descsz)
{
	struct sha256_ctx	ctx;
	struct stat		st;
	uint8_t			dg[SHA256_DIGEST_SIZE];
	char			text[1024];
	int			kvm = host_kvm_usable() == 1, n, i;

	if (stat(sh->vmm, &st) < 0)
		return -1;
	n = snprintf(text, sizeof(text), "pyro-template %d\nkernel %s\n"
	    "initrd %s\nrootfs %s\nmem %u\nvcpus %u\naccel %s\ncpu %s\n"
	    "%s %s %lld %lld.%09ld\nprotocol %u\ntsc %u\n%s", TPL_FORMAT,
	    e->sha256[VM_FILE_KERNEL], e->sha256[VM_FILE_INITRD],
	    e->sha256[VM_FILE_ROOTFS], sh->mem, sh->vcpus, kvm ? "kvm" : "tcg",
	    kvm ? "host" : "max", sh->fc ? "firecracker" : "qemu", sh->vmm,
	    (long long)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, GP_VERSION,
	    host_tsc_khz(), sh->nic ? "nic virtio-net 02:50:59:52:4f:01\n" :
	    "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	sha256_init(&ctx);
	sha256_update(&ctx, (size_t)n, (const uint8_t *)text);
	sha256_digest(&ctx, sizeof(dg), dg);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(key + 2 * i, 3, "%02x", dg[i]);
	if (desc != NULL)
		snprintf(desc, descsz, "%s", text);
	return 0;
}

/* A record's shape: its memory, vCPUs and network. */
static void
shape_of(const struct record *r, int fc, const char *vmm, struct shape *sh)
{
	sh->mem = (unsigned)rec_num(r, "mem_mib", 1024);
	sh->vcpus = (unsigned)rec_num(r, "vcpu_count", 1);
	sh->fc = fc;
	sh->nic = net_wanted(r);
	sh->vmm = vmm;
}

int
tpl_key(const struct record *r, const struct env *e, int fc, const char *vmm,
    char key[65])
{
	struct shape	sh;

	shape_of(r, fc, vmm, &sh);
	return key_of(e, &sh, key, NULL, 0);
}

/*
 * Open the template of key into t: t->fd[VM_FILE_ROOTFS] (its disk, read
 * only), t->fd[VM_FILE_STATE] and (fc) t->fd[VM_FILE_MEM], their
 * digests, stamps and verify_mask.  0; 1 when there is none; -1 (why
 * says) when one is there but unusable: it is removed.
 */
int
tpl_open(const char *key, int fc, struct env *t, char *why, size_t whysz)
{
	static const struct {
		int		 role;
		const char	*file, *dg, *sz;
	} parts[] = {
		{ VM_FILE_ROOTFS, "rootfs.ext4", "disk_sha256", "disk_bytes" },
		{ VM_FILE_STATE, "state", "state_sha256", "state_bytes" },
		{ VM_FILE_MEM, "memory", "memory_sha256", "memory_bytes" },
	};
	struct env_stamp	 s;
	cJSON			*o = NULL;
	const cJSON		*it;
	int			 root, dfd = -1, k, i;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < VM_FILE__MAX; k++)
		t->fd[k] = -1;
	why[0] = '\0';
	if ((root = tpl_root()) < 0)
		return 1;
	if ((dfd = openat(root, key, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0) {
		close(root);
		return 1;
	}
	if ((o = env_read_json(dfd, "template.json", TPL_JSON_MAX)) == NULL) {
		snprintf(why, whysz, "its template.json is unreadable");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "key");
	if (!cJSON_IsString(it) || strcmp(it->valuestring, key) != 0 ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "format")) ||
	    cJSON_GetObjectItemCaseSensitive(o, "format")->valueint !=
	    TPL_FORMAT) {
		snprintf(why, whysz, "its template.json is not this pyrod's");
		goto bad;
	}
	for (i = 0; i < (fc ? 3 : 2); i++) {
		const cJSON *dg = cJSON_GetObjectItemCaseSensitive(o,
		    parts[i].dg);
		const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o,
		    parts[i].sz);

		k = parts[i].role;
		if (!cJSON_IsString(dg) || !env_hexdigest_ok(dg->valuestring) ||
		    !cJSON_IsNumber(sz)) {
			snprintf(why, whysz, "its template.json lacks %s",
			    parts[i].dg);
			goto bad;
		}
		memcpy(t->sha256[k], dg->valuestring, 65);
		t->fd[k] = openat(dfd, parts[i].file, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW);
		if (t->fd[k] < 0 || env_stamp_fd(t->fd[k], &s) < 0) {
			snprintf(why, whysz, "its %s is missing",
			    parts[i].file);
			goto bad;
		}
		if ((double)s.size != sz->valuedouble) {
			snprintf(why, whysz, "its %s has %lld bytes, not %.0f",
			    parts[i].file, (long long)s.size, sz->valuedouble);
			goto bad;
		}
		/* Linked into jails (and out again): see above. */
		if (fc && k != VM_FILE_ROOTFS)
			memset(&s.ctime, 0, sizeof(s.ctime));
		t->stamp[k] = s;
		if (!env_stamp_known(&s))
			t->verify_mask |= 1u << k;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "environment");
	snprintf(t->name, sizeof(t->name), "%s", cJSON_IsString(it) ?
	    it->valuestring : "");
	cJSON_Delete(o);
	close(dfd);
	close(root);
	return 0;
bad:
	cJSON_Delete(o);
	env_close(t);
	close(dfd);
	log_warnx("template %.16s: %s; removed, the VM boots cold", key, why);
	(void)tpl_rmdir(root, key);
	close(root);
	return -1;
}

/* A template that failed its digest or its restore: remove it. */
void
tpl_discard(const char *key, const char *why)
{
	int	root;

	log_warnx("template %.16s: %s; removed", key, why);
	if ((root = tpl_root()) < 0)
		return;
	(void)tpl_rmdir(root, key);
	close(root);
}

void
tpl_builds_remove(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 root, n = 0;

	if ((root = tpl_root()) < 0)
		return;
	if ((d = fdopendir(dup(root))) == NULL) {
		close(root);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".build-", 7) == 0 &&
		    tpl_rmdir(root, de->d_name) == 0)
			n++;
	closedir(d);
	close(root);
	if (n > 0)
		log_info("removed %d unfinished template build(s)", n);
}

/* ---- making one ---- */

static struct tbuild *
build_find(const char *key)
{
	int	i;

	for (i = 0; i < TPL_BUILDS_MAX; i++)
		if (builds[i].used && strcmp(builds[i].key, key) == 0)
			return &builds[i];
	return NULL;
}

static cJSON *
build_json(const struct tbuild *b)
{
	cJSON	*o = cJSON_CreateObject();
	char	 when[32];

	iso_time(when, sizeof(when), time(NULL));
	cJSON_AddNumberToObject(o, "format", TPL_FORMAT);
	cJSON_AddStringToObject(o, "key", b->key);
	cJSON_AddStringToObject(o, "environment", b->env);
	cJSON_AddNumberToObject(o, "mem_mib", b->mem);
	cJSON_AddNumberToObject(o, "vcpu_count", b->vcpus);
	cJSON_AddStringToObject(o, "vmm", b->fc ? "firecracker" : "qemu");
	cJSON_AddBoolToObject(o, "network", b->nic);
	cJSON_AddStringToObject(o, "state_sha256", b->sv.state_sha256);
	cJSON_AddNumberToObject(o, "state_bytes", (double)b->sv.state_bytes);
	if (b->fc) {
		cJSON_AddStringToObject(o, "memory_sha256", b->sv.mem_sha256);
		cJSON_AddNumberToObject(o, "memory_bytes",
		    (double)b->sv.mem_bytes);
	}
	cJSON_AddStringToObject(o, "disk_sha256", b->sv.disk_sha256);
	cJSON_AddNumberToObject(o, "boot_ms", b->sv.boot_ms);
	cJSON_AddNumberToObject(o, "save_ms", b->sv.save_ms);
	cJSON_AddStringToObject(o, "created_at", when);
	return o;
}

/*
 * A Firecracker template's state or memory: root's, readable by the
 * jail's group alone (a restore links it into its jail, where Firecracker
 * reads it as that group), written by nobody but pyro.
 */
static int
share_with_jails(int dfd, const char *name)
{
	struct stat	sb;
	int		fd, rc = -1;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 &&
	    fchown(fd, 0, (gid_t)conf.fc_gid) == 0 && fchmod(fd, 0640) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* The save is complete: template.json, then the directory in place. */
static int
build_install(struct tbuild *b, cJSON *meta, struct pyro_status *st)
{
	struct stat	 sd;
	char		*text, tmp[80];
	int		 root, rc;

	if (b->fc && (share_with_jails(b->dfd, "state") < 0 ||
	    share_with_jails(b->dfd, "memory") < 0))
		return pyro_fail(st, PYRO_E_IO, "cannot make the template's "
		    "files readable by Firecracker: %s", strerror(errno));
	if (fstatat(b->dfd, "rootfs.ext4", &sd, AT_SYMLINK_NOFOLLOW) < 0)
		return pyro_fail(st, PYRO_E_IO, "the template's disk is gone");
	cJSON_AddNumberToObject(meta, "disk_bytes", (double)sd.st_size);
	cJSON_AddNumberToObject(meta, "disk_allocated_bytes",
	    (double)sd.st_blocks * 512);
	if ((text = cJSON_Print(meta)) == NULL)
		return pyro_fail(st, PYRO_E_INTERNAL, "out of memory");
	rc = pyro_atomic_write(b->dfd, "template.json", text, strlen(text),
	    0600);
	free(text);
	if (rc < 0)
		return pyro_fail(st, PYRO_E_IO, "writing template.json: %s",
		    strerror(-rc));
	if ((root = tpl_root()) < 0)
		return pyro_fail(st, PYRO_E_IO, "no templates directory");
	snprintf(tmp, sizeof(tmp), ".build-%s", b->key);
	(void)tpl_rmdir(root, b->key);		/* an older one of this key */
	rc = renameat(root, tmp, root, b->key) < 0 ? pyro_fail(st, PYRO_E_IO,
	    "installing the template: %s", strerror(errno)) : 0;
	(void)fsync(root);
	close(root);
	return rc;
}

static void
build_end(struct tbuild *b, const struct pyro_status *err)
{
	struct pyro_status	 st;
	cJSON			*meta = NULL;
	char			 tmp[80];
	int			 root;

	if (err == NULL && !b->saved)
		err = &st, pyro_fail(&st, PYRO_E_GUEST_BOOT_FAILED, "the "
		    "template's guest ended before it was saved");
	if (err == NULL) {
		meta = build_json(b);
		if (build_install(b, meta, &st) < 0)
			err = &st;
	}
	if (err != NULL) {
		log_warnx("template for %s (%u MiB, %u vCPU): %s", b->env,
		    b->mem, b->vcpus, err->message);
		if (err->code == PYRO_E_UNSUPPORTED)
			memcpy(refused[nrefused++ % TPL_REFUSED_MAX], b->key,
			    65);
		if ((root = tpl_root()) >= 0) {
			snprintf(tmp, sizeof(tmp), ".build-%s", b->key);
			(void)tpl_rmdir(root, tmp);
			close(root);
		}
		if (b->rq != NULL) {
			b->rq->cancel = NULL;
			ctl_reply_status(b->rq, err);
			b->rq = NULL;	/* the reply freed it */
		}
	} else {
		log_info("template for %s (%u MiB, %u vCPU) made in %lld ms: "
		    "state %llu bytes", b->env, b->mem, b->vcpus,
		    now_ms() - b->t0, (unsigned long long)b->sv.state_bytes);
		if (b->rq != NULL) {
			cJSON_AddStringToObject(meta, "status", "made");
			b->rq->cancel = NULL;
			ctl_reply_ok(b->rq, meta);
			b->rq = NULL;	/* the reply freed it */
			meta = NULL;
		}
	}
	cJSON_Delete(meta);
	cJSON_Delete(b->rec.doc);
	if (b->dfd >= 0)
		close(b->dfd);
	memset(b, 0, sizeof(*b));
}

static void
build_on_saved(struct vmi *v, const struct pyro_msg_vm_saved *sv, void *arg)
{
	struct tbuild	*b = arg;

	(void)v;
	b->saved = 1;
	b->sv = *sv;
	b->sv.state_sha256[64] = b->sv.disk_sha256[64] = '\0';
	b->sv.mem_sha256[64] = '\0';
	if (b->fc && !env_hexdigest_ok(b->sv.mem_sha256))
		b->saved = 0;	/* no memory: no template */
}

static void
build_on_gone(struct vmi *v, const struct pyro_status *err, int forced,
    void *arg)
{
	(void)v;
	(void)forced;
	build_end(arg, err);
}

static const struct vmi_ops build_ops = {
	.on_saved = build_on_saved,
	.on_gone = build_on_gone,
};

/* The client that asked left: the template is still made. */
static void
build_cancel(struct request *rq)
{
	int	i;

	for (i = 0; i < TPL_BUILDS_MAX; i++)
		if (builds[i].used && builds[i].rq == rq)
			builds[i].rq = NULL;
}

/*
 * Make the template of env for a shape: a cold boot of a transient VM
 * record on a fresh copy of the environment's disk, saved once its agent
 * said hello.  rq (or NULL) gets the answer.  Takes e's fds.
 */
static int
build_start(struct env *e, const char *key, const struct shape *sh,
    struct request *rq, struct pyro_status *st)
{
	unsigned	 mem = sh->mem, vcpus = sh->vcpus;
	int		 fc = sh->fc;
	struct tbuild	*b = NULL;
	char		 tmp[80];
	int		 i, root, disk = -1, state = -1, memfd = -1;

	for (i = 0; i < TPL_BUILDS_MAX && b == NULL; i++)
		if (!builds[i].used)
			b = &builds[i];
	if (b == NULL) {
		env_close(e);
		return pyro_fail(st, PYRO_E_BUSY, "%d templates are being made "
		    "already", TPL_BUILDS_MAX);
	}
	/* Its guest counts against the budgets like any boot (root's). */
	if (admit_vm(0, mem, vcpus, ADMIT_BOOT, st) < 0) {
		env_close(e);
		return -1;
	}
	if ((root = tpl_root()) < 0) {
		env_close(e);
		return pyro_fail(st, PYRO_E_IO, "cannot make %s/%s: %s",
		    conf.state_dir, TPL_DIR, strerror(errno));
	}
	memset(b, 0, sizeof(*b));
	b->dfd = -1;
	snprintf(tmp, sizeof(tmp), ".build-%s", key);
	(void)tpl_rmdir(root, tmp);		/* left by a crash */
	if (mkdirat(root, tmp, 0700) < 0 || (b->dfd = openat(root, tmp,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    (disk = openat(b->dfd, "rootfs.ext4", O_RDWR | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) < 0 || (state = openat(b->dfd, "state",
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 || (fc &&
	    (memfd = openat(b->dfd, "memory", O_RDWR | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) < 0)) {
		pyro_fail(st, PYRO_E_IO, "cannot make a template in %s/%s: %s",
		    conf.state_dir, TPL_DIR, strerror(errno));
		if (disk >= 0)
			close(disk);
		if (state >= 0)
			close(state);
		if (b->dfd >= 0)
			close(b->dfd);
		(void)tpl_rmdir(root, tmp);
		close(root);
		env_close(e);
		return -1;
	}
	close(root);
	b->used = 1;
	b->t0 = now_ms();
	memcpy(b->key, key, 65);
	snprintf(b->env, sizeof(b->env), "%s", e->name);
	b->mem = mem;
	b->vcpus = vcpus;
	b->fc = fc;
	b->nic = sh->nic;
	b->rq = rq;
	b->rec.kind = REC_VM;
	b->rec.owner = 0;
	/* An id no record has: "f" then the key's first 15 digits. */
	snprintf(b->rec.id, sizeof(b->rec.id), "f%.15s", key);
	b->rec.doc = cJSON_CreateObject();
	cJSON_AddStringToObject(b->rec.doc, "environment", e->name);
	cJSON_AddNumberToObject(b->rec.doc, "mem_mib", mem);
	cJSON_AddNumberToObject(b->rec.doc, "vcpu_count", vcpus);
	/* Not "network": the build takes no lease; vmi gives it a NIC. */
	if (sh->nic)
		cJSON_AddTrueToObject(b->rec.doc, "template_nic");
	if (rq != NULL)
		rq->cancel = build_cancel;
	if ((b->v = vmi_start_save(&b->rec, e, disk, state, memfd, &build_ops,
	    b, st)) == NULL) {
		b->rq = NULL;
		if (rq != NULL)
			rq->cancel = NULL;
		build_end(b, st);
		return -1;
	}
	log_info("making the template of %s (%u MiB, %u vCPU)", b->env, mem,
	    vcpus);
	return 0;
}

/* How many templates there are (made or being made). */
static int
tpl_count(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 root, n = 0;

	if ((root = tpl_root()) < 0)
		return 0;
	if ((d = fdopendir(root)) == NULL) {
		close(root);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * pyrod.conf's warm_start = lazy: after a cold boot that found no
 * template, make one for next time, unless one is being made, there are
 * TPL_LAZY_MAX already (any user's shape would otherwise fill the state
 * directory: pyro env warm is not bounded by it), or the environment
 * changed since the VM's key was taken.
 */
void
tpl_lazy(const struct record *r, const char *envname, const char *cache,
    const char *key, int fc, const char *vmm)
{
	struct pyro_status	st;
	struct env		e;
	struct shape		sh;
	char			now[65];
	int			i;

	if (strcmp(conf.warm_start, "lazy") != 0 || build_find(key) != NULL ||
	    vmi_shutting_down() || tpl_count() >= TPL_LAZY_MAX)
		return;
	for (i = 0; i < TPL_REFUSED_MAX && i < nrefused; i++)
		if (strcmp(refused[i], key) == 0)
			return;
	if (env_open(envname, cache, &e, &st) < 0)
		return;
	shape_of(r, fc, vmm, &sh);
	if (key_of(&e, &sh, now, NULL, 0) < 0 || strcmp(now, key) != 0) {
		env_close(&e);
		return;
	}
	if (build_start(&e, key, &sh, NULL, &st) < 0)
		log_warnx("no template for %s: %s", envname, st.message);
}

/* Can a VM of this record start warm at all? */
int
tpl_eligible(const struct record *r, int fc)
{
	return strcmp(conf.warm_start, "off") != 0 && !rec_host_compat(r) &&
	    !(fc && net_wanted(r));
}

/* ---- the ops ---- */

/*
 * environment.warm {environment, mem_mib?, vcpu_count?, network?,
 * environment_cache_dir?}: make (or find) the template of that shape
 * (network: for VMs with a network, which take their address when
 * restored).
 */
void
op_environment_warm(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	const char		*name, *cache = NULL, *kind, *why = "";
	long long		 mem = 1024, vcpus = 1;
	char			 key[65], vmm[4200], whybad[200];
	struct env		 e, t;
	struct shape		 sh;
	cJSON			*res;
	int			 rc, fc, nic = 0;

	if (arg_string(args, "environment", 1, 64, &name, &st) < 0 ||
	    arg_int(args, "mem_mib", 0, 128, 65536, &mem, &st) < 0 ||
	    arg_int(args, "vcpu_count", 0, 1, 32, &vcpus, &st) < 0 ||
	    arg_bool(args, "network", &nic, &st) < 0 ||
	    arg_string(args, "environment_cache_dir", 0, 4000, &cache,
	    &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (rq->uid != 0) {
		ctl_reply_err(rq, PYRO_E_PERMISSION_DENIED, "only root makes "
		    "templates (they live in pyrod's state directory)");
		return;
	}
	if (strcmp(conf.warm_start, "off") == 0) {
		ctl_reply_err(rq, PYRO_E_UNSUPPORTED, "warm start is off in "
		    "pyrod.conf (warm_start = off)");
		return;
	}
	if ((kind = host_vmm(vmm, sizeof(vmm), &why)) == NULL) {
		ctl_reply_err(rq, PYRO_E_VMM_UNAVAILABLE, "no usable VMM (%s)",
		    why);
		return;
	}
	fc = strcmp(kind, "firecracker") == 0;
	if (fc && nic) {
		ctl_reply_err(rq, PYRO_E_UNSUPPORTED, "networked VMs boot cold "
		    "under Firecracker: no template for them");
		return;
	}
	if (env_open(name, cache, &e, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	sh.mem = (unsigned)mem;
	sh.vcpus = (unsigned)vcpus;
	sh.fc = fc;
	sh.nic = nic;
	sh.vmm = vmm;
	if (key_of(&e, &sh, key, NULL, 0) < 0) {
		env_close(&e);
		ctl_reply_err(rq, PYRO_E_VMM_UNAVAILABLE, "cannot read %s",
		    vmm);
		return;
	}
	if (build_find(key) != NULL) {
		env_close(&e);
		ctl_reply_err(rq, PYRO_E_BUSY, "this template is being made");
		return;
	}
	if ((rc = tpl_open(key, fc, &t, whybad, sizeof(whybad))) == 0) {
		/* There already: say so, as the record has it. */
		int root = tpl_root(), dfd;

		env_close(&t);
		env_close(&e);
		dfd = root >= 0 ? openat(root, key, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW) : -1;
		res = dfd >= 0 ? env_read_json(dfd, "template.json",
		    TPL_JSON_MAX) : NULL;
		if (dfd >= 0)
			close(dfd);
		if (root >= 0)
			close(root);
		if (res == NULL)
			res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "status", "exists");
		ctl_reply_ok(rq, res);
		return;
	}
	if (build_start(&e, key, &sh, rq, &st) < 0)
		ctl_reply_status(rq, &st);
}

/*
 * environment.templates {prune?}: the templates there are; with prune,
 * remove those no installed environment, QEMU or shape of today can use
 * (their key is not what it would be now), and unfinished builds.
 */
void
op_environment_templates(struct request *rq, const cJSON *args)
{
	struct pyro_status	 st;
	struct dirent		*de;
	DIR			*d;
	cJSON			*res, *arr, *o;
	char			 vmm[4200], key[65];
	const char		*why = "", *kind;
	int			 prune = 0, root, dfd, removed = 0, fc;

	if (arg_bool(args, "prune", &prune, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if (prune && rq->uid != 0) {
		ctl_reply_err(rq, PYRO_E_PERMISSION_DENIED, "only root prunes "
		    "templates");
		return;
	}
	kind = host_vmm(vmm, sizeof(vmm), &why);
	fc = kind != NULL && strcmp(kind, "firecracker") == 0;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "warm_start", conf.warm_start);
	arr = cJSON_AddArrayToObject(res, "templates");
	if ((root = tpl_root()) < 0 || (d = fdopendir(dup(root))) == NULL) {
		if (root >= 0)
			close(root);
		ctl_reply_ok(rq, res);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const cJSON *env, *mem, *vc;
		struct env e;
		int keep = 0;

		if (de->d_name[0] == '.') {
			if (prune && strncmp(de->d_name, ".build-", 7) == 0 &&
			    build_find(de->d_name + 7) == NULL &&
			    tpl_rmdir(root, de->d_name) == 0)
				removed++;
			continue;
		}
		dfd = openat(root, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW);
		o = dfd >= 0 ? env_read_json(dfd, "template.json",
		    TPL_JSON_MAX) : NULL;
		if (dfd >= 0)
			close(dfd);
		env = cJSON_GetObjectItemCaseSensitive(o, "environment");
		mem = cJSON_GetObjectItemCaseSensitive(o, "mem_mib");
		vc = cJSON_GetObjectItemCaseSensitive(o, "vcpu_count");
		/* Still what today's environment, VMM and shape make? */
		if (cJSON_IsString(env) && cJSON_IsNumber(mem) &&
		    cJSON_IsNumber(vc) && kind != NULL &&
		    env_open(env->valuestring, NULL, &e, &st) == 0) {
			struct shape sh = { (unsigned)mem->valuedouble,
			    (unsigned)vc->valuedouble, fc, cJSON_IsTrue(
			    cJSON_GetObjectItemCaseSensitive(o, "network")),
			    vmm };

			keep = key_of(&e, &sh, key, NULL, 0) == 0 &&
			    strcmp(key, de->d_name) == 0;
			env_close(&e);
		}
		if (prune && !keep) {
			if (tpl_rmdir(root, de->d_name) == 0)
				removed++;
			cJSON_Delete(o);
			continue;
		}
		if (o == NULL)
			o = cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(o, "key");
		cJSON_AddStringToObject(o, "key", de->d_name);
		cJSON_AddBoolToObject(o, "current", keep);
		cJSON_AddItemToArray(arr, o);
	}
	closedir(d);
	close(root);
	if (prune)
		cJSON_AddNumberToObject(res, "removed", removed);
	ctl_reply_ok(rq, res);
}
