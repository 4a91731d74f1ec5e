/* login_page.c - the hosted login page as HTML, in the visitor's language,
 * and the two small files it loads (app.js, app.css).
 *
 * The page works without its script: both steps are plain forms posted to
 * /login. The script only adds what a plain form cannot: the WebOTP API
 * (the phone fills the code in from the SMS), a countdown on "send
 * again" while the cooldown lasts, and the proof of work of a step-up
 * (a send answered 428: the sending form carries the challenge, the
 * script finds the counter with Web Crypto and posts the form again with
 * it; without the script the page says that this step needs it). Every
 * word comes from login_text.h. What a post does is login.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "handlers/app.h"
#include "handlers/login_page.h"

static const char *const langs[OTP_LOGIN_NLANGS] = {OTP_LOGIN_LANGS};

static const char *const texts[T_COUNT_][OTP_LOGIN_NLANGS] = {
#define OTP_LOGIN_TEXT_ROW_(id, en, de) [id] = {en, de},
    OTP_LOGIN_TEXT(OTP_LOGIN_TEXT_ROW_)
#undef OTP_LOGIN_TEXT_ROW_
};

static const char app_js[] =
    "/* otpd login page: WebOTP, the send-again countdown and the step-up's\n"
    " * proof of work. The page works without this file, but for the\n"
    " * step-up. */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var d = document, webotp = 'OTPCredential' in window;\n"
    "  d.documentElement.setAttribute('data-webotp', webotp ? 'yes' : "
    "'no');\n"
    "  var code = d.getElementById('code');\n"
    "  if (code && webotp && navigator.credentials) {\n"
    "    var ac = new AbortController();\n"
    "    code.form.addEventListener('submit', function () { ac.abort(); "
    "});\n"
    "    navigator.credentials.get({otp: {transport: ['sms']}, signal: "
    "ac.signal})\n"
    "      .then(function (otp) {\n"
    "        if (otp && otp.code) { code.value = otp.code; "
    "code.form.submit(); }\n"
    "      }).catch(function () {});\n"
    "  }\n"
    "  Array.prototype.forEach.call(d.querySelectorAll('[data-wait]'), "
    "function (b) {\n"
    "    var left = parseInt(b.getAttribute('data-wait'), 10) || 0;\n"
    "    var label = b.textContent, later = b.getAttribute('data-later');\n"
    "    (function tick() {\n"
    "      if (left <= 0) { b.disabled = false; b.textContent = label; "
    "return; }\n"
    "      b.disabled = true;\n"
    "      b.textContent = later.replace('{n}', String(left));\n"
    "      left -= 1;\n"
    "      setTimeout(tick, 1000);\n"
    "    })();\n"
    "  });\n"
    /* The step-up: the first counter c for which SHA-256("<challenge>.c")
     * starts with the challenge's bits of zeros (abuse/pow.h). Digests go
     * in batches: Web Crypto works them off the main thread, and the page
     * stays responsive between two batches. */
    "  var pf = d.querySelector('form[data-pow]'), ps = "
    "d.getElementById('pow-status');\n"
    "  if (pf && ps) {\n"
    "    var ch = pf.getAttribute('data-pow'), bits = "
    "parseInt(ch.split('.')[1], 10);\n"
    "    var subtle = window.crypto && window.crypto.subtle;\n"
    "    var fail = function () { ps.textContent = "
    "ps.getAttribute('data-fail'); };\n"
    "    var zeros = function (h) {\n"
    "      var b = new Uint8Array(h), i = 0, z = bits;\n"
    "      for (; z >= 8; z -= 8) if (b[i++] !== 0) return false;\n"
    "      return z === 0 || (b[i] >> (8 - z)) === 0;\n"
    "    };\n"
    "    if (!subtle || !window.TextEncoder || !(bits > 0)) fail();\n"
    "    else {\n"
    "      ps.textContent = ps.getAttribute('data-text');\n"
    "      var btn = pf.querySelector('button[type=submit]');\n"
    "      if (btn) btn.disabled = true;\n"
    "      var enc = new TextEncoder(), n = 0, BATCH = 1024;\n"
    "      (function batch() {\n"
    "        var all = [];\n"
    "        for (var i = 0; i < BATCH; i++)\n"
    "          all.push(subtle.digest('SHA-256', enc.encode(ch + '.' + "
    "(n + i))));\n"
    "        Promise.all(all).then(function (hs) {\n"
    "          for (var i = 0; i < hs.length; i++)\n"
    "            if (zeros(hs[i])) {\n"
    "              pf.elements.pow.value = ch + '.' + (n + i);\n"
    "              pf.submit();\n"
    "              return;\n"
    "            }\n"
    "          n += BATCH;\n"
    "          batch();\n"
    "        }, fail);\n"
    "      })();\n"
    "    }\n"
    "  }\n"
    "})();\n";

