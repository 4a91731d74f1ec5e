/* blocks.c - the SQLite backend's blocks and allow entries of the abuse
 * rules (store.h): one row per scope key in `blocks` (schema.c, v6),
 * upserted whole, found by key, listed newest first by its index on
 * created, deleted by key.
 *
 * A row's end (until_ms) is the caller's to read: find and list return
 * rows in any state; purge (db.c) drops those ended 30 days ago. What a
 * block means, and how long one lasts, is src/abuse/'s.
 */
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

int otp_sq_block_put(struct otp_store *s, const struct otp_block *b)
{
	if ((unsigned)b->kind >= OTP_BLOCK_KINDS)
		return OTP_EINTERNAL;
	return otp_sq_write(s, ST_BLOCK_PUT, SQ_ANY, "gtiinr", b->key,
			    otp_block_kind_names[b->kind], b->created_ms,
			    b->until_ms, b->strikes, b->rule);
}

/* Copies a row of ST_BLOCK_GET or ST_BLOCK_LIST into an otp_block. */
static int copy_block(sqlite3_stmt *st, void *arg)
{
	struct otp_block *b = arg;
	memset(b, 0, sizeof *b);
	otp_sq_text(st, 0, b->key, sizeof b->key);
	int kind = otp_sq_state(st, 1, otp_block_kind_names, OTP_BLOCK_KINDS);
	if (kind < 0)
		return OTP_EINTERNAL;
	b->kind = (enum otp_block_kind)kind;
	b->created_ms = sqlite3_column_int64(st, 2);
	b->until_ms = sqlite3_column_int64(st, 3);
	b->strikes = sqlite3_column_int(st, 4);
	otp_sq_text(st, 5, b->rule, sizeof b->rule);
	return 0;
}

/* One primary-key lookup per key with st (a connection's ST_BLOCK_GET),
 * in the order given: the rows found into out, their count into *k. */
static int find_with(sqlite3_stmt *st, const char *const *keys, size_t n,
		     struct otp_block *out, size_t *k)
{
	int rc = 0;
	*k = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = otp_sq_row(st, "g", keys[i]);
		if (rc == 1) {
			rc = copy_block(st, &out[*k]);
			otp_sq_done(st);
			*k += rc == 0;
		}
	}
	return rc;
}

/* On the handle's read connection, in one snapshot. */
int otp_sq_block_find(struct otp_store *s, const char *const *keys, size_t n,
		      struct otp_block *out, size_t *nout)
{
	size_t k = 0;
	*nout = 0;
	if (n == 0)
		return 0;
	int rc = otp_sq_read_begin(s);
	if (rc)
		return rc;
	rc = otp_sq_read_end(
	    s, find_with(otp_sq_rd(s, ST_BLOCK_GET), keys, n, out, &k));
	if (rc == 0)
		*nout = k;
	return rc;
}

/* On the handle's read connection: the two reads one after the other
 * (each its own snapshot). */
static int read_apart(struct otp_store *s, const struct otp_abuse_read *q,
		      struct otp_signal *sig, struct otp_block *blocks,
		      size_t *nblocks)
{
	int rc = otp_sq_signal_read(s, q->keys, q->members, q->n, q->now, sig);
	if (rc == 0)
		rc = otp_sq_block_find(s, q->block_keys, q->nblock, blocks,
				       nblocks);
	return rc;
}

/* On the writer's connection under one hold of it, when it is free: its
 * page cache, which its own commits keep, and no snapshot to take (a read
 * connection's cache is dropped by any commit since its last read). They
 * count the adds of the open batch before its COMMIT: the rules see a
 * moment early what is about to be there. While the writer is busy (a
 * batch's statements or its COMMIT), the read connection's reads, rather
 * than a wait behind it. */
static int read_on_writer(struct sq *h, struct conn *w,
			  const struct otp_abuse_read *q,
			  struct otp_signal *sig, struct otp_block *blocks,
			  size_t *nblocks)
{
	size_t k = 0;
	int rc =
	    otp_sq_signals_read_on(w, q->keys, q->members, q->n, q->now, sig);
	if (rc == 0)
		rc = find_with(w->st[ST_BLOCK_GET], q->block_keys, q->nblock,
			       blocks, &k);
	rc = otp_sq_wr_read_end(h, rc);
	*nblocks = rc ? 0 : k;
	return rc;
}

int otp_sq_abuse_read(struct otp_store *s, const struct otp_abuse_read *q,
		      struct otp_signal *sig, struct otp_block *blocks,
		      size_t *nblocks)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *w;
	*nblocks = 0;
	int rc = otp_sq_wr_read_begin(h, &w)
		     ? read_on_writer(h, w, q, sig, blocks, nblocks)
		     : read_apart(s, q, sig, blocks, nblocks);
	if (rc)
		memset(sig, 0, q->n * sizeof *sig);
	return rc;
}

int otp_sq_block_list(struct otp_store *s, struct otp_block *out, size_t max,
		      size_t *n)
{
	sqlite3_stmt *st = otp_sq_rd(s, ST_BLOCK_LIST);
	size_t k = 0;
	int rc = 0;
	*n = 0;
	if (max == 0)
		return 0;
	otp_sq_bind(st, "i", max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while (k < max && (rc = otp_sq_step(st)) == 1) {
		rc = copy_block(st, &out[k]);
		if (rc)
			break;
		k++;
	}
	otp_sq_done(st);
	if (rc < 0)
		return rc;
	*n = k;
	return 0;
}

int otp_sq_block_delete(struct otp_store *s, const char *key)
{
	return otp_sq_write(s, ST_BLOCK_DELETE, SQ_HIT, "g", key);
}
