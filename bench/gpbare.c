/*
 * The baseline for bench/boot and bench/exec: QEMU with the same kernel,
 * initramfs, rootfs and flags as pyro-vmhelper uses, but no pyrod, no
 * helper, no jail and no disk copy (the rootfs is opened with
 * snapshot=on).  It talks to pyro-agent over a socketpair directly.
 *
 *	gpbare boot ENVDIR	 boot, wait for the agent, power off: prints ms
 *	gpbare ping ENVDIR N	 boot, then N 32-byte PING round trips: prints
 *				 the median in microseconds
 *	gpbare in ENVDIR BYTES	 boot, then stream BYTES into `cat >/dev/null`
 *				 in the guest (stdin frames under the credit
 *				 window): prints MiB/s
 *	gpbare out ENVDIR BYTES	 boot, then read BYTES of `head -c BYTES
 *				 /dev/zero` from the guest: prints MiB/s
 *	gpbare resume ENVDIR	 boot, send GP_RESUME with the host's clock
 *				 plus an hour, a random seed and a hostname,
 *				 then run `date +%s; hostname`: prints the
 *				 steps' errnos and the guest's clock minus the
 *				 host's (tests/guest.sh checks them)
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
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
send_frame_on(int fd, uint16_t type, uint32_t stream, const void *p,
    uint32_t len)
{
	struct gp_hdr	h;

	gp_hdr_set(&h, type, stream, len);
	if (pyro_write_all(fd, &h, sizeof(h)) < 0)
		return -1;
	return len ? pyro_write_all(fd, p, len) : 0;
}

static int
send_frame(int fd, uint16_t type, const void *p, uint32_t len)
{
	return send_frame_on(fd, type, 0, p, len);
}

/* Start `sh -c CMD` on stream 1 (flags as in gp_exec). */
static int
start_exec(int fd, const char *cmd, uint32_t flags)
{
	uint8_t		 m[512];
	struct gp_exec	 g;
	size_t		 n = 0;

	memset(&g, 0, sizeof(g));
	g.argc = 1;
	g.flags = GP_EXEC_SHELL | flags;
	memcpy(m, &g, sizeof(g));
	n = sizeof(g);
	memcpy(m + n, "/", 2);
	n += 2;
	memcpy(m + n, cmd, strlen(cmd) + 1);
	n += strlen(cmd) + 1;
	return send_frame_on(fd, GP_EXEC, 1, m, (uint32_t)n);
}

/* GP_RESUME, then what the guest says of its clock and name. */
static int
resume(int fd)
{
	static uint8_t		 buf[GP_MAXPAYLOAD];
	struct gp_resume	 r;
	struct gp_resumed	 d;
	struct gp_hdr		 h;
	struct timespec		 now;
	char			 out[256] = "", name[64] = "";
	size_t			 got = 0;
	long long		 guest = 0;
	int			 bad_net, bad_rest;

	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &now);
	r.realtime_sec = (int64_t)now.tv_sec + 3600;
	r.realtime_nsec = (uint32_t)now.tv_nsec;
	if (getentropy(r.seed, sizeof(r.seed)) < 0)
		return -1;
	snprintf(r.hostname, sizeof(r.hostname), "resumed-%d", (int)getpid());
	if (send_frame(fd, GP_RESUME, &r, sizeof(r)) < 0 ||
	    recv_frame(fd, &h, buf) < 0 || h.type != GP_RESUMED)
		return -1;
	memset(&d, 0, sizeof(d));
	memcpy(&d, buf, h.len < sizeof(d) ? h.len : sizeof(d));
	/* Protocol 3: a network both ends of which are one address is
	 * refused (net_error EINVAL), and nothing else fails for it. */
	{
		struct {
			struct gp_resume	r;
			struct gp_resume_net	n;
		} __attribute__((packed)) rn;
		struct gp_resumed	bad;

		rn.r = r;
		rn.r.flags = GP_RESUME_NET;
		rn.n.addr = rn.n.gateway = htonl(0x0afa0002);
		if (send_frame(fd, GP_RESUME, &rn, sizeof(rn)) < 0 ||
		    recv_frame(fd, &h, buf) < 0 || h.type != GP_RESUMED ||
		    h.len != sizeof(bad))
			return -1;
		memcpy(&bad, buf, sizeof(bad));
		bad_net = bad.net_error;
		bad_rest = bad.clock_error | bad.entropy_error |
		    bad.hostname_error;
	}
	if (start_exec(fd, "date +%s; hostname", 0) < 0)
		return -1;
	for (;;) {
		if (recv_frame(fd, &h, buf) < 0)
			return -1;
		if (h.type == GP_STDOUT && got + h.len < sizeof(out)) {
			memcpy(out + got, buf, h.len);
			got += h.len;
		} else if (h.type == GP_EXIT)
			break;
	}
	out[got] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	if (sscanf(out, "%lld %63s", &guest, name) != 2)
		return -1;
	printf("version=%u clock_error=%d entropy_error=%d hostname_error=%d "
	    "net_error=%d bad_net_error=%d bad_net_others=%d offset_s=%lld "
	    "hostname=%s expected=%s\n", d.version, d.clock_error,
	    d.entropy_error, d.hostname_error, d.net_error, bad_net, bad_rest,
	    guest - (long long)now.tv_sec - 3600, name, r.hostname);
	return 0;
}

