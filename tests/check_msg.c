/*
 * The helper message table, tested for every type: the valid message
 * passes; short, long, missing fd, extra fd, two fds, unterminated string,
 * wrong sender, wrong receiver and a lying fd flag are all refused, and a
 * refused message never leaks the fd it carried.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "msg.h"

static int	ntypes;

/* Raw sender: header fields and fds exactly as given. */
static void
raw_send(int sock, uint16_t type, uint16_t flags, const void *p, size_t len,
    const int *fds, int nfd)
{
	struct pyro_msg_hdr	 hdr = { type, flags, (uint32_t)len, 9 };
	struct iovec		 iov[2] = { { &hdr, sizeof(hdr) },
				    { (void *)p, len } };
	struct msghdr		 mh;
	char			 cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct cmsghdr		*cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len ? 2 : 1;
	if (nfd > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfd * sizeof(int));
	}
	ck_assert_int_ge(sendmsg(sock, &mh, 0), 0);
}

static int
count_fds(void)
{
	int	fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* A payload that passes: zeroes, strings terminated. */
static uint8_t *
valid_payload(const struct pyro_msg_spec *s, size_t extra)
{
	return calloc(1, s->size + extra + 1);
}

static enum pyro_peer
a_sender(const struct pyro_msg_spec *s)
{
	if (s->from & PEER_SUPERVISOR)
		return PEER_SUPERVISOR;
	return (s->from & PEER_VMHELPER) ? PEER_VMHELPER : PEER_DISKHELPER;
}

static enum pyro_peer
a_receiver(const struct pyro_msg_spec *s)
{
	if (s->to & PEER_SUPERVISOR)
		return PEER_SUPERVISOR;
	return (s->to & PEER_VMHELPER) ? PEER_VMHELPER : PEER_DISKHELPER;
}

static enum pyro_peer
not_in(uint8_t mask)
{
	if (!(mask & PEER_SUPERVISOR))
		return PEER_SUPERVISOR;
	if (!(mask & PEER_VMHELPER))
		return PEER_VMHELPER;
	return PEER_DISKHELPER;
}

/* Send, receive as `self` from `from`, return the result; fds closed. */
static int
roundtrip(const struct pyro_msg_spec *s, uint16_t flags, const void *p,
    size_t len, int nfd, enum pyro_peer self, enum pyro_peer from)
{
	static struct pyro_msg	m;
	int			sv[2], fds[2], rc, before;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, sv), 0);
	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	raw_send(sv[0], s->type, flags, p, len, fds, nfd);
	close(fds[0]);
	close(fds[1]);
	before = count_fds();
	rc = pyro_msg_recv(sv[1], &m, self, from);
	if (rc == 0 && m.fd >= 0) {
		ck_assert_int_eq(count_fds(), before + 1);
		ck_assert_int_ne(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, 0);
		close(m.fd);
	} else
		ck_assert_int_eq(count_fds(), before);	/* nothing leaked */
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static uint16_t
good_flags(const struct pyro_msg_spec *s)
{
	return s->fd == FD_ONE ? PYRO_MSGF_FD : 0;
}

static int
good_nfd(const struct pyro_msg_spec *s)
{
	return s->fd == FD_ONE ? 1 : 0;
}

START_TEST(valid_passes)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p = valid_payload(s, 0);

	ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size, good_nfd(s),
	    a_receiver(s), a_sender(s)), 0);
	if (s->fd == FD_OPTIONAL)
		ck_assert_int_eq(roundtrip(s, PYRO_MSGF_FD, p, s->size, 1,
		    a_receiver(s), a_sender(s)), 0);
	free(p);
}
END_TEST

START_TEST(short_refused)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p = valid_payload(s, 0);

	if (s->size > 0)
		ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size - 1,
		    good_nfd(s), a_receiver(s), a_sender(s)), -EBADMSG);
	/* A datagram shorter than the header. */
	{
		int sv[2];
		static struct pyro_msg m;

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		ck_assert_int_eq(send(sv[0], "abc", 3, 0), 3);
		ck_assert_int_eq(pyro_msg_recv(sv[1], &m, a_receiver(s),
		    a_sender(s)), -EBADMSG);
		close(sv[0]);
		close(sv[1]);
	}
	free(p);
}
END_TEST

START_TEST(long_refused)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p = valid_payload(s, 1);
	uint8_t				*huge = calloc(1,
					    PYRO_MSG_MAXPAYLOAD + 16);

	/* Variable-size types: their longest payload still passes. */
	if (s->size_max != 0)
		ck_assert_int_eq(roundtrip(s, good_flags(s), huge, s->size_max,
		    good_nfd(s), a_receiver(s), a_sender(s)), 0);
	else
		ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size + 1,
		    good_nfd(s), a_receiver(s), a_sender(s)), -EBADMSG);
	/* Larger than any receive buffer: seen as truncated. */
	ck_assert_int_eq(roundtrip(s, good_flags(s), huge,
	    PYRO_MSG_MAXPAYLOAD + 8, good_nfd(s), a_receiver(s),
	    a_sender(s)), -EBADMSG);
	free(p);
	free(huge);
}
END_TEST

