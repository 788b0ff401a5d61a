/*
 * pyrod's configuration, in layers: built-in defaults, then pyrod.conf(5)
 * ("key = value" lines, '#' comments; unknown keys are errors, so a typo
 * never silently falls back to a default), then the environment
 * (PYRO_SOCKET, PYRO_STATE_DIR, PYRO_LIBEXECDIR), then command-line
 * flags.  Names become ids once, at start (config_resolve).
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <unistd.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "log.h"
#include "netrule.h"
#include "pyrod.h"

/* 10.211.0.0/16: 16384 guests; private space few hosts route. */
#define NET_POOL_DEFAULT	"10.211.0.0/16"
/* What guests never reach besides the pool: the host's LANs, container
 * bridges and VPNs usually live here. */
#define NET_BLOCK_DEFAULT	"10.0.0.0/8,172.16.0.0/12,192.168.0.0/16," \
				"100.64.0.0/10"

static int	net_block_parse(struct pyrod_config *, const char *);

struct pyrod_config conf;

/* The most connections max_clients may allow (fds are the real bound). */
#define CLIENTS_LIMIT	4096
/* A host's memory the default budget leaves to the host itself. */
#define MEM_RESERVE_MIB	2048
/* The most guest vCPUs per host CPU anyone may mean. */
#define VCPU_RATIO_MAX	64.0

#define STR(f)	offsetof(struct pyrod_config, f), sizeof(((struct pyrod_config *)0)->f)
static const struct {
	const char	*key;
	size_t		 off;
	size_t		 size;
} keys[] = {
	{ "socket", STR(socket_path) },
	{ "state_dir", STR(state_dir) },
	{ "libexec_dir", STR(libexec_dir) },
	{ "group", STR(group) },
	{ "helper_user", STR(helper_user) },
	{ "firecracker_user", STR(firecracker_user) },
	{ "pid_file", STR(pid_file) },
	{ "vmm", STR(vmm) },
	{ "host_compat", STR(host_compat) },
	{ "environment_registry", STR(env_registry) },
	{ "warm_start", STR(warm_start) },
	{ "qemu_path", STR(qemu_path) },
	{ "firecracker_path", STR(firecracker_path) },
	{ "jailer_path", STR(jailer_path) },
};

/*
 * Whole-number keys and their ranges.  A limit of 0 is refused rather
 * than read as "no limit": a typo must not switch a protection off.
 * max HOST_MEM is the host's memory (MemTotal), read at start.
 */
#define HOST_MEM	0
static const struct {
	const char		*key;
	size_t			 off;
	size_t			 size;	/* unsigned or unsigned long long */
	unsigned long long	 min, max;
} nums[] = {
	{ "boot_timeout_seconds", STR(boot_timeout_s), 1, 3600 },
	{ "frame_timeout_seconds", STR(frame_timeout_s), 1, 3600 },
	{ "max_clients", STR(max_clients), 1, CLIENTS_LIMIT },
	{ "max_clients_per_uid", STR(max_clients_per_uid), 1, CLIENTS_LIMIT },
	{ "max_clients_root", STR(max_clients_root), 1, CLIENTS_LIMIT },
	{ "max_requests_per_uid", STR(max_requests_per_uid), 1, 65536 },
	{ "memory_budget_mib", STR(memory_budget_mib), 128, HOST_MEM },
	{ "max_running_vms", STR(max_running_vms), 1, 4096 },
	{ "max_workspaces_per_uid", STR(max_workspaces_per_uid), 1, 4096 },
	{ "snapshot_budget_kib", STR(snapshot_budget_kib), 1, 1ULL << 40 },
	{ "network_dns_qps", STR(dns_qps), 1, 100000 },
	{ "vmm_memory_overhead_mib", STR(vmm_overhead_mib), 16, 65536 },
	{ "host_compat_id_base", STR(hc_id_base), 65536, 4294901760ULL },
};

/* MemTotal in MiB, or 0 if /proc/meminfo does not say. */
static unsigned long long
host_mem_mib(void)
{
	unsigned long long	 kb = 0;
	char			 line[256];
	FILE			*f;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024;
}

