/* cidr.h - a list of trusted addresses and CIDR ranges, matched fast.
 *
 * Parses "10.0.0.0/8, 192.168.1.7, ::1, fd00::/8" once into a small array of
 * (family, prefix bits, address) and answers "is this address in the list?"
 * with no allocation. IPv4-mapped IPv6 peers (::ffff:10.1.2.3) match IPv4
 * ranges. It knows nothing of HTTP: the server uses it for trusted proxies.
 *
 * Threads: a parsed list is read-only and may be shared.
 */
#ifndef OTP_CORE_CIDR_H
#define OTP_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#define OTP_CIDR_MAX 64 /* entries in one list */

struct otp_cidr {
	unsigned char family; /* 4 or 6 */
	unsigned char bits;   /* prefix length */
	unsigned char addr[16];
};

struct otp_cidr_list {
	size_t n;
	struct otp_cidr e[OTP_CIDR_MAX];
};

/* Parses a comma- or space-separated list ("" is an empty list). 0, or
 * OTP_EVALUE naming nothing in `list` changed; *bad points at the entry
 * that is not an address or range (or the first one past OTP_CIDR_MAX). */
int otp_cidr_parse(const char *text, struct otp_cidr_list *list,
		   const char **bad);

/* Is the textual address `ip` (IPv4 or IPv6) inside any entry? */
bool otp_cidr_has(const struct otp_cidr_list *list, const char *ip);

/* Is the binary address (4 or 16 bytes) inside any entry? */
bool otp_cidr_has_bin(const struct otp_cidr_list *list, int family,
		      const unsigned char *addr);

#endif
