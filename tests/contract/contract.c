/* contract.c - the store contract's entry point and its one list of cases.
 *
 * contract_run() keeps the runner's backend in ct_backend and runs every case
 * of CONTRACT_CASES, then the race cases when the backend can reopen a store;
 * contract_main() is a runner's main around it (temp dir, set-up, tear-down).
 * The cases are in the domain files beside this one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "contract_cases.h"

const struct contract_backend *ct_backend;

#define CT_ENTRY(name) TEST(name),
static const struct harness_test cases[] = {CONTRACT_CASES(CT_ENTRY)};
static const struct harness_test races[] = {CONTRACT_RACES(CT_ENTRY)};

void contract_run(const char *suite, const struct contract_backend *b)
{
	ct_backend = b;
	harness_run_cases(suite, cases, sizeof cases / sizeof cases[0]);
	if (b->reopen)
		harness_run_cases(suite, races, sizeof races / sizeof races[0]);
}

int contract_main(const char *suite, char *dir,
		  const struct contract_backend *b, int (*set_up)(void),
		  void (*tear_down)(void), const struct harness_test *tests,
		  size_t n)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		printf("%s: 0 passed, 1 failed\n", suite);
		return 1;
	}
	int rc = 1;
	if (!set_up || set_up() == 0) {
		contract_run(suite, b);
		rc = harness_run(suite, tests, n);
	} else {
		printf("%s: 0 passed, 1 failed\n", suite);
	}
	if (tear_down)
		tear_down();
	harness_remove_dir(dir);
	return rc;
}
