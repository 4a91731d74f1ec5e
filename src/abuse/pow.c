/* pow.c - the proof-of-work step-up's challenges and their check (see
 * pow.h).
 *
 * A challenge is the text "2.<bits>.<expires_s>.<nonce>.<mac>": version 2,
 * the leading zero bits wanted (two digits), when it expires (epoch
 * seconds, twelve digits), 16 random bytes and a 16-byte MAC
 * (engine/crypto.h, otp_pow_mac) of the text before ".<mac>" together with
 * the session's token hash and the phone, both in base64url. Every field
 * has a fixed width, so a challenge is always OTP_POW_CHALLENGE_LEN (63)
 * bytes and "<challenge>." exactly one SHA-256 block: the page's solver
 * hashes that block once and then only the block the counter is in. A
 * solution appends ".<counter>" (decimal) so that SHA-256 of the whole
 * text starts with <bits> zero bits; a server checks one in one hash.
 * (Version 1 had no fixed widths; its challenges lived 120 s and are
 * refused now, answered with a new one.)
 *
 * Nothing is stored for a challenge; its solution, once accepted, takes a
 * burst-1 limit keyed by the nonce until the challenge would expire, which
 * makes it single-use on every otpd that shares the store. Not here: when
 * a step-up is wanted (the rules, abuse.h) and how the page solves one
 * (handlers/login_page.c).
 */
#include "abuse/pow.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

#define NONCE_BYTES 16
#define B64_LEN	    22 /* base64url of 16 bytes, no padding */
#define BITS_DIGITS 2
#define EXP_DIGITS  12 /* epoch seconds, good until the year 33658 */
#define CTR_DIGITS  15 /* a counter: far more than 2^28 tries */
/* The bounds of --fraud-pow-bits: a challenge below the least is refused
 * even with a good MAC, so no bug or old secret makes the work free. */
#define BITS_MIN 8
#define BITS_MAX 28

_Static_assert(OTP_POW_MAC_LEN == NONCE_BYTES, "B64_LEN fits both");
/* "2." "28." 12 digits "." nonce "." mac: one SHA-256 block with its "." */
_Static_assert(2 + BITS_DIGITS + 1 + EXP_DIGITS + 1 + B64_LEN + 1 + B64_LEN ==
		   OTP_POW_CHALLENGE_LEN,
	       "a challenge is OTP_POW_CHALLENGE_LEN bytes");
_Static_assert(OTP_POW_CHALLENGE_LEN + 1 == 64, "<challenge>. is one block");
_Static_assert(OTP_POW_CHALLENGE_LEN + 1 + CTR_DIGITS + 1 <= OTP_POW_MAX,
	       "a solution fits OTP_POW_MAX");

