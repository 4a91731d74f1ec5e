/* statements.h - every statement the SQLite backend runs, as one X-macro
 * list: X(NAME, SQL). sqlite.h makes the enum of it (ST_NAME) and db.c the
 * texts every connection prepares once at open. The tables they run on are
 * schema.c's; what each operation does with them is in its domain's file.
 */
#ifndef OTP_STORE_SQLITE_STATEMENTS_H
#define OTP_STORE_SQLITE_STATEMENTS_H

/* Every statement a handle runs, prepared once at open. Outbox writes that
 * settle a claim (ack, retry, fail) match its lease token, attempts, so a
 * worker whose lease ran out and was re-claimed changes nothing. */
#define STATEMENTS(X)                                                          \
	X(BEGIN, "BEGIN IMMEDIATE")                                            \
	X(READ_BEGIN, "BEGIN")                                                 \
	X(COMMIT, "COMMIT")                                                    \
	X(ROLLBACK, "ROLLBACK")                                                \
	X(PING, "PRAGMA user_version")                                         \
	X(IDEM_GET, "SELECT request_id, phone, code_expires FROM idem"         \
		    " WHERE key = ?1 AND expires > ?2")                        \
	X(IDEM_PUT, "INSERT OR REPLACE INTO idem (key, request_id, phone,"     \
		    " code_expires, expires) VALUES (?1, ?2, ?3, ?4, ?5)")     \
	X(CODE_RETIRE,                                                         \
	  "UPDATE codes SET state = 'retired'"                                 \
	  " WHERE phone = ?1 AND owner = ?2 AND state = 'pending'")            \
	X(CODE_INSERT, "INSERT INTO codes (id, phone, mac, attempts_left,"     \
		       " state, created, expires, owner, credit, msg)"         \
		       " VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8,"   \
		       " ?9)")                                                 \
	X(CODE_GET, "SELECT phone, mac, attempts_left, state, expires, owner," \
		    " credit FROM codes WHERE id = ?1")                        \
	X(CODE_INFO, "SELECT phone, state, attempts_left, created, expires,"   \
		     " (SELECT state FROM outbox WHERE id = codes.msg), owner" \
		     " FROM codes WHERE id = ?1")                              \
	X(CODE_SET, "UPDATE codes SET state = ?2, attempts_left = ?3"          \
		    " WHERE id = ?1")                                          \
	/* No indexed column: its index entries stay as they are. */           \
	X(CODE_TRY, "UPDATE codes SET attempts_left = ?2 WHERE id = ?1")       \
	/* An expired row that purge has not reached yet must not lend its     \
	 * login, pending code or send count to the new binding: it starts     \
	 * over. ?3 NULL keeps the pending code; ?5 is 1 to count a send. */   \
	X(SESSION_BIND,                                                        \
	  "INSERT INTO sessions (hash, phone, authenticated, expires,"         \
	  " pending_id, pending_phone, sends)"                                 \
	  " VALUES (?1, '', 0, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5)"    \
	  " ON CONFLICT (hash) DO UPDATE SET"                                  \
	  " phone = CASE WHEN expires > ?6 THEN phone ELSE '' END,"            \
	  " authenticated = CASE WHEN expires > ?6 THEN authenticated"         \
	  "  ELSE 0 END,"                                                      \
	  " expires = CASE WHEN expires > ?6"                                  \
	  "  THEN max(expires, excluded.expires) ELSE excluded.expires END,"   \
	  " pending_id = CASE WHEN ?3 IS NOT NULL THEN excluded.pending_id"    \
	  "  WHEN expires > ?6 THEN pending_id ELSE '' END,"                   \
	  " pending_phone = CASE WHEN ?3 IS NOT NULL"                          \
	  "  THEN excluded.pending_phone"                                      \
	  "  WHEN expires > ?6 THEN pending_phone ELSE '' END,"                \
	  " sends = CASE WHEN expires > ?6 THEN sends ELSE 0 END + ?5")        \
	X(SESSION_PUT, "INSERT OR REPLACE INTO sessions (hash, phone,"         \
		       " authenticated, expires, pending_id, pending_phone,"   \
		       " sends) VALUES (?1, ?2, ?3, ?4, '', '', 0)")           \
	X(SESSION_GET, "SELECT phone, authenticated, expires, pending_id,"     \
		       " pending_phone, sends"                                 \
		       " FROM sessions WHERE hash = ?1 AND expires > ?2")      \
	X(SESSION_PENDING, "SELECT pending_id FROM sessions"                   \
			   " WHERE hash = ?1 AND expires > ?2")                \
	X(SESSION_DELETE, "DELETE FROM sessions WHERE hash = ?1")              \
	X(SESSION_DELETE_LIVE, "DELETE FROM sessions"                          \
			       " WHERE hash = ?1 AND expires > ?2")            \
	X(SESSION_REVOKE_PHONE, "DELETE FROM sessions"                         \
				" WHERE phone = ?1 AND phone != ''")           \
	X(LIMIT_GET, "SELECT tat FROM limits WHERE key = ?1")                  \
	X(LIMIT_PUT, "INSERT INTO limits (key, tat) VALUES (?1, ?2)"           \
		     " ON CONFLICT (key) DO UPDATE SET tat = excluded.tat")    \
	X(LIMIT_GIVE, "UPDATE limits SET tat = tat - ?2 WHERE key = ?1")       \
	X(KEY_PUT, "INSERT INTO apikeys (id, name, hash, created, revoked)"    \
		   " VALUES (?1, ?2, ?3, ?4, ?5)")                             \
	X(KEY_GET, "SELECT id, name, hash, created, revoked FROM apikeys"      \
		   " WHERE id = ?1")                                           \
	X(KEY_LIST, "SELECT id, name, hash, created, revoked FROM apikeys"     \
		    " ORDER BY created, id LIMIT ?1")                          \
	X(KEY_DELETE, "DELETE FROM apikeys WHERE id = ?1")                     \
	X(KEY_REVOKE, "UPDATE apikeys SET revoked ="                           \
		      " CASE WHEN revoked = 0 THEN ?2 ELSE revoked END"        \
		      " WHERE id = ?1")                                        \
	/* ?6 > 0: claimed by the issuer, its lease until ?6 (code_issue's     \
	 * lease_ms), as MSG_LEASE would leave it; a test number's is sent. */ \
	X(MSG_INSERT,                                                          \
	  "INSERT INTO outbox (request_id, to_phone, body, state,"             \
	  " attempts, driver, next_at, lease_until, expires, last_error,"      \
	  " created, updated)"                                                 \
	  " VALUES (?1, ?2, ?3, CASE WHEN ?3 IS NULL THEN 'sent'"              \
	  "  WHEN ?6 > 0 THEN 'sending' ELSE 'queued' END,"                    \
	  " CASE WHEN ?3 IS NOT NULL AND ?6 > 0 THEN 1 ELSE 0 END, 0, ?4,"     \
	  " CASE WHEN ?3 IS NOT NULL AND ?6 > 0 THEN ?6 ELSE 0 END, ?5,"       \
	  " CASE WHEN ?3 IS NULL THEN 'test number: not sent' ELSE '' END,"    \
	  " ?4, ?4)")                                                          \
	/* Oldest due first (then by id), as the Redis backend does: a MERGE   \
	 * of two index searches, no sort (EXPLAIN QUERY PLAN). */             \
	X(MSG_DUE, "SELECT id, request_id, to_phone, body, attempts, driver,"  \
		   " expires, next_at, created FROM outbox"                    \
		   " WHERE state = 'queued' AND next_at <= ?1"                 \
		   " UNION ALL"                                                \
		   " SELECT id, request_id, to_phone, body, attempts, driver," \
		   " expires, lease_until, created FROM outbox"                \
		   " WHERE state = 'sending' AND lease_until <= ?1"            \
		   " ORDER BY 8, 1 LIMIT ?2")                                  \
	X(MSG_LEASE, "UPDATE outbox SET state = 'sending', lease_until = ?2,"  \
		     " attempts = attempts + 1, updated = ?3 WHERE id = ?1")   \
	X(MSG_ACK, "UPDATE outbox SET state = 'sent', body = NULL,"            \
		   " lease_until = 0, updated = ?3"                            \
		   " WHERE id = ?1 AND state = 'sending' AND attempts = ?2")   \
	X(MSG_RETRY, "UPDATE outbox SET state = 'queued', next_at = ?3,"       \
		     " driver = ?4, lease_until = 0, last_error = ?5,"         \
		     " updated = ?6"                                           \
		     " WHERE id = ?1 AND state = 'sending' AND attempts = ?2") \
	X(MSG_FAIL, "UPDATE outbox SET state = ?3,"                            \
		    " body = CASE WHEN ?3 = 'failed' THEN body END,"           \
		    " lease_until = 0, last_error = ?4, updated = ?5"          \
		    " WHERE id = ?1 AND state = 'sending' AND attempts = ?2")  \
	X(MSG_REPORT, "UPDATE outbox SET state = ?2, updated = ?3"             \
		      " WHERE id = ?1"                                         \
		      " AND state IN ('sent', 'delivered', 'undelivered')")    \
	X(MSG_REQUEUE, "UPDATE outbox SET state = 'queued', driver = 0,"       \
		       " next_at = ?2, lease_until = 0, updated = ?2"          \
		       " WHERE id = ?1 AND state = 'failed'"                   \
		       " AND body IS NOT NULL")                                \
	X(MSG_RECLAIM, "UPDATE outbox SET lease_until = ?1"                    \
		       " WHERE state = 'sending' AND lease_until > ?1")        \
	X(MSG_EXISTS, "SELECT 1 FROM outbox WHERE id = ?1")                    \
	X(MSG_LIST, "SELECT id, request_id, to_phone, state, attempts,"        \
		    " driver, next_at, expires, updated, last_error"           \
		    " FROM outbox WHERE ?1 IS NULL OR state = ?1"              \
		    " ORDER BY id DESC LIMIT ?2")                              \
	/* A message is its code's (codes.msg, schema.c v10): found, and       \
	 * purged before it, through the code. */                              \
	X(MSG_STATE, "SELECT outbox.state FROM codes JOIN outbox"              \
		     " ON outbox.id = codes.msg WHERE codes.id = ?1")          \
	X(PURGE_CODES, "DELETE FROM codes WHERE expires < ?1")                 \
	X(PURGE_MSGS, "DELETE FROM outbox WHERE id IN"                         \
		      " (SELECT msg FROM codes WHERE expires < ?1)")           \
	X(PURGE_IDEM, "DELETE FROM idem WHERE expires <= ?1")                  \
	X(PURGE_SESSIONS, "DELETE FROM sessions WHERE expires <= ?1")          \
	X(PURGE_LIMITS, "DELETE FROM limits WHERE tat <= ?1")                  \
	/* One key's hour (?2) and day (?3) buckets take n[] (?4, ?5). */      \
	X(SIG_ADD, "INSERT INTO signals (key, bucket, sent, verified)"         \
		   " VALUES (?1, ?2, ?4, ?5), (?1, ?3, ?4, ?5)"                \
		   " ON CONFLICT (key, bucket) DO UPDATE SET"                  \
		   " sent = sent + excluded.sent,"                             \
		   " verified = verified + excluded.verified")                 \
	/* Member ?2 seen at ?3 if it is live (seen after ?4) or the set has   \
	 * fewer than ?5 live members. */                                      \
	X(SIG_SEE, "INSERT INTO signal_members (key, member, seen)"            \
		   " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1"                 \
		   "  FROM signal_members WHERE key = ?1 AND member = ?2"      \
		   "  AND seen > ?4)"                                          \
		   " OR (SELECT count(*) FROM signal_members"                  \
		   "  WHERE key = ?1 AND seen > ?4) < ?5"                      \
		   " ON CONFLICT (key, member) DO UPDATE SET"                  \
		   " seen = excluded.seen")                                    \
	/* The hour (?2..?3) and day (?4..?5) buckets a read folds: two        \
	 * ranges of the primary key, nothing else of the key's. */            \
	X(SIG_READ, "SELECT bucket, sent, verified FROM signals"               \
		    " WHERE key = ?1 AND bucket BETWEEN ?2 AND ?3"             \
		    " UNION ALL SELECT bucket, sent, verified FROM signals"    \
		    " WHERE key = ?1 AND bucket BETWEEN ?4 AND ?5")            \
	/* Its live members (seen after ?2), whether ?3 is one, and those      \
	 * seen after ?4. */                                                   \
	X(SIG_DISTINCT, "SELECT count(*), coalesce(sum(member = ?3), 0),"      \
			" coalesce(sum(seen > ?4), 0)"                         \
			" FROM signal_members WHERE key = ?1 AND seen > ?2")   \
	/* Hours before ?1, days before the day whose bucket is ?2. */         \
	X(PURGE_SIGNALS, "DELETE FROM signals WHERE bucket BETWEEN 0 AND ?1"   \
			 " OR bucket BETWEEN ?2 AND -1")                       \
	X(PURGE_MEMBERS, "DELETE FROM signal_members WHERE seen <= ?1")        \
	X(BLOCK_PUT, "INSERT OR REPLACE INTO blocks (key, kind, created,"      \
		     " until, strikes, rule) VALUES (?1, ?2, ?3, ?4, ?5, ?6)") \
	X(BLOCK_GET, "SELECT key, kind, created, until, strikes, rule"         \
		     " FROM blocks WHERE key = ?1")                            \
	/* Newest first, ties by key (as Redis's index orders them). */        \
	X(BLOCK_LIST, "SELECT key, kind, created, until, strikes, rule"        \
		      " FROM blocks ORDER BY created DESC, key DESC LIMIT ?1") \
	X(BLOCK_DELETE, "DELETE FROM blocks WHERE key = ?1")                   \
	X(PURGE_BLOCKS, "DELETE FROM blocks WHERE until != 0 AND until < ?1")
#endif
