/* store_redis.c - the Redis backend of the store interface (store.h).
 *
 * One handle is one hiredis connection (connect timeout 1 s, command timeout
 * 500 ms). Every domain operation is one round trip: a Lua script, loaded
 * with SCRIPT LOAD when the connection is made and run with EVALSHA (loaded
 * again on NOSCRIPT), or a single read command. Redis runs a script alone,
 * so each operation is atomic across every otpd process sharing the server.
 * Scripts never read Redis's clock: `now` comes in as an argument.
 *
 * Keys, all under "otp:", with a hash tag per entity:
 *   otp:{c:<request id>}        code: phone, MAC, attempts left, state, times
 *   otp:{p:<phone>}             id of the phone's latest code (to retire it)
 *   otp:{s:<hex token hash>}    session
 *   otp:{i:<idempotency key>}   first answer under an idempotency key
 *   otp:{l:<limit key>}         GCRA theoretical arrival time
 *   otp:{keys}:k:<id>, :all     API keys, and their ids by creation time
 *   otp:{outbox}:...            the shared queue: seq (ids), m:<id> (hash per
 *                               message), r:<request id> (its message id),
 *                               due (zset: queued by next try, sending by
 *                               lease end), ids, st:<state> (zsets by id, for
 *                               listing), exp (zset by code expiry, for purge)
 * Each record key gets a TTL from its own expiry, computed as expiry - now
 * (the caller's clock, so that Redis's clock does not matter) plus a minute
 * of slack for clocks that differ between otpd hosts: Redis cleans itself.
 * Codes and messages are kept a day past their expiry, like SQLite's purge.
 * API keys never expire; the outbox's index zsets are structures, cleaned of
 * their members by purge (and by claim, of members whose hash is gone).
 *
 * Slots. Sessions, limits taken one at a time, API keys, and every outbox
 * operation touch one slot each. Some operations cannot: code_issue touches
 * the code, its phone, the phone's previous code, the outbox, the
 * idempotency key, the session and the limits (the interface makes these
 * one atomic step); code_verify with rotation touches the code and two
 * sessions; session_rotate two sessions; limit_take one slot per key; purge
 * scans. Keys computed inside scripts are in a declared key's slot, except
 * the previous code in code_issue. All of this is atomic on one Redis
 * server (with replicas), which is what we support; on Redis Cluster those
 * operations would fail with CROSSSLOT.
 *
 * Failures: a connection that breaks, times out or was closed while idle is
 * dropped; the next call connects again, and if that fails, calls answer
 * OTP_EUNAVAIL at once until a backoff (50 ms doubling to 1 s) runs out. A
 * call that fails may or may not have run (a timeout after sending): it is
 * never retried, except on NOSCRIPT, which means it did not run.
 * Not here: TTL and attempt policy (the engine), choosing the backend by URL
 * (store.c).
 */
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define CONNECT_MS     1000
#define COMMAND_MS     500
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
#define LIMITS_MAX     16 /* limits in one limit_take */
#define ARGS_MAX       (24 + 3 * LIMITS_MAX)
#define ARG_TEXT       200 /* a key or a number we format */
#define SCAN_COUNT     "1000"
#define PURGE_BATCH    "500"
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))

#define OB "otp:{outbox}:"

extern const struct otp_store_ops otp_store_redis_ops;

/* ---- the scripts ---- */

/* clang-format off */

/* Shared by every script. keep() gives a key the TTL of a record living
 * until `till` (ms, caller's clock). n() and s() convert; s() formats with
 * %d because Lua's own number-to-text would write 1e+14 one day. */
#define PRELUDE                                                                \
	"local SLACK, DAY = 60000, 86400000\n"                                 \
	"local OB = '" OB "'\n"                                                \
	"local function n(x) return tonumber(x) end\n"                         \
	"local function s(x) return string.format('%d', x) end\n"              \
	"local function keep(k, till, now)\n"                                  \
	"  local t = till - now\n"                                             \
	"  if t < 0 then t = 0 end\n"                                          \
	"  redis.call('PEXPIRE', k, s(t + SLACK))\n"                           \
	"end\n"                                                                \
	"local STATES = {'queued', 'sending', 'sent', 'delivered',\n"          \
	"  'undelivered', 'failed', 'expired'}\n"                              \
	/* Moves message member m from one state's listing to another's. */    \
	"local function move(m, from, to)\n"                                   \
	"  if from then redis.call('ZREM', OB .. 'st:' .. from, m) end\n"      \
	"  redis.call('ZADD', OB .. 'st:' .. to, s(n(m)), m)\n"                \
	"end\n"                                                                \
	/* Forgets member m in every outbox index. */                          \
	"local function drop(m)\n"                                             \
	"  redis.call('ZREM', OB .. 'due', m)\n"                               \
	"  redis.call('ZREM', OB .. 'ids', m)\n"                               \
	"  redis.call('ZREM', OB .. 'exp', m)\n"                               \
	"  for _, st in ipairs(STATES) do\n"                                   \
	"    redis.call('ZREM', OB .. 'st:' .. st, m)\n"                       \
	"  end\n"                                                              \
	"end\n"                                                                \
	/* The session upsert: an expired row starts over. */                  \
	"local function bind(k, now, exp, set, pid, pph, count)\n"             \
	"  local f = redis.call('HMGET', k, 'p', 'a', 'e', 'pi', 'pp', 'n')\n" \
	"  local p, a, e, pi, pp, c = '', '0', exp, '', '', 0\n"               \
	"  if f[3] and n(f[3]) > now then\n"                                   \
	"    p, a, pi, pp = f[1] or '', f[2] or '0', f[4] or '', f[5] or ''\n" \
	"    c = n(f[6] or '0')\n"                                             \
	"    if n(f[3]) > e then e = n(f[3]) end\n"                            \
	"  end\n"                                                              \
	"  if set then pi, pp = pid, pph end\n"                                \
	"  redis.call('HSET', k, 'p', p, 'a', a, 'e', s(e), 'pi', pi,\n"       \
	"    'pp', pp, 'n', s(c + count))\n"                                   \
	"  keep(k, e, now)\n"                                                  \
	"end\n"                                                                \
	/* GCRA over KEYS[k0 + 1 .. k0 + cnt], interval and burst of the i-th  \
	 * at ARGV[a0 + 2i - 1], ARGV[a0 + 2i]: the arithmetic of core/gcra.h. \
	 * Decides all first; returns the writes to make, or nil and the       \
	 * longest wait. A key named twice counts twice. */                    \
	"local function gcra(k0, cnt, a0, now)\n"                              \
	"  local w, refused, longest = {tat = {}, order = {}}, false, 0\n"     \
	"  for i = 1, cnt do\n"                                                \
	"    local k = KEYS[k0 + i]\n"                                         \
	"    local T, b = n(ARGV[a0 + 2 * i - 1]), n(ARGV[a0 + 2 * i])\n"      \
	"    if T > 0 then\n"                                                  \
	"      if b < 1 then b = 1 end\n"                                      \
	"      local tat = w.tat[k] or n(redis.call('GET', k) or '0')\n"       \
	"      if tat < now then tat = now end\n"                              \
	"      local allow = tat - T * (b - 1)\n"                              \
	"      if now < allow then\n"                                          \
	"        refused = true\n"                                             \
	"        if allow - now > longest then longest = allow - now end\n"    \
	"      elseif not refused then\n"                                      \
	"        if not w.tat[k] then w.order[#w.order + 1] = k end\n"         \
	"        w.tat[k] = tat + T\n"                                         \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  if refused then return nil, longest end\n"                          \
	"  return w\n"                                                         \
	"end\n"                                                                \
	"local function gcra_put(w, now)\n"                                    \
	"  for _, k in ipairs(w.order) do\n"                                   \
	"    redis.call('SET', k, s(w.tat[k]))\n"                              \
	"    keep(k, w.tat[k], now)\n"                                         \
	"  end\n"                                                              \
	"end\n"                                                                \
	/* An authenticated session with no pending code. */                   \
	"local function login(k, phone, now, exp)\n"                           \
	"  redis.call('DEL', k)\n"                                             \
	"  redis.call('HSET', k, 'p', phone, 'a', s(now), 'e', s(exp),\n"      \
	"    'pi', '', 'pp', '', 'n', '0')\n"                                  \
	"  keep(k, exp, now)\n"                                                \
	"end\n"

