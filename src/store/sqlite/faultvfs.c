/* faultvfs.c - a test SQLite VFS that answers chosen writes with an error.
 *
 * It wraps the default VFS ("unix"): every call goes through unchanged,
 * except that while a fault is armed, the matching xWrite or xSync calls on
 * the main database file or its WAL answer the armed error (SQLITE_FULL or
 * SQLITE_IOERR_WRITE / SQLITE_IOERR_FSYNC) without touching the file, as a
 * full or failing disk would. The faults issue's disk-full and
 * failed-COMMIT tests use it; nothing else does: it is compiled in, but it
 * is registered only when a test asks, and then only files opened
 * afterwards go through it.
 *
 * A unit test calls otp_sqlite_fault_install() and otp_sqlite_fault_arm()
 * (sqlite_test.h). A black-box test sets the environment variable
 *
 *   OTPD_TEST_SQLITE_FAULTS="op=write,file=wal,after=1,times=0,rc=full"
 *
 * read once, when otpd opens its first SQLite file: a comma-separated list
 * of key=value, each optional:
 *   op=write|sync|any     the calls that can fail (default write)
 *   file=db|wal|any       the files they are on (default any)
 *   after=K               the K-th matching call fails first, K >= 1,
 *                         counted from arming (default 1)
 *   times=N               that many calls fail from there, then the fault
 *                         is spent; 0 = every one (default 0)
 *   rc=full|ioerr         the answer (default full)
 * An empty value does nothing; a malformed one makes the open fail. It is
 * not an otpd option and never appears in otpd --help. It decides nothing
 * about what the store does with the error: the writer (commit.c) and the
 * operations handle it as they would a real one.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_test.h"

/* Our file: the wrapped VFS's file follows it in the same allocation. */
struct ffile {
	sqlite3_file base;
	int kind; /* OTP_FAULT_DB, OTP_FAULT_WAL, or 0 */
	sqlite3_file *real;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct otp_sqlite_fault armed; /* under mu; ops == 0: disarmed */
static unsigned long seen, hits;      /* under mu */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs fvfs;

/* Whether this call fails, and with which code. */
static int fault(const struct ffile *f, int op, int io_rc)
{
	int rc = SQLITE_OK;
	pthread_mutex_lock(&mu);
	if ((armed.ops & op) && (armed.files & f->kind)) {
		seen++;
		unsigned long k = (unsigned long)armed.after;
		if (seen >= k && (armed.times == 0 ||
				  seen < k + (unsigned long)armed.times)) {
			hits++;
			rc = armed.rc == SQLITE_FULL ? SQLITE_FULL : io_rc;
		}
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static int f_close(sqlite3_file *p)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xClose(f->real);
}

static int f_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xRead(f->real, buf, n, off);
}

static int f_write(sqlite3_file *p, const void *buf, int n, sqlite3_int64 off)
{
	struct ffile *f = (struct ffile *)p;
	int rc = fault(f, OTP_FAULT_WRITE, SQLITE_IOERR_WRITE);
	return rc ? rc : f->real->pMethods->xWrite(f->real, buf, n, off);
}

static int f_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int f_sync(sqlite3_file *p, int flags)
{
	struct ffile *f = (struct ffile *)p;
	int rc = fault(f, OTP_FAULT_SYNC, SQLITE_IOERR_FSYNC);
	return rc ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int f_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int f_lock(sqlite3_file *p, int lock)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xLock(f->real, lock);
}

static int f_unlock(sqlite3_file *p, int lock)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xUnlock(f->real, lock);
}

static int f_reserved(sqlite3_file *p, int *out)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int f_control(sqlite3_file *p, int op, void *arg)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int f_sector(sqlite3_file *p)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xSectorSize(f->real);
}

static int f_caps(sqlite3_file *p)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int f_shm_map(sqlite3_file *p, int pg, int sz, int extend,
		     void volatile **out)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xShmMap(f->real, pg, sz, extend, out);
}

static int f_shm_lock(sqlite3_file *p, int off, int n, int flags)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xShmLock(f->real, off, n, flags);
}

static void f_shm_barrier(sqlite3_file *p)
{
	struct ffile *f = (struct ffile *)p;
	f->real->pMethods->xShmBarrier(f->real);
}

static int f_shm_unmap(sqlite3_file *p, int del)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int f_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int f_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	struct ffile *f = (struct ffile *)p;
	return f->real->pMethods->xUnfetch(f->real, off, page);
}

static const sqlite3_io_methods methods = {
    3,	       f_close,	  f_read,     f_write,	     f_truncate,  f_sync,
    f_size,    f_lock,	  f_unlock,   f_reserved,    f_control,	  f_sector,
    f_caps,    f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,
    f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p,
		  int flags, int *out_flags)
{
	(void)vfs;
	struct ffile *f = (struct ffile *)p;
	f->real = (sqlite3_file *)(f + 1);
	f->kind = flags & SQLITE_OPEN_MAIN_DB ? OTP_FAULT_DB
		  : flags & SQLITE_OPEN_WAL   ? OTP_FAULT_WAL
					      : 0;
	int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	/* Without the real file's methods, SQLite must not call ours. */
	p->pMethods = f->real->pMethods && f->real->pMethods->iVersion >= 3
			  ? &methods
			  : NULL;
	if (f->real->pMethods && !p->pMethods) {
		f->real->pMethods->xClose(f->real);
		rc = rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
	}
	return rc;
}