/* Bulk copy over the bare channel, both ways; returns MiB/s or -1. */
static double
bulk(int fd, const char *dir, long long bytes)
{
	static uint8_t	buf[GP_MAXPAYLOAD];
	struct gp_hdr	h;
	char		cmd[64];
	long long	t0, sent = 0, got = 0, acked = 0;
	int		in = strcmp(dir, "in") == 0, done = 0;

	memset(buf, 'x', sizeof(buf));
	if (in)
		snprintf(cmd, sizeof(cmd), "cat >/dev/null");
	else
		snprintf(cmd, sizeof(cmd), "head -c %lld /dev/zero", bytes);
	t0 = pyro_mono_us();
	if (start_exec(fd, cmd, in ? GP_EXEC_STDIN : 0) < 0)
		return -1;
	while (!done) {
		/* Send what the window allows, then read one frame. */
		while (in && sent < bytes && sent - acked < GP_STDIN_WINDOW) {
			long long k = bytes - sent;

			if (k > GP_MAXPAYLOAD)
				k = GP_MAXPAYLOAD;
			if (k > GP_STDIN_WINDOW - (sent - acked))
				k = GP_STDIN_WINDOW - (sent - acked);
			if (send_frame_on(fd, GP_STDIN, 1, buf,
			    (uint32_t)k) < 0)
				return -1;
			sent += k;
			if (sent == bytes && send_frame_on(fd, GP_STDIN, 1,
			    NULL, 0) < 0)
				return -1;
		}
		if (recv_frame(fd, &h, buf) < 0)
			return -1;
		if (h.type == GP_STDIN_ACK) {
			uint32_t a;

			memcpy(&a, buf, sizeof(a));
			acked += a;
		} else if (h.type == GP_STDOUT)
			got += h.len;
		else if (h.type == GP_EXIT)
			done = 1;
	}
	if ((in ? acked : got) != bytes)
		return -1;
	return (double)bytes / (1024.0 * 1024.0) /
	    ((double)(pyro_mono_us() - t0) / 1e6);
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

	if (argc < 3 || (strcmp(argv[1], "boot") != 0 &&
	    strcmp(argv[1], "resume") != 0 && argc < 4)) {
		fprintf(stderr, "usage: gpbare boot|resume|ping|in|out ENVDIR "
		    "[N]\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	t0 = pyro_mono_us();
	pid = spawn_qemu(argv[2], sv[1]);
	close(sv[1]);
	if (recv_frame(sv[0], &h, buf) < 0 || h.type != GP_HELLO) {
		fprintf(stderr, "gpbare: no hello from the agent\n");
		kill(pid, SIGKILL);
		return 1;
	}
	if (strcmp(argv[1], "resume") == 0) {
		k = resume(sv[0]);
		send_frame(sv[0], GP_POWEROFF, NULL, 0);
		waitpid(pid, &status, 0);
		if (k < 0)
			fprintf(stderr, "gpbare: GP_RESUME failed\n");
		return k < 0 ? 1 : 0;
	}
	if (strcmp(argv[1], "in") == 0 || strcmp(argv[1], "out") == 0) {
		double mibs = bulk(sv[0], argv[1], atoll(argv[3]));

		send_frame(sv[0], GP_POWEROFF, NULL, 0);
		waitpid(pid, &status, 0);
		if (mibs < 0) {
			fprintf(stderr, "gpbare: the bulk copy failed\n");
			return 1;
		}
		printf("%.1f\n", mibs);
		return 0;
	}
	if (strcmp(argv[1], "ping") == 0) {
		n = atoi(argv[3]);
		rtt = calloc((size_t)(n > 0 ? n : 1), sizeof(*rtt));
		memset(buf, 'p', 32);
		for (k = 0; k < n; k++) {
			long long s = pyro_mono_us();

			if (send_frame(sv[0], GP_PING, buf, 32) < 0 ||
			    recv_frame(sv[0], &h, buf) < 0 || h.type != GP_PONG)
				return 1;
			rtt[k] = pyro_mono_us() - s;
		}
	}
	send_frame(sv[0], GP_POWEROFF, NULL, 0);
	waitpid(pid, &status, 0);
	if (n > 0)
		printf("%lld\n", median_ll(rtt, n));
	else
		printf("%lld\n", (pyro_mono_us() - t0) / 1000);
	return 0;
}
