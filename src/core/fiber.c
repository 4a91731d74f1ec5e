/* fiber.c - runner threads and their fibers (see fiber.h).
 *
 * One mutex guards the whole set: the queue of posted work, the free
 * fibers and each runner's list of fibers ready to resume. A runner takes
 * a ready fiber first, else new work if a fiber is free, and switches to it
 * (swapcontext); it is back when that fiber parks or ends. A fiber's state
 * says where it is: RUNNING (on its runner's CPU, or switching away: a wake
 * then only marks it, and the runner requeues it), SLEEPING (parked: a wake
 * queues it) or READY. A finished fiber goes back to the free list with its
 * stack, and may next start on another runner: it holds nothing then.
 */
#include "core/fiber.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/thread.h"

/* The sanitizers follow a switch of stacks only when told (make test runs
 * the suites under ASan, UBSan and TSan). */
#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

enum fstate { F_FREE, F_READY, F_RUNNING, F_SLEEPING };

struct work {
	struct work *next;
	void (*fn)(void *);
	void *arg;
};

struct runner;

struct otp_fiber {
	struct otp_fiber *next; /* in a ready list or the free list */
	struct runner *r;
	ucontext_t uc;
	void *stack;
	size_t stack_len;
	void (*fn)(void *);
	void *arg;
	enum fstate state;
	bool wake_pending;
	bool done;
	void *local;
#ifdef FIBER_ASAN
	void *fake; /* ASan's fake stack while switched away */
#endif
#ifdef FIBER_TSAN
	void *tsan;
#endif
};

struct runner {
	struct otp_fibers *fs;
	pthread_t th;
	pthread_cond_t cv;
	ucontext_t uc;
	struct otp_fiber *ready, **ready_tail;
	unsigned live; /* fibers started here and not done */
	bool sleeping;
#ifdef FIBER_ASAN
	const void *stack_bottom;
	size_t stack_size;
#endif
#ifdef FIBER_TSAN
	void *tsan;
#endif
};

struct otp_fibers {
	pthread_mutex_t mu;
	struct work *work, **work_tail, *spare;
	struct otp_fiber *free;
	bool stop;
	unsigned nrunners;
	struct runner *runners;
};

static _Thread_local struct otp_fiber *cur;
static _Thread_local struct runner *cur_runner;
/* Set by the parts above (any thread, any time): atomics. */
#define IDLE_MAX 4
static void (*_Atomic idle_hooks[IDLE_MAX])(void);
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*_Atomic local_free)(void *);

void otp_fibers_add_idle(void (*idle)(void))
{
	pthread_mutex_lock(&idle_mu);
	for (int i = 0; i < IDLE_MAX; i++) {
		void (*h)(void) = atomic_load(&idle_hooks[i]);
		if (h == idle)
			break;
		if (!h) {
			atomic_store(&idle_hooks[i], idle);
			break;
		}
	}
	pthread_mutex_unlock(&idle_mu);
}

static void run_idle_hooks(void)
{
	for (int i = 0; i < IDLE_MAX; i++) {
		void (*h)(void) = atomic_load(&idle_hooks[i]);
		if (!h)
			break;
		h();
	}
}

void otp_fibers_set_local_free(void (*free_local)(void *))
{
	atomic_store(&local_free, free_local);
}

struct otp_fiber *otp_fiber_self(void)
{
	return cur;
}

void **otp_fiber_local(void)
{
	return cur ? &cur->local : NULL;
}

/* On the runner: to fiber f, and back when it parks or ends. */
static void to_fiber(struct runner *r, struct otp_fiber *f)
{
#ifdef FIBER_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, f->uc.uc_stack.ss_sp,
				       f->uc.uc_stack.ss_size);
#endif
#ifdef FIBER_TSAN
	__tsan_switch_to_fiber(f->tsan, 0);
#endif
	swapcontext(&r->uc, &f->uc);
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* Told to the sanitizers once a fiber runs again (f->r: its runner now). */
static void arrived(struct otp_fiber *f, bool first)
{
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(first ? NULL : f->fake,
					&f->r->stack_bottom, &f->r->stack_size);
#endif
	(void)f;
	(void)first;
}

