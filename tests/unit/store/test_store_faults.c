/* test_store_faults.c - the fault-injecting decorator over real SQLite files.
 *
 * First the whole store contract through a faulty handle whose plan never
 * fires (every generated wrapper passes its call through unchanged), then
 * what is the decorator's own: the spec's grammar, a failure before the
 * backend ran (nothing written, seen through a second, plain handle), after
 * it ran (written, answer lost), the k-th call of one op, the N-th call
 * overall, counts shared by the handles of one plan, the backend's name and
 * caps passed on, and otp_store_wrap_opens wrapping every open.
 */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#include "../../contract/contract.h"
#include "store/store_faults.h"

static char dir[] = "/tmp/otpd-faults-XXXXXX";
static int files;
static struct otp_store_faults *quiet; /* a plan that never fires */

static void new_url(char *url, size_t cap)
{
	snprintf(url, cap, "sqlite:%s/f-%d.db", dir, files++);
}

static int open_contract(struct otp_store **out)
{
	char url[256];
	new_url(url, sizeof url);
	int rc = otp_store_open(url, out);
	if (rc == 0)
		*out = otp_store_faults_wrap(*out, quiet);
	return rc;
}

/* A faulty handle under `spec` and a plain one on the same fresh file, a
 * code that is not issued yet, and room to read a code back. */
struct fixture {
	struct otp_store_faults *f;
	struct otp_store *faulty, *raw;
	struct otp_code_new c;
	struct otp_code_info info;
};

/* The fixture, with x->c code number n of CT_P1. */
static int fx_open(struct fixture *x, const char *spec, unsigned n)
{
	x->c = ct_make_code(n, CT_P1, CT_T0 + CT_TTL);
	char url[256], err[256];
	struct otp_store *s;
	new_url(url, sizeof url);
	if (otp_store_faults_new(spec, &x->f, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", spec, err);
		return -1;
	}
	if (otp_store_open(url, &s) < 0 || otp_store_open(url, &x->raw) < 0)
		abort();
	x->faulty = otp_store_faults_wrap(s, x->f);
	return 0;
}

static void fx_close(struct fixture *x)
{
	otp_store_close(x->faulty);
	otp_store_close(x->raw);
	otp_store_faults_free(x->f);
}

static size_t outbox_count(struct otp_store *s)
{
	struct otp_msg_info m[4];
	size_t n = 99;
	if (otp_store_outbox_list(s, -1, m, 4, &n) < 0)
		return 99;
	return n;
}

static void spec_grammar(void)
{
	static const char *const good[] = {
	    "code_issue:before:unavail",
	    "code_verify:after:internal:3",
	    "*:before:UNAVAIL:40",
	    "ping:after:busy,purge:before:notfound:1",
	    "outbox_claim:before:unavail",
	};
	static const struct {
		const char *spec, *why;
	} bad[] = {
	    {"", "is not OP:WHEN:ERROR"},
	    {"code_issue", "is not OP:WHEN:ERROR"},
	    {"code_issue:before", "is not OP:WHEN:ERROR"},
	    {"code_issue:before:unavail:1:2", "is not OP:WHEN:ERROR"},
	    {"code_issu:before:unavail", "an unknown operation"},
	    {"code_issue:during:unavail", "a WHEN other than"},
	    {"code_issue:before:nope", "an unknown error"},
	    {"code_issue:before:unavail:0", "an N that is not"},
	    {"code_issue:before:unavail:x", "an N that is not"},
	    {"code_issue:before:unavail,", "is not OP:WHEN:ERROR"},
	    {"outbox_claim:after:unavail", "outbox_claim:after"},
	    {"ping:before:unavail,ping:before:unavail,ping:before:unavail,"
	     "ping:before:unavail,ping:before:unavail,ping:before:unavail,"
	     "ping:before:unavail,ping:before:unavail,ping:before:unavail",
	     "more than 8 rules"},
	};
	struct otp_store_faults *f;
	char err[256];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		CHECK_INT(otp_store_faults_new(good[i], &f, err, sizeof err),
			  0);
		CHECK_INT(otp_store_faults_fired(f), 0);
		otp_store_faults_free(f);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		CHECK_INT(
		    otp_store_faults_new(bad[i].spec, &f, err, sizeof err),
		    OTP_ETYPE);
		CHECK(f == NULL);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "%s: %s\n", bad[i].spec, err);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
}

/* Before: the backend never saw the send. */
static void before_writes_nothing(void)
{
	struct fixture x;
	CHECK_INT(fx_open(&x, "code_issue:before:unavail", 1), 0);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), OTP_EUNAVAIL);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), OTP_EUNAVAIL);
	CHECK_INT(otp_store_code_get(x.raw, x.c.id, &x.info), OTP_ENOTFOUND);
	CHECK_INT(outbox_count(x.raw), 0);
	CHECK_INT(otp_store_faults_fired(x.f), 2);
	/* other operations go through */
	CHECK_INT(otp_store_ping(x.faulty), 0);
	CHECK_INT(otp_store_code_get(x.faulty, x.c.id, &x.info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_faults_fired(x.f), 2);
	fx_close(&x);
}

