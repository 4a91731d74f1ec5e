/* store_contract.h - the conformance suite every store backend must pass.
 *
 * Written only against store.h, so the SQLite and Redis runners share it. A
 * runner sets contract_open to a function that opens a fresh, empty store on
 * every call, then lists CONTRACT_TESTS in its harness table. All time is
 * injected: tests pass `now` values around CT_T0 and never sleep; some go
 * back in time on purpose, since a store must not read a clock. What is a
 * backend's own business (files, schema versions, threads racing, exact
 * purge counts) is tested in that backend's runner, not here.
 */
#ifndef OTP_TESTS_STORE_CONTRACT_H
#define OTP_TESTS_STORE_CONTRACT_H

#include <stdio.h>
#include <string.h>

#include "harness.h"

#include "core/err.h"
#include "store/store.h"

/* Set by the runner: opens a fresh, empty store. */
static int (*contract_open)(struct otp_store **out);

#define CT_T0	 1700000000000LL
#define CT_TTL	 300000LL
#define CT_DAY	 (24LL * 60 * 60 * 1000)
#define CT_LEASE 30000LL
#define CT_P1	 "+14155550101"
#define CT_P2	 "+14155550102"
#define CT_P3	 "+14155550103"
#define CT_RIGHT 0xa1 /* every byte of the right code's MAC */
#define CT_WRONG 0xb2

static struct otp_store *ct_open(void)
{
	struct otp_store *s = NULL;
	if (contract_open(&s) != 0)
		return NULL;
	return s;
}

/* Code number n for phone, right MAC CT_RIGHT, 5 attempts. */
static struct otp_code_new ct_make_code(unsigned n, const char *phone,
					int64_t expires_ms)
{
	struct otp_code_new c;
	memset(&c, 0, sizeof c);
	snprintf(c.id, sizeof c.id, "%032x", n);
	snprintf(c.phone, sizeof c.phone, "%s", phone);
	memset(c.mac, CT_RIGHT, sizeof c.mac);
	c.attempts = 5;
	c.expires_ms = expires_ms;
	return c;
}

/* Issues c (optionally bound, optionally under an idempotency key) with a
 * 40-byte body made from its id; *out gets the answer if out is given. */
static int ct_issue_full(struct otp_store *s, const struct otp_code_new *c,
			 const struct otp_session_bind *bind,
			 const struct otp_idem *idem, int64_t now,
			 struct otp_issue_out *out)
{
	/* Bodies are opaque bytes: NUL and 0xff included on purpose. */
	unsigned char body[40] = {0, 1, 0xff};
	memcpy(body + 3, c->id, OTP_ID_LEN);
	struct otp_issue in = {*c, body, sizeof body, bind, idem, NULL, 0};
	struct otp_issue_out o;
	return otp_store_code_issue(s, &in, now, out ? out : &o);
}

static int ct_issue(struct otp_store *s, const struct otp_code_new *c,
		    const struct otp_session_bind *bind, int64_t now)
{
	return ct_issue_full(s, c, bind, NULL, now, NULL);
}

static struct otp_verify_in ct_make_try(const char *id, unsigned char mac)
{
	struct otp_verify_in in;
	memset(&in, 0, sizeof in);
	snprintf(in.id, sizeof in.id, "%s", id);
	memset(in.mac, mac, sizeof in.mac);
	return in;
}

/* Verifies at now and returns the result, or -1 on an error. */
static int ct_verify(struct otp_store *s, const struct otp_verify_in *in,
		     int64_t now, struct otp_verify_out *out)
{
	int rc = otp_store_code_verify(s, in, now, out);
	return rc ? -1 : (int)out->result;
}

static struct otp_session_bind ct_make_bind(unsigned char b, int64_t expires_ms)
{
	struct otp_session_bind bind;
	memset(bind.hash, b, sizeof bind.hash);
	bind.expires_ms = expires_ms;
	return bind;
}

static struct otp_limit ct_make_limit(const char *key, int64_t interval_ms,
				      int64_t burst)
{
	struct otp_limit l;
	memset(&l, 0, sizeof l);
	snprintf(l.key, sizeof l.key, "%s", key);
	l.rate.interval_ms = interval_ms;
	l.rate.burst = burst;
	return l;
}

static int ct_get_state(struct otp_store *s, const char *request_id)
{
	enum otp_msg_state st;
	int rc = otp_store_outbox_state(s, request_id, &st);
	return rc ? rc : (int)st;
}

static void ct_ping(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	CHECK_INT(otp_store_ping(s), 0);
	otp_store_close(s);
}

static void ct_verify_ok_then_used(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);
	CHECK_STR(out.phone, CT_P1);
	CHECK_INT(out.attempts_left, 5);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_USED);
	CHECK_STR(out.phone, CT_P1);
	otp_store_close(s);
}

static void ct_verify_notfound(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in in =
	    ct_make_try("0000000000000000000000000000ffff", CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_NOTFOUND);
	CHECK_STR(out.phone, "");
	otp_store_close(s);
}

