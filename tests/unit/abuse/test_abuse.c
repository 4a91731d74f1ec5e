/* test_abuse.c - the abuse module: its lists, a send's scopes, each rule
 * on views made by hand, and the whole check through the engine over a
 * real SQLite store with an injected clock (a burst is blocked, the
 * allow list and monitor mode pass it, the spend cap refuses). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "abuse/abuse.h"
#include "abuse/lists.h"
#include "abuse/scopes.h"
#include "core/config.h"
#include "core/err.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "harness.h"
#include "store/store.h"

extern const struct otp_abuse_rule otp_rule_prefix;
extern const struct otp_abuse_rule otp_rule_region;
extern const struct otp_abuse_rule otp_rule_ip;
extern const struct otp_abuse_rule otp_rule_ip_spread;

static void money_and_caps(void)
{
	struct otp_caps c;
	char err[160];
	CHECK_INT(otp_money_parse("0.0079", 6), 7900);
	CHECK_INT(otp_money_parse("12", 2), 12000000);
	CHECK_INT(otp_money_parse("1.5", 3), 1500000);
	CHECK_INT(otp_money_parse("", 0), -1);
	CHECK_INT(otp_money_parse("1e3", 3), -1);
	CHECK_INT(otp_money_parse("-1", 2), -1);
	CHECK_INT(otp_caps_parse("50, NG=5,US=20.5", &c, err, sizeof err), 0);
	CHECK_INT(c.all, 50000000);
	CHECK_INT(otp_caps_region(&c, "NG"), 5000000);
	CHECK_INT(otp_caps_region(&c, "US"), 20500000);
	CHECK_INT(otp_caps_region(&c, "GB"), 0);
	CHECK_INT(otp_caps_parse("NG=0", &c, err, sizeof err), OTP_EVALUE);
	CHECK_INT(otp_caps_parse("ng=1", &c, err, sizeof err), OTP_EVALUE);
	/* OTP_CAPS_MAX regions fit, one more is refused */
	char many[(OTP_CAPS_MAX + 1) * 5 + 1] = "";
	for (int i = 0; i <= OTP_CAPS_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many),
			 "%s%c%c=1", i ? "," : "", 'A' + i / 26, 'A' + i % 26);
	CHECK_INT(otp_caps_parse(many, &c, err, sizeof err), OTP_EVALUE);
	CHECK(strstr(err, "one too many caps") != NULL);
	many[strlen(many) - 5] = '\0';
	CHECK_INT(otp_caps_parse(many, &c, err, sizeof err), 0);
	CHECK_INT(c.n, OTP_CAPS_MAX);
	CHECK_INT(otp_caps_region(&c, "CL"), OTP_MONEY_UNIT);
	CHECK_INT(otp_caps_region(&c, "CM"), 0);
}

static void prices_csv(void)
{
	char path[] = "/tmp/otpd-prices-XXXXXX";
	struct otp_prices p;
	char err[160];
	int fd = mkstemp(path);
	const char text[] = "region,price\n# comment\nUS,0.0079\nNG, 0.30\n"
			    "*,0.05\n";
	CHECK(fd >= 0 && write(fd, text, sizeof text - 1) > 0);
	close(fd);
	CHECK_INT(otp_prices_load(path, &p, err, sizeof err), 0);
	CHECK_INT(otp_prices_region(&p, "US"), 7900);
	CHECK_INT(otp_prices_region(&p, "NG"), 300000);
	CHECK_INT(otp_prices_region(&p, "FR"), 50000);
	CHECK_INT(otp_prices_load("", &p, err, sizeof err), 0);
	CHECK_INT(otp_prices_region(&p, "US"), OTP_MONEY_UNIT);
	CHECK_INT(otp_prices_load("/nonexistent/x.csv", &p, err, sizeof err),
		  OTP_EVALUE);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "US,0.1\nUSA,1\n", 13) == 13);
	close(fd);
	CHECK_INT(otp_prices_load(path, &p, err, sizeof err), OTP_EVALUE);
	CHECK(strstr(err, "line 2") != NULL);
	unlink(path);
}

