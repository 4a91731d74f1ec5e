/* pow_solve.h - the tests' solver of a proof-of-work challenge
 * (abuse/pow.h): the first counter whose solution has the challenge's
 * leading zero bits. */
#ifndef OTP_TESTS_POW_SOLVE_H
#define OTP_TESTS_POW_SOLVE_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "abuse/pow.h"

/* sol gets "<challenge>.<counter>"; returns the tries. */
static inline long pow_solve(const char *ch, char sol[OTP_POW_MAX])
{
	int bits = atoi(ch + 2);
	unsigned char h[crypto_hash_sha256_BYTES];
	for (long c = 0;; c++) {
		int n = snprintf(sol, OTP_POW_MAX, "%s.%ld", ch, c);
		crypto_hash_sha256(h, (const unsigned char *)sol, (size_t)n);
		int z = 0;
		while (z < bits && !(h[z / 8] & (0x80 >> (z % 8))))
			z++;
		if (z >= bits)
			return c + 1;
	}
}

#endif
