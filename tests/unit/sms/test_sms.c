/* test_sms.c - the gateway drivers against a tiny HTTP server in a thread:
 * the exact request each one makes, how answers map to sent / retry /
 * failed, connection reuse, and the driver list.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/err.h"
#include "sms/sms.h"
#include "sms/sms_http.h"

/* --- a one-connection-at-a-time HTTP/1.1 server --- */

struct fake {
	int lfd, port;
	pthread_t thread;
	pthread_mutex_t mu;
	int status;	    /* answer with this */
	const char *answer; /* and this body */
	bool hang;	    /* or never answer */
	char req[8192];	    /* the last request, head and body */
	size_t req_len;
	int nreq, nconn;
};

static int read_request(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	char *end = NULL;
	while (!(end = n ? memmem(buf, n, "\r\n\r\n", 4) : NULL)) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	buf[n] = '\0';
	size_t head = (size_t)(end - buf) + 4, body = 0;
	const char *cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl && cl < end)
		body = strtoul(cl + 17, NULL, 10);
	while (n < head + body) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&f->mu);
		f->nconn++;
		pthread_mutex_unlock(&f->mu);
		char buf[8192], out[1024];
		size_t len;
		while (read_request(fd, buf, sizeof buf, &len) == 0) {
			pthread_mutex_lock(&f->mu);
			memcpy(f->req, buf, len + 1);
			f->req_len = len;
			f->nreq++;
			bool hang = f->hang;
			int n =
			    snprintf(out, sizeof out,
				     "HTTP/1.1 %d X\r\nContent-Length: "
				     "%zu\r\n\r\n%s",
				     f->status, strlen(f->answer), f->answer);
			pthread_mutex_unlock(&f->mu);
			if (hang) {
				char c;
				while (read(fd, &c, 1) > 0)
					;
				break;
			}
			if (write(fd, out, (size_t)n) != n)
				break;
		}
		close(fd);
	}
}

static void fake_start(struct fake *f, int status, const char *answer)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->status = status;
	f->answer = answer;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	bind(f->lfd, (struct sockaddr *)&a, sizeof a);
	listen(f->lfd, 8);
	getsockname(f->lfd, (struct sockaddr *)&a, &al);
	f->port = ntohs(a.sin_port);
	pthread_create(&f->thread, NULL, serve, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->thread, NULL);
}

/* The header `name` of the last request ("" if absent). */
static const char *header(struct fake *f, const char *name, char *out,
			  size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\r\n%s: ", name);
	const char *p = strcasestr(f->req, pat);
	out[0] = '\0';
	if (p) {
		p += strlen(pat);
		size_t n = strcspn(p, "\r");
		snprintf(out, cap, "%.*s", (int)n, p);
	}
	return out;
}

static const char *body_of(struct fake *f)
{
	const char *p = strstr(f->req, "\r\n\r\n");
	return p ? p + 4 : "";
}

/* --- the environment drivers see --- */

static const char *env_secret = "0123456789abcdef-webhook";

static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "OTPD_WEBHOOK_SECRET") == 0)
		return env_secret;
	if (strcmp(name, "OTPD_TWILIO_SID") == 0)
		return "AC0123456789abcdef0123456789abcdef";
	if (strcmp(name, "OTPD_TWILIO_TOKEN") == 0)
		return "tok3n";
	return NULL;
}

static const char *no_getenv(const char *name)
{
	(void)name;
	return NULL;
}

static struct otp_sms_env env = {
    .from = "",
    .callback_url = "http://127.0.0.1:8080/",
    .connect_timeout_ms = 500,
    .timeout_ms = 500,
    .getenv = fake_getenv,
};

static const struct otp_sms_msg msg = {
    .to = "+14155550100",
    .body = "123456 is your Acme code.\n\n@a.example #123456",
    .request_id = "0123456789abcdef0123456789abcdef",
    .message_id = 42,
    .idem_key = "0123456789abcdef0123456789abcdef",
    .dlr_token = "tok",
    .expires_ms = 1790000300000,
    .now_ms = 1790000000000,
};

