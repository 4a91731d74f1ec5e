/* test_crypto.c - code generation, MACs, tokens, sealing, message text. */
#include <sodium.h>

#include "core/err.h"
#include "engine/crypto.h"
#include "engine/message_test.h"
#include "harness.h"

static const unsigned char secret[32] = {1, 2, 3, 4, 5, 6, 7, 8};

static void codes_have_length_and_digits(void)
{
	char c[OTP_CODE_MAX + 1];
	for (int len = 4; len <= 10; len++) {
		for (int i = 0; i < 200; i++) {
			otp_code_generate(len, c);
			CHECK_INT(strlen(c), len);
			for (int j = 0; j < len; j++)
				CHECK(c[j] >= '0' && c[j] <= '9');
		}
	}
}

/* No modulo bias by construction (randombytes_uniform); here we check the
 * digits are spread evenly enough that a gross bias would show: 60,000
 * digits, each count within 6 % of 6,000. */
static void digits_are_uniform(void)
{
	int count[10] = {0};
	char c[OTP_CODE_MAX + 1];
	for (int i = 0; i < 6000; i++) {
		otp_code_generate(10, c);
		for (int j = 0; j < 10; j++)
			count[c[j] - '0']++;
	}
	for (int d = 0; d < 10; d++)
		CHECK(count[d] > 5640 && count[d] < 6360);
}

static void mac_binds_id_code_and_key(void)
{
	struct otp_keys *k = otp_keys_new(secret), *k2;
	unsigned char other[32] = {9};
	unsigned char a[32], b[32];
	k2 = otp_keys_new(other);
	otp_code_mac(k, "id1", "123456", 6, a);
	otp_code_mac(k, "id1", "123456", 6, b);
	CHECK(sodium_memcmp(a, b, 32) == 0);
	otp_code_mac(k, "id2", "123456", 6, b);
	CHECK(sodium_memcmp(a, b, 32) != 0);
	otp_code_mac(k, "id1", "123457", 6, b);
	CHECK(sodium_memcmp(a, b, 32) != 0);
	otp_code_mac(k2, "id1", "123456", 6, b);
	CHECK(sodium_memcmp(a, b, 32) != 0);
	/* id and code are separated: "id1"+"1..." != "id11"+"..." */
	otp_code_mac(k, "id11", "23456", 5, b);
	CHECK(sodium_memcmp(a, b, 32) != 0);
	otp_keys_free(k);
	otp_keys_free(k2);
}

static void ids_and_tokens_are_random_and_well_formed(void)
{
	char id1[OTP_ID_LEN + 1], id2[OTP_ID_LEN + 1];
	char t1[OTP_TOKEN_LEN + 1], t2[OTP_TOKEN_LEN + 1];
	const int64_t t = 1764547200123; /* 2025-12-01 */
	otp_request_id_new(t, id1);
	otp_request_id_new(t, id2);
	CHECK_INT(strlen(id1), OTP_ID_LEN);
	CHECK(strspn(id1, "0123456789abcdef") == OTP_ID_LEN);
	CHECK(strcmp(id1, id2) != 0);
	/* the same millisecond: the time part alike, the random part not */
	CHECK(memcmp(id1, id2, 2 * OTP_ID_TIME_BYTES) == 0);
	CHECK(strcmp(id1 + 2 * OTP_ID_TIME_BYTES,
		     id2 + 2 * OTP_ID_TIME_BYTES) != 0);
	/* a later one sorts after, also across a carry (0x..ff -> 0x..00) */
	char later[OTP_ID_LEN + 1];
	otp_request_id_new(t + 1, later);
	CHECK(strcmp(id1, later) < 0 && strcmp(id2, later) < 0);
	otp_request_id_new(0x1000000000LL - 1, id1);
	otp_request_id_new(0x1000000000LL, later);
	CHECK(strcmp(id1, later) < 0);
	CHECK(strncmp(later, "001000000000", 12) == 0);
	otp_token_new(t, t1);
	otp_token_new(t, t2);
	CHECK_INT(strlen(t1), OTP_TOKEN_LEN);
	CHECK(strcmp(t1, t2) != 0);
}

/* A token's store key starts with the millisecond it was made: tokens
 * made later sort later there, whatever their random part; the rest is
 * its keyed hash, which every character of the token changes. A token
 * of the old length keeps the whole keyed hash. */
