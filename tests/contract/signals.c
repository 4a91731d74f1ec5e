/* signals.c - the store contract on the abuse signals: the hour window
 * with the previous hour's share, the 24-hour and 14-day windows, sets
 * of members and their cap, what code_issue adds and code_verify credits
 * in their own step, and what purge drops.
 *
 * Each case opens a fresh store through ct_open(); the list of cases and
 * the entry point are in contract.c, the shared helpers in helpers.c. The
 * windows' arithmetic is written out here on purpose, not taken from the
 * store's own header.
 */
#include <stdio.h>
#include <string.h>

#include "contract_cases.h"
#include "store/signal_window.h"

#define HOUR (60LL * 60 * 1000)
#define SEEN OTP_SIG_SEEN_MS /* how long a set member counts */

/* The start of the UTC day that t falls in. */
static int64_t day_of(int64_t t)
{
	return t - t % CT_DAY;
}

static struct otp_signal_add make_add(const char *key, int64_t sent,
				      int64_t verified, const char *member)
{
	struct otp_signal_add a = {.n = {sent, verified}};
	snprintf(a.key, sizeof a.key, "%s", key);
	snprintf(a.member, sizeof a.member, "%s", member);
	return a;
}

/* Adds to one key at now: the store's answer. */
static int add1(struct otp_store *s, const char *key, int64_t sent,
		int64_t verified, const char *member, int64_t now)
{
	struct otp_signal_add a = make_add(key, sent, verified, member);
	return otp_store_signal_add(s, &a, 1, now);
}

/* One key read at now into *out (garbage first: a read must write it all). */
static int read1(struct otp_store *s, const char *key, int64_t now,
		 struct otp_signal *out)
{
	memset(out, 0x55, sizeof *out);
	return otp_store_signal_read(s, &key, NULL, 1, now, out);
}

/* The key's windows at now are these: one counter's hour, day, day_max. */
#define CT_WINDOW_IS(s, key, now, c, h, d, dm)                                 \
	do {                                                                   \
		struct otp_signal sig_;                                        \
		CHECK_INT(read1(s, key, now, &sig_), 0);                       \
		CHECK_INT(sig_.w[c].hour, h);                                  \
		CHECK_INT(sig_.w[c].day, d);                                   \
		CHECK_INT(sig_.w[c].day_max, dm);                              \
	} while (0)

#define CT_DISTINCT_IS(s, key, now, want)                                      \
	do {                                                                   \
		struct otp_signal sig_;                                        \
		CHECK_INT(read1(s, key, now, &sig_), 0);                       \
		CHECK_INT(sig_.distinct, want);                                \
	} while (0)

/* The last 60 minutes: the current hour bucket, and the previous one's
 * count times the part of it still inside the hour, rounded down. */
