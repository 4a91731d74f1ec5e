/* keys.c - otpctl's API key commands: create (the key is shown once, and
 * only its keyed hash is stored: engine/apikey.c), list and revoke. A
 * revocation through the running otpd is seen by its next request. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "ctl/ctl.h"
#include "engine/apikey.h"

int otp_ctl_key_create(const struct otp_ctl_env *e, json_t *args, json_t **data,
		       char *err, size_t errlen)
{
	char key[OTP_APIKEY_NEW_LEN + 1], id[OTP_KEY_ID_LEN + 1];
	const char *name = json_string_value(json_object_get(args, "name"));
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= OTP_KEY_NAME_MAX) {
		snprintf(err, errlen, "NAME must be 1..%d bytes",
			 OTP_KEY_NAME_MAX - 1);
		return 2;
	}
	if (!e->ring->cur) {
		snprintf(err, errlen, "key create: %s", e->no_secret);
		return 1;
	}
	int rc = otp_apikey_create(e->store, e->ring, name, e->now, key, id);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	*data = json_pack("{ssssss}", "key", key, "id", id, "name", name);
	sodium_memzero(key, sizeof key);
	return 0;
}

int otp_ctl_key_list(const struct otp_ctl_env *e, json_t *args, json_t **data,
		     char *err, size_t errlen)
{
	static struct otp_apikey keys[256];
	size_t n = 0;
	(void)args;
	int rc = otp_store_apikey_list(e->store, keys, 256, &n);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    list,
		    json_pack("{sssssIsIss}", "id", keys[i].id, "name",
			      keys[i].name, "created_ms",
			      (json_int_t)keys[i].created_ms, "revoked_ms",
			      (json_int_t)keys[i].revoked_ms, "state",
			      keys[i].revoked_ms ? "revoked" : "active"));
	*data = json_pack("{so}", "keys", list);
	return 0;
}

int otp_ctl_key_revoke(const struct otp_ctl_env *e, json_t *args, json_t **data,
		       char *err, size_t errlen)
{
	const char *id = json_string_value(json_object_get(args, "id"));
	if (!id || !id[0]) {
		snprintf(err, errlen, "key revoke needs an ID");
		return 2;
	}
	int rc = otp_store_apikey_revoke(e->store, id, e->now);
	return otp_ctl_changed(rc, "key", id, "revoked", data, err, errlen);
}
