/* store_faults.h - a store decorator that fails chosen operations, for tests.
 *
 * A plan (struct otp_store_faults) is a list of rules parsed from a spec; a
 * faulty handle (otp_store_faults_wrap) wraps any backend handle and, on each
 * call, asks the plan whether this call fails. A failed call returns the
 * rule's error either before the backend ran it (nothing happened) or after
 * (the backend ran it and its answer is lost). Calls are counted per rule
 * across every handle of the plan, that is, per process in otpd.
 *
 * The spec, also the value of OTPD_TEST_FAULTS (main.c; docs/TESTING.md):
 *
 *   RULE[,RULE]...            at most 8 rules, each checked on every call
 *   RULE = OP:WHEN:ERROR[:N]
 *   OP    = an operation of OTP_STORE_OPS (store.h): code_issue,
 *           code_verify, outbox_claim, ... or * for any operation
 *   WHEN  = before | after
 *   ERROR = an otpd error without its OTP_E, any case: unavail, internal,
 *           notfound, conflict, gone, limited, ... (core/err.h)
 *   N     = absent: every call of OP fails; 1 or more: only the N-th call
 *           of OP (the N-th store call overall when OP is *)
 *
 * e.g. "code_issue:before:unavail", "code_verify:after:internal:3",
 * "*:before:unavail:40". outbox_claim:after is refused: its answer owns
 * memory (the claimed bodies) that only the caller knows how to drop.
 *
 * Never part of a production set-up: otpd enables it only from the
 * environment, says so loudly at start-up, and --help does not mention it.
 * Thread-safety: a plan is thread-safe (atomic counters); each faulty handle,
 * like any handle, is used by one thread at a time.
 */
#ifndef OTP_STORE_STORE_FAULTS_H
#define OTP_STORE_STORE_FAULTS_H

#include <stddef.h>

#include "store/store.h"

struct otp_store_faults;

/* Parses spec into a new plan: 0, or OTP_ETYPE with why not in err. */
int otp_store_faults_new(const char *spec, struct otp_store_faults **out,
			 char *err, size_t errlen);
/* The plan must outlive every handle made with it. NULL is fine. */
void otp_store_faults_free(struct otp_store_faults *f);

/* A handle that runs `inner` under plan f; ownership of inner moves to it
 * (otp_store_close closes both). It reports inner's name, scheme, version and
 * caps. */
struct otp_store *otp_store_faults_wrap(struct otp_store *inner,
					struct otp_store_faults *f);

/* How many calls the plan has failed so far. */
long otp_store_faults_fired(const struct otp_store_faults *f);

#endif
