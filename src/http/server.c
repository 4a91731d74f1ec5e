/* server.c - the HTTP server on libmicrohttpd; the only file that includes
 * microhttpd.h.
 *
 * One epoll listener feeding an internal pool of threads. Per request: find
 * the route (404/405 from the table), check the body's size (413) and type
 * (415), collect the body, parse it strictly for JSON routes, run the guard
 * (per-IP limit) and the handler, then write the handler's status and JSON or
 * the error of its return value. Slow and idle clients are cut by the
 * connection timeout; the connection limit bounds what they can hold.
 *
 * GET /auth/check runs for every page behind nginx's auth_request, so a
 * request costs little: its state lives in its connection (struct conn),
 * the peer's address is formatted once a connection, a passed check's 204
 * is kept by its connection, and an error with nothing of the request in
 * it goes out as an answer made once at start.
 *
 * Not here: what routes exist and what they do (src/handlers/).
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "http/cookie.h"
#include "http/edge.h"

/* Each connection's memory pool holds the request's head (the request line
 * and the headers, parsed in place), one entry per header and per cookie,
 * and the response's head. libmicrohttpd zeroes all of it between two
 * requests of a keep-alive connection (4 % of GET /auth/check), yet it stays
 * at libmicrohttpd's default, 32 KiB: /auth/check gets the browser's whole
 * Cookie header through nginx's auth_request, and at 16 KiB a jar of 80
 * cookies of 60 bytes (5 KiB) is already refused (431), at 32 KiB 160 of them.
 * A bigger head is answered 431 (414 for a long request line). Bodies are
 * handed over in chunks as they arrive, so their cap does not count here. */
#define CONN_POOL (32 * 1024)
/* Connections libmicrohttpd takes past --conn-limit, only to be refused at
 * once (edge.c) instead of waiting unanswered in the kernel's backlog. */
#define REFUSE_ROOM 256

struct otp_http {
	struct MHD_Daemon *d;
	struct otp_http_cfg cfg;
	struct otp_cidr_list proxies; /* cfg.trusted_proxies, parsed */
	struct otp_edge *edge;	      /* framing, per-IP limit, deadlines */
	atomic_int in_flight;
	/* The answer of each error of err.h's list when nothing of the request
	 * goes into it (see plain_error): made at start, shared by all threads
	 * (libmicrohttpd counts a response's users), freed at stop. */
	struct MHD_Response *plain[OTP_ERR_COUNT_];
};

/* Per-request state, from the first call of the access handler to the
 * completion callback. It lives in its connection's struct conn and is
 * cleared for each request, so a request allocates nothing of its own. */
struct ctx {
	struct otp_req r;
	struct otp_http *h;
	int err;	/* an error decided before the body was read */
	int answer_err; /* the error answered, or 0 */
	bool plain;	/* answered with h->plain[-answer_err] */
	char *body;
	size_t len, cap, max;
	bool too_big;
	int64_t start;
	char unknown[OTP_JSON_ECHO_MAX]; /* an unknown field's name, to echo */
	char allow[64];			 /* a 405's Allow: this request's own */
	bool preflight; /* OPTIONS on a known path: 204 with Allow (and CORS) */
	bool close;	/* answer with Connection: close (bad framing) */
};

/* Per-connection state, from libmicrohttpd's "started" to its "closed"
 * notification: the request in progress (requests of a connection come one
 * after the other) and the peer's address, formatted once. */
struct conn {
	struct ctx c;
	bool busy;     /* c belongs to a request not yet completed */
	bool orphaned; /* closed while busy: the completion frees it */
	bool peer_is_proxy;
	struct otp_edge_conn ec;
	char peer[OTP_IP_MAX];
	size_t peer_len;
	/* The answer of a passed check (204, Cache-Control, X-Auth-Phone),
	 * kept for the connection's next one: libmicrohttpd is done with a
	 * response before it reads the next request, so it is built once a
	 * connection, and only its X-Auth-Phone changed when the next check
	 * is another user's (nginx's keep-alive connections carry many). */
	struct MHD_Response *passed;
	char passed_phone[OTP_PHONE_MAX];
};

static void conn_free(struct conn *cn)
{
	if (cn->passed)
		MHD_destroy_response(cn->passed);
	free(cn->c.body);
	free(cn);
}

