/* session.c - login sessions as the engine sees them: what a cookie's
 * token names, and logout (see engine.h).
 *
 * A token is random; only its keyed hash reaches the store. Sessions are
 * created by a login send (send.c) and rotated by a verify (verify.c).
 * Also here: the owner a code of a session or an API key records.
 */
#include <sodium.h>
#include <stdio.h>

#include "core/err.h"
#include "core/text.h"
#include "engine/core.h"

void otp_owner_of_key(const char *key_id, char out[OTP_OWNER_MAX])
{
	snprintf(out, OTP_OWNER_MAX, "k:%.*s", OTP_KEY_ID_LEN, key_id);
}

void otp_owner_of_session(const unsigned char hash[OTP_HASH_LEN],
			  char out[OTP_OWNER_MAX])
{
	out[0] = 's';
	out[1] = ':';
	sodium_bin2hex(out + 2, OTP_OWNER_MAX - 2, hash, 16);
}

bool otp_engine_token_ok(const char *tok, size_t len)
{
	return tok && (len == OTP_TOKEN_LEN || len == OTP_TOKEN_LEN_OLD) &&
	       otp_text_is_b64url(tok, len);
}

int otp_engine_session_find(struct otp_engine *e, struct otp_store *s,
			    const char *token, size_t token_len, int64_t now,
			    unsigned char hash[OTP_HASH_LEN],
			    struct otp_session *out)
{
	otp_token_hash(e->keys, token, token_len, hash);
	int rc = otp_store_session_get(s, hash, now, out);
	if (rc != OTP_ENOTFOUND || !e->prev_keys)
		return rc;
	/* made before the rotation: found under the previous secret */
	otp_token_hash(e->prev_keys, token, token_len, hash);
	rc = otp_store_session_get(s, hash, now, out);
	if (rc == OTP_ENOTFOUND)
		otp_token_hash(e->keys, token, token_len, hash);
	return rc;
}

int otp_engine_session(struct otp_engine *e, struct otp_store *s,
		       const char *token, size_t token_len, int64_t now,
		       struct otp_session *out)
{
	unsigned char hash[OTP_HASH_LEN];
	if (!otp_engine_token_ok(token, token_len))
		return OTP_EUNAUTH;
	int rc =
	    otp_engine_session_find(e, s, token, token_len, now, hash, out);
	if (rc == OTP_ENOTFOUND || (rc == 0 && out->authenticated_ms == 0))
		return OTP_EUNAUTH;
	return rc;
}

int otp_engine_logout(struct otp_engine *e, struct otp_store *s,
		      const char *token, size_t token_len)
{
	unsigned char hash[OTP_HASH_LEN];
	if (!otp_engine_token_ok(token, token_len))
		return 0;
	otp_token_hash(e->keys, token, token_len, hash);
	int rc = otp_store_session_delete(s, hash);
	if (rc == 0 && e->prev_keys) {
		otp_token_hash(e->prev_keys, token, token_len, hash);
		rc = otp_store_session_delete(s, hash);
	}
	return rc;
}
