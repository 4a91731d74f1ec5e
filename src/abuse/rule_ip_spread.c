/* rule_ip_spread.c - one client address sending to many countries.
 *
 * A person logs in with their own number; an address that sent codes to
 * STEPUP_AT regions in 24 hours must show a proof of work for the next
 * send, and one that reached BLOCK_AT is blocked. (Authgear blocks past
 * 3 countries; a carrier NAT shared by many users of one country stays
 * far below either.)
 */
#include "abuse/rule.h"

#define STEPUP_AT 2 /* regions already reached in 24 h */
#define BLOCK_AT  4

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	int64_t n = v->sig[OTP_AS_IP].distinct;
	*scope = OTP_AS_IP;
	if (!v->key[OTP_AS_IP][0])
		return OTP_AA_PASS;
	if (n >= BLOCK_AT)
		return OTP_AA_BLOCK;
	return n >= STEPUP_AT ? OTP_AA_STEPUP : OTP_AA_PASS;
}

const struct otp_abuse_rule otp_rule_ip_spread = {"ip_spread", eval};
