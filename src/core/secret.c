/* secret.c - loads or creates the server secret (see secret.h). */
#include "core/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

static int from_text(const char *s, size_t len, unsigned char *out)
{
	size_t bin_len;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len == 2 * OTP_SECRET_BYTES &&
	    sodium_hex2bin(out, OTP_SECRET_BYTES, s, len, NULL, &bin_len,
			   NULL) == 0 &&
	    bin_len == OTP_SECRET_BYTES)
		return 0;
	if (len < OTP_SECRET_BYTES)
		return OTP_ETYPE;
	crypto_generichash(out, OTP_SECRET_BYTES, (const unsigned char *)s, len,
			   NULL, 0);
	return 0;
}

static int read_file(const char *path, unsigned char *out, char *err,
		     size_t errlen)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "secret file %s: %s", path,
			 strerror(errno));
		return OTP_ETYPE;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	int rc = OTP_ETYPE;
	if (n == OTP_SECRET_BYTES) {
		memcpy(out, buf, OTP_SECRET_BYTES);
		rc = 0;
	} else if (n > 0) {
		rc = from_text(buf, (size_t)n, out);
	}
	sodium_memzero(buf, sizeof buf);
	if (rc < 0)
		snprintf(err, errlen,
			 "secret file %s: want 32 bytes or 64 hex digits",
			 path);
	return rc;
}

static int create_file(const char *path, unsigned char *out, char *err,
		       size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create secret file %s: %s", path,
			 strerror(errno));
		return OTP_ETYPE;
	}
	randombytes_buf(out, OTP_SECRET_BYTES);
	bool ok = write(fd, out, OTP_SECRET_BYTES) == OTP_SECRET_BYTES &&
		  fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		snprintf(err, errlen, "cannot write secret file %s", path);
		return OTP_ETYPE;
	}
	return 0;
}

int otp_secret_load(const char *value, const char *file, const char *fallback,
		    unsigned char **secret, bool *created, char *err,
		    size_t errlen)
{
	unsigned char *s = sodium_malloc(OTP_SECRET_BYTES);
	int rc;
	if (!s)
		abort();
	*created = false;
	if (value && value[0]) {
		rc = from_text(value, strlen(value), s);
		if (rc < 0)
			snprintf(err, errlen,
				 "OTPD_SECRET: want 64 hex digits or at "
				 "least 32 characters");
	} else if (file && file[0]) {
		rc = read_file(file, s, err, errlen);
	} else if (!fallback) {
		sodium_free(s); /* none given, and none to make */
		*secret = NULL;
		return 0;
	} else if (access(fallback, F_OK) == 0) {
		/* otpd's own file: made 0600 again if a copy loosened it */
		rc = OTP_ETYPE;
		if (chmod(fallback, 0600) != 0)
			snprintf(err, errlen, "cannot chmod 0600 %s: %s",
				 fallback, strerror(errno));
		else
			rc = read_file(fallback, s, err, errlen);
	} else {
		rc = create_file(fallback, s, err, errlen);
		*created = rc == 0;
	}
	if (rc < 0) {
		sodium_free(s);
		return rc;
	}
	*secret = s;
	return 0;
}

void otp_secret_free(unsigned char *secret)
{
	sodium_free(secret);
}
