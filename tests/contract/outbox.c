/* outbox.c - the store contract on the outbox: claims, leases, acks, retries,
 * reports, requeue, listing.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

void ct_outbox_claim_body(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	unsigned char body[] = {0, 's', 'e', 'a', 'l', 0xff, 0, 7};
	struct otp_issue in = {
	    .code = c, .body = body, .body_len = sizeof body};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c.id);
	CHECK_INT(o.expires_ms, c.expires_ms);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	struct otp_msg m[4];
	CT_CLAIM_N(s, CT_T0, m, 4, 1);
	CHECK(m[0].id > 0);
	CHECK_STR(m[0].request_id, c.id);
	CHECK_STR(m[0].to, CT_P1);
	CHECK_INT(m[0].body_len, sizeof body);
	CHECK(memcmp(m[0].body, body, sizeof body) == 0);
	CHECK_INT(m[0].attempts, 1);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].expires_ms, CT_T0 + CT_TTL);
	CHECK_INT(m[0].created_ms, CT_T0); /* for otpd_sms_delivery_seconds */
	otp_msg_deinit(&m[0]);
	CHECK(m[0].body == NULL);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENDING);
	otp_store_close(s);
}

void ct_outbox_lease(void)
{
	struct otp_code_new c;
	struct otp_msg m[2];
	int64_t id;
	struct otp_store *s = ct_open_released(&c, &id);
	CHECK(s);
	CT_CLAIM_N(s, CT_T0 + CT_LEASE - 1, m, 2, 0);
	/* The worker died: after the lease the message is delivered again. */
	CT_CLAIM_N(s, CT_T0 + CT_LEASE, m, 2, 1);
	CHECK_INT(m[0].id, id);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	otp_msg_deinit(&m[0]);
	CT_CLAIM_N(s, CT_T0 + 2 * CT_LEASE - 1, m, 2, 0);
	otp_store_close(s);
}

/* Start-up of a one-process store: a claim left by a process that died is
 * taken again at once, not after its lease; what is queued and not yet due
 * stays as it is. A shared store reclaims nothing (another process's claim
 * may be live): the lease still decides. */
void ct_outbox_reclaim(void)
{
	struct otp_code_new c;
	struct otp_msg m[2];
	size_t n = 9;
	long k = 9;
	struct otp_store *s = ct_open_claimed(&c, m);
	CHECK(s);
	int64_t id = m[0].id;
	otp_msg_deinit(&m[0]);
	struct otp_code_new later = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &later, NULL, CT_T0 + 1000), 0);
	bool one = s->ops->caps & OTP_STORE_CAP_ONE_PROCESS;
	CHECK_INT(otp_store_outbox_reclaim(s, CT_T0 + 10, &k), 0);
	CHECK_INT(k, one ? 1 : 0);
	CHECK_INT(otp_store_outbox_claim(s, CT_T0 + 10, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, one ? 1 : 0);
	if (n == 1) {
		CHECK_INT(m[0].id, id);
		CHECK_INT(m[0].attempts, 2);
		otp_msg_deinit(&m[0]);
	}
	/* Nothing is claimed now: a second reclaim finds nothing. */
	if (one) {
		CHECK_INT(otp_store_outbox_ack(s, id, 2, CT_T0 + 11), 0);
		CHECK_INT(otp_store_outbox_reclaim(s, CT_T0 + 12, &k), 0);
		CHECK_INT(k, 0);
		CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	}
	otp_store_close(s);
}

void ct_outbox_ack(void)
{
	struct otp_code_new c;
	struct otp_msg m[2];
	struct otp_store *s = ct_open_claimed(&c, m);
	CHECK(s);
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 5),
		  0);
	/* Settled: the same lease cannot settle it again. */
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 6),
		  OTP_ENOTFOUND);
	otp_msg_deinit(&m[0]);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CT_CLAIM_N(s, CT_T0 + 10 * CT_LEASE, m, 2, 0);
	otp_store_close(s);
}

void ct_outbox_retry(void)
{
	struct otp_code_new c;
	struct otp_msg m[2];
	int64_t id;
	struct otp_store *s = ct_open_released(&c, &id);
	CHECK(s);
	CHECK_INT(otp_store_outbox_retry(s, id, 1, CT_T0 + 5000, 0, "timeout",
					 CT_T0 + 1),
		  0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	CT_CLAIM_N(s, CT_T0 + 4999, m, 2, 0);
	CT_CLAIM_N(s, CT_T0 + 5000, m, 2, 1);
	CHECK_INT(m[0].id, id);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_retry(s, id, 2, CT_T0 + 6000, 0, NULL,
					 CT_T0 + 5001),
		  0);
	otp_store_close(s);
}