static void token_keys_sort_by_time(void)
{
	struct otp_keys *k = otp_keys_new(secret);
	unsigned char h1[OTP_HASH_LEN], h2[OTP_HASH_LEN], h3[OTP_HASH_LEN];
	char t1[OTP_TOKEN_LEN + 1], t2[OTP_TOKEN_LEN + 1];
	int64_t t = 1780000000123LL;
	for (int i = 0; i < 50; i++) {
		otp_token_new(t + i, t1);
		otp_token_new(t + i + 1, t2);
		otp_token_hash(k, t1, OTP_TOKEN_LEN, h1);
		otp_token_hash(k, t2, OTP_TOKEN_LEN, h2);
		CHECK(memcmp(h1, h2, OTP_HASH_LEN) < 0);
		CHECK(memcmp(h1, h2, OTP_TOKEN_TIME_BYTES) < 0);
	}
	unsigned char want[OTP_TOKEN_TIME_BYTES];
	for (int i = 0; i < OTP_TOKEN_TIME_BYTES; i++)
		want[i] = (unsigned char)((uint64_t)t >> (40 - 8 * i));
	otp_token_new(t, t1);
	otp_token_hash(k, t1, OTP_TOKEN_LEN, h1);
	CHECK(memcmp(h1, want, OTP_TOKEN_TIME_BYTES) == 0);
	/* one character changed, in the random part or the time's: another
	 * keyed hash */
	for (size_t at = 0; at < OTP_TOKEN_LEN; at += 7) {
		memcpy(t2, t1, sizeof t1);
		t2[at] = t2[at] == 'A' ? 'B' : 'A';
		otp_token_hash(k, t2, OTP_TOKEN_LEN, h2);
		CHECK(memcmp(h1 + OTP_TOKEN_TIME_BYTES,
			     h2 + OTP_TOKEN_TIME_BYTES,
			     OTP_HASH_LEN - OTP_TOKEN_TIME_BYTES) != 0);
	}
	/* the old form: all 32 bytes keyed hash (its first 6 are not the
	 * first 8 characters decoded) */
	otp_token_hash(k, t1, OTP_TOKEN_LEN_OLD, h3);
	unsigned char skey[32], full[OTP_HASH_LEN];
	crypto_kdf_derive_from_key(skey, 32, 2, "otpdsess", secret);
	crypto_generichash(full, OTP_HASH_LEN, (const unsigned char *)t1,
			   OTP_TOKEN_LEN_OLD, skey, 32);
	CHECK(memcmp(h3, full, OTP_HASH_LEN) == 0);
	otp_keys_free(k);
}

static void token_hash_is_keyed(void)
{
	struct otp_keys *k = otp_keys_new(secret);
	unsigned char h1[32], h2[32], plain[32];
	otp_token_hash(k, "tok", 3, h1);
	otp_token_hash(k, "tok", 3, h2);
	CHECK(memcmp(h1, h2, 32) == 0);
	crypto_generichash(plain, 32, (const unsigned char *)"tok", 3, NULL, 0);
	CHECK(memcmp(h1, plain, 32) != 0);
	otp_keys_free(k);
}

/* The hashes start from a keyed state made once (crypto.c); they must be
 * the plain keyed BLAKE2b of the subkey, or stored sessions and codes would
 * no longer match. The subkeys are derived here as crypto.c does. */
static void hashes_equal_one_shot_keyed_blake2b(void)
{
	struct otp_keys *k = otp_keys_new(secret);
	unsigned char skey[32], ckey[32], want[64], got[64];
	char tok[200];
	crypto_kdf_derive_from_key(skey, 32, 2, "otpdsess", secret);
	crypto_kdf_derive_from_key(ckey, 32, 1, "otpdcode", secret);
	for (size_t len = 0; len < sizeof tok; len++) {
		tok[len] = (char)('a' + len % 26);
		crypto_generichash(want, OTP_HASH_LEN,
				   (const unsigned char *)tok, len, skey, 32);
		otp_token_hash(k, tok, len, got);
		/* a token of today's length: its time, then the hash */
		size_t at = len == OTP_TOKEN_LEN ? OTP_TOKEN_TIME_BYTES : 0;
		CHECK(memcmp(want, got + at, OTP_HASH_LEN - at) == 0);
	}
	crypto_generichash(want, OTP_MAC_LEN,
			   (const unsigned char *)"id1\0"
						  "123456",
			   10, ckey, 32);
	otp_code_mac(k, "id1", "123456", 6, got);
	CHECK(memcmp(want, got, OTP_MAC_LEN) == 0);
	otp_keys_free(k);
}

