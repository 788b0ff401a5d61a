#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

#define S(t, f)	{ offsetof(t, f), sizeof(((t *)0)->f) }

const struct pyro_msg_spec pyro_msg_table[] = {
	{ PYRO_MSG_HELLO, "hello", sizeof(struct pyro_msg_hello), 0, FD_NONE,
	  PEER_SUPERVISOR, PEER_HELPERS,
	  { S(struct pyro_msg_hello, tag) } },
	{ PYRO_MSG_HELLO_ACK, "hello_ack", sizeof(struct pyro_msg_hello_ack), 0,
	  FD_NONE, PEER_HELPERS, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_PING, "ping", 0, 0, FD_NONE, PEER_SUPERVISOR, PEER_HELPERS,
	  { { 0, 0 } } },
	{ PYRO_MSG_PONG, "pong", 0, 0, FD_NONE, PEER_HELPERS, PEER_SUPERVISOR,
	  { { 0, 0 } } },
	{ PYRO_MSG_SHUTDOWN, "shutdown", 0, 0, FD_NONE, PEER_SUPERVISOR,
	  PEER_HELPERS, { { 0, 0 } } },
	{ PYRO_MSG_ERROR, "error", sizeof(struct pyro_msg_error), 0, FD_NONE,
	  PEER_HELPERS, PEER_SUPERVISOR,
	  { S(struct pyro_msg_error, message) } },
	{ PYRO_MSG_PROBE, "probe", 0, 0, FD_OPTIONAL, PEER_SUPERVISOR,
	  PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_PROBE_RESULT, "probe_result",
	  sizeof(struct pyro_msg_probe_result), 0, FD_NONE, PEER_VMHELPER,
	  PEER_SUPERVISOR,
	  { S(struct pyro_msg_probe_result, kvm.reason),
	    S(struct pyro_msg_probe_result, tun.reason),
	    S(struct pyro_msg_probe_result, nft.reason) } },
	{ PYRO_MSG_VM_FILE, "vm_file", sizeof(struct pyro_msg_vm_file), 0,
	  FD_ONE, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_VM_START, "vm_start", sizeof(struct pyro_msg_vm_start), 0,
	  FD_NONE, PEER_SUPERVISOR, PEER_VMHELPER,
	  { S(struct pyro_msg_vm_start, qemu),
	    S(struct pyro_msg_vm_start, hide[0]),
	    S(struct pyro_msg_vm_start, hide[1]),
	    S(struct pyro_msg_vm_start, sha256[VM_FILE_KERNEL]),
	    S(struct pyro_msg_vm_start, sha256[VM_FILE_INITRD]),
	    S(struct pyro_msg_vm_start, sha256[VM_FILE_ROOTFS]),
	    S(struct pyro_msg_vm_start, sha256[VM_FILE_DISK]),
	    S(struct pyro_msg_vm_start, sha256[VM_FILE_STATE]),
	    S(struct pyro_msg_vm_start, net.tap),
	    S(struct pyro_msg_vm_start, agent),
	    S(struct pyro_msg_vm_start, vm_id),
	    S(struct pyro_msg_vm_start, fc_exec),
	    S(struct pyro_msg_vm_start, fc_jailer),
	    S(struct pyro_msg_vm_start, fc_base) } },
	{ PYRO_MSG_VM_READY, "vm_ready", sizeof(struct pyro_msg_vm_ready), 0,
	  FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR,
	  { S(struct pyro_msg_vm_ready, kernel) } },
	/* At least a cwd ("/" and its NUL); gp_exec_parse() checks the rest. */
	{ PYRO_MSG_EXEC, "exec", sizeof(struct pyro_msg_exec) + 2,
	  PYRO_MSG_MAXPAYLOAD,
	  FD_OPTIONAL, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_EXEC_OUTPUT, "exec_output", sizeof(struct pyro_msg_output) +
	  1, PYRO_MSG_MAXPAYLOAD, FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR,
	  { { 0, 0 } } },
	{ PYRO_MSG_EXEC_EXIT, "exec_exit", sizeof(struct pyro_msg_exec_exit), 0,
	  FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_EXEC_KILL, "exec_kill", sizeof(struct pyro_msg_stream), 0,
	  FD_NONE, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_VM_STOP, "vm_stop", 0, 0, FD_NONE, PEER_SUPERVISOR,
	  PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_VM_STOPPED, "vm_stopped", sizeof(struct pyro_msg_vm_stopped),
	  0, FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR,
	  { S(struct pyro_msg_vm_stopped, console) } },
	{ PYRO_MSG_GUEST_PING, "guest_ping", sizeof(struct pyro_msg_stream), 0,
	  FD_NONE, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_GUEST_PONG, "guest_pong", sizeof(struct pyro_msg_stream), 0,
	  FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_EXEC_SIGNAL, "exec_signal",
	  sizeof(struct pyro_msg_exec_signal), 0, FD_NONE, PEER_SUPERVISOR,
	  PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_EXEC_STARTED, "exec_started",
	  sizeof(struct pyro_msg_exec_started), 0, FD_NONE, PEER_VMHELPER,
	  PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_DISK_OUTPUT, "disk_output", sizeof(uint32_t), 0, FD_ONE,
	  PEER_SUPERVISOR, PEER_DISKHELPER, { { 0, 0 } } },
	{ PYRO_MSG_DISK_REQUEST, "disk_request",
	  sizeof(struct pyro_msg_disk_request), 0, FD_ONE, PEER_SUPERVISOR,
	  PEER_DISKHELPER, { S(struct pyro_msg_disk_request, path) } },
	{ PYRO_MSG_DISK_ENTRIES, "disk_entries", sizeof(struct pyro_disk_rec) +
	  1, PYRO_MSG_MAXPAYLOAD, FD_NONE, PEER_DISKHELPER, PEER_SUPERVISOR,
	  { { 0, 0 } } },
	{ PYRO_MSG_DISK_DATA, "disk_data", 1, PYRO_MSG_MAXPAYLOAD, FD_NONE,
	  PEER_DISKHELPER, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_DISK_DONE, "disk_done", sizeof(struct pyro_msg_disk_done),
	  0, FD_NONE, PEER_DISKHELPER, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_DISK_SECRET, "disk_secret", 1, PYRO_MSG_MAXPAYLOAD, FD_NONE,
	  PEER_SUPERVISOR, PEER_DISKHELPER, { { 0, 0 } } },
	{ PYRO_MSG_NET_PUBLISH, "net_publish", sizeof(struct pyro_msg_net_port),
	  0, FD_ONE, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_NET_UNPUBLISH, "net_unpublish",
	  sizeof(struct pyro_msg_net_port), 0, FD_NONE, PEER_SUPERVISOR,
	  PEER_VMHELPER, { { 0, 0 } } },
	/* The live names' NULs are checked by the helper, up to nlive. */
	{ PYRO_MSG_NET_SWEEP, "net_sweep", sizeof(struct pyro_msg_net_sweep), 0,
	  FD_NONE, PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_NET_SWEPT, "net_swept", sizeof(struct pyro_msg_net_swept), 0,
	  FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR, { { 0, 0 } } },
	{ PYRO_MSG_VM_SAVED, "vm_saved", sizeof(struct pyro_msg_vm_saved), 0,
	  FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR,
	  { S(struct pyro_msg_vm_saved, state_sha256),
	    S(struct pyro_msg_vm_saved, disk_sha256) } },
	{ PYRO_MSG_VM_FORK_DISK, "vm_fork_disk", sizeof(uint32_t), 0, FD_ONE,
	  PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_VM_FORK, "vm_fork", sizeof(uint32_t), 0, FD_ONE,
	  PEER_SUPERVISOR, PEER_VMHELPER, { { 0, 0 } } },
	{ PYRO_MSG_VM_FORKED, "vm_forked", sizeof(struct pyro_msg_vm_forked),
	  0, FD_NONE, PEER_VMHELPER, PEER_SUPERVISOR,
	  { S(struct pyro_msg_vm_forked, message) } },
	{ 0, NULL, 0, 0, FD_NONE, 0, 0, { { 0, 0 } } }
};

