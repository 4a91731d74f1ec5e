/* store_cache.h - a process-wide cache of session rows, as a store decorator.
 *
 * A struct otp_session_cache holds up to a fixed number of session rows,
 * keyed by token hash, shared by every thread of the process. A cached
 * handle (otp_store_cached_new) wraps one backend handle: session_get answers
 * from the cache while now < the row's expires_ms, else asks the backend and
 * fills the cache; every operation that writes a session (code_issue with a
 * bind, code_verify with rotate, session_bind, session_rotate,
 * session_delete) drops the hashes it touches from the cache before it
 * returns (session_revoke_phone, which names no hash, drops every row), so a
 * logout or a rotation is seen by every thread's next read. Everything else
 * goes straight to the backend.
 *
 * Only correct when every write to the backend's sessions goes through
 * cached handles of this one process (a backend whose ops have
 * OTP_STORE_CAP_ONE_PROCESS: SQLite), or when the backend tells the cache
 * of every other writer's change (a store other processes share, whose ops
 * have a tracker: Redis, store.h's track): otp_session_cache_invalidate for
 * one row, _drop_all for every row, and _suspend while those notices may
 * be lost (from then on nothing is answered from memory nor filled, until
 * _resume). A fill that any of these overtook is not made: the read it
 * began before the notice may hold the row from before the change. purge
 * through a cached handle also drops the rows it removes (a purge through
 * another handle needs nothing: it removes only rows past their
 * expires_ms, which the cache never answers with at a later now).
 *
 * Thread-safety: the cache is thread-safe; each cached handle, like any
 * handle, is used by one thread at a time.
 */
#ifndef OTP_STORE_STORE_CACHE_H
#define OTP_STORE_STORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct otp_session_cache;

/* A cache of at least `entries` rows (rounded up to a power of two, at
 * least 4), about 250 bytes each, touched only as it fills; aborts if out of
 * memory. */
struct otp_session_cache *otp_session_cache_new(size_t entries);
void otp_session_cache_free(struct otp_session_cache *c);

/* Rows filled long enough before the now of a read (or after it by as
 * much: a clock set back) are asked again: each after between ms / 2 and
 * ms, spread by its hash so that rows filled together are not all asked
 * again together. 0 (the default): a row lives until its expires_ms. Set
 * it before the cache is used. */
void otp_session_cache_set_max_age(struct otp_session_cache *c, int64_t ms);

/* The notices of a tracker (see the top). Each drops what it names and
 * makes every fill of it begun before give up. Thread-safe, lock-free but
 * for invalidate's one stripe. */
void otp_session_cache_invalidate(struct otp_session_cache *c,
				  const unsigned char hash[OTP_HASH_LEN]);
void otp_session_cache_drop_all(struct otp_session_cache *c);
/* Drops every row and answers every read from the backend, filling
 * nothing, until _resume (which starts from an empty cache). A new cache
 * is not suspended; suspending twice is suspending once. */
void otp_session_cache_suspend(struct otp_session_cache *c);
void otp_session_cache_resume(struct otp_session_cache *c);
bool otp_session_cache_is_suspended(struct otp_session_cache *c);

/* Hits and misses of session_get so far (for tests and metrics). */
void otp_session_cache_stats(struct otp_session_cache *c, uint64_t *hits,
			     uint64_t *misses);

/* A handle that answers session_get through `c` and otherwise uses
 * `inner`, whose ownership moves to it: otp_store_close closes both. `c`
 * must outlive it. */
struct otp_store *otp_store_cached_new(struct otp_store *inner,
				       struct otp_session_cache *c);

#endif
