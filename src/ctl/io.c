/* io.c - the admin socket's one write loop, for both ends (socket.h). */
#include <errno.h>
#include <unistd.h>

#include "ctl/socket.h"

int otp_ctl_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}
