/* engine.c - the engine's set-up and what it counts (see engine.h).
 *
 * Derives the keys, picks the local provider (main.c may replace it by an
 * upstream), and makes the in-process limiter unless --limit-scope store.
 * Not here: sending (send.c), verifying (verify.c), sessions (session.c),
 * policy and limits (policy.c), the local provider (src/provider/local.c).
 */
#include "engine/engine.h"

#include <string.h>

#include "core/err.h"
#include "provider/local.h"

/* The local provider's notify: reads e->notify at each call, since main.c
 * sets it after init. */
static void notify(void *arg)
{
	struct otp_engine *e = arg;
	if (e->notify)
		e->notify(e->notify_arg);
}

int otp_engine_init(struct otp_engine *e, const struct otp_config *cfg,
		    const unsigned char secret[OTP_SECRET_LEN])
{
	if (otp_crypto_init() < 0)
		return OTP_EINTERNAL;
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->keys = otp_keys_new(secret);
	struct otp_local_deps d = {
	    .keys = e->keys,
	    .code_attempts = (int)cfg->code_attempts,
	    .sms_template = cfg->sms_template,
	    .app_name = cfg->app_name,
	    .domain = cfg->domain,
	    .app_hash = cfg->android_app_hash,
	    .notify = notify,
	    .notify_arg = e,
	};
	e->provider = otp_provider_local_new(&d);
	if (!cfg->limit_scope || strcmp(cfg->limit_scope, "store") != 0)
		e->limiter = otp_limiter_new(OTP_ENGINE_LIMITER_CELLS);
	return 0;
}

void otp_engine_deinit(struct otp_engine *e)
{
	otp_provider_close(e->provider);
	e->provider = NULL;
	otp_keys_free(e->keys);
	e->keys = NULL;
	otp_limiter_free(e->limiter);
	e->limiter = NULL;
}

void otp_engine_stats(const struct otp_engine *e, struct otp_engine_stats *out)
{
	memset(out, 0, sizeof *out);
	if (e->limiter)
		out->limiter_cells = otp_limiter_used(e->limiter);
}

int otp_engine_unseal(void *arg, const struct otp_msg *m, char *text,
		      size_t cap)
{
	struct otp_engine *e = arg;
	return otp_unseal(e->keys, m->body, m->body_len, text, cap);
}
