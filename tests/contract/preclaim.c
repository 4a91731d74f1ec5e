/* preclaim.c - the store contract on a message its issue wrote claimed
 * (otp_issue.lease_ms): the delivery worker it is handed to in memory
 * settles it with lease token 1; no other claimer takes it before the
 * lease ends, any claimer after (the process that held it died).
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"

/* Code 1 of CT_P1 issued at CT_T0 with its message claimed for CT_LEASE;
 * the answer into *o. */
static struct otp_store *open_preclaimed(struct otp_code_new *c,
					 struct otp_issue_out *o)
{
	struct otp_store *s = ct_open();
	*c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue in = {.code = *c, .lease_ms = CT_LEASE};
	if (s && ct_issue_in(s, &in, CT_T0, o) != 0) {
		otp_store_close(s);
		return NULL;
	}
	return s;
}

void ct_preclaim_held_until_lease(void)
{
	struct otp_code_new c;
	struct otp_issue_out o;
	struct otp_store *s = open_preclaimed(&c, &o);
	CHECK(s);
	CHECK(o.msg_id > 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c.id);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENDING);
	/* No claimer, of this process or another, takes it in flight. */
	CHECK_INT(ct_claim_count(s, CT_T0), 0);
	CHECK_INT(ct_claim_count(s, CT_T0 + CT_LEASE - 1), 0);
	/* The worker it was handed to settles it with token 1, once. */
	CHECK_INT(otp_store_outbox_ack(s, o.msg_id, 1, CT_T0 + 5), 0);
	CHECK_INT(otp_store_outbox_ack(s, o.msg_id, 1, CT_T0 + 6),
		  OTP_ENOTFOUND);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);
	otp_store_close(s);
}

void ct_preclaim_claimed_after_lease(void)
{
	struct otp_code_new c;
	struct otp_issue_out o;
	struct otp_msg m[2];
	struct otp_store *s = open_preclaimed(&c, &o);
	CHECK(s);
	/* The process died with it: after the lease, any claimer sends it,
	 * whole, as if it had been queued. */
	CT_CLAIM_N(s, CT_T0 + CT_LEASE, m, 2, 1);
	CHECK_INT(m[0].id, o.msg_id);
	CHECK_STR(m[0].request_id, c.id);
	CHECK_STR(m[0].to, CT_P1);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].body_len, 40);
	CHECK(memcmp(m[0].body + 3, c.id, OTP_ID_LEN) == 0);
	CHECK_INT(m[0].expires_ms, CT_T0 + CT_TTL);
	CHECK_INT(m[0].created_ms, CT_T0);
	otp_msg_deinit(&m[0]);
	/* The first holder's token settles nothing any more. */
	CHECK_INT(otp_store_outbox_ack(s, o.msg_id, 1, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_retry(s, o.msg_id, 1, CT_T0, 0, "stale",
					 CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_ack(s, o.msg_id, 2, CT_T0 + CT_LEASE + 2),
		  0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);
	otp_store_close(s);
}

/* A claim at start-up of a one-process store ends its lease too. */
void ct_preclaim_reclaimed(void)
{
	struct otp_code_new c;
	struct otp_issue_out o;
	long k = 9;
	struct otp_store *s = open_preclaimed(&c, &o);
	CHECK(s);
	bool one = s->ops->caps & OTP_STORE_CAP_ONE_PROCESS;
	CHECK_INT(otp_store_outbox_reclaim(s, CT_T0 + 10, &k), 0);
	CHECK_INT(k, one ? 1 : 0);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10), one ? 1 : 0);
	otp_store_close(s);
}

/* What is not sent, or was not written, is not claimed for anyone: a test
 * number's message (sent already), a replay, an issue without a lease. */
