/*
 * pyrod: the pyro supervisor.
 *
 *	pyrod [-dv] [-f config] [--state-dir dir] [--socket path]
 *	      [--libexec-dir dir]
 *
 * Order at start: read the configuration, bind the control socket (so a
 * second pyrod fails before touching state), open and recover the state
 * directory, then detach unless -d, and serve until SIGTERM/SIGINT.
 */
#include "config.h"

#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pyrod.h"
#include "workspace.h"

#define SHUTDOWN_GRACE_MS	20000

static volatile int	quit;
static int		log_verbose_level;
static struct ev	sig_ev = { .fd = -1 };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pyrod [-dv] [-f config] [--state-dir dir] "
	    "[--socket path]\n             [--libexec-dir dir] "
	    "[--socket-mode mode] [--group name]\n");
	exit(2);
}

static void
shutdown_done(void)
{
	quit = 1;
}

static void
shutdown_deadline(void *arg)
{
	log_warnx("VMs still running after %d s; killing them",
	    SHUTDOWN_GRACE_MS / 1000);
	quit = 1;
}

static void
sig_cb(struct ev *ev, uint32_t events)
{
	struct signalfd_siginfo	si;

	while (read(ev->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			helpers_reap();
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: shutting down", si.ssi_signo);
			quit = 1;
			break;
		case SIGHUP:
			log_info("SIGHUP ignored: restart pyrod to reload");
			break;
		}
	}
}

/*
 * Power the running guests off (their disks flushed) before the helpers
 * go; a guest that takes too long is killed.
 */
static void
shutdown_vms(void)
{
	struct timer	*t;

	control_close();
	net_shutdown();
	if (vmi_stop_all(shutdown_done) == 0)
		return;
	log_info("stopping %d running VM(s)", vmi_count());
	quit = 0;
	t = timer_add(SHUTDOWN_GRACE_MS, shutdown_deadline, NULL);
	loop_run(&quit);
	timer_cancel(t);
}

static void
setup_signals(void)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	if ((sig_ev.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		fatal("signalfd");
	sig_ev.cb = sig_cb;
	if (loop_add(&sig_ev, EPOLLIN) < 0)
		fatal("epoll add signalfd");
}

/*
 * Detach before any fd that the event loop uses exists: epoll readiness of a
 * signalfd follows the task that registered it, so a signalfd made before
 * fork(2) never wakes the child.  The parent waits on a pipe and exits only
 * when the child says its socket is ready (status 0), or with status 1 when
 * the child fails to start, so `pyrod && pyro doctor` is race-free.
 */
static int
detach(void)
{
	int	p[2], devnull;
	char	c = 0;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1 || c != '1')
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	if (chdir("/") < 0)
		fatal("chdir /");
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(devnull, 0);
		(void)dup2(devnull, 1);
		if (devnull > 2)
			close(devnull);
	}
	return p[1];
}

static void
detach_done(int fd)
{
	int	devnull;

	if (fd < 0)
		return;
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	log_init("pyrod", 0, log_verbose_level);
	if (write(fd, "1", 1) != 1)
		log_warn("telling the parent we are ready");
	close(fd);
}

static void
write_pidfile(const char *path)
{
	char	buf[32];
	int	fd;

	if (path[0] == '\0')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0) {
		log_warn("pid file %s", path);
		return;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, strlen(buf)) < 0)
		log_warn("pid file %s", path);
	close(fd);
}

/* The command line: flags into fl, the rest into the out-parameters. */
static void
parse_flags(int argc, char *argv[], struct config_flags *fl,
    const char **cfg, int *debug, int *verbose)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ "libexec-dir", required_argument, NULL, 'L' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "df:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			*debug = 1;
			break;
		case 'f':
			*cfg = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'S':
			fl->state_dir = optarg;
			break;
		case 's':
			fl->socket = optarg;
			break;
		case 'L':
			fl->libexec_dir = optarg;
			break;
		case 'm':
			fl->socket_mode = optarg;
			break;
		case 'g':
			fl->group = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

int
main(int argc, char *argv[])
{
	struct config_flags	 fl = { NULL, NULL, NULL, NULL, NULL };
	const char		*cfg = NULL;
	int			 debug = 0, verbose = 0, n, ready_fd = -1;

	/* Nothing inherited beyond stdio may reach our helpers or linger. */
	(void)close_range(3, ~0U, 0);
	parse_flags(argc, argv, &fl, &cfg, &debug, &verbose);
	log_init("pyrod", 1, verbose);
	if (geteuid() != 0)
		fatalx("pyrod must run as root (it starts VMs and drops "
		    "privileges in its helpers)");
	if (config_layer(&conf, cfg, &fl) < 0)
		fatalx("configuration errors");

	log_verbose_level = verbose;
#ifdef PYRO_TEST_POINTS
	log_warnx("built with --enable-test-points: a test build, not for use");
#endif
	if (!debug)
		ready_fd = detach();
	if (loop_init() < 0)
		fatal("epoll");
	setup_signals();
	control_listen(conf.socket_path, conf.socket_mode, conf.group_gid);
	if ((n = store_open(conf.state_dir)) < 0) {
		errno = -n;
		fatal("state directory %s", conf.state_dir);
	}
	if ((n = store_recover()) > 0)
		log_info("recovered %d record(s) after the restart", n);

	if (net_init() < 0)
		fatal("network pool");
	if (cgroup_init() < 0)
		fatal("cgroups");
	shell_init();
	service_init();
	vm_reaper_start();
	workspace_sweeper_start();
	write_pidfile(conf.pid_file);
	/* The socket is listening: clients may connect once the parent exits. */
	detach_done(ready_fd);
	log_info("listening on %s, state in %s", conf.socket_path,
	    conf.state_dir);

	loop_run(&quit);
	shutdown_vms();
	helpers_kill_all();
	store_close();
	if (conf.pid_file[0] != '\0')
		(void)unlink(conf.pid_file);
	log_info("stopped");
	return 0;
}
