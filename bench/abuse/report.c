/* report.c - what the simulator says: the results table (stdout and
 * REPORT.md), the chart of attack SMS sent over time for both rule sets
 * (abuse.svg, drawn here), the raw rows (results.tsv), and the goals of
 * issue 15 as checks.
 *
 * Figures over several seeds are sums (sends, SMS, cost, users) and means
 * (time to detection, over the seeds that detected). The chart shows the
 * first store of the run (SQLite when it ran), mean over the seeds.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "abuse/lists.h"
#include "sim.h"

struct agg {
	int runs, detected, errors;
	long tried, sent, refused, limited, stepups, verified;
	long users, failed, lsends, lsms, lstepups, lrefused;
	int64_t cost, lcost, detect_sum;
	double wall;
	double sent_cum[SIM_BUCKETS], tried_cum[SIM_BUCKETS];
};

static void aggregate(const struct sim_report *rep, int sc, int rules,
		      int store, struct agg *a)
{
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < rep->n; i++) {
		const struct sim_result *r = &rep->r[i];
		if (r->scenario != sc || r->rules != rules || r->store != store)
			continue;
		a->runs++;
		a->errors += r->error != 0;
		a->tried += r->tried;
		a->sent += r->sent;
		a->refused += r->refused;
		a->limited += r->limited;
		a->stepups += r->stepups;
		a->verified += r->verified;
		a->users += r->users;
		a->failed += r->failed;
		a->lsends += r->lsends;
		a->lsms += r->lsms;
		a->lstepups += r->lstepups;
		a->lrefused += r->lrefused;
		a->cost += r->cost;
		a->lcost += r->lcost;
		a->wall += r->wall_s;
		if (r->detect_ms >= 0) {
			a->detected++;
			a->detect_sum += r->detect_ms;
		}
		long s = 0, t = 0;
		for (int b = 0; b < SIM_BUCKETS; b++) {
			s += r->series[b];
			t += r->tries[b];
			a->sent_cum[b] += s;
			a->tried_cum[b] += t;
		}
	}
	if (a->runs)
		for (int b = 0; b < SIM_BUCKETS; b++) {
			a->sent_cum[b] /= a->runs;
			a->tried_cum[b] /= a->runs;
		}
}

static double pct(long a, long b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static void money(int64_t micro, char *out, size_t cap)
{
	snprintf(out, cap, "%.2f", (double)micro / OTP_MONEY_UNIT);
}

static void detection(const struct agg *a, char *out, size_t cap)
{
	if (!a->tried) {
		snprintf(out, cap, "-");
		return;
	}
	if (!a->detected) {
		snprintf(out, cap, "never");
		return;
	}
	double s = (double)a->detect_sum / a->detected / 1000.0;
	int w = s < 120	   ? snprintf(out, cap, "%.0f s", s)
		: s < 7200 ? snprintf(out, cap, "%.1f min", s / 60)
			   : snprintf(out, cap, "%.1f h", s / 3600);
	if (a->detected < a->runs && w > 0 && (size_t)w < cap)
		snprintf(out + w, cap - (size_t)w, " (%d of %d runs)",
			 a->detected, a->runs);
}

static bool any(const struct sim_report *rep, int store)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->r[i].store == store)
			return true;
	return false;
}

/* Whether the store ran any run of the seed. */
static bool ran(const struct sim_report *rep, int store, uint64_t seed)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->r[i].store == store && rep->r[i].seed == seed)
			return true;
	return false;
}

/* Whether two runs of one scenario, rule set and seed decided alike: every
 * send, refusal, step-up and verify, minute by minute (not the proof of
 * work's hashes: its challenges are random, the number solved is not). */
static bool same_decisions(const struct sim_result *a,
			   const struct sim_result *b)
{
	return a->tried == b->tried && a->sent == b->sent &&
	       a->refused == b->refused && a->limited == b->limited &&
	       a->stepups == b->stepups && a->verified == b->verified &&
	       a->cost == b->cost && a->detect_ms == b->detect_ms &&
	       a->solved == b->solved && a->users == b->users &&
	       a->failed == b->failed && a->lsends == b->lsends &&
	       a->lsms == b->lsms && a->lrefused == b->lrefused &&
	       a->lstepups == b->lstepups && a->lverified == b->lverified &&
	       a->lcost == b->lcost &&
	       memcmp(a->series, b->series, sizeof a->series) == 0 &&
	       memcmp(a->tries, b->tries, sizeof a->tries) == 0;
}

