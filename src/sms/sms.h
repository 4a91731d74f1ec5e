/* sms.h - the SMS driver interface.
 *
 * A driver (console, file, null; gateways later) fills a struct otp_sms_ops
 * and is chosen once at start-up from --sms by prefix. It only delivers one
 * rendered message; retries, backoff and dead letters are the outbox's job
 * (src/outbox/). A driver handle is used by one delivery thread at a time.
 */
#ifndef OTP_SMS_SMS_H
#define OTP_SMS_SMS_H

#include <stddef.h>
#include <stdint.h>

struct otp_sms_msg {
	const char *to;	  /* E.164 */
	const char *body; /* rendered text, holds the code: never log it */
	const char *request_id; /* the code's request id */
	int64_t message_id;	/* the outbox row, stable across retries */
	int64_t now_ms;
};

enum otp_sms_result {
	OTP_SMS_SENT = 0,
	OTP_SMS_RETRY = 1,  /* transient: try again later */
	OTP_SMS_FAILED = 2, /* permanent: dead-letter it */
};

struct otp_sms;

struct otp_sms_ops {
	const char *name;   /* "file" */
	const char *prefix; /* what --sms starts with: "file:" or "console" */
	int version;
	unsigned caps;
	/* `arg` is what follows the prefix ("" for none). 0 or OTP_ETYPE
	 * with a reason in err. */
	int (*open)(const char *arg, struct otp_sms **out, char *err,
		    size_t errlen);
	/* Delivers m; on failure writes a short reason (no code!) in err. */
	enum otp_sms_result (*send)(struct otp_sms *d,
				    const struct otp_sms_msg *m, char *err,
				    size_t errlen);
	void (*close)(struct otp_sms *d);
};

struct otp_sms {
	const struct otp_sms_ops *ops;
};

/* Opens the driver `spec` names ("console", "file:/tmp/sms.jsonl", "null").
 * Returns 0, or OTP_ETYPE with a reason in err. */
int otp_sms_open(const char *spec, struct otp_sms **out, char *err,
		 size_t errlen);

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