/* KEYS: code, phone, outbox due, idem (or code), session (or code), then
 * the limits. ARGV: now, id, phone, mac, attempts, expires, body, has idem,
 * idem expires, has bind, bind expires, then interval and burst per limit.
 * Everything is checked before the first write (a script that fails
 * half-way keeps its writes): the idempotency key (a replay takes no
 * token), the id, the limits. */
static const char s_issue[] =
    PRELUDE
    "local now, id, phone, exp = n(ARGV[1]), ARGV[2], ARGV[3], n(ARGV[6])\n"
    "if ARGV[8] == '1' then\n"
    "  local f = redis.call('HMGET', KEYS[4], 'r', 'p', 'ce', 'e')\n"
    "  if f[1] and n(f[4]) > now then\n"
    "    if f[2] ~= phone then return {'conflict'} end\n"
    "    return {'replayed', f[1], n(f[3])}\n"
    "  end\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate'} end\n"
    "local w, wait = gcra(5, #KEYS - 5, 11, now)\n"
    "if not w then return {'limited', wait} end\n"
    "gcra_put(w, now)\n"
    /* At most one code of a phone is pending: the latest one. */
    "local old = redis.call('GET', KEYS[2])\n"
    "if old then\n"
    "  local ok = 'otp:{c:' .. old .. '}'\n"
    "  if redis.call('HGET', ok, 's') == 'pending' then\n"
    "    redis.call('HSET', ok, 's', 'retired')\n"
    "  end\n"
    "end\n"
    "local till = exp + DAY\n"
    "redis.call('HSET', KEYS[1], 'p', phone, 'm', ARGV[4], 'l', ARGV[5],\n"
    "  's', 'pending', 'c', s(now), 'e', s(exp))\n"
    "keep(KEYS[1], till, now)\n"
    "redis.call('SET', KEYS[2], id)\n"
    "keep(KEYS[2], till, now)\n"
    "local mid = redis.call('INCR', OB .. 'seq')\n"
    "local m, mk = string.format('%016d', mid), OB .. 'm:' .. s(mid)\n"
    "redis.call('HSET', mk, 'r', id, 'to', phone, 'b', ARGV[7],\n"
    "  'st', 'queued', 'a', '0', 'd', '0', 'nx', s(now), 'le', '0',\n"
    "  'e', s(exp), 'err', '', 'u', s(now))\n"
    "keep(mk, till, now)\n"
    "redis.call('SET', OB .. 'r:' .. id, s(mid))\n"
    "keep(OB .. 'r:' .. id, till, now)\n"
    "redis.call('ZADD', OB .. 'due', s(now), m)\n"
    "redis.call('ZADD', OB .. 'ids', s(mid), m)\n"
    "redis.call('ZADD', OB .. 'exp', s(exp), m)\n"
    "move(m, nil, 'queued')\n"
    "if ARGV[8] == '1' then\n"
    "  redis.call('DEL', KEYS[4])\n"
    "  redis.call('HSET', KEYS[4], 'r', id, 'p', phone, 'ce', s(exp),\n"
    "    'e', ARGV[9])\n"
    "  keep(KEYS[4], n(ARGV[9]), now)\n"
    "end\n"
    "if ARGV[10] == '1' then\n"
    "  bind(KEYS[5], now, n(ARGV[11]), true, id, phone, 0)\n"
    "end\n"
    "return {'ok', id, exp}\n";

/* KEYS: code [, old session, new session]. ARGV: now, mac, force fail,
 * expected phone, rotate, session expires.
 * Constant time: the MACs are compared here with a loop over all 32 bytes
 * that ORs together the XOR of each pair and never stops early, so the time
 * does not depend on where they differ (Lua's == would stop at the first
 * difference). We chose this over pre-hashing both sides: it is as short
 * and needs no second hash. What remains is Lua interning the argument
 * string, which may memcmp it against interned strings of equal hash; the
 * MAC is keyed, so nobody can aim a guess at a stored one. */
static const char s_verify[] =
    PRELUDE
    "local now = n(ARGV[1])\n"
    "local f = redis.call('HMGET', KEYS[1], 'p', 'm', 'l', 's', 'e')\n"
    "if not f[1] then return {'notfound', 0, ''} end\n"
    "local phone, left, st = f[1], n(f[3]), f[4]\n"
    "if st == 'used' then return {'used', left, phone} end\n"
    "if st == 'dead' or st == 'retired' then return {'dead', left, phone} end\n"
    "if st ~= 'pending' then return {'bad'} end\n"
    "if now >= n(f[5]) then return {'expired', left, phone} end\n"
    "local mac, try = f[2], ARGV[2]\n"
    "local d = 0\n"
    "if #mac ~= 32 or #try ~= 32 then d = 1 end\n"
    "for i = 1, 32 do\n"
    "  d = bit.bor(d, bit.bxor(string.byte(mac, i) or 0,\n"
    "    string.byte(try, i) or 0))\n"
    "end\n"
    "if d == 0 and ARGV[3] ~= '1' and (ARGV[4] == '' or ARGV[4] == phone)\n"
    "then\n"
    "  redis.call('HSET', KEYS[1], 's', 'used')\n"
    "  if ARGV[5] == '1' then\n"
    "    redis.call('DEL', KEYS[2])\n"
    "    login(KEYS[3], phone, now, n(ARGV[6]))\n"
    "  end\n"
    "  return {'ok', left, phone}\n"
    "end\n"
    "if left > 1 then left = left - 1 else left = 0 end\n"
    "redis.call('HSET', KEYS[1], 'l', s(left),\n"
    "  's', left > 0 and 'pending' or 'dead')\n"
    "return {'wrong', left, phone}\n";

/* KEYS: the limits. ARGV: now, then interval and burst per key. Nothing
 * is written unless every limit allows. */
static const char s_limit[] =
    PRELUDE
    "local now = n(ARGV[1])\n"
    "local w, wait = gcra(0, #KEYS, 1, now)\n"
    "if not w then return {'limited', wait} end\n"
    "gcra_put(w, now)\n"
    "return {'ok', 0}\n";

/* KEYS: session. ARGV: now, expires, set pending, pending id, its phone,
 * sends to add. */
static const char s_bind[] =
    PRELUDE
    "bind(KEYS[1], n(ARGV[1]), n(ARGV[2]), ARGV[3] == '1', ARGV[4],\n"
    "  ARGV[5], n(ARGV[6]))\n"
    "return {'ok'}\n";

/* KEYS: old session, new session. ARGV: now, phone, expires. */
static const char s_rotate[] =
    PRELUDE
    "local now = n(ARGV[1])\n"
    "local e = redis.call('HGET', KEYS[1], 'e')\n"
    "if not e or n(e) <= now then return {'notfound'} end\n"
    "redis.call('DEL', KEYS[1])\n"
    "login(KEYS[2], ARGV[2], now, n(ARGV[3]))\n"
    "return {'ok'}\n";

/* KEYS: key hash, all. ARGV: id, name, hash, created, revoked. */
static const char s_key_put[] =
    PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {'conflict'} end\n"
    "redis.call('HSET', KEYS[1], 'n', ARGV[2], 'h', ARGV[3], 'c', ARGV[4],\n"
    "  'r', ARGV[5])\n"
    "redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])\n"
    "return {'ok'}\n";

