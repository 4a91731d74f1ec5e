/* limits.c - the store contract on rate limits: bursts, all-or-nothing takes,
 * disabled limits.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

void ct_limit_burst(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit l = ct_make_limit("ph:" CT_P1, 1000, 3);
	int64_t retry = -1;
	for (int i = 0; i < 3; i++) {
		CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
		CHECK_INT(retry, 0);
	}
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 999, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 1);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 1000, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 1000, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	/* After a long pause the whole burst is back, and no more. */
	for (int i = 0; i < 3; i++)
		CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 60000, &retry),
			  0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 60000, &retry),
		  OTP_ELIMITED);
	/* Keys are independent, and are data, never code. */
	struct otp_limit odd =
	    ct_make_limit("ip:'; DROP TABLE limits; --", 1000, 1);
	CHECK_INT(otp_store_limit_take(s, &odd, 1, CT_T0 + 60000, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &odd, 1, CT_T0 + 60000, &retry),
		  OTP_ELIMITED);
	otp_store_close(s);
}

void ct_limit_all_or_nothing(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit two[2] = {
	    ct_make_limit("a", 1000, 2),
	    ct_make_limit("b", 1000, 1),
	};
	int64_t retry = -1;
	CHECK_INT(otp_store_limit_take(s, two, 2, CT_T0, &retry), 0);
	/* b refuses, so a must not lose its second token. */
	CHECK_INT(otp_store_limit_take(s, two, 2, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	CHECK_INT(otp_store_limit_take(s, two, 2, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(otp_store_limit_take(s, &two[0], 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &two[0], 1, CT_T0, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 1000);

	/* Refused by both: the longest wait wins, in either order. */
	struct otp_limit c[2] = {
	    ct_make_limit("c", 5000, 1),
	    ct_make_limit("a", 1000, 2),
	};
	CHECK_INT(otp_store_limit_take(s, &c[0], 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, c, 2, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 5000);
	struct otp_limit r[2] = {c[1], c[0]};
	CHECK_INT(otp_store_limit_take(s, r, 2, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 5000);
	otp_store_close(s);
}

void ct_limit_disabled(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t retry = -1;
	struct otp_limit off = ct_make_limit("off", 0, 1);
	for (int i = 0; i < 50; i++)
		CHECK_INT(otp_store_limit_take(s, &off, 1, CT_T0, &retry), 0);
	off.rate.interval_ms = -5;
	CHECK_INT(otp_store_limit_take(s, &off, 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, NULL, 0, CT_T0, &retry), 0);
	struct otp_limit mix[2] = {off, ct_make_limit("on", 1000, 1)};
	CHECK_INT(otp_store_limit_take(s, mix, 2, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, mix, 2, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	otp_store_close(s);
}

/* limit_get reads a key's TAT and takes nothing; a full bucket reads as
 * none. */
void ct_limit_get(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit l = ct_make_limit("ph:" CT_P1, 1000, 3);
	int64_t tat = -1, retry;
	CHECK_INT(otp_store_limit_get(s, l.key, CT_T0, &tat), OTP_ENOTFOUND);
	for (int i = 0; i < 2; i++)
		CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(otp_store_limit_get(s, l.key, CT_T0 + 10, &tat), 0);
		CHECK_INT(tat, CT_T0 + 2000);
	}
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 10, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 10, &retry),
		  OTP_ELIMITED);
	CHECK_INT(otp_store_limit_get(s, l.key, CT_T0 + 2999, &tat), 0);
	CHECK_INT(tat, CT_T0 + 3000);
	CHECK_INT(otp_store_limit_get(s, l.key, CT_T0 + 3000, &tat),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_limit_get(s, "ph:" CT_P2, CT_T0, &tat),
		  OTP_ENOTFOUND);
	otp_store_close(s);
}
