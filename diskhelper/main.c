/*
 * pyro-diskhelper: offline inspection of stopped workspaces' ext4 disks.
 * Started by pyrod, one process per request, with its socket on fd 3.
 * The hello tells it which unprivileged uid to become; it sandboxes itself
 * before acknowledging, so pyrod never sends it work before the sandbox is
 * in place.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "log.h"
#include "sandbox.h"

static int
dh_dispatch(struct pyro_msg *m, void *arg)
{
	/* The table lets nothing else through to a diskhelper yet. */
	log_warnx("unexpected message type %u", m->hdr.type);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct pyro_msg_hello	hello;
	int			rc;

	log_init("pyro-diskhelper", 1, 0);
	if (argc != 1) {
		log_warnx("takes no arguments; it is started by pyrod");
		return 2;
	}
	if (helper_recv_hello(PEER_DISKHELPER, &hello) < 0)
		return 1;
	log_setverbose((int)hello.verbose);
	if ((rc = dh_sandbox_enter(hello.uid, hello.gid)) < 0) {
		log_warnx("cannot enter the sandbox as uid %u: %s",
		    hello.uid, strerror(-rc));
		return 1;
	}
	if (helper_send_ack() < 0)
		return 1;
	return helper_serve(PEER_DISKHELPER, dh_dispatch, NULL) < 0 ? 1 : 0;
}
