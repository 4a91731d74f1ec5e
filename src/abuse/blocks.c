/* blocks.c - the standing blocks and allow entries a send meets, and the
 * placing of a new block with its growing TTL (abuse.h). Not here: which
 * rule blocks (rule_*.c), the store's rows (store.h block_*).
 */
#include <stdio.h>
#include <string.h>

#include "abuse/internal.h"

#define REPEAT_WINDOW_MS (30 * 86400000LL)
#define MAX_DOUBLINGS	 4 /* 12 h, 1 d, 2 d, 4 d, 8 d */
/* A scope where real users live (an accepted code in its 15 days) is
 * blocked for a quarter of the TTL (3 h), doubling on repeat as well:
 * the people it locks out pay for every hour, and an attack that goes on
 * is blocked again at once, for longer. */
#define KNOWN_DIVISOR 4

static bool live(const struct otp_block *b, int64_t now)
{
	return b->until_ms == 0 || now < b->until_ms;
}

void otp_blocks_judge(struct otp_block_hits *h, int64_t now)
{
	h->allowed = false;
	h->deny = -1;
	for (size_t i = 0; i < h->n; i++) {
		const struct otp_block *b = &h->rows[i];
		if (!live(b, now))
			continue;
		if (b->kind == OTP_BLOCK_ALLOW)
			h->allowed = true;
		else if (h->deny < 0 || b->until_ms > h->rows[h->deny].until_ms)
			h->deny = (int)i;
	}
}

int otp_blocks_put(const struct otp_abuse *a, struct otp_store *s,
		   const struct otp_block_hits *hits, const char *key,
		   const char *rule, bool known, int64_t now, int64_t *until_ms)
{
	struct otp_block b = {
	    .kind = OTP_BLOCK_DENY, .created_ms = now, .strikes = 1};
	for (size_t i = 0; i < hits->n; i++) {
		const struct otp_block *old = &hits->rows[i];
		if (strcmp(old->key, key) != 0 || old->kind != OTP_BLOCK_DENY)
			continue;
		if (old->until_ms && now - old->until_ms < REPEAT_WINDOW_MS)
			b.strikes = old->strikes + 1;
	}
	int doublings = b.strikes - 1;
	if (doublings > MAX_DOUBLINGS)
		doublings = MAX_DOUBLINGS;
	int64_t ttl = known ? a->block_ttl_ms / KNOWN_DIVISOR : a->block_ttl_ms;
	b.until_ms = now + (ttl << doublings);
	snprintf(b.key, sizeof b.key, "%s", key);
	snprintf(b.rule, sizeof b.rule, "%s", rule);
	*until_ms = b.until_ms;
	return otp_store_block_put(s, &b);
}
