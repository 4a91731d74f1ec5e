/* internal.h - the abuse module's object and its parts' functions
 * (abuse.c, blocks.c, spend.c, counters.c). Not for outside src/abuse/.
 */
#ifndef OTP_ABUSE_INTERNAL_H
#define OTP_ABUSE_INTERNAL_H

#include "abuse/abuse.h"
#include "abuse/lists.h"

struct otp_abuse {
	enum otp_abuse_mode mode;
	int prefix_digits;
	int64_t block_ttl_ms;
	struct otp_allow allow;
	struct otp_caps cap_hour, cap_day;
	struct otp_prices prices;
	const struct otp_abuse_rule *const *rules;
	size_t nrules;
};

/* Spend keys: "$:" (all) and "$:US". */
#define OTP_SPEND_ALL "$:"

/* The spend check of a send costing `cost` to `region`, from the windows
 * of "$:" (all) and "$:<region>": 0 or OTP_ESPEND with *retry_after_s. */
int otp_spend_check(const struct otp_abuse *a, const char *region, int64_t cost,
		    const struct otp_signal *all, const struct otp_signal *reg,
		    int64_t now, int64_t *retry_after_s);

/* The block rows a send meets (rows and n as the store's abuse_read
 * gave them): is one a live allow entry (allowed), which live deny entry
 * refuses (its index into rows, or -1). */
struct otp_block_hits {
	struct otp_block rows[OTP_ABUSE_SCOPES + 1];
	size_t n;
	bool allowed;
	int deny; /* index into rows of a live deny, or -1 */
};
/* Sets h's allowed and deny from its rows, live at now. */
void otp_blocks_judge(struct otp_block_hits *h, int64_t now);

/* Blocks key for a's TTL (a quarter of it for a scope with users,
 * `known`), doubled for each strike within 30 days that rows (from
 * abuse_read) record; *until_ms gets its end. */
int otp_blocks_put(const struct otp_abuse *a, struct otp_store *s,
		   const struct otp_block_hits *hits, const char *key,
		   const char *rule, bool known, int64_t now,
		   int64_t *until_ms);

/* Counts one decision (counters.c): rule (a rule's name, "block" for a
 * standing block, "spend_cap", "allow"), action, mode. */
void otp_abuse_count(const char *rule, enum otp_abuse_action action,
		     enum otp_abuse_mode mode);

#endif
