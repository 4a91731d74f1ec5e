/* test_metrics.c - core/metrics.c: counts from many threads add up, route
 * names that repeat count as one, statuses outside the table are "other",
 * histogram buckets are cumulative, errors map to closed outcomes. */
#include "core/metrics.c"
#include "harness.h"

#include <stdlib.h>

/* The scrape's counters, in a malloc'd string. */
static char *render(void)
{
	static char *out;
	static size_t len;
	FILE *f = open_memstream(&out, &len);
	otp_metrics_write(f);
	fclose(f);
	return out;
}

static bool has(const char *text, const char *line)
{
	const char *p = strstr(text, line);
	return p && (p == text || p[-1] == '\n') && p[strlen(line)] == '\n';
}

#define THREADS 8
#define EACH	10000

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < EACH; i++)
		otp_metrics_http(0, 200, 300000);
	return NULL;
}

static void threads_add_up(void)
{
	static const char *const names[] = {"/a", "/b", "/a"};
	otp_metrics_routes(names, 3);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	otp_metrics_http(2, 200, 1); /* "/a" again: the same series */
	otp_metrics_http(1, 418, 3000000000);
	otp_metrics_http(-1, 404, 1);
	char *text = render();
	CHECK(has(text, "otpd_http_requests_total{route=\"/a\",code=\"200\"} "
			"80001"));
	CHECK(has(text,
		  "otpd_http_requests_total{route=\"/b\",code=\"other\"} 1"));
	CHECK(
	    has(text,
		"otpd_http_requests_total{route=\"unknown\",code=\"404\"} 1"));
	/* 0.3 ms lands in le=0.0005 and every bucket above it. */
	CHECK(has(text,
		  "otpd_http_request_duration_seconds_bucket{route=\"/a\","
		  "le=\"0.00025\"} 1"));
	CHECK(has(text,
		  "otpd_http_request_duration_seconds_bucket{route=\"/a\","
		  "le=\"0.0005\"} 80001"));
	CHECK(has(text,
		  "otpd_http_request_duration_seconds_bucket{route=\"/b\","
		  "le=\"2.5\"} 0"));
	CHECK(has(text,
		  "otpd_http_request_duration_seconds_bucket{route=\"/b\","
		  "le=\"+Inf\"} 1"));
	CHECK(has(text,
		  "otpd_http_request_duration_seconds_count{route=\"/a\"} "
		  "80001"));
	CHECK(has(text, "otpd_http_request_duration_seconds_sum{route=\"/b\"} "
			"3.000000000"));
	free(text);
}

static void outcomes_are_closed(void)
{
	otp_metrics_send(OTP_M_API_login, 0, false, false);
	otp_metrics_send(OTP_M_API_provider, 0, true, false);
	otp_metrics_send(OTP_M_API_login, OTP_ELIMITED, false, false);
	otp_metrics_send(OTP_M_API_login, OTP_EINTERNAL, false, false);
	otp_metrics_verify(OTP_M_API_login, 0, OTP_M_VERIFY_approved);
	otp_metrics_verify(OTP_M_API_provider, OTP_ECODEFMT, 0);
	otp_metrics_sms("file", OTP_M_SMS_sent);
	otp_metrics_sms("kannel", OTP_M_SMS_retry);
	otp_metrics_sms("file", OTP_M_SMS_sent);
	char *text = render();
	CHECK(has(text,
		  "otpd_otp_sends_total{api=\"login\",outcome=\"issued\"} 1"));
	CHECK(has(text, "otpd_otp_sends_total{api=\"provider\",outcome="
			"\"replayed\"} 1"));
	CHECK(has(text,
		  "otpd_otp_sends_total{api=\"login\",outcome=\"limited\"} 1"));
	CHECK(has(text,
		  "otpd_otp_sends_total{api=\"login\",outcome=\"error\"} 1"));
	CHECK(has(text, "otpd_rate_limited_total{limit=\"phone\"} 1"));
	CHECK(has(text, "otpd_otp_verifications_total{api=\"login\",outcome="
			"\"approved\"} 1"));
	CHECK(has(text, "otpd_otp_verifications_total{api=\"provider\","
			"outcome=\"invalid_code\"} 1"));
	CHECK(
	    has(text,
		"otpd_sms_messages_total{driver=\"file\",status=\"sent\"} 2"));
	CHECK(has(text, "otpd_sms_messages_total{driver=\"kannel\",status="
			"\"retry\"} 1"));
	free(text);
}

/* More SMS drivers than the table holds: the first ones keep their
 * counts (found again without a new slot), the others are not counted. */
static void drivers_beyond_the_table_are_dropped(void)
{
	static const char *const names[] = {"d0", "d1", "d2", "d3", "d4",
					    "d5", "d6", "d7", "d8", "d9"};
	_Static_assert(sizeof names / sizeof names[0] > OTP_METRICS_DRIVERS,
		       "more names than slots");
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			otp_metrics_sms(names[i], OTP_M_SMS_sent);
	char *text = render();
	CHECK(has(text,
		  "otpd_sms_messages_total{driver=\"d0\",status=\"sent\"} 2"));
	CHECK(!strstr(text, "driver=\"d9\""));
	free(text);
}

