/* app.h - what every handler shares: the engine, the settings, and the
 * calling thread's store handle.
 *
 * Set up once by main before the server starts; read-only afterwards. The
 * store handle is opened lazily on each server thread and closed when the
 * thread ends (one handle per thread, as store.h asks).
 */
#ifndef OTP_HANDLERS_APP_H
#define OTP_HANDLERS_APP_H

#include <stdbool.h>

#include "core/config.h"
#include "engine/engine.h"
#include "http/http.h"
#include "store/store.h"

struct otp_app {
	const struct otp_config *cfg;
	struct otp_engine *engine;
	const char *store_url;
};

/* Installs the shared context (main, once, before serving). */
void otp_app_init(const struct otp_app *app);
/* Closes the calling thread's handle, if any (main's thread at exit). */
void otp_app_release(void);
/* Stops the session cache's tracker, if the store has one (main, at exit,
 * once no thread serves: the cache's reads go to the store from then). */
void otp_app_deinit(void);

/* Marks the process as stopping (main, on SIGTERM, before the drain):
 * /readyz answers 503 from then on so that a balancer moves traffic away.
 * Thread-safe. */
void otp_app_set_draining(void);
bool otp_app_draining(void);

/* For handlers: the shared context and this thread's store handle
 * (0 or OTP_EUNAVAIL). */
const struct otp_app *otp_app(void);
int otp_app_store(struct otp_store **out);

/* The API key check, run by the server first on OTP_R_APIKEY routes. */
int otp_app_auth(struct otp_req *r);
/* The per-IP limit (and per-key limit on API-key routes), run by the server
 * before each limited route. */
int otp_app_guard(struct otp_req *r);
/* Names request id `id` (may be NULL or "") in r's log line by its keyed
 * tag (otp_id_tag: the delivery worker's lines carry the same), never in
 * clear. */
void otp_app_log_request(struct otp_req *r, const char *id);
/* The session cache's hits and misses so far (0 without a cache). */
void otp_app_session_stats(uint64_t *hits, uint64_t *misses);

/* The routes, for the server (routes.c). */
extern const struct otp_route otp_routes[];
extern const size_t otp_nroutes;
/* The admin listener's routes (--admin-listen): /metrics and the probes. */
extern const struct otp_route otp_admin_routes[];
extern const size_t otp_admin_nroutes;

/* Handlers (auth.c, ops.c). */
int otp_h_send_otp(struct otp_req *r);
int otp_h_verify_otp(struct otp_req *r);
int otp_h_session(struct otp_req *r);
int otp_h_logout(struct otp_req *r);
int otp_h_check(struct otp_req *r);
/* The login API's send and verify, as the JSON routes and the login page
 * (login.c) both call them: engine call, session cookie, log phone. A
 * send's pow (or NULL) is a solved step-up challenge (abuse/pow.h); on
 * OTP_ESTEPUP out->challenge has a new one, bound to the session whose
 * cookie the answer sets. */
int otp_login_send(struct otp_req *r, const char *phone, size_t len,
		   const char *pow, size_t pow_len, struct otp_send_out *out);
int otp_login_verify(struct otp_req *r, const char *code, size_t code_len,
		     const char *phone, size_t phone_len,
		     struct otp_verify_res *res);
/* The hosted login page and its assets (login.c). */
int otp_h_login_page(struct otp_req *r);
int otp_h_login_post(struct otp_req *r);
int otp_h_login_asset(struct otp_req *r);
/* The server's error_page hook for the OTP_R_PAGE routes (/login). */
int otp_h_login_error_page(struct otp_req *r, const struct otp_error_parts *e);
/* rd itself if a login may go there (a same-site path, or under a
 * --login-redirect-hosts origin), else "/". */
const char *otp_login_safe_rd(const char *rd);
int otp_h_otp_send(struct otp_req *r);
int otp_h_otp_verify(struct otp_req *r);
int otp_h_otp_status(struct otp_req *r);
/* The provider API's error envelope (errors.c), a route's render_error. */
json_t *otp_h_envelope_error(const struct otp_error_parts *e);
int otp_h_healthz(struct otp_req *r);
int otp_h_readyz(struct otp_req *r);
int otp_h_metrics(struct otp_req *r);	 /* metrics.c */
int otp_h_kannel_dlr(struct otp_req *r); /* hooks.c */

#endif
