/* scripts.c - the text of the Redis store's scripts (see scripts.h): codes,
 * sessions, limits, keys and the outbox; the abuse module's are in
 * scripts_abuse.c.
 *
 * What the keys hold is described in store.c. Numbers travel as
 * decimal text; times are ms since the epoch on the caller's clock.
 */
#include "store/redis/lua.h"

/* clang-format off */

/* KEYS: code, phone and owner (its latest code), outbox due, idem (or
 * code), session (or code), then the limits, then the hash and set of each
 * signal add. ARGV: now, id, phone, mac, attempts, expires, body, has idem,
 * idem expires, has bind, bind expires, owner, credit, the number of
 * limits, the hour and day of now, the issuer's lease (0: queued; else the
 * message is written claimed by it, as a claim at now would leave it),
 * then interval and burst per limit, then sent, verified and member per
 * signal add. Answers {'ok', id, expires, message id if claimed else 0}.
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
    "local nl = n(ARGV[14])\n"
    "local w, wait, which = gcra(5, nl, 17, now)\n"
    "if not w then return {'limited', wait, which} end\n"
    "gcra_put(w, now)\n"
    /* At most one code of a phone and owner is pending: the latest. */
    "local old = redis.call('GET', KEYS[2])\n"
    "if old then\n"
    "  local ok = 'otp:{c:' .. old .. '}'\n"
    "  if redis.call('HGET', ok, 's') == 'pending' then\n"
    "    redis.call('HSET', ok, 's', 'retired')\n"
    "  end\n"
    "end\n"
    "local till = exp + DAY\n"
    "redis.call('HSET', KEYS[1], 'p', phone, 'm', ARGV[4], 'l', ARGV[5],\n"
    "  's', 'pending', 'c', s(now), 'e', s(exp), 'o', ARGV[12],\n"
    "  'cr', ARGV[13])\n"
    "keep(KEYS[1], till, now)\n"
    "redis.call('SET', KEYS[2], id, 'PX', ttl(till, now))\n"
    "local mid = redis.call('INCR', OB .. 'seq')\n"
    "local m, mk = string.format('%016d', mid), OB .. 'm:' .. s(mid)\n"
    /* no body: a test number's message, recorded as sent, not queued */
    "local test = ARGV[7] == ''\n"
    "local lease = n(ARGV[17])\n"
    "local held = not test and lease > 0\n"
    "local st = test and 'sent' or (held and 'sending' or 'queued')\n"
    "local le = held and s(now + lease) or '0'\n"
    "redis.call('HSET', mk, 'r', id, 'to', phone, 'b', ARGV[7],\n"
    "  'st', st, 'a', held and '1' or '0', 'd', '0', 'nx', s(now),\n"
    "  'le', le,\n"
    "  'e', s(exp), 'err', test and 'test number: not sent' or '',\n"
    "  'u', s(now), 'c', s(now))\n"
    "if test then redis.call('HDEL', mk, 'b') end\n"
    "keep(mk, till, now)\n"
    "redis.call('SET', OB .. 'r:' .. id, s(mid), 'PX', ttl(till, now))\n"
    "if not test then\n"
    "  redis.call('ZADD', OB .. 'due', held and le or s(now), m)\n"
    "end\n"
    "redis.call('ZADD', OB .. 'ids', s(mid), m)\n"
    "redis.call('ZADD', OB .. 'exp', s(exp), m)\n"
    "move(m, nil, st)\n"
    "if ARGV[8] == '1' then\n"
    "  redis.call('DEL', KEYS[4])\n"
    "  redis.call('HSET', KEYS[4], 'r', id, 'p', phone, 'ce', s(exp),\n"
    "    'e', ARGV[9])\n"
    "  keep(KEYS[4], n(ARGV[9]), now)\n"
    "end\n"
    "if ARGV[10] == '1' then\n"
    "  bind(KEYS[5], now, n(ARGV[11]), true, id, phone, 0)\n"
    "end\n"
    "local k0, a0 = 5 + nl, 17 + 2 * nl\n"
    "for i = 1, (#KEYS - k0) / 2 do\n"
    "  local a = a0 + 3 * (i - 1)\n"
    "  sig_add(KEYS[k0 + 2 * i - 1], KEYS[k0 + 2 * i], ARGV[a + 1],\n"
    "    ARGV[a + 2], ARGV[a + 3], now, ARGV[15], ARGV[16])\n"
    "end\n"
    "return {'ok', id, exp, held and mid or 0}\n";

