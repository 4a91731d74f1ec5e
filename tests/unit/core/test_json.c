/* test_json.c - strict request bodies: every way a body can be wrong. */
#include "core/err.h"
#include "core/json.h"
#include "harness.h"

static const struct otp_jfield spec[] = {
    {"code", OTP_J_STRING, true, 10},
    {"phone", OTP_J_STRING, false, 20},
};

static int parse(const char *body, size_t len, const char **field)
{
	json_t *out;
	int rc = otp_json_parse(body, len, spec, 2, &out, field, NULL);
	json_decref(out);
	return rc;
}
#define P(s) parse(s, sizeof(s) - 1, &field)

static void accepts_exact_fields(void)
{
	const char *field;
	CHECK_INT(P("{\"code\":\"123456\"}"), 0);
	CHECK_INT(P("{\"code\":\"123456\",\"phone\":\"+1\"}"), 0);
	CHECK_INT(P(" {\"phone\":\"+1\", \"code\":\"1\"} \n"), 0);
}

static void syntax_errors(void)
{
	const char *field;
	CHECK_INT(P(""), OTP_EJSON);
	CHECK_INT(P("{\"code\":"), OTP_EJSON);
	CHECK_INT(P("{\"code\":\"1\"} trailing"), OTP_EJSON);
	CHECK_INT(P("{\"code\":\"1\",\"code\":\"2\"}"), OTP_EJSON);
	CHECK_INT(P("[1,2]"), OTP_ENOTOBJECT);
	CHECK_INT(P("\"str\""), OTP_ENOTOBJECT);
	CHECK_INT(P("null"), OTP_ENOTOBJECT);
}

static void utf8_and_nul(void)
{
	const char *field;
	CHECK_INT(P("{\"code\":\"\xff\xfe\"}"), OTP_EUTF8);
	CHECK_INT(P("{\"code\":\"a\\u0000b\"}"), OTP_EUTF8);
	CHECK_INT(P("{\"code\":\"\xc3\"}"), OTP_EUTF8);
	/* a raw NUL byte in the body */
	CHECK(parse("{\"code\":\"1\0\"}", 13, &field) < 0);
}

static void field_errors_name_the_field(void)
{
	const char *field;
	CHECK_INT(P("{}"), OTP_EMISSING);
	CHECK_STR(field, "code");
	CHECK_INT(P("{\"code\":123456}"), OTP_ETYPE);
	CHECK_STR(field, "code");
	CHECK_INT(P("{\"code\":null}"), OTP_ETYPE);
	CHECK_INT(P("{\"code\":\"12345678901\"}"), OTP_ETOOLONG);
	CHECK_STR(field, "code");
	CHECK_INT(P("{\"code\":\"1\",\"admin\":true}"), OTP_EUNKNOWN);
	CHECK(field == NULL); /* a client's key is never echoed */
}

static void error_table_is_consistent(void)
{
	CHECK_INT(otp_err_status(OTP_EJSON), 400);
	CHECK_STR(otp_err_code(OTP_EJSON), "invalid_json");
	CHECK_INT(otp_err_status(OTP_ELIMITED), 429);
	CHECK_INT(otp_err_status(OTP_ETOOBIG), 413);
	CHECK_INT(otp_err_status(OTP_EMEDIA), 415);
	CHECK_INT(otp_err_status(OTP_EMETHOD), 405);
	CHECK_STR(otp_err_message(OTP_EEXPIRED), "session expired");
	CHECK_INT(otp_err_status(-9999), 500);
	CHECK_INT(otp_err_status(0), 500);
}

static const struct harness_test tests[] = {
    TEST(accepts_exact_fields),
    TEST(syntax_errors),
    TEST(utf8_and_nul),
    TEST(field_errors_name_the_field),
    TEST(error_table_is_consistent),
};
HARNESS_MAIN("json", tests)
