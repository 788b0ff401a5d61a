#ifndef PYRO_TESTLIB_H
#define PYRO_TESTLIB_H

#include <sys/types.h>

#include <cjson/cJSON.h>

struct tpyrod {
	pid_t	pid;
	char	dir[128];		/* private temp dir */
	char	sock[192];
	char	state[192];
	char	libexec[256];
};

/* Make a temp dir with a state dir; libexec defaults to the build dir. */
void	tp_init(struct tpyrod *);
/* Start pyrod -d with extra args (NULL-terminated); wait until it answers. */
void	tp_start(struct tpyrod *, ...);
/* SIGTERM and wait; returns the wait status. */
int	tp_stop(struct tpyrod *);
void	tp_cleanup(struct tpyrod *);

int	tc_connect(const char *sock);
void	tc_send_raw(int fd, const void *, size_t);
void	tc_send_json(int fd, const char *json);
/* Without asserting: a refused client may be cut off before it writes. */
int	tc_try_send_json(int fd, const char *json);
/* Read one frame; NULL on EOF or after timeout_ms. */
cJSON	*tc_read(int fd, int timeout_ms);
/* Send a request, return the final response (events skipped). */
cJSON	*tc_call(int fd, const char *json);
const char *tc_errcode(const cJSON *resp);

#endif
