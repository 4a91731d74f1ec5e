/* http.h - the HTTP face as handlers see it: requests, routes, the server.
 *
 * This header is all a handler knows of HTTP. The server (the files of
 * src/http, the only files that include microhttpd.h) reads a request, finds
 * its route in the caller's table, applies the route's flags (method, body cap,
 * JSON content type, guard), calls the handler, and writes what the handler
 * left in the request: a status and a JSON body, or, for a negative OTP_E*
 * return, the error from core/err.h's list. Handlers never write an error body.
 *
 * Threads: handlers run on the server's threads, or for OTP_R_WAITS routes
 * on the wait pool's, one request per thread at a time; a struct otp_req
 * belongs to its thread until the handler returns.
 */
#ifndef OTP_HTTP_HTTP_H
#define OTP_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/phone.h"

#define OTP_IP_MAX 46 /* INET6_ADDRSTRLEN */

enum otp_route_flags {
	OTP_R_JSON = 1 << 0,	/* body must be application/json */
	OTP_R_NOLIMIT = 1 << 1, /* the guard (per-IP limit) does not apply */
	OTP_R_PREFIX = 1 << 2,	/* path is a prefix; the rest is r->param */
	OTP_R_APIKEY = 1 << 3,	/* the auth hook runs first (X-API-Key) */
	OTP_R_PAGE = 1 << 4,	/* a page for people: its errors, those
				   found before the handler too (429 from the
				   guard, 413), go through the error_page hook */
	OTP_R_QUIET = 1 << 5,	/* a 2xx answer's request line is logged at
				   debug, not info: routes called on every page
				   view or probe (the caller logs those) */
	OTP_R_WAITS = 1 << 6,	/* the handler waits (a store COMMIT, an
				   upstream, a delivery report): it runs on the
				   wait pool, its connection suspended, not on
				   a server thread (cfg.wait_threads) */
	OTP_R_REMOTE = 1 << 7,	/* with OTP_R_WAITS: it also waits in a way
				   that does not park a fiber (a sleep, a
				   remote): always on a wait thread */
};

struct otp_req;

/* A handler returns 0 (the answer is in r), a negative OTP_E* (the route
 * renders that error), or OTP_DEFERRED: it will answer later, from any
 * thread, with otp_req_finish (the connection is suspended meanwhile and
 * holds no thread). */
typedef int (*otp_handler_fn)(struct otp_req *r);
#define OTP_DEFERRED 1

/* The parts of an error, for a route's renderer. */
struct otp_error_parts {
	int err;	  /* OTP_E* */
	int status;	  /* its HTTP status */
	const char *code; /* stable wire string */
	const char *message;
	const char *field;     /* the field it is about, or NULL */
	int64_t retry_after_s; /* > 0 for 429 */
	const json_t *extra;   /* the handler's more fields, or NULL */
};
/* Makes an error's JSON body (owned by the caller). NULL for a route:
 * the login API's {"error", "code"[, "field"][, "retry_after"]}, whose
 * plain forms go out as answers made once at start. */
typedef json_t *(*otp_error_render_fn)(const struct otp_error_parts *e);
/* For renderers: o ({"code", "message"} in the renderer's own order)
 * with e's optional "field", "retry_after" and extra fields added;
 * returns o. */
json_t *otp_error_extras(json_t *o, const struct otp_error_parts *e);

struct otp_route {
	const char *method; /* "GET", "POST" */
	const char *path;   /* exact, or a prefix with OTP_R_PREFIX */
	otp_handler_fn fn;
	unsigned flags;
	size_t body_max; /* 0: the server's default */
	/* OTP_R_JSON: the body's fields; any other field is refused */
	const struct otp_jfield *fields;
	size_t nfields;
	/* What logs call the route: its path, or for a prefix route its
	 * template ("/otp/{id}"), never the request's own id. */
	const char *name;
	otp_error_render_fn render_error; /* NULL: the default JSON */
};

/* Extra response headers a handler may add (Location, Content-Security-
 * Policy, ...): at most this many, each value copied. */
#define OTP_REQ_HEADERS 8

struct otp_req {
	/* in */
	const char *method;
	const char *path;
	const char *param; /* what follows a prefix route's path, or "" */
	const char *body;  /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	json_t *in; /* for OTP_R_JSON routes: the parsed object (borrowed) */
	char ip[OTP_IP_MAX]; /* the client: the socket's peer, or
				X-Forwarded-For's from a trusted proxy */
	int64_t now;	     /* ms since the epoch, read once per request */
	const struct otp_route *route;
	void *conn; /* the server's */

	/* out: a handler sets status and json (owned; may be NULL), or a raw
	 * body with its type (otp_req_set_body), and extra headers
	 * (otp_req_add_header). */
	int status;
	json_t *out;
	char *raw; /* owned (malloc'd): freed after the answer */
	size_t raw_len;
	const char *content_type; /* of raw; static storage */
	unsigned nheaders;
	const char *header_name[OTP_REQ_HEADERS]; /* static storage */
	char *header_value[OTP_REQ_HEADERS];	  /* owned copies */
	int64_t retry_after_s; /* > 0: a Retry-After header (and for 429 a
				  "retry_after" field) */
	/* Fields a handler adds to the body of the error it returns (e.g.
	 * the step-up's challenge), or NULL; owned, freed after the
	 * answer. */
	json_t *error_extra;
	char set_cookie[320];		/* "" or a Set-Cookie value */
	char auth_phone[OTP_PHONE_MAX]; /* "" or an X-Auth-Phone value */
	const char *allow;		/* for 405: the Allow header */
	const char *cors_origin; /* the request's Origin if --cors-origins
				    lists it, else NULL */