/* A body buffer up to this size is kept for the connection's next request. */
#define BODY_KEEP 512

static const struct otp_route *find_route(const struct otp_http *h,
					  const char *method, const char *path,
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

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
		return false;
	char next = ct[sizeof want - 1];
	return next == '\0' || next == ';' || next == ' ';
}

/* The socket's peer as text ("unknown" if it has none we know). */
static void peer_of(struct MHD_Connection *conn, char ip[OTP_IP_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(ip, OTP_IP_MAX, "unknown");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)sa)->sin_addr,
				  ip, OTP_IP_MAX);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  ip, OTP_IP_MAX);
	}
}

/* The X-Forwarded-For headers of a request, in the order they came. */
#define XFF_MAX 8
struct xff {
	const char *v[XFF_MAX];
	unsigned n;
	bool overflow;
};

static enum MHD_Result collect_xff(void *arg, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct xff *x = arg;
	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
		return MHD_YES;
	if (x->n == XFF_MAX) {
		x->overflow = true;
		return MHD_NO;
	}
	x->v[x->n++] = value;
	return MHD_YES;
}

/* Walks one header's list right to left. Returns true to go on to the
 * header before it (every address so far was a trusted proxy). */
static bool walk_xff(const struct otp_cidr_list *proxies, const char *xff,
		     char ip[OTP_IP_MAX])
{
	const char *end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end;
		while (start > xff && start[-1] != ',')
			start--;
		const char *a = start, *b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		char cand[OTP_IP_MAX];
		unsigned char bin[sizeof(struct in6_addr)];
		size_t n = (size_t)(b - a);
		if (n == 0 || n >= sizeof cand)
			return false;
		memcpy(cand, a, n);
		cand[n] = '\0';
		if (inet_pton(AF_INET, cand, bin) != 1 &&
		    inet_pton(AF_INET6, cand, bin) != 1)
			return false; /* garbage: keep what we have */
		memcpy(ip, cand, n + 1);
		if (!otp_cidr_has(proxies, cand))
			return false;
		end = start > xff ? start - 1 : xff;
	}
	return true;
}

/* The connection's peer; if that is a trusted proxy, the right-most address
 * of X-Forwarded-For that is not itself a trusted proxy. Every
 * X-Forwarded-For header counts (a proxy may add its own after the
 * client's), read from the last one back. From a peer that is not trusted
 * the header is ignored, and said once per process in the log. */
static void client_ip(struct ctx *c, const struct conn *cn,
		      struct MHD_Connection *conn)
{
	static atomic_bool warned;
	char *ip = c->r.ip;
	memcpy(ip, cn->peer, cn->peer_len + 1);
	if (!cn->peer_is_proxy) {
		if (!atomic_load_explicit(&warned, memory_order_relaxed) &&
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						"X-Forwarded-For") &&
		    !atomic_exchange(&warned, true))
			otp_log(OTP_LOG_WARN,
				"X-Forwarded-For from a peer that is not in "
				"--trusted-proxies: ignored (set "
				"--trusted-proxies if otpd is behind a proxy)",
				"peer", cn->peer, NULL);
		return;
	}
	struct xff x = {0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_xff, &x);
	if (x.overflow)
		return; /* more headers than any chain of proxies adds */
	for (unsigned i = x.n; i-- > 0;)
		if (!walk_xff(&c->h->proxies, x.v[i], ip))
			return;
}

/* Is `origin` one of the comma-separated exact origins of `list`? */
static bool origin_listed(const char *list, const char *origin)
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

static void add_common_headers(struct MHD_Response *resp, struct ctx *c)
{
	struct otp_req *r = &c->r;
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
}

/* Is err's answer the same for every request, so a shared one can go out:
 * {"error", "code"} and no header of the request's own? */
static bool plain_error(const struct ctx *c, int err)
{
	const struct otp_req *r = &c->r;
	return -err > 0 && -err < OTP_ERR_COUNT_ &&
	       !(r->route && (r->route->flags & OTP_R_ENVELOPE)) &&
	       !r->log_field && !(err == OTP_EUNKNOWN && c->unknown[0]) &&
	       err != OTP_ELIMITED && !r->set_cookie[0] && !r->auth_phone[0] &&
	       !r->allow && !r->cors_origin && !c->close;
}

