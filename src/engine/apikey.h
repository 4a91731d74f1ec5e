/* apikey.h - API keys of the provider API.
 *
 * A key is a random string shown once ("otpd_" + 43 base64url characters)
 * or any operator-chosen string of 16+ bytes (OTPD_API_KEYS). The store keeps
 * only an id and a hash, both derived from the key with BLAKE2b keyed with
 * the server secret (so a copy of the store cannot test a guess), neither
 * revealing the other; a presented key is found by its id and its hash
 * compared in constant time. A row made under the previous secret of a
 * rotation, or by an otpd older than keyed hashes, is moved to the current
 * secret the first time its key is seen (its id changes). Thread-safe.
 */
#ifndef OTP_ENGINE_APIKEY_H
#define OTP_ENGINE_APIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "engine/crypto.h"
#include "store/store.h"

#define OTP_APIKEY_MIN	   16
#define OTP_APIKEY_MAX	   128
#define OTP_APIKEY_NEW_LEN 48 /* "otpd_" + 43 */

/* A new random key, NUL-terminated. */
void otp_apikey_generate(char key[OTP_APIKEY_NEW_LEN + 1]);

/* The id and hash the store keeps for a key, under k. */
void otp_apikey_derive(const struct otp_keys *k, const char *key, size_t len,
		       char id[OTP_KEY_ID_LEN + 1],
		       unsigned char hash[OTP_HASH_LEN]);

/* Checks a presented key: 0 with its id, OTP_EAPIKEY (missing, unknown,
 * revoked or wrong), or a store error. */
int otp_apikey_check(struct otp_store *s, const struct otp_keyring *ring,
		     const char *key, size_t len, char id[OTP_KEY_ID_LEN + 1]);

/* Creates a key named name in the store; *key gets the key to show once.
 * 0 or a store error. */
int otp_apikey_create(struct otp_store *s, const struct otp_keyring *ring,
		      const char *name, int64_t now,
		      char key[OTP_APIKEY_NEW_LEN + 1],
		      char id[OTP_KEY_ID_LEN + 1]);

/* Seeds the comma-separated keys of `list` (OTPD_API_KEYS); keys already
 * there are left as they are (a revoked one stays revoked). 0, OTP_ETYPE for
 * a key shorter than OTP_APIKEY_MIN, or a store error. */
int otp_apikey_seed(struct otp_store *s, const struct otp_keyring *ring,
		    const char *list, int64_t now);

#endif