static void ct_wrong_until_dead(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
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

static void ct_expired_not_counted(void)
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

static void ct_resend_retires(void)
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

static void ct_force_fail_counts(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	in.force_fail = true;
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4);
	in.force_fail = false;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_OK);

	struct otp_code_new d = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &d, NULL, CT_T0), 0);
	in = ct_make_try(d.id, CT_RIGHT);
	in.force_fail = true;
	for (int i = 0; i < 5; i++)
		CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_WRONG);
	in.force_fail = false;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 4, &out), OTP_VERIFY_DEAD);
	otp_store_close(s);
}

/* A code tried for another phone than its own counts the attempt and is
 * not accepted, in the same atomic step. */
static void ct_expect_phone(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	snprintf(in.expect_phone, sizeof in.expect_phone, "%s", CT_P2);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4);
	snprintf(in.expect_phone, sizeof in.expect_phone, "%s", CT_P1);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_OK);
	CHECK_STR(out.phone, CT_P1);
	otp_store_close(s);
}

/* A failed issue (here: a duplicate id) leaves nothing behind: the earlier
 * code of that phone is not retired and no second message is queued. */
static void ct_issue_atomic(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_session_bind b = ct_make_bind(0x33, CT_T0 + CT_DAY);
	CHECK(ct_issue(s, &c, &b, CT_T0 + 1) != 0);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 2, &sess),
		  OTP_ENOTFOUND);
	struct otp_msg m[4];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 2, CT_LEASE, m, 4, &n), 0);
	CHECK_INT(n, 1);
	otp_msg_deinit(&m[0]);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

static void ct_rotate(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session_bind b = ct_make_bind(0x11, CT_T0 + CT_DAY);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	in.rotate = true;
	memset(in.old_hash, 0x11, sizeof in.old_hash);
	memset(in.new_hash, 0x22, sizeof in.new_hash);
	in.session_expires_ms = CT_T0 + 2 * CT_DAY;
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 10, &out), OTP_VERIFY_OK);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, in.old_hash, CT_T0 + 20, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(s, in.new_hash, CT_T0 + 20, &sess), 0);
	CHECK_STR(sess.phone, CT_P1);
	CHECK_INT(sess.authenticated_ms, CT_T0 + 10);
	CHECK_INT(sess.expires_ms, CT_T0 + 2 * CT_DAY);
	CHECK_STR(sess.pending_id, "");
	CHECK_STR(sess.pending_phone, "");
	CHECK_INT(sess.sends, 0);
	otp_store_close(s);
}

static void ct_rotate_only_on_ok(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session_bind b = ct_make_bind(0x11, CT_T0 + CT_DAY);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_WRONG);
	in.rotate = true;
	memset(in.old_hash, 0x11, sizeof in.old_hash);
	memset(in.new_hash, 0x22, sizeof in.new_hash);
	in.session_expires_ms = CT_T0 + 2 * CT_DAY;
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 10, &out), OTP_VERIFY_WRONG);
	memset(in.mac, CT_RIGHT, sizeof in.mac);
	in.force_fail = true;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 11, &out), OTP_VERIFY_WRONG);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, in.new_hash, CT_T0 + 20, &sess),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(s, in.old_hash, CT_T0 + 20, &sess), 0);
	CHECK_STR(sess.pending_id, c.id);
	CHECK_STR(sess.phone, "");
	otp_store_close(s);
}

