/* err.h - the one list of errors otpd can answer with.
 *
 * Every fallible function returns 0 or a negative OTP_E* value. The list below
 * is the only place that ties an error to its HTTP status, its stable wire
 * string (clients may switch on it) and its human message. Only the HTTP
 * dispatcher turns an error into a response body; nothing else writes one.
 */
#ifndef OTP_CORE_ERR_H
#define OTP_CORE_ERR_H

/* X(NAME, http status, wire code, message) */
/* clang-format off */
#define OTP_ERROR_LIST(X)                                                                                                 \
	X(EINTERNAL,  500, "internal",                   "internal error")                                                \
	X(EJSON,      400, "invalid_json",               "body is not valid JSON")                                        \
	X(EFRAMING,   400, "bad_request",                "malformed HTTP request")                                        \
	X(ENOTOBJECT, 400, "invalid_json",               "body must be a JSON object")                                    \
	X(EMISSING,   400, "missing_field",              "a required field is missing")                                   \
	X(ETYPE,      400, "invalid_field",              "a field has the wrong type")                                    \
	X(EVALUE,     400, "invalid_field",              "a field's value is out of range")                               \
	X(EUNKNOWN,   400, "unknown_field",              "the body has an unknown field")                                 \
	X(ETOOLONG,   400, "field_too_long",             "a field is too long")                                           \
	X(EUTF8,      400, "invalid_utf8",               "a field is not valid UTF-8 or has NUL")                         \
	X(EPHONE,     400, "invalid_phone",              "not a valid phone number")                                      \
	X(ENATIONAL,  400, "invalid_phone",              "national number: give +<country code> or set --default-region") \
	X(ENUMTYPE,   400, "number_type_not_allowed",    "this kind of number (e.g. premium rate) gets no SMS")           \
	X(ECODEFMT,   400, "invalid_code",               "the code must be digits only")                                  \
	X(EEXPIRED,   400, "session_expired",            "session expired")                                               \
	X(EUNAUTH,    401, "unauthorized",               "not logged in")                                                 \
	X(EAPIKEY,    401, "invalid_api_key",            "missing or invalid API key")                                    \
	X(EDENIED,    403, "destination_not_allowed",    "destination not allowed")                                       \
	X(ENOTFOUND,  404, "not_found",                  "not found")                                                     \
	X(EMETHOD,    405, "method_not_allowed",         "method not allowed")                                            \
	X(ECONFLICT,  409, "idempotency_conflict",       "idempotency key already used for another request")              \
	X(EGONE,      410, "gone",                       "the request is expired, used or dead")                          \
	X(ETOOBIG,    413, "payload_too_large",          "request body too large")                                        \
	X(EMEDIA,     415, "unsupported_media_type",     "Content-Type must be application/json")                         \
	X(ELIMITED,   429, "rate_limited",               "too many requests")                                             \
	X(ECOOLDOWN,  429, "resend_cooldown",            "a code was just sent: wait before asking for another")          \
	X(EPHONELIM,  429, "phone_rate_limited",         "too many codes for this phone this hour")                       \
	X(EPHONEIP,   429, "phone_ip_rate_limited",      "too many codes for this phone from this address this hour")     \
	X(EPHONESESS, 429, "phone_session_rate_limited", "too many codes for this phone in this session this hour")       \
	X(EPHONEKEY,  429, "phone_key_rate_limited",     "too many codes for this phone with this API key this hour")     \
	X(EIPLIM,     429, "ip_rate_limited",            "too many requests from this address")                           \
	X(EKEYLIM,    429, "key_rate_limited",           "too many requests with this API key")                           \
	X(EFRAUD,     429, "fraud_suspected",            "sends to this destination look like SMS pumping: refused")      \
	X(ESTEPUP,    428, "challenge_required",         "solve the proof-of-work challenge, then send again")            \
	X(EUPSTREAM,  502, "upstream_failed",            "upstream provider failed")                                      \
	X(EUNAVAIL,   503, "backend_unavailable",        "storage backend unavailable")                                   \
	X(EFULL,      503, "storage_full",               "storage is full: nothing was written, try again later")         \
	X(EOUTCOME,   503, "outcome_unknown",            "the store may have done it but its answer was lost")            \
	X(ESPEND,     503, "spend_limit",                "the SMS spend cap is reached: try again later")                 \
	X(EBUSY,      503, "busy",                       "server is shutting down")
/* clang-format on */

enum otp_err {
	OTP_OK = 0,
#define OTP_ERR_ENUM_(name, status, wire, msg) OTP_##name##_IDX_,
	OTP_ERR_FIRST_IDX_ = 0,
	OTP_ERROR_LIST(OTP_ERR_ENUM_)
#undef OTP_ERR_ENUM_
	    OTP_ERR_COUNT_
};

/* OTP_EJSON etc.: the negative of the index, usable in switch labels. */
enum otp_errno {
#define OTP_ERR_NEG_(name, status, wire, msg) OTP_##name = -OTP_##name##_IDX_,
	OTP_ERROR_LIST(OTP_ERR_NEG_)
#undef OTP_ERR_NEG_
};

/* HTTP status for an error (500 for anything unknown). */
int otp_err_status(int err);
/* Stable wire string, e.g. "rate_limited". */
const char *otp_err_code(int err);
/* Human message, e.g. "too many requests". */
const char *otp_err_message(int err);

/* Is err one of the limits' refusals (429, answered with retry_after)? */
static inline int otp_err_limited(int err)
{
	return otp_err_status(err) == 429;
}

/* Does err's answer carry a wait of the request's own (retry_after and
 * Retry-After): a limit's refusal, or the spend cap? */
static inline int otp_err_waits(int err)
{
	return otp_err_limited(err) || err == OTP_ESPEND;
}

#endif
