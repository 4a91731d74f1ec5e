/* world.c - the simulator's countries: their share of legit users, their
 * daily curve, and the mobile number prefixes libphonenumber finds valid.
 *
 * Each country starts from one valid mobile (libphonenumber's example
 * number for the type, as a national significant number). Its prefixes
 * (the calling code plus the 3 digits --fraud-prefix-digits counts) are
 * found, not listed: every 3-digit start with one of the country's
 * leading digits is tried with random endings of the example's length, and
 * kept when some of them parse as a valid mobile (or fixed-line-or-mobile)
 * through the same parse and type list the engine applies to a send
 * (core/phone.h, the default --sms-number-types) and in the region the
 * engine will see (otp_phone_region). The United States, where
 * the 3 digits are an area code shared by the whole +1 plan (Canada,
 * Jamaica, ...), is given US area codes instead. A phone is a prefix with a
 * random ending that parses; the engine sees the same number.
 *
 * Randomness here is the world's own (a fixed seed), so every run and seed
 * sees the same number space; the traffic's seed picks from it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "sim.h"

/* clang-format off */
const struct sim_country sim_countries[] = {
	/* iso  cc     example        lead         prefixes utc  share */
	{"US", "1",   "2015550123",  "",           NULL,    -5, 0.22},
	{"IN", "91",  "8123456789",  "6789",       NULL,     5, 0.18},
	{"BR", "55",  "11961234567", "123456789",  NULL,    -3, 0.10},
	{"GB", "44",  "7400123456",  "7",          NULL,     1, 0.08},
	{"ID", "62",  "812345678",   "8",          NULL,     7, 0.08},
	{"NG", "234", "8021234567",  "789",        NULL,     1, 0.06},
	/* the long tail: about 28 % in all */
	{"DE", "49",  "15123456789", "1",          NULL,     2, 0.030},
	{"FR", "33",  "612345678",   "67",         NULL,     2, 0.025},
	{"MX", "52",  "2221234567",  "2345689",    NULL,    -6, 0.025},
	{"PH", "63",  "9051234567",  "9",          NULL,     8, 0.020},
	{"PK", "92",  "3012345678",  "3",          NULL,     5, 0.020},
	{"EG", "20",  "1001234567",  "1",          NULL,     3, 0.015},
	{"VN", "84",  "912345678",   "35789",      NULL,     7, 0.015},
	{"TR", "90",  "5012345678",  "5",          NULL,     3, 0.015},
	{"ES", "34",  "612345678",   "67",         NULL,     2, 0.012},
	{"IT", "39",  "3123456789",  "3",          NULL,     2, 0.012},
	{"KE", "254", "712123456",   "17",         NULL,     3, 0.012},
	{"ZA", "27",  "711234567",   "678",        NULL,     2, 0.012},
	{"CO", "57",  "3211234567",  "3",          NULL,    -5, 0.010},
	{"AR", "54",  "91123456789", "9",          NULL,    -3, 0.010},
	{"BD", "880", "1812345678",  "1",          NULL,     6, 0.010},
	{"TH", "66",  "812345678",   "689",        NULL,     7, 0.010},
	{"MY", "60",  "123456789",   "1",          NULL,     8, 0.008},
	{"SA", "966", "512345678",   "5",          NULL,     3, 0.008},
	{"PL", "48",  "512345678",   "5678",       NULL,     2, 0.007},
	{"NL", "31",  "612345678",   "6",          NULL,     2, 0.006},
	/* no legit traffic at all (only the slow-and-low attack goes there) */
	{"UZ", "998", "912345678",   "9",          NULL,     5, 0},
	{"KG", "996", "700123456",   "257",        NULL,     6, 0},
	{"TJ", "992", "917123456",   "9",          NULL,     5, 0},
	{"LK", "94",  "712345678",   "7",          NULL,     5, 0},
	{"NP", "977", "9841234567",  "9",          NULL,     6, 0},
	{"KH", "855", "91234567",    "19",         NULL,     7, 0},
	{"ET", "251", "911234567",   "9",          NULL,     3, 0},
	{"GH", "233", "231234567",   "25",         NULL,     0, 0},
	{"MA", "212", "650123456",   "67",         NULL,     1, 0},
	{"UA", "380", "501234567",   "5679",       NULL,     3, 0},
};
/* clang-format on */
const int sim_ncountries = sizeof sim_countries / sizeof sim_countries[0];

