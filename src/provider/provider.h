/* provider.h - where codes come from: this otpd ("local") or an upstream
 * StartMessaging-compatible API ("startmessaging").
 *
 * Both the login API and the provider API go through one provider, chosen
 * once at start-up (--provider); nothing above this interface knows which
 * one runs. A provider issues a code for a normalised phone (optionally
 * under an idempotency key, optionally bound to a login session), tries a
 * code, and tells a request's status. Policy (phone format, destinations,
 * limits) is the engine's and runs before a provider is asked.
 *
 * Threads: a provider is shared by all threads; each call gets the calling
 * thread's store handle. Errors: 0 or a negative OTP_E*; OTP_EUPSTREAM when
 * an upstream failed or could not be reached.
 */
#ifndef OTP_PROVIDER_PROVIDER_H
#define OTP_PROVIDER_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct otp_psend {
	const char *phone; /* E.164 */
	const char *idem;  /* scoped idempotency key, or NULL */
	const char *owner; /* who asks: "k:<key id>" or "s:<hex>" (store.h) */
	int code_length;   /* digits */
	long ttl_s;	   /* seconds the code lives */
	const struct otp_session_bind *bind; /* login API: the session */
	/* Limits to take a token from, all or none, unless the send is an
	 * idempotent replay; refused: OTP_ELIMITED with out->retry_ms and
	 * out->limit. A send that issued no code keeps none of them. */
	const struct otp_limit *limits;
	size_t nlimits;
	/* What the send adds to the abuse signals when it issues a code (not
	 * on a replay), and the keys its code credits when accepted (store.h;
	 * "" or NULL for none). */
	const struct otp_signal_add *signals;
	size_t nsignals;
	const char *credit;
	int64_t now;
	/* A test number's code (core/testnums.h), or NULL: that code, and no
	 * message (nothing is sent). The local provider only. */
	const char *fixed_code;
};

struct otp_psend_out {
	char request_id[OTP_PENDING_MAX];
	int64_t expires_ms;
	bool replayed;	  /* an idempotent replay: nothing new was sent */
	int64_t retry_ms; /* when OTP_ELIMITED */
	int limit;	  /* when OTP_ELIMITED: the index in limits that
			     refused, or -1 (the upstream's own 429) */
};

struct otp_pverify {
	const char *request_id;
	const char *code;
	size_t code_len;
	const char *expect_phone; /* "" or the phone the caller expects */
	const char *expect_owner; /* "" or who asks: another's code is
				     OTP_VERIFY_NOTFOUND (local provider) */
	/* login API: on success, the session old_hash becomes new_hash,
	 * authenticated, until session_expires_ms */
	bool rotate;
	unsigned char old_hash[OTP_HASH_LEN];
	unsigned char new_hash[OTP_HASH_LEN];
	int64_t session_expires_ms;
	/* login API, with rotate, only to a provider with
	 * OTP_PROVIDER_CAP_STORE_CODES on a store with
	 * OTP_STORE_CAP_VERIFY_SESSION: the code is the pending one of session
	 * old_hash, which the store reads in the try's own step (request_id is
	 * not read); OTP_ENOTFOUND (no live session) or OTP_EGONE (nothing
	 * pending) as store.h's code_verify says. */
	bool by_session;
	int64_t now;
};

/* caps: its codes are the store's (code_verify): a login's try can name
 * its session instead of a request id (otp_pverify.by_session), and its
 * send and verify wait on the store alone, never on a remote (so they may
 * run on fibers where the store parks them: main.c). */
#define OTP_PROVIDER_CAP_STORE_CODES (1u << 0)

struct otp_provider;

struct otp_provider_ops {
	const char *name; /* "local", "startmessaging" */
	int version;
	unsigned caps;
	int (*send)(struct otp_provider *p, struct otp_store *s,
		    const struct otp_psend *in, struct otp_psend_out *out);
	/* 0 with the outcome in out (phone filled when known). */
	int (*verify)(struct otp_provider *p, struct otp_store *s,
		      const struct otp_pverify *in, struct otp_verify_out *out);
	/* Status of a request, or OTP_ENOTFOUND. */
	int (*status)(struct otp_provider *p, struct otp_store *s,
		      const char *id, struct otp_code_info *out);
	void (*close)(struct otp_provider *p);
};

struct otp_provider {
	const struct otp_provider_ops *ops;
};

/* The ops table `var` of a provider named `nm` whose functions are
 * <pfx>_send, <pfx>_verify, <pfx>_status and <pfx>_close, with caps `cp`
 * (OTP_PROVIDER_OPS: none). */
#define OTP_PROVIDER_OPS(var, nm, pfx) OTP_PROVIDER_OPS_CAPS(var, nm, pfx, 0)
#define OTP_PROVIDER_OPS_CAPS(var, nm, pfx, cp)                                \
	static const struct otp_provider_ops var = {                           \
	    .name = nm,                                                        \
	    .version = 1,                                                      \
	    .caps = cp,                                                        \
	    .send = pfx##_send,                                                \
	    .verify = pfx##_verify,                                            \
	    .status = pfx##_status,                                            \
	    .close = pfx##_close,                                              \
	}

/* The upstream provider: a StartMessaging-compatible API at base_url
 * (e.g. "https://api.startmessaging.com"), authenticated with api_key,
 * each call bounded by timeout_ms. Connections are kept and reused. */
int otp_provider_upstream_open(const char *base_url, const char *api_key,
			       long timeout_ms, struct otp_provider **out);

static inline int otp_provider_send(struct otp_provider *p, struct otp_store *s,
				    const struct otp_psend *in,
				    struct otp_psend_out *out)
{
	return p->ops->send(p, s, in, out);
}
static inline int otp_provider_verify(struct otp_provider *p,
				      struct otp_store *s,
				      const struct otp_pverify *in,
				      struct otp_verify_out *out)
{
	return p->ops->verify(p, s, in, out);
}
static inline int otp_provider_status(struct otp_provider *p,
				      struct otp_store *s, const char *id,
				      struct otp_code_info *out)
{
	return p->ops->status(p, s, id, out);
}
static inline void otp_provider_close(struct otp_provider *p)
{
	if (p && p->ops->close)
		p->ops->close(p);
}

#endif