void ct_signal_hour(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	/* three hours of one UTC day (06:00 on): day_max stays 0 */
	int64_t a = day_of(CT_T0) + CT_DAY + 6 * HOUR, b = a + HOUR,
		c = b + HOUR;
	CHECK_INT(add1(s, "r:US", 40, 8, "", a + 10 * 60000), 0);
	CHECK_INT(add1(s, "r:US", 2, 0, "", a + 50 * 60000), 0);
	/* Inside hour a: all of it, whenever in the hour. */
	CT_WINDOW_IS(s, "r:US", a + 59 * 60000, OTP_SIG_SENT, 42, 42, 0);
	CT_WINDOW_IS(s, "r:US", a + 59 * 60000, OTP_SIG_VERIFIED, 8, 8, 0);
	CHECK_INT(add1(s, "r:US", 3, 1, "", b), 0);
	/* At b the whole of a is inside the last 60 minutes... */
	CT_WINDOW_IS(s, "r:US", b, OTP_SIG_SENT, 3 + 42, 45, 0);
	/* ...15 minutes on, three quarters of it (42 * 3/4 = 31.5)... */
	CT_WINDOW_IS(s, "r:US", b + 15 * 60000, OTP_SIG_SENT, 3 + 31, 45, 0);
	CT_WINDOW_IS(s, "r:US", b + 15 * 60000, OTP_SIG_VERIFIED, 1 + 6, 9, 0);
	/* ...40 minutes on, a third (14, and 8/3 rounds down to 2)... */
	CT_WINDOW_IS(s, "r:US", b + 40 * 60000, OTP_SIG_SENT, 3 + 14, 45, 0);
	CT_WINDOW_IS(s, "r:US", b + 40 * 60000, OTP_SIG_VERIFIED, 1 + 2, 9, 0);
	/* ...and a millisecond before c, nothing of it. */
	CT_WINDOW_IS(s, "r:US", c - 1, OTP_SIG_SENT, 3, 45, 0);
	/* Hour c holds nothing: the last 60 minutes are b's share. */
	CT_WINDOW_IS(s, "r:US", c, OTP_SIG_SENT, 3, 45, 0);
	CT_WINDOW_IS(s, "r:US", c + 30 * 60000, OTP_SIG_SENT, 1, 45, 0);
	CT_WINDOW_IS(s, "r:US", c + 30 * 60000, OTP_SIG_VERIFIED, 0, 9, 0);
	CT_WINDOW_IS(s, "r:US", c + HOUR, OTP_SIG_SENT, 0, 45, 0);
	/* Keys are apart, and data: the same key cut short is another. */
	CT_WINDOW_IS(s, "r:U", b, OTP_SIG_SENT, 0, 0, 0);
	CHECK_INT(add1(s, "ip:'; DROP TABLE signals; --", 1, 0, "", b), 0);
	CT_WINDOW_IS(s, "ip:'; DROP TABLE signals; --", b, OTP_SIG_SENT, 1, 1,
		     0);
	otp_store_close(s);
}

/* The day window: the current hour bucket and the 23 before it. */
void ct_signal_day(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t h0 = day_of(CT_T0) + CT_DAY; /* 00:00 UTC */
	/* Hour i (0..25) holds i + 1 sends and one verified in every third:
	 * hours 0..23 are one UTC day (1 + ... + 24 = 300 sends, 8
	 * verified), 24 and 25 the next. */
	for (int i = 0; i < 26; i++) {
		struct otp_signal_add two[2] = {
		    make_add("a:", i + 1, i % 3 == 0, ""),
		    make_add("k:0123456789abcdef", 1, 0, ""),
		};
		CHECK_INT(otp_store_signal_add(s, two, 2, h0 + i * HOUR + 1),
			  0);
		/* 5 ms into hour 1: hour 0's 1 times (1 h - 5 ms) / 1 h. */
		if (i == 1)
			CT_WINDOW_IS(s, "a:", h0 + HOUR + 5, OTP_SIG_SENT, 2, 3,
				     0);
	}
	/* At hour 25: hours 2..25, that is 3 + ... + 26; 5 ms into the hour,
	 * hour 24's 25 times (1 h - 5 ms) / 1 h is 24. */
	CT_WINDOW_IS(s, "a:", h0 + 25 * HOUR + 5, OTP_SIG_SENT, 26 + 24,
		     (3 + 26) * 24 / 2, 300);
	/* verified in hours 3, 6, ..., 24 */
	CT_WINDOW_IS(s, "a:", h0 + 25 * HOUR + 5, OTP_SIG_VERIFIED, 0, 8, 8);
	CT_WINDOW_IS(s, "k:0123456789abcdef", h0 + 25 * HOUR, OTP_SIG_SENT, 2,
		     24, 24);
	/* An hour on, hour 2 has left the window. */
	CT_WINDOW_IS(s, "a:", h0 + 26 * HOUR, OTP_SIG_SENT, 26,
		     (3 + 26) * 24 / 2 - 3, 300);
	/* 23 hours after the last one, it alone is left; 24, nothing. */
	CT_WINDOW_IS(s, "a:", h0 + 48 * HOUR, OTP_SIG_SENT, 0, 26, 300);
	CT_WINDOW_IS(s, "a:", h0 + 49 * HOUR, OTP_SIG_SENT, 0, 0, 300);
	otp_store_close(s);
}

