/* app.c - the handlers' shared context and per-thread store handles (each
 * behind the process's session cache when the store allows it: a store
 * this process alone writes, or one whose backend tracks the other
 * processes' writes for it, store.h's track). */
#include "handlers/app.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/fiber.h"
#include "core/log.h"
#include "engine/apikey.h"
#include "engine/delivery.h"
#include "store/store_cache.h"

static struct otp_app the_app;
static pthread_key_t store_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
/* The sessions of every thread's handle (--session-cache): made with the
 * first handle, kept for the life of the process; on a shared store with
 * the tracker that keeps them coherent, stopped by otp_app_deinit. */
static struct otp_session_cache *sessions;
static struct otp_store_tracker *tracker;
static pthread_once_t sessions_once = PTHREAD_ONCE_INIT;
static bool draining; /* set once by main, read by /readyz: atomics */

static void make_sessions(void)
{
	if (!the_app.cfg || the_app.cfg->session_cache <= 0)
		return;
	const struct otp_store_ops *ops = otp_store_backend(the_app.store_url);
	bool alone = ops && (ops->caps & OTP_STORE_CAP_ONE_PROCESS);
	if (!alone && !(ops && ops->track))
		return;
	sessions = otp_session_cache_new((size_t)the_app.cfg->session_cache);
	if (!alone &&
	    otp_store_track(the_app.store_url, sessions, &tracker) < 0) {
		otp_log(OTP_LOG_WARN, "session cache off: no tracker", NULL);
		otp_session_cache_free(sessions);
		sessions = NULL;
	}
}

static void close_store(void *p)
{
	otp_store_close(p);
}

static void make_key(void)
{
	if (pthread_key_create(&store_key, close_store) != 0)
		abort();
	otp_fibers_set_local_free(close_store);
}

void otp_app_init(const struct otp_app *app)
{
	the_app = *app;
	pthread_once(&key_once, make_key);
}

void otp_app_deinit(void)
{
	otp_store_track_stop(tracker);
	tracker = NULL;
}

void otp_app_set_draining(void)
{
	__atomic_store_n(&draining, true, __ATOMIC_RELEASE);
}

bool otp_app_draining(void)
{
	return __atomic_load_n(&draining, __ATOMIC_ACQUIRE);
}

const struct otp_app *otp_app(void)
{
	return &the_app;
}

int otp_app_store(struct otp_store **out)
{
	/* A fiber's handle is its own: a handle holds one operation's
	 * place in a batch, and another fiber of this thread may start one
	 * while this one waits for its COMMIT. */
	void **fl = otp_fiber_local();
	struct otp_store *s = fl ? *fl : pthread_getspecific(store_key);
	if (!s) {
		int rc = otp_store_open(the_app.store_url, &s);
		if (rc < 0) {
			static struct otp_log_every failed;
			long held;
			char n[OTP_LOG_NUM_LEN];
			if (otp_log_every_due(&failed, otp_clock_mono_ms(),
					      10000, &held))
				otp_log(OTP_LOG_ERROR, "store open failed",
					"error", otp_err_code(rc), "#repeated",
					otp_log_num(n, held), NULL);
			return OTP_EUNAVAIL;
		}
		/* Only a store no other process writes, or one whose
		 * tracker tells the cache of their writes, is cached. */
		pthread_once(&sessions_once, make_sessions);
		if (sessions)
			s = otp_store_cached_new(s, sessions);
		if (fl)
			*fl = s;
		else
			pthread_setspecific(store_key, s);
	}
	*out = s;
	return 0;
}

void otp_app_session_stats(uint64_t *hits, uint64_t *misses)
{
	*hits = *misses = 0;
	if (sessions)
		otp_session_cache_stats(sessions, hits, misses);
}

void otp_app_release(void)
{
	struct otp_store *s = pthread_getspecific(store_key);
	if (s) {
		pthread_setspecific(store_key, NULL);
		otp_store_close(s);
	}
}

/* A failed key check costs the caller's address a token of the per-IP
 * limit, so nobody can try keys at speed; a known key is limited per key
 * (the guard), never per IP: an app server calls from one address for all
 * its users. */
int otp_app_auth(struct otp_req *r)
{
	struct otp_store *s;
	const char *key = otp_req_header(r, "X-API-Key");
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	char id[OTP_KEY_ID_LEN + 1];
	rc = otp_apikey_check(s, &the_app.engine->ring, key,
			      key ? strlen(key) : 0, id);
	if (rc == 0) { /* only a known key's id is logged */
		snprintf(r->log_key, sizeof r->log_key, "%s", id);
		return 0;
	}
	if (rc == OTP_EAPIKEY) {
		int lim = otp_engine_limit_ip(the_app.engine, s, r->ip, r->now,
					      &r->retry_after_s);
		if (lim < 0)
			return lim;
	}
	return rc;
}

void otp_app_log_request(struct otp_req *r, const char *id)
{
	if (id && id[0])
		otp_engine_id_tag(the_app.engine, id, r->log_request,
				  sizeof r->log_request);
}

/* Runs before the handlers of routes without OTP_R_NOLIMIT: API-key routes
 * take a token of their key's limit, the others one of the client IP's. */
int otp_app_guard(struct otp_req *r)
{
	struct otp_store *s;
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	if (r->route->flags & OTP_R_APIKEY)
		return otp_engine_limit_key(the_app.engine, s, r->log_key,
					    r->now, &r->retry_after_s);
	return otp_engine_limit_ip(the_app.engine, s, r->ip, r->now,
				   &r->retry_after_s);
}
