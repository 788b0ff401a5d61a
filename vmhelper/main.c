/*
 * pyro-vmhelper: one per running VM or workspace.  It owns the VMM process,
 * the TAP device and the nftables table of its VM and removes them on every
 * exit path.  Started by pyrod with its socket on fd 3; it narrows its
 * privileges before acknowledging the hello.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "vmhelper.h"

static int
vmh_probe(struct pyro_msg *m)
{
	struct pyro_msg_probe_result	r;

	memset(&r, 0, sizeof(r));
	r.kvm.ok = (uint32_t)probe_kvm(m->fd, r.kvm.reason,
	    sizeof(r.kvm.reason));
	r.tun.ok = (uint32_t)probe_tun(r.tun.reason, sizeof(r.tun.reason));
	r.nft.ok = (uint32_t)probe_nft(r.nft.reason, sizeof(r.nft.reason));
	return pyro_msg_send(PYRO_HELPER_FD, PYRO_MSG_PROBE_RESULT, m->hdr.id,
	    &r, sizeof(r), -1) < 0 ? -1 : 0;
}

static int
vmh_dispatch(struct pyro_msg *m, void *arg)
{
	switch (m->hdr.type) {
	case PYRO_MSG_PROBE:
		return vmh_probe(m);
	default:
		log_warnx("unexpected message type %u", m->hdr.type);
		return -1;
	}
}

static int
vmh_sandbox(const struct pyro_msg_hello *hello)
{
	return vmh_sandbox_enter();
}

int
main(int argc, char *argv[])
{
	return helper_main("pyro-vmhelper", PEER_VMHELPER, argc, vmh_sandbox,
	    vmh_dispatch, NULL);
}