/* One Markdown table per store. */
static void table(const struct sim_report *rep, FILE *f, int store)
{
	fprintf(f,
		"| scenario | rules | attack sends tried | attack SMS sent | "
		"leak | attack cost | time to detection | legit users "
		"without a code | step-ups legit / attack |\n"
		"|---|---|---:|---:|---:|---:|---|---:|---:|\n");
	for (int sc = 0; sc < sim_nscenarios; sc++)
		for (int ru = 0; ru < SIM_RULESETS; ru++) {
			struct agg a;
			char cost[32], det[64];
			aggregate(rep, sc, ru, store, &a);
			if (!a.runs)
				continue;
			money(a.cost, cost, sizeof cost);
			detection(&a, det, sizeof det);
			if (a.tried)
				fprintf(f,
					"| %s | %s | %ld | %ld | %.2f %% | "
					"%s | %s | %ld of %ld (%.3f %%) | %ld "
					"/ %ld |%s\n",
					sim_scenarios[sc].name,
					sim_rules_names[ru], a.tried, a.sent,
					pct(a.sent, a.tried), cost, det,
					a.failed, a.users,
					pct(a.failed, a.users), a.lstepups,
					a.stepups, a.errors ? " ERROR" : "");
			else
				fprintf(f,
					"| %s | %s | - | - | - | - | - | %ld "
					"of %ld (%.3f %%) | %ld / - |%s\n",
					sim_scenarios[sc].name,
					sim_rules_names[ru], a.failed, a.users,
					pct(a.failed, a.users), a.lstepups,
					a.errors ? " ERROR" : "");
		}
}

void sim_report_table(const struct sim_report *rep, FILE *f)
{
	for (int st = 0; st < SIM_STORES; st++) {
		if (!any(rep, st))
			continue;
		fprintf(f, "\n%s, seeds", sim_store_names[st]);
		for (size_t i = 0, k = 0; i < rep->nseeds; i++)
			if (ran(rep, st, rep->seeds[i]))
				fprintf(f, "%s%llu", k++ ? "," : " ",
					(unsigned long long)rep->seeds[i]);
		fprintf(f, "%s:\n\n", rep->scale != 1 ? " (scaled)" : "");
		table(rep, f, st);
	}
}

/* -- the goals ------------------------------------------------------------ */
static void verdict(FILE *f, bool ok, int *passed, int *failed, const char *fmt,
		    const char *a, const char *b, double x, double y)
{
	fprintf(f, "%s: ", ok ? "ok" : "FAIL");
	fprintf(f, fmt, a, b, x, y);
	fputc('\n', f);
	if (ok)
		(*passed)++;
	else
		(*failed)++;
}

