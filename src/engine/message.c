/* message.c - renders the SMS text (see message.h). */
#include "engine/message.h"

#include <stdio.h>

size_t otp_message_render(char *out, size_t cap, const char *code,
			  const char *app, long ttl_s, const char *domain)
{
	long minutes = (ttl_s + 59) / 60;
	int n;
	if (domain && domain[0])
		n = snprintf(out, cap,
			     "%s is your %s code. It expires in %ld minute%s."
			     "\n\n@%s #%s",
			     code, app, minutes, minutes == 1 ? "" : "s",
			     domain, code);
	else
		n = snprintf(out, cap,
			     "%s is your %s code. It expires in %ld minute%s.",
			     code, app, minutes, minutes == 1 ? "" : "s");
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
