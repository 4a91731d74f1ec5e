/* store_timing.c - the timing decorator of store_timing.h: every
 * operation's wrapper generated from store.h's list reads the monotonic
 * clock before and after the backend's call and counts the difference
 * under the operation's index. open and close are not operations here. */
#include "store/store_timing.h"

#include "core/clock.h"
#include "core/metrics.h"
#include "store/decorator.h"

enum op {
#define OP_ENUM(op, params, args) OP_##op,
	OTP_STORE_OPS(OP_ENUM)
#undef OP_ENUM
	    NOPS
};
_Static_assert(NOPS <= OTP_METRICS_STORE_OPS, "every operation timed");

static const char *const op_names[NOPS] = {
#define OP_NAME(op, params, args) #op,
    OTP_STORE_OPS(OP_NAME)
#undef OP_NAME
};

#define TIMED_(op, params, args)                                               \
	static int timed_##op params                                           \
	{                                                                      \
		int64_t t0 = otp_clock_mono_ns();                              \
		int rc = otp_fwd_##op args;                                    \
		otp_metrics_store_op(OP_##op, otp_clock_mono_ns() - t0);       \
		return rc;                                                     \
	}
OTP_STORE_OPS(TIMED_)
#undef TIMED_

#define TIMED_INIT_(op, params, args) .op = timed_##op,
OTP_STORE_OVERRIDE_BEGIN
static const struct otp_store_ops timed_ops = {
    OTP_STORE_FORWARD_ALL OTP_STORE_OPS(TIMED_INIT_)};
OTP_STORE_OVERRIDE_END
#undef TIMED_INIT_

void otp_store_timing_init(void)
{
	otp_metrics_store_ops(op_names, NOPS);
}

struct otp_store *otp_store_timed(struct otp_store *s, void *arg)
{
	(void)arg;
	return otp_store_wrap_new(sizeof(struct otp_store_wrap), &timed_ops, s);
}