int sim_report_check(const struct sim_report *rep, FILE *f, int *passed)
{
	int failed = 0;
	*passed = 0;
	/* per run: legit users blocked < 0.1 % (otpd), burst leak < 1 % */
	for (size_t i = 0; i < rep->n; i++) {
		const struct sim_result *r = &rep->r[i];
		char sc[64];
		snprintf(sc, sizeof sc, "%s/seed %llu",
			 sim_scenarios[r->scenario].name,
			 (unsigned long long)r->seed);
		if (r->rules != SIM_R_OTPD)
			continue;
		verdict(f, pct(r->failed, r->users) < 0.1, passed, &failed,
			"%s/%s: legit users without a code %.3f %% < 0.1 %%",
			sc, sim_store_names[r->store], pct(r->failed, r->users),
			0);
		if (sim_scenarios[r->scenario].kind == SIM_A_BURST)
			verdict(f, pct(r->sent, r->tried) < 1, passed, &failed,
				"%s/%s: leak %.2f %% < 1 %%", sc,
				sim_store_names[r->store],
				pct(r->sent, r->tried), 0);
	}
	/* the store changes no decision: each run on Redis against the same
	 * run on SQLite */
	for (size_t i = 0; i < rep->n; i++) {
		const struct sim_result *r = &rep->r[i];
		if (r->store != SIM_S_REDIS)
			continue;
		for (size_t k = 0; k < rep->n; k++) {
			const struct sim_result *q = &rep->r[k];
			if (q->store != SIM_S_SQLITE ||
			    q->scenario != r->scenario ||
			    q->rules != r->rules || q->seed != r->seed)
				continue;
			char sc[64];
			snprintf(sc, sizeof sc, "%s/%s/seed %llu",
				 sim_scenarios[r->scenario].name,
				 sim_rules_names[r->rules],
				 (unsigned long long)r->seed);
			verdict(f, same_decisions(r, q), passed, &failed,
				"%s: %s decided as sqlite did (attack SMS "
				"%.0f, sqlite %.0f)",
				sc, sim_store_names[r->store], (double)r->sent,
				(double)q->sent);
		}
	}
	/* per scenario and store, over the seeds: below Authgear's leak */
	for (int st = 0; st < SIM_STORES; st++)
		for (int sc = 0; sc < sim_nscenarios; sc++) {
			struct agg o, a;
			if (sim_scenarios[sc].kind == SIM_A_NONE)
				continue;
			aggregate(rep, sc, SIM_R_OTPD, st, &o);
			aggregate(rep, sc, SIM_R_AUTHGEAR, st, &a);
			if (!o.runs || !a.runs)
				continue;
			double lo = pct(o.sent, o.tried),
			       la = pct(a.sent, a.tried);
			verdict(f, lo < la || o.sent == 0, passed, &failed,
				"%s/%s: otpd's leak %.2f %% below Authgear's "
				"%.2f %%",
				sim_scenarios[sc].name, sim_store_names[st], lo,
				la);
		}
	return failed;
}

/* -- the chart ------------------------------------------------------------ */
#define PANEL_W 470
#define PANEL_H 270
#define PAD_L	58
#define PAD_R	14
#define PAD_T	34
#define PAD_B	40

static double ylog(double v, double top)
{
	return log10(1 + v) / log10(1 + top);
}

/* A panel's window, in minutes from T0: the attack and some time after
 * it (all 48 hours for one that lasts them). */
static void window(const struct sim_scenario *s, int *lo, int *hi)
{
	int start = s->start_h * 60, dur = (int)(s->dur_ms / 60000);
	int after = dur / 4 > 30 ? dur / 4 : 30;
	*lo = start - 10 > 0 ? start - 10 : 0;
	*hi = start + dur + after < SIM_BUCKETS ? start + dur + after
						: SIM_BUCKETS;
}

static void polyline(FILE *f, const double *cum, double top, int lo, int hi,
		     int x0, int y0, const char *style)
{
	int w = PANEL_W - PAD_L - PAD_R, h = PANEL_H - PAD_T - PAD_B;
	fprintf(f, "<polyline fill=\"none\" %s points=\"", style);
	for (int b = lo; b < hi; b++)
		fprintf(f, "%.1f,%.1f ",
			x0 + PAD_L + (double)(b + 1 - lo) * w / (hi - lo),
			y0 + PAD_T + h - ylog(cum[b], top) * h);
	fprintf(f, "\"/>\n");
}

