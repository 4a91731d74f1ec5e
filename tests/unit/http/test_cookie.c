/* test_cookie.c - Cookie header parsing and Set-Cookie formatting. */
#include "harness.h"
#include "http/cookie.h"

static const char *find(const char *hdr, const char *name)
{
	static char buf[128];
	const char *v;
	size_t n;
	if (!otp_cookie_find(hdr, name, &v, &n))
		return "<none>";
	snprintf(buf, sizeof buf, "%.*s", (int)n, v);
	return buf;
}

static void finds_among_several(void)
{
	CHECK_STR(find("a=1; otpd_session=tok; b=2", "otpd_session"), "tok");
	CHECK_STR(find("otpd_session=tok", "otpd_session"), "tok");
	CHECK_STR(find("a=1;otpd_session=tok", "otpd_session"), "tok");
	CHECK_STR(find("a=1;  otpd_session = tok ;b=2", "otpd_session"), "tok");
}

static void name_must_match_whole(void)
{
	CHECK_STR(find("xotpd_session=bad; otpd_session=good", "otpd_session"),
		  "good");
	CHECK_STR(find("otpd_session_old=bad", "otpd_session"), "<none>");
	CHECK_STR(find("session=bad", "otpd_session"), "<none>");
}

static void first_wins_and_quotes_drop(void)
{
	CHECK_STR(find("s=one; s=two", "s"), "one");
	CHECK_STR(find("s=\"quoted\"", "s"), "quoted");
	CHECK_STR(find("s=", "s"), "");
}

static void odd_headers(void)
{
	CHECK_STR(find("", "s"), "<none>");
	CHECK_STR(find(";;;", "s"), "<none>");
	CHECK_STR(find("novalue; s=v", "s"), "v");
	CHECK(!otp_cookie_find(NULL, "s", &(const char *){0}, &(size_t){0}));
}

static void formats_flags(void)
{
	char out[256];
	struct otp_cookie_attrs a = {300, false, "Lax"};
	CHECK_INT(otp_cookie_format(out, sizeof out, "s", "v", &a), 0);
	CHECK_STR(out, "s=v; Path=/; Max-Age=300; HttpOnly; SameSite=Lax");
	a.secure = true;
	a.same_site = "Strict";
	a.max_age = 0;
	CHECK_INT(otp_cookie_format(out, sizeof out, "s", "", &a), 0);
	CHECK_STR(out,
		  "s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
	CHECK_INT(otp_cookie_format(out, 10, "s", "v", &a), -1);
}

static const struct harness_test tests[] = {
    TEST(finds_among_several),
    TEST(name_must_match_whole),
    TEST(first_wins_and_quotes_drop),
    TEST(odd_headers),
    TEST(formats_flags),
};
HARNESS_MAIN("cookie", tests)
