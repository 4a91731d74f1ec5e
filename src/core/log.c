/* log.c - JSON-lines logging to stderr.
 *
 * Each call builds its whole line in a stack buffer and writes it with one
 * write(2), so lines from many threads never interleave. What goes in is the
 * caller's responsibility (see log.h): this file escapes, it does not redact.
 *
 * A line is logged for every request, so building one stays cheap: the
 * timestamp is formatted here from the clock's milliseconds with integer
 * arithmetic (no gmtime_r, whose time-zone lock every thread would share,
 * no strftime, no printf), and escaping copies runs of plain bytes at once.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"

static _Atomic int min_level = OTP_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void otp_log_set_level(enum otp_log_level lvl)
{
	atomic_store(&min_level, (int)lvl);
}

int otp_log_parse_level(const char *s, enum otp_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum otp_log_level)i;
			return 0;
		}
	}
	return OTP_ETYPE;
}

struct line {
	char buf[2048];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof l->buf - 2 - l->len; /* len never passes it */
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* 1 for the bytes JSON strings take as they are: printable ASCII but '"'
 * (0x22), '\\' (0x5c) and DEL (0x7f). Bytes >= 0x80 go through utf8_len:
 * a well-formed UTF-8 sequence is copied, anything else (a request line's
 * stray byte) becomes U+FFFD, so a log line is always valid UTF-8. (Ranges
 * in designators are a GNU C extension, as in gcc and clang.) */
static const unsigned char plain[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7e] = 1,
};

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static void put_escaped(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	put(l, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		while (plain[*p])
			p++;
		if (p > run)
			put(l, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		char esc[6];
		if (*p >= 0x80) {
			size_t n = utf8_len(p);
			if (n)
				put(l, (const char *)p, n);
			else
				put(l, "\xef\xbf\xbd", 3); /* U+FFFD */
			p += n ? n : 1;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			put(l, esc, 6);
		}
		p++;
	}
	put(l, "\"", 1);
}

/* n in exactly `width` decimal digits, zero-padded (n < 10^width). */
static void put_digits(char *out, unsigned n, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + n % 10);
		n /= 10;
	}
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) for ms since the epoch, for years 0 to
 * 9999. The date comes from the day number by the civil-from-days
 * algorithm (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"):
 * count in 400-year eras of 146097 days starting on 0000-03-01, so that the
 * leap day is the last day of a year and months from March on have a fixed
 * pattern of lengths. Floor division keeps times before 1970 right. */
static void format_time(int64_t ms, char out[OTP_LOG_TIME_LEN])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	unsigned sod = (unsigned)(secs - days * 86400);
	unsigned msec = (unsigned)(ms - secs * 1000);

	int64_t z = days + 719468; /* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	/* day of the era [0, 146096], year of the era [0, 399], day of the
	 * year [0, 365], month [0, 11] counted from March */
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;

	put_digits(out, (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y), 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = 'T';
	put_digits(out + 11, sod / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, sod / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, sod % 60, 2);
	out[19] = '.';
	put_digits(out + 20, msec, 3);
	out[23] = 'Z';
}

const char *otp_log_num(char buf[OTP_LOG_NUM_LEN], long long v)
{
	char *p = buf + OTP_LOG_NUM_LEN - 1;
	/* Negated as unsigned: LLONG_MIN has no positive counterpart. */
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return p;
}

/* Is s a JSON number of the plain kind, -?(0|[1-9][0-9]*)(.[0-9]+)?, short
 * enough for any reader (a double holds it)? */
static bool is_number(const char *s)
{
	if (strlen(s) > 24)
		return false;
	if (*s == '-')
		s++;
	size_t n = strspn(s, "0123456789");
	if (n == 0 || (s[0] == '0' && n > 1))
		return false;
	s += n;
	if (*s == '.') {
		n = strspn(++s, "0123456789");
		if (n == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

static void put_number(struct line *l, const char *s)
{
	/* Only a plain number passes; anything else ("-", "1.2.3", "01",
	 * found by tests/fuzz/fuzz_log) is logged as a string, so that the
	 * line stays JSON. */
	if (is_number(s))
		put(l, s, strlen(s));
	else
		put_escaped(l, s);
}

void otp_log(enum otp_log_level lvl, const char *msg, ...)
{
	if ((int)lvl < atomic_load(&min_level))
		return;
	struct line l;

	memcpy(l.buf, "{\"ts\":\"", 7);
	format_time(otp_clock_now_ms(), l.buf + 7);
	l.len = 7 + OTP_LOG_TIME_LEN;
	put(&l, "\",\"level\":\"", 11);
	put(&l, names[lvl], strlen(names[lvl]));
	put(&l, "\",\"msg\":", 8);
	put_escaped(&l, msg);

	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		const char *val = va_arg(ap, const char *);
		bool raw = key[0] == '#';
		if (!val)
			continue; /* an absent value leaves its key out */
		put(&l, ",", 1);
		put_escaped(&l, raw ? key + 1 : key);
		put(&l, ":", 1);
		if (raw)
			put_number(&l, val);
		else
			put_escaped(&l, val);
	}
	va_end(ap);
	/* put() keeps two bytes free for the end of the line. */
	l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';
	ssize_t w = write(STDERR_FILENO, l.buf, l.len);
	(void)w;
}

bool otp_log_every_due(struct otp_log_every *e, long long now_ms,
		       long long interval_ms, long *repeated)
{
	long long next =
	    atomic_load_explicit(&e->next_ms, memory_order_relaxed);
	if (now_ms < next || !atomic_compare_exchange_strong(
				 &e->next_ms, &next, now_ms + interval_ms)) {
		atomic_fetch_add_explicit(&e->held, 1, memory_order_relaxed);
		return false;
	}
	*repeated = atomic_exchange(&e->held, 0);
	return true;
}
