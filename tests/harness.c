/* harness.c: main() of every CUnit test program, suite registration and skips (see
 * harness.h). */
#include "harness.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];
static unsigned n_skipped;     /* tests that called ncsn_test_skip */
static unsigned n_left_out;    /* OpenMP-only tests not registered (built without OpenMP) */
static CU_pTest last_skipped;  /* a test that skips twice counts once */

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

void ncsn_test_suite(const char *name, const ncsn_test_case *cases) {
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) {
        fprintf(stderr, "cannot add suite %s: %s\n", name, CU_get_error_msg());
        exit(1);
    }
    for (const ncsn_test_case *c = cases; c->name; c++) {
        if (!c->run) {
            n_left_out++;
            continue;
        }
        if (!CU_add_test(s, c->name, c->run)) {
            fprintf(stderr, "cannot add test %s: %s\n", c->name, CU_get_error_msg());
            exit(1);
        }
    }
}

void ncsn_test_skip(const char *why) {
    printf("\n    SKIPPED: %s ", why);
    CU_pTest t = CU_get_current_test();
    if (t == NULL || t != last_skipped) n_skipped++;
    last_skipped = t;
}

int main(int argc, char **argv) {
    (void)argc;
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    ncsn_test_register();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    const char *name = strrchr(argv[0], '/');
    printf("\n%s: %u tests run, %u failed, %u skipped", name ? name + 1 : argv[0], ran,
           tests_failed, n_skipped);
    if (n_left_out)
        printf("; %u OpenMP-only test%s not registered (built without OpenMP)", n_left_out,
               n_left_out == 1 ? "" : "s");
    printf("\n");
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return (failed > 0 || ran == 0) ? 1 : 0;
}
