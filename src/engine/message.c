/* message.c - renders the SMS text and counts its segments (message.h).
 *
 * One expansion routine serves rendering and the start-up check, so what is
 * checked is exactly what is sent. The GSM 03.38 tables are kept as Unicode
 * code points; counting walks the UTF-8 once and simulates how a gateway
 * packs parts, since an escape pair or a surrogate pair is never split.
 */
#include "engine/message.h"
#include "engine/message_test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* --- rendering --- */

struct out {
	char *p;
	size_t cap, len;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || o->len + n >= o->cap) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

enum slot { S_CODE, S_APP, S_MINUTES, S_DOMAIN, S_EXPIRES, S_NONE };
static const char *const slots[] = {"code", "app", "minutes", "domain",
				    "expires"};

static enum slot slot_of(const char *name, size_t n)
{
	for (int i = 0; i < S_NONE; i++)
		if (strlen(slots[i]) == n && memcmp(slots[i], name, n) == 0)
			return (enum slot)i;
	return S_NONE;
}

static int bad(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, arg);
	return OTP_ETYPE;
}

/* The time left in words, never more than there is: "5 minutes" (whole
 * minutes, rounded down, from two minutes on), "1 minute", "59 seconds",
 * "1 second". */
static void put_expires(struct out *o, long s)
{
	char num[40];
	if (s >= 120) {
		snprintf(num, sizeof num, "%ld minutes", s / 60);
		puts_(o, num);
	} else if (s >= 60) {
		puts_(o, "1 minute");
	} else if (s > 1) {
		snprintf(num, sizeof num, "%ld seconds", s);
		puts_(o, num);
	} else {
		puts_(o, "1 second");
	}
}

/* Expands the template of c for `code` into o; *has_code says whether it
 * named {code}. 0, or OTP_ETYPE with why in err (err may be NULL). */
static int expand(const struct otp_message_cfg *c, const char *code,
		  struct out *o, bool *has_code, char *err, size_t errlen)
{
	const char *t = c->tpl && c->tpl[0] ? c->tpl : OTP_MESSAGE_TEMPLATE;
	long minutes = c->ttl_s / 60; /* rounded down: never overstated */
	char num[24];

	*has_code = false;
	while (*t) {
		if (*t == '\\') {
			if (t[1] == 'n')
				put(o, "\n", 1);
			else if (t[1] == '\\')
				put(o, "\\", 1);
			else
				return bad(
				    err, errlen,
				    "--sms-template: unknown escape \"\\%.1s\" "
				    "(use \\n for a new line, \\\\ for "
				    "a backslash)",
				    t + 1);
			t += 2;
			continue;
		}
		if (*t != '{') {
			size_t n = strcspn(t, "\\{");
			put(o, t, n);
			t += n;
			continue;
		}
		const char *close = strchr(t, '}');
		enum slot s =
		    close ? slot_of(t + 1, (size_t)(close - t - 1)) : S_NONE;
		if (s == S_NONE)
			return bad(
			    err, errlen,
			    "--sms-template: \"%.24s\" is not one of {code}, "
			    "{app}, {expires}, {minutes}, {domain}",
			    t);
		t = close + 1;
		switch (s) {
		case S_CODE:
			*has_code = true;
			puts_(o, code);
			break;
		case S_APP:
			puts_(o, c->app ? c->app : "");
			break;
		case S_DOMAIN:
			puts_(o, c->domain ? c->domain : "");
			break;
		case S_EXPIRES:
			put_expires(o, c->ttl_s);
			break;
		case S_MINUTES:
			/* "{minutes} minutes" (the old default) reads as
			 * {expires}: "30 seconds", "1 minute". Alone it is
			 * whole minutes, "<1" under one. */
			if (strncmp(t, " minutes", 8) == 0) {
				put_expires(o, c->ttl_s);
				t += 8;
				break;
			}
			if (minutes) {
				snprintf(num, sizeof num, "%ld", minutes);
				puts_(o, num);
			} else {
				puts_(o, "<1");
			}
			break;
		case S_NONE:
			break;
		}
	}
	if (c->app_hash && c->app_hash[0]) {
		puts_(o, "\n");
		puts_(o, c->app_hash);
	}
	if (c->domain && c->domain[0]) {
		/* Last, as WebOTP and iOS want it. */
		puts_(o, "\n\n@");
		puts_(o, c->domain);
		puts_(o, " #");
		puts_(o, code);
	}
	return 0;
}

size_t otp_message_format(const struct otp_message_cfg *c, const char *code,
			  char *out, size_t cap)
{
	struct out o = {out, cap, 0, false};
	bool has_code;
	if (cap == 0)
		return 0;
	if (expand(c, code, &o, &has_code, NULL, 0) < 0 || o.over ||
	    !has_code) {
		memset(out, 0, o.len < cap ? o.len + 1 : cap);
		return 0;
	}
	out[o.len] = '\0';
	return o.len;
}

size_t otp_message_render(char *out, size_t cap, const char *code,
			  const char *app, long ttl_s, const char *domain)
{
	struct otp_message_cfg c = {
	    .app = app, .ttl_s = ttl_s, .domain = domain};
	return otp_message_format(&c, code, out, cap);
}

