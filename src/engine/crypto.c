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
	/* Keyed BLAKE2b starts by compressing a block that holds only the
	 * key; these states are past that block, so a hash of a short input
	 * (a token, an id and a code) costs one compression instead of two.
	 * Copied for each use, never updated in place. */
	crypto_generichash_state code_st;
	crypto_generichash_state session_st;
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
	crypto_kdf_derive_from_key(k->code, sizeof k->code, 1, "otpdcode",
				   secret);
	crypto_kdf_derive_from_key(k->session, sizeof k->session, 2, "otpdsess",
				   secret);
	crypto_kdf_derive_from_key(k->box, sizeof k->box, 3, "otpdobox",
				   secret);
	crypto_kdf_derive_from_key(k->dlr, sizeof k->dlr, 4, "otpddlr_",
				   secret);
	crypto_kdf_derive_from_key(k->tag, sizeof k->tag, 5, "otpdtag_",
				   secret);
	crypto_generichash_init(&k->code_st, k->code, sizeof k->code,
				OTP_MAC_LEN);
	crypto_generichash_init(&k->session_st, k->session, sizeof k->session,
				OTP_HASH_LEN);
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

void otp_request_id_new(char id[OTP_ID_LEN + 1])
{
	unsigned char raw[OTP_ID_LEN / 2];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(id, OTP_ID_LEN + 1, raw, sizeof raw);
}

void otp_token_new(char tok[OTP_TOKEN_LEN + 1])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(tok, OTP_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void otp_token_hash(const struct otp_keys *k, const char *tok, size_t len,
		    unsigned char hash[OTP_HASH_LEN])
{
	/* = crypto_generichash(hash, OTP_HASH_LEN, tok, len, k->session) */
	crypto_generichash_state st = k->session_st;
	crypto_generichash_update(&st, (const unsigned char *)tok, len);
	crypto_generichash_final(&st, hash, OTP_HASH_LEN);
	sodium_memzero(&st, sizeof st);
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
	crypto_auth_hmacsha256(mac, (const unsigned char *)num, (size_t)n,
			       k->dlr);
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
