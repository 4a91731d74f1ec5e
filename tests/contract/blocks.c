/* blocks.c - the store contract on the abuse rules' blocks and allow
 * entries: put replaces by key, find returns rows in any state, list is
 * newest first, delete says when there was nothing, purge drops rows that
 * ended 30 days ago; abuse_read answers what signal_read and block_find
 * answer, in one call.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

static struct otp_block make_block(const char *key, enum otp_block_kind kind,
				   int64_t created_ms, int64_t until_ms,
				   int strikes, const char *rule)
{
	struct otp_block b;
	memset(&b, 0, sizeof b);
	snprintf(b.key, sizeof b.key, "%s", key);
	b.kind = kind;
	b.created_ms = created_ms;
	b.until_ms = until_ms;
	b.strikes = strikes;
	snprintf(b.rule, sizeof b.rule, "%s", rule);
	return b;
}

static void check_block(const struct otp_block *got,
			const struct otp_block *want)
{
	CHECK_STR(got->key, want->key);
	CHECK_INT(got->kind, want->kind);
	CHECK_INT(got->created_ms, want->created_ms);
	CHECK_INT(got->until_ms, want->until_ms);
	CHECK_INT(got->strikes, want->strikes);
	CHECK_STR(got->rule, want->rule);
}

/* The row of key among out[0..n), or NULL. */
static const struct otp_block *row_of(const struct otp_block *out, size_t n,
				      const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].key, key) == 0)
			return &out[i];
	return NULL;
}

/* key is found, with every field as want has it. */
#define CT_BLOCK_IS(s, want)                                                   \
	do {                                                                   \
		const char *k_ = (want)->key;                                  \
		struct otp_block got_;                                         \
		size_t n_ = 9;                                                 \
		CHECK_INT(otp_store_block_find(s, &k_, 1, &got_, &n_), 0);     \
		CHECK_INT(n_, 1);                                              \
		check_block(&got_, want);                                      \
		if (harness_failed_)                                           \
			return;                                                \
	} while (0)

/* abuse_read is signal_read then block_find, each answered as alone:
 * with blocks and signals, with no block key, with no signal key. */
void ct_abuse_read(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_block b[2] = {
	    make_block("ip:192.0.2.1", OTP_BLOCK_DENY, CT_T0, CT_T0 + 3600000,
		       2, "ip_burst"),
	    make_block("e:" CT_P1, OTP_BLOCK_ALLOW, CT_T0 + 1, 0, 0, "otpctl"),
	};
	for (int i = 0; i < 2; i++)
		CHECK_INT(otp_store_block_put(s, &b[i]), 0);
	struct otp_signal_add add[2] = {
	    {.key = "r:NG", .n = {7, 2}, .member = "NG"},
	    {.key = "ip:192.0.2.1", .n = {3, 0}, .member = "GB"},
	};
	CHECK_INT(otp_store_signal_add(s, add, 2, CT_T0), 0);
	const char *keys[3] = {"r:NG", "r:GB", "ip:192.0.2.1"};
	const char *members[3] = {"", "", "GB"};
	const char *bkeys[3] = {"r:NG", "ip:192.0.2.1", "e:" CT_P1};
	struct otp_signal want[3], got[3];
	struct otp_block rows[3];
	size_t n = 9;
	CHECK_INT(
	    otp_store_signal_read(s, keys, members, 3, CT_T0 + 1000, want), 0);
	struct otp_abuse_read q = {.keys = keys,
				   .members = members,
				   .n = 3,
				   .block_keys = bkeys,
				   .nblock = 3,
				   .now = CT_T0 + 1000};
	memset(got, 0x55, sizeof got);
	CHECK_INT(otp_store_abuse_read(s, &q, got, rows, &n), 0);
	CHECK(memcmp(got, want, sizeof want) == 0);
	CHECK_INT(got[0].w[OTP_SIG_SENT].hour, 7);
	CHECK_INT(got[2].seen, 1);
	CHECK_INT(n, 2);
	for (int i = 0; i < 2 && n == 2; i++) {
		const struct otp_block *r = row_of(rows, n, b[i].key);
		CHECK(r);
		if (r)
			check_block(r, &b[i]);
	}
	/* No block key: the signals alone; no signal key: the blocks. */
	q.nblock = 0;
	n = 9;
	memset(got, 0x55, sizeof got);
	CHECK_INT(otp_store_abuse_read(s, &q, got, rows, &n), 0);
	CHECK(memcmp(got, want, sizeof want) == 0);
	CHECK_INT(n, 0);
	q.nblock = 3;
	q.n = 0;
	CHECK_INT(otp_store_abuse_read(s, &q, got, rows, &n), 0);
	CHECK_INT(n, 2);
	otp_store_close(s);
}

static size_t found(struct otp_store *s, const char *key)
{
	struct otp_block b;
	size_t n = 9;
	if (otp_store_block_find(s, &key, 1, &b, &n) != 0)
		return 9;
	return n;
}

