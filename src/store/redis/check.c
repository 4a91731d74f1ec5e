/* check.c - the shape of a Redis store URL
 * ("redis://[[USER]:PASSWORD@]HOST:PORT[/DB]"), without connecting. Parsing
 * it for real (user, password, database) happens when the backend connects,
 * in its connection code; config.c reaches this only through struct
 * otp_store_ops. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"

/* The longest host the connection keeps (struct otp_redis's host). */
#define HOST_MAX 255

/* "%XX" escapes only, in [p, end), none of them %00 (the connection reads
 * the password as a C string). */
static bool escapes_ok(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p == '%' &&
		    !(end - p > 2 && isxdigit((unsigned char)p[1]) &&
		      isxdigit((unsigned char)p[2]) &&
		      (p[1] != '0' || p[2] != '0')))
			return false;
	return true;
}

/* [[USER]:PASSWORD@]HOST:PORT[/DB] (what follows "redis://"), HOST a name,
 * IPv4 or [IPv6]: the shape only; the store reads it again when it
 * connects. */
static bool is_redis_url(const char *v)
{
	const char *at, *host, *end, *port;
	size_t n;

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	host = v;
	at = strrchr(host, '@');
	if (at) {
		if (!memchr(host, ':', (size_t)(at - host)) ||
		    !escapes_ok(host, at))
			return false;
		host = at + 1;
	}
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1 || end[1] != ':' ||
		    strcspn(host + 1, "/[") < (size_t)(end - host - 1))
			return false;
		port = end + 2;
	} else {
		end = strchr(host, ':');
		if (!end || end == host ||
		    strcspn(host, "/[]") < (size_t)(end - host))
			return false;
		port = end + 1;
	}
	if ((size_t)(end - host) - (*host == '[') > HOST_MAX)
		return false;
	n = strspn(port, "0123456789");
	if (n < 1 || n > 5 || strtol(port, NULL, 10) < 1 ||
	    strtol(port, NULL, 10) > 65535)
		return false;
	if (!port[n])
		return true;
	if (port[n] != '/')
		return false;
	v = port + n + 1;
	n = strspn(v, "0123456789");
	return n >= 1 && n <= 6 && !v[n];
}

int otp_store_redis_check(const char *arg, char *err, size_t errlen)
{
	if (is_redis_url(arg))
		return 0;
	snprintf(err, errlen, "use redis://[[USER]:PASSWORD@]HOST:PORT[/DB]");
	return OTP_ETYPE;
}
