/* test_outbox.c - the delivery worker and the SMS drivers.
 *
 * Rounds run against a real SQLite store in a temporary directory with an
 * injected `now`; a scripted driver defined here sits behind the same
 * struct otp_sms_ops as the real ones and records what it was given. The
 * real drivers (console, file, null) are tested on their own, and the thread
 * API once with the real clock. The store's own semantics are the contract
 * suite's job (tests/contract/), not this file's.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/phone.h"
#include "outbox/handoff.h"
#include "outbox/outbox_test.h"
#include "sms/sms.h"
#include "store/store.h"
#include "store/store_faults.h"

#include "harness.h"

#define T0   1700000000000LL /* 2023-11-14T22:13:20Z */
#define HOUR 3600000LL

/* ---- a scripted driver: records each message, answers from a script ---- */

#define REC_MAX 64

struct rec {
	char to[OTP_PHONE_MAX];
	char body[512];
	char request_id[OTP_ID_LEN + 1];
	int64_t message_id;
	int64_t now_ms;
	char idem_key[64];
	char dlr_token[64];
	bool ucs2;
};

struct script_sms {
	struct otp_sms base; /* first */
	pthread_mutex_t mu;  /* the thread test reads while the worker sends */
	enum otp_sms_result script[REC_MAX];
	size_t nscript;		    /* answers after the script: SENT */
	enum otp_sms_result repeat; /* answer once the script ran out */
	size_t calls;
	struct rec recs[REC_MAX];
};

static enum otp_sms_result script_send(struct otp_sms *d,
				       const struct otp_sms_msg *m, char *err,
				       size_t errlen)
{
	struct script_sms *t = (struct script_sms *)d;
	pthread_mutex_lock(&t->mu);
	size_t i = t->calls++;
	if (i < REC_MAX) {
		struct rec *r = &t->recs[i];
		snprintf(r->to, sizeof r->to, "%s", m->to);
		snprintf(r->body, sizeof r->body, "%s", m->body);
		snprintf(r->request_id, sizeof r->request_id, "%s",
			 m->request_id);
		r->message_id = m->message_id;
		r->now_ms = m->now_ms;
		snprintf(r->idem_key, sizeof r->idem_key, "%s",
			 m->idem_key ? m->idem_key : "(null)");
		snprintf(r->dlr_token, sizeof r->dlr_token, "%s",
			 m->dlr_token ? m->dlr_token : "(null)");
		r->ucs2 = m->ucs2;
	}
	enum otp_sms_result res = i < t->nscript ? t->script[i] : t->repeat;
	pthread_mutex_unlock(&t->mu);
	if (res == OTP_SMS_RETRY)
		snprintf(err, errlen, "script: busy");
	else if (res == OTP_SMS_FAILED)
		snprintf(err, errlen, "script: refused");
	return res;
}

static int script_open(const char *arg, const struct otp_sms_env *env,
		       struct otp_sms **out, char *err, size_t errlen)
{
	(void)arg;
	(void)env;
	(void)out;
	snprintf(err, errlen, "test driver");
	return OTP_ETYPE;
}

static void script_close(struct otp_sms *d)
{
	(void)d;
}

static const struct otp_sms_ops script_ops = {
    .name = "script",
    .prefix = "script",
    .version = 1,
    .open = script_open,
    .send = script_send,
    .close = script_close,
};

static void script_init(struct script_sms *t)
{
	memset(t, 0, sizeof *t);
	t->base.ops = &script_ops;
	t->repeat = OTP_SMS_SENT;
	pthread_mutex_init(&t->mu, NULL);
}

