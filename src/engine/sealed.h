/* sealed.h - the store with phones sealed at rest.
 *
 * A decorator over any store handle (store.h's ops list): every phone the
 * engine hands down (a code's, a session's, a verify's expected one) is
 * sealed with the server secret on its way in (engine/crypto.h), and every
 * phone the store hands back (a code's status, a verify, a session, a
 * claimed or listed message) is opened on its way out. So the engine and
 * the handlers see E.164 text, and a copy of the database holds none. A
 * phone sealed under the previous secret of a rotation opens too; one of
 * an older store (E.164 text) reads as it is until the start-up reseal
 * (otp_sealed_reseal) rewrites it under the current secret.
 */
#ifndef OTP_ENGINE_SEALED_H
#define OTP_ENGINE_SEALED_H

#include "engine/crypto.h"
#include "store/store.h"

/* Wraps inner (owned: closed with the wrapper); keys are borrowed and must
 * outlive it. Its name and caps are inner's. Matches the signature of
 * otp_store_wrap_opens's wrapper (arg: a struct otp_keyring *: cur seals
 * and opens, prev opens). */
struct otp_store *otp_sealed_wrap(struct otp_store *inner, void *keys);

/* Opens a stored phone: sealed by cur or prev, or E.164 text of an older
 * store. 0, or OTP_EINTERNAL. */
int otp_sealed_open(const struct otp_keyring *k, const char *stored,
		    char out[OTP_PHONE_MAX]);

/* Rewrites, once per secret, every stored phone not sealed by k->cur
 * (store.h's phones_reseal): an older store's E.164 text, or a seal of the
 * previous secret. On any handle (wrapped or not); *n gets how many. */
int otp_sealed_reseal(struct otp_store *s, const struct otp_keyring *k,
		      long *n);

#endif
