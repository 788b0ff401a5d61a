/*
 * The baseline for bench/boot and bench/exec: QEMU with the same kernel,
 * initramfs, rootfs and flags as pyro-vmhelper uses, but no pyrod, no
 * helper, no jail and no disk copy (the rootfs is opened with
 * snapshot=on).  It talks to pyro-agent over a socketpair directly.
 *
 *	gpbare boot ENVDIR	 boot, wait for the agent, power off: prints ms
 *	gpbare ping ENVDIR N	 boot, then N 32-byte PING round trips: prints
 *				 the median in microseconds
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "guestproto.h"
#include "bench.h"


static int
read_exact(int fd, void *p, size_t n)
{
	uint8_t	*b = p;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, b, n)) <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
recv_frame(int fd, struct gp_hdr *h, uint8_t *buf)
{
	if (read_exact(fd, h, sizeof(*h)) < 0 || gp_check(h, GP_FROM_AGENT) < 0)
		return -1;
	return read_exact(fd, buf, h->len);
}

static int
send_frame(int fd, uint16_t type, const void *p, uint32_t len)
{
	struct gp_hdr	h;

	gp_hdr_set(&h, type, 0, len);
	if (pyro_write_all(fd, &h, sizeof(h)) < 0)
		return -1;
	return len ? pyro_write_all(fd, p, len) : 0;
}

static unsigned
tsc_khz(void)
{
	FILE	*f = fopen("/proc/cpuinfo", "r");
	char	 line[256];
	double	 mhz = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	if (f)
		fclose(f);
	return (unsigned)(mhz * 1000);
}

static pid_t
spawn_qemu(const char *dir, int agent_fd)
{
	char	k[4200], i[4200], d[4300], app[128], chr[64];
	pid_t	pid;
	int	null;

	snprintf(k, sizeof(k), "%s/vmlinux", dir);
	snprintf(i, sizeof(i), "%s/initramfs.cpio", dir);
	snprintf(d, sizeof(d), "id=root,file=%s/rootfs.ext4,format=raw,"
	    "if=none,snapshot=on", dir);
	snprintf(app, sizeof(app), "console=ttyS0 quiet panic=-1 "
	    "tsc_early_khz=%u tsc=reliable", tsc_khz());
	snprintf(chr, sizeof(chr), "socket,id=agent,fd=%d", agent_fd);
	if ((pid = fork()) == 0) {
		if ((null = open("/dev/null", O_RDWR)) >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-M",
		    "microvm", "-accel", "tcg", "-cpu", "max", "-m", "1024",
		    "-smp", "1", "-nodefaults", "-no-user-config", "-display",
		    "none", "-no-reboot", "-kernel", k, "-initrd", i, "-append",
		    app, "-drive", d, "-device", "virtio-blk-device,drive=root",
		    "-device", "virtio-serial-device", "-chardev", chr,
		    "-device", "virtserialport,chardev=agent,name="
		    GP_PORT_NAME, (char *)NULL);
		_exit(127);
	}
	return pid;
}


int
main(int argc, char *argv[])
{
	static uint8_t	buf[GP_MAXPAYLOAD];
	struct gp_hdr	h;
	long long	t0, *rtt;
	int		sv[2], n = 0, k, status;
	pid_t		pid;

	if (argc < 3 || (strcmp(argv[1], "ping") == 0 && argc < 4)) {
		fprintf(stderr, "usage: gpbare boot|ping ENVDIR [N]\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	t0 = now_us();
	pid = spawn_qemu(argv[2], sv[1]);
	close(sv[1]);
	if (recv_frame(sv[0], &h, buf) < 0 || h.type != GP_HELLO) {
		fprintf(stderr, "gpbare: no hello from the agent\n");
		kill(pid, SIGKILL);
		return 1;
	}
	if (strcmp(argv[1], "ping") == 0) {
		n = atoi(argv[3]);
		rtt = calloc((size_t)(n > 0 ? n : 1), sizeof(*rtt));
		memset(buf, 'p', 32);
		for (k = 0; k < n; k++) {
			long long s = now_us();

			if (send_frame(sv[0], GP_PING, buf, 32) < 0 ||
			    recv_frame(sv[0], &h, buf) < 0 || h.type != GP_PONG)
				return 1;
			rtt[k] = now_us() - s;
		}
	}
	send_frame(sv[0], GP_POWEROFF, NULL, 0);
	waitpid(pid, &status, 0);
	if (n > 0)
		printf("%lld\n", median_ll(rtt, n));
	else
		printf("%lld\n", (now_us() - t0) / 1000);
	return 0;
}
