/* fuzz_log.c - the escaping of log values (core/log.c, included so its
 * write(2) lands here): whatever bytes a value holds, a log line is one
 * line of valid JSON, and a value of valid UTF-8 without control bytes
 * reads back as it was (a line cut at its limit excepted). Input: MSG "\n" KEY
 * "\n" VALUE "\n" NUMBER. */
#include <unistd.h>

#include <jansson.h>

static ssize_t fuzz_write(int fd, const void *buf, size_t n);
#define write fuzz_write
#include "../../src/core/log.c"
#undef write

#include "fuzz.h"

static char *line;
static size_t line_len;

static ssize_t fuzz_write(int fd, const void *buf, size_t n)
{
	FUZZ_CHECK(fd == STDERR_FILENO);
	free(line);
	line = malloc(n);
	if (!line)
		abort();
	memcpy(line, buf, n);
	line_len = n;
	return (ssize_t)n;
}

/* Valid UTF-8 by jansson's own check, and no byte below 0x20. */
static bool utf8_valid(const char *v)
{
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20)
			return false;
	json_t *t = json_string(v);
	json_decref(t);
	return t != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fuzz_str(d, n), *p[4];
	fuzz_split(s, '\n', p, 4);
	line_len = 0;
	/* the fuzzed key is kept apart from the fixed ones ("k", "msg",
	 * ...): a log key is always otpd's own constant, never unique by
	 * chance; "#" (a number) stays in front */
	char key[64];
	snprintf(key, sizeof key, "%sx_%.40s", p[1][0] == '#' ? "#" : "",
		 p[1] + (p[1][0] == '#'));
	otp_log(OTP_LOG_WARN, p[0], "k", p[2], key, p[2], "#n", p[3], NULL);
	FUZZ_CHECK(line_len >= 2 && line[line_len - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', line_len - 1) == NULL);
	/* A line cut at its 2048 bytes ends in "...}\n" but is no JSON
	 * (test_log's long_line_is_cut_but_whole holds that): not checked. */
	if (line_len >= sizeof((struct line *)0)->buf) {
		free(s);
		return 0;
	}
	json_error_t je;
	json_t *o = json_loadb(line, line_len, JSON_DECODE_INT_AS_REAL, &je);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_is_string(json_object_get(o, "msg")));
	/* Short values come back as they were when they need no U+FFFD. */
	json_t *v = json_object_get(o, "k");
	FUZZ_CHECK(json_is_string(v));
	if (n < 400 && utf8_valid(p[2]))
		FUZZ_CHECK(strcmp(json_string_value(v), p[2]) == 0);
	json_decref(o);
	free(s);
	return 0;
}
