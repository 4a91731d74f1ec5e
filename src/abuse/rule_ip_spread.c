/* rule_ip_spread.c - one client address sending to many countries.
 *
 * A person logs in with their own number, in their own country. So:
 *   - on the login API (where the address is the person's; on the
 *     provider API it is the app server's, for all its users), an address
 *     that sent codes to another region in the last 48 hours and has
 *     never had a code accepted (15 days) is blocked when it sends to a
 *     new one: pumping spread thin over many countries shows here, since
 *     its numbers are no one's and nothing is typed;
 *   - an address with accepted codes (an office, a carrier NAT) that
 *     reached STEPUP_AT regions in 24 hours must show a proof of work for
 *     the next send, and one that reached BLOCK_AT is blocked (Authgear
 *     blocks past 3 countries; a carrier NAT shared by many users of one
 *     country stays far below either).
 */
#include <string.h>

#include "abuse/rule.h"

#define STEPUP_AT 2 /* regions already reached in 24 h */
#define BLOCK_AT  4

/* A loopback client is a developer's own machine or a proxy otpd was not
 * told to trust (--trusted-proxies): never one person, so the
 * never-verified clause, which trips at a second send, does not hold it.
 * The other rules still do. */
static bool loopback(const char *key)
{
	return strncmp(key, "ip:127.", 7) == 0 || strcmp(key, "ip:::1") == 0;
}

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_IP];
	int64_t others = s->distinct - s->seen; /* regions but this one's */
	*scope = OTP_AS_IP;
	if (!v->key[OTP_AS_IP][0])
		return OTP_AA_PASS;
	if (v->login && others >= 1 && !otp_rule_known(s) &&
	    !loopback(v->key[OTP_AS_IP]))
		return OTP_AA_BLOCK;
	if (s->distinct_day >= BLOCK_AT)
		return OTP_AA_BLOCK;
	return s->distinct_day >= STEPUP_AT ? OTP_AA_STEPUP : OTP_AA_PASS;
}

const struct otp_abuse_rule otp_rule_ip_spread = {"ip_spread", eval};
