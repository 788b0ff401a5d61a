/*
 * The control socket and its dispatcher.  Trust boundary: the caller's
 * identity comes from SO_PEERCRED/SO_PEERGROUPS, which the kernel fills in
 * at connect time, never from the request; root and the configured group
 * are served, anyone else gets one permission_denied frame.  Connections
 * themselves are client.c's.
 *
 * The op table is the one place that says, for each op, its handler, the
 * gate its object must pass (a workspace's or a VM's state, ws.c and
 * vm.c's tables) and the kind of fd it takes; the dispatcher enforces
 * both before the handler runs (as OpenSSH's monitor does with its
 * flags), so a handler starts with a checked fd and its object in rq->obj.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pyrod.h"
#include "workspace.h"

/* Out of fds: stop accepting for a while instead of spinning. */
#define ACCEPT_PAUSE_MS		200
/* At most one log line per this many ms about refused connections. */
#define REFUSAL_LOG_MS		10000

static struct ev		listen_ev = { .fd = -1 };
static char			listen_path[108];
static struct timer		*accept_timer;

/*
 * What fd an op may be passed, checked before its handler runs.  A client
 * is not trusted to pass what it says: an O_PATH fd, a directory, an
 * epoll or eventfd, /dev/urandom or a listening socket fed to a guest's
 * stdin would stall or spin a helper instead of failing.
 */
enum fd_rule {
	FDR_NONE,		/* a passed fd is refused */
	FDR_READ_STREAM,	/* regular file, pipe or socket, for reading */
	FDR_WRITE_STREAM,	/* regular file, pipe or socket, for writing */
	FDR_EXPORT,		/* the handler checks it (an empty file) */
};

/* What object an op acts on, and so which gate table applies. */
enum gate {
	G_NONE,			/* no object, or the handler finds it */
	G_WS,			/* "workspace_id": ws.c's gates (REQ_*) */
	G_VM,			/* "vm_id": vm.c's gates (VMREQ_*) */
};

static const struct op {
	const char	 *name;
	void		(*fn)(struct request *, const cJSON *);
	enum gate	  gate;
	int		  req;		/* enum ws_req or enum vm_req */
	enum fd_rule	  fd;
} ops[] = {
	{ "doctor",		op_doctor, G_NONE, 0, FDR_NONE },
	{ "environment.cache",	op_environment_cache, G_NONE, 0, FDR_NONE },
	{ "environment.warm",	op_environment_warm, G_NONE, 0, FDR_NONE },
	{ "environment.templates", op_environment_templates, G_NONE, 0,
	  FDR_NONE },
	{ "usage",		op_usage, G_NONE, 0, FDR_NONE },
	{ "vm.list",		op_vm_list, G_NONE, 0, FDR_NONE },
	{ "vm.status",		op_vm_status, G_VM, VMREQ_HOST, FDR_NONE },
	{ "vm.run",		op_vm_run, G_NONE, 0, FDR_NONE },
	{ "vm.create",		op_vm_create, G_NONE, 0, FDR_NONE },
	{ "vm.start",		op_vm_start, G_VM, VMREQ_START, FDR_NONE },
	{ "vm.exec",		op_vm_exec, G_VM, VMREQ_EXEC, FDR_NONE },
	{ "vm.stop",		op_vm_stop, G_VM, VMREQ_STOP, FDR_NONE },
	{ "vm.delete",		op_vm_delete, G_VM, VMREQ_HOST, FDR_NONE },
	{ "vm.network_info",	op_vm_network_info, G_VM, VMREQ_HOST,
	  FDR_NONE },
	{ "vm.reap_expired",	op_vm_reap_expired, G_NONE, 0, FDR_NONE },
	{ "vm.ping",		op_vm_ping, G_VM, VMREQ_EXEC, FDR_NONE },
	{ "workspace.list",	op_workspace_list, G_NONE, 0, FDR_NONE },
	{ "workspace.status",	op_workspace_status, G_WS, REQ_HOST, FDR_NONE },
	{ "workspace.create",	op_workspace_create, G_NONE, 0,
	  FDR_READ_STREAM },
	{ "workspace.start",	op_workspace_start, G_WS, REQ_START, FDR_NONE },
	{ "workspace.stop",	op_workspace_stop, G_WS, REQ_STOP, FDR_NONE },
	{ "workspace.fork",	op_workspace_fork, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.reset",	op_workspace_reset, G_WS, REQ_RESET, FDR_NONE },
	{ "workspace.delete",	op_workspace_delete, G_WS, REQ_DELETE,
	  FDR_NONE },
	{ "workspace.logs",	op_workspace_logs, G_WS, REQ_HOST, FDR_NONE },
	{ "workspace.exec",	op_workspace_exec, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.sync_push", op_workspace_sync_push, G_WS, REQ_GUEST,
	  FDR_READ_STREAM },
	{ "workspace.export",	op_workspace_export, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.diff",	op_workspace_diff, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.snapshot_create", op_snapshot_create, G_WS, REQ_GUEST,
	  FDR_NONE },
	{ "workspace.snapshot_list", op_snapshot_list, G_WS, REQ_HOST,
	  FDR_NONE },
	{ "workspace.snapshot_delete", op_snapshot_delete, G_WS, REQ_HOST,
	  FDR_NONE },
	{ "workspace.shell_open", op_shell_open, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.shell_read", op_shell_read, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.shell_write", op_shell_write, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.shell_signal", op_shell_signal, G_WS, REQ_GUEST,
	  FDR_NONE },
	{ "workspace.shell_close", op_shell_close, G_WS, REQ_GUEST, FDR_NONE },
	{ "workspace.service_start", op_service_start, G_WS, REQ_GUEST,
	  FDR_NONE },
	{ "workspace.service_list", op_service_list, G_WS, REQ_HOST, FDR_NONE },
	{ "workspace.service_status", op_service_status, G_WS, REQ_HOST,
	  FDR_NONE },
	{ "workspace.service_logs", op_service_logs, G_WS, REQ_GUEST,
	  FDR_NONE },
	{ "workspace.service_stop", op_service_stop, G_WS, REQ_GUEST,
	  FDR_NONE },
	{ "workspace.disk_list", op_workspace_disk_list, G_WS, REQ_DISK,
	  FDR_NONE },
	{ "workspace.disk_read", op_workspace_disk_read, G_WS, REQ_DISK,
	  FDR_WRITE_STREAM },
	{ "workspace.disk_export", op_workspace_disk_export, G_WS, REQ_DISK,
	  FDR_EXPORT },
	{ NULL, NULL, G_NONE, 0, FDR_NONE }
};

int
ctl_authorized(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int	i;

	if (uid == 0)
		return 1;
	if (conf.group_gid == (gid_t)-1)
		return 0;
	if (gid == conf.group_gid)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == conf.group_gid)
			return 1;
	return 0;
}

