/* fraud.c - otpctl's commands for the abuse rules and the spend breaker:
 * fraud list (the blocks and allow entries the store holds), fraud
 * unblock KEY, fraud allow VALUE (a number, a prefix, a region, an
 * address or range, an API key: never refused by the rules from now on,
 * in every otpd on the store), and spend (the last hour's and 24 hours'
 * spend, in all and by region, against the caps).
 *
 * Keys are the rules' scope keys (abuse/abuse.h): "p:+1415", "r:NG",
 * "ip:192.0.2.1", "n:192.0.2.0/24", "k:<key id>", "e:<keyed tag>"; a whole
 * number is shown masked. Not here: the rules (src/abuse/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuse/abuse.h"
#include "abuse/lists.h"
#include "core/cidr.h"
#include "core/err.h"
#include "core/phone.h"
#include "ctl/ctl.h"
#include "engine/policy.h"

#define LIST_MAX 1000

/* A whole number's row: "e:" and its keyed tag (the store never holds
 * a phone in clear), and in its rule, what a person may read of it. */
#define WHOLE_RULE "otpctl "

/* A key as a person may read it: a whole number as its rule says it
 * (masked), or its tag. */
static void shown(const struct otp_block *b, char out[OTP_SIGNAL_KEY_MAX])
{
	size_t n = strlen(WHOLE_RULE);
	if (strncmp(b->key, "e:", 2) == 0 &&
	    strncmp(b->rule, WHOLE_RULE, n) == 0)
		snprintf(out, OTP_SIGNAL_KEY_MAX, "e:%s", b->rule + n);
	else
		snprintf(out, OTP_SIGNAL_KEY_MAX, "%s", b->key);
}

int otp_ctl_fraud_list(const struct otp_ctl_env *e, json_t *args, json_t **data,
		       char *err, size_t errlen)
{
	(void)args;
	struct otp_block *rows = calloc(LIST_MAX, sizeof *rows);
	size_t n = 0;
	if (!rows)
		return otp_ctl_failed(OTP_EINTERNAL, err, errlen);
	int rc = otp_store_block_list(e->store, rows, LIST_MAX, &n);
	if (rc < 0) {
		free(rows);
		return otp_ctl_failed(rc, err, errlen);
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct otp_block *b = &rows[i];
		char key[OTP_SIGNAL_KEY_MAX];
		bool live = b->until_ms == 0 || e->now < b->until_ms;
		shown(b, key);
		json_array_append_new(
		    list,
		    json_pack("{sssssssbsIsIsi}", "key", key, "kind",
			      b->kind == OTP_BLOCK_ALLOW ? "allow" : "block",
			      "rule", b->rule, "live", live, "created_ms",
			      (json_int_t)b->created_ms, "until_ms",
			      (json_int_t)b->until_ms, "strikes", b->strikes));
	}
	free(rows);
	*data = json_pack("{so}", "entries", list);
	return 0;
}

