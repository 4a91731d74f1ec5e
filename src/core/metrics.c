/* metrics.c - the counters of metrics.h: sharded relaxed atomics, summed
 * and written as Prometheus text at scrape time.
 *
 * A shard holds every counter of the process, 64-byte aligned so that two
 * threads on two shards never share a cache line; a thread picks its shard
 * once (round robin). A count is one relaxed fetch_add on the thread's own
 * shard: no lock, no fence. The scrape sums the shards into a snapshot of
 * the same layout, so a scrape may see one counter a little ahead of
 * another, never one go backwards. The SMS tries by country are one
 * table for the process (the delivery workers are few; 999 calling codes
 * in every shard would be half a MiB). Not here: gauges read at scrape
 * time (src/handlers/metrics.c), the timing of store operations (the
 * decorator of src/store/store_timing.c, which counts here).
 */
#include "core/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/slots.h"
#include "core/phone.h"

/* Status codes counted by their own label; any other as "other". */
static const int statuses[] = {200, 201, 204, 302, 303, 400, 401, 403,
			       404, 405, 409, 410, 413, 414, 415, 429,
			       431, 500, 502, 503, 504, 0};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

/* Upper bounds of the latency histogram's buckets, in ns (+Inf after). */
static const int64_t bounds_ns[] = {100000,	250000,	   500000,    1000000,
				    2500000,	5000000,   10000000,  25000000,
				    50000000,	100000000, 250000000, 500000000,
				    1000000000, 2500000000};
