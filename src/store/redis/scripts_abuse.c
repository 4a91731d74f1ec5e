/* scripts_abuse.c - the text of the Redis store's scripts for the abuse
 * rules (see scripts.h): the signals' adds, reads and purge, and the
 * blocks. Their keys are described in store.c.
 */
#include "store/redis/lua.h"

/* clang-format off */

/* KEYS: the hash and set of each add. ARGV: now, its hour and day, then
 * sent, verified and member per add. */
const char otp_rs_signal_add[] =
    PRELUDE
    "local now = n(ARGV[1])\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local a = 3 + 3 * (i - 1)\n"
    "  sig_add(KEYS[2 * i - 1], KEYS[2 * i], ARGV[a + 1], ARGV[a + 2],\n"
    "    ARGV[a + 3], now, ARGV[2], ARGV[3])\n"
    "end\n"
    "return {'ok'}\n";

/* KEYS: signal hashes and sets found by SCAN. ARGV: the oldest hour and
 * day kept, the newest seen time dropped. Answers {'ok', buckets and
 * members dropped}. A key of another type is left alone. */
const char otp_rs_purge_signals[] =
    PRELUDE
    "local gone = 0\n"
    "for _, k in ipairs(KEYS) do\n"
    "  local t = redis.call('TYPE', k).ok\n"
    "  if t == 'hash' then\n"
    "    gone = gone + sig_trim(k, n(ARGV[1]), n(ARGV[2]))\n"
    "  elseif t == 'zset' then\n"
    "    gone = gone + redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[3])\n"
    "  end\n"
    "end\n"
    "return {'ok', gone}\n";

/* The blocks: BL "b:<key>" a hash per row (kind, created, until, strikes,
 * rule), BL "new" the keys by created (for listing), BL "end" those with
 * an end by until_ms (for purge). */
/* KEYS: the row, new, end. ARGV: key, kind, created, until, strikes,
 * rule. */
const char otp_rs_block_put[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], 'k', ARGV[2], 'c', ARGV[3], 'u', ARGV[4],\n"
    "  'n', ARGV[5], 'r', ARGV[6])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "if ARGV[4] == '0' then redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "else redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1]) end\n"
    "return {'ok'}\n";

/* KEYS: new. ARGV: max. Newest first (ties: key, descending). */
const char otp_rs_block_list[] =
    "local out = {'ok'}\n"
    "local ks = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)\n"
    "for _, k in ipairs(ks) do\n"
    "  local f = redis.call('HMGET', '" BL "b:' .. k, 'k', 'c', 'u', 'n',\n"
    "    'r')\n"
    "  if f[1] then\n"
    "    out[#out + 1] = k\n"
    "    for j = 1, 5 do out[#out + 1] = f[j] or '' end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: the row, new, end. ARGV: key. */
const char otp_rs_block_delete[] =
    "if redis.call('DEL', KEYS[1]) == 0 then return {'notfound'} end\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "return {'ok'}\n";

/* KEYS: end, new. ARGV: cutoff (ended before it), batch. */
const char otp_rs_purge_blocks[] =
    "local ks = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',\n"
    "  '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local gone = 0\n"
    "for _, k in ipairs(ks) do\n"
    "  gone = gone + redis.call('DEL', '" BL "b:' .. k)\n"
    "  redis.call('ZREM', KEYS[1], k)\n"
    "  redis.call('ZREM', KEYS[2], k)\n"
    "end\n"
    "return {'ok', #ks, gone}\n";

/* clang-format on */
