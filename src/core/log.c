/* log.c - JSON-lines logging to stderr.
 *
 * Each call builds its whole line in a stack buffer and writes it with one
 * write(2), so lines from many threads never interleave. What goes in is the
 * caller's responsibility (see log.h): this file escapes, it does not redact.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
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

static void put_escaped(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put(l, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			put(l, esc, 6);
		} else {
			put(l, (const char *)p, 1);
		}
	}
	put(l, "\"", 1);
}

static void put_number(struct line *l, const char *s)
{
	/* Only a plain number passes; anything else is logged as a string. */
	size_t n = strspn(s, "-0123456789.");
	if (n == 0 || s[n] != '\0')
		put_escaped(l, s);
	else
		put(l, s, n);
}

void otp_log(enum otp_log_level lvl, const char *msg, ...)
{
	if ((int)lvl < atomic_load(&min_level))
		return;
	struct line l = {.len = 0};
	char ts[OTP_ISO8601_LEN];
	int64_t now = otp_clock_now_ms();
	char ms[8];

	otp_clock_iso8601(now, ts);
	snprintf(ms, sizeof ms, ".%03d", (int)(now % 1000));
	put(&l, "{\"ts\":\"", 7);
	put(&l, ts, 19);
	put(&l, ms, 4);
	put(&l, "Z\",\"level\":\"", 12);
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
