/* traffic.c - the generator: legit users over 48 hours and one attack, as
 * plain arrays the run turns into timed events.
 *
 * Legit: users pick a country by its share, a prefix by Zipf rank, an hour
 * of the two days by the country's local curve; a quarter sit behind a
 * carrier NAT (one address for about 30 of them). What each user will do
 * (verify, when, send once more) is drawn here, before the run, so that
 * every rule set meets the same people. The launch spike adds
 * (factor - 1) times the spike country's usual users in its hour.
 *
 * Attack: its sends spread uniformly over the attack's window, each to a
 * fresh number under the attack's prefixes, from its IP pool (or from a new
 * /24 each time).
 *
 * Address plan (all simulated): legit users 11-50.x.y.z by country (a
 * carrier NAT's addresses are 11-50.255.x.y), attack pools 100.x.y.z, the
 * rotating attack 120-127.x.y.z with a new /24 per send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_ip_text(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
}

static void *alloc0(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

/* An hour of the 48 (by the country's curve), a time inside it. */
static int64_t legit_time(const struct sim_country *c, struct sim_rng *r)
{
	double u = sim_rng_unit(r), sum = 0;
	int h = 0;
	for (; h < 23; h++) {
		sum += sim_world_curve(c, h);
		if (u < sum)
			break;
	}
	h += 24 * (int)sim_rng_range(r, 0, 1);
	return SIM_T0_MS + h * SIM_HOUR_MS +
	       sim_rng_range(r, 0, SIM_HOUR_MS - 1);
}

static void legit_user(const struct sim_world *w, const struct sim_legit *l,
		       int c, long nat_pool, struct sim_rng *r,
		       struct sim_user *u)
{
	u->country = c;
	int p = sim_world_pick_prefix(w, c, r);
	while (sim_world_phone(w, c, p, r, u->phone) < 0)
		p = sim_world_pick_prefix(w, c, r);
	uint32_t net = (uint32_t)(11 + c) << 24;
	if (sim_rng_chance(r, l->cgnat))
		u->ip =
		    net | 255u << 16 | (uint32_t)sim_rng_range(r, 1, nat_pool);
	else
		u->ip = net | (uint32_t)sim_rng_range(r, 0, 254) << 16 |
			(uint32_t)sim_rng_range(r, 0, 65535);
	u->verify1 = sim_rng_chance(r, l->verify);
	u->retry = !u->verify1 && sim_rng_chance(r, l->retry);
	u->verify2 = sim_rng_chance(r, l->retry_verify);
	u->d_verify1 = sim_rng_range(r, 20000, 120000);
	u->d_retry = sim_rng_range(r, 31000, 120000);
	u->d_verify2 = sim_rng_range(r, 20000, 120000);
	u->d_refused = sim_rng_range(r, 31000, 90000);
}

static int make_legit(const struct sim_world *w, const struct sim_legit *l,
		      double scale, uint64_t seed, struct sim_traffic *t)
{
	struct sim_rng r;
	long n = (long)(l->users * scale + 0.5);
	int spike = sim_world_find(w, l->spike_iso);
	if (spike < 0)
		return -1;
	const struct sim_country *sc = w->pool[spike].c;
	/* users per day in the spike country, times its hour's part */
	double usual = n / 2.0 * sim_world_share(w, spike) *
		       sim_world_curve(sc, l->spike_hour % 24);
	long nspike = (long)((l->spike_factor - 1) * usual + 0.5);
	sim_rng_seed(&r, seed, 1);
	t->users = alloc0((size_t)(n + nspike), sizeof *t->users);
	t->nusers = n + nspike;
	t->nspike = nspike;
	for (long i = 0; i < n; i++) {
		struct sim_user *u = &t->users[i];
		int c = sim_world_pick_country(w, &r);
		double share = sim_world_share(w, c);
		long pool = (long)(n * share * l->cgnat / 30) + 1;
		legit_user(w, l, c, pool, &r, u);
		u->t0 = legit_time(w->pool[c].c, &r);
	}
	for (long i = n; i < n + nspike; i++) {
		struct sim_user *u = &t->users[i];
		double share = sim_world_share(w, spike);
		long pool = (long)((n * share + nspike) * l->cgnat / 30) + 1;
		legit_user(w, l, spike, pool, &r, u);
		u->t0 = SIM_T0_MS + l->spike_hour * SIM_HOUR_MS +
			sim_rng_range(&r, 0, SIM_HOUR_MS - 1);
	}
	return 0;
}