static void panel(FILE *f, const struct sim_report *rep, int sc, int store,
		  int x0, int y0)
{
	static struct agg o, a;
	const struct sim_scenario *s = &sim_scenarios[sc];
	int w = PANEL_W - PAD_L - PAD_R, h = PANEL_H - PAD_T - PAD_B, lo, hi;
	aggregate(rep, sc, SIM_R_OTPD, store, &o);
	aggregate(rep, sc, SIM_R_AUTHGEAR, store, &a);
	window(s, &lo, &hi);
	double top = 10;
	while (top < o.tried_cum[SIM_BUCKETS - 1] ||
	       top < a.tried_cum[SIM_BUCKETS - 1])
		top *= 10;
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"14\" "
		"font-weight=\"bold\">%s</text>\n",
		x0 + PAD_L, y0 + 20, s->label);
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"none\" stroke=\"#999\"/>\n",
		x0 + PAD_L, y0 + PAD_T, w, h);
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"11\" "
		"text-anchor=\"end\">0</text>\n",
		x0 + PAD_L - 5, y0 + PAD_T + h + 4);
	for (double v = 1; v <= top; v *= 10) {
		double y = y0 + PAD_T + h - ylog(v, top) * h;
		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#e4e4e4\"/>\n<text x=\"%d\" y=\"%.1f\" "
			"font-size=\"11\" text-anchor=\"end\">%.0f</text>\n",
			x0 + PAD_L, x0 + PAD_L + w, y, y, x0 + PAD_L - 5, y + 4,
			v);
	}
	/* x: minutes from the attack's start, or hours for a long one */
	bool hours = hi - lo > 12 * 60;
	int unit = hours ? 60 : 1, span = (hi - lo) / unit, step = 1;
	static const int steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 6 * 60};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (span / steps[i] <= 8) {
			step = steps[i];
			break;
		}
	int origin = s->start_h * 60;
	for (int t = ((lo - origin) / unit / step) * step;
	     t * unit + origin <= hi; t += step) {
		int m = t * unit + origin;
		if (m < lo)
			continue;
		double x = x0 + PAD_L + (double)(m - lo) * w / (hi - lo);
		fprintf(f,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
			"stroke=\"#e4e4e4\"/>\n<text x=\"%.1f\" y=\"%d\" "
			"font-size=\"11\" text-anchor=\"middle\">%d</text>\n",
			x, x, y0 + PAD_T, y0 + PAD_T + h, x,
			y0 + PAD_T + h + 14, t);
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"11\" "
		"text-anchor=\"middle\">%s from the attack's start "
		"(simulated)</text>\n",
		x0 + PAD_L + w / 2, y0 + PAD_T + h + 30,
		hours ? "hours" : "minutes");
	polyline(f, o.tried_cum, top, lo, hi, x0, y0,
		 "stroke=\"#aaa\" stroke-width=\"1.5\" "
		 "stroke-dasharray=\"2,3\"");
	polyline(f, a.sent_cum, top, lo, hi, x0, y0,
		 "stroke=\"#d9731a\" stroke-width=\"2\" "
		 "stroke-dasharray=\"6,3\"");
	polyline(f, o.sent_cum, top, lo, hi, x0, y0,
		 "stroke=\"#1f5fbf\" stroke-width=\"2\"");
}