static void ct_session_expiry(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session_bind b = ct_make_bind(0x44, CT_T0 + 1000);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
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

static void ct_session_bind(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session sess;
	struct otp_session_bind b = ct_make_bind(0x55, CT_T0 + 5000);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, &b, CT_T0), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 1, &sess), 0);
	CHECK_STR(sess.phone, "");
	CHECK_INT(sess.authenticated_ms, 0);
	CHECK_INT(sess.expires_ms, CT_T0 + 5000);
	CHECK_STR(sess.pending_id, c1.id);
	CHECK_STR(sess.pending_phone, CT_P1);
	CHECK_INT(sess.sends, 0);

	/* A resend binds the new code; the session never gets shorter. */
	b.expires_ms = CT_T0 + 3000;
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_TTL + 100);
	CHECK_INT(ct_issue(s, &c2, &b, CT_T0 + 100), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 101, &sess), 0);
	CHECK_STR(sess.pending_id, c2.id);
	CHECK_INT(sess.expires_ms, CT_T0 + 5000);
	b.expires_ms = CT_T0 + 9000;
	struct otp_code_new c3 = ct_make_code(3, CT_P1, CT_T0 + CT_TTL + 200);
	CHECK_INT(ct_issue(s, &c3, &b, CT_T0 + 200), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 201, &sess), 0);
	CHECK_STR(sess.pending_id, c3.id);
	CHECK_INT(sess.expires_ms, CT_T0 + 9000);

	/* Binding a logged-in session keeps its login. */
	struct otp_verify_in in = ct_make_try(c3.id, CT_RIGHT);
	in.rotate = true;
	memcpy(in.old_hash, b.hash, sizeof in.old_hash);
	memset(in.new_hash, 0x66, sizeof in.new_hash);
	in.session_expires_ms = CT_T0 + 20000;
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 300, &out), OTP_VERIFY_OK);
	struct otp_session_bind b2 = ct_make_bind(0x66, CT_T0 + 10000);
	struct otp_code_new c4 = ct_make_code(4, CT_P2, CT_T0 + CT_TTL + 400);
	CHECK_INT(ct_issue(s, &c4, &b2, CT_T0 + 400), 0);
	CHECK_INT(otp_store_session_get(s, b2.hash, CT_T0 + 401, &sess), 0);
	CHECK_STR(sess.phone, CT_P1);
	CHECK_INT(sess.authenticated_ms, CT_T0 + 300);
	CHECK_INT(sess.expires_ms, CT_T0 + 20000);
	CHECK_STR(sess.pending_id, c4.id);
	CHECK_STR(sess.pending_phone, CT_P2);

	/* But an expired session, even one not purged yet, is not revived
	 * with its old login by a new binding. */
	b2.expires_ms = CT_T0 + 40000;
	struct otp_code_new c5 = ct_make_code(5, CT_P2, CT_T0 + CT_TTL + 30000);
	CHECK_INT(ct_issue(s, &c5, &b2, CT_T0 + 30000), 0);
	CHECK_INT(otp_store_session_get(s, b2.hash, CT_T0 + 30001, &sess), 0);
	CHECK_STR(sess.phone, "");
	CHECK_INT(sess.authenticated_ms, 0);
	CHECK_INT(sess.expires_ms, CT_T0 + 40000);
	CHECK_STR(sess.pending_id, c5.id);
	otp_store_close(s);
}

static void ct_limit_burst(void)
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

static void ct_limit_all_or_nothing(void)
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

static void ct_limit_disabled(void)
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

static void ct_outbox_claim_body(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	unsigned char body[] = {0, 's', 'e', 'a', 'l', 0xff, 0, 7};
	struct otp_issue in = {
	    .code = c, .body = body, .body_len = sizeof body};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c.id);
	CHECK_INT(o.expires_ms, c.expires_ms);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	struct otp_msg m[4];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK(m[0].id > 0);
	CHECK_STR(m[0].request_id, c.id);
	CHECK_STR(m[0].to, CT_P1);
	CHECK_INT(m[0].body_len, sizeof body);
	CHECK(memcmp(m[0].body, body, sizeof body) == 0);
	CHECK_INT(m[0].attempts, 1);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].expires_ms, CT_T0 + CT_TTL);
	otp_msg_deinit(&m[0]);
	CHECK(m[0].body == NULL);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENDING);
	otp_store_close(s);
}

static void ct_outbox_lease(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	int64_t id = m[0].id;
	otp_msg_deinit(&m[0]);
	CHECK_INT(
	    otp_store_outbox_claim(s, CT_T0 + CT_LEASE - 1, CT_LEASE, m, 2, &n),
	    0);
	CHECK_INT(n, 0);
	/* The worker died: after the lease the message is delivered again. */
	CHECK_INT(
	    otp_store_outbox_claim(s, CT_T0 + CT_LEASE, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(m[0].id, id);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 2 * CT_LEASE - 1, CT_LEASE,
					 m, 2, &n),
		  0);
	CHECK_INT(n, 0);
	otp_store_close(s);
}

static void ct_outbox_ack(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 5),
		  0);
	/* Settled: the same lease cannot settle it again. */
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 6),
		  OTP_ENOTFOUND);
	otp_msg_deinit(&m[0]);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 10 * CT_LEASE, CT_LEASE, m,
					 2, &n),
		  0);
	CHECK_INT(n, 0);
	otp_store_close(s);
}

static void ct_outbox_retry(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	int64_t id = m[0].id;
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_retry(s, id, 1, CT_T0 + 5000, 0, "timeout",
					 CT_T0 + 1),
		  0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 4999, CT_LEASE, m, 2, &n),
		  0);
	CHECK_INT(n, 0);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 5000, CT_LEASE, m, 2, &n),
		  0);
	CHECK_INT(n, 1);
	CHECK_INT(m[0].id, id);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_retry(s, id, 2, CT_T0 + 6000, 0, NULL,
					 CT_T0 + 5001),
		  0);
	otp_store_close(s);
}

static void ct_outbox_fail(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(otp_store_outbox_fail(s, m[0].id, 1, OTP_MSG_FAILED,
					"rejected", CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_fail(s, m[1].id, 1, OTP_MSG_EXPIRED, NULL,
					CT_T0 + 1),
		  0);
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m[1]);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_FAILED);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_EXPIRED);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 10 * CT_LEASE, CT_LEASE, m,
					 2, &n),
		  0);
	CHECK_INT(n, 0);
	otp_store_close(s);
}

