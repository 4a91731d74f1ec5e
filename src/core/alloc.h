/* alloc.h - zeroed memory for the things otpd cannot run without: out of
 * memory there is nothing sensible left to do, so it aborts. Callers that
 * can answer an error instead (a request, a store open) use calloc and say
 * so themselves.
 */
#ifndef OTP_CORE_ALLOC_H
#define OTP_CORE_ALLOC_H

#include <stdlib.h>

/* calloc(n, size), or abort. */
static inline void *otp_alloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		abort();
	return p;
}

#endif
