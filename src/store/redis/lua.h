/* lua.h - what the Redis store's script files share (scripts.c,
 * scripts_abuse.c): the key prefixes and the Lua text every script, or
 * every script that adds to the signals, begins with; and the abuse
 * module's scripts, which scripts_abuse.c holds and otp_redis_lua lists.
 */
#ifndef OTP_STORE_REDIS_LUA_TEXT_H
#define OTP_STORE_REDIS_LUA_TEXT_H

#include "store/redis/scripts.h"
#include "store/signal_window.h"
#include "store/store.h"

/* clang-format off */
#define OB	OTP_REDIS_OUTBOX
#define BL	OTP_REDIS_BLOCKS
#define STR_(x) #x
#define STR(x)	STR_(x)


/* Shared by every script. keep() gives a key the TTL of a record living
 * until `till` (ms, caller's clock), ttl() is that TTL's text for a SET's
 * PX (one command, not two). n() and s() convert; s() formats with %d
 * because Lua's own number-to-text would write 1e+14 one day. */
#define PRELUDE                                                                \
	"local SLACK, DAY = 60000, 86400000\n"                                 \
	"local OB = '" OB "'\n"                                                \
	"local function n(x) return tonumber(x) end\n"                         \
	"local function s(x) return string.format('%d', x) end\n"              \
	"local function ttl(till, now)\n"                                      \
	"  local t = till - now\n"                                             \
	"  if t < 0 then t = 0 end\n"                                          \
	"  return s(t + SLACK)\n"                                              \
	"end\n"                                                                \
	"local function keep(k, till, now)\n"                                  \
	"  redis.call('PEXPIRE', k, ttl(till, now))\n"                         \
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
	 * Decides all first; returns the writes to make, or nil, the longest  \
	 * wait and its limit's index (from 0). A key named twice counts      \
	 * twice. */                                                           \
	"local function gcra(k0, cnt, a0, now)\n"                              \
	"  local w, refused, longest, which = {tat = {}, order = {}}, false,\n" \
	"    0, 0\n"                                                           \
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
	"        if allow - now > longest then\n"                              \
	"          longest, which = allow - now, i - 1\n"                      \
	"        end\n"                                                        \
	"      elseif not refused then\n"                                      \
	"        if not w.tat[k] then w.order[#w.order + 1] = k end\n"         \
	"        w.tat[k] = tat + T\n"                                         \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  if refused then return nil, longest, which end\n"                   \
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
	"end\n"                                                                \
	SIGNALS

/* The signals (store.c has their keys): a key's hash holds h<hour>:<c>
 * and d<day>:<c> (c 0: sent, 1: verified), its set a zset of member ->
 * ms last seen. sig_trim drops the hash's buckets before hour hk and day
 * dk (and any field not of that shape), answering how many. sig_add adds
 * n0, n1 at hour h and day d (decimal text, the caller's arithmetic) and
 * sees member m at now. A counter that adds 0 writes nothing (a field
 * not there reads 0: a send leaves the verified fields alone). The hour's
 * first add (no sent field for it yet: an add of sent knows from what
 * its HINCRBY answers, with no HEXISTS) trims the hash, after its adds
 * (a trim keeps the hour and day added to), so it never holds
 * more than the kept buckets and those of one hour, and sets its TTL: 15
 * days from within the hour of its last add, which outlives every day
 * bucket a read can use (day d's is read until d + 15 days begins), at
 * one PEXPIRE an hour instead of one an add. A set takes no new member
 * while it holds SIG_SET live ones (seen after now - SIG_SEEN, 48 h). */
#define SIGNALS                                                                \
	"local SIG_HOURS, SIG_DAYS = " STR(OTP_SIG_HOURS_KEPT) ", "             \
	    STR(OTP_SIG_DAYS_KEPT) "\n"                                        \
	"local SIG_SET, SIG_KEY = " STR(OTP_SIGNAL_SET_MAX) ", "                \
	    STR(OTP_SIGNAL_KEY_MAX) "\n"                                       \
	"local SIG_SEEN = " STR(OTP_SIG_SEEN_HOURS) " * 3600000\n"            \
	"local function sig_trim(k, hk, dk)\n"                                 \
	"  local gone = 0\n"                                                   \
	"  for _, f in ipairs(redis.call('HKEYS', k)) do\n"                    \
	"    local kind, i = string.match(f, '^([hd])(%-?%d+):[01]$')\n"       \
	"    i = n(i)\n"                                                       \
	"    if not i or (kind == 'h' and i < hk) or\n"                        \
	"        (kind == 'd' and i < dk) then\n"                              \
	"      gone = gone + redis.call('HDEL', k, f)\n"                       \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  return gone\n"                                                      \
	"end\n"                                                                \
	"local function sig_add(k, z, n0, n1, m, now, h, d)\n"                 \
	"  if n(n0) ~= 0 or n(n1) ~= 0 then\n"                                 \
	"    local hf, df = 'h' .. h .. ':', 'd' .. d .. ':'\n"                \
	"    local first\n"                                                    \
	"    if n(n0) ~= 0 then\n"                                             \
	"      first = redis.call('HINCRBY', k, hf .. '0', n0) == n(n0)\n"     \
	"      redis.call('HINCRBY', k, df .. '0', n0)\n"                      \
	"    else\n"                                                           \
	"      first = redis.call('HEXISTS', k, hf .. '0') == 0\n"             \
	"    end\n"                                                            \
	"    if n(n1) ~= 0 then\n"                                             \
	"      redis.call('HINCRBY', k, hf .. '1', n1)\n"                      \
	"      redis.call('HINCRBY', k, df .. '1', n1)\n"                      \
	"    end\n"                                                            \
	"    if first then\n"                                                  \
	"      sig_trim(k, n(h) - (SIG_HOURS - 1), n(d) - (SIG_DAYS - 1))\n"   \
	"      redis.call('PEXPIRE', k, s(SIG_DAYS * DAY + SLACK))\n"          \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  if m ~= '' then\n"                                                  \
	"    local cut = s(now - SIG_SEEN)\n"                                  \
	"    redis.call('ZREMRANGEBYSCORE', z, '-inf', cut)\n"                 \
	"    if redis.call('ZSCORE', z, m) or\n"                               \
	"        redis.call('ZCOUNT', z, '(' .. cut, '+inf') < SIG_SET then\n" \
	"      redis.call('ZADD', z, s(now), m)\n"                             \
	"    end\n"                                                            \
	"    redis.call('PEXPIRE', z, s(SIG_SEEN + SLACK))\n"                  \
	"  end\n"                                                              \
	"end\n"

/* clang-format on */

extern const char otp_rs_signal_add[];
extern const char otp_rs_purge_signals[];
extern const char otp_rs_block_put[];
extern const char otp_rs_block_list[];
extern const char otp_rs_block_delete[];
extern const char otp_rs_purge_blocks[];

#endif
