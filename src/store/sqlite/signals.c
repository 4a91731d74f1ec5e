/* signals.c - STUB (to be replaced): the abuse signals and blocks. */
#include "store/sqlite/sqlite.h"

#include "core/err.h"

int otp_sq_signal_add(struct otp_store *s, const struct otp_signal_add *adds,
		      size_t n, int64_t now)
{
	(void)s, (void)adds, (void)n, (void)now;
	return 0;
}

int otp_sq_signal_read(struct otp_store *s, const char *const *keys, size_t n,
		       int64_t now, struct otp_signal *out)
{
	(void)s, (void)keys, (void)now;
	memset(out, 0, n * sizeof *out);
	return 0;
}

int otp_sq_block_put(struct otp_store *s, const struct otp_block *b)
{
	(void)s, (void)b;
	return 0;
}

int otp_sq_block_find(struct otp_store *s, const char *const *keys, size_t n,
		      struct otp_block *out, size_t *nout)
{
	(void)s, (void)keys, (void)n, (void)out;
	*nout = 0;
	return 0;
}

int otp_sq_block_list(struct otp_store *s, struct otp_block *out, size_t max,
		      size_t *n)
{
	(void)s, (void)out, (void)max;
	*n = 0;
	return 0;
}

int otp_sq_block_delete(struct otp_store *s, const char *key)
{
	(void)s, (void)key;
	return OTP_ENOTFOUND;
}
