/* conn.c - one connection to Redis (see conn.h): the URL,
 * connecting with AUTH, SELECT and the scripts, timeouts, reconnection with
 * backoff, running commands and scripts, and mapping Redis's errors.
 * A Redis that stops answering (frozen, SIGSTOP, a dead path) costs one
 * command timeout: after it, every handle of the process answers
 * OTP_EUNAVAIL at once, without touching the network, while one probe at a
 * time finds out whether Redis is back (the stall). A command that left
 * and got no answer may have run: a script that writes then answers
 * OTP_EOUTCOME, never OTP_EUNAVAIL (which says nothing was done).
 * The only clock it reads is the monotonic one, for the backoff.
 * Not here: what the scripts do and which keys they touch (scripts.c,
 * the domain files).
 */
#include "store/redis/conn.h"

#include <poll.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/hostport.h"
#include "core/log.h"
#include "store/redis/pipe.h"
#include "store/redis/stats.h"

/* A connect, a command and a probe each wait at most this long, so that a
 * request on a frozen Redis is answered 503 within ~500 ms. */
#define CONNECT_MS 400
#define COMMAND_MS 400
/* After a timeout, how long nobody but the probe tries Redis. */
#define STALL_MS       200
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))

enum {
#define STAT_ID(name) STAT_##name,
	OTP_REDIS_STATS(STAT_ID)
#undef STAT_ID
	    STAT_COUNT
};

/* Process-wide, for every handle: bumped on rare events only. */
static _Atomic uint64_t stats[STAT_COUNT];

static void bump(int which)
{
	atomic_fetch_add_explicit(&stats[which], 1, memory_order_relaxed);
}

void otp_redis_stats_pipe(uint64_t calls)
{
	atomic_fetch_add_explicit(&stats[STAT_pipe_calls], calls,
				  memory_order_relaxed);
	bump(STAT_pipe_batches);
}