static bool hash_ok(const char *h)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	return strlen(h) == OTP_APP_HASH_LEN &&
	       strspn(h, b64) == OTP_APP_HASH_LEN;
}

/* One rendering of the check below, with ttl_s seconds left. */
static int check_at(const struct otp_message_cfg *c, char *err, size_t errlen)
{
	char text[OTP_MESSAGE_MAX];
	struct out o = {text, sizeof text, 0, false};
	struct otp_segments seg;
	bool has_code;

	if (c->app_hash && c->app_hash[0] && !hash_ok(c->app_hash))
		return bad(err, errlen,
			   "--android-app-hash: '%.24s' is not 11 characters "
			   "of A-Z a-z 0-9 + /",
			   c->app_hash);
	int rc = expand(c, "0123456789", &o, &has_code, err, errlen);
	if (rc < 0)
		return rc;
	if (!has_code)
		return bad(err, errlen, "--sms-template: %s has no {code}",
			   "the template");
	if (o.over)
		return bad(err, errlen, "--sms-template: %s is too long",
			   "the message");
	text[o.len] = '\0';
	if (otp_message_segments(text, o.len, &seg) < 0)
		return bad(err, errlen, "--sms-template: %s is not UTF-8",
			   "the message");
	if (seg.parts > 1) {
		if (err && errlen)
			snprintf(
			    err, errlen,
			    "--sms-template: with a 10-digit code the message "
			    "is %zu %s, %d SMS segments; it must fit one "
			    "(%d)",
			    seg.units,
			    seg.coding == OTP_SMS_GSM7
				? "GSM-7 septets"
				: "UCS-2 units (a character outside "
				  "GSM-7 makes it UCS-2)",
			    seg.parts, seg.coding == OTP_SMS_GSM7 ? 160 : 70);
		return OTP_ETYPE;
	}
	return 0;
}

/* The text is rendered when it is sent, from the time then left, so every
 * length it can take must fit: the whole lifetime's words and the longest
 * of the last minute's ("59 seconds"). */
int otp_message_check(const struct otp_message_cfg *c, char *err, size_t errlen)
{
	struct otp_message_cfg last = *c;
	last.ttl_s = 59;
	int rc = check_at(c, err, errlen);
	return rc < 0 ? rc : check_at(&last, err, errlen);
}

/* --- encoding and segments --- */

/* GSM 03.38 basic table, beyond the ASCII that maps to itself. */
static const uint16_t gsm_basic[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7,
    0x00D8, 0x00F8, 0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B,
    0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6,
    0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC,
    0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* Septets a code point takes in GSM-7: 1 (basic), 2 (escape + extension),
 * or 0 if it has none. */
static int gsm_septets(uint32_t cp)
{
	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '\f' || cp == 0x20AC)
		return 2;
	if (cp >= 0x20 && cp < 0x7f) {
		if (cp == '`')
			return 0;
		if (strchr("[\\]^{|}~", (int)cp))
			return 2;
		return 1;
	}
	for (size_t i = 0; i < sizeof gsm_basic / sizeof gsm_basic[0]; i++)
		if (gsm_basic[i] == cp)
			return 1;
	return 0;
}

/* Decodes one code point at s (n bytes left); its length, or 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, v = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, v = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, v = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* Parts for a run of characters of w[i] units each, `single` fitting one
 * segment and `per` per part once split; a character stays whole. */
static int pack(const unsigned char *w, size_t n, size_t total, size_t single,
		size_t per)
{
	if (total <= single)
		return 1;
	int parts = 1;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		if (used + w[i] > per) {
			parts++;
			used = 0;
		}
		used += w[i];
	}
	return parts;
}

int otp_message_segments(const char *text, size_t len, struct otp_segments *out)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char gsm[OTP_MESSAGE_MAX], ucs[OTP_MESSAGE_MAX];
	unsigned char *wg = gsm, *wu = ucs;
	size_t n = 0, septets = 0, units = 0;
	bool is_gsm = true;

	/* Widths per character; a text longer than the buffers is counted
	 * without them, by the totals alone (parts then a lower bound). */
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t l = utf8_next(s + i, len - i, &cp);
		if (l == 0)
			return OTP_EUTF8;
		i += l;
		int g = gsm_septets(cp);
		if (g == 0)
			is_gsm = false;
		int u = cp > 0xFFFF ? 2 : 1;
		septets += (size_t)g;
		units += (size_t)u;
		if (n < sizeof gsm) {
			wg[n] = (unsigned char)g;
			wu[n] = (unsigned char)u;
		}
		n++;
	}
	if (n > sizeof gsm) {
		size_t t = is_gsm ? septets : units, per = is_gsm ? 153 : 67;
		out->coding = is_gsm ? OTP_SMS_GSM7 : OTP_SMS_UCS2;
		out->units = t;
		out->parts = (int)((t + per - 1) / per);
		return 0;
	}
	if (is_gsm) {
		out->coding = OTP_SMS_GSM7;
		out->units = septets;
		out->parts = pack(wg, n, septets, 160, 153);
	} else {
		out->coding = OTP_SMS_UCS2;
		out->units = units;
		out->parts = pack(wu, n, units, 70, 67);
	}
	return 0;
}

const char *otp_sms_coding_name(enum otp_sms_coding c)
{
	return c == OTP_SMS_GSM7 ? "gsm7" : "ucs2";
}
