/*
 * A guest agent that misbehaves, for tests/badguest.sh.  It boots like
 * pyro-agent (the same init.c) and then, by the mode in /etc/pyro/badmode
 * of its initramfs:
 *	silent	 never says hello
 *	garbage	 says hello, then sends a frame of an unknown type
 *	flood	 says hello, answers the first exec with endless output and
 *		 never an exit, and ignores power-off
 *	v2	 says hello as an agent of guest protocol 2 (3.1.0's), then
 *		 nothing: what a networked template may not be made of
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../guest-agent/agent.h"
#include "guestproto.h"

static void
put(int fd, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

static void
frame(int fd, uint16_t type, uint32_t stream, const void *p, uint32_t len)
{
	struct gp_hdr	h;

	gp_hdr_set(&h, type, stream, len);
	put(fd, &h, sizeof(h));
	put(fd, p, len);
}

int
main(void)
{
	static char	buf[GP_MAXPAYLOAD];
	struct gp_hello	hello = { GP_VERSION, 1, "bad" };
	struct gp_hdr	h;
	char		mode[16] = "";
	int		fd, ch;
	ssize_t		n;

	if ((fd = open("/etc/pyro/badmode", O_RDONLY)) >= 0) {
		n = read(fd, mode, sizeof(mode) - 1);
		mode[n > 0 ? n : 0] = '\0';
		mode[strcspn(mode, "\n")] = '\0';
		close(fd);
	}
	if (init_stage1() < 0)
		init_poweroff();
	init_stage2_mounts();
	if ((ch = agent_find_channel()) < 0)
		init_poweroff();
	(void)fcntl(ch, F_SETFL, 0);
	if (strcmp(mode, "silent") == 0)
		for (;;)
			pause();
	if (strcmp(mode, "v2") == 0)
		hello.version = 2;
	frame(ch, GP_HELLO, 0, &hello, sizeof(hello));
	if (strcmp(mode, "v2") == 0)
		for (;;)
			pause();
	if (strcmp(mode, "garbage") == 0) {
		gp_hdr_set(&h, 999, 7, 0);
		put(ch, &h, sizeof(h));
		for (;;)
			pause();
	}
	/* flood: wait for the first exec, then never stop talking. */
	for (;;) {
		if (read(ch, &h, sizeof(h)) != (ssize_t)sizeof(h))
			continue;
		while (h.len > 0) {
			n = read(ch, buf, h.len < sizeof(buf) ? h.len :
			    sizeof(buf));
			if (n > 0)
				h.len -= (uint32_t)n;
		}
		if (h.type == GP_EXEC)
			break;
	}
	memset(buf, 'x', sizeof(buf));
	for (;;)
		frame(ch, GP_STDOUT, h.stream, buf, sizeof(buf));
}
