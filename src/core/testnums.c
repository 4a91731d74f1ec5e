/* testnums.c - the --test-numbers list: parsed, matched, masked
 * (testnums.h). */
#include "core/testnums.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILE_MAX 8192

static bool digits(const char *s, size_t n, size_t lo, size_t hi)
{
	if (n < lo || n > hi)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* One "PHONE=CODE" of n bytes (white space around it dropped). */
static int pair(const char *s, size_t n, struct otp_testnums *t, char *err,
		size_t errlen)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return 0;
	const char *eq = memchr(s, '=', n);
	size_t pl = eq ? (size_t)(eq - s) : n;
	if (!eq || pl < 1 || s[0] != '+' || !digits(s + 1, pl - 1, 8, 15) ||
	    !digits(eq + 1, n - pl - 1, 4, 10)) {
		snprintf(err, errlen,
			 "'%.*s' is not +PHONE=CODE (8-15 digits, a 4-10 digit "
			 "code)",
			 (int)(n > 40 ? 40 : n), s);
		return -1;
	}
	if (t->n == OTP_TESTNUMS_MAX) {
		snprintf(err, errlen, "more than %d test numbers",
			 OTP_TESTNUMS_MAX);
		return -1;
	}
	memcpy(t->e[t->n].phone, s, pl);
	t->e[t->n].phone[pl] = '\0';
	memcpy(t->e[t->n].code, eq + 1, n - pl - 1);
	t->e[t->n].code[n - pl - 1] = '\0';
	t->n++;
	return 0;
}

static int pairs(const char *s, struct otp_testnums *t, char *err,
		 size_t errlen)
{
	while (*s) {
		if (*s == '#') { /* a comment, to the end of its line */
			s += strcspn(s, "\n");
			continue;
		}
		size_t n = strcspn(s, ",\n#");
		if (pair(s, n, t, err, errlen) < 0)
			return -1;
		s += n;
		if (*s == ',' || *s == '\n')
			s++;
	}
	return 0;
}

int otp_testnums_parse(const char *spec, struct otp_testnums *t, char *err,
		       size_t errlen)
{
	memset(t, 0, sizeof *t);
	if (!spec || spec[0] != '@')
		return spec ? pairs(spec, t, err, errlen) : 0;
	char buf[FILE_MAX];
	FILE *f = fopen(spec + 1, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", spec + 1, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	if (more) {
		snprintf(err, errlen, "%s: over %d bytes", spec + 1,
			 FILE_MAX - 1);
		return -1;
	}
	buf[n] = '\0';
	return pairs(buf, t, err, errlen);
}

const char *otp_testnums_find(const struct otp_testnums *t, const char *phone,
			      size_t len, const char **code)
{
	char d[OTP_PHONE_MAX];
	size_t k = 0;
	for (size_t i = 0; t && phone && i < len; i++) {
		if (strchr(" -.()", phone[i]))
			continue;
		if (k == sizeof d - 1)
			return NULL;
		d[k++] = phone[i];
	}
	d[k] = '\0';
	for (size_t i = 0; t && k && i < t->n; i++)
		if (strcmp(d, t->e[i].phone) == 0) {
			*code = t->e[i].code;
			return t->e[i].phone;
		}
	return NULL;
}

bool otp_testnums_has(const struct otp_testnums *t, const char *e164)
{
	const char *code;
	return e164 && otp_testnums_find(t, e164, strlen(e164), &code);
}

void otp_testnums_masked(const struct otp_testnums *t, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < t->n && used < cap; i++) {
		char m[OTP_PHONE_MAX];
		otp_phone_mask(t->e[i].phone, m);
		int w =
		    snprintf(out + used, cap - used, "%s%s", i ? ", " : "", m);
		used += w > 0 ? (size_t)w : 0;
	}
}
