/*
 * The secret redactor (common/redact.c): values split at every chunk
 * boundary, split between stdout and stderr, interleaved with the other
 * stream, overlapping and prefix values, mask mode keeping lengths, the
 * final flush, empty input, bounded holding, and the UTF-8 sanitizer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "checkmain.h"

#include "redact.h"

/* What came out: per stream, and all of it in emission order. */
struct out {
	char	s[PYRO_REDACT_STREAMS][8192];
	size_t	n[PYRO_REDACT_STREAMS];
	char	all[16384];
	size_t	alln;
	int	calls;
	int	count_only;	/* too much to keep: count it */
};

static void
out_fn(void *arg, int stream, const uint8_t *p, size_t n)
{
	struct out	*o = arg;

	ck_assert_int_ge(stream, 0);
	ck_assert_int_lt(stream, PYRO_REDACT_STREAMS);
	ck_assert_uint_gt(n, 0);
	if (o->count_only) {
		o->n[stream] += n;
		o->calls++;
		return;
	}
	ck_assert_uint_le(o->n[stream] + n, sizeof(o->s[0]) - 1);
	ck_assert_uint_le(o->alln + n, sizeof(o->all) - 1);
	memcpy(o->s[stream] + o->n[stream], p, n);
	o->n[stream] += n;
	o->s[stream][o->n[stream]] = '\0';
	memcpy(o->all + o->alln, p, n);
	o->alln += n;
	o->all[o->alln] = '\0';
	o->calls++;
}

static void
secrets(struct pyro_secrets *s, const char *a, const char *b)
{
	memset(s, 0, sizeof(*s));
	if (a != NULL)
		ck_assert_int_eq(pyro_secrets_add(s, (const uint8_t *)a,
		    strlen(a)), 0);
	if (b != NULL)
		ck_assert_int_eq(pyro_secrets_add(s, (const uint8_t *)b,
		    strlen(b)), 0);
}

static void
feed(struct pyro_redactor *r, const struct pyro_secrets *s, int stream,
    const char *p, size_t n, struct out *o)
{
	ck_assert_int_eq(pyro_redact_feed(r, s, stream, (const uint8_t *)p,
	    n, out_fn, o), 0);
}

static void
flush(struct pyro_redactor *r, const struct pyro_secrets *s, struct out *o)
{
	ck_assert_int_eq(pyro_redact_flush(r, s, out_fn, o), 0);
	ck_assert_uint_eq(pyro_redactor_held(r), 0);
}

#define SECRET	"s3cr3t-VALUE"
#define TEXT	"before " SECRET " and " SECRET SECRET " after"

START_TEST(split_everywhere)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;
	size_t			 n = strlen(TEXT), i, k;
	int			 mask;

	secrets(&s, SECRET, NULL);
	for (mask = 0; mask < 2; mask++)
		for (i = 0; i <= n; i++)
			for (k = i; k <= n; k++) {
				memset(&o, 0, sizeof(o));
				pyro_redactor_init(&r, mask ?
				    PYRO_REDACT_MASK : PYRO_REDACT_TEXT);
				feed(&r, &s, 1, TEXT, i, &o);
				feed(&r, &s, 1, TEXT + i, k - i, &o);
				feed(&r, &s, 1, TEXT + k, n - k, &o);
				flush(&r, &s, &o);
				pyro_redactor_free(&r);
				ck_assert_str_eq(o.s[1], mask ?
				    "before ************ and "
				    "************************ after" :
				    "before [REDACTED] and "
				    "[REDACTED][REDACTED] after");
				ck_assert_uint_eq(o.n[2], 0);
			}
}
END_TEST

/* One byte at a time: at most maxlen - 1 bytes are ever held. */
START_TEST(byte_by_byte)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;
	size_t			 i;

	memset(&o, 0, sizeof(o));
	secrets(&s, SECRET, NULL);
	pyro_redactor_init(&r, PYRO_REDACT_TEXT);
	for (i = 0; i < strlen(TEXT); i++) {
		feed(&r, &s, 1, TEXT + i, 1, &o);
		ck_assert_uint_lt(pyro_redactor_held(&r), strlen(SECRET));
	}
	flush(&r, &s, &o);
	pyro_redactor_free(&r);
	ck_assert_str_eq(o.s[1], "before [REDACTED] and "
	    "[REDACTED][REDACTED] after");
}
END_TEST