void ct_blocks(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_block b[3] = {
	    make_block("ip:192.0.2.1", OTP_BLOCK_DENY, CT_T0, CT_T0 + 3600000,
		       1, "ip_burst"),
	    make_block("e:" CT_P1, OTP_BLOCK_ALLOW, CT_T0 + 1, 0, 0, "otpctl"),
	    /* ended already: kept, and found, all the same */
	    make_block("p:+1415", OTP_BLOCK_DENY, CT_T0 + 2, CT_T0 - 1, 3,
		       "prefix_conversion"),
	};
	for (int i = 0; i < 3; i++)
		CHECK_INT(otp_store_block_put(s, &b[i]), 0);
	const char *keys[4] = {b[0].key, "r:NG", b[2].key, b[1].key};
	struct otp_block out[4];
	size_t n = 9;
	CHECK_INT(otp_store_block_find(s, keys, 4, out, &n), 0);
	CHECK_INT(n, 3);
	for (int i = 0; i < 3; i++) {
		const struct otp_block *r = row_of(out, n, b[i].key);
		CHECK(r);
		check_block(r, &b[i]);
		if (harness_failed_)
			return;
	}
	CHECK_INT(otp_store_block_find(s, keys + 1, 1, out, &n), 0);
	CHECK_INT(n, 0);
	n = 9;
	CHECK_INT(otp_store_block_find(s, keys, 0, out, &n), 0);
	CHECK_INT(n, 0);

	/* Newest first, up to max. */
	struct otp_block li[4];
	CHECK_INT(otp_store_block_list(s, li, 4, &n), 0);
	CHECK_INT(n, 3);
	check_block(&li[0], &b[2]);
	check_block(&li[1], &b[1]);
	check_block(&li[2], &b[0]);
	CHECK_INT(otp_store_block_list(s, li, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(li[1].key, b[1].key);
	n = 9;
	CHECK_INT(otp_store_block_list(s, li, 0, &n), 0);
	CHECK_INT(n, 0);

	/* A put replaces its key's row whole, and it moves up the list. */
	struct otp_block again = make_block(
	    b[0].key, OTP_BLOCK_ALLOW, CT_T0 + 3, CT_T0 + 7200000, 2, "otpctl");
	CHECK_INT(otp_store_block_put(s, &again), 0);
	CT_BLOCK_IS(s, &again);
	CHECK_INT(otp_store_block_list(s, li, 4, &n), 0);
	CHECK_INT(n, 3);
	check_block(&li[0], &again);
	check_block(&li[1], &b[2]);

	/* delete: gone, and a second time not found. */
	CHECK_INT(otp_store_block_delete(s, b[1].key), 0);
	CHECK_INT(found(s, b[1].key), 0);
	CHECK_INT(otp_store_block_delete(s, b[1].key), OTP_ENOTFOUND);
	CHECK_INT(otp_store_block_delete(s, "ip:192.0.2"), OTP_ENOTFOUND);
	CHECK_INT(otp_store_block_list(s, li, 4, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(found(s, b[0].key), 1);
	CHECK_INT(found(s, b[2].key), 1);
	otp_store_close(s);
}

/* Keys and rules are data, at their longest too. */
void ct_blocks_fields(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	char key[OTP_SIGNAL_KEY_MAX], rule[OTP_BLOCK_RULE_MAX];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	memset(rule, 'r', sizeof rule - 1);
	rule[sizeof rule - 1] = '\0';
	struct otp_block b[3] = {
	    make_block(key, OTP_BLOCK_DENY, CT_T0, 0, 1000000, rule),
	    make_block("n:'; DROP TABLE blocks; --", OTP_BLOCK_DENY, CT_T0,
		       CT_T0 + 1, 1, "a 'rule' {x}"),
	    make_block("n:2001:db8::/64", OTP_BLOCK_ALLOW, CT_T0 - 1,
		       INT64_C(253402300799999), 0, ""),
	};
	for (int i = 0; i < 3; i++) {
		CHECK_INT(otp_store_block_put(s, &b[i]), 0);
		CT_BLOCK_IS(s, &b[i]);
	}
	/* A key one character short is another key. */
	key[sizeof key - 2] = '\0';
	CHECK_INT(found(s, key), 0);
	CHECK_INT(otp_store_block_delete(s, key), OTP_ENOTFOUND);
	otp_store_close(s);
}

/* purge drops rows whose end (not 0) is more than 30 days before now. */
void ct_blocks_purge(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t p = CT_T0 + 60 * CT_DAY;
	struct otp_block b[4] = {
	    make_block("ip:192.0.2.1", OTP_BLOCK_DENY, CT_T0,
		       p - 30 * CT_DAY - 1, 1, "ip_burst"),
	    make_block("ip:192.0.2.2", OTP_BLOCK_DENY, CT_T0, p - 30 * CT_DAY,
		       1, "ip_burst"),
	    make_block("e:" CT_P1, OTP_BLOCK_ALLOW, CT_T0 - 90 * CT_DAY, 0, 0,
		       "otpctl"),
	    make_block("r:NG", OTP_BLOCK_DENY, CT_T0, p + 1, 4, "region"),
	};
	for (int i = 0; i < 4; i++)
		CHECK_INT(otp_store_block_put(s, &b[i]), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, p - 1, &removed), 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(found(s, b[i].key), 1);
	CHECK_INT(otp_store_purge(s, p, &removed), 0);
	CHECK(removed >= 0);
	CHECK_INT(found(s, b[0].key), 0);
	for (int i = 1; i < 4; i++)
		CHECK_INT(found(s, b[i].key), 1);
	struct otp_block li[4];
	size_t n = 9;
	CHECK_INT(otp_store_block_list(s, li, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK(!row_of(li, n, b[0].key));
	/* Put back, it is a row like any other. */
	CHECK_INT(otp_store_block_put(s, &b[0]), 0);
	CHECK_INT(found(s, b[0].key), 1);
	otp_store_close(s);
}
