/* harness.h: what every CUnit test program shares.
 * A test file defines ncsn_test_register(), which adds its suites (tables of tests) with
 * ncsn_test_suite; harness.c's main runs them, prints a summary line (tests run, failed,
 * skipped, and the OpenMP-only tests left out of a build without OpenMP) and exits non-zero
 * when any assertion failed.
 *   NCSN_CHECK_CLOSE(a, b, tol)  |a - b| <= tol, printing both numbers when not
 *   ncsn_test_tmpdir()           a fresh directory for files the test writes
 *   ncsn_test_skip(why)          the running test cannot check anything here: says why and
 *                                is counted as skipped (the test returns after it) */
#ifndef NCSN_TEST_HARNESS_H
#define NCSN_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>

/* One test of a suite's table; the table ends with {NULL}. */
typedef struct {
    const char *name;
    CU_TestFunc run; /* NULL: an OpenMP-only test in a build without OpenMP */
} ncsn_test_case;

/* {"name", NCSN_OPENMP_ONLY(test)}: a test that compares thread counts. Without OpenMP
 * there is nothing to compare: the harness leaves it out and counts it as left out. */
#ifdef _OPENMP
#define NCSN_OPENMP_ONLY(test) (test)
#else
#define NCSN_OPENMP_ONLY(test) (0 ? (test) : NULL)
#endif

void ncsn_test_register(void);
void ncsn_test_suite(const char *name, const ncsn_test_case *cases);
const char *ncsn_test_tmpdir(void);
void ncsn_test_skip(const char *why);

#define NCSN_CHECK_CLOSE(a, b, tol)                                                      \
    do {                                                                                 \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                   \
        if (!(fabs(a_ - b_) <= t_))                                                      \
            fprintf(stderr, "\n  %s:%d: %s = %.10g, %s = %.10g, tolerance %.3g\n",       \
                    __FILE__, __LINE__, #a, a_, #b, b_, t_);                             \
        CU_ASSERT(fabs(a_ - b_) <= t_);                                                  \
    } while (0)

#endif
