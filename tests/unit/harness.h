/* harness.h - a small unit-test harness.
 *
 * Each test is a function registered in a table; the runner prints one line
 * per failure and ends with "N passed, N failed". A test fails on the first
 * CHECK that does not hold. Include it once per test program; files linked
 * into a program beside its runner (tests/contract/) define HARNESS_EXTERN
 * first, so that they count into the runner's totals.
 */
#ifndef OTP_TEST_HARNESS_H
#define OTP_TEST_HARNESS_H

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The running test's failure flag and the program's totals. */
#ifdef HARNESS_EXTERN
extern int harness_failed_, harness_passed_n_, harness_failed_n_;
#else
int harness_failed_, harness_passed_n_, harness_failed_n_;
#endif

/* Fails the running test when bad holds: prints the location and the
 * rest (a format and its arguments), and returns from the test. */
#define HARNESS_FAIL_IF(bad, fmt, ...)                                         \
	do {                                                                   \
		if (bad) {                                                     \
			fprintf(stderr, "%s:%d: " fmt "\n", __FILE__,          \
				__LINE__, __VA_ARGS__);                        \
			harness_failed_ = 1;                                   \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK(cond) HARNESS_FAIL_IF(!(cond), "CHECK(%s) failed", #cond)

#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		HARNESS_FAIL_IF(a_ != b_, "%s == %lld, expected %lld", #a, a_, \
				b_);                                           \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		HARNESS_FAIL_IF(strcmp(a_, b_) != 0,                           \
				"%s == \"%s\", expected \"%s\"", #a, a_, b_);  \
	} while (0)

struct harness_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(name)                                                             \
	{                                                                      \
#name, name                                                    \
	}

/* Removes a test's temp directory and the plain files in it: 0, or -1
 * when the directory is still there (or could not be read). */
static inline int harness_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* Runs n tests, adding to the totals without printing them. */
static inline void harness_run_cases(const char *suite,
				     const struct harness_test *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		harness_failed_ = 0;
		t[i].fn();
		if (harness_failed_) {
			fprintf(stderr, "FAIL %s.%s\n", suite, t[i].name);
			harness_failed_n_++;
		} else {
			harness_passed_n_++;
		}
	}
}

/* Runs n tests, then prints the totals of every test run so far. */
static inline int harness_run(const char *suite, const struct harness_test *t,
			      size_t n)
{
	harness_run_cases(suite, t, n);
	printf("%s: %d passed, %d failed\n", suite, harness_passed_n_,
	       harness_failed_n_);
	return harness_failed_n_ ? 1 : 0;
}

/* Runs n tests in a fresh temp directory: mkdtemp(dir) (a template,
 * rewritten in place), set_up (NULL: none; non-zero fails the run with no
 * test run), the tests, tear_down (NULL: none), then removes the directory;
 * a directory left behind fails the run. Its last line: the totals. */
static inline int harness_run_in_dir(const char *suite,
				     const struct harness_test *t, size_t n,
				     char *dir, int (*set_up)(void),
				     void (*tear_down)(void))
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		printf("%s: 0 passed, 1 failed\n", suite);
		return 1;
	}
	int rc = 1;
	if (!set_up || set_up() == 0)
		rc = harness_run(suite, t, n);
	else
		printf("%s: 0 passed, 1 failed\n", suite);
	if (tear_down)
		tear_down();
	if (harness_remove_dir(dir) != 0) {
		fprintf(stderr, "%s: %s is left behind\n", suite, dir);
		rc = 1;
	}
	return rc;
}

#define HARNESS_MAIN(suite, tests)                                             \
	int main(void)                                                         \
	{                                                                      \
		return harness_run(suite, tests,                               \
				   sizeof(tests) / sizeof((tests)[0]));        \
	}

#endif