static void ct_outbox_order(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c[3] = {
	    ct_make_code(7, CT_P1, CT_T0 + CT_TTL),
	    ct_make_code(3, CT_P2, CT_T0 + CT_TTL),
	    ct_make_code(5, CT_P3, CT_T0 + CT_TTL),
	};
	for (int i = 0; i < 3; i++)
		CHECK_INT(ct_issue(s, &c[i], NULL, CT_T0 + i), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 5, CT_LEASE, m, 0, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 5, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(m[0].request_id, c[0].id);
	CHECK_STR(m[1].request_id, c[1].id);
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m[1]);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 5, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(m[0].request_id, c[2].id);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 5, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 0);
	/* Nothing is due before it was queued. */
	struct otp_code_new d = ct_make_code(9, CT_P1, CT_T0 + CT_TTL + 1000);
	CHECK_INT(ct_issue(s, &d, NULL, CT_T0 + 1000), 0);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 999, CT_LEASE, m, 2, &n),
		  0);
	CHECK_INT(n, 0);
	otp_store_close(s);
}

static void ct_outbox_state_notfound(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	CHECK_INT(ct_get_state(s, "0000000000000000000000000000abcd"),
		  OTP_ENOTFOUND);
	otp_store_close(s);
}

/* Observable effects only; exact counts are each backend's business. */
static void ct_purge(void)
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
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 1, &n), 0);
	CHECK_INT(n, 0);
	otp_store_close(s);
}

/* ---- version 2: idempotency, status, upstream sessions, API keys,
 * leases, delivery reports, requeue, listing ---- */

/* An 83-character key, as the provider API makes them; keys that differ
 * only in their last character must stay apart. */
#define CT_IDEM_A                                                              \
	"k:0123456789abcdef:"                                                  \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddee0a"
#define CT_IDEM_B                                                              \
	"k:0123456789abcdef:"                                                  \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddee0b"

static struct otp_idem ct_make_idem(const char *key, int64_t expires_ms)
{
	struct otp_idem k;
	memset(&k, 0, sizeof k);
	snprintf(k.key, sizeof k.key, "%s", key);
	k.expires_ms = expires_ms;
	return k;
}

/* How many messages are due at now (claims them, and frees them). */
static int ct_claim_count(struct otp_store *s, int64_t now)
{
	struct otp_msg m[8];
	size_t n = 0;
	if (otp_store_outbox_claim(s, now, CT_LEASE, m, 8, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		otp_msg_deinit(&m[i]);
	return (int)n;
}

/* Claims exactly one message at now into *m, or fails the test. */
#define CT_CLAIM1(s, now, m)                                                   \
	do {                                                                   \
		size_t n1_ = 9;                                                \
		CHECK_INT(                                                     \
		    otp_store_outbox_claim(s, now, CT_LEASE, m, 1, &n1_), 0);  \
		CHECK_INT(n1_, 1);                                             \
	} while (0)

static void ct_idem_replay(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &c1, NULL, &k, CT_T0, &o), 0);
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
static void ct_issue_limits(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit lim[2] = {{"cd:" CT_P1, {30000, 1}},
				   {"ph:" CT_P1, {720000, 5}}};
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	unsigned char body[8] = {1};
	struct otp_issue in = {c1, body, sizeof body, NULL, &k, lim, 2};
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

static void ct_idem_conflict(void)
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
static void ct_idem_expiry(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &c1, NULL, &k, CT_T0, &o), 0);
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_DAY);
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + CT_DAY - 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);

	/* Expired: another phone is no conflict, and gets its own code. */
	k.expires_ms = CT_T0 + 2 * CT_DAY;
	struct otp_code_new c3 =
	    ct_make_code(3, CT_P2, CT_T0 + CT_DAY + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c3, NULL, &k, CT_T0 + CT_DAY, &o), 0);
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

static void ct_code_get(void)
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

