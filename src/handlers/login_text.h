/* login_text.h - every word the hosted login page shows, in one table.
 *
 * A translation is one more column: add its language code to
 * OTP_LOGIN_LANGS and a string to every row. "{n}" stands for a number
 * (seconds, attempts) filled in by the page or its script. The page itself
 * (markup, choice of language) is login_page.c.
 */
#ifndef OTP_HANDLERS_LOGIN_TEXT_H
#define OTP_HANDLERS_LOGIN_TEXT_H

/* The languages, in column order; the first is the default. */
#define OTP_LOGIN_LANGS	 "en", "de"
#define OTP_LOGIN_NLANGS 2

/* X(ID, English, German) */
#define OTP_LOGIN_TEXT(X)                                                      \
	X(T_TITLE, "Sign in", "Anmelden")                                      \
	X(T_PHONE_LABEL, "Phone number", "Telefonnummer")                      \
	X(T_PHONE_HINT, "With + and the country code, e.g. +1 201 555 0123.",  \
	  "Mit + und Ländervorwahl, z. B. +49 30 1234567.")                    \
	X(T_SEND, "Send code", "Code senden")                                  \
	X(T_SENT_TO, "We sent a code by SMS to",                               \
	  "Wir haben einen Code per "                                          \
	  "SMS gesendet an")                                                   \
	X(T_CODE_LABEL, "Code from the SMS", "Code aus der SMS")               \
	X(T_VERIFY, "Sign in", "Anmelden")                                     \
	X(T_RESEND, "Send again", "Erneut senden")                             \
	X(T_RESEND_IN, "Send again in {n} s", "Erneut senden in {n} s")        \
	X(T_OTHER_NUMBER, "Use another number", "Andere Nummer verwenden")     \
	X(T_E_PHONE,                                                           \
	  "That is not a phone number we can send to. Give it with + and the " \
	  "country code.",                                                     \
	  "An diese Nummer können wir nicht senden. Bitte mit + und "         \
	  "Ländervorwahl angeben.")                                            \
	X(T_E_DENIED, "We do not send codes to this number's country.",        \
	  "In das Land dieser Nummer senden wir keine Codes.")                 \
	X(T_E_LIMITED, "Too many tries. Try again in {n} seconds.",            \
	  "Zu viele Versuche. Bitte in {n} Sekunden erneut versuchen.")        \
	X(T_E_FRAUD,                                                           \
	  "We cannot send a code to this number now. Try again later.",        \
	  "An diese Nummer können wir gerade keinen Code senden. Bitte "      \
	  "später erneut versuchen.")                                          \
	X(T_E_SPEND,                                                           \
	  "We cannot send codes for a while. Try again in an hour.",           \
	  "Wir können gerade keine Codes senden. Bitte in einer Stunde "      \
	  "erneut versuchen.")                                                 \
	X(T_E_WRONG, "That code is wrong. Attempts left: {n}.",                \
	  "Der Code ist falsch. Verbleibende Versuche: {n}.")                  \
	X(T_E_DEAD,                                                            \
	  "That code is wrong and no attempts are left. Send a new "           \
	  "code.",                                                             \
	  "Der Code ist falsch und es sind keine Versuche mehr übrig. Bitte " \
	  "einen neuen Code anfordern.")                                       \
	X(T_E_CODEFMT, "The code is digits only.",                             \
	  "Der Code besteht nur aus Ziffern.")                                 \
	X(T_E_EXPIRED,                                                         \
	  "This code has expired or was used up. Send a new one.",             \
	  "Dieser Code ist abgelaufen oder verbraucht. Bitte einen neuen "     \
	  "anfordern.")                                                        \
	X(T_E_UPSTREAM, "The SMS could not be sent. Try again in a moment.",   \
	  "Die SMS konnte nicht gesendet werden. Bitte gleich noch einmal.")   \
	X(T_E_BAD, "The form could not be read. Try again.",                   \
	  "Das Formular konnte nicht gelesen werden. Bitte noch einmal "       \
	  "versuchen.")                                                        \
	X(T_E_OTHER, "Something went wrong on our side. Try again.",           \
	  "Bei uns ist etwas schiefgegangen. Bitte noch einmal versuchen.")    \
	X(T_POW_CHECKING, "Checking your browser…",                            \
	  "Ihr Browser wird geprüft …")                                        \
	X(T_POW_NOJS,                                                          \
	  "Before we send a code, this step needs JavaScript. Turn it on and " \
	  "send again.",                                                       \
	  "Bevor wir einen Code senden, braucht dieser Schritt JavaScript. "   \
	  "Bitte aktivieren und erneut senden.")                               \
	X(T_POW_FAILED,                                                        \
	  "This browser cannot do the check we need before sending a code. "   \
	  "Try another browser.",                                              \
	  "Dieser Browser kann die nötige Prüfung vor dem Senden nicht "     \
	  "ausführen. Bitte einen anderen Browser verwenden.")

enum otp_login_text {
#define OTP_LOGIN_TEXT_ENUM_(id, en, de) id,
	OTP_LOGIN_TEXT(OTP_LOGIN_TEXT_ENUM_)
#undef OTP_LOGIN_TEXT_ENUM_
	    T_COUNT_,
	T_NONE = -1
};

#endif
