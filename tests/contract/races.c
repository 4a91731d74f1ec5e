/* races.c - the store contract under threads and processes racing on one store.
 *
 * Each racer opens its own handle (ct_backend->reopen) on a store made by
 * ct_backend->renew, as separate otpd processes would: one verify wins a code,
 * a limit hands out exactly its burst, one idempotent issue writes and the
 * rest replay or conflict. Only the runners that give reopen run these.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract_cases.h"

#define RACERS 6
#define ROUNDS 40

struct racer {
	pthread_barrier_t *bar;
	int idx;
	int open_rc;
	int results[ROUNDS]; /* verify outcome, or -1 on an error */
	int taken, limited, errors;
	int rc[ROUNDS];
	struct otp_issue_out out[ROUNDS];
	/* For round racers: one round i on the racer's own handle. */
	void (*round)(struct otp_store *s, struct racer *r, int i);
};

/* A racer of ROUNDS rounds, all racers starting each round together; a
 * racer that could not open marks every round failed. */
static void *race_rounds(void *arg)
{
	struct racer *r = arg;
	struct otp_store *s = NULL;
	r->open_rc = ct_backend->reopen(&s);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(r->bar);
		if (r->open_rc) {
			r->results[i] = -1;
			r->rc[i] = r->open_rc;
			continue;
		}
		r->round(s, r, i);
	}
	otp_store_close(s);
	return NULL;
}

/* Starts RACERS threads on fn, each with its own zeroed racer, and waits. */
static void run_racers(void *(*fn)(void *), struct racer *r,
		       void (*round)(struct otp_store *, struct racer *, int))
{
	pthread_barrier_t bar;
	pthread_t t[RACERS];
	pthread_barrier_init(&bar, NULL, RACERS);
	memset(r, 0, RACERS * sizeof *r);
	for (int i = 0; i < RACERS; i++) {
		r[i].bar = &bar;
		r[i].idx = i;
		r[i].round = round;
		if (pthread_create(&t[i], NULL, fn, &r[i]) != 0)
			abort();
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
}

/* run_racers() on a new, empty store; returns renew's answer. */
static int race_fresh(void *(*fn)(void *), struct racer *r,
		      void (*round)(struct otp_store *, struct racer *, int))
{
	int rc = ct_backend->renew();
	if (rc == 0)
		run_racers(fn, r, round);
	return rc;
}

static void verify_round(struct otp_store *s, struct racer *r, int i)
{
	struct otp_code_new c = ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	r->results[i] = ct_verify(s, &in, CT_T0 + 1, &out);
}

void ct_race_verify(void)
{
	struct otp_store *s;
	CHECK_INT(ct_backend->renew(), 0);
	CHECK_INT(ct_backend->reopen(&s), 0);
	/* One code per round, each on its own phone so none retires another. */
	for (int i = 0; i < ROUNDS; i++) {
		struct otp_code_new c =
		    ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
		snprintf(c.phone, sizeof c.phone, "+1415555%04d", i);
		CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	}
	otp_store_close(s);
	static struct racer r[RACERS];
	run_racers(race_rounds, r, verify_round);
	for (int i = 0; i < RACERS; i++)
		CHECK_INT(r[i].open_rc, 0);
	for (int k = 0; k < ROUNDS; k++) {
		int ok = 0, used = 0;
		for (int i = 0; i < RACERS; i++) {
			ok += r[i].results[k] == OTP_VERIFY_OK;
			used += r[i].results[k] == OTP_VERIFY_USED;
		}
		CHECK_INT(ok, 1);
		CHECK_INT(used, RACERS - 1);
	}
}

/* Takes 3 tokens of a 5-token limit; answers how many it got, or -1 on an
 * error other than OTP_ELIMITED. */
static int take_three(struct otp_store *s, int *limited)
{
	struct otp_limit l = ct_make_limit("race", 3600000, 5);
	int taken = 0;
	for (int i = 0; i < 3; i++) {
		int64_t retry;
		int rc = otp_store_limit_take(s, &l, 1, CT_T0, &retry);
		if (rc == 0)
			taken++;
		else if (rc == OTP_ELIMITED)
			++*limited;
		else
			return -1;
	}
	return taken;
}

static void *race_limit(void *arg)
{
	struct racer *r = arg;
	struct otp_store *s = NULL;
	/* Everyone opens the brand-new store at once: migration races too. */
	pthread_barrier_wait(r->bar);
	r->open_rc = ct_backend->reopen(&s);
	pthread_barrier_wait(r->bar);
	if (r->open_rc)
		return NULL;
	int taken = take_three(s, &r->limited);
	if (taken < 0)
		r->errors++;
	else
		r->taken = taken;
	otp_store_close(s);
	return NULL;
}

void ct_race_limit(void)
{
	static struct racer r[RACERS];
	CHECK_INT(race_fresh(race_limit, r, NULL), 0);
	int taken = 0, limited = 0;
	for (int i = 0; i < RACERS; i++) {
		CHECK_INT(r[i].open_rc, 0);
		CHECK_INT(r[i].errors, 0);
		taken += r[i].taken;
		limited += r[i].limited;
	}
	CHECK_INT(taken, 5);
	CHECK_INT(limited, RACERS * 3 - 5);
}

/* Processes lock through the backend, not anything in-process: race
 * children too. Each exits with how many tokens it got. */
void ct_race_processes(void)
{
	struct otp_store *s;
	CHECK_INT(ct_backend->renew(), 0);
	CHECK_INT(ct_backend->reopen(&s), 0);
	otp_store_close(s);
	pid_t kids[RACERS];
	for (int i = 0; i < RACERS; i++) {
		kids[i] = fork();
		CHECK(kids[i] >= 0);
		if (kids[i] > 0)
			continue;
		int limited = 0;
		if (ct_backend->reopen(&s) != 0)
			_exit(100);
		int taken = take_three(s, &limited);
		if (taken < 0)
			_exit(101);
		otp_store_close(s);
		_exit(taken);
	}
	int taken = 0;
	for (int i = 0; i < RACERS; i++) {
		int status;
		CHECK_INT(waitpid(kids[i], &status, 0), kids[i]);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) <= 3);
		taken += WEXITSTATUS(status);
	}
	CHECK_INT(taken, 5);
}

