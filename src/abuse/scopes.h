/* scopes.h - a send's scopes as signal keys (scopes.c), inside the
 * abuse module.
 */
#ifndef OTP_ABUSE_SCOPES_H
#define OTP_ABUSE_SCOPES_H

#include "abuse/abuse.h"

/* Fills v->key[] and v->region for a send to e164 from ip (or NULL) with
 * key_id (or NULL): "" where the send has no such scope. */
void otp_abuse_scopes(const char *e164, const char *ip, const char *key_id,
		      int prefix_digits, struct otp_abuse_view *v);

/* The space-separated keys of v an accepted code credits (store.h). */
void otp_abuse_credit_of(const struct otp_abuse_view *v,
			 char out[OTP_CREDIT_MAX]);

#endif