/* Sessions without a local code (upstream mode). */
static void ct_session_bind_upstream(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_session sess;
	struct otp_session_bind b = ct_make_bind(0xa1, CT_T0 + 5000);
	CHECK_INT(otp_store_session_bind(s, &b, "up-1", CT_P1, true, CT_T0), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 1, &sess), 0);
	CHECK_STR(sess.phone, "");
	CHECK_INT(sess.authenticated_ms, 0);
	CHECK_INT(sess.expires_ms, CT_T0 + 5000);
	CHECK_STR(sess.pending_id, "up-1");
	CHECK_STR(sess.pending_phone, CT_P1);
	CHECK_INT(sess.sends, 1);

	/* NULL keeps the pending code; the session never gets shorter. */
	b.expires_ms = CT_T0 + 3000;
	CHECK_INT(otp_store_session_bind(s, &b, NULL, NULL, true, CT_T0 + 10),
		  0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 11, &sess), 0);
	CHECK_STR(sess.pending_id, "up-1");
	CHECK_STR(sess.pending_phone, CT_P1);
	CHECK_INT(sess.expires_ms, CT_T0 + 5000);
	CHECK_INT(sess.sends, 2);

	/* A provider's id may be 64 characters long. */
	char longid[OTP_PENDING_MAX];
	memset(longid, 'z', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	b.expires_ms = CT_T0 + 9000;
	CHECK_INT(
	    otp_store_session_bind(s, &b, longid, CT_P2, false, CT_T0 + 20), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 21, &sess), 0);
	CHECK_STR(sess.pending_id, longid);
	CHECK_STR(sess.pending_phone, CT_P2);
	CHECK_INT(sess.expires_ms, CT_T0 + 9000);
	CHECK_INT(sess.sends, 2);
	/* "" clears it. */
	CHECK_INT(otp_store_session_bind(s, &b, "", NULL, false, CT_T0 + 30),
		  0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 31, &sess), 0);
	CHECK_STR(sess.pending_id, "");
	CHECK_STR(sess.pending_phone, "");
	CHECK_INT(sess.sends, 2);

	/* A local send bound to it sets the pending code and its phone, and
	 * counts no send. */
	struct otp_code_new c = ct_make_code(1, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0 + 40), 0);
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 41, &sess), 0);
	CHECK_STR(sess.pending_id, c.id);
	CHECK_STR(sess.pending_phone, CT_P3);
	CHECK_INT(sess.sends, 2);

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
	CHECK_INT(otp_store_session_get(s, b2.hash, CT_T0 + 61, &sess), 0);
	CHECK_STR(sess.phone, CT_P1); /* live: the login stays */
	CHECK_INT(sess.authenticated_ms, CT_T0 + 50);
	CHECK_INT(sess.expires_ms, CT_T0 + 10000);
	CHECK_STR(sess.pending_id, "up-2");
	CHECK_INT(sess.sends, 1);
	b2.expires_ms = CT_T0 + 30000;
	CHECK_INT(
	    otp_store_session_bind(s, &b2, NULL, NULL, true, CT_T0 + 10000), 0);
	CHECK_INT(otp_store_session_get(s, b2.hash, CT_T0 + 10001, &sess), 0);
	CHECK_STR(sess.phone, "");
	CHECK_INT(sess.authenticated_ms, 0);
	CHECK_INT(sess.expires_ms, CT_T0 + 30000);
	CHECK_STR(sess.pending_id, "");
	CHECK_STR(sess.pending_phone, "");
	CHECK_INT(sess.sends, 1);
	otp_store_close(s);
}

static void ct_session_rotate_op(void)
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
	CHECK_INT(otp_store_session_get(s, h2, CT_T0 + 11, &sess), 0);
	CHECK_STR(sess.phone, CT_P1);
	CHECK_INT(sess.authenticated_ms, CT_T0 + 10);
	CHECK_INT(sess.expires_ms, CT_T0 + CT_DAY);
	CHECK_STR(sess.pending_id, "");
	CHECK_STR(sess.pending_phone, "");
	CHECK_INT(sess.sends, 0);

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

static struct otp_apikey ct_make_key(const char *id, const char *name,
				     unsigned char h, int64_t created_ms)
{
	struct otp_apikey k;
	memset(&k, 0, sizeof k);
	snprintf(k.id, sizeof k.id, "%s", id);
	snprintf(k.name, sizeof k.name, "%s", name);
	memset(k.hash, h, sizeof k.hash);
	k.created_ms = created_ms;
	return k;
}

