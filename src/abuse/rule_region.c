/* rule_region.c - a region whose conversion collapses: a step-up, or a
 * block for a region we barely serve.
 *
 * Against pumping spread over a whole country (random numbers, every
 * prefix new) the prefix rule sees too little. A region trips when its
 * unverified sends in the last hour pass both a floor and a share of its
 * typical hourly accepted codes, and fewer than half were verified; in
 * the last 24 hours the same with a day's floor. A region with real
 * users (a peak day of REAL_USERS accepted codes or more) is not
 * blocked: its senders must show a proof of work (the login page does
 * it in well under a second; a bot pays for every SMS). One without is
 * blocked.
 */
#include "abuse/rule.h"

#define FLOOR_HOUR 20
#define FLOOR_DAY  10
#define SHARE_HOUR 50 /* % of its typical hour of accepted codes */
#define SHARE_DAY  50 /* % of its peak day of accepted codes */
#define CONVERSION 50 /* % */
#define REAL_USERS 20 /* accepted codes on its peak day */

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_REGION];
	int64_t peak = otp_rule_verified_peak(s);
	int64_t floor_h =
	    otp_rule_max(FLOOR_HOUR, peak / 24 * SHARE_HOUR / 100);
	int64_t floor_d = otp_rule_max(FLOOR_DAY, peak * SHARE_DAY / 100);
	bool hour = otp_rule_unverified(s, OTP_RW_HOUR) >= floor_h &&
		    otp_rule_converts_below(s, OTP_RW_HOUR, CONVERSION);
	bool day = otp_rule_unverified(s, OTP_RW_DAY) >= floor_d &&
		   otp_rule_converts_below(s, OTP_RW_DAY, CONVERSION);
	*scope = OTP_AS_REGION;
	if (!hour && !day)
		return OTP_AA_PASS;
	return peak >= REAL_USERS ? OTP_AA_STEPUP : OTP_AA_BLOCK;
}

const struct otp_abuse_rule otp_rule_region = {"region_conversion", eval};
