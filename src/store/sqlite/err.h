/* err.h - SQLite's result codes as otpd's errors, for the SQLite
 * backend's files: busy or locked beyond the busy timeout, and an I/O
 * error of the disk (a failed write or fsync: the operation, or its
 * batch's COMMIT, was rolled back, and the next may well pass), are "try
 * again later" (OTP_EUNAVAIL, 503 with Retry-After); a full disk is
 * OTP_EFULL (space.c decides what may still run); anything else is our
 * fault (OTP_EINTERNAL).
 */
#ifndef OTP_STORE_SQLITE_ERR_H
#define OTP_STORE_SQLITE_ERR_H

#include <sqlite3.h>

#include "core/err.h"

static inline int otp_sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
		return OTP_EUNAVAIL;
	case SQLITE_FULL:
		return OTP_EFULL;
	default:
		return OTP_EINTERNAL;
	}
}

#endif