static void ct_apikeys(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_apikey got[4];
	size_t n = 9;
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 0);
	struct otp_apikey k1 =
	    ct_make_key("00000000000000b1", "shop", 1, CT_T0 + 20);
	struct otp_apikey k2 =
	    ct_make_key("00000000000000a2", "app 'x'", 2, CT_T0 + 10);
	struct otp_apikey k3 =
	    ct_make_key("00000000000000a1", "ci", 3, CT_T0 + 10);
	CHECK_INT(otp_store_apikey_put(s, &k1), 0);
	CHECK_INT(otp_store_apikey_put(s, &k2), 0);
	CHECK_INT(otp_store_apikey_put(s, &k3), 0);
	struct otp_apikey dup = ct_make_key(k1.id, "other", 9, CT_T0 + 30);
	CHECK_INT(otp_store_apikey_put(s, &dup), OTP_ECONFLICT);

	CHECK_INT(otp_store_apikey_get(s, k1.id, &got[0]), 0);
	CHECK_STR(got[0].id, k1.id);
	CHECK_STR(got[0].name, "shop"); /* the duplicate changed nothing */
	CHECK(memcmp(got[0].hash, k1.hash, OTP_HASH_LEN) == 0);
	CHECK_INT(got[0].created_ms, CT_T0 + 20);
	CHECK_INT(got[0].revoked_ms, 0);
	CHECK_INT(otp_store_apikey_get(s, "00000000000000ff", &got[0]),
		  OTP_ENOTFOUND);

	/* Oldest first, then by id. */
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(got[0].id, k3.id);
	CHECK_STR(got[1].id, k2.id);
	CHECK_STR(got[1].name, "app 'x'");
	CHECK_STR(got[2].id, k1.id);
	CHECK_INT(otp_store_apikey_list(s, got, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(got[1].id, k2.id);
	CHECK_INT(otp_store_apikey_list(s, got, 0, &n), 0);
	CHECK_INT(n, 0);

	/* Revoked: still there, and the first time stays. */
	CHECK_INT(otp_store_apikey_revoke(s, k2.id, CT_T0 + 40), 0);
	CHECK_INT(otp_store_apikey_revoke(s, k2.id, CT_T0 + 50), 0);
	CHECK_INT(otp_store_apikey_get(s, k2.id, &got[0]), 0);
	CHECK_INT(got[0].revoked_ms, CT_T0 + 40);
	CHECK_INT(otp_store_apikey_get(s, k3.id, &got[0]), 0);
	CHECK_INT(got[0].revoked_ms, 0);
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(got[1].revoked_ms, CT_T0 + 40);
	CHECK_INT(otp_store_apikey_revoke(s, "00000000000000ff", CT_T0 + 60),
		  OTP_ENOTFOUND);
	otp_store_close(s);
}

/* A worker whose lease ran out and whose message was claimed again can
 * settle nothing: only the newest claim's token works. */
static void ct_outbox_lease_token(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_msg m[1], m2[1];
	CT_CLAIM1(s, CT_T0, m);
	CHECK_INT(m[0].attempts, 1);
	CT_CLAIM1(s, CT_T0 + CT_LEASE, m2);
	CHECK_INT(m2[0].id, m[0].id);
	CHECK_INT(m2[0].attempts, 2);
	int64_t id = m[0].id;
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m2[0]);

	CHECK_INT(otp_store_outbox_ack(s, id, 1, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_retry(s, id, 1, CT_T0 + CT_LEASE + 9, 1,
					 "stale", CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, id, 1, OTP_MSG_FAILED, "stale",
					CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, id, 1, OTP_MSG_EXPIRED, "stale",
					CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_ack(s, id, 3, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND); /* a token never handed out */
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENDING);
	CHECK_INT(ct_claim_count(s, CT_T0 + 2 * CT_LEASE - 1), 0);

	/* The newest claim settles it, once. */
	CHECK_INT(otp_store_outbox_ack(s, id, 2, CT_T0 + CT_LEASE + 2), 0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_retry(s, id, 2, CT_T0 + CT_LEASE + 9, 0,
					 "late", CT_T0 + CT_LEASE + 3),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, id, 2, OTP_MSG_FAILED, "late",
					CT_T0 + CT_LEASE + 3),
		  OTP_ENOTFOUND);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_ack(s, id + 1000, 1, CT_T0), OTP_ENOTFOUND);
	otp_store_close(s);
}

static void ct_outbox_retry_driver(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0, m);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, m[0].attempts,
					 CT_T0 + 1000, 2, "gw down", CT_T0 + 1),
		  0);
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 1000, m);
	CHECK_INT(m[0].driver, 2);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	/* The lease running out keeps the driver too. */
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 1000 + CT_LEASE, m);
	CHECK_INT(m[0].driver, 2);
	CHECK_INT(m[0].attempts, 3);
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, m[0].attempts,
					 CT_T0 + 2000 + CT_LEASE, 0, "back",
					 CT_T0 + 1001 + CT_LEASE),
		  0);
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 2000 + CT_LEASE, m);
	CHECK_INT(m[0].driver, 0);
	otp_msg_deinit(&m[0]);
	otp_store_close(s);
}

static void ct_outbox_report(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0, m);
	int64_t id = m[0].id;
	/* A report that overtakes the ack changes nothing. */
	CHECK_INT(otp_store_outbox_report(s, id, OTP_MSG_DELIVERED, CT_T0 + 1),
		  OTP_EGONE);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_SENDING);
	CHECK_INT(otp_store_outbox_ack(s, id, m[0].attempts, CT_T0 + 2), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(
	    otp_store_outbox_report(s, id, OTP_MSG_UNDELIVERED, CT_T0 + 3), 0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_UNDELIVERED);
	/* Gateways send several reports; the last one wins. */
	CHECK_INT(otp_store_outbox_report(s, id, OTP_MSG_DELIVERED, CT_T0 + 4),
		  0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_DELIVERED);
	CHECK(otp_store_outbox_report(s, id, OTP_MSG_SENT, CT_T0 + 5) < 0);
	CHECK(otp_store_outbox_report(s, id, OTP_MSG_QUEUED, CT_T0 + 5) < 0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_DELIVERED);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);

	/* Queued, or dead-lettered: not reportable. Unknown: not found. */
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0 + 6), 0);
	struct otp_msg_info l[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_QUEUED, l, 2, &n), 0);
	CHECK_INT(n, 1);
	int64_t id2 = l[0].id;
	CHECK_INT(otp_store_outbox_report(s, id2, OTP_MSG_DELIVERED, CT_T0 + 7),
		  OTP_EGONE);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_QUEUED);
	CT_CLAIM1(s, CT_T0 + 8, m);
	CHECK_INT(m[0].id, id2);
	CHECK_INT(otp_store_outbox_fail(s, m[0].id, m[0].attempts,
					OTP_MSG_FAILED, "no", CT_T0 + 9),
		  0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(
	    otp_store_outbox_report(s, id2, OTP_MSG_DELIVERED, CT_T0 + 10),
	    OTP_EGONE);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_FAILED);
	CHECK_INT(
	    otp_store_outbox_report(s, id + 1000, OTP_MSG_DELIVERED, CT_T0),
	    OTP_ENOTFOUND);
	otp_store_close(s);
}

