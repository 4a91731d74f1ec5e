/* store.h - the store interface: otpd's state as atomic domain operations.
 *
 * A backend (src/store/<backend>/, registered in store.c) fills a struct
 * otp_store_ops, whose operations come from the one list OTP_STORE_OPS
 * below; decorators (store_cache.h, store_faults.h) wrap any handle. Each
 * operation is atomic in its backend (one SQLite
 * transaction, one Redis script): no caller ever sees half of one. Time is
 * always passed in as `now` (ms since the epoch); no backend reads a clock.
 *
 * Threads: a handle is used by one thread at a time. Open one per thread.
 * Errors: 0, or OTP_ENOTFOUND (OTP_ECONFLICT, OTP_EGONE) where said,
 * OTP_EUNAVAIL when the backend cannot be reached or is busy beyond its
 * timeout, OTP_EINTERNAL otherwise (a file that cannot be opened included).
 * Secrets: the store never sees a code or a token, only MACs and hashes; an
 * outbox body is an opaque sealed blob made by the engine.
 */
#ifndef OTP_STORE_STORE_H
#define OTP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/gcra.h"
#include "core/phone.h"

#define OTP_ID_LEN	   32 /* request id: 32 lowercase hex characters */
#define OTP_MAC_LEN	   32 /* keyed MAC of a code */
#define OTP_HASH_LEN	   32 /* keyed hash of a session token */
#define OTP_LIMIT_KEY_MAX  96
#define OTP_ERROR_TEXT_MAX 256
#define OTP_PENDING_MAX	   65 /* a local id, or an upstream provider's id */
#define OTP_KEY_ID_LEN	   16 /* API key id: 16 lowercase hex characters */
#define OTP_KEY_NAME_MAX   65
/* Who a code belongs to: "k:<API key id>" (provider API) or "s:<32 hex of
 * the login session's token hash>" (login API); "" on a row older than
 * owners (any owner matches it). */
#define OTP_OWNER_MAX 40
/* What a store keeps of a phone: the engine's seal of it (engine/crypto.h,
 * "~" and 47 characters), or, in a row older than seals, the E.164 text.
 * Backends never read it: they store, return and compare it as it is. */
#define OTP_SEALED_PHONE_MAX 52

/* -- signals: what the abuse rules count (src/abuse/) ---------------------
 * A signal key ("r:US", "p:+1415", "ip:192.0.2.1", "$:US", ...; the store
 * never reads it) has two counters, each kept in hour buckets for 25 hours
 * and in UTC-day buckets for 15 days, and optionally a set of short members
 * seen in the last 48 hours (the regions an IP sent to). */
#define OTP_SIGNAL_KEY_MAX    56
#define OTP_SIGNAL_MEMBER_MAX 8
#define OTP_SIGNAL_SET_MAX    64 /* members a set keeps; more are not added */
#define OTP_CREDIT_MAX	      192
enum otp_signal_counter {
	OTP_SIG_SENT,	  /* codes sent (or, on a "$:" key, their cost) */
	OTP_SIG_VERIFIED, /* codes accepted */
	OTP_SIG_COUNTERS
};

/* Adds to one key at `now`: n[] to its counters' current hour and day
 * buckets; if member is not "", that member is seen now in its set. */
struct otp_signal_add {
	char key[OTP_SIGNAL_KEY_MAX];
	int64_t n[OTP_SIG_COUNTERS];
	char member[OTP_SIGNAL_MEMBER_MAX];
};

/* One counter of one key as signal_read sees it at `now`. */
struct otp_signal_window {
	/* the last 60 minutes: the current hour bucket, plus the previous
	 * one's count times the part of it still inside the hour (integer,
	 * rounded down) */
	int64_t hour;
	int64_t day;	 /* the current hour bucket and the 23 before it */
	int64_t day_max; /* the largest of the 14 UTC days before today */
};

struct otp_signal {
	struct otp_signal_window w[OTP_SIG_COUNTERS];
	int64_t distinct;     /* members of its set seen in the last 48 h */
	int64_t distinct_day; /* those seen in the last 24 h */
	int64_t seen;	      /* 1 if the member asked for is one of those */
};

/* A block or an allow entry of the abuse rules, by scope key (the
 * signal keys' forms: "p:+1415", "r:NG", "ip:192.0.2.1", "n:...",
 * "k:<key id>", or a whole number by its keyed tag "e:<tag>"). */
#define OTP_BLOCK_RULE_MAX 32
/* X(NAME, stable name) */
#define OTP_BLOCK_KIND_LIST(X)	    X(DENY, "deny") X(ALLOW, "allow")
#define OTP_BLOCK_KIND_(name, text) OTP_BLOCK_##name,
enum otp_block_kind { OTP_BLOCK_KIND_LIST(OTP_BLOCK_KIND_) };
#undef OTP_BLOCK_KIND_
#define OTP_BLOCK_KINDS 2
struct otp_block {
	char key[OTP_SIGNAL_KEY_MAX];
	enum otp_block_kind kind;
	int64_t created_ms;
	int64_t until_ms; /* in force while now < until_ms; 0: no end */
	int strikes;	  /* times this key was blocked (its TTL grows) */
	char rule[OTP_BLOCK_RULE_MAX]; /* the rule that set it, or "otpctl" */
};
/* What abuse_read reads: signal_read's keys and members (members NULL
 * for none), block_find's keys, at now. */
