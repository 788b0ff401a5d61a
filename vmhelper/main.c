/*
 * pyro-vmhelper: one per running VM.  It owns the VMM process (and, with
 * networking, the TAP device and nftables table of its VM) and removes them
 * on every exit path; QEMU is its child and gets SIGKILL if the helper
 * dies.  Started by pyrod with its socket on fd 3.
 *
 * Order matters: the QEMU launcher is forked before the sandbox, because
 * building QEMU's jail (a mount namespace, a uid change) needs privileges
 * this process drops before it reads any request.
 */
#include "config.h"

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "vmhelper.h"

static int
vmh_sandbox(const struct pyro_msg_hello *hello)
{
	int	rc;

	/*
	 * A child subreaper: Firecracker, orphaned when its jailer exits, is
	 * reparented to us, and we wait for it as for QEMU.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	if ((rc = vm_launcher_fork()) < 0)
		return rc;
	/* A write to a dead QEMU's channel must fail, not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	return vmh_sandbox_enter();
}

static int
vmh_serve(const struct pyro_msg_hello *hello)
{
	return vm_serve(hello->uid, hello->gid);
}

int
main(int argc, char *argv[])
{
	return helper_main("pyro-vmhelper", PEER_VMHELPER, argc, vmh_sandbox,
	    vmh_serve);
}
