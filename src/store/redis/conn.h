/* conn.h - one connection to Redis, for the Redis store.
 *
 * Holds the parsed URL, one hiredis connection (connect timeout 1 s,
 * command timeout 500 ms), the SHA1s of the scripts (scripts.h), loaded
 * with AUTH and SELECT on every new connection. A connection that breaks,
 * times out or was closed while idle is dropped; the next call connects
 * again, and if that fails, calls answer OTP_EUNAVAIL at once until a
 * backoff (50 ms doubling to 1 s) runs out. A call that fails may or may
 * not have run (a timeout after sending): nothing is retried, except a
 * script on NOSCRIPT, which means it did not run.
 *
 * Errors: OTP_EUNAVAIL for a server that cannot be reached, is loading,
 * busy, out of memory or read-only; OTP_EINTERNAL for any other error
 * reply (logged) or a refused AUTH or SELECT (a configuration error).
 * Not thread-safe: one per store handle, used by one thread at a time.
 *
 * A store handle's is piped (otp_redis_attach): it has no socket of its
 * own, and each call's commands go out on the process's shared
 * connection to the same URL (pipe.h), pipelined with every other
 * handle's. That shared connection is one of these, not piped, and
 * driven by pipe.c through the otp_redis_wire_ calls.
 */
#ifndef OTP_STORE_REDIS_CONN_H
#define OTP_STORE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/redis/scripts.h"

#define OTP_REDIS_LIMITS_MAX 16 /* limits in one command */
/* Signal adds (or keys read, or block keys found) in one command. */
#define OTP_REDIS_SIGNALS_MAX 16
/* code_issue's: the EVALSHA slots, 5 keys and 17 arguments, 3 a limit, 5
 * a signal add (two keys, three arguments). */
#define OTP_REDIS_ARGS_MAX                                                     \
	(25 + 3 * OTP_REDIS_LIMITS_MAX + 5 * OTP_REDIS_SIGNALS_MAX)
#define OTP_REDIS_ARG_TEXT   200 /* a key or a number the caller formats */
#define OTP_REDIS_ARGS_FIRST 3	 /* slots kept for EVALSHA, SHA1, key count */

struct otp_redis_pipe;

struct otp_redis {
	redisContext *c; /* NULL while disconnected, and always when piped */
	struct otp_redis_pipe *pipe; /* the shared connection, or NULL */
	char *out;		     /* piped: the call's formatted commands */
	size_t out_len, out_cap;
	bool sha_ok; /* piped: sha[] copied from the shared connection */
	char host[256];
	int port, db;
	char path[108]; /* a unix socket's (sun_path), or "": host and port */
	char *user, *pass; /* sodium_malloc'd, or NULL */
	int64_t retry_at;  /* monotonic ms: no new connection before */
	int64_t backoff_ms;
	unsigned failed_gen; /* connected_gen (conn.c) at the last failure */
	bool down;	     /* logged as unreachable, not yet back */
	char sha[OTP_RS_COUNT][41];
};

/* The arguments of one command, binary-safe, from slot
 * OTP_REDIS_ARGS_FIRST on; text[] is room for what the caller formats. */
struct otp_redis_args {
	int n;
	const char *v[OTP_REDIS_ARGS_MAX];
	size_t len[OTP_REDIS_ARGS_MAX];
	char text[OTP_REDIS_ARGS_MAX][OTP_REDIS_ARG_TEXT];
};

/* Reads "://[[USER]:PASSWORD@]HOST:PORT[/DB]" or
 * "+unix://[[USER]:PASSWORD@]/PATH[?db=DB]" (the URL after "redis") into
 * zeroed *r: 0 or OTP_ETYPE. Connects to nothing. */
int otp_redis_init(struct otp_redis *r, const char *url);

/* A new hiredis connection to where r says (TCP with keep-alive, or the
 * unix socket), within ct; NULL or with c->err set on a failure. For this
 * file and the tracker's own connection (tracking.c). */
redisContext *otp_redis_dial(const struct otp_redis *r, struct timeval ct);
void otp_redis_deinit(struct otp_redis *r);

/* Makes r, initialised from url, a piped one: its calls go through the
 * process's shared connection to url, made with its first user. The
 * calls below need it. 0 or OTP_EINTERNAL. Undone by otp_redis_deinit. */
int otp_redis_attach(struct otp_redis *r, const char *url);

/* Connected and ready, connecting now if needed (unless in backoff). */
int otp_redis_connect(struct otp_redis *r);

/* Runs a plain command, a's arguments from slot OTP_REDIS_ARGS_FIRST.
 * *out gets a reply that is not an error; the caller frees it. */
int otp_redis_cmd(struct otp_redis *r, struct otp_redis_args *a,
		  redisReply **out);

/* Runs script sc: v[3..argc) are its nkeys keys then its arguments; slots
 * 0-2 are filled here. *out gets an array reply of one element at least. */
int otp_redis_eval(struct otp_redis *r, enum otp_redis_script sc, int nkeys,
		   int argc, const char **v, size_t *len, redisReply **out);

/* A plain command a and script sc (nkeys, b) in one round trip, not one
 * snapshot. *ra gets the command's reply (not an error), *rb the script's
 * (an array); the caller frees both. */
int otp_redis_cmd_eval(struct otp_redis *r, struct otp_redis_args *a,
		       enum otp_redis_script sc, int nkeys,
		       struct otp_redis_args *b, redisReply **ra,
		       redisReply **rb);

/* n plain read commands in one round trip, not one snapshot: the i-th
 * has argc[i] arguments, after the one before's in v and len. reps[i]
 * gets its reply, the caller's to free; when any is an error, it is
 * mapped and none is kept. No script: Redis runs each as it runs a
 * client's, without a Lua call a command. */
int otp_redis_reads(struct otp_redis *r, int n, const int *argc, const char **v,
		    const size_t *len, redisReply **reps);

/* ---- for pipe.c: the steps of a connection that is not piped ---- */

/* Connected and ready (the stall, a closed socket, the backoff). */
int otp_redis_wire_ready(struct otp_redis *r);
/* Appends len bytes of formatted commands, to go with the next write. */
void otp_redis_wire_append(struct otp_redis *r, const char *buf, size_t len);
/* Writes all that is appended: 0, or OTP_EUNAVAIL with the connection
 * dropped. */
int otp_redis_wire_write(struct otp_redis *r);
/* The next reply: 0, or OTP_EUNAVAIL with the connection dropped (a
 * whole timeout since `since` starts the stall). */
int otp_redis_wire_read(struct otp_redis *r, redisReply **rep, int64_t since);
/* Drops the connection (the next ready() makes a new one). */
void otp_redis_wire_drop(struct otp_redis *r);

#endif
