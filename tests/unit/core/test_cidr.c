/* test_cidr.c - trusted-proxy lists: exact addresses, CIDR ranges, bad
 * entries, and IPv4-mapped IPv6 peers. */
#include "core/cidr.h"
#include "core/err.h"
#include "harness.h"

static void exact_addresses(void)
{
	struct otp_cidr_list l;
	CHECK_INT(otp_cidr_parse("127.0.0.1, ::1", &l, NULL), 0);
	CHECK_INT(l.n, 2);
	CHECK(otp_cidr_has(&l, "127.0.0.1"));
	CHECK(otp_cidr_has(&l, "::1"));
	CHECK(!otp_cidr_has(&l, "127.0.0.2"));
	CHECK(!otp_cidr_has(&l, "::2"));
}

static void ranges(void)
{
	struct otp_cidr_list l;
	CHECK_INT(
	    otp_cidr_parse("10.0.0.0/8,192.168.4.0/22 fd00::/8", &l, NULL), 0);
	CHECK(otp_cidr_has(&l, "10.255.1.2"));
	CHECK(!otp_cidr_has(&l, "11.0.0.1"));
	CHECK(otp_cidr_has(&l, "192.168.7.255"));
	CHECK(!otp_cidr_has(&l, "192.168.8.0"));
	CHECK(otp_cidr_has(&l, "fd12:3456::1"));
	CHECK(!otp_cidr_has(&l, "fe80::1"));
	CHECK(!otp_cidr_has(&l, "not an address"));
}

static void zero_and_full_prefix(void)
{
	struct otp_cidr_list l;
	CHECK_INT(otp_cidr_parse("0.0.0.0/0", &l, NULL), 0);
	CHECK(otp_cidr_has(&l, "203.0.113.9"));
	CHECK(!otp_cidr_has(&l, "2001:db8::1")); /* v4 range, v6 peer */
	CHECK_INT(otp_cidr_parse("2001:db8::1/128", &l, NULL), 0);
	CHECK(otp_cidr_has(&l, "2001:db8::1"));
	CHECK(!otp_cidr_has(&l, "2001:db8::2"));
}

static void mapped_v4_peer(void)
{
	struct otp_cidr_list l;
	CHECK_INT(otp_cidr_parse("10.1.0.0/16", &l, NULL), 0);
	CHECK(otp_cidr_has(&l, "::ffff:10.1.2.3"));
	CHECK(!otp_cidr_has(&l, "::ffff:10.2.2.3"));
}

/* An entry written in the mapped form is the IPv4 entry it maps to. */
static void mapped_v4_entry(void)
{
	struct otp_cidr_list l;
	CHECK_INT(
	    otp_cidr_parse("::ffff:10.1.2.3, ::ffff:192.168.0.0/112", &l, NULL),
	    0);
	CHECK(otp_cidr_has(&l, "::ffff:10.1.2.3"));
	CHECK(otp_cidr_has(&l, "10.1.2.3"));
	CHECK(!otp_cidr_has(&l, "10.1.2.4"));
	CHECK(otp_cidr_has(&l, "192.168.9.9"));
	CHECK(otp_cidr_has(&l, "::ffff:192.168.9.9"));
	CHECK(!otp_cidr_has(&l, "192.169.0.1"));
	CHECK(!otp_cidr_has(&l, "::1"));
}

static void bad_entries(void)
{
	static const char *const bad[] = {
	    "10.0.0.0/33", "::/129",	"10.0.0.0/", "10.0.0.0/-1",
	    "10.0.0.0/x",  "300.1.1.1", "host",	     "1.2.3.4/+8",
	};
	struct otp_cidr_list l = {0};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *where = NULL;
		char text[64];
		snprintf(text, sizeof text, "127.0.0.1, %s", bad[i]);
		CHECK_INT(otp_cidr_parse(text, &l, &where), OTP_EVALUE);
		CHECK(where == text + 11);
		CHECK_INT(l.n, 0); /* nothing changed */
	}
}

static void empty_list(void)
{
	struct otp_cidr_list l;
	CHECK_INT(otp_cidr_parse("", &l, NULL), 0);
	CHECK_INT(l.n, 0);
	CHECK(!otp_cidr_has(&l, "127.0.0.1"));
	CHECK_INT(otp_cidr_parse(NULL, &l, NULL), 0);
}

static void too_many(void)
{
	char text[OTP_CIDR_MAX * 12 + 16] = "";
	size_t off = 0;
	for (int i = 0; i <= OTP_CIDR_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof text - off,
					"10.0.%d.1,", i);
	struct otp_cidr_list l;
	CHECK_INT(otp_cidr_parse(text, &l, NULL), OTP_EVALUE);
}

static const struct harness_test tests[] = {
    TEST(exact_addresses), TEST(ranges),	  TEST(zero_and_full_prefix),
    TEST(mapped_v4_peer),  TEST(bad_entries),	  TEST(empty_list),
    TEST(too_many),	   TEST(mapped_v4_entry),
};
HARNESS_MAIN("cidr", tests)