struct otp_redis_stats otp_redis_stats(void)
{
	struct otp_redis_stats out;
#define STAT_READ(name)                                                        \
	out.name =                                                             \
	    atomic_load_explicit(&stats[STAT_##name], memory_order_relaxed);
	OTP_REDIS_STATS(STAT_READ)
#undef STAT_READ
	return out;
}

static void drop(struct otp_redis *r)
{
	if (r->pipe) /* the shared connection, before its next commands */
		otp_redis_pipe_reset(r->pipe);
	if (r->c) {
		redisFree(r->c);
		r->c = NULL;
	}
}

/* Logs an outage once per interval for the whole process (every thread's
 * handle sees it), with how many times it was seen in between. */
static atomic_bool process_down;
/* Goes up on every successful connection of any handle: a handle waiting
 * out its backoff tries again at once when another has got through (Redis
 * is back), instead of answering 503 for up to a second more. */
static atomic_uint connected_gen;

static void note_down(struct otp_redis *r, const char *why)
{
	static struct otp_log_every down;
	atomic_store(&process_down, true);
	long held;
	char n[OTP_LOG_NUM_LEN];
	if (otp_log_every_due(&down, otp_clock_mono_ms(), 10000, &held))
		otp_log(OTP_LOG_WARN, "redis unavailable", "error", why,
			"#repeated", otp_log_num(n, held), NULL);
	r->down = true;
}

/* The stall (see the top): 0, or the monotonic ms before which no handle
 * tries Redis. Whoever finds it passed moves it on by a probe's time and
 * is the probe; any answer from Redis ends it. */
static _Atomic int64_t stall_until;

static void stall(void)
{
	atomic_store(&stall_until, otp_clock_mono_ms() + STALL_MS);
}

/* Whether this call must not try Redis now (another is the probe). */
static bool stalled(void)
{
	int64_t until = atomic_load(&stall_until);
	if (until == 0)
		return false;
	int64_t now = otp_clock_mono_ms();
	if (now < until)
		return true;
	return !atomic_compare_exchange_strong(&stall_until, &until,
					       now + COMMAND_MS + STALL_MS);
}

/* A wait of `since` that lasted the whole timeout: Redis does not answer. */
static void timed_out(int64_t since)
{
	if (otp_clock_mono_ms() - since >= COMMAND_MS - 50)
		stall();
}

static void note_up(struct otp_redis *r)
{
	int64_t until = atomic_load(&stall_until);
	if (until && atomic_compare_exchange_strong(&stall_until, &until, 0))
		/* Handles waiting out a backoff try again at once. */
		atomic_fetch_add_explicit(&connected_gen, 1,
					  memory_order_relaxed);
	if (r->down && atomic_exchange(&process_down, false))
		otp_log(OTP_LOG_INFO, "redis available again", NULL);
	r->down = false;
}

/* Replies that mean "not now" rather than "wrong": the server is loading,
 * busy with a script, a replica, out of memory, and so on. READONLY and
 * NOAUTH also mean this connection is no good (a failover, a restart with a
 * password): the next call makes a new one. */
static int reply_error(struct otp_redis *r, const char *msg)
{
	static const char *const busy[] = {
	    "LOADING",	"BUSY",	       "MASTERDOWN", "OOM",
	    "TRYAGAIN", "CLUSTERDOWN", "MISCONF",    "NOREPLICAS",
	};
	static const char *const reconnect[] = {"READONLY", "NOAUTH"};
	for (size_t i = 0; i < COUNT(reconnect); i++)
		if (strncmp(msg, reconnect[i], strlen(reconnect[i])) == 0) {
			drop(r);
			note_down(r, msg);
			return OTP_EUNAVAIL;
		}
	for (size_t i = 0; i < COUNT(busy); i++)
		if (strncmp(msg, busy[i], strlen(busy[i])) == 0) {
			note_down(r, msg);
			return OTP_EUNAVAIL;
		}
	otp_log(OTP_LOG_ERROR, "redis error", "error", msg, NULL);
	return OTP_EINTERNAL;
}

/* A wrong password or database is a configuration error; a server still
 * loading its data is only not ready yet. */
static int setup_error(const char *msg)
{
	if (strncmp(msg, "LOADING", 7) == 0)
		return OTP_EUNAVAIL;
	otp_log(OTP_LOG_ERROR, "redis refused the connection", "error", msg,
		NULL);
	return OTP_EINTERNAL;
}

/* One command on a fresh connection during set-up: 0, OTP_EUNAVAIL for a
 * broken connection, or the mapped error reply. */
static int setup_cmd(redisContext *c, int argc, const char **v,
		     const size_t *len, redisReply **out)
{
	redisReply *rep = redisCommandArgv(c, argc, v, len);
	if (!rep)
		return OTP_EUNAVAIL;
	if (rep->type == REDIS_REPLY_ERROR) {
		int rc = setup_error(rep->str);
		freeReplyObject(rep);
		return rc;
	}
	if (out)
		*out = rep;
	else
		freeReplyObject(rep);
	return 0;
}

/* Keeps the SHA1 of script sc from SCRIPT LOAD's reply, and frees it.
 * During set-up, an error reply is a configuration error (NOAUTH: no
 * password given), as for AUTH and SELECT. */
static int sha_of(struct otp_redis *r, redisReply *rep,
		  enum otp_redis_script sc, bool setup)
{
	int rc = 0;
	if (rep->type == REDIS_REPLY_ERROR && setup)
		rc = setup_error(rep->str);
	else if (rep->type == REDIS_REPLY_ERROR)
		rc = reply_error(r, rep->str);
	else if (rep->type != REDIS_REPLY_STRING || rep->len != 40)
		rc = OTP_EINTERNAL;
	else
		memcpy(r->sha[sc], rep->str, 41);
	freeReplyObject(rep);
	return rc;
}

/* AUTH, SELECT and every script, on a new connection. */
static int handshake(struct otp_redis *r, redisContext *c)
{
	int rc;
	if (r->pass) {
		const char *v[] = {"AUTH", r->user ? r->user : r->pass,
				   r->pass};
		size_t len[] = {4, strlen(v[1]), strlen(r->pass)};
		rc = setup_cmd(c, r->user ? 3 : 2, v, len, NULL);
		if (rc)
			return rc;
	}
	if (r->db) {
		char db[16];
		snprintf(db, sizeof db, "%d", r->db);
		const char *v[] = {"SELECT", db};
		size_t len[] = {6, strlen(db)};
		rc = setup_cmd(c, 2, v, len, NULL);
		if (rc)
			return rc;
	}
	/* One round trip for all of them. */
	for (int i = 0; i < OTP_RS_COUNT; i++) {
		const char *v[] = {"SCRIPT", "LOAD", otp_redis_lua[i]};
		size_t len[] = {6, 4, strlen(otp_redis_lua[i])};
		if (redisAppendCommandArgv(c, 3, v, len) != REDIS_OK)
			return OTP_EUNAVAIL;
	}
	for (int i = 0; i < OTP_RS_COUNT; i++) {
		redisReply *rep;
		if (redisGetReply(c, (void **)&rep) != REDIS_OK)
			return OTP_EUNAVAIL;
		rc = sha_of(r, rep, (enum otp_redis_script)i, true);
		if (rc)
			return rc;
	}
	return 0;
}

/* Connects, unless a recent failure says wait. */
static int dial(struct otp_redis *r)
{
	int64_t now = otp_clock_mono_ms();
	if (now < r->retry_at &&
	    atomic_load_explicit(&connected_gen, memory_order_relaxed) ==
		r->failed_gen) {
		bump(STAT_backoff_refusals);
		return OTP_EUNAVAIL;
	}
	int64_t since = otp_clock_mono_ms();
	struct timeval ct = {CONNECT_MS / 1000, (CONNECT_MS % 1000) * 1000};
	struct timeval tv = {COMMAND_MS / 1000, (COMMAND_MS % 1000) * 1000};
	redisContext *c = otp_redis_dial(r, ct);
	int rc = OTP_EUNAVAIL;
	if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK)
		goto fail;
	rc = handshake(r, c);
	if (rc)
		goto fail;
	r->c = c;
	bump(STAT_connects);
	atomic_fetch_add_explicit(&connected_gen, 1, memory_order_relaxed);
	r->backoff_ms = 0;
	r->retry_at = 0;
	return 0;
fail:
	timed_out(since);
	bump(STAT_connect_failures);
	if (rc == OTP_EUNAVAIL) /* the rest was logged where it was seen */
		note_down(r, !c ? "out of memory" : c->errstr);
	if (c)
		redisFree(c);
	r->backoff_ms = r->backoff_ms ? 2 * r->backoff_ms : BACKOFF_MIN_MS;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	r->retry_at = now + r->backoff_ms;
	r->failed_gen =
	    atomic_load_explicit(&connected_gen, memory_order_relaxed);
	return rc;
}

/* Nothing is in flight between calls, so a readable socket means the
 * server closed it (a restart, a timeout, CLIENT KILL) or sent what no one
 * asked for: either way, use a new one rather than fail the call. */
static bool stale(const redisContext *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	return poll(&p, 1, 0) != 0;
}

/* Connected to the shared connection: its scripts' SHA1s, from its first
 * connection (a probe of no commands that makes it). */
static int hello(struct otp_redis *r)
{
	int rc = otp_redis_pipe_call(r->pipe, NULL, 0, NULL, 0, false);
	if (rc == 0) {
		otp_redis_pipe_sha(r->pipe, r->sha);
		r->sha_ok = true;
	}
	return rc;
}

/* A handle's: the rest is the shared connection's (wire_ready), but a
 * stall answers at once, not behind the shared connection's probe. */
static int ready(struct otp_redis *r)
{
	int64_t until = atomic_load(&stall_until);
	if (until && otp_clock_mono_ms() < until) {
		bump(STAT_backoff_refusals);
		return OTP_EUNAVAIL;
	}
	return r->sha_ok ? 0 : hello(r);
}

/* The shared connection's: connected and ready, or why not. */
static int wire_ready(struct otp_redis *r)
{
	if (stalled()) {
		bump(STAT_backoff_refusals);
		return OTP_EUNAVAIL;
	}
	if (r->c && (r->c->err || stale(r->c))) {
		bump(STAT_stale_drops);
		drop(r);
	}
	return r->c ? 0 : dial(r);
}

/* A command failed on the wire: the connection is dropped, and the next
 * call connects again at once (unless the stall says wait). */
static int lost(struct otp_redis *r)
{
	note_down(r, r->c ? r->c->errstr : "connection dropped");
	bump(STAT_lost);
	drop(r);
	return OTP_EUNAVAIL;
}

/* Scripts that change nothing: a lost answer to them is no lost outcome. */
static bool writes(enum otp_redis_script sc)
{
	return sc != OTP_RS_KEY_LIST && sc != OTP_RS_LIST && sc != OTP_RS_STATE;
}

/* Room for `more` bytes at the end of r->out. */
static char *out_room(struct otp_redis *r, size_t more)
{
	if (r->out_len + more > r->out_cap) {
		size_t cap = r->out_cap ? r->out_cap : 1024;
		while (cap < r->out_len + more)
			cap *= 2;
		r->out = realloc(r->out, cap);
		if (!r->out)
			abort();
		r->out_cap = cap;
	}
	return r->out + r->out_len;
}

/* "<tag><n>\r\n" at the end of r->out. */
static void out_head(struct otp_redis *r, char tag, size_t n)
{
	char d[24], *q = d + sizeof d;
	do
		*--q = (char)('0' + n % 10);
	while (n /= 10);
	size_t k = (size_t)(d + sizeof d - q);
	char *p = out_room(r, k + 3);
	p[0] = tag;
	memcpy(p + 1, q, k);
	memcpy(p + 1 + k, "\r\n", 2);
	r->out_len += k + 3;
}

/* Adds a command to the call's, in r->out: RESP written in place, as
 * redisFormatCommandArgv would, without its allocation a command. */
static void append(struct otp_redis *r, int argc, const char **v,
		   const size_t *len)
{
	out_head(r, '*', (size_t)argc);
	for (int i = 0; i < argc; i++) {
		out_head(r, '$', len[i]);
		char *p = out_room(r, len[i] + 2);
		memcpy(p, v[i], len[i]);
		memcpy(p + len[i], "\r\n", 2);
		r->out_len += len[i] + 2;
	}
}

/* The call's commands, appended, and their n replies, on the shared
 * connection: 0, or OTP_EUNAVAIL if the commands did not all leave, or
 * if they did and no answer came: OTP_EOUTCOME when `wrote` (Redis may
 * have run them, and will if it was only frozen), OTP_EUNAVAIL for
 * reads. */
static int exchange(struct otp_redis *r, redisReply **rep, int n, bool wrote)
{
	int rc =
	    otp_redis_pipe_call(r->pipe, r->out, r->out_len, rep, n, wrote);
	r->out_len = 0;
	return rc;
}

static int load_script(struct otp_redis *r, enum otp_redis_script sc)
{
	const char *v[] = {"SCRIPT", "LOAD", otp_redis_lua[sc]};
	size_t len[] = {6, 4, strlen(otp_redis_lua[sc])};
	redisReply *rep;
	append(r, 3, v, len);
	int rc = exchange(r, &rep, 1, false);
	return rc ? rc : sha_of(r, rep, sc, false);
}

/* Runs a plain command of args a (from slot OTP_REDIS_ARGS_FIRST). *out gets a
 * reply that is not an error. */
int otp_redis_cmd(struct otp_redis *r, struct otp_redis_args *a,
		  redisReply **out)
{
	int rc = ready(r);
	if (rc)
		return rc;
	redisReply *rep;
	/* Reads, and DEL, which is safe to repeat: nothing to be unsure of. */
	append(r, a->n - OTP_REDIS_ARGS_FIRST, a->v + OTP_REDIS_ARGS_FIRST,
	       a->len + OTP_REDIS_ARGS_FIRST);
	rc = exchange(r, &rep, 1, false);
	if (rc)
		return rc;
	if (rep->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r, rep->str);
		freeReplyObject(rep);
		return rc;
	}
	note_up(r);
	*out = rep;
	return 0;
}