/* US area codes (the +1 plan's 3 digits; Canada and the Caribbean excluded). */
static const char us_areas[] =
    "201,202,203,205,206,207,208,209,210,212,213,214,215,216,217,218,219,"
    "224,225,228,229,231,234,239,240,248,251,252,253,254,256,260,262,267,"
    "269,270,276,281,301,302,303,304,305,307,308,309,310,312,313,314,315,"
    "316,317,318,319,320,321,323,330,334,336,337,339,347,352,360,361,386,"
    "401,402,404,405,406,407,408,409,410,412,413,414,415,417,419,423,424,"
    "425,432,434,435,440,443,469,478,479,480,484,501,502,503,504,505,507,"
    "508,509,510,512,513,515,516,517,518,520,530,540,541,551,559,561,562,"
    "563,570,571,573,574,580,585,586,601,602,603,605,606,607,608,609,610";

/* People send codes when they are awake: a local-hour curve (per mille of
 * the day), low at 4:00, highest in the evening. */
static const int local_curve[24] = {25, 15, 10, 8,  7,	10, 18, 32,
				    45, 52, 55, 56, 57, 55, 54, 54,
				    55, 58, 62, 66, 66, 60, 48, 32};

double sim_world_curve(const struct sim_country *c, int utc_hour)
{
	static int sum;
	if (!sum)
		for (int i = 0; i < 24; i++)
			sum += local_curve[i];
	int h = ((utc_hour + c->utc_offset_h) % 24 + 24) % 24;
	return (double)local_curve[h] / sum;
}

static const struct otp_phone_rules rules = {
    NULL, "mobile,fixed-line-or-mobile", NULL};

/* "+<cc><digits>" as the engine would see it: 0 when it is a valid
 * mobile of this country's region (not another region of its calling
 * code: +44 7624 is the Isle of Man). */
static int check(const struct sim_country *c, const char *nat,
		 char out[OTP_PHONE_MAX])
{
	char in[32], region[3];
	int n = snprintf(in, sizeof in, "+%s%s", c->cc, nat);
	int rc = otp_phone_parse(&rules, in, (size_t)n, out, NULL);
	if (rc < 0)
		return rc;
	otp_phone_region(out, region);
	return strcmp(region, c->iso) == 0 ? 0 : OTP_EPHONE;
}

static void random_tail(struct sim_rng *r, char *p, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (char)('0' + sim_rng_range(r, 0, 9));
	p[n] = '\0';
}

/* A quarter of random numbers under this prefix are valid mobiles (2 of
 * 8): a prefix whose next digit picks an area code (Argentina's 9 22x)
 * holds valid ranges beside invalid ones; sim_world_phone finds them. */
static bool prefix_ok(const struct sim_country *c, const char pfx[4],
		      int nat_len, struct sim_rng *r)
{
	char nat[20], e164[OTP_PHONE_MAX];
	int good = 0;
	for (int i = 0; i < 8 && good < 2; i++) {
		memcpy(nat, pfx, 3);
		random_tail(r, nat + 3, nat_len - 3);
		good += check(c, nat, e164) == 0;
	}
	return good >= 2;
}

static void add_prefix(struct sim_pool *p, const char *pfx)
{
	if (p->nprefix < SIM_PREFIX_MAX)
		memcpy(p->prefix[p->nprefix++], pfx, 4);
}

