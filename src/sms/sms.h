/* sms.h - the SMS driver interface.
 *
 * A driver (console, file, null, and the gateways kannel, twilio, webhook)
 * fills a struct otp_sms_ops and is chosen once at start-up from --sms by
 * prefix. --sms is a comma-separated list tried in order: a struct
 * otp_sms_set holds one open handle per entry. A driver only delivers one
 * rendered message and says how that went; retries, backoff, failover to
 * the next driver and dead letters are the outbox's job (src/outbox/).
 *
 * Threads: a driver handle is used by one delivery thread at a time; each
 * delivery thread opens its own set, so an HTTP driver's connection (one
 * reused libcurl handle) is never shared.
 */
#ifndef OTP_SMS_SMS_H
#define OTP_SMS_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTP_SMS_DRIVERS_MAX 8  /* entries in one --sms list */
#define OTP_SMS_TOKEN_MAX   65 /* a delivery-report token, NUL included */

struct otp_sms_msg {
	const char *to;	  /* E.164 */
	const char *body; /* rendered text, holds the code: never log it */
	const char *request_id; /* the code's request id */
	int64_t message_id;	/* the outbox row, stable across retries */
	/* The idempotency key: the same for every try of this message on
	 * every driver, so a gateway can recognise a retry whose first try
	 * had an unknown outcome. */
	const char *idem_key;
	/* Authenticates the delivery report for this message (Kannel's
	 * dlr-url); "" if none. */
	const char *dlr_token;
	/* When it was queued (0: not known): the report's URL carries it
	 * back, for the delivered stage of otpd_sms_delivery_seconds. */
	int64_t queued_ms;
	bool ucs2;	    /* the text needs UCS-2 (not all GSM-7) */
	int64_t expires_ms; /* when its code expires */
	int64_t now_ms;
};

enum otp_sms_result {
	OTP_SMS_SENT = 0,
	OTP_SMS_RETRY = 1,  /* transient: try again later (timeout, refused,
			       5xx, 429) */
	OTP_SMS_FAILED = 2, /* permanent: dead-letter it (other 4xx) */
};

/* What drivers get from otpd's settings; every string borrowed for the
 * open call only. */
struct otp_sms_env {
	const char *from;	  /* sender id or number; "" = gateway's */
	const char *callback_url; /* otpd's base URL as the gateway reaches it
				     ("http://host:port"); "" = none */
	long connect_timeout_ms;  /* 0: 3000 */
	long timeout_ms;	  /* a whole request; 0: 10000 */
	/* Secrets (OTPD_TWILIO_SID, OTPD_WEBHOOK_SECRET...); NULL: getenv */
	const char *(*getenv)(const char *name);
};

struct otp_sms;

struct otp_sms_ops {
	const char *name;   /* "file" */
	const char *prefix; /* what --sms starts with: "file:" or "console" */
	const char *form;   /* its shape, for --help: "file:PATH" */
	int version;	    /* 2: open takes an env */
	unsigned caps;	    /* OTP_SMS_CAP_* */
	/* The shape of `arg` (what follows the prefix), opening nothing: 0,
	 * or OTP_ETYPE with why not in err. NULL: any arg. */
	int (*check)(const char *arg, char *err, size_t errlen);
	/* `arg` is what follows the prefix ("" for none); env never NULL.
	 * 0 or OTP_ETYPE with a reason in err. */
	int (*open)(const char *arg, const struct otp_sms_env *env,
		    struct otp_sms **out, char *err, size_t errlen);
	/* Delivers m; on failure writes a short reason (no code!) in err. */
	enum otp_sms_result (*send)(struct otp_sms *d,
				    const struct otp_sms_msg *m, char *err,
				    size_t errlen);
	void (*close)(struct otp_sms *d);
};

enum {
	OTP_SMS_CAP_NETWORK = 1 << 0, /* talks to a gateway over the network */
	OTP_SMS_CAP_DLR = 1 << 1,     /* delivery reports come back */
	OTP_SMS_CAP_IDEM = 1 << 2,    /* sends the idempotency key along */
};

