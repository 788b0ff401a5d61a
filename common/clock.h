/*
 * The monotonic clock, one definition for every program (the static guest
 * agent included, hence inline in a header).
 */
#ifndef PYRO_CLOCK_H
#define PYRO_CLOCK_H

#include <time.h>

static inline long long
pyro_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline long long
pyro_mono_ms(void)
{
	return pyro_mono_us() / 1000;
}

#endif
