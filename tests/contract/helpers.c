/* helpers.c - the builders the store contract and the backend runners share.
 *
 * Codes, tries, bindings, limits, idempotency keys and API keys made from a
 * few numbers, and thin calls that turn a store answer into one int. No test
 * cases here: those are in the domain files.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

struct otp_store *ct_open(void)
{
	struct otp_store *s = NULL;
	if (ct_backend->open(&s) != 0)
		return NULL;
	return s;
}

/* Code number n for phone, right MAC CT_RIGHT, 5 attempts. */
struct otp_code_new ct_make_code(unsigned n, const char *phone,
				 int64_t expires_ms)
{
	struct otp_code_new c = {.attempts = 5, .expires_ms = expires_ms};
	snprintf(c.id, sizeof c.id, "%032x", n);
	snprintf(c.phone, sizeof c.phone, "%s", phone);
	memset(c.mac, CT_RIGHT, sizeof c.mac);
	return c;
}

/* Issues in with, for body, 40 bytes made from its code's id (in->body is
 * not read); *out gets the answer if out is given. */
int ct_issue_in(struct otp_store *s, const struct otp_issue *in, int64_t now,
		struct otp_issue_out *out)
{
	/* Bodies are opaque bytes: NUL and 0xff included on purpose. */
	unsigned char body[40] = {0, 1, 0xff};
	memcpy(body + 3, in->code.id, OTP_ID_LEN);
	struct otp_issue with = *in;
	with.body = body;
	with.body_len = sizeof body;
	struct otp_issue_out o;
	return otp_store_code_issue(s, &with, now, out ? out : &o);
}

/* Issues c (optionally bound, optionally under an idempotency key) with
 * ct_issue_in's body; *out gets the answer if out is given. */
int ct_issue_full(struct otp_store *s, const struct otp_code_new *c,
		  const struct otp_session_bind *bind,
		  const struct otp_idem *idem, int64_t now,
		  struct otp_issue_out *out)
{
	struct otp_issue in = {.code = *c, .bind = bind, .idem = idem};
	return ct_issue_in(s, &in, now, out);
}

int ct_issue(struct otp_store *s, const struct otp_code_new *c,
	     const struct otp_session_bind *bind, int64_t now)
{
	return ct_issue_full(s, c, bind, NULL, now, NULL);
}

struct otp_verify_in ct_make_try(const char *id, unsigned char mac)
{
	struct otp_verify_in in;
	memset(&in, 0, sizeof in);
	snprintf(in.id, sizeof in.id, "%s", id);
	memset(in.mac, mac, sizeof in.mac);
	return in;
}

/* Verifies at now and returns the result, or -1 on an error. */
int ct_verify(struct otp_store *s, const struct otp_verify_in *in, int64_t now,
	      struct otp_verify_out *out)
{
	int rc = otp_store_code_verify(s, in, now, out);
	return rc ? -1 : (int)out->result;
}

struct otp_session_bind ct_make_bind(unsigned char b, int64_t expires_ms)
{
	struct otp_session_bind bind;
	memset(bind.hash, b, sizeof bind.hash);
	bind.expires_ms = expires_ms;
	return bind;
}

struct otp_limit ct_make_limit(const char *key, int64_t interval_ms,
			       int64_t burst)
{
	struct otp_limit l = {
	    .rate = {.interval_ms = interval_ms, .burst = burst}};
	snprintf(l.key, sizeof l.key, "%s", key);
	return l;
}

int ct_get_state(struct otp_store *s, const char *request_id)
{
	enum otp_msg_state st;
	int rc = otp_store_outbox_state(s, request_id, &st);
	return rc ? rc : (int)st;
}

struct otp_idem ct_make_idem(const char *key, int64_t expires_ms)
{
	struct otp_idem k = {.expires_ms = expires_ms};
	snprintf(k.key, sizeof k.key, "%s", key);
	return k;
}

