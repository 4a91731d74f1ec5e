/* seed.c - fills a store with what the benchmark's requests need.
 *
 * Reads the same settings as otpd (OTPD_* environment: OTPD_STORE,
 * OTPD_SECRET, OTPD_CODE_TTL, ...), so the codes and tokens it makes are ones
 * the server accepts. Two jobs, each appending to OUT:
 *
 *   seed codes COUNT PREFIX START right|wrong|api ATTEMPTS OUT
 *       COUNT pending codes, each bound to its own new session, to the
 *       phones PREFIX + 7-digit counter from START; writes "token code"
 *       lines with the right code or a wrong one: one verify request per
 *       line (right), or up to ATTEMPTS - 1 that leave the code live
 *       (wrong). api: no session, "requestId code" lines for /otp/verify.
 *   seed auth COUNT PREFIX START OUT
 *       COUNT authenticated sessions (a code issued, then verified with a
 *       rotation, as a login does); writes "token" lines for /auth/check.
 *
 * The rows are the ones a send makes (code, outbox message, session binding)
 * but written straight through the store interface, one store transaction
 * per code, with codes chosen here and MAC'd with the server's key, instead
 * of through otp_engine_send and reading each code back from the outbox
 * (claim, unseal, ack): that would be three transactions a code, and the
 * bench needs hundreds of thousands. Their messages are dated 30 min ahead
 * (the store's `now` is the caller's) so the server's delivery thread leaves
 * them alone during the run; in a real store they would have gone long
 * before. Codes and sessions expire on the real clock. The work is split
 * over OTPD_SEED_JOBS jobs (default 32), each with its own store handle,
 * run as otpd's wait pool runs sends, so that the store batches their
 * commits alike: on a store whose waits park a fiber (SQLite, Redis) as
 * fibers on one runner thread a CPU (50,000 codes in 2.0-2.1 s here on
 * SQLite, against 2.8-2.9 s on 8 to 64 threads), else one thread each.
 * Not shipped: bench/ only.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/cpus.h"
#include "core/err.h"
#include "core/fiber.h"
#include "core/secret.h"
#include "engine/sealed.h"
#include "engine/crypto.h"
#include "engine/engine.h"
#include "store/store.h"

/* Seeded messages are due this far ahead (see the top): longer than a
 * run, shorter than the bench's code TTL (a Redis record's TTL is its expiry
 * minus this `now`). */
#define AHEAD_MS (1800 * 1000LL)

#define JOBS_MAX 64

static struct otp_config cfg;
static struct otp_engine engine;

/* One job's share: items [start, start + count) into its own buffer. */
struct job {
	pthread_t thread; /* on a store without fibers */
	struct otp_store *store;
	const char *mode, *prefix, *kind;
	long count, start;
	int attempts;
	char *buf;
	size_t len;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "seed: %s failed: %d\n", what, rc);
	exit(1);
}

static int issue(struct otp_store *store, const struct otp_code_new *code,
		 const unsigned char *body, size_t body_len,
		 const struct otp_session_bind *bind, int64_t now)
{
	struct otp_issue in = {
	    .code = *code, .body = body, .body_len = body_len, .bind = bind};
	struct otp_issue_out out;
	return otp_store_code_issue(store, &in, now, &out);
}

static void phone_of(char out[OTP_PHONE_MAX], const char *prefix, long i)
{
	/* Exchanges 200-999, as in bench/send.lua: inside the NANP plan. */
	snprintf(out, OTP_PHONE_MAX, "%s%07ld", prefix, 2000000 + i % 8000000);
}

/* A pending code, bound to a new session if `bind`: its token, code and
 * request id come back in tok, code and id. */
