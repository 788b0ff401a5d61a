/*
 * The event loop: epoll for fds, a sorted list of one-shot timers for
 * deadlines.  Single-threaded; callbacks may add or cancel timers and fds.
 */
#include "config.h"

#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "pyrod.h"

struct timer {
	TAILQ_ENTRY(timer)	  entry;
	long long		  when;
	void			(*cb)(void *);
	void			 *arg;
};
static TAILQ_HEAD(, timer)	timers = TAILQ_HEAD_INITIALIZER(timers);

/*
 * Objects released while a batch of epoll events is being handled are freed
 * only after the batch, so that a later event of the same batch never points
 * at freed memory.  loop_del() sets ev->fd to -1 so those events are skipped.
 */
struct deferred {
	struct deferred	 *next;
	void		(*fn)(void *);
	void		 *p;
};
static struct deferred		*graveyard;
static int			epfd = -1;

long long
now_us(void)
{
	return pyro_mono_us();
}

long long
now_ms(void)
{
	return pyro_mono_ms();
}

int
loop_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

int
loop_add(struct ev *ev, uint32_t events)
{
	struct epoll_event	ee = { .events = events, .data.ptr = ev };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, ev->fd, &ee) < 0 ? -errno : 0;
}

int
loop_mod(struct ev *ev, uint32_t events)
{
	struct epoll_event	ee = { .events = events, .data.ptr = ev };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, ev->fd, &ee) < 0 ? -errno : 0;
}

void
loop_del(struct ev *ev)
{
	if (ev->fd >= 0)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	ev->fd = -1;
}

void
loop_defer_free(void (*fn)(void *), void *p)
{
	struct deferred	*d;

	if ((d = malloc(sizeof(*d))) == NULL) {
		/* Leaking is better than a use-after-free. */
		log_warnx("%s: out of memory", __func__);
		return;
	}
	d->fn = fn;
	d->p = p;
	d->next = graveyard;
	graveyard = d;
}

static void
graveyard_flush(void)
{
	struct deferred	*d;

	while ((d = graveyard) != NULL) {
		graveyard = d->next;
		d->fn(d->p);
		free(d);
	}
}

struct timer *
timer_add(long long ms, void (*cb)(void *), void *arg)
{
	struct timer	*t, *it;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->when = now_ms() + ms;
	t->cb = cb;
	t->arg = arg;
	TAILQ_FOREACH(it, &timers, entry)
		if (it->when > t->when)
			break;
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, t, entry);
	else
		TAILQ_INSERT_TAIL(&timers, t, entry);
	return t;
}

void
timer_cancel(struct timer *t)
{
	if (t == NULL)
		return;
	TAILQ_REMOVE(&timers, t, entry);
	free(t);
}

static void
timers_fire(void)
{
	struct timer	*t;
	long long	 now = now_ms();

	while ((t = TAILQ_FIRST(&timers)) != NULL && t->when <= now) {
		TAILQ_REMOVE(&timers, t, entry);
		t->cb(t->arg);
		free(t);
	}
}

void
loop_run(volatile int *quit)
{
	struct epoll_event	 evs[32];
	struct timer		*t;
	int			 n, i, wait;

	while (!*quit) {
		wait = -1;
		if ((t = TAILQ_FIRST(&timers)) != NULL) {
			long long left = t->when - now_ms();
			wait = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
		}
		n = epoll_wait(epfd, evs, 32, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n && !*quit; i++) {
			struct ev *ev = evs[i].data.ptr;
			if (ev->fd >= 0)
				ev->cb(ev, evs[i].events);
		}
		timers_fire();
		graveyard_flush();
	}
}
