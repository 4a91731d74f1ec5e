/* signal_window.h - the bucket arithmetic of the signals (store.h), the
 * same for every backend: which hour and UTC day a time falls in, which of
 * them a backend keeps, and how one key's buckets fold into what
 * signal_read answers (struct otp_signal).
 *
 * A backend stores and fetches buckets and set members; it computes no
 * window of its own, so that both backends agree to the unit. Not here:
 * where the buckets live (src/store/<backend>/signals.c) and what the
 * counts mean (src/abuse/).
 */
#ifndef OTP_STORE_SIGNAL_WINDOW_H
#define OTP_STORE_SIGNAL_WINDOW_H

#include <stdint.h>

#include "store/store.h"

#define OTP_SIG_HOUR_MS 3600000LL
#define OTP_SIG_DAY_MS	86400000LL
/* Buckets kept: the current hour and the 24 before it, today and the 14
 * days before it. Plain numbers: the Redis scripts take them as text. */
#define OTP_SIG_HOURS_KEPT 25
#define OTP_SIG_DAYS_KEPT  15
/* A set member counts while seen > now - this: 48 hours (a plain number
 * too, for the scripts). */
#define OTP_SIG_SEEN_HOURS 48
#define OTP_SIG_SEEN_MS	   (OTP_SIG_SEEN_HOURS * OTP_SIG_HOUR_MS)
/* A block row that ended (until_ms != 0) is purged this long after. */
#define OTP_BLOCK_KEPT_MS (30 * OTP_SIG_DAY_MS)

/* t / unit rounded down (a time before 1970 included). */
static inline int64_t otp_sig_floor(int64_t t, int64_t unit)
{
	return t >= 0 ? t / unit : -((-t + unit - 1) / unit);
}

static inline int64_t otp_sig_hour(int64_t now)
{
	return otp_sig_floor(now, OTP_SIG_HOUR_MS);
}

static inline int64_t otp_sig_day(int64_t now)
{
	return otp_sig_floor(now, OTP_SIG_DAY_MS);
}

/* The oldest hour and day a backend keeps at now: purge drops older ones. */
static inline int64_t otp_sig_hour_kept(int64_t now)
{
	return otp_sig_hour(now) - (OTP_SIG_HOURS_KEPT - 1);
}

static inline int64_t otp_sig_day_kept(int64_t now)
{
	return otp_sig_day(now) - (OTP_SIG_DAYS_KEPT - 1);
}

/* floor(n * part / OTP_SIG_HOUR_MS) for 0 <= part <= OTP_SIG_HOUR_MS and
 * n >= 0, without the overflow of n * part. */
static inline int64_t otp_sig_share(int64_t n, int64_t part)
{
	return n / OTP_SIG_HOUR_MS * part +
	       n % OTP_SIG_HOUR_MS * part / OTP_SIG_HOUR_MS;
}

/* Folds hour bucket `hour`, holding n[], into o as read at now: the
 * current hour whole and the previous one's share in w[].hour, the
 * current hour and the 23 before it in w[].day. Any other hour is
 * ignored, so a backend may hand over every bucket it has, in any order,
 * each once. o starts zeroed. */
static inline void otp_sig_fold_hour(struct otp_signal *o, int64_t now,
				     int64_t hour,
				     const int64_t n[OTP_SIG_COUNTERS])
{
	int64_t h = otp_sig_hour(now);
	int64_t left = OTP_SIG_HOUR_MS - (now - h * OTP_SIG_HOUR_MS);
	for (int c = 0; c < OTP_SIG_COUNTERS; c++) {
		if (hour == h)
			o->w[c].hour += n[c];
		else if (hour == h - 1)
			o->w[c].hour += otp_sig_share(n[c], left);
		if (hour > h - 24 && hour <= h)
			o->w[c].day += n[c];
	}
}

/* Folds day bucket `day` into o: day_max is the largest of the 14 UTC
 * days before today's (today's own is ignored, as is any older day). */
static inline void otp_sig_fold_day(struct otp_signal *o, int64_t now,
				    int64_t day,
				    const int64_t n[OTP_SIG_COUNTERS])
{
	int64_t d = otp_sig_day(now);
	if (day < d - 14 || day >= d)
		return;
	for (int c = 0; c < OTP_SIG_COUNTERS; c++)
		if (n[c] > o->w[c].day_max)
			o->w[c].day_max = n[c];
}

#endif
