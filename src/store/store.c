/* store.c - the one list of store backends: picks one by URL scheme, once,
 * at open, and asks it whether a URL is well formed and where its local files
 * go. What a backend does lives in its own folder (src/store/<backend>/);
 * the decorators that wrap any handle in store_cache.c and store_faults.c. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/join.h"

extern const struct otp_store_ops otp_store_sqlite_ops;
extern const struct otp_store_ops otp_store_redis_ops;

static const struct otp_store_ops *const backends[] = {
    &otp_store_sqlite_ops,
    &otp_store_redis_ops,
};

#define NAME_(name, text) text,
const char *const otp_code_state_names[OTP_CODE_STATES] = {
    OTP_CODE_STATE_LIST(NAME_)};
const char *const otp_msg_state_names[OTP_MSG_STATES] = {
    OTP_MSG_STATE_LIST(NAME_)};
const char *const otp_block_kind_names[OTP_BLOCK_KINDS] = {
    OTP_BLOCK_KIND_LIST(NAME_)};
#undef NAME_

#define NBACKENDS (sizeof backends / sizeof backends[0])

const struct otp_store_ops *otp_store_backend(const char *url)
{
	for (size_t i = 0; i < NBACKENDS; i++) {
		size_t n = strlen(backends[i]->scheme);
		if (strncmp(url, backends[i]->scheme, n) == 0)
			return backends[i];
	}
	return NULL;
}

/* The wrappers of every open, innermost first (store.h). */
#define WRAPS_MAX 4
static struct {
	struct otp_store *(*wrap)(struct otp_store *s, void *arg);
	void *arg;
} wraps[WRAPS_MAX];
static size_t nwraps;

void otp_store_wrap_opens(struct otp_store *(*wrap)(struct otp_store *s,
						    void *arg),
			  void *arg)
{
	if (!wrap) {
		nwraps = 0;
		return;
	}
	if (nwraps == WRAPS_MAX)
		abort(); /* set-up code of ours: a bug */
	wraps[nwraps].wrap = wrap;
	wraps[nwraps++].arg = arg;
}

int otp_store_open_raw(const char *url, struct otp_store **out)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	*out = NULL;
	if (!ops)
		return OTP_ETYPE;
	return ops->open(url + strlen(ops->scheme), out);
}

int otp_store_open(const char *url, struct otp_store **out)
{
	int rc = otp_store_open_raw(url, out);
	for (size_t i = 0; rc == 0 && i < nwraps; i++)
		*out = wraps[i].wrap(*out, wraps[i].arg);
	return rc;
}

static const char *form_of(size_t i)
{
	return backends[i]->form;
}

const char *otp_store_forms(void)
{
	static char forms[512];
	return forms[0]
		   ? forms
		   : otp_join(forms, sizeof forms, " or ", NBACKENDS, form_of);
}

int otp_store_open_none(const char *arg, struct otp_store **out)
{
	(void)arg;
	*out = NULL;
	return OTP_ETYPE;
}

int otp_store_check(const char *url, char *err, size_t errlen)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	if (!ops) {
		snprintf(err, errlen, "is not a store: use %s",
			 otp_store_forms());
		return OTP_ETYPE;
	}
	char why[256] = "";
	if (!ops->check ||
	    ops->check(url + strlen(ops->scheme), why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "is not a store: %s", why);
	return OTP_ETYPE;
}

void otp_store_home(const char *url, const char *def, char *dir, size_t cap)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	if (!ops || !ops->home ||
	    ops->home(url + strlen(ops->scheme), dir, cap) < 0)
		snprintf(dir, cap, "%s", def);
}

int otp_store_backup(const char *url, const char *dest, char *err,
		     size_t errlen)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	if (!ops) {
		snprintf(err, errlen, "%s is not a store URL", url);
		return OTP_ETYPE;
	}
	if (!ops->backup) {
		snprintf(err, errlen,
			 "a %s store has no backup here: use %s's own (its "
			 "persistence files, or a replica)",
			 ops->name, ops->name);
		return OTP_ETYPE;
	}
	return ops->backup(url + strlen(ops->scheme), dest, err, errlen);
}

int otp_store_beside(const char *url, const char *def, const char *suffix,
		     char *out, size_t cap)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	char dir[4096];
	int n;
	if (ops && (ops->caps & OTP_STORE_CAP_FILE)) {
		n = snprintf(out, cap, "%s%s", url + strlen(ops->scheme),
			     suffix);
	} else {
		otp_store_home(url, def, dir, sizeof dir);
		n = snprintf(out, cap, "%s/otpd%s", dir, suffix);
	}
	return n < 0 || (size_t)n >= cap ? OTP_ETYPE : 0;
}

int otp_store_lock(const char *url, char *err, size_t errlen)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	if (!ops)
		return OTP_ETYPE;
	return ops->lock ? ops->lock(url + strlen(ops->scheme), err, errlen)
			 : 0;
}

int otp_store_track(const char *url, struct otp_session_cache *c,
		    struct otp_store_tracker **out)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	*out = NULL;
	if (!ops || !ops->track)
		return OTP_ETYPE;
	return ops->track(url + strlen(ops->scheme), c, out);
}

void otp_store_track_stop(struct otp_store_tracker *t)
{
	if (t)
		t->stop(t);
}

void otp_msg_deinit(struct otp_msg *m)
{
	free(m->body);
	m->body = NULL;
	m->body_len = 0;
}
