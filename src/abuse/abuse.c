/* abuse.c - the check every send passes (abuse.h): allow list, standing
 * blocks, spend caps, then the rule table; what a send adds to the
 * signals; and the decisions' logs. Not here: the rules (rule_*.c), the
 * blocks' TTL (blocks.c), the caps (spend.c), the counters (counters.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuse/internal.h"
#include "abuse/scopes.h"
#include "core/err.h"
#include "core/log.h"
#include "core/phone.h"

/* A rule's refusal of one send (no block) heals when the signals do: the
 * client is told to come back after this long. */
#define REFUSE_RETRY_S 600

int otp_abuse_new(const struct otp_config *cfg, struct otp_abuse **out,
		  char *err, size_t errlen)
{
	struct otp_abuse *a = calloc(1, sizeof *a);
	int rc;
	*out = NULL;
	if (!a)
		return OTP_EINTERNAL;
	const char *m = cfg->fraud ? cfg->fraud : "enforce";
	a->mode = strcmp(m, "off") == 0	      ? OTP_ABUSE_OFF
		  : strcmp(m, "monitor") == 0 ? OTP_ABUSE_MONITOR
					      : OTP_ABUSE_ENFORCE;
	a->prefix_digits =
	    cfg->fraud_prefix_digits > 0 ? (int)cfg->fraud_prefix_digits : 3;
	a->block_ttl_ms =
	    (cfg->fraud_block_ttl > 0 ? cfg->fraud_block_ttl : 43200) * 1000LL;
	a->rules = otp_abuse_rules;
	a->nrules = otp_abuse_nrules;
	if ((rc = otp_allow_parse(cfg->fraud_allow ? cfg->fraud_allow : "",
				  &a->allow, err, errlen)) < 0 ||
	    (rc = otp_caps_parse(cfg->spend_cap_hour ? cfg->spend_cap_hour : "",
				 &a->cap_hour, err, errlen)) < 0 ||
	    (rc = otp_caps_parse(cfg->spend_cap_day ? cfg->spend_cap_day : "",
				 &a->cap_day, err, errlen)) < 0 ||
	    (rc = otp_prices_load(cfg->spend_prices, &a->prices, err, errlen)) <
		0) {
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void otp_abuse_free(struct otp_abuse *a)
{
	free(a);
}

void otp_abuse_set_rules(struct otp_abuse *a,
			 const struct otp_abuse_rule *const *rules, size_t n)
{
	a->rules = rules;
	a->nrules = n;
}

enum otp_abuse_mode otp_abuse_mode(const struct otp_abuse *a)
{
	return a ? a->mode : OTP_ABUSE_OFF;
}

static bool has_caps(const struct otp_abuse *a)
{
	return a->cap_hour.all || a->cap_hour.n || a->cap_day.all ||
	       a->cap_day.n;
}

/* A block key for a log: a prefix keeps what a masked phone keeps. */
static void log_key(const char *key, char out[OTP_SIGNAL_KEY_MAX])
{
	snprintf(out, OTP_SIGNAL_KEY_MAX, "%s", key);
	if (strncmp(key, "p:", 2) == 0 || strncmp(key, "e:", 2) == 0)
		for (size_t i = 7; out[i]; i++) /* "p:+" and 4 digits */
			out[i] = '*';
}

static void log_decision(const char *rule, enum otp_abuse_action act,
			 enum otp_abuse_mode mode, enum otp_abuse_scope sc,
			 const struct otp_abuse_view *v, const char *phone,
			 int64_t until_ms)
{
	char masked[OTP_PHONE_MAX], key[OTP_SIGNAL_KEY_MAX];
	char num[OTP_LOG_NUM_LEN];
	otp_phone_mask(phone, masked);
	log_key(v->key[sc], key);
	otp_log(OTP_LOG_WARN,
		mode == OTP_ABUSE_MONITOR ? "fraud: would refuse (monitor)"
					  : "fraud: send refused",
		"rule", rule, "action", otp_abuse_action_names[act], "scope",
		otp_abuse_scope_names[sc], "key", key, "to", masked, "region",
		v->region, "#until_s",
		until_ms ? otp_log_num(num, until_ms / 1000) : NULL, NULL);
}

/* The spend cap's log: once per hour window in this process. */
static void log_spend(const char *region, int64_t now)
{
	static _Atomic int64_t last_hour = -1;
	int64_t hour = now / 3600000;
	int64_t seen = atomic_exchange(&last_hour, hour);
	if (seen != hour)
		otp_log(OTP_LOG_WARN,
			"spend cap reached: sends refused until "
			"the window has room",
			"region", region, NULL);
}

/* What the send adds if it goes: one send on every scope (the IP's set
 * gets the region), and its cost on the spend keys. */
static void adds_of(const struct otp_abuse_view *v, bool rules, int64_t cost,
		    struct otp_abuse_out *out)
{
	for (int sc = 0; rules && sc < OTP_ABUSE_SCOPES; sc++) {
		if (!v->key[sc][0])
			continue;
		struct otp_signal_add *ad = &out->adds[out->nadds++];
		snprintf(ad->key, sizeof ad->key, "%s", v->key[sc]);
		ad->n[OTP_SIG_SENT] = 1;
		if (sc == OTP_AS_IP)
			snprintf(ad->member, sizeof ad->member, "%s",
				 v->region);
	}
	struct otp_signal_add *all = &out->adds[out->nadds++];
	snprintf(all->key, sizeof all->key, "%s", OTP_SPEND_ALL);
	all->n[OTP_SIG_SENT] = cost;
	struct otp_signal_add *reg = &out->adds[out->nadds++];
	snprintf(reg->key, sizeof reg->key, "%s%s", OTP_SPEND_ALL, v->region);
	reg->n[OTP_SIG_SENT] = cost;
	if (rules)
		otp_abuse_credit_of(v, out->credit);
}

/* One refused send of scope key, as evidence ("x:" and the key): a rule's
 * refusal, or a send a block of the prefix turned away. */
static int add_refused(struct otp_store *s, const char *key, int64_t now)
{
	struct otp_signal_add x = {.n = {1, 0}};
	snprintf(x.key, sizeof x.key, "x:%.50s", key);
	return otp_store_signal_add(s, &x, 1, now);
}

/* The strongest answer of the table, and the first rule that gave it. */
static enum otp_abuse_action ask_rules(const struct otp_abuse *a,
				       const struct otp_abuse_view *v,
				       const char **rule,
				       enum otp_abuse_scope *scope)
{
	enum otp_abuse_action best = OTP_AA_PASS;
	for (size_t i = 0; i < a->nrules; i++) {
		enum otp_abuse_scope sc = OTP_AS_ALL;
		enum otp_abuse_action act = a->rules[i]->eval(v, &sc);
		if (act > best) {
			best = act;
			*rule = a->rules[i]->name;
			*scope = sc;
		}
	}
	return best;
}

/* The rules' answer, acted on: 0 to let the send go. */
static int decide(const struct otp_abuse *a, struct otp_store *s,
		  const struct otp_abuse_send *in,
		  const struct otp_abuse_view *v,
		  const struct otp_block_hits *hits, struct otp_abuse_out *out)
{
	const char *rule = NULL;
	enum otp_abuse_scope sc = OTP_AS_ALL;
	enum otp_abuse_action act = ask_rules(a, v, &rule, &sc);
	int64_t until = 0;
	if (act == OTP_AA_PASS)
		return 0;
	if (act == OTP_AA_STEPUP && (!v->login || in->pow_ok)) {
		/* the provider API has no one to ask; a solved one passes */
		otp_abuse_count(rule, OTP_AA_PASS, a->mode);
		return 0;
	}
	out->rule = rule;
	otp_abuse_count(rule, act, a->mode);
	if (a->mode == OTP_ABUSE_MONITOR) {
		log_decision(rule, act, a->mode, sc, v, in->phone, 0);
		return 0;
	}
	if (act == OTP_AA_BLOCK && v->key[sc][0]) {
		const struct otp_signal *g = &v->sig[sc];
		bool known = g->w[OTP_SIG_VERIFIED].day_max > 0 ||
			     g->w[OTP_SIG_VERIFIED].day > 0;
		int rc = otp_blocks_put(a, s, hits, v->key[sc], rule, known,
					in->now, &until);
		if (rc < 0)
			return rc;
	}
	/* A refusal is evidence too, kept apart ("x:" and the scope's key):
	 * traffic that goes on being refused is blocked (v->refused), while
	 * a refusal that healed (its people typed their codes) soon stops
	 * counting. */
	if (act == OTP_AA_REFUSE && v->key[sc][0]) {
		int rc = add_refused(s, v->key[sc], in->now);
		if (rc < 0)
			return rc;
	}
	log_decision(rule, act, a->mode, sc, v, in->phone, until);
	if (act == OTP_AA_STEPUP)
		return OTP_ESTEPUP;
	out->retry_after_s =
	    until ? (until - in->now + 999) / 1000 : REFUSE_RETRY_S;
	return OTP_EFRAUD;
}

int otp_abuse_check(struct otp_abuse *a, struct otp_store *s,
		    const struct otp_abuse_send *in, struct otp_abuse_out *out)
{
	struct otp_abuse_view v;
	const char *keys[OTP_ABUSE_SCOPES + 3]; /* scopes, "x:", spend */
	const char *members[OTP_ABUSE_SCOPES + 3];
	struct otp_signal sig[OTP_ABUSE_SCOPES + 3];
	struct otp_block_hits hits = {.deny = -1};
	size_t nkeys = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (!a)
		return 0;
	bool rules = a->mode != OTP_ABUSE_OFF;
	if (!rules && !has_caps(a))
		return 0; /* nothing to count, nothing to check */
	memset(&v, 0, sizeof v);
	v.now = in->now;
	v.login = !in->key_id;
	otp_abuse_scopes(in->phone, in->ip, in->key_id, a->prefix_digits, &v);
	int64_t cost = otp_prices_region(&a->prices, v.region) *
		       (in->segments > 0 ? in->segments : 1);
	adds_of(&v, rules, cost, out);

	/* one read: the scopes', then the two spend keys (adds_of's last) */
	int first[OTP_ABUSE_SCOPES];
	for (int sc = 0; sc < OTP_ABUSE_SCOPES; sc++) {
		first[sc] = -1;
		if (rules && v.key[sc][0]) {
			first[sc] = (int)nkeys;
			/* has the IP sent to this region before? */
			members[nkeys] = sc == OTP_AS_IP ? v.region : "";
			keys[nkeys++] = v.key[sc];
		}
	}
	char refused[OTP_SIGNAL_KEY_MAX];
	int xi = -1;
	if (rules) {
		snprintf(refused, sizeof refused, "x:%.50s",
			 v.key[OTP_AS_PREFIX]);
		xi = (int)nkeys;
		members[nkeys] = "";
		keys[nkeys++] = refused;
	}
	/* the blocks of the scopes (not "x:" nor spend) and the number's */
	const char *bkeys[OTP_ABUSE_SCOPES + 1];
	char whole[OTP_SIGNAL_KEY_MAX];
	size_t nb = 0;
	if (rules) {
		for (size_t i = 0; i + 1 < nkeys; i++)
			bkeys[nb++] = keys[i];
		snprintf(whole, sizeof whole, "e:%s",
			 in->phone_tag ? in->phone_tag : "");
		bkeys[nb++] = whole;
	}
	members[nkeys] = members[nkeys + 1] = "";
	keys[nkeys++] = out->adds[out->nadds - 2].key;
	keys[nkeys++] = out->adds[out->nadds - 1].key;
	/* one call, one round trip on Redis: the signals and the blocks */
	const struct otp_abuse_read q = {
	    .keys = keys,
	    .members = members,
	    .n = nkeys,
	    .block_keys = bkeys,
	    .nblock = nb,
	    .now = in->now,
	};
	rc = otp_store_abuse_read(s, &q, sig, hits.rows, &hits.n);
	if (rc < 0)
		return rc;
	for (int sc = 0; sc < OTP_ABUSE_SCOPES; sc++)
		if (first[sc] >= 0)
			v.sig[sc] = sig[first[sc]];
	if (xi >= 0)
		v.refused = sig[xi];

	bool allowed = false;
	if (rules) {
		otp_blocks_judge(&hits, in->now);
		allowed = hits.allowed || otp_allow_has(&a->allow, in->phone,
							in->ip, in->key_id);
		if (allowed) {
			otp_abuse_count("allow", OTP_AA_PASS, a->mode);
		} else if (hits.deny >= 0) {
			const struct otp_block *b = &hits.rows[hits.deny];
			otp_abuse_count("block", OTP_AA_REFUSE, a->mode);
			if (a->mode == OTP_ABUSE_ENFORCE &&
			    strcmp(b->key, v.key[OTP_AS_PREFIX]) == 0 &&
			    (rc = add_refused(s, v.key[OTP_AS_PREFIX],
					      in->now)) < 0)
				return rc;
			if (a->mode == OTP_ABUSE_ENFORCE) {
				out->rule = "block";
				out->retry_after_s =
				    b->until_ms
					? (b->until_ms - in->now + 999) / 1000
					: 86400;
				return OTP_EFRAUD;
			}
		}
	}
	rc = otp_spend_check(a, v.region, cost, &sig[nkeys - 2],
			     &sig[nkeys - 1], in->now, &out->retry_after_s);
	if (rc < 0) {
		otp_abuse_count("spend_cap", OTP_AA_REFUSE, OTP_ABUSE_ENFORCE);
		log_spend(v.region, in->now);
		out->rule = "spend_cap";
		return rc;
	}
	if (!rules || allowed)
		return 0;
	return decide(a, s, in, &v, &hits, out);
}

int otp_abuse_commit(struct otp_store *s, const struct otp_abuse_out *out,
		     int64_t now)
{
	if (!out->nadds)
		return 0;
	return otp_store_signal_add(s, out->adds, out->nadds, now);
}

int otp_abuse_credit(struct otp_abuse *a, struct otp_store *s,
		     const char *phone, const char *ip, const char *key_id,
		     int64_t now)
{
	struct otp_abuse_view v;
	struct otp_signal_add adds[OTP_ABUSE_SCOPES];
	size_t n = 0;
	if (!a || a->mode == OTP_ABUSE_OFF)
		return 0;
	memset(&v, 0, sizeof v);
	otp_abuse_scopes(phone, ip, key_id, a->prefix_digits, &v);
	memset(adds, 0, sizeof adds);
	for (int sc = 0; sc < OTP_ABUSE_SCOPES; sc++) {
		if (!v.key[sc][0])
			continue;
		snprintf(adds[n].key, sizeof adds[n].key, "%s", v.key[sc]);
		adds[n++].n[OTP_SIG_VERIFIED] = 1;
	}
	return otp_store_signal_add(s, adds, n, now);
}
