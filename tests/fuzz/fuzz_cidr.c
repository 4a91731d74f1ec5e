/* fuzz_cidr.c - otp_cidr_parse and otp_cidr_has (core/cidr.h).
 * Input: LIST "\n" ADDRESS. A refused list leaves the old one as it was
 * and points *bad inside the text; every parsed entry contains its own
 * address; the textual and binary lookups agree. */
#include <arpa/inet.h>

#include "core/cidr.h"
#include "core/err.h"
#include "fuzz.h"

static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_cidr_list list, before;
	char *s = fuzz_str(d, n), *p[2];
	fuzz_split(s, '\n', p, 2);
	const char *bad = NULL;
	memset(&list, 0xa5, sizeof list);
	list.n = 0;
	before = list;
	int rc = otp_cidr_parse(p[0], &list, &bad);
	if (rc != 0) {
		FUZZ_CHECK(rc == OTP_EVALUE);
		FUZZ_CHECK(memcmp(&list, &before, sizeof list) == 0);
		FUZZ_CHECK(bad >= p[0] && bad <= p[0] + strlen(p[0]));
		free(s);
		return 0;
	}
	FUZZ_CHECK(list.n <= OTP_CIDR_MAX);
	for (size_t i = 0; i < list.n; i++) {
		const struct otp_cidr *e = &list.e[i];
		FUZZ_CHECK(e->family == 4 || e->family == 6);
		FUZZ_CHECK(e->bits <= (e->family == 4 ? 32 : 128));
		/* (a mapped-looking IPv6 range shorter than /96 is IPv6) */
		if (e->family == 4 || memcmp(e->addr, v4_mapped, 12) != 0)
			FUZZ_CHECK(otp_cidr_has_bin(&list, e->family, e->addr));
	}
	unsigned char a[16];
	bool has = otp_cidr_has(&list, p[1]);
	if (inet_pton(AF_INET, p[1], a) == 1)
		FUZZ_CHECK(has == otp_cidr_has_bin(&list, 4, a));
	else if (inet_pton(AF_INET6, p[1], a) == 1)
		FUZZ_CHECK(has == otp_cidr_has_bin(&list, 6, a));
	free(s);
	return 0;
}
