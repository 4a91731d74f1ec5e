/* login_page.h - the login page's markup, language and assets, as the
 * login handlers (login.c) ask for them. What the page does with a post
 * (send, verify, where to go next) is login.c's.
 */
#ifndef OTP_HANDLERS_LOGIN_PAGE_H
#define OTP_HANDLERS_LOGIN_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "handlers/login_text.h"
#include "http/http.h"

struct otp_login_view {
	int lang;	   /* column of OTP_LOGIN_TEXT */
	bool code_step;	   /* false: ask for the phone; true: for the code */
	const char *rd;	   /* checked: where a login goes */
	const char *phone; /* code step: the E.164 the code went to */
	int msg;	   /* T_NONE, or the error shown */
	int64_t n;	   /* the {n} of msg */
	int64_t wait_s;	   /* > 0: "send again" waits this long */
	int64_t until_s;   /* > 0: when it may (epoch s), which the code
			      step's forms carry on for the next page */
	/* A step-up (428): the challenge the script solves before it posts
	 * the sending form again (abuse/pow.h), or NULL */
	const char *challenge;
};

/* The column for an Accept-Language header (NULL: the default). */
int otp_login_lang(const char *accept_language);
/* The security headers every answer of the page carries (strict CSP, no
 * framing, no sniffing, no referrer, no caching). */
void otp_login_headers(struct otp_req *r);
/* Answers the page for `v` with `status`. 0 or OTP_EINTERNAL. */
int otp_login_render(struct otp_req *r, int status,
		     const struct otp_login_view *v);
/* Answers /login/<name> (app.js, app.css) with a long cache, or
 * OTP_ENOTFOUND. */
int otp_login_asset(struct otp_req *r, const char *name);

#endif
