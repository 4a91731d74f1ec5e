/* lists.c - the abuse module's operator lists (see lists.h): the allow
 * list, the spend caps and the price CSV, and the config checks that use
 * the same parsers. Not here: what is done with them (abuse.c, spend.c).
 */
#include "abuse/lists.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/err.h"

static int bad(char *err, size_t errlen, const char *why, const char *item,
	       size_t n)
{
	if (err && errlen)
		snprintf(err, errlen, "%.*s: %s", (int)(n > 64 ? 64 : n), item,
			 why);
	return OTP_EVALUE;
}

/* Each comma-separated item (spaces around it skipped) to fn. */
static int each(const char *text,
		int (*fn)(void *arg, const char *item, size_t n, char *err,
			  size_t el),
		void *arg, char *err, size_t errlen)
{
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && p[m - 1] == ' ')
			m--;
		if (m) {
			int rc = fn(arg, p, m, err, errlen);
			if (rc < 0)
				return rc;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool digits(const char *s, size_t n)
{
	return n > 0 && strspn(s, "0123456789") >= n;
}

static bool is_hex_id(const char *s, size_t n)
{
	return n == 16 && strspn(s, "0123456789abcdef") >= n;
}

static int allow_item(void *arg, const char *item, size_t n, char *err,
		      size_t errlen)
{
	struct otp_allow *a = arg;
	if (item[0] == '+') {
		if (n < 2 || n >= OTP_ALLOW_ITEM_MAX ||
		    !digits(item + 1, n - 1))
			return bad(err, errlen,
				   "is not an E.164 number or prefix (+ and "
				   "1-22 digits)",
				   item, n);
		if (a->nphones == OTP_ALLOW_MAX)
			return bad(err, errlen, "one too many numbers", item,
				   n);
		memcpy(a->phones[a->nphones], item, n);
		a->phones[a->nphones++][n] = '\0';
		return 0;
	}
	if (n > 4 && memcmp(item, "key:", 4) == 0) {
		if (!is_hex_id(item + 4, n - 4))
			return bad(err, errlen,
				   "is not key:ID (16 lowercase hex)", item, n);
		if (a->nkeys == OTP_ALLOW_MAX)
			return bad(err, errlen, "one too many keys", item, n);
		memcpy(a->keys[a->nkeys], item + 4, n - 4);
		a->keys[a->nkeys++][n - 4] = '\0';
		return 0;
	}
	char one[64];
	struct otp_cidr_list l;
	if (n >= sizeof one)
		return bad(err, errlen, "is not an address or range", item, n);
	memcpy(one, item, n);
	one[n] = '\0';
	if (otp_cidr_parse(one, &l, NULL) < 0 || l.n != 1)
		return bad(err, errlen,
			   "is not +NUMBER, an IP address or range, or key:ID",
			   item, n);
	if (a->ips.n == OTP_CIDR_MAX)
		return bad(err, errlen, "one too many ranges", item, n);
	a->ips.e[a->ips.n++] = l.e[0];
	return 0;
}

int otp_allow_parse(const char *text, struct otp_allow *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof *out);
	return each(text, allow_item, out, err, errlen);
}

bool otp_allow_has(const struct otp_allow *a, const char *phone, const char *ip,
		   const char *key_id)
{
	for (size_t i = 0; phone && i < a->nphones; i++)
		if (strncmp(phone, a->phones[i], strlen(a->phones[i])) == 0)
			return true;
	for (size_t i = 0; key_id && i < a->nkeys; i++)
		if (strcmp(key_id, a->keys[i]) == 0)
			return true;
	return ip && a->ips.n && otp_cidr_has(&a->ips, ip);
}

int64_t otp_money_parse(const char *s, size_t n)
{
	int64_t whole = 0, frac = 0, scale = OTP_MONEY_UNIT;
	size_t i = 0;
	bool any = false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true) {
		if (whole > INT64_MAX / 10 / OTP_MONEY_UNIT)
			return -1;
		whole = whole * 10 + (s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			any = true;
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
		}
	}
	if (!any || i != n)
		return -1;
	return whole * OTP_MONEY_UNIT + frac;
}

static bool region_ok(const char *s, size_t n)
{
	return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	       s[1] <= 'Z';
}

/* Appends region's row (its first two bytes) at v to the *n of rows:
 * false, and nothing added, when max are there already. */
