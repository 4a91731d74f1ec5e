/* message_test.h - what message.c exports for the unit tests only; no
 * production code includes this. */
#ifndef OTP_ENGINE_MESSAGE_TEST_H
#define OTP_ENGINE_MESSAGE_TEST_H

#include "engine/message.h"

/* The default template, no app hash: what otpd sent before templates. */
size_t otp_message_render(char *out, size_t cap, const char *code,
			  const char *app, long ttl_s, const char *domain);

#endif
