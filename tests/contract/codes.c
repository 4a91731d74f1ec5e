/* codes.c - the store contract on codes: issue, verify, attempts, expiry,
 * resend, code_get.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

void ct_ping(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	CHECK_INT(otp_store_ping(s), 0);
	otp_store_close(s);
}

void ct_verify_ok_then_used(void)
{
	CT_ISSUED(c, s);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);
	CHECK_STR(out.phone, CT_P1);
	CHECK_INT(out.attempts_left, 5);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_USED);
	CHECK_STR(out.phone, CT_P1);
	otp_store_close(s);
}

void ct_verify_notfound(void)
{
	CT_ISSUED(c, s);
	struct otp_verify_in in =
	    ct_make_try("0000000000000000000000000000ffff", CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_NOTFOUND);
	CHECK_STR(out.phone, "");
	otp_store_close(s);
}

void ct_wrong_until_dead(void)
{
	CT_ISSUED(c, s);
	struct otp_verify_in bad = ct_make_try(c.id, CT_WRONG);
	struct otp_verify_out out;
	for (int i = 1; i <= 5; i++) {
		CHECK_INT(ct_verify(s, &bad, CT_T0 + i, &out),
			  OTP_VERIFY_WRONG);
		CHECK_INT(out.attempts_left, 5 - i);
		CHECK_STR(out.phone, CT_P1);
	}
	struct otp_verify_in good = ct_make_try(c.id, CT_RIGHT);
	CHECK_INT(ct_verify(s, &good, CT_T0 + 10, &out), OTP_VERIFY_DEAD);
	CHECK_STR(out.phone, CT_P1);
	CHECK_INT(ct_verify(s, &bad, CT_T0 + 11, &out), OTP_VERIFY_DEAD);
	otp_store_close(s);
}

void ct_expired_not_counted(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t exp = CT_T0 + CT_TTL;
	struct otp_code_new c = ct_make_code(1, CT_P1, exp);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in bad = ct_make_try(c.id, CT_WRONG);
	struct otp_verify_in good = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &bad, exp, &out), OTP_VERIFY_EXPIRED);
	CHECK_STR(out.phone, CT_P1);
	CHECK_INT(ct_verify(s, &bad, exp + 1000, &out), OTP_VERIFY_EXPIRED);
	CHECK_INT(ct_verify(s, &good, exp, &out), OTP_VERIFY_EXPIRED);
	/* Back before expiry: none of the above was counted or consumed. */
	CHECK_INT(ct_verify(s, &bad, exp - 1, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4);
	CHECK_INT(ct_verify(s, &good, exp - 1, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

void ct_resend_retires(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_code_new c3 = ct_make_code(3, CT_P1, CT_T0 + CT_TTL + 10);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0 + 5), 0);
	CHECK_INT(ct_issue(s, &c3, NULL, CT_T0 + 10), 0);
	struct otp_verify_in in = ct_make_try(c1.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 20, &out), OTP_VERIFY_DEAD);
	CHECK_STR(out.phone, CT_P1);
	in = ct_make_try(c2.id, CT_RIGHT); /* another phone: untouched */
	CHECK_INT(ct_verify(s, &in, CT_T0 + 21, &out), OTP_VERIFY_OK);
	in = ct_make_try(c3.id, CT_RIGHT);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 22, &out), OTP_VERIFY_OK);
	/* A used code stays used when its phone gets a new one. */
	struct otp_code_new c4 = ct_make_code(4, CT_P2, CT_T0 + CT_TTL + 30);
	CHECK_INT(ct_issue(s, &c4, NULL, CT_T0 + 30), 0);
	in = ct_make_try(c2.id, CT_RIGHT);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 31, &out), OTP_VERIFY_USED);
	otp_store_close(s);
}

/* The right code of CT_P1 tried `tries` times for CT_P2: each counts an
 * attempt and is not accepted, in the same atomic step; then tried for
 * CT_P1 it answers `then`. */
static void tried_for_another_phone(int tries, int then)
{
	CT_ISSUED(c, s);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	snprintf(in.expect_phone, sizeof in.expect_phone, "%s", CT_P2);
	for (int i = 1; i <= tries; i++) {
		CHECK_INT(ct_verify(s, &in, CT_T0 + i, &out), OTP_VERIFY_WRONG);
		CHECK_INT(out.attempts_left, 5 - i);
	}
	snprintf(in.expect_phone, sizeof in.expect_phone, "%s", CT_P1);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 10, &out), then);
	if (then == OTP_VERIFY_OK)
		CHECK_STR(out.phone, CT_P1);
	otp_store_close(s);
}

