/*
 * Messages between pyrod and its helpers over a SOCK_SEQPACKET socketpair.
 * One datagram = one header + payload, with at most one fd (SCM_RIGHTS).
 * pyro_msg_table[] is the single source of validation: pyro_msg_recv()
 * checks type, direction, size, fd presence and string termination against
 * it before any handler sees the message.
 */
#ifndef PYRO_MSG_H
#define PYRO_MSG_H

#include <stddef.h>
#include <stdint.h>

#define PYRO_MSG_VERSION	1
#define PYRO_MSG_MAXPAYLOAD	(64 * 1024)
#define PYRO_HELPER_FD		3	/* helpers find their socket here */

struct pyro_msg_hdr {
	uint16_t	type;		/* enum pyro_msg_type */
	uint16_t	flags;		/* PYRO_MSGF_FD: one fd rides along */
	uint32_t	len;		/* payload bytes after the header */
	uint32_t	id;		/* request id, echoed in every reply */
};
#define PYRO_MSGF_FD	0x0001

/* Who sends or receives a message. */
enum pyro_peer {
	PEER_SUPERVISOR = 0x1,
	PEER_VMHELPER = 0x2,
	PEER_DISKHELPER = 0x4,
};
#define PEER_HELPERS	(PEER_VMHELPER | PEER_DISKHELPER)

enum pyro_msg_type {
	PYRO_MSG_HELLO = 1,		/* S->H: pyro_msg_hello */
	PYRO_MSG_HELLO_ACK,		/* H->S: pyro_msg_hello_ack */
	PYRO_MSG_PING,			/* S->H: empty */
	PYRO_MSG_PONG,			/* H->S: empty */
	PYRO_MSG_SHUTDOWN,		/* S->H: empty */
	PYRO_MSG_ERROR,			/* H->S: pyro_msg_error */
	PYRO_MSG_PROBE,			/* S->vmhelper: empty, fd /dev/kvm optional */
	PYRO_MSG_PROBE_RESULT,		/* vmhelper->S: pyro_msg_probe_result */
	PYRO_MSG__MAX
};

enum pyro_fd_rule {
	FD_NONE,
	FD_ONE,
	FD_OPTIONAL,
};


struct pyro_msg_hello {
	uint32_t	version;
	uint32_t	uid;		/* unprivileged uid to switch to */
	uint32_t	gid;
	uint32_t	verbose;
	char		tag[72];	/* what the helper serves, for logs */
};

struct pyro_msg_hello_ack {
	uint32_t	version;
	uint32_t	pid;
};

struct pyro_msg_error {
	int32_t		err;		/* enum pyro_err */
	char		message[252];
};

struct pyro_probe_item {
	uint32_t	ok;
	char		reason[124];
};

struct pyro_msg_probe_result {
	struct pyro_probe_item	kvm;	/* a vCPU really runs */
	struct pyro_probe_item	tun;	/* /dev/net/tun gives a TAP */
	struct pyro_probe_item	nft;	/* libnftables can list tables */
};

struct pyro_msg_spec {
	uint16_t	 type;
	const char	*name;
	uint32_t	 size;		/* exact payload size */
	enum pyro_fd_rule fd;
	uint8_t		 from;		/* allowed senders (enum pyro_peer) */
	uint8_t		 to;		/* allowed receivers */
	/* Offsets/sizes of char arrays that must hold a NUL. */
	struct { uint16_t off, len; } str[3];
};

extern const struct pyro_msg_spec pyro_msg_table[];

const struct pyro_msg_spec *pyro_msg_spec(uint16_t type);

struct pyro_msg {
	struct pyro_msg_hdr	hdr;
	uint8_t			payload[PYRO_MSG_MAXPAYLOAD];
	int			fd;	/* owned; -1 when none */
};

/*
 * Send one message; fd (when >= 0) is duplicated into the peer, the caller
 * keeps its copy.  Returns 0 or -errno.
 */
int	pyro_msg_send(int sock, uint16_t type, uint32_t id, const void *payload,
	    size_t len, int fd);
/*
 * Receive and validate one message as peer `self` from peer `from`.
 * Returns 0 (m->fd owned by the caller), -ECONNRESET on EOF, -EAGAIN, or
 * -EBADMSG when the message breaks a rule (any received fd is closed).
 */
int	pyro_msg_recv(int sock, struct pyro_msg *m, enum pyro_peer self,
	    enum pyro_peer from);
/* Validation alone, on an already received datagram (for tests/fuzzing). */
int	pyro_msg_validate(const struct pyro_msg_hdr *, size_t total,
	    const uint8_t *payload, int have_fd, enum pyro_peer self,
	    enum pyro_peer from);
/* Copy a string into a fixed field, always NUL-terminated. */
void	pyro_strlcpy(char *dst, const char *src, size_t dstsize);

#endif