static void issue_one(struct otp_store *store, const char *phone, int attempts,
		      bool bind, int64_t now, char tok[OTP_TOKEN_LEN + 1],
		      char code[OTP_CODE_MAX + 1], char id[OTP_ID_LEN + 1])
{
	/* What a delivery would send does not matter here, but it is sealed
	 * like a real message and about as long. */
	static const char text[] = "000000 is your otpd code. It expires in "
				   "5 minutes.";
	struct otp_code_new c = {.attempts = attempts};
	struct otp_session_bind b;
	unsigned char *body;
	size_t body_len;

	memcpy(c.phone, phone, OTP_PHONE_MAX);
	c.expires_ms = now + cfg.code_ttl * 1000;
	otp_request_id_new(now, c.id);
	otp_code_generate((int)cfg.code_length, code);
	otp_code_mac(engine.keys, c.id, code, strlen(code), c.mac);
	otp_token_new(now, tok);
	otp_token_hash(engine.keys, tok, OTP_TOKEN_LEN, b.hash);
	b.expires_ms = c.expires_ms;
	otp_seal(engine.keys, text, sizeof text - 1, &body, &body_len);
	int rc =
	    issue(store, &c, body, body_len, bind ? &b : NULL, now + AHEAD_MS);
	free(body);
	if (rc < 0)
		die("code_issue", rc);
	memcpy(id, c.id, OTP_ID_LEN + 1);
}

static void codes(struct otp_store *store, long count, const char *prefix,
		  long start, const char *kind, int attempts, FILE *out)
{
	bool api = strcmp(kind, "api") == 0, wrong = strcmp(kind, "wrong") == 0;
	for (long i = 0; i < count; i++) {
		char phone[OTP_PHONE_MAX], tok[OTP_TOKEN_LEN + 1];
		char code[OTP_CODE_MAX + 1], id[OTP_ID_LEN + 1];
		phone_of(phone, prefix, start + i);
		issue_one(store, phone, attempts, !api, otp_clock_now_ms(), tok,
			  code, id);
		if (wrong) { /* the last digit moved by one */
			size_t n = strlen(code);
			code[n - 1] =
			    (char)('0' + (code[n - 1] - '0' + 1) % 10);
		}
		fprintf(out, "%s %s\n", api ? id : tok, code);
	}
}

static void auth(struct otp_store *store, long count, const char *prefix,
		 long start, FILE *out)
{
	for (long i = 0; i < count; i++) {
		char phone[OTP_PHONE_MAX], tok[OTP_TOKEN_LEN + 1];
		char code[OTP_CODE_MAX + 1];
		struct otp_verify_in v = {.rotate = true};
		struct otp_verify_out vo;
		int64_t now = otp_clock_now_ms();
		phone_of(phone, prefix, start + i);
		issue_one(store, phone, 1, true, now, tok, code, v.id);
		otp_token_hash(engine.keys, tok, OTP_TOKEN_LEN, v.old_hash);
		otp_code_mac(engine.keys, v.id, code, strlen(code), v.mac);
		otp_token_new(now, tok);
		otp_token_hash(engine.keys, tok, OTP_TOKEN_LEN, v.new_hash);
		v.session_expires_ms = now + cfg.session_ttl * 1000;
		int rc = otp_store_code_verify(store, &v, now, &vo);
		if (rc < 0 || vo.result != OTP_VERIFY_OK)
			die("code_verify", rc < 0 ? rc : (int)vo.result);
		fprintf(out, "%s\n", tok);
	}
}

static void run(void *arg)
{
	struct job *j = arg;
	FILE *out = open_memstream(&j->buf, &j->len);
	if (!out)
		abort();
	if (strcmp(j->mode, "codes") == 0)
		codes(j->store, j->count, j->prefix, j->start, j->kind,
		      j->attempts, out);
	else
		auth(j->store, j->count, j->prefix, j->start, out);
	if (fclose(out) != 0)
		abort();
}

static void *run_thread(void *arg)
{
	run(arg);
	return NULL;
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* A whole number of at least min, or -1. */
static long number(const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || end == s || *end || v < min ? -1 : v;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: seed codes COUNT PREFIX START right|wrong|api ATTEMPTS "
		"OUT\n"
		"       seed auth COUNT PREFIX START OUT\n"
		"settings and the secret come from the OTPD_* environment;\n"
		"OTPD_SEED_JOBS jobs share the work (default 32)\n");
	return 2;
}

