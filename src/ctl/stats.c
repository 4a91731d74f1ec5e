/* stats.c - otpctl stats: the outbox by state and its dead letters, and
 * for the last hour and day the codes sent, how many were verified
 * (conversion), by country calling code; through the running otpd also
 * its counters since it started (core/metrics.h).
 *
 * The store keeps no counters, so the windows are derived from what it
 * holds: every local send has one outbox message (its phone opened by the
 * seal, its code's state and creation time by code_get), and the store
 * keeps them a day past their codes' expiry. So a send of the upstream
 * provider (no local message) is not counted, a verified code is one in
 * state "used", and at most SCAN_MAX messages are read ("truncated" says
 * so). A message's phone that does not open counts under "?".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "ctl/ctl.h"

#define SCAN_MAX 100000

static const struct {
	const char *name;
	int64_t ms;
} windows[] = {
    {"hour", 3600LL * 1000},
    {"day", 24LL * 3600 * 1000},
};
#define NWINDOWS (sizeof windows / sizeof windows[0])

static void bump(json_t *t, const char *field)
{
	json_t *v = json_object_get(t, field);
	json_integer_set(v, json_integer_value(v) + 1);
}

/* Adds one send (verified or not) to a window's totals and its country's. */
static void count(json_t *w, const char *cc, bool verified)
{
	json_t *by = json_object_get(w, "by_country");
	json_t *c = json_object_get(by, cc);
	if (!c) {
		c = json_pack("{sIsI}", "sends", (json_int_t)0, "verified",
			      (json_int_t)0);
		json_object_set_new(by, cc, c);
	}
	bump(w, "sends");
	bump(c, "sends");
	if (verified) {
		bump(w, "verified");
		bump(c, "verified");
	}
}

static void conversion(json_t *t)
{
	json_int_t sends = json_integer_value(json_object_get(t, "sends"));
	json_int_t ok = json_integer_value(json_object_get(t, "verified"));
	json_object_set_new(t, "conversion",
			    sends ? json_real((double)ok / (double)sends)
				  : json_null());
}

/* The windows' counts over the messages (newest first). */
static json_t *sends_by_window(const struct otp_ctl_env *e,
			       const struct otp_msg_info *msgs, size_t n)
{
	json_t *out = json_object();
	for (size_t k = 0; k < NWINDOWS; k++)
		json_object_set_new(
		    out, windows[k].name,
		    json_pack("{sIsIso}", "sends", (json_int_t)0, "verified",
			      (json_int_t)0, "by_country", json_object()));
	int64_t oldest = e->now - windows[NWINDOWS - 1].ms;
	for (size_t i = 0; i < n; i++) {
		struct otp_code_info c;
		/* updated at or after its creation: older ones cannot count */
		if (msgs[i].updated_ms < oldest ||
		    otp_store_code_get(e->store, msgs[i].request_id, &c) < 0)
			continue;
		char cc[4] = "?";
		if (msgs[i].to[0] == '+')
			otp_phone_calling_code(msgs[i].to, cc);
		for (size_t k = 0; k < NWINDOWS; k++)
			if (c.created_ms >= e->now - windows[k].ms)
				count(json_object_get(out, windows[k].name), cc,
				      c.state == OTP_CODE_USED);
	}
	const char *name;
	json_t *w;
	json_object_foreach(out, name, w)
	{
		const char *cc;
		json_t *c;
		conversion(w);
		json_object_foreach(json_object_get(w, "by_country"), cc, c)
		    conversion(c);
	}
	return out;
}

static void add_outcome(void *arg, const char *family, const char *outcome,
			uint64_t n)
{
	json_t *f = json_object_get(arg, family);
	if (!f) {
		f = json_object();
		json_object_set_new(arg, family, f);
	}
	if (n)
		json_object_set_new(f, outcome, json_integer((json_int_t)n));
}

int otp_ctl_stats(const struct otp_ctl_env *e, json_t *args, json_t **data,
		  char *err, size_t errlen)
{
	struct otp_msg_info *msgs;
	size_t n;
	(void)args;
	int rc = otp_ctl_messages(e, -1, SCAN_MAX, &msgs, &n);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	json_int_t by_state[OTP_MSG_STATES] = {0};
	for (size_t i = 0; i < n; i++)
		if ((int)msgs[i].state < OTP_MSG_STATES)
			by_state[msgs[i].state]++;
	json_t *outbox = json_object();
	for (int st = 0; st < OTP_MSG_STATES; st++)
		json_object_set_new(outbox, otp_msg_state_names[st],
				    json_integer(by_state[st]));
	*data = json_pack("{sosIsosb}", "outbox", outbox, "dead_letters",
			  by_state[OTP_MSG_FAILED] + by_state[OTP_MSG_EXPIRED],
			  "windows", sends_by_window(e, msgs, n), "truncated",
			  n == SCAN_MAX);
	free(msgs);
	if (e->live) {
		json_t *proc = json_object();
		otp_metrics_outcomes(add_outcome, proc);
		json_object_set_new(*data, "since_start", proc);
	}
	return 0;
}