/*
 * The limits' defaults, from the host: guests may have 80% of the memory
 * left after a 2 GiB reserve (half of it on a host smaller than that), and
 * 4 vCPUs per host CPU.
 */
static void
limit_defaults(struct pyrod_config *c)
{
	unsigned long long	mem;
	long			ncpu;

	c->max_clients = 256;
	c->max_clients_per_uid = 64;
	c->max_clients_root = 128;
	c->max_requests_per_uid = 256;
	c->frame_timeout_s = 10;
	c->host_mem_mib = host_mem_mib();
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->host_cpus = ncpu > 0 ? (unsigned)ncpu : 1;
	mem = c->host_mem_mib;
	if (mem == 0)
		c->memory_budget_mib = 4096;
	else
		c->memory_budget_mib = (mem > 2 * MEM_RESERVE_MIB ?
		    mem - MEM_RESERVE_MIB : mem / 2) * 8 / 10;
	if (c->memory_budget_mib < 128)
		c->memory_budget_mib = 128;
	c->max_running_vms = 64;
	c->max_workspaces_per_uid = 32;
	c->vcpu_overcommit = 4.0;
	c->snapshot_budget_kib = 4ULL * 1024 * 1024;	/* 4 GiB */
	(void)net_cidr_parse(NET_POOL_DEFAULT, &c->net_pool,
	    &c->net_pool_prefix);
	c->net_forward_enable = 1;
	c->publish_addr = htonl(INADDR_LOOPBACK);
	c->dns_qps = 50;
	c->cgroups = CG_AUTO;
	c->proxy_mark = PYRO_PROXY_MARK;
	/* QEMU under TCG: ~250 MB resident at boot, plus its code cache. */
	c->vmm_overhead_mib = 512;
	c->page_cache_mib = -1;
	(void)net_block_parse(c, NET_BLOCK_DEFAULT);
}

void
config_defaults(struct pyrod_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s",
	    "/run/pyro/pyrod.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", "/var/lib/pyro");
	snprintf(c->libexec_dir, sizeof(c->libexec_dir), "%s", PYRO_LIBEXECDIR);
	snprintf(c->group, sizeof(c->group), "%s", "pyro");
	snprintf(c->helper_user, sizeof(c->helper_user), "%s", "nobody");
	snprintf(c->vmm, sizeof(c->vmm), "%s", "auto");
	snprintf(c->host_compat, sizeof(c->host_compat), "%s", "fallback");
	snprintf(c->warm_start, sizeof(c->warm_start), "%s", "on");
	c->hc_id_base = 1500000000;
	c->socket_mode = 0660;
	c->boot_timeout_s = 60;
	c->group_gid = (gid_t)-1;
	limit_defaults(c);
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * A whole-number key: 1 if k is one (set, or an error logged in *rc), 0
 * if it is not.  Only digits are taken: "-1" is an error, not 2^64-1.
 */
static int
num_key(struct pyrod_config *c, const char *k, const char *v,
    const char *where, int *rc)
{
	unsigned long long	 n, max;
	char			*end;
	size_t			 i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (strcmp(nums[i].key, k) == 0)
			break;
	if (i == sizeof(nums) / sizeof(nums[0]))
		return 0;
	max = nums[i].max;
	if (max == HOST_MEM)
		max = c->host_mem_mib ? c->host_mem_mib : ~0ULL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
	    n < nums[i].min || n > max) {
		log_warnx("%s: %s must be a whole number from %llu to %llu%s; "
		    "got \"%s\"", where, k, nums[i].min, max,
		    nums[i].max == HOST_MEM ? " (the host's memory)" : "", v);
		*rc = -1;
		return 1;
	}
	if (nums[i].size == sizeof(unsigned))
		*(unsigned *)(void *)((char *)c + nums[i].off) = (unsigned)n;
	else
		*(unsigned long long *)(void *)((char *)c + nums[i].off) = n;
	return 1;
}

