/* lock.c - one otpd process per SQLite file, enforced (and its files made
 * private first, private.c).
 *
 * otpd keeps a file's sessions in its own memory (store_cache.c) and
 * reclaims its own outbox claims, both of which are only right when no other
 * otpd writes the file. At start-up otpd takes an exclusive lock on
 * PATH.lock beside the database (an open-file-description lock, so that
 * closing some other descriptor of the file cannot drop it, and the kernel
 * drops it when the process dies, kill -9 included) and writes its PID
 * there for the next one's message. otpctl does not take it: its reads and
 * its few writes are safe beside a running otpd (README, "otpctl").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

/* Held for the life of the process: the lock goes with it. */
static int lock_fd = -1;

int otp_store_sqlite_lock(const char *path, char *err, size_t errlen)
{
	char lpath[4200];
	if (lock_fd >= 0)
		return 0;
	int rc = otp_sq_make_private(path, err, errlen);
	if (rc)
		return rc;
	if ((size_t)snprintf(lpath, sizeof lpath, "%s.lock", path) >=
	    sizeof lpath) {
		snprintf(err, errlen, "%s: path too long", path);
		return OTP_EVALUE;
	}
	int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", lpath,
			 strerror(errno));
		return OTP_EINTERNAL;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		char pid[24] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		close(fd);
		if (e != EAGAIN && e != EACCES) {
			snprintf(err, errlen, "cannot lock %s: %s", lpath,
				 strerror(e));
			return OTP_EINTERNAL;
		}
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen,
			 "%s is in use by another otpd (pid %s, lock %s): run "
			 "one otpd per SQLite file, or use a Redis store for "
			 "several",
			 path, pid[0] ? pid : "unknown", lpath);
		return OTP_EBUSY;
	}
	char pid[24];
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		snprintf(err, errlen, "cannot write %s: %s", lpath,
			 strerror(errno));
		close(fd);
		return OTP_EINTERNAL;
	}
	lock_fd = fd;
	return 0;
}
