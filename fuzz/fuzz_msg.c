/*
 * The helper message table (common/msg.c): every datagram pyrod or a
 * helper receives is checked by pyro_msg_validate() before any handler.
 * The input is a datagram; its first byte picks the fd flag and the peers.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum pyro_peer peers[] = { PEER_SUPERVISOR,
	    PEER_VMHELPER, PEER_DISKHELPER };
	struct pyro_msg_hdr	 h;
	uint8_t			 sel;

	if (size < 1 + sizeof(h))
		return 0;
	sel = data[0];
	memcpy(&h, data + 1, sizeof(h));
	(void)pyro_msg_validate(&h, size - 1, data + 1 + sizeof(h), sel & 1,
	    peers[(sel >> 1) % 3], peers[(sel >> 3) % 3]);
	return 0;
}
