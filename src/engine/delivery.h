/* delivery.h - what the engine knows of delivery: the tokens that let a
 * gateway's delivery report in, and what a report means for a message.
 *
 * A message sent through Kannel carries a dlr-url with its outbox id and a
 * token (a MAC of the id, crypto.h); the report comes back to
 * GET /hooks/kannel/dlr (handlers/hooks.c), which calls here. Sending and
 * retrying live in src/outbox/, the gateways' protocols in src/sms/.
 */
#ifndef OTP_ENGINE_DELIVERY_H
#define OTP_ENGINE_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"

/* The outbox's callback (arg is the engine): the token for message_id into
 * out (cap >= OTP_DLR_TOKEN_LEN + 1). Thread-safe. */
void otp_engine_dlr_token(void *arg, int64_t message_id, char *out, size_t cap);

/* The tag of request id `id` (otp_id_tag; arg is the engine) into out, ""
 * if cap is under OTP_ID_TAG_LEN + 1 (the outbox worker's id_tag). */
void otp_engine_id_tag(void *arg, const char *id, char *out, size_t cap);

/* Kannel's report type (its %d): 1 delivered to the phone, 2 not delivered
 * to the phone, 16 rejected by the SMSC; 4 (queued) and 8 (accepted by the
 * SMSC) are interim and change nothing. */
enum {
	OTP_KANNEL_DELIVERED = 1,
	OTP_KANNEL_UNDELIVERED = 2,
	OTP_KANNEL_QUEUED = 4,
	OTP_KANNEL_SMSC_ACK = 8,
	OTP_KANNEL_SMSC_NACK = 16,
};

/* Records a Kannel delivery report for message `id` if `token` is its
 * token. 0 with *recorded telling whether the state changed to delivered
 * or undelivered; OTP_EUNAUTH for a wrong token, OTP_EVALUE for an unknown
 * type, OTP_ENOTFOUND for an unknown message, OTP_EGONE for one that is not
 * (yet) sent, store errors. */
int otp_engine_dlr_kannel(struct otp_engine *e, struct otp_store *s, int64_t id,
			  const char *token, int type, int64_t now,
			  bool *recorded);

#endif
