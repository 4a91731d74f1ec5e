/* spend.c - the spend breaker: the caps per hour and per day, in all and
 * per region, against what the signals say was spent (abuse.h). The
 * check is before the send and the spend is added with it, so sends in
 * flight at once may pass a cap by as many segments as there are request
 * threads. Not here: the prices and caps as text (lists.c).
 */
#include "abuse/internal.h"
#include "core/err.h"

#define HOUR_MS 3600000LL

/* The windows' hour buckets end on the hour: a cap reached is looked at
 * again then, when the oldest bucket has gone or shrunk. */
static int64_t to_next_hour_s(int64_t now)
{
	return (HOUR_MS - now % HOUR_MS + 999) / 1000;
}

static bool over(int64_t cap, int64_t spent, int64_t cost)
{
	return cap > 0 && spent + cost > cap;
}

int otp_spend_check(const struct otp_abuse *a, const char *region, int64_t cost,
		    const struct otp_signal *all, const struct otp_signal *reg,
		    int64_t now, int64_t *retry_after_s)
{
	const struct otp_signal_window *wa = &all->w[OTP_SIG_SENT];
	const struct otp_signal_window *wr = &reg->w[OTP_SIG_SENT];
	if (over(a->cap_hour.all, wa->hour, cost) ||
	    over(otp_caps_region(&a->cap_hour, region), wr->hour, cost) ||
	    over(a->cap_day.all, wa->day, cost) ||
	    over(otp_caps_region(&a->cap_day, region), wr->day, cost)) {
		*retry_after_s = to_next_hour_s(now);
		return OTP_ESPEND;
	}
	return 0;
}
