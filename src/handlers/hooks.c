/* hooks.c - callbacks from SMS gateways: Kannel's delivery reports.
 *
 * Kannel calls the dlr-url a message was sent with (GET, or POST from a
 * proxy that rewrites it): /hooks/kannel/dlr?id=ID&token=TOKEN&status=TYPE,
 * and t=QUEUED (ms) since otpd sends it: a recorded "delivered" report
 * counts now - t in otpd_sms_delivery_seconds{stage="delivered"} (t is not
 * under the token's MAC: whoever holds the token can only skew a metric;
 * a t in the future or over a day old is not counted).
 * The token authenticates the report (engine/delivery.c); the per-IP limit
 * does not apply, since a gateway reports in bursts. A report for a message
 * that is not sent (still being sent, or failed) answers 410 Gone. The token is
 * never logged: the request log shows the route, not the query.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/err.h"
#include "core/metrics.h"
#include "engine/delivery.h"
#include "handlers/app.h"

static bool parse_num(const char *v, long long lo, long long hi, long long *out)
{
	char *end;
	/* A digit first: strtoll would skip any white space ("\r1", found
	 * by tests/fuzz/fuzz_dlr) and take a sign. */
	if (!v || *v < '0' || *v > '9')
		return false;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*end || errno || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

int otp_h_kannel_dlr(struct otp_req *r)
{
	long long id, type;
	bool recorded;
	struct otp_store *s;

	if (!parse_num(otp_req_query(r, "id"), 1, INT64_MAX, &id)) {
		r->log_field = "id";
		return OTP_EVALUE;
	}
	if (!parse_num(otp_req_query(r, "status"), 0, 1 << 30, &type)) {
		r->log_field = "status";
		return OTP_EVALUE;
	}
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	/* A report can overtake the worker's ack: the gateway has the
	 * message before the worker has read the gateway's answer. The ack
	 * is a moment away then, so wait for it (up to 2 s) rather than
	 * lose the report: Kannel does not send it again. */
	for (int i = 0;; i++) {
		rc = otp_engine_dlr_kannel(otp_app()->engine, s, id,
					   otp_req_query(r, "token"), (int)type,
					   r->now, &recorded);
		if (rc != OTP_EGONE || i == 40)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
	}
	if (rc < 0)
		return rc;
	long long t;
	if (recorded && type == OTP_KANNEL_DELIVERED &&
	    parse_num(otp_req_query(r, "t"), 1, r->now, &t) &&
	    r->now - t <= 86400000)
		otp_metrics_sms_stage(OTP_M_DELIVERED, r->now - t);
	r->out = json_pack("{s:b}", "recorded", recorded);
	return 0;
}