void ct_outbox_fail(void)
{
	struct otp_code_new c[2];
	struct otp_msg m[2];
	struct otp_store *s = ct_open_claimed_each(c, m, 2);
	CHECK(s);
	CHECK_INT(otp_store_outbox_fail(s, m[0].id, 1, OTP_MSG_FAILED,
					"rejected", CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_fail(s, m[1].id, 1, OTP_MSG_EXPIRED, NULL,
					CT_T0 + 1),
		  0);
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m[1]);
	CHECK_INT(ct_get_state(s, c[0].id), OTP_MSG_FAILED);
	CHECK_INT(ct_get_state(s, c[1].id), OTP_MSG_EXPIRED);
	CT_CLAIM_N(s, CT_T0 + 10 * CT_LEASE, m, 2, 0);
	otp_store_close(s);
}

void ct_outbox_order(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c[3];
	static const unsigned nums[] = {7, 3, 5};
	CHECK_INT(ct_issue_numbered(s, c, nums, 3, 1), 0);
	struct otp_msg m[2];
	CT_CLAIM_N(s, CT_T0 + 5, m, 0, 0);
	CT_CLAIM_N(s, CT_T0 + 5, m, 2, 2);
	CHECK_STR(m[0].request_id, c[0].id);
	CHECK_STR(m[1].request_id, c[1].id);
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m[1]);
	CT_CLAIM_N(s, CT_T0 + 5, m, 2, 1);
	CHECK_STR(m[0].request_id, c[2].id);
	otp_msg_deinit(&m[0]);
	CT_CLAIM_N(s, CT_T0 + 5, m, 2, 0);
	/* Nothing is due before it was queued. */
	struct otp_code_new d = ct_make_code(9, CT_P1, CT_T0 + CT_TTL + 1000);
	CHECK_INT(ct_issue(s, &d, NULL, CT_T0 + 1000), 0);
	CT_CLAIM_N(s, CT_T0 + 999, m, 2, 0);
	otp_store_close(s);
}

void ct_outbox_state_notfound(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	CHECK_INT(ct_get_state(s, "0000000000000000000000000000abcd"),
		  OTP_ENOTFOUND);
	otp_store_close(s);
}

/* A retry (to driver, due at CT_T0 + CT_LEASE + 9) and a dead letter of
 * message id under lease token `lease`, at now: both refused. */
static void refused_retry_and_fail(struct otp_store *s, int64_t id, int lease,
				   int driver, const char *why, int64_t now)
{
	CHECK_INT(otp_store_outbox_retry(s, id, lease, CT_T0 + CT_LEASE + 9,
					 driver, why, now),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, id, lease, OTP_MSG_FAILED, why, now),
		  OTP_ENOTFOUND);
}

/* A worker whose lease ran out and whose message was claimed again can
 * settle nothing: only the newest claim's token works. */
void ct_outbox_lease_token(void)
{
	CT_ISSUED(c, s);
	struct otp_msg m[1], m2[1];
	CT_CLAIM1(s, CT_T0, m);
	CHECK_INT(m[0].attempts, 1);
	CT_CLAIM1(s, CT_T0 + CT_LEASE, m2);
	CHECK_INT(m2[0].id, m[0].id);
	CHECK_INT(m2[0].attempts, 2);
	int64_t id = m[0].id;
	otp_msg_deinit(&m[0]);
	otp_msg_deinit(&m2[0]);

	CHECK_INT(otp_store_outbox_ack(s, id, 1, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	refused_retry_and_fail(s, id, 1, 1, "stale", CT_T0 + CT_LEASE + 1);
	CHECK_INT(otp_store_outbox_fail(s, id, 1, OTP_MSG_EXPIRED, "stale",
					CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_ack(s, id, 3, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND); /* a token never handed out */
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENDING);
	CHECK_INT(ct_claim_count(s, CT_T0 + 2 * CT_LEASE - 1), 0);

	/* The newest claim settles it, once. */
	CHECK_INT(otp_store_outbox_ack(s, id, 2, CT_T0 + CT_LEASE + 2), 0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	refused_retry_and_fail(s, id, 2, 0, "late", CT_T0 + CT_LEASE + 3);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_ack(s, id + 1000, 1, CT_T0), OTP_ENOTFOUND);
	otp_store_close(s);
}

void ct_outbox_retry_driver(void)
{
	CT_ISSUED(c, s);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0, m);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, m[0].attempts,
					 CT_T0 + 1000, 2, "gw down", CT_T0 + 1),
		  0);
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 1000, m);
	CHECK_INT(m[0].driver, 2);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].body_len, 40);
	/* The lease running out keeps the driver too. */
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 1000 + CT_LEASE, m);
	CHECK_INT(m[0].driver, 2);
	CHECK_INT(m[0].attempts, 3);
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, m[0].attempts,
					 CT_T0 + 2000 + CT_LEASE, 0, "back",
					 CT_T0 + 1001 + CT_LEASE),
		  0);
	otp_msg_deinit(&m[0]);
	CT_CLAIM1(s, CT_T0 + 2000 + CT_LEASE, m);
	CHECK_INT(m[0].driver, 0);
	otp_msg_deinit(&m[0]);
	otp_store_close(s);
}