const struct pyro_msg_spec *
pyro_msg_spec(uint16_t type)
{
	const struct pyro_msg_spec	*s;

	for (s = pyro_msg_table; s->name != NULL; s++)
		if (s->type == type)
			return s;
	return NULL;
}

void
pyro_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t	n;

	if (dstsize == 0)
		return;
	n = strnlen(src, dstsize - 1);
	memcpy(dst, src, n);
	memset(dst + n, 0, dstsize - n);
}

#define SEND_FDS_MAX	16

ssize_t
pyro_sendmsg_fds(int sock, const struct iovec *iov, int iovcnt,
    const int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
	} cbuf;
	struct msghdr		 mh;
	struct cmsghdr		*cm;
	ssize_t			 n;

	if (nfds < 0 || nfds > SEND_FDS_MAX)
		return -EINVAL;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int
pyro_msg_send(int sock, uint16_t type, uint32_t id, const void *payload,
    size_t len, int fd)
{
	struct pyro_msg_hdr	hdr;
	struct iovec		iov[2];
	ssize_t			n;

	if (len > PYRO_MSG_MAXPAYLOAD)
		return -EMSGSIZE;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)len;
	hdr.id = id;
	hdr.flags = fd >= 0 ? PYRO_MSGF_FD : 0;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	n = pyro_sendmsg_fds(sock, iov, len ? 2 : 1, &fd, fd >= 0);
	return n < 0 ? (int)n : 0;
}

