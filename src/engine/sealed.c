/* sealed.c - the store decorator that seals phones at rest (sealed.h).
 *
 * Every operation forwards (store/decorator.h) but the ten that carry
 * phones, written out below. A phone that will not open (damaged, or sealed by
 * a secret otpd no longer has) fails its operation with OTP_EINTERNAL, except
 * in a listing or a claim, where it reads as "" (the message's body will not
 * open either: the outbox dead-letters it).
 */
#include "engine/sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/decorator.h"

struct sealed {
	struct otp_store_wrap w;
	const struct otp_keyring *k;
};

static const struct otp_keyring *keys_of(struct otp_store *s)
{
	return ((struct sealed *)s)->k;
}

/* This thread's last phone and its seal under one secret: one operation
 * seals or opens the same phone several times (a verify opens the
 * session's pending phone, seals it as the expected one, opens the code's
 * and seals it into the new session), and a seal is deterministic, so the
 * crypto runs once. */
static __thread struct {
	const struct otp_keys *key;
	char clear[OTP_PHONE_MAX];
	char sealed[OTP_SEALED_PHONE_MAX];
} last;

static void remember(const struct otp_keys *key, const char *clear,
		     const char *sealed)
{
	last.key = key;
	snprintf(last.clear, sizeof last.clear, "%s", clear);
	snprintf(last.sealed, sizeof last.sealed, "%s", sealed);
}

int otp_sealed_open(const struct otp_keyring *k, const char *stored,
		    char out[OTP_PHONE_MAX])
{
	if (stored[0] != OTP_SEALED_MARK) { /* "" or an older store's text */
		size_t n = strlen(stored);
		if (n >= OTP_PHONE_MAX)
			return OTP_EINTERNAL;
		memcpy(out, stored, n + 1);
		return 0;
	}
	if (last.key == k->cur && strcmp(last.sealed, stored) == 0) {
		memcpy(out, last.clear, sizeof last.clear);
		return 0;
	}
	int rc = otp_phone_open(k->cur, stored, out);
	if (rc == 0)
		remember(k->cur, out, stored);
	else if (rc == OTP_ENOTFOUND && k->prev)
		rc = otp_phone_open(k->prev, stored, out);
	return rc < 0 ? OTP_EINTERNAL : 0;
}

/* A phone sealed by k->cur into out ("" stays ""). */
static int seal(const struct otp_keyring *k, const char *clear,
		char out[OTP_SEALED_PHONE_MAX])
{
	if (clear[0] && last.key == k->cur && strcmp(last.clear, clear) == 0) {
		memcpy(out, last.sealed, sizeof last.sealed);
		return 0;
	}
	int rc = otp_phone_seal(k->cur, clear, out);
	if (rc == 0 && clear[0])
		remember(k->cur, clear, out);
	return rc;
}

/* In place: a phone field sealed by k->cur (sealing), or a stored one
 * opened; 0 or an error (the field as it was). */
static int rewrite(const struct otp_keyring *k, char *field, bool sealing)
{
	char out[OTP_SEALED_PHONE_MAX];
	int rc = sealing ? seal(k, field, out) : otp_sealed_open(k, field, out);
	if (rc == 0)
		memcpy(field, out, strlen(out) + 1);
	return rc;
}

static int open_field(const struct otp_keyring *k, char *field)
{
	return rewrite(k, field, false);
}

static int seal_field(const struct otp_keyring *k, char *field)
{
	return rewrite(k, field, true);
}

static int sealed_code_issue(struct otp_store *s, const struct otp_issue *in,
			     int64_t now, struct otp_issue_out *out)
{
	struct otp_issue copy = *in;
	int rc = seal_field(keys_of(s), copy.code.phone);
	return rc ? rc
		  : otp_store_code_issue(otp_store_inner(s), &copy, now, out);
}

static int sealed_code_get(struct otp_store *s, const char *id,
			   struct otp_code_info *out)
{
	int rc = otp_store_code_get(otp_store_inner(s), id, out);
	return rc ? rc : open_field(keys_of(s), out->phone);
}

static int sealed_code_verify(struct otp_store *s,
			      const struct otp_verify_in *in, int64_t now,
			      struct otp_verify_out *out)
{
	struct otp_verify_in copy = *in;
	int rc = seal_field(keys_of(s), copy.expect_phone);
	if (rc == 0)
		rc = otp_store_code_verify(otp_store_inner(s), &copy, now, out);
	sodium_memzero(&copy, sizeof copy); /* the MAC tried */
	return rc ? rc : open_field(keys_of(s), out->phone);
}

static int sealed_session_get(struct otp_store *s,
			      const unsigned char hash[OTP_HASH_LEN],
			      int64_t now, struct otp_session *out)
{
	int rc = otp_store_session_get(otp_store_inner(s), hash, now, out);
	if (rc == 0)
		rc = open_field(keys_of(s), out->phone);
	return rc ? rc : open_field(keys_of(s), out->pending_phone);
}

