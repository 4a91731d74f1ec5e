/* owners.c - the store contract on owners and limits given back: a send
 * retires only its own owner's pending codes, a verify for another owner
 * finds nothing and counts nothing, code_issue names the limit that
 * refused, and limit_give hands a token back.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

/* Code n of phone owned by `owner`. */
static struct otp_code_new make_owned(unsigned n, const char *phone,
				      const char *owner)
{
	struct otp_code_new c = ct_make_code(n, phone, CT_T0 + CT_TTL);
	snprintf(c.owner, sizeof c.owner, "%s", owner);
	return c;
}

/* A send retires only its own owner's pending codes of the phone. */
void ct_owner_retire(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new a1 = make_owned(1, CT_P1, "k:a");
	struct otp_code_new b1 = make_owned(2, CT_P1, "s:b");
	struct otp_code_new a2 = make_owned(3, CT_P1, "k:a");
	CHECK_INT(ct_issue(s, &a1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &b1, NULL, CT_T0 + 1), 0);
	CHECK_INT(ct_issue(s, &a2, NULL, CT_T0 + 2), 0);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, a1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_RETIRED);
	CHECK_STR(info.owner, "k:a");
	CHECK_INT(otp_store_code_get(s, b1.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	CHECK_STR(info.owner, "s:b");
	struct otp_verify_in in = ct_make_try(b1.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	in = ct_make_try(a2.id, CT_RIGHT);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 4, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

/* A verify for another owner finds nothing and counts nothing. */
void ct_owner_verify(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = make_owned(1, CT_P1, "k:a");
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	snprintf(in.expect_owner, sizeof in.expect_owner, "k:b");
	for (int i = 0; i < 6; i++)
		CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out),
			  OTP_VERIFY_NOTFOUND);
	CHECK_STR(out.phone, "");
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_INT(info.attempts_left, 5);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	in = ct_make_try(c.id, CT_WRONG);
	snprintf(in.expect_owner, sizeof in.expect_owner, "k:a");
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4);
	in = ct_make_try(c.id, CT_RIGHT); /* "": speaks for no owner */
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

/* code_issue says which limit refused (the longest wait). */
void ct_issue_which_limit(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit lim[3] = {{"cd:" CT_P1, {1000, 1}},
				   {"ph:" CT_P1, {720000, 1}},
				   {"pi:" CT_P1, {0, 1}}};
	unsigned char body[8] = {1};
	struct otp_issue in = {
	    .code = ct_make_code(1, CT_P1, CT_T0 + CT_TTL),
	    .body = body,
	    .body_len = sizeof body,
	    .limits = lim,
	    .nlimits = 3,
	};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	in.code = ct_make_code(2, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0 + 10, &o), OTP_ELIMITED);
	CHECK_INT(o.limit, 1);
	CHECK_INT(o.retry_ms, 720000 - 10);
	otp_store_close(s);
}

/* limit_give hands one token back; a key with no state stays so. */
void ct_limit_give(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit l = ct_make_limit("cd:" CT_P1, 30000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(otp_store_limit_give(s, &l, 1, CT_T0), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), OTP_ELIMITED);
	struct otp_limit fresh = ct_make_limit("ph:" CT_P2, 30000, 1);
	CHECK_INT(otp_store_limit_give(s, &fresh, 1, CT_T0), 0);
	CHECK_INT(otp_store_limit_take(s, &fresh, 1, CT_T0, &retry), 0);
	CHECK_INT(otp_store_limit_take(s, &fresh, 1, CT_T0, &retry),
		  OTP_ELIMITED);
	otp_store_close(s);
}
