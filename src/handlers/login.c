/* login.c - the hosted login page's routes: GET /login (the phone step),
 * POST /login (a form post of the phone, then of the code), and its two
 * files under /login/.
 *
 * A post is answered with the next step's page, or after a right code with
 * a 303 to rd. rd is only ever a path on this site or a URL on a site
 * --login-redirect-hosts names; anything else goes to "/". A post from
 * another site's page is refused (Origin, Sec-Fetch-Site). The send and
 * verify rules are the engine's (through auth.c's otp_login_send and
 * otp_login_verify); the markup and words are login_page.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "abuse/pow.h"
#include "core/err.h"
#include "handlers/app.h"
#include "handlers/login_page.h"

#define RD_MAX 2048

/* Where a login may go: a path on this site ("/x", never "//x" or a
 * backslash, which browsers read as another host), or a URL under one of
 * the --login-redirect-hosts origins. Anything else: "/". */
const char *otp_login_safe_rd(const char *rd)
{
	const char *hosts = otp_app()->cfg->login_redirect_hosts;
	if (!rd || !rd[0] || strlen(rd) >= RD_MAX)
		return "/";
	for (const unsigned char *p = (const unsigned char *)rd; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '\\')
			return "/";
	if (rd[0] == '/')
		return rd[1] == '/' ? "/" : rd;
	while (*hosts) {
		size_t n = strcspn(hosts, ",");
		if (strncasecmp(rd, hosts, n) == 0 && strchr("/?#", rd[n]))
			return rd;
		hosts += n + (hosts[n] == ',');
	}
	return "/";
}

/* A browser's post from this site's own page. Sec-Fetch-Site (all current
 * browsers send it) must say same-origin; Origin, where it names one, must
 * be the Host posted to. Under Referrer-Policy no-referrer a browser sends
 * "Origin: null" even for its own page, so "null" counts only beside a
 * same-origin Sec-Fetch-Site. A client that sends neither header is no
 * browser acting for a visitor. */
