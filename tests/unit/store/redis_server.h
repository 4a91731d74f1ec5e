/* redis_server.h - a private redis-server for a unit runner of the Redis
 * store (test_store_redis.c, test_store_redis_cache.c): started on a free
 * loopback port without persistence, and on a unix socket (`sock`, in
 * the runner's temporary `dir` with its files and log), stopped at the end; and
 * raw hiredis connections to its database 3, to look at keys or play another
 * client, around the store. Static functions over the runner's globals: include
 * it once, in the runner.
 */
#ifndef OTP_TESTS_UNIT_STORE_REDIS_SERVER_H
#define OTP_TESTS_UNIT_STORE_REDIS_SERVER_H

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/otpd-redis-XXXXXX";
static int port;
static char sock[64]; /* the server's unix socket: dir/redis.sock */
static pid_t server = -1;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int p = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* A plain connection to the test server, database 3. */
static redisContext *raw(void)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "SELECT 3");
		if (r)
			freeReplyObject(r);
	}
	return c;
}

/* Runs a command on a new raw connection; returns its integer reply, the
 * length of an array or string reply, 0 for a status, -1 on an error. */
static long long raw_cmd(const char *fmt, ...)
{
	redisContext *c = raw();
	long long v = -1;
	if (c && !c->err) {
		va_list ap;
		va_start(ap, fmt);
		redisReply *r = redisvCommand(c, fmt, ap);
		va_end(ap);
		if (r) {
			if (r->type == REDIS_REPLY_INTEGER)
				v = r->integer;
			else if (r->type == REDIS_REPLY_ARRAY)
				v = (long long)r->elements;
			else if (r->type == REDIS_REPLY_STRING)
				v = (long long)r->len;
			else if (r->type == REDIS_REPLY_STATUS)
				v = 0;
			freeReplyObject(r);
		}
	}
	if (c)
		redisFree(c);
	return v;
}

static bool server_answers(void)
{
	redisContext *c = raw();
	bool ok = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return ok;
}

static int start_server(void)
{
	char p[16], log[128];
	snprintf(p, sizeof p, "%d", port);
	snprintf(log, sizeof log, "%s/redis.log", dir);
	snprintf(sock, sizeof sock, "%s/redis.sock", dir);
	server = fork();
	if (server < 0)
		return -1;
	if (server == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", p, "--bind",
		       "127.0.0.1", "--unixsocket", sock, "--unixsocketperm",
		       "700", "--save", "", "--appendonly", "no", "--daemonize",
		       "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (server_answers())
			return 0;
		if (waitpid(server, NULL, WNOHANG) == server) {
			server = -1;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

static char url[128]; /* the runner's store URL, database 3 */

/* A runner's set-up: its server on a free port, in dir (its log there
 * too), and url naming it. */
static int set_up(void)
{
	signal(SIGPIPE, SIG_IGN);
	if ((port = free_port()) < 0 || start_server() < 0) {
		fprintf(stderr, "cannot start redis-server (is it installed?)"
				"\n");
		return -1;
	}
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", port);
	return 0;
}

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGCONT);
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

#endif