static const char app_css[] =
    ":root{color-scheme:light;--ink:#1b1b1f;--muted:#4a4a55;--brand:#0b57d0;"
    "--bad:#b3261e;--bg:#f3f4f7}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;min-height:100vh;display:flex;align-items:center;"
    "justify-content:center;background:var(--bg);color:var(--ink);"
    "font:1rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\n"
    "main{background:#fff;width:min(24rem,92vw);padding:2rem 1.75rem;"
    "border-radius:12px;box-shadow:0 1px 3px #0002,0 8px 24px #0001}\n"
    "h1{font-size:1.5rem;margin:0 0 .25rem}\n"
    ".sub{margin:0 0 1.25rem;color:var(--muted)}\n"
    "label{display:block;font-weight:600;margin:0 0 .35rem}\n"
    "input{display:block;width:100%;font:inherit;font-size:1.2rem;"
    "padding:.6rem .75rem;border:2px solid #6b6b78;border-radius:8px;"
    "color:var(--ink);background:#fff}\n"
    "input#code{letter-spacing:.3em;font-variant-numeric:tabular-nums}\n"
    ".hint{margin:.35rem 0 1rem;color:var(--muted);font-size:.9rem}\n"
    "button{font:inherit;font-weight:600;cursor:pointer;border-radius:8px}\n"
    "button[type=submit]{display:block;width:100%;margin-top:1rem;"
    "padding:.7rem;border:0;background:var(--brand);color:#fff}\n"
    "button.link{width:auto;display:inline;margin:0;padding:.25rem 0;"
    "background:none;color:var(--brand);text-decoration:underline}\n"
    "button:disabled{cursor:default;opacity:1;background:#d9dbe1;"
    "color:#3b3b45}\n"
    "button.link:disabled{background:none;color:var(--muted);"
    "text-decoration:none}\n"
    ":focus-visible{outline:3px solid var(--brand);outline-offset:2px}\n"
    "input:focus-visible{outline-offset:0;border-color:var(--brand)}\n"
    ".error{margin:0 0 1rem;padding:.6rem .75rem;border-left:4px solid "
    "var(--bad);background:#fdecea;color:#8c1d18;border-radius:4px}\n"
    ".status{margin:0 0 1rem;color:var(--muted)}\n"
    ".status:empty{display:none}\n"
    ".row{display:flex;justify-content:space-between;align-items:center;"
    "gap:1rem;margin-top:1rem;flex-wrap:wrap}\n"
    "a{color:var(--brand)}\n";

struct asset {
	const char *name;
	const char *type;
	const char *body;
	size_t len;
};

static const struct asset assets[] = {
    {"app.js", "text/javascript; charset=utf-8", app_js, sizeof app_js - 1},
    {"app.css", "text/css; charset=utf-8", app_css, sizeof app_css - 1},
};

/* FNV-1a of both files: the ?v= that lets them be cached for a year. */
static unsigned long assets_version(void)
{
	unsigned long h = 2166136261u;
	for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
		for (size_t j = 0; j < assets[i].len; j++)
			h = ((h ^ (unsigned char)assets[i].body[j]) *
			     16777619u) &
			    0xffffffffu;
	return h;
}

int otp_login_lang(const char *al)
{
	while (al && *al) {
		al += strspn(al, " ,");
		size_t n = strcspn(al, "-;, ");
		size_t item = strcspn(al, ",");
		const char *q = memchr(al, ';', item);
		bool refused =
		    q && strncmp(q, ";q=0", 4) == 0 &&
		    strspn(q + 4, ".0") == item - (size_t)(q + 4 - al);
		for (int i = 0; i < OTP_LOGIN_NLANGS && !refused; i++)
			if (n == strlen(langs[i]) &&
			    strncasecmp(al, langs[i], n) == 0)
				return i;
		al += item;
	}
	return 0;
}

