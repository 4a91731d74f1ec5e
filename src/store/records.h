/* records.h - the records the store operations take and return (store.h):
 * ids, MACs and their sizes, the abuse signals and blocks, a send's issue
 * and a verify's try, sessions, limits, outbox messages and API keys.
 *
 * Plain data: no operation is declared here, and nothing here reads a
 * clock or a backend. Include store.h, which includes this.
 */
#ifndef OTP_STORE_RECORDS_H
#define OTP_STORE_RECORDS_H

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

#endif
