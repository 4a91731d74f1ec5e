/* server.c - the HTTP server on libmicrohttpd (src/http is the only folder
 * that includes microhttpd.h; internal.h says which file does what).
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
 * Here: the daemon's start and stop, and a request's life from its first
 * call to its completion. Not here: finding the route and running it
 * (router.c), writing the answer (respond.c), who the client is (peer.c),
 * the edge's limits (edge.c), what routes exist and what they do
 * (src/handlers/).
 */
#include "http/internal.h"

#include "core/cpus.h"

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
#include "core/metrics.h"
#include "http/cookie.h"
#include "http/edge.h"

static void conn_free(struct conn *cn)
{
	if (cn->passed)
		MHD_destroy_response(cn->passed);
	free(cn->c.body);
	free(cn);
}

/* Suspends a request whose answer comes later (otp_req_finish), under the
 * list's lock, so that a finish from another thread cannot resume it before
 * it is suspended. false: it was finished already, before it could be
 * suspended; the caller answers now. */
static bool defer(struct otp_http *h, struct ctx *c,
		  struct MHD_Connection *conn)
{
	pthread_mutex_lock(&h->deferred_mu);
	bool later = !c->finished;
	if (later) {
		c->deferred = true;
		c->deferred_next = h->deferred;
		c->deferred_prev = &h->deferred;
		if (h->deferred)
			h->deferred->deferred_prev = &c->deferred_next;
		h->deferred = c;
		MHD_suspend_connection(conn);
	}
	pthread_mutex_unlock(&h->deferred_mu);
	return later;
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
		c->start_ns = otp_clock_mono_ns();
		atomic_fetch_add(&h->in_flight, 1);
		c->r.conn = conn;
		c->r.method = method;
		c->r.path = url;
		c->r.now = otp_clock_now_ms();
		otp_http_client_ip(c, cn, conn);

		const char *param = "";
		c->r.route = otp_http_find_route(h, method, url, &param,
						 c->allow, sizeof c->allow);
		c->r.param = param;
		const char *origin =
		    h->cfg.cors_origins && h->cfg.cors_origins[0]
			? MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      "Origin")
			: NULL;
		if (origin &&
		    otp_http_origin_listed(h->cfg.cors_origins, origin))
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
			   !otp_http_is_json(MHD_lookup_connection_value(
			       conn, MHD_HEADER_KIND,
			       MHD_HTTP_HEADER_CONTENT_TYPE))) {
			c->err = OTP_EMEDIA;
		}
		/* Framing two parsers could read differently: refused before
		 * anything else, and the connection closed. */
		if (otp_edge_check_framing(conn) < 0) {
			c->close = true;
			return otp_http_fail(conn, c, OTP_EFRAMING);
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
			return otp_http_fail(conn, c, c->err);
		return MHD_YES;
	}

	if (c->deferred) /* resumed by otp_req_finish, or not yet */
		return c->finished ? otp_http_respond(conn, c) : MHD_YES;

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
		return otp_http_fail(conn, c, c->err);
	if (c->too_big)
		return otp_http_fail(conn, c, OTP_ETOOBIG);
	otp_edge_disarm(h->edge, &((struct conn *)c)->ec);
	if (c->preflight) {
		c->r.status = 204;
		return otp_http_respond(conn, c);
	}
	if (h->waits && (c->r.route->flags & OTP_R_WAITS)) {
		/* Suspended first, so that the pool's finish finds it so. */
		if (defer(h, c, conn))
			otp_http_waits_post(h->waits, c);
		return MHD_YES;
	}
	if (otp_http_dispatch(c) && defer(h, c, conn))
		return MHD_YES;
	return otp_http_respond(conn, c);
}

