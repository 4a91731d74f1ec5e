/* cookie.c - Cookie parsing and Set-Cookie formatting (see cookie.h). */
#include "http/cookie.h"

#include <stdio.h>
#include <string.h>

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

bool otp_cookie_find(const char *header, const char *name, const char **val,
		     size_t *len)
{
	size_t nlen = strlen(name);
	if (!header || nlen == 0)
		return false;
	for (const char *p = header; *p;) {
		p = skip_ws(p);
		const char *end = p + strcspn(p, ";");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *k_end = eq;
			while (k_end > p &&
			       (k_end[-1] == ' ' || k_end[-1] == '\t'))
				k_end--;
			if ((size_t)(k_end - p) == nlen &&
			    memcmp(p, name, nlen) == 0) {
				const char *v = skip_ws(eq + 1);
				const char *v_end = end;
				while (v_end > v &&
				       (v_end[-1] == ' ' || v_end[-1] == '\t'))
					v_end--;
				if (v_end - v >= 2 && *v == '"' &&
				    v_end[-1] == '"') {
					v++;
					v_end--;
				}
				*val = v;
				*len = (size_t)(v_end - v);
				return true;
			}
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

int otp_cookie_format(char *out, size_t cap, const char *name,
		      const char *value, const struct otp_cookie_attrs *a)
{
	int n = snprintf(out, cap,
			 "%s=%s; Path=/; Max-Age=%ld; HttpOnly; "
			 "SameSite=%s%s",
			 name, value, a->max_age, a->same_site,
			 a->secure ? "; Secure" : "");
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}
