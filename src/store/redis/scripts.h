/* scripts.h - the Lua scripts of the Redis store, one per operation.
 *
 * conn.c loads them (SCRIPT LOAD) on every new connection and runs them
 * (EVALSHA); the domain files call them; store.c documents the key
 * layout.
 * Each script's comment (scripts.c, scripts_abuse.c) names its KEYS and ARGV;
 * each answers an array whose first element is a status word ("ok", "notfound",
 * ...). Every script is atomic (Redis runs one at a time), checks everything
 * before its first write (a script that fails half-way keeps what it wrote),
 * and takes the time as an argument: none reads Redis's clock.
 */
#ifndef OTP_STORE_REDIS_LUA_H
#define OTP_STORE_REDIS_LUA_H

/* The shared outbox's keys: one hash tag, so one slot. */
#define OTP_REDIS_OUTBOX "otp:{outbox}:"
/* The blocks' keys: one hash tag too. */
#define OTP_REDIS_BLOCKS "otp:{blocks}:"

enum otp_redis_script {
	OTP_RS_ISSUE,
	OTP_RS_VERIFY,
	OTP_RS_LIMIT,
	OTP_RS_GIVE,
	OTP_RS_BIND,
	OTP_RS_ROTATE,
	OTP_RS_KEY_PUT,
	OTP_RS_KEY_LIST,
	OTP_RS_KEY_REVOKE,
	OTP_RS_KEY_REPLACE,
	OTP_RS_CLAIM,
	OTP_RS_ACK,
	OTP_RS_ACK_CLAIM,
	OTP_RS_RETRY,
	OTP_RS_FAIL,
	OTP_RS_REPORT,
	OTP_RS_REQUEUE,
	OTP_RS_LIST,
	OTP_RS_STATE,
	OTP_RS_PURGE_OUTBOX,
	OTP_RS_PURGE_KEYS,
	OTP_RS_RESEAL_READ,
	OTP_RS_RESEAL_WRITE,
	OTP_RS_REVOKE_PHONE,
	OTP_RS_SIGNAL_ADD,
	OTP_RS_PURGE_SIGNALS,
	OTP_RS_BLOCK_PUT,
	OTP_RS_BLOCK_LIST,
	OTP_RS_BLOCK_DELETE,
	OTP_RS_PURGE_BLOCKS,
	OTP_RS_COUNT
};

extern const char *const otp_redis_lua[OTP_RS_COUNT];

#endif
