/* store_faults.c - the fault-injecting store decorator (store_faults.h).
 *
 * Every operation's wrapper is generated from the list in store.h: ask the
 * plan (before), call the backend, ask the plan again (after). A rule counts
 * only the calls it could fail, at its own WHEN, so each call is counted once
 * per rule. It fails calls and nothing else: it never changes an argument or
 * an answer it lets through, and knows no backend. What happens below the
 * ops table (a disk that fills, a connection that freezes) needs fault points
 * of its own inside the backends or the test helpers.
 */
#include "store/store_faults.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/text.h"
#include "store/decorator.h"

#define RULES_MAX 8
#define ANY_OP	  (-1)

enum op {
#define OP_ENUM(op, params, args) OP_##op,
	OTP_STORE_OPS(OP_ENUM)
#undef OP_ENUM
	    NOPS
};

static const char *const op_names[NOPS] = {
#define OP_NAME(op, params, args) #op,
    OTP_STORE_OPS(OP_NAME)
#undef OP_NAME
};

static const struct {
	const char *name; /* "EUNAVAIL": matched without its E */
	int err;
} errors[] = {
#define ERR_ROW(name, status, wire, msg) {#name, OTP_##name},
    OTP_ERROR_LIST(ERR_ROW)
#undef ERR_ROW
};

struct rule {
	int op; /* enum op, or ANY_OP */
	bool after;
	int err;
	long nth;	   /* 0: every call */
	atomic_long calls; /* calls it has seen */
};

struct otp_store_faults {
	struct rule r[RULES_MAX];
	size_t n;
	atomic_long fired;
};

struct faulty {
	struct otp_store_wrap w;
	struct otp_store_faults *f;
};

static int find_op(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return ANY_OP;
	for (int i = 0; i < NOPS; i++)
		if (strlen(op_names[i]) == len &&
		    strncmp(op_names[i], s, len) == 0)
			return i;
	return NOPS;
}

static int find_err(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (strlen(errors[i].name + 1) == len &&
		    strncasecmp(errors[i].name + 1, s, len) == 0)
			return errors[i].err;
	return 0;
}

/* What is wrong with a parsed rule, or NULL. */
static const char *problem(const struct rule *r, bool when_ok)
{
	if (r->op == NOPS)
		return "an unknown operation";
	if (!when_ok)
		return "a WHEN other than before or after";
	if (!r->err)
		return "an unknown error";
	if (r->nth < 0)
		return "an N that is not 1 or more";
	if (r->op == OP_outbox_claim && r->after)
		return "outbox_claim:after (its claimed bodies would leak)";
	if (r->op == OP_outbox_ack_claim && r->after)
		return "outbox_ack_claim:after (its claimed bodies would leak)";
	return NULL;
}

/* One RULE of len bytes at s: 0, or OTP_ETYPE with why in err. */
static int parse_rule(const char *s, size_t len, struct rule *r, char *err,
		      size_t errlen)
{
	const char *field[4];
	size_t flen[4];
	size_t nf = otp_text_split(s, len, ':', field, flen, 4);
	if (nf < 3) {
		snprintf(err, errlen, "'%.*s' is not OP:WHEN:ERROR[:N]",
			 (int)len, s);
		return OTP_ETYPE;
	}
	r->op = find_op(field[0], flen[0]);
	r->after = flen[1] == 5 && strncmp(field[1], "after", 5) == 0;
	r->err = find_err(field[2], flen[2]);
	r->nth = 0;
	if (nf == 4) {
		char *e;
		r->nth = strtol(field[3], &e, 10);
		if (e != field[3] + flen[3] || flen[3] == 0 || r->nth < 1)
			r->nth = -1;
	}
	bool when_ok =
	    r->after || (flen[1] == 6 && strncmp(field[1], "before", 6) == 0);
	const char *why = problem(r, when_ok);
	if (why) {
		snprintf(err, errlen, "'%.*s' has %s", (int)len, s, why);
		return OTP_ETYPE;
	}
	atomic_init(&r->calls, 0);
	return 0;
}

int otp_store_faults_new(const char *spec, struct otp_store_faults **out,
			 char *err, size_t errlen)
{
	struct otp_store_faults *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	*out = NULL;
	atomic_init(&f->fired, 0);
	for (const char *p = spec;; p++) {
		size_t len = strcspn(p, ",");
		if (f->n == RULES_MAX) {
			snprintf(err, errlen, "more than %d rules", RULES_MAX);
			goto fail;
		}
		if (parse_rule(p, len, &f->r[f->n], err, errlen) < 0)
			goto fail;
		f->n++;
		p += len;
		if (!*p)
			break;
	}
	*out = f;
	return 0;
fail:
	free(f);
	return OTP_ETYPE;
}

void otp_store_faults_free(struct otp_store_faults *f)
{
	free(f);
}

long otp_store_faults_fired(const struct otp_store_faults *f)
{
	return atomic_load(&((struct otp_store_faults *)f)->fired);
}

/* Does a rule fail this call of op at this moment? *rc gets its error. */
static bool fire(struct otp_store_faults *f, int op, bool after, int *rc)
{
	bool hit = false;
	for (size_t i = 0; i < f->n; i++) {
		struct rule *r = &f->r[i];
		if (r->after != after || (r->op != ANY_OP && r->op != op))
			continue;
		long n = atomic_fetch_add(&r->calls, 1) + 1;
		if (!hit && (r->nth == 0 || n == r->nth)) {
			hit = true;
			*rc = r->err;
		}
	}
	if (hit)
		atomic_fetch_add(&f->fired, 1);
	return hit;
}

static struct faulty *cast(struct otp_store *s)
{
	return (struct faulty *)s;
}

#define FAULTY(op, params, args)                                               \
	static int faulty_##op params                                          \
	{                                                                      \
		struct faulty *w = cast(s);                                    \
		int rc, lost;                                                  \
		if (fire(w->f, OP_##op, false, &rc))                           \
			return rc;                                             \
		s = w->w.inner;                                                \
		rc = otp_store_##op args;                                      \
		return fire(w->f, OP_##op, true, &lost) ? lost : rc;           \
	}
OTP_STORE_OPS(FAULTY)
#undef FAULTY

/* clang-format off */
#define FAULTY_INIT(op, params, args) .op = faulty_##op,
/* name, version and caps: the inner handle's, set by otp_store_faults_wrap */
static const struct otp_store_ops faulty_ops = {
    .open = otp_store_open_none,
    .close = otp_store_wrap_close,
    OTP_STORE_OPS(FAULTY_INIT)
};
#undef FAULTY_INIT
/* clang-format on */

struct otp_store *otp_store_faults_wrap(struct otp_store *inner,
					struct otp_store_faults *f)
{
	struct faulty *w = otp_store_wrap_new(sizeof *w, &faulty_ops, inner);
	w->f = f;
	return &w->w.base;
}
