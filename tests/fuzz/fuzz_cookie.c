/* fuzz_cookie.c - what a browser's request brings besides JSON: the Cookie
 * header (http/cookie.c), the hosted login page's form body and its rd=
 * target, and Accept-Language (handlers/login.c, included for its statics;
 * handlers/login_page.c).
 *
 * Input: NAME "\n" TEXT "\n" VALUE. TEXT is read as a Cookie header, a form
 * body, an rd and an Accept-Language. Checked: a cookie found is a slice
 * of the header with no ';' and no white space at its ends, and a value of
 * cookie octets (RFC 6265) written by otp_cookie_format is found again as
 * it was; a form field is decoded within its room and a percent-encoded
 * VALUE decodes back to itself; an rd is "/" or itself, and then a local
 * path or under a listed origin; the language is one the page has. */
#include "../../src/handlers/login.c"

#include "core/config.h"
#include "fuzz.h"
#include "http/cookie.h"

static void check_find(const char *header, const char *name)
{
	const char *v;
	size_t len;
	if (!otp_cookie_find(header, name, &v, &len))
		return;
	FUZZ_CHECK(v >= header && v + len <= header + strlen(header));
	FUZZ_CHECK(memchr(v, ';', len) == NULL);
	/* (inside quotes white space is the value's own) */
	if (len > 0 && v[-1] != '"')
		FUZZ_CHECK(v[0] != ' ' && v[0] != '\t' && v[len - 1] != ' ' &&
			   v[len - 1] != '\t');
}

static bool cookie_octets(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == ',' ||
		    *p == ';' || *p == '\\')
			return false;
	return true;
}

static void check_format(const char *name, const char *value)
{
	static const struct otp_cookie_attrs a = {300, true, "Lax"};
	char out[512];
	const char *v;
	size_t len;
	if (!name[0] || !cookie_octets(name) || strchr(name, '=') ||
	    !cookie_octets(value))
		return;
	if (otp_cookie_format(out, sizeof out, name, value, &a) != 0) {
		FUZZ_CHECK(strlen(name) + strlen(value) > 400);
		return;
	}
	FUZZ_CHECK(otp_cookie_find(out, name, &v, &len));
	FUZZ_CHECK(len == strlen(value) && memcmp(v, value, len) == 0);
}

static void check_form(const char *body, const char *value)
{
	char out[64], enc[3 * 200 + 16];
	memset(out, 'x', sizeof out);
	if (form_get(body, "phone", out, sizeof out))
		FUZZ_CHECK(strnlen(out, sizeof out) < sizeof out);
	size_t n = strlen(value);
	if (n >= 200)
		return;
	size_t k = (size_t)snprintf(enc, sizeof enc, "a=1&phone=");
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(enc + k, sizeof enc - k, "%%%02X",
				      (unsigned char)value[i]);
	snprintf(enc + k, sizeof enc - k, "&phone=other");
	bool got = form_get(enc, "phone", out, sizeof out);
	FUZZ_CHECK(got == (n < sizeof out));
	if (got)
		FUZZ_CHECK(strcmp(out, value) == 0);
}

static const char hosts[] = "https://shop.example,http://127.0.0.1:8080";

static void check_rd(const char *rd)
{
	const char *to = otp_login_safe_rd(rd);
	if (strcmp(to, "/") == 0)
		return;
	FUZZ_CHECK(to == rd);
	for (const unsigned char *p = (const unsigned char *)rd; *p; p++)
		FUZZ_CHECK(*p > ' ' && *p != 0x7f && *p != '\\');
	if (rd[0] == '/') {
		FUZZ_CHECK(rd[1] != '/');
		return;
	}
	bool listed = false;
	for (const char *h = hosts; *h;) {
		size_t n = strcspn(h, ",");
		if (strncasecmp(rd, h, n) == 0 &&
		    (rd[n] == '\0' || strchr("/?#", rd[n])))
			listed = true;
		h += n + (h[n] == ',');
	}
	FUZZ_CHECK(listed);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_config cfg = {.login_redirect_hosts = (char *)hosts};
	static bool ready;
	if (!ready) {
		struct otp_app app = {.cfg = &cfg};
		otp_app_init(&app);
		ready = true;
	}
	char *s = fuzz_str(d, n), *p[3];
	fuzz_split(s, '\n', p, 3);
	check_find(p[1], p[0]);
	check_find(p[1], "otpd_session");
	check_format(p[0], p[2]);
	check_form(p[1], p[2]);
	check_rd(p[1]);
	int lang = otp_login_lang(p[1]);
	FUZZ_CHECK(lang >= 0 && lang < OTP_LOGIN_NLANGS);
	free(s);
	return 0;
}