static size_t script_calls(struct script_sms *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->calls;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* ---- a toy seal: "S1" then the text XOR 0x5a, so sealed != text ---- */

struct unseal_arg {
	int calls; /* atomic: the pool's workers unseal at once */
};

static size_t seal(const char *text, unsigned char *out)
{
	size_t n = strlen(text);
	out[0] = 'S';
	out[1] = '1';
	for (size_t i = 0; i < n; i++)
		out[2 + i] = (unsigned char)text[i] ^ 0x5a;
	return n + 2;
}

static int test_unseal(void *arg, const struct otp_msg *m, int64_t now,
		       char *text, size_t cap)
{
	struct unseal_arg *u = arg;
	(void)now;
	__atomic_add_fetch(&u->calls, 1, __ATOMIC_RELAXED);
	if (m->body_len < 2 || m->body[0] != 'S' || m->body[1] != '1' ||
	    m->body_len - 2 >= cap)
		return OTP_EINTERNAL;
	for (size_t i = 2; i < m->body_len; i++)
		text[i - 2] = (char)(m->body[i] ^ 0x5a);
	text[m->body_len - 2] = '\0';
	return 0;
}

/* ---- a store in a fresh temporary directory ---- */

struct fixture {
	char dir[64];
	char url[128];
	struct otp_store *s;
	struct script_sms sms;
	struct script_sms second; /* driver 1 after fx_open_two() */
	struct otp_sms_set set;	  /* {&sms} unless a test says otherwise */
	struct unseal_arg u;
	struct otp_outbox_cfg cfg;
	unsigned seq;
	char id[OTP_ID_LEN + 1]; /* the request id fx_issue() wrote */
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static bool tmp_dir(char out[64])
{
	snprintf(out, 64, "/tmp/otpd-outbox-XXXXXX");
	return mkdtemp(out) != NULL;
}

static bool fx_open(struct fixture *fx)
{
	memset(fx, 0, sizeof *fx);
	if (sodium_init() < 0 || !tmp_dir(fx->dir))
		return false;
	snprintf(fx->url, sizeof fx->url, "sqlite:%s/otpd.db", fx->dir);
	if (otp_store_open(fx->url, &fx->s) != 0)
		return false;
	script_init(&fx->sms);
	script_init(&fx->second);
	fx->set.n = 1;
	fx->set.d[0] = &fx->sms.base;
	fx->cfg = (struct otp_outbox_cfg){
	    .store_url = fx->url,
	    .drivers = &fx->set,
	    .unseal = test_unseal,
	    .arg = &fx->u,
	    .backoff_ms = 1000,
	};
	return true;
}

static void fx_close(struct fixture *fx)
{
	otp_store_close(fx->s);
	pthread_mutex_destroy(&fx->sms.mu);
	pthread_mutex_destroy(&fx->second.mu);
	rm_tree(fx->dir);
}

/* Commits a code for `phone` with its sealed message `text`; writes the
 * request id in id. Returns the store's answer. */
static int issue(struct fixture *fx, const char *phone, const char *text,
		 int64_t now, int64_t expires_ms, char id[OTP_ID_LEN + 1])
{
	struct otp_code_new c = {.attempts = 5, .expires_ms = expires_ms};
	unsigned char body[600];
	snprintf(c.id, sizeof c.id, "%016x%016x", 0xabcdefu, ++fx->seq);
	snprintf(c.phone, sizeof c.phone, "%s", phone);
	randombytes_buf(c.mac, sizeof c.mac);
	snprintf(id, OTP_ID_LEN + 1, "%s", c.id);
	struct otp_issue in = {
	    .code = c, .body = body, .body_len = seal(text, body)};
	struct otp_issue_out out;
	return otp_store_code_issue(fx->s, &in, now, &out);
}

static int state_of(struct fixture *fx, const char *id)
{
	enum otp_msg_state st;
	int rc = otp_store_outbox_state(fx->s, id, &st);
	return rc < 0 ? rc : (int)st;
}

static int round_at(struct fixture *fx, int64_t now, size_t *handled)
{
	return otp_outbox_round(&fx->cfg, fx->s, now, handled);
}

/* A round at `now` that handles `want` messages. */
#define CHECK_ROUND(fx, now, want)                                             \
	do {                                                                   \
		size_t handled_;                                               \
		CHECK_INT(round_at((fx), (now), &handled_), 0);                \
		CHECK_INT(handled_, (want));                                   \
	} while (0)

/* A round at `now`, however many messages it handles. */
#define CHECK_RUN(fx, now)                                                     \
	do {                                                                   \
		size_t handled_;                                               \
		CHECK_INT(round_at((fx), (now), &handled_), 0);                \
	} while (0)

/* issue() at T0 of a code living until expires_ms, its request id into
 * fx->id; whether the store took it. */
static bool fx_issue(struct fixture *fx, const char *phone, const char *text,
		     int64_t expires_ms)
{
	return issue(fx, phone, text, T0, expires_ms, fx->id) == 0;
}

/* fx_open() with the script driver answering `first` to its first send. */
static bool fx_open_scripted(struct fixture *fx, enum otp_sms_result first)
{
	if (!fx_open(fx))
		return false;
	fx->sms.script[0] = first;
	fx->sms.nscript = 1;
	return true;
}

/* fx_open() with fx->second as driver 1 after the first, which answers
 * `repeat` to every send; max_attempts tries per driver (0: the default). */
static bool fx_open_two(struct fixture *fx, int max_attempts,
			enum otp_sms_result repeat)
{
	if (!fx_open(fx))
		return false;
	fx->set.n = 2;
	fx->set.d[1] = &fx->second.base;
	if (max_attempts)
		fx->cfg.max_attempts = max_attempts;
	fx->sms.repeat = repeat;
	return true;
}

/* ---- stderr capture, for the console driver and the log checks ---- */

struct capture {
	char path[96];
	int saved;
};

static bool capture_begin(struct capture *c, const char *dir)
{
	snprintf(c->path, sizeof c->path, "%s/stderr.txt", dir);
	int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return c->saved >= 0;
}

/* Restores stderr and returns what was written, malloc'd. */
static char *capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	FILE *f = fopen(c->path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- the worker, one round at a time ---- */

static void delivers_once_then_acks(void)
{
	struct fixture fx;
	CHECK(fx_open(&fx) &&
	      fx_issue(&fx, "+14155550100", "Your code is 123456", T0 + HOUR));
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);

	CHECK_ROUND(&fx, T0, 1);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_STR(fx.sms.recs[0].to, "+14155550100");
	CHECK_STR(fx.sms.recs[0].request_id, fx.id);
	CHECK_STR(fx.sms.recs[0].body, "Your code is 123456");
	CHECK_INT(fx.sms.recs[0].now_ms, T0);
	CHECK(fx.sms.recs[0].message_id > 0);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);

	/* Acked: neither a later round nor an expired lease sends it again. */
	CHECK_ROUND(&fx, T0 + 1, 0);
	CHECK_ROUND(&fx, T0 + 10 * 60000, 0);
	CHECK_INT(fx.sms.calls, 1);
	fx_close(&fx);
}

static void unseals_before_sending(void)
{
	struct fixture fx;
	char bad[OTP_ID_LEN + 1];
	CHECK(fx_open(&fx));
	CHECK(fx_issue(&fx, "+14155550101", "Code 987654 for Acme", T0 + HOUR));
	/* A body the unseal function refuses: dead-lettered, never sent. */
	struct otp_code_new c = {.attempts = 5, .expires_ms = T0 + HOUR};
	snprintf(c.id, sizeof c.id, "%032x", 0xbadu);
	snprintf(c.phone, sizeof c.phone, "+14155550102");
	snprintf(bad, sizeof bad, "%s", c.id);
	struct otp_issue in = {
	    .code = c, .body = (const unsigned char *)"XX", .body_len = 2};
	struct otp_issue_out out;
	CHECK_INT(otp_store_code_issue(fx.s, &in, T0, &out), 0);

	CHECK_ROUND(&fx, T0, 2);
	CHECK_INT(fx.u.calls, 2);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_STR(fx.sms.recs[0].body, "Code 987654 for Acme");
	CHECK_STR(fx.sms.recs[0].request_id, fx.id);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	CHECK_INT(state_of(&fx, bad), OTP_MSG_FAILED);
	fx_close(&fx);
}

static void retry_waits_for_backoff(void)
{
	struct fixture fx;
	CHECK(fx_open_scripted(&fx, OTP_SMS_RETRY) &&
	      fx_issue(&fx, "+14155550103", "Your code is 111111", T0 + HOUR));

	CHECK_ROUND(&fx, T0, 1);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);

	/* The first retry waits 800..1000 ms (1000 ms less up to 20 %). */
	CHECK_ROUND(&fx, T0 + 799, 0);
	CHECK_INT(fx.sms.calls, 1);

	CHECK_ROUND(&fx, T0 + 1001, 1);
	CHECK_INT(fx.sms.calls, 2);
	CHECK_STR(fx.sms.recs[1].body, "Your code is 111111");
	CHECK_INT(fx.sms.recs[0].message_id, fx.sms.recs[1].message_id);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	fx_close(&fx);
}

static void failed_is_dead_letter(void)
{
	struct fixture fx;
	CHECK(fx_open_scripted(&fx, OTP_SMS_FAILED) &&
	      fx_issue(&fx, "+14155550104", "Your code is 222222", T0 + HOUR));

	CHECK_ROUND(&fx, T0, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_FAILED);
	for (int64_t t = T0 + 1000; t < T0 + 10 * 60000; t += 61000) {
		CHECK_ROUND(&fx, t, 0);
	}
	CHECK_INT(fx.sms.calls, 1);
	fx_close(&fx);
}

