/* users.c - otpctl's commands about one person's phone: session revoke
 * (log them out everywhere: the store's session_revoke_phone; through the
 * running otpd its session cache drops them too) and phone show (the
 * phone's hourly ceiling as the store holds it, and its last messages with
 * their codes' states), masked.
 *
 * Both need otpd's secret: the store keeps phones sealed and limits under
 * the phone's keyed tag. Not shown: the phone's other limits (per session,
 * key or client IP, and the cooldown), whose keys name a session or an
 * address that the phone does not give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/phone.h"
#include "ctl/ctl.h"
#include "engine/policy.h"

#define SHOW_SENDS 10
#define SCAN_MAX   100000

int otp_ctl_phone_arg(const struct otp_ctl_env *e, json_t *args,
		      char out[OTP_PHONE_MAX], char *err, size_t errlen)
{
	const char *p = json_string_value(json_object_get(args, "phone"));
	if (!p || !p[0]) {
		snprintf(err, errlen, "give a phone: +14155550100");
		return 2;
	}
	int rc = otp_policy_phone(e->cfg, p, strlen(p), false, out);
	if (rc < 0) {
		snprintf(err, errlen, "not a phone number: %s",
			 otp_err_message(rc));
		return 2;
	}
	if (!e->ring->cur) {
		snprintf(err, errlen, "%s", e->no_secret);
		return 1;
	}
	return 0;
}

int otp_ctl_session_revoke(const struct otp_ctl_env *e, json_t *args,
			   json_t **data, char *err, size_t errlen)
{
	char phone[OTP_PHONE_MAX], masked[OTP_PHONE_MAX];
	int st = otp_ctl_phone_arg(e, args, phone, err, errlen);
	if (st)
		return st;
	long n = 0;
	int rc = otp_store_session_revoke_phone(e->store, phone, &n);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	otp_phone_mask(phone, masked);
	*data = json_pack("{sssI}", "phone", masked, "revoked", (json_int_t)n);
	return 0;
}

/* The ceiling's state: sends left now, and when the next is allowed. */
static int ceiling(const struct otp_ctl_env *e, const char *phone, json_t **out)
{
	struct otp_limit l;
	int64_t tat = 0;
	otp_policy_phone_ceiling(e->cfg, e->ring->cur, phone, &l);
	int rc = otp_store_limit_get(e->store, l.key, e->now, &tat);
	if (rc < 0 && rc != OTP_ENOTFOUND)
		return rc;
	const struct otp_gcra *g = &l.rate;
	int64_t left = g->burst, retry = 0;
	if (g->interval_ms > 0 && rc == 0) {
		int64_t used = (tat - e->now + g->interval_ms - 1) /
			       g->interval_ms; /* tokens not yet back */
		left = used >= g->burst ? 0 : g->burst - used;
		int64_t allow_at = tat - g->interval_ms * (g->burst - 1);
		retry = allow_at > e->now ? allow_at - e->now : 0;
	}
	*out =
	    json_pack("{sbsIsIsI}", "limited", g->interval_ms > 0, "per_hour",
		      (json_int_t)(g->interval_ms > 0 ? g->burst : 0), "left",
		      (json_int_t)(g->interval_ms > 0 ? left : 0),
		      "retry_after_ms", (json_int_t)retry);
	return 0;
}

int otp_ctl_phone_show(const struct otp_ctl_env *e, json_t *args, json_t **data,
		       char *err, size_t errlen)
{
	char phone[OTP_PHONE_MAX], masked[OTP_PHONE_MAX];
	int st = otp_ctl_phone_arg(e, args, phone, err, errlen);
	if (st)
		return st;
	json_t *limit = NULL, *sends = json_array();
	struct otp_msg_info *msgs = NULL;
	size_t n = 0;
	int rc = ceiling(e, phone, &limit);
	if (rc == 0)
		rc = otp_ctl_messages(e, -1, SCAN_MAX, &msgs, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strcmp(msgs[i].to, phone) != 0)
			continue;
		struct otp_code_info c;
		json_t *m = otp_ctl_message_json(e, &msgs[i]);
		if (otp_store_code_get(e->store, msgs[i].request_id, &c) == 0) {
			json_object_set_new(
			    m, "code",
			    json_string(otp_code_state_names[c.state]));
			json_object_set_new(m, "created_ms",
					    json_integer(c.created_ms));
		}
		json_array_append_new(sends, m);
		if (json_array_size(sends) == SHOW_SENDS)
			break;
	}
	free(msgs);
	if (rc < 0) {
		json_decref(limit);
		json_decref(sends);
		return otp_ctl_failed(rc, err, errlen);
	}
	otp_phone_mask(phone, masked);
	*data = json_pack("{sssoso}", "phone", masked, "limit", limit, "sends",
			  sends);
	return 0;
}