int otp_ctl_fraud_unblock(const struct otp_ctl_env *e, json_t *args,
			  json_t **data, char *err, size_t errlen)
{
	const char *key = json_string_value(json_object_get(args, "key"));
	if (!key || !key[0] || strlen(key) >= OTP_SIGNAL_KEY_MAX) {
		snprintf(err, errlen,
			 "give a key as fraud list shows it: p:+1415");
		return 2;
	}
	int rc = otp_store_block_delete(e->store, key);
	return otp_ctl_changed(rc, "block or allow entry", key, "removed", data,
			       err, errlen);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The scope key an allow VALUE names, into key: 0, or 2 with why. */
static int allow_key(const struct otp_ctl_env *e, const char *v,
		     struct otp_block *b, char *err, size_t errlen)
{
	char *key = b->key;
	long digits = e->cfg->fraud_prefix_digits;
	char cc[4], e164[OTP_PHONE_MAX];
	struct otp_cidr_list l;
	if (v[0] == '+' && all_digits(v + 1)) {
		size_t ccn = otp_phone_calling_code(v, cc);
		if (ccn && strlen(v) == 1 + ccn + (size_t)digits) {
			snprintf(key, OTP_SIGNAL_KEY_MAX, "p:%s", v);
			return 0;
		}
		if (otp_policy_phone(e->cfg, v, strlen(v), false, e164) == 0) {
			char tag[OTP_PHONE_TAG_LEN + 1], masked[OTP_PHONE_MAX];
			if (!e->ring->cur) {
				snprintf(err, errlen, "%s", e->no_secret);
				return 1;
			}
			otp_phone_tag(e->ring->cur, e164, tag);
			otp_phone_mask(e164, masked);
			snprintf(key, OTP_SIGNAL_KEY_MAX, "e:%s", tag);
			snprintf(b->rule, sizeof b->rule, WHOLE_RULE "%s",
				 masked);
			return 0;
		}
		snprintf(err, errlen,
			 "%s is neither a whole number nor a prefix of "
			 "--fraud-prefix-digits %ld digits after the calling "
			 "code",
			 v, digits);
		return 2;
	}
	if (strlen(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' &&
	    v[1] <= 'Z') {
		snprintf(key, OTP_SIGNAL_KEY_MAX, "r:%s", v);
		return 0;
	}
	if (strncmp(v, "key:", 4) == 0 && strlen(v) == 4 + OTP_KEY_ID_LEN) {
		snprintf(key, OTP_SIGNAL_KEY_MAX, "k:%s", v + 4);
		return 0;
	}
	if (strlen(v) < 48 && otp_cidr_parse(v, &l, NULL) == 0 && l.n == 1) {
		bool net = strchr(v, '/') != NULL;
		snprintf(key, OTP_SIGNAL_KEY_MAX, "%s%s",
			 net ? "n:" : "ip:", v);
		return 0;
	}
	snprintf(err, errlen,
		 "give +NUMBER, +PREFIX, a region (NG), an address, a /24 or "
		 "/64 network, or key:ID");
	return 2;
}

int otp_ctl_fraud_allow(const struct otp_ctl_env *e, json_t *args,
			json_t **data, char *err, size_t errlen)
{
	const char *v = json_string_value(json_object_get(args, "value"));
	struct otp_block b = {.kind = OTP_BLOCK_ALLOW, .created_ms = e->now};
	char key[OTP_SIGNAL_KEY_MAX];
	if (!v || !v[0]) {
		snprintf(err, errlen, "give what to allow: +1415, NG, ...");
		return 2;
	}
	snprintf(b.rule, sizeof b.rule, "otpctl");
	int st = allow_key(e, v, &b, err, errlen);
	if (st)
		return st;
	int rc = otp_store_block_put(e->store, &b);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	shown(&b, key);
	*data = json_pack("{ss}", "allowed", key);
	return 0;
}

/* The spend windows of "$:" and of every region: a region's key is
 * "$:" and its two letters (abuse/internal.h). */
#define REGIONS	   (26 * 26)
#define READ_BATCH 16 /* keys a read takes at once (Redis: one script) */

static json_t *money(int64_t micro)
{
	return json_real((double)micro / OTP_MONEY_UNIT);
}

int otp_ctl_spend(const struct otp_ctl_env *e, json_t *args, json_t **data,
		  char *err, size_t errlen)
{
	(void)args;
	char(*names)[8] = calloc(REGIONS + 1, sizeof *names);
	const char **keys = calloc(REGIONS + 1, sizeof *keys);
	struct otp_signal *sig = calloc(REGIONS + 1, sizeof *sig);
	struct otp_caps hour, day;
	char why[160];
	if (!sig || !keys || !names) {
		free(sig), free(keys), free(names);
		return otp_ctl_failed(OTP_EINTERNAL, err, errlen);
	}
	if (otp_caps_parse(e->cfg->spend_cap_hour, &hour, why, sizeof why) <
		0 ||
	    otp_caps_parse(e->cfg->spend_cap_day, &day, why, sizeof why) < 0)
		memset(&hour, 0, sizeof hour), memset(&day, 0, sizeof day);
	snprintf(names[0], sizeof names[0], "$:");
	keys[0] = names[0];
	for (int i = 0; i < REGIONS; i++) {
		snprintf(names[i + 1], sizeof names[i + 1], "$:%c%c",
			 'A' + i / 26, 'A' + i % 26);
		keys[i + 1] = names[i + 1];
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < REGIONS + 1; i += READ_BATCH) {
		size_t n =
		    REGIONS + 1 - i < READ_BATCH ? REGIONS + 1 - i : READ_BATCH;
		rc = otp_store_signal_read(e->store, keys + i, NULL, n, e->now,
					   sig + i);
	}
	if (rc < 0) {
		free(sig), free(keys), free(names);
		return otp_ctl_failed(rc, err, errlen);
	}
	json_t *regions = json_array();
	for (int i = 1; i <= REGIONS; i++) {
		const struct otp_signal_window *w = &sig[i].w[OTP_SIG_SENT];
		const char *r = names[i] + 2;
		if (!w->day && !otp_caps_region(&hour, r) &&
		    !otp_caps_region(&day, r))
			continue;
		json_array_append_new(
		    regions,
		    json_pack("{sssososo}", "region", r, "hour", money(w->hour),
			      "day", money(w->day), "cap_hour",
			      money(otp_caps_region(&hour, r)), "cap_day",
			      money(otp_caps_region(&day, r))));
	}
	const struct otp_signal_window *all = &sig[0].w[OTP_SIG_SENT];
	*data = json_pack("{sososososo}", "hour", money(all->hour), "day",
			  money(all->day), "cap_hour", money(hour.all),
			  "cap_day", money(day.all), "regions", regions);
	free(sig), free(keys), free(names);
	return 0;
}