struct otp_abuse_read {
	const char *const *keys;
	const char *const *members;
	size_t n;
	const char *const *block_keys;
	size_t nblock;
	int64_t now;
};
/* The kinds' stable names ("deny", "allow"): what the backends store.
 * Block keys, like signal keys, are stored as they are (the sealing
 * decorator forwards them): a whole number's row names it by its keyed
 * tag, "e:<tag>", made by the engine. */
extern const char *const otp_block_kind_names[OTP_BLOCK_KINDS];

/* A new code, as the engine made it. */
struct otp_code_new {
	char id[OTP_ID_LEN + 1];
	char phone[OTP_SEALED_PHONE_MAX]; /* E.164 (sealed in the store) */
	unsigned char mac[OTP_MAC_LEN];	  /* MAC(secret, id, code) */
	int attempts;			  /* wrong tries allowed */
	int64_t expires_ms;
	char owner[OTP_OWNER_MAX]; /* see OTP_OWNER_MAX */
	/* The signal keys (below) to credit one OTP_SIG_VERIFIED when this
	 * code is accepted, space-separated ("" for none), e.g. "r:US
	 * p:+1415 ip:192.0.2.1 n:192.0.2.0/24": kept with the code and
	 * added in code_verify's own step. */
	char credit[OTP_CREDIT_MAX];
};

/* Binds a code to a login session (the login API's cookie). */
struct otp_session_bind {
	unsigned char hash[OTP_HASH_LEN]; /* hash of the cookie's token */
	int64_t expires_ms; /* the session row lives at least this long */
};

/* Scope + hash, e.g. "k:<key id>:<64 hex>" (83 characters), NUL included. */
#define OTP_IDEM_KEY_MAX 96

/* An idempotency key: the first issue under it wins; later issues under it
 * replay the first one's answer (same phone) or conflict (other phone). */
struct otp_idem {
	char key[OTP_IDEM_KEY_MAX];
	int64_t expires_ms; /* live while now < expires_ms (24 h after the
			       first use) */
};

/* Everything one send commits, atomically. */
struct otp_issue {
	struct otp_code_new code;
	/* The sealed message, body_len bytes; NULL for a test number's code
	 * (core/testnums.h): its message is recorded as sent, with the error
	 * "test number: not sent", and never queued. */
	const unsigned char *body;
	size_t body_len;
	const struct otp_session_bind *bind; /* optional */
	const struct otp_idem *idem;	     /* optional */
	/* Limits to take one token from, all or none, after the idempotency
	 * check (a replay takes none) and before anything is written;
	 * refused: OTP_ELIMITED with out->retry_ms, nothing written. */
	const struct otp_limit *limits;
	size_t nlimits;
	/* Signals to add at `now` in the same step, when the issue writes
	 * (not on a replay, nor when a limit refused). */
	const struct otp_signal_add *signals;
	size_t nsignals;
	/* > 0 (and a body): the message is written already claimed by the
	 * caller, as outbox_claim at `now` for lease_ms would leave it
	 * (sending, attempts 1: the lease token), so that the caller hands it
	 * to a delivery worker in memory and no claim is written; out->msg_id
	 * names it. 0: queued, due now. */
	int64_t lease_ms;
};

struct otp_issue_out {
	bool replayed; /* the idempotency key was known: nothing was written */
	char id[OTP_ID_LEN + 1]; /* the request id answered (new or first) */
	int64_t expires_ms;
	int64_t retry_ms; /* OTP_ELIMITED: the longest wait among refusals */
	int limit;	  /* OTP_ELIMITED: the index of that refusal */
	/* The message's id when in->lease_ms wrote it claimed (its lease
	 * token is 1), else 0. */
	int64_t msg_id;
};

/* X(NAME, stable name). DEAD: out of attempts; RETIRED: a newer send of
 * the same owner to the same phone replaced it. */
#define OTP_CODE_STATE_LIST(X)                                                 \
	X(PENDING, "pending")                                                  \
	X(USED, "used")                                                        \
	X(DEAD, "dead")                                                        \
	X(RETIRED, "retired")
#define OTP_CODE_STATE_(name, text) OTP_CODE_##name,
enum otp_code_state { OTP_CODE_STATE_LIST(OTP_CODE_STATE_) };
#undef OTP_CODE_STATE_
#define OTP_CODE_STATES 4

