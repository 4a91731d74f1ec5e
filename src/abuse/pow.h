/* pow.h - the proof-of-work step-up of the login API: a send at elevated
 * risk (a rule's OTP_AA_STEPUP) is answered 428 with a challenge, and goes
 * when it comes back with a solution. Self-hosted, no third party: the
 * login page's script finds the counter (Web Crypto SHA-256); a pumping
 * bot pays CPU for every SMS.
 *
 * A challenge is stateless: otpd MACs (under a subkey of the secret) its
 * difficulty, expiry, a random nonce, the session's token hash and the
 * phone, so it is bound to both and cannot be forged; the store makes a
 * solution single-use (a burst-1 limit keyed by the nonce, for as long as
 * the challenge lives).
 */
#ifndef OTP_ABUSE_POW_H
#define OTP_ABUSE_POW_H

#include <stddef.h>
#include <stdint.h>

#include "engine/crypto.h"
#include "store/store.h"

#define OTP_POW_MAX   160 /* a challenge or a solution, NUL included */
#define OTP_POW_TTL_S 120 /* seconds a challenge may be solved in */

/* A new challenge for (session, phone) at now, `bits` leading zero bits
 * wanted, into out: printable ASCII the page hands back with a counter. */
void otp_pow_challenge(const struct otp_keys *k,
		       const unsigned char session[OTP_HASH_LEN],
		       const char *e164, int bits, int64_t now,
		       char out[OTP_POW_MAX]);

/* A solution ("<challenge>.<counter>": SHA-256 of that text has the
 * challenge's leading zero bits): 0 if it is good, unexpired, bound to
 * this session and phone, made by this secret, and not used before (it is
 * used now); else OTP_ESTEPUP (or a store error). */
int otp_pow_check(const struct otp_keys *k, struct otp_store *s,
		  const unsigned char session[OTP_HASH_LEN], const char *e164,
		  const char *sol, size_t len, int64_t now);

#endif
