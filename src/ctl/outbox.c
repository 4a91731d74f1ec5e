/* outbox.c - otpctl's outbox commands: list (newest first, any or one
 * state), dead (the dead letters: failed, whose text is kept, and
 * expired), and retry (one failed message, or all of them, back in the
 * queue while their codes live). Through the running otpd a retry wakes
 * its delivery workers at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/phone.h"
#include "ctl/ctl.h"
#include "engine/crypto.h"

#define LIST_MAX 1000
#define DEAD_MAX 100000

int otp_ctl_messages(const struct otp_ctl_env *e, int state, size_t max,
		     struct otp_msg_info **out, size_t *n)
{
	*n = 0;
	*out = otp_alloc(max ? max : 1, sizeof **out);
	int rc = otp_store_outbox_list(e->store, state, *out, max, n);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The name of the n-th driver of an --sms list ("kannel" for
 * "console,kannel:http://..."): what a message's driver index means. Only
 * the part before ':' is shown (the rest may hold a URL or a path). */
static void driver_name(const char *list, int n, char *out, size_t cap)
{
	const char *p = list;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	size_t len = p ? strcspn(p, ",:") : 0;
	if (!len || len >= cap) {
		snprintf(out, cap, "#%d", n);
		return;
	}
	memcpy(out, p, len);
	out[len] = '\0';
}

json_t *otp_ctl_message_json(const struct otp_ctl_env *e,
			     const struct otp_msg_info *m)
{
	char to[OTP_PHONE_MAX], driver[32];
	if (!m->to[0] || m->to[0] == OTP_SEALED_MARK)
		snprintf(to, sizeof to, "sealed"); /* no secret to open it */
	else
		otp_phone_mask(m->to, to);
	driver_name(e->sms, m->driver, driver, sizeof driver);
	return json_pack(
	    "{sIsssssssisssIsIsIss}", "id", (json_int_t)m->id, "request_id",
	    m->request_id, "state",
	    (int)m->state < OTP_MSG_STATES ? otp_msg_state_names[m->state]
					   : "?",
	    "driver", driver, "tries", m->attempts, "to", to, "updated_ms",
	    (json_int_t)m->updated_ms, "next_ms",
	    (json_int_t)(m->state == OTP_MSG_QUEUED ? m->next_ms : 0),
	    "expires_ms", (json_int_t)m->expires_ms, "error", m->last_error);
}

/* Messages of the states listed (-1: any) into data's "messages". */
static int list_states(const struct otp_ctl_env *e, const int *states,
		       size_t nstates, size_t max, json_t **data, char *err,
		       size_t errlen)
{
	json_t *list = json_array();
	for (size_t k = 0; k < nstates; k++) {
		struct otp_msg_info *msgs;
		size_t n;
		int rc = otp_ctl_messages(e, states[k], max, &msgs, &n);
		if (rc < 0) {
			json_decref(list);
			return otp_ctl_failed(rc, err, errlen);
		}
		for (size_t i = 0; i < n; i++)
			json_array_append_new(
			    list, otp_ctl_message_json(e, &msgs[i]));
		free(msgs);
	}
	*data = json_pack("{so}", "messages", list);
	return 0;
}

int otp_ctl_outbox_list(const struct otp_ctl_env *e, json_t *args,
			json_t **data, char *err, size_t errlen)
{
	const char *state = json_string_value(json_object_get(args, "state"));
	int want = -1;
	for (int i = 0; state && i < OTP_MSG_STATES; i++)
		if (strcmp(state, otp_msg_state_names[i]) == 0)
			want = i;
	if (state && want < 0) {
		snprintf(err, errlen, "no state %s", state);
		return 2;
	}
	return list_states(e, &want, 1, LIST_MAX, data, err, errlen);
}

int otp_ctl_outbox_dead(const struct otp_ctl_env *e, json_t *args,
			json_t **data, char *err, size_t errlen)
{
	static const int dead[] = {OTP_MSG_FAILED, OTP_MSG_EXPIRED};
	(void)args;
	return list_states(e, dead, 2, LIST_MAX, data, err, errlen);
}

/* One requeue: 0, or 1 with why not in err. */
static int requeue(const struct otp_ctl_env *e, int64_t id, char *err,
		   size_t errlen)
{
	int rc = otp_store_outbox_requeue(e->store, id, e->now);
	if (rc == OTP_ENOTFOUND) {
		snprintf(err, errlen, "no message %lld", (long long)id);
		return 1;
	}
	if (rc == OTP_EGONE) {
		snprintf(err, errlen,
			 "message %lld is not a dead letter with its text "
			 "(only failed messages can be retried)",
			 (long long)id);
		return 1;
	}
	return rc < 0 ? otp_ctl_failed(rc, err, errlen) : 0;
}

/* Every failed message whose code lives; the others are counted as left. */
static int retry_all(const struct otp_ctl_env *e, json_t **data, char *err,
		     size_t errlen)
{
	struct otp_msg_info *msgs;
	size_t n;
	long done = 0, left = 0;
	int rc = otp_ctl_messages(e, OTP_MSG_FAILED, DEAD_MAX, &msgs, &n);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].expires_ms <= e->now) {
			left++; /* its code is dead: the text would lie */
			continue;
		}
		rc = otp_store_outbox_requeue(e->store, msgs[i].id, e->now);
		if (rc == OTP_EGONE || rc == OTP_ENOTFOUND)
			left++, rc = 0; /* taken since it was listed */
		else if (rc == 0)
			done++;
		else
			break;
	}
	free(msgs);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	*data = json_pack("{sIsI}", "requeued", (json_int_t)done, "left",
			  (json_int_t)left);
	return 0;
}

int otp_ctl_outbox_retry(const struct otp_ctl_env *e, json_t *args,
			 json_t **data, char *err, size_t errlen)
{
	int rc;
	if (json_is_true(json_object_get(args, "all"))) {
		rc = retry_all(e, data, err, errlen);
	} else {
		json_t *id = json_object_get(args, "id");
		if (!json_is_integer(id) || json_integer_value(id) <= 0) {
			snprintf(err, errlen,
				 "outbox retry needs an ID or --all");
			return 2;
		}
		rc = requeue(e, json_integer_value(id), err, errlen);
		if (rc == 0)
			*data = json_pack("{sIsIsI}", "id",
					  json_integer_value(id), "requeued",
					  (json_int_t)1, "left", (json_int_t)0);
	}
	if (rc == 0 && e->notify)
		e->notify(e->notify_arg);
	return rc;
}