static int open_one(const char *spec, struct otp_sms **d, char *err,
		    size_t errlen)
{
	struct otp_sms_set set;
	int rc = otp_sms_set_open(spec, &env, &set, err, errlen);
	*d = rc == 0 ? set.d[0] : NULL;
	return rc;
}

/* fake_start(), and spec = fmt with the fake's port in its one %d. */
static void fake_at(struct fake *f, int status, const char *answer,
		    const char *fmt, char *spec, size_t cap)
{
	fake_start(f, status, answer);
	snprintf(spec, cap, fmt, f->port);
}

/* --- tests --- */

static void webhook_request_is_signed(void)
{
	struct fake f;
	struct otp_sms *d;
	char spec[128], err[256], h[256];
	fake_at(&f, 200, "ok", "webhook:http://127.0.0.1:%d/hook", spec,
		sizeof spec);
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	CHECK_STR(d->ops->name, "webhook");
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_SENT);

	CHECK(strncmp(f.req, "POST /hook HTTP/1.1\r\n", 21) == 0);
	CHECK_STR(header(&f, "Content-Type", h, sizeof h), "application/json");
	CHECK_STR(header(&f, "Idempotency-Key", h, sizeof h),
		  "0123456789abcdef0123456789abcdef");
	CHECK_STR(header(&f, "X-Otpd-Timestamp", h, sizeof h), "1790000000");
	const char *body = body_of(&f);
	CHECK_STR(body, "{\"to\":\"+14155550100\",\"body\":\"123456 is your "
			"Acme code.\\n\\n@a.example #123456\",\"request_id\":"
			"\"0123456789abcdef0123456789abcdef\",\"message_id\":"
			"42,\"expires_at\":\"2026-09-21T14:18:20Z\"}");
	/* HMAC-SHA256(secret, "timestamp.body"), hex */
	unsigned char mac[32];
	char want[80] = "sha256=";
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)env_secret,
				    strlen(env_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"1790000000.",
				      11);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body,
				      strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(want + 7, 65, mac, 32);
	CHECK_STR(header(&f, "X-Otpd-Signature", h, sizeof h), want);

	/* a second message rides the same connection */
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_SENT);
	CHECK_INT(f.nreq, 2);
	CHECK_INT(f.nconn, 1);
	otp_sms_close(d);
	fake_stop(&f);
}

static void answers_map_to_results(void)
{
	static const struct {
		int status;
		enum otp_sms_result want;
	} cases[] = {
	    {200, OTP_SMS_SENT},   {201, OTP_SMS_SENT},	  {202, OTP_SMS_SENT},
	    {408, OTP_SMS_RETRY},  {429, OTP_SMS_RETRY},  {500, OTP_SMS_RETRY},
	    {503, OTP_SMS_RETRY},  {400, OTP_SMS_FAILED}, {401, OTP_SMS_FAILED},
	    {404, OTP_SMS_FAILED}, {302, OTP_SMS_FAILED},
	};
	struct fake f;
	struct otp_sms *d;
	char spec[128], err[256];
	fake_at(&f, 200, "nope", "webhook:http://127.0.0.1:%d/", spec,
		sizeof spec);
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		f.status = cases[i].status;
		err[0] = '\0';
		CHECK_INT(otp_sms_send(d, &msg, err, sizeof err),
			  cases[i].want);
	}
	f.status = 400;
	otp_sms_send(d, &msg, err, sizeof err);
	CHECK_STR(err, "webhook: HTTP 400: nope");
	/* digits of the message never reach the reason (or the logs) */
	f.answer = "bad text '123456 is your' 21211";
	otp_sms_send(d, &msg, err, sizeof err);
	CHECK_STR(err, "webhook: HTTP 400: bad text '###### is your' 21211");
	/* nor inside a longer run, or one the excerpt cuts short */
	f.answer = "id 7123456 and 0123456789012345678901234567890123";
	otp_sms_send(d, &msg, err, sizeof err);
	CHECK_STR(err, "webhook: HTTP 400: id ####### and "
		       "##################################");
	char cut[160];
	memset(cut, '.', 119); /* the run starts where the excerpt ends */
	snprintf(cut + 119, sizeof cut - 119, "1234567890");
	f.answer = cut;
	otp_sms_send(d, &msg, err, sizeof err);
	CHECK(strstr(err, "1234") == NULL);
	CHECK(strstr(err, "########") != NULL);
	/* no answer in time: retry (the outcome is unknown) */
	f.hang = true;
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_RETRY);
	CHECK(strstr(err, "webhook: ") == err);
	CHECK(strstr(err, "imed out") != NULL);
	otp_sms_close(d);
	fake_stop(&f);

	/* nobody listening: retry */
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_RETRY);
	otp_sms_close(d);
}

