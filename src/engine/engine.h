/* engine.h - the OTP engine: codes, policy, limits and sessions.
 *
 * The rules of DESIGN.md section 2, over the store interface. The engine
 * knows no HTTP (handlers translate), no SQL (stores do), and no clock: every
 * call takes `now`. It is shared by all threads (read-only after init); each
 * call takes the calling thread's store handle.
 *
 * The login API and the provider API are thin adapters over one send core
 * (send.c) and one verify core (verify.c); every send passes the policy
 * (policy.c) once, there. Sessions: session.c. Set-up and stats: engine.c.
 *
 * Errors: 0 or a negative OTP_E*; a limit's refusal (otp_err_limited: each
 * limit has its own code) comes with retry_after_s set.
 */
#ifndef OTP_ENGINE_ENGINE_H
#define OTP_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/testnums.h"
#include "abuse/abuse.h"
#include "engine/crypto.h"
#include "engine/limiter.h"
#include "provider/provider.h"
#include "store/store.h"

/* Cells of the in-process limiter: keys tracked at once (80 bytes each,
 * touched only when used). */
#define OTP_ENGINE_LIMITER_CELLS 65536

struct otp_engine {
	const struct otp_config *cfg; /* borrowed */
	struct otp_keys *keys;	      /* the secret's */
	struct otp_keys *prev_keys;   /* the previous secret's, or NULL */
	struct otp_keyring ring;      /* {keys, prev_keys} */
	/* Where codes come from: local by default, or an upstream set by the
	 * caller after init (the engine then owns it). */
	struct otp_provider *provider;
	/* Called after a message was committed (wakes the outbox). */
	void (*notify)(void *arg);
	void *notify_arg;
	/* Optional, with notify_arg: the outbox's in-memory hand-over
	 * (otp_outbox_reserve, _hand, _cancel; provider/local.h). */
	bool (*reserve)(void *arg, int64_t *lease_ms);
	void (*hand)(void *arg, struct otp_msg *m, int64_t lease_until);
	void (*cancel)(void *arg);
	/* The per-IP and per-key limits with --limit-scope process; NULL
	 * with --limit-scope store (they then go to the store). */
	struct otp_limiter *limiter;
	/* --test-numbers (core/testnums.h): fixed codes, nothing sent. */
	struct otp_testnums tests;
	/* SMS pumping rules and spend caps (abuse/abuse.h). */
	struct otp_abuse *abuse;
};

/* Derives the keys from the secret, and from the previous one of a
 * rotation (or NULL): what it made (codes, sessions, sealed phones and
 * messages, API-key hashes) is still accepted. The caller wipes its
 * copies. */
int otp_engine_init(struct otp_engine *e, const struct otp_config *cfg,
		    const unsigned char secret[OTP_SECRET_LEN],
		    const unsigned char *prev_secret);
void otp_engine_deinit(struct otp_engine *e);

/* --- login API (cookie sessions) --- */

struct otp_send_in {
	const char *phone; /* as the client wrote it */
	size_t phone_len;
	const char *token; /* the session cookie's value, or NULL */
	size_t token_len;
	int64_t now;
	const char *ip; /* the client (for the abuse check), or NULL */
	/* A solved proof-of-work challenge (abuse/pow.h), or NULL */
	const char *pow;
	size_t pow_len;
};

struct otp_send_out {
	char phone[OTP_PHONE_MAX]; /* normalised */
	char request_id[OTP_PENDING_MAX];
	int64_t expires_ms;
	int64_t retry_after_s;		   /* cooldown, or wait when limited */
	char new_token[OTP_TOKEN_LEN + 1]; /* "" if the cookie stays */
	/* OTP_ESTEPUP: the challenge to solve (abuse/pow.h, OTP_POW_MAX) */
	char challenge[160];
};

/* Normalises and checks the phone, takes the per-phone limits, issues a code
 * bound to the session (created if the cookie names none) with its message
 * in the outbox. OTP_EPHONE, OTP_EDENIED, a limit's error (otp_err_limited:
 * OTP_ECOOLDOWN, OTP_EPHONE*, policy.h) with retry_after_s, store errors. */
int otp_engine_send(struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_in *in, struct otp_send_out *out);

