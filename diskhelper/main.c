/*
 * pyro-diskhelper: offline inspection of stopped workspaces' ext4 disks.
 * Started by pyrod, one process per request, with its socket on fd 3.
 * The hello tells it which unprivileged uid to become; it sandboxes itself
 * before acknowledging, so pyrod never sends it work before the sandbox is
 * in place.
 */
#include "config.h"

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

static int
dh_sandbox(const struct pyro_msg_hello *hello)
{
	return dh_sandbox_enter(hello->uid, hello->gid);
}

static int
dh_serve(const struct pyro_msg_hello *hello)
{
	return helper_serve(PEER_DISKHELPER, dh_dispatch, NULL);
}

int
main(int argc, char *argv[])
{
	return helper_main("pyro-diskhelper", PEER_DISKHELPER, argc,
	    dh_sandbox, dh_serve);
}
