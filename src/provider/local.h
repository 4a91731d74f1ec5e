/* local.h - the "local" provider: this otpd issues and checks codes itself
 * (local.c). What it needs is given here and nothing more: it knows no
 * engine, no config and no policy (those ran before it is asked).
 */
#ifndef OTP_PROVIDER_LOCAL_H
#define OTP_PROVIDER_LOCAL_H

#include "engine/crypto.h"
#include "provider/provider.h"

struct otp_local_deps {
	const struct otp_keys
	    *keys; /* borrowed: MACs codes, seals them for the outbox */
	/* borrowed, or NULL: the previous secret's, during a rotation (a
	 * code it MACed is still accepted) */
	const struct otp_keys *prev_keys;
	int code_attempts; /* tries a code allows */
	/* Called after a new message was committed (wakes the outbox). */
	void (*notify)(void *arg);
	void *notify_arg;
	/* Optional (NULL: every message is queued, then notify): the
	 * delivery workers' in-memory hand-over, as otp_outbox_reserve,
	 * _hand and _cancel (outbox.h) with notify_arg. A message whose place
	 * was reserved is written claimed for *lease_ms and handed over
	 * once its issue committed; no notify then. */
	bool (*reserve)(void *arg, int64_t *lease_ms);
	void (*hand)(void *arg, struct otp_msg *m, int64_t lease_until);
	void (*cancel)(void *arg);
};

/* The local provider over `d` (copied; its strings and keys borrowed). */
struct otp_provider *otp_provider_local_new(const struct otp_local_deps *d);

#endif
