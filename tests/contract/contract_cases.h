/* contract_cases.h - what the contract's own files share (not the runners).
 *
 * The harness's counters live in the runner (HARNESS_EXTERN), the backend
 * under test in ct_backend, and CONTRACT_CASES lists every case once: the
 * prototypes and contract.c's table are made from it.
 */
#ifndef OTP_TESTS_CONTRACT_CASES_H
#define OTP_TESTS_CONTRACT_CASES_H

#define HARNESS_EXTERN
#include "../unit/harness.h"

#include "contract.h"

extern const struct contract_backend *ct_backend;

/* A fresh, empty store from the runner, or NULL. */
struct otp_store *ct_open(void);
/* ct_open() with code 1 of CT_P1 issued at CT_T0 under key CT_IDEM_A. */
struct otp_store *ct_open_idem(struct otp_idem *k, struct otp_code_new *c,
			       struct otp_issue_out *o);
/* Code 3 of CT_P2 a day on, under k extended by a day. */
int ct_issue_next_day(struct otp_store *s, struct otp_idem *k,
		      struct otp_code_new *c, struct otp_issue_out *o);
/* ct_open() with code 1 of CT_P1 issued at CT_T0 into *c. */
struct otp_store *ct_open_issued(struct otp_code_new *c);
/* Declares c and s, ct_open_issued(&c), and fails the case without it. */
#define CT_ISSUED(c, s)                                                        \
	struct otp_code_new c;                                                 \
	struct otp_store *s = ct_open_issued(&c);                              \
	CHECK(s)
/* ct_open() with code 1 of CT_P1 issued and its message claimed into m[0]. */
struct otp_store *ct_open_claimed(struct otp_code_new *c, struct otp_msg *m);
/* ct_open() with *b = ct_make_bind(byte, expires_ms) and code 1 of CT_P1
 * (*c) issued bound to it at CT_T0. */
struct otp_store *ct_open_bound(struct otp_session_bind *b, unsigned char byte,
				int64_t expires_ms, struct otp_code_new *c);
/* A try of id with mac that, when right, rotates the session old_hash to
 * new_byte repeated, to live until expires_ms. */
struct otp_verify_in ct_make_rotate(const char *id, unsigned char mac,
				    const unsigned char *old_hash,
				    unsigned char new_byte, int64_t expires_ms);
/* Checks every field of a session read back. */
void ct_check_session(const struct otp_session *got, const char *phone,
		      int64_t authenticated_ms, int64_t expires_ms,
		      const char *pending_id, const char *pending_phone,
		      int sends);
/* The live session hash names at now has these six fields. */
#define CT_SESSION_IS(s, hash, now, ...)                                       \
	do {                                                                   \
		struct otp_session got_;                                       \
		CHECK_INT(otp_store_session_get(s, hash, now, &got_), 0);      \
		ct_check_session(&got_, __VA_ARGS__);                          \
	} while (0)

/* ct_open_claimed(), the message's id into *id and its copy freed: the
 * claim stands until its lease runs out. */
struct otp_store *ct_open_released(struct otp_code_new *c, int64_t *id);
/* ct_open() with codes 1..n issued by ct_issue_each() and their n
 * messages claimed at CT_T0 into m[0..n-1]. */
struct otp_store *ct_open_claimed_each(struct otp_code_new *c,
				       struct otp_msg *m, int n);

/* Claims up to cap messages at now into m: the store answers 0 and hands
 * out `want` of them. */
#define CT_CLAIM_N(s, now, m, cap, want)                                       \
	do {                                                                   \
		size_t nn_ = 9;                                                \
		CHECK_INT(                                                     \
		    otp_store_outbox_claim(s, now, CT_LEASE, m, cap, &nn_),    \
		    0);                                                        \
		CHECK_INT(nn_, want);                                          \
	} while (0)

/* Claims exactly one message at now into *m, or fails the test. */
#define CT_CLAIM1(s, now, m) CT_CLAIM_N(s, now, m, 1, 1)

/* clang-format off */
#define CONTRACT_CASES(X) \
	X(ct_ping) \
	X(ct_verify_ok_then_used) \
	X(ct_verify_notfound) \
	X(ct_wrong_until_dead) \
	X(ct_expired_not_counted) \
	X(ct_resend_retires) \
	X(ct_expect_phone) \
	X(ct_other_phone_until_dead) \
	X(ct_issue_atomic) \
	X(ct_issue_without_body) \
	X(ct_code_get) \
	X(ct_rotate) \
	X(ct_verify_by_session) \
	X(ct_session_expiry) \
	X(ct_session_bind) \
	X(ct_session_bind_upstream) \
	X(ct_session_rotate_op) \
	X(ct_limit_burst) \
	X(ct_limit_all_or_nothing) \
	X(ct_limit_disabled) \
	X(ct_outbox_claim_body) \
	X(ct_outbox_lease) \
	X(ct_outbox_ack) \
	X(ct_outbox_retry) \
	X(ct_outbox_fail) \
	X(ct_outbox_order) \
	X(ct_outbox_state_notfound) \
	X(ct_outbox_lease_token) \
	X(ct_outbox_retry_driver) \
	X(ct_outbox_report) \
	X(ct_outbox_requeue) \
	X(ct_outbox_reclaim) \
	X(ct_outbox_list) \
	X(ct_preclaim_held_until_lease) \
	X(ct_preclaim_claimed_after_lease) \
	X(ct_preclaim_reclaimed) \
	X(ct_preclaim_only_what_is_sent) \
	X(ct_outbox_ack_claim) \
	X(ct_idem_replay) \
	X(ct_issue_limits) \
	X(ct_idem_conflict) \
	X(ct_idem_expiry) \
	X(ct_purge) \
	X(ct_purge_idem) \
	X(ct_owner_retire) \
	X(ct_owner_verify) \
	X(ct_issue_which_limit) \
	X(ct_limit_give) \
	X(ct_limit_get) \
	X(ct_session_revoke_phone) \
	X(ct_apikeys) \
	X(ct_apikey_replace) \
	X(ct_phones_reseal) \
	X(ct_signal_hour) \
	X(ct_signal_day) \
	X(ct_signal_day_max) \
	X(ct_signal_zero) \
	X(ct_signal_set) \
	X(ct_signal_seen) \
	X(ct_signal_set_max) \
	X(ct_signal_issue) \
	X(ct_signal_verify_credit) \
	X(ct_signal_purge) \
	X(ct_blocks) \
	X(ct_abuse_read) \
	X(ct_blocks_fields) \
	X(ct_blocks_purge)

#define CONTRACT_RACES(X) \
	X(ct_race_verify) \
	X(ct_race_limit) \
	X(ct_race_processes) \
	X(ct_race_idem)
/* clang-format on */

#define CT_DECLARE(name) void name(void);
CONTRACT_CASES(CT_DECLARE)
CONTRACT_RACES(CT_DECLARE)

#endif
