/* upkeep.c - otpctl's store upkeep: purge (what has expired, now, as otpd
 * does every --purge-interval) and backup (a consistent copy of an SQLite
 * store while otpd runs: store.h's otp_store_backup; other stores have
 * their own tools, and say so). The copy's phones and key hashes stay
 * sealed by otpd's secret: it is of use only with the secret beside it. */
#include <stdio.h>

#include "core/err.h"
#include "ctl/ctl.h"

int otp_ctl_purge(const struct otp_ctl_env *e, json_t *args, json_t **data,
		  char *err, size_t errlen)
{
	long removed = 0;
	(void)args;
	int rc = otp_store_purge(e->store, e->now, &removed);
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	*data = json_pack("{sI}", "removed", (json_int_t)removed);
	return 0;
}

int otp_ctl_backup(const struct otp_ctl_env *e, json_t *args, json_t **data,
		   char *err, size_t errlen)
{
	const char *file = json_string_value(json_object_get(args, "file"));
	if (!file || file[0] != '/') {
		snprintf(err, errlen, "backup needs a FILE (an absolute path)");
		return 2;
	}
	int rc = otp_store_backup(e->store_url, file, err, errlen);
	if (rc < 0)
		return 1;
	*data = json_pack("{ss}", "file", file);
	return 0;
}