static int make_attack(const struct sim_world *w, const struct sim_scenario *s,
		       double scale, uint64_t seed, int stream,
		       struct sim_traffic *t)
{
	struct sim_rng r;
	int countries[SIM_COUNTRIES] = {0}, ncountries = 0;
	int prefixes[SIM_PREFIX_MAX];
	uint32_t *pool = NULL;
	long n = s->kind == SIM_A_NONE ? 0 : (long)(s->sends * scale + 0.5);

	sim_rng_seed(&r, seed, 100 + (uint64_t)stream);
	t->hits = alloc0((size_t)n, sizeof *t->hits);
	t->nhits = n;
	if (n == 0)
		return 0;
	if (s->iso) {
		countries[ncountries++] = sim_world_find(w, s->iso);
		if (countries[0] < 0)
			return -1;
	} else { /* the last ncountries of the table */
		for (int i = w->ncountries - s->ncountries; i < w->ncountries;
		     i++)
			countries[ncountries++] = i;
	}
	/* the target's prefixes: distinct, at random among its valid ones */
	const struct sim_pool *tp = &w->pool[countries[0]];
	int np = s->nprefixes > tp->nprefix ? tp->nprefix : s->nprefixes;
	for (int i = 0; i < np; i++) {
		int p;
		bool dup;
		do {
			p = (int)sim_rng_range(&r, 0, tp->nprefix - 1);
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= prefixes[j] == p;
		} while (dup);
		prefixes[i] = p;
	}
	if (s->nips > 0) {
		pool = alloc0((size_t)s->nips, sizeof *pool);
		for (int i = 0; i < s->nips; i++)
			pool[i] = 100u << 24 |
				  (uint32_t)sim_rng_range(&r, 0, 0xffffff);
	}
	for (long i = 0; i < n; i++) {
		struct sim_hit *h = &t->hits[i];
		h->t = SIM_T0_MS + s->start_h * SIM_HOUR_MS +
		       sim_rng_range(&r, 0, s->dur_ms - 1);
		h->country = countries[sim_rng_range(&r, 0, ncountries - 1)];
		const struct sim_pool *p = &w->pool[h->country];
		/* slow and low: any prefix of the country it picked */
		int pfx = s->kind == SIM_A_SLOW
			      ? (int)sim_rng_range(&r, 0, p->nprefix - 1)
			      : prefixes[sim_rng_range(&r, 0, np - 1)];
		if (sim_world_phone(w, h->country, pfx, &r, h->phone) < 0)
			return -1;
		if (pool)
			h->ip = pool[sim_rng_range(&r, 0, s->nips - 1)];
		else /* a new /24 for every send */
			h->ip = (120u << 24) + ((uint32_t)i << 8) +
				(uint32_t)sim_rng_range(&r, 1, 254);
		h->verify = sim_rng_chance(&r, s->verify);
		h->d_verify = sim_rng_range(&r, 20000, 90000);
	}
	free(pool);
	return 0;
}

int sim_traffic_make(const struct sim_world *w, const struct sim_legit *l,
		     const struct sim_scenario *sc, double scale, uint64_t seed,
		     struct sim_traffic *out)
{
	memset(out, 0, sizeof *out);
	if (make_legit(w, l, scale, seed, out) < 0 ||
	    make_attack(w, sc, scale, seed, (int)(sc - sim_scenarios), out) <
		0) {
		sim_traffic_free(out);
		return -1;
	}
	return 0;
}

void sim_traffic_free(struct sim_traffic *t)
{
	free(t->users);
	free(t->hits);
	memset(t, 0, sizeof *t);
}
