/* test_message.c - SMS text from templates, and GSM-7/UCS-2 segment counts. */
#include "harness.h"

#include "core/err.h"
#include "engine/message.c"

static char *rep(char *buf, const char *unit, int n)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		strcat(buf, unit);
	return buf;
}

static struct otp_segments seg_of(const char *s)
{
	struct otp_segments g = {0};
	if (otp_message_segments(s, strlen(s), &g) < 0)
		g.parts = -1;
	return g;
}

static void default_template(void)
{
	char m[OTP_MESSAGE_MAX];
	struct otp_message_cfg c = {.app = "Acme", .ttl_s = 300};
	CHECK_INT(otp_message_format(&c, "123456", m, sizeof m), 50);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes.");
	/* the configured default spells the same template out */
	c.tpl = "{code} is your {app} code. It expires in {minutes} minutes.";
	c.ttl_s = 60;
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 1 minute.");
	c.ttl_s = 61; /* rounded down: never more than is left */
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 1 minute.");
	/* the old entry point says the same */
	CHECK(otp_message_render(m, sizeof m, "123456", "Acme", 300, "") > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes.");
}

static void autofill_line_is_last(void)
{
	char m[OTP_MESSAGE_MAX];
	struct otp_message_cfg c = {
	    .app = "Acme", .ttl_s = 300, .domain = "login.example.com"};
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes."
		     "\n\n@login.example.com #123456");
	/* the Android hash line comes before it: WebOTP wants the last line */
	c.app_hash = "FA+9qCX9VSu";
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes."
		     "\nFA+9qCX9VSu\n\n@login.example.com #123456");
	c.domain = "";
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 5 minutes."
		     "\nFA+9qCX9VSu");
}

static void custom_template(void)
{
	char m[OTP_MESSAGE_MAX];
	struct otp_message_cfg c = {
	    .tpl = "{app}: {code}\\nvalid {minutes} min on {domain} \\\\o/ }",
	    .app = "Acme",
	    .ttl_s = 600,
	    .domain = "a.example"};
	CHECK(otp_message_format(&c, "0042", m, sizeof m) > 0);
	CHECK_STR(m, "Acme: 0042\nvalid 10 min on a.example \\o/ }"
		     "\n\n@a.example #0042");
	CHECK_INT(otp_message_check(&c, NULL, 0), 0);
	/* "{minutes} minutes" says the time left in words; {minutes} alone
	 * is whole minutes, "<1" under one (changed on purpose: a 30 s code
	 * said "1 minute") */
	c.tpl = "{code}, {minutes} minutes, {minutes}minutes";
	c.ttl_s = 30;
	c.domain = NULL;
	CHECK(otp_message_format(&c, "0042", m, sizeof m) > 0);
	CHECK_STR(m, "0042, 30 seconds, <1minutes");
}

/* {expires}: the time left, never overstated. */
static void expires_in_words(void)
{
	static const struct {
		long s;
		const char *want;
	} cases[] = {
	    {300, "5 minutes"}, {299, "4 minutes"}, {120, "2 minutes"},
	    {119, "1 minute"},	{61, "1 minute"},   {60, "1 minute"},
	    {59, "59 seconds"}, {30, "30 seconds"}, {2, "2 seconds"},
	    {1, "1 second"},
	};
	char m[OTP_MESSAGE_MAX], want[64];
	struct otp_message_cfg c = {.tpl = "{code} ok for {expires}."};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		c.ttl_s = cases[i].s;
		CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
		snprintf(want, sizeof want, "123456 ok for %s.", cases[i].want);
		CHECK_STR(m, want);
	}
	/* the default template uses it */
	c.tpl = NULL;
	c.app = "Acme";
	c.ttl_s = 30;
	CHECK(otp_message_format(&c, "123456", m, sizeof m) > 0);
	CHECK_STR(m, "123456 is your Acme code. It expires in 30 seconds.");
}

static void broken_templates(void)
{
	char m[OTP_MESSAGE_MAX], err[200];
	struct otp_message_cfg c = {.app = "Acme", .ttl_s = 300};

	c.tpl = "{code} for {user}";
	CHECK_INT(otp_message_format(&c, "123456", m, sizeof m), 0);
	CHECK_STR(m, "");
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "--sms-template: \"{user}\" is not one of") == err);

	c.tpl = "{code";
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	c.tpl = "your code";
	CHECK_INT(otp_message_format(&c, "123456", m, sizeof m), 0);
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK_STR(err, "--sms-template: the template has no {code}");
	c.tpl = "{code}\\t";
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "unknown escape \"\\t\"") != NULL);
	c.tpl = "{code}\\";
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);

	/* too small a buffer: 0, and nothing of the code left in it */
	c.tpl = NULL;
	CHECK_INT(otp_message_format(&c, "123456", m, 10), 0);
	CHECK_INT(m[0], 0);
	CHECK_INT(otp_message_format(&c, "123456", m, 0), 0);

	c.app_hash = "FA+9qCX9VS";
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "--android-app-hash") == err);
	c.app_hash = "FA+9qCX9VSu";
	CHECK_INT(otp_message_check(&c, err, sizeof err), 0);
}