static void seal_round_trip_and_tamper(void)
{
	struct otp_keys *k = otp_keys_new(secret);
	unsigned char *box;
	size_t n;
	char out[64];
	otp_seal(k, "123456 is your code", 19, &box, &n);
	CHECK(memmem(box, n, "123456", 6) == NULL);
	CHECK_INT(otp_unseal(k, box, n, out, sizeof out), 0);
	CHECK_STR(out, "123456 is your code");
	CHECK(otp_unseal(k, box, n, out, 10) < 0); /* does not fit */
	box[n - 1] ^= 1;
	CHECK(otp_unseal(k, box, n, out, sizeof out) < 0);
	free(box);
	otp_keys_free(k);
}

static void message_text_and_autofill_line(void)
{
	char m[OTP_MESSAGE_MAX];
	CHECK(otp_message_render(m, sizeof m, "123456", "Acme", 300, "") > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes.");
	CHECK(otp_message_render(m, sizeof m, "123456", "Acme", 60,
				 "example.com") > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 1 minute."
		     "\n\n@example.com #123456");
	CHECK_INT(otp_message_render(m, 10, "123456", "Acme", 60, ""), 0);
}

static void dlr_tokens_bind_id_and_key(void)
{
	unsigned char s1[OTP_SECRET_LEN] = {1}, s2[OTP_SECRET_LEN] = {2};
	struct otp_keys *k1 = otp_keys_new(s1), *k2 = otp_keys_new(s2);
	char t[OTP_DLR_TOKEN_LEN + 1], u[OTP_DLR_TOKEN_LEN + 1];
	otp_dlr_token(k1, 42, t);
	CHECK_INT(strlen(t), OTP_DLR_TOKEN_LEN);
	CHECK(otp_dlr_token_ok(k1, 42, t));
	CHECK(!otp_dlr_token_ok(k1, 43, t));
	CHECK(!otp_dlr_token_ok(k2, 42, t));
	otp_dlr_token(k1, 43, u);
	CHECK(strcmp(t, u) != 0);
	t[5] ^= 1;
	CHECK(!otp_dlr_token_ok(k1, 42, t));
	CHECK(!otp_dlr_token_ok(k1, 42, ""));
	CHECK(!otp_dlr_token_ok(k1, 42, NULL));
	otp_keys_free(k1);
	otp_keys_free(k2);
}

/* The token is HMAC-SHA256(the dlr subkey, decimal id), its first 16 bytes
 * in hex: the same text whatever the MAC's state is made from, so tokens
 * already handed to a gateway still verify. */
static void dlr_token_is_hmac_of_the_id(void)
{
	unsigned char s[OTP_SECRET_LEN] = {7}, key[32], mac[32];
	char want[OTP_DLR_TOKEN_LEN + 1], t[OTP_DLR_TOKEN_LEN + 1];
	struct otp_keys *k = otp_keys_new(s);
	crypto_kdf_derive_from_key(key, sizeof key, 4, "otpddlr_", s);
	const long long ids[] = {0, 1, 42, 1234567890123LL, -5};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char num[24];
		int n = snprintf(num, sizeof num, "%lld", ids[i]);
		crypto_auth_hmacsha256(mac, (const unsigned char *)num,
				       (size_t)n, key);
		sodium_bin2hex(want, sizeof want, mac, OTP_DLR_TOKEN_LEN / 2);
		otp_dlr_token(k, ids[i], t);
		CHECK_STR(t, want);
	}
	otp_keys_free(k);
}

/* Phones at rest: the same phone seals to the same text (the store
 * matches on it), two phones to two texts of one length, the text holds no
 * digit run of the phone, opens back under its secret only, and a text
 * changed in any byte does not open. */