/* Racers issue under one idempotency key at once, each with its own code
 * id. Even rounds: all for one phone, so one writes and the others replay
 * its answer. Odd rounds: two phones, so one writes, its phone's racers
 * replay, the other phone's conflict. */
static const char *idem_phone(int round, int idx)
{
	return round % 2 && idx % 2 ? CT_P2 : CT_P1;
}

static void idem_round(struct otp_store *s, struct racer *r, int i)
{
	struct otp_code_new c =
	    ct_make_code((unsigned)(1000 * (i + 1) + r->idx),
			 idem_phone(i, r->idx), CT_T0 + CT_TTL);
	struct otp_idem k;
	memset(&k, 0, sizeof k);
	snprintf(k.key, sizeof k.key, "k:race:%d", i);
	k.expires_ms = CT_T0 + CT_DAY;
	r->rc[i] = ct_issue_full(s, &c, NULL, &k, CT_T0 + i, &r->out[i]);
}

void ct_race_idem(void)
{
	static struct racer r[RACERS];
	CHECK_INT(race_fresh(race_rounds, r, idem_round), 0);
	for (int k = 0; k < ROUNDS; k++) {
		int writers = 0, w = -1;
		for (int i = 0; i < RACERS; i++) {
			CHECK_INT(r[i].open_rc, 0);
			if (r[i].rc[k] == 0 && !r[i].out[k].replayed) {
				writers++;
				w = i;
			}
		}
		CHECK_INT(writers, 1);
		char id[OTP_ID_LEN + 1];
		snprintf(id, sizeof id, "%032x",
			 (unsigned)(1000 * (k + 1) + w));
		for (int i = 0; i < RACERS; i++) {
			bool same =
			    strcmp(idem_phone(k, i), idem_phone(k, w)) == 0;
			CHECK_INT(r[i].rc[k], same ? 0 : OTP_ECONFLICT);
			if (same) {
				CHECK_STR(r[i].out[k].id, id);
				CHECK_INT(r[i].out[k].expires_ms,
					  CT_T0 + CT_TTL);
			}
		}
		/* One code and one message for the round, the winner's. */
		CHECK_INT(ct_backend->count("codes", id), 1);
		CHECK_INT(ct_backend->count("outbox", id), 1);
	}
	CHECK_INT(ct_backend->count("codes", NULL), ROUNDS);
	CHECK_INT(ct_backend->count("outbox", NULL), ROUNDS);
	CHECK_INT(ct_backend->count("idem", NULL), ROUNDS);
}