static int chart(const struct sim_report *rep, const char *path)
{
	int store = any(rep, SIM_S_SQLITE) ? SIM_S_SQLITE : SIM_S_REDIS;
	int panels[8], np = 0;
	for (int sc = 0; sc < sim_nscenarios && np < 8; sc++)
		if (sim_scenarios[sc].kind != SIM_A_NONE)
			panels[np++] = sc;
	int rows = (np + 1) / 2, width = 2 * PANEL_W,
	    height = rows * PANEL_H + 70;
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" font-family=\"sans-serif\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"%d\" y=\"22\" font-size=\"16\" "
		"font-weight=\"bold\">Attack SMS sent, cumulative (log scale; "
		"%s, mean of %zu seed%s)</text>\n",
		width, height, PAD_L, sim_store_names[store], rep->nseeds,
		rep->nseeds == 1 ? "" : "s");
	for (int i = 0; i < np; i++)
		panel(f, rep, panels[i], store, (i % 2) * PANEL_W,
		      30 + (i / 2) * PANEL_H);
	int ly = height - 22;
	fprintf(f,
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
		"stroke=\"#1f5fbf\" stroke-width=\"2\"/><text x=\"%d\" "
		"y=\"%d\" font-size=\"12\">otpd's rules</text>\n"
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
		"stroke=\"#d9731a\" stroke-width=\"2\" "
		"stroke-dasharray=\"6,3\"/><text x=\"%d\" y=\"%d\" "
		"font-size=\"12\">Authgear's thresholds</text>\n"
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
		"stroke=\"#aaa\" stroke-width=\"1.5\" "
		"stroke-dasharray=\"2,3\"/><text x=\"%d\" y=\"%d\" "
		"font-size=\"12\">attack sends tried (no rules)</text>\n",
		PAD_L, PAD_L + 30, ly, ly, PAD_L + 36, ly + 4, PAD_L + 170,
		PAD_L + 200, ly, ly, PAD_L + 206, ly + 4, PAD_L + 380,
		PAD_L + 410, ly, ly, PAD_L + 416, ly + 4);
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* -- REPORT.md ------------------------------------------------------------ */
static void scenario_table(FILE *f)
{
	const struct sim_legit *l = &sim_legit_default;
	fprintf(f, "| scenario | attack | target | sends tried | window (from "
		   "T0) | client IPs | attacker verifies |\n"
		   "|---|---|---|---:|---|---|---:|\n");
	for (int i = 0; i < sim_nscenarios; i++) {
		const struct sim_scenario *s = &sim_scenarios[i];
		char target[64], ips[64], win[64];
		if (s->kind == SIM_A_NONE) {
			fprintf(f, "| %s | %s | - | - | - | - | - |\n", s->name,
				s->label);
			continue;
		}
		if (s->iso)
			snprintf(target, sizeof target, "%d prefixes of %s",
				 s->nprefixes, s->iso);
		else
			snprintf(target, sizeof target,
				 "%d countries, any prefix", s->ncountries);
		if (s->nips)
			snprintf(ips, sizeof ips, "%d rotating", s->nips);
		else
			snprintf(ips, sizeof ips, "a new /24 each send");
		snprintf(win, sizeof win, "h %d, %g h", s->start_h,
			 (double)s->dur_ms / SIM_HOUR_MS);
		fprintf(f, "| %s | %s | %s | %ld | %s | %s | %.0f %% |\n",
			s->name, s->label, target, s->sends, win, ips,
			100 * s->verify);
	}
	fprintf(f,
		"\nLegit traffic, the same in every scenario for a seed: "
		"%ld users over the 48 h on each country's daily curve "
		"(local time; lowest at 4:00, highest at 19:00-20:00), %.0f %% "
		"verify their first code 20-120 s after the send, %.0f %% of "
		"the others send once more after the 30 s cooldown and %.0f %% "
		"of those verify; a user whose send is refused tries once "
		"more 31-90 s later; %.0f %% sit behind a carrier NAT (about "
		"30 users an address). Launch spike: %s, %g times its usual "
		"traffic for the hour starting at h %d (20:00 local), on top "
		"of the %ld.\n",
		l->users, 100 * l->verify, 100 * l->retry,
		100 * l->retry_verify, 100 * l->cgnat, l->spike_iso,
		l->spike_factor, l->spike_hour, l->users);
	fprintf(f,
		"\nCountries and shares of legit users: US 22 %%, IN 18 %%, "
		"BR 10 %%, GB 8 %%, ID 8 %%, NG 6 %%, then 20 countries from "
		"DE (3 %%) to NL (0.6 %%), 28 %% in all; 10 more countries "
		"(UZ, KG, TJ, LK, NP, KH, ET, GH, MA, UA) have no legit "
		"traffic. Within a country users follow a Zipf law (s = 1.1) "
		"over up to %d prefixes (calling code + 3 digits) that "
		"libphonenumber finds valid for mobiles.\n",
		SIM_PREFIX_MAX);
}

static void rules_section(FILE *f)
{
	fprintf(f, "otpd: the default table (src/abuse/rules.c), in order:");
	for (size_t i = 0; i < otp_abuse_nrules; i++)
		fprintf(f, "%s `%s`", i ? "," : "", otp_abuse_rules[i]->name);
	fprintf(f,
		"; `--fraud enforce`, `--fraud-pow-bits 8`, every other "
		"setting its default (blocks of 12 h, prefixes of 3 digits, "
		"no spend caps).\n\nAuthgear (bench/abuse/authgear.c, from "
		"authgear-server's docs/specs/fraud-protection.md), each rule "
		"refusing the one send, never blocking a scope:");
	for (size_t i = 0; i < sim_authgear_nrules; i++)
		fprintf(f, "%s `%s`", i ? "," : "",
			sim_authgear_rules[i]->name);
	fprintf(
	    f,
	    ". Per country a day: unverified > max(20, 0.2 x the 14-day max "
	    "of verified a day, 0.2 x verified in 24 h); an hour: unverified "
	    "> max(3, that / 6, 0.2 x verified in the last hour); per IP a "
	    "day: unverified > max(10, 0.2 x its verified in 24 h); per IP "
	    "an hour (published since the issue was written, so included): "
	    "unverified > max(5, 0.2 x its verified in 24 h / 6); an IP that "
	    "sent to more than 3 countries in 24 h.\n");
}

