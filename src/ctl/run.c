/* run.c - the one table of otpctl's commands, and running a request
 * against it (ctl.h): a new command is one handler and one row here.
 *
 * It checks the request's shape and wraps the handler's answer in the
 * reply; what each command does is its family's file (keys.c, outbox.c,
 * users.c, stats.c, upkeep.c), how a request travels is server.c's and
 * client.c's.
 */
#include "ctl/ctl.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const struct {
	const char *name;
	otp_ctl_fn *fn;
} commands[] = {
    {"key.create", otp_ctl_key_create},
    {"key.list", otp_ctl_key_list},
    {"key.revoke", otp_ctl_key_revoke},
    {"outbox.list", otp_ctl_outbox_list},
    {"outbox.dead", otp_ctl_outbox_dead},
    {"outbox.retry", otp_ctl_outbox_retry},
    {"session.revoke", otp_ctl_session_revoke},
    {"phone.show", otp_ctl_phone_show},
    {"stats", otp_ctl_stats},
    {"purge", otp_ctl_purge},
    {"backup", otp_ctl_backup},
    {"fraud.list", otp_ctl_fraud_list},
    {"fraud.unblock", otp_ctl_fraud_unblock},
    {"fraud.allow", otp_ctl_fraud_allow},
    {"spend", otp_ctl_spend},
};

int otp_ctl_failed(int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", otp_err_message(rc));
	return 1;
}

int otp_ctl_changed(int rc, const char *what, const char *name,
		    const char *done, json_t **data, char *err, size_t errlen)
{
	if (rc == OTP_ENOTFOUND) {
		snprintf(err, errlen, "no %s %s", what, name);
		return 1;
	}
	if (rc < 0)
		return otp_ctl_failed(rc, err, errlen);
	*data = json_pack("{ss}", done, name);
	return 0;
}

static json_t *refusal(int status, const char *err)
{
	return json_pack("{sbsiss}", "ok", 0, "status", status, "error", err);
}

json_t *otp_ctl_run(const struct otp_ctl_env *e, json_t *req)
{
	char err[512] = "";
	const char *name = json_string_value(json_object_get(req, "cmd"));
	json_t *args = json_object_get(req, "args");
	if (!name)
		return refusal(2, "a request needs a \"cmd\"");
	if (args && !json_is_object(args))
		return refusal(2, "\"args\" must be an object");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		json_t *data = NULL, *empty = json_object();
		int status = commands[i].fn(e, args ? args : empty, &data, err,
					    sizeof err);
		json_decref(empty);
		if (status != 0) {
			json_decref(data);
			return refusal(status, err[0] ? err : "refused");
		}
		return json_pack("{sbso}", "ok", 1, "data",
				 data ? data : json_object());
	}
	snprintf(err, sizeof err, "no command %s", name);
	return refusal(2, err);
}
