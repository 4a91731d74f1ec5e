/* err.c - lookups into the error list of err.h. */
#include "core/err.h"

struct row {
	int status;
	const char *wire;
	const char *msg;
};

static const struct row rows[OTP_ERR_COUNT_] = {
    [0] = {500, "internal", "internal error"},
#define OTP_ERR_ROW_(name, st, wire, msg) [OTP_##name##_IDX_] = {st, wire, msg},
    OTP_ERROR_LIST(OTP_ERR_ROW_)
#undef OTP_ERR_ROW_
};

static const struct row *find(int err)
{
	int i = -err;
	if (i <= 0 || i >= OTP_ERR_COUNT_)
		return &rows[0];
	return &rows[i];
}

int otp_err_status(int err)
{
	return find(err)->status;
}
const char *otp_err_code(int err)
{
	return find(err)->wire;
}
const char *otp_err_message(int err)
{
	return find(err)->msg;
}