static void ct_outbox_requeue(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_code_new c3 = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c3, NULL, CT_T0), 0);
	struct otp_msg m[3];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 3, &n), 0);
	CHECK_INT(n, 3);
	int64_t failed = m[0].id, expired = m[1].id, sent = m[2].id;
	CHECK_INT(otp_store_outbox_retry(s, failed, 1, CT_T0 + 10, 3, "gw",
					 CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_fail(s, expired, 1, OTP_MSG_EXPIRED, "late",
					CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_ack(s, sent, 1, CT_T0 + 1), 0);
	for (int i = 0; i < 3; i++)
		otp_msg_deinit(&m[i]);
	CHECK_INT(otp_store_outbox_requeue(s, failed, CT_T0 + 2),
		  OTP_EGONE); /* queued, not failed */
	CT_CLAIM1(s, CT_T0 + 10, m);
	CHECK_INT(m[0].driver, 3);
	CHECK_INT(otp_store_outbox_fail(s, failed, 2, OTP_MSG_FAILED,
					"out of tries", CT_T0 + 11),
		  0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(ct_claim_count(s, CT_T0 + 100), 0);

	/* FAILED kept its body: back in the queue, due now, driver 0, and
	 * its attempts go on growing. */
	CHECK_INT(otp_store_outbox_requeue(s, failed, CT_T0 + 100), 0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_QUEUED);
	CHECK_INT(ct_claim_count(s, CT_T0 + 99), 0);
	CT_CLAIM1(s, CT_T0 + 100, m);
	CHECK_INT(m[0].id, failed);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].attempts, 3);
	CHECK_INT(m[0].body_len, 40);
	CHECK(memcmp(m[0].body + 3, c1.id, OTP_ID_LEN) == 0);
	CHECK_INT(otp_store_outbox_ack(s, failed, 3, CT_T0 + 101), 0);
	otp_msg_deinit(&m[0]);

	/* EXPIRED wiped it; SENT and unknown ones are no dead letters. */
	CHECK_INT(otp_store_outbox_requeue(s, expired, CT_T0 + 102), OTP_EGONE);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_EXPIRED);
	CHECK_INT(otp_store_outbox_requeue(s, sent, CT_T0 + 102), OTP_EGONE);
	CHECK_INT(ct_get_state(s, c3.id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_requeue(s, sent + 1000, CT_T0 + 102),
		  OTP_ENOTFOUND);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);
	otp_store_close(s);
}

static void ct_outbox_list(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_msg_info l[4];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, -1, l, 4, &n), 0);
	CHECK_INT(n, 0);
	struct otp_code_new c[3] = {
	    ct_make_code(1, CT_P1, CT_T0 + CT_TTL),
	    ct_make_code(2, CT_P2, CT_T0 + CT_TTL),
	    ct_make_code(3, CT_P3, CT_T0 + CT_TTL),
	};
	for (int i = 0; i < 3; i++)
		CHECK_INT(ct_issue(s, &c[i], NULL, CT_T0 + i), 0);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0 + 10, m); /* the oldest: c[0] */
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, 1, CT_T0 + 5000, 1,
					 "timeout", CT_T0 + 11),
		  0);
	otp_msg_deinit(&m[0]);

	CHECK_INT(otp_store_outbox_list(s, -1, l, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(l[0].request_id, c[2].id); /* newest first */
	CHECK_STR(l[1].request_id, c[1].id);
	CHECK_STR(l[2].request_id, c[0].id);
	CHECK(l[0].id > l[1].id && l[1].id > l[2].id);
	CHECK_STR(l[2].to, CT_P1);
	CHECK_INT(l[2].state, OTP_MSG_QUEUED);
	CHECK_INT(l[2].attempts, 1);
	CHECK_INT(l[2].driver, 1);
	CHECK_INT(l[2].next_ms, CT_T0 + 5000);
	CHECK_INT(l[2].expires_ms, CT_T0 + CT_TTL);
	CHECK_INT(l[2].updated_ms, CT_T0 + 11);
	CHECK_STR(l[2].last_error, "timeout");
	CHECK_INT(l[0].attempts, 0);
	CHECK_STR(l[0].last_error, "");
	CHECK_INT(otp_store_outbox_list(s, -1, l, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(l[1].request_id, c[1].id);

	/* By state. */
	CT_CLAIM1(s, CT_T0 + 20, m); /* c[1] */
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, 1, CT_T0 + 21), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_QUEUED, l, 4, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(l[0].request_id, c[2].id);
	CHECK_STR(l[1].request_id, c[0].id);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_SENT, l, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].request_id, c[1].id);
	CHECK_INT(l[0].updated_ms, CT_T0 + 21);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_FAILED, l, 4, &n), 0);
	CHECK_INT(n, 0);
	CHECK(otp_store_outbox_list(s, OTP_MSG_EXPIRED + 1, l, 4, &n) < 0);
	otp_store_close(s);
}

