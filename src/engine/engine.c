/* engine.c - the engine's set-up and what it counts (see engine.h).
 *
 * Derives the keys, picks the local provider (main.c may replace it by an
 * upstream), and makes the in-process limiter unless --limit-scope store.
 * Not here: sending (send.c), verifying (verify.c), sessions (session.c),
 * policy and limits (policy.c), the local provider (src/provider/local.c).
 */
#include "engine/engine.h"

#include <sodium.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "engine/message.h"
#include "provider/local.h"

/* The local provider's notify: reads e->notify at each call, since main.c
 * sets it after init. */
static void notify(void *arg)
{
	struct otp_engine *e = arg;
	if (e->notify)
		e->notify(e->notify_arg);
}

/* The hand-over's, likewise (main.c sets it with notify). */
static bool reserve(void *arg, int64_t *lease_ms)
{
	struct otp_engine *e = arg;
	*lease_ms = 0;
	return e->reserve && e->reserve(e->notify_arg, lease_ms);
}

static void hand(void *arg, struct otp_msg *m, int64_t lease_until)
{
	struct otp_engine *e = arg;
	e->hand(e->notify_arg, m, lease_until);
}

static void cancel(void *arg)
{
	struct otp_engine *e = arg;
	e->cancel(e->notify_arg);
}

int otp_engine_init(struct otp_engine *e, const struct otp_config *cfg,
		    const unsigned char secret[OTP_SECRET_LEN],
		    const unsigned char *prev_secret)
{
	if (otp_crypto_init() < 0)
		return OTP_EINTERNAL;
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->keys = otp_keys_new(secret);
	if (prev_secret)
		e->prev_keys = otp_keys_new(prev_secret);
	e->ring.cur = e->keys;
	e->ring.prev = e->prev_keys;
	struct otp_local_deps d = {
	    .keys = e->keys,
	    .prev_keys = e->prev_keys,
	    .code_attempts = (int)cfg->code_attempts,
	    .notify = notify,
	    .notify_arg = e,
	    .reserve = reserve,
	    .hand = hand,
	    .cancel = cancel,
	};
	e->provider = otp_provider_local_new(&d);
	if (!cfg->limit_scope || strcmp(cfg->limit_scope, "store") != 0)
		e->limiter = otp_limiter_new(OTP_ENGINE_LIMITER_CELLS);
	char why[160];
	if (otp_testnums_parse(cfg->test_numbers, &e->tests, why, sizeof why) <
	    0)
		return OTP_ETYPE; /* the config's check said why already */
	if (otp_abuse_new(cfg, &e->abuse, why, sizeof why) < 0) {
		otp_log(OTP_LOG_ERROR, "abuse rules not set up", "error", why,
			NULL);
		return OTP_ETYPE;
	}
	return 0;
}

void otp_engine_deinit(struct otp_engine *e)
{
	otp_provider_close(e->provider);
	e->provider = NULL;
	otp_keys_free(e->keys);
	otp_keys_free(e->prev_keys);
	e->keys = e->prev_keys = NULL;
	e->ring.cur = e->ring.prev = NULL;
	otp_limiter_free(e->limiter);
	e->limiter = NULL;
	otp_abuse_free(e->abuse);
	e->abuse = NULL;
}

void otp_engine_stats(const struct otp_engine *e, struct otp_engine_stats *out)
{
	memset(out, 0, sizeof *out);
	if (e->limiter)
		out->limiter_cells = otp_limiter_used(e->limiter);
}

/* A message's body is its sealed code; the text is made now, as it goes
 * to the gateway, from the time then left (a retry comes later and says
 * less). A body of an older otpd holds the whole text: it goes as it is. */
int otp_engine_unseal(void *arg, const struct otp_msg *m, int64_t now,
		      char *text, size_t cap)
{
	struct otp_engine *e = arg;
	int rc = otp_unseal(e->keys, m->body, m->body_len, text, cap);
	if (rc < 0 && e->prev_keys)
		rc = otp_unseal(e->prev_keys, m->body, m->body_len, text, cap);
	if (rc < 0)
		return rc;
	size_t n = strlen(text);
	if (n < OTP_CODE_MIN || n > OTP_CODE_MAX ||
	    strspn(text, "0123456789") != n)
		return 0;
	char code[OTP_CODE_MAX + 1];
	memcpy(code, text, n + 1);
	int64_t left_ms = m->expires_ms - now;
	struct otp_message_cfg mc = {
	    e->cfg->sms_template, e->cfg->app_name,
	    left_ms > 0 ? (long)((left_ms + 500) / 1000) : 0, e->cfg->domain,
	    e->cfg->android_app_hash};
	size_t len = otp_message_format(&mc, code, text, cap);
	sodium_memzero(code, sizeof code);
	return len ? 0 : OTP_EINTERNAL;
}