/*
 * A passed fd against its op's rule; 0, or -1 with a message in msg.
 * Streams only: a regular file, a pipe or a connected socket, open in the
 * direction the op uses.
 */
static int
fd_check(int fd, enum fd_rule rule, enum pyro_err *code, char *msg,
    size_t len)
{
	struct stat	sb;
	int		fl, acc = 0;
	socklen_t	sl = sizeof(acc);

	*code = PYRO_E_INVALID_ARGUMENT;
	if (rule == FDR_NONE) {
		*code = PYRO_E_BAD_REQUEST;
		snprintf(msg, len, "this operation takes no file descriptor");
		return -1;
	}
	if (rule == FDR_EXPORT)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH) || fstat(fd, &sb) < 0) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for I/O (an O_PATH fd?); pass a regular file, a pipe or "
		    "a socket");
		return -1;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode) &&
	    !S_ISSOCK(sb.st_mode)) {
		snprintf(msg, len, "the file descriptor passed is a %s; pass "
		    "a regular file, a pipe or a socket", S_ISDIR(sb.st_mode) ?
		    "directory" : S_ISCHR(sb.st_mode) ? "character device" :
		    S_ISBLK(sb.st_mode) ? "block device" :
		    "special file (epoll, eventfd, signalfd...)");
		return -1;
	}
	if (S_ISSOCK(sb.st_mode) && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &acc, &sl) == 0 && acc) {
		snprintf(msg, len, "the socket passed is listening; pass a "
		    "connected one");
		return -1;
	}
	if (rule == FDR_READ_STREAM && (fl & O_ACCMODE) == O_WRONLY) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for reading");
		return -1;
	}
	if (rule == FDR_WRITE_STREAM && (fl & O_ACCMODE) == O_RDONLY) {
		snprintf(msg, len, "the file descriptor passed is not open "
		    "for writing");
		return -1;
	}
	return 0;
}

/*
 * One request: its op, the fd rule, the gate, then the handler.  Every
 * refusal is a reply; the handler answers the rest, now or later.
 */
