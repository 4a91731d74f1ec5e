/* render.c - what otpctl prints for a person: each command's reply data
 * (ctl.h) as lines and tables, one function per command in one table.
 * The tab-separated lines of key list and outbox list are as they were
 * before the admin socket (scripts read them); --json prints the data
 * itself instead (otpctl.c). */
#include "ctl/render.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"

static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* A time in ms as ISO 8601, or "-" for 0. */
static const char *when(json_t *o, const char *k, char out[OTP_ISO8601_LEN])
{
	int64_t ms = num(o, k);
	if (!ms)
		return "-";
	otp_clock_iso8601(ms, out);
	return out;
}

static void key_create(json_t *d, FILE *f)
{
	fprintf(f, "%s\n", str(d, "key"));
	fprintf(stderr, "created key %s (%s); it is shown only now\n",
		str(d, "id"), str(d, "name"));
}

static void key_list(json_t *d, FILE *f)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(d, "keys"), i, k)
	{
		char c[OTP_ISO8601_LEN];
		fprintf(f, "%s\t%s\t%s\t%s\n", str(k, "id"), str(k, "name"),
			when(k, "created_ms", c), str(k, "state"));
	}
}

static void key_revoke(json_t *d, FILE *f)
{
	fprintf(f, "revoked %s\n", str(d, "revoked"));
}

static void message(json_t *m, FILE *f)
{
	char u[OTP_ISO8601_LEN], n[OTP_ISO8601_LEN];
	const char *e = str(m, "error");
	fprintf(f, "%lld\t%s\t%s\tdriver=%s\ttries=%lld\t%s\t%s\t%s\t%s\n",
		num(m, "id"), str(m, "request_id"), str(m, "state"),
		str(m, "driver"), num(m, "tries"), str(m, "to"),
		when(m, "updated_ms", u), when(m, "next_ms", n),
		e[0] ? e : "-");
}

static void messages(json_t *d, FILE *f)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(d, "messages"), i, m) message(m, f);
}

static void retry(json_t *d, FILE *f)
{
	if (json_object_get(d, "id")) { /* one message: its id */
		fprintf(f, "requeued %lld\n", num(d, "id"));
		return;
	}
	fprintf(f, "requeued %lld", num(d, "requeued"));
	if (num(d, "left"))
		fprintf(f,
			"; %lld left (their codes expired, or no longer "
			"failed)",
			num(d, "left"));
	fputc('\n', f);
}

static void session_revoke(json_t *d, FILE *f)
{
	fprintf(f, "revoked %lld session%s of %s\n", num(d, "revoked"),
		num(d, "revoked") == 1 ? "" : "s", str(d, "phone"));
}

static void phone_show(json_t *d, FILE *f)
{
	json_t *l = json_object_get(d, "limit");
	fprintf(f, "phone\t%s\n", str(d, "phone"));
	if (json_is_true(json_object_get(l, "limited")) && num(l, "left"))
		fprintf(f, "limit\t%lld of %lld sends an hour left\n",
			num(l, "left"), num(l, "per_hour"));
	else if (json_is_true(json_object_get(l, "limited")))
		fprintf(f,
			"limit\tnone of %lld sends an hour left; next in "
			"%lld s\n",
			num(l, "per_hour"),
			(num(l, "retry_after_ms") + 999) / 1000);
	else
		fprintf(f, "limit\tnone (--limit-phone 0)\n");
	size_t i;
	json_t *m;
	fprintf(f, "last sends (newest first):\n");
	fprintf(f, "  id\tsent\tmessage\tcode\tdriver\ttries\n");
	json_array_foreach(json_object_get(d, "sends"), i, m)
	{
		char c[OTP_ISO8601_LEN];
		fprintf(f, "  %lld\t%s\t%s\t%s\t%s\t%lld\n", num(m, "id"),
			when(m, "created_ms", c), str(m, "state"),
			json_object_get(m, "code") ? str(m, "code") : "?",
			str(m, "driver"), num(m, "tries"));
	}
}

static void percent(json_t *o, FILE *f)
{
	json_t *c = json_object_get(o, "conversion");
	if (json_is_number(c))
		fprintf(f, "%.0f%%", 100 * json_number_value(c));
	else
		fputc('-', f);
}