static void allow_list(void)
{
	struct otp_allow a;
	char err[160];
	CHECK_INT(otp_allow_parse("+1415, 192.0.2.0/24,key:0123456789abcdef,"
				  "2001:db8::/32",
				  &a, err, sizeof err),
		  0);
	CHECK(otp_allow_has(&a, "+14155550100", NULL, NULL));
	CHECK(!otp_allow_has(&a, "+14165550100", NULL, NULL));
	CHECK(otp_allow_has(&a, "+4477", "192.0.2.9", NULL));
	CHECK(otp_allow_has(&a, "+4477", "2001:db8::1", NULL));
	CHECK(!otp_allow_has(&a, "+4477", "192.0.3.9", NULL));
	CHECK(otp_allow_has(&a, "+4477", NULL, "0123456789abcdef"));
	CHECK(!otp_allow_has(&a, "+4477", NULL, "0123456789abcdee"));
	CHECK_INT(otp_allow_parse("+14a", &a, err, sizeof err), OTP_EVALUE);
	CHECK_INT(otp_allow_parse("nothing", &a, err, sizeof err), OTP_EVALUE);
}

static void scopes_of_a_send(void)
{
	struct otp_abuse_view v;
	char credit[OTP_CREDIT_MAX];
	memset(&v, 0, sizeof v);
	otp_abuse_scopes("+14165550100", "192.0.2.77", NULL, 3, &v);
	CHECK_STR(v.region, "CA"); /* +1 416 is Toronto, not the US */
	CHECK_STR(v.key[OTP_AS_REGION], "r:CA");
	CHECK_STR(v.key[OTP_AS_PREFIX], "p:+1416");
	CHECK_STR(v.key[OTP_AS_IP], "ip:192.0.2.77");
	CHECK_STR(v.key[OTP_AS_NET], "n:192.0.2.0/24");
	CHECK_STR(v.key[OTP_AS_KEY], "");
	CHECK_STR(v.key[OTP_AS_ALL], "a:");
	otp_abuse_credit_of(&v, credit);
	CHECK_STR(credit, "r:CA p:+1416 ip:192.0.2.77 n:192.0.2.0/24 a:");
	memset(&v, 0, sizeof v);
	otp_abuse_scopes("+447400123456", "2001:db8:1:2:3:4:5:6",
			 "0123456789abcdef", 2, &v);
	CHECK_STR(v.region, "GB");
	CHECK_STR(v.key[OTP_AS_PREFIX], "p:+4474");
	CHECK_STR(v.key[OTP_AS_NET], "n:2001:db8:1:2::/64");
	CHECK_STR(v.key[OTP_AS_KEY], "k:0123456789abcdef");
}

/* A view whose scope sc sent `sent` and verified `verified` in the last
 * hour and day, with `history` accepted codes on its peak day. */
static struct otp_abuse_view view(enum otp_abuse_scope sc, int64_t sent,
				  int64_t verified, int64_t history)
{
	struct otp_abuse_view v;
	memset(&v, 0, sizeof v);
	otp_abuse_scopes("+14155550100", "192.0.2.1", NULL, 3, &v);
	struct otp_signal *s = &v.sig[sc];
	s->w[OTP_SIG_SENT].hour = s->w[OTP_SIG_SENT].day = sent;
	s->w[OTP_SIG_VERIFIED].hour = s->w[OTP_SIG_VERIFIED].day = verified;
	s->w[OTP_SIG_VERIFIED].day_max = history;
	return v;
}

static enum otp_abuse_action ask(const struct otp_abuse_rule *r,
				 struct otp_abuse_view v)
{
	enum otp_abuse_scope sc;
	return r->eval(&v, &sc);
}

/* The verdicts the rules must give on view(sc, sent, verified, history):
 * each rule's test checks its own rows. */
