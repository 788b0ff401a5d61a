/*
 * pyro-agent, stage 1.  The kernel runs us as /init from the initramfs:
 * mount devtmpfs, proc and sysfs, load the virtio modules listed in
 * /etc/pyro/modules (in order), wait for the root disk, mount it and switch
 * root to it.  The same process then stays PID 1 in the guest as the agent.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lo.h"
#include "guestproto.h"

#define ROOT_DEV	"/dev/vda"
#define NEWROOT		"/newroot"
#define MODULES_LIST	"/etc/pyro/modules"

/* Set by --host-compat: no kernel of our own, no /dev/kmsg, no reboot. */
int	agent_host_compat;

void
alog(const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* Host-compat: stderr is the console pyro-vmhelper reads. */
	if (agent_host_compat) {
		(void)write(2, buf, (size_t)n);
		return;
	}
	/* /dev/kmsg reaches the serial console with the kernel's lines. */
	if ((fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)write(fd, buf, (size_t)n);
		close(fd);
	}
}

static void
xmount(const char *src, const char *dst, const char *type, unsigned long fl,
    const char *data)
{
	(void)mkdir(dst, 0755);
	if (mount(src, dst, type, fl, data) < 0 && errno != EBUSY)
		alog("pyro-agent: mount %s on %s: %s", type, dst,
		    strerror(errno));
}

