/* test_techniques.c: the techniques (docs/computation.md, Techniques) against reference values.
 *   Technique 1  the tiled, pruned, OpenMP diameter equals a plain double loop exactly,
 *                for 1 and 2 threads
 *   Technique 2  g(1), the quoted roots, no root for D = 1..4 (and the sentence), L
 *   Technique 3  the quoted argmin and f_min, f for tiny u against long double, minimality
 *   the run plan (plan.h) resolving "auto" on a hand-filled configuration.
 * Reference digits beyond those docs/computation.md quotes come from scipy brentq (g) and
 * mpmath at 50 digits (f). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/config.h"
#include "ncsn/plan.h"
#include "ncsn/techniques.h"

/* ---- test data: a small xorshift generator with Box-Muller, independent of the library. */
static uint64_t rng_state;
static double uniform01(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double normal01(void) {
    return sqrt(-2.0 * log(uniform01())) * cos(2.0 * M_PI * uniform01());
}
static float *random_points(int n, int D, uint64_t seed) {
    rng_state = seed;
    float *x = malloc(sizeof(float) * (size_t)n * D);
    for (int i = 0; i < n; i++) {
        /* Half the sets look like the notebook's mixture: most points near -5, a few at +5. */
        double shift = (D == 2) ? (uniform01() < 0.95 ? -5.0 : 5.0) : 0.0;
        for (int k = 0; k < D; k++) x[(size_t)i * D + k] = (float)(shift + normal01());
    }
    return x;
}

static double brute_force_diameter(const float *x, int n, int D) {
    double best = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < D; k++) {
                double d = (double)x[(size_t)i * D + k] - (double)x[(size_t)j * D + k];
                s += d * d;
            }
            if (s > best) best = s;
        }
    return sqrt(best);
}

static void check_diameter(int n, int D, uint64_t seed) {
    float *x = random_points(n, D, seed);
    double ref = brute_force_diameter(x, n, D);
    double d[2]; /* with 1 and 2 threads */
    for (ncsn_fix_threads t = ncsn_fix_threads_range(1, 2); ncsn_fix_threads_next(&t);)
        d[t.threads - 1] = ncsn_t1_max_pairwise_distance(x, n, D);
    const double one = d[0], two = d[1];
    if (one != ref || two != ref)
        fprintf(stderr, "\n  n %d D %d: brute force %.17g, 1 thread %.17g, 2 threads %.17g\n", n,
                D, ref, one, two);
    CU_ASSERT(one == ref);
    CU_ASSERT(two == ref);
    free(x);
}

static void test_t1_matches_brute_force(void) {
    check_diameter(1000, 2, 1);
    check_diameter(1000, 64, 2);
    /* Sizes that are not a multiple of the tile, and tiny sets. */
    check_diameter(333, 5, 3);
    check_diameter(129, 2, 4);
    check_diameter(2, 3, 5);
}

static void test_t1_edge_cases(void) {
    float one[2] = {1.0f, 2.0f};
    CU_ASSERT(ncsn_t1_max_pairwise_distance(one, 1, 2) == 0.0);
    float pair[4] = {0.0f, 0.0f, 3.0f, 4.0f};
    CU_ASSERT(ncsn_t1_max_pairwise_distance(pair, 2, 2) == 5.0);
    float same[6] = {1, 1, 1, 1, 1, 1};
    CU_ASSERT(ncsn_t1_max_pairwise_distance(same, 3, 2) == 0.0);
    float bad[4] = {0.0f, NAN, 1.0f, 1.0f};
    CU_ASSERT(isnan(ncsn_t1_max_pairwise_distance(bad, 2, 2)));
}

/* ---- Technique 2 */
static void test_t2_g_at_one(void) {
    /* Phi(3) - Phi(-3) = erf(3 / sqrt 2), whatever D is. */
    for (int D = 1; D <= 1000; D *= 10) NCSN_CHECK_CLOSE(ncsn_t2_g(1.0, D), 0.9973002039367398, 1e-15);
    NCSN_CHECK_CLOSE(ncsn_t2_g(1.0, 2), erf(3.0 / sqrt(2.0)), 1e-15);
}

static void test_t2_reference_roots(void) {
    const int D[] = {16, 64, 784, 5, 3072};
    const double quoted[] = {2.1292, 1.3608, 1.0820, 19.4868, 1.0398}; /* docs/computation.md */
    const double precise[] = {2.1291549021077016, 1.3608497940920528, 1.0819717378029587,
                              19.486832980505113, 1.0397964165056566}; /* scipy brentq */
    for (int i = 0; i < 5; i++) {
        double gamma = 0;
        ncsn_error err = {{0}};
        int rc = ncsn_t2_solve_gamma(D[i], &gamma, &err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0) fprintf(stderr, "\n  D %d: %s\n", D[i], err.msg);
        NCSN_CHECK_CLOSE(gamma, quoted[i], 1e-3);
        NCSN_CHECK_CLOSE(gamma, precise[i], 1e-9);
        NCSN_CHECK_CLOSE(ncsn_t2_g(gamma, D[i]), 0.5, 1e-9);
    }
}

