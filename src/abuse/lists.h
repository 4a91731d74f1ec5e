/* lists.h - the operator's lists of the abuse module, parsed once: the
 * allow list (--fraud-allow), the spend caps (--spend-cap-hour/-day) and
 * the prices (--spend-prices, a CSV). Money is in millionths of the
 * operator's unit (a price of 0.0079 is 7900), so sums stay integers.
 */
#ifndef OTP_ABUSE_LISTS_H
#define OTP_ABUSE_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"

#define OTP_ALLOW_MAX	   64 /* numbers or prefixes, and key ids */
#define OTP_ALLOW_ITEM_MAX 24
#define OTP_CAPS_MAX	   64
#define OTP_PRICES_MAX	   300
#define OTP_MONEY_UNIT	   1000000

struct otp_allow {
	size_t nphones, nkeys;
	char phones[OTP_ALLOW_MAX][OTP_ALLOW_ITEM_MAX]; /* "+1415" */
	char keys[OTP_ALLOW_MAX][OTP_ALLOW_ITEM_MAX];	/* key ids */
	struct otp_cidr_list ips;
};

/* A region's amount (cap or price), or the one for all ("" region). */
struct otp_money_row {
	char region[3];
	int64_t micro;
};

struct otp_caps {
	int64_t all; /* 0: no cap in all */
	size_t n;
	struct otp_money_row per[OTP_CAPS_MAX];
};

struct otp_prices {
	int64_t other; /* the "*" row, or one unit */
	size_t n;
	struct otp_money_row per[OTP_PRICES_MAX];
};

/* "+1415,192.0.2.0/24,key:0123456789abcdef": 0, or OTP_EVALUE (why in
 * err). */
int otp_allow_parse(const char *text, struct otp_allow *out, char *err,
		    size_t errlen);
bool otp_allow_has(const struct otp_allow *a, const char *phone, const char *ip,
		   const char *key_id);

/* "50" or "50,NG=5,US=20.5" (a bare number: the cap in all). */
int otp_caps_parse(const char *text, struct otp_caps *out, char *err,
		   size_t errlen);
/* A region's cap, or 0 for none. */
int64_t otp_caps_region(const struct otp_caps *c, const char *region);

/* The CSV at path: "region,price" rows ("*" for every other region; a
 * header row and # comments are skipped). "" path: 1 a segment. */
int otp_prices_load(const char *path, struct otp_prices *out, char *err,
		    size_t errlen);
int64_t otp_prices_region(const struct otp_prices *p, const char *region);

/* "0.0079" -> 7900; -1 when it is not a non-negative decimal. */
int64_t otp_money_parse(const char *s, size_t n);

#endif
