/* What the benchmark programs share: a clock and a median. */
#ifndef PYRO_BENCH_H
#define PYRO_BENCH_H

#include <stdlib.h>

#include "clock.h"


static inline int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The median of n samples (sorted in place). */
static inline long long
median_ll(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return v[n / 2];
}

#endif
