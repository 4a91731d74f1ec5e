/* utf8.h - how much of a text fits a byte limit without splitting a UTF-8
 * sequence, for texts stored in fixed-size fields (an outbox error). It
 * cuts only: it checks nothing else about the text, and stores nothing.
 */
#ifndef OTP_CORE_UTF8_H
#define OTP_CORE_UTF8_H

#include <stddef.h>
#include <string.h>

/* The length of s cut to at most max bytes, never inside a UTF-8 sequence
 * (a cut backs off over continuation bytes). */
static inline size_t otp_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (s[n] != '\0')
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	return n;
}

#endif