static void one_segment_with_ten_digits(void)
{
	char err[300], dom[200];
	struct otp_message_cfg c = {.app = "Acme", .ttl_s = 300};
	CHECK_INT(otp_message_check(&c, err, sizeof err), 0);
	/* 55 septets of text at its longest ("59 seconds", the last minute's
	 * words) + 3 + domain + 12: 90 domain bytes fit */
	c.domain = rep(dom, "a", 90);
	CHECK_INT(otp_message_check(&c, err, sizeof err), 0);
	c.domain = rep(dom, "a", 91);
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "161 GSM-7 septets, 2 SMS segments") != NULL);
	/* one character outside GSM-7 makes the whole text UCS-2: 70 */
	c.domain = NULL;
	c.tpl = "{code} — код {app}";
	CHECK_INT(otp_message_check(&c, err, sizeof err), 0);
	c.tpl = "{code} — ваш код для входа в {app}. Он действует {minutes} "
		"минут. Никому его не сообщайте.";
	CHECK_INT(otp_message_check(&c, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "UCS-2 units") != NULL);
}

static void gsm7_counts(void)
{
	static char b[800], t[800];
	struct otp_segments g = seg_of("");
	CHECK_INT(g.parts, 1);
	CHECK_INT(g.units, 0);
	CHECK_INT(g.coding, OTP_SMS_GSM7);
	CHECK_INT(seg_of(rep(b, "a", 160)).parts, 1);
	CHECK_INT(seg_of(rep(b, "a", 161)).parts, 2);
	CHECK_INT(seg_of(rep(b, "a", 306)).parts, 2);
	CHECK_INT(seg_of(rep(b, "a", 307)).parts, 3);
	/* the whole basic table beyond ASCII is one septet each */
	g = seg_of("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?"
		   "¡AZÄÖÑÜ§¿azäöñüà");
	CHECK_INT(g.coding, OTP_SMS_GSM7);
	CHECK_INT(g.units, 71);
	/* the extension table counts double */
	g = seg_of("^{}\\[~]|€\f");
	CHECK_INT(g.coding, OTP_SMS_GSM7);
	CHECK_INT(g.units, 20);
	CHECK_INT(seg_of(rep(b, "{", 80)).parts, 1);
	CHECK_INT(seg_of(rep(b, "€", 81)).parts, 2);
	/* an escape pair never straddles two parts: 152 + [2] + 152 */
	rep(b, "a", 152);
	strcat(strcat(b, "€"), rep(t, "a", 152));
	g = seg_of(b);
	CHECK_INT(g.units, 306);
	CHECK_INT(g.parts, 3);
}

static void ucs2_counts(void)
{
	static char b[800], t[800];
	struct otp_segments g = seg_of("code `1`"); /* backtick: no GSM-7 */
	CHECK_INT(g.coding, OTP_SMS_UCS2);
	CHECK_INT(g.units, 8);
	CHECK_INT(seg_of("ç").coding, OTP_SMS_UCS2); /* only Ç is GSM-7 */
	CHECK_INT(seg_of("a\tb").coding, OTP_SMS_UCS2);
	CHECK_INT(seg_of(rep(b, "ж", 70)).parts, 1);
	CHECK_INT(seg_of(rep(b, "ж", 71)).parts, 2);
	CHECK_INT(seg_of(rep(b, "ж", 134)).parts, 2);
	CHECK_INT(seg_of(rep(b, "ж", 135)).parts, 3);
	/* beyond the BMP: a surrogate pair, two units, never split */
	g = seg_of("😀");
	CHECK_INT(g.units, 2);
	CHECK_INT(g.parts, 1);
	rep(b, "x", 66);
	strcat(strcat(b, "😀"), rep(t, "x", 66));
	g = seg_of(b);
	CHECK_INT(g.coding, OTP_SMS_UCS2);
	CHECK_INT(g.units, 134);
	CHECK_INT(g.parts, 3);
	CHECK_STR(otp_sms_coding_name(OTP_SMS_UCS2), "ucs2");
	CHECK_STR(otp_sms_coding_name(OTP_SMS_GSM7), "gsm7");
}

static void long_and_broken_text(void)
{
	static char b[4000];
	struct otp_segments g = seg_of(rep(b, "a", 1000));
	CHECK_INT(g.units, 1000);
	CHECK_INT(g.parts, 7);
	CHECK_INT(seg_of("\xc0\xaf").parts, -1);	 /* overlong '/' */
	CHECK_INT(seg_of("\xed\xa0\x80").parts, -1);	 /* a lone surrogate */
	CHECK_INT(seg_of("ab\xe2\x82").parts, -1);	 /* cut short */
	CHECK_INT(seg_of("\xf4\x90\x80\x80").parts, -1); /* past U+10FFFF */
	CHECK_INT(otp_message_segments("\xff", 1, &g), OTP_EUTF8);
}

static const struct harness_test tests[] = {
    TEST(default_template),	TEST(autofill_line_is_last),
    TEST(custom_template),	TEST(expires_in_words),
    TEST(broken_templates),	TEST(one_segment_with_ten_digits),
    TEST(gsm7_counts),		TEST(ucs2_counts),
    TEST(long_and_broken_text),
};

HARNESS_MAIN("message", tests)
