/* metrics.h - otpd's counters, for the Prometheus scrape (/metrics).
 *
 * Every label comes from a closed set: an enum below, the route table's
 * names, or the SMS drivers' names, never a phone, an address or a key.
 * Counting takes no lock: each thread adds with relaxed atomics to its own
 * shard (one of OTP_METRICS_SHARDS, picked at the thread's first count), and
 * the scrape sums the shards. What is read from elsewhere at scrape time
 * (the store, the caches, /proc) is the handler's (src/handlers/metrics.c);
 * here are only the counters that the HTTP layer, the engine and the outbox
 * bump, and their text.
 *
 * Thread-safety: every function may be called from any thread at any time;
 * otp_metrics_routes is called once, before the first request.
 */
#ifndef OTP_CORE_METRICS_H
#define OTP_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OTP_METRICS_SHARDS 16
/* Distinct route names counted (past them: "unknown"), and distinct SMS
 * driver names (past them: not counted). */
#define OTP_METRICS_ROUTES  32
#define OTP_METRICS_DRIVERS 8
/* Distinct store operations timed (past them: not timed). */
#define OTP_METRICS_STORE_OPS 48

/* The two APIs of the engine (DESIGN.md 1.1, 1.2). */
#define OTP_METRICS_APIS(X) X(login) X(provider)
/* A send's outcome. */
#define OTP_METRICS_SEND_OUTCOMES(X)                                           \
	X(issued)                                                              \
	X(test)                                                                \
	X(replayed)                                                            \
	X(limited)                                                             \
	X(destination_denied)                                                  \
	X(fraud_suspected)                                                     \
	X(challenge_required)                                                  \
	X(spend_limit)                                                         \
	X(invalid_phone)                                                       \
	X(idempotency_conflict)                                                \
	X(upstream_failed)                                                     \
	X(store_unavailable)                                                   \
	X(storage_full)                                                        \
	X(outcome_unknown)                                                     \
	X(error)
/* A verification's outcome. */
#define OTP_METRICS_VERIFY_OUTCOMES(X)                                         \
	X(approved)                                                            \
	X(wrong_code)                                                          \
	X(not_found)                                                           \
	X(expired)                                                             \
	X(used)                                                                \
	X(dead)                                                                \
	X(invalid_code)                                                        \
	X(invalid_phone)                                                       \
	X(session_expired)                                                     \
	X(upstream_failed)                                                     \
	X(store_unavailable)                                                   \
	X(storage_full)                                                        \
	X(outcome_unknown)                                                     \
	X(error)
/* Which limit refused a request. */
#define OTP_METRICS_LIMITS(X) X(ip) X(key) X(phone)
/* What became of one delivery try of an SMS. */
#define OTP_METRICS_SMS_STATUSES(X)                                            \
	X(sent)                                                                \
	X(retry)                                                               \
	X(failed)                                                              \
	X(expired)

#define OTP_METRICS_ENUM_(prefix, name) prefix##name,
#define OTP_METRICS_API_(n)		OTP_METRICS_ENUM_(OTP_M_API_, n)
#define OTP_METRICS_SEND_(n)		OTP_METRICS_ENUM_(OTP_M_SEND_, n)
#define OTP_METRICS_VERIFY_(n)		OTP_METRICS_ENUM_(OTP_M_VERIFY_, n)
#define OTP_METRICS_LIMIT_(n)		OTP_METRICS_ENUM_(OTP_M_LIMIT_, n)
#define OTP_METRICS_SMS_(n)		OTP_METRICS_ENUM_(OTP_M_SMS_, n)
enum otp_m_api { OTP_METRICS_APIS(OTP_METRICS_API_) OTP_M_APIS };
enum otp_m_send { OTP_METRICS_SEND_OUTCOMES(OTP_METRICS_SEND_) OTP_M_SENDS };
enum otp_m_verify {
	OTP_METRICS_VERIFY_OUTCOMES(OTP_METRICS_VERIFY_) OTP_M_VERIFIES
};
enum otp_m_limit { OTP_METRICS_LIMITS(OTP_METRICS_LIMIT_) OTP_M_LIMITS };
enum otp_m_sms { OTP_METRICS_SMS_STATUSES(OTP_METRICS_SMS_) OTP_M_SMSS };

/* The route table's names (route index -> name; names may repeat, as for
 * GET and POST of one path: they count as one). Once, before serving. */
void otp_metrics_routes(const char *const *names, size_t n);
/* One answered request: its route's index (or -1: none matched), its
 * status, and how long it took in ns. */
void otp_metrics_http(int route, int status, int64_t ns);
/* A send ended with `rc` (0 or OTP_E*); 0 and `replayed`: a replay under
 * an idempotency key. */
void otp_metrics_send(enum otp_m_api api, int rc, bool replayed, bool test);
/* A verification ended with `rc`; for 0, `outcome` says how. */
void otp_metrics_verify(enum otp_m_api api, int rc, enum otp_m_verify outcome);
void otp_metrics_limited(enum otp_m_limit which);
/* `driver` is an SMS driver's name (static storage). */
void otp_metrics_sms(const char *driver, enum otp_m_sms status);

/* The same try, by the destination's country calling code (`e164`: the
 * number it went to; one without a known calling code is not counted).
 * Not sharded: the delivery workers are few. */
void otp_metrics_sms_country(const char *e164, enum otp_m_sms status);

/* A message was accepted by its gateway (OTP_M_ACCEPTED), or reported
 * delivered (OTP_M_DELIVERED), `ms` after it was queued: a stage of
 * otpd_sms_delivery_seconds. Not sharded either. */
enum otp_m_stage { OTP_M_ACCEPTED, OTP_M_DELIVERED, OTP_M_STAGES };
void otp_metrics_sms_stage(enum otp_m_stage stage, int64_t ms);

/* The store's operation names (op index -> name), once, before the first
 * otp_metrics_store_op. */
void otp_metrics_store_ops(const char *const *names, size_t n);
/* One store operation, by its index, took ns. */
void otp_metrics_store_op(int op, int64_t ns);

/* The sends and verifications so far, both APIs together: each(arg,
 * "sends" or "verifications", outcome, count) for every outcome (otpctl
 * stats, through the running otpd). */
typedef void otp_metrics_each_fn(void *arg, const char *family,
				 const char *outcome, uint64_t n);
void otp_metrics_outcomes(otp_metrics_each_fn *each, void *arg);

/* Writes every counter family above in the text format 0.0.4. */
void otp_metrics_write(FILE *f);

#endif
