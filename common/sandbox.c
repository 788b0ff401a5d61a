#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

int
sb_seccomp(const struct sb_rule *rules, size_t n)
{
	scmp_filter_ctx	ctx;
	size_t		i;
	int		nr, rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(rules[i].name);
		if (nr == __NR_SCMP_ERROR) {
			/* Not on this architecture: nothing to allow. */
			continue;
		}
		if (rules[i].arg0_set)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			    SCMP_A0(SCMP_CMP_EQ, rules[i].arg0));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			log_warnx("seccomp rule for %s: %d", rules[i].name,
			    rc);
			seccomp_release(ctx);
			return rc;
		}
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int
sb_keep_caps(const int *caps, size_t n)
{
	size_t	i;

	capng_clear(CAPNG_SELECT_BOTH);
	for (i = 0; i < n; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
		    CAPNG_BOUNDING_SET, caps[i]) < 0)
			return -EINVAL;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	return 0;
}

int
sb_become(uid_t uid, gid_t gid)
{
	if (uid == 0 || gid == 0)
		return -EINVAL;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP |
	    CAPNG_CLEAR_BOUNDING) < 0)
		return -EPERM;
	/* Trust, but verify: no way back to root. */
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || setuid(0) == 0)
		return -EPERM;
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return -EPERM;
	return 0;
}

/* Landlock rights that change the filesystem (ABI 1-3). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#define LL_WRITES (LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)

int
sb_landlock_writes(const char *const *files)
{
	struct landlock_ruleset_attr		 ra;
	struct landlock_path_beneath_attr	 pb;
	unsigned long long			 handled = LL_WRITES;
	struct stat				 st;
	int					 abi, rs, fd, rc = 0;
	size_t					 i;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_debug("landlock is not available: %s", strerror(errno));
		return 1;
	}
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = handled;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra),
	    0)) < 0)
		return -errno;
	for (i = 0; files[i] != NULL && rc == 0; i++) {
		if ((fd = open(files[i], O_PATH | O_CLOEXEC)) < 0)
			continue;	/* nothing to allow */
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = fd;
		pb.allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE |
		    (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
		/* A directory: its files, and directories made and removed
		 * beneath it (cgroups). */
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			pb.allowed_access |= LANDLOCK_ACCESS_FS_MAKE_DIR |
			    LANDLOCK_ACCESS_FS_REMOVE_DIR;
		if (syscall(SYS_landlock_add_rule, rs,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			rc = -errno;
		close(fd);
	}
	if (rc == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0))
		rc = -errno;
	close(rs);
	return rc;
}
