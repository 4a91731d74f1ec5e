/* store.h - the store interface: otpd's state as atomic domain operations.
 *
 * A backend (store_sqlite.c; later store_redis.c) fills a struct
 * otp_store_ops. Each operation below is atomic in its backend (one SQLite
 * transaction, one Redis script): no caller ever sees half of one. Time is
 * always passed in as `now` (ms since the epoch); no backend reads a clock.
 *
 * Threads: a handle is used by one thread at a time. Open one per thread.
 * Errors: 0, or OTP_ENOTFOUND where said, OTP_EUNAVAIL when the backend
 * cannot be reached or is busy beyond its timeout, OTP_EINTERNAL otherwise.
 * Secrets: the store never sees a code or a token, only MACs and hashes; an
 * outbox body is an opaque sealed blob made by the engine.
 */
#ifndef OTP_STORE_STORE_H
#define OTP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gcra.h"
#include "core/phone.h"

#define OTP_ID_LEN	   32 /* request id: 32 lowercase hex characters */
#define OTP_MAC_LEN	   32 /* keyed MAC of a code */
#define OTP_HASH_LEN	   32 /* keyed hash of a session token */
#define OTP_LIMIT_KEY_MAX  96
#define OTP_ERROR_TEXT_MAX 256

/* A new code, as the engine made it. */
struct otp_code_new {
	char id[OTP_ID_LEN + 1];
	char phone[OTP_PHONE_MAX];	/* E.164 */
	unsigned char mac[OTP_MAC_LEN]; /* MAC(secret, id, code) */
	int attempts;			/* wrong tries allowed */
	int64_t expires_ms;
};

/* Binds a code to a login session (the login API's cookie). */
struct otp_session_bind {
	unsigned char hash[OTP_HASH_LEN]; /* hash of the cookie's token */
	int64_t expires_ms; /* the session row lives at least this long */
};

/* One try of a code. */
struct otp_verify_in {
	char id[OTP_ID_LEN + 1];
	unsigned char mac[OTP_MAC_LEN]; /* MAC of the code tried */
	bool force_fail;		/* count the attempt, never accept */
	/* If not "", the phone the caller expects the code to have gone to: a
	 * code of another phone counts the attempt and is not accepted. */
	char expect_phone[OTP_PHONE_MAX];
	/* Optional: on success, replace session `old_hash` by a new,
	 * authenticated session `new_hash` for the code's phone. */
	bool rotate;
	unsigned char old_hash[OTP_HASH_LEN];
	unsigned char new_hash[OTP_HASH_LEN];
	int64_t session_expires_ms;
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
	char phone[OTP_PHONE_MAX];
};

/* A server-side login session. */
struct otp_session {
	char phone[OTP_PHONE_MAX]; /* "" until authenticated */
	int64_t authenticated_ms;  /* 0 until authenticated */
	int64_t expires_ms;
	char pending_id[OTP_ID_LEN + 1]; /* code bound to it, "" if none */
};

/* One rate limit to take a token from. */
struct otp_limit {
	char key[OTP_LIMIT_KEY_MAX]; /* e.g. "ph:+14155550100" */
	struct otp_gcra rate;
};

enum otp_msg_state {
	OTP_MSG_QUEUED,
	OTP_MSG_SENDING, /* claimed by a worker, lease running */
	OTP_MSG_SENT,
	OTP_MSG_FAILED,	 /* dead letter */
	OTP_MSG_EXPIRED, /* its code expired before it could be sent */
};

/* An outbox message claimed for delivery. */
struct otp_msg {
	int64_t id;
	char request_id[OTP_ID_LEN + 1];
	char to[OTP_PHONE_MAX];
	unsigned char *body; /* sealed; malloc'd, freed by otp_msg_deinit */
	size_t body_len;
	int attempts; /* delivery attempts so far, this one included */
	int64_t expires_ms;
};

struct otp_store;

struct otp_store_ops {
	const char *name;   /* "sqlite" */
	const char *scheme; /* URL prefix it answers to: "sqlite:" */
	int version;
	unsigned caps;

	/* `arg` is the URL after the scheme. */
	int (*open)(const char *arg, struct otp_store **out);
	void (*close)(struct otp_store *s);
	int (*ping)(struct otp_store *s);

	/* Retires every pending code of code->phone, inserts the code and its
	 * outbox message (body of body_len, sealed), and, if bind is given,
	 * creates or updates that session so its pending code is this one. */
	int (*code_issue)(struct otp_store *s, const struct otp_code_new *code,
			  const unsigned char *body, size_t body_len,
			  const struct otp_session_bind *bind, int64_t now);
	/* Compares, counts and consumes in one step (see otp_verify_in).
	 * Returns 0 with the outcome in `out`. */
	int (*code_verify)(struct otp_store *s, const struct otp_verify_in *in,
			   int64_t now, struct otp_verify_out *out);

