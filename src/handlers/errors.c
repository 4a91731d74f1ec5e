/* errors.c - how the provider API's errors look: the StartMessaging
 * envelope {"success": false, "statusCode": N, "error": {"code",
 * "message"[, "field"][, "retry_after"]}}. A route names its renderer in
 * routes.c; routes with none get the login API's default (src/http). */
#include "handlers/app.h"

json_t *otp_h_envelope_error(const struct otp_error_parts *e)
{
	json_t *o = otp_error_extras(
	    json_pack("{s:s, s:s}", "code", e->code, "message", e->message), e);
	return json_pack("{s:b, s:i, s:o}", "success", 0, "statusCode",
			 e->status, "error", o);
}
