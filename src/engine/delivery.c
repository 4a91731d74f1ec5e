/* delivery.c - delivery-report tokens, request-id tags and Kannel's
 * reports (delivery.h).
 *
 * The token check comes before any store access, so a forged report costs
 * one MAC and touches nothing. Interim reports (queued, accepted by the
 * SMSC) are acknowledged and dropped: the outbox already says sent.
 */
#include "engine/delivery.h"

#include <string.h>

#include "core/err.h"
#include "engine/crypto.h"

/* Copies a token of n bytes (its NUL included) to out, or "" if it does not
 * fit in cap. */
static void put(char *out, size_t cap, const char *v, size_t n)
{
	if (cap < n) {
		if (cap)
			out[0] = '\0';
		return;
	}
	memcpy(out, v, n);
}

void otp_engine_dlr_token(void *arg, int64_t message_id, char *out, size_t cap)
{
	struct otp_engine *e = arg;
	char tok[OTP_DLR_TOKEN_LEN + 1];
	otp_dlr_token(e->keys, message_id, tok);
	put(out, cap, tok, sizeof tok);
}

void otp_engine_id_tag(void *arg, const char *id, char *out, size_t cap)
{
	struct otp_engine *e = arg;
	char tag[OTP_ID_TAG_LEN + 1];
	otp_id_tag(e->keys, id, tag);
	put(out, cap, tag, sizeof tag);
}

int otp_engine_dlr_kannel(struct otp_engine *e, struct otp_store *s, int64_t id,
			  const char *token, int type, int64_t now,
			  bool *recorded)
{
	enum otp_msg_state state;
	*recorded = false;
	if (id <= 0 ||
	    (!otp_dlr_token_ok(e->keys, id, token) &&
	     (!e->prev_keys || !otp_dlr_token_ok(e->prev_keys, id, token))))
		return OTP_EUNAUTH;
	switch (type) {
	case OTP_KANNEL_DELIVERED:
		state = OTP_MSG_DELIVERED;
		break;
	case OTP_KANNEL_UNDELIVERED:
	case OTP_KANNEL_SMSC_NACK:
		state = OTP_MSG_UNDELIVERED;
		break;
	case OTP_KANNEL_QUEUED:
	case OTP_KANNEL_SMSC_ACK:
		return 0;
	default:
		return OTP_EVALUE;
	}
	int rc = otp_store_outbox_report(s, id, state, now);
	if (rc == 0)
		*recorded = true;
	return rc;
}