	/* Takes one token from each of the n limits, or from none: returns 0,
	 * or OTP_ELIMITED with *retry_ms the longest wait among refusals. */
	int (*limit_take)(struct otp_store *s, const struct otp_limit *lims,
			  size_t n, int64_t now, int64_t *retry_ms);

	/* Live (unexpired) session by token hash, or OTP_ENOTFOUND. */
	int (*session_get)(struct otp_store *s,
			   const unsigned char hash[OTP_HASH_LEN], int64_t now,
			   struct otp_session *out);
	/* Removes a session; 0 even if there was none. */
	int (*session_delete)(struct otp_store *s,
			      const unsigned char hash[OTP_HASH_LEN]);

	/* Claims up to max messages due at `now` (queued with next attempt due,
	 * or sending with an expired lease) for lease_ms; *n says how many. */
	int (*outbox_claim)(struct otp_store *s, int64_t now, int64_t lease_ms,
			    struct otp_msg *out, size_t max, size_t *n);
	/* Marks a claimed message sent and wipes its body. */
	int (*outbox_ack)(struct otp_store *s, int64_t id, int64_t now);
	/* Puts a message back in the queue for another try at next_ms. */
	int (*outbox_retry)(struct otp_store *s, int64_t id, int64_t next_ms,
			    const char *error);
	/* Dead-letters a message (OTP_MSG_FAILED or OTP_MSG_EXPIRED), wiping
	 * its body and keeping the error. */
	int (*outbox_fail)(struct otp_store *s, int64_t id,
			   enum otp_msg_state state, const char *error);
	/* State of the message of a request id, or OTP_ENOTFOUND. */
	int (*outbox_state)(struct otp_store *s, const char *request_id,
			    enum otp_msg_state *state);

	/* Deletes what has expired (codes and messages a day after, sessions
	 * and limits at once). *removed gets the number of rows. */
	int (*purge)(struct otp_store *s, int64_t now, long *removed);
};

struct otp_store {
	const struct otp_store_ops *ops;
};

/* Opens a store from a URL such as "sqlite:./var/otpd.db", choosing the
 * backend by scheme. Returns 0, OTP_ETYPE for an unknown scheme, or the
 * backend's error. */
int otp_store_open(const char *url, struct otp_store **out);

/* The backend a URL names, or NULL. */
const struct otp_store_ops *otp_store_backend(const char *url);

void otp_msg_deinit(struct otp_msg *m);

static inline void otp_store_close(struct otp_store *s)
{
	if (s)
		s->ops->close(s);
}
static inline int otp_store_ping(struct otp_store *s)
{
	return s->ops->ping(s);
}
static inline int
otp_store_code_issue(struct otp_store *s, const struct otp_code_new *code,
		     const unsigned char *body, size_t body_len,
		     const struct otp_session_bind *bind, int64_t now)
{
	return s->ops->code_issue(s, code, body, body_len, bind, now);
}
static inline int otp_store_code_verify(struct otp_store *s,
					const struct otp_verify_in *in,
					int64_t now, struct otp_verify_out *out)
{
	return s->ops->code_verify(s, in, now, out);
}
static inline int otp_store_limit_take(struct otp_store *s,
				       const struct otp_limit *lims, size_t n,
				       int64_t now, int64_t *retry_ms)
{
	return s->ops->limit_take(s, lims, n, now, retry_ms);
}
static inline int otp_store_session_get(struct otp_store *s,
					const unsigned char hash[OTP_HASH_LEN],
					int64_t now, struct otp_session *out)
{
	return s->ops->session_get(s, hash, now, out);
}
static inline int
otp_store_session_delete(struct otp_store *s,
			 const unsigned char hash[OTP_HASH_LEN])
{
	return s->ops->session_delete(s, hash);
}
static inline int otp_store_outbox_claim(struct otp_store *s, int64_t now,
					 int64_t lease_ms, struct otp_msg *out,
					 size_t max, size_t *n)
{
	return s->ops->outbox_claim(s, now, lease_ms, out, max, n);
}
static inline int otp_store_outbox_ack(struct otp_store *s, int64_t id,
				       int64_t now)
{
	return s->ops->outbox_ack(s, id, now);
}
static inline int otp_store_outbox_retry(struct otp_store *s, int64_t id,
					 int64_t next_ms, const char *error)
{
	return s->ops->outbox_retry(s, id, next_ms, error);
}
static inline int otp_store_outbox_fail(struct otp_store *s, int64_t id,
					enum otp_msg_state state,
					const char *error)
{
	return s->ops->outbox_fail(s, id, state, error);
}
static inline int otp_store_outbox_state(struct otp_store *s,
					 const char *request_id,
					 enum otp_msg_state *state)
{
	return s->ops->outbox_state(s, request_id, state);
}
static inline int otp_store_purge(struct otp_store *s, int64_t now,
				  long *removed)
{
	return s->ops->purge(s, now, removed);
}

#endif