static int pool_init(struct sim_pool *p, const struct sim_country *c,
		     struct sim_rng *r)
{
	char e164[OTP_PHONE_MAX], pfx[4] = {0};
	memset(p, 0, sizeof *p);
	p->c = c;
	p->nat_len = (int)strlen(c->example);
	if (check(c, c->example, e164) < 0) {
		fprintf(stderr,
			"abuse-sim: %s example +%s%s is not a valid "
			"mobile\n",
			c->iso, c->cc, c->example);
		return -1;
	}
	const char *list = c->prefixes		       ? c->prefixes
			   : strcmp(c->iso, "US") == 0 ? us_areas
						       : NULL;
	if (list) {
		for (const char *s = list; strlen(s) >= 3; s += 4) {
			memcpy(pfx, s, 3);
			if (prefix_ok(c, pfx, p->nat_len, r))
				add_prefix(p, pfx);
			if (!s[3])
				break;
		}
	} else {
		/* every candidate first, then a fixed shuffle: which ones are
		 * kept when there are more than SIM_PREFIX_MAX is not biased
		 * to low digits */
		static char cand[1000][4];
		int n = 0;
		for (const char *d = c->lead; *d; d++)
			for (int i = 0; i < 100; i++) {
				snprintf(cand[n], 4, "%c%02d", *d, i);
				n++;
			}
		for (int i = n - 1; i > 0; i--) {
			int j = (int)sim_rng_range(r, 0, i);
			char t[4];
			memcpy(t, cand[i], 4);
			memcpy(cand[i], cand[j], 4);
			memcpy(cand[j], t, 4);
		}
		for (int i = 0; i < n && p->nprefix < SIM_PREFIX_MAX; i++)
			if (prefix_ok(c, cand[i], p->nat_len, r))
				add_prefix(p, cand[i]);
	}
	if (p->nprefix == 0) {
		fprintf(stderr, "abuse-sim: %s: no valid prefix found\n",
			c->iso);
		return -1;
	}
	/* Legit users by prefix: Zipf (s = 1.1) over the prefixes in the
	 * order found (the shuffle's), so every country has a few big
	 * prefixes and a long tail of small ones. */
	double sum = 0;
	for (int i = 0; i < p->nprefix; i++) {
		sum += 1.0 / pow(i + 1, 1.1);
		p->zipf[i] = sum;
	}
	for (int i = 0; i < p->nprefix; i++)
		p->zipf[i] /= sum;
	return 0;
}

int sim_world_init(struct sim_world *w)
{
	struct sim_rng r;
	double sum = 0;
	sim_rng_seed(&r, 0x5eedf00d, 0);
	memset(w, 0, sizeof *w);
	if (sim_ncountries > SIM_COUNTRIES)
		return -1;
	w->ncountries = sim_ncountries;
	for (int i = 0; i < sim_ncountries; i++) {
		if (pool_init(&w->pool[i], &sim_countries[i], &r) < 0)
			return -1;
		sum += sim_countries[i].share;
		w->share_cum[i] = sum;
	}
	for (int i = 0; i < sim_ncountries; i++)
		w->share_cum[i] /= sum;
	return 0;
}

int sim_world_find(const struct sim_world *w, const char *iso)
{
	for (int i = 0; i < w->ncountries; i++)
		if (strcmp(w->pool[i].c->iso, iso) == 0)
			return i;
	return -1;
}

static int pick_cum(const double *cum, int n, double u)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

double sim_world_share(const struct sim_world *w, int c)
{
	return w->share_cum[c] - (c ? w->share_cum[c - 1] : 0);
}

int sim_world_pick_country(const struct sim_world *w, struct sim_rng *r)
{
	return pick_cum(w->share_cum, w->ncountries, sim_rng_unit(r));
}

int sim_world_pick_prefix(const struct sim_world *w, int c, struct sim_rng *r)
{
	const struct sim_pool *p = &w->pool[c];
	return pick_cum(p->zipf, p->nprefix, sim_rng_unit(r));
}

int sim_world_phone(const struct sim_world *w, int c, int prefix,
		    struct sim_rng *r, char out[OTP_PHONE_MAX])
{
	const struct sim_pool *p = &w->pool[c];
	char nat[20];
	for (int i = 0; i < 64; i++) {
		memcpy(nat, p->prefix[prefix], 3);
		random_tail(r, nat + 3, p->nat_len - 3);
		if (check(p->c, nat, out) == 0)
			return 0;
	}
	return -1;
}

void sim_world_prefix_key(const struct sim_world *w, int c, int prefix,
			  char out[OTP_SIGNAL_KEY_MAX])
{
	const struct sim_pool *p = &w->pool[c];
	snprintf(out, OTP_SIGNAL_KEY_MAX, "p:+%s%s", p->c->cc,
		 p->prefix[prefix]);
}

/* -- randomness ----------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x =
	    seed * 0x100000001b3ULL ^ (stream + 1) * 0xd6e8feb86659fd93ULL;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)(hi - lo) + 1;
	return lo + (int64_t)(sim_rng_next(r) % span);
}

bool sim_rng_chance(struct sim_rng *r, double p)
{
	return sim_rng_unit(r) < p;
}
