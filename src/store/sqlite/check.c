/* check.c - the shape of an SQLite store URL ("sqlite:PATH") and the
 * directory it implies for otpd's local files, without opening anything.
 * Opening and migrating the file lives in the backend's db code; config.c and
 * main.c reach these two only through struct otp_store_ops. */
#include <libgen.h>
#include <stdio.h>

#include "core/err.h"
#include "store/store.h"

int otp_store_sqlite_check(const char *arg, char *err, size_t errlen)
{
	if (arg[0])
		return 0;
	snprintf(err, errlen, "sqlite:PATH needs a PATH");
	return OTP_ETYPE;
}

/* The file's directory: the secret file is kept next to the database. */
int otp_store_sqlite_home(const char *arg, char *dir, size_t cap)
{
	char copy[4096];
	if (snprintf(copy, sizeof copy, "%s", arg) >= (int)sizeof copy)
		return OTP_ETYPE;
	if (snprintf(dir, cap, "%s", dirname(copy)) >= (int)cap)
		return OTP_ETYPE;
	return 0;
}
