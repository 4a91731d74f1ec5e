/* fuzz_dlr.c - Kannel's delivery reports: the query values of
 * GET /hooks/kannel/dlr?id=ID&token=TOKEN&status=TYPE as the handler reads
 * them (parse_num of handlers/hooks.c, included for it) and the engine's
 * check (otp_engine_dlr_kannel) on a store that only records reports.
 * Input: ID "\n" TOKEN "\n" STATUS; a TOKEN of "good" is replaced by the
 * true token for the id, so the fuzzer gets past the MAC. A report touches
 * the store only with the true token and a final status. */
#include "../../src/handlers/hooks.c"

#include "engine/crypto.h"
#include "engine/engine.h"
#include "fuzz.h"

static int reports;

static int report(struct otp_store *s, int64_t id, enum otp_msg_state st,
		  int64_t now)
{
	(void)s;
	(void)now;
	FUZZ_CHECK(id > 0);
	FUZZ_CHECK(st == OTP_MSG_DELIVERED || st == OTP_MSG_UNDELIVERED);
	reports++;
	return 0;
}

static const struct otp_store_ops ops = {.name = "fuzz",
					 .outbox_report = report};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_engine e;
	static struct otp_store store = {.ops = &ops};
	if (!e.keys) {
		static const unsigned char secret[OTP_SECRET_LEN] = {7};
		FUZZ_CHECK(otp_crypto_init() == 0);
		e.keys = otp_keys_new(secret);
	}
	char *s = fuzz_str(d, n), *p[3], good[OTP_DLR_TOKEN_LEN + 1];
	fuzz_split(s, '\n', p, 3);
	long long id = 0, type = 0;
	bool id_ok = parse_num(p[0], 1, INT64_MAX, &id);
	bool type_ok = parse_num(p[2], 0, 1 << 30, &type);
	if (id_ok)
		FUZZ_CHECK(id >= 1 && p[0][0] >= '0' && p[0][0] <= '9');
	if (type_ok)
		FUZZ_CHECK(type >= 0 && type <= 1 << 30);
	if (!id_ok || !type_ok) {
		free(s);
		return 0;
	}
	const char *token = p[1];
	bool real = strcmp(token, "good") == 0;
	if (real) {
		otp_dlr_token(e.keys, id, good);
		token = good;
	}
	int before = reports;
	bool recorded = true;
	int rc = otp_engine_dlr_kannel(&e, &store, id, token, (int)type, 0,
				       &recorded);
	bool final = type == OTP_KANNEL_DELIVERED ||
		     type == OTP_KANNEL_UNDELIVERED ||
		     type == OTP_KANNEL_SMSC_NACK;
	if (!real && strlen(token) != OTP_DLR_TOKEN_LEN)
		FUZZ_CHECK(rc == OTP_EUNAUTH);
	FUZZ_CHECK(recorded == (rc == 0 && reports > before));
	FUZZ_CHECK((reports > before) == (rc == 0 && recorded));
	if (reports > before)
		FUZZ_CHECK(final &&
			   (real || otp_dlr_token_ok(e.keys, id, token)));
	free(s);
	return 0;
}
