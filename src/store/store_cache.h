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
 * cached handles of this one process: use it only on a backend whose ops
 * have OTP_STORE_CAP_ONE_PROCESS (SQLite), never on one that other
 * processes share (Redis). purge through a cached handle also drops the
 * rows it removes (a purge through another handle needs nothing: it removes
 * only rows past their expires_ms, which the cache never answers with at a
 * later now).
 *
 * Thread-safety: the cache is thread-safe; each cached handle, like any
 * handle, is used by one thread at a time.
 */
#ifndef OTP_STORE_STORE_CACHE_H
#define OTP_STORE_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct otp_session_cache;

/* A cache of at least `entries` rows (rounded up to a power of two, at
 * least 4), about 200 bytes each, touched only as it fills; aborts if out of
 * memory. */
struct otp_session_cache *otp_session_cache_new(size_t entries);
void otp_session_cache_free(struct otp_session_cache *c);

/* Hits and misses of session_get so far (for tests and metrics). */
void otp_session_cache_stats(struct otp_session_cache *c, uint64_t *hits,
			     uint64_t *misses);

/* A handle that answers session_get through `c` and otherwise uses
 * `inner`, whose ownership moves to it: otp_store_close closes both. `c`
 * must outlive it. */
struct otp_store *otp_store_cached_new(struct otp_store *inner,
				       struct otp_session_cache *c);

#endif