int
pyro_msg_validate(const struct pyro_msg_hdr *hdr, size_t total,
    const uint8_t *payload, int have_fd, enum pyro_peer self,
    enum pyro_peer from)
{
	const struct pyro_msg_spec	*s;
	int				 i;

	if (total < sizeof(*hdr) || hdr->len != total - sizeof(*hdr))
		return -EBADMSG;
	if ((s = pyro_msg_spec(hdr->type)) == NULL)
		return -EBADMSG;
	if (!(s->from & from) || !(s->to & self))
		return -EBADMSG;
	if (s->size_max == 0 ? hdr->len != s->size :
	    (hdr->len < s->size || hdr->len > s->size_max))
		return -EBADMSG;
	if ((hdr->flags & ~PYRO_MSGF_FD) != 0)
		return -EBADMSG;
	if (!!(hdr->flags & PYRO_MSGF_FD) != !!have_fd)
		return -EBADMSG;
	if ((s->fd == FD_NONE && have_fd) || (s->fd == FD_ONE && !have_fd))
		return -EBADMSG;
	for (i = 0; i < PYRO_MSG_STRS_MAX && s->str[i].len != 0; i++)
		if (memchr(payload + s->str[i].off, '\0', s->str[i].len) == NULL)
			return -EBADMSG;
	return 0;
}

/*
 * Trust boundary: the datagram may come from a compromised helper.  We read
 * at most header + PYRO_MSG_MAXPAYLOAD + 1 bytes so that an oversized message
 * is seen as truncated, accept exactly one SCM_RIGHTS int and nothing else,
 * and close any fd we got when the message is rejected.
 */
int
pyro_msg_recv(int sock, struct pyro_msg *m, enum pyro_peer self,
    enum pyro_peer from)
{
	struct iovec	 iov[2];
	struct msghdr	 mh;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 fds[4], nfd = 0, bad = 0, rc, i;

	m->fd = -1;
	iov[0].iov_base = &m->hdr;
	iov[0].iov_len = sizeof(m->hdr);
	iov[1].iov_base = m->payload;
	iov[1].iov_len = sizeof(m->payload);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;

	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < (int)k && nfd < 4; i++)
				memcpy(&fds[nfd++], CMSG_DATA(cm) +
				    i * sizeof(int), sizeof(int));
			if (k != 1)
				bad = 1;
		} else
			bad = 1;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		bad = 1;
	if (nfd > 1)
		bad = 1;
	if (!bad)
		rc = pyro_msg_validate(&m->hdr, (size_t)n, m->payload, nfd == 1,
		    self, from);
	else
		rc = -EBADMSG;
	if (rc < 0) {
		for (i = 0; i < nfd; i++)
			close(fds[i]);
		return rc;
	}
	if (nfd == 1)
		m->fd = fds[0];
	return 0;
}
