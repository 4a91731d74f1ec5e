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

#include "store/records.h"

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
