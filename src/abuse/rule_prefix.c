/* rule_prefix.c - a number prefix whose codes are not used: refused, then
 * blocked.
 *
 * Pumping sends to numbers an attacker is paid for, and those sit in a
 * few ranges: the prefix (calling code and --fraud-prefix-digits more) is
 * where it shows first. The evidence is unverified sends and a low share
 * of verified ones, in the last hour or the last 24 hours; what is done
 * grows with it:
 *   - a prefix with no accepted code in 15 days (new traffic: nobody we
 *     know lives there) is blocked at a low floor;
 *   - a prefix with history is first refused while its last hour looks
 *     bad: a refusal that heals by itself as soon as its people type
 *     their codes (a busy prefix's codes in flight, a few people who never
 *     type theirs, do not lock it for hours); it is blocked when its last
 *     hour or day stays bad past a higher floor, which grows with its own
 *     busiest day, or when refused sends go on coming.
 */
#include "abuse/rule.h"

/* New traffic: unverified sends that block it, in an hour / a day. */
#define NEW_FLOOR_HOUR 3
#define NEW_FLOOR_DAY  5
/* With history: unverified sends in the last hour that refuse, and
 * refused sends in the last hour that turn it into a block ... */
#define OLD_REFUSE_HOUR	 3
#define OLD_REFUSED_HOUR 6
/* ... that floor raised by this share (%) of its typical hour of
 * accepted codes (its peak day / 24): a busy prefix has more codes in
 * flight, and more people who never type theirs, in any hour */
#define OLD_REFUSE_SHARE 50
/* ... and that block it, in an hour / a day (and at least this share,
 * %, of its peak day of accepted codes) */
#define OLD_FLOOR_HOUR 10
#define OLD_FLOOR_DAY  20
#define OLD_SHARE_DAY  50
/* ... and sends turned away (a refusal, or its block) in the last hour
 * that block it again at once when a block ends: this many, and at
 * least this share (%) of its typical hour of accepted codes. A block
 * ends into the hour of traffic it refused: when that was far above the
 * prefix's own volume the attack is still on (its people, refused, try
 * again once or twice). */
#define RESUMED_HOUR  12
#define RESUMED_SHARE 300
/* Conversion (%) under which the evidence counts: new traffic, history. */
#define NEW_CONVERSION 50
#define OLD_CONVERSION 30

static bool bad(const struct otp_signal *s, enum otp_rule_window w,
		int64_t floor, int pct)
{
	return otp_rule_unverified(s, w) >= floor &&
	       otp_rule_converts_below(s, w, pct);
}

static enum otp_abuse_action eval(const struct otp_abuse_view *v,
				  enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_PREFIX];
	*scope = OTP_AS_PREFIX;
	if (!otp_rule_known(s))
		return bad(s, OTP_RW_HOUR, NEW_FLOOR_HOUR, NEW_CONVERSION) ||
			       bad(s, OTP_RW_DAY, NEW_FLOOR_DAY, NEW_CONVERSION)
			   ? OTP_AA_BLOCK
			   : OTP_AA_PASS;
	int64_t resumed =
	    otp_rule_max(RESUMED_HOUR, otp_rule_verified_peak(s) *
					   RESUMED_SHARE / (24 * 100));
	if (v->refused.w[OTP_SIG_SENT].hour >= resumed)
		return OTP_AA_BLOCK;
	int64_t floor_d = otp_rule_max(
	    OLD_FLOOR_DAY, otp_rule_verified_peak(s) * OLD_SHARE_DAY / 100);
	if (bad(s, OTP_RW_HOUR, OLD_FLOOR_HOUR, OLD_CONVERSION) ||
	    bad(s, OTP_RW_DAY, floor_d, OLD_CONVERSION))
		return OTP_AA_BLOCK;
	int64_t floor_r = OLD_REFUSE_HOUR + otp_rule_verified_peak(s) *
						OLD_REFUSE_SHARE / (24 * 100);
	/* ... and past what its own last day says an hour leaves unverified
	 * (three times it): its people who never type a code */
	floor_r = otp_rule_max(floor_r,
			       OLD_REFUSE_HOUR +
				   3 * otp_rule_unverified(s, OTP_RW_DAY) / 24);
	if (bad(s, OTP_RW_HOUR, floor_r, OLD_CONVERSION))
		return v->refused.w[OTP_SIG_SENT].hour >= OLD_REFUSED_HOUR
			   ? OTP_AA_BLOCK
			   : OTP_AA_REFUSE;
	return OTP_AA_PASS;
}

const struct otp_abuse_rule otp_rule_prefix = {"prefix_conversion", eval};