static bool same_origin(struct otp_req *r)
{
	const char *site = otp_req_header(r, "Sec-Fetch-Site");
	const char *origin = otp_req_header(r, "Origin");
	const char *host = otp_req_header(r, "Host");
	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none"))
		return false;
	if (!origin || (site && strcmp(origin, "null") == 0))
		return true;
	if (strncmp(origin, "https://", 8) == 0)
		origin += 8;
	else if (strncmp(origin, "http://", 7) == 0)
		origin += 7;
	else
		return false; /* "null" from a client that hides where */
	return host && strcasecmp(origin, host) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Field `name` of an application/x-www-form-urlencoded body, decoded into
 * out (cap bytes). false, with out "", if absent, too long, badly escaped
 * or holding a NUL: half a field is never read as the whole. */
static bool form_get(const char *body, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	out[0] = '\0';
	for (const char *p = body, *amp; p && *p; p = amp ? amp + 1 : NULL) {
		size_t klen = strcspn(p, "=&");
		amp = strchr(p, '&');
		if (klen != nlen || strncmp(p, name, nlen) != 0 ||
		    p[klen] != '=')
			continue;
		size_t o = 0;
		for (const char *v = p + klen + 1; *v && *v != '&'; v++) {
			int c = (unsigned char)*v;
			if (c == '+')
				c = ' ';
			else if (c == '%') {
				int hi = hexval(v[1]),
				    lo = hi < 0 ? -1 : hexval(v[2]);
				if (lo < 0) {
					out[0] = '\0';
					return false;
				}
				c = hi * 16 + lo;
				v += 2;
			}
			if (c == 0 || o + 1 >= cap) {
				out[0] = '\0';
				return false;
			}
			out[o++] = (char)c;
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* The words for an error of the send or verify step. */
static int error_text(int err)
{
	static const struct {
		int err, text;
	} map[] = {
	    {OTP_EPHONE, T_E_PHONE},	 {OTP_ENATIONAL, T_E_PHONE},
	    {OTP_ENUMTYPE, T_E_PHONE},	 {OTP_EMISSING, T_E_PHONE},
	    {OTP_EDENIED, T_E_DENIED},	 {OTP_ELIMITED, T_E_LIMITED},
	    {OTP_ECODEFMT, T_E_CODEFMT}, {OTP_EEXPIRED, T_E_EXPIRED},
	    {OTP_EGONE, T_E_EXPIRED},	 {OTP_EUPSTREAM, T_E_UPSTREAM},
	    {OTP_EFRAUD, T_E_FRAUD},	 {OTP_ESPEND, T_E_SPEND},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].err == err)
			return map[i].text;
	if (otp_err_limited(err))
		return T_E_LIMITED;
	int status = otp_err_status(err);
	return status >= 400 && status < 500 ? T_E_BAD : T_E_OTHER;
}

static void view_init(struct otp_req *r, struct otp_login_view *v,
		      const char *rd)
{
	*v = (struct otp_login_view){
	    .lang = otp_login_lang(otp_req_header(r, "Accept-Language")),
	    .rd = otp_login_safe_rd(rd),
	    .msg = T_NONE,
	    .n = -1,
	};
}

int otp_h_login_page(struct otp_req *r)
{
	struct otp_login_view v;
	view_init(r, &v, otp_req_query(r, "rd"));
	return otp_login_render(r, 200, &v);
}

static int verify_step(struct otp_req *r, struct otp_login_view *v,
		       const char *code, const char *phone)
{
	struct otp_verify_res res;
	int rc = otp_login_verify(r, code, strlen(code),
				  phone[0] ? phone : NULL, strlen(phone), &res);
	if (rc == 0 && res.verified) {
		otp_login_headers(r);
		otp_req_add_header(r, "Cache-Control", "no-store");
		return otp_req_redirect(r, 303, v->rd);
	}
	v->code_step = true;
	v->phone = phone;
	if (rc < 0) {
		v->msg = error_text(rc);
		return otp_login_render(r, otp_err_status(rc), v);
	}
	v->msg = res.attempts_left > 0 ? T_E_WRONG : T_E_DEAD;
	v->n = res.attempts_left;
	return otp_login_render(r, 401, v);
}

/* A send; one answered 428 comes back as the same step with the
 * challenge on its sending form, for the script to solve and post again
 * (with "pow"), or without the script to say that it needs it. */
static int send_step(struct otp_req *r, struct otp_login_view *v,
		     const char *phone, bool resend)
{
	struct otp_send_out out;
	char pow[OTP_POW_MAX];
	memset(&out, 0, sizeof out);
	form_get(r->body, "pow", pow, sizeof pow);
	int rc = otp_login_send(r, phone, strlen(phone), pow[0] ? pow : NULL,
				strlen(pow), &out);
	v->code_step = rc == 0 || resend;
	v->phone = rc == 0 ? out.phone : phone;
	if (rc == OTP_ESTEPUP) {
		v->challenge = out.challenge;
		return otp_login_render(r, otp_err_status(rc), v);
	}
	if (rc == 0 || otp_err_limited(rc)) {
		v->wait_s = out.retry_after_s;
		v->until_s = r->now / 1000 + out.retry_after_s;
	}
	if (rc == 0)
		return otp_login_render(r, 200, v);
	v->msg = error_text(rc);
	v->n = out.retry_after_s;
	return otp_login_render(r, otp_err_status(rc), v);
}

/* The code step's forms carry when "send again" may be pressed (from the
 * send's retry_after), so that a page after a wrong code still counts
 * down. Only what the page shows: the cooldown itself is the engine's. */
static void keep_cooldown(struct otp_req *r, struct otp_login_view *v)
{
	char until[24];
	int64_t u = 0, now_s = r->now / 1000;
	if (!form_get(r->body, "until", until, sizeof until) || !until[0] ||
	    strspn(until, "0123456789") != strlen(until) || strlen(until) > 12)
		return;
	for (const char *p = until; *p; p++)
		u = u * 10 + (*p - '0');
	if (u > now_s && u - now_s <= 3600) {
		v->until_s = u;
		v->wait_s = u - now_s;
	}
}

int otp_h_login_post(struct otp_req *r)
{
	struct otp_login_view v;
	char rd[RD_MAX], phone[64] = "", code[32], flag[4];
	if (!form_get(r->body, "rd", rd, sizeof rd))
		rd[0] = '\0';
	view_init(r, &v, rd);
	if (!same_origin(r)) {
		static const char msg[] = "cross-site form post refused\n";
		char *body = malloc(sizeof msg - 1);
		if (!body)
			return OTP_EINTERNAL;
		memcpy(body, msg, sizeof msg - 1);
		otp_login_headers(r);
		otp_req_set_body(r, 403, "text/plain; charset=utf-8", body,
				 sizeof msg - 1);
		return 0;
	}
	form_get(r->body, "phone", phone, sizeof phone);
	keep_cooldown(r, &v);
	bool resend = form_get(r->body, "resend", flag, sizeof flag);
	if (!resend && form_get(r->body, "code", code, sizeof code))
		return verify_step(r, &v, code, phone);
	return send_step(r, &v, phone, resend);
}

/* An error the server found before (or instead of) the handlers above:
 * the per-IP limit, a body over the route's cap, a store down. A person
 * posted a form, so the answer is the page again, with the error in
 * words, at the step they were on (rd and the phone kept when the body
 * was read). */
int otp_h_login_error_page(struct otp_req *r, const struct otp_error_parts *e)
{
	struct otp_login_view v;
	char rd[RD_MAX], phone[64], code[32];
	const char *body = strcmp(r->method, "POST") == 0 ? r->body : NULL;
	const char *q = otp_req_query(r, "rd");
	if (!form_get(body, "rd", rd, sizeof rd))
		snprintf(rd, sizeof rd, "%s", !body && q ? q : "");
	view_init(r, &v, rd);
	form_get(body, "phone", phone, sizeof phone);
	v.code_step = phone[0] && form_get(body, "code", code, sizeof code);
	v.phone = phone;
	if (v.code_step)
		keep_cooldown(r, &v);
	v.msg = error_text(e->err);
	v.n = e->retry_after_s;
	return otp_login_render(r, e->status, &v);
}

int otp_h_login_asset(struct otp_req *r)
{
	return otp_login_asset(r, r->param);
}
