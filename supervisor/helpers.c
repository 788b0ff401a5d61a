/*
 * Helper processes.  Each helper gets one end of a SOCK_SEQPACKET
 * socketpair as fd 3 and nothing else but /dev/null on stdin and pyrod's
 * stderr: every other fd is closed before exec (and all of ours are
 * close-on-exec anyway).  The first message is our hello; the helper
 * answers hello_ack after it has dropped its privileges.
 *
 * Trust boundary: a helper may be compromised.  Every message it sends is
 * validated against the message table; a helper that sends anything invalid,
 * or talks out of turn, is killed.  pyrod itself never exits because of a
 * helper: failures become on_exit() callbacks with a reason.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pyrod.h"

#define HELLO_TIMEOUT_MS	10000

struct helper {
	LIST_ENTRY(helper)	 entry;
	enum helper_kind	 kind;
	pid_t			 pid;
	struct ev		 ev;
	int			 ready;
	int			 exited;	/* on_exit() was called */
	uint32_t		 next_id;
	char			 tag[72];
	char			 why[160];	/* set when we killed it */
	const struct helper_ops	*ops;
	void			*arg;
	struct timer		*hello_timer;
	int			 paused;	/* helper_pause(h, 1) */
};

#define HELPER_BATCH_MAX	64	/* messages read per wake-up */

static LIST_HEAD(, helper)	helpers = LIST_HEAD_INITIALIZER(helpers);
static int			nhelpers;

static const char *helper_progs[] = {
	[HELPER_VM] = "pyro-vmhelper",
	[HELPER_DISK] = "pyro-diskhelper",
};

const char *
helper_name(enum helper_kind k)
{
	return helper_progs[k];
}

pid_t
helper_pid(const struct helper *h)
{
	return h->pid;
}

int
helpers_count(void)
{
	return nhelpers;
}

static enum pyro_peer
helper_peer(const struct helper *h)
{
	return h->kind == HELPER_VM ? PEER_VMHELPER : PEER_DISKHELPER;
}

static void
helper_close_fd(struct helper *h)
{
	int	fd = h->ev.fd;

	if (fd >= 0) {
		loop_del(&h->ev);
		close(fd);
	}
	timer_cancel(h->hello_timer);
	h->hello_timer = NULL;
}

void
helper_kill(struct helper *h, const char *why)
{
	if (h->why[0] == '\0')
		snprintf(h->why, sizeof(h->why), "%s", why);
	log_warnx("%s[%d] (%s): %s; killing it", helper_progs[h->kind],
	    (int)h->pid, h->tag, why);
	helper_close_fd(h);
	(void)kill(h->pid, SIGKILL);
}

void
helper_pause(struct helper *h, int paused)
{
	/* With no events asked, epoll still reports a hang-up. */
	h->paused = paused;
	if (h->ev.fd >= 0)
		(void)loop_mod(&h->ev, paused ? 0 : EPOLLIN);
}

void
helper_shutdown(struct helper *h)
{
	if (h->ev.fd >= 0)
		(void)helper_send(h, PYRO_MSG_SHUTDOWN, NULL, 0, -1);
}

int
helper_send(struct helper *h, uint16_t type, const void *p, size_t len,
    int fd)
{
	int	rc;

	if (h->ev.fd < 0)
		return -EPIPE;
	rc = pyro_msg_send(h->ev.fd, type, ++h->next_id, p, len, fd);
	if (rc < 0)
		log_warnx("send to %s[%d]: %s", helper_progs[h->kind],
		    (int)h->pid, strerror(-rc));
	return rc;
}

static void
helper_cb(struct ev *ev, uint32_t events)
{
	struct helper		*h = ev->arg;
	static struct pyro_msg	 m;
	int			 rc, n;

	/*
	 * A bounded batch, and none once paused: a helper that writes as
	 * fast as we read would otherwise keep us here, and a paused one
	 * would fill its client's queue past any limit.
	 */
	for (n = 0; n < HELPER_BATCH_MAX && !h->paused; n++) {
		rc = pyro_msg_recv(h->ev.fd, &m, PEER_SUPERVISOR,
		    helper_peer(h));
		if (rc == -EAGAIN)
			return;
		if (rc == -ECONNRESET) {
			/* It closed its end: it is exiting; SIGCHLD follows. */
			helper_close_fd(h);
			return;
		}
		if (rc < 0) {
			helper_kill(h, rc == -EBADMSG ?
			    "sent an invalid message" : "socket error");
			return;
		}
		if (!h->ready) {
			const struct pyro_msg_hello_ack *a =
			    (const void *)m.payload;

			if (m.hdr.type != PYRO_MSG_HELLO_ACK ||
			    a->version != PYRO_MSG_VERSION) {
				if (m.fd >= 0)
					close(m.fd);
				helper_kill(h, "did not answer hello");
				return;
			}
			h->ready = 1;
			timer_cancel(h->hello_timer);
			h->hello_timer = NULL;
			if (h->ops->on_ready)
				h->ops->on_ready(h, h->arg);
		} else if (m.hdr.type == PYRO_MSG_HELLO_ACK) {
			helper_kill(h, "sent a second hello_ack");
			return;
		} else if (h->ops->on_msg)
			h->ops->on_msg(h, &m, h->arg);
		if (m.fd >= 0)
			close(m.fd);
		if (h->ev.fd < 0)
			return;
	}
}