/* The error object: {"error": message, "code": wire[, "field"]
 * [, "retry_after"]}, or for OTP_R_ENVELOPE routes the provider API's
 * envelope with {"code", "message"[, "field"]} inside. A plain error
 * (plain_error) builds nothing: its answer was made at start. */
static void error_body(struct ctx *c, int err)
{
	struct otp_req *r = &c->r;
	bool envelope = r->route && (r->route->flags & OTP_R_ENVELOPE);
	json_t *e;
	json_decref(r->out);
	r->out = NULL;
	r->status = otp_err_status(err);
	c->answer_err = err;
	if (plain_error(c, err)) {
		c->plain = true;
		r->retry_after_s = 0;
		return;
	}
	if (envelope)
		e = json_pack("{s:s, s:s}", "code", otp_err_code(err),
			      "message", otp_err_message(err));
	else
		e = json_pack("{s:s, s:s}", "error", otp_err_message(err),
			      "code", otp_err_code(err));
	if (r->log_field)
		json_object_set_new(e, "field", json_string(r->log_field));
	else if (err == OTP_EUNKNOWN && c->unknown[0])
		json_object_set_new(e, "field", json_string(c->unknown));
	if (err == OTP_ELIMITED)
		json_object_set_new(e, "retry_after",
				    json_integer(r->retry_after_s));
	else
		r->retry_after_s = 0;
	if (envelope)
		r->out = json_pack("{s:b, s:i, s:o}", "success", 0,
				   "statusCode", r->status, "error", e);
	else
		r->out = e;
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

static enum MHD_Result respond(struct MHD_Connection *conn, struct ctx *c)
{
	struct otp_req *r = &c->r;
	struct MHD_Response *resp;
	if (c->plain)
		return MHD_queue_response(conn, (unsigned)r->status,
					  c->h->plain[-c->answer_err]);
	if (r->status == 204 && r->auth_phone[0] && !r->set_cookie[0] &&
	    r->retry_after_s <= 0 && !r->allow && !r->cors_origin)
		return respond_passed(conn, (struct conn *)c, r->auth_phone);
	if (r->out && r->status != 204) {
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

static enum MHD_Result fail(struct MHD_Connection *conn, struct ctx *c, int err)
{
	error_body(c, err);
	return respond(conn, c);
}

static void dispatch(struct ctx *c)
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
		error_body(c, rc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct otp_http *h = cls;
	struct ctx *c = *con_cls;
	(void)version;

	if (!c) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct conn *cn = ci->socket_context;
		c = &cn->c;
		/* The body buffer is all a request leaves for the next. */
		char *body = c->body;
		size_t cap = c->cap;
		memset(c, 0, sizeof *c);
		c->body = body;
		c->cap = cap;
		cn->busy = true;
		*con_cls = c;
		c->h = h;
		c->start = otp_clock_mono_ms();
		atomic_fetch_add(&h->in_flight, 1);
		c->r.conn = conn;
		c->r.method = method;
		c->r.path = url;
		c->r.now = otp_clock_now_ms();
		client_ip(c, cn, conn);

		const char *param = "";
		c->r.route = find_route(h, method, url, &param, c->allow,
					sizeof c->allow);
		c->r.param = param;
		const char *origin =
		    h->cfg.cors_origins && h->cfg.cors_origins[0]
			? MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      "Origin")
			: NULL;
		if (origin && origin_listed(h->cfg.cors_origins, origin))
			c->r.cors_origin = origin;
		if (!c->r.route && c->allow[0] &&
		    strcmp(method, "OPTIONS") == 0) {
			size_t used = strlen(c->allow);
			snprintf(c->allow + used, sizeof c->allow - used,
				 ", OPTIONS");
			c->r.allow = c->allow;
			c->preflight = true;
		} else if (!c->r.route) {
			if (c->allow[0]) {
				c->r.allow = c->allow;
				c->err = OTP_EMETHOD;
			} else {
				c->err = OTP_ENOTFOUND;
			}
		} else if ((c->r.route->flags & OTP_R_JSON) &&
			   !is_json_type(MHD_lookup_connection_value(
			       conn, MHD_HEADER_KIND,
			       MHD_HTTP_HEADER_CONTENT_TYPE))) {
			c->err = OTP_EMEDIA;
		}
		/* Framing two parsers could read differently: refused before
		 * anything else, and the connection closed. */
		if (otp_edge_check_framing(conn) < 0) {
			c->close = true;
			return fail(conn, c, OTP_EFRAMING);
		}
		c->max = c->r.route && c->r.route->body_max
			     ? c->r.route->body_max
			     : h->cfg.body_max;
		const char *cl = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!c->err && cl) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (*end == '\0' && n > c->max)
				c->err = OTP_ETOOBIG;
		}
		/* A body announced too big is refused before it is read (and
		 * the connection closed); other errors wait for the end of the
		 * request so the connection can be kept alive. */
		if (c->err == OTP_ETOOBIG)
			return fail(conn, c, c->err);
		return MHD_YES;
	}

	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (c->err)
			return MHD_YES; /* discarded: the answer is decided */
		if (c->too_big || c->len + n > c->max) {
			c->too_big = true;
			return MHD_YES;
		}
		if (c->len + n + 1 > c->cap) {
			c->cap = c->len + n + 1 < BODY_KEEP ? BODY_KEEP
							    : c->len + n + 1;
			c->body = realloc(c->body, c->cap);
			if (!c->body)
				abort();
		}
		memcpy(c->body + c->len, upload, n);
		c->len += n;
		c->body[c->len] = '\0';
		return MHD_YES;
	}

	if (c->err)
		return fail(conn, c, c->err);
	if (c->too_big)
		return fail(conn, c, OTP_ETOOBIG);
	otp_edge_disarm(h->edge, &((struct conn *)c)->ec);
	if (c->preflight) {
		c->r.status = 204;
		return respond(conn, c);
	}
	dispatch(c);
	return respond(conn, c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct otp_http *h = cls;
	struct ctx *c = *con_cls;
	(void)conn;
	if (!c)
		return;
	char status[OTP_LOG_NUM_LEN], ms[OTP_LOG_NUM_LEN];
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK &&
		  c->r.status >= 200 && c->r.status < 300;
	bool quiet = ok && c->r.route && (c->r.route->flags & OTP_R_QUIET);
	const struct otp_route *rt = c->r.route;
	otp_log(quiet ? OTP_LOG_DEBUG : OTP_LOG_INFO, "request", "ip", c->r.ip,
		"method", c->r.method, "route",
		!rt	   ? "unknown"
		: rt->name ? rt->name
			   : rt->path,
		"#status",
		otp_log_num(status, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
					? c->r.status
					: 0),
		"#ms", otp_log_num(ms, otp_clock_mono_ms() - c->start), "phone",
		c->r.log_phone[0] ? c->r.log_phone : NULL, "key",
		c->r.log_key[0] ? c->r.log_key : NULL, "error",
		c->answer_err ? otp_err_code(c->answer_err) : NULL, NULL);
	json_decref(c->r.out);
	c->r.out = NULL;
	/* A verify body holds a code: nothing of it outlives its request. */
	if (c->body && c->len)
		sodium_memzero(c->body, c->len);
	if (c->cap > BODY_KEEP) {
		free(c->body);
		c->body = NULL;
		c->cap = 0;
	}
	*con_cls = NULL;
	struct conn *cn = (struct conn *)c; /* c is its first member */
	cn->busy = false;
	if (!cn->orphaned)
		otp_edge_arm(h->edge, &cn->ec);
	if (cn->orphaned)
		conn_free(cn);
	atomic_fetch_sub(&h->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct otp_http *h = cls;
	struct conn *cn = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		cn = calloc(1, sizeof *cn);
		if (!cn)
			abort();
		peer_of(conn, cn->peer);
		cn->peer_len = strlen(cn->peer);
		cn->peer_is_proxy = otp_cidr_has(&h->proxies, cn->peer);
		*socket_context = cn;
		otp_edge_admit(h->edge, &cn->ec, conn, cn->peer,
			       cn->peer_is_proxy);
		return;
	}
	if (!cn)
		return;
	*socket_context = NULL;
	otp_edge_leave(h->edge, &cn->ec);
	/* libmicrohttpd completes a request before it closes its connection;
	 * should that ever change, the completion frees what it still uses. */
	if (cn->busy) {
		cn->orphaned = true;
		return;
	}
	conn_free(cn);
}