void otp_pow_challenge(const struct otp_keys *k,
		       const unsigned char session[OTP_HASH_LEN],
		       const char *e164, int bits, int64_t now,
		       char out[OTP_POW_MAX])
{
	unsigned char nonce[NONCE_BYTES], mac[OTP_POW_MAC_LEN];
	char n64[B64_LEN + 1];
	if (bits < BITS_MIN)
		bits = BITS_MIN;
	if (bits > BITS_MAX)
		bits = BITS_MAX;
	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2base64(n64, sizeof n64, nonce, sizeof nonce,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int n =
	    snprintf(out, OTP_POW_MAX, "2.%0*d.%0*lld.%s", BITS_DIGITS, bits,
		     EXP_DIGITS, (long long)(now / 1000 + OTP_POW_TTL_S), n64);
	otp_pow_mac(k, out, (size_t)n, session, e164, mac);
	out[n] = '.';
	sodium_bin2base64(out + n + 1, (size_t)(OTP_POW_MAX - n - 1), mac,
			  sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A solution's parts, pointing into its text. */
struct sol {
	int bits;
	int64_t expires_s;
	const char *nonce; /* B64_LEN characters */
	const char *mac;   /* B64_LEN characters */
	size_t signed_len; /* the bytes the MAC covers: up to the nonce's end */
};

/* len digits (len <= 18) as a number. */
static bool digits(const char *p, size_t len, int64_t *out)
{
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* A decimal field of 1..max digits, no leading zero (but "0" itself). */
static bool decimal(const char *p, size_t len, size_t max, int64_t *out)
{
	if (len == 0 || len > max || (p[0] == '0' && len > 1))
		return false;
	return digits(p, len, out);
}

/* A decimal field of exactly `width` digits, leading zeros and all. */
static bool fixed(const char *p, size_t len, size_t width, int64_t *out)
{
	return len == width && digits(p, len, out);
}

static bool b64url(const char *p, size_t len)
{
	return len == B64_LEN && otp_text_is_b64url(p, len);
}

/* Splits "2.<bits>.<exp>.<nonce>.<mac>.<counter>" (exactly six fields)
 * and checks each field's shape (widths fixed but the counter's). false
 * for anything else. */
static bool parse(const char *text, size_t len, struct sol *out)
{
	const char *f[6];
	size_t flen[6];
	if (otp_text_split(text, len, '.', f, flen, 6) != 6)
		return false;
	int64_t bits, ctr;
	if (flen[0] != 1 || f[0][0] != '2' ||
	    !fixed(f[1], flen[1], BITS_DIGITS, &bits) || bits < BITS_MIN ||
	    bits > BITS_MAX ||
	    !fixed(f[2], flen[2], EXP_DIGITS, &out->expires_s) ||
	    !b64url(f[3], flen[3]) || !b64url(f[4], flen[4]) ||
	    !decimal(f[5], flen[5], CTR_DIGITS, &ctr))
		return false;
	out->bits = (int)bits;
	out->nonce = f[3];
	out->mac = f[4];
	out->signed_len = (size_t)(f[3] + flen[3] - text);
	return true;
}

/* Does h start with `bits` zero bits? */
static bool leading_zeros(const unsigned char *h, int bits)
{
	int i = 0;
	for (; bits >= 8; bits -= 8)
		if (h[i++] != 0)
			return false;
	return bits == 0 || (h[i] >> (8 - bits)) == 0;
}

static int refused(enum otp_pow_outcome why)
{
	otp_pow_count(why);
	return OTP_ESTEPUP;
}

int otp_pow_check(const struct otp_keys *k, struct otp_store *s,
		  const unsigned char session[OTP_HASH_LEN], const char *e164,
		  const char *sol, size_t len, int64_t now)
{
	unsigned char mac[OTP_POW_MAC_LEN];
	unsigned char h[crypto_hash_sha256_BYTES];
	char want[B64_LEN + 1];
	struct sol p;

	if (!sol || len == 0 || len >= OTP_POW_MAX || !parse(sol, len, &p))
		return refused(OTP_POW_BAD);
	otp_pow_mac(k, sol, p.signed_len, session, e164, mac);
	sodium_bin2base64(want, sizeof want, mac, sizeof mac,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (sodium_memcmp(want, p.mac, B64_LEN) != 0)
		return refused(OTP_POW_BAD);
	int64_t expires_ms = p.expires_s * 1000;
	if (now >= expires_ms)
		return refused(OTP_POW_EXPIRED);
	crypto_hash_sha256(h, (const unsigned char *)sol, len);
	if (!leading_zeros(h, p.bits))
		return refused(OTP_POW_BAD);
	/* used once: the nonce's bucket stays empty until the challenge is
	 * dead anyway */
	struct otp_limit l = {.rate = {expires_ms - now, 1}};
	snprintf(l.key, sizeof l.key, "pw:%.*s", B64_LEN, p.nonce);
	int64_t retry_ms = 0;
	int rc = otp_store_limit_take(s, &l, 1, now, &retry_ms);
	if (rc == OTP_ELIMITED)
		return refused(OTP_POW_REUSED);
	if (rc == 0)
		otp_pow_count(OTP_POW_OK);
	return rc;
}
