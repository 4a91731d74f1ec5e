/* store.c - picks a store backend by URL scheme, once, at open. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

extern const struct otp_store_ops otp_store_sqlite_ops;
extern const struct otp_store_ops otp_store_redis_ops;

static const struct otp_store_ops *const backends[] = {
    &otp_store_sqlite_ops,
    &otp_store_redis_ops,
};

const char *const otp_code_state_names[OTP_CODE_STATES] = {
    [OTP_CODE_PENDING] = "pending",
    [OTP_CODE_USED] = "used",
    [OTP_CODE_DEAD] = "dead",
    [OTP_CODE_RETIRED] = "retired",
};

const char *const otp_msg_state_names[OTP_MSG_STATES] = {
    [OTP_MSG_QUEUED] = "queued",
    [OTP_MSG_SENDING] = "sending",
    [OTP_MSG_SENT] = "sent",
    [OTP_MSG_DELIVERED] = "delivered",
    [OTP_MSG_UNDELIVERED] = "undelivered",
    [OTP_MSG_FAILED] = "failed",
    [OTP_MSG_EXPIRED] = "expired",
};

const struct otp_store_ops *otp_store_backend(const char *url)
{
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		size_t n = strlen(backends[i]->scheme);
		if (strncmp(url, backends[i]->scheme, n) == 0)
			return backends[i];
	}
	return NULL;
}

int otp_store_open(const char *url, struct otp_store **out)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	*out = NULL;
	if (!ops)
		return OTP_ETYPE;
	return ops->open(url + strlen(ops->scheme), out);
}

int otp_store_lock(const char *url, char *err, size_t errlen)
{
	const struct otp_store_ops *ops = otp_store_backend(url);
	if (!ops)
		return OTP_ETYPE;
	return ops->lock ? ops->lock(url + strlen(ops->scheme), err, errlen)
			 : 0;
}

void otp_msg_deinit(struct otp_msg *m)
{
	free(m->body);
	m->body = NULL;
	m->body_len = 0;
}
