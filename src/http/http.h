/* http.h - the HTTP face as handlers see it: requests, routes, the server.
 *
 * This header is all a handler knows of HTTP. The server (the files of
 * src/http, the only files that include microhttpd.h) reads a request, finds
 * its route in the caller's table, applies the route's flags (method, body cap,
 * JSON content type, guard), calls the handler, and writes what the handler
 * left in the request: a status and a JSON body, or, for a negative OTP_E*
 * return, the error from core/err.h's list. Handlers never write an error body.
 *
 * Threads: handlers run on the server's pool threads, one request per thread
 * at a time; a struct otp_req belongs to its thread until the handler returns.
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
	OTP_R_JSON = 1 << 0,	 /* body must be application/json */
	OTP_R_NOLIMIT = 1 << 1,	 /* the guard (per-IP limit) does not apply */
	OTP_R_PREFIX = 1 << 2,	 /* path is a prefix; the rest is r->param */
	OTP_R_APIKEY = 1 << 3,	 /* the auth hook runs first (X-API-Key) */
	OTP_R_ENVELOPE = 1 << 4, /* errors in the provider API's envelope:
				    {"success": false, "statusCode",
				     "error": {"code", "message"}} */
	OTP_R_QUIET = 1 << 5,	 /* a 2xx answer's request line is logged at
				    debug, not info: routes called on every page
				    view or probe (the caller logs those) */
};

struct otp_req;

typedef int (*otp_handler_fn)(struct otp_req *r);

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
};

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

	/* out: a handler sets status and json (owned; may be NULL) */
	int status;
	json_t *out;
	int64_t retry_after_s; /* > 0: a Retry-After header (and for 429 a
				  "retry_after" field) */
	char set_cookie[320];  /* "" or a Set-Cookie value */
	char auth_phone[OTP_PHONE_MAX]; /* "" or an X-Auth-Phone value */
	const char *allow;		/* for 405: the Allow header */
	const char *cors_origin; /* the request's Origin if --cors-origins
				    lists it, else NULL */

	/* for the request log line, never secrets */
	char log_phone[OTP_PHONE_MAX]; /* masked */
	const char *log_field;	       /* the field an error is about */
	char log_key[24];	       /* the API key's id, never the key */
};

/* A request header (case-insensitive name), or NULL. */
const char *otp_req_header(struct otp_req *r, const char *name);
/* A query-string argument, URL-decoded, or NULL. */
const char *otp_req_query(struct otp_req *r, const char *name);
/* The value of cookie `name` from the Cookie header, or NULL. */
const char *otp_req_cookie(struct otp_req *r, const char *name, size_t *len);

/* The server. */
struct otp_http_cfg {
	const char *listen; /* "HOST:PORT" */
	int listen_fd;	    /* >= 0: bound by otp_http_bind (taken over);
			       -1: start binds `listen` itself */
	unsigned threads;   /* 0: one per core */
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
/* Stops accepting, waits up to drain_ms for requests in flight, stops. */
void otp_http_stop(struct otp_http *h, int64_t drain_ms);

/* Parses "HOST:PORT" / "[V6]:PORT". 0 or OTP_ETYPE. (For config checks.) */
int otp_http_parse_listen(const char *s, char *host, size_t hostlen,
			  unsigned *port);

#endif