static const char method[] =
    "## Method\n\n"
    "`build/bench/abuse-sim` (bench/abuse/*.c, linked with libotpd.a as "
    "the unit tests are) drives the real engine and store: every send is "
    "the per-IP limit then `otp_engine_send` on the login API (no cookie: "
    "a new session), every code is read back the way a delivery worker "
    "reads it (`otp_store_outbox_claim`, `otp_engine_unseal`, ack), every "
    "verify is `otp_engine_verify` with that session and code. The "
    "config is `otp_config_load` on an argv: `--fraud enforce "
    "--fraud-pow-bits 8 --sms null --spend-prices bench/abuse/prices.csv` "
    "(prices per SMS by region, plausible, in USD; the same prices count "
    "the cost here). A send answered 428 (step-up) is solved (SHA-256 "
    "proof of work, 8 bits here) and sent again, by users and attackers "
    "alike: step-ups are counted as CPU the client paid, not as blocks. "
    "Time is injected: each call gets the event's simulated `now`; "
    "nothing sleeps. Each run has a fresh store: a SQLite file in a "
    "temporary directory, or a database of a private `redis-server` on a "
    "free loopback port (one server a job slot, on the core of that slot's "
    "runs: a round trip is then a context switch, not a wakeup across "
    "cores, and a Redis run takes half the time). `make bench` runs Redis "
    "with otpd's rules on the first seed only (`--redis-seeds 101 "
    "--redis-rules otpd`), and the goals assert that each of those runs "
    "decided exactly as the same run on SQLite (every send, refusal and "
    "step-up, minute by minute): the rules read the same signals from "
    "either store.\n\n"
    "Warm-up: 14 simulated days of legit history before T0, generated "
    "hour by hour and written with `otp_store_signal_add`: sends and "
    "verified codes per region, per prefix and in all, one call per "
    "simulated hour for the day before T0 (the rules' hour and 24-hour "
    "windows), one per day before that (all that is left of those days at "
    "T0 is their UTC-day bucket, which the 14-day max reads) (the same "
    "volume, country mix, curve, prefix law and conversion as the "
    "scenario's users; each day's volume varies by up to 15 %), not as "
    "one engine call per historic send: the warm-up takes well under a "
    "second. Per-IP signals are not warmed up (their window is 24 h).\n\n"
    "Numbers: each country starts from a valid mobile example number; its "
    "prefixes are the 3-digit starts under which random endings parse as "
    "valid mobiles through the engine's own parse (core/phone.h with the "
    "default `--sms-number-types`); the US uses a list of US area codes "
    "(the +1 plan is shared with Canada and the Caribbean).\n\n"
    "Seeds: the rules were tuned on seeds 1-3 only; this report is on "
    "the seeds it names, never used for tuning. The generator is seeded "
    "(xoshiro256**), so a seed's traffic and the decisions are the same "
    "on every run; codes, tokens and challenges come from libsodium and "
    "differ, which changes nothing a rule sees.\n\n"
    "Columns: attack sends tried; attack SMS sent (codes issued to the "
    "attacker's numbers) and the leak (sent / tried); their cost at the "
    "price table; time to detection (simulated time from the attack's "
    "start to its first refusal by a rule or block; mean over the seeds); "
    "legit users without a code (none of their sends, retry included, "
    "got a code); step-ups (428 answers solved) of legit users and of the "
    "attacker. Sums over the seeds.\n";

