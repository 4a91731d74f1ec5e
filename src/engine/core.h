/* core.h - the engine's one send core and one verify core, inside the
 * engine only: the login API's and the provider API's functions (engine.h)
 * are thin adapters over them. Not for handlers.
 *
 * A scope is either a login session (bind / token) or an API key (key_id,
 * with an optional idempotency key); exactly one is given.
 */
#ifndef OTP_ENGINE_CORE_H
#define OTP_ENGINE_CORE_H

#include "engine/engine.h"

/* One send, the phone already normalised. */
struct otp_send_core {
	/* What the provider is asked: the adapter sets phone (E.164),
	 * code_length, ttl_s, now, and bind for the login scope; the core
	 * adds the limits and the scoped idempotency key. */
	struct otp_psend ps;
	const char *key_id; /* API-key scope */
	const char *idem;   /* with key_id: the client's key, or NULL */
	size_t idem_len;
	const char *ip; /* the client, or NULL */
	/* A test number's (ps.fixed_code set): no policy, no per-phone
	 * limit or cooldown, nothing sent. */
	bool test;
	/* login API: a proof of work came with it and was good (pow.h) */
	bool pow_ok;
};

/* Where the core writes its answer: straight into the adapter's out. */
struct otp_send_answer {
	char *request_id; /* OTP_PENDING_MAX bytes */
	int64_t *expires_ms;
	int64_t *retry_after_s; /* the cooldown, or the wait when limited */
	bool *replayed;		/* or NULL */
};

/* The policy (once), then the provider issues the code with the per-phone
 * limits in the same step. 0 with the answer in `a`; OTP_EDENIED,
 * OTP_ELIMITED (*a->retry_after_s set), provider and store errors. */
int otp_engine_send_core(struct otp_engine *e, struct otp_store *s,
			 const struct otp_send_core *in,
			 const struct otp_send_answer *a);

/* One try of a code. */
struct otp_verify_core {
	const char *code;
	size_t code_len;
	const char *phone; /* as the client wrote it, or NULL: expected phone */
	size_t phone_len;
	/* The login scope when new_token is not NULL: the session the cookie
	 * names, rotated on success (new_token gets the new token); else the
	 * API-key scope: the request id. */
	const char *request_id;
	const char *key_id; /* API-key scope: only its own codes are found */
	const char *token;
	size_t token_len;
	char *new_token;
	int64_t now;
};

/* Checks the code's format and the phone, finds the code (the session's
 * pending one, or the request id) and tries it in one provider step.
 * 0 with the outcome in out; OTP_ECODEFMT, OTP_EPHONE, OTP_EEXPIRED (login
 * scope with no live code bound), provider and store errors. */
int otp_engine_verify_core(struct otp_engine *e, struct otp_store *s,
			   const struct otp_verify_core *in,
			   struct otp_verify_out *out);

/* The live session a token names (session.c): under the current secret's
 * hash, or during a rotation the previous one's; *hash gets the one it is
 * stored under (the current one's when none is found). 0, OTP_ENOTFOUND or
 * a store error. */
int otp_engine_session_find(struct otp_engine *e, struct otp_store *s,
			    const char *token, size_t token_len, int64_t now,
			    unsigned char hash[OTP_HASH_LEN],
			    struct otp_session *out);

/* Has a token the shape of one we made (session.c)? */
bool otp_engine_token_ok(const char *tok, size_t len);

/* A code's owner (store.h, OTP_OWNER_MAX): the API key's, "k:<key id>", or
 * the login session's, "s:" and the first 16 bytes of its token hash in hex
 * (session.c). */
void otp_owner_of_key(const char *key_id, char out[OTP_OWNER_MAX]);
void otp_owner_of_session(const unsigned char hash[OTP_HASH_LEN],
			  char out[OTP_OWNER_MAX]);

#endif
