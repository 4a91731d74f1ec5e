/* test_gcra.c - GCRA arithmetic with an injected clock. */
#include "core/gcra.h"
#include "harness.h"

/* 5 per hour: a burst of 5, then one every 720 s. */
static void burst_then_refuse(void)
{
	struct otp_gcra g = {720000, 5};
	int64_t tat = 0, now = 1000000, retry = 0;
	for (int i = 0; i < 5; i++)
		CHECK(otp_gcra_take(&g, tat, now, &tat, &retry));
	CHECK(!otp_gcra_take(&g, tat, now, &tat, &retry));
	CHECK_INT(retry, 720000);
	CHECK_INT(otp_gcra_retry_s(retry), 720);
}

static void refills_one_per_interval(void)
{
	struct otp_gcra g = {720000, 5};
	int64_t tat = 0, now = 0, retry = 0;
	for (int i = 0; i < 5; i++)
		CHECK(otp_gcra_take(&g, tat, now, &tat, &retry));
	CHECK(!otp_gcra_take(&g, tat, now + 719999, &tat, &retry));
	CHECK_INT(retry, 1);
	CHECK(otp_gcra_take(&g, tat, now + 720000, &tat, &retry));
	CHECK(!otp_gcra_take(&g, tat, now + 720000, &tat, &retry));
}

/* A 30 s cooldown is burst 1: the second event waits the full interval. */
static void cooldown(void)
{
	struct otp_gcra g = {30000, 1};
	int64_t tat = 0, retry = 0;
	CHECK(otp_gcra_take(&g, tat, 5000, &tat, &retry));
	CHECK(!otp_gcra_take(&g, tat, 5000 + 12000, &tat, &retry));
	CHECK_INT(retry, 18000);
	CHECK(otp_gcra_take(&g, tat, 35000, &tat, &retry));
}

/* A refusal leaves the TAT alone: refused events are free. */
static void refusal_does_not_consume(void)
{
	struct otp_gcra g = {1000, 2};
	int64_t tat = 0, retry = 0;
	CHECK(otp_gcra_take(&g, tat, 0, &tat, &retry));
	CHECK(otp_gcra_take(&g, tat, 0, &tat, &retry));
	int64_t before = tat, after = -1;
	CHECK(!otp_gcra_take(&g, tat, 500, &after, &retry));
	CHECK_INT(after, -1);
	CHECK_INT(tat, before);
}

static void idle_time_does_not_bank_beyond_burst(void)
{
	struct otp_gcra g = {1000, 3};
	int64_t tat = 0, retry = 0;
	int64_t now = 10 * 1000 * 1000; /* long idle */
	int ok = 0;
	for (int i = 0; i < 10; i++)
		if (otp_gcra_take(&g, tat, now, &tat, &retry))
			ok++;
	CHECK_INT(ok, 3);
}

static void disabled_limit_always_allows(void)
{
	struct otp_gcra g = {0, 1};
	int64_t tat = 0, retry = 0;
	for (int i = 0; i < 1000; i++)
		CHECK(otp_gcra_take(&g, tat, 0, &tat, &retry));
}

static void retry_seconds_round_up(void)
{
	CHECK_INT(otp_gcra_retry_s(1), 1);
	CHECK_INT(otp_gcra_retry_s(1000), 1);
	CHECK_INT(otp_gcra_retry_s(1001), 2);
	CHECK_INT(otp_gcra_retry_s(0), 1);
}

static const struct harness_test tests[] = {
    TEST(burst_then_refuse),
    TEST(refills_one_per_interval),
    TEST(cooldown),
    TEST(refusal_does_not_consume),
    TEST(idle_time_does_not_bank_beyond_burst),
    TEST(disabled_limit_always_allows),
    TEST(retry_seconds_round_up),
};
HARNESS_MAIN("gcra", tests)
