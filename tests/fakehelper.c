/*
 * A misbehaving helper for the supervision tests.  Installed by a test as
 * pyro-vmhelper in a private libexec directory; its behaviour comes from
 * the file "mode" next to it, and it writes its pid to "pid" there:
 *	noack	  read the hello, never answer it
 *	hang	  answer the hello, then ignore everything
 *	garbage	  answer the hello, then answer the next message with an
 *		  invalid one (a probe_result of the wrong size)
 * pyrod's network sweeps (the hello's tag says so) get a plain, empty
 * answer whatever the mode, and leave no pid: the tests aim at the
 * helper of the request they make.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

static struct pyro_msg	m;

static void
wait_msg(void)
{
	struct pollfd	pfd = { PYRO_HELPER_FD, POLLIN, 0 };

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	(void)pyro_msg_recv(PYRO_HELPER_FD, &m, PEER_VMHELPER,
	    PEER_SUPERVISOR);
}

int
main(void)
{
	char				 exe[4096], path[4200], mode[32] = "";
	struct pyro_msg_hello_ack	 ack = { PYRO_MSG_VERSION, 0 };
	ssize_t				 n;
	FILE				*f;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/mode", dirname(exe));
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(mode, sizeof(mode), f) == NULL)
			mode[0] = '\0';
		mode[strcspn(mode, "\n")] = '\0';
		fclose(f);
	}
	wait_msg();
	if (m.hdr.type == PYRO_MSG_HELLO && strcmp(((struct pyro_msg_hello *)
	    (void *)m.payload)->tag, "network sweep") == 0) {
		struct pyro_msg_net_swept none = { 0, 0 };

		ack.pid = (uint32_t)getpid();
		pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_HELLO_ACK, 0, &ack,
		    sizeof(ack), -1);
		wait_msg();
		pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_NET_SWEPT, m.hdr.id,
		    &none, sizeof(none), -1);
		wait_msg();		/* shutdown */
		return 0;
	}
	snprintf(path, sizeof(path), "%s/pid", exe);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	if (strcmp(mode, "noack") == 0)
		for (;;)
			pause();
	ack.pid = (uint32_t)getpid();
	pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_HELLO_ACK, 0, &ack, sizeof(ack),
	    -1);
	if (strcmp(mode, "garbage") == 0) {
		uint8_t junk[7] = { 0 };

		wait_msg();
		pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_PROBE_RESULT, m.hdr.id,
		    junk, sizeof(junk), -1);
	}
	for (;;)
		pause();
}
