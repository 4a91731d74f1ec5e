/* purge.c - the store contract on purge: what expired goes, what is live stays.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

/* Observable effects only; exact counts are each backend's business. */
void ct_purge(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t exp = CT_T0 + CT_TTL;
	struct otp_session_bind b = ct_make_bind(0x77, CT_T0 + 1000);
	struct otp_code_new c = ct_make_code(1, CT_P1, exp);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
	struct otp_limit l = ct_make_limit("k", 1000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0, &removed), 0);
	CHECK_INT(removed, 0);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0, &sess), 0);

	/* Sessions and limits go as soon as they expire... */
	CHECK_INT(otp_store_purge(s, exp + CT_DAY - 1, &removed), 0);
	CHECK(removed >= 2);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	/* ...codes and their messages are kept a day for the record. */
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, exp + CT_DAY - 1, &out),
		  OTP_VERIFY_EXPIRED);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);

	CHECK_INT(otp_store_purge(s, exp + CT_DAY + 1, &removed), 0);
	CHECK(removed >= 2);
	CHECK_INT(ct_verify(s, &in, CT_T0, &out), OTP_VERIFY_NOTFOUND);
	CHECK_INT(ct_get_state(s, c.id), OTP_ENOTFOUND);
	struct otp_msg m[1];
	CT_CLAIM_N(s, CT_T0, m, 1, 0);
	otp_store_close(s);
}

/* Purge removes expired idempotency keys and keeps live ones; the key is
 * then free for a fresh send. */
void ct_purge_idem(void)
{
	struct otp_idem k;
	struct otp_code_new c1;
	struct otp_issue_out o;
	struct otp_store *s = ct_open_idem(&k, &c1, &o);
	CHECK(s);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0 + CT_DAY - 1, &removed), 0);
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_DAY);
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + CT_DAY - 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);

	CHECK_INT(otp_store_purge(s, CT_T0 + CT_DAY, &removed), 0);
	struct otp_code_new c3;
	CHECK_INT(ct_issue_next_day(s, &k, &c3, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c3.id);
	struct otp_code_new c4 =
	    ct_make_code(4, CT_P2, CT_T0 + CT_DAY + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c4, NULL, &k, CT_T0 + CT_DAY + 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c3.id);
	otp_store_close(s);
}
