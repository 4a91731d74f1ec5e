/* router.c - from a request to its handler: the route table's lookup
 * (404, or 405 with the path's Allow), the request's accessors for
 * handlers, the dispatch (who asks, the strict JSON parse, the guard, the
 * handler), and an error as its body: the login API's {"error","code"} or
 * the provider envelope, or a shared answer made once at start. Not here:
 * which routes exist (src/handlers/routes.c), writing the answer
 * (respond.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/cookie.h"
#include "http/internal.h"

const struct otp_route *otp_http_find_route(const struct otp_http *h,
					    const char *method,
					    const char *path,
					    const char **param, char *allow,
					    size_t allow_cap)
{
	bool path_seen = false;
	allow[0] = '\0';
	for (size_t i = 0; i < h->cfg.nroutes; i++) {
		const struct otp_route *rt = &h->cfg.routes[i];
		size_t n = strlen(rt->path);
		bool match;
		if (rt->flags & OTP_R_PREFIX)
			match = strncmp(path, rt->path, n) == 0 && path[n] &&
				!strchr(path + n, '/');
		else
			match = strcmp(path, rt->path) == 0;
		if (!match)
			continue;
		if (strcmp(method, rt->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		     strcmp(rt->method, "GET") == 0)) {
			*param = (rt->flags & OTP_R_PREFIX) ? path + n : "";
			return rt;
		}
		if (!strstr(allow, rt->method)) {
			size_t used = strlen(allow);
			snprintf(allow + used, allow_cap - used, "%s%s",
				 path_seen ? ", " : "", rt->method);
		}
		path_seen = true;
	}
	return NULL;
}

const char *otp_req_header(struct otp_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *otp_req_query(struct otp_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

const char *otp_req_cookie(struct otp_req *r, const char *name, size_t *len)
{
	const char *v;
	const char *hdr = otp_req_header(r, MHD_HTTP_HEADER_COOKIE);
	if (!otp_cookie_find(hdr, name, &v, len))
		return NULL;
	return v;
}

bool otp_http_is_json(const char *ct)
{
	static const char want[] = "application/json";
	if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
		return false;
	char next = ct[sizeof want - 1];
	return next == '\0' || next == ';' || next == ' ';
}

/* Is err's answer the same for every request, so a shared one can go out:
 * the default {"error", "code"} and no header of the request's own? */
static bool plain_error(const struct ctx *c, int err)
{
	const struct otp_req *r = &c->r;
	return -err > 0 && -err < OTP_ERR_COUNT_ &&
	       !(r->route && r->route->render_error) &&
	       !(r->route && (r->route->flags & OTP_R_PAGE) &&
		 c->h->cfg.error_page) &&
	       !r->log_field && !(err == OTP_EUNKNOWN && c->unknown[0]) &&
	       !otp_err_waits(err) && !r->set_cookie[0] && !r->auth_phone[0] &&
	       !r->allow && !r->cors_origin && !c->close && !r->nheaders &&
	       !r->error_extra;
}

json_t *otp_error_extras(json_t *o, const struct otp_error_parts *e)
{
	if (e->field)
		json_object_set_new(o, "field", json_string(e->field));
	if (e->retry_after_s > 0)
		json_object_set_new(o, "retry_after",
				    json_integer(e->retry_after_s));
	if (e->extra)
		json_object_update(o, (json_t *)e->extra);
	return o;
}

/* The login API's error: {"error": message, "code": wire[, "field"]
 * [, "retry_after"][, the handler's extra fields]}. */
static json_t *default_error(const struct otp_error_parts *e)
{
	return otp_error_extras(
	    json_pack("{s:s, s:s}", "error", e->message, "code", e->code), e);
}

/* An error as its route renders it (src/handlers/ for the provider API's
 * envelope). A plain error builds nothing: its answer was made at start.
 * Every 503 says when to come back (Retry-After). */
void otp_http_error_body(struct ctx *c, int err)
{
	struct otp_req *r = &c->r;
	json_decref(r->out);
	r->out = NULL;
	free(r->raw);
	r->raw = NULL;
	r->status = otp_err_status(err);
	c->answer_err = err;
	if (!otp_err_waits(err))
		r->retry_after_s = r->status == 503 ? UNAVAIL_RETRY_S : 0;
	if (plain_error(c, err)) {
		c->plain = true;
		r->retry_after_s = 0;
		return;
	}
	struct otp_error_parts e = {
	    .err = err,
	    .status = r->status,
	    .code = otp_err_code(err),
	    .message = otp_err_message(err),
	    .field = r->log_field			    ? r->log_field
		     : err == OTP_EUNKNOWN && c->unknown[0] ? c->unknown
							    : NULL,
	    .retry_after_s = otp_err_waits(err) ? r->retry_after_s : 0,
	    .extra = r->error_extra,
	};
	if (r->route && (r->route->flags & OTP_R_PAGE) &&
	    c->h->cfg.error_page && c->h->cfg.error_page(r, &e) == 0)
		return;
	r->out = r->route && r->route->render_error ? r->route->render_error(&e)
						    : default_error(&e);
}

bool otp_http_dispatch(struct ctx *c)
{
	struct otp_req *r = &c->r;
	const struct otp_route *rt = r->route;
	json_t *in = NULL;
	int rc = 0;
	r->body = c->len ? c->body : ""; /* c->body may be an old request's */
	r->body_len = c->len;
	/* Who asks comes first (read-only); then parsing, which is pure: bad
	 * input is refused before any state is written, the per-IP bucket
	 * included. */
	if ((rt->flags & OTP_R_APIKEY) && c->h->cfg.auth)
		rc = c->h->cfg.auth(r);
	if (rc == 0 && (rt->flags & OTP_R_JSON))
		rc =
		    otp_json_parse(r->body, r->body_len, rt->fields,
				   rt->nfields, &in, &r->log_field, c->unknown);
	if (rc == 0 && !(rt->flags & OTP_R_NOLIMIT) && c->h->cfg.guard)
		rc = c->h->cfg.guard(r);
	if (rc == 0) {
		r->in = in;
		r->status = 200;
		rc = rt->fn(r);
		r->in = NULL;
	}
	json_decref(in);
	if (rc < 0)
		otp_http_error_body(c, rc);
	return rc == OTP_DEFERRED;
}

/* The shared answers of plain errors: the same bytes error_body and respond
 * would make for them. */
void otp_http_make_plain(struct otp_http *h)
{
	for (int i = 1; i < OTP_ERR_COUNT_; i++) {
		json_t *e =
		    json_pack("{s:s, s:s}", "error", otp_err_message(-i),
			      "code", otp_err_code(-i));
		char *s = json_dumps(e, JSON_COMPACT);
		size_t n = strlen(s);
		s[n] = '\n'; /* json_dumps leaves room for the NUL */
		h->plain[i] = MHD_create_response_from_buffer(
		    n + 1, s, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(h->plain[i],
					MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
		MHD_add_response_header(h->plain[i], "Cache-Control",
					"no-store");
		if (otp_err_status(-i) == 503)
			MHD_add_response_header(h->plain[i],
						MHD_HTTP_HEADER_RETRY_AFTER,
						UNAVAIL_RETRY_TEXT);
		json_decref(e);
	}
}

void otp_http_free_plain(struct otp_http *h)
{
	for (int i = 1; i < OTP_ERR_COUNT_; i++)
		if (h->plain[i])
			MHD_destroy_response(h->plain[i]);
}
