/* private.c - the database and its -wal, -shm and .lock files readable by
 * otpd's user only, in a directory nobody else can swap them in.
 *
 * SQLite creates a file 0644 (less the umask) and gives its -wal and -shm
 * the database file's own mode, so otpd makes the database itself first,
 * 0600, and the others follow. A store made by an older otpd (0644) is
 * made private at start-up, when otpd takes the file's lock (and the disk
 * reserve, space.c, with them). A directory
 * that others can write to (and that is not sticky, as /tmp is) is refused:
 * anyone could replace the database there.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

#define PRIVATE 0600

int otp_sq_create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, PRIVATE);
	if (fd >= 0)
		return close(fd) == 0 ? 0 : OTP_EINTERNAL;
	return errno == EEXIST ? 0 : OTP_EINTERNAL;
}

int otp_sq_make_private(const char *path, char *err, size_t errlen)
{
	char copy[4096];
	struct stat st;
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) {
		snprintf(err, errlen, "%s: path too long", path);
		return OTP_EVALUE;
	}
	const char *dir = dirname(copy);
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return OTP_EVALUE;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s is writable by every user: keep the database in a "
			 "directory only otpd's user can write (chmod o-w)",
			 dir);
		return OTP_EVALUE;
	}
	static const char *const ends[] = {"", "-wal", "-shm", ".lock",
					   "-reserve"};
	for (size_t i = 0; i < OTP_SQ_COUNT(ends); i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s%s", path, ends[i]);
		if (stat(f, &st) != 0 || (st.st_mode & 0777) == PRIVATE)
			continue;
		if (chmod(f, PRIVATE) != 0) {
			snprintf(err, errlen, "cannot chmod 0600 %s: %s", f,
				 strerror(errno));
			return OTP_EINTERNAL;
		}
	}
	return otp_sq_create_private(path) == 0 ? 0 : OTP_EINTERNAL;
}
