#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"

static const struct {
	const char	*code;
	const char	*summary;
} errtab[PYRO_E__MAX] = {
	[PYRO_OK] = { "ok", "success" },
	[PYRO_E_BAD_REQUEST] = { "bad_request",
	    "the request is not a well-formed JSON object" },
	[PYRO_E_FRAME_TOO_LARGE] = { "frame_too_large",
	    "the frame exceeds the protocol's size limit" },
	[PYRO_E_UNKNOWN_OP] = { "unknown_op", "no such operation" },
	[PYRO_E_INVALID_ARGUMENT] = { "invalid_argument",
	    "an argument is missing, of the wrong type or out of range" },
	[PYRO_E_PERMISSION_DENIED] = { "permission_denied",
	    "the caller is not allowed to use pyrod" },
	[PYRO_E_NOT_FOUND] = { "not_found", "no such object" },
	[PYRO_E_EXISTS] = { "exists", "the object already exists" },
	[PYRO_E_BUSY] = { "busy",
	    "another operation on the object is in progress" },
	[PYRO_E_TIMEOUT] = { "timeout", "the operation ran out of time" },
	[PYRO_E_INTERNAL] = { "internal", "an internal error in pyrod" },
	[PYRO_E_IO] = { "io_error", "reading or writing failed" },
	[PYRO_E_HELPER_FAILED] = { "helper_failed",
	    "a helper process died or misbehaved" },
	[PYRO_E_DAEMON_UNAVAILABLE] = { "daemon_unavailable",
	    "pyrod is not running or not reachable" },
	[PYRO_E_PROTOCOL] = { "protocol_error",
	    "the peer broke the protocol" },
	[PYRO_E_INVALID_PATH] = { "invalid_path",
	    "a path is malformed or escapes its root" },
	[PYRO_E_INVALID_NAME] = { "invalid_name",
	    "a name is malformed (1-64 of A-Z a-z 0-9 . _ -)" },
	[PYRO_E_LIMIT_EXCEEDED] = { "limit_exceeded",
	    "a size or count limit was exceeded" },
	[PYRO_E_WORKSPACE_RUNNING] = { "workspace_running",
	    "the workspace must be stopped first" },
	[PYRO_E_WORKSPACE_NOT_RUNNING] = { "workspace_not_running",
	    "the workspace must be running" },
	[PYRO_E_NOT_GUEST_BACKED] = { "not_guest_backed",
	    "the workspace runs on the host (host-compat)" },
	[PYRO_E_UNSUPPORTED] = { "unsupported",
	    "this host cannot do that" },
	[PYRO_E_UNKNOWN_ENVIRONMENT] = { "unknown_environment",
	    "no such environment in the catalog" },
	[PYRO_E_ENVIRONMENT_NOT_INSTALLED] = { "environment_not_installed",
	    "the environment is not in the cache (pyro env pull NAME)" },
	[PYRO_E_ENVIRONMENT_CORRUPT] = { "environment_corrupt",
	    "an environment file does not match its manifest" },
	[PYRO_E_GUEST_BOOT_FAILED] = { "guest_boot_failed",
	    "the guest did not boot" },
	[PYRO_E_GUEST_PROTOCOL] = { "guest_protocol_error",
	    "the guest agent broke the protocol" },
	[PYRO_E_VMM_UNAVAILABLE] = { "vmm_unavailable",
	    "no usable VMM on this host" },
	[PYRO_E_INVALID_ARCHIVE] = { "invalid_archive",
	    "an archive or tree holds an unsafe or unreadable entry" },
	[PYRO_E_DISK_CORRUPT] = { "disk_corrupt",
	    "the workspace's disk image is damaged or not ext4" },
};

const char *
pyro_err_code(enum pyro_err e)
{
	if ((unsigned)e >= PYRO_E__MAX)
		e = PYRO_E_INTERNAL;
	return errtab[e].code;
}

const char *
pyro_err_summary(enum pyro_err e)
{
	if ((unsigned)e >= PYRO_E__MAX)
		e = PYRO_E_INTERNAL;
	return errtab[e].summary;
}

enum pyro_err
pyro_err_lookup(const char *code)
{
	int	i;

	for (i = 0; i < PYRO_E__MAX; i++)
		if (strcmp(errtab[i].code, code) == 0)
			return i;
	return PYRO_E__MAX;
}

int
pyro_fail(struct pyro_status *st, enum pyro_err code, const char *fmt, ...)
{
	va_list	ap;

	if (st == NULL)
		return -1;
	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	return -1;
}
