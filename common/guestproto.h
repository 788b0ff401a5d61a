/*
 * The guest protocol: pyro-vmhelper <-> pyro-agent over one byte stream
 * (a virtio-serial port under QEMU).  Every frame is a fixed header and at
 * most GP_MAXPAYLOAD bytes; many execs share the stream, told apart by the
 * stream id.  Control payloads are small fixed structs followed, where a
 * type says so, by NUL-terminated strings; data payloads are raw bytes.
 * Fixed layouts (not JSON) keep the static guest agent free of a JSON
 * parser and make every bound explicit on both sides.
 *
 * Trust: the guest is the least-trusted party.  The host checks every frame
 * from the agent with gp_check() (type known, direction, exact or bounded
 * size) and bounds what it buffers; the agent checks the host's frames the
 * same way.
 */
#ifndef PYRO_GUESTPROTO_H
#define PYRO_GUESTPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * 3: GP_RESUME may carry a network (GP_RESUME_NET), GP_RESUMED its error.
 * A host speaks to agents of GP_VERSION_MIN and later (environments built
 * by the release before); what an older agent cannot do, it is not asked.
 */
#define GP_VERSION		3
#define GP_VERSION_MIN		2
#define GP_MAXPAYLOAD		(64 * 1024)
#define GP_PORT_NAME		"org.pyro.agent.0"
/* Under Firecracker: the agent's vsock port (the host's CONNECT 1024). */
#define GP_VSOCK_PORT		1024
#define GP_ARGS_MAX		4096	/* argv + env entries */
/*
 * Stdin credit: the host keeps at most this many bytes of one exec's stdin
 * unacknowledged; the agent buffers no more than that per exec.
 */
#define GP_STDIN_WINDOW		(256 * 1024)

struct gp_hdr {
	uint32_t	len;		/* payload bytes */
	uint32_t	stream;		/* 0: the channel itself */
	uint16_t	type;
	uint16_t	flags;
};

enum gp_type {
	GP_HELLO = 1,	/* A->H gp_hello */
	GP_PING,	/* H->A any bytes: echoed back as PONG */
	GP_PONG,	/* A->H */
	GP_EXEC,	/* H->A gp_exec + strings: cwd, argv[argc], env[envc] */
	GP_STDOUT,	/* A->H raw */
	GP_STDERR,	/* A->H raw */
	GP_EXIT,	/* A->H gp_exit */
	GP_KILL,	/* H->A empty: SIGKILL the exec's process group */
	GP_FLUSH,	/* H->A empty: sync(2) */
	GP_FLUSHED,	/* A->H empty */
	GP_POWEROFF,	/* H->A empty: sync, remount / read-only, power off */
	GP_STDIN,	/* H->A raw bytes for the exec's stdin; empty: EOF */
	GP_STDIN_ACK,	/* A->H u32: stdin bytes handed to the command */
	GP_SIGNAL,	/* H->A u32 signal: to the exec's foreground group */
	GP_STARTED,	/* A->H u32 pid of the exec's process */
	GP_RESUME,	/* H->A gp_resume: after a restore, before any exec */
	GP_RESUMED,	/* A->H gp_resumed */
	GP__MAX
};

#define GP_FROM_HOST	0x1
#define GP_FROM_AGENT	0x2

struct gp_hello {
	uint32_t	version;
	uint32_t	pid;
	char		kernel[64];
};

/*
 * A guest restored from a memory snapshot (warm start, docs/roadmap/
 * warm-start.md) shares its template's clock, CRNG state and identity
 * with every sibling.  GP_RESUME is the host's first frame to it: the
 * agent sets CLOCK_REALTIME, mixes the seed in and reseeds the CRNG
 * (RNDADDENTROPY, then RNDRESEEDCRNG: adding alone does not reseed a
 * ready CRNG), sets the hostname when one is given, then answers
 * GP_RESUMED with the errno of each step (0: done).  Version 3: with
 * GP_RESUME_NET in flags a struct gp_resume_net follows (the frame is the
 * two together): the guest's address, configured on eth0 as a cold boot's
 * pyro.net= would have been (a template of a networked shape is saved
 * with an unconfigured NIC); net_error says how that went.  A version 2
 * GP_RESUMED ends before net_error.
 */