/* "CIDR,CIDR,..." or "none" into network_block; 0 or -1. */
static int
net_block_parse(struct pyrod_config *c, const char *v)
{
	char		 buf[1024], *p, *save = NULL;

	c->nblock = 0;
	if (strcmp(v, "none") == 0)
		return 0;
	if (strspn(v, ", \t") == strlen(v))
		return -1;	/* empty: "none" says it on purpose */
	if (strlen(v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	for (p = strtok_r(buf, ", ", &save); p != NULL;
	    p = strtok_r(NULL, ", ", &save)) {
		if (c->nblock >= NET_BLOCK_MAX || net_cidr_parse(p,
		    &c->block[c->nblock], &c->block_prefix[c->nblock]) < 0)
			return -1;
		c->nblock++;
	}
	return 0;
}

/* The networking keys with a syntax of their own. */
static int
net_key(struct pyrod_config *c, const char *k, const char *v,
    const char *where, int *rc)
{
	char		 buf[256], *p, *save = NULL;
	struct in_addr	 in;
	uint32_t	 a, len;

	if (strcmp(k, "network_pool") == 0) {
		if (net_cidr_parse(v, &a, &len) < 0 || len < 8 || len > 29) {
			log_warnx("%s: network_pool must be an IPv4 CIDR from "
			    "/8 to /29 (each VM takes a /30); got \"%s\"",
			    where, v);
			*rc = -1;
		} else {
			c->net_pool = a;
			c->net_pool_prefix = len;
		}
		return 1;
	}
	if (strcmp(k, "network_dns") == 0) {
		snprintf(buf, sizeof(buf), "%s", v);
		c->ndns = 0;
		for (p = strtok_r(buf, ", ", &save); p != NULL;
		    p = strtok_r(NULL, ", ", &save)) {
			if (c->ndns >= NET_RESOLVERS_MAX ||
			    inet_pton(AF_INET, p, &in) != 1) {
				log_warnx("%s: network_dns is up to %d IPv4 "
				    "addresses, comma-separated", where,
				    NET_RESOLVERS_MAX);
				*rc = -1;
				return 1;
			}
			c->dns[c->ndns++] = in.s_addr;
		}
		return 1;
	}
	if (strcmp(k, "network_block") == 0) {
		if (net_block_parse(c, v) < 0) {
			log_warnx("%s: network_block is \"none\" or up to %d "
			    "IPv4 CIDRs, comma-separated", where, NET_BLOCK_MAX);
			*rc = -1;
		}
		return 1;
	}
	if (strcmp(k, "network_proxy_mark") == 0) {
		unsigned long m;
		char *end;

		m = strtoul(v, &end, 0);
		if (*v == '\0' || *end != '\0' || m == 0 || m > 0xffffffffUL ||
		    (m & (m - 1)) != 0) {
			log_warnx("%s: network_proxy_mark is one bit, e.g. "
			    "0x800000", where);
			*rc = -1;
		} else
			c->proxy_mark = (uint32_t)m;
		return 1;
	}
	if (strcmp(k, "vmm_page_cache_mib") == 0) {
		unsigned long m;
		char *end;

		if (strcmp(v, "auto") == 0) {
			c->page_cache_mib = -1;
			return 1;
		}
		m = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || m > 1048576) {
			log_warnx("%s: vmm_page_cache_mib is auto or 0 to "
			    "1048576", where);
			*rc = -1;
		} else
			c->page_cache_mib = (int)m;
		return 1;
	}
	if (strcmp(k, "cgroups") == 0) {
		if (strcmp(v, "auto") == 0)
			c->cgroups = CG_AUTO;
		else if (strcmp(v, "require") == 0)
			c->cgroups = CG_REQUIRE;
		else if (strcmp(v, "off") == 0)
			c->cgroups = CG_OFF;
		else {
			log_warnx("%s: cgroups is auto, require or off", where);
			*rc = -1;
		}
		return 1;
	}
	if (strcmp(k, "network_ip_forward") == 0) {
		if (strcmp(v, "enable") == 0 || strcmp(v, "leave") == 0)
			c->net_forward_enable = strcmp(v, "enable") == 0;
		else {
			log_warnx("%s: network_ip_forward is enable or leave",
			    where);
			*rc = -1;
		}
		return 1;
	}
	if (strcmp(k, "publish_address") == 0) {
		if (inet_pton(AF_INET, v, &in) != 1) {
			log_warnx("%s: publish_address is an IPv4 address",
			    where);
			*rc = -1;
		} else
			c->publish_addr = in.s_addr;
		return 1;
	}
	return 0;
}

/* Keys with a syntax of their own: 1 if k is one, 0 if not. */
static int
special_key(struct pyrod_config *c, const char *k, const char *v,
    const char *where, int *rc)
{
	unsigned long	 m;
	double		 r;
	char		*end;

	if (strcmp(k, "socket_mode") == 0) {
		m = strtoul(v, &end, 8);
		if (*v == '\0' || *end != '\0' || m > 0777) {
			log_warnx("%s: bad socket_mode", where);
			*rc = -1;
		} else
			c->socket_mode = (unsigned)m;
		return 1;
	}
	if (net_key(c, k, v, where, rc))
		return 1;
	if (strcmp(k, "vcpu_overcommit") == 0) {
		r = strtod(v, &end);
		if (*v < '0' || *v > '9' || *end != '\0' || !(r > 0) ||
		    r > VCPU_RATIO_MAX) {
			log_warnx("%s: vcpu_overcommit must be a number above "
			    "0 and at most %g (guest vCPUs per host CPU); got "
			    "\"%s\"", where, VCPU_RATIO_MAX, v);
			*rc = -1;
		} else
			c->vcpu_overcommit = r;
		return 1;
	}
	return 0;
}

static int
str_key(struct pyrod_config *c, const char *k, const char *v,
    const char *where)
{
	size_t	i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].key, k) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		log_warnx("%s: unknown key \"%s\"", where, k);
		return -1;
	}
	if (strlen(v) >= keys[i].size) {
		log_warnx("%s: value too long", where);
		return -1;
	}
	memcpy((char *)c + keys[i].off, v, strlen(v) + 1);
	return 0;
}

