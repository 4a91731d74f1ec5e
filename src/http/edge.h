/* edge.h - the HTTP edge's defences, inside src/http only.
 *
 * What libmicrohttpd does not do for otpd at the edge:
 * - framing: one clean 400 and close for a request whose length or
 *   headers two parsers could read differently (request smuggling behind a
 *   proxy): two Content-Length headers, Content-Length with
 *   Transfer-Encoding, a Transfer-Encoding other than chunked, a header
 *   name with white space in it (`Content-Length : 24`), a CR, LF or NUL
 *   inside a value. (A missing Host is refused by libmicrohttpd's strict
 *   mode; what neither can see is in docs/SECURITY.md.)
 * - connections per client address (trusted proxies exempt: behind nginx
 *   every connection is nginx's), refused at once past the limit, and
 *   past the global --conn-limit, instead of waiting in the kernel backlog;
 * - a deadline for a whole request (its head and body), not only for idle
 *   time: a client that sends a byte a second is cut off all the same
 *   (libmicrohttpd's own timeout counts idle time only).
 * Connections are cut with shutdown(2) on their socket by a sweeper thread;
 * libmicrohttpd then sees the end of the stream and closes them itself.
 *
 * Threads: admit/leave/arm/disarm from libmicrohttpd's threads; one mutex.
 */
#ifndef OTP_HTTP_EDGE_H
#define OTP_HTTP_EDGE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"

struct otp_edge;

/* A connection as the edge tracks it; lives in the server's struct conn. */
struct otp_edge_conn {
	struct otp_edge_conn *prev, *next; /* the sweeper's list */
	struct otp_edge_ip *ip;		   /* NULL for an exempt peer */
	int fd;
	int64_t deadline_ms; /* 0: none running (a handler has the request) */
	bool cut;
};

/* A request must be whole within idle_s + request_timeout_s of the
 * connection's start or of its previous answer (0: no deadline). */
struct otp_edge *otp_edge_new(unsigned conn_limit, unsigned per_ip,
			      unsigned idle_s, unsigned request_timeout_s);
void otp_edge_free(struct otp_edge *e);

/* A new connection: false if it must be refused (the caller's socket is
 * shut down at once). exempt: a trusted proxy. */
bool otp_edge_admit(struct otp_edge *e, struct otp_edge_conn *ec,
		    struct MHD_Connection *conn, const char *peer, bool exempt);
void otp_edge_leave(struct otp_edge *e, struct otp_edge_conn *ec);
/* The request's head and body are in: the deadline stops while its
 * handler runs. */
void otp_edge_disarm(struct otp_edge *e, struct otp_edge_conn *ec);
/* The request is answered: the next one has request_timeout_s from now. */
void otp_edge_arm(struct otp_edge *e, struct otp_edge_conn *ec);

/* 0, or OTP_EFRAMING for a request whose framing is ambiguous. */
int otp_edge_check_framing(struct MHD_Connection *conn);

#endif
