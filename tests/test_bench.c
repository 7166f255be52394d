/* test_bench.c: the arithmetic behind `ncsn bench`'s scaling (cli/bench.h, bench_scaling_of).
 *   the median of the rounds' ratios, over all rounds and over the whole ones: a round is
 *     whole for training (for sampling) where both rows' training (sampling) steal is at
 *     most the limit, the limit itself included; training and sampling judged apart
 *   a steal not known anywhere: no whole figure and no count; none whole: a count of 0
 * The command's output, its JSON and the steal it reads are tests/cli/bench.sh's. */
#include <string.h>

#include "../src/cli/bench.h"
#include "harness.h"

/* Rows of 5 rounds: a (1 thread) and b (2 threads), times, rates and steals given. */
static void rows_of(bench_row *a, bench_row *b, const double *a_us, const double *b_us,
                    const double *a_eps, const double *b_eps, const double *a_ts,
                    const double *b_ts, const double *a_ss, const double *b_ss) {
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    a->threads = 1, b->threads = 2;
    a->n_pairs = b->n_pairs = 5;
    a->train_us = b->train_us = 1e30;
    for (int i = 0; i < 5; i++) {
        a->train_us_each[i] = a_us[i], b->train_us_each[i] = b_us[i];
        a->sample_eps_each[i] = a_eps[i], b->sample_eps_each[i] = b_eps[i];
        a->train_steal_each[i] = a_ts[i], b->train_steal_each[i] = b_ts[i];
        a->sample_steal_each[i] = a_ss[i], b->sample_steal_each[i] = b_ss[i];
        if (a_us[i] < a->train_us) a->train_us = a_us[i];
        if (b_us[i] < b->train_us) b->train_us = b_us[i];
        if (a_eps[i] > a->sample_eps) a->sample_eps = a_eps[i];
        if (b_eps[i] > b->sample_eps) b->sample_eps = b_eps[i];
    }
}

static const double a_us[5] = {100, 100, 100, 100, 100}, b_us[5] = {50, 80, 40, 60, 100};
static const double a_eps[5] = {10, 10, 10, 10, 10}, b_eps[5] = {20, 15, 19, 18, 12};
static const double none[5] = {0, 0, 0, 0, 0};

static void test_whole_rounds(void) {
    /* training ratios 2, 1.25, 2.5, 1.667, 1; whole: rounds 0, 1 (a at the limit) and 4
     * (round 2: a over it, round 3: b over it). Sampling ratios 2, 1.5, 1.9, 1.8, 1.2;
     * whole: all but round 0 (b over the limit there, in sampling only) */
    const double a_ts[5] = {0, BENCH_STEAL_LIMIT, 0.2, 0, 0};
    const double b_ts[5] = {0, 0, 0, BENCH_STEAL_LIMIT + 0.01, 0.01};
    const double b_ss[5] = {0.3, 0, 0, 0, 0};
    bench_row a, b;
    rows_of(&a, &b, a_us, b_us, a_eps, b_eps, a_ts, b_ts, none, b_ss);
    const bench_scaling s = bench_scaling_of(&a, &b);
    NCSN_CHECK_CLOSE(s.train, 100.0 / 60, 1e-12);
    CU_ASSERT_EQUAL(s.n_whole_train, 3);
    NCSN_CHECK_CLOSE(s.train_whole, 1.25, 1e-12);
    NCSN_CHECK_CLOSE(s.sample, 1.8, 1e-12);
    CU_ASSERT_EQUAL(s.n_whole_sample, 4);
    NCSN_CHECK_CLOSE(s.sample_whole, 0.5 * (1.5 + 1.8), 1e-12);
    NCSN_CHECK_CLOSE(s.train_best, 100.0 / 40, 1e-12);
    NCSN_CHECK_CLOSE(s.sample_best, 20.0 / 10, 1e-12);
}

static void test_unknown_and_none(void) {
    /* one training steal not known: no whole figure and no count for training; sampling,
     * every round over the limit: none whole, a count of 0 */
    const double a_ts[5] = {0, 0, -1, 0, 0};
    const double over[5] = {0.5, 0.5, 0.5, 0.5, 0.5};
    bench_row a, b;
    rows_of(&a, &b, a_us, b_us, a_eps, b_eps, a_ts, none, over, none);
    const bench_scaling s = bench_scaling_of(&a, &b);
    CU_ASSERT_EQUAL(s.n_whole_train, -1);
    CU_ASSERT(s.train_whole < 0);
    NCSN_CHECK_CLOSE(s.train, 100.0 / 60, 1e-12); /* all rounds: still known */
    CU_ASSERT_EQUAL(s.n_whole_sample, 0);
    CU_ASSERT(s.sample_whole < 0);
    NCSN_CHECK_CLOSE(s.sample, 1.8, 1e-12);
}

void ncsn_test_register(void) {
    static const ncsn_test_case cases[] = {
        {"whole rounds: both rows at most the limit, training and sampling apart",
         test_whole_rounds},
        {"a steal not known; no round whole", test_unknown_and_none},
        {NULL, NULL},
    };
    ncsn_test_suite("bench scaling", cases);
}