/* One try of a code. */
struct otp_verify_in {
	char id[OTP_ID_LEN + 1];
	unsigned char mac[OTP_MAC_LEN]; /* MAC of the code tried */
	/* During a rotation of the secret: the MAC under the previous one,
	 * accepted too (one attempt all the same). */
	bool has_mac_prev;
	unsigned char mac_prev[OTP_MAC_LEN];
	/* If not "", the phone the caller expects the code to have gone to: a
	 * code of another phone counts the attempt and is not accepted. */
	char expect_phone[OTP_SEALED_PHONE_MAX];
	/* If not "", the owner the caller speaks for: a code of another owner
	 * (a stored "" matches any) is OTP_VERIFY_NOTFOUND, nothing counted. */
	char expect_owner[OTP_OWNER_MAX];
	/* Optional: on success, replace session `old_hash` by a new,
	 * authenticated session `new_hash` for the code's phone. */
	bool rotate;
	unsigned char old_hash[OTP_HASH_LEN];
	unsigned char new_hash[OTP_HASH_LEN];
	int64_t session_expires_ms;
	/* With rotate, on a backend with OTP_STORE_CAP_VERIFY_SESSION: the
	 * code tried is the pending code of session old_hash, read in the
	 * same step (id, mac and mac_prev are not read): OTP_ENOTFOUND if
	 * old_hash is not a live session at now, OTP_EGONE if it has no
	 * pending code; then nothing changes. The MACs are over the id, so
	 * the backend asks macs(macs_arg, id, mac, mac_prev) for them once it
	 * has read it (mac_prev only if has_mac_prev), inside the step, and
	 * wipes them after use: it still sees no code. */
	bool by_session;
	void (*macs)(const void *arg, const char *id,
		     unsigned char mac[OTP_MAC_LEN],
		     unsigned char mac_prev[OTP_MAC_LEN]);
	const void *macs_arg;
};

enum otp_verify_result {
	OTP_VERIFY_OK,	     /* right code: now used */
	OTP_VERIFY_WRONG,    /* wrong code: attempts_left says what is left */
	OTP_VERIFY_NOTFOUND, /* no such request id */
	OTP_VERIFY_EXPIRED,  /* its TTL has passed */
	OTP_VERIFY_USED,     /* already accepted once */
	OTP_VERIFY_DEAD,     /* out of attempts, or retired by a newer send */
};

struct otp_verify_out {
	enum otp_verify_result result;
	int attempts_left;
	char phone[OTP_SEALED_PHONE_MAX];
};

/* X(NAME, stable name). SENDING: claimed by a worker, lease running;
 * SENT: handed to the gateway; DELIVERED, UNDELIVERED: what the gateway's
 * delivery report said; FAILED: a dead letter (a permanent error or out of
 * attempts); EXPIRED: its code expired before it could be sent. */
#define OTP_MSG_STATE_LIST(X)                                                  \
	X(QUEUED, "queued")                                                    \
	X(SENDING, "sending")                                                  \
	X(SENT, "sent")                                                        \
	X(DELIVERED, "delivered")                                              \
	X(UNDELIVERED, "undelivered")                                          \
	X(FAILED, "failed")                                                    \
	X(EXPIRED, "expired")
#define OTP_MSG_STATE_(name, text) OTP_MSG_##name,
enum otp_msg_state { OTP_MSG_STATE_LIST(OTP_MSG_STATE_) };
#undef OTP_MSG_STATE_
#define OTP_MSG_STATES 7

/* The states' stable names, from the lists: what the backends store and
 * otpctl shows. */
extern const char *const otp_code_state_names[OTP_CODE_STATES];
extern const char *const otp_msg_state_names[OTP_MSG_STATES];

/* What a request id's status shows (never the code or its MAC). */
struct otp_code_info {
	char phone[OTP_SEALED_PHONE_MAX];
	enum otp_code_state state;
	int attempts_left;
	int64_t created_ms;
	int64_t expires_ms;
	enum otp_msg_state msg_state; /* of its message */
	char owner[OTP_OWNER_MAX];    /* "" on a row older than owners */
};

/* A server-side login session. */
struct otp_session {
	char phone[OTP_SEALED_PHONE_MAX]; /* "" until authenticated */
	int64_t authenticated_ms;	  /* 0 until authenticated */
	int64_t expires_ms;
	char pending_id[OTP_PENDING_MAX]; /* code bound to it, "" if none */
	char pending_phone[OTP_SEALED_PHONE_MAX]; /* where that code went, or ""
						   */
	int sends; /* sends counted on this session (session_bind) */
};

/* One rate limit to take a token from. */
struct otp_limit {
	char key[OTP_LIMIT_KEY_MAX]; /* e.g. "ph:+14155550100" */
	struct otp_gcra rate;
};

/* An outbox message claimed for delivery. */
struct otp_msg {
	int64_t id;
	char request_id[OTP_ID_LEN + 1];
	char to[OTP_SEALED_PHONE_MAX];
	unsigned char *body; /* sealed; malloc'd, freed by otp_msg_deinit */
	size_t body_len;
	int attempts; /* delivery attempts so far, this one included; also the
			 claim's lease token for ack/retry/fail */
	int driver;   /* index of the SMS driver to use (failover order) */
	int64_t expires_ms;
	int64_t created_ms; /* when it was queued; 0: not known (a Redis
			       message queued by an otpd older than this) */
};

/* One ack of outbox_ack_claim: a message id and its claim's lease token
 * in, its answer out (0, or OTP_ENOTFOUND as outbox_ack answers). */
