/*
 * pyro-agent: PID 1 of every guest.  Stage 1 (init.c) switches to the root
 * disk; then this loop serves the host over the virtio-serial port: runs
 * commands with their output streamed back, reaps every zombie in the
 * guest, flushes and powers off on request.
 *
 * Trust: the host is trusted to ask for work (it owns this VM), but every
 * frame is still checked (gp_check, gp_exec_parse), counts are bounded
 * (AGENT_EXECS_MAX), and output is read in bounded chunks and written to
 * the channel as it comes, so a flooding command is slowed by the host's
 * reading, never buffered without bound.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <arpa/inet.h>
#include <linux/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "guestproto.h"

#define AGENT_EXECS_MAX		64
#define DRAIN_GRACE_MS		500
#define DEFAULT_PATH \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char	**environ;

struct exec {
	uint32_t	stream;		/* 0: slot free */
	pid_t		pid;
	int		out, err;	/* pipes (out: the PTY), -1 once closed */
	int		in;		/* stdin pipe or PTY, -1: none or closed */
	int		pty;
	uint8_t		*inbuf;		/* at most GP_STDIN_WINDOW bytes */
	size_t		inlen;
	int		in_eof;		/* the host sent EOF */
	long long	deadline;	/* 0: none */
	long long	drain_until;	/* after exit: give pipes this long */
	int		exited;
	int		status;
	int		timed_out;
};

static struct exec	execs[AGENT_EXECS_MAX];
static int		chan = -1;
static struct gp_reader	rd;		/* the host channel */


static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { fd, POLLOUT, 0 };
				(void)poll(&pfd, 1, 1000);
				continue;
			}
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
send_frame(uint16_t type, uint32_t stream, const void *p, size_t len)
{
	struct gp_hdr	h;

	gp_hdr_set(&h, type, stream, (uint32_t)len);
	if (write_all(chan, &h, sizeof(h)) < 0 ||
	    (len && write_all(chan, p, len) < 0))
		alog("pyro-agent: channel write: %s", strerror(errno));
}

static struct exec *
exec_find(uint32_t stream)
{
	int	i;

	for (i = 0; i < AGENT_EXECS_MAX; i++)
		if (execs[i].stream == stream)
			return &execs[i];
	return NULL;
}

static void
exec_report(struct exec *e, int error)
{
	struct gp_exit	x;

	memset(&x, 0, sizeof(x));
	x.error = error;
	x.timed_out = (uint32_t)e->timed_out;
	if (error != 0)
		x.exit_code = 127;
	else if (WIFEXITED(e->status))
		x.exit_code = WEXITSTATUS(e->status);
	else if (WIFSIGNALED(e->status)) {
		x.exit_code = -1;
		x.signal = WTERMSIG(e->status);
	}
	send_frame(GP_EXIT, e->stream, &x, sizeof(x));
	if (e->out >= 0)
		close(e->out);
	if (e->err >= 0)
		close(e->err);
	if (e->in >= 0)
		close(e->in);
	free(e->inbuf);
	memset(e, 0, sizeof(*e));
	e->out = e->err = e->in = -1;
}

/*
 * In the child: never returns.  Reports exec errors through errfd.  in is
 * the stdin pipe (or -1 for /dev/null); with a PTY, pts is its slave side
 * and becomes stdin, stdout, stderr and the controlling terminal.
 */
static void __attribute__((noreturn))
exec_child(const char *cwd, char **argv, char **env, int in, int out,
    int err, int pts, int errfd)
{
	int		e, devnull;
	sigset_t	none;

	/* The command gets default signal handling and an empty mask. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	(void)setsid();
	if (pts >= 0) {
		if (ioctl(pts, TIOCSCTTY, 0) < 0)
			goto fail;
		(void)dup2(pts, 0);
		(void)dup2(pts, 1);
		(void)dup2(pts, 2);
	} else {
		if (in >= 0)
			(void)dup2(in, 0);
		else if ((devnull = open("/dev/null", O_RDONLY)) >= 0)
			(void)dup2(devnull, 0);
		(void)dup2(out, 1);
		(void)dup2(err, 2);
	}
	if (chdir(cwd) < 0)
		goto fail;
	/* execvp searches the PATH of the command's own environment. */
	environ = env;
	execvp(argv[0], argv);
fail:
	e = errno;
	(void)write(errfd, &e, sizeof(e));
	_exit(127);
}