static const struct verdict {
	const struct otp_abuse_rule *rule;
	enum otp_abuse_scope sc;
	int64_t sent, verified, history;
	enum otp_abuse_action want;
} verdicts[] = {
    /* prefix: new traffic, three unverified sends trip it */
    {&otp_rule_prefix, OTP_AS_PREFIX, 2, 0, 0, OTP_AA_PASS},
    {&otp_rule_prefix, OTP_AS_PREFIX, 3, 0, 0, OTP_AA_BLOCK},
    /* converting traffic never does, however busy */
    {&otp_rule_prefix, OTP_AS_PREFIX, 400, 340, 500, OTP_AA_PASS},
    /* a prefix with history is refused first (the refusal heals when its
     * people type their codes), blocked past a higher floor */
    {&otp_rule_prefix, OTP_AS_PREFIX, 2, 0, 30, OTP_AA_PASS},
    {&otp_rule_prefix, OTP_AS_PREFIX, 9, 0, 30, OTP_AA_REFUSE},
    {&otp_rule_prefix, OTP_AS_PREFIX, 10, 0, 30, OTP_AA_BLOCK},
    {&otp_rule_prefix, OTP_AS_PREFIX, 40, 2, 30, OTP_AA_BLOCK},
    /* a busy prefix's floor grows with it: 19 sent, 9 verified in an hour
     * passes where its peak day is 480 accepted codes */
    {&otp_rule_prefix, OTP_AS_PREFIX, 19, 9, 480, OTP_AA_PASS},
    /* poisoned: 10 % verified by the attacker itself */
    {&otp_rule_prefix, OTP_AS_PREFIX, 50, 5, 30, OTP_AA_BLOCK},
    /* region: one we serve steps up, one we do not is blocked */
    {&otp_rule_region, OTP_AS_REGION, 300, 100, 2400, OTP_AA_STEPUP},
    {&otp_rule_region, OTP_AS_REGION, 30, 0, 0, OTP_AA_BLOCK},
    /* a launch spike converts: it passes */
    {&otp_rule_region, OTP_AS_REGION, 500, 400, 2400, OTP_AA_PASS},
    {&otp_rule_region, OTP_AS_REGION, 9, 0, 0, OTP_AA_PASS},
    /* ip, and its /24 */
    {&otp_rule_ip, OTP_AS_IP, 12, 1, 0, OTP_AA_BLOCK},
    {&otp_rule_ip, OTP_AS_IP, 9, 0, 0, OTP_AA_PASS},
    /* a carrier NAT in front of many users converts */
    {&otp_rule_ip, OTP_AS_IP, 900, 760, 800, OTP_AA_PASS},
    {&otp_rule_ip, OTP_AS_NET, 30, 0, 0, OTP_AA_BLOCK},
};

/* Asks rule for each of its rows of verdicts[]; fails the running test at
 * the first wrong answer (or when the rule has no rows). */
#define CHECK_VERDICTS(r)                                                      \
	do {                                                                   \
		check_verdicts(r);                                             \
		if (harness_failed_)                                           \
			return;                                                \
	} while (0)

static void check_verdicts(const struct otp_abuse_rule *rule)
{
	int rows = 0;
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		const struct verdict *c = &verdicts[i];
		if (c->rule != rule)
			continue;
		rows++;
		enum otp_abuse_action got =
		    ask(rule, view(c->sc, c->sent, c->verified, c->history));
		HARNESS_FAIL_IF(
		    got != c->want,
		    "%s on %s %" PRId64 " sent, %" PRId64 " verified, %" PRId64
		    " on its peak day: %s, expected %s",
		    rule->name, otp_abuse_scope_names[c->sc], c->sent,
		    c->verified, c->history, otp_abuse_action_names[got],
		    otp_abuse_action_names[c->want]);
	}
	HARNESS_FAIL_IF(rows == 0, "%s: no verdicts to check", rule->name);
}

