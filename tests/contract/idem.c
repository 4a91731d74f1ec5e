/* idem.c - the store contract on idempotency keys: replay, conflict, expiry,
 * limits on issue.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

void ct_idem_replay(void)
{
	struct otp_idem k;
	struct otp_code_new c1;
	struct otp_issue_out o;
	struct otp_store *s = ct_open_idem(&k, &c1, &o);
	CHECK(s);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c1.id);
	CHECK_INT(o.expires_ms, c1.expires_ms);

	/* Later, another code and a session: the first answer, nothing
	 * written, no second message. */
	struct otp_session_bind b = ct_make_bind(0x91, CT_T0 + CT_DAY);
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + 1000 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c2, &b, &k, CT_T0 + 1000, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);
	CHECK_INT(o.expires_ms, c1.expires_ms);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 1001, &sess),
		  OTP_ENOTFOUND);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c2.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING); /* not retired by c2 */
	struct otp_msg_info l[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, -1, l, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].request_id, c1.id);

	/* Once its code is used, the key still answers the same. */
	struct otp_verify_in in = ct_make_try(c1.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2000, &out), OTP_VERIFY_OK);
	struct otp_code_new c3 = ct_make_code(3, CT_P1, CT_T0 + 3000 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c3, NULL, &k, CT_T0 + 3000, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);

	/* Another key (one character apart) is another send. */
	struct otp_idem k2 = ct_make_idem(CT_IDEM_B, CT_T0 + CT_DAY);
	struct otp_code_new c4 = ct_make_code(4, CT_P1, CT_T0 + 4000 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c4, NULL, &k2, CT_T0 + 4000, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c4.id);
	CHECK_INT(o.expires_ms, c4.expires_ms);
	CHECK_INT(otp_store_code_get(s, c4.id, &info), 0);
	otp_store_close(s);
}

/* Limits taken inside the issue: all or none, nothing written when
 * refused, and an idempotent replay takes none. */
void ct_issue_limits(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit lim[2] = {{"cd:" CT_P1, {30000, 1}},
				   {"ph:" CT_P1, {720000, 5}}};
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	unsigned char body[8] = {1};
	struct otp_issue in = {
	    .code = c1,
	    .body = body,
	    .body_len = sizeof body,
	    .idem = &k,
	    .limits = lim,
	    .nlimits = 2,
	};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	/* the replay passes although the cooldown would refuse */
	in.code = ct_make_code(2, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0 + 10, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);
	/* a new send within the cooldown: refused with the wait, no row */
	in.idem = NULL;
	in.code = ct_make_code(3, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0 + 10000, &o),
		  OTP_ELIMITED);
	CHECK_INT(o.retry_ms, 20000);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, in.code.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, c1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING); /* not retired */
	/* the refusal consumed nothing: the hourly bucket still has 4 */
	for (int i = 0; i < 4; i++) {
		in.code = ct_make_code(10 + (unsigned)i, CT_P1, CT_T0 + CT_DAY);
		CHECK_INT(
		    otp_store_code_issue(s, &in, CT_T0 + 30000 * (i + 1), &o),
		    0);
	}
	in.code = ct_make_code(20, CT_P1, CT_T0 + CT_DAY);
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0 + 150000, &o),
		  OTP_ELIMITED);
	otp_store_close(s);
}

void ct_idem_conflict(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c0 = ct_make_code(9, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c0, NULL, CT_T0), 0);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &c1, NULL, &k, CT_T0, &o), 0);

	struct otp_session_bind b = ct_make_bind(0x92, CT_T0 + CT_DAY);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + 10 + CT_TTL);
	o.replayed = true;
	CHECK_INT(ct_issue_full(s, &c2, &b, &k, CT_T0 + 10, &o), OTP_ECONFLICT);
	CHECK(!o.replayed);
	/* Nothing happened: no code, no message, no session, and P2's
	 * earlier code is not retired. */
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c2.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, c0.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 11, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10), 2); /* c0's and c1's */
	/* The key still belongs to P1. */
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + 20, &o),
		  OTP_ECONFLICT);
	struct otp_code_new c3 = ct_make_code(3, CT_P1, CT_T0 + 30 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c3, NULL, &k, CT_T0 + 30, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);
	otp_store_close(s);
}

/* A key lives while now < its expires_ms; after that the key is free, and
 * the next issue under it is a fresh one that owns it anew. */
void ct_idem_expiry(void)
{
	struct otp_idem k;
	struct otp_code_new c1;
	struct otp_issue_out o;
	struct otp_store *s = ct_open_idem(&k, &c1, &o);
	CHECK(s);
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_DAY);
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + CT_DAY - 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);

	/* Expired: another phone is no conflict, and gets its own code. */
	struct otp_code_new c3;
	CHECK_INT(ct_issue_next_day(s, &k, &c3, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c3.id);
	CHECK_INT(o.expires_ms, c3.expires_ms);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c3.id, &info), 0);
	CHECK_STR(info.phone, CT_P2);

	struct otp_code_new c4 = ct_make_code(4, CT_P1, CT_T0 + CT_DAY + 1);
	CHECK_INT(ct_issue_full(s, &c4, NULL, &k, CT_T0 + CT_DAY + 1, &o),
		  OTP_ECONFLICT);
	struct otp_code_new c5 = ct_make_code(5, CT_P2, CT_T0 + CT_DAY + 2);
	CHECK_INT(ct_issue_full(s, &c5, NULL, &k, CT_T0 + CT_DAY + 2, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c3.id);
	otp_store_close(s);
}