START_TEST(fd_rules)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p = valid_payload(s, 0);
	enum pyro_peer			 me = a_receiver(s), from = a_sender(s);

	if (s->fd == FD_ONE)	/* missing fd, with and without the flag */
		ck_assert_int_eq(roundtrip(s, PYRO_MSGF_FD, p, s->size, 0, me,
		    from), -EBADMSG);
	if (s->fd == FD_ONE)
		ck_assert_int_eq(roundtrip(s, 0, p, s->size, 0, me, from),
		    -EBADMSG);
	if (s->fd == FD_NONE) {	/* extra fd, with and without the flag */
		ck_assert_int_eq(roundtrip(s, PYRO_MSGF_FD, p, s->size, 1, me,
		    from), -EBADMSG);
		ck_assert_int_eq(roundtrip(s, 0, p, s->size, 1, me, from),
		    -EBADMSG);
	}
	/* Two fds are never allowed. */
	ck_assert_int_eq(roundtrip(s, PYRO_MSGF_FD, p, s->size, 2, me, from),
	    -EBADMSG);
	/* A flag that claims an fd when none came. */
	if (s->fd != FD_ONE)
		ck_assert_int_eq(roundtrip(s, PYRO_MSGF_FD, p, s->size, 0, me,
		    from), -EBADMSG);
	/* Unknown flag bits. */
	ck_assert_int_eq(roundtrip(s, good_flags(s) | 0x8000, p, s->size,
	    good_nfd(s), me, from), -EBADMSG);
	free(p);
}
END_TEST

START_TEST(unterminated_strings)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p;
	int				 k;

	for (k = 0; k < 3 && s->str[k].len != 0; k++) {
		p = valid_payload(s, 0);
		memset(p + s->str[k].off, 'A', s->str[k].len);
		ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size,
		    good_nfd(s), a_receiver(s), a_sender(s)), -EBADMSG);
		free(p);
	}
}
END_TEST

START_TEST(wrong_sender_or_receiver)
{
	const struct pyro_msg_spec	*s = &pyro_msg_table[_i];
	uint8_t				*p = valid_payload(s, 0);

	ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size, good_nfd(s),
	    a_receiver(s), not_in(s->from)), -EBADMSG);
	ck_assert_int_eq(roundtrip(s, good_flags(s), p, s->size, good_nfd(s),
	    not_in(s->to), a_sender(s)), -EBADMSG);
	free(p);
}
END_TEST

START_TEST(unknown_type)
{
	struct pyro_msg_spec	fake = { .type = 999, .size = 0 };

	ck_assert_int_eq(roundtrip(&fake, 0, NULL, 0, 0, PEER_SUPERVISOR,
	    PEER_VMHELPER), -EBADMSG);
	fake.type = 0;
	ck_assert_int_eq(roundtrip(&fake, 0, NULL, 0, 0, PEER_SUPERVISOR,
	    PEER_VMHELPER), -EBADMSG);
}
END_TEST

START_TEST(send_keeps_callers_fd)
{
	int			sv[2], fd;
	static struct pyro_msg	m;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(pyro_msg_send(sv[0], PYRO_MSG_PROBE, 5, NULL, 0, fd),
	    0);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	ck_assert_int_eq(pyro_msg_recv(sv[1], &m, PEER_VMHELPER,
	    PEER_SUPERVISOR), 0);
	ck_assert_int_eq(m.hdr.id, 5);
	ck_assert_int_ge(m.fd, 0);
	close(m.fd);
	close(fd);
	close(sv[1]);
	/* EOF is reported as such. */
	ck_assert_int_eq(pyro_msg_recv(sv[0], &m, PEER_SUPERVISOR,
	    PEER_VMHELPER), -ECONNRESET);
	close(sv[0]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("msg");
	TCase	*tc = tcase_create("table");

	while (pyro_msg_table[ntypes].name != NULL)
		ntypes++;
	tcase_add_loop_test(tc, valid_passes, 0, ntypes);
	tcase_add_loop_test(tc, short_refused, 0, ntypes);
	tcase_add_loop_test(tc, long_refused, 0, ntypes);
	tcase_add_loop_test(tc, fd_rules, 0, ntypes);
	tcase_add_loop_test(tc, unterminated_strings, 0, ntypes);
	tcase_add_loop_test(tc, wrong_sender_or_receiver, 0, ntypes);
	tcase_add_test(tc, unknown_type);
	tcase_add_test(tc, send_keeps_callers_fd);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