void ct_outbox_report(void)
{
	struct otp_code_new c1;
	struct otp_store *s = ct_open_issued(&c1);
	CHECK(s);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0, m);
	int64_t id = m[0].id;
	/* A report that overtakes the ack changes nothing. */
	CHECK_INT(otp_store_outbox_report(s, id, OTP_MSG_DELIVERED, CT_T0 + 1),
		  OTP_EGONE);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_SENDING);
	CHECK_INT(otp_store_outbox_ack(s, id, m[0].attempts, CT_T0 + 2), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(
	    otp_store_outbox_report(s, id, OTP_MSG_UNDELIVERED, CT_T0 + 3), 0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_UNDELIVERED);
	/* Gateways send several reports; the last one wins. */
	CHECK_INT(otp_store_outbox_report(s, id, OTP_MSG_DELIVERED, CT_T0 + 4),
		  0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_DELIVERED);
	CHECK(otp_store_outbox_report(s, id, OTP_MSG_SENT, CT_T0 + 5) < 0);
	CHECK(otp_store_outbox_report(s, id, OTP_MSG_QUEUED, CT_T0 + 5) < 0);
	CHECK_INT(ct_get_state(s, c1.id), OTP_MSG_DELIVERED);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);

	/* Queued, or dead-lettered: not reportable. Unknown: not found. */
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0 + 6), 0);
	struct otp_msg_info l[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_QUEUED, l, 2, &n), 0);
	CHECK_INT(n, 1);
	int64_t id2 = l[0].id;
	CHECK_INT(otp_store_outbox_report(s, id2, OTP_MSG_DELIVERED, CT_T0 + 7),
		  OTP_EGONE);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_QUEUED);
	CT_CLAIM1(s, CT_T0 + 8, m);
	CHECK_INT(m[0].id, id2);
	CHECK_INT(otp_store_outbox_fail(s, m[0].id, m[0].attempts,
					OTP_MSG_FAILED, "no", CT_T0 + 9),
		  0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(
	    otp_store_outbox_report(s, id2, OTP_MSG_DELIVERED, CT_T0 + 10),
	    OTP_EGONE);
	CHECK_INT(ct_get_state(s, c2.id), OTP_MSG_FAILED);
	CHECK_INT(
	    otp_store_outbox_report(s, id + 1000, OTP_MSG_DELIVERED, CT_T0),
	    OTP_ENOTFOUND);
	otp_store_close(s);
}