static const char *const bounds_text[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025",  "0.05",	 "0.1",	   "0.25",  "0.5",    "1",     "2.5"};
#define NBOUNDS (sizeof bounds_ns / sizeof bounds_ns[0])
/* The store's histogram: most operations take tens of microseconds. */
static const int64_t store_bounds_ns[] = {
    10000,   25000,   50000,	100000,	  250000,    500000,
    1000000, 2500000, 10000000, 50000000, 250000000, 1000000000};
static const char *const store_bounds_text[] = {
    "0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005",
    "0.001",   "0.0025",   "0.01",    "0.05",	"0.25",	   "1"};
#define NSBOUNDS  (sizeof store_bounds_ns / sizeof store_bounds_ns[0])
#define SHIST_SUM (NSBOUNDS + 1)
/* Per route: a count per bucket (+Inf last, not cumulative), then the sum
 * in ns. */
#define HIST_SUM (NBOUNDS + 1)

/* One layout for a shard (atomic) and a snapshot (plain). */
#define COUNTERS(T)                                                            \
	T http[OTP_METRICS_ROUTES + 1][NSTATUS];                               \
	T hist[OTP_METRICS_ROUTES + 1][HIST_SUM + 1];                          \
	T send[OTP_M_APIS][OTP_M_SENDS];                                       \
	T verify[OTP_M_APIS][OTP_M_VERIFIES];                                  \
	T limited[OTP_M_LIMITS];                                               \
	T sms[OTP_METRICS_DRIVERS][OTP_M_SMSS];                                \
	T store[OTP_METRICS_STORE_OPS][SHIST_SUM + 1];

struct shard {
	COUNTERS(_Atomic uint64_t)
} __attribute__((aligned(64)));
struct snap {
	COUNTERS(uint64_t)
};
#define NCOUNTERS (sizeof(struct snap) / sizeof(uint64_t))
_Static_assert(sizeof(struct snap) % sizeof(uint64_t) == 0, "flat counters");

static struct shard shards[OTP_METRICS_SHARDS];
static atomic_uint next_shard;
static _Thread_local struct shard *mine;

/* Route index -> name slot, and the slots' names ("unknown" last). */
static int route_slot[256];
static const char *slot_name[OTP_METRICS_ROUTES + 1];
static size_t nslots;

/* SMS driver names: appended under a lock the first time each is seen
 * (once per driver for the life of the process), read without one. */
static const char *_Atomic driver_name[OTP_METRICS_DRIVERS];
static pthread_mutex_t driver_mu = PTHREAD_MUTEX_INITIALIZER;

/* Delivery tries by calling code (1..999) and status: one table for the
 * process (written by the few delivery workers, pages untouched until a
 * country is seen). */
#define NCC 1000
static _Atomic uint64_t sms_cc[NCC][OTP_M_SMSS];

/* Queued -> accepted by the gateway, in ms: a try, its retries with
 * backoff, a failover; +Inf after the last bound, then the sum. */
static const int64_t delivery_bounds_ms[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000};
static const char *const delivery_bounds_text[] = {
    "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300"};
#define NDBOUNDS (sizeof delivery_bounds_ms / sizeof delivery_bounds_ms[0])
/* Its stages: queued -> accepted, and queued -> delivered (by the
 * gateway's report). */
static const char *const delivery_stages[OTP_M_STAGES] = {"accepted",
							  "delivered"};
static _Atomic uint64_t delivery[OTP_M_STAGES][NDBOUNDS + 2];

static const char *store_op_name[OTP_METRICS_STORE_OPS];
static size_t nstore_ops;

#define NAME_(n) #n,
static const char *const api_names[] = {OTP_METRICS_APIS(NAME_)};
static const char *const send_names[] = {OTP_METRICS_SEND_OUTCOMES(NAME_)};
static const char *const verify_names[] = {OTP_METRICS_VERIFY_OUTCOMES(NAME_)};
static const char *const limit_names[] = {OTP_METRICS_LIMITS(NAME_)};
static const char *const sms_names[] = {OTP_METRICS_SMS_STATUSES(NAME_)};

static struct shard *shard(void)
{
	if (!mine)
		mine = &shards[atomic_fetch_add_explicit(&next_shard, 1,
							 memory_order_relaxed) %
			       OTP_METRICS_SHARDS];
	return mine;
}

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void otp_metrics_routes(const char *const *names, size_t n)
{
	nslots = 0;
	for (size_t i = 0; i < n && i < sizeof route_slot / sizeof(int); i++) {
		size_t s = 0;
		while (s < nslots && strcmp(slot_name[s], names[i]) != 0)
			s++;
		if (s == nslots && nslots < OTP_METRICS_ROUTES)
			slot_name[nslots++] = names[i];
		route_slot[i] = s < nslots ? (int)s : OTP_METRICS_ROUTES;
	}
	slot_name[OTP_METRICS_ROUTES] = "unknown";
}

void otp_metrics_http(int route, int status, int64_t ns)
{
	struct shard *sh = shard();
	size_t rs =
	    route >= 0 && (size_t)route < sizeof route_slot / sizeof(int)
		? (size_t)route_slot[route]
		: OTP_METRICS_ROUTES;
	size_t st = 0;
	while (st < NSTATUS - 1 && statuses[st] != status)
		st++;
	add(&sh->http[rs][st], 1);
	size_t b = 0;
	while (b < NBOUNDS && ns > bounds_ns[b])
		b++;
	add(&sh->hist[rs][b], 1);
	add(&sh->hist[rs][HIST_SUM], ns > 0 ? (uint64_t)ns : 0);
}

static enum otp_m_send send_outcome(int rc, bool replayed, bool test)
{
	switch (rc) {
	case 0:
		return replayed ? OTP_M_SEND_replayed
		       : test	? OTP_M_SEND_test
				: OTP_M_SEND_issued;
	case OTP_ELIMITED:
		return OTP_M_SEND_limited;
	case OTP_EDENIED:
		return OTP_M_SEND_destination_denied;
	case OTP_EFRAUD:
		return OTP_M_SEND_fraud_suspected;
	case OTP_ESTEPUP:
		return OTP_M_SEND_challenge_required;
	case OTP_ESPEND:
		return OTP_M_SEND_spend_limit;
	case OTP_EPHONE:
		return OTP_M_SEND_invalid_phone;
	case OTP_ECONFLICT:
		return OTP_M_SEND_idempotency_conflict;
	case OTP_EUPSTREAM:
		return OTP_M_SEND_upstream_failed;
	case OTP_EUNAVAIL:
		return OTP_M_SEND_store_unavailable;
	case OTP_EFULL:
		return OTP_M_SEND_storage_full;
	case OTP_EOUTCOME:
		return OTP_M_SEND_outcome_unknown;
	default:
		return OTP_M_SEND_error;
	}
}

void otp_metrics_send(enum otp_m_api api, int rc, bool replayed, bool test)
{
	add(&shard()->send[api][send_outcome(rc, replayed, test)], 1);
	if (rc == OTP_ELIMITED)
		otp_metrics_limited(OTP_M_LIMIT_phone);
}

static enum otp_m_verify verify_outcome(int rc)
{
	switch (rc) {
	case OTP_ECODEFMT:
		return OTP_M_VERIFY_invalid_code;
	case OTP_EPHONE:
		return OTP_M_VERIFY_invalid_phone;
	case OTP_EEXPIRED:
		return OTP_M_VERIFY_session_expired;
	case OTP_EUPSTREAM:
		return OTP_M_VERIFY_upstream_failed;
	case OTP_EUNAVAIL:
		return OTP_M_VERIFY_store_unavailable;
	case OTP_EFULL:
		return OTP_M_VERIFY_storage_full;
	case OTP_EOUTCOME:
		return OTP_M_VERIFY_outcome_unknown;
	default:
		return OTP_M_VERIFY_error;
	}
}

void otp_metrics_verify(enum otp_m_api api, int rc, enum otp_m_verify outcome)
{
	add(&shard()->verify[api][rc < 0 ? verify_outcome(rc) : outcome], 1);
}

void otp_metrics_limited(enum otp_m_limit which)
{
	add(&shard()->limited[which], 1);
}

/* The slot of a driver's name, added if new; -1 when the table is full. */
static int driver_slot(const char *name)
{
	return otp_slot_of(driver_name, OTP_METRICS_DRIVERS, &driver_mu, name);
}

void otp_metrics_sms(const char *driver, enum otp_m_sms status)
{
	int d = driver_slot(driver);
	if (d >= 0)
		add(&shard()->sms[d][status], 1);
}

void otp_metrics_sms_country(const char *e164, enum otp_m_sms status)
{
	char cc[4];
	if (otp_phone_calling_code(e164, cc) == 0)
		return;
	char *end;
	long n = strtol(cc, &end, 10); /* 1-3 digits */
	if (*end == '\0' && n > 0 && n < NCC)
		add(&sms_cc[n][status], 1);
}

void otp_metrics_sms_stage(enum otp_m_stage stage, int64_t ms)
{
	size_t b = 0;
	while (b < NDBOUNDS && ms > delivery_bounds_ms[b])
		b++;
	add(&delivery[stage][b], 1);
	add(&delivery[stage][NDBOUNDS + 1], ms > 0 ? (uint64_t)ms : 0);
}

void otp_metrics_store_ops(const char *const *names, size_t n)
{
	nstore_ops = n < OTP_METRICS_STORE_OPS ? n : OTP_METRICS_STORE_OPS;
	for (size_t i = 0; i < nstore_ops; i++)
		store_op_name[i] = names[i];
}

void otp_metrics_store_op(int op, int64_t ns)
{
	if (op < 0 || (size_t)op >= nstore_ops)
		return;
	_Atomic uint64_t *h = shard()->store[op];
	size_t b = 0;
	while (b < NSBOUNDS && ns > store_bounds_ns[b])
		b++;
	add(&h[b], 1);
	add(&h[SHIST_SUM], ns > 0 ? (uint64_t)ns : 0);
}

static void sum(struct snap *out)
{
	uint64_t *o = (uint64_t *)out;
	memset(out, 0, sizeof *out);
	for (size_t s = 0; s < OTP_METRICS_SHARDS; s++) {
		_Atomic uint64_t *c = (_Atomic uint64_t *)&shards[s];
		for (size_t i = 0; i < NCOUNTERS; i++)
			o[i] +=
			    atomic_load_explicit(&c[i], memory_order_relaxed);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram series: its nbounds + 1 buckets (h, the last past every
 * bound) as cumulative counts, the sum (in seconds, prec decimals) and
 * the count, labelled label="value". */
static void write_hist(FILE *f, const char *name, const char *label,
		       const char *value, const uint64_t *h, size_t nbounds,
		       const char *const *bounds, double sum, int prec)
{
	uint64_t cum = 0;
	for (size_t b = 0; b <= nbounds; b++) {
		cum += h[b];
		fprintf(f, "%s_bucket{%s=\"%s\",le=\"%s\"} %llu\n", name, label,
			value, b < nbounds ? bounds[b] : "+Inf",
			(unsigned long long)cum);
	}
	fprintf(f, "%s_sum{%s=\"%s\"} %.*f\n", name, label, value, prec, sum);
	fprintf(f, "%s_count{%s=\"%s\"} %llu\n", name, label, value,
		(unsigned long long)cum);
}

/* A family over (api, outcome): every pair, zeros included, so that rates
 * and ratios exist from the first scrape. */
static void by_api(FILE *f, const char *name, const char *help,
		   const uint64_t *v, const char *const *outcomes, size_t n)
{
	head(f, name, "counter", help);
	for (size_t a = 0; a < OTP_M_APIS; a++)
		for (size_t o = 0; o < n; o++)
			fprintf(f, "%s{api=\"%s\",outcome=\"%s\"} %llu\n", name,
				api_names[a], outcomes[o],
				(unsigned long long)v[a * n + o]);
}

static void write_http(FILE *f, const struct snap *s)
{
	head(f, "otpd_http_requests_total", "counter",
	     "HTTP requests answered on the public listener, by route and "
	     "status.");
	for (size_t r = 0; r <= OTP_METRICS_ROUTES; r++) {
		if (!slot_name[r])
			continue;
		for (size_t st = 0; st < NSTATUS; st++) {
			if (!s->http[r][st])
				continue;
			char code[8] = "other";
			if (statuses[st])
				snprintf(code, sizeof code, "%d", statuses[st]);
			fprintf(f,
				"otpd_http_requests_total{route=\"%s\",code="
				"\"%s\"} %llu\n",
				slot_name[r], code,
				(unsigned long long)s->http[r][st]);
		}
	}
	head(f, "otpd_http_request_duration_seconds", "histogram",
	     "Time from a request's first byte to its answer.");
	for (size_t r = 0; r <= OTP_METRICS_ROUTES; r++)
		if (slot_name[r])
			write_hist(f, "otpd_http_request_duration_seconds",
				   "route", slot_name[r], s->hist[r], NBOUNDS,
				   bounds_text,
				   (double)s->hist[r][HIST_SUM] / 1e9, 9);
}

static void write_delivery(FILE *f)
{
	head(f, "otpd_sms_delivery_seconds", "histogram",
	     "Time from a message being queued to its gateway accepting it "
	     "(stage accepted) and to its delivery report (delivered).");
	for (int st = 0; st < OTP_M_STAGES; st++) {
		_Atomic uint64_t *d = delivery[st];
		uint64_t h[NDBOUNDS + 1];
		for (size_t b = 0; b <= NDBOUNDS; b++)
			h[b] =
			    atomic_load_explicit(&d[b], memory_order_relaxed);
		uint64_t ms = atomic_load_explicit(&d[NDBOUNDS + 1],
						   memory_order_relaxed);
		write_hist(f, "otpd_sms_delivery_seconds", "stage",
			   delivery_stages[st], h, NDBOUNDS,
			   delivery_bounds_text, (double)ms / 1e3, 3);
	}
}

/* Only the operations that ran: a backend uses a part of the list. */
static void write_store(FILE *f, const struct snap *s)
{
	head(f, "otpd_store_operation_duration_seconds", "histogram",
	     "Time of each store operation, by operation.");
	for (size_t op = 0; op < nstore_ops; op++) {
		const uint64_t *h = s->store[op];
		uint64_t n = 0;
		for (size_t b = 0; b <= NSBOUNDS; b++)
			n += h[b];
		if (!n)
			continue;
		write_hist(f, "otpd_store_operation_duration_seconds", "op",
			   store_op_name[op], h, NSBOUNDS, store_bounds_text,
			   (double)h[SHIST_SUM] / 1e9, 9);
	}
}

void otp_metrics_outcomes(otp_metrics_each_fn *each, void *arg)
{
	static struct snap s; /* as otp_metrics_write's */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	sum(&s);
	for (size_t o = 0; o < OTP_M_SENDS; o++)
		each(arg, "sends", send_names[o],
		     s.send[OTP_M_API_login][o] +
			 s.send[OTP_M_API_provider][o]);
	for (size_t o = 0; o < OTP_M_VERIFIES; o++)
		each(arg, "verifications", verify_names[o],
		     s.verify[OTP_M_API_login][o] +
			 s.verify[OTP_M_API_provider][o]);
	pthread_mutex_unlock(&mu);
}

void otp_metrics_write(FILE *f)
{
	static struct snap s; /* 50 KiB: not on a pool thread's stack */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	sum(&s);
	write_http(f, &s);
	by_api(f, "otpd_otp_sends_total", "Code sends, by API and outcome.",
	       &s.send[0][0], send_names, OTP_M_SENDS);
	by_api(f, "otpd_otp_verifications_total",
	       "Code verifications, by API and outcome.", &s.verify[0][0],
	       verify_names, OTP_M_VERIFIES);
	head(f, "otpd_rate_limited_total", "counter",
	     "Requests or sends refused by a rate limit, by limit.");
	for (size_t l = 0; l < OTP_M_LIMITS; l++)
		fprintf(f, "otpd_rate_limited_total{limit=\"%s\"} %llu\n",
			limit_names[l], (unsigned long long)s.limited[l]);
	head(f, "otpd_sms_messages_total", "counter",
	     "SMS delivery tries, by driver and what became of them.");
	for (size_t d = 0; d < OTP_METRICS_DRIVERS; d++) {
		const char *n = atomic_load(&driver_name[d]);
		for (size_t st = 0; n && st < OTP_M_SMSS; st++)
			fprintf(f,
				"otpd_sms_messages_total{driver=\"%s\","
				"status=\"%s\"} %llu\n",
				n, sms_names[st],
				(unsigned long long)s.sms[d][st]);
	}
	head(f, "otpd_sms_by_country_total", "counter",
	     "SMS delivery tries, by the destination's calling code and what "
	     "became of them.");
	for (size_t cc = 1; cc < NCC; cc++) {
		uint64_t v[OTP_M_SMSS], any = 0;
		for (size_t st = 0; st < OTP_M_SMSS; st++)
			any |= v[st] = atomic_load_explicit(
			    &sms_cc[cc][st], memory_order_relaxed);
		for (size_t st = 0; any && st < OTP_M_SMSS; st++)
			fprintf(f,
				"otpd_sms_by_country_total{country=\"%zu\","
				"status=\"%s\"} %llu\n",
				cc, sms_names[st], (unsigned long long)v[st]);
	}
	write_delivery(f);
	write_store(f, &s);
	pthread_mutex_unlock(&mu);
}
