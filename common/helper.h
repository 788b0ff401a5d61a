/*
 * The helper half of the helper protocol: wait for pyrod's hello on fd 3,
 * acknowledge it once sandboxed, then serve messages until shutdown or EOF.
 * Any message that fails validation ends the helper: pyrod is the only peer
 * and a malformed message means something is badly wrong.
 */
#ifndef PYRO_HELPER_H
#define PYRO_HELPER_H

#include "msg.h"

#define HELPER_HELLO_WAIT_MS	10000

/* Returns 0 with *hello filled, or -1 after logging why. */
int	helper_recv_hello(enum pyro_peer self, struct pyro_msg_hello *hello);
int	helper_send_ack(void);
/*
 * Handlers get validated messages (m->fd owned by the loop: dup it to keep
 * it).  Return 0 to continue, 1 to stop serving, -1 on a fatal error.
 * PING and SHUTDOWN are answered by the loop itself.
 */
typedef int (*helper_handler)(struct pyro_msg *m, void *arg);
int	helper_serve(enum pyro_peer self, helper_handler fn, void *arg);
/*
 * The whole life of a helper: check argv, wait for the hello, enter the
 * sandbox (sandbox(hello) returns 0 or -errno), acknowledge, then serve
 * (serve(hello) returns 0 or -1).  Returns the process exit status.
 */
int	helper_main(const char *name, enum pyro_peer self, int argc,
	    int (*sandbox)(const struct pyro_msg_hello *),
	    int (*serve)(const struct pyro_msg_hello *));
/* Reply with PYRO_MSG_ERROR. */
int	helper_send_error(uint32_t id, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