/* A retry keeps the driver the message was on while it has tries left. */
static void retry_keeps_driver(void)
{
	struct fixture fx;
	size_t n;
	CHECK(fx_open_scripted(&fx, OTP_SMS_RETRY) &&
	      fx_issue(&fx, "+14155550108", "Your code is 121212", T0 + HOUR));
	fx.set.n = 2;
	fx.set.d[1] = &fx.sms.base;
	/* An earlier try moved it to driver 1. */
	struct otp_msg m[1] = {0};
	CHECK_INT(otp_store_outbox_claim(fx.s, T0, 30000, m, 1, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(otp_store_outbox_retry(fx.s, m[0].id, m[0].attempts, T0 + 10,
					 1, "moved", T0),
		  0);
	otp_msg_deinit(&m[0]);

	CHECK_ROUND(&fx, T0 + 10, 1);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);
	CHECK_INT(otp_store_outbox_claim(fx.s, T0 + 60000, 30000, m, 1, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(m[0].driver, 1);
	CHECK_INT(m[0].attempts, 3);
	otp_msg_deinit(&m[0]);
	fx_close(&fx);
}

/* A dead letter keeps its sealed body: requeued, it goes out. */
static void dead_letter_can_be_requeued(void)
{
	struct fixture fx;
	size_t n;
	CHECK(fx_open_scripted(&fx, OTP_SMS_FAILED) &&
	      fx_issue(&fx, "+14155550109", "Your code is 343434", T0 + HOUR));
	CHECK_RUN(&fx, T0);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_FAILED);
	struct otp_msg_info l[1];
	CHECK_INT(otp_store_outbox_list(fx.s, OTP_MSG_FAILED, l, 1, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].last_error, "script: refused");
	CHECK_INT(otp_store_outbox_requeue(fx.s, l[0].id, T0 + 5000), 0);
	CHECK_ROUND(&fx, T0 + 5000, 1);
	CHECK_INT(fx.sms.calls, 2);
	CHECK_STR(fx.sms.recs[1].body, "Your code is 343434");
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	fx_close(&fx);
}

/* Rounds every 100 ms from `from` until `to` or until stop() holds, as a
 * worker that wakes at each due time would; returns where it stopped. */
static int64_t rounds_until(struct fixture *fx, int64_t from, int64_t to,
			    bool (*stop)(struct fixture *))
{
	size_t n;
	int64_t t = from;
	for (; t < to && !(stop && stop(fx)); t += 100)
		if (round_at(fx, t, &n) < 0)
			break;
	return t;
}

/* max_attempts tries on the only driver do not dead-letter a code that is
 * still valid: the tries go on at the capped backoff (a worker is free
 * between them: each round is one try), spread over the code's life, and
 * once the next one would leave the code under 15 s the message is
 * expired, never failed. */
static void max_attempts_then_retries_until_expiry(void)
{
	struct fixture fx;
	size_t n;
	int64_t exp = T0 + 300000;
	CHECK(fx_open(&fx) &&
	      fx_issue(&fx, "+14155550105", "Your code is 333333", exp));
	fx.cfg.max_attempts = 3;
	fx.sms.repeat = OTP_SMS_RETRY;
	rounds_until(&fx, T0, T0 + 400000, NULL);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_EXPIRED);
	struct otp_msg_info l[1];
	CHECK_INT(otp_store_outbox_list(fx.s, OTP_MSG_FAILED, l, 1, &n), 0);
	CHECK_INT(n, 0);
	CHECK(fx.sms.calls >= 8);
	int64_t last = fx.sms.recs[fx.sms.calls - 1].now_ms;
	CHECK(last <= exp - OTP_OUTBOX_USEFUL_MS);
	CHECK(last >= exp - OTP_OUTBOX_USEFUL_MS - 60000);
	for (size_t i = 1; i < fx.sms.calls; i++)
		CHECK(fx.sms.recs[i].now_ms - fx.sms.recs[i - 1].now_ms <=
		      60000 + 100);
	fx_close(&fx);
}

/* The outage of the fault tests: a gateway down 40 s, a 300 s code sent
 * at its start. Six tries are spent by ~31 s; the next, at the capped
 * backoff, comes after the outage and delivers. */
static void long_outage_still_delivers(void)
{
	struct fixture fx;
	size_t n;
	CHECK(fx_open(&fx) && fx_issue(&fx, "+14155550110",
				       "Your code is 565656", T0 + 300000));
	fx.sms.repeat = OTP_SMS_RETRY;
	int64_t t = T0;
	for (; t < T0 + 40000; t += 100) /* the outage */
		CHECK_INT(round_at(&fx, t, &n), 0);
	CHECK_INT(fx.sms.calls, 6);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);
	fx.sms.repeat = OTP_SMS_SENT; /* the gateway is back */
	for (; t < T0 + 120000 && state_of(&fx, fx.id) == OTP_MSG_QUEUED;
	     t += 100)
		CHECK_INT(round_at(&fx, t, &n), 0);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	CHECK_INT(fx.sms.calls, 7);
	CHECK(t - T0 < 31000 + 60000 + 100);
	fx_close(&fx);
}

static void expired_is_not_sent(void)
{
	struct fixture fx;
	CHECK(fx_open(&fx) &&
	      fx_issue(&fx, "+14155550106", "Your code is 444444", T0 + 1000));
	CHECK_ROUND(&fx, T0 + 1000, 1);
	CHECK_INT(fx.sms.calls, 0);
	CHECK_INT(fx.u.calls, 0);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_EXPIRED);
	CHECK_ROUND(&fx, T0 + 2 * 60000, 0);
	CHECK_INT(fx.sms.calls, 0);
	fx_close(&fx);
}

static void crashed_claim_is_delivered_after_lease(void)
{
	struct fixture fx;
	size_t n;
	CHECK(fx_open(&fx) &&
	      fx_issue(&fx, "+14155550107", "Your code is 555555", T0 + HOUR));

	/* A worker claims it and dies before sending or acking. */
	struct otp_msg m[4] = {0};
	CHECK_INT(otp_store_outbox_claim(fx.s, T0, 30000, m, 4, &n), 0);
	CHECK_INT(n, 1);
	otp_msg_deinit(&m[0]);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENDING);

	CHECK_ROUND(&fx, T0 + 29999, 0);
	CHECK_INT(fx.sms.calls, 0);

	CHECK_ROUND(&fx, T0 + 30001, 1);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_STR(fx.sms.recs[0].body, "Your code is 555555");
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	fx_close(&fx);
}

/* fx_open() with fx->s behind the fault decorator under spec (whose plan
 * goes to *plan, freed by the caller after fx_close). */
static bool fx_open_faulty(struct fixture *fx, const char *spec,
			   struct otp_store_faults **plan)
{
	char err[128];
	if (!fx_open(fx) || otp_store_faults_new(spec, plan, err, sizeof err))
		return false;
	fx->s = otp_store_faults_wrap(fx->s, *plan);
	return fx->s != NULL;
}

