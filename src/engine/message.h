/* message.h - the text of the SMS that carries a code.
 *
 * "<code> is your <app> code. It expires in <n> minutes." and, when a domain
 * is configured, a last line "@<domain> #<code>" that browsers (WebOTP) and
 * iOS read to offer the code for autofill. Pure; no I/O.
 */
#ifndef OTP_ENGINE_MESSAGE_H
#define OTP_ENGINE_MESSAGE_H

#include <stddef.h>

#define OTP_MESSAGE_MAX 480

/* Writes the text into out (cap bytes, NUL-terminated). Returns its length,
 * or 0 if it does not fit. The caller wipes out after use. */
size_t otp_message_render(char *out, size_t cap, const char *code,
			  const char *app, long ttl_s, const char *domain);

#endif