/* Five bytes on stdout, the rest on stderr: never whole anywhere. */
START_TEST(across_streams)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;
	const char		*v = "AB12345678";
	size_t			 i;

	secrets(&s, v, NULL);
	for (i = 1; i < strlen(v); i++) {
		memset(&o, 0, sizeof(o));
		pyro_redactor_init(&r, PYRO_REDACT_TEXT);
		feed(&r, &s, 1, "out:", 4, &o);
		feed(&r, &s, 1, v, i, &o);
		feed(&r, &s, 2, v + i, strlen(v) - i, &o);
		feed(&r, &s, 2, ":err", 4, &o);
		flush(&r, &s, &o);
		pyro_redactor_free(&r);
		/* The replacement goes where the match began. */
		ck_assert_str_eq(o.s[1], "out:[REDACTED]");
		ck_assert_str_eq(o.s[2], ":err");
		ck_assert_ptr_null(strstr(o.all, v));
		ck_assert_ptr_nonnull(strstr(o.all, "[REDACTED]"));
	}
	/* Mask mode: every byte keeps its stream and its place. */
	memset(&o, 0, sizeof(o));
	pyro_redactor_init(&r, PYRO_REDACT_MASK);
	feed(&r, &s, 1, "AB123", 5, &o);
	feed(&r, &s, 2, "45678!", 6, &o);
	flush(&r, &s, &o);
	pyro_redactor_free(&r);
	ck_assert_str_eq(o.s[1], "*****");
	ck_assert_str_eq(o.s[2], "*****!");
}
END_TEST

/* A value whole in one stream, the other stream's bytes in between. */
START_TEST(interleaved)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;

	memset(&o, 0, sizeof(o));
	secrets(&s, "secret", NULL);
	pyro_redactor_init(&r, PYRO_REDACT_TEXT);
	feed(&r, &s, 1, "a sec", 5, &o);
	feed(&r, &s, 2, "xyz, long enough to be released", 31, &o);
	feed(&r, &s, 1, "ret b", 5, &o);
	feed(&r, &s, 2, "!", 1, &o);
	flush(&r, &s, &o);
	pyro_redactor_free(&r);
	ck_assert_str_eq(o.s[1], "a [REDACTED] b");
	ck_assert_str_eq(o.s[2], "xyz, long enough to be released!");
}
END_TEST

/*
 * stdout stalls on the start of a value: stderr waits behind it (bytes go
 * out in arrival order), and past the hold limit the start is hidden.
 */
START_TEST(stall_bounded)
{
	static struct out	 o;
	static char		 big[4096];
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;
	int			 i;

	memset(&o, 0, sizeof(o));
	secrets(&s, SECRET, NULL);
	pyro_redactor_init(&r, PYRO_REDACT_TEXT);
	feed(&r, &s, 1, "go s3cr", 7, &o);
	ck_assert_str_eq(o.s[1], "go ");	/* not a start: out at once */
	for (i = 0; i < 100; i++)
		feed(&r, &s, 2, "0123456789", 10, &o);
	ck_assert_uint_eq(o.n[2], 0);
	feed(&r, &s, 1, "3t-VALUE", 8, &o);
	ck_assert_str_eq(o.s[1], "go [REDACTED]");
	ck_assert_uint_eq(o.n[2], 1000);
	ck_assert_uint_eq(pyro_redactor_held(&r), 0);
	pyro_redactor_free(&r);

	memset(&o, 0, sizeof(o));
	memset(big, 'z', sizeof(big));
	pyro_redactor_init(&r, PYRO_REDACT_MASK);
	feed(&r, &s, 1, "s3cr", 4, &o);
	o.count_only = 1;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(pyro_redact_feed(&r, &s, 2,
		    (const uint8_t *)big, sizeof(big), out_fn, &o), 0);
		ck_assert_uint_le(pyro_redactor_held(&r),
		    64 * 1024 + sizeof(big) + 4 * strlen(SECRET));
	}
	ck_assert_uint_eq(o.n[1], 4);		/* hidden: see redact.c */
	ck_assert_uint_gt(o.n[2], 300 * 1024);
	pyro_redactor_free(&r);
}
END_TEST