static void test_t2_no_solution_small_d(void) {
    for (int D = 1; D <= 4; D++) {
        double gamma = -7;
        ncsn_error err = {{0}};
        CU_ASSERT_EQUAL(ncsn_t2_solve_gamma(D, &gamma, &err), -1);
        CU_ASSERT_EQUAL(gamma, -7); /* nothing invented */
        char want[64];
        snprintf(want, sizeof want, "no solution for D = %d", D);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stays above 0.5"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "set noise.L explicitly"));
        /* And g really stays above 0.5 along the way. */
        for (double gm = 1.0; gm < 1e6; gm *= 1.7) CU_ASSERT(ncsn_t2_g(gm, D) > 0.5);
        if (D == 2) printf("\n  %s\n", err.msg);
    }
    ncsn_error err = {{0}};
    double gamma;
    CU_ASSERT_EQUAL(ncsn_t2_solve_gamma(0, &gamma, &err), -1);
}

static void test_t2_num_levels(void) {
    /* The notebook: sigma 20 .. 0.1 with gamma = 200^(1/99) is exactly 100 levels. */
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(20.0, 0.1, pow(200.0, 1.0 / 99.0)), 100);
    double gamma = 2.1291549021077016;
    int want = 1 + (int)ceil(log(50.0 / 0.01) / log(gamma));
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(50.0, 0.01, gamma), want);
    CU_ASSERT_EQUAL(want, 13);
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(1.0, 1.0, 1.5), 1);
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(1.5, 1.0, 1.5), 2);
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(1.6, 1.0, 1.5), 3);
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(1.0, 2.0, 1.5), -1);
    CU_ASSERT_EQUAL(ncsn_t2_num_levels(2.0, 1.0, 1.0), -1);
}

/* ---- Technique 3 */
static long double f_long_double(long double u, long double gamma, int T) {
    long double a = 2.0L / (2.0L - u);
    return powl(1.0L - u, 2.0L * T) * (gamma * gamma - a) + a;
}

static void test_t3_reference(void) {
    double gamma = pow(200.0, 1.0 / 99.0), eps = 0, fmin = 0;
    ncsn_error err = {{0}};
    CU_ASSERT_EQUAL(ncsn_t3_solve(0.1, gamma, 1000, &eps, &fmin, &err), 0);
    NCSN_CHECK_CLOSE(eps, 3.05e-5, 0.005e-5);                 /* docs/computation.md */
    NCSN_CHECK_CLOSE(2 * eps, 6.1e-5, 0.05e-5);               /* the sampler's */
    NCSN_CHECK_CLOSE(fmin, 1.00177, 0.000005);                /* docs/computation.md */
    NCSN_CHECK_CLOSE(eps, 3.0464051205505642e-5, 3.05e-5 * 1e-7); /* mpmath */
    NCSN_CHECK_CLOSE(fmin, 1.0017749661300302, 1e-14);
    NCSN_CHECK_CLOSE(ncsn_t3_f(eps / 0.01, gamma, 1000), fmin, 1e-15);
}

static void test_t3_f_tiny_u(void) {
    double gamma = pow(200.0, 1.0 / 99.0);
    const double us[] = {1e-12, 1e-9, 1e-6, 3e-3, 0.25, 0.999};
    for (int i = 0; i < 6; i++) {
        double f = ncsn_t3_f(us[i], gamma, 1000);
        long double ref = f_long_double(us[i], gamma, 1000);
        CU_ASSERT(isfinite(f));
        NCSN_CHECK_CLOSE(f, (double)ref, 1e-14 * (double)ref);
    }
    /* At the ends: f -> gamma^2 as u -> 0, f(1) = 2, never below 1. */
    NCSN_CHECK_CLOSE(ncsn_t3_f(1e-300, gamma, 1000), gamma * gamma, 1e-15);
    NCSN_CHECK_CLOSE(ncsn_t3_f(0.0, gamma, 1000), gamma * gamma, 1e-15);
    NCSN_CHECK_CLOSE(ncsn_t3_f(1.0, gamma, 1000), 2.0, 1e-15);
    /* gamma barely above 1: f - 1 is tiny and must keep its digits (no 1 + x - 1 loss). */
    double g1 = 1.0 + 1e-9, u = 1e-12;
    long double ref = f_long_double(u, g1, 10) - 1.0L;
    NCSN_CHECK_CLOSE(ncsn_t3_f(u, g1, 10) - 1.0, (double)ref, 1e-6 * (double)ref);
}