/* Down to a dead code that its own phone can no longer use. */
void ct_other_phone_until_dead(void)
{
	tried_for_another_phone(5, OTP_VERIFY_DEAD);
}

/* Once: its own phone still can. */
void ct_expect_phone(void)
{
	tried_for_another_phone(1, OTP_VERIFY_OK);
}

/* A failed issue (here: a duplicate id) leaves nothing behind: the earlier
 * code of that phone is not retired and no second message is queued. */
void ct_issue_atomic(void)
{
	CT_ISSUED(c, s);
	struct otp_session_bind b = ct_make_bind(0x33, CT_T0 + CT_DAY);
	CHECK(ct_issue(s, &c, &b, CT_T0 + 1) != 0);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 2, &sess),
		  OTP_ENOTFOUND);
	struct otp_msg m[4];
	CT_CLAIM_N(s, CT_T0 + 2, m, 4, 1);
	otp_msg_deinit(&m[0]);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

void ct_code_get(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_info info;
	CHECK_INT(
	    otp_store_code_get(s, "0000000000000000000000000000abcd", &info),
	    OTP_ENOTFOUND);

	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_STR(info.phone, CT_P1);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	CHECK_INT(info.attempts_left, 5);
	CHECK_INT(info.created_ms, CT_T0);
	CHECK_INT(info.expires_ms, CT_T0 + CT_TTL);
	CHECK_INT(info.msg_state, OTP_MSG_QUEUED);

	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0 + 1, m);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_SENDING);
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 2),
		  0);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_SENT);
	CHECK_INT(
	    otp_store_outbox_report(s, m[0].id, OTP_MSG_DELIVERED, CT_T0 + 3),
	    0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_DELIVERED);

	struct otp_verify_in bad = ct_make_try(c1.id, CT_WRONG);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &bad, CT_T0 + 4, &out), OTP_VERIFY_WRONG);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	CHECK_INT(info.attempts_left, 4);
	struct otp_verify_in good = ct_make_try(c1.id, CT_RIGHT);
	CHECK_INT(ct_verify(s, &good, CT_T0 + 5, &out), OTP_VERIFY_OK);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_USED);
	CHECK_INT(info.attempts_left, 4);
	CHECK_INT(info.msg_state, OTP_MSG_DELIVERED);

	/* Dead, and its message expired before it went out. */
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0 + 10), 0);
	bad = ct_make_try(c2.id, CT_WRONG);
	for (int i = 0; i < 5; i++)
		CHECK_INT(ct_verify(s, &bad, CT_T0 + 11, &out),
			  OTP_VERIFY_WRONG);
	CT_CLAIM1(s, CT_T0 + 12, m);
	CHECK_INT(otp_store_outbox_fail(s, m[0].id, m[0].attempts,
					OTP_MSG_EXPIRED, "late", CT_T0 + 13),
		  0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_code_get(s, c2.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_DEAD);
	CHECK_INT(info.attempts_left, 0);
	CHECK_INT(info.msg_state, OTP_MSG_EXPIRED);

	/* Retired by a newer send; and past its TTL it still shows (the
	 * caller compares expires_ms with its clock). */
	struct otp_code_new c3 = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	struct otp_code_new c4 = ct_make_code(4, CT_P3, CT_T0 + CT_TTL + 20);
	CHECK_INT(ct_issue(s, &c3, NULL, CT_T0 + 15), 0);
	CHECK_INT(ct_issue(s, &c4, NULL, CT_T0 + 20), 0);
	CHECK_INT(otp_store_code_get(s, c3.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_RETIRED);
	CHECK_INT(info.created_ms, CT_T0 + 15);
	CHECK_INT(info.msg_state, OTP_MSG_QUEUED);
	CHECK_INT(otp_store_code_get(s, c4.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	otp_store_close(s);
}

/* An issue without a body (a test number's): the code verifies, its
 * message is recorded as sent, never claimed, and says why. */
void ct_issue_without_body(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue in = {.code = c};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_SENT);
	CHECK_INT(ct_claim_count(s, CT_T0 + 1), 0);
	struct otp_msg_info li[2];
	size_t n = 0;
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_SENT, li, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(li[0].last_error, "test number: not sent");
	struct otp_verify_in try = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &try, CT_T0 + 2, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}