/*
 * Limits that only make sense together, or against the host.  pyrod
 * keeps some fds for itself, its helpers and their QEMUs: max_clients
 * leaves 128 of its RLIMIT_NOFILE for them.
 */
static int
config_check(const struct pyrod_config *c)
{
	struct rlimit	rl;

	if (c->max_clients_per_uid > c->max_clients) {
		log_warnx("max_clients_per_uid (%u) is more than max_clients "
		    "(%u)", c->max_clients_per_uid, c->max_clients);
		return -1;
	}
	if (c->max_clients_root > c->max_clients) {
		log_warnx("max_clients_root (%u) is more than max_clients "
		    "(%u)", c->max_clients_root, c->max_clients);
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur !=
	    RLIM_INFINITY && (rlim_t)c->max_clients + 128 > rl.rlim_cur) {
		log_warnx("max_clients (%u) needs more file descriptors than "
		    "pyrod may open (RLIMIT_NOFILE %llu, 128 kept for "
		    "helpers); lower max_clients or raise the limit "
		    "(LimitNOFILE= in the unit)", c->max_clients,
		    (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

int
config_load(struct pyrod_config *c, const char *path)
{
	FILE	*f;
	char	 line[4200], where[4200], *k, *v, *eq;
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((k = strchr(line, '#')) != NULL)
			*k = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if ((eq = strchr(k, '=')) == NULL) {
			log_warnx("%s: expected \"key = value\"", where);
			rc = -1;
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (num_key(c, k, v, where, &rc) ||
		    special_key(c, k, v, where, &rc))
			continue;
		if (str_key(c, k, v, where) < 0)
			rc = -1;
	}
	fclose(f);
	return rc < 0 || config_check(c) < 0 ? -1 : 0;
}

static void
set_str(char *dst, size_t size, const char *v)
{
	if (v != NULL && *v != '\0')
		snprintf(dst, size, "%s", v);
}

/* The process moves to "/" when it detaches: make a path absolute. */
static int
absolutize(char *path, size_t size)
{
	char	cwd[4096], tmp[8300];

	if (path[0] == '/' || path[0] == '\0')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	if (strlen(tmp) >= size) {
		log_warnx("path too long: %s", tmp);
		return -1;
	}
	memcpy(path, tmp, strlen(tmp) + 1);
	return 0;
}

int
config_layer(struct pyrod_config *c, const char *file,
    const struct config_flags *fl)
{
	unsigned long	 m;
	char		*end;

	config_defaults(c);
	if (file != NULL && config_load(c, file) < 0) {
		log_warnx("%s: configuration errors", file);
		return -1;
	}
	set_str(c->socket_path, sizeof(c->socket_path), getenv("PYRO_SOCKET"));
	set_str(c->state_dir, sizeof(c->state_dir), getenv("PYRO_STATE_DIR"));
	set_str(c->libexec_dir, sizeof(c->libexec_dir),
	    getenv("PYRO_LIBEXECDIR"));
	set_str(c->socket_path, sizeof(c->socket_path), fl->socket);
	set_str(c->state_dir, sizeof(c->state_dir), fl->state_dir);
	set_str(c->libexec_dir, sizeof(c->libexec_dir), fl->libexec_dir);
	set_str(c->group, sizeof(c->group), fl->group);
	if (fl->socket_mode != NULL) {
		m = strtoul(fl->socket_mode, &end, 8);
		if (*end != '\0' || m > 0777) {
			log_warnx("bad --socket-mode %s", fl->socket_mode);
			return -1;
		}
		c->socket_mode = (unsigned)m;
	}
	if (absolutize(c->socket_path, sizeof(c->socket_path)) < 0 ||
	    absolutize(c->state_dir, sizeof(c->state_dir)) < 0 ||
	    absolutize(c->libexec_dir, sizeof(c->libexec_dir)) < 0 ||
	    absolutize(c->pid_file, sizeof(c->pid_file)) < 0)
		return -1;
	return config_resolve(c);
}

/* Turn names into ids once, at start. */
int
config_resolve(struct pyrod_config *c)
{
	struct passwd	*pw;
	struct group	*gr;

	if (strcmp(c->vmm, "auto") != 0 && strcmp(c->vmm, "qemu") != 0 &&
	    strcmp(c->vmm, "firecracker") != 0) {
		log_warnx("vmm must be auto, qemu or firecracker");
		return -1;
	}
	if (strcmp(c->host_compat, "fallback") != 0 &&
	    strcmp(c->host_compat, "prefer") != 0 &&
	    strcmp(c->host_compat, "off") != 0) {
		log_warnx("host_compat must be fallback, prefer or off");
		return -1;
	}
	if (strcmp(c->warm_start, "on") != 0 &&
	    strcmp(c->warm_start, "lazy") != 0 &&
	    strcmp(c->warm_start, "off") != 0) {
		log_warnx("warm_start must be on, lazy or off");
		return -1;
	}
	if (c->env_registry[0] != '\0' && strncmp(c->env_registry,
	    "http://", 7) != 0 && strncmp(c->env_registry, "https://", 8) != 0) {
		log_warnx("environment_registry must be an http:// or https:// "
		    "URL");
		return -1;
	}
	if ((pw = getpwnam(c->helper_user)) == NULL) {
		log_warnx("helper_user %s does not exist", c->helper_user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("helper_user must not be root");
		return -1;
	}
	c->helper_uid = pw->pw_uid;
	c->helper_gid = pw->pw_gid;
	c->fc_uid = pw->pw_uid;
	c->fc_gid = pw->pw_gid;
	if (c->firecracker_user[0] != '\0') {
		if ((pw = getpwnam(c->firecracker_user)) == NULL ||
		    pw->pw_uid == 0 || pw->pw_gid == 0) {
			log_warnx("firecracker_user %s does not exist or is "
			    "root", c->firecracker_user);
			return -1;
		}
		c->fc_uid = pw->pw_uid;
		c->fc_gid = pw->pw_gid;
	}
	if ((gr = getgrnam(c->group)) != NULL)
		c->group_gid = gr->gr_gid;
	else
		log_info("group %s does not exist: only root may use pyrod",
		    c->group);
	return 0;
}