/* A failed ack left the claim to its lease, and the SMS went again when it
 * ran out (issue 13): it is tried again in the round, so it goes once. */
static void failed_ack_is_tried_again_not_resent(void)
{
	static const char *const specs[] = {
	    "outbox_ack:before:unavail:1", /* the store was not reached */
	    "outbox_ack:after:unavail:1",  /* it ran, the answer was lost */
	    "outbox_ack:before:internal:1,outbox_ack:before:full:2",
	};
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		struct fixture fx;
		struct otp_store_faults *plan = NULL;
		CHECK(fx_open_faulty(&fx, specs[i], &plan) &&
		      fx_issue(&fx, "+14155550109", "Your code is 424242",
			       T0 + HOUR));
		CHECK_ROUND(&fx, T0, 1);
		CHECK(otp_store_faults_fired(plan) >= 1);
		CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
		/* Past the lease: nothing to send again. */
		CHECK_ROUND(&fx, T0 + 10 * 60000, 0);
		CHECK_INT(fx.sms.calls, 1);
		CHECK(otp_outbox_stats().sent >= 1);
		fx_close(&fx);
		otp_store_faults_free(plan);
	}
}

/* An ack that keeps failing is tried no later than a second before the
 * lease's end; then the lease brings the message back (same request id). */
static void failing_ack_gives_up_before_the_lease(void)
{
	struct fixture fx;
	struct otp_store_faults *plan = NULL;
	CHECK(fx_open_faulty(&fx, "outbox_ack:before:unavail", &plan) &&
	      fx_issue(&fx, "+14155550110", "Your code is 434343", T0 + HOUR));
	/* The shortest lease these timeouts allow: 1 + 1 + 1000 + 1000 ms. */
	fx.cfg.sms_env.timeout_ms = 1;
	fx.cfg.sms_env.connect_timeout_ms = 1;
	fx.cfg.lease_ms = 1;
	int64_t t = otp_clock_mono_ms();
	size_t n;
	CHECK_INT(round_at(&fx, T0, &n), OTP_EUNAVAIL);
	t = otp_clock_mono_ms() - t;
	CHECK(t < 2002); /* the lease: 2002 ms (the retries stop 1 s before) */
	CHECK(otp_store_faults_fired(plan) >= 3); /* after 50, 100, ... ms */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENDING);
	/* Claimed and sent again (its ack fails again: the store still does).
	 */
	CHECK_INT(round_at(&fx, T0 + 2003, &n), OTP_EUNAVAIL);
	CHECK_INT(n, 1);
	CHECK_INT(fx.sms.calls, 2);
	CHECK_STR(fx.sms.recs[1].request_id, fx.id);
	fx_close(&fx);
	otp_store_faults_free(plan);
}

/* The acks of a batch go together, in one store operation: with every
 * single ack failing, three messages sent in one round are marked sent
 * all the same, once each; and when one of them fails, the others' acks
 * are tried again with it until they land. */
static void acks_of_a_batch_go_in_one_operation(void)
{
	struct fixture fx;
	struct otp_store_faults *plan = NULL;
	char id[3][OTP_ID_LEN + 1], phone[OTP_PHONE_MAX];
	CHECK(fx_open_faulty(&fx,
			     "outbox_ack:before:unavail,"
			     "outbox_ack_claim:before:unavail:2",
			     &plan));
	for (int i = 0; i < 3; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 700 + i);
		CHECK_INT(issue(&fx, phone, "Your code is 171717", T0,
				T0 + HOUR, id[i]),
			  0);
	}
	CHECK_ROUND(&fx, T0, 3);
	CHECK_INT(otp_store_faults_fired(plan), 0); /* no single ack */
	for (int i = 0; i < 3; i++)
		CHECK_INT(state_of(&fx, id[i]), OTP_MSG_SENT);
	CHECK_INT(fx.sms.calls, 3);

	/* The next batch's first try fails: tried again, all land. */
	for (int i = 0; i < 2; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 710 + i);
		CHECK_INT(issue(&fx, phone, "Your code is 181818", T0 + 1,
				T0 + HOUR, id[i]),
			  0);
	}
	CHECK_ROUND(&fx, T0 + 1, 2);
	CHECK_INT(otp_store_faults_fired(plan), 1);
	CHECK_INT(state_of(&fx, id[0]), OTP_MSG_SENT);
	CHECK_INT(state_of(&fx, id[1]), OTP_MSG_SENT);
	CHECK_ROUND(&fx, T0 + 10 * 60000, 0); /* nothing left to resend */
	CHECK_INT(fx.sms.calls, 5);
	fx_close(&fx);
	otp_store_faults_free(plan);
}

static void full_batch_then_rest(void)
{
	struct fixture fx;
	char id[OTP_ID_LEN + 1], phone[OTP_PHONE_MAX];
	CHECK(fx_open(&fx));
	/* a round claims a batch of 4: a slow gateway holds few messages */
	for (int i = 0; i < 10; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 200 + i);
		CHECK_INT(
		    issue(&fx, phone, "Your code is 666666", T0, T0 + HOUR, id),
		    0);
	}
	CHECK_ROUND(&fx, T0, 4);
	CHECK_ROUND(&fx, T0, 4);
	CHECK_ROUND(&fx, T0, 2);
	CHECK_ROUND(&fx, T0, 0);
	CHECK_INT(fx.sms.calls, 10);
	fx_close(&fx);
}

static void logs_mask_phone_and_hide_text(void)
{
	struct fixture fx;
	char a[OTP_ID_LEN + 1], b[OTP_ID_LEN + 1], c[OTP_ID_LEN + 1];
	char masked[OTP_PHONE_MAX];
	struct capture cap;
	size_t n;
	CHECK(fx_open(&fx));
	fx.sms.script[0] = OTP_SMS_SENT;
	fx.sms.script[1] = OTP_SMS_RETRY;
	fx.sms.script[2] = OTP_SMS_FAILED;
	fx.sms.nscript = 3;
	CHECK_INT(
	    issue(&fx, "+14155550123", "Your code is 424242", T0, T0 + HOUR, a),
	    0);
	CHECK_INT(
	    issue(&fx, "+14155550124", "Your code is 424242", T0, T0 + HOUR, b),
	    0);
	CHECK_INT(
	    issue(&fx, "+14155550125", "Your code is 424242", T0, T0 + HOUR, c),
	    0);
	CHECK(capture_begin(&cap, fx.dir));
	int rc = round_at(&fx, T0, &n);
	char *out = capture_end(&cap);
	CHECK(out != NULL);
	CHECK_INT(rc, 0);
	CHECK_INT(n, 3);
	otp_phone_mask("+14155550123", masked);
	bool ok = strstr(out, "\"sms sent\"") && strstr(out, "\"sms retry\"") &&
		  strstr(out, "\"sms dead-lettered\"") && strstr(out, masked) &&
		  strstr(out, a) && !strstr(out, "424242") &&
		  !strstr(out, "+14155550123") && !strstr(out, "+14155550124");
	if (!ok)
		fprintf(stderr, "captured log:\n%s", out);
	free(out);
	CHECK(ok);
	fx_close(&fx);
}

