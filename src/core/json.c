/* json.c - strict request-body parsing (see json.h). */
#include "core/json.h"

#include <string.h>

#include "core/err.h"

static int load_error(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return OTP_EUTF8;
	default:
		return OTP_EJSON;
	}
}

static bool type_ok(json_t *v, enum otp_jtype t)
{
	switch (t) {
	case OTP_J_STRING:
		return json_is_string(v);
	case OTP_J_INT:
		return json_is_integer(v);
	case OTP_J_BOOL:
		return json_is_boolean(v);
	}
	return false;
}

/* A client's own key, copied for the answer only if it is a plain name
 * (letters, digits, '_', '-', '.'; at most OTP_JSON_ECHO_MAX - 1 bytes):
 * anything else is not echoed, so no odd bytes reach an answer. */
static void echo_name(const char *key, char *out)
{
	size_t i = 0;
	if (!out)
		return;
	out[0] = '\0';
	for (; key[i]; i++) {
		char ch = key[i];
		if (i == OTP_JSON_ECHO_MAX - 1 ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return;
	}
	memcpy(out, key, i + 1);
}

static int check(json_t *obj, const struct otp_jfield *spec, size_t n,
		 const char **field, char *unknown)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(key, spec[i].name) == 0)
				break;
		if (i == n) {
			*field = NULL; /* the client's text: not for logs */
			echo_name(key, unknown);
			return OTP_EUNKNOWN;
		}
		*field = spec[i].name;
		if (!type_ok(v, spec[i].type))
			return OTP_ETYPE;
		if (spec[i].type == OTP_J_STRING &&
		    json_string_length(v) > spec[i].max_len)
			return OTP_ETOOLONG;
	}
	for (size_t i = 0; i < n; i++) {
		if (spec[i].required && !json_object_get(obj, spec[i].name)) {
			*field = spec[i].name;
			return OTP_EMISSING;
		}
	}
	*field = NULL;
	return 0;
}

int otp_json_parse(const char *body, size_t len, const struct otp_jfield *spec,
		   size_t n, json_t **out, const char **field, char *unknown)
{
	json_error_t e;
	*out = NULL;
	*field = NULL;
	if (unknown)
		unknown[0] = '\0';
	if (len == 0)
		return OTP_EJSON;
	json_t *root =
	    json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!root)
		return load_error(&e);
	if (!json_is_object(root)) {
		json_decref(root);
		return OTP_ENOTOBJECT;
	}
	int rc = check(root, spec, n, field, unknown);
	if (rc < 0) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return 0;
}

const char *otp_json_str(json_t *obj, const char *name, size_t *len)
{
	json_t *v = json_object_get(obj, name);
	if (!json_is_string(v)) {
		*len = 0;
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}
