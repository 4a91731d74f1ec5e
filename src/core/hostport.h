/* hostport.h - where the host of "HOST:PORT" or "[IPv6]:PORT" ends and
 * its port begins, for --listen and the Redis URL. It splits only: what a
 * host or a port may be is each caller's rule.
 */
#ifndef OTP_CORE_HOSTPORT_H
#define OTP_CORE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The host of s in *host and *n (an IPv6 address without its brackets; a
 * plain host up to the first colon, or the last when `last`); returns what
 * follows the colon, or NULL without one ("[...]" not followed by ':'
 * included). */
static inline const char *otp_hostport(const char *s, bool last,
				       const char **host, size_t *n)
{
	const char *colon;
	*host = s;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return NULL;
		*host = s + 1;
		*n = (size_t)(close - *host);
		colon = close + 1;
	} else {
		colon = last ? strrchr(s, ':') : strchr(s, ':');
		if (!colon)
			return NULL;
		*n = (size_t)(colon - s);
	}
	return colon + 1;
}

#endif