/* KEYS: code [, old session, new session]. ARGV: now, mac, expected phone,
 * rotate, session expires, expected owner ('' : any; a
 * code of another owner is not found, and nothing is counted), the MAC
 * under the previous secret ('' : none; either MAC is right), the hour and
 * day of now. An accepted code credits each key of its credit (a
 * space-separated list; a key too long to be one is skipped) with one
 * verified: those keys are made here, outside KEYS (store.c: slots).
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
    "local f = redis.call('HMGET', KEYS[1], 'p', 'm', 'l', 's', 'e', 'o',\n"
    "  'cr')\n"
    "if not f[1] then return {'notfound', 0, ''} end\n"
    "local o = f[6] or ''\n"
    "if o ~= '' and ARGV[6] ~= '' and o ~= ARGV[6] then\n"
    "  return {'notfound', 0, ''}\n"
    "end\n"
    "local phone, left, st = f[1], n(f[3]), f[4]\n"
    "if st == 'used' then return {'used', left, phone} end\n"
    "if st == 'dead' or st == 'retired' then return {'dead', left, phone} end\n"
    "if st ~= 'pending' then return {'bad'} end\n"
    "if now >= n(f[5]) then return {'expired', left, phone} end\n"
    "local function differ(mac, try)\n"
    "  local d = 0\n"
    "  if #mac ~= 32 or #try ~= 32 then d = 1 end\n"
    "  for i = 1, 32 do\n"
    "    d = bit.bor(d, bit.bxor(string.byte(mac, i) or 0,\n"
    "      string.byte(try, i) or 0))\n"
    "  end\n"
    "  return d\n"
    "end\n"
    "local d = differ(f[2], ARGV[2])\n"
    "if ARGV[7] ~= '' and differ(f[2], ARGV[7]) == 0 then d = 0 end\n"
    "if d == 0 and (ARGV[3] == '' or ARGV[3] == phone)\n"
    "then\n"
    "  redis.call('HSET', KEYS[1], 's', 'used')\n"
    "  if ARGV[4] == '1' then\n"
    "    redis.call('DEL', KEYS[2])\n"
    "    login(KEYS[3], phone, now, n(ARGV[5]))\n"
    "  end\n"
    "  for key in string.gmatch(f[7] or '', '[^ ]+') do\n"
    "    if #key < SIG_KEY then\n"
    "      sig_add('otp:{g:' .. key .. '}', '', '0', '1', '', now, ARGV[8],\n"
    "        ARGV[9])\n"
    "    end\n"
    "  end\n"
    "  return {'ok', left, phone}\n"
    "end\n"
    "if left > 1 then left = left - 1 else left = 0 end\n"
    "redis.call('HSET', KEYS[1], 'l', s(left),\n"
    "  's', left > 0 and 'pending' or 'dead')\n"
    "return {'wrong', left, phone}\n";

/* KEYS: the limits. ARGV: now, then interval and burst per key: each key
 * that has a TAT gets it moved back by its interval (DECRBY keeps its
 * TTL); a key with none stays without. */
static const char s_give[] =
    "for i = 1, #KEYS do\n"
    "  local T = tonumber(ARGV[2 * i])\n"
    "  if T > 0 and redis.call('EXISTS', KEYS[i]) == 1 then\n"
    "    redis.call('DECRBY', KEYS[i], T)\n"
    "  end\n"
    "end\n"
    "return {'ok', 0}\n";

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