/* ---- backoff ---- */

static void backoff_grows_with_jitter_and_caps(void)
{
	struct otp_outbox_cfg cfg = {.backoff_ms = 1000};
	CHECK(sodium_init() >= 0);
	for (int a = 1; a <= 12; a++) {
		int64_t full = 1000LL << (a - 1);
		if (full > 60000)
			full = 60000;
		int64_t lo = full, hi = 0;
		for (int i = 0; i < 500; i++) {
			int64_t d = otp_outbox_backoff(&cfg, a);
			CHECK(d * 10 >= full * 8);
			CHECK(d <= full);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		CHECK(lo < hi); /* there is jitter */
	}
	for (int a = 30; a <= 10000; a *= 7) {
		int64_t d = otp_outbox_backoff(&cfg, a);
		CHECK(d >= 48000 && d <= 60000);
	}
	CHECK(otp_outbox_backoff(&cfg, 2147483647) <= 60000);
	/* Unset: 1 s to begin with. */
	cfg.backoff_ms = 0;
	int64_t d = otp_outbox_backoff(&cfg, 1);
	CHECK(d >= 800 && d <= 1000);
	/* A first delay above the cap is capped too. */
	cfg.backoff_ms = 120000;
	d = otp_outbox_backoff(&cfg, 1);
	CHECK(d >= 48000 && d <= 60000);
}

/* ---- the real drivers ---- */

static void sms_open_picks_by_prefix(void)
{
	struct otp_sms *d = NULL;
	char err[128] = "";
	CHECK_INT(otp_sms_open("null", &d, err, sizeof err), 0);
	CHECK_STR(d->ops->name, "null");
	struct otp_sms_msg m = {.to = "+14155550100",
				.body = "Your code is 123456",
				.request_id = "r1",
				.message_id = 1,
				.now_ms = T0};
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_SENT);
	otp_sms_close(d);

	CHECK_INT(otp_sms_open("console", &d, err, sizeof err), 0);
	CHECK_STR(d->ops->name, "console");
	otp_sms_close(d);
	CHECK_INT(otp_sms_open("file:/tmp/x.jsonl", &d, err, sizeof err), 0);
	CHECK_STR(d->ops->name, "file");
	otp_sms_close(d);

	const char *bad[] = {"twilio", "", "file:", "console:x", "nullx"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		d = (struct otp_sms *)&err; /* must be reset to NULL */
		CHECK_INT(otp_sms_open(bad[i], &d, err, sizeof err), OTP_ETYPE);
		CHECK(d == NULL);
		CHECK(err[0] != '\0');
	}
	otp_sms_close(NULL);
}

static void console_prints_framed_block(void)
{
	char dir[64];
	struct otp_sms *d = NULL;
	struct capture cap;
	char err[128] = "";
	CHECK(tmp_dir(dir));
	CHECK_INT(otp_sms_open("console", &d, err, sizeof err), 0);
	struct otp_sms_msg m = {.to = "+14155550100",
				.body = "Your code is 123456\n@example.com "
					"#123456",
				.request_id =
				    "0123456789abcdef0123456789abcdef",
				.message_id = 7,
				.now_ms = T0};
	CHECK(capture_begin(&cap, dir));
	enum otp_sms_result res = otp_sms_send(d, &m, err, sizeof err);
	char *out = capture_end(&cap);
	otp_sms_close(d);
	rm_tree(dir);
	CHECK(out != NULL);
	CHECK_INT(res, OTP_SMS_SENT);
	bool ok = strcmp(out, "--- SMS to +14155550100 (request "
			      "0123456789abcdef0123456789abcdef) ---\n"
			      "Your code is 123456\n@example.com #123456\n"
			      "---\n") == 0;
	if (!ok)
		fprintf(stderr, "console wrote:\n%s", out);
	free(out);
	CHECK(ok);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length
 * or -1. */
static long slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long)n;
}

static void file_appends_json_lines(void)
{
	char dir[64], spec[256], path[128], buf[4096], err[128] = "";
	char at[OTP_ISO8601_LEN];
	struct otp_sms *d = NULL;
	CHECK(tmp_dir(dir));
	snprintf(path, sizeof path, "%s/sms.jsonl", dir);
	snprintf(spec, sizeof spec, "file:%s", path);
	CHECK_INT(otp_sms_open(spec, &d, err, sizeof err), 0);
	struct otp_sms_msg m = {
	    .to = "+14155550100",
	    .body = "Your code is 123456 \"quoted\"\n#123456",
	    .request_id = "0123456789abcdef0123456789abcdef",
	    .message_id = 3,
	    .now_ms = T0 + 1234};
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_SENT);
	m.to = "+447700900123";
	m.body = "second";
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_SENT);
	otp_sms_close(d);

	struct stat st;
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	long len = slurp(path, buf, sizeof buf);
	rm_tree(dir);
	CHECK(len > 0);
	CHECK(buf[len - 1] == '\n');
	char *nl = strchr(buf, '\n');
	CHECK(nl != NULL && nl != buf + len - 1); /* two lines */
	CHECK(strchr(nl + 1, '\n') == buf + len - 1);

	json_error_t jerr;
	json_t *o = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
	CHECK(o != NULL);
	CHECK(json_is_object(o));
	CHECK_INT(json_object_size(o), 4);
	otp_clock_iso8601(T0 + 1234, at);
	bool ok =
	    json_is_string(json_object_get(o, "to")) &&
	    strcmp(json_string_value(json_object_get(o, "to")),
		   "+14155550100") == 0 &&
	    strcmp(json_string_value(json_object_get(o, "body")),
		   "Your code is 123456 \"quoted\"\n#123456") == 0 &&
	    strcmp(json_string_value(json_object_get(o, "request_id")),
		   "0123456789abcdef0123456789abcdef") == 0 &&
	    strcmp(json_string_value(json_object_get(o, "at")), at) == 0 &&
	    strcmp(at, "2023-11-14T22:13:21Z") == 0;
	json_decref(o);
	CHECK(ok);
	o = json_loads(nl + 1, 0, &jerr);
	CHECK(o != NULL);
	ok = strcmp(json_string_value(json_object_get(o, "to")),
		    "+447700900123") == 0;
	json_decref(o);
	CHECK(ok);
}

