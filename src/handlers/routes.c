/* routes.c - the one table of URLs otpd answers. */
#include "abuse/pow.h"
#include "handlers/app.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct otp_jfield send_fields[] = {
    {"phone", OTP_J_STRING, true, 64},
    /* a solved step-up challenge (abuse/pow.h) */
    {"pow", OTP_J_STRING, false, OTP_POW_MAX - 1},
};

/* The provider API's bodies (StartMessaging's names). */
static const struct otp_jfield otp_send_fields[] = {
    {"phoneNumber", OTP_J_STRING, true, 64},
    {"idempotencyKey", OTP_J_STRING, false, 128},
    {"otpLength", OTP_J_INT, false, 0},
    {"expirySeconds", OTP_J_INT, false, 0},
};

static const struct otp_jfield otp_verify_fields[] = {
    {"requestId", OTP_J_STRING, true, 64},
    {"otpCode", OTP_J_STRING, true, 32},
};

static const struct otp_jfield verify_fields[] = {
    {"code", OTP_J_STRING, true, 32},
    {"phone", OTP_J_STRING, false, 64},
};

const struct otp_route otp_routes[] = {
    /* login API (DESIGN.md 1.1) */
    {"POST", "/auth/send-otp", otp_h_send_otp, OTP_R_JSON | OTP_R_WAITS, 0,
     send_fields, LEN(send_fields), NULL, NULL},
    {"POST", "/auth/verify-otp", otp_h_verify_otp, OTP_R_JSON | OTP_R_WAITS, 0,
     verify_fields, LEN(verify_fields), NULL, NULL},
    /* Session reads do no SMS work and need a 256-bit token: not throttled
     * (behind nginx every page view calls check from nginx's address). */
    {"GET", "/auth/session", otp_h_session, OTP_R_NOLIMIT, 0, NULL, 0, NULL,
     NULL},
    {"POST", "/auth/logout", otp_h_logout, OTP_R_WAITS, 0, NULL, 0, NULL, NULL},
    {"GET", "/auth/check", otp_h_check, OTP_R_QUIET | OTP_R_NOLIMIT, 0, NULL, 0,
     NULL, NULL},
    /* the hosted login page (login.c): the page does no SMS work, the
     * form post is limited like the API it calls */
    {"GET", "/login", otp_h_login_page, OTP_R_NOLIMIT | OTP_R_PAGE, 0, NULL, 0,
     NULL, NULL},
    {"POST", "/login", otp_h_login_post, OTP_R_PAGE | OTP_R_WAITS, 4096, NULL,
     0, NULL, NULL},
    {"GET", "/login/", otp_h_login_asset,
     OTP_R_PREFIX | OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0, "/login/{file}",
     NULL},
    /* provider API (DESIGN.md 1.2): X-API-Key, errors in its envelope */
    {"POST", "/otp/send", otp_h_otp_send,
     OTP_R_JSON | OTP_R_APIKEY | OTP_R_WAITS, 0, otp_send_fields,
     LEN(otp_send_fields), NULL, otp_h_envelope_error},
    {"POST", "/otp/verify", otp_h_otp_verify,
     OTP_R_JSON | OTP_R_APIKEY | OTP_R_WAITS, 0, otp_verify_fields,
     LEN(otp_verify_fields), NULL, otp_h_envelope_error},
    {"GET", "/otp/", otp_h_otp_status, OTP_R_PREFIX | OTP_R_APIKEY, 0, NULL, 0,
     "/otp/{id}", otp_h_envelope_error},
    /* operator face */
    {"GET", "/healthz", otp_h_healthz, OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0,
     NULL, NULL},
    {"GET", "/readyz", otp_h_readyz, OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0,
     NULL, NULL},
    /* gateway callbacks (authenticated by a per-message token) */
    /* A report that overtakes its ack sleeps for it (hooks.c): a thread. */
    {"GET", "/hooks/kannel/dlr", otp_h_kannel_dlr,
     OTP_R_NOLIMIT | OTP_R_WAITS | OTP_R_REMOTE, 0, NULL, 0, NULL, NULL},
    {"POST", "/hooks/kannel/dlr", otp_h_kannel_dlr,
     OTP_R_NOLIMIT | OTP_R_WAITS | OTP_R_REMOTE, 0, NULL, 0, NULL, NULL},
};
const size_t otp_nroutes = LEN(otp_routes);

/* The admin listener: never the public port, so that the login API's port
 * shows no counts. */
const struct otp_route otp_admin_routes[] = {
    {"GET", "/metrics", otp_h_metrics, OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0,
     NULL, NULL},
    {"GET", "/healthz", otp_h_healthz, OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0,
     NULL, NULL},
    {"GET", "/readyz", otp_h_readyz, OTP_R_NOLIMIT | OTP_R_QUIET, 0, NULL, 0,
     NULL, NULL},
};
const size_t otp_admin_nroutes = LEN(otp_admin_routes);