/* How many messages are due at now (claims them, and frees them). */
int ct_claim_count(struct otp_store *s, int64_t now)
{
	struct otp_msg m[8];
	size_t n = 0;
	if (otp_store_outbox_claim(s, now, CT_LEASE, m, 8, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		otp_msg_deinit(&m[i]);
	return (int)n;
}

struct otp_apikey ct_make_key(const char *id, const char *name, unsigned char h,
			      int64_t created_ms)
{
	struct otp_apikey k = {.created_ms = created_ms};
	snprintf(k.id, sizeof k.id, "%s", id);
	snprintf(k.name, sizeof k.name, "%s", name);
	memset(k.hash, h, sizeof k.hash);
	return k;
}

/* A fresh store holding code 1 of CT_P1 (into *c), issued at CT_T0; NULL
 * when either step fails. */
struct otp_store *ct_open_issued(struct otp_code_new *c)
{
	struct otp_store *s = ct_open();
	*c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	if (s && ct_issue(s, c, NULL, CT_T0) == 0)
		return s;
	otp_store_close(s);
	return NULL;
}

/* ct_open_issued(), and the code's message claimed at CT_T0 (a batch of 2 that
 * brings exactly 1) into m[0]; NULL when any step fails. */
/* Claims at CT_T0 into m (room for cap); s when exactly want came,
 * else closes s and answers NULL. */
static struct otp_store *claimed(struct otp_store *s, struct otp_msg *m,
				 size_t cap, size_t want)
{
	size_t n = 9;
	if (s && otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, cap, &n) == 0) {
		if (n == want)
			return s;
		for (size_t i = 0; i < n; i++)
			otp_msg_deinit(&m[i]);
	}
	otp_store_close(s);
	return NULL;
}

struct otp_store *ct_open_claimed(struct otp_code_new *c, struct otp_msg *m)
{
	return claimed(ct_open_issued(c), m, 2, 1);
}

struct otp_store *ct_open_released(struct otp_code_new *c, int64_t *id)
{
	struct otp_msg m[2];
	struct otp_store *s = ct_open_claimed(c, m);
	if (s) {
		*id = m[0].id;
		otp_msg_deinit(&m[0]);
	}
	return s;
}

struct otp_store *ct_open_claimed_each(struct otp_code_new *c,
				       struct otp_msg *m, int n)
{
	struct otp_store *s = ct_open();
	if (s && ct_issue_each(s, c, n) != 0) {
		otp_store_close(s);
		return NULL;
	}
	return claimed(s, m, (size_t)n, (size_t)n);
}

/* A fresh store where code 1 of CT_P1 (*c) was issued at CT_T0 under the
 * idempotency key CT_IDEM_A (*k, a day long), answered in *o; NULL when
 * either step fails. */
struct otp_store *ct_open_idem(struct otp_idem *k, struct otp_code_new *c,
			       struct otp_issue_out *o)
{
	struct otp_store *s = ct_open();
	*k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	*c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	if (s && ct_issue_full(s, c, NULL, k, CT_T0, o) == 0)
		return s;
	otp_store_close(s);
	return NULL;
}

/* Issues codes 1..n (n <= 3) for CT_P1, CT_P2, CT_P3 at CT_T0, each
 * CT_TTL long, into c[]; returns 0 or the first error. */
int ct_issue_each(struct otp_store *s, struct otp_code_new *c, int n)
{
	static const unsigned nums[] = {1, 2, 3};
	return ct_issue_numbered(s, c, nums, n, 0);
}

int ct_issue_numbered(struct otp_store *s, struct otp_code_new *c,
		      const unsigned *nums, int n, int64_t step)
{
	static const char *const phones[] = {CT_P1, CT_P2, CT_P3};
	for (int i = 0; i < n && i < 3; i++) {
		c[i] = ct_make_code(nums[i], phones[i], CT_T0 + CT_TTL);
		int rc = ct_issue(s, &c[i], NULL, CT_T0 + i * step);
		if (rc)
			return rc;
	}
	return 0;
}

/* A day on, under key k given a second day: issues code 3 of CT_P2 (*c) at
 * CT_T0 + CT_DAY, answered in *o. Returns the store's answer. */
int ct_issue_next_day(struct otp_store *s, struct otp_idem *k,
		      struct otp_code_new *c, struct otp_issue_out *o)
{
	k->expires_ms = CT_T0 + 2 * CT_DAY;
	*c = ct_make_code(3, CT_P2, CT_T0 + CT_DAY + CT_TTL);
	return ct_issue_full(s, c, NULL, k, CT_T0 + CT_DAY, o);
}

struct otp_store *ct_open_bound(struct otp_session_bind *b, unsigned char byte,
				int64_t expires_ms, struct otp_code_new *c)
{
	struct otp_store *s = ct_open();
	*b = ct_make_bind(byte, expires_ms);
	*c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	if (s && ct_issue(s, c, b, CT_T0) == 0)
		return s;
	otp_store_close(s);
	return NULL;
}

struct otp_verify_in ct_make_rotate(const char *id, unsigned char mac,
				    const unsigned char *old_hash,
				    unsigned char new_byte, int64_t expires_ms)
{
	struct otp_verify_in in = ct_make_try(id, mac);
	in.rotate = true;
	memcpy(in.old_hash, old_hash, sizeof in.old_hash);
	memset(in.new_hash, new_byte, sizeof in.new_hash);
	in.session_expires_ms = expires_ms;
	return in;
}

void ct_check_session(const struct otp_session *got, const char *phone,
		      int64_t authenticated_ms, int64_t expires_ms,
		      const char *pending_id, const char *pending_phone,
		      int sends)
{
	CHECK_STR(got->phone, phone);
	CHECK_INT(got->authenticated_ms, authenticated_ms);
	CHECK_INT(got->expires_ms, expires_ms);
	CHECK_STR(got->pending_id, pending_id);
	CHECK_STR(got->pending_phone, pending_phone);
	CHECK_INT(got->sends, sends);
}
