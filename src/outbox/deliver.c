/* deliver.c - one try of one message by a delivery worker: expired or
 * not, unsealed, handed to its driver (past the hung-gateway breaker),
 * and settled (settle.h): its ack held with the worker's others, a retry,
 * a failover or a dead letter. Which messages, and when, is outbox.c's.
 */
#include "outbox/deliver.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "engine/message.h"
#include "outbox/settle.h"

#define TEXT_MAX 512 /* unsealed message text, NUL included */
/* A failed ack is not tried again past its lease's end less this: the ack
 * itself, and the store's clock against ours. */
#define ACK_MARGIN_MS 1000

int64_t otp_outbox_per_message(const struct otp_outbox_cfg *c)
{
	int64_t t = c->sms_env.timeout_ms > 0 ? c->sms_env.timeout_ms : 10000;
	int64_t ct = c->sms_env.connect_timeout_ms > 0
			 ? c->sms_env.connect_timeout_ms
			 : 3000;
	return t + ct + 1000;
}

int otp_outbox_deliver(const struct otp_outbox_cfg *cfg,
		       const struct otp_place *p, const struct otp_msg *m,
		       int64_t now, int64_t lease_end, int64_t *soonest)
{
	struct otp_store *s = p->s;
	struct otp_sms_set *set = p->set;
	struct otp_note nt;
	size_t d = m->driver < 0 ? 0 : (size_t)m->driver;
	if (d >= set->n)
		d = set->n - 1; /* the list got shorter since */
	struct otp_sms *drv = set->d[d];
	nt.driver = drv->ops->name;
	otp_phone_mask(m->to, nt.masked);
	snprintf(nt.attempt, sizeof nt.attempt, "%d", m->attempts);
	if (cfg->id_tag)
		cfg->id_tag(cfg->arg, m->request_id, nt.rid, sizeof nt.rid);
	else
		snprintf(nt.rid, sizeof nt.rid, "%s", m->request_id);

	if (now >= m->expires_ms) {
		otp_metrics_sms(nt.driver, OTP_M_SMS_expired);
		otp_metrics_sms_country(m->to, OTP_M_SMS_expired);
		return otp_settle_dead(s, m, &nt, OTP_MSG_EXPIRED,
				       "code expired", now);
	}

	char text[TEXT_MAX];
	int rc = cfg->unseal(cfg->arg, m, now, text, sizeof text);
	if (rc < 0) {
		sodium_memzero(text, sizeof text);
		char reason[64];
		snprintf(reason, sizeof reason, "unseal: %s", otp_err_code(rc));
		return otp_settle_dead(s, m, &nt, OTP_MSG_FAILED, reason, now);
	}
	text[sizeof text - 1] = '\0';

	struct otp_segments seg = {OTP_SMS_GSM7, 0, 0};
	otp_message_segments(text, strlen(text), &seg);
	char parts[16], token[OTP_SMS_TOKEN_MAX] = "";
	snprintf(parts, sizeof parts, "%d", seg.parts);
	if (cfg->dlr_token)
		cfg->dlr_token(cfg->arg, m->id, token, sizeof token);
	struct otp_sms_msg sm = {
	    .to = m->to,
	    .body = text,
	    .request_id = m->request_id,
	    .message_id = m->id,
	    /* One message per request id, and ids are random: the key (the
	     * id's tag) is unique across stores and the same on every try,
	     * driver and process. */
	    .idem_key = nt.rid,
	    .dlr_token = token,
	    .queued_ms = m->created_ms,
	    .ucs2 = seg.coding == OTP_SMS_UCS2,
	    .expires_ms = m->expires_ms,
	    .now_ms = now,
	};
	char reason[OTP_ERROR_TEXT_MAX] = "";
	if (p->br &&
	    !otp_breaker_enter(p->br, d, p->slot, otp_clock_mono_ms())) {
		sodium_memzero(text, sizeof text);
		return otp_breaker_pass_on(s, m, nt.driver, d, set->n, now,
					   soonest);
	}
	int64_t t0 = otp_settle_now_us();
	enum otp_sms_result res = otp_sms_send(drv, &sm, reason, sizeof reason);
	p->acks->send_us = otp_settle_now_us() - t0;
	bool hung =
	    p->br && otp_breaker_leave(p->br, d, p->slot, res == OTP_SMS_SENT,
				       otp_clock_mono_ms());
	sodium_memzero(text, sizeof text);
	enum otp_m_sms st = res == OTP_SMS_SENT	   ? OTP_M_SMS_sent
			    : res == OTP_SMS_RETRY ? OTP_M_SMS_retry
						   : OTP_M_SMS_failed;
	otp_metrics_sms(nt.driver, st);
	otp_metrics_sms_country(m->to, st);

	switch (res) {
	case OTP_SMS_SENT:
		if (m->created_ms > 0)
			otp_metrics_sms_stage(
			    OTP_M_ACCEPTED, otp_clock_now_ms() - m->created_ms);
		otp_log(OTP_LOG_INFO, "sms sent", "to", nt.masked, "request",
			nt.rid, "driver", nt.driver, "#attempt", nt.attempt,
			"encoding", otp_sms_coding_name(seg.coding),
			"#segments", parts, NULL);
		/* Its ack waits for others, or for the next claim (outbox.c
		 * sends them before a lease could run out). */
		rc = 0;
		if (p->acks->n == OTP_ACKS_MAX) {
			size_t none;
			rc = otp_settle_acks(p->acks, s, otp_clock_now_ms(),
					     p->stop, 0, NULL, 0, &none);
		}
		otp_settle_sent(p->acks, m, &nt, lease_end - ACK_MARGIN_MS);
		return rc;
	case OTP_SMS_RETRY:
		if (hung && set->n > 1) /* the next driver now, no backoff */
			return otp_breaker_pass_on(s, m, nt.driver, d, set->n,
						   now, soonest);
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: try again",
				 nt.driver);
		return otp_settle_retry(cfg, s, m, &nt, d, set->n, reason, now,
					soonest);
	case OTP_SMS_FAILED:
	default:
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: refused",
				 nt.driver);
		return otp_settle_dead(s, m, &nt, OTP_MSG_FAILED, reason, now);
	}
}

int otp_outbox_release(struct otp_store *s, const struct otp_msg *m,
		       int64_t now)
{
	return otp_store_outbox_retry(s, m->id, m->attempts, now,
				      m->driver < 0 ? 0 : m->driver,
				      "otpd stopping", now);
}
