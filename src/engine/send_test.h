/* send_test.h - the send's hook for tests only; no production code sets
 * it.
 *
 * Stands in for the rules' step-up verdict (abuse.h, OTP_AA_STEPUP), so
 * that the login send's proof-of-work path (send.c) is tested without a
 * rule table: when set and it answers true for a login send that came
 * without a good proof of work, the send is answered OTP_ESTEPUP with a
 * fresh challenge, before the core runs (nothing is counted or sent).
 */
#ifndef OTP_ENGINE_SEND_TEST_H
#define OTP_ENGINE_SEND_TEST_H

#include <stdbool.h>

#include "engine/core.h"

extern bool (*otp_send_test_stepup)(const struct otp_send_core *c);

#endif