static int sealed_session_bind(struct otp_store *s,
			       const struct otp_session_bind *b,
			       const char *pending_id,
			       const char *pending_phone, bool count_send,
			       int64_t now)
{
	char ph[OTP_SEALED_PHONE_MAX] = "";
	int rc = pending_phone ? seal(keys_of(s), pending_phone, ph) : 0;
	return rc ? rc
		  : otp_store_session_bind(otp_store_inner(s), b, pending_id,
					   pending_phone ? ph : NULL,
					   count_send, now);
}

static int sealed_session_rotate(struct otp_store *s,
				 const unsigned char old_hash[OTP_HASH_LEN],
				 const unsigned char new_hash[OTP_HASH_LEN],
				 const char *phone, int64_t expires_ms,
				 int64_t now)
{
	char ph[OTP_SEALED_PHONE_MAX];
	int rc = seal(keys_of(s), phone, ph);
	return rc ? rc
		  : otp_store_session_rotate(otp_store_inner(s), old_hash,
					     new_hash, ph, expires_ms, now);
}

/* Sessions sealed under the previous secret of a rotation go too. */
static int sealed_session_revoke_phone(struct otp_store *s, const char *phone,
				       long *n)
{
	const struct otp_keyring *k = keys_of(s);
	char ph[OTP_SEALED_PHONE_MAX];
	long more = 0;
	*n = 0;
	int rc = otp_phone_seal(k->cur, phone, ph);
	if (rc == 0)
		rc = otp_store_session_revoke_phone(otp_store_inner(s), ph, n);
	if (rc == 0 && k->prev && phone[0] &&
	    otp_phone_seal(k->prev, phone, ph) == 0)
		rc = otp_store_session_revoke_phone(otp_store_inner(s), ph,
						    &more);
	*n += more;
	return rc;
}

static int sealed_outbox_claim(struct otp_store *s, int64_t now,
			       int64_t lease_ms, struct otp_msg *out,
			       size_t max, size_t *n)
{
	int rc = otp_store_outbox_claim(otp_store_inner(s), now, lease_ms, out,
					max, n);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if (open_field(keys_of(s), out[i].to) < 0)
			out[i].to[0] = '\0';
	return rc;
}

static int sealed_outbox_ack_claim(struct otp_store *s, struct otp_ack *acks,
				   size_t n, int64_t now, int64_t lease_ms,
				   struct otp_msg *out, size_t max,
				   size_t *nout)
{
	int rc = otp_store_outbox_ack_claim(otp_store_inner(s), acks, n, now,
					    lease_ms, out, max, nout);
	for (size_t i = 0; rc == 0 && i < *nout; i++)
		if (open_field(keys_of(s), out[i].to) < 0)
			out[i].to[0] = '\0';
	return rc;
}

static int sealed_outbox_list(struct otp_store *s, int state,
			      struct otp_msg_info *out, size_t max, size_t *n)
{
	int rc = otp_store_outbox_list(otp_store_inner(s), state, out, max, n);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if (open_field(keys_of(s), out[i].to) < 0)
			out[i].to[0] = '\0';
	return rc;
}

/* clang-format off */
OTP_STORE_OVERRIDE_BEGIN
static const struct otp_store_ops sealed_ops = {
    OTP_STORE_FORWARD_ALL
    .code_issue = sealed_code_issue,
    .code_get = sealed_code_get,
    .code_verify = sealed_code_verify,
    .session_get = sealed_session_get,
    .session_bind = sealed_session_bind,
    .session_rotate = sealed_session_rotate,
    .session_revoke_phone = sealed_session_revoke_phone,
    .outbox_claim = sealed_outbox_claim,
    .outbox_ack_claim = sealed_outbox_ack_claim,
    .outbox_list = sealed_outbox_list,
};
OTP_STORE_OVERRIDE_END
/* clang-format on */

struct otp_store *otp_sealed_wrap(struct otp_store *inner, void *keys)
{
	struct sealed *w = otp_store_wrap_new(sizeof *w, &sealed_ops, inner);
	w->k = keys;
	return &w->w.base;
}

/* phones_reseal's fn: whatever opens, sealed by the current secret. */
static int reseal_one(void *arg, const char *stored,
		      char out[OTP_SEALED_PHONE_MAX])
{
	const struct otp_keyring *k = arg;
	char clear[OTP_PHONE_MAX];
	int rc = otp_sealed_open(k, stored, clear);
	return rc ? rc : otp_phone_seal(k->cur, clear, out);
}

int otp_sealed_reseal(struct otp_store *s, const struct otp_keyring *k, long *n)
{
	char mark[1 + OTP_KID_LEN + 1];
	otp_phone_seal_mark(k->cur, mark);
	return otp_store_phones_reseal(s, mark, reseal_one, (void *)k, n);
}
