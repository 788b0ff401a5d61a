/*
 * Firecracker's API and jailer as data (see fcapi.h).  Everything here is
 * pure: strings in, strings out, no I/O, so the tests can hold each body
 * against the published API description and the fuzzer can feed the
 * readers anything.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "fcapi.h"

#define HDR_MAX		8192	/* a Firecracker response's head is ~100 */

/* ---- requests ---- */

static int
req_set(struct fc_req *r, const char *method, const char *path, cJSON *body)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	if (body == NULL || strlen(path) >= sizeof(r->path)) {
		cJSON_Delete(body);
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->body = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (r->body == NULL || strlen(r->body) > FC_BODY_MAX) {
		fc_req_free(r);
		return -1;
	}
	return 0;
}

void
fc_req_free(struct fc_req *r)
{
	free(r->body);
	r->body = NULL;
}

/* Printable ASCII without quotes or backslashes, 1..max bytes. */
static int
plain(const char *s, size_t max)
{
	size_t	n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static int
tap_ok(const char *s)
{
	size_t	n = s ? strlen(s) : 0;

	if (n == 0 || n > 15)		/* IFNAMSIZ - 1 */
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_") == n;
}

/* "AA:BB:CC:DD:EE:FF", hex digits of either case. */
static int
mac_ok(const char *s)
{
	int	i;

	if (s == NULL || strlen(s) != 17)
		return 0;
	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int
fc_boot_plan(const struct fc_vm *vm, struct fc_req *out, int max)
{
	cJSON	*o;
	int	 n = 0;

	if (max < FC_PLAN_MAX || vm->vcpus < 1 || vm->vcpus > 32 ||
	    vm->mem_mib < 128 || vm->mem_mib > 1024 * 1024 ||
	    !plain(vm->boot_args, 2048) ||
	    (vm->tap != NULL && (!tap_ok(vm->tap) || !mac_ok(vm->mac))))
		return -1;

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "vcpu_count", vm->vcpus);
	cJSON_AddNumberToObject(o, "mem_size_mib", vm->mem_mib);
	cJSON_AddBoolToObject(o, "smt", 0);
	if (req_set(&out[n++], "PUT", "/machine-config", o) < 0)
		goto fail;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kernel_image_path", FC_KERNEL);
	cJSON_AddStringToObject(o, "initrd_path", FC_INITRD);
	cJSON_AddStringToObject(o, "boot_args", vm->boot_args);
	if (req_set(&out[n++], "PUT", "/boot-source", o) < 0)
		goto fail;

	/*
	 * Not the root device: Firecracker would add root=/dev/vda to the
	 * command line, and pyro's initramfs finds and mounts the disk
	 * itself, as under QEMU.
	 */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "drive_id", "rootfs");
	cJSON_AddStringToObject(o, "path_on_host", FC_ROOTFS);
	cJSON_AddBoolToObject(o, "is_root_device", 0);
	cJSON_AddBoolToObject(o, "is_read_only", vm->rootfs_ro != 0);
	if (req_set(&out[n++], "PUT", "/drives/rootfs", o) < 0)
		goto fail;

	if (vm->tap != NULL) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "iface_id", "eth0");
		cJSON_AddStringToObject(o, "host_dev_name", vm->tap);
		cJSON_AddStringToObject(o, "guest_mac", vm->mac);
		if (req_set(&out[n++], "PUT", "/network-interfaces/eth0",
		    o) < 0)
			goto fail;
	}

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "guest_cid", FC_GUEST_CID);
	cJSON_AddStringToObject(o, "uds_path", FC_VSOCK_UDS);
	if (req_set(&out[n++], "PUT", "/vsock", o) < 0)
		goto fail;

	if (fc_req_action(&out[n++], "InstanceStart") < 0)
		goto fail;
	return n;
fail:
	while (n > 0)
		fc_req_free(&out[--n]);
	return -1;
}

int
fc_req_action(struct fc_req *r, const char *type)
{
	cJSON	*o;

	if (strcmp(type, "InstanceStart") != 0 &&
	    strcmp(type, "SendCtrlAltDel") != 0 &&
	    strcmp(type, "FlushMetrics") != 0) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "action_type", type);
	return req_set(r, "PUT", "/actions", o);
}

int
fc_req_vm_state(struct fc_req *r, int paused)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "state", paused ? "Paused" : "Resumed");
	return req_set(r, "PATCH", "/vm", o);
}

int
fc_req_snapshot_create(struct fc_req *r, const char *state, const char *mem)
{
	cJSON	*o;

	if (!plain(state, 255) || !plain(mem, 255) || state[0] != '/' ||
	    mem[0] != '/') {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "snapshot_type", "Full");
	cJSON_AddStringToObject(o, "snapshot_path", state);
	cJSON_AddStringToObject(o, "mem_file_path", mem);
	return req_set(r, "PUT", "/snapshot/create", o);
}

