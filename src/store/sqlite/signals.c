/* signals.c - the SQLite backend's abuse signals (store.h): counters in
 * hour and UTC-day buckets, one row per key and bucket with both counters
 * in it, and sets of members by when each was last seen (schema.c, v6).
 *
 * An add is one UPSERT per key writing its hour row and its day row (and
 * one more for a set member); on the writer, the counts of a batch are
 * summed first and written once a key before its COMMIT (sigbatch.h),
 * and its reads add the sums in. A read is two ranges of one key's primary
 * key, folded into windows by signal_window.h, which holds all the
 * arithmetic. code_issue and code_verify (codes.c) add in their own
 * transaction through the _in_tx functions; abuse_read (blocks.c) reads
 * on the writer's connection through otp_sq_signals_read_on. The blocks are
 * blocks.c's; what the counts mean is src/abuse/'s.
 */
#include <string.h>

#include "core/err.h"
#include "store/signal_window.h"
#include "store/sqlite/sqlite.h"

/* One key's bucket rows: bucket is the hour index, or -1 - the day index. */
static int64_t day_bucket(int64_t day)
{
	return -1 - day;
}

static int write_sum(void *arg, const char *key,
		     const struct otp_sq_sigsum *sum)
{
	struct conn *q = arg;
	return otp_sq_exec(q->st[ST_SIG_ADD], "giiii", key, sum->hour,
			   day_bucket(sum->day), sum->n[OTP_SIG_SENT],
			   sum->n[OTP_SIG_VERIFIED]);
}

int otp_sq_signals_flush(struct conn *q)
{
	return otp_sq_sigbatch_each(q->sb, write_sum, q);
}

/* To the writer's batch sums, or (when they have no room) written now. */
static int add_one(struct conn *q, const char *key,
		   const int64_t n[OTP_SIG_COUNTERS], int64_t now)
{
	if (n[OTP_SIG_SENT] == 0 && n[OTP_SIG_VERIFIED] == 0)
		return 0; /* nothing to count: no row */
	struct otp_sq_sigsum sum = {.hour = otp_sig_hour(now),
				    .day = otp_sig_day(now)};
	memcpy(sum.n, n, sizeof sum.n);
	if (q->sb && otp_sq_sigbatch_add(q->sb, key, sum.hour, sum.day, n))
		return 0;
	return write_sum(q, key, &sum);
}

int otp_sq_signals_add_in_tx(struct conn *q, const struct otp_signal_add *adds,
			     size_t n, int64_t now)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct otp_signal_add *a = &adds[i];
		rc = add_one(q, a->key, a->n, now);
		if (rc == 0 && a->member[0])
			rc = otp_sq_exec(q->st[ST_SIG_SEE], "gwiin", a->key,
					 a->member, now, now - OTP_SIG_SEEN_MS,
					 OTP_SIGNAL_SET_MAX);
	}
	return rc;
}

/* A token longer than a signal key can be names no key that was ever
 * added (a cut one could name another): it is skipped. */
int otp_sq_credit_in_tx(struct conn *q, const char *credit, int64_t now)
{
	static const int64_t one[OTP_SIG_COUNTERS] = {[OTP_SIG_VERIFIED] = 1};
	size_t len = strnlen(credit, OTP_CREDIT_MAX - 1);
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		size_t k = i;
		while (k < len && credit[k] != ' ')
			k++;
		if (k > i && k - i < OTP_SIGNAL_KEY_MAX) {
			char key[OTP_SIGNAL_KEY_MAX];
			memcpy(key, credit + i, k - i);
			key[k - i] = '\0';
			rc = add_one(q, key, one, now);
		}
		i = k + 1;
	}
	return rc;
}

int otp_sq_signal_add(struct otp_store *s, const struct otp_signal_add *adds,
		      size_t n, int64_t now)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	if (n == 0)
		return 0;
	int rc = otp_sq_begin_grow(h, &q);
	if (rc)
		return rc;
	return otp_sq_end(h, otp_sq_signals_add_in_tx(q, adds, n, now));
}

/* Adds to row n (bucket b) the batch's sums of the same bucket, marking
 * those it took. */
static void add_pending(int64_t b, int64_t n[OTP_SIG_COUNTERS],
			const struct otp_sq_sigsum *p, int np, bool *hour_in,
			bool *day_in)
{
	for (int j = 0; j < np; j++) {
		bool same = b >= 0 ? p[j].hour == b : -1 - b == p[j].day;
		if (!same)
			continue;
		for (int c = 0; c < OTP_SIG_COUNTERS; c++)
			n[c] += p[j].n[c];
		if (b >= 0)
			hour_in[j] = true;
		else
			day_in[j] = true;
	}
}

/* The batch's sums of buckets without a row yet, folded as rows of
 * their own (a day's from all of its hours). */