static void file_missing_dir_retries_then_works(void)
{
	char dir[64], sub[96], spec[256], path[160], buf[2048];
	char err[128] = "";
	struct otp_sms *d = NULL;
	CHECK(tmp_dir(dir));
	snprintf(sub, sizeof sub, "%s/later", dir);
	snprintf(path, sizeof path, "%s/sms.jsonl", sub);
	snprintf(spec, sizeof spec, "file:%s", path);
	/* Opening the driver does not need the directory yet. */
	CHECK_INT(otp_sms_open(spec, &d, err, sizeof err), 0);
	struct otp_sms_msg m = {.to = "+14155550100",
				.body = "Your code is 123456",
				.request_id =
				    "0123456789abcdef0123456789abcdef",
				.message_id = 3,
				.now_ms = T0};
	enum otp_sms_result res = otp_sms_send(d, &m, err, sizeof err);
	CHECK_INT(res, OTP_SMS_RETRY);
	CHECK_STR(err, "open: No such file or directory");
	CHECK_INT(mkdir(sub, 0700), 0);
	err[0] = '\0';
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_SENT);
	otp_sms_close(d);
	long len = slurp(path, buf, sizeof buf);
	rm_tree(dir);
	CHECK(len > 0 && buf[len - 1] == '\n');
	CHECK(strstr(buf, "\"body\":\"Your code is 123456\"") != NULL);
}

/* The file driver behind the worker: a missing directory is a retry, and
 * the message arrives once the directory exists. */