int
fc_req_snapshot_load(struct fc_req *r, const char *state, const char *mem,
    int resume)
{
	cJSON	*o, *b;

	if (!plain(state, 255) || !plain(mem, 255) || state[0] != '/' ||
	    mem[0] != '/') {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "snapshot_path", state);
	b = cJSON_AddObjectToObject(o, "mem_backend");
	cJSON_AddStringToObject(b, "backend_type", "File");
	cJSON_AddStringToObject(b, "backend_path", mem);
	cJSON_AddBoolToObject(o, "resume_vm", resume != 0);
	return req_set(r, "PUT", "/snapshot/load", o);
}

/*
 * Always a Content-Length (Firecracker reads no chunked body), never
 * Expect: 100-continue; the connection stays open for the next request.
 */
int
fc_http_request(const struct fc_req *r, char *buf, size_t size)
{
	size_t	blen = r->body ? strlen(r->body) : 0;
	int	k;

	if (r->method == NULL || r->path[0] != '/')
		return -1;
	if (r->body != NULL)
		k = snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		    "Accept: application/json\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    r->method, r->path, blen, r->body);
	else
		k = snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		    "Accept: application/json\r\n\r\n", r->method, r->path);
	return k < 0 || (size_t)k >= size ? -1 : k;
}

/* ---- responses ---- */

static int
bad(struct fc_resp *rp, const char *why)
{
	rp->status = 0;
	snprintf(rp->fault, sizeof(rp->fault), "%s", why);
	return -1;
}

/* The error's text, bounded and printable (it came from the VMM). */
static void
fault_text(struct fc_resp *rp, const char *body, size_t len)
{
	cJSON		*doc = cJSON_ParseWithLength(body, len);
	const cJSON	*m;
	size_t		 i, k = 0;

	rp->fault[0] = '\0';
	m = cJSON_GetObjectItemCaseSensitive(doc, "fault_message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(doc, "error");
	if (cJSON_IsString(m)) {
		for (i = 0; m->valuestring[i] != '\0' &&
		    k + 1 < sizeof(rp->fault); i++) {
			unsigned char c = (unsigned char)m->valuestring[i];

			rp->fault[k++] = c == '\n' || c == '\t' ? ' ' :
			    c < 0x20 || c > 0x7e ? '?' : (char)c;
		}
		rp->fault[k] = '\0';
	}
	cJSON_Delete(doc);
	if (rp->fault[0] == '\0' && rp->status >= 300)
		snprintf(rp->fault, sizeof(rp->fault), "HTTP %d without a "
		    "message", rp->status);
}

int
fc_http_response(const char *buf, size_t len, struct fc_resp *rp)
{
	const char	*end = NULL, *p, *eol;
	size_t		 hlen, i, lim = len < HDR_MAX ? len : HDR_MAX;
	unsigned long long cl = 0;
	int		 have_cl = 0;

	memset(rp, 0, sizeof(*rp));
	for (i = 0; i + 3 < lim; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i;
			break;
		}
	if (end == NULL)
		return len >= HDR_MAX ? bad(rp, "a response head over 8 KiB") :
		    0;
	hlen = (size_t)(end - buf) + 4;
	for (p = buf; p < end; p++)
		if ((*p < 0x20 || *p > 0x7e) && *p != '\r' && *p != '\n' &&
		    *p != '\t')
			return bad(rp, "a response head with control bytes");
	/* "HTTP/1.1 204 \r\n", "HTTP/1.1 204\r\n" or with a reason. */
	if (end - buf < 12 || (memcmp(buf, "HTTP/1.1 ", 9) != 0 &&
	    memcmp(buf, "HTTP/1.0 ", 9) != 0) ||
	    !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) ||
	    (buf[12] != ' ' && buf[12] != '\r'))
		return bad(rp, "not an HTTP/1.x status line");
	rp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0');
	if (rp->status < 200 || rp->status > 599)
		return bad(rp, "an HTTP status Firecracker does not send");
	if ((eol = memchr(buf, '\r', (size_t)(end - buf) + 1)) == NULL ||
	    eol[1] != '\n' || memchr(buf, '\n', (size_t)(eol - buf)) != NULL)
		return bad(rp, "a status line without CRLF");
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		const char	*colon, *v;

		eol = memchr(p, '\r', (size_t)(end - p) + 1);
		if (eol == NULL || eol[1] != '\n' || memchr(p, '\n',
		    (size_t)(eol - p)) != NULL)
			return bad(rp, "a header line without CRLF");
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    colon == p)
			return bad(rp, "a header line without a name");
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		if ((size_t)(colon - p) == 14 &&
		    strncasecmp(p, "Content-Length", 14) == 0) {
			if (have_cl || v == eol)
				return bad(rp, "a bad Content-Length");
			for (cl = 0; v < eol && isdigit((unsigned char)*v); v++) {
				cl = cl * 10 + (unsigned)(*v - '0');
				if (cl > FC_RESP_MAX)
					return bad(rp, "a body over 64 KiB");
			}
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v != eol)
				return bad(rp, "a bad Content-Length");
			have_cl = 1;
		} else if ((size_t)(colon - p) == 17 &&
		    strncasecmp(p, "Transfer-Encoding", 17) == 0)
			return bad(rp, "a chunked body (Firecracker sends none)");
	}
	if (rp->status == 204 && cl != 0)
		return bad(rp, "a 204 with a body");
	if (len - hlen < cl) {
		rp->status = 0;
		return 0;
	}
	rp->body_len = (size_t)cl;
	if (rp->status >= 300)
		fault_text(rp, buf + hlen, (size_t)cl);
	return (int)(hlen + cl);
}