struct otp_ack {
	int64_t id;
	int lease;
	int rc;
};

/* A message as otpctl lists it (no body). */
struct otp_msg_info {
	int64_t id;
	char request_id[OTP_ID_LEN + 1];
	char to[OTP_SEALED_PHONE_MAX];
	enum otp_msg_state state;
	int attempts;
	int driver;
	int64_t next_ms, expires_ms, updated_ms;
	char last_error[OTP_ERROR_TEXT_MAX];
};

/* An API key of the provider API. The key itself is shown once, never
 * stored: only its hash. */
struct otp_apikey {
	char id[OTP_KEY_ID_LEN + 1];
	char name[OTP_KEY_NAME_MAX];
	unsigned char hash[OTP_HASH_LEN];
	int64_t created_ms;
	int64_t revoked_ms; /* 0 while valid */
};

struct otp_store;
struct otp_store_tracker;
struct otp_session_cache; /* store_cache.h */

/* The store operations, one X(op, params, args) row each: its name, its
 * parameter list and the argument list that passes them on. Every one returns
 * 0 or a negative OTP_E* (see the top of this file). From this list come the
 * members of struct otp_store_ops, the otp_store_<op>() wrappers below, and the
 * decorators' forwarders (store_cache.c, store_faults.c). The contracts:
 *
 * ping: 0 if the backend answers.
 *
 * code_issue: one send, atomically: if in->idem names a live key (used before
 * and not expired at `now`), nothing is written (in->bind neither) and *out
 * replays the first answer (out->replayed, its id and its code's expires_ms),
 * or OTP_ECONFLICT if that first send went to another phone. Otherwise:
 * retires every pending code of the phone with the same owner (other
 * owners' codes stay pending), inserts the code and its outbox
 * message (queued, driver 0; or, with in->lease_ms, claimed as said there:
 * no claim takes it before now + lease_ms, any claim after), records the
 * idempotency key (an expired one is
 * replaced), and, if in->bind is given, creates or updates that session so its
 * pending code is this one (pending_phone = the phone; an expired session row
 * is reset to unauthenticated first). Two concurrent issues under one key:
 * exactly one writes, the other replays (or conflicts).
 *
 * code_get: status of a request id (any state, until purged), or
 * OTP_ENOTFOUND.
 *
 * code_verify: compares, counts and consumes in one step (see otp_verify_in).
 * Returns 0 with the outcome in `out`; with by_session, OTP_ENOTFOUND or
 * OTP_EGONE when the session has no code to try (nothing changes).
 *
 * limit_take: takes one token from each of the n limits, or from none: returns
 * 0, or OTP_ELIMITED with *retry_ms the longest wait among refusals.
 * (code_issue says which one refused: out->limit.)
 *
 * limit_give: gives back one token to each of the n limits (a token taken
 * for a send that then did not happen): each one's arrival time moves back
 * by its interval; a key with no state stays without. Always 0 but for
 * backend errors.
 *
 * limit_get: the stored theoretical arrival time of one limit key into
 * *tat, without taking: OTP_ENOTFOUND if it has no state or its TAT is not
 * after now (a full bucket). For reading a limit's state (otpctl).
 *
 * session_get: live (unexpired) session by token hash, or OTP_ENOTFOUND.
 *
 * session_bind: creates the session if absent (or expired: reset), or updates
 * it: lives at least until b->expires_ms; if pending_id is not NULL the pending
 * code becomes (pending_id, pending_phone; NULL reads ""); if count_send, sends
 * goes up by one (code_issue never counts). Used where no local code exists
 * (upstream mode).
 *
 * session_rotate: replaces session old_hash by an authenticated session
 * new_hash for phone (authenticated = now, no pending code, sends 0),
 * atomically. OTP_ENOTFOUND if old_hash is not a live session: nothing
 * changes.
 *
 * session_delete: removes a session; 0 even if there was none.
 *
 * session_revoke_phone: removes every session, live or expired, whose
 * (logged-in) phone is `phone`, compared as stored; *n gets how many. A
 * session with only a pending code to that phone stays; "" removes
 * nothing. What otpctl's "session revoke --phone" runs (log a user out
 * everywhere); a backend without an index by phone may scan.
 *
 * apikey_*: API keys. put: OTP_ECONFLICT if the id exists (nothing changes).
 * get: by id, revoked or not (the caller checks revoked_ms), or OTP_ENOTFOUND.
 * list: up to max keys, revoked ones included, oldest first (by created_ms,
 * then id). revoke: sets revoked_ms to now (a key revoked already keeps its
 * first time); OTP_ENOTFOUND if unknown.
 * replace: in one step, the key old_id is gone and k is there (if k's id
 * is taken, that row stays as it is): how the engine moves a key to a new
 * hash. OTP_ENOTFOUND if old_id is not there (nothing changes).
 *
 * outbox_claim: claims up to max messages due at `now` (queued with next
 * attempt due, or sending with an expired lease), oldest first, for lease_ms;
 * each claim adds one to attempts, which is also the claim's lease token.
 * Messages past their expires_ms are returned too: the caller marks them
 * expired. *n says how many. Delivery is at least once.
 *
 * outbox_ack, outbox_retry, outbox_fail act only on a message still claimed
 * under `lease` (its attempts): otherwise OTP_ENOTFOUND and nothing changes,
 * so a worker whose lease ran out cannot undo a newer claim.
 * ack: marks it sent and wipes its body.
 *
 * outbox_ack_claim: in one step (one transaction, one script), acks each of
 * the n acks as outbox_ack would (acks[i].rc gets its answer: 0, or
 * OTP_ENOTFOUND with nothing changed for that one), then claims up to max
 * messages as outbox_claim would (max 0: none; *nout says how many). So a
 * delivery worker's acks ride together, and with its next claim. Returns 0
 * or a backend error (then, but for OTP_EOUTCOME, nothing was done).
 * retry: back in the queue for another try at next_ms, with that driver.
 * fail: dead letter. OTP_MSG_FAILED keeps the sealed body (so otpctl can
 * requeue it while its code lives), OTP_MSG_EXPIRED wipes it; any other state
 * is OTP_EINTERNAL.
 *
 * outbox_report: a delivery report: SENT (or DELIVERED/UNDELIVERED already)
 * becomes DELIVERED or UNDELIVERED (another state asked for: OTP_EINTERNAL).
 * OTP_ENOTFOUND for an unknown id; OTP_EGONE, and no change, for a message in
 * any other state (e.g. a report that overtook the ack: the caller may have
 * the gateway send it again later).
 *
 * outbox_requeue: puts a FAILED message with its body back in the queue
 * (driver 0, due now). Its attempts stay: they are the lease token and only
 * grow. OTP_ENOTFOUND if unknown, OTP_EGONE if not FAILED or bodiless.
 *
 * outbox_reclaim: ends the lease of every claimed ('sending') message at
 * `now`, so that the next claim takes it at once; *n says how many. For
 * start-up in a store with OTP_STORE_CAP_ONE_PROCESS, whose lock the
 * process holds: any claim there is an orphan of a process that died. A
 * shared store leaves other processes' live claims alone: 0, *n = 0.
 *
 * outbox_list: up to max messages, newest first; state < 0 means any state
 * (above OTP_MSG_EXPIRED: OTP_EINTERNAL).
 *
 * outbox_state: state of the message of a request id (one per id), or
 * OTP_ENOTFOUND.
 *
 * purge: deletes what has expired: codes and messages a day after their
 * expiry, idempotency keys, sessions and limits at once. *removed gets the
 * number of rows (a backend that expires keys by itself may say 0).
 *
 * signal_add: adds each of the n adds at `now` (struct otp_signal_add), all
 * in one step. A set already holding OTP_SIGNAL_SET_MAX live members takes
 * no new one (a member it holds is seen again).
 *
 * signal_read: the windows of n keys at `now` into out[0..n-1] (a key never
 * added reads all zero); with members (else NULL), out[i].seen says whether
 * members[i] (not "") is among those members of key i.
 *
 * block_put: writes b, replacing the row of its key if there is one.
 * block_find: the rows (live or not; the caller reads until_ms) of the n
 * keys, into out (room for n); *nout says how many were found.
 * abuse_read: what a send's rules read, in one call (one round trip on
 * Redis): signal_read of q's n keys and members into sig[0..n-1], then
 * block_find of its nblock block keys into blocks (room for nblock),
 * *nblocks how many were found; each as that operation answers, not one
 * snapshot of both, except that SQLite may count adds of its open batch
 * before their COMMIT (it reads on its writer when that is free; a COMMIT
 * that fails takes them back). On an error, sig is zeroed and *nblocks
 * is 0.
 * block_list: up to max rows, any state, newest first; *n says how many.
 * block_delete: removes the row of key; OTP_ENOTFOUND if there was none.
 *
 * code_verify credits its code's `credit` keys (OTP_SIG_VERIFIED += 1 at
 * `now`) in the same step as an accepted try (OTP_VERIFY_OK), never
 * otherwise. purge also removes signal buckets and set members older than
 * their windows, and block rows ended more than 30 days before `now`.
 *
 * phones_reseal: rewrites every stored phone (codes, sessions' phone and
 * pending phone, outbox messages, idempotency keys; an index a backend
 * keeps by phone moves with it) that is not "" and does not start with
 * `mark`, to what fn(arg, stored, out) puts in out; fn returns 0, or an
 * error that ends the operation with it. When every phone is done the
 * backend records `mark`: a later call with the same mark returns at once.
 * *n gets the number of phones rewritten. What the engine runs at start-up
 * to seal an older store's phones, or to move them to a new secret.
 */