static const char notes[] =
    "## Notes\n\n"
    "- Attackers here give up on a refused send (each attack send is "
    "tried once); a real bot retries, which costs it nothing under a "
    "block and changes no leak.\n"
    "- Per-IP limits (60/min) and the per-phone limits apply as in "
    "otpd; they refuse nothing here (the attacks rotate numbers and "
    "IPs).\n"
    "- The legit users are new each login (20,000 different numbers); "
    "returning users with history of their own would only help a rule "
    "that knew them.\n"
    "- Slow and low spreads ~3 sends an hour over a whole country's "
    "prefixes: each prefix sees a few sends a day. That is where a "
    "prefix rule is blind and the region's and the IP pool's signals "
    "have to catch it.\n"
    "- Authgear's rules are implemented from its published spec over "
    "otpd's signals (see bench/abuse/authgear.c for the two places "
    "where the signals differ from its counters). With this legit "
    "traffic (about 15 % of sends never verified) its country threshold "
    "(unverified above 0.2 x verified) sits close to the legit users' own "
    "unverified count, so it refuses whole countries' legit users on "
    "ordinary days: that is where its low leaks come from.\n"
    "- otpd blocks a number prefix nobody verified in 15 days at the "
    "third unverified send; a prefix with history is refused first (a "
    "refusal that heals once its people type their codes) and blocked "
    "when the refusals go on or its hour passes a higher floor, for a "
    "quarter of --fraud-block-ttl (3 h, doubling on repeat). Legit users "
    "of an attacked prefix are refused meanwhile: most of the legit "
    "users without a code in the attack scenarios. A region with real "
    "users is stepped up, never blocked: a step-up costs a bot CPU "
    "(about 4 ms an SMS at 13 bits), it does not stop it. What stops "
    "slow and low there is its IP pool: 1,000 addresses for 4,320 sends "
    "to 30 countries, so an address comes back, to another country, "
    "having never had a code typed, and is blocked (ip_spread); what "
    "leaks is about one send per address per 48 hours. When a prefix's "
    "block ends while the attack is still on, the sends it turned away "
    "(counted as the prefix's refusals) block it again at once.\n"
    "- The warm-up's history has no per-IP part; the Redis backend takes "
    "at most 16 signal adds in one call (OTP_REDIS_SIGNALS_MAX), so the "
    "warm-up writes 16 at a time on both stores.\n";

/* Threshold changes made on the tuning seeds (kept with the report). */
static const char tuning[] =
    "## Tuning\n\n"
    "On the tuning seeds (1-3; the last rounds on 1-2 at --scale 0.5, "
    "SQLite) only; the report seeds 101-103 were run once, at the end.\n\n"
    "- Lowering prefix_conversion's hourly floor for a prefix with "
    "history (10) to 4 or 6, with its 12 h block, was rejected: in legit "
    "traffic alone it blocked prefixes where two or three users had not "
    "typed their code within the hour (1,518 and 215 of 20,263 users "
    "without a code on seed 1).\n"
    "- Kept: such a prefix is refused (not blocked) at 3 unverified sends "
    "under 30 % verified, a floor raised by half its typical hour of "
    "accepted codes and by three times its own last day's unverified "
    "hour; blocked at 10, or when 6 refusals come within the hour; a "
    "scope with real users is blocked for 3 h, not 12. Seeds 1-2 at half "
    "scale: legit users without a code 0.45 % -> 0.04 % (legit alone), "
    "burst leak 0.64 % -> 0.48 %, poisoned 2.8 % -> 0.9 %, rotating "
    "3.2 % -> 1.2 %.\n"
    "- Tried and dropped: counting refused sends as sends (legit users "
    "without a code 0.95 %: a refused prefix's own people pushed it into "
    "a block), and judging a prefix blocked before as new traffic "
    "(0.30 % in the poisoned scenario).\n"
    "- Added after the first full report (which missed two goals: slow "
    "and low 69.0 % against Authgear's 30.5 %, poisoned 114 against 113 "
    "SMS), tuned on seeds 1-3 at full scale, SQLite: an address on the "
    "login API with no accepted code in 15 days that already sent to "
    "another region is blocked (its set of regions kept 48 h: 24 h "
    "gave slow and low 32.6 %, 48 h 23.5 %); a prefix's sends turned "
    "away by its block count as refusals, and at least max(12, 3 x its "
    "typical hour) of them in the last hour block it again when the "
    "block ends (poisoned 137 -> 70 SMS). Legit users without a code on "
    "those seeds: unchanged (41 of 60,789 alone; 86 with the poisoned "
    "attack, from its blocked prefixes as before).\n";

