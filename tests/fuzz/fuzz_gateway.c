/* fuzz_gateway.c - the SMS gateway drivers (Kannel, Twilio, webhook) from
 * request to classified answer, with libcurl's transfer replaced: the
 * plumbing of sms/sms_http.c is included here with curl_easy_setopt,
 * curl_easy_perform and curl_easy_getinfo routed to fakes that hand the
 * driver a status and a body from the input, and look at what it sent.
 *
 * Input: STATUS (2 bytes) CURLCODE DRIVER TEXTLEN, then TEXTLEN bytes of
 * message text, then the gateway's answer. Checked: the request is well
 * formed (a Kannel URL has every byte escaped, a webhook body is JSON
 * holding the text), the answer is classified as sms_http.h says, and the
 * reason written for a failure is one printable line with no run of 4 or
 * more digits that occurs in the text (the code never reaches the log). */
#include "fake_curl.h"

#include "../../src/sms/sms_http.c"

#include <jansson.h>

#include "fuzz.h"

static const char *fk_text;
static int fk_driver;

static void check_request(void)
{
	FUZZ_CHECK(fk.url && strncmp(fk.url, "http://127.0.0.1", 16) == 0);
	if (fk_driver == 0) { /* kannel: a GET with the text in the query */
		for (const char *p = fk.url; *p; p++)
			FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
		FUZZ_CHECK(strstr(fk.url, "&text=") != NULL);
	} else if (fk_driver == 2) { /* webhook: a JSON body */
		json_t *j = json_loadb(fk.post, (size_t)fk.post_len, 0, NULL);
		FUZZ_CHECK(j != NULL);
		const char *body =
		    json_string_value(json_object_get(j, "body"));
		FUZZ_CHECK(body && strcmp(body, fk_text) == 0);
		json_decref(j);
	} else { /* twilio: a form */
		FUZZ_CHECK(fk.post && fk.post_len > 0);
		for (long i = 0; i < fk.post_len; i++)
			FUZZ_CHECK(fk.post[i] > 0x20 && fk.post[i] < 0x7f);
	}
}

static const char *env(const char *name)
{
	if (strcmp(name, "OTPD_TWILIO_SID") == 0)
		return "AC0123456789abcdef0123456789abcdef";
	if (strcmp(name, "OTPD_TWILIO_TOKEN") == 0)
		return "token";
	if (strcmp(name, "OTPD_WEBHOOK_SECRET") == 0)
		return "0123456789abcdef0123456789abcdef";
	return NULL;
}

/* No run of >= 4 digits of s occurs in text. */
static void check_masked(const char *s, const char *text)
{
	while (*s) {
		size_t k = strspn(s, "0123456789");
		if (k >= 4) {
			char run[200];
			FUZZ_CHECK(k < sizeof run);
			memcpy(run, s, k);
			run[k] = '\0';
			FUZZ_CHECK(strstr(text, run) == NULL);
		}
		s += k ? k : 1;
	}
}

static const CURLcode codes[] = {CURLE_OK,
				 CURLE_OK,
				 CURLE_OK,
				 CURLE_OPERATION_TIMEDOUT,
				 CURLE_URL_MALFORMAT,
				 CURLE_COULDNT_CONNECT};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_sms_set set;
	static bool opened;
	if (!opened) {
		struct otp_sms_env e = {.from = "+15550001111",
					.callback_url =
					    "http://127.0.0.1:8080/",
					.getenv = env};
		char err[256];
		int rc = otp_sms_set_open(
		    "kannel:http://u:p@127.0.0.1:13013/cgi-bin/sendsms?smsc=a,"
		    "twilio:http://127.0.0.1:9,webhook:http://127.0.0.1:9/hook",
		    &e, &set, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "%s\n", err);
		FUZZ_CHECK(rc == 0 && set.n == 3);
		opened = true;
	}
	if (n < 5)
		return 0;
	memset(&fk, 0, sizeof fk);
	fk.status = (d[0] << 8 | d[1]) % 700;
	fk.rc = codes[d[2] % (sizeof codes / sizeof codes[0])];
	fk_driver = d[3] % 3;
	size_t tl = d[4] < n - 5 ? d[4] : n - 5;
	char *text = fuzz_str(d + 5, tl);
	fk_text = text;
	fk.check = check_request;
	fk.resp = (const char *)d + 5 + tl;
	fk.resp_len = n - 5 - tl;

	struct otp_sms_msg m = {.to = "+14155550100",
				.body = text,
				.request_id =
				    "0123456789abcdef0123456789abcdef",
				.message_id = 42,
				.idem_key = "idem-42",
				.dlr_token = "feedfeedfeedfeedfeedfeedfeedfeed",
				.ucs2 = d[3] & 8,
				.expires_ms = 600000,
				.now_ms = 0};
	char err[256];
	memset(err, 'x', sizeof err);
	err[sizeof err - 1] = '\0';
	enum otp_sms_result r =
	    otp_sms_send(set.d[fk_driver], &m, err, sizeof err);
	json_t *js = json_string(text);
	bool utf8 = js != NULL;
	json_decref(js);
	if (fk_driver == 2 && !utf8) {
		/* not UTF-8: the webhook refuses before sending */
		FUZZ_CHECK(r == OTP_SMS_FAILED && fk.performed == 0);
		free(text);
		return 0;
	}
	FUZZ_CHECK(fk.performed == 1);
	if (fk.rc == CURLE_URL_MALFORMAT)
		FUZZ_CHECK(r == OTP_SMS_FAILED);
	else if (fk.rc != CURLE_OK)
		FUZZ_CHECK(r == OTP_SMS_RETRY);
	else if (fk.status >= 200 && fk.status < 300)
		FUZZ_CHECK(r == OTP_SMS_SENT);
	else if (fk.status == 408 || fk.status == 429 || fk.status >= 500)
		FUZZ_CHECK(r == OTP_SMS_RETRY);
	else
		FUZZ_CHECK(r == OTP_SMS_FAILED);
	if (r != OTP_SMS_SENT && fk.rc == CURLE_OK) {
		FUZZ_CHECK(strlen(err) < sizeof err);
		for (const char *p = err; *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
		const char *ex = strstr(err, ": HTTP ");
		FUZZ_CHECK(ex != NULL);
		ex = strchr(ex + 7, ':');
		if (ex)
			check_masked(ex, text);
	}
	free(text);
	return 0;
}