/* KEYS: all. ARGV: max. Oldest first, then by id (the zset's own order). */
static const char s_key_list[] =
    PRELUDE
    "local out = {'ok'}\n"
    "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, n(ARGV[1]) - 1))\n"
    "do\n"
    "  local f = redis.call('HMGET', 'otp:{keys}:k:' .. id, 'n', 'h', 'c',\n"
    "    'r')\n"
    "  if f[1] then\n"
    "    for _, v in ipairs({id, f[1], f[2], f[3], f[4]}) do\n"
    "      out[#out + 1] = v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: key hash. ARGV: now. The first revocation's time stays. */
static const char s_key_revoke[] =
    PRELUDE
    "local r = redis.call('HGET', KEYS[1], 'r')\n"
    "if not r then return {'notfound'} end\n"
    "if r == '0' then redis.call('HSET', KEYS[1], 'r', ARGV[1]) end\n"
    "return {'ok'}\n";

/* KEYS: due. ARGV: now, lease ms, max. Due messages in order of due time
 * (ties by id): queued ones whose next try has come, sending ones whose
 * lease ran out. Each claim adds one to attempts, the lease token. */
static const char s_claim[] =
    PRELUDE
    "local now = n(ARGV[1])\n"
    "local till = s(now + n(ARGV[2]))\n"
    "local out = {'ok'}\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
    "  'LIMIT', 0, n(ARGV[3]))\n"
    "for _, m in ipairs(due) do\n"
    "  local id = s(n(m))\n"
    "  local mk = OB .. 'm:' .. id\n"
    "  local f = redis.call('HMGET', mk, 'r', 'to', 'b', 'a', 'd', 'e',\n"
    "    'st')\n"
    "  if not f[1] then\n"
    "    drop(m)\n"
    "  else\n"
    "    local a = s(n(f[4]) + 1)\n"
    "    redis.call('HSET', mk, 'st', 'sending', 'a', a, 'le', till,\n"
    "      'u', ARGV[1])\n"
    "    redis.call('ZADD', KEYS[1], till, m)\n"
    "    if f[7] ~= 'sending' then move(m, f[7], 'sending') end\n"
    "    for _, v in ipairs({id, f[1], f[2] or '', f[3] or '', a,\n"
    "      f[5] or '0', f[6] or '0'}) do\n"
    "      out[#out + 1] = v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Settling a claim: KEYS: message. ARGV: member, lease, now, then per
 * script. The lease token must be the message's current attempts. */
#define SETTLE                                                                 \
	"local f = redis.call('HMGET', KEYS[1], 'st', 'a')\n"                  \
	"if f[1] ~= 'sending' or n(f[2]) ~= n(ARGV[2]) then\n"                 \
	"  return {'notfound'}\n"                                              \
	"end\n"                                                                \
	"local m = ARGV[1]\n"

static const char s_ack[] =
    PRELUDE SETTLE
    "redis.call('HSET', KEYS[1], 'st', 'sent', 'le', '0', 'u', ARGV[3])\n"
    "redis.call('HDEL', KEYS[1], 'b')\n"
    "redis.call('ZREM', OB .. 'due', m)\n"
    "move(m, 'sending', 'sent')\n"
    "return {'ok'}\n";

/* ARGV 4..6: next try, driver, error. */
static const char s_retry[] =
    PRELUDE SETTLE
    "redis.call('HSET', KEYS[1], 'st', 'queued', 'nx', ARGV[4],\n"
    "  'd', ARGV[5], 'le', '0', 'err', ARGV[6], 'u', ARGV[3])\n"
    "redis.call('ZADD', OB .. 'due', ARGV[4], m)\n"
    "move(m, 'sending', 'queued')\n"
    "return {'ok'}\n";

/* ARGV 4..5: state (failed keeps the body, expired wipes it), error. */
static const char s_fail[] =
    PRELUDE SETTLE
    "redis.call('HSET', KEYS[1], 'st', ARGV[4], 'le', '0', 'err', ARGV[5],\n"
    "  'u', ARGV[3])\n"
    "if ARGV[4] ~= 'failed' then redis.call('HDEL', KEYS[1], 'b') end\n"
    "redis.call('ZREM', OB .. 'due', m)\n"
    "move(m, 'sending', ARGV[4])\n"
    "return {'ok'}\n";

/* KEYS: message. ARGV: member, state, now. */
static const char s_report[] =
    PRELUDE
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if not st then return {'notfound'} end\n"
    "if st ~= 'sent' and st ~= 'delivered' and st ~= 'undelivered' then\n"
    "  return {'gone'}\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'st', ARGV[2], 'u', ARGV[3])\n"
    "move(ARGV[1], st, ARGV[2])\n"
    "return {'ok'}\n";

/* KEYS: message. ARGV: member, now. Attempts stay: they only grow. */
static const char s_requeue[] =
    PRELUDE
    "local f = redis.call('HMGET', KEYS[1], 'st', 'b')\n"
    "if not f[1] then return {'notfound'} end\n"
    "if f[1] ~= 'failed' or not f[2] then return {'gone'} end\n"
    "redis.call('HSET', KEYS[1], 'st', 'queued', 'd', '0', 'nx', ARGV[2],\n"
    "  'le', '0', 'u', ARGV[2])\n"
    "redis.call('ZADD', OB .. 'due', ARGV[2], ARGV[1])\n"
    "move(ARGV[1], 'failed', 'queued')\n"
    "return {'ok'}\n";

/* KEYS: the listing (ids, or st:<state>). ARGV: max. Newest first; members
 * whose hash has expired are skipped. */
static const char s_list[] =
    PRELUDE
    "local want, got, from, out = n(ARGV[1]), 0, 0, {'ok'}\n"
    "while got < want do\n"
    "  local ms = redis.call('ZREVRANGE', KEYS[1], from, from + want - 1)\n"
    "  if #ms == 0 then break end\n"
    "  from = from + #ms\n"
    "  for _, m in ipairs(ms) do\n"
    "    local id = s(n(m))\n"
    "    local f = redis.call('HMGET', OB .. 'm:' .. id, 'r', 'to', 'st',\n"
    "      'a', 'd', 'nx', 'e', 'u', 'err')\n"
    "    if f[1] and got < want then\n"
    "      got = got + 1\n"
    "      out[#out + 1] = id\n"
    "      for i = 1, 9 do out[#out + 1] = f[i] or '' end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: r:<request id>. */
static const char s_state[] =
    PRELUDE
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return {'notfound'} end\n"
    "local st = redis.call('HGET', OB .. 'm:' .. id, 'st')\n"
    "if not st then return {'notfound'} end\n"
    "return {'ok', st}\n";

/* KEYS: exp. ARGV: cutoff (expired before it), batch. */
static const char s_purge_outbox[] =
    PRELUDE
    "local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',\n"
    "  '(' .. ARGV[1], 'LIMIT', 0, n(ARGV[2]))\n"
    "local gone = 0\n"
    "for _, m in ipairs(ms) do\n"
    "  local mk = OB .. 'm:' .. s(n(m))\n"
    "  local r = redis.call('HGET', mk, 'r')\n"
    "  if r then redis.call('DEL', OB .. 'r:' .. r) end\n"
    "  gone = gone + redis.call('DEL', mk)\n"
    "  drop(m)\n"
    "end\n"
    "return {'ok', #ms, gone}\n";

/* KEYS: codes, sessions, idempotency keys and limits found by SCAN (their
 * kind is the letter after "otp:{"). ARGV: now. pcall: a key of another
 * type under our names is left alone rather than failing the batch. */
