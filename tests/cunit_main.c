/* Shared main for every CUnit suite: each tests/test_<module>.c defines register_suites().
 * Returns the number of failed tests (CUnit's runner alone exits 0 on failure). */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <sys/stat.h>

void register_suites(void);

int main(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    register_suites();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned nfail_asserts = CU_get_number_of_failures();
    CU_cleanup_registry();
    if (failed == 0 && nfail_asserts != 0) failed = 1;
    return (int)failed;
}