static void
hello_timeout(void *arg)
{
	struct helper	*h = arg;

	h->hello_timer = NULL;
	helper_kill(h, "did not say hello in time");
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
helper_exec(int sock, const char *path, const char *prog)
{
	char		*const argv[] = { (char *)prog, NULL };
	char		*const envp[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	sigset_t	 all;
	int		 devnull;

	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	if (sock == PYRO_HELPER_FD) {
		if (fcntl(sock, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(sock, PYRO_HELPER_FD) < 0)
		_exit(127);
	if ((devnull = open("/dev/null", O_RDONLY)) >= 0 && devnull != 0) {
		(void)dup2(devnull, 0);
		if (devnull != PYRO_HELPER_FD)
			close(devnull);
	}
	/* Nothing but 0, 1, 2 and our socket crosses into the helper. */
	(void)close_range(PYRO_HELPER_FD + 1, ~0U, 0);
	execve(path, argv, envp);
	_exit(127);
}

struct helper *
helper_spawn(enum helper_kind kind, const char *tag,
    const struct helper_ops *ops, void *arg)
{
	struct helper		*h;
	struct pyro_msg_hello	 hello;
	char			 path[4200];
	int			 sv[2];
	pid_t			 pid;

	snprintf(path, sizeof(path), "%s/%s", conf.libexec_dir,
	    helper_progs[kind]);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("socketpair");
		free(h);
		return NULL;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		free(h);
		return NULL;
	}
	if (pid == 0)
		helper_exec(sv[1], path, helper_progs[kind]);
	close(sv[1]);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);

	h->kind = kind;
	h->pid = pid;
	h->ops = ops;
	h->arg = arg;
	h->ev.fd = sv[0];
	h->ev.cb = helper_cb;
	h->ev.arg = h;
	snprintf(h->tag, sizeof(h->tag), "%s", tag);
	LIST_INSERT_HEAD(&helpers, h, entry);
	nhelpers++;
	if (loop_add(&h->ev, EPOLLIN) < 0) {
		helper_kill(h, "cannot watch its socket");
		return h;
	}
	memset(&hello, 0, sizeof(hello));
	hello.version = PYRO_MSG_VERSION;
	hello.uid = conf.helper_uid;
	hello.gid = conf.helper_gid;
	pyro_strlcpy(hello.tag, tag, sizeof(hello.tag));
	if (helper_send(h, PYRO_MSG_HELLO, &hello, sizeof(hello), -1) < 0)
		helper_kill(h, "cannot send hello");
	else
		h->hello_timer = timer_add(HELLO_TIMEOUT_MS, hello_timeout, h);
	log_debug("spawned %s[%d] for %s", helper_progs[kind], (int)pid, tag);
	return h;
}

static void
helper_exited(struct helper *h, int status)
{
	char	why[200];

	helper_close_fd(h);
	if (h->why[0] != '\0')
		snprintf(why, sizeof(why), "%s", h->why);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(why, sizeof(why), "exited");
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(why, sizeof(why), "ended");
	log_debug("%s[%d] (%s): %s", helper_progs[h->kind], (int)h->pid,
	    h->tag, why);
	LIST_REMOVE(h, entry);
	nhelpers--;
	if (h->ops->on_exit)
		h->ops->on_exit(h, why, h->arg);
	loop_defer_free(free, h);
}

/* Called on SIGCHLD: collect every child that ended. */
void
helpers_reap(void)
{
	struct helper	*h;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		LIST_FOREACH(h, &helpers, entry)
			if (h->pid == pid)
				break;
		if (h != NULL)
			helper_exited(h, status);
	}
}

void
helpers_kill_all(void)
{
	struct helper	*h;
	int		 status;

	while ((h = LIST_FIRST(&helpers)) != NULL) {
		helper_close_fd(h);
		(void)kill(h->pid, SIGKILL);
		(void)waitpid(h->pid, &status, 0);
		snprintf(h->why, sizeof(h->why), "pyrod is shutting down");
		helper_exited(h, status);
	}
}
