/* listen.c - the listening socket: "HOST:PORT" parsed, bound and
 * listened on before anything else starts, so that a second otpd on a port
 * in use stops at once (no SO_REUSEPORT). Not here: serving it (server.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hostport.h"
#include "http/internal.h"

int otp_http_parse_listen(const char *s, char *host, size_t hostlen,
			  unsigned *port)
{
	const char *h, *pt;
	size_t n;
	pt = otp_hostport(s, true, &h, &n);
	if (!pt || n == 0 || n >= hostlen)
		return OTP_ETYPE;
	memcpy(host, h, n);
	host[n] = '\0';
	char *end;
	unsigned long p = strtoul(pt, &end, 10);
	if (*end || p == 0 || p > 65535 || pt[0] == '\0')
		return OTP_ETYPE;
	*port = (unsigned)p;
	return 0;
}

/* cfg->listen as a socket address; 0 or OTP_ETYPE with a reason. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen)
{
	char host[256];
	unsigned port;
	memset(ss, 0, sizeof *ss);
	if (otp_http_parse_listen(listen, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "--listen: %s is not HOST:PORT", listen);
		return OTP_ETYPE;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
	} else {
		snprintf(err, errlen, "--listen: %s is not an IP address",
			 host);
		return OTP_ETYPE;
	}
	return 0;
}

int otp_http_bind(const char *addr, int *fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = listen_addr(addr, &ss, &len, err, errlen);
	if (rc < 0)
		return rc;
	int s =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		snprintf(err, errlen, "--listen %s: %s", addr, strerror(errno));
		return OTP_EINTERNAL;
	}
	/* SO_REUSEADDR only: a restart may bind while old connections are in
	 * TIME_WAIT, but a second server on a port in use is refused (no
	 * SO_REUSEPORT, which would let two otpd split the traffic). */
	int on = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ss.ss_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(s, (struct sockaddr *)&ss, len) < 0 ||
	    listen(s, SOMAXCONN) < 0) {
		int e = errno;
		close(s);
		snprintf(err, errlen, "--listen %s: %s%s", addr, strerror(e),
			 e == EADDRINUSE ? " (is another otpd running?)" : "");
		return e == EADDRINUSE || e == EADDRNOTAVAIL || e == EACCES
			   ? OTP_EBUSY
			   : OTP_EINTERNAL;
	}
	*fd = s;
	return 0;
}