/* What the runs saw of the step-up, said once. */
static void stepup_note(const struct sim_report *rep, FILE *f)
{
	long solved = 0, fallbacks = 0;
	for (size_t i = 0; i < rep->n; i++) {
		solved += rep->r[i].solved;
		fallbacks += rep->r[i].fallbacks;
	}
	if (!fallbacks) {
		fprintf(f,
			"- Step-ups: %ld challenges solved (8 bits: 256 "
			"SHA-256 on average, well under a millisecond).\n",
			solved);
		return;
	}
	fprintf(f,
		"- Step-ups: this otpd has no proof of work yet (abuse/pow.c "
		"is not on main): a send the rules step up is answered "
		"OTP_ESTEPUP with no challenge. The simulator takes it as "
		"solved and makes the same send (phone, IP) through the "
		"provider API, where a step-up passes, so its code is issued, "
		"counted in the signals and verified as a solved send's would "
		"be (%ld such sends, %ld challenges solved). A step-up "
		"therefore stops nothing here: it is CPU the client pays.\n",
		fallbacks, solved);
}

int sim_report_write(const struct sim_report *rep, const char *dir)
{
	char path[512];
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/abuse.svg", dir);
	if (chart(rep, path) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/results.tsv", dir);
	FILE *t = fopen(path, "w");
	if (!t)
		return -1;
	fprintf(t,
		"scenario\trules\tstore\tseed\ttried\tsent\trefused\t"
		"limited\tstepups\tverified\tcost\tdetect_ms\tusers\tfailed\t"
		"lsends\tlsms\tlrefused\tlstepups\tlverified\tlcost\twall_s\t"
		"error\n");
	for (size_t i = 0; i < rep->n; i++) {
		const struct sim_result *r = &rep->r[i];
		fprintf(t,
			"%s\t%s\t%s\t%llu\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%lld\t"
			"%lld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%lld\t%.2f\t%"
			"d\n",
			sim_scenarios[r->scenario].name,
			sim_rules_names[r->rules], sim_store_names[r->store],
			(unsigned long long)r->seed, r->tried, r->sent,
			r->refused, r->limited, r->stepups, r->verified,
			(long long)r->cost, (long long)r->detect_ms, r->users,
			r->failed, r->lsends, r->lsms, r->lrefused, r->lstepups,
			r->lverified, (long long)r->lcost, r->wall_s, r->error);
	}
	if (fclose(t) != 0)
		return -1;

	snprintf(path, sizeof path, "%s/REPORT.md", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	char when[64];
	time_t now = time(NULL);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(
	    f,
	    "# SMS pumping: otpd's rules and Authgear's, simulated\n\n"
	    "Written by `build/bench/abuse-sim --redis-seeds 101 --redis-rules "
	    "otpd --out bench/abuse` (`make "
	    "bench`, bench/run's `abuse` row) on %s: %zu runs in %.0f s "
	    "of wall time. Issue 15, section 6. `make test` runs the short "
	    "version (`abuse-sim --short`: legit alone and the burst, full "
	    "scale, seed 101, both rule sets on SQLite and otpd's on Redis) "
	    "and asserts the goals.\n\n",
	    when, rep->n, rep->wall_s);
	if (rep->scale != 1)
		fprintf(f,
			"**This run is scaled by %g** (legit users and attack "
			"sends; `--scale`): its figures are not the "
			"benchmark's.\n\n",
			rep->scale);
	fputs(method, f);
	fprintf(f, "\n## Scenarios (fixed before any tuning)\n\nEach run: "
		   "14 days of warm-up, then 48 simulated hours from T0 "
		   "(2026-06-01 00:00 UTC) of legit traffic plus one "
		   "attack.\n\n");
	scenario_table(f);
	fprintf(f, "\n## Rule sets\n\n");
	rules_section(f);
	fprintf(f, "\n## Results\n");
	sim_report_table(rep, f);
	fprintf(f, "\n![attack SMS sent over time, both rule sets]"
		   "(abuse.svg)\n\n## Goals\n\n```\n");
	int passed = 0;
	int failed = sim_report_check(rep, f, &passed);
	fprintf(f, "%d passed, %d failed\n```\n\n", passed, failed);
	fputs(tuning, f);
	fputc('\n', f);
	fputs(notes, f);
	stepup_note(rep, f);
	return fclose(f) == 0 ? 0 : -1;
}