typedef int otp_reseal_fn(void *arg, const char *stored,
			  char out[OTP_SEALED_PHONE_MAX]);
/* clang-format off */
#define OTP_STORE_OPS(X)                                                       \
	X(ping, (struct otp_store *s), (s))                                    \
	X(code_issue, (struct otp_store *s, const struct otp_issue *in,        \
		       int64_t now, struct otp_issue_out *out),                \
	  (s, in, now, out))                                                   \
	X(code_get, (struct otp_store *s, const char *id,                      \
		     struct otp_code_info *out),                               \
	  (s, id, out))                                                        \
	X(code_verify, (struct otp_store *s, const struct otp_verify_in *in,   \
			int64_t now, struct otp_verify_out *out),              \
	  (s, in, now, out))                                                   \
	X(limit_take, (struct otp_store *s, const struct otp_limit *lims,      \
		       size_t n, int64_t now, int64_t *retry_ms),              \
	  (s, lims, n, now, retry_ms))                                         \
	X(limit_give, (struct otp_store *s, const struct otp_limit *lims,      \
		       size_t n, int64_t now),                                 \
	  (s, lims, n, now))                                                   \
	X(limit_get, (struct otp_store *s, const char *key, int64_t now,       \
		      int64_t *tat),                                           \
	  (s, key, now, tat))                                                  \
	X(session_get, (struct otp_store *s,                                   \
			const unsigned char hash[OTP_HASH_LEN], int64_t now,   \
			struct otp_session *out),                              \
	  (s, hash, now, out))                                                 \
	X(session_bind, (struct otp_store *s, const struct otp_session_bind *b, \
			 const char *pending_id, const char *pending_phone,    \
			 bool count_send, int64_t now),                        \
	  (s, b, pending_id, pending_phone, count_send, now))                  \
	X(session_rotate, (struct otp_store *s,                                \
			   const unsigned char old_hash[OTP_HASH_LEN],         \
			   const unsigned char new_hash[OTP_HASH_LEN],         \
			   const char *phone, int64_t expires_ms, int64_t now), \
	  (s, old_hash, new_hash, phone, expires_ms, now))                     \
	X(session_delete, (struct otp_store *s,                                \
			   const unsigned char hash[OTP_HASH_LEN]),            \
	  (s, hash))                                                           \
	X(session_revoke_phone, (struct otp_store *s, const char *phone,       \
				 long *n),                                     \
	  (s, phone, n))                                                       \
	X(apikey_put, (struct otp_store *s, const struct otp_apikey *k), (s, k)) \
	X(apikey_get, (struct otp_store *s, const char *id,                    \
		       struct otp_apikey *out),                                \
	  (s, id, out))                                                        \
	X(apikey_list, (struct otp_store *s, struct otp_apikey *out,           \
			size_t max, size_t *n),                                \
	  (s, out, max, n))                                                    \
	X(apikey_revoke, (struct otp_store *s, const char *id, int64_t now),   \
	  (s, id, now))                                                        \
	X(apikey_replace, (struct otp_store *s, const char *old_id,            \
			   const struct otp_apikey *k),                        \
	  (s, old_id, k))                                                      \
	X(outbox_claim, (struct otp_store *s, int64_t now, int64_t lease_ms,   \
			 struct otp_msg *out, size_t max, size_t *n),          \
	  (s, now, lease_ms, out, max, n))                                     \
	X(outbox_ack, (struct otp_store *s, int64_t id, int lease,             \
		       int64_t now),                                           \
	  (s, id, lease, now))                                                 \
	X(outbox_ack_claim, (struct otp_store *s, struct otp_ack *acks,        \
			     size_t n, int64_t now, int64_t lease_ms,          \
			     struct otp_msg *out, size_t max, size_t *nout),   \
	  (s, acks, n, now, lease_ms, out, max, nout))                         \
	X(outbox_retry, (struct otp_store *s, int64_t id, int lease,           \
			 int64_t next_ms, int driver, const char *error,       \
			 int64_t now),                                         \
	  (s, id, lease, next_ms, driver, error, now))                         \
	X(outbox_fail, (struct otp_store *s, int64_t id, int lease,            \
			enum otp_msg_state state, const char *error,           \
			int64_t now),                                          \
	  (s, id, lease, state, error, now))                                   \
	X(outbox_report, (struct otp_store *s, int64_t id,                     \
			  enum otp_msg_state state, int64_t now),              \
	  (s, id, state, now))                                                 \
	X(outbox_requeue, (struct otp_store *s, int64_t id, int64_t now),      \
	  (s, id, now))                                                        \
	X(outbox_reclaim, (struct otp_store *s, int64_t now, long *n),         \
	  (s, now, n))                                                         \
	X(outbox_list, (struct otp_store *s, int state,                        \
			struct otp_msg_info *out, size_t max, size_t *n),      \
	  (s, state, out, max, n))                                             \
	X(outbox_state, (struct otp_store *s, const char *request_id,          \
			 enum otp_msg_state *state),                           \
	  (s, request_id, state))                                              \
	X(purge, (struct otp_store *s, int64_t now, long *removed),            \
	  (s, now, removed))                                                   \
	X(phones_reseal, (struct otp_store *s, const char *mark,               \
			  otp_reseal_fn *fn, void *arg, long *n),              \
	  (s, mark, fn, arg, n))                                               \
	X(signal_add, (struct otp_store *s, const struct otp_signal_add *adds,  \
		       size_t n, int64_t now),                                 \
	  (s, adds, n, now))                                                   \
	X(signal_read, (struct otp_store *s, const char *const *keys,          \
			const char *const *members, size_t n, int64_t now,     \
			struct otp_signal *out),                               \
	  (s, keys, members, n, now, out))                                     \
	X(block_put, (struct otp_store *s, const struct otp_block *b), (s, b)) \
	X(block_find, (struct otp_store *s, const char *const *keys, size_t n, \
		       struct otp_block *out, size_t *nout),                   \
	  (s, keys, n, out, nout))                                             \
	X(abuse_read, (struct otp_store *s, const struct otp_abuse_read *q,    \
		       struct otp_signal *sig, struct otp_block *blocks,       \
		       size_t *nblocks),                                       \
	  (s, q, sig, blocks, nblocks))                                        \
	X(block_list, (struct otp_store *s, struct otp_block *out, size_t max, \
		       size_t *n),                                             \
	  (s, out, max, n))                                                    \
	X(block_delete, (struct otp_store *s, const char *key), (s, key))
