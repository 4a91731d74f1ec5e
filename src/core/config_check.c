/* config_check.c - the shape checks of string settings: addresses, lists
 * of addresses and ranges, origins, URLs, tokens, codes, texts, host
 * names. Each answers NULL, or why the value is not well formed (the loader
 * names the setting). What a value means is checked by its part. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/config_int.h"
#include "core/testnums.h"
#include "core/err.h"
#include "core/phone.h"
#include "sms/sms.h"
#include "store/store.h"

const char *otp_cfg_check_listen(const char *v)
{
	static const char why[] = "is not HOST:PORT (HOST an IPv4 address, "
				  "localhost or [IPv6]; PORT 1..65535)";
	unsigned char addr[16];
	char host[64];
	const char *h = v, *port;
	size_t hl;
	int family = AF_INET;
	long n;

	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return why;
		h = v + 1;
		hl = (size_t)(close - h);
		port = close + 2;
		family = AF_INET6;
	} else {
		const char *colon = strchr(v, ':');
		if (!colon || strchr(colon + 1, ':'))
			return why;
		hl = (size_t)(colon - v);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return why;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!(family == AF_INET && strcmp(host, "localhost") == 0) &&
	    inet_pton(family, host, addr) != 1)
		return why;
	/* digits only: strtol alone would take "+80" or " 80" */
	hl = strlen(port);
	if (hl < 1 || hl > 5 || strspn(port, "0123456789") != hl)
		return why;
	n = strtol(port, NULL, 10);
	return n >= 1 && n <= 65535 ? NULL : why;
}

const char *otp_cfg_check_listen_opt(const char *v)
{
	return v[0] ? otp_cfg_check_listen(v) : NULL;
}

/* v ("" for none) as items split at sep: NULL if ok takes each one (its
 * first byte and length; an empty item included), else why. */
static const char *each_item(const char *v, char sep,
			     bool (*ok)(const char *item, size_t n),
			     const char *why)
{
	const char seps[2] = {sep, '\0'};
	if (!*v)
		return NULL;
	for (;;) {
		size_t n = strcspn(v, seps);
		if (!ok(v, n))
			return why;
		if (!v[n])
			return NULL;
		v += n + 1;
	}
}

static bool ip_item(const char *item, size_t n)
{
	struct otp_cidr_list one;
	char e[64];
	if (n == 0 || n >= sizeof(e))
		return false;
	memcpy(e, item, n);
	e[n] = '\0';
	return otp_cidr_parse(e, &one, NULL) >= 0 && one.n == 1;
}

const char *otp_cfg_check_ips(const char *v)
{
	return each_item(v, ',', ip_item,
			 "is not a comma-separated list of IP addresses and "
			 "CIDR ranges (10.0.0.0/8)");
}

/* Which stores exist and what their URLs look like: asked of the store
 * registry, which asks the backend the scheme names. */
const char *otp_cfg_check_store(const char *v)
{
	static char why[320];
	return otp_store_check(v, why, sizeof why) == 0 ? NULL : why;
}

/* Which SMS drivers exist, and what each one's spec looks like: asked of
 * the driver table (sms.c), which asks each entry's driver. */
const char *otp_cfg_check_sms(const char *v)
{
	static char why[320];
	return otp_sms_check_list(v, why, sizeof why) == 0 ? NULL : why;
}

/* The test numbers' list or file (testnums.h). */
const char *otp_cfg_check_test_numbers(const char *v)
{
	static char why[160];
	struct otp_testnums t;
	return otp_testnums_parse(v, &t, why, sizeof why) == 0 ? NULL : why;
}

/* "" (none) or an http(s) URL without spaces or control characters. */
/* Exact origins: scheme://host[:port], no path, no '*' (an origin that
 * may read answers with the user's cookie is named, never a wildcard). */
const char *otp_cfg_check_origins(const char *v)
{
	static const char why[] = "is not a comma-separated list of origins "
				  "(https://HOST[:PORT], no path)";
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *host = NULL;
		if (n > 8 && strncmp(v, "https://", 8) == 0)
			host = v + 8;
		else if (n > 7 && strncmp(v, "http://", 7) == 0)
			host = v + 7;
		if (!host)
			return why;
		for (const char *p = host; p < v + n; p++)
			if (!(isalnum((unsigned char)*p) || *p == '.' ||
			      *p == '-' || *p == ':' || *p == '[' || *p == ']'))
				return why;
		v += n;
		if (*v == ',' && !*++v)
			return why;
	}
	return NULL;
}

const char *otp_cfg_check_url(const char *v)
{
	if (!*v)
		return NULL;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return "must start with http:// or https://";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return "may not hold spaces or control characters";
	return NULL;
}

const char *otp_cfg_check_token(const char *v)
{
	if (strspn(v, ALNUM "_-") == strlen(v))
		return NULL;
	return "may hold only letters, digits, _ and -";
}

static bool code_item(const char *item, size_t n)
{
	return n >= 1 && n <= 3 && item[0] != '0' &&
	       strspn(item, "0123456789") == n;
}

const char *otp_cfg_check_codes(const char *v)
{
	return each_item(v, ',', code_item,
			 "is not a comma-separated list of calling codes (1-3 "
			 "digits, no leading 0, e.g. 1,44)");
}

const char *otp_cfg_check_text(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return "has a control character";
	return NULL;
}

static bool label_item(const char *item, size_t n)
{
	return n >= 1 && n <= 63 && item[0] != '-' && item[n - 1] != '-' &&
	       strspn(item, ALNUM "-") == n;
}

const char *otp_cfg_check_host(const char *v)
{
	return each_item(v, '.', label_item,
			 "is not a hostname (labels of letters, digits and -, "
			 "joined by dots)");
}

const char *otp_cfg_check_app_hash(const char *v)
{
	if (!*v || (strlen(v) == 11 && strspn(v, ALNUM "+/") == 11))
		return NULL;
	return "is not 11 characters of A-Z a-z 0-9 + /";
}
