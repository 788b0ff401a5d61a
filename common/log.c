#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_name = "pyro";
static int		 log_foreground = 1;
static int		 log_verbose;

void
log_init(const char *progname, int foreground, int verbose)
{
	log_name = progname;
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	msg[1024], *c;
	int	saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/*
	 * Messages carry what others sent (a VMM's QMP line, a guest's
	 * console, a client's name): no control character of theirs
	 * reaches a terminal or the log as such.
	 */
	for (c = msg; *c != '\0'; c++)
		if ((*c >= 0 && *c < 0x20 && *c != '\t') || *c == 0x7f)
			*c = '?';
	if (log_foreground) {
		if (with_errno)
			fprintf(stderr, "%s[%d]: %s: %s\n", log_name,
			    (int)getpid(), msg, strerror(saved));
		else
			fprintf(stderr, "%s[%d]: %s\n", log_name,
			    (int)getpid(), msg);
		fflush(stderr);
	} else if (with_errno)
		syslog(pri, "%s: %s", msg, strerror(saved));
	else
		syslog(pri, "%s", msg);
	errno = saved;
}

#define LOGFN(name, pri, err, cond)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	if (!(cond))					\
		return;					\
	va_start(ap, fmt);				\
	vlog(pri, fmt, ap, err);			\
	va_end(ap);					\
}

LOGFN(log_warn, LOG_WARNING, 1, 1)
LOGFN(log_warnx, LOG_WARNING, 0, 1)
LOGFN(log_info, LOG_INFO, 0, 1)
LOGFN(log_debug, LOG_DEBUG, 0, log_verbose > 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
