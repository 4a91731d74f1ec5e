/* server.c - otpd's admin socket (socket.h): one thread that accepts a
 * connection at a time, reads its one request, runs it (run.c) on otpd's
 * own store handle for this thread (sealed, and cached like the HTTP
 * threads' handles, so a write is seen by every thread at once, the session
 * cache included) and answers.
 *
 * A slow or silent client holds the socket at most IO_TIMEOUT_S; commands
 * are rare and run one at a time. Not here: what a command does (ctl/),
 * where the socket is (socket_path.c), otpctl's end (client.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "ctl/socket.h"

#define IO_TIMEOUT_S 5

struct otp_ctl_server {
	struct otp_ctl_server_cfg c;
	char path[sizeof((struct sockaddr_un *)0)->sun_path];
	int fd;
	pthread_t th;
	_Atomic bool stop;
};

/* Reads one request, up to a newline or the end: its length, or -1. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf + n - (size_t)r, '\n', (size_t)r))
			break;
	}
	buf[n] = '\0';
	return n ? (ssize_t)n : -1;
}

/* Only otpd's user, or root, may ask (the socket's mode says so too). */
static bool peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == geteuid() || cr.uid == 0;
}

static json_t *answer(struct otp_ctl_server *sv, const char *text)
{
	json_error_t jerr;
	json_t *req = json_loads(text, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(req)) {
		json_decref(req);
		return json_pack("{sbsiss}", "ok", 0, "status", 2, "error",
				 "not a JSON request");
	}
	struct otp_store *s;
	if (sv->c.store(&s) < 0) {
		json_decref(req);
		return json_pack("{sbsiss}", "ok", 0, "status", 1, "error",
				 otp_err_message(OTP_EUNAVAIL));
	}
	struct otp_ctl_env e = {
	    .store = s,
	    .store_url = sv->c.store_url,
	    .ring = sv->c.ring,
	    .no_secret = "otpd has no secret",
	    .sms = sv->c.sms,
	    .cfg = sv->c.cfg,
	    .notify = sv->c.notify,
	    .notify_arg = sv->c.notify_arg,
	    .live = true,
	    .now = otp_clock_now_ms(),
	};
	json_t *reply = otp_ctl_run(&e, req);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	otp_log(OTP_LOG_INFO, "otpctl command", "cmd", cmd ? cmd : "-", "ok",
		json_is_true(json_object_get(reply, "ok")) ? "true" : "false",
		NULL);
	json_decref(req);
	return reply;
}

static void serve_one(struct otp_ctl_server *sv, int fd)
{
	static char buf[OTP_CTL_REQUEST_MAX];
	struct timeval tv = {IO_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (!peer_ok(fd) || read_request(fd, buf, sizeof buf) < 0)
		return;
	json_t *reply = answer(sv, buf);
	char *text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text) {
		if (otp_ctl_write_all(fd, text, strlen(text)) == 0)
			otp_ctl_write_all(fd, "\n", 1);
	}
	free(text);
}

static void *loop(void *arg)
{
	struct otp_ctl_server *sv = arg;
	while (!sv->stop) {
		int fd = accept4(sv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (!sv->stop)
				otp_log(OTP_LOG_ERROR, "admin socket failed",
					"error", strerror(errno), NULL);
			break;
		}
		serve_one(sv, fd);
		close(fd);
	}
	if (sv->c.release)
		sv->c.release();
	return NULL;
}

/* A socket file there already: another otpd answering (OTP_EBUSY), or
 * one left by a process that died (removed: 0). */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return OTP_EINTERNAL;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(fd);
	if (rc == 0)
		return OTP_EBUSY;
	if (e == ECONNREFUSED)
		unlink(path);
	return 0;
}

int otp_ctl_server_start(struct otp_ctl_server **out,
			 const struct otp_ctl_server_cfg *c, char *err,
			 size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct otp_ctl_server *sv = calloc(1, sizeof *sv);
	if (!sv)
		abort();
	sv->c = *c;
	snprintf(sv->path, sizeof sv->path, "%s", c->path);
	memcpy(sa.sun_path, sv->path, sizeof sa.sun_path);
	int rc = clear_stale(sv->path, &sa);
	if (rc == OTP_EBUSY)
		snprintf(err, errlen, "another otpd answers on %s", sv->path);
	sv->fd = rc ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool bound =
	    sv->fd >= 0 && bind(sv->fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	/* 0600 before listen: nobody can connect in between */
	if (rc == 0 &&
	    (!bound || chmod(sv->path, 0600) < 0 || listen(sv->fd, 8) < 0)) {
		snprintf(err, errlen, "%s: %s", sv->path, strerror(errno));
		rc = OTP_EINTERNAL;
	}
	if (rc == 0 && pthread_create(&sv->th, NULL, loop, sv) != 0) {
		snprintf(err, errlen, "cannot start its thread");
		rc = OTP_EINTERNAL;
	}
	if (rc < 0) {
		if (sv->fd >= 0)
			close(sv->fd);
		if (bound)
			unlink(sv->path);
		free(sv);
		return rc;
	}
	*out = sv;
	return 0;
}

void otp_ctl_server_stop(struct otp_ctl_server *sv)
{
	if (!sv)
		return;
	sv->stop = true;
	shutdown(sv->fd, SHUT_RDWR); /* wakes accept */
	pthread_join(sv->th, NULL);
	close(sv->fd);
	unlink(sv->path);
	free(sv);
}