/* A new PTY: master (nonblocking) and slave, sized cols x rows. */
static int
open_pty(int *master, int *slave, unsigned cols, unsigned rows)
{
	struct winsize	ws;
	char		name[64];

	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0 ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = errno;

		close(*master);
		return -e;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)(cols ? cols : 80);
	ws.ws_row = (unsigned short)(rows ? rows : 24);
	(void)ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
}

static void
exec_start(uint32_t stream, uint8_t *payload, size_t len)
{
	static char	*argv[GP_ARGS_MAX + 4], *env[GP_ARGS_MAX + 4];
	struct gp_exec	 hdr;
	struct exec	*e = NULL;
	const char	*cwd;
	int		 po[2], pe[2], pi[2], ps[2], i, n, code = 0;
	char		*shargv[4];
	char		**av = argv;
	pid_t		 pid;

	if (stream == 0 || exec_find(stream) != NULL ||
	    gp_exec_parse(payload, len, &hdr, &cwd, argv, env) < 0) {
		struct gp_exit x = { 127, 0, 0, EINVAL };
		send_frame(GP_EXIT, stream, &x, sizeof(x));
		return;
	}
	for (i = 0; i < AGENT_EXECS_MAX && e == NULL; i++)
		if (execs[i].stream == 0)
			e = &execs[i];
	if (e == NULL) {
		struct gp_exit x = { 127, 0, 0, EBUSY };
		send_frame(GP_EXIT, stream, &x, sizeof(x));
		return;
	}
	if (hdr.flags & GP_EXEC_SHELL) {
		shargv[0] = "/bin/sh";
		shargv[1] = "-lc";
		shargv[2] = argv[0];
		shargv[3] = NULL;
		av = shargv;
	}
	/* Defaults the host did not set. */
	n = (int)hdr.envc;
	for (i = 0; i < n && strncmp(env[i], "PATH=", 5) != 0; i++)
		;
	if (i == n)
		env[n++] = DEFAULT_PATH;
	for (i = 0; i < n && strncmp(env[i], "HOME=", 5) != 0; i++)
		;
	if (i == n)
		env[n++] = "HOME=/root";
	env[n] = NULL;

	/* A command on a terminal: a sane TERM unless the host set one. */
	if (hdr.flags & GP_EXEC_PTY) {
		for (i = 0; i < n && strncmp(env[i], "TERM=", 5) != 0; i++)
			;
		if (i == n)
			env[n++] = "TERM=xterm-256color";
		env[n] = NULL;
	}
	po[0] = po[1] = pe[0] = pe[1] = pi[0] = pi[1] = -1;
	if (hdr.flags & GP_EXEC_PTY)
		code = -open_pty(&po[0], &po[1], hdr.cols, hdr.rows);
	else if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 ||
	    ((hdr.flags & GP_EXEC_STDIN) && pipe2(pi, O_CLOEXEC) < 0))
		code = errno;
	if (code == 0 && pipe2(ps, O_CLOEXEC) < 0)
		code = errno;
	if (code != 0) {
		struct gp_exit x = { 127, 0, 0, code };

		for (i = 0; i < 2; i++) {
			if (po[i] >= 0)
				close(po[i]);
			if (pe[i] >= 0)
				close(pe[i]);
			if (pi[i] >= 0)
				close(pi[i]);
		}
		send_frame(GP_EXIT, stream, &x, sizeof(x));
		return;
	}
	e->pty = (hdr.flags & GP_EXEC_PTY) != 0;
	if ((pid = fork()) == 0) {
		if (e->pty)
			exec_child(cwd, av, env, -1, -1, -1, po[1], ps[1]);
		exec_child(cwd, av, env, pi[0], po[1], pe[1], -1, ps[1]);
	}
	close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (pi[0] >= 0)
		close(pi[0]);
	close(ps[1]);
	e->stream = stream;
	e->out = po[0];
	e->err = pe[0];
	e->in = -1;
	if (e->pty && (hdr.flags & GP_EXEC_STDIN))
		e->in = dup(po[0]);
	else if (pi[1] >= 0)
		e->in = pi[1];
	e->pid = pid;
	if (pid < 0)
		code = errno;
	else if (read(ps[0], &code, sizeof(code)) != (ssize_t)sizeof(code))
		code = 0;	/* EOF: exec succeeded */
	close(ps[0]);
	(void)fcntl(e->out, F_SETFL, O_NONBLOCK);
	if (e->err >= 0)
		(void)fcntl(e->err, F_SETFL, O_NONBLOCK);
	if (e->in >= 0)
		(void)fcntl(e->in, F_SETFL, O_NONBLOCK);
	if (code != 0) {
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
		exec_report(e, code);
		return;
	}
	{
		uint32_t p32 = (uint32_t)pid;

		send_frame(GP_STARTED, stream, &p32, sizeof(p32));
	}
	if (hdr.timeout_ms > 0)
		e->deadline = pyro_mono_ms() + hdr.timeout_ms;
}