static void outbox_with_file_driver(void)
{
	struct fixture fx;
	char sub[96], spec[256], path[160], buf[2048];
	char err[128] = "";
	struct otp_sms *file = NULL;
	CHECK(fx_open(&fx));
	snprintf(sub, sizeof sub, "%s/spool", fx.dir);
	snprintf(path, sizeof path, "%s/sms.jsonl", sub);
	snprintf(spec, sizeof spec, "file:%s", path);
	CHECK_INT(otp_sms_open(spec, &file, err, sizeof err), 0);
	fx.set.d[0] = file;
	CHECK(fx_issue(&fx, "+14155550108", "Your code is 777777", T0 + HOUR));
	CHECK_ROUND(&fx, T0, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);
	CHECK_INT(mkdir(sub, 0700), 0);
	CHECK_ROUND(&fx, T0 + 1001, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	otp_sms_close(file);
	long len = slurp(path, buf, sizeof buf);
	CHECK(len > 0);
	CHECK(strstr(buf, "\"body\":\"Your code is 777777\"") != NULL);
	CHECK(strstr(buf, fx.id) != NULL);
	fx_close(&fx);
}

/* ---- the thread, with the real clock ---- */

/* Polls until the message of `id` is SENT and the driver has `calls`
 * calls, for at most 10 s. */
static bool wait_sent(struct fixture *fx, const char *id, size_t calls)
{
	int64_t deadline = otp_clock_mono_ms() + 10000;
	while (otp_clock_mono_ms() < deadline) {
		if (script_calls(&fx->sms) >= calls &&
		    state_of(fx, id) == OTP_MSG_SENT)
			return true;
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void thread_delivers_on_notify(void)
{
	struct fixture fx;
	char a[OTP_ID_LEN + 1], b[OTP_ID_LEN + 1];
	struct otp_outbox *o = NULL;
	CHECK(fx_open(&fx));
	/* Idle wake-ups far apart: only notify (or the first round) can
	 * explain a delivery within the deadline. */
	fx.cfg.poll_ms = 60000;
	int64_t now = otp_clock_now_ms();
	CHECK_INT(issue(&fx, "+14155550109", "Your code is 888888", now,
			now + HOUR, a),
		  0);
	char err[256];
	CHECK_INT(otp_outbox_start(&o, &fx.cfg, err, sizeof err), 0);
	CHECK(wait_sent(&fx, a, 1)); /* the first round */

	now = otp_clock_now_ms();
	CHECK_INT(issue(&fx, "+14155550110", "Your code is 999999", now,
			now + HOUR, b),
		  0);
	otp_outbox_notify(o);
	CHECK(wait_sent(&fx, b, 2));

	/* Stop wakes the idle worker rather than waiting out poll_ms. */
	int64_t t = otp_clock_mono_ms();
	otp_outbox_stop(o);
	CHECK(otp_clock_mono_ms() - t < 5000);
	CHECK_INT(script_calls(&fx.sms), 2);
	CHECK_STR(fx.sms.recs[1].body, "Your code is 999999");
	fx_close(&fx);
}

static void start_fails_on_bad_store(void)
{
	struct script_sms sms;
	struct unseal_arg u = {0};
	struct otp_outbox *o = (struct otp_outbox *)&u;
	script_init(&sms);
	struct otp_sms_set set = {1, {&sms.base}};
	char err[256];
	struct otp_outbox_cfg cfg = {.store_url = "nosuch:x",
				     .drivers = &set,
				     .unseal = test_unseal,
				     .arg = &u};
	CHECK_INT(otp_outbox_start(&o, &cfg, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "cannot open the store") == err);
	CHECK(o == NULL);
	otp_outbox_stop(NULL);
	pthread_mutex_destroy(&sms.mu);
}

/* A message its request hands over in memory after the commit goes out
 * without a claim: its row was written claimed for the pool's lease, the
 * worker settles it with that claim's token (attempts stay 1: no claim
 * was made), and meanwhile no claim round could have taken it. */
static void handed_message_is_sent_without_a_claim(void)
{
	struct fixture fx;
	char err[256];
	struct otp_outbox *o = NULL;
	CHECK(fx_open(&fx));
	fx.cfg.poll_ms = 60000; /* only the hand-over explains a send */
	CHECK_INT(otp_outbox_start(&o, &fx.cfg, err, sizeof err), 0);
	int64_t lease = 0, now = otp_clock_now_ms();
	CHECK(otp_outbox_reserve(o, &lease));
	CHECK(lease >= 30000);
	struct otp_code_new c = {.attempts = 5, .expires_ms = now + HOUR};
	unsigned char body[600];
	snprintf(c.id, sizeof c.id, "%032x", 0x4a4du);
	snprintf(c.phone, sizeof c.phone, "+14155550177");
	struct otp_issue in = {.code = c,
			       .body = body,
			       .body_len = seal("Your code is 424242", body),
			       .lease_ms = lease};
	struct otp_issue_out out;
	CHECK_INT(otp_store_code_issue(fx.s, &in, now, &out), 0);
	CHECK(out.msg_id > 0);
	struct otp_msg m = {.id = out.msg_id,
			    .body = malloc(in.body_len),
			    .body_len = in.body_len,
			    .attempts = 1,
			    .expires_ms = c.expires_ms,
			    .created_ms = now};
	memcpy(m.body, body, in.body_len);
	memcpy(m.request_id, c.id, sizeof m.request_id);
	snprintf(m.to, sizeof m.to, "%s", c.phone);
	otp_outbox_hand(o, &m, now + lease);
	CHECK(m.body == NULL); /* the pool's now */
	CHECK(wait_sent(&fx, c.id, 1));
	otp_outbox_stop(o);
	CHECK_INT(script_calls(&fx.sms), 1);
	CHECK_STR(fx.sms.recs[0].body, "Your code is 424242");
	CHECK_STR(fx.sms.recs[0].to, "+14155550177");
	CHECK_INT(fx.sms.recs[0].message_id, out.msg_id);
	struct otp_msg_info l[2];
	size_t n = 0;
	CHECK_INT(otp_store_outbox_list(fx.s, OTP_MSG_SENT, l, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(l[0].attempts, 1);
	fx_close(&fx);
}

/* The in-memory queue is bounded: with every place taken a send is told
 * no (it then queues its row for a claim), and a place given back can be
 * taken again. */
static void hand_over_is_bounded(void)
{
	struct fixture fx;
	char err[256];
	struct otp_outbox *o = NULL;
	int64_t lease = -1;
	CHECK(fx_open(&fx));
	fx.cfg.poll_ms = 60000;
	CHECK_INT(otp_outbox_start(&o, &fx.cfg, err, sizeof err), 0);
	int got = 0;
	while (got <= OTP_HANDOFF_MAX && otp_outbox_reserve(o, &lease))
		got++;
	CHECK_INT(got, OTP_HANDOFF_MAX);
	CHECK_INT(lease, 0);
	otp_outbox_cancel(o);
	CHECK(otp_outbox_reserve(o, &lease));
	CHECK(lease > 0);
	for (int i = 0; i < got; i++)
		otp_outbox_cancel(o);
	otp_outbox_stop(o);
	fx_close(&fx);
}

/* ---- failover, the retry timeline, what each try carries ---- */

static void test_token(void *arg, int64_t id, char *out, size_t cap)
{
	(void)arg;
	snprintf(out, cap, "tok-%lld", (long long)id);
}

static int driver_of(struct fixture *fx)
{
	struct otp_msg_info l[1];
	size_t n = 0;
	if (otp_store_outbox_list(fx->s, -1, l, 1, &n) < 0 || n != 1)
		return -1;
	return l[0].driver;
}

/* Transient failures: max_attempts tries on driver 0 with backoff, then
 * driver 1 at once; every try carries the same idempotency key. */
static void fails_over_to_next_driver(void)
{
	struct fixture fx;
	CHECK(fx_open_two(&fx, 3, OTP_SMS_RETRY) &&
	      fx_issue(&fx, "+14155550120", "Your code is 135791", T0 + HOUR));
	/* tries 1 and 2 wait ~1 s and ~2 s; try 3 moves on at once */
	int64_t t = T0;
	for (int i = 1; i <= 3; i++) {
		CHECK_ROUND(&fx, t, 1);
		CHECK_INT(fx.sms.calls, i);
		CHECK_INT(driver_of(&fx), i < 3 ? 0 : 1);
		CHECK_ROUND(&fx, t + 700, i < 3 ? 0 : 1); /* before backoff */
		if (i < 3)
			t += 1000 << (i - 1);
	}
	CHECK_INT(fx.second.calls, 1);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	CHECK_STR(fx.second.recs[0].idem_key, fx.id);
	for (int i = 0; i < 3; i++)
		CHECK_STR(fx.sms.recs[i].idem_key, fx.id);
	CHECK_INT(fx.second.recs[0].message_id, fx.sms.recs[0].message_id);
	fx_close(&fx);
}

/* otp_outbox_stats() counts each settle by its kind: a retry, a failover,
 * a send, a dead letter and an expiry, one each. */
static void stats_count_each_settle(void)
{
	struct fixture fx;
	struct otp_outbox_stats a = otp_outbox_stats(), b;
	CHECK(fx_open_two(&fx, 2, OTP_SMS_RETRY) &&
	      fx_issue(&fx, "+14155550120", "Your code is 135791", T0 + HOUR));
	CHECK_RUN(&fx, T0);	   /* retry on driver 0 */
	CHECK_RUN(&fx, T0 + 1000); /* over to driver 1 */
	CHECK_RUN(&fx, T0 + 1001); /* sent by driver 1 */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_SENT);
	fx.sms.repeat = OTP_SMS_FAILED;
	CHECK(fx_issue(&fx, "+14155550121", "Your code is 135792", T0 + HOUR));
	CHECK_RUN(&fx, T0 + 2000); /* dead letter */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_FAILED);
	CHECK_INT(issue(&fx, "+14155550122", "Your code is 135793", T0, T0 + 10,
			fx.id),
		  0);
	CHECK_RUN(&fx, T0 + 3000); /* expired */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_EXPIRED);
	b = otp_outbox_stats();
	CHECK_INT(b.retries - a.retries, 1);
	CHECK_INT(b.failovers - a.failovers, 1);
	CHECK_INT(b.sent - a.sent, 1);
	CHECK_INT(b.failed - a.failed, 1);
	CHECK_INT(b.expired - a.expired, 1);
	fx_close(&fx);
}

static struct script_sms *second_of(struct fixture *fx)
{
	return &fx->second;
}

static bool four_tries(struct fixture *fx)
{
	return fx->sms.calls + second_of(fx)->calls >= 4;
}

/* Every driver out of tries: not a dead letter while the code lives, but
 * a new pass from driver 0 (try 1 of 2 there, not a failover); once no try
 * is useful, expired with the last reason. */
static void exhausted_drivers_go_round_again(void)
{
	struct fixture fx;
	size_t n;
	CHECK(
	    fx_open_two(&fx, 2, OTP_SMS_RETRY) &&
	    fx_issue(&fx, "+14155550121", "Your code is 246802", T0 + 300000));
	fx.second.repeat = OTP_SMS_RETRY;
	int64_t t = rounds_until(&fx, T0, T0 + 400000, four_tries);
	CHECK_INT(fx.sms.calls, 2);
	CHECK_INT(fx.second.calls, 2);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);
	CHECK_INT(driver_of(&fx), 0);
	rounds_until(&fx, t, T0 + 400000, NULL);
	CHECK(fx.sms.calls >= 4);
	CHECK(fx.second.calls >= 4);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_EXPIRED);
	struct otp_msg_info l[1];
	CHECK_INT(otp_store_outbox_list(fx.s, OTP_MSG_EXPIRED, l, 1, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].last_error,
		  "script: busy (the code expires before the next try)");
	fx_close(&fx);
}

/* A permanent refusal on driver 0 never reaches driver 1. */
static void permanent_failure_skips_failover(void)
{
	struct fixture fx;
	CHECK(fx_open_two(&fx, 0, OTP_SMS_FAILED) &&
	      fx_issue(&fx, "+14155550122", "Your code is 975310", T0 + HOUR));
	CHECK_RUN(&fx, T0);
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_FAILED);
	CHECK_ROUND(&fx, T0 + HOUR / 2, 0);
	CHECK_INT(fx.sms.calls, 1);
	CHECK_INT(fx.second.calls, 0);
	fx_close(&fx);
}