static void test_t3_is_minimum(void) {
    struct {
        double sigma_L, gamma;
        int T;
    } cases[] = {{0.1, 1.0549, 1000}, {0.01, 1.0398, 5}, {0.01, 2.13, 100}, {1.0, 1.0001, 10},
                 {0.05, 1.36, 1}};
    for (int i = 0; i < 5; i++) {
        double eps = 0, fmin = 0;
        ncsn_error err = {{0}};
        int rc = ncsn_t3_solve(cases[i].sigma_L, cases[i].gamma, cases[i].T, &eps, &fmin, &err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "\n  case %d: %s\n", i, err.msg);
            continue;
        }
        double u = eps / (cases[i].sigma_L * cases[i].sigma_L);
        CU_ASSERT(u > 0 && u < 1);
        CU_ASSERT(fmin >= 1.0);
        CU_ASSERT(ncsn_t3_f(u * (1 + 1e-3), cases[i].gamma, cases[i].T) >= fmin);
        CU_ASSERT(ncsn_t3_f(u * (1 - 1e-3), cases[i].gamma, cases[i].T) >= fmin);
    }
    double eps, fmin;
    ncsn_error err = {{0}};
    CU_ASSERT_EQUAL(ncsn_t3_solve(0.1, 1.0, 100, &eps, &fmin, &err), -1);
    CU_ASSERT_EQUAL(ncsn_t3_solve(0.1, 1.1, 0, &eps, &fmin, &err), -1);
}

/* ---- the run plan resolving "auto" on a configuration filled by hand (no YAML, no data set). */
static void test_config_resolve(void) {
    float *x = random_points(1000, 2, 11);
    double diameter = brute_force_diameter(x, 1000, 2);
    ncsn_config *c = calloc(1, sizeof *c);
    c->noise.sigma_L = 0.1;
    c->noise.sigma_1_auto = 1;
    c->noise.L = 100;
    c->sample.T = 1000;
    c->sample.eps_auto = 1;
    ncsn_error err = {{0}};
    ncsn_plan p;
    CU_ASSERT_EQUAL(ncsn_plan_resolve(&p, c, x, 1000, 2, &err), 0);
    CU_ASSERT(p.cfg.noise.sigma_1 == diameter);
    CU_ASSERT(p.cfg.noise.sigma_1_auto && p.cfg.sample.eps_auto); /* flags stay for provenance */
    double gamma = pow(p.cfg.noise.sigma_1 / 0.1, 1.0 / 99.0), eps, fmin;
    CU_ASSERT_EQUAL(ncsn_t3_solve(0.1, gamma, 1000, &eps, &fmin, &err), 0);
    CU_ASSERT(p.cfg.sample.eps == 2 * eps);
    ncsn_plan_free(&p);

    /* L auto at D = 2: a configuration error naming the key. */
    c->noise.L_auto = 1;
    CU_ASSERT_EQUAL(ncsn_plan_resolve(&p, c, x, 1000, 2, &err), -1);
    ncsn_plan_free(&p);
    CU_ASSERT(strncmp(err.msg, "noise.L: auto: Technique 2 has no solution for D = 2", 52) == 0);
    if (strncmp(err.msg, "noise.L: auto: Technique 2", 26) != 0) fprintf(stderr, "\n  %s\n", err.msg);
    int idx = ncsn_config_key_index("noise.L");
    if (idx >= 0) {
        c->origin[idx] = "exp.yaml:7";
        CU_ASSERT_EQUAL(ncsn_plan_resolve(&p, c, x, 1000, 2, &err), -1);
        ncsn_plan_free(&p);
        CU_ASSERT(strncmp(err.msg, "exp.yaml:7: noise.L: auto: Technique 2", 38) == 0);
        c->origin[idx] = "";
    }

    /* L auto at D = 16 with explicit sigma_1. */
    c->noise.sigma_1_auto = 0;
    c->noise.sigma_1 = 50;
    c->noise.sigma_L = 0.01;
    c->sample.T = 5;
    CU_ASSERT_EQUAL(ncsn_plan_resolve(&p, c, NULL, 0, 16, &err), 0);
    CU_ASSERT_EQUAL(p.cfg.noise.L, 13);
    CU_ASSERT(p.cfg.sample.eps > 0 && p.cfg.sample.eps < 2 * 0.01 * 0.01);
    ncsn_plan_free(&p);
    free(c);
    free(x);
}

static const ncsn_test_case tests[] = {
    {"T1 equals a brute-force double loop, 1 and 2 threads", test_t1_matches_brute_force},
    {"T1 edge cases", test_t1_edge_cases},
    {"T2 g(1) = Phi(3) - Phi(-3)", test_t2_g_at_one},
    {"T2 reference roots", test_t2_reference_roots},
    {"T2 no solution for D <= 4", test_t2_no_solution_small_d},
    {"T2 number of levels", test_t2_num_levels},
    {"T3 reference argmin and f_min", test_t3_reference},
    {"T3 f stable for tiny u", test_t3_f_tiny_u},
    {"T3 argmin is a minimum", test_t3_is_minimum},
    {"config resolve", test_config_resolve},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("techniques", tests);
}