/*
 * Hand buffered stdin to the command as far as it takes it, and tell the
 * host how much went, so it may send more.  EOF closes the pipe once the
 * buffer is empty (a PTY stays open: its command ends by a signal).
 */
static void
stdin_flush(struct exec *e)
{
	ssize_t		w;
	uint32_t	done = 0;

	while (e->in >= 0 && e->inlen > 0) {
		w = write(e->in, e->inbuf, e->inlen);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			/* The command closed its stdin: drop what is left. */
			done += (uint32_t)e->inlen;
			e->inlen = 0;
			close(e->in);
			e->in = -1;
			break;
		}
		memmove(e->inbuf, e->inbuf + w, e->inlen - (size_t)w);
		e->inlen -= (size_t)w;
		done += (uint32_t)w;
	}
	if (e->in < 0 && e->inlen > 0) {
		done += (uint32_t)e->inlen;
		e->inlen = 0;
	}
	if (done > 0)
		send_frame(GP_STDIN_ACK, e->stream, &done, sizeof(done));
	if (e->in_eof && e->inlen == 0 && e->in >= 0 && !e->pty) {
		close(e->in);
		e->in = -1;
	}
}

static void
stdin_data(uint32_t stream, const uint8_t *p, size_t len)
{
	struct exec	*e = exec_find(stream);

	if (e == NULL || stream == 0)
		return;		/* the command is gone: the data is moot */
	if (len == 0) {
		e->in_eof = 1;
		stdin_flush(e);
		return;
	}
	if (e->in_eof || e->inlen + len > GP_STDIN_WINDOW) {
		alog("pyro-agent: stdin beyond the window on stream %u",
		    stream);
		return;
	}
	if (e->inbuf == NULL && (e->inbuf = malloc(GP_STDIN_WINDOW)) == NULL)
		return;
	memcpy(e->inbuf + e->inlen, p, len);
	e->inlen += len;
	stdin_flush(e);
}

/* Signal the command's foreground process group (its PTY's, if any). */
static void
exec_signal(uint32_t stream, const uint8_t *p)
{
	struct exec	*e = exec_find(stream);
	uint32_t	 sig;
	pid_t		 pg = -1;

	memcpy(&sig, p, sizeof(sig));
	if (e == NULL || stream == 0 || e->exited)
		return;
	if (sig != SIGINT && sig != SIGTERM && sig != SIGKILL &&
	    sig != SIGHUP && sig != SIGQUIT)
		return;
	if (e->pty && e->out >= 0)
		pg = tcgetpgrp(e->out);
	if (pg <= 0)
		pg = e->pid;
	(void)kill(-pg, (int)sig);
}