static const char s_purge_keys[] =
    PRELUDE
    "local now, gone = n(ARGV[1]), 0\n"
    "for _, k in ipairs(KEYS) do\n"
    "  local kind, dead = string.sub(k, 6, 6), false\n"
    "  if kind == 'l' then\n"
    "    local t = redis.pcall('GET', k)\n"
    "    dead = type(t) == 'string' and n(t) ~= nil and n(t) <= now\n"
    "  else\n"
    "    local e = redis.pcall('HGET', k, 'e')\n"
    "    if type(e) == 'string' and n(e) then\n"
    "      if kind == 'c' then dead = n(e) < now - DAY\n"
    "      else dead = n(e) <= now end\n"
    "    end\n"
    "  end\n"
    "  if dead then gone = gone + redis.call('DEL', k) end\n"
    "end\n"
    "return {'ok', gone}\n";

/* clang-format on */

enum script {
	S_ISSUE,
	S_VERIFY,
	S_LIMIT,
	S_BIND,
	S_ROTATE,
	S_KEY_PUT,
	S_KEY_LIST,
	S_KEY_REVOKE,
	S_CLAIM,
	S_ACK,
	S_RETRY,
	S_FAIL,
	S_REPORT,
	S_REQUEUE,
	S_LIST,
	S_STATE,
	S_PURGE_OUTBOX,
	S_PURGE_KEYS,
	S_COUNT
};

static const char *const scripts[S_COUNT] = {
    [S_ISSUE] = s_issue,
    [S_VERIFY] = s_verify,
    [S_LIMIT] = s_limit,
    [S_BIND] = s_bind,
    [S_ROTATE] = s_rotate,
    [S_KEY_PUT] = s_key_put,
    [S_KEY_LIST] = s_key_list,
    [S_KEY_REVOKE] = s_key_revoke,
    [S_CLAIM] = s_claim,
    [S_ACK] = s_ack,
    [S_RETRY] = s_retry,
    [S_FAIL] = s_fail,
    [S_REPORT] = s_report,
    [S_REQUEUE] = s_requeue,
    [S_LIST] = s_list,
    [S_STATE] = s_state,
    [S_PURGE_OUTBOX] = s_purge_outbox,
    [S_PURGE_KEYS] = s_purge_keys,
};

static const char *const code_states[] = {
    [OTP_CODE_PENDING] = "pending",
    [OTP_CODE_USED] = "used",
    [OTP_CODE_DEAD] = "dead",
    [OTP_CODE_RETIRED] = "retired",
};

static const char *const msg_states[] = {
    [OTP_MSG_QUEUED] = "queued",
    [OTP_MSG_SENDING] = "sending",
    [OTP_MSG_SENT] = "sent",
    [OTP_MSG_DELIVERED] = "delivered",
    [OTP_MSG_UNDELIVERED] = "undelivered",
    [OTP_MSG_FAILED] = "failed",
    [OTP_MSG_EXPIRED] = "expired",
};

/* ---- the handle and its connection ---- */

/* base comes first: a struct otp_store * is a struct rd *. */
struct rd {
	struct otp_store base;
	redisContext *c; /* NULL while disconnected */
	char host[256];
	int port, db;
	char *user, *pass; /* sodium_malloc'd, or NULL */
	int64_t retry_at;  /* monotonic ms: no new connection before */
	int64_t backoff_ms;
	bool down; /* logged as unreachable, not yet back */
	char sha[S_COUNT][41];
};

static struct rd *cast(struct otp_store *s)
{
	return (struct rd *)s;
}

/* The arguments of one command, binary-safe. Slots 0-2 are kept for
 * EVALSHA, the script's SHA1 and the key count. */
struct args {
	int n;
	const char *v[ARGS_MAX];
	size_t len[ARGS_MAX];
	char text[ARGS_MAX][ARG_TEXT];
};

#define ARGS_FIRST 3

static void args_init(struct args *a)
{
	a->n = ARGS_FIRST;
}

static void add_bin(struct args *a, const void *p, size_t len)
{
	if (a->n >= ARGS_MAX)
		abort(); /* sized for our own commands: a bug */
	a->v[a->n] = p;
	a->len[a->n++] = len;
}

/* A NUL-terminated field of at most max - 1 bytes. */
static void add_str(struct args *a, const char *t, size_t max)
{
	add_bin(a, t, strnlen(t, max - 1));
}

static void add_fmt(struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_fmt(struct args *a, const char *fmt, ...)
{
	if (a->n >= ARGS_MAX)
		abort();
	char *t = a->text[a->n];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(t, ARG_TEXT, fmt, ap);
	va_end(ap);
	if (len < 0 || len >= ARG_TEXT)
		abort(); /* every key and number we make fits */
	add_bin(a, t, (size_t)len);
}

static void add_int(struct args *a, int64_t v)
{
	add_fmt(a, "%lld", (long long)v);
}

static void add_member(struct args *a, int64_t id)
{
	add_fmt(a, "%016lld", (long long)id);
}

static void key_code(struct args *a, const char *id)
{
	add_fmt(a, "otp:{c:%.*s}", OTP_ID_LEN, id);
}

static void key_session(struct args *a, const unsigned char hash[OTP_HASH_LEN])
{
	char hex[2 * OTP_HASH_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, hash, OTP_HASH_LEN);
	add_fmt(a, "otp:{s:%s}", hex);
}

static void key_msg(struct args *a, int64_t id)
{
	add_fmt(a, OB "m:%lld", (long long)id);
}

static void key_apikey(struct args *a, const char *id)
{
	add_fmt(a, "otp:{keys}:k:%.*s", OTP_KEY_ID_LEN, id);
}

/* An error text cut to OTP_ERROR_TEXT_MAX - 1 bytes, never inside a UTF-8
 * sequence. */
static void add_error(struct args *a, const char *error)
{
	if (!error)
		error = "";
	size_t n = strnlen(error, OTP_ERROR_TEXT_MAX - 1);
	if (error[n] != '\0')
		while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
			n--;
	add_bin(a, error, n);
}

static void drop(struct rd *r)
{
	if (r->c) {
		redisFree(r->c);
		r->c = NULL;
	}
}

/* Logs an outage once per handle, and its end. */
static void note_down(struct rd *r, const char *why)
{
	if (!r->down)
		otp_log(OTP_LOG_WARN, "redis unavailable", "error", why, NULL);
	r->down = true;
}

static void note_up(struct rd *r)
{
	if (r->down)
		otp_log(OTP_LOG_INFO, "redis available again", NULL);
	r->down = false;
}

/* Replies that mean "not now" rather than "wrong": the server is loading,
 * busy with a script, a replica, out of memory, and so on. READONLY and
 * NOAUTH also mean this connection is no good (a failover, a restart with a
 * password): the next call makes a new one. */
static int reply_error(struct rd *r, const char *msg)
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
static int sha_of(struct rd *r, redisReply *rep, enum script sc, bool setup)
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

static int load_script(struct rd *r, redisContext *c, enum script sc)
{
	const char *v[] = {"SCRIPT", "LOAD", scripts[sc]};
	size_t len[] = {6, 4, strlen(scripts[sc])};
	redisReply *rep = redisCommandArgv(c, 3, v, len);
	return rep ? sha_of(r, rep, sc, false) : OTP_EUNAVAIL;
}

/* AUTH, SELECT and every script, on a new connection. */
static int handshake(struct rd *r, redisContext *c)
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
	for (int i = 0; i < S_COUNT; i++) {
		const char *v[] = {"SCRIPT", "LOAD", scripts[i]};
		size_t len[] = {6, 4, strlen(scripts[i])};
		if (redisAppendCommandArgv(c, 3, v, len) != REDIS_OK)
			return OTP_EUNAVAIL;
	}
	for (int i = 0; i < S_COUNT; i++) {
		redisReply *rep;
		if (redisGetReply(c, (void **)&rep) != REDIS_OK)
			return OTP_EUNAVAIL;
		rc = sha_of(r, rep, (enum script)i, true);
		if (rc)
			return rc;
	}
	return 0;
}

