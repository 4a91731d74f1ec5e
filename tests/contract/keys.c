/* keys.c - the store contract on API keys: create, look up, list, revoke.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

void ct_apikeys(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_apikey got[4];
	size_t n = 9;
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 0);
	struct otp_apikey k1 =
	    ct_make_key("00000000000000b1", "shop", 1, CT_T0 + 20);
	struct otp_apikey k2 =
	    ct_make_key("00000000000000a2", "app 'x'", 2, CT_T0 + 10);
	struct otp_apikey k3 =
	    ct_make_key("00000000000000a1", "ci", 3, CT_T0 + 10);
	CHECK_INT(otp_store_apikey_put(s, &k1), 0);
	CHECK_INT(otp_store_apikey_put(s, &k2), 0);
	CHECK_INT(otp_store_apikey_put(s, &k3), 0);
	struct otp_apikey dup = ct_make_key(k1.id, "other", 9, CT_T0 + 30);
	CHECK_INT(otp_store_apikey_put(s, &dup), OTP_ECONFLICT);

	CHECK_INT(otp_store_apikey_get(s, k1.id, &got[0]), 0);
	CHECK_STR(got[0].id, k1.id);
	CHECK_STR(got[0].name, "shop"); /* the duplicate changed nothing */
	CHECK(memcmp(got[0].hash, k1.hash, OTP_HASH_LEN) == 0);
	CHECK_INT(got[0].created_ms, CT_T0 + 20);
	CHECK_INT(got[0].revoked_ms, 0);
	CHECK_INT(otp_store_apikey_get(s, "00000000000000ff", &got[0]),
		  OTP_ENOTFOUND);

	/* Oldest first, then by id. */
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(got[0].id, k3.id);
	CHECK_STR(got[1].id, k2.id);
	CHECK_STR(got[1].name, "app 'x'");
	CHECK_STR(got[2].id, k1.id);
	CHECK_INT(otp_store_apikey_list(s, got, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(got[1].id, k2.id);
	CHECK_INT(otp_store_apikey_list(s, got, 0, &n), 0);
	CHECK_INT(n, 0);

	/* Revoked: still there, and the first time stays. */
	CHECK_INT(otp_store_apikey_revoke(s, k2.id, CT_T0 + 40), 0);
	CHECK_INT(otp_store_apikey_revoke(s, k2.id, CT_T0 + 50), 0);
	CHECK_INT(otp_store_apikey_get(s, k2.id, &got[0]), 0);
	CHECK_INT(got[0].revoked_ms, CT_T0 + 40);
	CHECK_INT(otp_store_apikey_get(s, k3.id, &got[0]), 0);
	CHECK_INT(got[0].revoked_ms, 0);
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(got[1].revoked_ms, CT_T0 + 40);
	CHECK_INT(otp_store_apikey_revoke(s, "00000000000000ff", CT_T0 + 60),
		  OTP_ENOTFOUND);
	otp_store_close(s);
}

/* A key moved to a new hash: the old row is gone and the new one listed
 * in its place, in one step; an unknown old id changes nothing. */
void ct_apikey_replace(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	/* old, another, and old's row under its new hash */
	const struct otp_apikey k[] = {
	    ct_make_key("00000000000000c1", "shop", 1, CT_T0 + 10),
	    ct_make_key("00000000000000c2", "ci", 2, CT_T0 + 20),
	    ct_make_key("00000000000000d1", "shop", 3, CT_T0 + 10),
	};
	const struct otp_apikey old = k[0], other = k[1];
	for (int i = 0; i < 2; i++)
		CHECK_INT(otp_store_apikey_put(s, &k[i]), 0);
	struct otp_apikey moved = k[2];
	moved.revoked_ms = CT_T0 + 15;
	CHECK_INT(otp_store_apikey_replace(s, "00000000000000ff", &moved),
		  OTP_ENOTFOUND);
	struct otp_apikey got[4];
	CHECK_INT(otp_store_apikey_get(s, moved.id, &got[0]), OTP_ENOTFOUND);
	CHECK_INT(otp_store_apikey_replace(s, old.id, &moved), 0);
	CHECK_INT(otp_store_apikey_get(s, old.id, &got[0]), OTP_ENOTFOUND);
	CHECK_INT(otp_store_apikey_get(s, moved.id, &got[0]), 0);
	CHECK(memcmp(got[0].hash, moved.hash, OTP_HASH_LEN) == 0);
	CHECK_INT(got[0].revoked_ms, CT_T0 + 15);
	size_t n = 9;
	CHECK_INT(otp_store_apikey_list(s, got, 4, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(got[0].id, moved.id);
	CHECK_STR(got[1].id, other.id);
	/* onto an id that exists: the old goes, the existing one stays */
	struct otp_apikey onto = ct_make_key(other.id, "x", 9, CT_T0 + 30);
	CHECK_INT(otp_store_apikey_replace(s, moved.id, &onto), 0);
	CHECK_INT(otp_store_apikey_get(s, moved.id, &got[0]), OTP_ENOTFOUND);
	CHECK_INT(otp_store_apikey_get(s, other.id, &got[0]), 0);
	CHECK_STR(got[0].name, "ci");
	otp_store_close(s);
}
