/* cookie.h - Cookie header parsing and Set-Cookie formatting (RFC 6265).
 * Pure functions; no HTTP library. */
#ifndef OTP_HTTP_COOKIE_H
#define OTP_HTTP_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

/* Finds cookie `name` in a Cookie header ("a=1; b=2"). The value is not
 * copied: *val points into header, *len bytes (surrounding quotes removed).
 * The first occurrence wins. */
bool otp_cookie_find(const char *header, const char *name, const char **val,
		     size_t *len);

struct otp_cookie_attrs {
	long max_age; /* seconds; 0 clears the cookie */
	bool secure;
	const char *same_site; /* "Lax", "Strict", "None" */
};

/* Writes a Set-Cookie value: name=value; Path=/; Max-Age=N; HttpOnly;
 * SameSite=X[; Secure]. Returns 0 or -1 if it does not fit. */
int otp_cookie_format(char *out, size_t cap, const char *name,
		      const char *value, const struct otp_cookie_attrs *a);

#endif
