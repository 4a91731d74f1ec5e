/* handoff.c - the ring of messages handed to the delivery workers in
 * memory (handoff.h). What a worker does with them is outbox.c's.
 */
#include "outbox/handoff.h"

#include <stdlib.h>
#include <string.h>

void otp_handq_init(struct otp_handq *q)
{
	memset(q, 0, sizeof *q);
	q->e = calloc(OTP_HANDOFF_MAX, sizeof *q->e);
	if (!q->e)
		abort();
}

void otp_handq_deinit(struct otp_handq *q)
{
	for (size_t i = 0; q->e && i < q->len; i++)
		otp_msg_deinit(&q->e[(q->head + i) % OTP_HANDOFF_MAX].m);
	free(q->e);
	memset(q, 0, sizeof *q);
}

bool otp_handq_reserve(struct otp_handq *q)
{
	if (q->len + q->held >= OTP_HANDOFF_MAX)
		return false;
	q->held++;
	return true;
}

void otp_handq_cancel(struct otp_handq *q)
{
	if (q->held > 0)
		q->held--;
}

void otp_handq_put(struct otp_handq *q, struct otp_msg *m,
		   int64_t lease_end_mono)
{
	otp_handq_cancel(q);
	if (q->len >= OTP_HANDOFF_MAX) { /* not reserved: a bug; the lease */
		otp_msg_deinit(m);	 /* brings it back */
		return;
	}
	struct otp_handed *h = &q->e[(q->head + q->len) % OTP_HANDOFF_MAX];
	h->m = *m;
	h->lease_end_mono = lease_end_mono;
	q->len++;
	m->body = NULL;
	m->body_len = 0;
}

size_t otp_handq_take(struct otp_handq *q, struct otp_handed *out, size_t max)
{
	size_t n = 0;
	while (n < max && q->len > 0) {
		out[n++] = q->e[q->head];
		q->head = (q->head + 1) % OTP_HANDOFF_MAX;
		q->len--;
	}
	return n;
}