/* The shared answers of plain errors: the same bytes error_body and respond
 * would make for them. */
static void make_plain(struct otp_http *h)
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
		json_decref(e);
	}
}

static void free_plain(struct otp_http *h)
{
	for (int i = 1; i < OTP_ERR_COUNT_; i++)
		if (h->plain[i])
			MHD_destroy_response(h->plain[i]);
}

int otp_http_parse_listen(const char *s, char *host, size_t hostlen,
			  unsigned *port)
{
	const char *colon;
	size_t n;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return OTP_ETYPE;
		n = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return OTP_ETYPE;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen)
		return OTP_ETYPE;
	memcpy(host, s, n);
	host[n] = '\0';
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end || p == 0 || p > 65535 || colon[1] == '\0')
		return OTP_ETYPE;
	*port = (unsigned)p;
	return 0;
}

/* cfg->listen as a socket address; 0 or OTP_ETYPE with a reason. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen)
{
	char host[256];
	unsigned port;
	memset(ss, 0, sizeof *ss);
	if (otp_http_parse_listen(listen, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "--listen: %s is not HOST:PORT", listen);
		return OTP_ETYPE;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
	} else {
		snprintf(err, errlen, "--listen: %s is not an IP address",
			 host);
		return OTP_ETYPE;
	}
	return 0;
}

int otp_http_bind(const char *addr, int *fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = listen_addr(addr, &ss, &len, err, errlen);
	if (rc < 0)
		return rc;
	int s =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		snprintf(err, errlen, "--listen %s: %s", addr, strerror(errno));
		return OTP_EINTERNAL;
	}
	/* SO_REUSEADDR only: a restart may bind while old connections are in
	 * TIME_WAIT, but a second server on a port in use is refused (no
	 * SO_REUSEPORT, which would let two otpd split the traffic). */
	int on = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ss.ss_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(s, (struct sockaddr *)&ss, len) < 0 ||
	    listen(s, SOMAXCONN) < 0) {
		int e = errno;
		close(s);
		snprintf(err, errlen, "--listen %s: %s%s", addr, strerror(e),
			 e == EADDRINUSE ? " (is another otpd running?)" : "");
		return e == EADDRINUSE || e == EADDRNOTAVAIL || e == EACCES
			   ? OTP_EBUSY
			   : OTP_EINTERNAL;
	}
	*fd = s;
	return 0;
}

