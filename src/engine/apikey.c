/* apikey.c - API keys: generate, derive, check, seed (see apikey.h). */
#include "engine/apikey.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* Domain-separation keys for the two hashes (public constants: the key's
 * own entropy is what protects it). */
static const unsigned char id_key[16] = "otpd-apikey-id..";
static const unsigned char hash_key[16] = "otpd-apikey-hash";

void otp_apikey_generate(char key[OTP_APIKEY_NEW_LEN + 1])
{
	unsigned char raw[32];
	memcpy(key, "otpd_", 5);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(key + 5, OTP_APIKEY_NEW_LEN + 1 - 5, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void otp_apikey_derive(const char *key, size_t len, char id[OTP_KEY_ID_LEN + 1],
		       unsigned char hash[OTP_HASH_LEN])
{
	unsigned char raw_id[OTP_KEY_ID_LEN / 2];
	crypto_generichash(raw_id, sizeof raw_id, (const unsigned char *)key,
			   len, id_key, sizeof id_key);
	sodium_bin2hex(id, OTP_KEY_ID_LEN + 1, raw_id, sizeof raw_id);
	crypto_generichash(hash, OTP_HASH_LEN, (const unsigned char *)key, len,
			   hash_key, sizeof hash_key);
}

int otp_apikey_check(struct otp_store *s, const char *key, size_t len,
		     char id[OTP_KEY_ID_LEN + 1])
{
	unsigned char hash[OTP_HASH_LEN];
	struct otp_apikey k;
	if (!key || len < OTP_APIKEY_MIN || len > OTP_APIKEY_MAX)
		return OTP_EAPIKEY;
	otp_apikey_derive(key, len, id, hash);
	int rc = otp_store_apikey_get(s, id, &k);
	if (rc == OTP_ENOTFOUND)
		return OTP_EAPIKEY;
	if (rc < 0)
		return rc;
	if (sodium_memcmp(hash, k.hash, OTP_HASH_LEN) != 0 || k.revoked_ms)
		return OTP_EAPIKEY;
	return 0;
}

int otp_apikey_create(struct otp_store *s, const char *name, int64_t now,
		      char key[OTP_APIKEY_NEW_LEN + 1],
		      char id[OTP_KEY_ID_LEN + 1])
{
	struct otp_apikey k = {.created_ms = now};
	otp_apikey_generate(key);
	otp_apikey_derive(key, strlen(key), k.id, k.hash);
	snprintf(k.name, sizeof k.name, "%s", name);
	memcpy(id, k.id, sizeof k.id);
	return otp_store_apikey_put(s, &k);
}

int otp_apikey_seed(struct otp_store *s, const char *list, int64_t now)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			struct otp_apikey k = {.created_ms = now};
			if (len < OTP_APIKEY_MIN || len > OTP_APIKEY_MAX)
				return OTP_ETYPE;
			otp_apikey_derive(p, len, k.id, k.hash);
			snprintf(k.name, sizeof k.name, "env:%s", k.id);
			int rc = otp_store_apikey_put(s, &k);
			if (rc < 0 && rc != OTP_ECONFLICT)
				return rc;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
