/* crypto.c - codes, MACs, tokens and sealed bodies (see crypto.h). */
#include "engine/crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct otp_keys {
	unsigned char code[32];
	unsigned char session[32];
	unsigned char box[crypto_secretbox_KEYBYTES];
	unsigned char dlr[crypto_auth_hmacsha256_KEYBYTES];
	unsigned char tag[32];
	unsigned char apikey[32];    /* API-key ids and hashes */
	unsigned char phone_tag[32]; /* phones' keyed hashes */
	unsigned char phone_enc[crypto_stream_xchacha20_KEYBYTES];
	unsigned char pow[32];	   /* proof-of-work challenges' MACs */
	char kid[OTP_KID_LEN + 1]; /* which secret sealed a phone */
	/* Keyed BLAKE2b starts by compressing a block that holds only the
	 * key; these states are past that block, so a hash of a short input
	 * (a token, an id and a code) costs one compression instead of two.
	 * Copied for each use, never updated in place. */
	crypto_generichash_state code_st;
	crypto_generichash_state session_st;
	/* HMAC-SHA256 alike: past the key's inner and outer pad blocks. */
	crypto_auth_hmacsha256_state dlr_st;
};

int otp_crypto_init(void)
{
	return sodium_init() < 0 ? OTP_EINTERNAL : 0;
}

struct otp_keys *otp_keys_new(const unsigned char secret[OTP_SECRET_LEN])
{
	_Static_assert(crypto_kdf_KEYBYTES == OTP_SECRET_LEN, "secret size");
	struct otp_keys *k = sodium_malloc(sizeof *k);
	if (!k)
		abort();
	/* Each subkey: its place, its size, its KDF id and context. */
	const struct {
		unsigned char *key;
		size_t len;
		const char *ctx;
	} sub[] = {
	    {k->code, sizeof k->code, "otpdcode"},
	    {k->session, sizeof k->session, "otpdsess"},
	    {k->box, sizeof k->box, "otpdobox"},
	    {k->dlr, sizeof k->dlr, "otpddlr_"},
	    {k->tag, sizeof k->tag, "otpdtag_"},
	    {k->apikey, sizeof k->apikey, "otpdakey"},
	    {k->phone_tag, sizeof k->phone_tag, "otpdptag"},
	    {k->phone_enc, sizeof k->phone_enc, "otpdpenc"},
	    /* new rows go last: a row's place is its KDF id */
	    {k->pow, sizeof k->pow, "otpdpow_"},
	};
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
		crypto_kdf_derive_from_key(sub[i].key, sub[i].len, i + 1,
					   sub[i].ctx, secret);
	unsigned char kid[OTP_KID_LEN / 2];
	crypto_generichash(kid, sizeof kid, (const unsigned char *)"kid", 3,
			   k->phone_tag, sizeof k->phone_tag);
	sodium_bin2hex(k->kid, sizeof k->kid, kid, sizeof kid);
	crypto_generichash_init(&k->code_st, k->code, sizeof k->code,
				OTP_MAC_LEN);
	crypto_generichash_init(&k->session_st, k->session, sizeof k->session,
				OTP_HASH_LEN);
	crypto_auth_hmacsha256_init(&k->dlr_st, k->dlr, sizeof k->dlr);
	sodium_mprotect_readonly(k);
	return k;
}

void otp_keys_free(struct otp_keys *k)
{
	sodium_free(k); /* wipes */
}

