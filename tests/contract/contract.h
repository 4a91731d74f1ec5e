/* contract.h - the store contract, as a backend's runner sees it.
 *
 * A runner fills a struct contract_backend and ends in CONTRACT_MAIN, which
 * calls contract_run() before the runner's own tests: every contract case
 * runs against b->open, a fresh and empty store per call, and, when the
 * runner gives reopen, the race cases run too (threads and processes each
 * opening their own handle on one store). All time is injected: cases pass
 * `now` values around CT_T0 and never sleep; some go back in time on purpose,
 * since a store must not read a clock. What is a backend's own business (files,
 * schema versions, exact purge counts) stays in that backend's runner. The
 * builders below are shared with the runners; the cases themselves live in
 * tests/contract/<domain>.c.
 */
#ifndef OTP_TESTS_CONTRACT_H
#define OTP_TESTS_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define CT_T0	 1700000000000LL
#define CT_TTL	 300000LL
#define CT_DAY	 (24LL * 60 * 60 * 1000)
#define CT_LEASE 30000LL
#define CT_P1	 "+14155550101"
#define CT_P2	 "+14155550102"
#define CT_P3	 "+14155550103"
#define CT_RIGHT 0xa1 /* every byte of the right code's MAC */
#define CT_WRONG 0xb2

/* An 83-character key, as the provider API makes them; keys that differ
 * only in their last character must stay apart. */
#define CT_IDEM_A                                                              \
	"k:0123456789abcdef:"                                                  \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddee0a"
#define CT_IDEM_B                                                              \
	"k:0123456789abcdef:"                                                  \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddee0b"

struct contract_backend {
	/* Opens a fresh, empty store. */
	int (*open)(struct otp_store **out);
	/* For the race cases (all three or none): renew makes a new, empty
	 * store without opening it (a file not yet created, a flushed
	 * database); reopen opens one more handle on it; count answers how
	 * many rows of one kind ("codes", "outbox", "idem") it holds, for
	 * one request id or, with NULL, in all. */
	int (*renew)(void);
	int (*reopen)(struct otp_store **out);
	int64_t (*count)(const char *kind, const char *request_id);
};

/* Runs every contract case against b, counting into the harness; the
 * runner's harness_run() then prints the totals. */
void contract_run(const char *suite, const struct contract_backend *b);
struct harness_test;
/* A runner's whole main: mkdtemp(dir), then set_up (NULL: none; < 0 counts
 * as one failure, with no test run), the contract against b and the runner's
 * own n tests, tear_down (NULL: none), and dir removed with the plain files
 * in it. The harness's exit code. */
int contract_main(const char *suite, char *dir,
		  const struct contract_backend *b, int (*set_up)(void),
		  void (*tear_down)(void), const struct harness_test *tests,
		  size_t n);
#define CONTRACT_MAIN(suite, dir, b, set_up, tear_down, tests)                 \
	int main(void)                                                         \
	{                                                                      \
		return contract_main((suite), (dir), (b), (set_up),            \
				     (tear_down), (tests),                     \
				     sizeof(tests) / sizeof((tests)[0]));      \
	}

/* Shared builders (helpers.c). */
struct otp_code_new ct_make_code(unsigned n, const char *phone,
				 int64_t expires_ms);
int ct_issue_in(struct otp_store *s, const struct otp_issue *in, int64_t now,
		struct otp_issue_out *out);
int ct_issue_full(struct otp_store *s, const struct otp_code_new *c,
		  const struct otp_session_bind *bind,
		  const struct otp_idem *idem, int64_t now,
		  struct otp_issue_out *out);
int ct_issue(struct otp_store *s, const struct otp_code_new *c,
	     const struct otp_session_bind *bind, int64_t now);
struct otp_verify_in ct_make_try(const char *id, unsigned char mac);
int ct_verify(struct otp_store *s, const struct otp_verify_in *in, int64_t now,
	      struct otp_verify_out *out);
struct otp_session_bind ct_make_bind(unsigned char b, int64_t expires_ms);
struct otp_limit ct_make_limit(const char *key, int64_t interval_ms,
			       int64_t burst);
int ct_get_state(struct otp_store *s, const char *request_id);
struct otp_idem ct_make_idem(const char *key, int64_t expires_ms);
int ct_claim_count(struct otp_store *s, int64_t now);
struct otp_apikey ct_make_key(const char *id, const char *name, unsigned char h,
			      int64_t created_ms);
int ct_issue_each(struct otp_store *s, struct otp_code_new *c, int n);
/* Codes nums[0..n-1] (n <= 3) for CT_P1, CT_P2, CT_P3, each CT_TTL long,
 * into c[], the i-th issued at CT_T0 + i * step; 0 or the first error. */
int ct_issue_numbered(struct otp_store *s, struct otp_code_new *c,
		      const unsigned *nums, int n, int64_t step);

#endif
