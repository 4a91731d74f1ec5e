/* sessions.c - the store contract on sessions: binding, expiry, rotation,
 * upstream sessions.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

/* A verify that rotates: no new session and the old one as it was after
 * a wrong code, or the right code for another phone; after the right one,
 * the old session gone and the new one logged in, in the same step. */
void ct_rotate(void)
{
	struct otp_session_bind b;
	struct otp_code_new c;
	struct otp_store *s = ct_open_bound(&b, 0x11, CT_T0 + CT_DAY, &c);
	CHECK(s);
	struct otp_verify_in in =
	    ct_make_rotate(c.id, CT_WRONG, b.hash, 0x22, CT_T0 + 2 * CT_DAY);
	struct otp_verify_out out;
	struct otp_session sess;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 10, &out), OTP_VERIFY_WRONG);
	memset(in.mac, CT_RIGHT, sizeof in.mac);
	snprintf(in.expect_phone, sizeof in.expect_phone, "%s", CT_P2);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 11, &out), OTP_VERIFY_WRONG);
	CHECK_INT(otp_store_session_get(s, in.new_hash, CT_T0 + 12, &sess),
		  OTP_ENOTFOUND);
	CT_SESSION_IS(s, in.old_hash, CT_T0 + 12, "", 0, CT_T0 + CT_DAY, c.id,
		      CT_P1, 0);

	in.expect_phone[0] = '\0';
	CHECK_INT(ct_verify(s, &in, CT_T0 + 13, &out), OTP_VERIFY_OK);
	CHECK_INT(otp_store_session_get(s, in.old_hash, CT_T0 + 20, &sess),
		  OTP_ENOTFOUND);
	CT_SESSION_IS(s, in.new_hash, CT_T0 + 20, CT_P1, CT_T0 + 13,
		      CT_T0 + 2 * CT_DAY, "", "", 0);
	otp_store_close(s);
}

void ct_session_expiry(void)
{
	struct otp_session_bind b;
	struct otp_code_new c;
	struct otp_store *s = ct_open_bound(&b, 0x44, CT_T0 + 1000, &c);
	CHECK(s);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 999, &sess), 0);
	CHECK_INT(sess.expires_ms, CT_T0 + 1000);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 1000, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_delete(s, b.hash), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_delete(s, b.hash), 0); /* none: still 0 */
	otp_store_close(s);
}

void ct_session_bind(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session_bind b = ct_make_bind(0x55, CT_T0 + 5000);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, &b, CT_T0), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 1, "", 0, CT_T0 + 5000, c1.id, CT_P1,
		      0);

	/* A resend binds the new code; the session never gets shorter. */
	b.expires_ms = CT_T0 + 3000;
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_TTL + 100);
	CHECK_INT(ct_issue(s, &c2, &b, CT_T0 + 100), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 101, "", 0, CT_T0 + 5000, c2.id, CT_P1,
		      0);
	b.expires_ms = CT_T0 + 9000;
	struct otp_code_new c3 = ct_make_code(3, CT_P1, CT_T0 + CT_TTL + 200);
	CHECK_INT(ct_issue(s, &c3, &b, CT_T0 + 200), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 201, "", 0, CT_T0 + 9000, c3.id, CT_P1,
		      0);

	/* Binding a logged-in session keeps its login. */
	struct otp_verify_in in =
	    ct_make_rotate(c3.id, CT_RIGHT, b.hash, 0x66, CT_T0 + 20000);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 300, &out), OTP_VERIFY_OK);
	struct otp_session_bind b2 = ct_make_bind(0x66, CT_T0 + 10000);
	struct otp_code_new c4 = ct_make_code(4, CT_P2, CT_T0 + CT_TTL + 400);
	CHECK_INT(ct_issue(s, &c4, &b2, CT_T0 + 400), 0);
	CT_SESSION_IS(s, b2.hash, CT_T0 + 401, CT_P1, CT_T0 + 300,
		      CT_T0 + 20000, c4.id, CT_P2, 0);

	/* But an expired session, even one not purged yet, is not revived
	 * with its old login by a new binding. */
	b2.expires_ms = CT_T0 + 40000;
	struct otp_code_new c5 = ct_make_code(5, CT_P2, CT_T0 + CT_TTL + 30000);
	CHECK_INT(ct_issue(s, &c5, &b2, CT_T0 + 30000), 0);
	CT_SESSION_IS(s, b2.hash, CT_T0 + 30001, "", 0, CT_T0 + 40000, c5.id,
		      CT_P2, 0);
	otp_store_close(s);
}

