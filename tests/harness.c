/* harness.c: main() of every CUnit test program (see harness.h). */
#include "harness.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

const char *ncsn_test_tmpdir(void) {
    if (!tmpdir[0]) {
        strcpy(tmpdir, "/tmp/ncsn-test-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tmpdir;
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    ncsn_test_register();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return (failed > 0 || ran == 0) ? 1 : 0;
}