static bool add_row(struct otp_money_row *rows, size_t *n, size_t max,
		    const char *region, int64_t v)
{
	if (*n == max)
		return false;
	memcpy(rows[*n].region, region, 2);
	rows[*n].region[2] = '\0';
	rows[(*n)++].micro = v;
	return true;
}

static int cap_item(void *arg, const char *item, size_t n, char *err,
		    size_t errlen)
{
	struct otp_caps *c = arg;
	const char *eq = memchr(item, '=', n);
	if (!eq) {
		int64_t v = otp_money_parse(item, n);
		if (v <= 0)
			return bad(err, errlen, "is not a positive amount",
				   item, n);
		c->all = v;
		return 0;
	}
	size_t rn = (size_t)(eq - item);
	int64_t v = otp_money_parse(eq + 1, n - rn - 1);
	if (!region_ok(item, rn) || v <= 0)
		return bad(err, errlen,
			   "is not REGION=AMOUNT (e.g. NG=5: region code in "
			   "capitals, a positive amount)",
			   item, n);
	if (!add_row(c->per, &c->n, OTP_CAPS_MAX, item, v))
		return bad(err, errlen, "one too many caps", item, n);
	return 0;
}

int otp_caps_parse(const char *text, struct otp_caps *out, char *err,
		   size_t errlen)
{
	memset(out, 0, sizeof *out);
	return each(text, cap_item, out, err, errlen);
}

static int64_t find(const struct otp_money_row *rows, size_t n,
		    const char *region)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].region, region) == 0)
			return rows[i].micro;
	return -1;
}

int64_t otp_caps_region(const struct otp_caps *c, const char *region)
{
	int64_t v = find(c->per, c->n, region);
	return v < 0 ? 0 : v;
}

int64_t otp_prices_region(const struct otp_prices *p, const char *region)
{
	int64_t v = find(p->per, p->n, region);
	return v < 0 ? p->other : v;
}

/* One "region,price" line of the CSV (line is NUL-ended, no newline). */
static int price_line(struct otp_prices *p, const char *line, long no,
		      char *err, size_t errlen)
{
	while (*line == ' ')
		line++;
	if (!*line || *line == '#')
		return 0;
	const char *comma = strchr(line, ',');
	size_t rn = comma ? (size_t)(comma - line) : 0;
	const char *pv = comma ? comma + 1 : "";
	while (*pv == ' ')
		pv++;
	size_t pn = strcspn(pv, " \r,");
	int64_t v = otp_money_parse(pv, pn);
	bool star = rn == 1 && line[0] == '*';
	if (v < 0 && no == 1)
		return 0; /* a header row */
	if (v < 0 || (!star && !region_ok(line, rn))) {
		snprintf(err, errlen,
			 "line %ld: is not REGION,PRICE (e.g. US,0.0079)", no);
		return OTP_EVALUE;
	}
	if (star) {
		p->other = v;
		return 0;
	}
	if (!add_row(p->per, &p->n, OTP_PRICES_MAX, line, v)) {
		snprintf(err, errlen, "line %ld: more than %d regions", no,
			 OTP_PRICES_MAX);
		return OTP_EVALUE;
	}
	return 0;
}

int otp_prices_load(const char *path, struct otp_prices *out, char *err,
		    size_t errlen)
{
	char line[256];
	long no = 0;
	int rc = 0;
	memset(out, 0, sizeof *out);
	out->other = OTP_MONEY_UNIT;
	if (!path || !*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return OTP_EVALUE;
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		no++;
		line[strcspn(line, "\r\n")] = '\0';
		rc = price_line(out, line, no, err, errlen);
	}
	fclose(f);
	return rc;
}

/* --- the config's checks (core/config_int.h) --- */

const char *otp_cfg_check_fraud_allow(const char *v)
{
	static _Thread_local char why[160];
	struct otp_allow a;
	return otp_allow_parse(v, &a, why, sizeof why) < 0 ? why : NULL;
}

const char *otp_cfg_check_prices(const char *v)
{
	static _Thread_local char why[160];
	struct otp_prices p;
	return otp_prices_load(v, &p, why, sizeof why) < 0 ? why : NULL;
}

const char *otp_cfg_check_caps(const char *v)
{
	static _Thread_local char why[160];
	struct otp_caps c;
	return otp_caps_parse(v, &c, why, sizeof why) < 0 ? why : NULL;
}