/* day_max: the largest of the 14 UTC days before today, neither today's
 * nor any older day's. */
void ct_signal_day_max(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t d = day_of(CT_T0) + 20 * CT_DAY; /* today, 00:00 UTC */
	CHECK_INT(add1(s, "p:+1415", 1000, 900, "", d - 15 * CT_DAY + HOUR), 0);
	CHECK_INT(add1(s, "p:+1415", 50, 1, "", d - 14 * CT_DAY), 0);
	/* A day's bucket sums its hours. */
	CHECK_INT(add1(s, "p:+1415", 4, 12, "", d - 5 * CT_DAY + HOUR), 0);
	CHECK_INT(add1(s, "p:+1415", 5, 8, "", d - 5 * CT_DAY + 20 * HOUR), 0);
	CHECK_INT(add1(s, "p:+1415", 49, 0, "", d - 1), 0);
	struct otp_signal sig;
	/* Yesterday's last millisecond: days d-15 .. d-2. (Read before the
	 * store has seen a later time: an add may drop what left its
	 * windows.) */
	CHECK_INT(read1(s, "p:+1415", d - 1, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 1000);
	CHECK_INT(sig.w[OTP_SIG_VERIFIED].day_max, 900);
	CHECK_INT(add1(s, "p:+1415", 100, 70, "", d + HOUR), 0);
	CHECK_INT(read1(s, "p:+1415", d + 12 * HOUR, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 50);
	CHECK_INT(sig.w[OTP_SIG_VERIFIED].day_max, 20);
	/* Tomorrow: the oldest day has left, today's counts. */
	CHECK_INT(read1(s, "p:+1415", d + CT_DAY, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 100);
	CHECK_INT(sig.w[OTP_SIG_VERIFIED].day_max, 70);
	/* Today at 00:00: the day before is in, at its whole. */
	CHECK_INT(read1(s, "p:+1415", d, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 50);
	CHECK_INT(sig.w[OTP_SIG_SENT].hour, 49);
	/* 15 days on, only today's 100 is left, 14 days back. */
	CHECK_INT(read1(s, "p:+1415", d + 14 * CT_DAY + HOUR, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 100);
	CHECK_INT(read1(s, "p:+1415", d + 15 * CT_DAY, &sig), 0);
	CHECK_INT(sig.w[OTP_SIG_SENT].day_max, 0);
	otp_store_close(s);
}

/* A key never added reads all zero, wherever it is among the keys. */
void ct_signal_zero(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	CHECK_INT(add1(s, "r:NG", 7, 1, "NG", CT_T0), 0);
	const char *keys[3] = {"r:GB", "r:NG", "ip:203.0.113.9"};
	struct otp_signal out[3], zero;
	memset(out, 0x55, sizeof out);
	memset(&zero, 0, sizeof zero);
	CHECK_INT(otp_store_signal_read(s, keys, NULL, 3, CT_T0 + 1000, out),
		  0);
	CHECK(memcmp(&out[0], &zero, sizeof zero) == 0);
	CHECK(memcmp(&out[2], &zero, sizeof zero) == 0);
	CHECK_INT(out[1].w[OTP_SIG_SENT].hour, 7);
	CHECK_INT(out[1].w[OTP_SIG_SENT].day, 7);
	CHECK_INT(out[1].w[OTP_SIG_VERIFIED].hour, 1);
	CHECK_INT(out[1].distinct, 1);
	/* So does a fresh store, and an add of nothing. */
	CHECK_INT(add1(s, "r:GB", 0, 0, "", CT_T0), 0);
	CHECK_INT(otp_store_signal_add(s, NULL, 0, CT_T0), 0);
	CHECK_INT(otp_store_signal_read(s, keys, NULL, 1, CT_T0 + 1000, out),
		  0);
	CHECK(memcmp(&out[0], &zero, sizeof zero) == 0);
	otp_store_close(s);
}

/* A set counts its members seen in the last 48 hours (SEEN). */
void ct_signal_set(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	const char *ip = "ip:192.0.2.1";
	CHECK_INT(add1(s, ip, 1, 0, "US", CT_T0), 0);
	CHECK_INT(add1(s, ip, 1, 0, "CA", CT_T0 + 1000), 0);
	CHECK_INT(add1(s, ip, 1, 0, "US", CT_T0 + HOUR), 0); /* seen again */
	/* A member alone adds nothing to the counters. */
	CHECK_INT(add1(s, ip, 0, 0, "GB", CT_T0 + HOUR), 0);
	CT_DISTINCT_IS(s, ip, CT_T0 + HOUR, 3);
	/* CT_T0 is 800 s into its hour: 1 + floor(2 * 2800 / 3600). */
	CT_WINDOW_IS(s, ip, CT_T0 + HOUR, OTP_SIG_SENT, 2, 3, 0);
	/* CA was seen at CT_T0 + 1000: live until SEEN after, not at. */
	CT_DISTINCT_IS(s, ip, CT_T0 + SEEN + 999, 3);
	CT_DISTINCT_IS(s, ip, CT_T0 + SEEN + 1000, 2);
	CT_DISTINCT_IS(s, ip, CT_T0 + HOUR + SEEN - 1, 2);
	CT_DISTINCT_IS(s, ip, CT_T0 + HOUR + SEEN, 0);
	/* Sets are per key; members are data. */
	CT_DISTINCT_IS(s, "ip:192.0.2.10", CT_T0 + HOUR, 0);
	CHECK_INT(add1(s, "ip:192.0.2.10", 1, 0, "'\"{}:*", CT_T0), 0);
	CHECK_INT(add1(s, "ip:192.0.2.10", 1, 0, "1234567", CT_T0), 0);
	CT_DISTINCT_IS(s, "ip:192.0.2.10", CT_T0 + HOUR, 2);
	CT_DISTINCT_IS(s, ip, CT_T0 + HOUR, 3);
	otp_store_close(s);
}

/* A read can ask whether one member is among a key's live ones, per key;
 * it changes nothing the read says otherwise. */
void ct_signal_seen(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	const char *keys[3] = {"ip:192.0.2.1", "ip:192.0.2.2", "r:US"};
	CHECK_INT(add1(s, keys[0], 1, 0, "US", CT_T0), 0);
	CHECK_INT(add1(s, keys[1], 1, 0, "CA", CT_T0), 0);
	CHECK_INT(add1(s, keys[2], 1, 0, "", CT_T0), 0);
	const char *members[3] = {"US", "US", ""};
	struct otp_signal out[3], plain[3];
	memset(out, 0x55, sizeof out);
	CHECK_INT(otp_store_signal_read(s, keys, members, 3, CT_T0 + 1, out),
		  0);
	CHECK_INT(out[0].seen, 1);
	CHECK_INT(out[1].seen, 0);
	CHECK_INT(out[2].seen, 0);
	CHECK_INT(out[0].distinct, 1);
	CHECK_INT(out[1].distinct, 1);
	CHECK_INT(out[0].distinct_day, 1);
	/* the rest reads as a read without members */
	memset(plain, 0x55, sizeof plain);
	CHECK_INT(otp_store_signal_read(s, keys, NULL, 3, CT_T0 + 1, plain), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(plain[i].seen, 0);
		plain[i].seen = out[i].seen;
		CHECK(memcmp(&plain[i], &out[i], sizeof out[i]) == 0);
	}
	/* a day on, a member is live but not of the last day's ... */
	CHECK_INT(add1(s, keys[0], 1, 0, "CA", CT_T0 + 1000), 0);
	CHECK_INT(otp_store_signal_read(s, keys, members, 1,
					CT_T0 + CT_DAY + 500, out),
		  0);
	CHECK_INT(out[0].distinct, 2);
	CHECK_INT(out[0].distinct_day, 1);
	CHECK_INT(out[0].seen, 1);
	/* ... and it is seen for SEEN, as the set counts it */
	CHECK_INT(
	    otp_store_signal_read(s, keys, members, 1, CT_T0 + SEEN - 1, out),
	    0);
	CHECK_INT(out[0].seen, 1);
	CHECK_INT(otp_store_signal_read(s, keys, members, 1, CT_T0 + SEEN, out),
		  0);
	CHECK_INT(out[0].seen, 0);
	CHECK_INT(out[0].distinct, 1); /* CA, seen later */
	otp_store_close(s);
}

/* A set holding OTP_SIGNAL_SET_MAX live members takes no new one, but
 * sees one it holds again; once members age out there is room. */
void ct_signal_set_max(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	const char *ip = "ip:198.51.100.7";
	for (int i = 0; i < OTP_SIGNAL_SET_MAX; i += 8) {
		struct otp_signal_add a[8];
		for (int k = 0; k < 8; k++) {
			char m[OTP_SIGNAL_MEMBER_MAX];
			snprintf(m, sizeof m, "m%d", i + k);
			a[k] = make_add(ip, 1, 0, m);
		}
		CHECK_INT(otp_store_signal_add(s, a, 8, CT_T0), 0);
	}
	CT_DISTINCT_IS(s, ip, CT_T0, OTP_SIGNAL_SET_MAX);
	CHECK_INT(add1(s, ip, 1, 0, "new", CT_T0 + 1), 0);
	CT_DISTINCT_IS(s, ip, CT_T0 + 1, OTP_SIGNAL_SET_MAX);
	/* The add's counts still go in. */
	CT_WINDOW_IS(s, ip, CT_T0 + 1, OTP_SIG_SENT, OTP_SIGNAL_SET_MAX + 1,
		     OTP_SIGNAL_SET_MAX + 1, 0);
	CHECK_INT(add1(s, ip, 1, 0, "m0", CT_T0 + 2), 0);
	CT_DISTINCT_IS(s, ip, CT_T0 + 2, OTP_SIGNAL_SET_MAX);
	/* SEEN on, only m0 (seen again at CT_T0 + 2) is live: "new" was
	 * never taken, and there is room now. */
	CT_DISTINCT_IS(s, ip, CT_T0 + SEEN + 1, 1);
	CHECK_INT(add1(s, ip, 1, 0, "new", CT_T0 + SEEN + 1), 0);
	CT_DISTINCT_IS(s, ip, CT_T0 + SEEN + 1, 2);
	CT_DISTINCT_IS(s, ip, CT_T0 + SEEN + 3, 1);
	otp_store_close(s);
}

/* Issues c with the given signals and, optionally, a limit and an
 * idempotency key: the store's answer. */
static int issue_sig(struct otp_store *s, const struct otp_code_new *c,
		     const struct otp_signal_add *sig, size_t nsig,
		     const struct otp_limit *lim, const struct otp_idem *idem,
		     int64_t now, struct otp_issue_out *out)
{
	struct otp_issue in = {
	    .code = *c,
	    .idem = idem,
	    .limits = lim,
	    .nlimits = lim ? 1 : 0,
	    .signals = sig,
	    .nsignals = nsig,
	};
	return ct_issue_in(s, &in, now, out);
}

/* code_issue adds its signals in its own step when it writes, and not on
 * a replay, a conflict or a refusal by a limit. */
void ct_signal_issue(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	struct otp_signal_add sig[3] = {
	    make_add("r:US", 1, 0, ""),
	    make_add("ip:192.0.2.1", 1, 0, "US"),
	    make_add("$:US", 7, 0, ""),
	};
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_issue_out o;
	CHECK_INT(issue_sig(s, &c1, sig, 3, NULL, &k, CT_T0, &o), 0);
	CHECK(!o.replayed);
	CT_WINDOW_IS(s, "r:US", CT_T0, OTP_SIG_SENT, 1, 1, 0);
	CT_WINDOW_IS(s, "$:US", CT_T0, OTP_SIG_SENT, 7, 7, 0);
	CT_DISTINCT_IS(s, "ip:192.0.2.1", CT_T0, 1);

	/* A replay writes nothing, signals included; so does a conflict. */
	struct otp_code_new c2 = ct_make_code(2, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(issue_sig(s, &c2, sig, 3, NULL, &k, CT_T0 + 1000, &o), 0);
	CHECK(o.replayed);
	struct otp_code_new c3 = ct_make_code(3, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(issue_sig(s, &c3, sig, 3, NULL, &k, CT_T0 + 1000, &o),
		  OTP_ECONFLICT);
	CT_WINDOW_IS(s, "r:US", CT_T0 + 2000, OTP_SIG_SENT, 1, 1, 0);
	CT_WINDOW_IS(s, "$:US", CT_T0 + 2000, OTP_SIG_SENT, 7, 7, 0);

	/* A limit that refuses: nothing written either. */
	struct otp_limit l = ct_make_limit("ph:" CT_P3, CT_DAY, 1);
	struct otp_code_new c4 = ct_make_code(4, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(issue_sig(s, &c4, sig, 2, &l, NULL, CT_T0 + 3000, &o), 0);
	CT_WINDOW_IS(s, "r:US", CT_T0 + 3000, OTP_SIG_SENT, 2, 2, 0);
	struct otp_code_new c5 = ct_make_code(5, CT_P3, CT_T0 + CT_TTL);
	struct otp_signal_add other = make_add("ip:192.0.2.1", 1, 0, "CA");
	CHECK_INT(issue_sig(s, &c5, &other, 1, &l, NULL, CT_T0 + 4000, &o),
		  OTP_ELIMITED);
	CT_WINDOW_IS(s, "ip:192.0.2.1", CT_T0 + 4000, OTP_SIG_SENT, 2, 2, 0);
	CT_DISTINCT_IS(s, "ip:192.0.2.1", CT_T0 + 4000, 1);
	CT_WINDOW_IS(s, "$:US", CT_T0 + 4000, OTP_SIG_SENT, 7, 7, 0);

	/* An issue adds at its own now. */
	struct otp_code_new c6 = ct_make_code(6, CT_P2, CT_T0 + 3 * HOUR);
	CHECK_INT(
	    issue_sig(s, &c6, &sig[2], 1, NULL, NULL, CT_T0 + 2 * HOUR, &o), 0);
	/* (CT_T0 is 22:13 UTC: CT_T0 + 2 h is the next day) */
	CT_WINDOW_IS(s, "$:US", CT_T0 + 2 * HOUR, OTP_SIG_SENT, 7, 14, 7);
	CT_WINDOW_IS(s, "$:US", CT_T0 + 4000, OTP_SIG_SENT, 7, 7, 0);
	otp_store_close(s);
}

/* Issues code n of phone, expiring at expires_ms, with this credit and
 * owner, at CT_T0: the store's answer. */
static int issue_credit(struct otp_store *s, unsigned n, const char *phone,
			int64_t expires_ms, const char *credit,
			const char *owner, int attempts)
{
	struct otp_code_new c = ct_make_code(n, phone, expires_ms);
	snprintf(c.credit, sizeof c.credit, "%s", credit);
	snprintf(c.owner, sizeof c.owner, "%s", owner);
	c.attempts = attempts;
	struct otp_issue_out o;
	return issue_sig(s, &c, NULL, 0, NULL, NULL, CT_T0, &o);
}

/* How many verified the key counts in its day window at now. */
static int64_t verified(struct otp_store *s, const char *key, int64_t now)
{
	struct otp_signal sig;
	if (read1(s, key, now, &sig) != 0)
		return -1;
	return sig.w[OTP_SIG_VERIFIED].day;
}

/* Tries code n at now with the right or the wrong MAC. */
static int try_code(struct otp_store *s, unsigned n, bool right,
		    const char *owner, int64_t now)
{
	char id[OTP_ID_LEN + 1];
	snprintf(id, sizeof id, "%032x", n);
	struct otp_verify_in in = ct_make_try(id, right ? CT_RIGHT : CT_WRONG);
	snprintf(in.expect_owner, sizeof in.expect_owner, "%s", owner);
	struct otp_verify_out out;
	return ct_verify(s, &in, now, &out);
}

/* code_verify credits the code's keys (one verified each, at its own
 * now) in the same step as an accepted try, and never otherwise. */
void ct_signal_verify_credit(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t exp = CT_T0 + 3 * HOUR;
	CHECK_INT(issue_credit(s, 1, CT_P1, exp,
			       "r:US p:+1415 ip:192.0.2.1 n:192.0.2.0/24", "",
			       5),
		  0);
	CHECK_INT(try_code(s, 1, false, "", CT_T0 + 1000), OTP_VERIFY_WRONG);
	CHECK_INT(verified(s, "r:US", CT_T0 + 1000), 0);
	CHECK_INT(try_code(s, 1, true, "", CT_T0 + 2 * HOUR), OTP_VERIFY_OK);
	static const char *const keys[] = {"r:US", "p:+1415", "ip:192.0.2.1",
					   "n:192.0.2.0/24"};
	for (size_t i = 0; i < 4; i++) {
		CT_WINDOW_IS(s, keys[i], CT_T0 + 2 * HOUR, OTP_SIG_VERIFIED, 1,
			     1, 0);
		CT_WINDOW_IS(s, keys[i], CT_T0 + 2 * HOUR, OTP_SIG_SENT, 0, 0,
			     0);
		/* at the verify's now, not the issue's */
		CHECK_INT(verified(s, keys[i], CT_T0 + 1000), 0);
	}
	CHECK_INT(verified(s, "r:UK", CT_T0 + 2 * HOUR), 0);
	CHECK_INT(verified(s, "p:+141", CT_T0 + 2 * HOUR), 0);
	/* Used: no second credit. */
	CHECK_INT(try_code(s, 1, true, "", CT_T0 + 2 * HOUR), OTP_VERIFY_USED);
	CHECK_INT(verified(s, "r:US", CT_T0 + 2 * HOUR), 1);

	/* Expired, dead, another owner's, retired: never. */
	CHECK_INT(issue_credit(s, 2, CT_P2, CT_T0 + CT_TTL, "r:US", "", 5), 0);
	CHECK_INT(try_code(s, 2, true, "", CT_T0 + CT_TTL), OTP_VERIFY_EXPIRED);
	CHECK_INT(issue_credit(s, 3, CT_P3, exp, "r:US", "", 1), 0);
	CHECK_INT(try_code(s, 3, false, "", CT_T0 + 1000), OTP_VERIFY_WRONG);
	CHECK_INT(try_code(s, 3, true, "", CT_T0 + 2000), OTP_VERIFY_DEAD);
	CHECK_INT(
	    issue_credit(s, 4, CT_P1, exp, "r:US", "k:aaaaaaaaaaaaaaaa", 5), 0);
	CHECK_INT(try_code(s, 4, true, "k:bbbbbbbbbbbbbbbb", CT_T0 + 3000),
		  OTP_VERIFY_NOTFOUND);
	CHECK_INT(issue_credit(s, 5, CT_P2, exp, "r:US", "", 5), 0);
	CHECK_INT(issue_credit(s, 6, CT_P2, exp, "r:US", "", 5), 0);
	CHECK_INT(try_code(s, 5, true, "", CT_T0 + 4000), OTP_VERIFY_DEAD);
	CHECK_INT(try_code(s, 99, true, "", CT_T0 + 4000), OTP_VERIFY_NOTFOUND);
	CHECK_INT(verified(s, "r:US", CT_T0 + 2 * HOUR), 1);

	/* The owner's own try counts; so does the newest code of a phone. */
	CHECK_INT(try_code(s, 4, true, "k:aaaaaaaaaaaaaaaa", CT_T0 + 2 * HOUR),
		  OTP_VERIFY_OK);
	CHECK_INT(try_code(s, 6, true, "", CT_T0 + 2 * HOUR), OTP_VERIFY_OK);
	CHECK_INT(verified(s, "r:US", CT_T0 + 2 * HOUR), 3);

	/* No credit: nothing; extra spaces are no keys. */
	CHECK_INT(issue_credit(s, 7, CT_P3, exp, "", "", 5), 0);
	CHECK_INT(try_code(s, 7, true, "", CT_T0 + 2 * HOUR), OTP_VERIFY_OK);
	CHECK_INT(issue_credit(s, 8, CT_P1, exp, " r:US  a: ", "", 5), 0);
	CHECK_INT(try_code(s, 8, true, "", CT_T0 + 2 * HOUR), OTP_VERIFY_OK);
	CHECK_INT(verified(s, "r:US", CT_T0 + 2 * HOUR), 4);
	CHECK_INT(verified(s, "a:", CT_T0 + 2 * HOUR), 1);
	CHECK_INT(verified(s, "", CT_T0 + 2 * HOUR), 0);
	otp_store_close(s);
}

/* purge drops hour buckets older than 25 hours, day buckets older than 15
 * days and members not seen in 24 hours, and keeps the rest. What it
 * dropped shows when the store is read back at an earlier time. */
void ct_signal_purge(void)
{
	struct otp_store *s = ct_open();
	CHECK(s);
	int64_t p = day_of(CT_T0) + 30 * CT_DAY + 12 * HOUR;
	const char *k = "r:US", *ip = "ip:192.0.2.1";
	CHECK_INT(add1(s, k, 11, 0, "", p - 25 * HOUR), 0);
	CHECK_INT(add1(s, k, 7, 0, "", p - 24 * HOUR), 0);
	CHECK_INT(add1(s, k, 1000, 0, "", p - 15 * CT_DAY), 0);
	CHECK_INT(add1(s, k, 50, 0, "", p - 14 * CT_DAY), 0);
	CHECK_INT(add1(s, ip, 0, 0, "US", p - SEEN), 0);
	CHECK_INT(add1(s, ip, 0, 0, "CA", p - SEEN + 1), 0);
	/* Before: all of it (at p - 24 h, days p - 15 .. p - 2 count). */
	CT_WINDOW_IS(s, k, p - 24 * HOUR, OTP_SIG_SENT, 18, 18, 1000);
	CT_DISTINCT_IS(s, ip, p - 1000, 2);

	long removed = -1;
	CHECK_INT(otp_store_purge(s, p, &removed), 0);
	CHECK(removed >= 0);
	/* What is live at p stays... */
	CT_WINDOW_IS(s, k, p, OTP_SIG_SENT, 0, 0, 50);
	CT_DISTINCT_IS(s, ip, p, 1);
	/* ...the hour of p - 24 h is kept, the one before it is gone, and
	 * so is the day of p - 15 days (the day of p - 14 days stays)... */
	CT_WINDOW_IS(s, k, p - 24 * HOUR, OTP_SIG_SENT, 7, 7, 50);
	CT_WINDOW_IS(s, k, p - 25 * HOUR, OTP_SIG_SENT, 0, 0, 50);
	/* ...and the member seen exactly SEEN before p. */
	CT_DISTINCT_IS(s, ip, p - 1000, 1);
	/* A second purge finds nothing more to take. */
	CHECK_INT(otp_store_purge(s, p, &removed), 0);
	CT_WINDOW_IS(s, k, p - 24 * HOUR, OTP_SIG_SENT, 7, 7, 50);
	otp_store_close(s);
}
