/*
 * Stable error codes.  The strings are part of the public contract
 * (docs/public-contract.md lists them); never rename one, only add.
 */
#ifndef PYRO_ERRCODE_H
#define PYRO_ERRCODE_H

enum pyro_err {
	PYRO_OK = 0,
	PYRO_E_BAD_REQUEST,		/* malformed frame or JSON */
	PYRO_E_FRAME_TOO_LARGE,
	PYRO_E_UNKNOWN_OP,
	PYRO_E_INVALID_ARGUMENT,
	PYRO_E_PERMISSION_DENIED,
	PYRO_E_NOT_FOUND,
	PYRO_E_EXISTS,
	PYRO_E_BUSY,
	PYRO_E_TIMEOUT,
	PYRO_E_INTERNAL,
	PYRO_E_IO,
	PYRO_E_HELPER_FAILED,
	PYRO_E_DAEMON_UNAVAILABLE,
	PYRO_E_PROTOCOL,
	PYRO_E_INVALID_PATH,
	PYRO_E_INVALID_NAME,
	PYRO_E_LIMIT_EXCEEDED,
	PYRO_E_WORKSPACE_RUNNING,
	PYRO_E_WORKSPACE_NOT_RUNNING,
	PYRO_E_NOT_GUEST_BACKED,
	PYRO_E_UNSUPPORTED,
	PYRO_E_UNKNOWN_ENVIRONMENT,
	PYRO_E_ENVIRONMENT_NOT_INSTALLED,
	PYRO_E_ENVIRONMENT_CORRUPT,
	PYRO_E_GUEST_BOOT_FAILED,
	PYRO_E_GUEST_PROTOCOL,
	PYRO_E_VMM_UNAVAILABLE,
	PYRO_E_INVALID_ARCHIVE,
	PYRO_E_DISK_CORRUPT,
	PYRO_E__MAX
};

/* An internal error result: a stable code plus one sentence for the user. */
struct pyro_status {
	enum pyro_err	code;
	char		message[256];
};

/* Fill st (when not NULL) and return -1, for `return pyro_fail(...)`. */
int		 pyro_fail(struct pyro_status *st, enum pyro_err code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char	*pyro_err_code(enum pyro_err);
const char	*pyro_err_summary(enum pyro_err);
enum pyro_err	 pyro_err_lookup(const char *code);

#endif
