/* test_http_server.c - the HTTP layer against a real socket: bodies that
 * are not JSON (a content type of their own), extra headers, redirects, a
 * route's own error renderer, deferred answers (finished from another
 * thread, finished before the handler returned, failed, and one never
 * finished that the stopper answers 503 rather than abort in
 * libmicrohttpd), and the wait pool (handlers that block do not hold the
 * server's threads). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "harness.h"
#include "http/http.h"

static int text(struct otp_req *r)
{
	char *b = strdup("otpd_up 1\n");
	otp_req_set_body(r, 200, "text/plain; version=0.0.4", b, strlen(b));
	return otp_req_add_header(r, "X-Test", "yes");
}

static int go(struct otp_req *r)
{
	return otp_req_redirect(r, 302, "/login?rd=%2Fhome");
}

static json_t *shout(const struct otp_error_parts *e)
{
	return json_pack("{s:s, s:i}", "ERROR", e->code, "STATUS", e->status);
}

static int missing(struct otp_req *r)
{
	(void)r;
	return OTP_ENOTFOUND;
}

struct later {
	struct otp_req *r;
	int err;
};

static void *finish_later(void *arg)
{
	struct later *l = arg;
	nanosleep(&(struct timespec){0, 30 * 1000000L}, NULL);
	if (l->err == 0) {
		l->r->status = 200;
		l->r->out = json_pack("{s:b}", "late", 1);
	}
	otp_req_finish(l->r, l->err);
	free(l);
	return NULL;
}

static int defer_with(struct otp_req *r, int err)
{
	struct later *l = malloc(sizeof *l);
	pthread_t t;
	l->r = r;
	l->err = err;
	pthread_create(&t, NULL, finish_later, l);
	pthread_detach(t);
	return OTP_DEFERRED;
}

static int later(struct otp_req *r)
{
	return defer_with(r, 0);
}

static int later_fail(struct otp_req *r)
{
	return defer_with(r, OTP_EUNAVAIL);
}

/* Finished at once, before the handler has even returned. */
static int early(struct otp_req *r)
{
	r->status = 200;
	r->out = json_pack("{s:b}", "early", 1);
	otp_req_finish(r, 0);
	return OTP_DEFERRED;
}

/* A handler that waits (as a send waits for its COMMIT) until released. */
static pthread_mutex_t block_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cv = PTHREAD_COND_INITIALIZER;
static int blocked;
static bool released;

static int block(struct otp_req *r)
{
	pthread_mutex_lock(&block_mu);
	blocked++;
	pthread_cond_broadcast(&block_cv);
	while (!released)
		pthread_cond_wait(&block_cv, &block_mu);
	pthread_mutex_unlock(&block_mu);
	r->status = 200;
	r->out = json_pack("{s:b}", "waited", 1);
	return 0;
}

static int hang(struct otp_req *r)
{
	(void)r;
	return OTP_DEFERRED; /* nobody finishes it: the stopper must */
}

