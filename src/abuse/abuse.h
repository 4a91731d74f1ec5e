/* abuse.h - SMS pumping rules and the spend breaker: the check every send
 * passes once (engine/policy.c calls it), and what a send and an accepted
 * code add to the signals.
 *
 * A send is seen through its scopes: the destination's region (the ISO
 * region libphonenumber gives: +1 is US, CA, JM, ...), its number prefix
 * (calling code and --fraud-prefix-digits more), the client IP and its
 * network (/24, /64), the API key, and everything together. Each scope is
 * a signal key in the store (store.h: sends and verified codes by hour and
 * day, 14 days of daily history; the regions an IP sent to). The check:
 *
 *   allow list (--fraud-allow, otpctl fraud allow) -> pass
 *   a live block on any scope                      -> refuse (fraud_suspected)
 *   the spend caps (--spend-cap-hour/-day)         -> refuse (spend_limit)
 *   the rules, in table order (rules.c)            -> pass, step-up, refuse,
 *                                                     or block a scope
 *
 * A rule is a pure function of what the signals say (struct
 * otp_abuse_view): one file each (rule_*.c) and one row in rules.c.
 * --fraud monitor runs every rule and logs and counts what it would have
 * refused, and changes nothing; --fraud off skips the rules and the
 * signals (the spend caps still hold: they are the operator's budget).
 *
 * Threads: an otp_abuse is shared, read-only after init; each call takes
 * the calling thread's store handle.
 */
#ifndef OTP_ABUSE_ABUSE_H
#define OTP_ABUSE_ABUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "store/store.h"

enum otp_abuse_mode { OTP_ABUSE_OFF, OTP_ABUSE_MONITOR, OTP_ABUSE_ENFORCE };

/* The scopes of a send, each a signal key (and a block key) of its own. */
#define OTP_ABUSE_SCOPE_LIST(X)                                                \
	X(REGION, region, "r:") /* r:US */                                     \
	X(PREFIX, prefix, "p:") /* p:+1415 */                                  \
	X(IP, ip, "ip:")  /* ip:192.0.2.1 (set: the regions it sent to) */     \
	X(NET, net, "n:") /* n:192.0.2.0/24, n:2001:db8::/64 */                \
	X(KEY, key, "k:") /* k:<API key id> */                                 \
	X(ALL, all, "a:") /* a: everything */

enum otp_abuse_scope {
#define OTP_AS_ENUM_(up, low, pfx) OTP_AS_##up,
	OTP_ABUSE_SCOPE_LIST(OTP_AS_ENUM_)
#undef OTP_AS_ENUM_
	    OTP_ABUSE_SCOPES
};

/* "region", "prefix", ...: label values of the metrics and logs. */
extern const char *const otp_abuse_scope_names[OTP_ABUSE_SCOPES];

/* What the rules see of one send, before it is counted. */
struct otp_abuse_view {
	int64_t now;
	bool login; /* the login API (a step-up can be asked) */
	/* "" where the send has no such scope (no IP, no API key) */
	char key[OTP_ABUSE_SCOPES][OTP_SIGNAL_KEY_MAX];
	struct otp_signal sig[OTP_ABUSE_SCOPES];
	char region[3]; /* "US", or "ZZ" when libphonenumber names none */
	/* The prefix's sends refused by a rule (not a block), as counter
	 * OTP_SIG_SENT: traffic that goes on after a refusal. */
	struct otp_signal refused;
};

enum otp_abuse_action {
	OTP_AA_PASS,   /* nothing to say */
	OTP_AA_STEPUP, /* login API: a proof of work first (provider API:
			  passes, counted) */
	OTP_AA_REFUSE, /* refuse this one send */
	OTP_AA_BLOCK,  /* block the scope for --fraud-block-ttl, doubling on
			  repeat, and refuse */
};
#define OTP_ABUSE_ACTIONS 4
extern const char *const otp_abuse_action_names[OTP_ABUSE_ACTIONS];

/* A rule: what it says of one send. A rule that blocks names the scope
 * to block in *scope. */
struct otp_abuse_rule {
	const char *name; /* "prefix_conversion": its metric and log label */
	enum otp_abuse_action (*eval)(const struct otp_abuse_view *v,
				      enum otp_abuse_scope *scope);
};

/* The default rule table (rules.c), in the order they are asked: the
 * first rule that does not pass decides. */
extern const struct otp_abuse_rule *const otp_abuse_rules[];
extern const size_t otp_abuse_nrules;

struct otp_abuse;

/* From the config: the mode, the allow list, the prices (--spend-prices,
 * read now) and caps. 0, or OTP_EVALUE with why in err. */
int otp_abuse_new(const struct otp_config *cfg, struct otp_abuse **out,
		  char *err, size_t errlen);
void otp_abuse_free(struct otp_abuse *a);

/* Replaces the rule table (the simulator's baseline rule sets). */
void otp_abuse_set_rules(struct otp_abuse *a,
			 const struct otp_abuse_rule *const *rules, size_t n);

enum otp_abuse_mode otp_abuse_mode(const struct otp_abuse *a);

/* One send as the check sees it. */
struct otp_abuse_send {
	const char *phone; /* E.164 */
	/* its keyed tag (engine/crypto.h otp_phone_tag): how an allow entry
	 * or a block of the whole number names it in the store ("e:" and
	 * the tag; a phone is never stored in clear) */
	const char *phone_tag;
	const char *ip;	    /* or NULL */
	const char *key_id; /* provider API, or NULL */
	int segments;	    /* SMS segments its text takes */
	int64_t now;
	/* login API: a proof of work came with the send and was found
	 * good (abuse/pow.h): a step-up passes */
	bool pow_ok;
};

/* What the send adds if it goes (into struct otp_issue), and how a
 * refusal is answered. */
#define OTP_ABUSE_ADDS (OTP_ABUSE_SCOPES + 2)
struct otp_abuse_out {
	struct otp_signal_add adds[OTP_ABUSE_ADDS];
	size_t nadds;
	char credit[OTP_CREDIT_MAX]; /* for struct otp_code_new */
	int64_t retry_after_s;	     /* with a refusal */
	const char *rule;	     /* the rule or block that decided, or
					NULL */
};

/* Decides one send: 0 (out->adds to commit with it), OTP_EFRAUD (a block
 * or a rule refused it), OTP_ESTEPUP (login API: a proof of work is
 * wanted), OTP_ESPEND (a cap is reached; out->retry_after_s), or a store
 * error. Every refusal and block is counted and logged here. */
int otp_abuse_check(struct otp_abuse *a, struct otp_store *s,
		    const struct otp_abuse_send *in, struct otp_abuse_out *out);

/* What a send adds when the rules are off or it is not local (upstream
 * mode: the caller adds them after the upstream answered). */
int otp_abuse_commit(struct otp_store *s, const struct otp_abuse_out *out,
		     int64_t now);

/* Credits an accepted code whose store did not (upstream mode): the
 * credit keys of phone, ip and key_id. */
int otp_abuse_credit(struct otp_abuse *a, struct otp_store *s,
		     const char *phone, const char *ip, const char *key_id,
		     int64_t now);

/* otpd_fraud_decisions_total, for /metrics (counters.c). */
void otp_abuse_metrics_write(FILE *f);

#endif
