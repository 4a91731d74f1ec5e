/* fuzz_xff.c - X-Forwarded-For as a trusted proxy passes it on: walk_xff
 * of http/peer.c (included for its statics), over each header from the
 * last back, as otp_http_client_ip does.
 * Input: PROXIES "\n" PEER "\n" HEADER ["\n" HEADER]... (at most 8
 * headers, as otpd reads). Checked: the client address is the peer unless
 * the peer is a trusted proxy; it is always a whole address one of the
 * headers holds (or the peer), and it is the one a plain left-to-right
 * reading finds: of the comma-separated entries of every header in order,
 * blanks and tabs trimmed, the right-most one not itself a trusted proxy,
 * stopping at the first from the right that is empty or not an address
 * (an empty header holds no entry). */
#include "../../src/http/peer.c"

#include "core/cidr.h"
#include "fuzz.h"

#define ENTRIES_MAX 4096

static bool is_addr(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, bin) == 1 ||
	       inet_pton(AF_INET6, s, bin) == 1;
}

/* The reading of the headers' entries left to right described above. */
static void reference(const struct otp_cidr_list *proxies, char **hdr,
		      size_t nh, const char *peer, char out[OTP_IP_MAX])
{
	static char entry[ENTRIES_MAX][OTP_IP_MAX + 1];
	static bool bad[ENTRIES_MAX];
	size_t n = 0;
	for (size_t h = 0; h < nh; h++) {
		const char *p = hdr[h];
		if (!*p)
			continue;
		for (;;) {
			size_t len = strcspn(p, ",");
			const char *a = p, *b = p + len;
			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			FUZZ_CHECK(n < ENTRIES_MAX);
			size_t k = (size_t)(b - a);
			bad[n] = k == 0 || k >= OTP_IP_MAX;
			if (!bad[n]) {
				memcpy(entry[n], a, k);
				entry[n][k] = '\0';
				bad[n] = !is_addr(entry[n]);
			}
			n++;
			if (!p[len])
				break;
			p += len + 1;
		}
	}
	snprintf(out, OTP_IP_MAX, "%s", peer);
	for (size_t i = n; i-- > 0;) {
		if (bad[i])
			return;
		snprintf(out, OTP_IP_MAX, "%s", entry[i]);
		if (!otp_cidr_has(proxies, entry[i]))
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_cidr_list proxies;
	if (n > 8192)
		return 0; /* a header line longer than otpd's server takes */
	char *s = fuzz_str(d, n), *p[10];
	fuzz_split(s, '\n', p, 10);
	const char *bad = NULL;
	if (otp_cidr_parse(p[0], &proxies, &bad) != 0 ||
	    strlen(p[1]) >= OTP_IP_MAX || strchr(p[9], '\n')) {
		free(s);
		return 0;
	}
	const char *peer = p[1];
	char **hdr = p + 2;
	size_t nh = 8;
	while (nh > 0 && !hdr[nh - 1][0])
		nh--; /* headers the input lacks */

	char ip[OTP_IP_MAX], want[OTP_IP_MAX];
	memcpy(ip, peer, strlen(peer) + 1);
	if (otp_cidr_has(&proxies, peer))
		for (size_t i = nh; i-- > 0;)
			if (!walk_xff(&proxies, hdr[i], ip))
				break;
	FUZZ_CHECK(memchr(ip, '\0', sizeof ip));
	if (!otp_cidr_has(&proxies, peer)) {
		FUZZ_CHECK(strcmp(ip, peer) == 0);
		free(s);
		return 0;
	}
	reference(&proxies, hdr, nh, peer, want);
	FUZZ_CHECK(strcmp(ip, want) == 0);
	FUZZ_CHECK(strcmp(ip, peer) == 0 || is_addr(ip));
	free(s);
	return 0;
}
