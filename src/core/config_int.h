/* config_int.h - what the files of the config share: the row of a setting,
 * the table (config.c), the value checks (config_check.c) and the text
 * forms of the table (config_text.c: --help, docs/CONFIG.md, otpd.8). Only
 * src/core/config*.c include it. */
#ifndef OTP_CORE_CONFIG_INT_H
#define OTP_CORE_CONFIG_INT_H

#include <stddef.h>

enum kind { K_STR, K_INT, K_BOOL, K_ENUM };

struct setting {
	const char *name; /* --name VALUE, --name=VALUE */
	enum kind kind;
	size_t off;	 /* of the field in struct otp_config */
	const char *def; /* default, as text, parsed like any other value */
	long min, max;	 /* K_INT: value; K_STR: length in bytes if max > 0 */
	const char *const *values; /* K_ENUM: allowed spellings, NULL-ended */
	const char *(*check)(const char *v); /* K_STR: NULL or why not */
	const char *form;	      /* K_STR: the shape shown as the range */
	const char *(*form_of)(void); /* or, if the parts know it, this */
	const char *env;
	const char *help;
};

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

extern const struct setting otp_cfg_settings[];
extern const size_t otp_cfg_nsettings;

/* The NULL-ended list as "a, b, c" into buf. */
const char *otp_cfg_join(const char *const *list, char *buf, size_t n);

/* The checks of string settings: NULL if v is well formed, else why not. */
const char *otp_cfg_check_listen(const char *v);
const char *otp_cfg_check_listen_opt(const char *v); /* or "" */
const char *otp_cfg_check_ips(const char *v);
const char *otp_cfg_check_store(const char *v);
const char *otp_cfg_check_sms(const char *v);
const char *otp_cfg_check_url(const char *v);
const char *otp_cfg_check_origins(const char *v);
const char *otp_cfg_check_test_numbers(const char *v);
const char *otp_cfg_check_token(const char *v);
const char *otp_cfg_check_codes(const char *v);
const char *otp_cfg_check_text(const char *v);
const char *otp_cfg_check_host(const char *v);
const char *otp_cfg_check_app_hash(const char *v);
const char *otp_cfg_check_fraud_allow(const char *v); /* abuse/lists.c */
const char *otp_cfg_check_caps(const char *v);	      /* abuse/lists.c */
const char *otp_cfg_check_prices(const char *v);      /* abuse/lists.c */

#endif
