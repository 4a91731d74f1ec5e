/* rules.c - otpd's rule table: every rule the check asks, in order (a
 * new rule is a rule_*.c file and a row here). The check takes the
 * strongest answer (block over refuse over step-up); among equals the
 * first row. docs/ABUSE.md gives each rule's thresholds and why.
 */
#include "abuse/abuse.h"

extern const struct otp_abuse_rule otp_rule_prefix;
extern const struct otp_abuse_rule otp_rule_region;
extern const struct otp_abuse_rule otp_rule_ip;
extern const struct otp_abuse_rule otp_rule_ip_spread;

const struct otp_abuse_rule *const otp_abuse_rules[] = {
    &otp_rule_prefix,
    &otp_rule_ip,
    &otp_rule_ip_spread,
    &otp_rule_region,
};
const size_t otp_abuse_nrules =
    sizeof otp_abuse_rules / sizeof otp_abuse_rules[0];
