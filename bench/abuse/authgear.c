/* authgear.c - the baseline: Authgear's published SMS-pumping thresholds
 * (authgear-server, docs/specs/fraud-protection.md) as an otpd rule set,
 * handed to the engine with otp_abuse_set_rules, so that both rule sets
 * see the same signals in the same store.
 *
 * Authgear refuses the one request (deny_if_any_warning); it never blocks
 * a scope, so every rule here answers OTP_AA_REFUSE. unverified = sent -
 * verified in the window (struct otp_signal), before this send counts:
 *
 *   country, day:  unverified > max(20, 0.2 x the 14-day max of verified
 *                  a day, 0.2 x verified in the last 24 h)
 *   country, hour: unverified > max(3, the day's threshold / 6, 0.2 x
 *                  verified in the last hour)
 *   IP, day:       unverified > max(10, 0.2 x verified in 24 h)
 *   IP, hour:      unverified > max(5, 0.2 x verified in 24 h / 6)
 *   IP countries:  the IP sent to more than 3 regions in 24 h
 *
 * Where this differs from Authgear: its "countries per IP" leaves out a
 * country the IP has a verified code for (our set counts every region the
 * IP sent to), and it counts a country only once it is reached (our
 * signal says how many regions the IP reached before this send, not
 * whether this send's is among them, so a fourth region passes and the
 * fifth is refused: one country more than Authgear allows). Its
 * unverified counts skip flows finished another way (no such flow here).
 */
#include "sim.h"

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
	int64_t m = a > b ? a : b;
	return m > c ? m : c;
}

static int64_t unverified(const struct otp_signal *s, bool hour)
{
	int64_t u = hour ? s->w[OTP_SIG_SENT].hour - s->w[OTP_SIG_VERIFIED].hour
			 : s->w[OTP_SIG_SENT].day - s->w[OTP_SIG_VERIFIED].day;
	return u > 0 ? u : 0;
}

static int64_t country_day_threshold(const struct otp_signal *s)
{
	return max3(20, s->w[OTP_SIG_VERIFIED].day_max / 5,
		    s->w[OTP_SIG_VERIFIED].day / 5);
}

static enum otp_abuse_action country_day(const struct otp_abuse_view *v,
					 enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_REGION];
	*scope = OTP_AS_REGION;
	return unverified(s, false) > country_day_threshold(s) ? OTP_AA_REFUSE
							       : OTP_AA_PASS;
}

static enum otp_abuse_action country_hour(const struct otp_abuse_view *v,
					  enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_REGION];
	int64_t t = max3(3, country_day_threshold(s) / 6,
			 s->w[OTP_SIG_VERIFIED].hour / 5);
	*scope = OTP_AS_REGION;
	return unverified(s, true) > t ? OTP_AA_REFUSE : OTP_AA_PASS;
}

static enum otp_abuse_action ip_day(const struct otp_abuse_view *v,
				    enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_IP];
	int64_t t = max3(10, s->w[OTP_SIG_VERIFIED].day / 5, 0);
	*scope = OTP_AS_IP;
	if (!v->key[OTP_AS_IP][0])
		return OTP_AA_PASS;
	return unverified(s, false) > t ? OTP_AA_REFUSE : OTP_AA_PASS;
}

static enum otp_abuse_action ip_hour(const struct otp_abuse_view *v,
				     enum otp_abuse_scope *scope)
{
	const struct otp_signal *s = &v->sig[OTP_AS_IP];
	int64_t t = max3(5, s->w[OTP_SIG_VERIFIED].day / 5 / 6, 0);
	*scope = OTP_AS_IP;
	if (!v->key[OTP_AS_IP][0])
		return OTP_AA_PASS;
	return unverified(s, true) > t ? OTP_AA_REFUSE : OTP_AA_PASS;
}

static enum otp_abuse_action ip_countries(const struct otp_abuse_view *v,
					  enum otp_abuse_scope *scope)
{
	*scope = OTP_AS_IP;
	if (!v->key[OTP_AS_IP][0])
		return OTP_AA_PASS;
	return v->sig[OTP_AS_IP].distinct_day > 3 ? OTP_AA_REFUSE : OTP_AA_PASS;
}

static const struct otp_abuse_rule r_country_day = {"ag_unverified_country_day",
						    country_day};
static const struct otp_abuse_rule r_country_hour = {
    "ag_unverified_country_hour", country_hour};
static const struct otp_abuse_rule r_ip_day = {"ag_unverified_ip_day", ip_day};
static const struct otp_abuse_rule r_ip_hour = {"ag_unverified_ip_hour",
						ip_hour};
static const struct otp_abuse_rule r_ip_countries = {"ag_countries_ip_day",
						     ip_countries};

const struct otp_abuse_rule *const sim_authgear_rules[] = {
    &r_ip_countries, &r_country_day, &r_country_hour, &r_ip_day, &r_ip_hour,
};
const size_t sim_authgear_nrules =
    sizeof sim_authgear_rules / sizeof sim_authgear_rules[0];