void otp_req_finish(struct otp_req *r, int err)
{
	struct ctx *c = (struct ctx *)r; /* r is its first member */
	struct otp_http *h = c->h;
	pthread_mutex_lock(&h->deferred_mu);
	if (!c->finished) {
		if (err < 0)
			otp_http_error_body(c, err);
		c->finished = true;
		/* Not suspended yet (finished before its handler returned):
		 * defer sees finished and the answer goes out at once. */
		if (c->deferred) {
			*c->deferred_prev = c->deferred_next;
			if (c->deferred_next)
				c->deferred_next->deferred_prev =
				    c->deferred_prev;
			MHD_resume_connection(r->conn);
		}
	}
	pthread_mutex_unlock(&h->deferred_mu);
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
		c->r.log_key[0] ? c->r.log_key : NULL, "request",
		c->r.log_request[0] ? c->r.log_request : NULL, "error",
		c->answer_err ? otp_err_code(c->answer_err) : NULL, NULL);
	if (h->cfg.metrics)
		otp_metrics_http(rt ? (int)(rt - h->cfg.routes) : -1,
				 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
				     ? c->r.status
				     : 0,
				 otp_clock_mono_ns() - c->start_ns);
	json_decref(c->r.out);
	c->r.out = NULL;
	json_decref(c->r.error_extra);
	c->r.error_extra = NULL;
	free(c->r.raw);
	c->r.raw = NULL;
	for (unsigned i = 0; i < c->r.nheaders; i++)
		free(c->r.header_value[i]);
	c->r.nheaders = 0;
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
		otp_http_peer_of(conn, cn->peer);
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

/* The labels of otpd_http_requests_total: each route's name, as logged. */
static void count_routes(const struct otp_http_cfg *cfg)
{
	const char *names[256];
	size_t n = cfg->nroutes < 256 ? cfg->nroutes : 256;
	for (size_t i = 0; i < n; i++)
		names[i] = cfg->routes[i].name ? cfg->routes[i].name
					       : cfg->routes[i].path;
	otp_metrics_routes(names, n);
}

int otp_http_start(struct otp_http **out, const struct otp_http_cfg *cfg,
		   char *err, size_t errlen)
{
	/* ITC: quiesce can hand the listening socket back; suspend/resume:
	 * deferred answers. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME;
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
	if (cfg->metrics)
		count_routes(cfg);
	otp_http_make_plain(h);
	pthread_mutex_init(&h->deferred_mu, NULL);
	h->edge = otp_edge_new(cfg->conn_limit, cfg->conn_per_ip,
			       cfg->conn_timeout_s, cfg->request_timeout_s);
	unsigned threads = cfg->threads ? cfg->threads : otp_cpus();
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
		otp_http_free_plain(h);
		otp_edge_free(h->edge);
		free(h);
		return OTP_EINTERNAL;
	}
	if (cfg->wait_threads)
		h->waits = otp_http_waits_start(cfg->wait_threads, cfg->fibers);
	*out = h;
	return 0;
}

void otp_http_stop(struct otp_http *h, int64_t drain_ms)
{
	if (!h)
		return;
	/* New connections are refused from here on: the listening socket is
	 * ours again, and closed. */
	MHD_socket lfd = MHD_quiesce_daemon(h->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	int64_t deadline = otp_clock_mono_ms() + drain_ms;
	while (atomic_load(&h->in_flight) > 0 &&
	       otp_clock_mono_ms() < deadline) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	/* The pool's threads end their requests; what they did not take is
	 * answered 503. */
	otp_http_waits_stop(h->waits);
	/* libmicrohttpd 0.9.75 aborts in MHD_stop_daemon while a connection
	 * is suspended: what is still deferred is answered 503 first. */
	pthread_mutex_lock(&h->deferred_mu);
	while (h->deferred) {
		struct ctx *c = h->deferred;
		pthread_mutex_unlock(&h->deferred_mu);
		otp_req_finish(&c->r, OTP_EBUSY);
		pthread_mutex_lock(&h->deferred_mu);
	}
	pthread_mutex_unlock(&h->deferred_mu);
	for (int i = 0; i < 50 && atomic_load(&h->in_flight) > 0; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->d);
	otp_http_waits_free(h->waits);
	pthread_mutex_destroy(&h->deferred_mu);
	otp_http_free_plain(h);
	otp_edge_free(h->edge);
	free(h);
}