void otp_code_generate(int len, char out[OTP_CODE_MAX + 1])
{
	if (len < 4)
		len = 4;
	if (len > OTP_CODE_MAX)
		len = OTP_CODE_MAX;
	/* randombytes_uniform(10) rejects the biased tail itself: each digit
	 * is uniform, so the code is too. */
	for (int i = 0; i < len; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[len] = '\0';
}

void otp_code_mac(const struct otp_keys *k, const char *id, const char *code,
		  size_t code_len, unsigned char mac[OTP_MAC_LEN])
{
	crypto_generichash_state st = k->code_st;
	crypto_generichash_update(&st, (const unsigned char *)id,
				  strlen(id) + 1); /* with its NUL */
	crypto_generichash_update(&st, (const unsigned char *)code, code_len);
	crypto_generichash_final(&st, mac, OTP_MAC_LEN);
	sodium_memzero(&st, sizeof st);
}

void otp_request_id_new(int64_t now_ms, char id[OTP_ID_LEN + 1])
{
	unsigned char raw[OTP_ID_LEN / 2];
	uint64_t t = now_ms > 0 ? (uint64_t)now_ms : 0;
	for (int i = 0; i < OTP_ID_TIME_BYTES; i++)
		raw[i] =
		    (unsigned char)(t >> (8 * (OTP_ID_TIME_BYTES - 1 - i)));
	randombytes_buf(raw + OTP_ID_TIME_BYTES,
			sizeof raw - OTP_ID_TIME_BYTES);
	sodium_bin2hex(id, OTP_ID_LEN + 1, raw, sizeof raw);
}

void otp_token_new(int64_t now_ms, char tok[OTP_TOKEN_LEN + 1])
{
	unsigned char raw[OTP_TOKEN_LEN / 4 * 3];
	uint64_t t = (uint64_t)now_ms;
	for (int i = 0; i < OTP_TOKEN_TIME_BYTES; i++)
		raw[i] =
		    (unsigned char)(t >> (8 * (OTP_TOKEN_TIME_BYTES - 1 - i)));
	randombytes_buf(raw + OTP_TOKEN_TIME_BYTES,
			sizeof raw - OTP_TOKEN_TIME_BYTES);
	sodium_bin2base64(tok, OTP_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

/* The time bytes of a token of OTP_TOKEN_LEN (its first 8 characters)
 * into t: true, or false for any other token. */
static bool token_time(const char *tok, size_t len,
		       unsigned char t[OTP_TOKEN_TIME_BYTES])
{
	size_t n = 0;
	return len == OTP_TOKEN_LEN &&
	       sodium_base642bin(t, OTP_TOKEN_TIME_BYTES, tok,
				 OTP_TOKEN_TIME_BYTES / 3 * 4, NULL, &n, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
		   0 &&
	       n == OTP_TOKEN_TIME_BYTES;
}

void otp_token_hash(const struct otp_keys *k, const char *tok, size_t len,
		    unsigned char hash[OTP_HASH_LEN])
{
	/* = crypto_generichash(hash, OTP_HASH_LEN, tok, len, k->session) */
	crypto_generichash_state st = k->session_st;
	unsigned char full[OTP_HASH_LEN], t[OTP_TOKEN_TIME_BYTES];
	crypto_generichash_update(&st, (const unsigned char *)tok, len);
	crypto_generichash_final(&st, full, OTP_HASH_LEN);
	sodium_memzero(&st, sizeof st);
	if (token_time(tok, len, t)) {
		memcpy(hash, t, sizeof t);
		memcpy(hash + sizeof t, full, OTP_HASH_LEN - sizeof t);
	} else {
		memcpy(hash, full, OTP_HASH_LEN);
	}
	sodium_memzero(full, sizeof full);
}

void otp_seal(const struct otp_keys *k, const char *text, size_t len,
	      unsigned char **out, size_t *out_len)
{
	size_t n =
	    crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	unsigned char *b = malloc(n);
	if (!b)
		abort();
	randombytes_buf(b, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES,
			      (const unsigned char *)text, len, b, k->box);
	*out = b;
	*out_len = n;
}

int otp_unseal(const struct otp_keys *k, const unsigned char *in, size_t in_len,
	       char *text, size_t cap)
{
	size_t over = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	if (in_len < over || in_len - over >= cap)
		return OTP_EINTERNAL;
	size_t len = in_len - over;
	if (crypto_secretbox_open_easy(
		(unsigned char *)text, in + crypto_secretbox_NONCEBYTES,
		in_len - crypto_secretbox_NONCEBYTES, in, k->box) != 0)
		return OTP_EINTERNAL;
	text[len] = '\0';
	return 0;
}

/* HMAC-SHA256(dlr key, decimal id), the first 16 bytes in hex. */
static void dlr_mac(const struct otp_keys *k, int64_t message_id,
		    char out[OTP_DLR_TOKEN_LEN + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)message_id);
	/* = crypto_auth_hmacsha256(mac, num, n, k->dlr) */
	crypto_auth_hmacsha256_state st = k->dlr_st;
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)num,
				      (size_t)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
	sodium_bin2hex(out, OTP_DLR_TOKEN_LEN + 1, mac, OTP_DLR_TOKEN_LEN / 2);
}

void otp_dlr_token(const struct otp_keys *k, int64_t message_id,
		   char out[OTP_DLR_TOKEN_LEN + 1])
{
	dlr_mac(k, message_id, out);
}

bool otp_dlr_token_ok(const struct otp_keys *k, int64_t message_id,
		      const char *token)
{
	char want[OTP_DLR_TOKEN_LEN + 1];
	if (!token || strlen(token) != OTP_DLR_TOKEN_LEN)
		return false;
	dlr_mac(k, message_id, want);
	return sodium_memcmp(want, token, OTP_DLR_TOKEN_LEN) == 0;
}

void otp_id_tag(const struct otp_keys *k, const char *id,
		char out[OTP_ID_TAG_LEN + 1])
{
	unsigned char h[OTP_ID_TAG_LEN / 2];
	crypto_generichash(h, sizeof h, (const unsigned char *)id, strlen(id),
			   k->tag, sizeof k->tag);
	sodium_bin2hex(out, OTP_ID_TAG_LEN + 1, h, sizeof h);
}

void otp_apikey_hashes(const struct otp_keys *k, const char *key, size_t len,
		       unsigned char id[OTP_APIKEY_ID_BYTES],
		       unsigned char hash[OTP_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, k->apikey, sizeof k->apikey,
				OTP_APIKEY_ID_BYTES + OTP_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)key, len);
	unsigned char out[OTP_APIKEY_ID_BYTES + OTP_HASH_LEN];
	crypto_generichash_final(&st, out, sizeof out);
	memcpy(id, out, OTP_APIKEY_ID_BYTES);
	memcpy(hash, out + OTP_APIKEY_ID_BYTES, OTP_HASH_LEN);
	sodium_memzero(out, sizeof out);
	sodium_memzero(&st, sizeof st);
}

void otp_pow_mac(const struct otp_keys *k, const char *text, size_t len,
		 const unsigned char session[OTP_HASH_LEN], const char *e164,
		 unsigned char mac[OTP_POW_MAC_LEN])
{
	static const unsigned char zero = 0;
	crypto_generichash_state st;
	crypto_generichash_init(&st, k->pow, sizeof k->pow, OTP_POW_MAC_LEN);
	crypto_generichash_update(&st, (const unsigned char *)text, len);
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, session, OTP_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)e164,
				  strlen(e164));
	crypto_generichash_final(&st, mac, OTP_POW_MAC_LEN);
	sodium_memzero(&st, sizeof st);
}

