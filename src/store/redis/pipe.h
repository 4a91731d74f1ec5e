/* pipe.h - the process's shared connection to one Redis: every piped
 * handle's calls (conn.h's otp_redis_attach) go out on it, pipelined.
 *
 * One per URL, made by its first user and ended by its last. A caller
 * queues its call (its commands formatted, how many replies they give);
 * if no other caller is writing or reading on the connection, it leads:
 * it takes every call queued, writes them all at once, reads their
 * replies in order and wakes each caller when its own are in; then, if
 * calls were queued meanwhile, it hands the lead to the first of them and
 * returns. So a lone call costs one round trip and no thread switch, and
 * many handles' calls cost Redis one read and otpd one write a batch, not
 * one each. No thread of its own, and no handle holds a connection.
 *
 * The connection is conn.h's, not piped: the stall, the backoff, a
 * socket closed while idle, the timeouts and the reconnection are as for
 * a handle's own. A call answers what a handle's own connection would:
 * 0 with its replies, OTP_EUNAVAIL when its commands did not leave (or
 * it only read), OTP_EOUTCOME when they left, wrote, and no answer came.
 * A failed read fails every call of the batch that was waiting for one.
 */
#ifndef OTP_STORE_REDIS_PIPE_H
#define OTP_STORE_REDIS_PIPE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

struct otp_redis_pipe;

/* The shared connection to url (conn.h's URL form), made if this is its
 * first user; NULL if url does not parse. Connects to nothing. */
struct otp_redis_pipe *otp_redis_pipe_get(const char *url);
/* One user fewer; the last closes the connection. */
void otp_redis_pipe_put(struct otp_redis_pipe *p);

/* Sends len bytes of formatted commands (none: only connects) and waits
 * for their n replies into rep[] (each the caller's to free, error
 * replies included); wrote says whether they may change data. */
int otp_redis_pipe_call(struct otp_redis_pipe *p, const char *buf, size_t len,
			redisReply **rep, int n, bool wrote);

/* The scripts' SHA1s, valid once a call has succeeded. */
void otp_redis_pipe_sha(struct otp_redis_pipe *p, char (*sha)[41]);

/* The connection is no good (READONLY, NOAUTH): dropped before the next
 * batch is written. */
void otp_redis_pipe_reset(struct otp_redis_pipe *p);

#endif
