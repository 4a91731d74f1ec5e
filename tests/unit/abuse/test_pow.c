/* test_pow.c - the proof-of-work challenges (abuse/pow.c) over a real
 * SQLite store, with an injected clock and a solver of our own. */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "abuse/pow.h"
#include "core/err.h"
#include "harness.h"
#include "abuse/pow_solve.h"
#include "store/store.h"

static struct otp_keys *keys, *other_keys;
static struct otp_store *st;
static char dir[] = "/tmp/otpd-pow-XXXXXX";
static const int64_t now = 1700000000123;
static const unsigned char sess[OTP_HASH_LEN] = {1, 2, 3};
static const unsigned char sess2[OTP_HASH_LEN] = {1, 2, 4};
static const char *const phone = "+14155550100";

/* A counter that does not solve ch: sol gets it. */
static void unsolve(const char *ch, char sol[OTP_POW_MAX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	for (long c = 0;; c++) {
		int n = snprintf(sol, OTP_POW_MAX, "%s.%ld", ch, c);
		crypto_hash_sha256(h, (const unsigned char *)sol, (size_t)n);
		if (h[0] != 0) /* no challenge wants fewer than 8 bits */
			return;
	}
}

static int check(const char *sol, const unsigned char *session, const char *to,
		 int64_t at)
{
	return otp_pow_check(keys, st, session, to, sol, strlen(sol), at);
}

static void challenge_shape(void)
{
	char ch[OTP_POW_MAX];
	otp_pow_challenge(keys, sess, phone, 18, now, ch);
	long long exp = 0;
	int bits = 0, n = 0;
	CHECK(sscanf(ch, "2.%d.%lld.%n", &bits, &exp, &n) == 2);
	CHECK_INT(bits, 18);
	/* fixed widths: "<challenge>." is one SHA-256 block */
	CHECK_INT(strlen(ch), OTP_POW_CHALLENGE_LEN);
	CHECK_INT(n, 2 + 3 + 12 + 1);
	CHECK_INT(exp, now / 1000 + OTP_POW_TTL_S);
	/* nonce and mac: 22 base64url characters each */
	CHECK_INT(strlen(ch + n), 22 + 1 + 22);
	CHECK_INT(strspn(ch + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
				 "tuvwxyz0123456789-_."),
		  45);
	CHECK(ch[n + 22] == '.');
	/* two challenges differ (a fresh nonce) */
	char ch2[OTP_POW_MAX];
	otp_pow_challenge(keys, sess, phone, 18, now, ch2);
	CHECK(strcmp(ch, ch2) != 0);
	/* bits outside --fraud-pow-bits' bounds are brought inside */
	otp_pow_challenge(keys, sess, phone, 2, now, ch);
	CHECK(strncmp(ch, "2.08.00", 7) == 0);
	CHECK_INT(strlen(ch), OTP_POW_CHALLENGE_LEN);
	otp_pow_challenge(keys, sess, phone, 40, now, ch);
	CHECK(strncmp(ch, "2.28.", 5) == 0);
}

static void good_solution_passes_once(void)
{
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX];
	for (int bits = 8; bits <= 12; bits++) {
		otp_pow_challenge(keys, sess, phone, bits, now, ch);
		CHECK(pow_solve(ch, sol) > 0);
		CHECK(strlen(sol) < OTP_POW_MAX);
		CHECK_INT(check(sol, sess, phone, now + 1000), 0);
		/* the same solution again, at once or later: used */
		CHECK_INT(check(sol, sess, phone, now + 1000), OTP_ESTEPUP);
		CHECK_INT(check(sol, sess, phone, now + 60000), OTP_ESTEPUP);
	}
	/* another counter of a used challenge: the nonce is used */
	otp_pow_challenge(keys, sess, phone, 8, now, ch);
	long tries = pow_solve(ch, sol);
	CHECK_INT(check(sol, sess, phone, now), 0);
	unsigned char h[crypto_hash_sha256_BYTES];
	for (long c = tries;; c++) {
		int n = snprintf(sol, OTP_POW_MAX, "%s.%ld", ch, c);
		crypto_hash_sha256(h, (const unsigned char *)sol, (size_t)n);
		if (h[0] == 0)
			break;
	}
	CHECK_INT(check(sol, sess, phone, now), OTP_ESTEPUP);
}