/* A retry that would leave the code under 15 s to live is not scheduled:
 * the message is expired at once. */
static void no_retry_past_expiry(void)
{
	struct fixture fx;
	size_t n;
	CHECK(fx_open(&fx) &&
	      fx_issue(&fx, "+14155550123", "Your code is 112233",
		       T0 + OTP_OUTBOX_USEFUL_MS + 2500));
	fx.sms.repeat = OTP_SMS_RETRY;
	CHECK_RUN(&fx, T0); /* next try in <= 1 s: fine */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_QUEUED);
	CHECK_ROUND(&fx, T0 + 1000, 1); /* next in >= 1.6 s: no */
	CHECK_INT(state_of(&fx, fx.id), OTP_MSG_EXPIRED);
	CHECK_INT(fx.sms.calls, 2);
	struct otp_msg_info l[1];
	CHECK_INT(otp_store_outbox_list(fx.s, -1, l, 1, &n), 0);
	CHECK(strstr(l[0].last_error, "expires before the next try") != NULL);
	fx_close(&fx);
}

/* What a driver is handed besides the text. */
static void message_carries_key_token_and_coding(void)
{
	struct fixture fx;
	char a[OTP_ID_LEN + 1], b[OTP_ID_LEN + 1];
	CHECK(fx_open(&fx));
	fx.cfg.dlr_token = test_token;
	CHECK_INT(
	    issue(&fx, "+14155550124", "Your code is 123123", T0, T0 + HOUR, a),
	    0);
	CHECK_INT(
	    issue(&fx, "+14155550125", "Ваш код 321321", T0, T0 + HOUR, b), 0);
	CHECK_ROUND(&fx, T0, 2);
	CHECK_STR(fx.sms.recs[0].idem_key, a);
	CHECK(!fx.sms.recs[0].ucs2);
	CHECK(fx.sms.recs[1].ucs2);
	char want[32];
	snprintf(want, sizeof want, "tok-%lld",
		 (long long)fx.sms.recs[1].message_id);
	CHECK_STR(fx.sms.recs[1].dlr_token, want);
	fx_close(&fx);
}

/* Several workers, each with its own drivers, deliver every message once. */
static void pool_delivers_each_once(void)
{
	struct fixture fx;
	char id[OTP_ID_LEN + 1], phone[OTP_PHONE_MAX], spec[400], err[256];
	char path[128];
	struct otp_outbox *o = NULL;
	CHECK(fx_open(&fx));
	snprintf(path, sizeof path, "%s/pool.jsonl", fx.dir);
	int64_t now = otp_clock_now_ms();
	for (int i = 0; i < 40; i++) {
		snprintf(phone, sizeof phone, "+1415555%04d", 300 + i);
		CHECK_INT(issue(&fx, phone, "Your code is 565656", now,
				now + HOUR, id),
			  0);
	}
	/* the first driver cannot write: every message fails over once */
	snprintf(spec, sizeof spec, "file:%s/no/such/dir/x,file:%s", fx.dir,
		 path);
	fx.cfg.drivers = NULL;
	fx.cfg.sms_list = spec;
	fx.cfg.workers = 4;
	fx.cfg.max_attempts = 1;
	CHECK_INT(otp_outbox_start(&o, &fx.cfg, err, sizeof err), 0);
	int64_t deadline = otp_clock_mono_ms() + 10000;
	size_t lines = 0;
	char *buf = malloc(1 << 16);
	while (otp_clock_mono_ms() < deadline) {
		long len = slurp(path, buf, 1 << 16);
		lines = 0;
		for (long i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (lines >= 40)
			break;
		otp_outbox_notify(o);
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	otp_outbox_stop(o);
	CHECK_INT(lines, 40);
	/* 40 different request ids, each once */
	long len = slurp(path, buf, 1 << 16);
	CHECK(len > 0);
	for (int i = 0; i < 40; i++) {
		snprintf(phone, sizeof phone, "\"+1415555%04d\"", 300 + i);
		char *p = strstr(buf, phone);
		CHECK(p != NULL);
		CHECK(strstr(p + 1, phone) == NULL);
	}
	free(buf);
	size_t n = 0;
	struct otp_msg_info l[64];
	CHECK_INT(otp_store_outbox_list(fx.s, OTP_MSG_SENT, l, 64, &n), 0);
	CHECK_INT(n, 40);
	fx_close(&fx);
}

static void start_fails_on_bad_driver(void)
{
	struct fixture fx;
	struct otp_outbox *o = NULL;
	char err[256];
	CHECK(fx_open(&fx));
	fx.cfg.drivers = NULL;
	fx.cfg.sms_list = "null,webhook:gopher://x";
	CHECK_INT(otp_outbox_start(&o, &fx.cfg, err, sizeof err), OTP_ETYPE);
	CHECK(o == NULL);
	CHECK_STR(err, "SMS driver #2: webhook: the URL is not an http:// or "
		       "https:// URL");
	fx_close(&fx);
}

static const struct harness_test tests[] = {
    TEST(fails_over_to_next_driver),
    TEST(exhausted_drivers_go_round_again),
    TEST(stats_count_each_settle),
    TEST(permanent_failure_skips_failover),
    TEST(no_retry_past_expiry),
    TEST(message_carries_key_token_and_coding),
    TEST(pool_delivers_each_once),
    TEST(start_fails_on_bad_driver),
    TEST(delivers_once_then_acks),
    TEST(unseals_before_sending),
    TEST(retry_waits_for_backoff),
    TEST(failed_is_dead_letter),
    TEST(retry_keeps_driver),
    TEST(dead_letter_can_be_requeued),
    TEST(max_attempts_then_retries_until_expiry),
    TEST(long_outage_still_delivers),
    TEST(expired_is_not_sent),
    TEST(crashed_claim_is_delivered_after_lease),
    TEST(failed_ack_is_tried_again_not_resent),
    TEST(failing_ack_gives_up_before_the_lease),
    TEST(full_batch_then_rest),
    TEST(acks_of_a_batch_go_in_one_operation),
    TEST(logs_mask_phone_and_hide_text),
    TEST(backoff_grows_with_jitter_and_caps),
    TEST(sms_open_picks_by_prefix),
    TEST(console_prints_framed_block),
    TEST(file_appends_json_lines),
    TEST(file_missing_dir_retries_then_works),
    TEST(outbox_with_file_driver),
    TEST(thread_delivers_on_notify),
    TEST(start_fails_on_bad_store),
    TEST(handed_message_is_sent_without_a_claim),
    TEST(hand_over_is_bounded),
};

HARNESS_MAIN("outbox", tests)