/* Sessions without a local code (upstream mode). */
void ct_session_bind_upstream(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session_bind b = ct_make_bind(0xa1, CT_T0 + 5000);
	CHECK_INT(otp_store_session_bind(s, &b, "up-1", CT_P1, true, CT_T0), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 1, "", 0, CT_T0 + 5000, "up-1", CT_P1,
		      1);

	/* NULL keeps the pending code; the session never gets shorter. */
	b.expires_ms = CT_T0 + 3000;
	CHECK_INT(otp_store_session_bind(s, &b, NULL, NULL, true, CT_T0 + 10),
		  0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 11, "", 0, CT_T0 + 5000, "up-1", CT_P1,
		      2);

	/* A provider's id may be 64 characters long. */
	char longid[OTP_PENDING_MAX];
	memset(longid, 'z', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	b.expires_ms = CT_T0 + 9000;
	CHECK_INT(
	    otp_store_session_bind(s, &b, longid, CT_P2, false, CT_T0 + 20), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 21, "", 0, CT_T0 + 9000, longid, CT_P2,
		      2);
	/* "" clears it. */
	CHECK_INT(otp_store_session_bind(s, &b, "", NULL, false, CT_T0 + 30),
		  0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 31, "", 0, CT_T0 + 9000, "", "", 2);

	/* A local send bound to it sets the pending code and its phone, and
	 * counts no send. */
	struct otp_code_new c = ct_make_code(1, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0 + 40), 0);
	CT_SESSION_IS(s, b.hash, CT_T0 + 41, "", 0, CT_T0 + 9000, c.id, CT_P3,
		      2);

	/* An expired row, not purged yet, starts over: no login, no pending
	 * code, no sends carried over. */
	unsigned char new_hash[OTP_HASH_LEN];
	memset(new_hash, 0xa2, sizeof new_hash);
	CHECK_INT(otp_store_session_rotate(s, b.hash, new_hash, CT_P1,
					   CT_T0 + 10000, CT_T0 + 50),
		  0);
	struct otp_session_bind b2 = ct_make_bind(0xa2, CT_T0 + 6000);
	CHECK_INT(
	    otp_store_session_bind(s, &b2, "up-2", CT_P1, true, CT_T0 + 60), 0);
	/* live: the login stays */
	CT_SESSION_IS(s, b2.hash, CT_T0 + 61, CT_P1, CT_T0 + 50, CT_T0 + 10000,
		      "up-2", CT_P1, 1);
	b2.expires_ms = CT_T0 + 30000;
	CHECK_INT(
	    otp_store_session_bind(s, &b2, NULL, NULL, true, CT_T0 + 10000), 0);
	CT_SESSION_IS(s, b2.hash, CT_T0 + 10001, "", 0, CT_T0 + 30000, "", "",
		      1);
	otp_store_close(s);
}

