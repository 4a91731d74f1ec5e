/* rule_ip.c - a client address (or its /24, /64) whose codes are not
 * used: blocked.
 *
 * In the last 24 hours at least a floor of unverified sends, and fewer
 * than half verified. The floor of an address is a share of its own peak
 * day, so that a carrier NAT in front of many real users converts and
 * passes. The network's floor is higher: it holds many addresses.
 */
#include "abuse/rule.h"

#define IP_FLOOR   10
#define NET_FLOOR  25
#define SHARE	   50 /* % of its peak day of accepted codes */
#define CONVERSION 50 /* % */

static enum otp_abuse_action one(const struct otp_abuse_view *v,
				 enum otp_abuse_scope sc, int64_t floor)
{
	const struct otp_signal *s = &v->sig[sc];
	if (!v->key[sc][0])
		return OTP_AA_PASS;
	floor = otp_rule_max(floor, otp_rule_verified_peak(s) * SHARE / 100);
	if (otp_rule_unverified(s, OTP_RW_DAY) >= floor &&
	    otp_rule_converts_below(s, OTP_RW_DAY, CONVERSION))
		return OTP_AA_BLOCK;
	return OTP_AA_PASS;
}

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	*scope = OTP_AS_IP;
	if (one(v, OTP_AS_IP, IP_FLOOR) == OTP_AA_BLOCK)
		return OTP_AA_BLOCK;
	*scope = OTP_AS_NET;
	return one(v, OTP_AS_NET, NET_FLOOR);
}

const struct otp_abuse_rule otp_rule_ip = {"ip_conversion", eval};
