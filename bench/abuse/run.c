/* run.c - one run of the simulator: a fresh store, the engine as otpd
 * sets it up (otp_config_load on an argv of ours), 14 days of warm-up,
 * then the scenario's 48 hours as a queue of timed events.
 *
 * Each send goes the way a request to POST /auth/send-otp goes: the
 * per-IP limit (otp_engine_limit_ip, the handlers' guard), then
 * otp_engine_send with no cookie (a new session; a retry keeps it). The
 * simulator is the delivery worker: right after a send it claims the
 * outbox, unseals the message (otp_engine_unseal), reads the code off its
 * text and acks it; a verify later is otp_engine_verify with the session
 * token and that code. A send answered OTP_ESTEPUP is solved (sha-256
 * proof of work, abuse/pow.h) and sent again with the solution, by users
 * and attackers alike: its cost is the CPU, counted, not a refusal.
 *
 * The warm-up writes 14 days of legit history as signals: the sends and
 * verified codes of each region and prefix (and of "a:", all) added with
 * otp_store_signal_add, one call per simulated hour for the day before
 * T0 (the hour and 24 h windows) and one per day before that (what is left
 * of those days at T0 is their UTC-day buckets, the 14-day max), rather
 * than a million engine calls: what the rules read of history is exactly
 * those counters. Per-IP history is not warmed up (its windows are 24 h;
 * the scenario's first day fills them).
 *
 * Nothing sleeps: `now` is the event's time.
 */
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "abuse/lists.h"
#include "abuse/pow.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "engine/engine.h"
#include "sim.h"
#include "store/store.h"

/* -- the event queue: a binary heap by (time, sequence) ------------------ */
enum ev_kind { EV_LSEND, EV_LVERIFY, EV_ASEND, EV_AVERIFY };

struct event {
	int64_t t;
	uint32_t seq, idx;
	enum ev_kind kind;
};

struct heap {
	struct event *v;
	size_t n, cap;
	uint32_t seq;
};

