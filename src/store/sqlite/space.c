/* space.c - a full disk under an SQLite file, and the way back from it.
 *
 * See space.h. Beside the file lies PATH-reserve, a file of preallocated
 * blocks (an eighth of the file system, between 64 KiB and 1 MiB). When a
 * write of the file answers SQLITE_FULL, the file is marked full and the
 * reserve is given back to the file system: the room it frees lets the
 * checkpointer copy the WAL into the database and truncate it, and lets
 * operations that do not grow the data (a verify, an outbox ack) go on.
 * Operations that would grow it (a send) are refused with OTP_EFULL while
 * the mark stays. At most every CHECK_MS, a caller that finds the mark
 * looks at the free space again: once there is room for the reserve three
 * times over, the reserve is made again and the mark is cleared, with no
 * restart. The checkpointer asks here how far the WAL may grow: never past
 * a quarter of the free space, so the WAL alone cannot fill the disk.
 *
 * It knows nothing of transactions or statements (commit.c) nor of which
 * operation grows the data (the domain files say so when they begin).
 * Only the monotonic clock is read, to space the checks.
 */
#include "store/sqlite/space.h"
#include "store/sqlite/sqlite_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define RESERVE_MIN (64L * 1024)
#define RESERVE_MAX (1024L * 1024)
#define CHECK_MS    200

struct otp_sqlite_space {
	char *path;    /* the database file, for the log */
	char *reserve; /* PATH-reserve */
	long bytes;    /* the reserve's size */
	atomic_bool full;
	_Atomic long long next_check_ms;
};

/* A test's free space in place of the file system's (< 0: the real one). */
static _Atomic long long fake_free = -1;

void otp_sqlite_space_fake(long long bytes)
{
	atomic_store(&fake_free, bytes);
}

/* Free bytes for us on the file system of path, or -1. */
static long long free_bytes(const char *path, long long *total)
{
	long long fake = atomic_load(&fake_free);
	if (fake >= 0 && !total)
		return fake;
	struct statvfs v;
	if (statvfs(path, &v) != 0)
		return -1;
	if (total)
		*total = (long long)v.f_blocks * (long long)v.f_frsize;
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* Makes the reserve its full size: true if its blocks are allocated. */
static bool make_reserve(struct otp_sqlite_space *s)
{
	int fd = open(s->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	int rc = posix_fallocate(fd, 0, s->bytes);
	if (rc != 0 && ftruncate(fd, 0) != 0)
		rc = errno;
	close(fd);
	return rc == 0;
}

static void log_full(const struct otp_sqlite_space *s)
{
	static struct otp_log_every every;
	long held;
	char n[OTP_LOG_NUM_LEN];
	if (otp_log_every_due(&every, otp_clock_mono_ms(), 60000, &held))
		otp_log(OTP_LOG_ERROR, "disk full", "file", s->path, "effect",
			"sends refused with 503 storage_full until space "
			"returns",
			"#repeated", otp_log_num(n, held), NULL);
}

int otp_sqlite_space_open(const char *path, struct otp_sqlite_space **out)
{
	struct otp_sqlite_space *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	size_t n = strlen(path) + sizeof "-reserve";
	s->path = strdup(path);
	s->reserve = malloc(n);
	if (!s->path || !s->reserve)
		abort();
	snprintf(s->reserve, n, "%s-reserve", path);
	long long total = 0;
	free_bytes(path, &total);
	s->bytes = (long)(total / 8);
	if (s->bytes < RESERVE_MIN)
		s->bytes = RESERVE_MIN;
	if (s->bytes > RESERVE_MAX)
		s->bytes = RESERVE_MAX;
	/* No room for it at start: the file starts full, and comes back as
	 * it would from a full disk met later. */
	if (!make_reserve(s)) {
		atomic_store(&s->full, true);
		log_full(s);
	}
	*out = s;
	return 0;
}

void otp_sqlite_space_close(struct otp_sqlite_space *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->reserve);
	free(s);
}

void otp_sqlite_space_hit(struct otp_sqlite_space *s)
{
	if (!atomic_exchange(&s->full, true)) {
		/* The reserve's blocks go back to the file system: room
		 * for the checkpoint and for what may still run. */
		if (truncate(s->reserve, 0) != 0 && errno != ENOENT)
			unlink(s->reserve);
		atomic_store(&s->next_check_ms, otp_clock_mono_ms() + CHECK_MS);
	}
	log_full(s);
}

void otp_sqlite_space_check_now(struct otp_sqlite_space *s)
{
	atomic_store(&s->next_check_ms, 0);
}

bool otp_sqlite_space_is_full(struct otp_sqlite_space *s)
{
	if (!atomic_load_explicit(&s->full, memory_order_acquire))
		return false;
	long long now = otp_clock_mono_ms();
	long long next = atomic_load(&s->next_check_ms);
	/* One caller checks per period; the others keep the answer. */
	if (now < next || !atomic_compare_exchange_strong(
			      &s->next_check_ms, &next, now + CHECK_MS))
		return true;
	long long room = free_bytes(s->path, NULL);
	if (room < 3LL * s->bytes || !make_reserve(s))
		return true;
	atomic_store(&s->full, false);
	otp_log(OTP_LOG_INFO, "disk space back", "file", s->path, NULL);
	return false;
}

int otp_sqlite_space_wal_cap(const char *path, int page_size, int pages)
{
	long long room = free_bytes(path, NULL);
	if (room < 0 || page_size <= 0)
		return pages;
	long long cap = room / 4 / page_size;
	if (cap < 16)
		cap = 16;
	return cap < pages ? (int)cap : pages;
}