static bool is_noscript(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR &&
	       strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/* Fills slots 0-2 of v for EVALSHA of script sc with nkeys keys; nbuf
 * holds the number's text. */
static void evalsha(struct otp_redis *r, const char **v, size_t *len,
		    char *nbuf, enum otp_redis_script sc, int nkeys)
{
	snprintf(nbuf, OTP_REDIS_ARG_TEXT, "%d", nkeys);
	v[0] = "EVALSHA";
	len[0] = 7;
	v[1] = r->sha[sc];
	len[1] = 40;
	v[2] = nbuf;
	len[2] = strlen(nbuf);
}

/* Runs script sc with argc arguments in v and len, slots 0-2 free for
 * EVALSHA (the first nkeys after them are keys). *out gets an array reply.
 * After a SCRIPT FLUSH (or a failover to a server that never saw it) the
 * script is loaded again and run once more: NOSCRIPT means it did not
 * run. */
int otp_redis_eval(struct otp_redis *r, enum otp_redis_script sc, int nkeys,
		   int argc, const char **v, size_t *len, redisReply **out)
{
	char nbuf[OTP_REDIS_ARG_TEXT];
	int rc = ready(r);
	if (rc)
		return rc;
	for (int tries = 0;; tries++) {
		evalsha(r, v, len, nbuf, sc, nkeys);
		redisReply *rep;
		append(r, argc, v, len);
		rc = exchange(r, &rep, 1, writes(sc));
		if (rc)
			return rc;
		if (is_noscript(rep) && tries == 0) {
			freeReplyObject(rep);
			bump(STAT_script_reloads);
			rc = load_script(r, sc);
			if (rc)
				return rc;
			continue;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			rc = reply_error(r, rep->str);
			freeReplyObject(rep);
			return rc;
		}
		note_up(r);
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) {
			freeReplyObject(rep);
			return OTP_EINTERNAL;
		}
		*out = rep;
		return 0;
	}
}