static void webhook_needs_a_secret(void)
{
	struct otp_sms *d;
	char err[256];
	env.getenv = no_getenv;
	int rc = open_one("webhook:http://127.0.0.1:1/", &d, err, sizeof err);
	env.getenv = fake_getenv;
	CHECK_INT(rc, OTP_ETYPE);
	CHECK(strstr(err, "OTPD_WEBHOOK_SECRET") != NULL);
	CHECK_INT(open_one("webhook:ftp://x/", &d, err, sizeof err), OTP_ETYPE);
	CHECK_STR(err, "SMS driver #1: webhook: the URL is not an http:// or "
		       "https:// URL");
	CHECK_INT(open_one("webhook:", &d, err, sizeof err), OTP_ETYPE);
}

static void kannel_request(void)
{
	struct fake f;
	struct otp_sms *d;
	char spec[160], err[256], h[64];
	fake_start(&f, 202, "0: Accepted for delivery");
	snprintf(spec, sizeof spec,
		 "kannel:http://otp:p%%40ss@127.0.0.1:%d/cgi-bin/sendsms",
		 f.port);
	env.from = "Acme";
	int rc = open_one(spec, &d, err, sizeof err);
	env.from = "";
	CHECK_INT(rc, 0);
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_SENT);
	char want[1024];
	snprintf(want, sizeof want, "%s",
		 "GET /cgi-bin/sendsms?username=otp&password=p%40ss&to=%"
		 "2B14155550100&from=Acme&text=123456%20is%20your%20Acme%"
		 "20code.%0A%0A%40a.example%20%23123456&charset=UTF-8&coding=0&"
		 "validity=5&binfo=0123456789abcdef0123456789abcdef&dlr-mask=3&"
		 "dlr-url=http%3A%2F%2F127.0.0.1%3A8080%2Fhooks%2Fkannel%"
		 "2Fdlr%3Fid%3D42%26token%3Dtok%26status%3D%25d HTTP/1.1\r\n");
	CHECK(strncmp(f.req, want, strlen(want)) == 0);
	CHECK_STR(header(&f, "Authorization", h, sizeof h), "");
	/* UCS-2 text says so; the URL's own query stays */
	otp_sms_close(d);
	snprintf(spec, sizeof spec,
		 "kannel:http://otp:pw@127.0.0.1:%d/cgi-bin/sendsms?smsc=a",
		 f.port);
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	struct otp_sms_msg m = msg;
	m.ucs2 = true;
	m.dlr_token = "";
	m.expires_ms = m.now_ms + 10000;
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_SENT);
	CHECK(strncmp(f.req, "GET /cgi-bin/sendsms?smsc=a&username=otp&", 41) ==
	      0);
	CHECK(strstr(f.req, "&coding=2&validity=1&binfo=") != NULL);
	CHECK(strstr(f.req, "dlr-") == NULL);
	f.status = 403;
	f.answer = "Authorization failed for sendsms";
	CHECK_INT(otp_sms_send(d, &m, err, sizeof err), OTP_SMS_FAILED);
	CHECK_STR(err, "kannel: HTTP 403: Authorization failed for sendsms");
	otp_sms_close(d);
	fake_stop(&f);

	CHECK_INT(open_one("kannel:http://127.0.0.1:1/cgi-bin/sendsms", &d, err,
			   sizeof err),
		  OTP_ETYPE);
	CHECK(strstr(err, "needs the sendsms user and password") != NULL);
}

