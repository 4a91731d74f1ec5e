/* sigbatch.c - the open batch's signal sums (sigbatch.h): an
 * open-addressed table of the keys it has added to, each with a sum per
 * hour, and the running operation's staged adds beside it.
 */
#include "store/sqlite/sigbatch.h"

#include <stdlib.h>
#include <string.h>

#define KEYS  512  /* keys one batch sums; more are written at once */
#define SLOTS 1024 /* the table's slots: a power of two, twice KEYS */
#define SUMS  OTP_SQ_SIGBATCH_HOURS /* a batch spans a moment */
#define STAGE 16 /* adds one operation stages (a send makes 5) */

_Static_assert((SLOTS & (SLOTS - 1)) == 0 && SLOTS >= 2 * KEYS,
	       "a table at most half full");

struct key_sums {
	char key[OTP_SIGNAL_KEY_MAX];
	int nsums;
	struct otp_sq_sigsum sum[SUMS];
};

struct staged {
	char key[OTP_SIGNAL_KEY_MAX];
	struct otp_sq_sigsum sum;
};

struct otp_sq_sigbatch {
	int nkeys, nstaged;
	unsigned short slot[SLOTS]; /* 1 + index into keys; 0: free */
	struct key_sums keys[KEYS];
	struct staged staged[STAGE];
};

struct otp_sq_sigbatch *otp_sq_sigbatch_new(void)
{
	struct otp_sq_sigbatch *b = calloc(1, sizeof *b);
	if (!b)
		abort();
	return b;
}

void otp_sq_sigbatch_free(struct otp_sq_sigbatch *b)
{
	free(b);
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The index of key in keys, or -1; *at is its slot, or the free slot
 * where it would go. */
static int find(const struct otp_sq_sigbatch *b, const char *key, unsigned *at)
{
	unsigned i = hash(key) & (SLOTS - 1);
	for (; b->slot[i]; i = (i + 1) & (SLOTS - 1)) {
		int k = b->slot[i] - 1;
		if (strcmp(b->keys[k].key, key) == 0) {
			*at = i;
			return k;
		}
	}
	*at = i;
	return -1;
}

static struct otp_sq_sigsum *sum_of(struct key_sums *k, int64_t hour)
{
	for (int i = 0; i < k->nsums; i++)
		if (k->sum[i].hour == hour)
			return &k->sum[i];
	return NULL;
}

bool otp_sq_sigbatch_add(struct otp_sq_sigbatch *b, const char *key,
			 int64_t hour, int64_t day,
			 const int64_t n[OTP_SIG_COUNTERS])
{
	size_t len = strnlen(key, OTP_SIGNAL_KEY_MAX);
	if (b->nstaged == STAGE || len == OTP_SIGNAL_KEY_MAX)
		return false;
	/* Room for it when the operation is kept (op_end cannot fail):
	 * every staged add may need a key of its own, and a key's hours. */
	int same = 0;
	for (int i = 0; i < b->nstaged; i++)
		same += strcmp(b->staged[i].key, key) == 0;
	unsigned at;
	int k = find(b, key, &at);
	if (k < 0
		? b->nkeys + b->nstaged >= KEYS || same >= SUMS
		: !sum_of(&b->keys[k], hour) && b->keys[k].nsums + same >= SUMS)
		return false;
	struct staged *s = &b->staged[b->nstaged++];
	memcpy(s->key, key, len + 1);
	s->sum.hour = hour;
	s->sum.day = day;
	memcpy(s->sum.n, n, sizeof s->sum.n);
	return true;
}

void otp_sq_sigbatch_op_end(struct otp_sq_sigbatch *b, bool kept)
{
	for (int i = 0; kept && i < b->nstaged; i++) {
		const struct staged *s = &b->staged[i];
		unsigned at;
		int k = find(b, s->key, &at);
		if (k < 0) {
			k = b->nkeys++;
			memcpy(b->keys[k].key, s->key, sizeof s->key);
			b->keys[k].nsums = 0;
			b->slot[at] = (unsigned short)(k + 1);
		}
		struct key_sums *ks = &b->keys[k];
		struct otp_sq_sigsum *sum = sum_of(ks, s->sum.hour);
		if (!sum) {
			sum = &ks->sum[ks->nsums++];
			*sum = s->sum;
			continue;
		}
		for (int c = 0; c < OTP_SIG_COUNTERS; c++)
			sum->n[c] += s->sum.n[c];
	}
	b->nstaged = 0;
}

int otp_sq_sigbatch_pending(const struct otp_sq_sigbatch *b, const char *key,
			    struct otp_sq_sigsum *out, int max)
{
	unsigned at;
	int k = b->nkeys ? find(b, key, &at) : -1;
	if (k < 0)
		return 0;
	int n = b->keys[k].nsums < max ? b->keys[k].nsums : max;
	memcpy(out, b->keys[k].sum, (size_t)n * sizeof *out);
	return n;
}

int otp_sq_sigbatch_each(const struct otp_sq_sigbatch *b,
			 int (*write)(void *arg, const char *key,
				      const struct otp_sq_sigsum *sum),
			 void *arg)
{
	int rc = 0;
	for (int k = 0; k < b->nkeys && rc == 0; k++)
		for (int i = 0; i < b->keys[k].nsums && rc == 0; i++)
			rc = write(arg, b->keys[k].key, &b->keys[k].sum[i]);
	return rc;
}

void otp_sq_sigbatch_clear(struct otp_sq_sigbatch *b)
{
	if (b->nkeys)
		memset(b->slot, 0, sizeof b->slot);
	b->nkeys = 0;
	b->nstaged = 0;
}
