/* sms_file.c - appends each message as one JSON line to a file.
 *
 * The sink black-box tests read codes from: {"to","body","request_id","at"}
 * per line, "at" in ISO-8601 UTC from the message's `now`. The file is opened
 * on every send, so a path that cannot be opened yet (its directory is made
 * later) only delays delivery: the send says RETRY and the outbox tries
 * again. Each line goes out in one write(2) on an O_APPEND descriptor and is
 * fsync'd before SENT is returned. Rotation and locking are not done here.
 */
#include "sms/sms.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/err.h"

extern const struct otp_sms_ops otp_sms_file_ops;

struct file_sms {
	struct otp_sms base; /* first: the driver handle is a file_sms */
	char *path;
};

static int file_open(const char *arg, const struct otp_sms_env *env,
		     struct otp_sms **out, char *err, size_t errlen)
{
	(void)env;
	if (arg[0] == '\0') {
		snprintf(err, errlen, "file driver needs a path (file:PATH)");
		return OTP_ETYPE;
	}
	struct file_sms *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->path = strdup(arg);
	if (!f->path)
		abort();
	f->base.ops = &otp_sms_file_ops;
	*out = &f->base;
	return 0;
}

/* The JSON line, newline included, in malloc'd memory; *len its length. */
static char *render(const struct otp_sms_msg *m, size_t *len)
{
	char at[OTP_ISO8601_LEN];
	otp_clock_iso8601(m->now_ms, at);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "to", m->to, "body",
			      m->body, "request_id", m->request_id, "at", at);
	if (!o)
		return NULL; /* not UTF-8: jansson refuses it */
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		abort();
	size_t n = strlen(s);
	char *line = malloc(n + 2);
	if (!line)
		abort();
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	sodium_memzero(s, n);
	free(s);
	*len = n + 1;
	return line;
}

static enum otp_sms_result file_send(struct otp_sms *d,
				     const struct otp_sms_msg *m, char *err,
				     size_t errlen)
{
	struct file_sms *f = (struct file_sms *)d;
	size_t len;
	char *line = render(m, &len);
	if (!line) {
		snprintf(err, errlen, "file: message is not valid UTF-8");
		return OTP_SMS_FAILED;
	}
	enum otp_sms_result res = OTP_SMS_SENT;
	int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "open: %m");
		res = OTP_SMS_RETRY;
		goto out;
	}
	ssize_t w = write(fd, line, len);
	if (w < 0) {
		snprintf(err, errlen, "write: %m");
		res = OTP_SMS_RETRY;
	} else if ((size_t)w != len) {
		snprintf(err, errlen, "write: short write (%zd of %zu bytes)",
			 w, len);
		res = OTP_SMS_RETRY;
	} else if (fsync(fd) < 0) {
		snprintf(err, errlen, "fsync: %m");
		res = OTP_SMS_RETRY;
	}
	close(fd);
out:
	sodium_memzero(line, len);
	free(line);
	return res;
}

static void file_close(struct otp_sms *d)
{
	struct file_sms *f = (struct file_sms *)d;
	free(f->path);
	free(f);
}

OTP_SMS_OPS(file, "file:", "file:PATH", otp_sms_check_arg, 0, file_open,
	    file_close);