/* clang-format on */

/* caps: nothing outside this process writes the backend's sessions (one
 * process by design, like an SQLite file), so this process may cache them
 * (store_cache.h). A store that several processes share must not set it;
 * such a store also needs the same secret in every process, so otpd wants
 * one configured (OTPD_SECRET or --secret-file) instead of making one up. */
#define OTP_STORE_CAP_ONE_PROCESS (1u << 0)

/* caps: the URL's argument is the path of the store's one file (SQLite's
 * database): otpd's files that belong to it go beside it
 * (otp_store_beside). */
#define OTP_STORE_CAP_FILE (1u << 1)

/* caps: code_verify takes otp_verify_in.by_session: a login's try names
 * its session, whose pending code the backend reads in the verify's own
 * step (SQLite: on the writer's connection, whose page cache its commits
 * keep). Without it the engine reads the session first (session_get). */
#define OTP_STORE_CAP_VERIFY_SESSION (1u << 2)

/* caps: called on a fiber (core/fiber.h), the backend's operations wait by
 * parking it, never by sleeping its thread for long (SQLite: a COMMIT's
 * wait is a park, its mutex is held only while statements run; Redis: a
 * round trip's wait on the shared connection is a park). Requests
 * that wait on such a store may run as fibers (http.h's cfg.fibers), and
 * the store handle they use is their fiber's own. */
