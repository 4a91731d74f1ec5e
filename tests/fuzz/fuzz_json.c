/* fuzz_json.c - request bodies as the JSON routes check them: otp_json_parse
 * (core/json.c) against the field lists of the route table
 * (handlers/routes.c: send, verify, the provider API's send and verify).
 *
 * Input: ROUTE (1 byte, among the routes with a field list), then the body.
 * Checked: an accepted body is one object of only the route's fields, each
 * of its type, strings within their length and holding no NUL, every
 * required field present, and otp_json_str reads each string back; a
 * refused body gives no object and one of the body errors, names one of
 * the route's own fields (never the client's text), and echoes an unknown
 * name only when it is a short plain name. */
#include "core/err.h"
#include "core/json.h"
#include "fuzz.h"
#include "handlers/app.h"

static bool plain_name(const char *s)
{
	size_t n = strlen(s);
	return n < OTP_JSON_ECHO_MAX &&
	       fuzz_all_of(
		   s, n,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789_-.");
}

static const struct otp_jfield *spec_of(const struct otp_route *rt,
					const char *name)
{
	for (size_t i = 0; i < rt->nfields; i++)
		if (strcmp(rt->fields[i].name, name) == 0)
			return &rt->fields[i];
	return NULL;
}

static void check_accepted(const struct otp_route *rt, json_t *o)
{
	const char *key;
	json_t *v;
	FUZZ_CHECK(json_is_object(o));
	json_object_foreach(o, key, v)
	{
		const struct otp_jfield *f = spec_of(rt, key);
		FUZZ_CHECK(f != NULL);
		if (f->type == OTP_J_STRING) {
			size_t len;
			const char *s = otp_json_str(o, key, &len);
			FUZZ_CHECK(s && len <= f->max_len);
			FUZZ_CHECK(strlen(s) == len);
		} else if (f->type == OTP_J_INT) {
			FUZZ_CHECK(json_is_integer(v));
		} else {
			FUZZ_CHECK(json_is_boolean(v));
		}
	}
	for (size_t i = 0; i < rt->nfields; i++)
		if (rt->fields[i].required)
			FUZZ_CHECK(json_object_get(o, rt->fields[i].name));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const struct otp_route *json_routes[16];
	static size_t nj;
	if (!nj)
		for (size_t i = 0; i < otp_nroutes && nj < 16; i++)
			if (otp_routes[i].nfields)
				json_routes[nj++] = &otp_routes[i];
	FUZZ_CHECK(nj >= 4);
	if (n < 1)
		return 0;
	const struct otp_route *rt = json_routes[d[0] % nj];
	json_t *o = (json_t *)1;
	const char *field = "x";
	char unknown[OTP_JSON_ECHO_MAX];
	memset(unknown, 'x', sizeof unknown);
	int rc = otp_json_parse((const char *)d + 1, n - 1, rt->fields,
				rt->nfields, &o, &field, unknown);
	if (rc == 0) {
		FUZZ_CHECK(field == NULL && unknown[0] == '\0');
		check_accepted(rt, o);
		json_decref(o);
		return 0;
	}
	FUZZ_CHECK(o == NULL);
	FUZZ_CHECK(rc == OTP_EJSON || rc == OTP_ENOTOBJECT || rc == OTP_EUTF8 ||
		   rc == OTP_EUNKNOWN || rc == OTP_EMISSING ||
		   rc == OTP_ETYPE || rc == OTP_ETOOLONG);
	FUZZ_CHECK(strnlen(unknown, sizeof unknown) < sizeof unknown);
	if (rc == OTP_EUNKNOWN) {
		FUZZ_CHECK(field == NULL);
		FUZZ_CHECK(unknown[0] == '\0' || plain_name(unknown));
		return 0;
	}
	FUZZ_CHECK(unknown[0] == '\0');
	if (rc == OTP_EMISSING || rc == OTP_ETYPE || rc == OTP_ETOOLONG) {
		FUZZ_CHECK(field != NULL);
		bool ours = false;
		for (size_t i = 0; i < rt->nfields; i++)
			ours |= field == rt->fields[i].name;
		FUZZ_CHECK(ours);
	} else {
		FUZZ_CHECK(field == NULL);
	}
	return 0;
}
