/* scenarios.c - the scenario table: legit traffic and the five runs of
 * issue 15, section 6. These numbers were fixed before any rule was tuned
 * (REPORT.md repeats them); a change here is a change of the benchmark,
 * not of the rules.
 *
 * Every scenario is the same 48 hours of legit traffic (the same users at
 * the same times for a given seed, launch spike included) plus its attack.
 * Attack sends go through the login API, each from a new session (no
 * cookie), to a fresh random number under the attack's prefixes.
 */
#include "sim.h"

const struct sim_legit sim_legit_default = {
    .users = 20000,	  /* over 48 h, on each country's daily curve */
    .verify = 0.85,	  /* first code verified, 20-120 s after the send */
    .retry = 0.40,	  /* of the others: one more send after the cooldown */
    .retry_verify = 0.70, /* of those: the second code verified */
    .spike_iso = "BR",	  /* a launch in Brazil: */
    .spike_hour = 23,	  /* 20:00 local on the first day, */
    .spike_factor = 5,	  /* five times that hour's traffic */
    .cgnat = 0.25,	  /* behind a carrier NAT: a shared address */
};

/* clang-format off */
const struct sim_scenario sim_scenarios[] = {
	{"legit", "legit alone (spike included)", SIM_A_NONE,
	 NULL, 0, 0, 0, 0, 0, 0, 0},
	/* 5,000 sends in 30 min to 4 prefixes of Indonesia, from 500
	 * rotating IPs (10 each), nothing verified */
	{"burst", "burst pumping", SIM_A_BURST,
	 "ID", 1, 4, 5000, 30, 30 * 60000LL, 500, 0},
	/* 3 sends an hour to each of 30 countries (the 20 of the long tail
	 * and 10 with no legit traffic), any prefix, 48 h, 1,000 IPs */
	{"slow", "slow and low", SIM_A_SLOW,
	 NULL, 30, 0, 4320, 0, 48 * SIM_HOUR_MS, 1000, 0},
	/* 8,000 sends over 6 h to 5 prefixes of Nigeria, 500 IPs; the
	 * attacker verifies 10 % of its codes to look real */
	{"poisoned", "poisoned (10 % verified)", SIM_A_POISON,
	 "NG", 1, 5, 8000, 20, 6 * SIM_HOUR_MS, 500, 0.10},
	/* 3,000 sends over 2 h to 6 prefixes of Great Britain, each from a
	 * new IP in a new /24 */
	{"rotating", "IP-rotating (new /24 each send)", SIM_A_ROTATE,
	 "GB", 1, 6, 3000, 36, 2 * SIM_HOUR_MS, 0, 0},
};
/* clang-format on */
const int sim_nscenarios = sizeof sim_scenarios / sizeof sim_scenarios[0];

const char *const sim_rules_names[SIM_RULESETS] = {"otpd", "authgear"};
const char *const sim_store_names[SIM_STORES] = {"sqlite", "redis"};