#define OTP_STORE_CAP_FIBERS (1u << 3)

struct otp_store_ops {
	const char *name;   /* "sqlite" */
	const char *scheme; /* URL prefix it answers to: "sqlite:" */
	const char *form;   /* the URL's shape, for --help: "sqlite:PATH" */
	int version;
	unsigned caps; /* OTP_STORE_CAP_* */

	/* The shape of a URL (`arg`: after the scheme), without opening
	 * anything: 0, or OTP_ETYPE with why not in err (e.g. "sqlite:PATH
	 * needs a PATH"). NULL: any. */
	int (*check)(const char *arg, char *err, size_t errlen);
	/* Optional: the directory for otpd's local files (the default secret
	 * file) that this URL implies, into dir; 0 or OTP_ETYPE. NULL: the
	 * caller's default. */
	int (*home)(const char *arg, char *dir, size_t cap);
	/* `arg` is the URL after the scheme. */
	int (*open)(const char *arg, struct otp_store **out);
	/* Optional (NULL: nothing to do): makes this process the store's one
	 * server, for a backend with OTP_STORE_CAP_ONE_PROCESS. Held until the
	 * process exits; OTP_EBUSY with a reason in err if another process
	 * holds it. Only otpd calls it (otpctl runs beside it). */
	int (*lock)(const char *arg, char *err, size_t errlen);
	void (*close)(struct otp_store *s);
	/* Optional (NULL: the backend has no copy of its own to offer): a
	 * consistent copy of the whole store into the new file `dest`, made
	 * private (0600), while other handles read and write: 0, or an error
	 * with a reason in err. */
	int (*backup)(const char *arg, const char *dest, char *err,
		      size_t errlen);

	/* Optional (NULL: this backend cannot): for a store that other
	 * processes share (no OTP_STORE_CAP_ONE_PROCESS), keeps the session
	 * cache `c` of this process (store_cache.h) coherent with every
	 * process's writes, on a thread of its own, until its tracker is
	 * stopped (otp_store_track_stop): it suspends `c` at once, resumes it
	 * once it is sure to hear of every change, drops the rows that
	 * change, suspends it again whenever it may miss one, and sets the
	 * rows' maximum age. 0, or an error (a malformed URL: then `c` is
	 * untouched). Connects in the background: never fails for a server
	 * that is down. */
	int (*track)(const char *arg, struct otp_session_cache *c,
		     struct otp_store_tracker **out);

#define OTP_STORE_OP_MEMBER_(op, params, args) int(*op) params;
	OTP_STORE_OPS(OTP_STORE_OP_MEMBER_)
#undef OTP_STORE_OP_MEMBER_
};

struct otp_store {
	const struct otp_store_ops *ops;
};

