/* phone.c - phone numbers to E.164 and their type, calling codes, masks.
 *
 * Input is filtered here (digits, space, '-', '.', '(', ')', one leading "+";
 * a leading "00" is read as "+"; letters refused), then parsed by
 * libphonenumber (phone_lpn.cc): validity by the country's numbering plan,
 * national input only with a default region, and the number type checked
 * against the operator's list. Ranges the 2022 metadata does not know can be
 * allowed by prefix. This file does not decide which countries may be sent
 * to: the allow/deny list by calling code is the engine's policy. Bytes are
 * compared as ASCII, never through <ctype.h>, so no locale can change what
 * is accepted.
 */
#include "core/phone.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/phone_lpn.h"

/* Longer inputs are refused before they are looked at. */
#define IN_MAX 64

#define DIGITS_MIN 8

/* Digits kept at the start and at the end by otp_phone_mask. */
#define MASK_HEAD 4
#define MASK_TAIL 2

/*
 * Country calling codes assigned by the ITU (ITU-T E.164 list of assigned
 * country codes, Annex to the ITU Operational Bulletin), indexed by the first
 * two digits. CC2 says the two digits are a code; otherwise the bits say
 * which third digits make a three-digit code. The one-digit codes 1 (NANP)
 * and 7 (Russia, Kazakhstan) are handled in lookup(); rows 10-19 and 70-79
 * are therefore empty. Codes are prefix-free by design, so a row is never
 * both CC2 and bits.
 *
 * Left out on purpose although they appear in some lists: codes that are
 * spare, returned or only reserved, under which no number can be reached -
 * 379 (reserved for Vatican City, which uses +39 06 698), 388 (ETNS,
 * abolished in 2010), 991 (ITPCS trial), 875-877 and 879 (reserved),
 * 671 and 684 (Guam and American Samoa moved to +1), 259 (Zanzibar, now 255).
 */
#define CC2  0x8000u
#define B(d) (1u << (d))
#define ALL  0x3ffu

