/* breaker.c - hung gateways found, one probe at a time, and their
 * messages passed on (breaker.h). */
#include "outbox/breaker.h"

#include "core/clock.h"
#include "core/log.h"

void otp_breakers_init(struct otp_breakers *b, int64_t timeout_ms)
{
	for (size_t d = 0; d < OTP_SMS_DRIVERS_MAX; d++) {
		for (size_t w = 0; w < OTP_BREAKER_SLOTS; w++)
			atomic_init(&b->started[d][w], 0);
		atomic_init(&b->until[d], 0);
	}
	b->hung_ms = timeout_ms / 2 < OTP_BREAKER_HUNG_MS ? timeout_ms / 2
							  : OTP_BREAKER_HUNG_MS;
}

bool otp_breaker_enter(struct otp_breakers *b, size_t d, size_t w, int64_t now)
{
	if (d >= OTP_SMS_DRIVERS_MAX || w >= OTP_BREAKER_SLOTS)
		return true;
	if (atomic_load(&b->until[d]) > now)
		return false; /* marked: nobody, until the mark runs out */
	for (size_t i = 0; i < OTP_BREAKER_SLOTS; i++) {
		int64_t t = atomic_load(&b->started[d][i]);
		if (t != 0 && now - t >= b->hung_ms)
			return false; /* a call in it hangs: leave it alone */
	}
	atomic_store(&b->started[d][w], now ? now : 1);
	return true;
}

bool otp_breaker_leave(struct otp_breakers *b, size_t d, size_t w, bool sent,
		       int64_t now)
{
	if (d >= OTP_SMS_DRIVERS_MAX || w >= OTP_BREAKER_SLOTS)
		return false;
	int64_t started = atomic_exchange(&b->started[d][w], 0);
	bool hung = !sent && now - started >= b->hung_ms;
	if (sent)
		atomic_store(&b->until[d], 0);
	else if (hung)
		atomic_store(&b->until[d], now + OTP_BREAKER_HOLD_MS);
	return hung;
}

int otp_breaker_pass_on(struct otp_store *s, const struct otp_msg *m,
			const char *driver, size_t d, size_t ndrivers,
			int64_t now, int64_t *soonest)
{
	static struct otp_log_every passed;
	long held;
	char nbuf[OTP_LOG_NUM_LEN];
	size_t next = ndrivers > 1 ? (d + 1) % ndrivers : d;
	int64_t due = ndrivers > 1 ? now : now + 1000;
	if (otp_log_every_due(&passed, otp_clock_mono_ms(), 10000, &held))
		otp_log(OTP_LOG_WARN, "sms driver hung: its messages passed on",
			"driver", driver, "#repeated", otp_log_num(nbuf, held),
			NULL);
	if (due < *soonest)
		*soonest = due;
	return otp_store_outbox_retry(s, m->id, m->attempts, due, (int)next,
				      "driver hung: passed on", now);
}
