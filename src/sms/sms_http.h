/* sms_http.h - what the HTTP gateway drivers share: one reused libcurl
 * handle, timeouts, TLS checks, and how an answer maps to a delivery result.
 *
 * Each driver handle owns one struct otp_sms_http, so its connection to the
 * gateway stays open between messages (keep-alive) and is never shared
 * between threads. Requests are built by the drivers; this file sends them
 * and classifies the outcome:
 *   2xx                                  -> OTP_SMS_SENT
 *   no answer (refused, timeout, reset, TLS failure), 408, 429, 5xx
 *                                        -> OTP_SMS_RETRY
 *   any other status (4xx, 3xx)          -> OTP_SMS_FAILED
 * The reason written for a failure holds the status and a short excerpt of
 * the answer, with any run of digits that also occurs in the message text
 * masked, so a gateway that echoes the text cannot put a code in the logs.
 */
#ifndef OTP_SMS_SMS_HTTP_H
#define OTP_SMS_SMS_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "sms/sms.h"

#define OTP_SMS_HTTP_RESP_MAX 4096 /* bytes of an answer kept */

struct otp_sms_http {
	CURL *curl;
	long connect_timeout_ms, timeout_ms;
	long status;			      /* of the last answer, 0: none */
	char resp[OTP_SMS_HTTP_RESP_MAX + 1]; /* its body, NUL-terminated */
	size_t resp_len;
	char errbuf[CURL_ERROR_SIZE];
};

/* A growing byte string (a query, a form, a JSON body). It may hold the
 * code: otp_sms_buf_wipe wipes and frees it. */
struct otp_sms_buf {
	char *p;
	size_t len, cap;
};

/* The head of an HTTP driver's handle: its struct otp_sms_http_handle
 * comes first. */
struct otp_sms_http_handle {
	struct otp_sms base;
	struct otp_sms_http http;
};

/* A zeroed handle of `size` bytes (a struct whose first member is a struct
 * otp_sms_http_handle) with ops set and its HTTP set up, or NULL with
 * "<name>: cannot set up libcurl" in err (the handle closed by ops->close).
 */
void *otp_sms_http_new(size_t size, const struct otp_sms_ops *ops,
		       const struct otp_sms_env *env, char *err, size_t errlen);
/* Frees handle (its head first) after its own fields: tears down its HTTP,
 * frees `secret` (sodium_malloc'd; may be NULL) and the handle. */
void otp_sms_http_free(void *handle, void *secret);

int otp_sms_http_init(struct otp_sms_http *h, const struct otp_sms_env *env);
void otp_sms_http_deinit(struct otp_sms_http *h);

/* Checks that url is an absolute http(s) URL with a host; NULL or why not.
 */
const char *otp_sms_http_url_check(const char *url);

struct otp_sms_http_req {
	const char *url;
	const char *body; /* NULL: GET; else POST of body_len bytes */
	size_t body_len;
	struct curl_slist *headers; /* borrowed; may be NULL */
	const char *user, *pass;    /* basic auth, or NULL */
};

/* Sends rq and classifies the answer (see above). `name` prefixes the
 * reason; `text` is the message's text, for masking. */
enum otp_sms_result otp_sms_http_do(struct otp_sms_http *h, const char *name,
				    const struct otp_sms_http_req *rq,
				    const char *text, char *err, size_t errlen);

void otp_sms_buf_add(struct otp_sms_buf *b, const char *s, size_t n);
void otp_sms_buf_str(struct otp_sms_buf *b, const char *s);
/* Appends "&key=value" ("key=value" first), both URL-encoded. */
void otp_sms_buf_param(struct otp_sms_buf *b, const char *key,
		       const char *value);
void otp_sms_buf_wipe(struct otp_sms_buf *b);

#endif
