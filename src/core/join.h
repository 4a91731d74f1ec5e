/* join.h - one list of names as one line of text ("a, b or c"), for help
 * texts and error messages that list what a table holds. It joins only; the
 * tables (store backends, SMS drivers, config values) live with their parts.
 */
#ifndef OTP_CORE_JOIN_H
#define OTP_CORE_JOIN_H

#include <stddef.h>
#include <stdio.h>

/* Writes item(0) sep item(1) sep ... item(n - 1) into buf (cap bytes,
 * truncated if need be, always NUL-terminated when cap > 0); returns buf. */
static inline char *otp_join(char *buf, size_t cap, const char *sep, size_t n,
			     const char *(*item)(size_t i))
{
	size_t len = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
					i ? sep : "", item(i));
	return buf;
}

#endif
