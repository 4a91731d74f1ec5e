/* socket_path.c - where otpd's admin socket is: what --admin-socket says,
 * else beside the store, as otpd and otpctl both compute it. */
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "core/err.h"
#include "ctl/socket.h"

int otp_ctl_socket_path(const char *store_url, const char *given, char *out,
			size_t cap, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int rc = 0;
	if (given && given[0]) {
		if (snprintf(out, cap, "%s", given) >= (int)cap)
			rc = OTP_ETYPE;
	} else {
		rc = otp_store_beside(store_url, "var", ".ctl", out, cap);
	}
	if (rc == 0 && strlen(out) >= sizeof sa.sun_path)
		rc = OTP_ETYPE;
	if (rc < 0)
		snprintf(err, errlen,
			 "the admin socket's path is longer than %zu bytes: "
			 "give a shorter one with --admin-socket",
			 sizeof sa.sun_path - 1);
	return rc;
}
