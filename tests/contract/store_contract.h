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
	struct otp_issue in = {*c, body, sizeof body, bind, idem};
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
	    TEST(ct_purge)

#endif