static void bound_to_session_phone_and_secret(void)
{
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX];
	otp_pow_challenge(keys, sess, phone, 10, now, ch);
	pow_solve(ch, sol);
	CHECK_INT(check(sol, sess2, phone, now), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, "+14155550123", now), OTP_ESTEPUP);
	CHECK_INT(
	    otp_pow_check(other_keys, st, sess, phone, sol, strlen(sol), now),
	    OTP_ESTEPUP);
	/* none of those used it up */
	CHECK_INT(check(sol, sess, phone, now), 0);
}

static void expires(void)
{
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX];
	otp_pow_challenge(keys, sess, phone, 8, now, ch);
	pow_solve(ch, sol);
	int64_t end = (now / 1000 + OTP_POW_TTL_S) * 1000;
	CHECK_INT(check(sol, sess, phone, end), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, phone, end + 3600000), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, phone, end - 1), 0);
	/* and it stays used until it is dead, however late it was used */
	CHECK_INT(check(sol, sess, phone, end - 1), OTP_ESTEPUP);
}

/* sol with the field `at` (0-based) replaced by `with`. */
static void replace_field(const char *sol, int at, const char *with,
			  char out[OTP_POW_MAX * 2])
{
	const char *p = sol;
	for (int i = 0; i < at; i++)
		p = strchr(p, '.') + 1;
	const char *end = strchr(p, '.');
	snprintf(out, OTP_POW_MAX * 2, "%.*s%s%s", (int)(p - sol), sol, with,
		 end ? end : "");
}

static void tampered(void)
{
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX], bad[OTP_POW_MAX * 2];
	otp_pow_challenge(keys, sess, phone, 9, now, ch);
	pow_solve(ch, sol);
	/* fewer bits, a later expiry, another version: the MAC says no;
	 * a field of another width: its shape */
	static const char *const edits[][2] = {
	    {"1", "08"},
	    {"1", "8"},
	    {"1", "10"},
	    {"1", "009"},
	    {"2", "001800000000"},
	    {"2", "1700000120"},
	    {"2", "01700000120"},
	    {"2", "0001700000120"},
	    {"0", "1"},
	    {"0", "3"},
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		replace_field(sol, atoi(edits[i][0]), edits[i][1], bad);
		CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	}
	/* one character of the nonce or the MAC */
	for (int field = 3; field <= 4; field++) {
		char f[23];
		const char *p = sol;
		for (int i = 0; i < field; i++)
			p = strchr(p, '.') + 1;
		memcpy(f, p, 22);
		f[22] = '\0';
		f[5] = f[5] == 'A' ? 'B' : 'A';
		replace_field(sol, field, f, bad);
		CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	}
	/* a counter that does not solve it, or none */
	unsolve(ch, bad);
	CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	CHECK_INT(check(ch, sess, phone, now), OTP_ESTEPUP);
	snprintf(bad, sizeof bad, "%s.", ch);
	CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	snprintf(bad, sizeof bad, "%s.-1", ch);
	CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	snprintf(bad, sizeof bad, "%s.1.2", ch);
	CHECK_INT(check(bad, sess, phone, now), OTP_ESTEPUP);
	/* the good one still passes */
	CHECK_INT(check(sol, sess, phone, now), 0);
}

/* A hand-made challenge (fmt: its text before the MAC, with the expiry,
 * in seconds, to print), given a good MAC for sess and phone, then
 * solved: the check's answer. */