/* Connects, unless a recent failure says wait. */
static int dial(struct rd *r)
{
	int64_t now = otp_clock_mono_ms();
	if (now < r->retry_at)
		return OTP_EUNAVAIL;
	struct timeval ct = {CONNECT_MS / 1000, (CONNECT_MS % 1000) * 1000};
	struct timeval tv = {COMMAND_MS / 1000, (COMMAND_MS % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(r->host, r->port, ct);
	int rc = OTP_EUNAVAIL;
	if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK)
		goto fail;
	redisEnableKeepAlive(c);
	rc = handshake(r, c);
	if (rc)
		goto fail;
	r->c = c;
	r->backoff_ms = 0;
	r->retry_at = 0;
	return 0;
fail:
	if (rc == OTP_EUNAVAIL) /* the rest was logged where it was seen */
		note_down(r, !c ? "out of memory" : c->errstr);
	if (c)
		redisFree(c);
	r->backoff_ms = r->backoff_ms ? 2 * r->backoff_ms : BACKOFF_MIN_MS;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	r->retry_at = now + r->backoff_ms;
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

static int ready(struct rd *r)
{
	if (r->c && (r->c->err || stale(r->c)))
		drop(r);
	return r->c ? 0 : dial(r);
}

/* A command failed on the wire: the connection is dropped, and the next
 * call connects again at once. */
static int lost(struct rd *r)
{
	note_down(r, r->c ? r->c->errstr : "connection dropped");
	drop(r);
	return OTP_EUNAVAIL;
}

/* Runs a plain command of args a (from slot ARGS_FIRST). *out gets a reply
 * that is not an error. */
static int cmd(struct rd *r, struct args *a, redisReply **out)
{
	int rc = ready(r);
	if (rc)
		return rc;
	redisReply *rep = redisCommandArgv(
	    r->c, a->n - ARGS_FIRST, a->v + ARGS_FIRST, a->len + ARGS_FIRST);
	if (!rep)
		return lost(r);
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
static void evalsha(struct rd *r, const char **v, size_t *len, char *nbuf,
		    enum script sc, int nkeys)
{
	snprintf(nbuf, ARG_TEXT, "%d", nkeys);
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
static int run_argv(struct rd *r, enum script sc, int nkeys, int argc,
		    const char **v, size_t *len, redisReply **out)
{
	char nbuf[ARG_TEXT];
	int rc = ready(r);
	if (rc)
		return rc;
	for (int tries = 0;; tries++) {
		evalsha(r, v, len, nbuf, sc, nkeys);
		redisReply *rep = redisCommandArgv(r->c, argc, v, len);
		if (!rep)
			return lost(r);
		if (is_noscript(rep) && tries == 0) {
			freeReplyObject(rep);
			rc = load_script(r, r->c, sc);
			if (rc && r->c && r->c->err)
				return lost(r);
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

static int run(struct rd *r, enum script sc, int nkeys, struct args *a,
	       redisReply **out)
{
	return run_argv(r, sc, nkeys, a->n, a->v, a->len, out);
}

/* ---- reading replies ---- */

static const redisReply *el(const redisReply *rep, size_t i)
{
	if (rep->type != REDIS_REPLY_ARRAY || i >= rep->elements)
		return NULL;
	return rep->element[i];
}

/* The status word a script answers first. */
static bool said(const redisReply *rep, const char *word)
{
	const redisReply *e = el(rep, 0);
	return e && e->type == REDIS_REPLY_STRING && strcmp(e->str, word) == 0;
}

static bool has(const redisReply *rep, size_t i)
{
	const redisReply *e = el(rep, i);
	return e && (e->type == REDIS_REPLY_STRING ||
		     e->type == REDIS_REPLY_INTEGER);
}

static int64_t el_int(const redisReply *rep, size_t i)
{
	const redisReply *e = el(rep, i);
	if (!e)
		return 0;
	if (e->type == REDIS_REPLY_INTEGER)
		return (int64_t)e->integer;
	if (e->type == REDIS_REPLY_STRING)
		return strtoll(e->str, NULL, 10);
	return 0;
}

static void el_str(const redisReply *rep, size_t i, char *dst, size_t cap)
{
	const redisReply *e = el(rep, i);
	size_t n = e && e->type == REDIS_REPLY_STRING ? e->len : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, e->str, n);
	dst[n] = '\0';
}

/* Index of element i's text in names[], or -1. */
static int el_state(const redisReply *rep, size_t i, const char *const *names,
		    size_t count)
{
	const redisReply *e = el(rep, i);
	for (size_t k = 0; e && e->type == REDIS_REPLY_STRING && k < count; k++)
		if (strcmp(e->str, names[k]) == 0)
			return (int)k;
	return -1;
}

/* The common ending of a script whose answer is only a word: "ok" is 0,
 * "notfound" and "gone" their errors, anything else a fault. */
static int run_word(struct rd *r, enum script sc, int nkeys, struct args *a)
{
	redisReply *rep;
	int rc = run(r, sc, nkeys, a, &rep);
	if (rc)
		return rc;
	if (said(rep, "ok"))
		rc = 0;
	else if (said(rep, "notfound"))
		rc = OTP_ENOTFOUND;
	else if (said(rep, "gone"))
		rc = OTP_EGONE;
	else if (said(rep, "conflict"))
		rc = OTP_ECONFLICT;
	else
		rc = OTP_EINTERNAL;
	freeReplyObject(rep);
	return rc;
}

/* ---- open, close, ping ---- */

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

/* [[user]:password@]host:port[/db], host a name, IPv4 or [IPv6]. */
static int parse_url(struct rd *r, const char *url)
{
	const char *at = strrchr(url, '@'), *h = url;
	if (at) {
		const char *colon = memchr(url, ':', (size_t)(at - url));
		if (!colon)
			return OTP_ETYPE;
		if (colon > url) {
			r->user = decode(url, (size_t)(colon - url));
			if (!r->user)
				return OTP_ETYPE;
		}
		r->pass = decode(colon + 1, (size_t)(at - colon - 1));
		if (!r->pass)
			return OTP_ETYPE;
		h = at + 1;
	}
	const char *hend, *port;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':')
			return OTP_ETYPE;
		h++;
		port = hend + 2;
	} else {
		hend = strchr(h, ':');
		if (!hend)
			return OTP_ETYPE;
		port = hend + 1;
	}
	size_t hl = (size_t)(hend - h);
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

static void close_rd(struct otp_store *s)
{
	struct rd *r = cast(s);
	drop(r);
	if (r->user)
		sodium_free(r->user);
	if (r->pass)
		sodium_free(r->pass);
	free(r);
}

/* A server that cannot be reached yet is no reason to fail: the handle
 * connects on its first call (otpd may start before Redis does, and
 * /readyz says so meanwhile). A malformed URL, a wrong password or database
 * number is, since no retry will mend it. */
static int open_rd(const char *arg, struct otp_store **out)
{
	*out = NULL;
	if (!arg || sodium_init() < 0)
		return OTP_EINTERNAL;
	struct rd *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->base.ops = &otp_store_redis_ops;
	int rc = parse_url(r, arg);
	if (rc == 0) {
		rc = dial(r);
		if (rc == OTP_EUNAVAIL)
			rc = 0;
	}
	if (rc) {
		close_rd(&r->base);
		return rc;
	}
	*out = &r->base;
	return 0;
}

static int ping(struct otp_store *s)
{
	struct rd *r = cast(s);
	struct args a;
	args_init(&a);
	add_str(&a, "PING", 5);
	redisReply *rep;
	int rc = cmd(r, &a, &rep);
	if (rc)
		return rc;
	rc = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0
		 ? 0
		 : OTP_EINTERNAL;
	freeReplyObject(rep);
	return rc;
}

/* ---- codes ---- */

static int issue(struct otp_store *s, const struct otp_issue *in, int64_t now,
		 struct otp_issue_out *out)
{
	struct rd *r = cast(s);
	const struct otp_code_new *c = &in->code;
	memset(out, 0, sizeof *out);
	if (in->nlimits > LIMITS_MAX)
		return OTP_EINTERNAL;
	struct args a;
	args_init(&a);
	key_code(&a, c->id);
	add_fmt(&a, "otp:{p:%.*s}", OTP_PHONE_MAX - 1, c->phone);
	add_str(&a, OB "due", sizeof OB "due");
	if (in->idem)
		add_fmt(&a, "otp:{i:%.*s}", OTP_IDEM_KEY_MAX - 1,
			in->idem->key);
	else
		key_code(&a, c->id); /* unused */
	if (in->bind)
		key_session(&a, in->bind->hash);
	else
		key_code(&a, c->id); /* unused */
	for (size_t i = 0; i < in->nlimits; i++)
		add_fmt(&a, "otp:{l:%.*s}", OTP_LIMIT_KEY_MAX - 1,
			in->limits[i].key);
	add_int(&a, now);
	add_str(&a, c->id, OTP_ID_LEN + 1);
	add_str(&a, c->phone, OTP_PHONE_MAX);
	add_bin(&a, c->mac, OTP_MAC_LEN);
	add_int(&a, c->attempts);
	add_int(&a, c->expires_ms);
	add_bin(&a, in->body ? (const void *)in->body : "",
		in->body ? in->body_len : 0);
	add_str(&a, in->idem ? "1" : "0", 2);
	add_int(&a, in->idem ? in->idem->expires_ms : 0);
	add_str(&a, in->bind ? "1" : "0", 2);
	add_int(&a, in->bind ? in->bind->expires_ms : 0);
	for (size_t i = 0; i < in->nlimits; i++) {
		add_int(&a, in->limits[i].rate.interval_ms);
		add_int(&a, in->limits[i].rate.burst);
	}

	redisReply *rep;
	int rc = run(r, S_ISSUE, 5 + (int)in->nlimits, &a, &rep);
	if (rc)
		return rc;
	if (said(rep, "limited")) {
		rc = OTP_ELIMITED;
		out->retry_ms = el_int(rep, 1);
	} else if (said(rep, "ok") || said(rep, "replayed")) {
		out->replayed = said(rep, "replayed");
		el_str(rep, 1, out->id, sizeof out->id);
		out->expires_ms = el_int(rep, 2);
	} else if (said(rep, "conflict")) {
		rc = OTP_ECONFLICT;
	} else {
		rc = OTP_EINTERNAL; /* "duplicate": that id exists already */
	}
	freeReplyObject(rep);
	return rc;
}

/* Two single-slot reads in one round trip: the code, and its message's
 * state (the outbox's slot). Not one snapshot, which a status display does
 * not need. */
static int code_info(struct otp_store *s, const char *id,
		     struct otp_code_info *out)
{
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	int rc = ready(r);
	if (rc)
		return rc;
	struct args a, b;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_code(&a, id);
	static const char *const fields[] = {"p", "s", "l", "c", "e"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 2);
	args_init(&b);
	add_fmt(&b, OB "r:%.*s", OTP_ID_LEN, id);
	evalsha(r, b.v, b.len, b.text[2], S_STATE, 1);
	redisAppendCommandArgv(r->c, a.n - ARGS_FIRST, a.v + ARGS_FIRST,
			       a.len + ARGS_FIRST);
	redisAppendCommandArgv(r->c, b.n, b.v, b.len);
	redisReply *code = NULL, *msg = NULL;
	if (redisGetReply(r->c, (void **)&code) != REDIS_OK ||
	    redisGetReply(r->c, (void **)&msg) != REDIS_OK) {
		if (code)
			freeReplyObject(code);
		return lost(r);
	}
	if (is_noscript(msg)) { /* rare: fetch it alone, loading it again */
		freeReplyObject(msg);
		msg = NULL;
		rc = run(r, S_STATE, 1, &b, &msg);
	} else if (msg->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r, msg->str);
	}
	if (rc == 0 && code->type == REDIS_REPLY_ERROR)
		rc = reply_error(r, code->str);
	if (rc == 0 && !has(code, 0))
		rc = OTP_ENOTFOUND;
	int state = -1, ms = -1;
	if (rc == 0) {
		el_str(code, 0, out->phone, sizeof out->phone);
		state = el_state(code, 1, code_states, COUNT(code_states));
		out->attempts_left = (int)el_int(code, 2);
		out->created_ms = el_int(code, 3);
		out->expires_ms = el_int(code, 4);
		/* Its message goes at the same time as the code, give or
		 * take Redis's expiry cycle: gone first means long over. */
		ms = said(msg, "ok")
			 ? el_state(msg, 1, msg_states, COUNT(msg_states))
			 : OTP_MSG_EXPIRED;
		if (state < 0 || ms < 0)
			rc = OTP_EINTERNAL;
	}
	freeReplyObject(code);
	if (msg)
		freeReplyObject(msg);
	if (rc) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	out->state = (enum otp_code_state)state;
	out->msg_state = (enum otp_msg_state)ms;
	return 0;
}

static int verify(struct otp_store *s, const struct otp_verify_in *in,
		  int64_t now, struct otp_verify_out *out)
{
	static const struct {
		const char *word;
		enum otp_verify_result result;
	} words[] = {
	    {"ok", OTP_VERIFY_OK},
	    {"wrong", OTP_VERIFY_WRONG},
	    {"notfound", OTP_VERIFY_NOTFOUND},
	    {"expired", OTP_VERIFY_EXPIRED},
	    {"used", OTP_VERIFY_USED},
	    {"dead", OTP_VERIFY_DEAD},
	};
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	out->result = OTP_VERIFY_NOTFOUND;
	struct args a;
	args_init(&a);
	key_code(&a, in->id);
	if (in->rotate) {
		key_session(&a, in->old_hash);
		key_session(&a, in->new_hash);
	}
	add_int(&a, now);
	add_bin(&a, in->mac, OTP_MAC_LEN);
	add_str(&a, in->force_fail ? "1" : "0", 2);
	add_str(&a, in->expect_phone, OTP_PHONE_MAX);
	add_str(&a, in->rotate ? "1" : "0", 2);
	add_int(&a, in->session_expires_ms);

	redisReply *rep;
	int rc = run(r, S_VERIFY, in->rotate ? 3 : 1, &a, &rep);
	if (rc)
		return rc;
	rc = OTP_EINTERNAL;
	for (size_t i = 0; i < COUNT(words); i++)
		if (said(rep, words[i].word)) {
			out->result = words[i].result;
			out->attempts_left = (int)el_int(rep, 1);
			el_str(rep, 2, out->phone, sizeof out->phone);
			rc = 0;
		}
	freeReplyObject(rep);
	if (rc) {
		memset(out, 0, sizeof *out);
		out->result = OTP_VERIFY_NOTFOUND;
	}
	return rc;
}

/* ---- limits ---- */

static int take(struct otp_store *s, const struct otp_limit *lims, size_t n,
		int64_t now, int64_t *retry_ms)
{
	struct rd *r = cast(s);
	size_t live = 0;
	if (retry_ms)
		*retry_ms = 0;
	for (size_t i = 0; i < n; i++)
		live += lims[i].rate.interval_ms > 0;
	if (!live)
		return 0;
	if (n > LIMITS_MAX)
		return OTP_EINTERNAL;
	struct args a;
	args_init(&a);
	for (size_t i = 0; i < n; i++)
		add_fmt(&a, "otp:{l:%.*s}", OTP_LIMIT_KEY_MAX - 1, lims[i].key);
	add_int(&a, now);
	for (size_t i = 0; i < n; i++) {
		add_int(&a, lims[i].rate.interval_ms);
		add_int(&a, lims[i].rate.burst);
	}
	redisReply *rep;
	int rc = run(r, S_LIMIT, (int)n, &a, &rep);
	if (rc)
		return rc;
	if (said(rep, "limited")) {
		rc = OTP_ELIMITED;
		if (retry_ms)
			*retry_ms = el_int(rep, 1);
	} else if (!said(rep, "ok")) {
		rc = OTP_EINTERNAL;
	}
	freeReplyObject(rep);
	return rc;
}

/* ---- sessions ---- */

static int get_session(struct otp_store *s,
		       const unsigned char hash[OTP_HASH_LEN], int64_t now,
		       struct otp_session *out)
{
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	struct args a;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_session(&a, hash);
	static const char *const fields[] = {"p", "a", "e", "pi", "pp", "n"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 3);
	redisReply *rep;
	int rc = cmd(r, &a, &rep);
	if (rc)
		return rc;
	int64_t expires = el_int(rep, 2);
	if (!has(rep, 2) || expires <= now) {
		freeReplyObject(rep);
		return OTP_ENOTFOUND;
	}
	el_str(rep, 0, out->phone, sizeof out->phone);
	out->authenticated_ms = el_int(rep, 1);
	out->expires_ms = expires;
	el_str(rep, 3, out->pending_id, sizeof out->pending_id);
	el_str(rep, 4, out->pending_phone, sizeof out->pending_phone);
	out->sends = (int)el_int(rep, 5);
	freeReplyObject(rep);
	return 0;
}

static int session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	struct args a;
	args_init(&a);
	key_session(&a, b->hash);
	add_int(&a, now);
	add_int(&a, b->expires_ms);
	add_str(&a, pending_id ? "1" : "0", 2);
	add_str(&a, pending_id ? pending_id : "", OTP_PENDING_MAX);
	add_str(&a, pending_phone ? pending_phone : "", OTP_PHONE_MAX);
	add_str(&a, count_send ? "1" : "0", 2);
	return run_word(cast(s), S_BIND, 1, &a);
}

static int session_rotate(struct otp_store *s,
			  const unsigned char old_hash[OTP_HASH_LEN],
			  const unsigned char new_hash[OTP_HASH_LEN],
			  const char *phone, int64_t expires_ms, int64_t now)
{
	struct args a;
	args_init(&a);
	key_session(&a, old_hash);
	key_session(&a, new_hash);
	add_int(&a, now);
	add_str(&a, phone, OTP_PHONE_MAX);
	add_int(&a, expires_ms);
	return run_word(cast(s), S_ROTATE, 2, &a);
}

static int delete_session(struct otp_store *s,
			  const unsigned char hash[OTP_HASH_LEN])
{
	struct args a;
	args_init(&a);
	add_str(&a, "DEL", 4);
	key_session(&a, hash);
	redisReply *rep;
	int rc = cmd(cast(s), &a, &rep);
	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

/* ---- API keys ---- */

static int key_put(struct otp_store *s, const struct otp_apikey *k)
{
	struct args a;
	args_init(&a);
	key_apikey(&a, k->id);
	add_str(&a, "otp:{keys}:all", 15);
	add_str(&a, k->id, OTP_KEY_ID_LEN + 1);
	add_str(&a, k->name, OTP_KEY_NAME_MAX);
	add_bin(&a, k->hash, OTP_HASH_LEN);
	add_int(&a, k->created_ms);
	add_int(&a, k->revoked_ms);
	return run_word(cast(s), S_KEY_PUT, 2, &a);
}

/* Copies fields i..i+3 (name, hash, created, revoked) of rep into k. */
static void copy_key(const redisReply *rep, size_t i, struct otp_apikey *k)
{
	el_str(rep, i, k->name, sizeof k->name);
	const redisReply *h = el(rep, i + 1);
	if (h && h->type == REDIS_REPLY_STRING && h->len == OTP_HASH_LEN)
		memcpy(k->hash, h->str, OTP_HASH_LEN);
	k->created_ms = el_int(rep, i + 2);
	k->revoked_ms = el_int(rep, i + 3);
}

static int key_get(struct otp_store *s, const char *id, struct otp_apikey *out)
{
	memset(out, 0, sizeof *out);
	struct args a;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_apikey(&a, id);
	static const char *const fields[] = {"n", "h", "c", "r"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 2);
	redisReply *rep;
	int rc = cmd(cast(s), &a, &rep);
	if (rc)
		return rc;
	if (has(rep, 0)) {
		snprintf(out->id, sizeof out->id, "%.*s", OTP_KEY_ID_LEN, id);
		copy_key(rep, 0, out);
	} else {
		rc = OTP_ENOTFOUND;
	}
	freeReplyObject(rep);
	return rc;
}

static int key_list(struct otp_store *s, struct otp_apikey *out, size_t max,
		    size_t *n)
{
	*n = 0;
	if (max == 0)
		return 0;
	struct args a;
	args_init(&a);
	add_str(&a, "otp:{keys}:all", 15);
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), S_KEY_LIST, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 5 <= rep->elements && k < max; i += 5) {
		memset(&out[k], 0, sizeof out[k]);
		el_str(rep, i, out[k].id, sizeof out[k].id);
		copy_key(rep, i + 1, &out[k]);
		k++;
	}
	freeReplyObject(rep);
	*n = k;
	return 0;
}

static int key_revoke(struct otp_store *s, const char *id, int64_t now)
{
	struct args a;
	args_init(&a);
	key_apikey(&a, id);
	add_int(&a, now);
	return run_word(cast(s), S_KEY_REVOKE, 1, &a);
}

/* ---- the outbox ---- */

static int claim(struct otp_store *s, int64_t now, int64_t lease_ms,
		 struct otp_msg *out, size_t max, size_t *n)
{
	*n = 0;
	if (max == 0)
		return 0;
	struct args a;
	args_init(&a);
	add_str(&a, OB "due", sizeof OB "due");
	add_int(&a, now);
	add_int(&a, lease_ms);
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), S_CLAIM, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 7 <= rep->elements && k < max; i += 7) {
		struct otp_msg *m = &out[k++];
		memset(m, 0, sizeof *m);
		m->id = el_int(rep, i);
		el_str(rep, i + 1, m->request_id, sizeof m->request_id);
		el_str(rep, i + 2, m->to, sizeof m->to);
		const redisReply *b = el(rep, i + 3);
		m->body_len = b && b->type == REDIS_REPLY_STRING ? b->len : 0;
		m->body = malloc(m->body_len ? m->body_len : 1);
		if (!m->body)
			abort();
		if (m->body_len)
			memcpy(m->body, b->str, m->body_len);
		m->attempts = (int)el_int(rep, i + 4);
		m->driver = (int)el_int(rep, i + 5);
		m->expires_ms = el_int(rep, i + 6);
	}
	freeReplyObject(rep);
	*n = k;
	return 0;
}

