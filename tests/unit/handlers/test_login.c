/* test_login.c - the hosted login page's form body as login.c reads it
 * (form_get, a static: the .c is included). */
#include "handlers/login.c"

#include "harness.h"

/* A field decodes whole: '+' is a space, %XX a byte. */
static void reads_a_field(void)
{
	char out[64];
	CHECK(form_get("rd=%2F&phone=%2B1+415+555", "phone", out, sizeof out));
	CHECK_STR(out, "+1 415 555");
	CHECK(form_get("phone=", "phone", out, sizeof out));
	CHECK_STR(out, "");
}

/* A field that is badly escaped, too long or holds %00 is not read, and
 * leaves nothing behind: the post handler's phone was "12345" for
 * "phone=12345%zz" (found by tests/fuzz/fuzz_cookie). */
static void half_a_field_is_not_read(void)
{
	static const char *const bad[] = {
	    "phone=12345%zz",
	    "phone=12345%4",
	    "phone=12%00",
	    "phone=1234567890123456789012345678901234567890",
	};
	char out[16];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(out, 'x', sizeof out);
		CHECK(!form_get(bad[i], "phone", out, sizeof out));
		CHECK_STR(out, "");
	}
}

/* A body whose last field is another one's is walked to its end without
 * stepping off it (the old loop added 0 to a NULL pointer, which UBSan
 * refuses: SANITIZE=undefined runs this). */
static void absent_field(void)
{
	char out[16] = "x";
	CHECK(!form_get("rd=/x", "phone", out, sizeof out));
	CHECK(!form_get("rd=/x&code=1", "phone", out, sizeof out));
	CHECK(!form_get("", "phone", out, sizeof out));
	CHECK(!form_get("phonex=1&phon=2", "phone", out, sizeof out));
	CHECK_STR(out, "");
}

static const struct harness_test tests[] = {
    TEST(reads_a_field),
    TEST(half_a_field_is_not_read),
    TEST(absent_field),
};
HARNESS_MAIN("login", tests)
