/* cidr.c - trusted address lists: parsing and prefix matching (cidr.h). */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

/* One entry, `len` bytes at `p`, without surrounding separators. */
static bool parse_one(const char *p, size_t len, struct otp_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 5];
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash) {
		char *end;
		*slash = '\0';
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return false;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (*end || errno)
			return false;
	}
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		if (bits > 32)
			return false;
		out->family = 4;
		out->bits = (unsigned char)(bits < 0 ? 32 : bits);
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		if (bits > 128)
			return false;
		out->family = 6;
		out->bits = (unsigned char)(bits < 0 ? 128 : bits);
		/* "::ffff:10.1.2.3" or "::ffff:10.0.0.0/104" is an IPv4
		 * entry: lookups fold mapped peers to IPv4, so kept as IPv6
		 * it would match nothing (found by tests/fuzz/fuzz_cidr). */
		if (out->bits >= 96 &&
		    memcmp(out->addr, v4_mapped, sizeof v4_mapped) == 0) {
			memmove(out->addr, out->addr + sizeof v4_mapped, 4);
			memset(out->addr + 4, 0, sizeof out->addr - 4);
			out->family = 4;
			out->bits = (unsigned char)(out->bits - 96);
		}
	} else {
		return false;
	}
	return true;
}

int otp_cidr_parse(const char *text, struct otp_cidr_list *list,
		   const char **bad)
{
	struct otp_cidr_list l = {0};
	for (const char *p = text ? text : ""; *p;) {
		p += strspn(p, ", ");
		size_t len = strcspn(p, ", ");
		if (!len)
			break;
		if (l.n == OTP_CIDR_MAX || !parse_one(p, len, &l.e[l.n])) {
			if (bad)
				*bad = p;
			return OTP_EVALUE;
		}
		l.n++;
		p += len;
	}
	*list = l;
	return 0;
}

static bool prefix_eq(const unsigned char *a, const unsigned char *b,
		      unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool otp_cidr_has_bin(const struct otp_cidr_list *list, int family,
		      const unsigned char *addr)
{
	if (family == 6 && memcmp(addr, v4_mapped, sizeof v4_mapped) == 0) {
		family = 4;
		addr += sizeof v4_mapped;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct otp_cidr *e = &list->e[i];
		if (e->family == family && prefix_eq(e->addr, addr, e->bits))
			return true;
	}
	return false;
}

bool otp_cidr_has(const struct otp_cidr_list *list, const char *ip)
{
	unsigned char bin[16];
	if (!list->n || !ip)
		return false;
	if (inet_pton(AF_INET, ip, bin) == 1)
		return otp_cidr_has_bin(list, 4, bin);
	if (inet_pton(AF_INET6, ip, bin) == 1)
		return otp_cidr_has_bin(list, 6, bin);
	return false;
}