/* Purge removes expired idempotency keys and keeps live ones; the key is
 * then free for a fresh send. */
static void ct_purge_idem(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &c1, NULL, &k, CT_T0, &o), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0 + CT_DAY - 1, &removed), 0);
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_DAY);
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + CT_DAY - 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c1.id);

	CHECK_INT(otp_store_purge(s, CT_T0 + CT_DAY, &removed), 0);
	k.expires_ms = CT_T0 + 2 * CT_DAY;
	struct otp_code_new c3 =
	    ct_make_code(3, CT_P2, CT_T0 + CT_DAY + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c3, NULL, &k, CT_T0 + CT_DAY, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c3.id);
	struct otp_code_new c4 =
	    ct_make_code(4, CT_P2, CT_T0 + CT_DAY + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c4, NULL, &k, CT_T0 + CT_DAY + 1, &o), 0);
	CHECK(o.replayed);
	CHECK_STR(o.id, c3.id);
	otp_store_close(s);
}

/* Code n of phone owned by `owner`. */
static struct otp_code_new ct_make_owned(unsigned n, const char *phone,
					 const char *owner)
{
	struct otp_code_new c = ct_make_code(n, phone, CT_T0 + CT_TTL);
	snprintf(c.owner, sizeof c.owner, "%s", owner);
	return c;
}

/* A send retires only its own owner's pending codes of the phone. */
static void ct_owner_retire(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new a1 = ct_make_owned(1, CT_P1, "k:a");
	struct otp_code_new b1 = ct_make_owned(2, CT_P1, "s:b");
	struct otp_code_new a2 = ct_make_owned(3, CT_P1, "k:a");
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
static void ct_owner_verify(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_owned(1, CT_P1, "k:a");
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
static void ct_issue_which_limit(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_limit lim[3] = {{"cd:" CT_P1, {1000, 1}},
				   {"ph:" CT_P1, {720000, 1}},
				   {"pi:" CT_P1, {0, 1}}};
	unsigned char body[8] = {1};
	struct otp_issue in = {ct_make_code(1, CT_P1, CT_T0 + CT_TTL),
			       body,
			       sizeof body,
			       NULL,
			       NULL,
			       lim,
			       3};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	in.code = ct_make_code(2, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0 + 10, &o), OTP_ELIMITED);
	CHECK_INT(o.limit, 1);
	CHECK_INT(o.retry_ms, 720000 - 10);
	otp_store_close(s);
}

/* limit_give hands one token back; a key with no state stays so. */
static void ct_limit_give(void)
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

#define CONTRACT_TESTS                                                         \
	TEST(ct_ping), TEST(ct_verify_ok_then_used), TEST(ct_verify_notfound), \
	    TEST(ct_wrong_until_dead), TEST(ct_expired_not_counted),           \
	    TEST(ct_resend_retires), TEST(ct_force_fail_counts),               \
	    TEST(ct_expect_phone), TEST(ct_issue_atomic), TEST(ct_rotate),     \
	    TEST(ct_rotate_only_on_ok), TEST(ct_session_expiry),               \
	    TEST(ct_session_bind), TEST(ct_limit_burst),                       \
	    TEST(ct_limit_all_or_nothing), TEST(ct_limit_disabled),            \
	    TEST(ct_outbox_claim_body), TEST(ct_outbox_lease),                 \
	    TEST(ct_outbox_ack), TEST(ct_outbox_retry), TEST(ct_outbox_fail),  \
	    TEST(ct_outbox_order), TEST(ct_outbox_state_notfound),             \
	    TEST(ct_purge), TEST(ct_idem_replay), TEST(ct_idem_conflict),      \
	    TEST(ct_issue_limits), TEST(ct_idem_expiry), TEST(ct_code_get),    \
	    TEST(ct_session_bind_upstream), TEST(ct_session_rotate_op),        \
	    TEST(ct_apikeys), TEST(ct_outbox_lease_token),                     \
	    TEST(ct_outbox_retry_driver), TEST(ct_outbox_report),              \
	    TEST(ct_outbox_requeue), TEST(ct_outbox_list),                     \
	    TEST(ct_purge_idem), TEST(ct_owner_retire), TEST(ct_owner_verify), \
	    TEST(ct_issue_which_limit), TEST(ct_limit_give)

#endif
