/* The control frame codec: round trips, partial input, limits, bad JSON. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "checkmain.h"

#include "frame.h"

static void
feed(struct pyro_frame_reader *r, const void *p, size_t n)
{
	ck_assert_int_eq(pyro_frame_reader_feed(r, p, n), 0);
}

static void
feed_frame(struct pyro_frame_reader *r, const char *json)
{
	uint8_t	hdr[4];
	size_t	n = strlen(json);

	hdr[0] = n >> 24;
	hdr[1] = n >> 16;
	hdr[2] = n >> 8;
	hdr[3] = n;
	feed(r, hdr, 4);
	feed(r, json, n);
}

START_TEST(roundtrip)
{
	struct pyro_frame_reader	 r;
	cJSON				*o = cJSON_CreateObject(), *got;
	uint8_t				*f;
	long				 n;

	cJSON_AddNumberToObject(o, "id", 7);
	cJSON_AddStringToObject(o, "op", "doctor");
	n = pyro_frame_encode(o, 0, &f);
	ck_assert_int_gt(n, 4);
	ck_assert_int_eq(((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]),
	    n - 4);
	pyro_frame_reader_init(&r, 0);
	feed(&r, f, (size_t)n);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(got, "op")->valuestring, "doctor");
	ck_assert_int_eq(r.len, 0);
	cJSON_Delete(got);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_NEED_MORE);
	cJSON_Delete(o);
	free(f);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(truncated_byte_by_byte)
{
	struct pyro_frame_reader	 r;
	const char			*json = "{\"id\":1,\"op\":\"vm.list\"}";
	uint8_t				 buf[64];
	size_t				 n = strlen(json), i;
	cJSON				*got;

	buf[0] = buf[1] = buf[2] = 0;
	buf[3] = (uint8_t)n;
	memcpy(buf + 4, json, n);
	pyro_frame_reader_init(&r, 0);
	for (i = 0; i < n + 4 - 1; i++) {
		feed(&r, buf + i, 1);
		ck_assert_int_eq(pyro_frame_next(&r, &got),
		    PYRO_FRAME_NEED_MORE);
		ck_assert_ptr_null(got);
	}
	feed(&r, buf + n + 3, 1);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_OK);
	cJSON_Delete(got);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(oversized_header_rejected_early)
{
	struct pyro_frame_reader	 r;
	uint8_t				 hdr[4] = { 0x00, 0x20, 0x00, 0x00 };
	cJSON				*got;

	/* 2 MiB announced: refused before any payload arrives. */
	pyro_frame_reader_init(&r, 0);
	feed(&r, hdr, 4);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_TOO_LARGE);
	pyro_frame_reader_free(&r);

	/* A smaller limit is honoured too. */
	pyro_frame_reader_init(&r, 16);
	feed_frame(&r, "{\"op\":\"0123456789abcdef\"}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_TOO_LARGE);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(feed_bounded)
{
	struct pyro_frame_reader	 r;
	static uint8_t			 junk[PYRO_FRAME_MAX];

	pyro_frame_reader_init(&r, 0);
	ck_assert_int_eq(pyro_frame_reader_feed(&r, junk, sizeof(junk)), 0);
	ck_assert_int_eq(pyro_frame_reader_feed(&r, junk, sizeof(junk)),
	    -EMSGSIZE);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(not_json_then_good)
{
	struct pyro_frame_reader	 r;
	cJSON				*got;

	pyro_frame_reader_init(&r, 0);
	feed_frame(&r, "this is not json");
	feed_frame(&r, "{\"id\":2,\"op\":\"vm.list\"}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_BAD_JSON);
	ck_assert_ptr_null(got);
	/* The stream stays in sync: the next frame is read fine. */
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_OK);
	ck_assert_int_eq(cJSON_GetObjectItem(got, "id")->valueint, 2);
	cJSON_Delete(got);
	pyro_frame_reader_free(&r);
}
END_TEST

static const char *wrong_types[] = {
	"[1,2,3]", "\"a string\"", "42", "true", "null", "{\"a\":1} trailing",
	"{\"a\":", "", "{\"a\":\"\\ud800\"", "\x80\xff",
};

/*
 * A NUL is refused only where JSON decodes one: "\u0000" or a raw NUL
 * inside a string.  An escaped backslash followed by the text u0000 is the
 * six characters \u0000 (a Windows path, JSON in a file), and is kept.
 */
START_TEST(nul_only_when_decoded)
{
	struct pyro_frame_reader	 r;
	cJSON				*got;
	static const char		 raw[] = "{\"a\":\"x\0y\"}";
	uint8_t				 hdr[4] = { 0, 0, 0, sizeof(raw) - 1 };

	pyro_frame_reader_init(&r, 0);
	feed_frame(&r, "{\"a\":\"C:\\\\u0000dir\"}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(got, "a")->valuestring,
	    "C:\\u0000dir");
	cJSON_Delete(got);
	feed_frame(&r, "{\"a\":\"\\\\\\\\\",\"b\":\"\\\\\\u0000\"}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_HAS_NUL);
	feed_frame(&r, "{\"a\":\"x\\u0000y\"}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_HAS_NUL);
	feed(&r, hdr, 4);
	feed(&r, raw, sizeof(raw) - 1);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_HAS_NUL);
	/* Outside strings the text is not a string: plain bad JSON. */
	feed_frame(&r, "{\"a\":1, \"u0000\":2}");
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_OK);
	cJSON_Delete(got);
	ck_assert_int_eq(pyro_json_has_nul("\"\\\\u0000\"", 9), 0);
	ck_assert_int_eq(pyro_json_has_nul("\"\\u0000\"", 8), 1);
	ck_assert_int_eq(pyro_json_has_nul("\"\\u000", 6), 0);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(wrong_types_rejected)
{
	struct pyro_frame_reader	 r;
	cJSON				*got;

	pyro_frame_reader_init(&r, 0);
	feed_frame(&r, wrong_types[_i]);
	ck_assert_int_eq(pyro_frame_next(&r, &got), PYRO_FRAME_BAD_JSON);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(r.len, 0);
	pyro_frame_reader_free(&r);
}
END_TEST

START_TEST(encode_too_large)
{
	cJSON		*o = cJSON_CreateObject();
	char		*big = malloc(PYRO_FRAME_MAX + 1);
	uint8_t		*f;

	memset(big, 'x', PYRO_FRAME_MAX);
	big[PYRO_FRAME_MAX] = '\0';
	cJSON_AddStringToObject(o, "data", big);
	ck_assert_int_eq(pyro_frame_encode(o, 0, &f), -EMSGSIZE);
	ck_assert_ptr_null(f);
	cJSON_Delete(o);
	free(big);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("codec");

	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, truncated_byte_by_byte);
	tcase_add_test(tc, oversized_header_rejected_early);
	tcase_add_test(tc, feed_bounded);
	tcase_add_test(tc, not_json_then_good);
	tcase_add_loop_test(tc, wrong_types_rejected, 0,
	    sizeof(wrong_types) / sizeof(wrong_types[0]));
	tcase_add_test(tc, encode_too_large);
	tcase_add_test(tc, nul_only_when_decoded);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