static void phones_seal_deterministic_and_open(void)
{
	static const unsigned char other[32] = {9};
	struct otp_keys *k = otp_keys_new(secret), *o = otp_keys_new(other);
	char a[OTP_SEALED_PHONE_MAX], b[OTP_SEALED_PHONE_MAX];
	char c[OTP_SEALED_PHONE_MAX], back[OTP_PHONE_MAX];
	CHECK_INT(otp_phone_seal(k, "+14155550100", a), 0);
	CHECK_INT(otp_phone_seal(k, "+14155550100", b), 0);
	CHECK_STR(a, b);
	CHECK_INT(otp_phone_seal(k, "+442079460958123", c), 0);
	CHECK(strcmp(a, c) != 0);
	CHECK_INT(strlen(a), strlen(c));
	CHECK(strlen(a) < OTP_SEALED_PHONE_MAX);
	CHECK(a[0] == OTP_SEALED_MARK);
	CHECK(strstr(a, "4155550") == NULL && strstr(a, "0100") == NULL);
	CHECK_INT(otp_phone_open(k, a, back), 0);
	CHECK_STR(back, "+14155550100");
	CHECK_INT(otp_phone_open(k, c, back), 0);
	CHECK_STR(back, "+442079460958123");
	CHECK(otp_phone_sealed_by(k, a) && !otp_phone_sealed_by(o, a));
	CHECK_INT(otp_phone_open(o, a, back), OTP_ENOTFOUND);
	CHECK_STR(back, "");
	char mark[1 + OTP_KID_LEN + 1];
	otp_phone_seal_mark(k, mark);
	CHECK(strncmp(a, mark, strlen(mark)) == 0);
	for (size_t i = 1 + OTP_KID_LEN; i < strlen(a); i++) {
		memcpy(b, a, sizeof b);
		b[i] = b[i] == 'A' ? 'B' : 'A';
		CHECK_INT(otp_phone_open(k, b, back), OTP_EINTERNAL);
	}
	CHECK_INT(otp_phone_seal(k, "", b), 0);
	CHECK_STR(b, "");
	CHECK_INT(otp_phone_seal(k, "+12345678901234567", b), OTP_EINTERNAL);
	/* limit keys' tags: stable, keyed, no digits of the phone */
	char t1[OTP_PHONE_TAG_LEN + 1], t2[OTP_PHONE_TAG_LEN + 1];
	otp_phone_tag(k, "+14155550100", t1);
	otp_phone_tag(k, "+14155550100", t2);
	CHECK_STR(t1, t2);
	CHECK_INT(strlen(t1), OTP_PHONE_TAG_LEN);
	otp_phone_tag(o, "+14155550100", t2);
	CHECK(strcmp(t1, t2) != 0);
	otp_keys_free(k);
	otp_keys_free(o);
}

/* An API key's id and hash depend on the secret: a copy of the store
 * without it cannot test a guess. */
static void apikey_hashes_are_keyed(void)
{
	static const unsigned char other[32] = {9};
	struct otp_keys *k = otp_keys_new(secret), *o = otp_keys_new(other);
	unsigned char id1[OTP_APIKEY_ID_BYTES], id2[OTP_APIKEY_ID_BYTES];
	unsigned char h1[OTP_HASH_LEN], h2[OTP_HASH_LEN];
	otp_apikey_hashes(k, "0123456789abcdef", 16, id1, h1);
	otp_apikey_hashes(k, "0123456789abcdef", 16, id2, h2);
	CHECK(memcmp(id1, id2, sizeof id1) == 0);
	CHECK(memcmp(h1, h2, sizeof h1) == 0);
	otp_apikey_hashes(o, "0123456789abcdef", 16, id2, h2);
	CHECK(memcmp(id1, id2, sizeof id1) != 0);
	CHECK(memcmp(h1, h2, sizeof h1) != 0);
	otp_apikey_hashes(k, "0123456789abcdeg", 16, id2, h2);
	CHECK(memcmp(h1, h2, sizeof h1) != 0);
	otp_keys_free(k);
	otp_keys_free(o);
}

static const struct harness_test tests[] = {
    TEST(dlr_tokens_bind_id_and_key),
    TEST(dlr_token_is_hmac_of_the_id),
    TEST(codes_have_length_and_digits),
    TEST(digits_are_uniform),
    TEST(mac_binds_id_code_and_key),
    TEST(ids_and_tokens_are_random_and_well_formed),
    TEST(token_hash_is_keyed),
    TEST(token_keys_sort_by_time),
    TEST(hashes_equal_one_shot_keyed_blake2b),
    TEST(seal_round_trip_and_tamper),
    TEST(message_text_and_autofill_line),
    TEST(phones_seal_deterministic_and_open),
    TEST(apikey_hashes_are_keyed),
};

int main(void)
{
	if (otp_crypto_init() < 0)
		return 1;
	return harness_run("crypto", tests, sizeof tests / sizeof tests[0]);
}
