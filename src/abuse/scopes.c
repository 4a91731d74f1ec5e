/* scopes.c - the scopes of one send as signal keys (abuse.h): its region,
 * its number prefix, its client address and network, its API key, and
 * everything; and the names the logs and metrics give them.
 */
#include "abuse/scopes.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/phone.h"

#define NAME_(up, low, pfx) #low,
const char *const otp_abuse_scope_names[OTP_ABUSE_SCOPES] = {
    OTP_ABUSE_SCOPE_LIST(NAME_)};
#undef NAME_
#define PFX_(up, low, pfx) pfx,
static const char *const prefixes[OTP_ABUSE_SCOPES] = {
    OTP_ABUSE_SCOPE_LIST(PFX_)};
#undef PFX_

const char *const otp_abuse_action_names[OTP_ABUSE_ACTIONS] = {
    "pass", "stepup", "refuse", "block"};

/* The /24 of an IPv4 address, the /64 of an IPv6 one; "" for neither. */
static void network_of(const char *ip, char *out, size_t cap)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	out[0] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, cap, "%u.%u.%u.0/24", a[0], a[1], a[2]);
		return;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return;
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, text, sizeof text))
		snprintf(out, cap, "%s/64", text);
}

void otp_abuse_scopes(const char *e164, const char *ip, const char *key_id,
		      int prefix_digits, struct otp_abuse_view *v)
{
	char cc[4];
	char value[OTP_SIGNAL_KEY_MAX];
	size_t ccn = otp_phone_calling_code(e164, cc);
	size_t plen = 1 + ccn + (size_t)prefix_digits;
	otp_phone_region(e164, v->region);
	for (int sc = 0; sc < OTP_ABUSE_SCOPES; sc++) {
		value[0] = '\0';
		switch (sc) {
		case OTP_AS_REGION:
			snprintf(value, sizeof value, "%s", v->region);
			break;
		case OTP_AS_PREFIX:
			snprintf(
			    value, sizeof value, "%.*s",
			    (int)(plen < OTP_PHONE_MAX ? plen : OTP_PHONE_MAX),
			    e164);
			break;
		case OTP_AS_IP:
			if (ip && strlen(ip) < 46)
				snprintf(value, sizeof value, "%s", ip);
			break;
		case OTP_AS_NET:
			if (ip)
				network_of(ip, value, sizeof value);
			break;
		case OTP_AS_KEY:
			if (key_id)
				snprintf(value, sizeof value, "%s", key_id);
			break;
		case OTP_AS_ALL:
			break;
		}
		if (!value[0] && sc != OTP_AS_ALL) {
			v->key[sc][0] = '\0';
			continue;
		}
		snprintf(v->key[sc], sizeof v->key[sc], "%s%s", prefixes[sc],
			 value);
	}
}

void otp_abuse_credit_of(const struct otp_abuse_view *v,
			 char out[OTP_CREDIT_MAX])
{
	size_t n = 0;
	out[0] = '\0';
	for (int sc = 0; sc < OTP_ABUSE_SCOPES; sc++) {
		if (!v->key[sc][0])
			continue;
		int w = snprintf(out + n, OTP_CREDIT_MAX - n, "%s%s",
				 n ? " " : "", v->key[sc]);
		if (w < 0 || (size_t)w >= OTP_CREDIT_MAX - n) {
			out[n] = '\0'; /* what fits: a key is never cut */
			return;
		}
		n += (size_t)w;
	}
}
