/* decorator.h - what a store decorator is made of: a handle over another
 * handle (the session cache, store_cache.c; the fault plan,
 * store_faults.c; the engine's sealing of phones, engine/sealed.c).
 *
 * Its handle begins with struct otp_store_wrap. Every operation it leaves
 * alone is forwarded by otp_fwd_<op>, one per row of store.h's list;
 * OTP_STORE_FORWARD_ALL sets them all in an ops table, with open (none)
 * and close (the inner handle's, then the wrapper freed), before the
 * decorator's own (a later designated initializer wins, C11 6.7.9; hence
 * OTP_STORE_OVERRIDE_BEGIN/END around the table).
 */
#ifndef OTP_STORE_DECORATOR_H
#define OTP_STORE_DECORATOR_H

#include <stdlib.h>

#include "store/store.h"

struct otp_store_wrap {
	struct otp_store base;
	struct otp_store_ops ops; /* the decorator's, named as the inner's */
	struct otp_store *inner;
};

static inline struct otp_store *otp_store_inner(struct otp_store *s)
{
	return ((struct otp_store_wrap *)s)->inner;
}

#define OTP_STORE_FWD_(op, params, args)                                       \
	static inline int otp_fwd_##op params                                  \
	{                                                                      \
		s = otp_store_inner(s);                                        \
		return otp_store_##op args;                                    \
	}
OTP_STORE_OPS(OTP_STORE_FWD_)
#undef OTP_STORE_FWD_

#define OTP_STORE_FWD_INIT_(op, params, args) .op = otp_fwd_##op,
#define OTP_STORE_FORWARD_ALL                                                  \
	.open = otp_store_open_none, .close = otp_store_wrap_close,            \
	OTP_STORE_OPS(OTP_STORE_FWD_INIT_)
#define OTP_STORE_OVERRIDE_BEGIN                                               \
	_Pragma("GCC diagnostic push")                                         \
	    _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define OTP_STORE_OVERRIDE_END _Pragma("GCC diagnostic pop")

static inline void otp_store_wrap_close(struct otp_store *s)
{
	otp_store_close(otp_store_inner(s));
	free(s);
}

/* A new decorator of `size` bytes (its struct, beginning with struct
 * otp_store_wrap) over inner: its ops a copy of tmpl, named as the inner
 * handle's backend and with its caps (what otpd and the cache test). */
static inline void *otp_store_wrap_new(size_t size,
				       const struct otp_store_ops *tmpl,
				       struct otp_store *inner)
{
	struct otp_store_wrap *w = calloc(1, size);
	if (!w)
		abort();
	w->ops = *tmpl;
	w->ops.name = inner->ops->name;
	w->ops.scheme = inner->ops->scheme;
	w->ops.version = inner->ops->version;
	w->ops.caps = inner->ops->caps;
	w->base.ops = &w->ops;
	w->inner = inner;
	return w;
}

#endif