/* After: the send is committed, only its answer is lost. */
static void after_loses_the_answer(void)
{
	struct fixture x;
	CHECK_INT(fx_open(&x, "code_issue:after:internal", 2), 0);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), OTP_EINTERNAL);
	CHECK_INT(otp_store_code_get(x.raw, x.c.id, &x.info), 0);
	CHECK_INT(x.info.state, OTP_CODE_PENDING);
	CHECK_INT(outbox_count(x.raw), 1);
	fx_close(&x);
}

/* The 2nd verify fails after the backend counted it; the 1st and 3rd
 * answer as usual. */
static void kth_call_of_an_op(void)
{
	struct fixture x;
	struct otp_verify_out out;
	CHECK_INT(fx_open(&x, "code_verify:after:internal:2", 3), 0);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), 0);
	struct otp_verify_in wrong = ct_make_try(x.c.id, CT_WRONG);
	CHECK_INT(ct_verify(x.faulty, &wrong, CT_T0 + 1, &out),
		  OTP_VERIFY_WRONG);
	CHECK_INT(otp_store_code_verify(x.faulty, &wrong, CT_T0 + 2, &out),
		  OTP_EINTERNAL);
	CHECK_INT(otp_store_code_get(x.raw, x.c.id, &x.info), 0);
	CHECK_INT(x.info.attempts_left, 3); /* both tries counted */
	CHECK_INT(ct_verify(x.faulty, &wrong, CT_T0 + 3, &out),
		  OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 2);
	CHECK_INT(otp_store_faults_fired(x.f), 1);
	fx_close(&x);
}

/* "*" counts every call: only the 3rd one, whatever it is, fails. */
static void nth_call_overall(void)
{
	struct fixture x;
	CHECK_INT(fx_open(&x, "*:before:unavail:3", 4), 0);
	CHECK_INT(otp_store_ping(x.faulty), 0);
	CHECK_INT(otp_store_code_get(x.faulty, x.c.id, &x.info), OTP_ENOTFOUND);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), OTP_EUNAVAIL);
	CHECK_INT(otp_store_code_get(x.raw, x.c.id, &x.info), OTP_ENOTFOUND);
	CHECK_INT(ct_issue(x.faulty, &x.c, NULL, CT_T0), 0);
	CHECK_INT(otp_store_ping(x.faulty), 0);
	CHECK_INT(otp_store_faults_fired(x.f), 1);
	fx_close(&x);
}

/* Two handles of one plan count together, as otpd's threads do; each
 * reports its backend's name and caps (the session cache needs them). */
static void one_plan_many_handles(void)
{
	struct fixture x;
	char url[256];
	struct otp_store *s;
	CHECK_INT(fx_open(&x, "ping:before:gone:2", 1), 0);
	new_url(url, sizeof url);
	CHECK_INT(otp_store_open(url, &s), 0);
	struct otp_store *other = otp_store_faults_wrap(s, x.f);
	CHECK_STR(other->ops->name, "sqlite");
	CHECK_INT(other->ops->caps, x.raw->ops->caps);
	CHECK_INT(otp_store_ping(x.faulty), 0);
	CHECK_INT(otp_store_ping(other), OTP_EGONE);
	CHECK_INT(otp_store_ping(x.faulty), 0);
	otp_store_close(other);
	fx_close(&x);
}

static struct otp_store *wrap_open(struct otp_store *s, void *arg)
{
	return otp_store_faults_wrap(s, arg);
}

/* otp_store_wrap_opens: every later open comes back faulty, until it is
 * removed. */
static void every_open_wrapped(void)
{
	struct otp_store_faults *f;
	struct otp_store *s;
	char url[256], err[128];
	CHECK_INT(
	    otp_store_faults_new("ping:before:unavail", &f, err, sizeof err),
	    0);
	new_url(url, sizeof url);
	otp_store_wrap_opens(wrap_open, f);
	CHECK_INT(otp_store_open(url, &s), 0);
	otp_store_wrap_opens(NULL, NULL);
	CHECK_INT(otp_store_ping(s), OTP_EUNAVAIL);
	otp_store_close(s);
	CHECK_INT(otp_store_open(url, &s), 0);
	CHECK_INT(otp_store_ping(s), 0);
	otp_store_close(s);
	otp_store_faults_free(f);
}

/* clang-format off */
static const struct harness_test tests[] = {
	TEST(spec_grammar),
	TEST(before_writes_nothing),
	TEST(after_loses_the_answer),
	TEST(kth_call_of_an_op),
	TEST(nth_call_overall),
	TEST(one_plan_many_handles),
	TEST(every_open_wrapped),
};
/* clang-format on */

/* A plan that never fires: the contract never purges 10^9 times. */
static int make_quiet(void)
{
	char err[128];
	int rc = otp_store_faults_new("purge:before:internal:1000000000",
				      &quiet, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "set-up: %s\n", err);
	return rc;
}

static void free_quiet(void)
{
	otp_store_faults_free(quiet);
}

static const struct contract_backend backend = {open_contract, NULL, NULL,
						NULL};
CONTRACT_MAIN("store_faults", dir, &backend, make_quiet, free_quiet, tests)