static void prefix_rule(void)
{
	CHECK_VERDICTS(&otp_rule_prefix);
	/* refusals that go on coming turn into a block */
	struct otp_abuse_view r = view(OTP_AS_PREFIX, 6, 0, 30);
	CHECK_INT(ask(&otp_rule_prefix, r), OTP_AA_REFUSE);
	r.refused.w[OTP_SIG_SENT].hour = 6;
	CHECK_INT(ask(&otp_rule_prefix, r), OTP_AA_BLOCK);
	/* a block that ends into an hour of refused traffic far above the
	 * prefix's own (12 an hour, or three times its typical hour) is
	 * blocked again at once, with nothing unverified yet */
	struct otp_abuse_view e = view(OTP_AS_PREFIX, 0, 0, 30);
	e.refused.w[OTP_SIG_SENT].hour = 11;
	CHECK_INT(ask(&otp_rule_prefix, e), OTP_AA_PASS);
	e.refused.w[OTP_SIG_SENT].hour = 12;
	CHECK_INT(ask(&otp_rule_prefix, e), OTP_AA_BLOCK);
	/* a busy prefix's own refused people do not: 480 accepted codes on
	 * its peak day is 20 an hour, 60 refused is the floor */
	e = view(OTP_AS_PREFIX, 0, 0, 480);
	e.refused.w[OTP_SIG_SENT].hour = 59;
	CHECK_INT(ask(&otp_rule_prefix, e), OTP_AA_PASS);
	e.refused.w[OTP_SIG_SENT].hour = 60;
	CHECK_INT(ask(&otp_rule_prefix, e), OTP_AA_BLOCK);
}

static void region_rule(void)
{
	CHECK_VERDICTS(&otp_rule_region);
}

static void ip_rules(void)
{
	/* an address that never had a code accepted: its second region is
	 * blocked; the same region again (a retry) passes */
	struct otp_abuse_view v = view(OTP_AS_IP, 1, 0, 0);
	v.login = true;
	v.sig[OTP_AS_IP].distinct = 1;
	v.sig[OTP_AS_IP].seen = 1;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	v.sig[OTP_AS_IP].seen = 0;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_BLOCK);
	/* the provider API's address is the app server's: not this rule */
	v.login = false;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	/* nor is a loopback client (a developer, a proxy not trusted) */
	v.login = true;
	snprintf(v.key[OTP_AS_IP], sizeof v.key[OTP_AS_IP], "ip:127.0.0.1");
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	snprintf(v.key[OTP_AS_IP], sizeof v.key[OTP_AS_IP], "ip:::1");
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	/* one with accepted codes (an office, a carrier NAT): a step-up at
	 * two regions, a block at four */
	v = view(OTP_AS_IP, 40, 30, 25);
	v.login = true;
	v.sig[OTP_AS_IP].distinct = v.sig[OTP_AS_IP].distinct_day = 1;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	v.sig[OTP_AS_IP].distinct = v.sig[OTP_AS_IP].distinct_day = 2;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_STEPUP);
	v.sig[OTP_AS_IP].seen = 1;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_STEPUP);
	/* ... counted over the last 24 hours */
	v.sig[OTP_AS_IP].distinct = 5;
	v.sig[OTP_AS_IP].distinct_day = 1;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	v.sig[OTP_AS_IP].distinct_day = 4;
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_BLOCK);
	v.key[OTP_AS_IP][0] = '\0'; /* no client address: nothing to say */
	CHECK_INT(ask(&otp_rule_ip_spread, v), OTP_AA_PASS);
	CHECK_VERDICTS(&otp_rule_ip);
}

/* --- the whole check, through the engine, on a real store --- */

/* A fresh engine and store, with one more option (a1 and its value a2)
 * when a1 is not NULL. */
static void setup(const char *a1, const char *a2)
{
	char *argv[] = {
	    "otpd", "--limit-phone", "0",	 "--resend-cooldown",
	    "0",    (char *)a1,	     (char *)a2, NULL};
	engine_fixture_setup(argv);
}

static int send_to(const char *phone, const char *ip)
{
	struct otp_send_out out;
	return engine_fixture_send(phone, NULL, ip, NULL, &out);
}

/* n sends to numbers of one fresh prefix, each from its own address;
 * how many went. */
