/* text.h - the shape of short texts from outside, before a parser reads
 * their meaning: a field cut at a separator into its parts, and a check
 * of the base64url alphabet (session tokens, proof-of-work solutions,
 * fault rules). It checks shape only; what a part means lives with its
 * parser.
 */
#ifndef OTP_CORE_TEXT_H
#define OTP_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Cuts the len bytes at s at each sep into fields f[i] of flen[i] bytes
 * (pointers into s, not NUL-terminated): their number, 1 to max (an empty
 * text is one empty field), or 0 when there are more than max. */
static inline size_t otp_text_split(const char *s, size_t len, char sep,
				    const char **f, size_t *flen, size_t max)
{
	const char *end = s + len;
	for (size_t n = 0; n < max; n++) {
		const char *c = memchr(s, sep, (size_t)(end - s));
		f[n] = s;
		flen[n] = (size_t)((c ? c : end) - s);
		if (!c)
			return n + 1;
		s = c + 1;
	}
	return 0;
}

/* Are all len bytes at p of the base64url alphabet (A-Z a-z 0-9 - _,
 * RFC 4648 section 5, no padding)? */
static inline bool otp_text_is_b64url(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

#endif
