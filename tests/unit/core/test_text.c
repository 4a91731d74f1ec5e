/* test_text.c - a text cut into fields, and the base64url alphabet
 * (core/text.h): the edges the proof-of-work and fault-rule parsers lean
 * on (too many fields, empty fields, a separator at the end). */
#include "core/text.h"
#include "harness.h"

static void split_into_fields(void)
{
	const char *f[3];
	size_t len[3];
	CHECK_INT(otp_text_split("ab:c:", 5, ':', f, len, 3), 3);
	CHECK(f[0][0] == 'a' && len[0] == 2);
	CHECK(f[1][0] == 'c' && len[1] == 1);
	CHECK_INT(len[2], 0); /* after the last separator: an empty field */
	CHECK_INT(otp_text_split("a:b", 3, ':', f, len, 3), 2);
	CHECK_INT(len[1], 1);
	/* only len bytes count: the ":x" past them is not a field */
	CHECK_INT(otp_text_split("a:x", 1, ':', f, len, 3), 1);
	CHECK_INT(len[0], 1);
}

static void empty_text_is_one_empty_field(void)
{
	const char *f[2];
	size_t len[2] = {9, 9};
	CHECK_INT(otp_text_split("", 0, '.', f, len, 2), 1);
	CHECK_INT(len[0], 0);
}

/* More fields than max, even by one empty one: 0, never a short count. */
static void too_many_fields(void)
{
	const char *f[3];
	size_t len[3];
	CHECK_INT(otp_text_split("a.b.c.d", 7, '.', f, len, 3), 0);
	CHECK_INT(otp_text_split("a.b.c.", 6, '.', f, len, 3), 0);
	CHECK_INT(otp_text_split("...", 3, '.', f, len, 3), 0);
	CHECK_INT(otp_text_split("..", 2, '.', f, len, 3), 3);
}

static void b64url_alphabet(void)
{
	CHECK(otp_text_is_b64url("AZaz09-_", 8));
	CHECK(otp_text_is_b64url("", 0));
	CHECK(!otp_text_is_b64url("AA=", 3)); /* no padding */
	CHECK(!otp_text_is_b64url("A+/", 3)); /* base64's, not base64url's */
	CHECK(!otp_text_is_b64url("A.B", 3));
	CHECK(!otp_text_is_b64url("A\0B", 3));
	CHECK(!otp_text_is_b64url("\xc3\xa9", 2));
}

static const struct harness_test tests[] = {
    TEST(split_into_fields),
    TEST(empty_text_is_one_empty_field),
    TEST(too_many_fields),
    TEST(b64url_alphabet),
};
HARNESS_MAIN("text", tests)