static void twilio_request(void)
{
	struct fake f;
	struct otp_sms *d;
	char spec[128], err[256], h[128];
	fake_at(&f, 201, "{\"sid\": \"SM1\"}", "twilio:http://127.0.0.1:%d/",
		spec, sizeof spec);
	CHECK_INT(open_one(spec, &d, err, sizeof err), OTP_ETYPE);
	CHECK(strstr(err, "--sms-from") != NULL);
	env.from = "+15005550006";
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_SENT);
	CHECK(strncmp(f.req,
		      "POST /2010-04-01/Accounts/"
		      "AC0123456789abcdef0123456789abcdef/Messages.json "
		      "HTTP/1.1\r\n",
		      76) == 0);
	CHECK_STR(header(&f, "Content-Type", h, sizeof h),
		  "application/x-www-form-urlencoded");
	/* base64("AC0123456789abcdef0123456789abcdef:tok3n") */
	CHECK_STR(header(&f, "Authorization", h, sizeof h),
		  "Basic "
		  "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2szbg==");
	CHECK_STR(header(&f, "Idempotency-Key", h, sizeof h), msg.idem_key);
	CHECK_STR(body_of(&f), "To=%2B14155550100&From=%2B15005550006&Body="
			       "123456%20is%20your%20Acme%20code.%0A%0A%40a."
			       "example%20%23123456");
	otp_sms_close(d);
	env.from = "MG0123456789abcdef0123456789abcdef";
	CHECK_INT(open_one(spec, &d, err, sizeof err), 0);
	CHECK_INT(otp_sms_send(d, &msg, err, sizeof err), OTP_SMS_SENT);
	CHECK(strstr(body_of(&f), "&MessagingServiceSid=MG0123") != NULL);
	otp_sms_close(d);
	env.from = "";
	fake_stop(&f);

	env.getenv = no_getenv;
	int rc = open_one("twilio:", &d, err, sizeof err);
	env.getenv = fake_getenv;
	CHECK_INT(rc, OTP_ETYPE);
	CHECK(strstr(err, "OTPD_TWILIO_SID and OTPD_TWILIO_TOKEN") != NULL);
}

static void driver_lists(void)
{
	struct otp_sms_set set;
	char err[256];
	CHECK_INT(otp_sms_set_open("null,console,file:/tmp/x", &env, &set, err,
				   sizeof err),
		  0);
	CHECK_INT(set.n, 3);
	CHECK_STR(set.d[0]->ops->name, "null");
	CHECK_STR(set.d[2]->ops->name, "file");
	otp_sms_set_close(&set);
	CHECK_INT(set.n, 0);
	CHECK_INT(otp_sms_set_open("null,bogus", &env, &set, err, sizeof err),
		  OTP_ETYPE);
	CHECK(strstr(err, "SMS driver #2: unknown SMS driver") == err);
	CHECK_INT(set.n, 0);
	CHECK_INT(otp_sms_set_open("null,", &env, &set, err, sizeof err),
		  OTP_ETYPE);
	CHECK_STR(err, "SMS driver #2 is empty");
	CHECK_INT(otp_sms_set_open("null,null,null,null,null,null,null,null,"
				   "null",
				   &env, &set, err, sizeof err),
		  OTP_ETYPE);
	CHECK_STR(err, "more than 8 SMS drivers");
}

static void buffers_escape(void)
{
	struct otp_sms_buf b = {0};
	otp_sms_buf_param(&b, "a b", "x&y=z/é~");
	otp_sms_buf_param(&b, "k", "");
	CHECK_STR(b.p, "a%20b=x%26y%3Dz%2F%C3%A9~&k=");
	for (int i = 0; i < 100; i++)
		otp_sms_buf_str(&b, "0123456789");
	CHECK_INT(b.len, 28 + 1000);
	otp_sms_buf_wipe(&b);
	CHECK(b.p == NULL);
}

static const struct harness_test tests[] = {
    TEST(webhook_request_is_signed),
    TEST(answers_map_to_results),
    TEST(webhook_needs_a_secret),
    TEST(kannel_request),
    TEST(twilio_request),
    TEST(driver_lists),
    TEST(buffers_escape),
};

HARNESS_MAIN("sms", tests)