/* Read one bounded chunk from a pipe; close it on EOF. */
static void
pump(struct exec *e, int *fd, uint16_t type)
{
	static uint8_t	buf[GP_MAXPAYLOAD];
	ssize_t		n;

	n = read(*fd, buf, sizeof(buf));
	if (n > 0) {
		send_frame(type, e->stream, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(*fd);
	*fd = -1;
}

static void
reap(void)
{
	struct exec	*e;
	pid_t		 pid;
	int		 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < AGENT_EXECS_MAX; i++) {
			e = &execs[i];
			if (e->stream != 0 && e->pid == pid && !e->exited) {
				e->exited = 1;
				e->status = status;
				e->drain_until = pyro_mono_ms() + DRAIN_GRACE_MS;
			}
		}
	}
}

static void
kill_all(void)
{
	int	i;

	for (i = 0; i < AGENT_EXECS_MAX; i++)
		if (execs[i].stream != 0 && !execs[i].exited)
			(void)kill(-execs[i].pid, SIGKILL);
}

/*
 * GP_RESUME (guestproto.h): this guest was restored from a snapshot that
 * its siblings share.  Clock first, then the CRNG, then the name; each
 * step's errno goes back, none stops the others.
 */
static void
resume(uint32_t stream, const uint8_t *p, size_t len)
{
	struct gp_resume	 r;
	struct gp_resumed	 out;
	struct {
		struct rand_pool_info	info;
		uint8_t			bytes[GP_RESUME_SEED];
	}			 pool;
	struct timespec		 ts;
	size_t			 i, n;
	int			 fd;

	struct gp_resume_net	 net;
	int			 bad;

	memcpy(&r, p, sizeof(r));
	memset(&out, 0, sizeof(out));
	out.version = GP_VERSION;
	/* Exactly the base frame, or the base and a network (flags say). */
	bad = !((len == sizeof(r) && r.flags == 0) ||
	    (len == sizeof(r) + sizeof(net) && r.flags == GP_RESUME_NET));
	ts.tv_sec = (time_t)r.realtime_sec;
	ts.tv_nsec = (long)r.realtime_nsec;
	/*
	 * Host-compat has no clock or CRNG of its own to reset: they are
	 * the host kernel's, never part of a saved state, so no sibling
	 * can share them (pyro never restores host-compat; the Firecracker
	 * peer of the tests runs this agent so).  Only its name is its own
	 * (its UTS namespace).
	 */
	if (bad || r.realtime_nsec >= 1000000000U)
		out.clock_error = EINVAL;
	else if (!agent_host_compat && clock_settime(CLOCK_REALTIME, &ts) < 0)
		out.clock_error = errno;
	memset(&pool, 0, sizeof(pool));
	pool.info.entropy_count = GP_RESUME_SEED * 8;
	pool.info.buf_size = GP_RESUME_SEED;
	memcpy(pool.bytes, r.seed, GP_RESUME_SEED);
	if (agent_host_compat)
		;
	else if ((fd = open("/dev/urandom", O_RDWR | O_CLOEXEC)) < 0)
		out.entropy_error = errno;
	else {
		if (ioctl(fd, RNDADDENTROPY, &pool) < 0 ||
		    ioctl(fd, RNDRESEEDCRNG) < 0)
			out.entropy_error = errno;
		close(fd);
	}
	explicit_bzero(&pool, sizeof(pool));
	explicit_bzero(r.seed, sizeof(r.seed));
	n = strnlen(r.hostname, sizeof(r.hostname));
	for (i = 0; i < n; i++)
		if (!((r.hostname[i] >= 'a' && r.hostname[i] <= 'z') ||
		    (r.hostname[i] >= 'A' && r.hostname[i] <= 'Z') ||
		    (r.hostname[i] >= '0' && r.hostname[i] <= '9') ||
		    r.hostname[i] == '.' || r.hostname[i] == '-'))
			break;
	if (n == sizeof(r.hostname) || i < n)
		out.hostname_error = EINVAL;
	else if (n > 0 && sethostname(r.hostname, n) < 0)
		out.hostname_error = errno;
	/* The VM's address: its template's NIC has none yet. */
	if (bad)
		out.net_error = EINVAL;
	else if ((r.flags & GP_RESUME_NET) && agent_host_compat)
		out.net_error = EOPNOTSUPP;	/* never asked: no VM */
	else if (r.flags & GP_RESUME_NET) {
		memcpy(&net, p + sizeof(r), sizeof(net));
		/* Both ends of one /30, neither its network nor broadcast. */
		if ((net.addr ^ net.gateway) & htonl(0xfffffffcu) ||
		    (ntohl(net.addr) & 3) == 0 || (ntohl(net.addr) & 3) == 3 ||
		    (ntohl(net.gateway) & 3) == 0 ||
		    (ntohl(net.gateway) & 3) == 3 || net.addr == net.gateway)
			out.net_error = EINVAL;
		else
			out.net_error = net_configure(net.addr, net.gateway);
	}
	send_frame(GP_RESUMED, stream, &out, sizeof(out));
}

