/* backup.c - a copy of an SQLite store with SQLite's online backup API
 * (otpctl backup): page by page from a connection of its own, restarting
 * when a write of the running otpd changes the file under it, so the copy
 * is one consistent state of the database; the copy is a new file, 0600
 * like the database, in rollback-journal mode (one file to carry away).
 *
 * Not here: the secret the copy's phones and key hashes are sealed with
 * (it lives beside the database, otpd.secret: keep them together), when
 * to back up (the operator's cron).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

#define PAGES_PER_STEP 256
#define BUSY_TRIES     500 /* 10 ms each: 5 s of a writer in the way */

/* Runs the backup from src into dst: SQLITE_DONE, or SQLite's error. */
static int copy_pages(sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b)
		return sqlite3_errcode(dst);
	int rc, busy = 0;
	do {
		rc = sqlite3_backup_step(b, PAGES_PER_STEP);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			busy++;
			sqlite3_sleep(10);
		}
	} while (
	    (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
	    busy < BUSY_TRIES);
	int end = sqlite3_backup_finish(b);
	return rc == SQLITE_DONE && end == SQLITE_OK ? SQLITE_DONE
	       : rc == SQLITE_DONE		     ? end
						     : rc;
}

int otp_store_sqlite_backup(const char *arg, const char *dest, char *err,
			    size_t errlen)
{
	if (access(arg, F_OK) != 0) {
		snprintf(err, errlen, "%s: %s", arg, strerror(errno));
		return OTP_EVALUE;
	}
	int fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", dest,
			 errno == EEXIST ? "exists already: give a new file"
					 : strerror(errno));
		return OTP_EVALUE;
	}
	close(fd);
	sqlite3 *src = NULL, *dst = NULL;
	int rc = sqlite3_open_v2(arg, &src, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(src, OTP_SQ_BUSY_MS);
		rc = copy_pages(dst, src);
	}
	if (rc == SQLITE_DONE)
		rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "backup of %s failed: %s", arg,
			 sqlite3_errstr(rc));
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc != SQLITE_OK) {
		unlink(dest);
		return OTP_EINTERNAL;
	}
	return 0;
}
