/* fuzz_pow.c - proof-of-work solutions as a client sends them back
 * ("pow" of POST /auth/send-otp and of the login page's form): parse and
 * otp_pow_check of abuse/pow.c (included for its statics) on a store that
 * only records the single-use take.
 * Input: TEXT. A TEXT that starts with "good" has those four bytes
 * replaced by a true challenge for the fuzzer's session and phone, so that
 * it gets past the MAC. Checked: a solution is parsed only when it has
 * the six fields of their shapes within the text; it is accepted only if
 * it starts with a true challenge, its SHA-256 has the challenge's zero
 * bits, and the store's take of "pw:<nonce>" said yes. */
#include "../../src/abuse/pow.c"

#include "fuzz.h"

static int takes;
static char taken[OTP_LIMIT_KEY_MAX];

static int take(struct otp_store *s, const struct otp_limit *l, size_t n,
		int64_t now, int64_t *retry_ms)
{
	(void)s;
	(void)retry_ms;
	FUZZ_CHECK(n == 1 && l->rate.burst == 1 && l->rate.interval_ms > 0);
	FUZZ_CHECK(l->rate.interval_ms <= OTP_POW_TTL_S * 1000 + 1000);
	FUZZ_CHECK(now > 0);
	snprintf(taken, sizeof taken, "%s", l->key);
	takes++;
	return 0;
}

static const struct otp_store_ops ops = {.name = "fuzz", .limit_take = take};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_keys *k;
	static struct otp_store store = {.ops = &ops};
	static const unsigned char sess[OTP_HASH_LEN] = {9};
	static const char *const phone = "+14155550100";
	static const int64_t now = 1700000000000;
	static char ch[OTP_POW_MAX];
	if (!k) {
		static const unsigned char secret[OTP_SECRET_LEN] = {7};
		FUZZ_CHECK(otp_crypto_init() == 0);
		k = otp_keys_new(secret);
		otp_pow_challenge(k, sess, phone, 8, now, ch);
	}
	size_t chl = strlen(ch), len = n;
	char *s = malloc(n + chl + 1);
	if (!s)
		abort();
	memcpy(s, d, n);
	if (n >= 4 && memcmp(d, "good", 4) == 0) {
		memcpy(s, ch, chl);
		memcpy(s + chl, d + 4, n - 4);
		len = chl + n - 4;
	}
	s[len] = '\0';

	struct sol p;
	if (parse(s, len, &p)) {
		FUZZ_CHECK(p.bits >= BITS_MIN && p.bits <= BITS_MAX);
		FUZZ_CHECK(p.nonce > s && p.mac > p.nonce &&
			   p.mac + B64_LEN < s + len);
		FUZZ_CHECK(p.signed_len < len && s[p.signed_len] == '.');
	}
	int before = takes;
	int rc = otp_pow_check(k, &store, sess, phone, s, len, now);
	FUZZ_CHECK(rc == 0 || rc == OTP_ESTEPUP);
	if (rc == 0) {
		unsigned char h[crypto_hash_sha256_BYTES];
		FUZZ_CHECK(takes == before + 1);
		FUZZ_CHECK(len > chl && memcmp(s, ch, chl) == 0 &&
			   s[chl] == '.');
		crypto_hash_sha256(h, (const unsigned char *)s, len);
		FUZZ_CHECK(h[0] == 0);
		FUZZ_CHECK(strncmp(taken, "pw:", 3) == 0 &&
			   strncmp(taken + 3, p.nonce, B64_LEN) == 0);
	}
	free(s);
	return 0;
}