static void
load_modules(void)
{
	FILE	*f;
	char	 line[512];
	int	 fd;

	if ((f = fopen(MODULES_LIST, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((fd = open(line, O_RDONLY | O_CLOEXEC)) < 0) {
			alog("pyro-agent: module %s: %s", line,
			    strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 &&
		    errno != EEXIST)
			alog("pyro-agent: loading %s: %s", line,
			    strerror(errno));
		close(fd);
	}
	fclose(f);
}

static int
wait_for(const char *path, int ms)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i;

	for (i = 0; i < ms / 10; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

int
init_stage1(void)
{
	xmount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	xmount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	xmount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	load_modules();
	if (wait_for(ROOT_DEV, 10000) < 0) {
		alog("pyro-agent: no root disk %s", ROOT_DEV);
		return -1;
	}
	(void)mkdir(NEWROOT, 0755);
	if (mount(ROOT_DEV, NEWROOT, "ext4", MS_NOATIME, NULL) < 0) {
		alog("pyro-agent: mount %s: %s", ROOT_DEV, strerror(errno));
		return -1;
	}
	/* Carry /dev over; /proc and /sys are mounted afresh below. */
	(void)mount("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL);
	(void)umount2("/proc", MNT_DETACH);
	(void)umount2("/sys", MNT_DETACH);
	if (chdir(NEWROOT) < 0 || mount(NEWROOT, "/", NULL, MS_MOVE,
	    NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		alog("pyro-agent: switch root: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Bring the loopback interface up: services in the guest listen on
 * 127.0.0.1 and readiness checks connect there.  No other interface
 * exists without guest networking.
 */
void
init_loopback(void)
{
	int	rc;

	if ((rc = pyro_lo_up()) < 0)
		alog("pyro-agent: lo up: %s", strerror(-rc));
}

static int
ifreq_addr(int fd, unsigned long req, const char *dev, uint32_t addr)
{
	struct ifreq		ifr;
	struct sockaddr_in	sa;

	memset(&ifr, 0, sizeof(ifr));
	memset(&sa, 0, sizeof(sa));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = addr;
	memcpy(&ifr.ifr_addr, &sa, sizeof(sa));
	return ioctl(fd, req, &ifr);
}

/* The kernel command line into buf (NUL-terminated): its length, or -1. */
static ssize_t
read_cmdline(char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * Guest networking: eth0 gets v with a /30, MTU 1500, up; the default
 * route goes to g; /etc/resolv.conf names g (the host's forwarder, the
 * only DNS this guest can reach).  Plain ioctls: the environment needs no
 * iproute2.  0, or the errno of the step that failed.
 */
int
net_configure(uint32_t addr, uint32_t gateway)
{
	struct in_addr		 v = { addr }, g = { gateway };
	char			 buf[256], gs[INET_ADDRSTRLEN];
	struct rtentry		 rt;
	struct sockaddr_in	*sa;
	struct ifreq		 ifr;
	ssize_t			 n;
	int			 fd, i, rc = 0;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	/* virtio_net was loaded in stage 1; give the device a moment. */
	for (i = 0; i < 200 && if_nametoindex("eth0") == 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	ifr.ifr_mtu = 1500;
	if (ifreq_addr(fd, SIOCSIFADDR, "eth0", v.s_addr) < 0 ||
	    ifreq_addr(fd, SIOCSIFNETMASK, "eth0", htonl(0xfffffffcu)) < 0 ||
	    ioctl(fd, SIOCSIFMTU, &ifr) < 0 ||
	    ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rc = errno;
		alog("pyro-agent: eth0: %s", strerror(errno));
		close(fd);
		return rc;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		rc = errno;
		alog("pyro-agent: eth0 up: %s", strerror(errno));
	}
	memset(&rt, 0, sizeof(rt));
	sa = (struct sockaddr_in *)&rt.rt_gateway;
	sa->sin_family = AF_INET;
	sa->sin_addr = g;
	((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
		rc = rc ? rc : errno;
		alog("pyro-agent: default route: %s", strerror(errno));
	}
	close(fd);
	/* A symlink here (e.g. to systemd-resolved's file) is replaced. */
	(void)unlink("/etc/resolv.conf");
	if ((fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return rc ? rc : errno;
	n = snprintf(buf, sizeof(buf), "nameserver %s\noptions timeout:2 "
	    "attempts:2\n", inet_ntop(AF_INET, &g, gs, sizeof(gs)) ? gs : "");
	if (write(fd, buf, (size_t)n) != n) {
		rc = rc ? rc : errno;
		alog("pyro-agent: /etc/resolv.conf: %s", strerror(errno));
	}
	close(fd);
	return rc;
}

/*
 * From the kernel command line the host wrote: "pyro.net=V/30,G".  With
 * no pyro.net the VM has no network (or, a template's, a NIC the host
 * configures after a restore: GP_RESUME) and nothing is done.
 */
void
init_network(void)
{
	char		 buf[1024], *p, *comma;
	struct in_addr	 v, g;

	if (read_cmdline(buf, sizeof(buf)) < 0)
		return;
	if ((p = strstr(buf, "pyro.net=")) == NULL)
		return;
	p += strlen("pyro.net=");
	p[strcspn(p, " \n")] = '\0';
	if ((comma = strchr(p, ',')) == NULL)
		return;
	*comma++ = '\0';
	if (strlen(p) < 4 || strcmp(p + strlen(p) - 3, "/30") != 0)
		return;
	p[strlen(p) - 3] = '\0';
	if (inet_pton(AF_INET, p, &v) != 1 || inet_pton(AF_INET, comma,
	    &g) != 1)
		return;
	(void)net_configure(v.s_addr, g.s_addr);
}

int
init_stage2_mounts(void)
{
	xmount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	xmount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	xmount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	xmount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "mode=0620,ptmxmode=0666");
	xmount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	xmount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	(void)mkdir("/run/pyro", 0700);
	(void)mkdir("/workspace", 0755);
	return 0;
}

/*
 * A clean power-off: flush, remount the root read-only so the journal is
 * clean, then reboot(2).  QEMU runs with -no-reboot, so the reset ends it.
 */
void
init_poweroff(void)
{
	/*
	 * Host-compat: our end ends the pid namespace, whose processes the
	 * kernel kills; the disk is flushed when its mount goes.
	 */
	if (agent_host_compat) {
		(void)kill(-1, SIGKILL);
		sync();
		_exit(0);
	}
	sync();
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		alog("pyro-agent: remount / read-only: %s", strerror(errno));
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

int	agent_vsock_listener = -1;

/* The host's next connection to our port (only the host's: CID 2). */
int
agent_vsock_accept(void)
{
	struct sockaddr_vm	peer;
	socklen_t		plen;
	int			fd;

	for (;;) {
		plen = sizeof(peer);
		fd = accept4(agent_vsock_listener, (struct sockaddr *)&peer,
		    &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0) {
			alog("pyro-agent: vsock accept: %s", strerror(errno));
			return -1;
		}
		if (plen >= sizeof(peer) && peer.svm_cid == VMADDR_CID_HOST)
			return fd;
		alog("pyro-agent: vsock: a connection from CID %u refused",
		    (unsigned)peer.svm_cid);
		close(fd);
	}
}

/*
 * Under Firecracker (the host wrote "pyro.channel=vsock" on the command
 * line) the host's channel is vsock: listen on port GP_VSOCK_PORT and take
 * the first connection the host makes (through Firecracker's hybrid vsock).
 * -1 when the command line says nothing of it, or on an error.
 */
int
agent_vsock_channel(void)
{
	struct sockaddr_vm	sa;
	char			buf[1024];
	int			fd, lfd;

	if (read_cmdline(buf, sizeof(buf)) < 0)
		return -1;
	if (strstr(buf, "pyro.channel=vsock") == NULL)
		return -1;
	if ((lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		alog("pyro-agent: vsock: %s", strerror(errno));
		return -2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = GP_VSOCK_PORT;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0) {
		alog("pyro-agent: vsock port %u: %s", GP_VSOCK_PORT,
		    strerror(errno));
		close(lfd);
		return -2;
	}
	/* The host connects as soon as we listen. */
	agent_vsock_listener = lfd;
	if ((fd = agent_vsock_accept()) < 0) {
		close(lfd);
		agent_vsock_listener = -1;
		return -2;
	}
	return fd;
}

/* The agent's virtio-serial port, found by name (its number varies). */
int
agent_find_channel(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], name[128];
	int		 fd = -1, tries, nfd;
	ssize_t		 n;

	for (tries = 0; tries < 500 && fd < 0; tries++) {
		if ((d = opendir("/sys/class/virtio-ports")) != NULL) {
			while (fd < 0 && (de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path),
				    "/sys/class/virtio-ports/%s/name",
				    de->d_name);
				if ((nfd = open(path, O_RDONLY)) < 0)
					continue;
				n = read(nfd, name, sizeof(name) - 1);
				close(nfd);
				if (n <= 0)
					continue;
				name[n] = '\0';
				name[strcspn(name, "\n")] = '\0';
				if (strcmp(name, GP_PORT_NAME) != 0)
					continue;
				snprintf(path, sizeof(path), "/dev/%s",
				    de->d_name);
				fd = open(path, O_RDWR | O_CLOEXEC |
				    O_NONBLOCK);
			}
			closedir(d);
		}
		if (fd < 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	return fd;
}

