/*
 * Talking to one Firecracker over its sockets in the jail (fcclient.c).
 */
#ifndef PYRO_FCCLIENT_H
#define PYRO_FCCLIENT_H

#include <stddef.h>

struct fc_req;
struct fc_resp;

/*
 * A stream socket to the socket dirfd/name (no "/" in name, no symlink),
 * within timeout_ms: the fd, or -errno.
 */
int	fc_connect(int dirfd, const char *name, int timeout_ms);
/*
 * One request on an API connection and its answer: 0 for a 2xx, -1
 * otherwise (rp->status is 0 when no whole answer came; the text is in
 * rp->fault, printable).
 */
int	fc_call(int fd, const struct fc_req *, struct fc_resp *, int timeout_ms);
/*
 * The hybrid vsock on a connection to its socket: "CONNECT port" and the
 * "OK n" line; fd itself, or -1 with fd closed (why in err).
 */
int	fc_vsock_handshake(int fd, unsigned port, int timeout_ms, char *err,
	    size_t errsz);
/* The hybrid vsock: a stream to the guest's port, or -1 (why in err). */
int	fc_vsock_open(int dirfd, const char *name, unsigned port,
	    int timeout_ms, char *err, size_t errsz);

#endif
