/* counters.c - the abuse decisions counted for /metrics:
 * otpd_fraud_decisions_total{rule, action, mode}. The label values are
 * closed sets: the rule table's names (and "block", "spend_cap",
 * "allow"), the actions, the modes. Action "passed" is a send a rule
 * would have stepped up that passed: solved, or on the provider API.
 * And the proof-of-work checks (pow.h): otpd_pow_checks_total{outcome}.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "abuse/internal.h"
#include "abuse/pow.h"
#include "core/slots.h"

#define SLOTS 24
#define MODES 2 /* monitor, enforce */

static const char *_Atomic names[SLOTS];
static _Atomic uint64_t counts[SLOTS][OTP_ABUSE_ACTIONS][MODES];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int slot(const char *rule)
{
	return otp_slot_of(names, SLOTS, &mu, rule);
}

void otp_abuse_count(const char *rule, enum otp_abuse_action action,
		     enum otp_abuse_mode mode)
{
	int i = slot(rule);
	if (i < 0 || mode == OTP_ABUSE_OFF)
		return;
	atomic_fetch_add_explicit(&counts[i][action][mode - 1], 1,
				  memory_order_relaxed);
}

void otp_abuse_metrics_write(FILE *f)
{
	static const char *const modes[MODES] = {"monitor", "enforce"};
	static const char *const acts[OTP_ABUSE_ACTIONS] = {"passed", "stepup",
							    "refuse", "block"};
	fputs("# HELP otpd_fraud_decisions_total Sends the SMS-pumping rules "
	      "and spend caps decided on, by rule, action and mode.\n"
	      "# TYPE otpd_fraud_decisions_total counter\n",
	      f);
	for (int i = 0; i < SLOTS; i++) {
		const char *n = atomic_load(&names[i]);
		if (!n)
			break;
		for (int a = 0; a < OTP_ABUSE_ACTIONS; a++)
			for (int m = 0; m < MODES; m++) {
				uint64_t c = atomic_load(&counts[i][a][m]);
				if (c)
					fprintf(f,
						"otpd_fraud_decisions_total{"
						"rule=\"%s\",action=\"%s\","
						"mode=\"%s\"} %llu\n",
						n, acts[a], modes[m],
						(unsigned long long)c);
			}
	}
}

static _Atomic uint64_t pow_counts[OTP_POW_OUTCOMES];

void otp_pow_count(enum otp_pow_outcome o)
{
	if ((unsigned)o < OTP_POW_OUTCOMES)
		atomic_fetch_add_explicit(&pow_counts[o], 1,
					  memory_order_relaxed);
}

void otp_pow_metrics_write(FILE *f)
{
	static const char *const names[OTP_POW_OUTCOMES] = {
#define OTP_POW_NAME_(up, low) #low,
	    OTP_POW_OUTCOME_LIST(OTP_POW_NAME_)
#undef OTP_POW_NAME_
	};
	fputs("# HELP otpd_pow_checks_total Proof-of-work solutions checked "
	      "(login API step-up), by outcome.\n"
	      "# TYPE otpd_pow_checks_total counter\n",
	      f);
	for (int i = 0; i < OTP_POW_OUTCOMES; i++)
		fprintf(f, "otpd_pow_checks_total{outcome=\"%s\"} %llu\n",
			names[i],
			(unsigned long long)atomic_load(&pow_counts[i]));
}
