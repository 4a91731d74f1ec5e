/* test_sigbatch.c - the SQLite writer's batch sums of signal counts
 * (src/store/sqlite/sigbatch.h): what an operation stages counts only once
 * it is kept, sums add up per key and hour, and what does not fit is
 * refused (the caller writes it at once) rather than lost.
 */
#include <stdio.h>

#include "harness.h"
#include "store/sqlite/sigbatch.h"

static const int64_t ONE[OTP_SIG_COUNTERS] = {1, 0};
static const int64_t VER[OTP_SIG_COUNTERS] = {0, 1};

/* The batch's sent count of key in hour (0 if none). */
static int64_t sent(const struct otp_sq_sigbatch *b, const char *key,
		    int64_t hour)
{
	struct otp_sq_sigsum p[OTP_SQ_SIGBATCH_HOURS];
	int n = otp_sq_sigbatch_pending(b, key, p, OTP_SQ_SIGBATCH_HOURS);
	for (int i = 0; i < n; i++)
		if (p[i].hour == hour)
			return p[i].n[OTP_SIG_SENT];
	return 0;
}

static int count_write(void *arg, const char *key,
		       const struct otp_sq_sigsum *sum)
{
	(void)key;
	(void)sum;
	++*(int *)arg;
	return 0;
}

/* The UPSERTs a flush would make (-1 if the walk failed). */
static int writes(const struct otp_sq_sigbatch *b)
{
	int n = 0;
	return otp_sq_sigbatch_each(b, count_write, &n) == 0 ? n : -1;
}

static void kept_ops_sum_once_a_key(void)
{
	struct otp_sq_sigbatch *b = otp_sq_sigbatch_new();
	for (int op = 0; op < 64; op++) {
		CHECK(otp_sq_sigbatch_add(b, "r:US", 10, 0, ONE));
		CHECK(otp_sq_sigbatch_add(b, "ip:192.0.2.1", 10, 0, ONE));
		CHECK_INT(sent(b, "r:US", 10), op); /* staged: not yet */
		otp_sq_sigbatch_op_end(b, true);
	}
	CHECK(otp_sq_sigbatch_add(b, "r:US", 10, 0, VER));
	otp_sq_sigbatch_op_end(b, true);
	CHECK_INT(sent(b, "r:US", 10), 64);
	CHECK_INT(sent(b, "ip:192.0.2.1", 10), 64);
	CHECK_INT(writes(b), 2); /* two UPSERTs for 129 adds */
	struct otp_sq_sigsum p[OTP_SQ_SIGBATCH_HOURS];
	CHECK_INT(otp_sq_sigbatch_pending(b, "r:US", p, OTP_SQ_SIGBATCH_HOURS),
		  1);
	CHECK_INT(p[0].n[OTP_SIG_VERIFIED], 1);
	CHECK_INT(otp_sq_sigbatch_pending(b, "r:GB", p, OTP_SQ_SIGBATCH_HOURS),
		  0);
	otp_sq_sigbatch_clear(b);
	CHECK_INT(sent(b, "r:US", 10), 0);
	CHECK_INT(writes(b), 0);
	otp_sq_sigbatch_free(b);
}

static void undone_op_counts_nothing(void)
{
	struct otp_sq_sigbatch *b = otp_sq_sigbatch_new();
	CHECK(otp_sq_sigbatch_add(b, "r:US", 10, 0, ONE));
	otp_sq_sigbatch_op_end(b, true);
	CHECK(otp_sq_sigbatch_add(b, "r:US", 10, 0, ONE));
	CHECK(otp_sq_sigbatch_add(b, "r:NG", 10, 0, ONE));
	otp_sq_sigbatch_op_end(b, false);
	CHECK_INT(sent(b, "r:US", 10), 1);
	CHECK_INT(sent(b, "r:NG", 10), 0);
	CHECK_INT(writes(b), 1);
	otp_sq_sigbatch_free(b);
}

/* A batch across an hour's end sums each hour apart; a key's fifth hour,
 * an operation's 17th add and the batch's 513th key do not fit. */
static void what_does_not_fit_is_refused(void)
{
	struct otp_sq_sigbatch *b = otp_sq_sigbatch_new();
	for (int64_t h = 0; h < OTP_SQ_SIGBATCH_HOURS; h++) {
		CHECK(otp_sq_sigbatch_add(b, "r:US", 10 + h, 0, ONE));
		otp_sq_sigbatch_op_end(b, true);
	}
	CHECK(!otp_sq_sigbatch_add(b, "r:US", 20, 0, ONE));
	CHECK(otp_sq_sigbatch_add(b, "r:US", 11, 0, ONE)); /* an hour it has */
	otp_sq_sigbatch_op_end(b, true);
	CHECK_INT(sent(b, "r:US", 11), 2);
	CHECK_INT(writes(b), OTP_SQ_SIGBATCH_HOURS);
	otp_sq_sigbatch_clear(b);

	char key[32];
	int staged = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "p:+1%03d", i);
		staged += otp_sq_sigbatch_add(b, key, 10, 0, ONE);
	}
	CHECK_INT(staged, 16);
	otp_sq_sigbatch_op_end(b, true);
	CHECK_INT(writes(b), 16);
	otp_sq_sigbatch_clear(b);

	int fit = 0;
	for (int i = 0; i < 600; i++) {
		snprintf(key, sizeof key, "ip:10.0.%d.%d", i / 256, i % 256);
		fit += otp_sq_sigbatch_add(b, key, 10, 0, ONE);
		otp_sq_sigbatch_op_end(b, true);
	}
	CHECK_INT(fit, 512);
	CHECK_INT(writes(b), 512);
	CHECK_INT(sent(b, "ip:10.0.0.0", 10), 1);
	/* a key it has still takes adds */
	CHECK(otp_sq_sigbatch_add(b, "ip:10.0.0.0", 10, 0, ONE));
	otp_sq_sigbatch_op_end(b, true);
	CHECK_INT(sent(b, "ip:10.0.0.0", 10), 2);
	otp_sq_sigbatch_free(b);
}

static const struct harness_test tests[] = {
    TEST(kept_ops_sum_once_a_key),
    TEST(undone_op_counts_nothing),
    TEST(what_does_not_fit_is_refused),
};
HARNESS_MAIN("sigbatch", tests)