/* KEYS: old key hash, new key hash, all. ARGV: new id, name, hash,
 * created, revoked, old id. A new id that exists already stays as it is. */
static const char s_key_replace[] =
    PRELUDE
    "if redis.call('DEL', KEYS[1]) == 0 then return {'notfound'} end\n"
    "redis.call('ZREM', KEYS[3], ARGV[6])\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {'ok'} end\n"
    "redis.call('HSET', KEYS[2], 'n', ARGV[2], 'h', ARGV[3], 'c', ARGV[4],\n"
    "  'r', ARGV[5])\n"
    "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
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
#define CLAIM                                                                  \
    "local now = n(ARGV[1])\n"                                                 \
    "local till = s(now + n(ARGV[2]))\n"                                       \
    "local due = {}\n"                                                         \
    "if n(ARGV[3]) > 0 then\n"                                                 \
    "  due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"          \
    "    'LIMIT', 0, n(ARGV[3]))\n"                                            \
    "end\n"                                                                    \
    "for _, m in ipairs(due) do\n"                                             \
    "  local id = s(n(m))\n"                                                   \
    "  local mk = OB .. 'm:' .. id\n"                                          \
    "  local f = redis.call('HMGET', mk, 'r', 'to', 'b', 'a', 'd', 'e',\n"     \
    "    'st', 'c')\n"                                                         \
    "  if not f[1] then\n"                                                     \
    "    drop(m)\n"                                                            \
    "  else\n"                                                                 \
    "    local a = s(n(f[4]) + 1)\n"                                           \
    "    redis.call('HSET', mk, 'st', 'sending', 'a', a, 'le', till,\n"        \
    "      'u', ARGV[1])\n"                                                    \
    "    redis.call('ZADD', KEYS[1], till, m)\n"                               \
    "    if f[7] ~= 'sending' then move(m, f[7], 'sending') end\n"             \
    "    for _, v in ipairs({id, f[1], f[2] or '', f[3] or '', a,\n"      \
    "      f[5] or '0', f[6] or '0', f[8] or '0'}) do\n"                     \
    "      out[#out + 1] = v\n"                                              \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "end\n"

static const char s_claim[] =
    PRELUDE
    "local out = {'ok'}\n"
    CLAIM
    "return out\n";

/* KEYS: due. ARGV: now, lease ms, max, then member and lease token per
 * ack. Each ack as s_ack (a stale token changes nothing), then a claim as
 * s_claim (max 0: none). Answers {'ok', 'ok' or 'notfound' per ack, then
 * the claimed messages}. */
static const char s_ack_claim[] =
    PRELUDE
    "local out = {'ok'}\n"
    "for i = 4, #ARGV - 1, 2 do\n"
    "  local m = ARGV[i]\n"
    "  local mk = OB .. 'm:' .. s(n(m))\n"
    "  local f = redis.call('HMGET', mk, 'st', 'a')\n"
    "  if f[1] == 'sending' and n(f[2]) == n(ARGV[i + 1]) then\n"
    "    redis.call('HSET', mk, 'st', 'sent', 'le', '0', 'u', ARGV[1])\n"
    "    redis.call('HDEL', mk, 'b')\n"
    "    redis.call('ZREM', KEYS[1], m)\n"
    "    move(m, 'sending', 'sent')\n"
    "    out[#out + 1] = 'ok'\n"
    "  else\n"
    "    out[#out + 1] = 'notfound'\n"
    "  end\n"
    "end\n"
    CLAIM
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

/* KEYS: sessions found by SCAN. ARGV: a stored phone. Deletes those
 * logged in as that phone; answers {'ok', deleted}. */
static const char s_revoke_phone[] =
    "local gone = 0\n"
    "for _, k in ipairs(KEYS) do\n"
    "  local p = redis.pcall('HGET', k, 'p')\n"
    "  if type(p) == 'string' and p ~= '' and p == ARGV[1] then\n"
    "    gone = gone + redis.call('DEL', k)\n"
    "  end\n"
    "end\n"
    "return {'ok', gone}\n";