/* Keys and the first arguments of a settling script: message id, lease. */
static void settle_args(struct args *a, int64_t id, int lease, int64_t now)
{
	args_init(a);
	key_msg(a, id);
	add_member(a, id);
	add_int(a, lease);
	add_int(a, now);
}

static int ack(struct otp_store *s, int64_t id, int lease, int64_t now)
{
	struct args a;
	settle_args(&a, id, lease, now);
	return run_word(cast(s), S_ACK, 1, &a);
}

static int retry(struct otp_store *s, int64_t id, int lease, int64_t next_ms,
		 int driver, const char *error, int64_t now)
{
	if (driver < 0)
		return OTP_EINTERNAL;
	struct args a;
	settle_args(&a, id, lease, now);
	add_int(&a, next_ms);
	add_int(&a, driver);
	add_error(&a, error);
	return run_word(cast(s), S_RETRY, 1, &a);
}

static int fail(struct otp_store *s, int64_t id, int lease,
		enum otp_msg_state state, const char *error, int64_t now)
{
	if (state != OTP_MSG_FAILED && state != OTP_MSG_EXPIRED)
		return OTP_EINTERNAL;
	struct args a;
	settle_args(&a, id, lease, now);
	add_str(&a, msg_states[state], 16);
	add_error(&a, error);
	return run_word(cast(s), S_FAIL, 1, &a);
}