void ct_session_rotate_op(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session sess;
	struct otp_session_bind b = ct_make_bind(0xb1, CT_T0 + 1000);
	CHECK_INT(otp_store_session_bind(s, &b, "up-1", CT_P1, true, CT_T0), 0);
	unsigned char h2[OTP_HASH_LEN], h3[OTP_HASH_LEN], h4[OTP_HASH_LEN];
	memset(h2, 0xb2, sizeof h2);
	memset(h3, 0xb3, sizeof h3);
	memset(h4, 0xb4, sizeof h4);
	CHECK_INT(otp_store_session_rotate(s, b.hash, h2, CT_P1, CT_T0 + CT_DAY,
					   CT_T0 + 10),
		  0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 11, &sess),
		  OTP_ENOTFOUND);
	CT_SESSION_IS(s, h2, CT_T0 + 11, CT_P1, CT_T0 + 10, CT_T0 + CT_DAY, "",
		      "", 0);

	/* The old one is gone: rotating it again changes nothing. */
	CHECK_INT(otp_store_session_rotate(s, b.hash, h3, CT_P2, CT_T0 + CT_DAY,
					   CT_T0 + 20),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(s, h3, CT_T0 + 21, &sess),
		  OTP_ENOTFOUND);

	/* An expired one (not purged) is dead too. */
	struct otp_session_bind b4 = ct_make_bind(0xb4, CT_T0 + 100);
	CHECK_INT(otp_store_session_bind(s, &b4, NULL, NULL, false, CT_T0), 0);
	CHECK_INT(otp_store_session_rotate(s, h4, h3, CT_P2, CT_T0 + CT_DAY,
					   CT_T0 + 100),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(s, h3, CT_T0 + 50, &sess),
		  OTP_ENOTFOUND);
	/* Still there before its expiry: nothing was deleted. */
	CHECK_INT(otp_store_session_get(s, h4, CT_T0 + 99, &sess), 0);
	otp_store_close(s);
}

/* Every session logged in as a phone goes, expired ones too; another
 * phone's, and one only waiting for a code to that phone, stay. */