void ct_preclaim_only_what_is_sent(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue in = {.code = c, .lease_ms = CT_LEASE};
	struct otp_issue_out o;
	CHECK_INT(otp_store_code_issue(s, &in, CT_T0, &o), 0); /* no body */
	CHECK_INT(o.msg_id, 0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_SENT);

	struct otp_idem k = {.expires_ms = CT_T0 + CT_DAY};
	snprintf(k.key, sizeof k.key, "%s", CT_IDEM_A);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_issue in2 = {.code = c2, .idem = &k, .lease_ms = CT_LEASE};
	CHECK_INT(ct_issue_in(s, &in2, CT_T0, &o), 0);
	CHECK(o.msg_id > 0);
	int64_t first = o.msg_id;
	struct otp_code_new c3 = ct_make_code(3, CT_P2, CT_T0 + CT_TTL);
	in2.code = c3;
	CHECK_INT(ct_issue_in(s, &in2, CT_T0 + 1, &o), 0);
	CHECK(o.replayed);
	CHECK_INT(o.msg_id, 0);
	CHECK_INT(otp_store_outbox_ack(s, first, 1, CT_T0 + 2), 0);

	struct otp_code_new c4 = ct_make_code(4, CT_P3, CT_T0 + CT_TTL);
	struct otp_issue in4 = {.code = c4};
	CHECK_INT(ct_issue_in(s, &in4, CT_T0 + 3, &o), 0);
	CHECK_INT(o.msg_id, 0);
	CHECK_INT(ct_get_state(s, c4.id), OTP_MSG_QUEUED);
	CHECK_INT(ct_claim_count(s, CT_T0 + 3), 1);
	otp_store_close(s);
}

/* Acks ride together, and with the next claim, in one operation: each ack
 * answers for itself (a stale token changes nothing of its message), and
 * the claim that follows sees the acks done. */
void ct_outbox_ack_claim(void)
{
	struct otp_code_new c[3];
	struct otp_msg m[3], more[4];
	struct otp_store *s = ct_open_claimed_each(c, m, 2);
	CHECK(s);
	struct otp_code_new late = ct_make_code(9, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &late, NULL, CT_T0 + 1), 0);
	struct otp_ack acks[3] = {{m[0].id, m[0].attempts, 9},
				  {m[1].id, m[1].attempts + 1, 9},
				  {m[1].id + 1000, 1, 9}};
	size_t n = 9;
	CHECK_INT(otp_store_outbox_ack_claim(s, acks, 3, CT_T0 + 2, CT_LEASE,
					     more, 4, &n),
		  0);
	CHECK_INT(acks[0].rc, 0);
	CHECK_INT(acks[1].rc, OTP_ENOTFOUND); /* a token never handed out */
	CHECK_INT(acks[2].rc, OTP_ENOTFOUND); /* no such message */
	CHECK_INT(ct_get_state(s, c[0].id), OTP_MSG_SENT);
	CHECK_INT(ct_get_state(s, c[1].id), OTP_MSG_SENDING);
	/* The claim: only the queued one (the other is leased still). */
	CHECK_INT(n, 1);
	CHECK_STR(more[0].request_id, late.id);
	CHECK_INT(more[0].attempts, 1);
	CHECK_INT(more[0].body_len, 40);
	/* Acks alone (max 0), several at once. */
	struct otp_ack two[2] = {{m[1].id, m[1].attempts, 9},
				 {more[0].id, more[0].attempts, 9}};
	CHECK_INT(otp_store_outbox_ack_claim(s, two, 2, CT_T0 + 3, CT_LEASE,
					     NULL, 0, &n),
		  0);
	CHECK_INT(n, 0);
	CHECK_INT(two[0].rc, 0);
	CHECK_INT(two[1].rc, 0);
	CHECK_INT(ct_get_state(s, c[1].id), OTP_MSG_SENT);
	CHECK_INT(ct_get_state(s, late.id), OTP_MSG_SENT);
	CHECK_INT(ct_claim_count(s, CT_T0 + 10 * CT_LEASE), 0);
	/* No acks: a claim as outbox_claim's. */
	CHECK_INT(otp_store_outbox_ack_claim(s, NULL, 0, CT_T0 + 4, CT_LEASE,
					     more, 4, &n),
		  0);
	CHECK_INT(n, 0);
	for (int i = 0; i < 2; i++)
		otp_msg_deinit(&m[i]);
	otp_msg_deinit(&more[0]);
	otp_store_close(s);
}
