/* check.c - the shape of a Redis store URL
 * ("redis://[[USER]:PASSWORD@]HOST:PORT[/DB]" or
 * "redis+unix://[[USER]:PASSWORD@]/PATH[?db=DB]"), without connecting. Parsing
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

/* The longest host and socket path the connection keeps (struct
 * otp_redis's host and path). */
#define HOST_MAX  255
#define PATH_MAX_ 107

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

/* Printable ASCII, no space. */
static bool printable(const char *v)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* A number of 1 to max digits, nothing after it. */
static bool db_ok(const char *v, size_t max)
{
	size_t n = strspn(v, "0123456789");
	return n >= 1 && n <= max && !v[n];
}

/* [[USER]:PASSWORD@]HOST:PORT[/DB] (what follows "redis://"), HOST a name,
 * IPv4 or [IPv6]: the shape only; the store reads it again when it
 * connects. */
static bool is_tcp_url(const char *v)
{
	const char *at, *host, *end, *port;
	size_t n;

	if (!printable(v))
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
	return port[n] == '/' && db_ok(port + n + 1, 6);
}

/* [[USER]:PASSWORD@]/PATH[?db=DB] (what follows "redis+unix://"), PATH
 * absolute: as conn.c's unix_where reads it. */
static bool is_unix_url(const char *v)
{
	const char *path = v, *q;
	if (!printable(v))
		return false;
	if (*v != '/') {
		const char *at = strstr(v, "@/");
		if (!at || !memchr(v, ':', (size_t)(at - v)) ||
		    !escapes_ok(v, at))
			return false;
		path = at + 1;
	}
	q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	if (n < 2 || n > PATH_MAX_)
		return false;
	return !q || (strncmp(q, "?db=", 4) == 0 && db_ok(q + 4, 6));
}

/* arg: what follows "redis" (the backend's scheme). */
int otp_store_redis_check(const char *arg, char *err, size_t errlen)
{
	if (strncmp(arg, "://", 3) == 0 && is_tcp_url(arg + 3))
		return 0;
	if (strncmp(arg, "+unix://", 8) == 0 && is_unix_url(arg + 8))
		return 0;
	snprintf(err, errlen,
		 "use redis://[[USER]:PASSWORD@]HOST:PORT[/DB] or "
		 "redis+unix://[[USER]:PASSWORD@]/PATH[?db=DB] (PATH "
		 "absolute, at most %d bytes)",
		 PATH_MAX_);
	return OTP_ETYPE;
}
