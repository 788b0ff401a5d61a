/*
 * pyrod's error codes: an enum over the public list in
 * include/pyro/errcodes.h (the strings are the contract; never rename one,
 * only add).
 */
#ifndef PYRO_ERRCODE_H
#define PYRO_ERRCODE_H

#include "pyro/errcodes.h"

#define PYRO_E_ENUM(name, code, summary)	PYRO_E_##name,
enum pyro_err {
	PYRO_ERRCODES(PYRO_E_ENUM)
	PYRO_E__MAX
};
#undef PYRO_E_ENUM
#define PYRO_OK	PYRO_E_OK

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
