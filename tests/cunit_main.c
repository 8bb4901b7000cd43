/* Shared main for every CUnit suite: each tests/test_<module>.c defines register_suites().
 * Returns the number of failed tests (CUnit's runner alone exits 0 on failure).
 * STRAND_TEST_ONLY=name[,name...] runs only the tests of those names (scripts/mutants uses it to
 * run the few tests that see a planted bug); a name that matches no test is an error. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void register_suites(void);

static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int registered(const char *name)
{
    for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
        for (CU_pTest t = s->pTest; t; t = t->pNext)
            if (!strcmp(t->pName, name)) return 1;
    return 0;
}

/* Deactivate every test not in `only`; returns how many of the listed names match no test. */
static int select_tests(const char *only)
{
    int missing = 0;
    char name[256];
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        if (!registered(name)) fprintf(stderr, "STRAND_TEST_ONLY: no test named \"%s\"\n", name), missing++;
        if (!e) break;
        p = e + 1;
    }
    for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
        int any = 0; /* a suite with no selected test is skipped whole (its setup too) */
        for (CU_pTest t = s->pTest; t; t = t->pNext) {
            int on = listed(only, t->pName);
            any |= on;
            CU_set_test_active(t, on ? CU_TRUE : CU_FALSE);
        }
        CU_set_suite_active(s, any ? CU_TRUE : CU_FALSE);
    }
    CU_set_fail_on_inactive(CU_FALSE);
    return missing;
}

int main(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    register_suites();
    const char *only = getenv("STRAND_TEST_ONLY");
    if (only && *only && select_tests(only) != 0) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned nfail_asserts = CU_get_number_of_failures();
    CU_cleanup_registry();
    if (failed == 0 && nfail_asserts != 0) failed = 1;
    return (int)failed;
}
