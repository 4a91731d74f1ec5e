/* socket.h - otpd's admin socket, both ends: the server thread in otpd
 * (server.c) and the call otpctl makes (client.c), and where the socket
 * is (socket_path.c).
 *
 * One request per connection: the client writes one JSON request (ctl.h)
 * and a newline, the server answers one JSON reply and a newline and
 * closes. The socket is 0600 and the server also refuses a peer of another
 * user (root aside): whoever may use it may do anything otpctl does.
 */
#ifndef OTP_CTL_SOCKET_H
#define OTP_CTL_SOCKET_H

#include <stddef.h>

#include "ctl/ctl.h"

#define OTP_CTL_REQUEST_MAX 65536

/* Writes all n bytes at p to fd (EINTR retried): 0, or -1 on an error or
 * a peer gone. Both ends' one write loop (io.c). */
int otp_ctl_write_all(int fd, const char *p, size_t n);

/* The socket of a store: `given` (--admin-socket) if not "", else beside
 * the store (otp_store_beside: PATH.ctl, or ./var/otpd.ctl). 0, or
 * OTP_ETYPE if it does not fit a socket's address (err says so). "off"
 * comes back as it is: the caller decides. */
int otp_ctl_socket_path(const char *store_url, const char *given, char *out,
			size_t cap, char *err, size_t errlen);

/* What the server runs commands with; borrowed until it stops. */
struct otp_ctl_server_cfg {
	const char *path;
	const char *store_url;
	int (*store)(struct otp_store **out); /* the calling thread's handle */
	void (*release)(void);		      /* ends it, at the thread's end */
	const struct otp_keyring *ring;
	const struct otp_config *cfg;
	const char *sms;
	void (*notify)(void *arg);
	void *notify_arg;
};

struct otp_ctl_server;

/* Binds the socket (a stale one left by a process that died is replaced)
 * and starts its thread: 0; OTP_EBUSY if another process answers there;
 * else an error; err says why. */
int otp_ctl_server_start(struct otp_ctl_server **out,
			 const struct otp_ctl_server_cfg *c, char *err,
			 size_t errlen);
/* Ends the thread after the request in hand, removes the socket; NULL is
 * a no-op. */
void otp_ctl_server_stop(struct otp_ctl_server *s);

/* otpctl's call: sends req, waits up to timeout_s for the reply (*reply,
 * malloc'd, NUL-terminated). 0; OTP_ENOTFOUND if no otpd listens there (no
 * socket, or a stale one: connection refused); else an error with the
 * reason in err. */
int otp_ctl_call(const char *path, const char *req, int timeout_s, char **reply,
		 char *err, size_t errlen);

#endif