static bool before(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct heap *h, int64_t t, enum ev_kind kind, long idx)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4096;
		h->v = realloc(h->v, h->cap * sizeof *h->v);
		if (!h->v)
			abort();
	}
	size_t i = h->n++;
	h->v[i] = (struct event){t, h->seq++, (uint32_t)idx, kind};
	while (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2])) {
		struct event tmp = h->v[i];
		h->v[i] = h->v[(i - 1) / 2];
		h->v[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static bool pop(struct heap *h, struct event *out)
{
	if (!h->n)
		return false;
	*out = h->v[0];
	h->v[0] = h->v[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		struct event tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
	return true;
}

/* -- a run's state ------------------------------------------------------- */
struct ctx {
	const struct sim_world *w;
	const struct sim_scenario *sc;
	struct otp_config cfg;
	struct otp_engine eng;
	struct otp_store *st;
	struct otp_prices prices;
	struct sim_traffic t;
	struct heap q;
	int64_t now, attack_start;
	struct sim_result *r;
	long legit_hashes;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_error(struct ctx *c, const char *what, int rc)
{
	if (c->r->error)
		return;
	c->r->error = rc;
	fprintf(stderr, "abuse-sim: %s: %s (%d) at +%.0f s\n", what,
		otp_err_code(rc), rc, (c->now - SIM_T0_MS) / 1000.0);
}

static bool is_fraud(int rc)
{
	return rc == OTP_EFRAUD || rc == OTP_ESPEND;
}

static bool is_limit(int rc)
{
	return rc == OTP_EIPLIM || rc == OTP_ECOOLDOWN || rc == OTP_EPHONELIM ||
	       rc == OTP_EPHONEIP || rc == OTP_EPHONESESS || rc == OTP_ELIMITED;
}

/* The API key id of the step-up fallback (see send). */
#define FALLBACK_KEY "sim-stepup"

/* -- proof of work -------------------------------------------------------- */
static bool zero_bits(const unsigned char *h, int bits)
{
	int i = 0;
	for (; bits >= 8; bits -= 8)
		if (h[i++])
			return false;
	return bits == 0 || (h[i] >> (8 - bits)) == 0;
}

void sim_pow_solve(const char *challenge, int bits, char *out, size_t cap,
		   long *hashes)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	for (unsigned long n = 0;; n++) {
		int len = snprintf(out, cap, "%s.%lu", challenge, n);
		crypto_hash_sha256(h, (const unsigned char *)out, (size_t)len);
		(*hashes)++;
		if (zero_bits(h, bits))
			return;
	}
}

/* -- the engine's faces, as a client and a delivery worker use them ------- */

/* One send as POST /auth/send-otp makes it; a step-up is solved and the
 * send made again (*stepups counts them). */
static int send(struct ctx *c, const char *phone, uint32_t ip_num,
		const char *token, struct otp_send_out *o, long *stepups,
		long *hashes, bool *api)
{
	char ip[16];
	int64_t ra;
	*api = false;
	sim_ip_text(ip_num, ip);
	int rc = otp_engine_limit_ip(&c->eng, c->st, ip, c->now, &ra);
	c->r->engine_calls++;
	if (rc < 0)
		return rc;
	struct otp_send_in in = {.phone = phone,
				 .phone_len = strlen(phone),
				 .token = token,
				 .token_len = token ? strlen(token) : 0,
				 .now = c->now,
				 .ip = ip};
	rc = otp_engine_send(&c->eng, c->st, &in, o);
	c->r->engine_calls++;
	if (rc != OTP_ESTEPUP)
		return rc;
	(*stepups)++;
	char sol[OTP_POW_MAX + 24], tok[OTP_TOKEN_LEN + 1];
	if (!o->challenge[0]) {
		/* An otpd built before abuse/pow.c answers a step-up with no
		 * challenge to solve. The step-up is taken as solved: the same
		 * send (phone, IP) goes through the provider API, where a
		 * step-up passes, so that the code is issued and counted in
		 * the signals as a solved send's would be; its verify goes
		 * the same way (*api). */
		struct otp_api_send_in ai = {.phone = phone,
					     .phone_len = strlen(phone),
					     .key_id = FALLBACK_KEY,
					     .now = c->now,
					     .ip = ip};
		struct otp_api_send_out ao;
		rc = otp_engine_api_send(&c->eng, c->st, &ai, &ao);
		c->r->engine_calls++;
		c->r->fallbacks++;
		if (rc == 0) {
			*api = true;
			snprintf(o->request_id, sizeof o->request_id, "%s",
				 ao.request_id);
		}
		return rc;
	}
	sim_pow_solve(o->challenge, (int)c->cfg.fraud_pow_bits, sol, sizeof sol,
		      hashes);
	c->r->solved++;
	/* the challenge is bound to the session the first answer set */
	snprintf(tok, sizeof tok, "%s", o->new_token[0] ? o->new_token : "");
	if (tok[0]) {
		in.token = tok;
		in.token_len = strlen(tok);
	}
	in.pow = sol;
	in.pow_len = strlen(sol);
	rc = otp_engine_limit_ip(&c->eng, c->st, ip, c->now, &ra);
	if (rc < 0)
		return rc;
	rc = otp_engine_send(&c->eng, c->st, &in, o);
	c->r->engine_calls += 2;
	if (!o->new_token[0] && tok[0])
		memcpy(o->new_token, tok, sizeof tok);
	return rc;
}

/* The delivery worker: claims what is due, reads the code of request_id
 * off its text into code (when not NULL), acks everything. */
static void deliver(struct ctx *c, const char *request_id,
		    char code[OTP_CODE_MAX + 1])
{
	struct otp_msg m[8];
	char text[512];
	size_t n = 0;
	if (code)
		code[0] = '\0';
	int rc = otp_store_outbox_claim(c->st, c->now, 30000, m, 8, &n);
	if (rc < 0) {
		note_error(c, "outbox_claim", rc);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (code && strcmp(m[i].request_id, request_id) == 0 &&
		    otp_engine_unseal(&c->eng, &m[i], c->now, text,
				      sizeof text) == 0) {
			size_t len = strspn(text, "0123456789");
			if (len > OTP_CODE_MAX)
				len = OTP_CODE_MAX;
			memcpy(code, text, len);
			code[len] = '\0';
		}
		rc =
		    otp_store_outbox_ack(c->st, m[i].id, m[i].attempts, c->now);
		if (rc < 0)
			note_error(c, "outbox_ack", rc);
		otp_msg_deinit(&m[i]);
	}
	if (code && !code[0])
		note_error(c, "no code in the outbox", OTP_EINTERNAL);
}

/* A verify of the login API with the session token, or of the provider
 * API with the request id (the step-up fallback's). */
static int verify(struct ctx *c, uint32_t ip_num, const char *token,
		  const char *request_id, bool api, const char *code, bool *ok)
{
	char ip[16];
	int64_t ra;
	struct otp_verify_res res;
	*ok = false;
	sim_ip_text(ip_num, ip);
	int rc = otp_engine_limit_ip(&c->eng, c->st, ip, c->now, &ra);
	if (rc < 0)
		return rc;
	if (api) {
		struct otp_verify_out vo;
		rc = otp_engine_api_verify(&c->eng, c->st, FALLBACK_KEY,
					   request_id, code, strlen(code),
					   c->now, &vo);
		c->r->engine_calls += 2;
		*ok = rc == 0 && vo.result == OTP_VERIFY_OK;
		return rc;
	}
	struct otp_verify_req in = {
	    token, strlen(token), code, strlen(code), NULL, 0, c->now};
	rc = otp_engine_verify(&c->eng, c->st, &in, &res);
	c->r->engine_calls += 2;
	*ok = rc == 0 && res.verified;
	return rc;
}

static int64_t price(struct ctx *c, int country)
{
	return otp_prices_region(&c->prices, c->w->pool[country].c->iso);
}

/* -- legit users ---------------------------------------------------------- */

/* ABUSE_SIM_DEBUG: what the prefix and region of a refused user read. */
static void debug_refusal(struct ctx *c, const struct sim_user *u)
{
	const struct sim_pool *p = &c->w->pool[u->country];
	char pk[OTP_SIGNAL_KEY_MAX], rk[OTP_SIGNAL_KEY_MAX];
	snprintf(pk, sizeof pk, "p:%.*s", (int)(strlen(p->c->cc) + 4),
		 u->phone);
	snprintf(rk, sizeof rk, "r:%s", p->c->iso);
	const char *keys[2] = {pk, rk};
	struct otp_signal sig[2];
	if (otp_store_signal_read(c->st, keys, NULL, 2, c->now, sig) < 0)
		return;
	for (int i = 0; i < 2; i++)
		fprintf(stderr,
			"refused at +%.2f h: %s sent %lld/%lld verified "
			"%lld/%lld (hour/day), peak %lld\n",
			(c->now - SIM_T0_MS) / 3.6e6, keys[i],
			(long long)sig[i].w[OTP_SIG_SENT].hour,
			(long long)sig[i].w[OTP_SIG_SENT].day,
			(long long)sig[i].w[OTP_SIG_VERIFIED].hour,
			(long long)sig[i].w[OTP_SIG_VERIFIED].day,
			(long long)sig[i].w[OTP_SIG_VERIFIED].day_max);
}
static void legit_send(struct ctx *c, long i)
{
	struct sim_user *u = &c->t.users[i];
	struct otp_send_out o;
	u->sends++;
	c->r->lsends++;
	bool api;
	int rc = send(c, u->phone, u->ip, u->token[0] ? u->token : NULL, &o,
		      &c->r->lstepups, &c->legit_hashes, &api);
	u->last_rc = (int8_t)rc;
	if (o.new_token[0])
		memcpy(u->token, o.new_token, sizeof u->token);
	if (rc == 0) {
		bool second = u->got_code;
		c->r->lsms++;
		c->r->lcost += price(c, u->country);
		u->got_code = true;
		u->api = api;
		snprintf(u->request_id, sizeof u->request_id, "%s",
			 o.request_id);
		deliver(c, o.request_id, u->code);
		if (!second && u->verify1)
			push(&c->q, c->now + u->d_verify1, EV_LVERIFY, i);
		else if (!second && u->retry && !u->retried) {
			u->retried = true;
			push(&c->q, c->now + u->d_retry, EV_LSEND, i);
		} else if (second && u->verify2)
			push(&c->q, c->now + u->d_verify2, EV_LVERIFY, i);
		return;
	}
	if (is_fraud(rc) || rc == OTP_ESTEPUP) {
		c->r->lrefused++;
		if (getenv("ABUSE_SIM_DEBUG"))
			debug_refusal(c, u);
	} else if (!is_limit(rc))
		note_error(c, "legit send", rc);
	/* a refused user tries once more, then gives up */
	if (++u->refused == 1)
		push(&c->q, c->now + u->d_refused, EV_LSEND, i);
}

static void legit_verify(struct ctx *c, long i)
{
	struct sim_user *u = &c->t.users[i];
	bool ok;
	int rc =
	    verify(c, u->ip, u->token, u->request_id, u->api, u->code, &ok);
	if (rc < 0 && !is_limit(rc) && rc != OTP_EEXPIRED)
		note_error(c, "legit verify", rc);
	if (ok && !u->verified) {
		u->verified = true;
		c->r->lverified++;
	}
}

/* -- the attack ----------------------------------------------------------- */
static void attack_send(struct ctx *c, long i)
{
	struct sim_hit *h = &c->t.hits[i];
	struct otp_send_out o;
	int64_t b = (c->now - SIM_T0_MS) / SIM_BUCKET_MS;
	c->r->tried++;
	if (b >= 0 && b < SIM_BUCKETS)
		c->r->tries[b]++;
	bool api;
	int rc = send(c, h->phone, h->ip, NULL, &o, &c->r->stepups,
		      &c->r->pow_hashes, &api);
	if (rc == 0) {
		c->r->sent++;
		c->r->cost += price(c, h->country);
		if (b >= 0 && b < SIM_BUCKETS)
			c->r->series[b]++;
		h->api = api;
		snprintf(h->request_id, sizeof h->request_id, "%s",
			 o.request_id);
		deliver(c, o.request_id, h->code);
		memcpy(h->token, o.new_token, sizeof h->token);
		if (h->verify)
			push(&c->q, c->now + h->d_verify, EV_AVERIFY, i);
		return;
	}
	if (is_fraud(rc) || rc == OTP_ESTEPUP) {
		c->r->refused++;
		if (c->r->detect_ms < 0)
			c->r->detect_ms = c->now - c->attack_start;
	} else if (is_limit(rc)) {
		c->r->limited++;
	} else {
		note_error(c, "attack send", rc);
	}
}

static void attack_verify(struct ctx *c, long i)
{
	struct sim_hit *h = &c->t.hits[i];
	bool ok;
	int rc =
	    verify(c, h->ip, h->token, h->request_id, h->api, h->code, &ok);
	if (rc < 0 && !is_limit(rc) && rc != OTP_EEXPIRED)
		note_error(c, "attack verify", rc);
	c->r->verified += ok;
}

/* -- warm-up -------------------------------------------------------------- */
struct hour_counts {
	int64_t region[SIM_COUNTRIES][2];
	int64_t prefix[SIM_COUNTRIES][SIM_PREFIX_MAX][2];
	int64_t all[2];
};

static int add_batch(struct ctx *c, struct otp_signal_add *adds, size_t *n)
{
	int rc = *n ? otp_store_signal_add(c->st, adds, *n, c->now) : 0;
	*n = 0;
	return rc;
}

static int add_one(struct ctx *c, struct otp_signal_add *adds, size_t *n,
		   size_t cap, const char *key, const int64_t v[2])
{
	if (!v[0] && !v[1])
		return 0;
	struct otp_signal_add *a = &adds[(*n)++];
	memset(a, 0, sizeof *a);
	snprintf(a->key, sizeof a->key, "%s", key);
	a->n[OTP_SIG_SENT] = v[0];
	a->n[OTP_SIG_VERIFIED] = v[1];
	return *n == cap ? add_batch(c, adds, n) : 0;
}

/* The 14 days before T0: each country's sends, hour by hour, as its
 * share of the usual users on its daily curve (a day's volume varies by
 * up to 15 %), spread over its prefixes by the same Zipf the users
 * follow, each verified with the users' overall conversion. Written per
 * hour for the last day, per day before it. */
static int warm_up(struct ctx *c, const struct sim_legit *l, double scale,
		   uint64_t seed)
{
	/* adds per call: the Redis backend takes at most 16 in one step
	 * (OTP_REDIS_SIGNALS_MAX), so both stores get the same calls */
	enum { CAP = 16 };
	static struct hour_counts hc;
	struct otp_signal_add adds[CAP];
	struct sim_rng r;
	const struct sim_world *w = c->w;
	double per_day = l->users * scale / 2.0;
	double sends_per_user = 1 + (1 - l->verify) * l->retry;
	double conv =
	    (l->verify + (1 - l->verify) * l->retry * l->retry_verify) /
	    sends_per_user;
	char key[OTP_SIGNAL_KEY_MAX];
	size_t n = 0;
	int rc = 0;

	sim_rng_seed(&r, seed, 7);
	for (int d = -SIM_WARMUP_DAYS; d < 0 && rc == 0; d++) {
		double day_factor = 0.85 + 0.3 * sim_rng_unit(&r);
		/* the day before T0 hour by hour (the rules' hour and 24 h
		 * windows); the older days as a whole (only their UTC-day
		 * buckets are left at T0) */
		bool hourly = d == -1;
		memset(&hc, 0, sizeof hc);
		for (int h = 0; h < 24 && rc == 0; h++) {
			for (int ci = 0; ci < w->ncountries; ci++) {
				const struct sim_country *cc = w->pool[ci].c;
				double mean = per_day * day_factor *
					      sim_world_share(w, ci) *
					      sends_per_user *
					      sim_world_curve(cc, h);
				long sends = (long)mean;
				sends +=
				    sim_rng_chance(&r, mean - (double)sends);
				for (long k = 0; k < sends; k++) {
					int p =
					    sim_world_pick_prefix(w, ci, &r);
					bool v = sim_rng_chance(&r, conv);
					hc.prefix[ci][p][0]++;
					hc.prefix[ci][p][1] += v;
					hc.region[ci][0]++;
					hc.region[ci][1] += v;
					hc.all[0]++;
					hc.all[1] += v;
				}
			}
			if (!hourly && h < 23)
				continue;
			c->now = SIM_T0_MS + d * SIM_DAY_MS + h * SIM_HOUR_MS +
				 30 * 60000;
			for (int ci = 0; ci < w->ncountries && rc == 0; ci++) {
				snprintf(key, sizeof key, "r:%s",
					 w->pool[ci].c->iso);
				rc = add_one(c, adds, &n, CAP, key,
					     hc.region[ci]);
				for (int p = 0;
				     p < w->pool[ci].nprefix && rc == 0; p++) {
					sim_world_prefix_key(w, ci, p, key);
					rc = add_one(c, adds, &n, CAP, key,
						     hc.prefix[ci][p]);
				}
			}
			if (rc == 0)
				rc = add_one(c, adds, &n, CAP, "a:", hc.all);
			if (rc == 0)
				rc = add_batch(c, adds, &n);
			memset(&hc, 0, sizeof hc);
		}
	}
	return rc;
}

/* -- set-up --------------------------------------------------------------- */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[768];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static int redis_flush(int port, int db)
{
	struct timeval tv = {2, 0};
	redisContext *rc = redisConnectWithTimeout("127.0.0.1", port, tv);
	int ok = -1;
	if (rc && !rc->err) {
		redisReply *r = redisCommand(rc, "SELECT %d", db);
		if (r)
			freeReplyObject(r);
		r = redisCommand(rc, "FLUSHDB");
		ok = r && r->type == REDIS_REPLY_STATUS ? 0 : -1;
		if (r)
			freeReplyObject(r);
	}
	if (rc)
		redisFree(rc);
	return ok;
}

static int set_up(struct ctx *c, const struct sim_opts *o, enum sim_rules rules,
		  const char *url)
{
	static const unsigned char secret[OTP_SECRET_LEN] = {
	    's', 'i', 'm', 'u', 'l', 'a', 't', 'o', 'r'};
	char err[256];
	char *argv[] = {"otpd",
			"--store",
			(char *)url,
			"--sms",
			"null",
			"--fraud",
			"enforce",
			"--fraud-pow-bits",
			"8",
			"--spend-prices",
			(char *)o->prices,
			"--log-level",
			"error",
			NULL};
	int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
	int rc = otp_config_load(&c->cfg, argc, argv, NULL, err, sizeof err);
	if (rc != OTP_CONFIG_RUN) {
		fprintf(stderr, "abuse-sim: config: %s\n", err);
		return -1;
	}
	/* otpd's --log-level, set as main.c sets it: the rules log each
	 * decision, thousands a run */
	otp_log_set_level(OTP_LOG_ERROR);
	if (otp_prices_load(o->prices, &c->prices, err, sizeof err) < 0) {
		fprintf(stderr, "abuse-sim: prices: %s\n", err);
		return -1;
	}
	if ((rc = otp_store_open(url, &c->st)) < 0) {
		fprintf(stderr, "abuse-sim: cannot open %s: %d\n", url, rc);
		return -1;
	}
	if ((rc = otp_engine_init(&c->eng, &c->cfg, secret, NULL)) < 0) {
		fprintf(stderr, "abuse-sim: engine: %d\n", rc);
		return -1;
	}
	if (rules == SIM_R_AUTHGEAR)
		otp_abuse_set_rules(c->eng.abuse, sim_authgear_rules,
				    sim_authgear_nrules);
	return 0;
}

int sim_run(const struct sim_world *w, const struct sim_opts *o, int scenario,
	    enum sim_rules rules, enum sim_store store, int db, uint64_t seed,
	    struct sim_result *out)
{
	static struct ctx c;
	char dir[400], url[512];
	double t0 = wall();
	int rc = -1;

	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	out->scenario = scenario;
	out->rules = rules;
	out->store = store;
	out->seed = seed;
	out->detect_ms = -1;
	c.w = w;
	c.sc = &sim_scenarios[scenario];
	c.r = out;
	c.attack_start = SIM_T0_MS + c.sc->start_h * SIM_HOUR_MS;
	snprintf(dir, sizeof dir, "%s/run-%d-%d-%d-%llu", o->dir, scenario,
		 rules, store, (unsigned long long)seed);
	if (store == SIM_S_SQLITE) {
		mkdir(dir, 0700);
		snprintf(url, sizeof url, "sqlite:%s/otpd.db", dir);
	} else {
		if (redis_flush(o->redis_port, db) < 0) {
			fprintf(stderr, "abuse-sim: redis db %d: no flush\n",
				db);
			return -1;
		}
		snprintf(url, sizeof url, "redis://127.0.0.1:%d/%d",
			 o->redis_port, db);
	}
	if (sim_traffic_make(w, &sim_legit_default, c.sc, o->scale, seed,
			     &c.t) < 0)
		goto done;
	if (set_up(&c, o, rules, url) < 0)
		goto done;
	if (warm_up(&c, &sim_legit_default, o->scale, seed) < 0) {
		fprintf(stderr, "abuse-sim: warm-up failed\n");
		goto done;
	}
	out->warmup_s = wall() - t0;
	for (long i = 0; i < c.t.nusers; i++)
		push(&c.q, c.t.users[i].t0, EV_LSEND, i);
	for (long i = 0; i < c.t.nhits; i++)
		push(&c.q, c.t.hits[i].t, EV_ASEND, i);
	struct event ev;
	while (pop(&c.q, &ev)) {
		c.now = ev.t;
		switch (ev.kind) {
		case EV_LSEND:
			legit_send(&c, ev.idx);
			break;
		case EV_LVERIFY:
			legit_verify(&c, ev.idx);
			break;
		case EV_ASEND:
			attack_send(&c, ev.idx);
			break;
		case EV_AVERIFY:
			attack_verify(&c, ev.idx);
			break;
		}
	}
	out->users = c.t.nusers;
	for (long i = 0; i < c.t.nusers; i++) {
		const struct sim_user *u = &c.t.users[i];
		out->failed += !u->got_code;
		if (!u->got_code && getenv("ABUSE_SIM_DEBUG"))
			fprintf(
			    stderr, "legit %s %s (%s): %s after %d sends\n",
			    w->pool[u->country].c->iso, u->phone,
			    u->ip >> 16 ==
				    ((11u + (uint32_t)u->country) << 8 | 255)
				? "nat"
				: "own",
			    otp_err_code(u->last_rc), u->sends);
	}
	rc = out->error ? -1 : 0;
done:
	otp_engine_deinit(&c.eng);
	otp_store_close(c.st);
	otp_config_deinit(&c.cfg);
	sim_traffic_free(&c.t);
	free(c.q.v);
	if (store == SIM_S_SQLITE)
		remove_tree(dir);
	out->wall_s = wall() - t0;
	return rc;
}