static void fold_pending(struct otp_signal *out, int64_t now,
			 const struct otp_sq_sigsum *p, int np, bool *hour_in,
			 bool *day_in)
{
	for (int j = 0; j < np; j++) {
		if (!hour_in[j])
			otp_sig_fold_hour(out, now, p[j].hour, p[j].n);
		if (day_in[j])
			continue;
		int64_t n[OTP_SIG_COUNTERS];
		memcpy(n, p[j].n, sizeof n);
		for (int k = j + 1; k < np; k++)
			if (!day_in[k] && p[k].day == p[j].day) {
				for (int c = 0; c < OTP_SIG_COUNTERS; c++)
					n[c] += p[k].n[c];
				day_in[k] = true;
			}
		otp_sig_fold_day(out, now, p[j].day, n);
	}
}

/* One key's windows, with the statements ST_SIG_READ and ST_SIG_DISTINCT
 * of a connection and, on the writer, its batch's sums sb: at most 24 hour
 * rows and 14 day rows, and its live members counted (member among them
 * or not). */
static int read_one(sqlite3_stmt *st, sqlite3_stmt *distinct,
		    const struct otp_sq_sigbatch *sb, const char *key,
		    const char *member, int64_t now, struct otp_signal *out)
{
	struct otp_sq_sigsum p[OTP_SQ_SIGBATCH_HOURS];
	bool hour_in[OTP_SQ_SIGBATCH_HOURS] = {false};
	bool day_in[OTP_SQ_SIGBATCH_HOURS] = {false};
	int np =
	    sb ? otp_sq_sigbatch_pending(sb, key, p, OTP_SQ_SIGBATCH_HOURS) : 0;
	int64_t hour = otp_sig_hour(now), day = otp_sig_day(now);
	memset(out, 0, sizeof *out);
	otp_sq_bind(st, "giiii", key, hour - 23, hour, day_bucket(day - 1),
		    day_bucket(day - 14));
	int rc;
	while ((rc = otp_sq_step(st)) == 1) {
		int64_t b = sqlite3_column_int64(st, 0);
		int64_t n[OTP_SIG_COUNTERS] = {sqlite3_column_int64(st, 1),
					       sqlite3_column_int64(st, 2)};
		add_pending(b, n, p, np, hour_in, day_in);
		if (b >= 0)
			otp_sig_fold_hour(out, now, b, n);
		else
			otp_sig_fold_day(out, now, -1 - b, n);
	}
	otp_sq_done(st);
	if (rc < 0)
		return rc;
	fold_pending(out, now, p, np, hour_in, day_in);
	rc = otp_sq_row(distinct, "giwi", key, now - OTP_SIG_SEEN_MS, member,
			now - OTP_SIG_DAY_MS);
	if (rc == 1) {
		out->distinct = sqlite3_column_int64(distinct, 0);
		out->seen = sqlite3_column_int64(distinct, 1) > 0;
		out->distinct_day = sqlite3_column_int64(distinct, 2);
		otp_sq_done(distinct);
	}
	return rc < 0 ? rc : 0;
}

static int read_all(sqlite3_stmt *st, sqlite3_stmt *distinct,
		    const struct otp_sq_sigbatch *sb, const char *const *keys,
		    const char *const *members, size_t n, int64_t now,
		    struct otp_signal *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = read_one(st, distinct, sb, keys[i],
			      members ? members[i] : "", now, &out[i]);
	return rc;
}

/* All keys in one snapshot of the handle's read connection: a send's adds
 * show in all or none. */
int otp_sq_signal_read(struct otp_store *s, const char *const *keys,
		       const char *const *members, size_t n, int64_t now,
		       struct otp_signal *out)
{
	int rc = n ? otp_sq_read_begin(s) : 0;
	if (rc)
		return rc;
	if (n)
		rc = otp_sq_read_end(s, read_all(otp_sq_rd(s, ST_SIG_READ),
						 otp_sq_rd(s, ST_SIG_DISTINCT),
						 NULL, keys, members, n, now,
						 out));
	if (rc)
		memset(out, 0, n * sizeof *out);
	return rc;
}

int otp_sq_signals_read_on(struct conn *q, const char *const *keys,
			   const char *const *members, size_t n, int64_t now,
			   struct otp_signal *out)
{
	return read_all(q->st[ST_SIG_READ], q->st[ST_SIG_DISTINCT], q->sb, keys,
			members, n, now, out);
}

int otp_sq_signals_purge_in_tx(struct conn *q, int64_t now, long *count)
{
	int rc = otp_sq_exec(q->st[ST_PURGE_SIGNALS], "ii",
			     otp_sig_hour_kept(now) - 1,
			     day_bucket(otp_sig_day_kept(now) - 1));
	*count += rc ? 0 : sqlite3_changes(q->db);
	if (rc == 0)
		rc = otp_sq_exec(q->st[ST_PURGE_MEMBERS], "i",
				 now - OTP_SIG_SEEN_MS);
	*count += rc ? 0 : sqlite3_changes(q->db);
	return rc;
}