/* ---- phones at rest ----
 * tag = BLAKE2b-128(phone_tag key, phone); the phone, NUL-padded to 16
 * bytes, is XORed with XChaCha20(phone_enc key, nonce = tag || 0...): the
 * same phone always seals to the same text (the store matches phones by
 * equality), the text's length says nothing of the phone's, and the tag
 * proves the text was made with this secret. Stored as
 * "~" KID base64url(tag || box). */
#define PHONE_PAD (OTP_PHONE_MAX - 1)
#define TAG_BYTES 16

static void phone_tag_raw(const struct otp_keys *k, const char *phone,
			  size_t len, unsigned char tag[TAG_BYTES])
{
	crypto_generichash(tag, TAG_BYTES, (const unsigned char *)phone, len,
			   k->phone_tag, sizeof k->phone_tag);
}

static void phone_xor(const struct otp_keys *k, const unsigned char *tag,
		      unsigned char *buf)
{
	unsigned char nonce[crypto_stream_xchacha20_NONCEBYTES] = {0};
	memcpy(nonce, tag, TAG_BYTES);
	crypto_stream_xchacha20_xor(buf, buf, PHONE_PAD, nonce, k->phone_enc);
}

int otp_phone_seal(const struct otp_keys *k, const char *phone,
		   char out[OTP_SEALED_PHONE_MAX])
{
	size_t len = strlen(phone);
	if (len == 0) {
		out[0] = '\0';
		return 0;
	}
	if (len > PHONE_PAD)
		return OTP_EINTERNAL;
	unsigned char raw[TAG_BYTES + PHONE_PAD] = {0};
	phone_tag_raw(k, phone, len, raw);
	memcpy(raw + TAG_BYTES, phone, len);
	phone_xor(k, raw, raw + TAG_BYTES);
	out[0] = OTP_SEALED_MARK;
	memcpy(out + 1, k->kid, OTP_KID_LEN);
	sodium_bin2base64(out + 1 + OTP_KID_LEN,
			  OTP_SEALED_PHONE_MAX - 1 - OTP_KID_LEN, raw,
			  sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

void otp_phone_seal_mark(const struct otp_keys *k,
			 char out[1 + OTP_KID_LEN + 1])
{
	out[0] = OTP_SEALED_MARK;
	memcpy(out + 1, k->kid, OTP_KID_LEN + 1);
}

bool otp_phone_sealed_by(const struct otp_keys *k, const char *stored)
{
	return stored[0] == OTP_SEALED_MARK &&
	       strncmp(stored + 1, k->kid, OTP_KID_LEN) == 0;
}

int otp_phone_open(const struct otp_keys *k, const char *stored,
		   char out[OTP_PHONE_MAX])
{
	unsigned char raw[TAG_BYTES + PHONE_PAD], tag[TAG_BYTES];
	size_t n;
	out[0] = '\0';
	if (!otp_phone_sealed_by(k, stored))
		return OTP_ENOTFOUND;
	const char *b64 = stored + 1 + OTP_KID_LEN;
	if (sodium_base642bin(raw, sizeof raw, b64, strlen(b64), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof raw)
		return OTP_EINTERNAL;
	/* only the one text a seal makes: base64's spare bits set differ */
	char canon[OTP_SEALED_PHONE_MAX];
	sodium_bin2base64(canon, sizeof canon, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (strcmp(canon, b64) != 0)
		return OTP_EINTERNAL;
	phone_xor(k, raw, raw + TAG_BYTES);
	size_t len = strnlen((const char *)raw + TAG_BYTES, PHONE_PAD);
	unsigned char pad = 0; /* NUL to the end, as sealed */
	for (size_t i = TAG_BYTES + len; i < sizeof raw; i++)
		pad |= raw[i];
	int rc = OTP_EINTERNAL;
	phone_tag_raw(k, (const char *)raw + TAG_BYTES, len, tag);
	if (len && !pad && sodium_memcmp(tag, raw, TAG_BYTES) == 0) {
		memcpy(out, raw + TAG_BYTES, len);
		out[len] = '\0';
		rc = 0;
	}
	sodium_memzero(raw, sizeof raw);
	return rc;
}

void otp_phone_tag(const struct otp_keys *k, const char *phone,
		   char out[OTP_PHONE_TAG_LEN + 1])
{
	unsigned char tag[TAG_BYTES];
	phone_tag_raw(k, phone, strlen(phone), tag);
	sodium_bin2base64(out, OTP_PHONE_TAG_LEN + 1, tag, sizeof tag,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
