/* ops.c - the operator's routes: liveness and readiness (503 once
 * SIGTERM came, see otp_app_set_draining; 503 storage_full while the
 * store's disk is full). */
#include "core/err.h"
#include "handlers/app.h"

int otp_h_healthz(struct otp_req *r)
{
	r->out = json_pack("{s:s}", "status", "ok");
	return 0;
}

int otp_h_readyz(struct otp_req *r)
{
	struct otp_store *s;
	if (otp_app_draining())
		return OTP_EUNAVAIL; /* stopping: send traffic elsewhere */
	int rc = otp_app_store(&s);
	if (rc == 0)
		rc = otp_store_ping(s);
	/* A full disk says so (storage_full); any other failure is
	 * backend_unavailable. */
	if (rc < 0)
		return rc == OTP_EFULL ? rc : OTP_EUNAVAIL;
	r->out = json_pack("{s:s}", "status", "ready");
	return 0;
}
