/* fuzz.h - what the libFuzzer targets of tests/fuzz/ share: a check that
 * aborts (so libFuzzer saves the input as a crash), the input as a C string,
 * and the input cut into fields at a separator.
 *
 * Header-only, for the targets only; nothing of src/ includes it. The build
 * (make fuzz, build-fuzz/) is in the Makefile; tests/fuzz/README.md says how
 * to run and replay.
 */
#ifndef OTP_TESTS_FUZZ_H
#define OTP_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property the target holds: when it fails, the input is a finding. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n",      \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* The n bytes of d as a malloc'd NUL-terminated string (cut at the first
 * NUL byte of d, as a C caller would see it). The caller frees it. */
static inline char *fuzz_str(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

/* Cuts s in place into k fields at sep: p[0..k-1] point into s, the last
 * field keeps the rest (separators included), a field the input lacks is
 * "" (the end of s). */
static inline void fuzz_split(char *s, char sep, char **p, size_t k)
{
	char *end = s + strlen(s);
	for (size_t i = 0; i < k; i++) {
		p[i] = s;
		if (s == end)
			continue;
		char *c = i + 1 < k ? strchr(s, sep) : NULL;
		if (c) {
			*c = '\0';
			s = c + 1;
		} else {
			s = end;
		}
	}
}

/* Every one of the n bytes of s is in set. */
static inline bool fuzz_all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

#endif