START_TEST(overlap_prefix)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	uint8_t			*p;
	size_t			 n;

	/* A value that is the prefix of another leaves nothing behind. */
	secrets(&s, "pass", "password");
	p = pyro_redact(&s, (const uint8_t *)"my password!", 12,
	    PYRO_REDACT_TEXT, &n);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq((int)n, 14);
	ck_assert_int_eq(memcmp(p, "my [REDACTED]!", n), 0);
	free(p);
	secrets(&s, "password", "pass");
	p = pyro_redact(&s, (const uint8_t *)"my password!", 12,
	    PYRO_REDACT_MASK, &n);
	ck_assert_int_eq((int)n, 12);
	ck_assert_int_eq(memcmp(p, "my ********!", n), 0);
	free(p);
	/* Overlapping values: the union is hidden. */
	secrets(&s, "abc", "bcd");
	p = pyro_redact(&s, (const uint8_t *)"xabcdx", 6, PYRO_REDACT_TEXT,
	    &n);
	ck_assert_int_eq((int)n, 12);
	ck_assert_int_eq(memcmp(p, "x[REDACTED]x", n), 0);
	free(p);
	p = pyro_redact(&s, (const uint8_t *)"xabcdx", 6, PYRO_REDACT_MASK,
	    &n);
	ck_assert_int_eq(memcmp(p, "x****x", 6), 0);
	free(p);
	/* Self-overlapping value, streamed. */
	memset(&o, 0, sizeof(o));
	secrets(&s, "aa", NULL);
	p = pyro_redact(&s, (const uint8_t *)"baaab", 5, PYRO_REDACT_MASK,
	    &n);
	ck_assert_int_eq(memcmp(p, "b***b", 5), 0);
	free(p);
}
END_TEST

START_TEST(mask_keeps_length)
{
	struct pyro_secrets	 s;
	uint8_t			 in[4096], *p;
	size_t			 n, i;

	secrets(&s, "\x01\x02\x03", "\xff\x00\xfe");
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 7 == 0 ? 1 : i % 7 == 1 ? 2 :
		    i % 7 == 2 ? 3 : i % 5 == 0 ? 0xff : i);
	p = pyro_redact(&s, in, sizeof(in), PYRO_REDACT_MASK, &n);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n, sizeof(in));
	for (i = 0; i + 3 <= n; i++) {
		ck_assert(memcmp(p + i, "\x01\x02\x03", 3) != 0);
		ck_assert(memcmp(p + i, "\xff\x00\xfe", 3) != 0);
	}
	for (i = 0; i < n; i++)
		ck_assert(p[i] == in[i] || p[i] == '*');
	free(p);
}
END_TEST

/* A partial value is held, and released as it was at the end. */
START_TEST(final_flush)
{
	static struct out	 o;
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;

	memset(&o, 0, sizeof(o));
	secrets(&s, SECRET, NULL);
	pyro_redactor_init(&r, PYRO_REDACT_TEXT);
	feed(&r, &s, 1, "tail s3cr3t", 11, &o);
	ck_assert_str_eq(o.s[1], "tail ");
	feed(&r, &s, 2, "e", 1, &o);
	flush(&r, &s, &o);
	pyro_redactor_free(&r);
	ck_assert_str_eq(o.s[1], "tail s3cr3t");
	ck_assert_str_eq(o.s[2], "e");
}
END_TEST