	/* for the request log line, never secrets */
	char log_phone[OTP_PHONE_MAX]; /* masked */
	const char *log_field;	       /* the field an error is about */
	char log_key[24];	       /* the API key's id, never the key */
	char log_request[24]; /* a request id's keyed tag, never the id */
};

/* A request header (case-insensitive name), or NULL. */
const char *otp_req_header(struct otp_req *r, const char *name);
/* A query-string argument, URL-decoded, or NULL. */
const char *otp_req_query(struct otp_req *r, const char *name);
/* The value of cookie `name` from the Cookie header, or NULL. */
const char *otp_req_cookie(struct otp_req *r, const char *name, size_t *len);

/* A body that is not JSON (Prometheus text, HTML): takes `body` (malloc'd,
 * len bytes) and answers it with `status` and `content_type` (static
 * storage). Replaces r->out. */
void otp_req_set_body(struct otp_req *r, int status, const char *content_type,
		      char *body, size_t len);
/* One more response header; `name` is static storage, `value` is copied.
 * 0, or OTP_ETOOBIG past OTP_REQ_HEADERS. */
int otp_req_add_header(struct otp_req *r, const char *name, const char *value);
/* A redirect: `status` (302, 303) to `location`, with no body. */
int otp_req_redirect(struct otp_req *r, int status, const char *location);
/* Ends a request its handler deferred (returned OTP_DEFERRED): the answer
 * is what r holds now (r->status and r->out or a raw body; a negative err
 * instead answers that error). Any thread, once per deferred request; r
 * must not be touched after. */
void otp_req_finish(struct otp_req *r, int err);

/* The server. */
struct otp_http_cfg {
	const char *listen;    /* "HOST:PORT" */
	int listen_fd;	       /* >= 0: bound by otp_http_bind (taken over);
				  -1: start binds `listen` itself */
	unsigned threads;      /* 0: one per CPU it may run on (cpus.h) */
	unsigned wait_threads; /* the wait pool's (OTP_R_WAITS routes); 0: none,
				  those handlers run on the server's threads */
	bool fibers;	       /* the wait pool's routes but OTP_R_REMOTE ones
				  run as wait_threads fibers (core/fiber.h) on
				  one runner a CPU: their waits park them */
	unsigned conn_limit;
	unsigned conn_timeout_s;
	unsigned conn_per_ip;	    /* open connections per client address
				       (trusted proxies exempt); 0: no limit */
	unsigned request_timeout_s; /* for a request's head and body; 0: none */
	size_t body_max;
	const char *trusted_proxies; /* IPs and CIDR ranges, comma-separated */
	const char *cors_origins;    /* exact origins allowed to read answers
					with credentials; NULL or "": none */
	const struct otp_route *routes;
	size_t nroutes; /* For OTP_R_APIKEY routes, before the body is parsed:
			 * may refuse (a negative return is answered) and may
			 * fill r->log_key. */
	int (*auth)(struct otp_req *r);
	/* Runs before every handler of a route without OTP_R_NOLIMIT, after
	 * the body was parsed; a negative return is answered instead of
	 * calling the handler. */
	int (*guard)(struct otp_req *r);
	/* For OTP_R_PAGE routes: writes error e as the route's own page
	 * (otp_req_set_body) and returns 0, or returns < 0 to leave it to
	 * the JSON error. r->body may be NULL (an error found before the
	 * body was read). */
	int (*error_page)(struct otp_req *r, const struct otp_error_parts *e);
	/* Count each answered request in core/metrics.h by route (the
	 * public listener; the admin one counts nothing). */
	bool metrics;
};

struct otp_http;

/* Binds and listens on "HOST:PORT" (refused if the port is in use: no
 * SO_REUSEPORT). 0 with *fd, OTP_ETYPE (not an address), OTP_EBUSY (in
 * use, not ours to take) or OTP_EINTERNAL, with a reason in err. */
int otp_http_bind(const char *listen, int *fd, char *err, size_t errlen);

/* Binds (unless cfg->listen_fd is given) and starts serving. 0, or OTP_ETYPE
 * (bad listen address) or OTP_EINTERNAL with a reason in err. */
int otp_http_start(struct otp_http **out, const struct otp_http_cfg *cfg,
		   char *err, size_t errlen);
/* Stops accepting, waits up to drain_ms for requests in flight (a deferred
 * one still not finished then is answered 503 busy: libmicrohttpd cannot
 * stop while a connection is suspended), stops. */
void otp_http_stop(struct otp_http *h, int64_t drain_ms);

/* Parses "HOST:PORT" / "[V6]:PORT". 0 or OTP_ETYPE. (For config checks.) */
int otp_http_parse_listen(const char *s, char *host, size_t hostlen,
			  unsigned *port);

#endif
