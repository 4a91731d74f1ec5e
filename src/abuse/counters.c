/* counters.c - the abuse decisions counted for /metrics:
 * otpd_fraud_decisions_total{rule, action, mode}. The label values are
 * closed sets: the rule table's names (and "block", "spend_cap",
 * "allow"), the actions, the modes. Action "passed" is a send a rule
 * would have stepped up that passed: solved, or on the provider API.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "abuse/internal.h"

#define SLOTS 24
#define MODES 2 /* monitor, enforce */

static const char *_Atomic names[SLOTS];
static _Atomic uint64_t counts[SLOTS][OTP_ABUSE_ACTIONS][MODES];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int slot(const char *rule)
{
	for (int i = 0; i < SLOTS; i++) {
		const char *n = atomic_load(&names[i]);
		if (!n)
			break;
		if (strcmp(n, rule) == 0)
			return i;
	}
	int got = -1;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < SLOTS && got < 0; i++) {
		const char *n = atomic_load(&names[i]);
		if (!n) {
			atomic_store(&names[i], rule);
			got = i;
		} else if (strcmp(n, rule) == 0) {
			got = i;
		}
	}
	pthread_mutex_unlock(&mu);
	return got;
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
