/* limits.c - the SQLite backend's rate limits: GCRA buckets, one row (its
 * theoretical arrival time) per key, taken all-or-nothing, and read back
 * (limit_get).
 *
 * The arithmetic is otp_gcra_take's (store.h); the rates and keys are the
 * engine's policy. code_issue takes its limits in its own transaction
 * through otp_sq_take_in_tx (codes.c).
 */
#include "core/err.h"
#include "store/sqlite/sqlite.h"

static int get_tat(struct conn *q, const char *key, int64_t *tat)
{
	sqlite3_stmt *st = q->st[ST_LIMIT_GET];
	int rc = otp_sq_row(st, "l", key);
	*tat = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
	if (rc == 1)
		otp_sq_done(st);
	return rc < 0 ? rc : 0;
}

/* Takes as it goes, inside the transaction, so a key named twice counts
 * twice; any refusal rolls the whole call back. */
int otp_sq_take_in_tx(struct conn *q, const struct otp_limit *lims, size_t n,
		      int64_t now, int64_t *longest, int *which)
{
	int rc = 0;
	bool refused = false;
	*longest = 0;
	*which = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct otp_limit *l = &lims[i];
		int64_t tat, next = 0, wait = 0;
		if (l->rate.interval_ms <= 0)
			continue;
		rc = get_tat(q, l->key, &tat);
		if (rc)
			break;
		if (!otp_gcra_take(&l->rate, tat, now, &next, &wait)) {
			refused = true;
			if (wait > *longest)
				*longest = wait, *which = (int)i;
		} else if (!refused) {
			rc = otp_sq_exec(q->st[ST_LIMIT_PUT], "li", l->key,
					 next);
		}
	}
	return rc == 0 && refused ? OTP_ELIMITED : rc;
}

/* Whether any of the n limits has a rate (interval 0 is "no limit"). */
static bool any_live(const struct otp_limit *lims, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lims[i].rate.interval_ms > 0)
			return true;
	return false;
}

int otp_sq_limit_take(struct otp_store *s, const struct otp_limit *lims,
		      size_t n, int64_t now, int64_t *retry_ms)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	if (retry_ms)
		*retry_ms = 0;
	if (!any_live(lims, n))
		return 0; /* no transaction for nothing to take */
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	int64_t longest = 0;
	int which;
	rc =
	    otp_sq_end(h, otp_sq_take_in_tx(q, lims, n, now, &longest, &which));
	if (rc == OTP_ELIMITED && retry_ms)
		*retry_ms = longest;
	return rc;
}

/* A TAT moved back below now is the same as a full bucket (GCRA reads it
 * as now), and purge drops it. */
static int give_in_tx(struct conn *q, const struct otp_limit *lims, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (lims[i].rate.interval_ms > 0)
			rc = otp_sq_exec(q->st[ST_LIMIT_GIVE], "li",
					 lims[i].key, lims[i].rate.interval_ms);
	return rc;
}

int otp_sq_limit_give(struct otp_store *s, const struct otp_limit *lims,
		      size_t n, int64_t now)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	(void)now;
	if (!any_live(lims, n))
		return 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	return otp_sq_end(h, give_in_tx(q, lims, n));
}

/* On the handle's read connection: a read, never a take. */
int otp_sq_limit_get(struct otp_store *s, const char *key, int64_t now,
		     int64_t *tat)
{
	sqlite3_stmt *st = otp_sq_rd(s, ST_LIMIT_GET);
	int rc = otp_sq_row(st, "l", key);
	*tat = 0;
	if (rc < 0)
		return rc;
	if (rc == 1) {
		*tat = sqlite3_column_int64(st, 0);
		otp_sq_done(st);
	}
	return *tat > now ? 0 : OTP_ENOTFOUND;
}
