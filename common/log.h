/*
 * Logging for every pyro program.  vmd style: log_warn() appends
 * strerror(errno), log_warnx() does not; fatal()/fatalx() log and exit(1).
 * Daemons log to syslog unless started in the foreground; nothing here ever
 * writes to a client.
 */
#ifndef PYRO_LOG_H
#define PYRO_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int foreground, int verbose);
void	log_setverbose(int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