static int report(struct otp_store *s, int64_t id, enum otp_msg_state state,
		  int64_t now)
{
	if (state != OTP_MSG_DELIVERED && state != OTP_MSG_UNDELIVERED)
		return OTP_EINTERNAL;
	struct args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_str(&a, msg_states[state], 16);
	add_int(&a, now);
	return run_word(cast(s), S_REPORT, 1, &a);
}

static int requeue(struct otp_store *s, int64_t id, int64_t now)
{
	struct args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_int(&a, now);
	return run_word(cast(s), S_REQUEUE, 1, &a);
}

static int list_msgs(struct otp_store *s, int state, struct otp_msg_info *out,
		     size_t max, size_t *n)
{
	*n = 0;
	if (state >= (int)COUNT(msg_states))
		return OTP_EINTERNAL;
	if (max == 0)
		return 0;
	struct args a;
	args_init(&a);
	if (state >= 0)
		add_fmt(&a, OB "st:%s", msg_states[state]);
	else
		add_str(&a, OB "ids", sizeof OB "ids");
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), S_LIST, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 10 <= rep->elements && k < max; i += 10) {
		struct otp_msg_info *m = &out[k++];
		memset(m, 0, sizeof *m);
		m->id = el_int(rep, i);
		el_str(rep, i + 1, m->request_id, sizeof m->request_id);
		el_str(rep, i + 2, m->to, sizeof m->to);
		int st = el_state(rep, i + 3, msg_states, COUNT(msg_states));
		if (st < 0)
			rc = OTP_EINTERNAL;
		m->state = st < 0 ? OTP_MSG_QUEUED : (enum otp_msg_state)st;
		m->attempts = (int)el_int(rep, i + 4);
		m->driver = (int)el_int(rep, i + 5);
		m->next_ms = el_int(rep, i + 6);
		m->expires_ms = el_int(rep, i + 7);
		m->updated_ms = el_int(rep, i + 8);
		el_str(rep, i + 9, m->last_error, sizeof m->last_error);
	}
	freeReplyObject(rep);
	if (rc == 0)
		*n = k;
	return rc;
}