static void
dispatch(struct request *rq, const char *name, const cJSON *args)
{
	const struct op	*o;
	enum pyro_err	 code;
	char		 why[160];
	void		*obj = NULL;

	for (o = ops; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			break;
	if (o->name == NULL) {
		ctl_reply_err(rq, PYRO_E_UNKNOWN_OP, "unknown operation "
		    "\"%.64s\"", name);
		return;
	}
	if (rq->fd >= 0 && fd_check(rq->fd, o->fd, &code, why,
	    sizeof(why)) < 0) {
		ctl_reply_err(rq, code, "%s", why);
		return;
	}
	/* A refusal is a reply, which frees rq: keep the object aside. */
	if (o->gate == G_WS)
		obj = ws_gate(rq, args, (enum ws_req)o->req);
	else if (o->gate == G_VM)
		obj = vm_gate(rq, args, (enum vm_req)o->req);
	if (o->gate != G_NONE && obj == NULL)
		return;
	rq->obj = obj;
	o->fn(rq, args);
}

static int
peer_groups(int fd, gid_t *groups, int max)
{
	socklen_t	len = (socklen_t)(max * sizeof(gid_t));

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	return (int)(len / sizeof(gid_t));
}

static void
accept_resume(void *arg)
{
	(void)arg;
	accept_timer = NULL;
	if (listen_ev.fd >= 0)
		(void)loop_mod(&listen_ev, EPOLLIN);
}

/* Say why a connection is refused; under a flood, once in a while. */
static void
log_refusal(const struct ucred *cred, const char *why)
{
	static long long	last;
	static unsigned		quiet;

	if (last != 0 && now_ms() - last < REFUSAL_LOG_MS) {
		quiet++;
		return;
	}
	log_warnx("refused uid %u pid %d: %s (%u more refusals not logged)",
	    (unsigned)cred->uid, (int)cred->pid, why, quiet);
	last = now_ms();
	quiet = 0;
}

/*
 * Who may have a slot, before one is made: an unauthorized uid, a uid
 * over its cap, or anyone when all max_clients are taken gets one error
 * frame and the close (client_refuse_fd), and never holds a slot.  Root
 * has a cap of its own, so root's tools cannot lock out the users, nor
 * the users root.  0 if fd may become a client (fd kept), else -1 (fd
 * closed).
 */
static int
admit_client(int fd, const struct ucred *cred)
{
	gid_t		 groups[256];
	char		 msg[256];
	unsigned	 cap;
	int		 ng, n;

	ng = peer_groups(fd, groups, 256);
	if (!ctl_authorized(cred->uid, cred->gid, groups, ng)) {
		snprintf(msg, sizeof(msg), "not root and not in group %s",
		    conf.group);
		log_refusal(cred, msg);
		client_refuse_fd(fd, PYRO_E_PERMISSION_DENIED, "permission "
		    "denied: only root and members of the pyro group may use "
		    "pyrod");
		return -1;
	}
	cap = cred->uid == 0 ? conf.max_clients_root : conf.max_clients_per_uid;
	if ((n = clients_of_uid(cred->uid)) >= (int)cap)
		snprintf(msg, sizeof(msg), "uid %u has %d connections, the "
		    "limit per uid is %u; close some or raise %s in pyrod.conf",
		    (unsigned)cred->uid, n, cap, cred->uid == 0 ?
		    "max_clients_root" : "max_clients_per_uid");
	else if ((n = clients_count()) >= (int)conf.max_clients)
		snprintf(msg, sizeof(msg), "pyrod has %d connections, its "
		    "limit is %u; try again later, or raise max_clients in "
		    "pyrod.conf", n, conf.max_clients);
	else
		return 0;
	log_refusal(cred, msg);
	client_refuse_fd(fd, PYRO_E_TOO_MANY_CLIENTS, msg);
	return -1;
}

static void
listen_cb(struct ev *ev, uint32_t events)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	int		 fd;

	(void)events;
	fd = accept4(ev->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* The connection waits in the backlog; epoll would
			 * report it again at once. */
			log_warn("accept; pausing for %d ms", ACCEPT_PAUSE_MS);
			(void)loop_mod(&listen_ev, 0);
			if (accept_timer == NULL)
				accept_timer = timer_add(ACCEPT_PAUSE_MS,
				    accept_resume, NULL);
		} else if (errno != EAGAIN && errno != EINTR)
			log_warn("accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if (admit_client(fd, &cred) < 0)
		return;
	if (client_new(fd, &cred, dispatch) < 0)
		close(fd);
}

int
control_listen(const char *path, unsigned mode, gid_t group)
{
	struct sockaddr_un	 sun;
	char			 dir[sizeof(sun.sun_path)], *slash;
	int			 fd, probe;
	mode_t			 omask;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	snprintf(listen_path, sizeof(listen_path), "%s", path);

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			fatal("mkdir %s", dir);
	}
	/* A socket file that nobody answers on is a leftover: replace it. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("another pyrod is already listening on %s", path);
	close(probe);
	(void)unlink(path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		fatal("socket");
	omask = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	umask(omask);
	if (group != (gid_t)-1 && chown(path, 0, group) < 0)
		log_warn("chown %s", path);
	if (chmod(path, mode) < 0)
		fatal("chmod %s", path);
	if (listen(fd, 64) < 0)
		fatal("listen");
	listen_ev.fd = fd;
	listen_ev.cb = listen_cb;
	if (loop_add(&listen_ev, EPOLLIN) < 0)
		fatal("epoll add");
	return 0;
}

void
control_close(void)
{
	timer_cancel(accept_timer);
	accept_timer = NULL;
	clients_close_all();
	if (listen_ev.fd >= 0) {
		int fd = listen_ev.fd;

		loop_del(&listen_ev);
		close(fd);
		(void)unlink(listen_path);
	}
}