static const struct otp_route routes[] = {
    {"GET", "/text", text, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
    {"GET", "/go", go, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
    {"GET", "/missing", missing, OTP_R_NOLIMIT, 0, NULL, 0, NULL, shout},
    {"GET", "/later", later, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
    {"GET", "/later-fail", later_fail, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
    {"GET", "/early", early, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
    {"GET", "/block", block, OTP_R_NOLIMIT | OTP_R_WAITS, 0, NULL, 0, NULL,
     NULL},
    {"GET", "/hang", hang, OTP_R_NOLIMIT, 0, NULL, 0, NULL, NULL},
};

static struct otp_http *srv;
static int port;

static void start(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	listen(fd, 16);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	struct otp_http_cfg cfg = {
	    .listen = "127.0.0.1:1",
	    .listen_fd = fd,
	    .threads = 2,
	    .wait_threads = 4,
	    .conn_limit = 64,
	    .conn_timeout_s = 5,
	    .request_timeout_s = 5,
	    .body_max = 1024,
	    .routes = routes,
	    .nroutes = sizeof routes / sizeof routes[0],
	};
	char err[128];
	if (otp_http_start(&srv, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "start: %s\n", err);
		exit(1);
	}
}

/* One request on a new connection; the whole answer into out. */
static size_t get(const char *path, char *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		return 0;
	char req[256];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
			 "\r\n",
			 path);
	if (write(fd, req, (size_t)n) != n)
		return 0;
	size_t got = 0;
	ssize_t k;
	while (got + 1 < cap && (k = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = '\0';
	close(fd);
	return got;
}

/* GET path into a: an answer came, with this status. */
#define CHECK_GET(path, a, status)                                             \
	do {                                                                   \
		CHECK(get((path), (a), sizeof(a)) > 0);                        \
		CHECK(strncmp((a), "HTTP/1.1 " #status, 12) == 0);             \
	} while (0)

static void raw_body_and_headers(void)
{
	char a[4096];
	CHECK_GET("/text", a, 200);
	CHECK(strstr(a, "Content-Type: text/plain; version=0.0.4\r\n"));
	CHECK(strstr(a, "X-Test: yes\r\n"));
	CHECK(strstr(a, "Cache-Control: no-store\r\n"));
	CHECK(strstr(a, "\r\n\r\notpd_up 1\n"));
}

static void redirect(void)
{
	char a[4096];
	CHECK_GET("/go", a, 302);
	CHECK(strstr(a, "Location: /login?rd=%2Fhome\r\n"));
}

static void route_renders_its_errors(void)
{
	char a[4096];
	CHECK_GET("/missing", a, 404);
	CHECK(strstr(a, "{\"ERROR\":\"not_found\",\"STATUS\":404}"));
	/* no route: the default JSON */
	CHECK(get("/nowhere", a, sizeof a) > 0);
	CHECK(strstr(a, "\"code\":\"not_found\""));
}

static void deferred_answer(void)
{
	char a[4096];
	CHECK_GET("/later", a, 200);
	CHECK(strstr(a, "{\"late\":true}"));
	CHECK_GET("/later-fail", a, 503);
	CHECK(strstr(a, "Retry-After: 1\r\n"));
	CHECK(strstr(a, "backend_unavailable"));
}

static void deferred_finished_before_it_returned(void)
{
	char a[4096];
	CHECK_GET("/early", a, 200);
	CHECK(strstr(a, "{\"early\":true}"));
}

#define NBLOCK                                                                 \
	3 /* more than the server's 2 threads, fewer than the pool's 4         \
	   */
static char block_answer[NBLOCK][4096];

static void *block_client(void *arg)
{
	char *out = arg;
	get("/block", out, sizeof block_answer[0]);
	return NULL;
}

/* Three handlers blocked at once on a server of two threads, and the
 * server still answers: they hold the pool's threads, not its own. */
static void waiting_handlers_hold_no_server_thread(void)
{
	pthread_t t[NBLOCK];
	for (int i = 0; i < NBLOCK; i++)
		pthread_create(&t[i], NULL, block_client, block_answer[i]);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&block_mu);
	while (blocked < NBLOCK &&
	       pthread_cond_timedwait(&block_cv, &block_mu, &dl) == 0)
		;
	int n = blocked;
	pthread_mutex_unlock(&block_mu);
	CHECK(n == NBLOCK);
	char a[4096];
	CHECK_GET("/text", a, 200);
	CHECK_GET("/later", a, 200);
	pthread_mutex_lock(&block_mu);
	released = true;
	pthread_cond_broadcast(&block_cv);
	pthread_mutex_unlock(&block_mu);
	for (int i = 0; i < NBLOCK; i++) {
		pthread_join(t[i], NULL);
		CHECK(strncmp(block_answer[i], "HTTP/1.1 200", 12) == 0);
		CHECK(strstr(block_answer[i], "{\"waited\":true}"));
	}
}

static char hang_answer[4096];

static void *hang_client(void *arg)
{
	(void)arg;
	get("/hang", hang_answer, sizeof hang_answer);
	return NULL;
}

/* Last: it stops the server. */
static void stop_answers_what_is_deferred(void)
{
	pthread_t t;
	pthread_create(&t, NULL, hang_client, NULL);
	nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	otp_http_stop(srv, 200);
	srv = NULL;
	pthread_join(t, NULL);
	CHECK(strncmp(hang_answer, "HTTP/1.1 503", 12) == 0);
	CHECK(strstr(hang_answer, "\"code\":\"busy\""));
}

static const struct harness_test tests[] = {
    TEST(raw_body_and_headers),
    TEST(redirect),
    TEST(route_renders_its_errors),
    TEST(deferred_answer),
    TEST(deferred_finished_before_it_returned),
    TEST(waiting_handlers_hold_no_server_thread),
    TEST(stop_answers_what_is_deferred),
};

int main(void)
{
	otp_log_set_level(
	    OTP_LOG_WARN); /* the request lines are not the test */
	start();
	return harness_run("http_server", tests,
			   sizeof tests / sizeof tests[0]);
}
