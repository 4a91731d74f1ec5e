/* peer.c - who the client is: the socket's peer, formatted once a
 * connection, and X-Forwarded-For, believed only from --trusted-proxies
 * (addresses and CIDR ranges, core/cidr.c), every such header read from
 * the last back. Not here: what the address is used for (the per-IP limit,
 * src/engine/policy.c; the per-address connection limit, edge.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "http/internal.h"

/* The socket's peer as text ("unknown" if it has none we know). */
void otp_http_peer_of(struct MHD_Connection *conn, char ip[OTP_IP_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(ip, OTP_IP_MAX, "unknown");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)sa)->sin_addr,
				  ip, OTP_IP_MAX);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  ip, OTP_IP_MAX);
	}
}

/* The X-Forwarded-For headers of a request, in the order they came. */
#define XFF_MAX 8
struct xff {
	const char *v[XFF_MAX];
	unsigned n;
	bool overflow;
};

static enum MHD_Result collect_xff(void *arg, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct xff *x = arg;
	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
		return MHD_YES;
	if (x->n == XFF_MAX) {
		x->overflow = true;
		return MHD_NO;
	}
	x->v[x->n++] = value;
	return MHD_YES;
}

/* Walks one header's list right to left. Returns true to go on to the
 * header before it (every address so far was a trusted proxy; an empty
 * header has none). An empty entry is garbage wherever it is: ", a" too
 * (tests/fuzz/fuzz_xff found the first one skipped). */
static bool walk_xff(const struct otp_cidr_list *proxies, const char *xff,
		     char ip[OTP_IP_MAX])
{
	const char *end = xff + strlen(xff);
	if (end == xff)
		return true;
	for (;;) {
		const char *start = end;
		while (start > xff && start[-1] != ',')
			start--;
		const char *a = start, *b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		char cand[OTP_IP_MAX];
		unsigned char bin[sizeof(struct in6_addr)];
		size_t n = (size_t)(b - a);
		if (n == 0 || n >= sizeof cand)
			return false;
		memcpy(cand, a, n);
		cand[n] = '\0';
		if (inet_pton(AF_INET, cand, bin) != 1 &&
		    inet_pton(AF_INET6, cand, bin) != 1)
			return false; /* garbage: keep what we have */
		memcpy(ip, cand, n + 1);
		if (!otp_cidr_has(proxies, cand))
			return false;
		if (start == xff)
			return true;
		end = start - 1; /* the comma before this entry */
	}
}

/* The connection's peer; if that is a trusted proxy, the right-most address
 * of X-Forwarded-For that is not itself a trusted proxy. Every
 * X-Forwarded-For header counts (a proxy may add its own after the
 * client's), read from the last one back. From a peer that is not trusted
 * the header is ignored, and said once per process in the log. */
void otp_http_client_ip(struct ctx *c, const struct conn *cn,
			struct MHD_Connection *conn)
{
	static atomic_bool warned;
	char *ip = c->r.ip;
	memcpy(ip, cn->peer, cn->peer_len + 1);
	if (!cn->peer_is_proxy) {
		if (!atomic_load_explicit(&warned, memory_order_relaxed) &&
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						"X-Forwarded-For") &&
		    !atomic_exchange(&warned, true))
			otp_log(OTP_LOG_WARN,
				"X-Forwarded-For from a peer that is not in "
				"--trusted-proxies: ignored (set "
				"--trusted-proxies if otpd is behind a proxy)",
				"peer", cn->peer, NULL);
		return;
	}
	struct xff x = {0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_xff, &x);
	if (x.overflow)
		return; /* more headers than any chain of proxies adds */
	for (unsigned i = x.n; i-- > 0;)
		if (!walk_xff(&c->h->proxies, x.v[i], ip))
			return;
}