/* On fiber f: back to its runner; returns when f runs again. */
static void to_runner(struct otp_fiber *f)
{
	struct runner *r = f->r;
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(&f->fake, r->stack_bottom,
				       r->stack_size);
#endif
#ifdef FIBER_TSAN
	__tsan_switch_to_fiber(r->tsan, 0);
#endif
	swapcontext(&f->uc, &r->uc);
	arrived(f, false);
}

static void trampoline(void)
{
	struct otp_fiber *f = cur;
	arrived(f, true);
	for (;;) {
		f->fn(f->arg);
		f->done = true;
		to_runner(f); /* back when it is given new work */
	}
}

static void push_ready(struct runner *r, struct otp_fiber *f)
{
	f->state = F_READY;
	f->next = NULL;
	*r->ready_tail = f;
	r->ready_tail = &f->next;
	if (r->sleeping)
		pthread_cond_signal(&r->cv);
}

/* Wakes one sleeping runner for new work. */
static void nudge(struct otp_fibers *fs)
{
	for (unsigned i = 0; i < fs->nrunners; i++)
		if (fs->runners[i].sleeping) {
			pthread_cond_signal(&fs->runners[i].cv);
			return;
		}
}

/* The next fiber to switch to, under fs->mu, or NULL. */
static struct otp_fiber *next_fiber(struct runner *r)
{
	struct otp_fibers *fs = r->fs;
	struct otp_fiber *f = r->ready;
	if (f) {
		r->ready = f->next;
		if (!r->ready)
			r->ready_tail = &r->ready;
		return f;
	}
	if (!fs->work || !fs->free)
		return NULL;
	struct work *w = fs->work;
	fs->work = w->next;
	if (!fs->work)
		fs->work_tail = &fs->work;
	f = fs->free;
	fs->free = f->next;
	f->fn = w->fn;
	f->arg = w->arg;
	f->r = r;
	f->done = false;
	r->live++;
	w->next = fs->spare;
	fs->spare = w;
	return f;
}

static void *run(void *arg)
{
	struct runner *r = arg;
	struct otp_fibers *fs = r->fs;
	cur_runner = r;
#ifdef FIBER_TSAN
	r->tsan = __tsan_get_current_fiber();
#endif
	pthread_mutex_lock(&fs->mu);
	for (;;) {
		struct otp_fiber *f = next_fiber(r);
		if (!f) {
			if (fs->stop && !fs->work && r->live == 0)
				break;
			pthread_mutex_unlock(&fs->mu);
			run_idle_hooks();
			pthread_mutex_lock(&fs->mu);
			f = next_fiber(r);
			if (!f) {
				if (fs->stop && !fs->work && r->live == 0)
					break;
				r->sleeping = true;
				pthread_cond_wait(&r->cv, &fs->mu);
				r->sleeping = false;
				continue;
			}
		}
		f->state = F_RUNNING;
		f->wake_pending = false;
		pthread_mutex_unlock(&fs->mu);
		cur = f;
		to_fiber(r, f);
		cur = NULL;
		pthread_mutex_lock(&fs->mu);
		if (f->done) {
			f->state = F_FREE;
			f->next = fs->free;
			fs->free = f;
			r->live--;
		} else if (f->wake_pending) {
			push_ready(r, f);
		} else {
			f->state = F_SLEEPING;
		}
	}
	pthread_mutex_unlock(&fs->mu);
	return NULL;
}

/* A fiber with its stack (a guard page below it), ready to start at the
 * trampoline. Apart from the caller's loop: getcontext returns twice. */
static struct otp_fiber *new_fiber(size_t len, size_t page)
{
	struct otp_fiber *f = calloc(1, sizeof *f);
	void *st = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (!f || st == MAP_FAILED)
		abort();
	mprotect(st, page, PROT_NONE); /* the guard */
	f->stack = st;
	f->stack_len = len;
#ifdef FIBER_TSAN
	f->tsan = __tsan_create_fiber(0);
#endif
	getcontext(&f->uc);
	f->uc.uc_stack.ss_sp = (char *)st + page;
	f->uc.uc_stack.ss_size = len - page;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, trampoline, 0);
	return f;
}

