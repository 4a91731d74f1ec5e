/* err.h - SQLite's result codes as otpd's errors, for the SQLite
 * backend's files: busy or locked beyond the busy timeout is "try again
 * later" (OTP_EUNAVAIL); a full disk is OTP_EFULL (space.c decides what
 * may still run); anything else is our fault (OTP_EINTERNAL).
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
		return OTP_EUNAVAIL;
	case SQLITE_FULL:
		return OTP_EFULL;
	default:
		return OTP_EINTERNAL;
	}
}

#endif