START_TEST(empty)
{
	static struct out	 o;
	struct pyro_secrets	 s, none;
	struct pyro_redactor	 r;
	uint8_t			*p;
	size_t			 n = 99;

	memset(&o, 0, sizeof(o));
	memset(&none, 0, sizeof(none));
	secrets(&s, SECRET, NULL);
	ck_assert_int_eq(pyro_secrets_add(&s, (const uint8_t *)"", 0), 0);
	ck_assert_int_eq(s.n, 1);
	pyro_redactor_init(&r, PYRO_REDACT_TEXT);
	feed(&r, &s, 1, NULL, 0, &o);
	flush(&r, &s, &o);
	flush(&r, &s, &o);
	ck_assert_int_eq(o.calls, 0);
	/* No values: bytes pass at once, nothing held. */
	feed(&r, &none, 1, "plain", 5, &o);
	ck_assert_str_eq(o.s[1], "plain");
	ck_assert_uint_eq(pyro_redactor_held(&r), 0);
	pyro_redactor_free(&r);
	p = pyro_redact(&s, (const uint8_t *)"", 0, PYRO_REDACT_TEXT, &n);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

/* Random streams, chunks and streams: no value ever whole in any
 * stream's output nor in all the output, masks keep each stream's bytes. */
START_TEST(random_streams)
{
	static struct out	 o;
	static char		 in[3][2048];
	struct pyro_secrets	 s;
	struct pyro_redactor	 r;
	size_t			 inn[3], k, i;
	int			 round, st, mask;

	srandom(1234);
	secrets(&s, "abab", "bba");
	for (round = 0; round < 5000; round++) {
		mask = round & 1;
		memset(&o, 0, sizeof(o));
		inn[1] = inn[2] = 0;
		pyro_redactor_init(&r, mask ? PYRO_REDACT_MASK :
		    PYRO_REDACT_TEXT);
		for (i = 0; i < 40; i++) {
			char	chunk[8];

			st = 1 + (int)(random() % 2);
			k = 1 + (size_t)random() % 6;
			for (size_t j = 0; j < k; j++)
				chunk[j] = "abx"[random() % 3];
			memcpy(in[st] + inn[st], chunk, k);
			inn[st] += k;
			feed(&r, &s, st, chunk, k, &o);
		}
		flush(&r, &s, &o);
		pyro_redactor_free(&r);
		for (st = 1; st <= 2; st++) {
			ck_assert_ptr_null(strstr(o.s[st], "abab"));
			ck_assert_ptr_null(strstr(o.s[st], "bba"));
			if (!mask)
				continue;
			ck_assert_uint_eq(o.n[st], inn[st]);
			for (i = 0; i < inn[st]; i++)
				ck_assert(o.s[st][i] == in[st][i] ||
				    o.s[st][i] == '*');
		}
		ck_assert_ptr_null(strstr(o.all, "abab"));
		ck_assert_ptr_null(strstr(o.all, "bba"));
	}
}
END_TEST

START_TEST(pwrite_sink)
{
	struct pyro_secrets		s;
	struct pyro_redactor		r;
	struct pyro_redact_pwrite	w = { -1, 0, 0 };
	char				tmpl[] = "/tmp/check_redactXXXXXX", got[32];

	w.fd = mkstemp(tmpl);
	ck_assert_int_ge(w.fd, 0);
	(void)unlink(tmpl);
	w.off = 4;
	secrets(&s, "key", NULL);
	pyro_redactor_init(&r, PYRO_REDACT_MASK);
	ck_assert_int_eq(pyro_redact_feed(&r, &s, 1, (const uint8_t *)"a k",
	    3, pyro_redact_pwrite_fn, &w), 0);
	ck_assert_int_eq(pyro_redact_feed(&r, &s, 1, (const uint8_t *)"ey b",
	    4, pyro_redact_pwrite_fn, &w), 0);
	ck_assert_int_eq(pyro_redact_flush(&r, &s, pyro_redact_pwrite_fn, &w),
	    0);
	pyro_redactor_free(&r);
	ck_assert_int_eq(w.error, 0);
	ck_assert_int_eq((int)w.off, 11);
	ck_assert_int_eq((int)pread(w.fd, got, sizeof(got), 4), 7);
	ck_assert_int_eq(memcmp(got, "a *** b", 7), 0);
	close(w.fd);
}
END_TEST

static void
sane(const char *in, size_t n, const char *want)
{
	char	*s = utf8_sanitize((const uint8_t *)in, n);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, want);
	free(s);
}

#define FFFD	"\xef\xbf\xbd"

START_TEST(utf8)
{
	sane("", 0, "");
	sane("plain ascii", 11, "plain ascii");
	sane("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	sane("a\0b\0", 4, "ab");				/* NUL dropped */
	sane("\xc0\xaf", 2, FFFD FFFD);				/* overlong / */
	sane("\xe0\x80\xaf", 3, FFFD FFFD FFFD);		/* overlong */
	sane("\xf0\x80\x80\xaf", 4, FFFD FFFD FFFD FFFD);	/* overlong */
	sane("\xed\xa0\x80", 3, FFFD FFFD FFFD);		/* surrogate */
	sane("\xed\xbf\xbf", 3, FFFD FFFD FFFD);		/* surrogate */
	sane("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);	/* > U+10FFFF */
	sane("x\xe2\x82", 3, "x" FFFD FFFD);			/* truncated */
	sane("\xe2\x82x", 3, FFFD FFFD "x");			/* cut short */
	sane("\x80\xbf", 2, FFFD FFFD);				/* lone cont. */
	sane("\xff\xfe", 2, FFFD FFFD);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("redact");
	TCase	*tc = tcase_create("redact");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_everywhere);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, across_streams);
	tcase_add_test(tc, interleaved);
	tcase_add_test(tc, stall_bounded);
	tcase_add_test(tc, overlap_prefix);
	tcase_add_test(tc, mask_keeps_length);
	tcase_add_test(tc, final_flush);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, random_streams);
	tcase_add_test(tc, pwrite_sink);
	tcase_add_test(tc, utf8);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
