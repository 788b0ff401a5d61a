/* The runner every check suite shares. */
#ifndef PYRO_CHECKMAIN_H
#define PYRO_CHECKMAIN_H

#include <check.h>

/* Run s (freed here); the exit status for automake: 0 ok, 1 failures. */
static inline int
run_suite(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