void ct_outbox_requeue(void)
{
	struct otp_code_new c[3];
	struct otp_msg m[3];
	struct otp_store *s = ct_open_claimed_each(c, m, 3);
	CHECK(s);
	int64_t failed = m[0].id, expired = m[1].id, sent = m[2].id;
	CHECK_INT(otp_store_outbox_retry(s, failed, 1, CT_T0 + 10, 3, "gw",
					 CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_fail(s, expired, 1, OTP_MSG_EXPIRED, "late",
					CT_T0 + 1),
		  0);
	CHECK_INT(otp_store_outbox_ack(s, sent, 1, CT_T0 + 1), 0);
	for (int i = 0; i < 3; i++)
		otp_msg_deinit(&m[i]);
	CHECK_INT(otp_store_outbox_requeue(s, failed, CT_T0 + 2),
		  OTP_EGONE); /* queued, not failed */
	CT_CLAIM1(s, CT_T0 + 10, m);
	CHECK_INT(m[0].driver, 3);
	CHECK_INT(otp_store_outbox_fail(s, failed, 2, OTP_MSG_FAILED,
					"out of tries", CT_T0 + 11),
		  0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(ct_claim_count(s, CT_T0 + 100), 0);

	/* FAILED kept its body: back in the queue, due now, driver 0, and
	 * its attempts go on growing. */
	CHECK_INT(otp_store_outbox_requeue(s, failed, CT_T0 + 100), 0);
	CHECK_INT(ct_get_state(s, c[0].id), OTP_MSG_QUEUED);
	CHECK_INT(ct_claim_count(s, CT_T0 + 99), 0);
	CT_CLAIM1(s, CT_T0 + 100, m);
	CHECK_INT(m[0].id, failed);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].attempts, 3);
	CHECK_INT(m[0].body_len, 40);
	CHECK(memcmp(m[0].body + 3, c[0].id, OTP_ID_LEN) == 0);
	CHECK_INT(otp_store_outbox_ack(s, failed, 3, CT_T0 + 101), 0);
	otp_msg_deinit(&m[0]);

	/* EXPIRED wiped it; SENT and unknown ones are no dead letters. */
	CHECK_INT(otp_store_outbox_requeue(s, expired, CT_T0 + 102), OTP_EGONE);
	CHECK_INT(ct_get_state(s, c[1].id), OTP_MSG_EXPIRED);
	CHECK_INT(otp_store_outbox_requeue(s, sent, CT_T0 + 102), OTP_EGONE);
	CHECK_INT(ct_get_state(s, c[2].id), OTP_MSG_SENT);
	CHECK_INT(otp_store_outbox_requeue(s, sent + 1000, CT_T0 + 102),
		  OTP_ENOTFOUND);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);
	otp_store_close(s);
}

void ct_outbox_list(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_msg_info l[4];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, -1, l, 4, &n), 0);
	CHECK_INT(n, 0);
	struct otp_code_new c[3];
	static const unsigned nums[] = {1, 2, 3};
	CHECK_INT(ct_issue_numbered(s, c, nums, 3, 1), 0);
	struct otp_msg m[1];
	CT_CLAIM1(s, CT_T0 + 10, m); /* the oldest: c[0] */
	CHECK_INT(otp_store_outbox_retry(s, m[0].id, 1, CT_T0 + 5000, 1,
					 "timeout", CT_T0 + 11),
		  0);
	otp_msg_deinit(&m[0]);

	CHECK_INT(otp_store_outbox_list(s, -1, l, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(l[0].request_id, c[2].id); /* newest first */
	CHECK_STR(l[1].request_id, c[1].id);
	CHECK_STR(l[2].request_id, c[0].id);
	CHECK(l[0].id > l[1].id && l[1].id > l[2].id);
	CHECK_STR(l[2].to, CT_P1);
	CHECK_INT(l[2].state, OTP_MSG_QUEUED);
	CHECK_INT(l[2].attempts, 1);
	CHECK_INT(l[2].driver, 1);
	CHECK_INT(l[2].next_ms, CT_T0 + 5000);
	CHECK_INT(l[2].expires_ms, CT_T0 + CT_TTL);
	CHECK_INT(l[2].updated_ms, CT_T0 + 11);
	CHECK_STR(l[2].last_error, "timeout");
	CHECK_INT(l[0].attempts, 0);
	CHECK_STR(l[0].last_error, "");
	CHECK_INT(otp_store_outbox_list(s, -1, l, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(l[1].request_id, c[1].id);

	/* By state. */
	CT_CLAIM1(s, CT_T0 + 20, m); /* c[1] */
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, 1, CT_T0 + 21), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_QUEUED, l, 4, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(l[0].request_id, c[2].id);
	CHECK_STR(l[1].request_id, c[0].id);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_SENT, l, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].request_id, c[1].id);
	CHECK_INT(l[0].updated_ms, CT_T0 + 21);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_FAILED, l, 4, &n), 0);
	CHECK_INT(n, 0);
	CHECK(otp_store_outbox_list(s, OTP_MSG_EXPIRED + 1, l, 4, &n) < 0);
	otp_store_close(s);
}
