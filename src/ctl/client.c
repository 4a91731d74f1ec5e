/* client.c - otpctl's end of the admin socket (socket.h): connect, send
 * the one request, read the one reply. No socket, or one nobody listens
 * on (left by an otpd that died), means no otpd runs: the caller then
 * opens the store itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "ctl/socket.h"

#define REPLY_MAX (16u << 20)

/* Reads to the end: a malloc'd text, or NULL with errno. */
static char *read_reply(int fd)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	for (;;) {
		if (n + 1 == cap) {
			if (cap >= REPLY_MAX) {
				errno = EMSGSIZE;
				break;
			}
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			buf[n] = '\0';
			if (n)
				return buf;
			errno = ECONNRESET; /* closed without a word */
			break;
		}
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

int otp_ctl_call(const char *path, const char *req, int timeout_s, char **reply,
		 char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return OTP_EINTERNAL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return OTP_ENOTFOUND;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return OTP_EUNAVAIL;
	}
	struct timeval tv = {timeout_s, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int rc = 0;
	if (otp_ctl_write_all(fd, req, strlen(req)) < 0 ||
	    otp_ctl_write_all(fd, "\n", 1) < 0 || !(*reply = read_reply(fd))) {
		snprintf(err, errlen, "otpd on %s did not answer: %s", path,
			 strerror(errno));
		rc = OTP_EUNAVAIL;
	}
	close(fd);
	return rc;
}