int main(int argc, char **argv)
{
	char err[512];
	char *args[] = {"seed", NULL};
	unsigned char *secret = NULL;
	bool created;

	if (argc < 6)
		return usage();
	const char *mode = argv[1], *prefix = argv[3];
	long count = number(argv[2], 0), start = number(argv[4], 0);
	bool is_codes = strcmp(mode, "codes") == 0;
	if (is_codes ? argc != 8 : (strcmp(mode, "auth") != 0 || argc != 6))
		return usage();
	if (is_codes && strcmp(argv[5], "right") != 0 &&
	    strcmp(argv[5], "wrong") != 0 && strcmp(argv[5], "api") != 0)
		return usage();
	long attempts = is_codes ? number(argv[6], 1) : 1;
	if (count < 0 || start < 0 || attempts < 0 || attempts > INT32_MAX)
		return usage();
	const char *path = argv[argc - 1];

	int rc = otp_config_load(&cfg, 1, args, env, err, sizeof err);
	if (rc != OTP_CONFIG_RUN) {
		fprintf(stderr, "seed: %s\n", err);
		return 2;
	}
	if (!getenv("OTPD_SECRET")) {
		fprintf(stderr, "seed: set OTPD_SECRET (the server's)\n");
		return 2;
	}
	if (otp_crypto_init() < 0)
		die("otp_crypto_init", -1);
	rc = otp_secret_load(getenv("OTPD_SECRET"), "", "", &secret, &created,
			     err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "seed: %s\n", err);
		return 2;
	}
	if (otp_engine_init(&engine, &cfg, secret, NULL) < 0)
		die("otp_engine_init", -1);
	otp_secret_free(secret);
	/* phones sealed as otpd seals them: no reseal pass at its start */
	otp_store_wrap_opens(otp_sealed_wrap, &engine.ring);
	const char *t = getenv("OTPD_SEED_JOBS");
	long njobs = t ? number(t, 1) : 32;
	if (njobs < 1 || njobs > JOBS_MAX)
		return usage();
	if (njobs > count)
		njobs = count > 0 ? count : 1;
	struct job jobs[JOBS_MAX];
	for (long i = 0; i < njobs; i++) {
		struct job *j = &jobs[i];
		*j = (struct job){.mode = mode,
				  .prefix = prefix,
				  .kind = argv[5],
				  .attempts = (int)attempts,
				  .start = start + count * i / njobs,
				  .count = count * (i + 1) / njobs -
					   count * i / njobs};
		rc = otp_store_open(cfg.store, &j->store);
		if (rc < 0)
			die("otp_store_open", rc);
	}
	if (otp_store_backend(cfg.store)->caps & OTP_STORE_CAP_FIBERS) {
		/* Each parked on its COMMIT while the others join the batch. */
		struct otp_fibers *fs =
		    otp_fibers_start(otp_cpus(), (unsigned)njobs, 256);
		for (long i = 0; i < njobs; i++)
			if (!otp_fibers_post(fs, run, &jobs[i]))
				die("otp_fibers_post", -1);
		otp_fibers_stop(fs, NULL); /* every job ran to its end */
		otp_fibers_free(fs);
	} else {
		for (long i = 0; i < njobs; i++)
			if (pthread_create(&jobs[i].thread, NULL, run_thread,
					   &jobs[i]) != 0)
				die("pthread_create", -1);
		for (long i = 0; i < njobs; i++)
			pthread_join(jobs[i].thread, NULL);
	}
	FILE *out = fopen(path, "a");
	if (!out) {
		perror(path);
		return 1;
	}
	for (long i = 0; i < njobs; i++) {
		fwrite(jobs[i].buf, 1, jobs[i].len, out);
		free(jobs[i].buf);
		otp_store_close(jobs[i].store);
	}
	if (fclose(out) != 0) {
		perror(path);
		return 1;
	}
	otp_engine_deinit(&engine);
	otp_config_deinit(&cfg);
	return 0;
}