#define GP_RESUME_SEED	64
#define GP_RESUME_NET	0x1
struct gp_resume {
	int64_t		realtime_sec;	/* the host's CLOCK_REALTIME */
	uint32_t	realtime_nsec;
	uint32_t	flags;		/* 0 or GP_RESUME_NET */
	uint8_t		seed[GP_RESUME_SEED];	/* from the host's getrandom */
	char		hostname[64];	/* "" keeps it; else [A-Za-z0-9.-] */
};
struct gp_resume_net {
	uint32_t	addr;		/* network order: the guest's, a /30's */
	uint32_t	gateway;	/* the /30's host end: route and DNS */
};
struct gp_resumed {
	uint32_t	version;	/* GP_VERSION */
	int32_t		clock_error;
	int32_t		entropy_error;
	int32_t		hostname_error;
	int32_t		net_error;	/* version 3 */
};
#define GP_RESUMED_V2_SIZE	16
_Static_assert(offsetof(struct gp_resumed, net_error) == GP_RESUMED_V2_SIZE,
    "protocol 2's GP_RESUMED is protocol 3's without net_error");
_Static_assert(sizeof(struct gp_resume) == 144 &&
    sizeof(struct gp_resume_net) == 8, "GP_RESUME's wire layout");

#define GP_EXEC_SHELL	0x1	/* argv[0] is a string for /bin/sh -lc */
#define GP_EXEC_STDIN	0x2	/* stdin is fed by GP_STDIN (else /dev/null) */
#define GP_EXEC_PTY	0x4	/* run on a new PTY (stdout only; cols, rows) */
#define GP_EXEC_FLAGS	(GP_EXEC_SHELL | GP_EXEC_STDIN | GP_EXEC_PTY)
struct gp_exec {
	uint32_t	timeout_ms;	/* 0: none */
	uint32_t	argc;
	uint32_t	envc;
	uint32_t	flags;
	uint16_t	cols, rows;	/* PTY size; 0: 80x24 */
	/* then cwd\0 argv[0]\0 ... env[0]\0 ... */
};

struct gp_exit {
	int32_t		exit_code;	/* -1 when killed by a signal */
	int32_t		signal;
	uint32_t	timed_out;
	int32_t		error;		/* errno when the command did not start */
};

/*
 * Check a received frame header: `from` is the sender we accept frames from
 * (GP_FROM_HOST in the agent, GP_FROM_AGENT in the vmhelper).  Returns 0 or
 * -EBADMSG (unknown type, wrong direction, wrong or oversized length).
 */
int	gp_check(const struct gp_hdr *, unsigned from);
/*
 * Split the strings after a gp_exec: returns 0 and fills cwd/argv/env
 * pointers into payload (argv and env arrays get a NULL terminator), or
 * -EBADMSG when counts, bounds or terminators are wrong.
 */
int	gp_exec_parse(uint8_t *payload, size_t len, struct gp_exec *hdr,
	    const char **cwd, char **argv, char **env);
/*
 * The one encoder of an exec request, the mirror of gp_exec_parse(): hdr
 * (its argc and envc are set from the NULL-terminated argv and env; env
 * may be NULL) then cwd, argv and env as NUL-terminated strings, into buf.
 * Returns the length, or -1 when it does not fit in size bytes, argv is
 * empty, or there are more than GP_ARGS_MAX strings.
 */
long	gp_exec_encode(struct gp_exec *hdr, const char *cwd,
	    const char *const *argv, const char *const *env, uint8_t *buf,
	    size_t size);
/*
 * The one frame accumulator of the byte stream, for both ends.  fill()
 * reads once from fd (bytes read, 0 at EOF, or -errno); next() returns 1
 * with the next whole frame checked by gp_check() against `from` (payload
 * valid until the next call), 0 when more bytes are needed, or -EBADMSG
 * with *h the offending header.  The buffer holds one maximal frame.
 */
struct gp_reader {
	uint8_t		buf[sizeof(struct gp_hdr) + GP_MAXPAYLOAD];
	size_t		len;
	size_t		taken;		/* the frame handed out last */
};
ssize_t	gp_reader_fill(struct gp_reader *, int fd);
int	gp_reader_next(struct gp_reader *, unsigned from, struct gp_hdr *h,
	    uint8_t **payload);
/* Drop the frame handed out last (fill and next do it themselves). */
void	gp_reader_consume(struct gp_reader *);
/* Encode a header into buf (struct layout is the wire layout, LE hosts). */
void	gp_hdr_set(struct gp_hdr *, uint16_t type, uint32_t stream,
	    uint32_t len);

#endif
