/* local.c - the "local" provider: this otpd issues and checks codes itself.
 *
 * A code is drawn, MACed with its request id, rendered into the SMS text,
 * sealed, and committed with its outbox message (and its session binding or
 * idempotency key) in one store operation; the outbox worker is then woken.
 * A try is one atomic store operation (compare, count, consume, rotate); a
 * login's try may name its session instead of its code (by_session: the
 * store reads the session's pending id and asks make_macs for the MACs).
 * Nothing here writes a code anywhere but into the sealed message. It sees
 * only its otp_local_deps (local.h); policy and limits are decided before.
 */
#include "provider/local.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define IDEM_TTL_MS (24 * 3600 * 1000LL)

struct local {
	struct otp_provider base;
	struct otp_local_deps d;
};

static const struct otp_local_deps *deps(struct otp_provider *p)
{
	return &((struct local *)p)->d;
}

/* The committed message of `is`, claimed by the issue, to the workers:
 * what a claim would have returned (the phone in clear: the claim's would
 * be opened too). */
static void hand(const struct otp_local_deps *d, const struct otp_issue *is,
		 const struct otp_issue_out *io, unsigned char *sealed,
		 int64_t now)
{
	struct otp_msg m = {
	    .id = io->msg_id,
	    .body = sealed,
	    .body_len = is->body_len,
	    .attempts = 1, /* the lease token of a fresh claim */
	    .driver = 0,
	    .expires_ms = is->code.expires_ms,
	    .created_ms = now,
	};
	memcpy(m.request_id, is->code.id, sizeof m.request_id);
	snprintf(m.to, sizeof m.to, "%s", is->code.phone);
	d->hand(d->notify_arg, &m, now + is->lease_ms);
	otp_msg_deinit(&m); /* NULL unless the pool dropped it */
}

static int l_send(struct otp_provider *p, struct otp_store *s,
		  const struct otp_psend *in, struct otp_psend_out *out)
{
	const struct otp_local_deps *d = deps(p);
	struct otp_issue is = {.bind = in->bind,
			       .limits = in->limits,
			       .nlimits = in->nlimits,
			       .signals = in->signals,
			       .nsignals = in->nsignals};
	struct otp_idem idem;
	struct otp_issue_out io;
	char digits[OTP_CODE_MAX + 1];
	unsigned char *sealed;
	int rc;

	memset(out, 0, sizeof *out);
	is.code.attempts = d->code_attempts;
	snprintf(is.code.phone, sizeof is.code.phone, "%s", in->phone);
	snprintf(is.code.owner, sizeof is.code.owner, "%s", in->owner);
	snprintf(is.code.credit, sizeof is.code.credit, "%s",
		 in->credit ? in->credit : "");
	is.code.expires_ms = in->now + in->ttl_s * 1000;
	if (in->idem) {
		snprintf(idem.key, sizeof idem.key, "%s", in->idem);
		idem.expires_ms = in->now + IDEM_TTL_MS;
		is.idem = &idem;
	}
	otp_request_id_new(in->now, is.code.id);
	if (in->fixed_code)
		snprintf(digits, sizeof digits, "%s", in->fixed_code);
	else
		otp_code_generate(in->code_length, digits);
	otp_code_mac(d->keys, is.code.id, digits, strlen(digits), is.code.mac);
	/* Only the code is sealed: the text is made when it is sent, with
	 * the time left then (engine.c, otp_engine_unseal). A test number's
	 * message has no body: it is recorded as sent, and never is. */
	sealed = NULL;
	if (!in->fixed_code)
		otp_seal(d->keys, digits, strlen(digits), &sealed,
			 &is.body_len);
	sodium_memzero(digits, sizeof digits);
	is.body = sealed;
	/* A place with the delivery workers: the message is written claimed
	 * for us, and goes to a worker in memory once committed. */
	bool held =
	    sealed && d->reserve && d->reserve(d->notify_arg, &is.lease_ms);
	rc = otp_store_code_issue(s, &is, in->now, &io);
	if (held && rc == 0 && io.msg_id > 0) {
		hand(d, &is, &io, sealed, in->now);
		sealed = NULL; /* the worker's now */
	} else if (held) {
		/* Nothing written, a replay, or an answer lost (EOUTCOME: a
		 * row written claimed waits out its lease, then is sent). */
		d->cancel(d->notify_arg);
		held = false;
	}
	free(sealed);
	out->retry_ms = io.retry_ms;
	out->limit = io.limit;
	if (rc < 0)
		return rc;
	snprintf(out->request_id, sizeof out->request_id, "%s", io.id);
	out->expires_ms = io.expires_ms;
	out->replayed = io.replayed;
	if (!held && !io.replayed && !in->fixed_code && d->notify)
		d->notify(d->notify_arg);
	return 0;
}

/* What a try's MACs are made of, for a store that reads the id itself
 * (by_session): the code stays here. */
struct try_macs {
	const struct otp_local_deps *d;
	const struct otp_pverify *in;
};

static void make_macs(const void *arg, const char *id,
		      unsigned char mac[OTP_MAC_LEN],
		      unsigned char mac_prev[OTP_MAC_LEN])
{
	const struct try_macs *t = arg;
	otp_code_mac(t->d->keys, id, t->in->code, t->in->code_len, mac);
	if (t->d->prev_keys)
		otp_code_mac(t->d->prev_keys, id, t->in->code, t->in->code_len,
			     mac_prev);
}

static int l_verify(struct otp_provider *p, struct otp_store *s,
		    const struct otp_pverify *in, struct otp_verify_out *out)
{
	struct try_macs t = {deps(p), in};
	struct otp_verify_in v = {.rotate = in->rotate,
				  .has_mac_prev = deps(p)->prev_keys != NULL,
				  .by_session = in->by_session,
				  .macs = make_macs,
				  .macs_arg = &t};

	memset(out, 0, sizeof *out);
	if (!in->by_session) {
		if (strlen(in->request_id) != OTP_ID_LEN) {
			out->result = OTP_VERIFY_NOTFOUND;
			return 0;
		}
		memcpy(v.id, in->request_id, sizeof v.id);
		make_macs(&t, v.id, v.mac, v.mac_prev);
	}
	snprintf(v.expect_phone, sizeof v.expect_phone, "%s", in->expect_phone);
	snprintf(v.expect_owner, sizeof v.expect_owner, "%s", in->expect_owner);
	memcpy(v.old_hash, in->old_hash, sizeof v.old_hash);
	memcpy(v.new_hash, in->new_hash, sizeof v.new_hash);
	v.session_expires_ms = in->session_expires_ms;
	int rc = otp_store_code_verify(s, &v, in->now, out);
	sodium_memzero(v.mac, sizeof v.mac);
	sodium_memzero(v.mac_prev, sizeof v.mac_prev);
	return rc;
}

static int l_status(struct otp_provider *p, struct otp_store *s, const char *id,
		    struct otp_code_info *out)
{
	(void)p;
	if (strlen(id) != OTP_ID_LEN)
		return OTP_ENOTFOUND;
	return otp_store_code_get(s, id, out);
}

static void l_close(struct otp_provider *p)
{
	free(p);
}

OTP_PROVIDER_OPS_CAPS(local_ops, "local", l, OTP_PROVIDER_CAP_STORE_CODES);

struct otp_provider *otp_provider_local_new(const struct otp_local_deps *d)
{
	struct local *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->base.ops = &local_ops;
	l->d = *d;
	return &l->base;
}