/* ---- the jailer ---- */

int
fc_jail_id_ok(const char *id)
{
	size_t	n = id ? strlen(id) : 0;

	/* Not "-" first: the jailer would take "--x" for an option. */
	return n >= 1 && n <= FC_ID_MAX && id[0] != '-' && strspn(id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
	    n;
}

/* An absolute path the jailer takes as one value (not "--..."). */
static int
path_ok(const char *s)
{
	return plain(s, 255) && s[0] == '/';
}

/* A relative cgroup path: no "/" first, no "." or ".." part. */
static int
cgroup_rel_ok(const char *s)
{
	const char	*p;
	size_t		 n;

	if (!plain(s, 128) || s[0] == '/' || s[0] == '-')
		return 0;
	for (p = s; *p != '\0'; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
	}
	return 1;
}

int
fc_jailer_argv(const struct fc_jail *j, char *buf, size_t size, char **argv,
    int max)
{
	size_t	used = 0;
	int	argc = 0, k, bad_arg = 0;

#define ARG(...) do {							\
	if (argc + 1 >= max || used >= size) { bad_arg = 1; break; }	\
	k = snprintf(buf + used, size - used, __VA_ARGS__);		\
	if (k < 0 || (size_t)k >= size - used) { bad_arg = 1; break; }	\
	argv[argc++] = buf + used;					\
	used += (size_t)k + 1;						\
} while (0)
	if (!path_ok(j->jailer) || !path_ok(j->exec_file) ||
	    !fc_jail_id_ok(j->id) || !path_ok(j->chroot_base) ||
	    j->uid == 0 || j->gid == 0 ||	/* never Firecracker as root */
	    (j->netns != NULL && !path_ok(j->netns)) ||
	    j->cgroup_version > 2 ||
	    (j->cgroup_version != 0 && !cgroup_rel_ok(j->parent_cgroup)))
		return -1;
	ARG("%s", j->jailer);
	ARG("--id");
	ARG("%s", j->id);
	ARG("--exec-file");
	ARG("%s", j->exec_file);
	ARG("--uid");
	ARG("%u", j->uid);
	ARG("--gid");
	ARG("%u", j->gid);
	ARG("--chroot-base-dir");
	ARG("%s", j->chroot_base);
	if (j->netns != NULL) {
		ARG("--netns");
		ARG("%s", j->netns);
	}
	/*
	 * Its own PID namespace: Firecracker sees no host process.  The
	 * jailer then exits after writing the pid file, and Firecracker is
	 * reparented to pyro-vmhelper (a child subreaper), which waits for
	 * it.  Not --daemonize: that would detach Firecracker's stdout, the
	 * guest's serial console pyro keeps for a failed boot's report.
	 */
	ARG("--new-pid-ns");
	if (j->cgroup_version != 0) {
		ARG("--cgroup-version");
		ARG("%u", j->cgroup_version);
		ARG("--parent-cgroup");
		ARG("%s", j->parent_cgroup);
		if (j->mem_max != 0) {
			ARG("--cgroup");
			if (j->cgroup_version == 2)
				ARG("memory.max=%llu", j->mem_max);
			else
				ARG("memory.limit_in_bytes=%llu", j->mem_max);
		}
		if (j->pids_max != 0) {
			ARG("--cgroup");
			ARG("pids.max=%u", j->pids_max);
		}
		if (j->cpu_weight != 0) {
			ARG("--cgroup");
			if (j->cgroup_version == 2)
				ARG("cpu.weight=%u", j->cpu_weight);
			else
				ARG("cpu.shares=%u", j->cpu_weight);
		}
	}
	ARG("--");
	ARG("--api-sock");
	ARG("%s", FC_API_SOCK);
#undef ARG
	if (bad_arg)
		return -1;
	argv[argc] = NULL;
	return argc;
}

/* ---- hybrid vsock ---- */

int
fc_vsock_connect_line(unsigned port, char *buf, size_t size)
{
	int	k = snprintf(buf, size, "CONNECT %u\n", port);

	return k < 0 || (size_t)k >= size ? -1 : k;
}

int
fc_vsock_ok(const char *buf, size_t len, unsigned *host_port)
{
	const char	*nl = memchr(buf, '\n', len < 32 ? len : 32);
	uint64_t	 v = 0;
	size_t		 i;

	if (nl == NULL)
		return len >= 32 ? -1 : 0;
	if (nl - buf < 4 || memcmp(buf, "OK ", 3) != 0)
		return -1;
	for (i = 3; buf + i < nl; i++) {
		if (!isdigit((unsigned char)buf[i]) || i > 12)
			return -1;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*host_port = (unsigned)v;
	return (int)(nl - buf) + 1;
}
