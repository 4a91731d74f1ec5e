/* fuzz_url.c - the addresses and URLs otpd is given: HOST:PORT splitting
 * (core/hostport.h) and --listen, the store URL as the config checks it
 * (otp_store_check) and as the Redis backend reads it when it connects
 * (otp_redis_init, store/redis/conn.c, which connects to nothing), the
 * --sms driver list and gateway URLs (otp_sms_check_list), origins, and
 * the test-only OTPD_TEST_FAULTS plan (store/store_faults.c).
 *
 * Input: one text, given to each reader. Checked: a split host lies inside
 * the text before its port; a --listen value passed has a port 1..65535; a
 * Redis URL the config check passes is one the backend then reads (else
 * otpd would start and fail on its first connection), and what it reads
 * of such a URL (host and port or socket path, database) reads back the
 * same; every refusal
 * says why. */
#include <sodium.h>

#include "core/config_int.h"
#include "core/hostport.h"
#include "fuzz.h"
#include "sms/sms.h"
#include "store/redis/conn.h"
#include "store/store.h"
#include "store/store_faults.h"

static void check_split(const char *s, bool last)
{
	const char *host;
	size_t n;
	const char *port = otp_hostport(s, last, &host, &n);
	if (!port)
		return;
	FUZZ_CHECK(host >= s && host + n < port && port <= s + strlen(s));
	FUZZ_CHECK(port[-1] == ':');
	FUZZ_CHECK(memchr(host, ':', n) == NULL || s[0] == '[' || last);
}

static void check_listen(const char *s)
{
	if (otp_cfg_check_listen(s) != NULL)
		return;
	const char *host;
	size_t n;
	const char *port = otp_hostport(s, false, &host, &n);
	FUZZ_CHECK(port && n > 0);
	long p = strtol(port, NULL, 10);
	FUZZ_CHECK(p >= 1 && p <= 65535);
}

static void check_redis(const char *url)
{
	char err[320], again[400];
	memset(err, 'x', sizeof err);
	bool ok = otp_store_check(url, err, sizeof err) == 0;
	if (!ok)
		FUZZ_CHECK(err[0] && strnlen(err, sizeof err) < sizeof err);
	if (strncmp(url, "redis://", 8) != 0 &&
	    strncmp(url, "redis+unix://", 13) != 0)
		return;
	struct otp_redis r = {0}, r2 = {0};
	int rc = otp_redis_init(&r, url + 5); /* after the scheme, "redis" */
	if (ok)
		FUZZ_CHECK(rc == 0);
	if (rc == 0 && ok && url[5] == ':') {
		FUZZ_CHECK(r.host[0] && r.port >= 1 && r.port <= 65535);
		FUZZ_CHECK(!r.path[0]);
		bool v6 = strchr(r.host, ':') != NULL;
		snprintf(again, sizeof again, "://%s%s%s:%d/%d", v6 ? "[" : "",
			 r.host, v6 ? "]" : "", r.port, r.db);
	} else if (rc == 0 && ok) {
		FUZZ_CHECK(r.path[0] == '/' && !r.host[0]);
		snprintf(again, sizeof again, "+unix://%s?db=%d", r.path, r.db);
	}
	if (rc == 0 && ok) {
		FUZZ_CHECK(r.db >= 0 && r.db <= 1000000);
		FUZZ_CHECK(otp_redis_init(&r2, again) == 0);
		FUZZ_CHECK(strcmp(r2.host, r.host) == 0 && r2.port == r.port &&
			   strcmp(r2.path, r.path) == 0 && r2.db == r.db);
	}
	otp_redis_deinit(&r);
	otp_redis_deinit(&r2);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool ready;
	if (!ready) /* the Redis password is kept in sodium_malloc'd memory */
		FUZZ_CHECK(sodium_init() >= 0);
	ready = true;
	char *s = fuzz_str(d, n), err[320];
	check_split(s, false);
	check_split(s, true);
	check_listen(s);
	check_redis(s);
	memset(err, 'x', sizeof err);
	if (otp_sms_check_list(s, err, sizeof err) != 0)
		FUZZ_CHECK(err[0] && strnlen(err, sizeof err) < sizeof err);
	const char *why = otp_cfg_check_origins(s);
	FUZZ_CHECK(!why || why[0]);
	why = otp_cfg_check_url(s);
	FUZZ_CHECK(!why || why[0]);
	struct otp_store_faults *f = NULL;
	memset(err, 'x', sizeof err);
	if (otp_store_faults_new(s, &f, err, sizeof err) == 0)
		FUZZ_CHECK(f != NULL);
	else
		FUZZ_CHECK(err[0] && strnlen(err, sizeof err) < sizeof err);
	otp_store_faults_free(f);
	free(s);
	return 0;
}