/* KEYS: codes, sessions, idempotency keys and messages found by SCAN.
 * ARGV: the mark. Answers {'ok', key, field, value, ...} for each stored
 * phone that is not '' and does not start with the mark. */
static const char s_reseal_read[] =
    PRELUDE
    "local mark, out = ARGV[1], {'ok'}\n"
    "local FIELDS = {c = {'p'}, s = {'p', 'pp'}, i = {'p'}, o = {'to'}}\n"
    "for _, k in ipairs(KEYS) do\n"
    "  for _, f in ipairs(FIELDS[string.sub(k, 6, 6)] or {}) do\n"
    "    local v = redis.pcall('HGET', k, f)\n"
    "    if type(v) == 'string' and v ~= '' and\n"
    "        string.sub(v, 1, #mark) ~= mark then\n"
    "      out[#out + 1], out[#out + 2], out[#out + 3] = k, f, v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: the keys of reseal_read's answer, one per phone. ARGV: field, old
 * and new value of each. A value that changed since it was read is left
 * alone; a code's index by phone and owner moves with its phone (unless
 * one under the new phone exists). Answers {'ok', phones rewritten}. */
static const char s_reseal_write[] =
    PRELUDE
    "local done = 0\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local f, old, new = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]\n"
    "  if redis.call('HGET', k, f) == old then\n"
    "    redis.call('HSET', k, f, new)\n"
    "    done = done + 1\n"
    "    if string.sub(k, 6, 6) == 'c' then\n"
    "      local o = redis.call('HGET', k, 'o') or ''\n"
    "      local ik = 'otp:{p:' .. old .. ':' .. o .. '}'\n"
    "      if redis.call('EXISTS', ik) == 1 then\n"
    "        redis.call('RENAMENX', ik, 'otp:{p:' .. new .. ':' .. o .. '}')\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {'ok', done}\n";

/* clang-format on */

const char *const otp_redis_lua[OTP_RS_COUNT] = {
    [OTP_RS_ISSUE] = s_issue,
    [OTP_RS_VERIFY] = s_verify,
    [OTP_RS_LIMIT] = s_limit,
    [OTP_RS_GIVE] = s_give,
    [OTP_RS_BIND] = s_bind,
    [OTP_RS_ROTATE] = s_rotate,
    [OTP_RS_KEY_PUT] = s_key_put,
    [OTP_RS_KEY_LIST] = s_key_list,
    [OTP_RS_KEY_REVOKE] = s_key_revoke,
    [OTP_RS_KEY_REPLACE] = s_key_replace,
    [OTP_RS_CLAIM] = s_claim,
    [OTP_RS_ACK] = s_ack,
    [OTP_RS_ACK_CLAIM] = s_ack_claim,
    [OTP_RS_RETRY] = s_retry,
    [OTP_RS_FAIL] = s_fail,
    [OTP_RS_REPORT] = s_report,
    [OTP_RS_REQUEUE] = s_requeue,
    [OTP_RS_LIST] = s_list,
    [OTP_RS_STATE] = s_state,
    [OTP_RS_PURGE_OUTBOX] = s_purge_outbox,
    [OTP_RS_PURGE_KEYS] = s_purge_keys,
    [OTP_RS_RESEAL_READ] = s_reseal_read,
    [OTP_RS_RESEAL_WRITE] = s_reseal_write,
    [OTP_RS_REVOKE_PHONE] = s_revoke_phone,
    [OTP_RS_SIGNAL_ADD] = otp_rs_signal_add,
    [OTP_RS_PURGE_SIGNALS] = otp_rs_purge_signals,
    [OTP_RS_BLOCK_PUT] = otp_rs_block_put,
    [OTP_RS_BLOCK_LIST] = otp_rs_block_list,
    [OTP_RS_BLOCK_DELETE] = otp_rs_block_delete,
    [OTP_RS_PURGE_BLOCKS] = otp_rs_purge_blocks,
};