void otp_login_headers(struct otp_req *r)
{
	const char *extra = otp_app()->cfg->login_redirect_hosts;
	char csp[1400];
	size_t n = (size_t)snprintf(
	    csp, sizeof csp,
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self'; connect-src 'self'; base-uri 'none'; "
	    "frame-ancestors 'none'; form-action 'self'");
	/* A login that goes back to another listed site is a form post
	 * redirected there: form-action must name it. */
	for (const char *p = extra; *p && n + 2 < sizeof csp;) {
		size_t len = strcspn(p, ",");
		n += (size_t)snprintf(csp + n, sizeof csp - n, " %.*s",
				      (int)len, p);
		p += len + (p[len] == ',');
	}
	otp_req_add_header(r, "Content-Security-Policy", csp);
	otp_req_add_header(r, "X-Content-Type-Options", "nosniff");
	otp_req_add_header(r, "Referrer-Policy", "no-referrer");
	otp_req_add_header(r, "X-Frame-Options", "DENY");
}

/* Text with &<>"' escaped. */
static void esc(FILE *f, const char *s)
{
	static const char special[] = "&<>\"'";
	static const char *const entity[] = {"&amp;", "&lt;", "&gt;", "&quot;",
					     "&#39;"};
	for (; *s; s++) {
		const char *at = strchr(special, *s);
		if (at)
			fputs(entity[at - special], f);
		else
			fputc(*s, f);
	}
}

/* A table text, escaped, with {n} replaced by n when n >= 0. */
static void text(FILE *f, const struct otp_login_view *v, int id, int64_t n)
{
	const char *s = texts[id][v->lang];
	const char *at = n >= 0 ? strstr(s, "{n}") : NULL;
	if (!at) {
		esc(f, s);
		return;
	}
	char head[256];
	snprintf(head, sizeof head, "%.*s", (int)(at - s), s);
	esc(f, head);
	fprintf(f, "%lld", (long long)n);
	esc(f, at + 3);
}

