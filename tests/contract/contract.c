/* contract.c - the store contract's entry point and its one list of cases.
 *
 * contract_run() keeps the runner's backend in ct_backend and runs every case
 * of CONTRACT_CASES, then the race cases when the backend can reopen a store.
 * The cases are in the domain files beside this one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "contract_cases.h"

const struct contract_backend *ct_backend;

#define CT_ENTRY(name) TEST(name),
static const struct harness_test cases[] = {CONTRACT_CASES(CT_ENTRY)};
static const struct harness_test races[] = {CONTRACT_RACES(CT_ENTRY)};

int contract_tmpdir(char *tmpl)
{
	if (mkdtemp(tmpl))
		return 0;
	perror("mkdtemp");
	return -1;
}

void contract_run(const char *suite, const struct contract_backend *b)
{
	ct_backend = b;
	harness_run_cases(suite, cases, sizeof cases / sizeof cases[0]);
	if (b->reopen)
		harness_run_cases(suite, races, sizeof races / sizeof races[0]);
}