/* Returns 1 when asked to power off. */
static int
handle_frame(struct gp_hdr *h, uint8_t *p)
{
	struct exec	*e;

	switch (h->type) {
	case GP_PING:
		send_frame(GP_PONG, h->stream, p, h->len);
		break;
	case GP_EXEC:
		exec_start(h->stream, p, h->len);
		break;
	case GP_KILL:
		if ((e = exec_find(h->stream)) != NULL && !e->exited)
			(void)kill(-e->pid, SIGKILL);
		break;
	case GP_STDIN:
		stdin_data(h->stream, p, h->len);
		break;
	case GP_SIGNAL:
		exec_signal(h->stream, p);
		break;
	case GP_FLUSH:
		sync();
		send_frame(GP_FLUSHED, h->stream, NULL, 0);
		break;
	case GP_POWEROFF:
		return 1;
	case GP_RESUME:
		resume(h->stream, p, h->len);
		break;
	}
	return 0;
}

/* Returns 1 on power-off, -1 on a protocol error (frames are dropped). */
static int
read_channel(void)
{
	struct gp_hdr	 h;
	uint8_t		*p;
	ssize_t		 n;
	int		 rc;

	if ((n = gp_reader_fill(&rd, chan)) <= 0) {
		if (agent_vsock_listener >= 0 && n != -EAGAIN &&
		    n != -EINTR) {
			/*
			 * Our vsock connection ended: a snapshot of this
			 * guest reset it (Firecracker does), and the host
			 * that restored it connects again.  Nothing runs
			 * then (the host quiesced us first); wait for it.
			 */
			close(chan);
			rd.len = rd.taken = 0;
			if ((chan = agent_vsock_accept()) < 0)
				return 1;	/* no host ever again */
			alog("pyro-agent: the host connected again");
			return 0;
		}
		if (n == 0 || n == -EAGAIN || n == -EINTR) {
			/* No host connected yet (or it went away). */
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	while ((rc = gp_reader_next(&rd, GP_FROM_HOST, &h, &p)) > 0)
		if (handle_frame(&h, p) == 1)
			return 1;
	if (rc < 0) {
		alog("pyro-agent: invalid frame from the host");
		rd.len = rd.taken = 0;
		return -1;
	}
	return 0;
}

int
agent_serve(int fd)
{
	struct pollfd		 pfd[2 + 3 * AGENT_EXECS_MAX];
	struct exec		*map[2 + 3 * AGENT_EXECS_MAX];
	struct gp_hello		 hello;
	struct utsname		 u;
	struct signalfd_siginfo	 si;
	sigset_t		 set;
	int			 sfd, n, i, wait;
	long long		 now, next;

	chan = fd;
	for (i = 0; i < AGENT_EXECS_MAX; i++)
		execs[i].out = execs[i].err = execs[i].in = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* A command that stops reading its stdin must not end the agent. */
	(void)signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	memset(&hello, 0, sizeof(hello));
	hello.version = GP_VERSION;
	hello.pid = (uint32_t)getpid();
	if (uname(&u) == 0)
		memcpy(hello.kernel, u.release, strnlen(u.release,
		    sizeof(hello.kernel) - 1));
	send_frame(GP_HELLO, 0, &hello, sizeof(hello));

	for (;;) {
		n = 0;
		pfd[n].fd = chan;
		pfd[n++].events = POLLIN;
		pfd[n].fd = sfd;
		pfd[n++].events = POLLIN;
		now = pyro_mono_ms();
		next = -1;
		for (i = 0; i < AGENT_EXECS_MAX; i++) {
			struct exec *e = &execs[i];

			if (e->stream == 0)
				continue;
			if (e->deadline && now >= e->deadline && !e->exited) {
				e->timed_out = 1;
				e->deadline = 0;
				(void)kill(-e->pid, SIGKILL);
			}
			if (e->exited && (now >= e->drain_until ||
			    (e->out < 0 && e->err < 0))) {
				exec_report(e, 0);
				continue;
			}
			if (e->deadline && (next < 0 || e->deadline < next))
				next = e->deadline;
			if (e->exited && (next < 0 || e->drain_until < next))
				next = e->drain_until;
			if (e->out >= 0) {
				map[n] = e;
				pfd[n].fd = e->out;
				pfd[n++].events = POLLIN;
			}
			if (e->err >= 0) {
				map[n] = e;
				pfd[n].fd = e->err;
				pfd[n++].events = POLLIN;
			}
			if (e->in >= 0 && e->inlen > 0) {
				map[n] = e;
				pfd[n].fd = e->in;
				pfd[n++].events = POLLOUT;
			}
		}
		wait = next < 0 ? 1000 : (int)(next - now < 0 ? 0 : next - now);
		if (poll(pfd, (nfds_t)n, wait) < 0 && errno != EINTR)
			continue;
		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			reap();
		}
		for (i = 2; i < n; i++) {
			struct exec *e = map[i];

			if (pfd[i].events == POLLOUT) {
				if (pfd[i].revents & (POLLOUT | POLLERR |
				    POLLHUP))
					stdin_flush(e);
				continue;
			}
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == e->out)
				pump(e, &e->out, GP_STDOUT);
			else if (pfd[i].fd == e->err)
				pump(e, &e->err, GP_STDERR);
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP)) &&
		    read_channel() == 1) {
			kill_all();
			return 0;
		}
		reap();
	}
}

