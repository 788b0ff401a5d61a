/*
 * The loopback interface up, for the two places that need it before
 * anything listens: the guest agent's init and the host-compat sandbox's
 * PID 1 (in its new network namespace, before it drops CAP_NET_ADMIN).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <net/if.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lo.h"

int
pyro_lo_up(void)
{
	struct ifreq	ifr;
	int		fd, rc = 0;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	close(fd);
	return rc;
}