struct otp_fibers *otp_fibers_start(unsigned runners, unsigned max,
				    unsigned stack_kib)
{
	struct otp_fibers *fs = calloc(1, sizeof *fs);
	if (!fs || runners == 0 || max == 0)
		abort();
	pthread_mutex_init(&fs->mu, NULL);
	fs->work_tail = &fs->work;
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)stack_kib * 1024 + (size_t)page;
	for (unsigned i = 0; i < max; i++) {
		struct otp_fiber *f = new_fiber(len, (size_t)page);
		f->next = fs->free;
		fs->free = f;
	}
	fs->nrunners = runners;
	fs->runners = calloc(runners, sizeof *fs->runners);
	if (!fs->runners)
		abort();
	for (unsigned i = 0; i < runners; i++) {
		struct runner *r = &fs->runners[i];
		r->fs = fs;
		r->ready_tail = &r->ready;
		pthread_cond_init(&r->cv, NULL);
		otp_thread_start(&r->th, run, r, 256);
	}
	return fs;
}

bool otp_fibers_post(struct otp_fibers *fs, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&fs->mu);
	if (fs->stop) {
		pthread_mutex_unlock(&fs->mu);
		return false;
	}
	struct work *w = fs->spare;
	if (w)
		fs->spare = w->next;
	else if (!(w = malloc(sizeof *w)))
		abort();
	w->fn = fn;
	w->arg = arg;
	w->next = NULL;
	*fs->work_tail = w;
	fs->work_tail = &w->next;
	nudge(fs);
	pthread_mutex_unlock(&fs->mu);
	return true;
}

void otp_fiber_park(struct otp_fiber *self, pthread_mutex_t *mu)
{
	pthread_mutex_unlock(mu);
	to_runner(self);
	pthread_mutex_lock(mu);
}

void otp_fiber_wake(struct otp_fiber *f)
{
	struct otp_fibers *fs = f->r->fs;
	pthread_mutex_lock(&fs->mu);
	if (f->state == F_SLEEPING)
		push_ready(f->r, f);
	else if (f->state == F_RUNNING)
		f->wake_pending = true;
	pthread_mutex_unlock(&fs->mu);
}

bool otp_fiber_others_ready(void)
{
	struct runner *r = cur_runner;
	if (!r)
		return false;
	struct otp_fibers *fs = r->fs;
	pthread_mutex_lock(&fs->mu);
	bool any = r->ready || (fs->work && fs->free);
	pthread_mutex_unlock(&fs->mu);
	return any;
}

void otp_fibers_stop(struct otp_fibers *fs, void (*drop)(void *arg))
{
	if (!fs)
		return;
	pthread_mutex_lock(&fs->mu);
	fs->stop = true;
	struct work *left = drop ? fs->work : NULL;
	if (drop) {
		fs->work = NULL;
		fs->work_tail = &fs->work;
	}
	pthread_mutex_unlock(&fs->mu);
	for (struct work *w = left; w; w = w->next)
		drop(w->arg);
	pthread_mutex_lock(&fs->mu);
	while (left) {
		struct work *w = left;
		left = w->next;
		w->next = fs->spare;
		fs->spare = w;
	}
	for (unsigned i = 0; i < fs->nrunners; i++)
		pthread_cond_signal(&fs->runners[i].cv);
	pthread_mutex_unlock(&fs->mu);
	for (unsigned i = 0; i < fs->nrunners; i++)
		pthread_join(fs->runners[i].th, NULL);
}

void otp_fibers_free(struct otp_fibers *fs)
{
	if (!fs)
		return;
	for (struct otp_fiber *f = fs->free, *next; f; f = next) {
		next = f->next;
		void (*lf)(void *) = atomic_load(&local_free);
		if (f->local && lf)
			lf(f->local);
#ifdef FIBER_TSAN
		__tsan_destroy_fiber(f->tsan);
#endif
		munmap(f->stack, f->stack_len);
		free(f);
	}
	for (struct work *w = fs->spare, *next; w; w = next) {
		next = w->next;
		free(w);
	}
	for (unsigned i = 0; i < fs->nrunners; i++)
		pthread_cond_destroy(&fs->runners[i].cv);
	free(fs->runners);
	pthread_mutex_destroy(&fs->mu);
	free(fs);
}