/* Script sc's reply *rep from a pipelined call (b its arguments, slots
 * 0-2 filled): NOSCRIPT runs it alone, loading it again (rare); an error
 * reply is mapped, and so is one that is not an array. On an error *rep
 * is freed and NULL. */
static int script_reply(struct otp_redis *r, enum otp_redis_script sc,
			int nkeys, struct otp_redis_args *b, redisReply **rep)
{
	redisReply *y = *rep;
	int rc = 0;
	if (is_noscript(y)) {
		freeReplyObject(y);
		*rep = NULL;
		return otp_redis_eval(r, sc, nkeys, b->n, b->v, b->len, rep);
	}
	if (y->type == REDIS_REPLY_ERROR)
		rc = reply_error(r, y->str);
	else if (y->type != REDIS_REPLY_ARRAY || y->elements < 1)
		rc = OTP_EINTERNAL;
	if (rc) {
		freeReplyObject(y);
		*rep = NULL;
	}
	return rc;
}

/* Decodes %XX escapes of a URL's user or password into sodium_malloc'd
 * memory; NULL if malformed. */
static char *decode(const char *p, size_t n)
{
	char *out = sodium_malloc(n + 1);
	if (!out)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			out[k++] = p[i];
			continue;
		}
		unsigned v;
		char hex[3] = {0};
		if (i + 2 >= n) {
			sodium_free(out);
			return NULL;
		}
		memcpy(hex, p + i + 1, 2);
		if (strspn(hex, "0123456789abcdefABCDEF") != 2 ||
		    sscanf(hex, "%2x", &v) != 1 || v == 0) {
			sodium_free(out);
			return NULL;
		}
		out[k++] = (char)v;
		i += 2;
	}
	out[k] = '\0';
	return out;
}