static int burst(int n)
{
	char phone[20], ip[20];
	int went = 0;
	for (int i = 0; i < n; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 1000 + i);
		snprintf(ip, sizeof ip, "10.%d.%d.1", i / 200, i % 200);
		now += 1000;
		went += send_to(phone, ip) == 0;
	}
	return went;
}

static void burst_is_blocked(void)
{
	setup(NULL, NULL); /* the default: enforce */
	CHECK_INT(burst(50), 3);
	/* the block holds for another prefix's numbers? no: only its own */
	CHECK_INT(send_to("+14165550123", "10.9.9.9"), 0);
	CHECK_INT(send_to("+14155550999", "10.9.9.8"), OTP_EFRAUD);
	struct otp_block rows[4];
	size_t n = 0;
	CHECK_INT(otp_store_block_list(st, rows, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(rows[0].key, "p:+1415");
	CHECK_STR(rows[0].rule, "prefix_conversion");
	CHECK_INT(rows[0].until_ms - rows[0].created_ms, 43200 * 1000LL);
	CHECK_INT(rows[0].strikes, 1);
	/* 12 h later it is over; refused sends were never counted, so the
	 * day holds the three that went: two more go, and at five
	 * unverified in 24 h the prefix is blocked again, twice as long */
	now = rows[0].until_ms;
	CHECK_INT(send_to("+14155550998", "10.9.9.7"), 0);
	CHECK_INT(send_to("+14155550997", "10.9.9.6"), 0);
	CHECK_INT(send_to("+14155550996", "10.9.9.5"), OTP_EFRAUD);
	CHECK_INT(otp_store_block_list(st, rows, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(rows[0].strikes, 2);
	CHECK_INT(rows[0].until_ms - now, 2 * 43200 * 1000LL);
}

/* The provider API: six scopes (its key too), the same rules. */
static void provider_api_burst_is_blocked(void)
{
	setup(NULL, NULL);
	char phone[20];
	int went = 0, refused = 0;
	for (int i = 0; i < 8; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 3000 + i);
		struct otp_api_send_in in = {.phone = phone,
					     .phone_len = strlen(phone),
					     .key_id = "0123456789abcdef",
					     .now = now += 1000,
					     .ip = "203.0.113.9"};
		struct otp_api_send_out out;
		int rc = otp_engine_api_send(&eng, st, &in, &out);
		went += rc == 0;
		refused += rc == OTP_EFRAUD;
	}
	CHECK_INT(went, 3);
	CHECK_INT(refused, 5);
}

static void allow_list_and_monitor_pass_it(void)
{
	setup("--fraud-allow", "+1415555");
	CHECK_INT(burst(50), 50);
	setup("--fraud", "monitor");
	CHECK_INT(burst(50), 50);
	struct otp_block rows[4];
	size_t n = 9;
	CHECK_INT(otp_store_block_list(st, rows, 4, &n), 0);
	CHECK_INT(n, 0); /* monitor changes nothing */
	setup("--fraud", "off");
	CHECK_INT(burst(50), 50);
}

static void spend_cap_refuses(void)
{
	setup("--spend-cap-hour", "3");
	char phone[20];
	int went = 0, refused = 0;
	for (int i = 0; i < 6; i++) {
		snprintf(phone, sizeof phone, "+4474001234%02d", i);
		int rc = send_to(phone, NULL);
		went += rc == 0;
		refused += rc == OTP_ESPEND;
	}
	CHECK_INT(went, 3);
	CHECK_INT(refused, 3);
	now += 2 * 3600 * 1000LL; /* the window has room again */
	CHECK_INT(send_to("+447400123499", NULL), 0);
}

static const struct harness_test tests[] = {
    TEST(money_and_caps),
    TEST(prices_csv),
    TEST(allow_list),
    TEST(scopes_of_a_send),
    TEST(prefix_rule),
    TEST(region_rule),
    TEST(ip_rules),
    TEST(burst_is_blocked),
    TEST(provider_api_burst_is_blocked),
    TEST(allow_list_and_monitor_pass_it),
    TEST(spend_cap_refuses),
};

ENGINE_FIXTURE_MAIN("abuse", tests)
