/* space.h - a full disk under an SQLite file: the reserve beside it, the
 * "full" mark, and the way back (space.c).
 *
 * The writer of a file (commit.c) owns one. Thread-safety: every function
 * may be called from any thread; open/close by the writer's owner only.
 */
#ifndef OTP_STORE_SQLITE_SPACE_H
#define OTP_STORE_SQLITE_SPACE_H

#include <stdbool.h>

struct otp_sqlite_space;

/* Makes PATH-reserve (or marks the file full if there is no room for it).
 * Always 0: a reserve that cannot be made is no reason not to open. */
int otp_sqlite_space_open(const char *path, struct otp_sqlite_space **out);
void otp_sqlite_space_close(struct otp_sqlite_space *s);

/* A write answered SQLITE_FULL: marks the file full, gives the reserve
 * back to the file system, logs "disk full" (at most once a minute). */
void otp_sqlite_space_hit(struct otp_sqlite_space *s);

/* Whether the file is marked full. While it is, at most every 200 ms one
 * caller looks at the free space, and with room for the reserve three times
 * over makes it again and clears the mark (logging "disk space back"). */
bool otp_sqlite_space_is_full(struct otp_sqlite_space *s);

/* The next is_full looks at the free space whatever the time (tests). */
void otp_sqlite_space_check_now(struct otp_sqlite_space *s);

/* How many WAL pages of page_size bytes the file at path may gather before
 * a checkpoint: `pages`, or fewer, so that the WAL stays under a quarter of
 * its file system's free space (at least 16). */
int otp_sqlite_space_wal_cap(const char *path, int page_size, int pages);

#endif