void ct_session_revoke_phone(void)
{
	static const struct {
		unsigned char from, to;
		const char *phone;
		int64_t expires_ms;
	} logins[] = {
	    {0x21, 0x31, CT_P1, CT_T0 + CT_DAY},
	    {0x22, 0x32, CT_P1, CT_T0 + 100},
	    {0x23, 0x33, CT_P2, CT_T0 + CT_DAY},
	};
	struct otp_session_bind pend;
	struct otp_code_new c;
	struct otp_store *s = ct_open_bound(&pend, 0x10, CT_T0 + CT_DAY, &c);
	CHECK(s);
	unsigned char h[3][OTP_HASH_LEN];
	for (int i = 0; i < 3; i++) {
		struct otp_session_bind b =
		    ct_make_bind(logins[i].from, CT_T0 + CT_DAY);
		memset(h[i], logins[i].to, OTP_HASH_LEN);
		CHECK_INT(
		    otp_store_session_bind(s, &b, NULL, NULL, false, CT_T0), 0);
		CHECK_INT(
		    otp_store_session_rotate(s, b.hash, h[i], logins[i].phone,
					     logins[i].expires_ms, CT_T0 + 1),
		    0);
	}
	long n = -1;
	CHECK_INT(otp_store_session_revoke_phone(s, CT_P1, &n), 0);
	CHECK_INT(n, 2);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, h[0], CT_T0 + 2, &sess),
		  OTP_ENOTFOUND);
	CT_SESSION_IS(s, h[2], CT_T0 + 2, CT_P2, CT_T0 + 1, CT_T0 + CT_DAY, "",
		      "", 0);
	CT_SESSION_IS(s, pend.hash, CT_T0 + 2, "", 0, CT_T0 + CT_DAY, c.id,
		      CT_P1, 0);
	n = -1;
	CHECK_INT(otp_store_session_revoke_phone(s, CT_P1, &n), 0);
	CHECK_INT(n, 0);
	n = -1;
	CHECK_INT(otp_store_session_revoke_phone(s, "", &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(otp_store_session_get(s, pend.hash, CT_T0 + 2, &sess), 0);
	/* A phone is data, never code. */
	CHECK_INT(otp_store_session_revoke_phone(s, "' OR 1=1 --", &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(otp_store_session_get(s, h[2], CT_T0 + 2, &sess), 0);
	otp_store_close(s);
}

/* What a by_session try's MAC maker was asked for, and what it answers. */
struct ct_macs {
	unsigned char byte;
	char id[OTP_ID_LEN + 1];
	int calls;
};

static void ct_macs_of(const void *arg, const char *id,
		       unsigned char mac[OTP_MAC_LEN],
		       unsigned char mac_prev[OTP_MAC_LEN])
{
	struct ct_macs *m = (struct ct_macs *)arg;
	snprintf(m->id, sizeof m->id, "%s", id);
	m->calls++;
	memset(mac, m->byte, OTP_MAC_LEN);
	memset(mac_prev, 0, OTP_MAC_LEN);
}

/* A try that names its session (OTP_STORE_CAP_VERIFY_SESSION): the
 * session's pending code is tried, with MACs made for its id; the right
 * one rotates the session as a try by id does. No live session, or nothing
 * pending on it, is an error and changes nothing. */
void ct_verify_by_session(void)
{
	struct otp_session_bind b;
	struct otp_code_new c;
	struct otp_store *s = ct_open_bound(&b, 0x71, CT_T0 + CT_DAY, &c);
	CHECK(s);
	if (!(s->ops->caps & OTP_STORE_CAP_VERIFY_SESSION)) {
		otp_store_close(s);
		return;
	}
	struct ct_macs m = {.byte = CT_WRONG};
	struct otp_verify_in in =
	    ct_make_rotate("", 0, b.hash, 0x72, CT_T0 + 2 * CT_DAY);
	in.by_session = true;
	in.macs = ct_macs_of;
	in.macs_arg = &m;
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 10, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4);
	CHECK_STR(out.phone, CT_P1);
	CHECK_STR(m.id, c.id);
	CT_SESSION_IS(s, b.hash, CT_T0 + 11, "", 0, CT_T0 + CT_DAY, c.id, CT_P1,
		      0);

	/* No such session, or one that has expired: nothing is tried. */
	struct otp_verify_in none = in;
	memset(none.old_hash, 0x73, sizeof none.old_hash);
	CHECK_INT(otp_store_code_verify(s, &none, CT_T0 + 12, &out),
		  OTP_ENOTFOUND);
	CHECK_INT(out.result, OTP_VERIFY_NOTFOUND);
	CHECK_INT(otp_store_code_verify(s, &in, CT_T0 + CT_DAY, &out),
		  OTP_ENOTFOUND);
	CHECK_INT(m.calls, 1);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_INT(info.attempts_left, 4);

	/* The right code logs the session in; the new one has nothing
	 * pending. */
	m.byte = CT_RIGHT;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 13, &out), OTP_VERIFY_OK);
	CHECK_STR(out.phone, CT_P1);
	CT_SESSION_IS(s, in.new_hash, CT_T0 + 20, CT_P1, CT_T0 + 13,
		      CT_T0 + 2 * CT_DAY, "", "", 0);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 20, &sess),
		  OTP_ENOTFOUND);
	struct otp_verify_in next = in;
	memcpy(next.old_hash, in.new_hash, sizeof next.old_hash);
	memset(next.new_hash, 0x74, sizeof next.new_hash);
	CHECK_INT(otp_store_code_verify(s, &next, CT_T0 + 21, &out), OTP_EGONE);
	CHECK_INT(otp_store_session_get(s, next.new_hash, CT_T0 + 22, &sess),
		  OTP_ENOTFOUND);

	/* A session whose pending id is not a local code's: not found. */
	struct otp_session_bind up = ct_make_bind(0x75, CT_T0 + CT_DAY);
	CHECK_INT(otp_store_session_bind(s, &up, "up-1", CT_P2, true, CT_T0),
		  0);
	memcpy(next.old_hash, up.hash, sizeof next.old_hash);
	CHECK_INT(ct_verify(s, &next, CT_T0 + 23, &out), OTP_VERIFY_NOTFOUND);
	CHECK_INT(m.calls, 2);
	otp_store_close(s);
}
