/* ctl.h - otpctl's commands: one table (run.c), run the same way inside the
 * running otpd (its admin socket, server.c) and inside otpctl when no otpd
 * runs (otpctl.c opens the store itself then).
 *
 * A request is a JSON object {"cmd": NAME, "args": {...}}; its reply is
 * {"ok": true, "data": ...} or {"ok": false, "status": 1 or 2, "error":
 * TEXT} (1: refused, 2: usage), so that otpctl prints the same thing
 * whichever side ran it. Data holds masked phones only, never a code, a
 * key (but key.create's new key, once) or a sealed value.
 *
 * Not here: the socket's protocol (server.c, client.c), the tables a human
 * reads (render.c), the store operations themselves (store/store.h).
 */
#ifndef OTP_CTL_CTL_H
#define OTP_CTL_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "engine/crypto.h"
#include "store/store.h"

/* Where a command runs: borrowed, for the length of one request. */
struct otp_ctl_env {
	struct otp_store *store; /* sealed; in otpd also behind its cache */
	const char *store_url;
	const struct otp_keyring *ring; /* ring->cur NULL: no secret */
	const char *no_secret;		/* why not, then */
	const char *sms;		/* the --sms list: names of drivers */
	const struct otp_config *cfg;	/* the limits' rates */
	void (*notify)(void *arg);	/* wakes the outbox, or NULL */
	void *notify_arg;
	bool live; /* inside the running otpd */
	int64_t now;
};

/* A command's handler: fills *data (a new reference) and returns 0, or
 * returns 1 (refused) or 2 (bad arguments) with the reason in err. */
typedef int otp_ctl_fn(const struct otp_ctl_env *e, json_t *args, json_t **data,
		       char *err, size_t errlen);

/* The reply to one request (a new reference, never NULL). */
json_t *otp_ctl_run(const struct otp_ctl_env *e, json_t *req);

/* 1 with "otpctl: ..." in err for a handler to return; what the store
 * said (rc < 0) in words. */
int otp_ctl_failed(int rc, char *err, size_t errlen);
/* What a handler returns after the store changed the row called name:
 * ENOTFOUND refused as "no <what> <name>", another error as
 * otp_ctl_failed, else 0 with *data {done: name}. */
int otp_ctl_changed(int rc, const char *what, const char *name,
		    const char *done, json_t **data, char *err, size_t errlen);

/* The handlers, one file per family. */
otp_ctl_fn otp_ctl_key_create, otp_ctl_key_list, otp_ctl_key_revoke;
otp_ctl_fn otp_ctl_outbox_list, otp_ctl_outbox_dead, otp_ctl_outbox_retry;
otp_ctl_fn otp_ctl_session_revoke, otp_ctl_phone_show;
otp_ctl_fn otp_ctl_stats;
otp_ctl_fn otp_ctl_purge, otp_ctl_backup;
otp_ctl_fn otp_ctl_fraud_list, otp_ctl_fraud_unblock, otp_ctl_fraud_allow;
otp_ctl_fn otp_ctl_spend;

/* The outbox's messages, newest first, opened (outbox.c): up to max of
 * state (< 0: any) into a malloc'd array *out (free it), *n of them. */
int otp_ctl_messages(const struct otp_ctl_env *e, int state, size_t max,
		     struct otp_msg_info **out, size_t *n);
/* A message as JSON: masked phone, state and driver by name. */
json_t *otp_ctl_message_json(const struct otp_ctl_env *e,
			     const struct otp_msg_info *m);
/* An E.164 phone from text (otpd's parsing, its default region): 0, or 2
 * with the reason in err. */
int otp_ctl_phone_arg(const struct otp_ctl_env *e, json_t *args,
		      char out[OTP_PHONE_MAX], char *err, size_t errlen);

#endif