static const uint16_t codes[100] = {
    /* Zone 2: mostly Africa */
    [20] = CC2, /* Egypt */
    /* 211 South Sudan, 212 Morocco, 213 Algeria, 216 Tunisia, 218 Libya */
    [21] = B(1) | B(2) | B(3) | B(6) | B(8),
    [22] = ALL,		/* 220 Gambia .. 229 Benin */
    [23] = ALL,		/* 230 Mauritius .. 239 Sao Tome and Principe */
    [24] = ALL,		/* 240 Equatorial Guinea .. 249 Sudan */
    [25] = ALL & ~B(9), /* 250 Rwanda .. 258 Mozambique */
    [26] = ALL,		/* 260 Zambia .. 269 Comoros */
    [27] = CC2,		/* South Africa */
    /* 290 St Helena, 291 Eritrea, 297 Aruba, 298 Faroe, 299 Greenland */
    [29] = B(0) | B(1) | B(7) | B(8) | B(9),

    /* Zones 3 and 4: Europe */
    [30] = CC2,		/* Greece */
    [31] = CC2,		/* Netherlands */
    [32] = CC2,		/* Belgium */
    [33] = CC2,		/* France */
    [34] = CC2,		/* Spain */
    [35] = ALL,		/* 350 Gibraltar .. 359 Bulgaria */
    [36] = CC2,		/* Hungary */
    [37] = ALL & ~B(9), /* 370 Lithuania .. 378 San Marino */
    /* 380 Ukraine, 381 Serbia, 382 Montenegro, 383 Kosovo, 385 Croatia,
     * 386 Slovenia, 387 Bosnia and Herzegovina, 389 North Macedonia */
    [38] = ALL & ~B(4) & ~B(8),
    [39] = CC2, /* Italy, Vatican City */
    [40] = CC2, /* Romania */
    [41] = CC2, /* Switzerland */
    /* 420 Czechia, 421 Slovakia, 423 Liechtenstein */
    [42] = B(0) | B(1) | B(3),
    [43] = CC2, /* Austria */
    [44] = CC2, /* United Kingdom */
    [45] = CC2, /* Denmark */
    [46] = CC2, /* Sweden */
    [47] = CC2, /* Norway */
    [48] = CC2, /* Poland */
    [49] = CC2, /* Germany */

    /* Zone 5: Central and South America */
    [50] = ALL, /* 500 Falklands .. 509 Haiti */
    [51] = CC2, /* Peru */
    [52] = CC2, /* Mexico */
    [53] = CC2, /* Cuba */
    [54] = CC2, /* Argentina */
    [55] = CC2, /* Brazil */
    [56] = CC2, /* Chile */
    [57] = CC2, /* Colombia */
    [58] = CC2, /* Venezuela */
    [59] = ALL, /* 590 Guadeloupe .. 599 Curacao and Caribbean Netherlands */

    /* Zone 6: South-East Asia and Oceania */
    [60] = CC2,		/* Malaysia */
    [61] = CC2,		/* Australia */
    [62] = CC2,		/* Indonesia */
    [63] = CC2,		/* Philippines */
    [64] = CC2,		/* New Zealand */
    [65] = CC2,		/* Singapore */
    [66] = CC2,		/* Thailand */
    [67] = ALL & ~B(1), /* 670 Timor-Leste, 672 Norfolk Island .. 679 Fiji */
    [68] = ALL & ~B(4), /* 680 Palau .. 689 French Polynesia */
    [69] = B(0) | B(1) | B(2), /* 690 Tokelau, 691 Micronesia, 692 Marshall */

    /* Zone 8: East Asia and international services */
    [80] = B(0) | B(8), /* 800 Int'l Freephone, 808 Int'l Shared Cost */
    [81] = CC2,		/* Japan */
    [82] = CC2,		/* South Korea */
    [84] = CC2,		/* Vietnam */
    /* 850 North Korea, 852 Hong Kong, 853 Macau, 855 Cambodia, 856 Laos */
    [85] = B(0) | B(2) | B(3) | B(5) | B(6),
    [86] = CC2,		/* China */
    [87] = B(0) | B(8), /* 870 Inmarsat, 878 Universal Personal Telecom */
    /* 880 Bangladesh, 881 satellite (GMSS), 882 and 883 International
     * Networks, 886 Taiwan, 888 disaster relief (OCHA) */
    [88] = B(0) | B(1) | B(2) | B(3) | B(6) | B(8),

    /* Zone 9: West, Central and South Asia */
    [90] = CC2,		/* Turkey */
    [91] = CC2,		/* India */
    [92] = CC2,		/* Pakistan */
    [93] = CC2,		/* Afghanistan */
    [94] = CC2,		/* Sri Lanka */
    [95] = CC2,		/* Myanmar */
    [96] = ALL & ~B(9), /* 960 Maldives .. 968 Oman */
    /* 970 Palestine .. 977 Nepal, 979 International Premium Rate */
    [97] = ALL & ~B(8),
    [98] = CC2, /* Iran */
    /* 992 Tajikistan, 993 Turkmenistan, 994 Azerbaijan, 995 Georgia,
     * 996 Kyrgyzstan, 997 Kazakhstan, 998 Uzbekistan */
    [99] = B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8),
};

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_sep(unsigned char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* Length of the calling code at the start of `d` (n digits), or 0. */
static size_t lookup(const char *d, size_t n)
{
	if (n < 1)
		return 0;
	if (d[0] == '1' || d[0] == '7')
		return 1;
	if (n < 2)
		return 0;
	unsigned row = (unsigned)(d[0] - '0') * 10 + (unsigned)(d[1] - '0');
	if (codes[row] & CC2)
		return 2;
	if (n < 3)
		return 0;
	if (codes[row] & B(d[2] - '0'))
		return 3;
	return 0;
}

static const char *const type_names[] = {
    [OTP_PHONE_FIXED_LINE] = "fixed-line",
    [OTP_PHONE_MOBILE] = "mobile",
    [OTP_PHONE_FIXED_LINE_OR_MOBILE] = "fixed-line-or-mobile",
    [OTP_PHONE_TOLL_FREE] = "toll-free",
    [OTP_PHONE_PREMIUM_RATE] = "premium-rate",
    [OTP_PHONE_SHARED_COST] = "shared-cost",
    [OTP_PHONE_VOIP] = "voip",
    [OTP_PHONE_PERSONAL] = "personal",
    [OTP_PHONE_PAGER] = "pager",
    [OTP_PHONE_UAN] = "uan",
    [OTP_PHONE_VOICEMAIL] = "voicemail",
    [OTP_PHONE_UNKNOWN] = "unknown",
};
#define NTYPES (sizeof type_names / sizeof type_names[0])

const char *otp_phone_type_name(enum otp_phone_type t)
{
	return (size_t)t < NTYPES ? type_names[t] : "unknown";
}

/* Steps through a comma list: the next item in *item and *n (empty items
 * have n 0) and true, or false at its end. */
static bool next_item(const char **list, const char **item, size_t *n)
{
	if (*list == NULL || **list == '\0')
		return false;
	*item = *list;
	*n = strcspn(*list, ",");
	*list += *n;
	if (**list == ',')
		(*list)++;
	return true;
}

/* True if `name` is an item of the comma list `list`. */
static bool listed(const char *list, const char *name)
{
	const char *w;
	size_t n;

	while (next_item(&list, &w, &n))
		if (n == strlen(name) && memcmp(w, name, n) == 0)
			return true;
	return false;
}

/* True if `e164` starts with one of the prefixes in `ranges` ("+" optional). */
static bool in_ranges(const char *ranges, const char *e164)
{
	const char *p;
	size_t n;

	while (next_item(&ranges, &p, &n)) {
		if (n > 0 && p[0] == '+')
			p++, n--;
		if (n > 0 && strncmp(e164 + 1, p, n) == 0)
			return true;
	}
	return false;
}

/* Copies `in` NUL-terminated into `buf` if it has only the bytes a phone
 * number is written with; a leading "00" becomes "+". */
static bool filter(const char *in, size_t len, char buf[IN_MAX + 1])
{
	bool plus = false, digit = false;
	size_t n = 0, i = 0;

	if (in == NULL || len == 0 || len > IN_MAX)
		return false;
	while (i < len && is_sep((unsigned char)in[i]) && in[i] != '(')
		i++;
	if (len - i >= 2 && in[i] == '0' && in[i + 1] == '0') {
		buf[n++] = '+';
		i += 2;
		plus = true;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+' && !plus && !digit)
			plus = true;
		else if (is_digit(c))
			digit = true;
		else if (!is_sep(c))
			return false;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return digit;
}

/* The region of the number this thread parsed last (otp_phone_region
 * asks for it right after a send's parse: a second parse saved). */
static _Thread_local struct {
	char e164[OTP_PHONE_MAX];
	char region[3];
} last;

int otp_phone_parse(const struct otp_phone_rules *rules, const char *in,
		    size_t len, char out[OTP_PHONE_MAX],
		    enum otp_phone_type *type)
{
	static const struct otp_phone_rules none = {NULL, NULL, NULL};
	char buf[IN_MAX + 1], where[3];
	int t, valid, rc;

	if (rules == NULL)
		rules = &none;
	out[0] = '\0';
	if (!filter(in, len, buf))
		return OTP_EPHONE;
	rc = otp_lpn_parse(buf,
			   rules->default_region ? rules->default_region : "",
			   out, OTP_PHONE_MAX, &t, &valid, where);
	if (rc == OTP_LPN_NATIONAL)
		return OTP_ENATIONAL;
	if (rc == 0 && !valid && in_ranges(rules->ranges_allow, out) &&
	    strlen(out) - 1 >= DIGITS_MIN) {
		valid = 1;
		t = OTP_PHONE_MOBILE;
	}
	if (rc < 0 || !valid ||
	    otp_phone_calling_code(out, (char[4]){0}) == 0) {
		out[0] = '\0';
		return OTP_EPHONE;
	}
	if (where[0]) {
		memcpy(last.e164, out, sizeof last.e164);
		memcpy(last.region, where, sizeof last.region);
	}
	if (type)
		*type = (enum otp_phone_type)t;
	if (rules->types && rules->types[0] &&
	    !listed(rules->types, otp_phone_type_name(t))) {
		out[0] = '\0';
		return OTP_ENUMTYPE;
	}
	return 0;
}

int otp_phone_normalize(const char *in, size_t len, char out[OTP_PHONE_MAX])
{
	return otp_phone_parse(NULL, in, len, out, NULL);
}

const char *otp_phone_check_types(const char *v)
{
	const char *w;
	size_t n, i;

	while (next_item(&v, &w, &n)) {
		for (i = 0; i < NTYPES; i++)
			if (strlen(type_names[i]) == n &&
			    memcmp(type_names[i], w, n) == 0)
				break;
		if (i == NTYPES)
			return "is not a comma-separated list of number types "
			       "(mobile, fixed-line, fixed-line-or-mobile, "
			       "toll-free, premium-rate, shared-cost, voip, "
			       "personal, pager, uan, voicemail, unknown)";
	}
	return NULL;
}

const char *otp_phone_check_region(const char *v)
{
	if (!*v || otp_lpn_region_ok(v))
		return NULL;
	return "is not a region code libphonenumber knows (e.g. US, GB, DE)";
}

const char *otp_phone_check_ranges(const char *v)
{
	const char *w;
	size_t n;

	while (next_item(&v, &w, &n)) {
		size_t p = n > 0 && w[0] == '+';
		if (n <= p || n - p > 15 || strspn(w + p, "0123456789") < n - p)
			return "is not a comma-separated list of E.164 "
			       "prefixes (e.g. +4475,+1555)";
	}
	return NULL;
}

size_t otp_phone_calling_code(const char *e164, char cc[4])
{
	char d[3];
	size_t n = 0, k;

	cc[0] = '\0';
	if (e164 == NULL || e164[0] != '+')
		return 0;
	while (n < sizeof(d) && is_digit((unsigned char)e164[n + 1])) {
		d[n] = e164[n + 1];
		n++;
	}
	k = lookup(d, n);
	memcpy(cc, d, k);
	cc[k] = '\0';
	return k;
}

/* True if `s` is "+" and 8 to 15 digits, as otp_phone_normalize makes it.
 * Reads at most OTP_PHONE_MAX bytes. */
static bool is_e164(const char *s)
{
	size_t i;

	if (s[0] != '+')
		return false;
	for (i = 1; i < OTP_PHONE_MAX && s[i] != '\0'; i++)
		if (!is_digit((unsigned char)s[i]))
			return false;
	return i < OTP_PHONE_MAX && i - 1 >= DIGITS_MIN;
}

void otp_phone_region(const char *e164, char out[3])
{
	if (last.region[0] && strcmp(last.e164, e164) == 0) {
		memcpy(out, last.region, 3);
		return;
	}
	if (otp_lpn_region(e164, out) < 0)
		memcpy(out, "ZZ", 3);
}

void otp_phone_mask(const char *e164, char out[OTP_PHONE_MAX])
{
	size_t n = 0;

	out[0] = '\0';
	if (e164 == NULL)
		return;
	/* Anything that is not a normalised number is masked whole: keeping
	 * four digits and two of a short one would log most of it, and a log
	 * line must not carry raw input bytes. */
	if (!is_e164(e164)) {
		for (; n < OTP_PHONE_MAX - 1 && e164[n] != '\0'; n++)
			out[n] = n == 0 && e164[0] == '+' ? '+' : '*';
		out[n] = '\0';
		return;
	}
	n = strlen(e164);
	out[0] = '+';
	for (size_t i = 1; i < n; i++)
		out[i] = i <= MASK_HEAD || i >= n - MASK_TAIL ? e164[i] : '*';
	out[n] = '\0';
}
