/* sim.h - the SMS-pumping simulator (bench/abuse/): its world, scenarios,
 * runs and results.
 *
 * The simulator drives the real engine and store (SQLite or Redis) with a
 * seeded traffic generator and an injected clock: 14 simulated days of
 * legit history as aggregated signals (warm-up), then 48 simulated hours of
 * legit users plus one attack, each send through otp_engine_send, each
 * code read back from the outbox as a delivery worker would, each verify
 * through otp_engine_verify. Nothing sleeps; the clock is a variable.
 *
 *   world.c      countries, their valid mobile number prefixes, phones, IPs
 *   scenarios.c  the scenario table (fixed before any tuning)
 *   traffic.c    legit users and attack sends as timed events
 *   run.c        one run: store, config, engine, warm-up, the event loop
 *   authgear.c   the baseline rule set (Authgear's published thresholds)
 *   report.c     REPORT.md, the chart (SVG) and the results table
 *   sim.c        the command line, the runs (forked), the short check
 *
 * Not shipped: bench/ only. Nothing in src/ knows the simulator.
 */
#ifndef OTP_BENCH_SIM_H
#define OTP_BENCH_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "abuse/abuse.h"
#include "core/phone.h"
#include "engine/crypto.h"
#include "store/store.h"

/* Simulated time: the scenario's 48 hours start at T0 (a UTC midnight,
 * 2026-06-01), the warm-up covers the 14 days before. */
#define SIM_T0_MS	1780272000000LL
#define SIM_HOUR_MS	3600000LL
#define SIM_DAY_MS	(24 * SIM_HOUR_MS)
#define SIM_HOURS	48
#define SIM_WARMUP_DAYS 14
#define SIM_BUCKET_MS	60000LL /* the chart's resolution */
#define SIM_BUCKETS	(SIM_HOURS * 60)
#define SIM_PREFIX_MAX	128 /* valid prefixes kept per country */
#define SIM_COUNTRIES	40

/* -- randomness: xoshiro256**, seeded by splitmix64 ---------------------- */
struct sim_rng {
	uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_unit(struct sim_rng *r);				  /* [0, 1) */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi); /* [lo, hi] */
bool sim_rng_chance(struct sim_rng *r, double p);

/* -- the world (world.c) ------------------------------------------------- */
struct sim_country {
	const char *iso;     /* "US": the region libphonenumber gives */
	const char *cc;	     /* calling code digits, "1" */
	const char *example; /* a valid mobile, national significant number */
	/* first digits a prefix may start with (its national digits) */
	const char *lead;
	/* or an explicit list of 3-digit prefixes ("201,202,..."), or NULL */
	const char *prefixes;
	int utc_offset_h; /* for the daily curve */
	double share;	  /* of legit users (0: no legit traffic at all) */
};

/* A country's number space as the simulator found it valid. */
struct sim_pool {
	const struct sim_country *c;
	int nprefix;
	char prefix[SIM_PREFIX_MAX][4]; /* 3 national digits after the cc */
	int nat_len;			/* national significant digits */
	double zipf[SIM_PREFIX_MAX];	/* cumulative legit weight by rank */
};

struct sim_world {
	int ncountries;
	struct sim_pool pool[SIM_COUNTRIES];
	double share_cum[SIM_COUNTRIES]; /* cumulative legit share */
};

extern const struct sim_country sim_countries[];
extern const int sim_ncountries;

/* Finds each country's valid prefixes (a fixed seed: the same world for
 * every run). 0, or -1 with why on stderr (a country with none). */
int sim_world_init(struct sim_world *w);
int sim_world_find(const struct sim_world *w, const char *iso);
/* A country's part of the legit users (the shares add up to 1). */
double sim_world_share(const struct sim_world *w, int c);
/* A legit user's country (by share) and prefix (Zipf by rank). */
int sim_world_pick_country(const struct sim_world *w, struct sim_rng *r);
int sim_world_pick_prefix(const struct sim_world *w, int c, struct sim_rng *r);
/* A valid mobile in (country, prefix): 0, or -1 if none came out. */
int sim_world_phone(const struct sim_world *w, int c, int prefix,
		    struct sim_rng *r, char out[OTP_PHONE_MAX]);
/* The signal key of a prefix: "p:+62812". */
void sim_world_prefix_key(const struct sim_world *w, int c, int prefix,
			  char out[OTP_SIGNAL_KEY_MAX]);
/* The daily curve: the part of a country's day in UTC hour h (sums to 1
 * over 24 hours). */
double sim_world_curve(const struct sim_country *c, int utc_hour);

/* -- scenarios (scenarios.c) --------------------------------------------- */
enum sim_attack {
	SIM_A_NONE,   /* legit alone */
	SIM_A_BURST,  /* many sends, a few prefixes of one country, short */
	SIM_A_SLOW,   /* a few sends an hour to each of many countries */
	SIM_A_POISON, /* a burst that verifies some of its own codes */
	SIM_A_ROTATE, /* every send from a new IP in a new /24 */
};

struct sim_legit {
	long users;	       /* over the 48 hours */
	double verify;	       /* of first codes verified */
	double retry;	       /* of the rest, who send once more */
	double retry_verify;   /* of those, who verify the second code */
	const char *spike_iso; /* the launch spike's country */
	int spike_hour;	       /* its UTC hour from T0 */
	double spike_factor;   /* 5: that hour has 5 times its traffic */
	double cgnat;	       /* users behind a carrier NAT (shared IPs) */
};