static int get_state(struct otp_store *s, const char *request_id,
		     enum otp_msg_state *state)
{
	struct args a;
	args_init(&a);
	add_fmt(&a, OB "r:%.*s", OTP_ID_LEN, request_id);
	redisReply *rep;
	int rc = run(cast(s), S_STATE, 1, &a, &rep);
	if (rc)
		return rc;
	int i = el_state(rep, 1, msg_states, COUNT(msg_states));
	if (said(rep, "notfound"))
		rc = OTP_ENOTFOUND;
	else if (!said(rep, "ok") || i < 0)
		rc = OTP_EINTERNAL;
	else
		*state = (enum otp_msg_state)i;
	freeReplyObject(rep);
	return rc;
}

/* ---- purge ---- */

/* Runs the key purge on one SCAN batch; adds what it deleted to *count. */
static int purge_batch(struct rd *r, const redisReply *keys, int64_t now,
		       long *count)
{
	size_t cap = ARGS_FIRST + keys->elements + 1;
	const char **v = malloc(cap * sizeof *v);
	size_t *len = malloc(cap * sizeof *len);
	char when[24];
	if (!v || !len)
		abort();
	int argc = ARGS_FIRST;
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *e = keys->element[i];
		if (e->type == REDIS_REPLY_STRING) {
			v[argc] = e->str;
			len[argc++] = e->len;
		}
	}
	int nkeys = argc - ARGS_FIRST;
	snprintf(when, sizeof when, "%lld", (long long)now);
	v[argc] = when;
	len[argc++] = strlen(when);
	redisReply *rep;
	int rc = run_argv(r, S_PURGE_KEYS, nkeys, argc, v, len, &rep);
	if (rc == 0) {
		*count += (long)el_int(rep, 1);
		freeReplyObject(rep);
	}
	free(v);
	free(len);
	return rc;
}

/* Redis drops expired keys by itself, on its own clock; this does it on
 * the caller's, as the interface says: codes, sessions, idempotency keys
 * and limits found by SCAN (one pass, in batches), then messages by the
 * outbox's expiry index. A purge is many round trips, each atomic. */
static int purge(struct otp_store *s, int64_t now, long *removed)
{
	struct rd *r = cast(s);
	long count = 0;
	*removed = 0;
	char cursor[32] = "0";
	do {
		struct args a;
		args_init(&a);
		add_str(&a, "SCAN", 5);
		add_str(&a, cursor, sizeof cursor);
		add_str(&a, "MATCH", 6);
		add_str(&a, "otp:{[csil]:*", 16);
		add_str(&a, "COUNT", 6);
		add_str(&a, SCAN_COUNT, sizeof SCAN_COUNT);
		redisReply *rep;
		int rc = cmd(r, &a, &rep);
		if (rc)
			return rc;
		const redisReply *next = el(rep, 0), *keys = el(rep, 1);
		if (!next || next->type != REDIS_REPLY_STRING || !keys ||
		    keys->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return OTP_EINTERNAL;
		}
		snprintf(cursor, sizeof cursor, "%s", next->str);
		rc = keys->elements ? purge_batch(r, keys, now, &count) : 0;
		freeReplyObject(rep);
		if (rc)
			return rc;
	} while (strcmp(cursor, "0") != 0);

	for (;;) {
		struct args a;
		args_init(&a);
		add_str(&a, OB "exp", sizeof OB "exp");
		add_int(&a, now - 24LL * 60 * 60 * 1000);
		add_str(&a, PURGE_BATCH, sizeof PURGE_BATCH);
		redisReply *rep;
		int rc = run(r, S_PURGE_OUTBOX, 1, &a, &rep);
		if (rc)
			return rc;
		int64_t seen = el_int(rep, 1);
		count += (long)el_int(rep, 2);
		freeReplyObject(rep);
		if (seen < atoi(PURGE_BATCH))
			break;
	}
	*removed = count;
	return 0;
}

const struct otp_store_ops otp_store_redis_ops = {
    .name = "redis",
    .scheme = "redis://",
    .version = 2,
    .caps = 0,
    .open = open_rd,
    .close = close_rd,
    .ping = ping,
    .code_issue = issue,
    .code_get = code_info,
    .code_verify = verify,
    .limit_take = take,
    .session_get = get_session,
    .session_bind = session_bind,
    .session_rotate = session_rotate,
    .session_delete = delete_session,
    .apikey_put = key_put,
    .apikey_get = key_get,
    .apikey_list = key_list,
    .apikey_revoke = key_revoke,
    .outbox_claim = claim,
    .outbox_ack = ack,
    .outbox_retry = retry,
    .outbox_fail = fail,
    .outbox_report = report,
    .outbox_requeue = requeue,
    .outbox_list = list_msgs,
    .outbox_state = get_state,
    .purge = purge,
};
