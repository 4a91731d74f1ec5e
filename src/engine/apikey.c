/* apikey.c - API keys: generate, derive, check, seed (see apikey.h).
 *
 * A key's id and hash are keyed with the server secret (crypto.c,
 * otp_apikey_hashes). Rows made otherwise are found too and moved, in
 * one step (apikey_replace), to the current secret's id and hash the
 * first time their key is presented: rows of the previous secret of a
 * rotation, and rows of an otpd older than keyed hashes, whose id and
 * hash were BLAKE2b under public constants (what let a copy of the store
 * test guesses of a short key offline).
 */
#include "engine/apikey.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* The keys of an otpd before keyed hashes: public constants. */
static const unsigned char legacy_id_key[16] = "otpd-apikey-id..";
static const unsigned char legacy_hash_key[16] = "otpd-apikey-hash";

void otp_apikey_generate(char key[OTP_APIKEY_NEW_LEN + 1])
{
	unsigned char raw[32];
	memcpy(key, "otpd_", 5);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(key + 5, OTP_APIKEY_NEW_LEN + 1 - 5, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

/* The id and hash of a key: under k, or with k NULL the legacy ones. */
static void derive(const struct otp_keys *k, const char *key, size_t len,
		   char id[OTP_KEY_ID_LEN + 1],
		   unsigned char hash[OTP_HASH_LEN])
{
	unsigned char raw_id[OTP_APIKEY_ID_BYTES];
	if (k) {
		otp_apikey_hashes(k, key, len, raw_id, hash);
	} else {
		crypto_generichash(raw_id, sizeof raw_id,
				   (const unsigned char *)key, len,
				   legacy_id_key, sizeof legacy_id_key);
		crypto_generichash(hash, OTP_HASH_LEN,
				   (const unsigned char *)key, len,
				   legacy_hash_key, sizeof legacy_hash_key);
	}
	sodium_bin2hex(id, OTP_KEY_ID_LEN + 1, raw_id, sizeof raw_id);
}

void otp_apikey_derive(const struct otp_keys *k, const char *key, size_t len,
		       char id[OTP_KEY_ID_LEN + 1],
		       unsigned char hash[OTP_HASH_LEN])
{
	derive(k, key, len, id, hash);
}

/* Looks for a row of key made the older ways (the previous secret's, then
 * the legacy one) and moves it to `now_row` (id and hash already set; name,
 * times copied from the old row). 0 with *found and the old row's revoked
 * state in now_row, or a store error. */
static int move_older(struct otp_store *s, const struct otp_keyring *ring,
		      const char *key, size_t len, struct otp_apikey *now_row,
		      bool *found)
{
	const struct otp_keys *older[] = {ring->prev, NULL};
	*found = false;
	for (size_t i = ring->prev ? 0 : 1; i < 2 && !*found; i++) {
		char id[OTP_KEY_ID_LEN + 1];
		unsigned char hash[OTP_HASH_LEN];
		struct otp_apikey old;
		derive(older[i], key, len, id, hash);
		int rc = otp_store_apikey_get(s, id, &old);
		if (rc == OTP_ENOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		if (sodium_memcmp(hash, old.hash, OTP_HASH_LEN) != 0)
			continue;
		memcpy(now_row->name, old.name, sizeof now_row->name);
		now_row->created_ms = old.created_ms;
		now_row->revoked_ms = old.revoked_ms;
		rc = otp_store_apikey_replace(s, old.id, now_row);
		if (rc < 0 && rc != OTP_ENOTFOUND) /* gone: moved meanwhile */
			return rc;
		*found = true;
	}
	return 0;
}

int otp_apikey_check(struct otp_store *s, const struct otp_keyring *ring,
		     const char *key, size_t len, char id[OTP_KEY_ID_LEN + 1])
{
	struct otp_apikey k, now_row = {0};
	bool moved;
	if (!key || len < OTP_APIKEY_MIN || len > OTP_APIKEY_MAX)
		return OTP_EAPIKEY;
	derive(ring->cur, key, len, now_row.id, now_row.hash);
	memcpy(id, now_row.id, OTP_KEY_ID_LEN + 1);
	int rc = otp_store_apikey_get(s, id, &k);
	if (rc == OTP_ENOTFOUND) {
		rc = move_older(s, ring, key, len, &now_row, &moved);
		if (rc < 0)
			return rc;
		if (!moved)
			return OTP_EAPIKEY;
		k = now_row;
	} else if (rc < 0) {
		return rc;
	}
	if (sodium_memcmp(now_row.hash, k.hash, OTP_HASH_LEN) != 0 ||
	    k.revoked_ms)
		return OTP_EAPIKEY;
	return 0;
}

int otp_apikey_create(struct otp_store *s, const struct otp_keyring *ring,
		      const char *name, int64_t now,
		      char key[OTP_APIKEY_NEW_LEN + 1],
		      char id[OTP_KEY_ID_LEN + 1])
{
	struct otp_apikey k = {.created_ms = now};
	otp_apikey_generate(key);
	derive(ring->cur, key, strlen(key), k.id, k.hash);
	snprintf(k.name, sizeof k.name, "%s", name);
	memcpy(id, k.id, sizeof k.id);
	return otp_store_apikey_put(s, &k);
}

int otp_apikey_seed(struct otp_store *s, const struct otp_keyring *ring,
		    const char *list, int64_t now)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			struct otp_apikey k = {.created_ms = now};
			bool moved;
			if (len < OTP_APIKEY_MIN || len > OTP_APIKEY_MAX)
				return OTP_ETYPE;
			derive(ring->cur, p, len, k.id, k.hash);
			snprintf(k.name, sizeof k.name, "env:%s", k.id);
			/* an older row of it is moved, its state kept */
			int rc = move_older(s, ring, p, len, &k, &moved);
			if (rc == 0 && !moved)
				rc = otp_store_apikey_put(s, &k);
			if (rc < 0 && rc != OTP_ECONFLICT)
				return rc;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