int otp_http_start(struct otp_http **out, const struct otp_http_cfg *cfg,
		   char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	int fd = cfg->listen_fd;
	if (fd < 0) {
		int rc = otp_http_bind(cfg->listen, &fd, err, errlen);
		if (rc < 0)
			return rc;
	}

	struct otp_http *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->cfg = *cfg;
	if (otp_cidr_parse(cfg->trusted_proxies, &h->proxies, NULL) < 0) {
		snprintf(err, errlen,
			 "--trusted-proxies: not a list of "
			 "addresses and CIDR ranges");
		free(h);
		close(fd);
		return OTP_ETYPE;
	}
	make_plain(h);
	h->edge = otp_edge_new(cfg->conn_limit, cfg->conn_per_ip,
			       cfg->conn_timeout_s, cfg->request_timeout_s);
	unsigned threads = cfg->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	    cfg->conn_limit + REFUSE_ROOM, MHD_OPTION_CONNECTION_TIMEOUT,
	    cfg->conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONN_POOL, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s", cfg->listen);
		close(fd);
		free_plain(h);
		otp_edge_free(h->edge);
		free(h);
		return OTP_EINTERNAL;
	}
	*out = h;
	return 0;
}

void otp_http_stop(struct otp_http *h, int64_t drain_ms)
{
	if (!h)
		return;
	MHD_quiesce_daemon(h->d);
	int64_t deadline = otp_clock_mono_ms() + drain_ms;
	while (atomic_load(&h->in_flight) > 0 &&
	       otp_clock_mono_ms() < deadline) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->d);
	free_plain(h);
	otp_edge_free(h->edge);
	free(h);
}