struct sim_scenario {
	const char *name;  /* "burst" */
	const char *label; /* what the table says */
	enum sim_attack kind;
	const char *iso; /* the target country (NULL: many) */
	int ncountries;	 /* SIM_A_SLOW: countries targeted */
	int nprefixes;	 /* prefixes of the target */
	long sends;	 /* attack sends tried */
	int start_h;	 /* from T0 */
	int64_t dur_ms;
	int nips;      /* rotating IPs (0: a new IP in a new /24 each send) */
	double verify; /* of its codes the attacker verifies */
};

extern const struct sim_scenario sim_scenarios[];
extern const int sim_nscenarios;
extern const struct sim_legit sim_legit_default;

/* -- traffic (traffic.c) ------------------------------------------------ */
/* A legit user: one login, decided at generation (the same for every rule
 * set), its outcome filled in by the run. */
struct sim_user {
	int64_t t0; /* the first send */
	int country;
	char phone[OTP_PHONE_MAX];
	uint32_t ip;
	bool verify1, retry, verify2;
	int64_t d_verify1, d_retry, d_verify2, d_refused; /* ms */
	/* the run's */
	char token[OTP_TOKEN_LEN + 1];
	char code[OTP_CODE_MAX + 1];
	char request_id[OTP_PENDING_MAX];
	bool api; /* its code came by the step-up fallback (run.c) */
	uint8_t sends, refused;
	int8_t last_rc; /* the last send's answer */
	bool got_code, verified, retried;
};

/* One attack send, and whether the attacker verifies its code. */
struct sim_hit {
	int64_t t;
	int country;
	char phone[OTP_PHONE_MAX];
	uint32_t ip;
	bool verify;
	int64_t d_verify;
	char token[OTP_TOKEN_LEN + 1];
	char code[OTP_CODE_MAX + 1];
	char request_id[OTP_PENDING_MAX];
	bool api;
};

struct sim_traffic {
	struct sim_user *users;
	long nusers, nspike;
	struct sim_hit *hits;
	long nhits;
};

/* The legit users (stream 1 of the seed: the same in every scenario) and
 * the scenario's attack (its own stream), scaled. 0 or -1. */
int sim_traffic_make(const struct sim_world *w, const struct sim_legit *l,
		     const struct sim_scenario *sc, double scale, uint64_t seed,
		     struct sim_traffic *out);
void sim_traffic_free(struct sim_traffic *t);
/* "a.b.c.d" */
void sim_ip_text(uint32_t ip, char out[16]);

/* -- rule sets ----------------------------------------------------------- */
enum sim_rules { SIM_R_OTPD, SIM_R_AUTHGEAR, SIM_RULESETS };
extern const char *const sim_rules_names[SIM_RULESETS];
/* authgear.c */
extern const struct otp_abuse_rule *const sim_authgear_rules[];
extern const size_t sim_authgear_nrules;

/* -- one run (run.c) ----------------------------------------------------- */
enum sim_store { SIM_S_SQLITE, SIM_S_REDIS, SIM_STORES };
extern const char *const sim_store_names[SIM_STORES];

struct sim_opts {
	const char *dir;    /* scratch directory (SQLite files) */
	const char *prices; /* bench/abuse/prices.csv */
	int redis_port;	    /* 0: none */
	double scale;	    /* legit users and attack sends, 1 = full */
};

struct sim_result {
	int scenario, rules, store;
	uint64_t seed;
	/* attack */
	long tried, sent, refused, limited, stepups;
	long verified;		/* codes the attacker verified (poisoned) */
	int64_t cost;		/* micro-units (abuse/lists.h) */
	int64_t detect_ms;	/* first refusal after its start; -1: none */
	long pow_hashes;	/* SHA-256 the attacker computed */
	long solved, fallbacks; /* step-ups solved, or sent the API way */
	int32_t series[SIM_BUCKETS]; /* attack SMS sent, per minute */
	int32_t tries[SIM_BUCKETS];  /* attack sends tried, per minute */
	/* legit */
	long users, failed, lsends, lsms, lrefused, lstepups, lverified;
	int64_t lcost;
	/* how the run went */
	double wall_s, warmup_s;
	long engine_calls;
	int error; /* 0, or the first unexpected engine or store error */
};

int sim_run(const struct sim_world *w, const struct sim_opts *o, int scenario,
	    enum sim_rules rules, enum sim_store store, int db, uint64_t seed,
	    struct sim_result *out);

/* -- proof of work (run.c) ----------------------------------------------- */
/* "<challenge>.<counter>" whose SHA-256 has `bits` leading zero bits;
 * *hashes gets the tries. */
void sim_pow_solve(const char *challenge, int bits, char *out, size_t cap,
		   long *hashes);

/* -- the report (report.c) ----------------------------------------------- */
struct sim_report {
	const struct sim_result *r;
	size_t n;
	const uint64_t *seeds;
	size_t nseeds;
	double wall_s; /* the whole run */
	bool short_run;
	double scale;
};
void sim_report_table(const struct sim_report *rep, FILE *f);
int sim_report_write(const struct sim_report *rep, const char *dir);
/* The goals (issue 15): prints each check, returns the failures. */
int sim_report_check(const struct sim_report *rep, FILE *f, int *passed);

#endif
