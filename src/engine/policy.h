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

#include "abuse/abuse.h"
#include "engine/core.h"

/* The per-phone limits a send takes, all or none, in this order. The
 * budget of a phone is split, so that an outsider cannot spend another
 * person's: each (phone, session) or (phone, API key), and each (phone,
 * client IP) of the login API, has --limit-phone codes an hour of its own,
 * under a ceiling of OTP_POLICY_PHONE_CEILING times that for the phone
 * from everyone together (which bounds brute force: every code has
 * --code-attempts tries). The cooldown is per (phone, client IP) in the
 * login API and per (phone, API key) in the provider API. */
enum otp_policy_phone_limit {
	OTP_PL_COOLDOWN, /* resend_cooldown */
	OTP_PL_SCOPE, /* phone_session_rate_limited / phone_key_rate_limited */
	OTP_PL_IP,    /* phone_ip_rate_limited (login API only) */
	OTP_PL_PHONE, /* phone_rate_limited: the ceiling */
	OTP_POLICY_PHONE_LIMITS
};
#define OTP_POLICY_PHONE_CEILING 4

/* A phone as the client typed it, into E.164 by the numbering plan: the
 * default region for national input, the allowed ranges, and with
 * `types`, the allowed number types (--sms-number-types; a verify's
 * optional phone skips them, its send checked them). 0, OTP_EPHONE,
 * OTP_ENATIONAL, OTP_ENUMTYPE. */
int otp_policy_phone(const struct otp_config *cfg, const char *phone,
		     size_t len, bool types, char out[OTP_PHONE_MAX]);

/* The per-phone ceiling (OTP_PL_PHONE) of an E.164 phone: its key (by
 * the phone's keyed tag under k) and rate, as otp_policy_send takes it;
 * what otpctl's phone show reads back. */
void otp_policy_phone_ceiling(const struct otp_config *cfg,
			      const struct otp_keys *k, const char *e164,
			      struct otp_limit *out);

/* Decides one send (as the send core has it: the normalised phone, the
 * scope, the client, now): the destination (countries-allow/deny), then
 * otp_policy_abuse_check, then fills `lims` with the per-phone limits the
 * provider takes in the same step as the issue (a replay takes none).
 * 0, OTP_EDENIED, or what the abuse check answers (with *retry_after_s). */
int otp_policy_send(const struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_core *in,
		    struct otp_limit lims[OTP_POLICY_PHONE_LIMITS],
		    struct otp_abuse_out *ab, int64_t *retry_after_s);

/* The error of a refusal by lims[which] (from otp_policy_send for this
 * send), or OTP_ELIMITED for an index that is none of them (an upstream's
 * own 429). */
int otp_policy_limit_err(const struct otp_send_core *in, int which);

/* The fraud and cost check of one send (SMS pumping, spend caps:
 * abuse/abuse.h): the one place such a rule is asked. Called by
 * otp_policy_send after the destination passed and before any limit is
 * taken or anything sent. Returns 0 to let the send go (ab says what it
 * adds to the signals), or OTP_EFRAUD, OTP_ESTEPUP, OTP_ESPEND (nothing
 * sent, nothing charged; *retry_after_s set), or a store error. */
int otp_policy_abuse_check(const struct otp_engine *e, struct otp_store *s,
			   const struct otp_send_core *in,
			   const char *phone_tag, struct otp_abuse_out *ab,
			   int64_t *retry_after_s);

#endif
