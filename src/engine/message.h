/* message.h - the text of the SMS that carries a code, and its size on air.
 *
 * The text comes from a template with the placeholders {code}, {app},
 * {expires}, {minutes} and {domain} (default: OTP_MESSAGE_TEMPLATE), written on
 * one line with "\n" for a line break. After it come, when configured, a line
 * with the Android SMS Retriever app hash (11 characters), and, last, a blank
 * line and
 * "@<domain> #<code>": browsers (WebOTP) and iOS read that last line to offer
 * the code for autofill, and it must be the last one.
 *
 * It also tells how an SMS gateway will encode a text (GSM 03.38 7-bit when
 * every character is in its basic or extension table, UCS-2 otherwise) and
 * how many segments that takes. Pure; no I/O, no allocation. Sealing the text
 * and sending it live elsewhere (crypto.c, src/outbox/, src/sms/).
 */
#ifndef OTP_ENGINE_MESSAGE_H
#define OTP_ENGINE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#define OTP_MESSAGE_MAX 480 /* bytes of rendered text, NUL included */
#define OTP_MESSAGE_TEMPLATE                                                   \
	"{code} is your {app} code. It expires in {expires}."
#define OTP_APP_HASH_LEN 11

/* What a message is made of; every string is borrowed. */
struct otp_message_cfg {
	const char *tpl;    /* NULL or "": OTP_MESSAGE_TEMPLATE */
	const char *app;    /* {app} */
	long ttl_s;	    /* the time left: {expires} says it in words, never
			       more than it is ("5 minutes", "1 minute", "30
			       seconds"); {minutes} in whole minutes, rounded
			       down */
	const char *domain; /* NULL or "": no autofill line */
	const char *app_hash; /* NULL or "": no Android app hash line */
};

/* Writes the text for `code` into out (cap bytes, NUL-terminated) and
 * returns its length, or 0 if it does not fit or the template is broken
 * (otp_message_check tells why). "{minutes} minutes" (the old default)
 * reads as {expires}. The caller wipes out after use: it holds the code. */
size_t otp_message_format(const struct otp_message_cfg *c, const char *code,
			  char *out, size_t cap);

/* For start-up: 0 if the template is well formed (only the four
 * placeholders, {code} among them, "\n" and "\\" the only escapes), the app
 * hash is 11 characters of [A-Za-z0-9+/], and the whole message holds in one
 * segment with a 10-digit code; else OTP_ETYPE with the reason in err. */
int otp_message_check(const struct otp_message_cfg *c, char *err,
		      size_t errlen);

enum otp_sms_coding {
	OTP_SMS_GSM7, /* GSM 03.38: 160 septets, 153 per part when split */
	OTP_SMS_UCS2, /* UTF-16: 70 units, 67 per part when split */
};

struct otp_segments {
	enum otp_sms_coding coding;
	size_t units; /* septets (extension characters count 2) or UTF-16
			 units (characters beyond U+FFFF count 2) */
	int parts;    /* segments on air; 1 for an empty text */
};

/* Counts the segments of len bytes of UTF-8. A part never ends inside an
 * escape pair or a surrogate pair, as gateways split. 0, or OTP_EUTF8. */
int otp_message_segments(const char *text, size_t len,
			 struct otp_segments *out);

/* "gsm7" or "ucs2", for logs. */
const char *otp_sms_coding_name(enum otp_sms_coding c);

#endif