static void hidden(FILE *f, const char *name, const char *value)
{
	fprintf(f, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	esc(f, value);
	fputs("\">", f);
}

/* A submit button; while v->wait_s lasts, the script disables it and
 * counts down ("{n}" of T_RESEND_IN). */
static void submit(FILE *f, const struct otp_login_view *v, const char *attrs,
		   int label)
{
	fprintf(f, "<button type=\"submit\"%s", attrs);
	if (v->wait_s > 0) {
		fprintf(f, " data-wait=\"%lld\" data-later=\"",
			(long long)v->wait_s);
		text(f, v, T_RESEND_IN, -1);
		fputc('"', f);
	}
	fputc('>', f);
	text(f, v, label, -1);
	fputs("</button>", f);
}

/* A form posted to /login that carries rd (and the phone, if any). The
 * form that sends a code carries a step-up's challenge, and the field
 * the script puts its solution in. */
static void form_open(FILE *f, const struct otp_login_view *v,
		      const char *attrs, bool with_phone, bool sends)
{
	fprintf(f, "<form method=\"post\" action=\"/login\"%s", attrs);
	if (sends && v->challenge) {
		fputs(" data-pow=\"", f);
		esc(f, v->challenge);
		fputs("\">", f);
		hidden(f, "pow", "");
	} else {
		fputc('>', f);
	}
	hidden(f, "rd", v->rd);
	if (with_phone)
		hidden(f, "phone", v->phone);
	if (with_phone && v->until_s > 0) {
		char until[24];
		snprintf(until, sizeof until, "%lld", (long long)v->until_s);
		hidden(f, "until", until);
	}
}

/* A labelled input named `id`, its tag left open for more attributes. */
static void field(FILE *f, const struct otp_login_view *v, const char *id,
		  int label, const char *attrs)
{
	fprintf(f, "<label for=\"%s\">", id);
	text(f, v, label, -1);
	fprintf(f, "</label><input id=\"%s\" name=\"%s\" %s", id, id, attrs);
}

/* A step-up's words: what the script says while it works (a live
 * region, empty until then), or that it cannot; and without it, that
 * this step needs it. */
static void pow_notes(FILE *f, const struct otp_login_view *v)
{
	fputs("<p class=\"status\" id=\"pow-status\" role=\"status\" "
	      "aria-live=\"polite\" data-text=\"",
	      f);
	text(f, v, T_POW_CHECKING, -1);
	fputs("\" data-fail=\"", f);
	text(f, v, T_POW_FAILED, -1);
	fputs("\"></p><noscript><p class=\"error\" id=\"err\" "
	      "role=\"alert\">",
	      f);
	text(f, v, T_POW_NOJS, -1);
	fputs("</p></noscript>", f);
}

static void phone_step(FILE *f, const struct otp_login_view *v)
{
	form_open(f, v, " novalidate", false, true);
	field(f, v, "phone", T_PHONE_LABEL,
	      "type=\"tel\" autocomplete=\"tel\" inputmode=\"tel\" required "
	      "autofocus aria-describedby=\"phone-hint");
	fputs(v->msg != T_NONE ? " err\"" : "\"", f);
	if (v->msg != T_NONE)
		fputs(" aria-invalid=\"true\"", f);
	if (v->phone && v->phone[0]) {
		fputs(" value=\"", f);
		esc(f, v->phone);
		fputc('"', f);
	}
	fputs("><p class=\"hint\" id=\"phone-hint\">", f);
	text(f, v, T_PHONE_HINT, -1);
	fputs("</p>", f);
	submit(f, v, "", T_SEND);
	fputs("</form>", f);
}

static void code_step(FILE *f, const struct otp_login_view *v)
{
	char masked[OTP_PHONE_MAX];
	otp_phone_mask(v->phone, masked);
	fputs("<p id=\"sent\">", f);
	text(f, v, T_SENT_TO, -1);
	fputs(" <strong>", f);
	esc(f, masked);
	fputs("</strong>.</p>", f);
	form_open(f, v, " id=\"code-form\"", true, false);
	field(f, v, "code", T_CODE_LABEL,
	      "type=\"text\" inputmode=\"numeric\" "
	      "autocomplete=\"one-time-code\" "
	      "pattern=\"[0-9]*\" maxlength=\"10\" required autofocus");
	if (v->msg != T_NONE)
		fputs(" aria-invalid=\"true\" aria-describedby=\"err\"", f);
	fputs("><button type=\"submit\">", f);
	text(f, v, T_VERIFY, -1);
	fputs("</button></form><div class=\"row\">", f);
	form_open(f, v, "", true, true);
	hidden(f, "resend", "1");
	submit(f, v, " class=\"link\" id=\"resend\"", T_RESEND);
	fputs("</form><a href=\"/login?rd=", f);
	for (const unsigned char *p = (const unsigned char *)v->rd; *p; p++)
		if (isalnum(*p) || strchr("-._~/", *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	fputs("\">", f);
	text(f, v, T_OTHER_NUMBER, -1);
	fputs("</a></div>", f);
}

int otp_login_render(struct otp_req *r, int status,
		     const struct otp_login_view *v)
{
	const char *app = otp_app()->cfg->app_name;
	unsigned long ver = assets_version();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return OTP_EINTERNAL;
	fprintf(f,
		"<!doctype html>\n<html lang=\"%s\"><head>"
		"<meta charset=\"utf-8\">"
		"<meta name=\"viewport\" "
		"content=\"width=device-width,initial-scale=1\">"
		"<title>",
		langs[v->lang]);
	text(f, v, T_TITLE, -1);
	fputs(" · ", f);
	esc(f, app);
	fprintf(
	    f,
	    "</title><link rel=\"stylesheet\" href=\"/login/app.css?v=%lx\">"
	    "<script src=\"/login/app.js?v=%lx\" defer></script></head>"
	    "<body><main><h1>",
	    ver, ver);
	esc(f, app);
	fputs("</h1><p class=\"sub\">", f);
	text(f, v, T_TITLE, -1);
	fputs("</p>", f);
	if (v->msg != T_NONE) {
		fputs("<p class=\"error\" id=\"err\" role=\"alert\">", f);
		text(f, v, v->msg, v->n);
		fputs("</p>", f);
	}
	if (v->challenge)
		pow_notes(f, v);
	if (v->code_step)
		code_step(f, v);
	else
		phone_step(f, v);
	fputs("</main></body></html>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return OTP_EINTERNAL;
	}
	otp_login_headers(r);
	otp_req_add_header(r, "Cache-Control", "no-store");
	otp_req_add_header(r, "Content-Language", langs[v->lang]);
	otp_req_add_header(r, "Vary", "Accept-Language");
	otp_req_set_body(r, status, "text/html; charset=utf-8", buf, len);
	return 0;
}

int otp_login_asset(struct otp_req *r, const char *name)
{
	for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
		if (strcmp(name, assets[i].name) != 0)
			continue;
		char *body = malloc(assets[i].len);
		if (!body)
			return OTP_EINTERNAL;
		memcpy(body, assets[i].body, assets[i].len);
		otp_req_add_header(r, "X-Content-Type-Options", "nosniff");
		otp_req_add_header(r, "Cache-Control",
				   "public, max-age=31536000, immutable");
		otp_req_set_body(r, 200, assets[i].type, body, assets[i].len);
		return 0;
	}
	return OTP_ENOTFOUND;
}
