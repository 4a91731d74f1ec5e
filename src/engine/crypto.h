/* crypto.h - every secret-bearing operation of the engine, on libsodium.
 *
 * The server secret is never used directly: subkeys are derived from it
 * (codes, session tokens, outbox bodies, delivery-report tokens, request-id
 * tags, API keys, phones' tags and seals, proof-of-work challenges) and kept in
 * sodium_malloc'd, locked memory, wiped when freed. Codes exist only as MACs
 * bound to their request id; session tokens only as keyed hashes; an outbox
 * body (which must hold the code until it is sent) only sealed. All functions
 * are thread-safe once the keys exist.
 */
#ifndef OTP_ENGINE_CRYPTO_H
#define OTP_ENGINE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define OTP_SECRET_LEN 32
/* A session token: base64url, no padding, of 33 bytes: the millisecond it
 * was made (6 bytes, big-endian) and 27 random ones (216 bits). Tokens
 * made before it had 32 random bytes, 43 characters; they are still
 * read. */
#define OTP_TOKEN_LEN	     44
#define OTP_TOKEN_LEN_OLD    43
#define OTP_TOKEN_TIME_BYTES 6
#define OTP_CODE_MIN	     4
#define OTP_CODE_MAX	     10

struct otp_keys;

/* The keys in use: cur makes and checks; prev, or NULL, is the previous
 * secret's during a rotation, and only checks (opens, verifies) what it
 * made before. */
struct otp_keyring {
	const struct otp_keys *cur, *prev;
};

/* Calls sodium_init. Returns 0 or OTP_EINTERNAL. */
int otp_crypto_init(void);

/* Derives the subkeys from a 32-byte secret. */
struct otp_keys *otp_keys_new(const unsigned char secret[OTP_SECRET_LEN]);
void otp_keys_free(struct otp_keys *k);

/* len (4..10) uniformly random digits and a NUL into out. */
void otp_code_generate(int len, char out[OTP_CODE_MAX + 1]);

/* MAC(code key, id || 0 || code). */
void otp_code_mac(const struct otp_keys *k, const char *id, const char *code,
		  size_t code_len, unsigned char mac[OTP_MAC_LEN]);

/* A new request id, 32 lowercase hex characters: now_ms in the first
 * OTP_ID_TIME_BYTES bytes (big-endian: ids sort by when they were made,
 * so the store's indexes on them take each new one at their end, not on
 * a random page), then 80 random bits (what makes it unguessable). */
#define OTP_ID_TIME_BYTES 6
void otp_request_id_new(int64_t now_ms, char id[OTP_ID_LEN + 1]);

/* A new session token made at now_ms (wall clock). */
void otp_token_new(int64_t now_ms, char tok[OTP_TOKEN_LEN + 1]);
/* The hash the store keeps for a token, its key there. For a token of
 * OTP_TOKEN_LEN: its 6 time bytes, then the first 26 bytes of the token's
 * keyed hash (208 bits), so that tokens made together are keys together
 * (a send's or a verify's new session goes to the end of the sessions'
 * B-tree, not to a random page, and recent sessions share pages). For
 * any other token: 32 bytes of keyed hash, as before. */
void otp_token_hash(const struct otp_keys *k, const char *tok, size_t len,
		    unsigned char hash[OTP_HASH_LEN]);

/* Seals text for the outbox: *out is malloc'd (nonce || box). */
void otp_seal(const struct otp_keys *k, const char *text, size_t len,
	      unsigned char **out, size_t *out_len);
/* Opens a sealed body into text (NUL-terminated). 0 or OTP_EINTERNAL. */
int otp_unseal(const struct otp_keys *k, const unsigned char *in, size_t in_len,
	       char *text, size_t cap);

/* The token a gateway's delivery report for outbox message `message_id`
 * must carry (Kannel's dlr-url): a MAC of the id, 32 hex digits. */
#define OTP_DLR_TOKEN_LEN 32
void otp_dlr_token(const struct otp_keys *k, int64_t message_id,
		   char out[OTP_DLR_TOKEN_LEN + 1]);
/* Is `token` the one for message_id? Constant time. */
bool otp_dlr_token_ok(const struct otp_keys *k, int64_t message_id,
		      const char *token);

/* A request id's tag: a keyed hash of it, 16 hex digits, the same in every
 * process with the same secret. What log lines and gateways' idempotency
 * keys carry instead of the id itself (which opens the request). */
#define OTP_ID_TAG_LEN 16
void otp_id_tag(const struct otp_keys *k, const char *id,
		char out[OTP_ID_TAG_LEN + 1]);

/* An API key's id (OTP_APIKEY_ID_BYTES bytes) and stored hash, both keyed
 * with the secret: a copy of the store alone cannot test a guess. */
#define OTP_APIKEY_ID_BYTES (OTP_KEY_ID_LEN / 2)
void otp_apikey_hashes(const struct otp_keys *k, const char *key, size_t len,
		       unsigned char id[OTP_APIKEY_ID_BYTES],
		       unsigned char hash[OTP_HASH_LEN]);

/* Phones at rest (crypto.c says how): what the store keeps of a phone is
 * its seal, "~", OTP_KID_LEN hex digits naming the secret, and 43 base64url
 * characters; the same phone seals to the same text under one secret.
 * seal: "" stays ""; 0 or OTP_EINTERNAL (longer than a phone).
 * open: 0; OTP_ENOTFOUND if another secret (or none) sealed it;
 * OTP_EINTERNAL if it is forged or damaged. */
#define OTP_SEALED_MARK '~'
#define OTP_KID_LEN	4
int otp_phone_seal(const struct otp_keys *k, const char *phone,
		   char out[OTP_SEALED_PHONE_MAX]);
int otp_phone_open(const struct otp_keys *k, const char *stored,
		   char out[OTP_PHONE_MAX]);
bool otp_phone_sealed_by(const struct otp_keys *k, const char *stored);
/* What every seal of k starts with: "~" and its KID. */
void otp_phone_seal_mark(const struct otp_keys *k,
			 char out[1 + OTP_KID_LEN + 1]);

/* A phone's keyed hash, 22 base64url characters: what limit keys carry
 * instead of the phone (never needed back). */
#define OTP_PHONE_TAG_LEN 22
void otp_phone_tag(const struct otp_keys *k, const char *phone,
		   char out[OTP_PHONE_TAG_LEN + 1]);

/* The MAC of a proof-of-work challenge (abuse/pow.c): keyed BLAKE2b, under
 * a subkey of its own, of the challenge's text (len bytes, no NUL in it),
 * a NUL, the session's token hash and the E.164 phone. */
#define OTP_POW_MAC_LEN 16
void otp_pow_mac(const struct otp_keys *k, const char *text, size_t len,
		 const unsigned char session[OTP_HASH_LEN], const char *e164,
		 unsigned char mac[OTP_POW_MAC_LEN]);

#endif