/* Digits only, as a number in [lo, hi]; -1 if not. */
static long number(const char *p, size_t n, long lo, long hi)
{
	if (n < 1 || n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

/* The [[user]:password@] of a URL, [url, at): 0 or OTP_ETYPE. */
static int credentials(struct otp_redis *r, const char *url, const char *at)
{
	const char *colon = memchr(url, ':', (size_t)(at - url));
	if (!colon)
		return OTP_ETYPE;
	if (colon > url) {
		r->user = decode(url, (size_t)(colon - url));
		if (!r->user)
			return OTP_ETYPE;
	}
	r->pass = decode(colon + 1, (size_t)(at - colon - 1));
	return r->pass ? 0 : OTP_ETYPE;
}

/* [[user]:password@]host:port[/db], host a name, IPv4 or [IPv6]. */
static int tcp_where(struct otp_redis *r, const char *url)
{
	const char *at = strrchr(url, '@'), *h = url;
	if (at) {
		if (credentials(r, url, at))
			return OTP_ETYPE;
		h = at + 1;
	}
	size_t hl;
	const char *port = otp_hostport(h, false, &h, &hl);
	if (!port)
		return OTP_ETYPE;
	if (hl == 0 || hl >= sizeof r->host || memchr(h, '/', hl))
		return OTP_ETYPE;
	memcpy(r->host, h, hl);
	r->host[hl] = '\0';
	const char *slash = strchr(port, '/');
	size_t pl = slash ? (size_t)(slash - port) : strlen(port);
	long p = number(port, pl, 1, 65535), db = 0;
	if (slash)
		db = number(slash + 1, strlen(slash + 1), 0, 1000000);
	if (p < 0 || db < 0)
		return OTP_ETYPE;
	r->port = (int)p;
	r->db = (int)db;
	return 0;
}

/* [[user]:password@]/path[?db=N]: the path absolute, up to the '?'; a
 * user or password with '@' or '?' in it percent-encoded. */
static int unix_where(struct otp_redis *r, const char *url)
{
	const char *path = url;
	if (*url != '/') {
		const char *at = strstr(url, "@/");
		if (!at || credentials(r, url, at))
			return OTP_ETYPE;
		path = at + 1;
	}
	const char *q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	if (n < 2 || n >= sizeof r->path)
		return OTP_ETYPE;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
			return OTP_ETYPE;
	memcpy(r->path, path, n);
	r->path[n] = '\0';
	long db = 0;
	if (q) {
		if (strncmp(q, "?db=", 4) != 0)
			return OTP_ETYPE;
		db = number(q + 4, strlen(q + 4), 0, 1000000);
	}
	if (db < 0)
		return OTP_ETYPE;
	r->db = (int)db;
	return 0;
}

/* "://" then tcp_where's form, or "+unix://" then unix_where's (the URL
 * after "redis"). On an error, the caller still calls otp_redis_deinit. */
int otp_redis_init(struct otp_redis *r, const char *url)
{
	if (strncmp(url, "://", 3) == 0)
		return tcp_where(r, url + 3);
	if (strncmp(url, "+unix://", 8) == 0)
		return unix_where(r, url + 8);
	return OTP_ETYPE;
}

redisContext *otp_redis_dial(const struct otp_redis *r, struct timeval ct)
{
	if (r->path[0])
		return redisConnectUnixWithTimeout(r->path, ct);
	redisContext *c = redisConnectWithTimeout(r->host, r->port, ct);
	if (c && !c->err)
		redisEnableKeepAlive(c);
	return c;
}

void otp_redis_deinit(struct otp_redis *r)
{
	if (r->pipe) {
		otp_redis_pipe_put(r->pipe);
		r->pipe = NULL;
	}
	free(r->out);
	r->out = NULL;
	r->out_len = r->out_cap = 0;
	drop(r);
	if (r->user)
		sodium_free(r->user);
	if (r->pass)
		sodium_free(r->pass);
	r->user = r->pass = NULL;
}

int otp_redis_connect(struct otp_redis *r)
{
	return ready(r);
}

int otp_redis_attach(struct otp_redis *r, const char *url)
{
	r->pipe = otp_redis_pipe_get(url);
	return r->pipe ? 0 : OTP_EINTERNAL;
}

int otp_redis_wire_ready(struct otp_redis *r)
{
	return wire_ready(r);
}

void otp_redis_wire_append(struct otp_redis *r, const char *buf, size_t len)
{
	if (len && redisAppendFormattedCommand(r->c, buf, len) != REDIS_OK)
		abort(); /* out of memory: hiredis's only failure here */
}

int otp_redis_wire_write(struct otp_redis *r)
{
	int64_t since = otp_clock_mono_ms();
	int done = 0;
	while (!done)
		if (redisBufferWrite(r->c, &done) != REDIS_OK) {
			timed_out(since);
			return lost(r);
		}
	return 0;
}

int otp_redis_wire_read(struct otp_redis *r, redisReply **rep, int64_t since)
{
	*rep = NULL;
	if (redisGetReply(r->c, (void **)rep) == REDIS_OK)
		return 0;
	timed_out(since);
	return lost(r);
}

void otp_redis_wire_drop(struct otp_redis *r)
{
	drop(r);
}

/* One of a pipelined pair: script sc (nkeys keys; slots 0-2 filled
 * here), or a plain command (sc < 0; its arguments from slot
 * OTP_REDIS_ARGS_FIRST). */
struct part {
	int sc;
	int nkeys;
	struct otp_redis_args *a;
};

static void part_append(struct otp_redis *r, const struct part *p)
{
	struct otp_redis_args *a = p->a;
	if (p->sc < 0) {
		append(r, a->n - OTP_REDIS_ARGS_FIRST,
		       a->v + OTP_REDIS_ARGS_FIRST,
		       a->len + OTP_REDIS_ARGS_FIRST);
		return;
	}
	evalsha(r, a->v, a->len, a->text[2], (enum otp_redis_script)p->sc,
		p->nkeys);
	append(r, a->n, a->v, a->len);
}

/* Its reply: a script's as script_reply takes it; a plain command's
 * error reply mapped (and *rep freed and NULL). */
static int part_reply(struct otp_redis *r, const struct part *p,
		      redisReply **rep)
{
	if (p->sc >= 0)
		return script_reply(r, (enum otp_redis_script)p->sc, p->nkeys,
				    p->a, rep);
	if ((*rep)->type != REDIS_REPLY_ERROR)
		return 0;
	int rc = reply_error(r, (*rep)->str);
	freeReplyObject(*rep);
	*rep = NULL;
	return rc;
}

/* x and y in one round trip, not one snapshot: *rx and *ry get their
 * replies, the caller's to free; on an error neither. */
static int pair(struct otp_redis *r, struct part x, struct part y,
		redisReply **rx, redisReply **ry)
{
	*rx = *ry = NULL;
	int rc = ready(r);
	if (rc)
		return rc;
	part_append(r, &x);
	part_append(r, &y);
	bool wrote = (x.sc >= 0 && writes((enum otp_redis_script)x.sc)) ||
		     (y.sc >= 0 && writes((enum otp_redis_script)y.sc));
	redisReply *xy[2];
	rc = exchange(r, xy, 2, wrote);
	if (rc)
		return rc;
	rc = part_reply(r, &x, &xy[0]);
	int rc2 = part_reply(r, &y, &xy[1]);
	if (rc == 0)
		rc = rc2;
	if (rc) {
		for (int i = 0; i < 2; i++)
			if (xy[i])
				freeReplyObject(xy[i]);
		return rc;
	}
	note_up(r);
	*rx = xy[0];
	*ry = xy[1];
	return 0;
}

int otp_redis_cmd_eval(struct otp_redis *r, struct otp_redis_args *a,
		       enum otp_redis_script sc, int nkeys,
		       struct otp_redis_args *b, redisReply **ra,
		       redisReply **rb)
{
	return pair(r, (struct part){-1, 0, a},
		    (struct part){(int)sc, nkeys, b}, ra, rb);
}

int otp_redis_reads(struct otp_redis *r, int n, const int *argc, const char **v,
		    const size_t *len, redisReply **reps)
{
	int rc = ready(r);
	if (rc)
		return rc;
	for (int i = 0, at = 0; i < n; at += argc[i++])
		append(r, argc[i], v + at, len + at);
	rc = exchange(r, reps, n, false);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++)
		if (rc == 0 && reps[i]->type == REDIS_REPLY_ERROR)
			rc = reply_error(r, reps[i]->str);
	if (rc) {
		for (int i = 0; i < n; i++)
			freeReplyObject(reps[i]);
		return rc;
	}
	note_up(r);
	return 0;
}