static int check_hand_made(const char *fmt, long long exp_s)
{
	char text[OTP_POW_MAX], sol[OTP_POW_MAX];
	unsigned char mac[OTP_POW_MAC_LEN];
	int n = snprintf(text, sizeof text, fmt, exp_s);
	otp_pow_mac(keys, text, (size_t)n, sess, phone, mac);
	text[n] = '.';
	sodium_bin2base64(text + n + 1, sizeof text - (size_t)n - 1, mac,
			  sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	pow_solve(text, sol);
	return check(sol, sess, phone, now);
}

/* A challenge made, with a good MAC, for fewer bits than any setting
 * allows (a bug, or a hand-made one): refused, however it is solved. */
static void too_few_bits_refused(void)
{
	CHECK_INT(check_hand_made("2.04.%012lld.AAAAAAAAAAAAAAAAAAAAAA",
				  now / 1000 + 60),
		  OTP_ESTEPUP);
}

/* A version 1 challenge (no fixed widths), with a good MAC and solved:
 * refused. */
static void version_1_refused(void)
{
	CHECK_INT(check_hand_made("1.10.%lld.AAAAAAAAAAAAAAAAAAAAAA",
				  now / 1000 + 60),
		  OTP_ESTEPUP);
}

static void garbage_and_huge(void)
{
	static const char *const junk[] = {
	    "",
	    ".",
	    "......",
	    "2.18.001700000120.x.y.1",
	    "2.18.001700000120.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.1",
	    "2.18.001700000120.AAAAAAAAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAA.1",
	    "2.18.001700000120.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA."
	    "01",
	    "\xff\xfe",
	    "2.18.99999999999999999999.AAAAAAAAAAAAAAAAAAAAAA."
	    "AAAAAAAAAAAAAAAAAAAAAA.1",
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		CHECK_INT(check(junk[i], sess, phone, now), OTP_ESTEPUP);
	CHECK_INT(otp_pow_check(keys, st, sess, phone, NULL, 0, now),
		  OTP_ESTEPUP);
	/* a good solution with a NUL inside, or a long counter */
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX], big[1 << 16];
	otp_pow_challenge(keys, sess, phone, 8, now, ch);
	pow_solve(ch, sol);
	size_t len = strlen(sol);
	memcpy(big, sol, len);
	big[len] = '\0';
	CHECK_INT(otp_pow_check(keys, st, sess, phone, big, len + 1, now),
		  OTP_ESTEPUP);
	snprintf(big, sizeof big, "%s.%s", ch, "1234567890123456");
	CHECK_INT(check(big, sess, phone, now), OTP_ESTEPUP);
	/* 64 KiB of digits after the challenge */
	int n = snprintf(big, sizeof big, "%s.", ch);
	memset(big + n, '7', sizeof big - (size_t)n - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(
	    otp_pow_check(keys, st, sess, phone, big, sizeof big - 1, now),
	    OTP_ESTEPUP);
	/* not used up by any of that */
	CHECK_INT(check(sol, sess, phone, now), 0);
}

/* otpd_pow_checks_total{outcome} as /metrics writes it. */
static long long counted(const char *outcome)
{
	char *buf = NULL, want[64];
	size_t len = 0;
	long long n = -1;
	FILE *f = open_memstream(&buf, &len);
	otp_pow_metrics_write(f);
	fclose(f);
	int w = snprintf(want, sizeof want,
			 "otpd_pow_checks_total{outcome=\"%s\"} ", outcome);
	const char *at = strstr(buf, want);
	if (at)
		n = atoll(at + w);
	free(buf);
	return n;
}

static void outcomes_counted(void)
{
	static const char *const names[] = {"ok", "bad", "reused", "expired"};
	long long before[4];
	for (int i = 0; i < 4; i++) {
		before[i] = counted(names[i]);
		CHECK(before[i] >= 0); /* every outcome, from the start */
	}
	char ch[OTP_POW_MAX], sol[OTP_POW_MAX];
	otp_pow_challenge(keys, sess, phone, 8, now, ch);
	pow_solve(ch, sol);
	CHECK_INT(check("garbage", sess, phone, now), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess2, phone, now), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, phone, now + 3600000), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, phone, now), 0);
	CHECK_INT(check(sol, sess, phone, now), OTP_ESTEPUP);
	CHECK_INT(check(sol, sess, phone, now), OTP_ESTEPUP);
	CHECK_INT(counted("ok") - before[0], 1);
	CHECK_INT(counted("bad") - before[1], 2);
	CHECK_INT(counted("reused") - before[2], 2);
	CHECK_INT(counted("expired") - before[3], 1);
}

static const struct harness_test tests[] = {
    TEST(challenge_shape),
    TEST(good_solution_passes_once),
    TEST(bound_to_session_phone_and_secret),
    TEST(expires),
    TEST(tampered),
    TEST(too_few_bits_refused),
    TEST(version_1_refused),
    TEST(garbage_and_huge),
    TEST(outcomes_counted),
};

static int open_keys_and_store(void)
{
	static const unsigned char secret[32] = {7}, other[32] = {8};
	char url[128];
	if (otp_crypto_init() != 0)
		return -1;
	snprintf(url, sizeof url, "sqlite:%s/pow.db", dir);
	if (otp_store_open(url, &st) != 0)
		return -1;
	keys = otp_keys_new(secret);
	other_keys = otp_keys_new(other);
	return 0;
}

static void close_keys_and_store(void)
{
	otp_keys_free(keys);
	otp_keys_free(other_keys);
	otp_store_close(st);
}

int main(void)
{
	return harness_run_in_dir("pow", tests, sizeof tests / sizeof tests[0],
				  dir, open_keys_and_store,
				  close_keys_and_store);
}
