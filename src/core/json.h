/* json.h - strict parsing of request bodies against a field list.
 *
 * A route names its fields (name, type, required, longest value); a body is
 * accepted only if it is one JSON object of exactly those fields. Every way
 * it can be wrong maps to one error of core/err.h. Not here: writing
 * responses (handlers build json_t; the HTTP layer serialises).
 */
#ifndef OTP_CORE_JSON_H
#define OTP_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum otp_jtype { OTP_J_STRING, OTP_J_INT, OTP_J_BOOL };

struct otp_jfield {
	const char *name;
	enum otp_jtype type;
	bool required;
	size_t max_len; /* strings: bytes at most */
};

/* Parses len bytes as one JSON object and checks it against the n fields.
 * Returns 0 with *out owned by the caller (json_decref), or OTP_EJSON,
 * OTP_ENOTOBJECT, OTP_EUTF8, OTP_EUNKNOWN, OTP_EMISSING, OTP_ETYPE or
 * OTP_ETOOLONG, with *field naming the offending field where there is one.
 * For OTP_EUNKNOWN *field is NULL (the name is the client's, not one of
 * ours: never for a log) and, if `unknown` is not NULL, the name is copied
 * there when it is a plain name (letters, digits, _ - .), else "". */
#define OTP_JSON_ECHO_MAX 33
int otp_json_parse(const char *body, size_t len, const struct otp_jfield *spec,
		   size_t n, json_t **out, const char **field, char *unknown);

/* The string value of a field checked by otp_json_parse, or NULL if absent;
 * *len gets its length. */
const char *otp_json_str(json_t *obj, const char *name, size_t *len);

#endif
