/* reseal.c - the contract's phones_reseal cases: every stored phone (code,
 * session, message, idempotency key) rewritten once, the store working on
 * the new texts afterwards (a resend still retires, a verify still
 * matches), and the mark making a second pass a no-op. */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

#define MARK "~T"

/* The reseal under test: MARK before the old text. Counts its calls. */
static int calls;
static int prefix(void *arg, const char *stored, char out[OTP_SEALED_PHONE_MAX])
{
	(void)arg;
	calls++;
	snprintf(out, OTP_SEALED_PHONE_MAX, MARK "%s", stored);
	return 0;
}

static int refuse(void *arg, const char *stored, char out[OTP_SEALED_PHONE_MAX])
{
	(void)arg;
	(void)stored;
	out[0] = '\0';
	return OTP_EINTERNAL;
}

void ct_phones_reseal(void)
{
	struct otp_session_bind b;
	struct otp_code_new c;
	struct otp_store *s = ct_open_bound(&b, 0x51, CT_T0 + CT_DAY, &c);
	CHECK(s);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new d = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &d, NULL, &k, CT_T0, &o), 0);
	long n = -1;
	CHECK_INT(otp_store_phones_reseal(s, MARK, refuse, NULL, &n),
		  OTP_EINTERNAL);
	calls = 0;
	CHECK_INT(otp_store_phones_reseal(s, MARK, prefix, NULL, &n), 0);
	/* 2 codes, 1 session's pending phone, 2 messages, 1 key */
	CHECK_INT(n, 6);
	CHECK_INT(calls, 6);

	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_STR(info.phone, MARK CT_P1);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 1, &sess), 0);
	CHECK_STR(sess.pending_phone, MARK CT_P1);
	struct otp_msg m[2];
	CT_CLAIM_N(s, CT_T0 + 1, m, 2, 2);
	CHECK_STR(m[0].to, MARK CT_P1);
	CHECK_STR(m[1].to, MARK CT_P2);
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m[1]);

	/* The same key for the new text replays; for another, conflicts. */
	snprintf(d.phone, sizeof d.phone, MARK CT_P2);
	CHECK_INT(ct_issue_full(s, &d, NULL, &k, CT_T0 + 2, &o), 0);
	CHECK(o.replayed);
	/* A resend to the new text retires the code of the old one. */
	struct otp_code_new e = ct_make_code(3, MARK CT_P1, CT_T0 + CT_TTL);
	snprintf(e.owner, sizeof e.owner, "%s", c.owner);
	CHECK_INT(ct_issue(s, &e, NULL, CT_T0 + 3), 0);
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_RETIRED);
	struct otp_verify_in in = ct_make_try(e.id, CT_RIGHT);
	snprintf(in.expect_phone, sizeof in.expect_phone, MARK CT_P1);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 4, &out), OTP_VERIFY_OK);
	CHECK_STR(out.phone, MARK CT_P1);

	/* Done once: the same mark again touches nothing. */
	calls = 0;
	CHECK_INT(otp_store_phones_reseal(s, MARK, prefix, NULL, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(calls, 0);
	otp_store_close(s);
}