/* What a backend's track starts: stop ends its thread, leaves the cache
 * suspended and frees it. */
struct otp_store_tracker {
	void (*stop)(struct otp_store_tracker *t);
};

/* The backends' URL checks, for their ops (src/store/<backend>/check.c). */
int otp_store_sqlite_check(const char *arg, char *err, size_t errlen);
int otp_store_sqlite_home(const char *arg, char *dir, size_t cap);
int otp_store_sqlite_lock(const char *arg, char *err, size_t errlen);
int otp_store_sqlite_backup(const char *arg, const char *dest, char *err,
			    size_t errlen);
int otp_store_redis_check(const char *arg, char *err, size_t errlen);
int otp_redis_track(const char *arg, struct otp_session_cache *c,
		    struct otp_store_tracker **out);

/* Starts the tracker of `url`'s backend for the session cache c (ops->track):
 * 0, or OTP_ETYPE for a backend without one, or its error. */
int otp_store_track(const char *url, struct otp_session_cache *c,
		    struct otp_store_tracker **out);
/* Stops it (NULL: nothing). */
void otp_store_track_stop(struct otp_store_tracker *t);

/* --store's default: the registry's first backend, on a file in ./var. */
#define OTP_STORE_URL_DEFAULT "sqlite:./var/otpd.db"

/* Opens a store from a URL such as "sqlite:./var/otpd.db", choosing the
 * backend by scheme. Returns 0, OTP_ETYPE for an unknown scheme, or the
 * backend's error. If a wrapper is installed (otp_store_wrap_opens), the
 * handle comes back through it. */
int otp_store_open(const char *url, struct otp_store **out);

/* Locks the store for this process (ops->lock; 0 for a backend without
 * one). OTP_ETYPE for an unknown scheme. */
int otp_store_lock(const char *url, char *err, size_t errlen);

/* Backs the store up into the new file dest (ops->backup): 0, or an
 * error with a reason in err (OTP_ETYPE for a backend without one, whose
 * own tools make its copies). */
int otp_store_backup(const char *url, const char *dest, char *err,
		     size_t errlen);

/* The path of a file of otpd's that belongs to the store `url`, into out:
 * its file's path and `suffix` (OTP_STORE_CAP_FILE: "var/otpd.db.ctl"),
 * else "otpd" and suffix in the directory otp_store_home gives (def: its
 * default). OTP_ETYPE if it does not fit cap. */
int otp_store_beside(const char *url, const char *def, const char *suffix,
		     char *out, size_t cap);

/* The backend a URL names, or NULL. */
const struct otp_store_ops *otp_store_backend(const char *url);

/* The shape of a store URL: 0, or OTP_ETYPE with why not in err (a phrase
 * after the URL: "is not a store: use ..."). Opens nothing. */
int otp_store_check(const char *url, char *err, size_t errlen);

/* The forms of every backend's URL, " or "-separated, for --help
 * ("sqlite:PATH or redis://..."). Static storage; the first call is not
 * thread-safe (make it at start-up). */
const char *otp_store_forms(void);

/* The directory for local files `url` implies (e.g. that of an SQLite
 * file), else `def`, into dir. Creates nothing. */
void otp_store_home(const char *url, const char *def, char *dir, size_t cap);

/* Every later otp_store_open hands its new handle to each wrapper set, in
 * the order they were set (the first wraps the backend's handle), as
 * wrap(handle, arg), and returns what the last returns: the engine's
 * sealing of phones (engine/sealed.h) and the fault decorator
 * (store_faults.h). At most 4; NULL removes them all. Set at start-up,
 * before any thread opens a store. */
void otp_store_wrap_opens(struct otp_store *(*wrap)(struct otp_store *s,
						    void *arg),
			  void *arg);
/* otp_store_open without the wrappers: for what reads a backend's own
 * counters (/metrics), never for data. */
int otp_store_open_raw(const char *url, struct otp_store **out);

/* For a decorator's ops: its handles are made by its own _new or _wrap,
 * never opened from a URL, so its open answers OTP_ETYPE. */
int otp_store_open_none(const char *arg, struct otp_store **out);

void otp_msg_deinit(struct otp_msg *m);

/* Does a code whose row says `stored` belong to `expect`? "" on either side
 * matches (a row older than owners; a caller that speaks for no owner). */
static inline bool otp_owner_ok(const char *stored, const char *expect)
{
	return !stored[0] || !expect[0] ||
	       strncmp(stored, expect, OTP_OWNER_MAX) == 0;
}

static inline void otp_store_close(struct otp_store *s)
{
	if (s)
		s->ops->close(s);
}

/* otp_store_ping(s), otp_store_code_issue(s, in, now, out), ...: one inline
 * wrapper per operation of OTP_STORE_OPS. */
#define OTP_STORE_OP_WRAPPER_(op, params, args)                                \
	static inline int otp_store_##op params                                \
	{                                                                      \
		return s->ops->op args;                                        \
	}
OTP_STORE_OPS(OTP_STORE_OP_WRAPPER_)
#undef OTP_STORE_OP_WRAPPER_

#endif