struct otp_verify_req {
	const char *token;
	size_t token_len;
	const char *code;
	size_t code_len;
	const char *phone; /* optional: must be the phone the code went to */
	size_t phone_len;
	int64_t now;
};

struct otp_verify_res {
	bool verified;
	int attempts_left;	   /* when not verified */
	char phone[OTP_PHONE_MAX]; /* when verified */
	char
	    new_token[OTP_TOKEN_LEN + 1]; /* when verified: the rotated token */
};

/* Tries the code bound to the session. 0 with res->verified true or false
 * (a wrong code, or a phone that is not the code's, costs an attempt);
 * OTP_ECODEFMT, OTP_EPHONE, OTP_EEXPIRED (no live code bound), store errors. */
int otp_engine_verify(struct otp_engine *e, struct otp_store *s,
		      const struct otp_verify_req *in,
		      struct otp_verify_res *res);

/* The authenticated session a token names, or OTP_EUNAUTH. */
int otp_engine_session(struct otp_engine *e, struct otp_store *s,
		       const char *token, size_t token_len, int64_t now,
		       struct otp_session *out);

/* Destroys the session a token names (0 even if there was none). */
int otp_engine_logout(struct otp_engine *e, struct otp_store *s,
		      const char *token, size_t token_len);

/* --- provider API (API keys) --- */

struct otp_api_send_in {
	const char *phone; /* as the client wrote it */
	size_t phone_len;
	const char *idem; /* the client's idempotencyKey, or NULL */
	size_t idem_len;
	const char *key_id; /* the API key's id: scopes idem */
	long code_length;   /* 0: the configured length */
	long ttl_s;	    /* 0: the configured TTL */
	int64_t now;
	const char *ip; /* the client (for the abuse check), or NULL */
};

struct otp_api_send_out {
	char phone[OTP_PHONE_MAX];
	char request_id[OTP_PENDING_MAX];
	int64_t expires_ms;
	int64_t retry_after_s; /* cooldown, or wait when limited */
	bool replayed;
};

/* Same rules as otp_engine_send, no session; an idempotency key already
 * used by this API key replays its first answer (before any limit), or
 * OTP_ECONFLICT for another phone. OTP_ETOOLONG for a key over 128 bytes. */
int otp_engine_api_send(struct otp_engine *e, struct otp_store *s,
			const struct otp_api_send_in *in,
			struct otp_api_send_out *out);

/* One try of a request's code, made by API key key_id. 0 with the outcome
 * in out (NOTFOUND, EXPIRED, USED, DEAD included; a request of another key
 * or of the login API is NOTFOUND, and nothing is counted), or
 * OTP_ECODEFMT. */
int otp_engine_api_verify(struct otp_engine *e, struct otp_store *s,
			  const char *key_id, const char *id, const char *code,
			  size_t code_len, int64_t now,
			  struct otp_verify_out *out);

/* A request's status as API key key_id may see it, or OTP_ENOTFOUND (also
 * for another key's request or a login's code). */
int otp_engine_api_status(struct otp_engine *e, struct otp_store *s,
			  const char *key_id, const char *id,
			  struct otp_code_info *out);

/* Takes one request from an API key's bucket (limit-key per second);
 * refused: OTP_EKEYLIM. */
int otp_engine_limit_key(struct otp_engine *e, struct otp_store *s,
			 const char *key_id, int64_t now,
			 int64_t *retry_after_s);

/* --- policy shared by every face --- */

/* Takes one request from the client IP's bucket (limit-ip per minute).
 * 0 or OTP_EIPLIM with *retry_after_s. */
int otp_engine_limit_ip(struct otp_engine *e, struct otp_store *s,
			const char *ip, int64_t now, int64_t *retry_after_s);

/* The text of an outbox message as it is sent at `now`: its sealed code
 * in the configured template, with the time left then (the outbox
 * worker's unseal callback; arg is the engine). */
int otp_engine_unseal(void *arg, const struct otp_msg *m, int64_t now,
		      char *text, size_t cap);

/* What the engine counts, for /metrics. */
struct otp_engine_stats {
	size_t limiter_cells; /* in-process limiter keys held (0: store) */
};
void otp_engine_stats(const struct otp_engine *e, struct otp_engine_stats *out);

#endif
