/* internal.h - what the files of src/http share: the server, a request's
 * state and a connection's, and the functions that pass between them.
 *
 * server.c   the daemon: start, stop, the request's life from its first
 *            byte to its completion, connections
 * router.c   the route table's lookup, the dispatch of a request to its
 *            handler, errors as bodies
 * respond.c  a request's answer: headers (cookies, CORS, Retry-After) and
 *            the kept answers of a passed check and of plain errors
 * peer.c     who the client is: the socket's peer, X-Forwarded-For through
 *            trusted proxies
 * listen.c   the listening socket
 * edge.c     framing checks, per-address limits, request deadlines
 * waits.c    the wait pool: the threads that run OTP_R_WAITS routes
 * Nothing outside src/http includes this file (or microhttpd.h).
 */
#ifndef OTP_HTTP_INTERNAL_H
#define OTP_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/err.h"
#include "core/json.h"
#include "http/edge.h"
#include "http/http.h"

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
	/* Requests whose handler deferred its answer, not finished yet: the
	 * stopper answers them (503) before libmicrohttpd stops. */
	pthread_mutex_t deferred_mu;
	struct ctx *deferred;
	struct otp_http_waits *waits; /* NULL: cfg.wait_threads is 0 */
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
	int64_t start, start_ns;	 /* mono ms (the log), ns (metrics) */
	char unknown[OTP_JSON_ECHO_MAX]; /* an unknown field's name, to echo */
	char allow[64];			 /* a 405's Allow: this request's own */
	bool preflight; /* OPTIONS on a known path: 204 with Allow (and CORS) */
	bool close;	/* answer with Connection: close (bad framing) */
	/* OTP_DEFERRED: suspended until otp_req_finish; finished: the answer
	 * is ready and the connection resumed. deferred_next: h->deferred. */
	bool deferred, finished;
	struct ctx *deferred_next, **deferred_prev;
	struct ctx *wait_next; /* in the wait pool's queue */
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

/* A body buffer up to this size is kept for the connection's next request. */
#define BODY_KEEP 512

/* Retry-After of a 503 (the store or the server is unavailable for now). */
#define UNAVAIL_RETRY_S	   1
#define UNAVAIL_RETRY_TEXT "1"

/* router.c */
const struct otp_route *otp_http_find_route(const struct otp_http *h,
					    const char *method,
					    const char *path,
					    const char **param, char *allow,
					    size_t allow_cap);
bool otp_http_is_json(const char *ct);
/* true: the handler deferred its answer (OTP_DEFERRED). */
bool otp_http_dispatch(struct ctx *c);
void otp_http_error_body(struct ctx *c, int err);
void otp_http_make_plain(struct otp_http *h);
void otp_http_free_plain(struct otp_http *h);

/* waits.c: n threads (and, with fibers, n fibers on one runner a CPU),
 * each running otp_http_dispatch for the requests posted (suspended and in
 * h->deferred already) and finishing them; a request goes to a fiber
 * unless its route is OTP_R_REMOTE. stop lets every fiber and thread end
 * its request, then answers 503 what is still queued, and what is posted
 * after it; free, once libmicrohttpd has stopped, releases it. */
struct otp_http_waits;
struct otp_http_waits *otp_http_waits_start(unsigned n, bool fibers);
void otp_http_waits_post(struct otp_http_waits *w, struct ctx *c);
void otp_http_waits_stop(struct otp_http_waits *w);
void otp_http_waits_free(struct otp_http_waits *w);

/* respond.c */
bool otp_http_origin_listed(const char *list, const char *origin);
enum MHD_Result otp_http_respond(struct MHD_Connection *conn, struct ctx *c);
enum MHD_Result otp_http_fail(struct MHD_Connection *conn, struct ctx *c,
			      int err);

/* peer.c */
void otp_http_peer_of(struct MHD_Connection *conn, char ip[OTP_IP_MAX]);
void otp_http_client_ip(struct ctx *c, const struct conn *cn,
			struct MHD_Connection *conn);

#endif
