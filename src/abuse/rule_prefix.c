/* rule_prefix.c - a number prefix whose codes are not used: blocked.
 *
 * Pumping sends to numbers an attacker is paid for, and those sit in a
 * few ranges: the prefix (calling code and --fraud-prefix-digits more) is
 * where it shows first. A prefix is blocked when, in the last hour or the
 * last 24 hours, it has at least a floor of unverified sends and fewer
 * than half of its sends were verified. The floor is low for a prefix
 * with no accepted code in 15 days (new traffic: nobody we know lives
 * there), higher for one with history, and grows with its volume, so
 * that a busy prefix's in-flight codes never trip it.
 */
#include "abuse/rule.h"

/* Unverified sends that trip it: a prefix without / with history. */
#define NEW_FLOOR_HOUR 3
#define NEW_FLOOR_DAY  5
#define OLD_FLOOR_HOUR 10
#define OLD_FLOOR_DAY  20
/* ... and at least this share (%) of its peak day of accepted codes */
#define OLD_SHARE_DAY 50
/* Conversion (%) under which it trips. */
#define CONVERSION 50

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_PREFIX];
	bool known = otp_rule_known(s);
	int64_t floor_h = known ? OLD_FLOOR_HOUR : NEW_FLOOR_HOUR;
	int64_t floor_d =
	    known ? otp_rule_max(OLD_FLOOR_DAY, otp_rule_verified_peak(s) *
						    OLD_SHARE_DAY / 100)
		  : NEW_FLOOR_DAY;
	*scope = OTP_AS_PREFIX;
	if (otp_rule_unverified(s, OTP_RW_HOUR) >= floor_h &&
	    otp_rule_converts_below(s, OTP_RW_HOUR, CONVERSION))
		return OTP_AA_BLOCK;
	if (otp_rule_unverified(s, OTP_RW_DAY) >= floor_d &&
	    otp_rule_converts_below(s, OTP_RW_DAY, CONVERSION))
		return OTP_AA_BLOCK;
	return OTP_AA_PASS;
}

const struct otp_abuse_rule otp_rule_prefix = {"prefix_conversion", eval};
