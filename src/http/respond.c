/* respond.c - a request's answer on the wire: its JSON or empty body,
 * the headers every answer may carry (Cache-Control, Set-Cookie,
 * X-Auth-Phone, Retry-After, Allow, CORS, Connection: close), and the two
 * answers kept instead of built: a passed check's 204 per connection and
 * the shared plain errors. Not here: what the answer says (the handlers,
 * router.c's error bodies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* Is `origin` one of the comma-separated exact origins of `list`? */
bool otp_http_origin_listed(const char *list, const char *origin)
{
	size_t n = strlen(origin);
	for (const char *p = list; p && *p;) {
		p += strspn(p, ", ");
		size_t len = strcspn(p, ", ");
		if (len == n && memcmp(p, origin, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* CORS for a listed origin: the answer may be read by that page's script,
 * cookies included (credentials); every other origin gets none of these
 * headers, so a browser keeps the answer from it. */
static void add_cors_headers(struct MHD_Response *resp, const struct ctx *c)
{
	const struct otp_req *r = &c->r;
	MHD_add_response_header(resp, "Vary", "Origin");
	if (!r->cors_origin)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin",
				r->cors_origin);
	MHD_add_response_header(resp, "Access-Control-Allow-Credentials",
				"true");
	if (!c->preflight)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", c->allow);
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				"Content-Type, X-API-Key");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
}

/* Did the handler set header `name` itself? */
static bool has_own_header(const struct otp_req *r, const char *name)
{
	for (unsigned i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->header_name[i], name) == 0)
			return true;
	return false;
}

static void add_common_headers(struct MHD_Response *resp, struct ctx *c)
{
	struct otp_req *r = &c->r;
	/* no-store unless the handler says otherwise (the login page's
	 * versioned files): two Cache-Control headers are one list to a
	 * cache, and its no-store would win */
	if (!has_own_header(r, "Cache-Control"))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->set_cookie[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
					r->set_cookie);
	if (r->auth_phone[0])
		MHD_add_response_header(resp, "X-Auth-Phone", r->auth_phone);
	if (r->retry_after_s > 0) {
		char v[24];
		snprintf(v, sizeof v, "%lld", (long long)r->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (c->h->cfg.cors_origins && c->h->cfg.cors_origins[0])
		add_cors_headers(resp, c);
	if (c->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	for (unsigned i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->header_name[i],
					r->header_value[i]);
}

/* A 204 whose only header of its own is X-Auth-Phone: the connection's kept
 * response (struct conn). */
static enum MHD_Result respond_passed(struct MHD_Connection *conn,
				      struct conn *cn,
				      const char phone[OTP_PHONE_MAX])
{
	if (!cn->passed) {
		cn->passed = MHD_create_response_from_buffer(
		    0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(cn->passed, "Cache-Control",
					"no-store");
		cn->passed_phone[0] = '\0';
	}
	if (strcmp(cn->passed_phone, phone) != 0) {
		if (cn->passed_phone[0])
			MHD_del_response_header(cn->passed, "X-Auth-Phone",
						cn->passed_phone);
		MHD_add_response_header(cn->passed, "X-Auth-Phone", phone);
		/* phone is r->auth_phone, of the same size */
		memcpy(cn->passed_phone, phone, strlen(phone) + 1);
	}
	return MHD_queue_response(conn, 204, cn->passed);
}

enum MHD_Result otp_http_respond(struct MHD_Connection *conn, struct ctx *c)
{
	struct otp_req *r = &c->r;
	struct MHD_Response *resp;
	if (c->plain)
		return MHD_queue_response(conn, (unsigned)r->status,
					  c->h->plain[-c->answer_err]);
	if (r->status == 204 && r->auth_phone[0] && !r->set_cookie[0] &&
	    r->retry_after_s <= 0 && !r->allow && !r->cors_origin &&
	    !r->nheaders)
		return respond_passed(conn, (struct conn *)c, r->auth_phone);
	if (r->raw) {
		/* The buffer goes to libmicrohttpd, which frees it. */
		resp = MHD_create_response_from_buffer(r->raw_len, r->raw,
						       MHD_RESPMEM_MUST_FREE);
		r->raw = NULL;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->content_type);
	} else if (r->out && r->status != 204) {
		char *s = json_dumps(r->out, JSON_COMPACT);
		size_t n = strlen(s);
		s[n] = '\n'; /* json_dumps leaves room for the NUL */
		resp = MHD_create_response_from_buffer(n + 1, s,
						       MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	} else {
		resp = MHD_create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
	}
	add_common_headers(resp, c);
	enum MHD_Result ret =
	    MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result otp_http_fail(struct MHD_Connection *conn, struct ctx *c,
			      int err)
{
	otp_http_error_body(c, err);
	return otp_http_respond(conn, c);
}

void otp_req_set_body(struct otp_req *r, int status, const char *content_type,
		      char *body, size_t len)
{
	json_decref(r->out);
	r->out = NULL;
	free(r->raw);
	r->status = status;
	r->content_type = content_type;
	r->raw = body;
	r->raw_len = len;
}

int otp_req_add_header(struct otp_req *r, const char *name, const char *value)
{
	if (r->nheaders == OTP_REQ_HEADERS)
		return OTP_ETOOBIG;
	char *v = strdup(value);
	if (!v)
		abort();
	r->header_name[r->nheaders] = name;
	r->header_value[r->nheaders++] = v;
	return 0;
}

int otp_req_redirect(struct otp_req *r, int status, const char *location)
{
	json_decref(r->out);
	r->out = NULL;
	r->status = status;
	return otp_req_add_header(r, MHD_HTTP_HEADER_LOCATION, location);
}
