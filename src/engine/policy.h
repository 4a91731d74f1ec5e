/* policy.h - who may be sent a code, and how often: destination policy,
 * the per-phone limits and resend cooldown, the per-IP and per-key request
 * limits, and the abuse hook.
 *
 * The send core (send.c) calls otp_policy_send exactly once for every send
 * of both APIs, in local and upstream mode; nothing else decides whether a
 * send may go. The per-IP and per-key limits are taken by the handlers'
 * guard for every request (otp_engine_limit_ip/_key, declared in engine.h).
 * Not here: phone parsing (core/phone.c), the store's atomic take of the
 * limits (in the same step as the issue, in the provider).
 */
#ifndef OTP_ENGINE_POLICY_H
#define OTP_ENGINE_POLICY_H

#include <stdint.h>

#include "engine/core.h"

/* The per-phone limits a send takes: so many per hour, and the cooldown. */
#define OTP_POLICY_PHONE_LIMITS 2

/* A phone as the client typed it, into E.164 by the numbering plan: the
 * default region for national input, the allowed ranges, and with
 * `types`, the allowed number types (--sms-number-types; a verify's
 * optional phone skips them, its send checked them). 0, OTP_EPHONE,
 * OTP_ENATIONAL, OTP_ENUMTYPE. */
int otp_policy_phone(const struct otp_config *cfg, const char *phone,
		     size_t len, bool types, char out[OTP_PHONE_MAX]);

/* Decides one send (as the send core has it: the normalised phone, the
 * scope, the client, now): the destination (countries-allow/deny), then
 * otp_policy_abuse_check, then fills `lims` with the per-phone limits the
 * provider takes in the same step as the issue (a replay takes none).
 * 0, OTP_EDENIED, or what the abuse check answers (with *retry_after_s). */
int otp_policy_send(const struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_core *in,
		    struct otp_limit lims[OTP_POLICY_PHONE_LIMITS],
		    int64_t *retry_after_s);

/* The fraud and cost check of one send (SMS pumping, spend caps): the one
 * place such a rule goes. Called by otp_policy_send after the destination
 * passed and before any limit is taken or anything sent. Returns 0 to let
 * the send go, or a negative OTP_E* to refuse it (nothing sent, nothing
 * charged); *retry_after_s may be set with a refusal. Today it allows every
 * send. */
int otp_policy_abuse_check(const struct otp_engine *e, struct otp_store *s,
			   const struct otp_send_core *in,
			   int64_t *retry_after_s);

#endif