static void stats(json_t *d, FILE *f)
{
	const char *k;
	json_t *v, *w;
	fprintf(f, "outbox:");
	json_object_foreach(json_object_get(d, "outbox"), k, v)
	    fprintf(f, " %s %lld", k, (long long)json_integer_value(v));
	fprintf(f, "\ndead letters: %lld\n", num(d, "dead_letters"));
	fprintf(f, "window\tsends\tverified\tconversion\tby country\n");
	json_object_foreach(json_object_get(d, "windows"), k, w)
	{
		fprintf(f, "%s\t%lld\t%lld\t", k, num(w, "sends"),
			num(w, "verified"));
		percent(w, f);
		const char *cc;
		json_t *c;
		fputc('\t', f);
		json_object_foreach(json_object_get(w, "by_country"), cc, c)
		{
			fprintf(f, " +%s: %lld/%lld ", cc, num(c, "verified"),
				num(c, "sends"));
			percent(c, f);
		}
		fputc('\n', f);
	}
	json_t *p = json_object_get(d, "since_start");
	json_object_foreach(p, k, w)
	{
		fprintf(f, "%s since this otpd started:", k);
		json_object_foreach(w, k, v)
		    fprintf(f, " %s %lld", k, (long long)json_integer_value(v));
		fputc('\n', f);
	}
	if (json_is_true(json_object_get(d, "truncated")))
		fprintf(f,
			"(the newest messages only: the store holds more)\n");
}

static void purge(json_t *d, FILE *f)
{
	fprintf(f, "removed %lld\n", num(d, "removed"));
}

static void backup(json_t *d, FILE *f)
{
	fprintf(f, "backed up to %s\n", str(d, "file"));
	fprintf(stderr, "keep otpd's secret with it: its phones and key "
			"hashes are sealed with that secret\n");
}

static void fraud_list(json_t *d, FILE *f)
{
	size_t i;
	json_t *b;
	fprintf(f, "key\tkind\trule\tuntil\tstrikes\tstate\n");
	json_array_foreach(json_object_get(d, "entries"), i, b)
	{
		char u[OTP_ISO8601_LEN];
		fprintf(f, "%s\t%s\t%s\t%s\t%lld\t%s\n", str(b, "key"),
			str(b, "kind"), str(b, "rule"), when(b, "until_ms", u),
			num(b, "strikes"),
			json_is_true(json_object_get(b, "live")) ? "live"
								 : "ended");
	}
}

static void fraud_unblock(json_t *d, FILE *f)
{
	fprintf(f, "removed %s\n", str(d, "removed"));
}

static void fraud_allow(json_t *d, FILE *f)
{
	fprintf(f, "allowed %s: the rules never refuse it\n",
		str(d, "allowed"));
}

static double amount(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* "12.5 of 50" or "12.5 (no cap)". */
static void against(FILE *f, double v, double cap)
{
	if (cap > 0)
		fprintf(f, "%g of %g", v, cap);
	else
		fprintf(f, "%g (no cap)", v);
}

static void spend(json_t *d, FILE *f)
{
	size_t i;
	json_t *r;
	fprintf(f, "region\tlast hour\tlast 24 h\n");
	fprintf(f, "all\t");
	against(f, amount(d, "hour"), amount(d, "cap_hour"));
	fputc('\t', f);
	against(f, amount(d, "day"), amount(d, "cap_day"));
	fputc('\n', f);
	json_array_foreach(json_object_get(d, "regions"), i, r)
	{
		fprintf(f, "%s\t", str(r, "region"));
		against(f, amount(r, "hour"), amount(r, "cap_hour"));
		fputc('\t', f);
		against(f, amount(r, "day"), amount(r, "cap_day"));
		fputc('\n', f);
	}
}

static const struct {
	const char *cmd;
	void (*fn)(json_t *data, FILE *f);
} renders[] = {
    {"key.create", key_create},
    {"key.list", key_list},
    {"key.revoke", key_revoke},
    {"outbox.list", messages},
    {"outbox.dead", messages},
    {"outbox.retry", retry},
    {"session.revoke", session_revoke},
    {"phone.show", phone_show},
    {"stats", stats},
    {"purge", purge},
    {"backup", backup},
    {"fraud.list", fraud_list},
    {"fraud.unblock", fraud_unblock},
    {"fraud.allow", fraud_allow},
    {"spend", spend},
};

void otp_ctl_render(const char *cmd, json_t *data, FILE *f)
{
	for (size_t i = 0; i < sizeof renders / sizeof renders[0]; i++)
		if (strcmp(cmd, renders[i].cmd) == 0) {
			renders[i].fn(data, f);
			return;
		}
}
