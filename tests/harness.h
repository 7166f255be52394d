/* harness.h: what every CUnit test program shares.
 * A test file defines ncsn_test_register(), which adds its suites; harness.c's main runs
 * them and exits non-zero when any assertion failed.
 *   NCSN_CHECK_CLOSE(a, b, tol)  |a - b| <= tol, printing both numbers when not
 *   ncsn_test_tmpdir()           a fresh directory for files the test writes */
#ifndef NCSN_TEST_HARNESS_H
#define NCSN_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>

void ncsn_test_register(void);
const char *ncsn_test_tmpdir(void);

#define NCSN_CHECK_CLOSE(a, b, tol)                                                      \
    do {                                                                                 \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                   \
        if (!(fabs(a_ - b_) <= t_))                                                      \
            fprintf(stderr, "\n  %s:%d: %s = %.10g, %s = %.10g, tolerance %.3g\n",       \
                    __FILE__, __LINE__, #a, a_, #b, b_, t_);                             \
        CU_ASSERT(fabs(a_ - b_) <= t_);                                                  \
    } while (0)

#endif