/* SMS tries by calling code: one, two and three digits, and a number with
 * no known code counted nowhere. */
static void sms_by_calling_code(void)
{
	otp_metrics_sms_country("+14155550100", OTP_M_SMS_sent);
	otp_metrics_sms_country("+447700900123", OTP_M_SMS_failed);
	otp_metrics_sms_country("+35312345678", OTP_M_SMS_sent);
	otp_metrics_sms_country("+35312345678", OTP_M_SMS_sent);
	otp_metrics_sms_country("not a number", OTP_M_SMS_sent);
	char *text = render();
	CHECK(has(text, "otpd_sms_by_country_total{country=\"1\",status="
			"\"sent\"} 1"));
	CHECK(has(text, "otpd_sms_by_country_total{country=\"44\",status="
			"\"failed\"} 1"));
	CHECK(has(text, "otpd_sms_by_country_total{country=\"353\",status="
			"\"sent\"} 2"));
	CHECK(!strstr(text, "country=\"35\""));
	free(text);
}

/* Queued -> accepted: seconds buckets from 0.1 s, cumulative, the sum in
 * seconds. */
static void sms_accepted_histogram(void)
{
	otp_metrics_sms_stage(OTP_M_ACCEPTED, 40);
	otp_metrics_sms_stage(OTP_M_ACCEPTED, 700);
	otp_metrics_sms_stage(OTP_M_ACCEPTED, 400000); /* past the last bound */
	otp_metrics_sms_stage(OTP_M_DELIVERED, 3000);
	char *text = render();
	static const char *const want[] = {
	    "otpd_sms_delivery_seconds_bucket{stage=\"accepted\",le=\"0.1\"} 1",
	    "otpd_sms_delivery_seconds_bucket{stage=\"accepted\",le=\"0.5\"} 1",
	    "otpd_sms_delivery_seconds_bucket{stage=\"accepted\",le=\"1\"} 2",
	    "otpd_sms_delivery_seconds_bucket{stage=\"accepted\",le=\"300\"} 2",
	    "otpd_sms_delivery_seconds_bucket{stage=\"accepted\",le=\"+Inf\"} "
	    "3",
	    "otpd_sms_delivery_seconds_sum{stage=\"accepted\"} 400.740",
	    "otpd_sms_delivery_seconds_count{stage=\"accepted\"} 3",
	    "otpd_sms_delivery_seconds_bucket{stage=\"delivered\",le=\"2.5\"} "
	    "0",
	    "otpd_sms_delivery_seconds_bucket{stage=\"delivered\",le=\"5\"} 1",
	    "otpd_sms_delivery_seconds_sum{stage=\"delivered\"} 3.000",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK(has(text, want[i]));
	free(text);
}

/* Store operations by name: buckets cumulative from 10 us, only the
 * operations that ran, an index past the names not counted. */
static void store_ops_histogram(void)
{
	static const char *const names[] = {"ping", "code_issue", "idle"};
	otp_metrics_store_ops(names, 3);
	otp_metrics_store_op(1, 8000);	  /* 8 us */
	otp_metrics_store_op(1, 30000);	  /* 30 us */
	otp_metrics_store_op(1, 2000000); /* 2 ms */
	otp_metrics_store_op(0, 5000);
	otp_metrics_store_op(7, 5000);
	char *text = render();
	static const char *const want[] = {
	    "otpd_store_operation_duration_seconds_bucket{op=\"code_issue\","
	    "le=\"0.00001\"} 1",
	    "otpd_store_operation_duration_seconds_bucket{op=\"code_issue\","
	    "le=\"0.00005\"} 2",
	    "otpd_store_operation_duration_seconds_bucket{op=\"code_issue\","
	    "le=\"0.0025\"} 3",
	    "otpd_store_operation_duration_seconds_bucket{op=\"code_issue\","
	    "le=\"+Inf\"} 3",
	    "otpd_store_operation_duration_seconds_count{op=\"code_issue\"} 3",
	    "otpd_store_operation_duration_seconds_sum{op=\"code_issue\"} "
	    "0.002038000",
	    "otpd_store_operation_duration_seconds_count{op=\"ping\"} 1",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK(has(text, want[i]));
	CHECK(!strstr(text, "op=\"idle\""));
	free(text);
}

static const struct harness_test tests[] = {
    TEST(threads_add_up),
    TEST(outcomes_are_closed),
    TEST(drivers_beyond_the_table_are_dropped),
    TEST(sms_by_calling_code),
    TEST(store_ops_histogram),
    TEST(sms_accepted_histogram),
};
HARNESS_MAIN("metrics", tests)