int otp_sqlite_fault_install(void)
{
	pthread_mutex_lock(&mu);
	int rc = SQLITE_OK;
	if (!real_vfs) {
		real_vfs = sqlite3_vfs_find("unix");
		if (real_vfs) {
			fvfs = *real_vfs;
			fvfs.zName = "otp-fault";
			fvfs.pNext = NULL;
			fvfs.szOsFile =
			    (int)sizeof(struct ffile) + real_vfs->szOsFile;
			fvfs.xOpen = f_open;
		}
	}
	if (real_vfs)
		rc = sqlite3_vfs_register(&fvfs, 1);
	pthread_mutex_unlock(&mu);
	return real_vfs && rc == SQLITE_OK ? 0 : OTP_EINTERNAL;
}

void otp_sqlite_fault_uninstall(void)
{
	pthread_mutex_lock(&mu);
	/* Files open through it keep working: fvfs is never freed. */
	if (real_vfs)
		sqlite3_vfs_register(real_vfs, 1);
	memset(&armed, 0, sizeof armed);
	pthread_mutex_unlock(&mu);
}

void otp_sqlite_fault_arm(const struct otp_sqlite_fault *f)
{
	pthread_mutex_lock(&mu);
	armed = *f;
	if (armed.after < 1)
		armed.after = 1;
	if (!armed.rc)
		armed.rc = SQLITE_FULL;
	seen = 0;
	pthread_mutex_unlock(&mu);
}

void otp_sqlite_fault_disarm(void)
{
	pthread_mutex_lock(&mu);
	memset(&armed, 0, sizeof armed);
	pthread_mutex_unlock(&mu);
}

unsigned long otp_sqlite_fault_hits(void)
{
	pthread_mutex_lock(&mu);
	unsigned long n = hits;
	pthread_mutex_unlock(&mu);
	return n;
}

/* One key=value of the environment's grammar into f: false if malformed. */
static bool parse_pair(const char *kv, size_t len, struct otp_sqlite_fault *f)
{
	static const struct {
		const char *pair;
		int which, value;
	} words[] = {
	    {"op=write", 0, OTP_FAULT_WRITE},
	    {"op=sync", 0, OTP_FAULT_SYNC},
	    {"op=any", 0, OTP_FAULT_WRITE | OTP_FAULT_SYNC},
	    {"file=db", 1, OTP_FAULT_DB},
	    {"file=wal", 1, OTP_FAULT_WAL},
	    {"file=any", 1, OTP_FAULT_DB | OTP_FAULT_WAL},
	    {"rc=full", 2, SQLITE_FULL},
	    {"rc=ioerr", 2, SQLITE_IOERR},
	};
	for (size_t i = 0; i < OTP_SQ_COUNT(words); i++) {
		if (strlen(words[i].pair) != len ||
		    strncmp(kv, words[i].pair, len) != 0)
			continue;
		int *slot[] = {&f->ops, &f->files, &f->rc};
		*slot[words[i].which] = words[i].value;
		return true;
	}
	static const char *const nums[] = {"after=", "times="};
	for (size_t i = 0; i < OTP_SQ_COUNT(nums); i++) {
		size_t n = strlen(nums[i]);
		if (len <= n || strncmp(kv, nums[i], n) != 0)
			continue;
		long v = 0;
		for (size_t j = n; j < len; j++) {
			if (kv[j] < '0' || kv[j] > '9' || v > 1000000)
				return false;
			v = v * 10 + (kv[j] - '0');
		}
		*(i == 0 ? &f->after : &f->times) = (int)v;
		return i == 1 || v >= 1;
	}
	return false;
}

int otp_sqlite_fault_parse(const char *spec, struct otp_sqlite_fault *out)
{
	*out = (struct otp_sqlite_fault){
	    .ops = OTP_FAULT_WRITE,
	    .files = OTP_FAULT_DB | OTP_FAULT_WAL,
	    .after = 1,
	    .rc = SQLITE_FULL,
	};
	if (!*spec)
		return 0;
	for (const char *p = spec;; p++) {
		size_t len = strcspn(p, ",");
		if (!parse_pair(p, len, out))
			return OTP_EVALUE; /* an empty one too: "a,,b", "a," */
		p += len;
		if (!*p)
			return 0;
	}
}

static int env_rc;

static void from_env(void)
{
	const char *spec = getenv("OTPD_TEST_SQLITE_FAULTS");
	if (!spec || !*spec)
		return;
	struct otp_sqlite_fault f;
	env_rc = otp_sqlite_fault_parse(spec, &f);
	if (env_rc == 0)
		env_rc = otp_sqlite_fault_install();
	if (env_rc == 0)
		otp_sqlite_fault_arm(&f);
}

int otp_sq_faults_from_env(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, from_env);
	return env_rc ? OTP_EINTERNAL : 0;
}