int
main(int argc, char *argv[])
{
	int	fd;

	if (getpid() != 1) {
		fprintf(stderr, "pyro-agent runs as PID 1 inside a pyro "
		    "guest\n");
		return 2;
	}
	/*
	 * Host-compat: pyro-vmhelper made our namespaces, root and mounts
	 * and dropped every privilege; the host channel is fd 3.
	 */
	if (argc == 2 && strcmp(argv[1], "--host-compat") == 0) {
		agent_host_compat = 1;
		(void)fcntl(3, F_SETFD, FD_CLOEXEC);
		(void)fcntl(3, F_SETFL, O_NONBLOCK);
		alog("pyro-agent: serving on the host channel (host-compat)");
		agent_serve(3);
		init_poweroff();
	}
	if (access("/etc/pyro/modules", F_OK) == 0 && init_stage1() < 0)
		init_poweroff();
	init_stage2_mounts();
	init_loopback();
	init_network();
	(void)sethostname("pyro", 4);
	if ((fd = agent_vsock_channel()) == -2)
		init_poweroff();
	if (fd < 0 && (fd = agent_find_channel()) < 0) {
		alog("pyro-agent: no virtio-serial port named %s",
		    GP_PORT_NAME);
		init_poweroff();
	}
	alog("pyro-agent: serving on the host channel");
	agent_serve(fd);
	init_poweroff();
}
