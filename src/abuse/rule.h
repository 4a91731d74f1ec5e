/* rule.h - what a rule file (rule_*.c) reads off a view: unverified
 * sends and conversion in a window, a scope's own history. Inline and
 * pure, so that a rule is a few lines of arithmetic on integers.
 */
#ifndef OTP_ABUSE_RULE_H
#define OTP_ABUSE_RULE_H

#include "abuse/abuse.h"

/* Which window of a signal a rule looks at. */
enum otp_rule_window { OTP_RW_HOUR, OTP_RW_DAY };

static inline int64_t otp_rule_sent(const struct otp_signal *s,
				    enum otp_rule_window w)
{
	return w == OTP_RW_HOUR ? s->w[OTP_SIG_SENT].hour
				: s->w[OTP_SIG_SENT].day;
}

static inline int64_t otp_rule_verified(const struct otp_signal *s,
					enum otp_rule_window w)
{
	return w == OTP_RW_HOUR ? s->w[OTP_SIG_VERIFIED].hour
				: s->w[OTP_SIG_VERIFIED].day;
}

/* Sends in the window whose codes were not (yet) accepted. */
static inline int64_t otp_rule_unverified(const struct otp_signal *s,
					  enum otp_rule_window w)
{
	int64_t u = otp_rule_sent(s, w) - otp_rule_verified(s, w);
	return u > 0 ? u : 0;
}

/* Is the window's conversion (verified / sent) below pct percent? */
static inline bool otp_rule_converts_below(const struct otp_signal *s,
					   enum otp_rule_window w, int pct)
{
	return otp_rule_verified(s, w) * 100 < otp_rule_sent(s, w) * pct;
}

/* Has the scope any accepted code in its 15 days of history? A scope
 * without is new traffic: the absolute floors hold for it. */
static inline bool otp_rule_known(const struct otp_signal *s)
{
	return s->w[OTP_SIG_VERIFIED].day_max > 0 ||
	       s->w[OTP_SIG_VERIFIED].day > 0;
}

/* Its busiest day of accepted codes in the 14 days before today, or
 * the last 24 h if more. */
static inline int64_t otp_rule_verified_peak(const struct otp_signal *s)
{
	int64_t a = s->w[OTP_SIG_VERIFIED].day_max;
	int64_t b = s->w[OTP_SIG_VERIFIED].day;
	return a > b ? a : b;
}

static inline int64_t otp_rule_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

#endif
