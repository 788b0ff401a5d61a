#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"

#define PYRO_E_ROW(name, code, summary)	[PYRO_E_##name] = { code, summary },
static const struct {
	const char	*code;
	const char	*summary;
} errtab[PYRO_E__MAX] = {
	PYRO_ERRCODES(PYRO_E_ROW)
};
#undef PYRO_E_ROW

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