struct otp_sms {
	const struct otp_sms_ops *ops;
};

/* A driver's ops table, otp_sms_<pfx>_ops, named "<pfx>": its --sms
 * prefix, its form for --help, its arg check (NULL: any arg), its caps, and
 * its open and close; its send is <pfx>_send. */
#define OTP_SMS_OPS(pfx, prefix_, form_, check_, caps_, open_, close_)         \
	const struct otp_sms_ops otp_sms_##pfx##_ops = {                       \
	    .name = #pfx,                                                      \
	    .prefix = prefix_,                                                 \
	    .form = form_,                                                     \
	    .check = check_,                                                   \
	    .version = 2,                                                      \
	    .caps = caps_,                                                     \
	    .open = open_,                                                     \
	    .send = pfx##_send,                                                \
	    .close = close_,                                                   \
	}

/* A driver with no state and no arg ("console", "null"): its open (a bare
 * handle) and close come from here, so it writes only <pfx>_send. */
#define OTP_SMS_BARE_OPS(pfx)                                                  \
	static int pfx##_open(const char *arg, const struct otp_sms_env *env,  \
			      struct otp_sms **out, char *err, size_t errlen)  \
	{                                                                      \
		(void)env;                                                     \
		return otp_sms_open_bare(&otp_sms_##pfx##_ops, arg, out, err,  \
					 errlen);                              \
	}                                                                      \
	OTP_SMS_OPS(pfx, #pfx, #pfx, otp_sms_check_no_arg, 0, pfx##_open,      \
		    otp_sms_free_bare)

/* For OTP_SMS_BARE_OPS: a handle with nothing but its ops, for an empty
 * arg ("<name> takes no argument" in err otherwise), and its close. */
int otp_sms_open_bare(const struct otp_sms_ops *ops, const char *arg,
		      struct otp_sms **out, char *err, size_t errlen);
void otp_sms_free_bare(struct otp_sms *d);

/* Opens the one driver `spec` names ("console", "file:/tmp/sms.jsonl",
 * "null", "webhook:https://..."), with a default env (getenv, no sender,
 * no callback). Returns 0, or OTP_ETYPE with a reason in err. */
int otp_sms_open(const char *spec, struct otp_sms **out, char *err,
		 size_t errlen);

/* --sms's default. */
#define OTP_SMS_DEFAULT "console"

/* The shape of a --sms list: 1 to OTP_SMS_DRIVERS_MAX entries, each one a
 * driver's prefix and an arg its driver's check takes. 0, or OTP_ETYPE with
 * why not in err (a phrase after the list). Opens nothing. */
int otp_sms_check_list(const char *list, char *err, size_t errlen);
/* Every driver's form, for --help: "comma-separated: console, ...".
 * Static storage; the first call is not thread-safe (make it at start-up). */
const char *otp_sms_forms(void);
/* Checks for drivers to share: no arg at all ("console"), or a non-empty
 * one ("file:PATH"). */
int otp_sms_check_no_arg(const char *arg, char *err, size_t errlen);
int otp_sms_check_arg(const char *arg, char *err, size_t errlen);

/* One handle per entry of a comma-separated --sms list, in order. */
struct otp_sms_set {
	size_t n;
	struct otp_sms *d[OTP_SMS_DRIVERS_MAX];
};

/* Opens every driver of `list`. 0, or OTP_ETYPE with a reason naming the
 * entry in err (nothing is left open then). */
int otp_sms_set_open(const char *list, const struct otp_sms_env *env,
		     struct otp_sms_set *out, char *err, size_t errlen);
void otp_sms_set_close(struct otp_sms_set *s);

static inline enum otp_sms_result otp_sms_send(struct otp_sms *d,
					       const struct otp_sms_msg *m,
					       char *err, size_t errlen)
{
	return d->ops->send(d, m, err, errlen);
}
static inline void otp_sms_close(struct otp_sms *d)
{
	if (d)
		d->ops->close(d);
}

#endif
