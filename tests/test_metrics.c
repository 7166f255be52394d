/* test_metrics.c: the measurements (docs/computation.md, Metrics; src/metrics/metrics.c).
 * Each metric is checked against something computed independently here: brute-force double
 * loops (median, MMD^2), the CDF form of 1-D Wasserstein-1, closed-form densities, a score
 * network wired by hand to a known linear score, and hand-made points. Then: bit-for-bit
 * equality for 1, 2 and 3 OpenMP threads, the NaN rule for non-finite samples, and a
 * printed timing of ncsn_metrics_compute at the notebook's size (n = 5000, D = 2). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/common.h"
#include "ncsn/data.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* A test-local generator (splitmix64), independent of the library's Philox streams. */
static uint64_t rng_state = 0x1234abcdu;
static double urand(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* (n, D) floats uniform in [lo, hi). */
static float *random_set(int n, int D, double lo, double hi) {
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    for (size_t i = 0; i < (size_t)n * D; i++) x[i] = (float)(lo + (hi - lo) * urand());
    return x;
}


static float *gmm_set(const ncsn_gmm *g, int n, uint64_t seed, uint32_t purpose) {
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * g->D);
    ncsn_gmm_sample(g, ncsn_rng_key(seed, 0, purpose), 0, n, x);
    return x;
}

static double sqdist_ref(const float *a, const float *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += ((double)a[d] - b[d]) * ((double)a[d] - b[d]);
    return s;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Median of all pairwise distances by sorting them all. */
static double median_brute(const float *x, int n, int D) {
    size_t N = (size_t)n * (n - 1) / 2, t = 0;
    double *d = malloc(sizeof(double) * N);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) d[t++] = sqrt(sqdist_ref(x + i * D, x + j * D, D));
    qsort(d, N, sizeof(double), cmp_double);
    double med = N % 2 ? d[N / 2] : 0.5 * (d[N / 2 - 1] + d[N / 2]);
    free(d);
    return med;
}

/* Gretton et al.'s unbiased MMD^2 as written, every ordered pair visited. */
static double mmd2_brute(const float *x, int n, const float *y, int m, int D, double h) {
    double sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) sxx += exp(-sqdist_ref(x + i * D, x + j * D, D) / (2 * h * h));
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            if (i != j) syy += exp(-sqdist_ref(y + i * D, y + j * D, D) / (2 * h * h));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) sxy += exp(-sqdist_ref(x + i * D, y + j * D, D) / (2 * h * h));
    return sxx / ((double)n * (n - 1)) + syy / ((double)m * (m - 1)) - 2 * sxy / ((double)n * m);
}

/* 1-D W1 as the integral of |F(t) - G(t)| dt between the empirical CDFs. */
static double w1_cdf_brute(const float *x, int n, const float *y, int m) {
    double *z = malloc(sizeof(double) * (size_t)(n + m));
    for (int i = 0; i < n; i++) z[i] = x[i];
    for (int j = 0; j < m; j++) z[n + j] = y[j];
    qsort(z, (size_t)(n + m), sizeof(double), cmp_double);
    double w = 0;
    for (int k = 0; k + 1 < n + m; k++) {
        int cx = 0, cy = 0;
        for (int i = 0; i < n; i++) cx += x[i] <= z[k];
        for (int j = 0; j < m; j++) cy += y[j] <= z[k];
        w += fabs((double)cx / n - (double)cy / m) * (z[k + 1] - z[k]);
    }
    free(z);
    return w;
}

/* docs/computation.md, Noise levels: sigma_i geometric from s1 to sL. */
static double *geometric_sigmas(double s1, double sL, int L) {
    double *s = ncsn_xmalloc(sizeof(double) * (size_t)L);
    for (int i = 0; i < L; i++)
        s[i] = L == 1 ? s1 : exp(log(s1) + (log(sL) - log(s1)) * i / (L - 1));
    return s;
}

/* ---- median pairwise distance -------------------------------------------------------- */

static void test_median_matches_brute_force(void) {
    const int sizes[] = {2, 3, 4, 5, 6, 7, 37, 64, 65, 100, 301};
    for (int D = 1; D <= 3; D++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int n = sizes[s];
            float *x = random_set(n, D, -3, 5);
            NCSN_CHECK_CLOSE(ncsn_median_pairwise_distance(x, n, D), median_brute(x, n, D),
                             1e-12);
            free(x);
        }
    }
}

/* Many equal distances (points on a small integer grid), sorted input and a large set:
 * the cases where a naive quickselect goes wrong or slow. */
static void test_median_ties_sorted_large(void) {
    const int n = 200, D = 2;
    float *x = ncsn_xmalloc(sizeof(float) * n * D);
    for (int i = 0; i < n * D; i++) x[i] = (float)(int)(urand() * 4);
    NCSN_CHECK_CLOSE(ncsn_median_pairwise_distance(x, n, D), median_brute(x, n, D), 1e-12);
    for (int i = 0; i < n; i++) x[2 * i] = (float)i, x[2 * i + 1] = 0; /* sorted on a line */
    NCSN_CHECK_CLOSE(ncsn_median_pairwise_distance(x, n, D), median_brute(x, n, D), 1e-12);
    for (int i = 0; i < n * D; i++) x[i] = 1.5f; /* all equal */
    CU_ASSERT(ncsn_median_pairwise_distance(x, n, D) == 0.0);
    free(x);

    float *big = random_set(1500, 2, -10, 10); /* 1124250 distances, an even count */
    NCSN_CHECK_CLOSE(ncsn_median_pairwise_distance(big, 1500, 2), median_brute(big, 1500, 2),
                     1e-12);
    free(big);

    float two[4] = {0, 0, 3, 4};
    CU_ASSERT(ncsn_median_pairwise_distance(two, 2, 2) == 5.0);
}

static void test_median_degenerate(void) {
    float x[6] = {0, 0, 1, 1, 2, NAN};
    CU_ASSERT(isnan(ncsn_median_pairwise_distance(x, 3, 2)));
    CU_ASSERT(isnan(ncsn_median_pairwise_distance(x, 1, 2)));
}

/* ---- MMD^2 ------------------------------------------------------------------------------ */

static void test_mmd2_matches_brute_force(void) {
    const int D = 3;
    int ns[][2] = {{2, 2}, {5, 9}, {70, 131}, {200, 64}};
    for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
        int n = ns[c][0], m = ns[c][1];
        float *x = random_set(n, D, -1, 2);
        float *y = random_set(m, D, -0.5, 2.5);
        double h = 0.3 + urand();
        double got = ncsn_mmd2_unbiased(x, n, y, m, D, h);
        double want = mmd2_brute(x, n, y, m, D, h);
        NCSN_CHECK_CLOSE(got, want, 1e-12 * (1 + fabs(want)));
        free(x);
        free(y);
    }
    float x[4] = {0, 0, 1, 1};
    CU_ASSERT(isnan(ncsn_mmd2_unbiased(x, 1, x, 2, 2, 1.0))); /* needs n, m >= 2 */
    CU_ASSERT(isnan(ncsn_mmd2_unbiased(x, 2, x, 2, 2, 0.0))); /* needs h > 0 */
    x[3] = INFINITY;
    CU_ASSERT(isnan(ncsn_mmd2_unbiased(x, 2, x, 2, 2, 1.0)));
}

/* Same mixture: MMD^2 is an unbiased estimate of 0, so it sits within noise of 0. A shifted
 * copy of the mixture is clearly positive. */
static void test_mmd2_same_vs_shifted(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    const int n = 2000;
    float *x = gmm_set(&g, n, 11, NCSN_RNG_REFERENCE);
    float *y = gmm_set(&g, n, 12, NCSN_RNG_REFERENCE);
    double h = ncsn_median_pairwise_distance(y, n, 2);
    double same = ncsn_mmd2_unbiased(x, n, y, n, 2, h);
    for (int i = 0; i < 2 * n; i++) x[i] += 0.5f;
    double shifted = ncsn_mmd2_unbiased(x, n, y, n, 2, h);
    printf("\n  mmd2: h %.4f, same mixture %.3e, shifted by (0.5, 0.5) %.3e ", h, same, shifted);
    CU_ASSERT(fabs(same) < 1e-3);
    CU_ASSERT(shifted > 1e-2);
    CU_ASSERT(shifted > 20 * fabs(same));
    free(x);
    free(y);
    ncsn_gmm_free(&g);
}

/* ---- sliced Wasserstein ---------------------------------------------------------------- */

/* In D = 1 every direction is +-1, so SWD is the 1-D W1: a shift by c costs exactly |c|. */
static void test_swd_1d_shift(void) {
    ncsn_key key = ncsn_rng_key(5, 0, NCSN_RNG_SWD_DIRS);
    const int n = 257;
    float *x = random_set(n, 1, -3, 3);
    float *y = ncsn_xmalloc(sizeof(float) * n);
    for (double c = -1.25; c <= 2; c += 0.75) {
        for (int i = 0; i < n; i++) y[i] = x[n - 1 - i] + (float)c; /* reversed order too */
        NCSN_CHECK_CLOSE(ncsn_swd(x, n, y, n, 1, 8, key), fabs(c), 1e-6);
    }
    CU_ASSERT(ncsn_swd(x, n, x, n, 1, 8, key) == 0.0);
    free(x);
    free(y);
}

/* Unequal sizes: {0, 1} against {0, 0.5, 1}: the quantile functions differ by 0.5 on
 * (1/3, 2/3), so W1 = 1/6. Random sets: the CDF form of W1. */
static void test_swd_unequal_sizes(void) {
    ncsn_key key = ncsn_rng_key(6, 0, NCSN_RNG_SWD_DIRS);
    float a[2] = {0, 1}, b[3] = {0, 0.5f, 1};
    NCSN_CHECK_CLOSE(ncsn_swd(a, 2, b, 3, 1, 4, key), 1.0 / 6.0, 1e-15);
    int sizes[][2] = {{10, 7}, {33, 100}, {64, 65}, {1, 5}};
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        int n = sizes[c][0], m = sizes[c][1];
        float *x = random_set(n, 1, -2, 2);
        float *y = random_set(m, 1, -1, 3);
        NCSN_CHECK_CLOSE(ncsn_swd(x, n, y, m, 1, 4, key), w1_cdf_brute(x, n, y, m), 1e-12);
        free(x);
        free(y);
    }
    /* Every point twice is the same distribution. */
    float *x = random_set(50, 2, -1, 1);
    float *xx = ncsn_xmalloc(sizeof(float) * 200);
    memcpy(xx, x, sizeof(float) * 100);
    memcpy(xx + 100, x, sizeof(float) * 100);
    CU_ASSERT(ncsn_swd(x, 50, xx, 100, 2, 16, key) == 0.0);
    free(x);
    free(xx);
}

static void test_swd_symmetric(void) {
    ncsn_key key = ncsn_rng_key(7, 0, NCSN_RNG_SWD_DIRS);
    float *x = random_set(300, 3, -1, 1), *y = random_set(170, 3, 0, 2);
    CU_ASSERT(ncsn_swd(x, 300, y, 170, 3, 32, key) == ncsn_swd(y, 170, x, 300, 3, 32, key));
    CU_ASSERT(ncsn_swd(x, 170, y, 170, 3, 32, key) == ncsn_swd(y, 170, x, 170, 3, 32, key));
    CU_ASSERT(ncsn_swd(x, 300, y, 170, 3, 32, key) > 0.1);
    free(x);
    free(y);
}

/* In D = 2 a shift by c moves each projection by v.c, so SWD = mean |v_t . c| over the
 * directions v_t (Gaussian draws from counters (t, 0), normalised); over many uniform
 * directions that mean tends to (2 / pi) |c|. */
static void test_swd_2d_shift_and_directions(void) {
    ncsn_key key = ncsn_rng_key(8, 0, NCSN_RNG_SWD_DIRS);
    const int n = 400, dirs = 4096;
    const double c[2] = {0.6, -0.8}; /* |c| = 1 */
    float *x = random_set(n, 2, -2, 2), *y = ncsn_xmalloc(sizeof(float) * n * 2);
    for (int i = 0; i < n; i++) {
        y[2 * i] = x[2 * i] + (float)c[0];
        y[2 * i + 1] = x[2 * i + 1] + (float)c[1];
    }
    double want = 0;
    for (int t = 0; t < dirs; t++) {
        float z[2];
        ncsn_rng_fill_normal(key, (uint32_t)t, 0, 2, z);
        double norm = hypot(z[0], z[1]);
        want += fabs(z[0] / norm * c[0] + z[1] / norm * c[1]);
    }
    want /= dirs;
    double got = ncsn_swd(x, n, y, n, 2, dirs, key);
    NCSN_CHECK_CLOSE(got, want, 1e-6);
    NCSN_CHECK_CLOSE(got, 2 / M_PI, 0.02);
    free(x);
    free(y);
}

static void test_swd_nonfinite(void) {
    ncsn_key key = ncsn_rng_key(9, 0, NCSN_RNG_SWD_DIRS);
    float x[4] = {0, 1, 2, NAN}, y[4] = {0, 1, 2, 3};
    CU_ASSERT(isnan(ncsn_swd(x, 2, y, 2, 2, 4, key)));
    CU_ASSERT(isnan(ncsn_swd(y, 2, x, 2, 2, 4, key)));
}

/* ---- mode weights and nll_true ------------------------------------------------------- */

static void test_mode_weights_hand_made(void) {
    const double w[3] = {0.2, 0.3, 0.5}, mu[6] = {0, 0, 10, 0, 0, 10}, sd[3] = {1, 1, 1};
    ncsn_gmm g;
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 2, 3, w, mu, sd) == 0);
    /* nearest means: 0, 1, 2, 0, 1, 0 */
    float x[12] = {1, 1, 9, 0, 0, 6, 4, 0, 6, 0, -100, -100};
    double got[3];
    ncsn_mode_weights(&g, x, 6, got);
    CU_ASSERT(got[0] == 3.0 / 6 && got[1] == 2.0 / 6 && got[2] == 1.0 / 6);
    x[5] = NAN;
    ncsn_mode_weights(&g, x, 6, got);
    CU_ASSERT(isnan(got[0]) && isnan(got[1]) && isnan(got[2]));
    ncsn_gmm_free(&g);

    /* Fresh mixture samples recover the true weights. */
    ncsn_fix_notebook_gmm(&g);
    float *y = gmm_set(&g, 20000, 3, NCSN_RNG_FLOOR);
    ncsn_mode_weights(&g, y, 20000, got);
    NCSN_CHECK_CLOSE(got[0], 0.95, 0.01);
    NCSN_CHECK_CLOSE(got[1], 0.05, 0.01);
    CU_ASSERT(got[0] + got[1] == 1.0);
    free(y);
    ncsn_gmm_free(&g);
}

static void test_nll_true_closed_form(void) {
    const double w[2] = {0.3, 0.7}, mu[4] = {0, 0, 2, 1}, sd[2] = {1, 0.5};
    ncsn_gmm g;
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 2, 2, w, mu, sd) == 0);
    float x[6] = {0.5f, 0.25f, 3, -1, -2, 0.75f};
    double nll[3];
    for (int i = 0; i < 3; i++) {
        double p = 0;
        for (int k = 0; k < 2; k++) {
            double dx = x[2 * i] - mu[2 * k], dy = x[2 * i + 1] - mu[2 * k + 1];
            double v = sd[k] * sd[k];
            p += w[k] * exp(-(dx * dx + dy * dy) / (2 * v)) / (2 * M_PI * v);
        }
        nll[i] = -log(p);
    }
    NCSN_CHECK_CLOSE(ncsn_nll_true(&g, x, 1), nll[0], 1e-12);
    NCSN_CHECK_CLOSE(ncsn_nll_true(&g, x, 3), (nll[0] + nll[1] + nll[2]) / 3, 1e-12);
    x[4] = -INFINITY;
    CU_ASSERT(isnan(ncsn_nll_true(&g, x, 3)));
    ncsn_gmm_free(&g);
}

/* ---- score error ------------------------------------------------------------------------ */

/* A network with zero parameters outputs 0, so numerator and denominator are the same sum. */
static void test_score_error_zero_model(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, 128, NCSN_SIGMA_INPUT_SIGMA, 0);
    const int L = 5;
    double *sig = geometric_sigmas(20, 0.1, L), err[5];
    ncsn_score_error(&m, &g, sig, L, 300, ncsn_rng_key(1, 0, NCSN_RNG_SCORE_ERROR), err);
    for (int l = 0; l < L; l++) CU_ASSERT(err[l] == 1.0);
    ncsn_score_error(NULL, &g, sig, L, 300, ncsn_rng_key(1, 0, NCSN_RNG_SCORE_ERROR), err);
    for (int l = 0; l < L; l++) CU_ASSERT(isnan(err[l]));
    free(sig);
    ncsn_model_free(&m);
    ncsn_gmm_free(&g);
}

/* One Gaussian N(mu, s0^2) in D = 1: grad log q_sigma(x) = -(x - mu) / v, v = s0^2 + sigma^2.
 * Two ReLU units give x - mu = relu(x - mu) - relu(mu - x), so the network can output
 * s(x) = -a (x - mu) for every sigma (embedding weights zero). Both sums of the ratio are
 * then multiples of sum (x - mu)^2, and the error is exactly (a v - 1)^2 at every level. */
static void test_score_error_linear_model(void) {
    const double w = 1, mu = 0.75, s0 = 1.25; /* mu exact in float */
    ncsn_gmm g;
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 1, 1, &w, &mu, &s0) == 0);
    ncsn_model m;
    ncsn_model_alloc(&m, 1, 16, 2, NCSN_SIGMA_INPUT_SIGMA, 0);
    const double sig[3] = {2.0, 0.5, 0.1};
    const float a = (float)(1 / (s0 * s0 + 0.25)); /* exact for the middle level */
    m.bb0_w[0 * (1 + 16)] = 1;                      /* row 0, the x column */
    m.bb0_w[1 * (1 + 16)] = -1;
    m.bb0_b[0] = (float)-mu;
    m.bb0_b[1] = (float)mu;
    m.bb2_w[0] = -a;
    m.bb2_w[1] = a;
    double err[3];
    ncsn_score_error(&m, &g, sig, 3, 1000, ncsn_rng_key(2, 0, NCSN_RNG_SCORE_ERROR), err);
    for (int l = 0; l < 3; l++) {
        double v = s0 * s0 + sig[l] * sig[l], want = ((double)a * v - 1) * ((double)a * v - 1);
        NCSN_CHECK_CLOSE(err[l], want, 1e-6 * want + 1e-10);
    }
    CU_ASSERT(err[1] < 1e-10);
    ncsn_model_free(&m);
    ncsn_gmm_free(&g);
}

/* The points must come from q_sigma: with one Gaussian N(mu, s0^2) and a network that
 * outputs a constant b, the ratio is E(b + (x - mu)/v)^2 / E((x - mu)/v)^2 = 1 + b^2 v when
 * x ~ N(mu, v), v = s0^2 + sigma^2 (and would be 1 + b^2 v^2 / s0^2 without the noise). */
static void test_score_error_points_from_q_sigma(void) {
    const double w = 1, mu = -1, s0 = 0.5;
    ncsn_gmm g;
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 1, 1, &w, &mu, &s0) == 0);
    ncsn_model m;
    ncsn_model_alloc(&m, 1, 16, 8, NCSN_SIGMA_INPUT_SIGMA, 0);
    m.bb2_b[0] = 1.0f;
    const double sig[3] = {2.0, 0.7, 0.05};
    double err[3];
    ncsn_score_error(&m, &g, sig, 3, 20000, ncsn_rng_key(4, 0, NCSN_RNG_SCORE_ERROR), err);
    for (int l = 0; l < 3; l++) {
        double v = s0 * s0 + sig[l] * sig[l];
        NCSN_CHECK_CLOSE(err[l], 1 + v, 0.03 * (1 + v));
    }
    ncsn_model_free(&m);
    ncsn_gmm_free(&g);
}

/* ---- Frechet distance (fd.c) ---------------------------------------------------------- */

/* A standard normal from the test-local generator (Box-Muller). */
static double nrand(void) {
    double u = urand(), v = urand();
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* (n, D) points mu + A z, z ~ N(0, I): covariance A A^T. A (D, D) row-major. */
static float *gaussian_set(int n, int D, const double *mu, const double *A) {
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    double *z = ncsn_xmalloc(sizeof(double) * (size_t)D);
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < D; d++) z[d] = nrand();
        for (int a = 0; a < D; a++) {
            double s = mu[a];
            for (int b = 0; b < D; b++) s += A[a * D + b] * z[b];
            x[(size_t)i * D + a] = (float)s;
        }
    }
    free(z);
    return x;
}

/* R (D, D) orthogonal: Gram-Schmidt on random normal columns. */
static void random_rotation(int D, double *R) {
    for (int i = 0; i < D * D; i++) R[i] = nrand();
    for (int c = 0; c < D; c++) {
        for (int p = 0; p < c; p++) {
            double dot = 0;
            for (int r = 0; r < D; r++) dot += R[r * D + c] * R[r * D + p];
            for (int r = 0; r < D; r++) R[r * D + c] -= dot * R[r * D + p];
        }
        double norm = 0;
        for (int r = 0; r < D; r++) norm += R[r * D + c] * R[r * D + c];
        for (int r = 0; r < D; r++) R[r * D + c] /= sqrt(norm);
    }
}

/* S = R diag(l) R^T. */
static void rotated_diag(int D, const double *R, const double *l, double *S) {
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += R[a * D + k] * l[k] * R[b * D + k];
            S[a * D + b] = s;
        }
}

/* Diagonal covariances: fd = |mu1 - mu2|^2 + sum_d (s1 + s2 - 2 sqrt(s1 s2)). The same
 * with both covariances turned by one rotation (non-diagonal, commuting). */
static void test_fd_closed_form_diagonal_and_rotated(void) {
    enum { D = 6 };
    const double mu1[D] = {1, -2, 0.5, 0, 3, -1}, mu2[D] = {0, 0, 1, 2, 3, -4};
    const double s1[D] = {1, 4, 0.25, 9, 2, 0}, s2[D] = {2, 1, 0.25, 0.5, 7, 3};
    double want = 0, S1[D * D] = {0}, S2[D * D] = {0};
    for (int d = 0; d < D; d++) {
        want += (mu1[d] - mu2[d]) * (mu1[d] - mu2[d]) + s1[d] + s2[d] - 2 * sqrt(s1[d] * s2[d]);
        S1[d * D + d] = s1[d];
        S2[d * D + d] = s2[d];
    }
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu2, S2, D), want, 1e-12 * want);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu2, S2, mu1, S1, D), want, 1e-12 * want);
    /* Turned: rounding now reaches the eigenvalue 0 of S1, and the square root makes an
     * error e there sqrt(e) (about 1e-8 of S's scale), so the tolerance is looser. */
    double R[D * D];
    random_rotation(D, R);
    rotated_diag(D, R, s1, S1);
    rotated_diag(D, R, s2, S2);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu2, S2, D), want, 1e-6 * want);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu1, S1, D), 0, 1e-6);
    /* No zero eigenvalue: tight again. */
    const double s3[D] = {1, 4, 0.25, 9, 2, 0.5};
    double want3 = 0;
    for (int d = 0; d < D; d++)
        want3 += (mu1[d] - mu2[d]) * (mu1[d] - mu2[d]) + s3[d] + s2[d] - 2 * sqrt(s3[d] * s2[d]);
    rotated_diag(D, R, s3, S1);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu2, S2, D), want3, 1e-11 * want3);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu2, S2, mu1, S1, D), want3, 1e-11 * want3);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu1, S1, D), 0, 1e-12);
}

/* Two 2x2 covariances that do not commute: M = S1^{1/2} S2 S1^{1/2} has trace tr(S1 S2)
 * and determinant det S1 det S2, and tr M^{1/2} = sqrt(tr M + 2 sqrt(det M)). */
static void test_fd_closed_form_noncommuting(void) {
    const double S1[4] = {2, 0.8, 0.8, 1}, S2[4] = {1, -0.5, -0.5, 3};
    const double mu1[2] = {0.5, 1}, mu2[2] = {-1, 2};
    const double tr12 = S1[0] * S2[0] + S1[1] * S2[2] + S1[2] * S2[1] + S1[3] * S2[3];
    const double det = (S1[0] * S1[3] - S1[1] * S1[2]) * (S2[0] * S2[3] - S2[1] * S2[2]);
    const double want = 1.5 * 1.5 + 1 + (2 + 1) + (1 + 3) - 2 * sqrt(tr12 + 2 * sqrt(det));
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu1, S1, mu2, S2, 2), want, 1e-12 * want);
    NCSN_CHECK_CLOSE(ncsn_fd_gaussians(mu2, S2, mu1, S1, 2), want, 1e-12 * want);
}

/* ncsn_mean_cov against the textbook double loops, normaliser n - 1. */
static void test_mean_cov_brute_force(void) {
    const int n = 101, D = 13; /* D not a multiple of the row tile */
    float *x = random_set(n, D, -3, 5);
    double *mu = ncsn_xmalloc(sizeof(double) * D), *S = ncsn_xmalloc(sizeof(double) * D * D);
    ncsn_mean_cov(x, n, D, mu, S);
    for (int a = 0; a < D; a++) {
        double m = 0;
        for (int i = 0; i < n; i++) m += x[i * D + a];
        m /= n;
        NCSN_CHECK_CLOSE(mu[a], m, 1e-12);
    }
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (x[i * D + a] - mu[a]) * (x[i * D + b] - mu[b]);
            NCSN_CHECK_CLOSE(S[a * D + b], s / (n - 1), 1e-12);
        }
    free(mu);
    free(S);
    free(x);
}

/* From points: the fitted Gaussians' distance; a set against itself is 0 to rounding;
 * large samples of two known Gaussians approach the closed form; singular covariances
 * (n <= D) still give a number; too few or non-finite points give NaN. */
static void test_fd_of_points(void) {
    enum { D = 3 };
    const double mu1[D] = {0, 1, -1}, mu2[D] = {1, 1, 0};
    const double A1[D * D] = {1, 0, 0, 0.5, 2, 0, 0, 0, 0.5}, A2[D * D] = {1.5, 0, 0, 0, 1, 0, 0, 0.3, 1};
    const int n = 20000;
    float *x = gaussian_set(n, D, mu1, A1), *y = gaussian_set(n - 1000, D, mu2, A2);
    double mx[D], Sx[D * D], my[D], Sy[D * D];
    ncsn_mean_cov(x, n, D, mx, Sx);
    ncsn_mean_cov(y, n - 1000, D, my, Sy);
    const double fd = ncsn_fd(x, n, y, n - 1000, D);
    NCSN_CHECK_CLOSE(fd, ncsn_fd_gaussians(my, Sy, mx, Sx, D), 1e-12 * fd);
    NCSN_CHECK_CLOSE(ncsn_fd(y, n - 1000, x, n, D), fd, 1e-10 * fd);
    double S1[D * D], S2[D * D]; /* A A^T */
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            S1[a * D + b] = S2[a * D + b] = 0;
            for (int k = 0; k < D; k++) {
                S1[a * D + b] += A1[a * D + k] * A1[b * D + k];
                S2[a * D + b] += A2[a * D + k] * A2[b * D + k];
            }
        }
    const double truth = ncsn_fd_gaussians(mu1, S1, mu2, S2, D);
    NCSN_CHECK_CLOSE(fd, truth, 0.05 * truth); /* sampling error */
    double tr = Sx[0] + Sx[4] + Sx[8];
    NCSN_CHECK_CLOSE(ncsn_fd(x, n, x, n, D), 0, 1e-10 * tr);
    CU_ASSERT(ncsn_fd(x, 3, y, 2, D) >= 0); /* singular covariances */
    CU_ASSERT(isnan(ncsn_fd(x, 1, y, n - 1000, D)) && isnan(ncsn_fd(x, n, y, 1, D)));
    x[7] = NAN;
    CU_ASSERT(isnan(ncsn_fd(x, n, y, n - 1000, D)) && isnan(ncsn_fd(y, n - 1000, x, n, D)));
    free(x);
    free(y);
}

/* A larger D with a full covariance: the same as the Gaussians' distance, 0 to itself. */
static void test_fd_dimension_64(void) {
    enum { D = 64 };
    const int n = 3000;
    double mu[D] = {0}, A[D * D];
    for (int i = 0; i < D * D; i++) A[i] = 0.2 * nrand();
    float *x = gaussian_set(n, D, mu, A);
    float *y = random_set(n, D, -1, 1);
    double mx[D], my[D];
    double *Sx = ncsn_xmalloc(sizeof(double) * D * D), *Sy = ncsn_xmalloc(sizeof(double) * D * D);
    ncsn_mean_cov(x, n, D, mx, Sx);
    ncsn_mean_cov(y, n, D, my, Sy);
    const double fd = ncsn_fd(x, n, y, n, D);
    NCSN_CHECK_CLOSE(fd, ncsn_fd_gaussians(my, Sy, mx, Sx, D), 1e-10 * fd);
    NCSN_CHECK_CLOSE(fd, ncsn_fd_gaussians(mx, Sx, my, Sy, D), 1e-9 * fd);
    double tr = 0;
    for (int d = 0; d < D; d++) tr += Sx[d * D + d];
    NCSN_CHECK_CLOSE(ncsn_fd(x, n, x, n, D), 0, 1e-10 * tr);
    NCSN_FREE_ALL(x, y, Sx, Sy);
}

/* ---- nearest neighbours and nn_ratio (nn.c) ------------------------------------------- */

static void test_nearest_distances_brute_force(void) {
    const int n = 37, D = 5;
    const int sizes[] = {1, 7, 8, 29};
    float *q = random_set(n, D, -2, 2);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int m = sizes[s];
        float *r = random_set(m, D, -2, 2);
        double dist[37];
        ncsn_nearest_distances(q, n, r, m, D, dist);
        for (int i = 0; i < n; i++) {
            double best = INFINITY;
            for (int j = 0; j < m; j++) best = fmin(best, sqdist_ref(q + i * D, r + j * D, D));
            CU_ASSERT(dist[i] == sqrt(best)); /* the same sum in the same order */
        }
        free(r);
    }
    free(q);
}

/* Copies of training points give 0; fresh draws of the same distribution about 1; points
 * off the data far more; non-finite samples NaN. */
static void test_nn_ratio(void) {
    enum { D = 4 };
    const int n_train = 2000, n = 3000;
    const double mu[D] = {0}, A[D * D] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    float *train = gaussian_set(n_train, D, mu, A);
    float *held = gaussian_set(n, D, mu, A);
    float *fresh = gaussian_set(n, D, mu, A);
    float *copies = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    for (int i = 0; i < n; i++) memcpy(copies + i * D, train + (i % n_train) * D, sizeof(float) * D);
    CU_ASSERT(ncsn_nn_ratio(copies, n, train, n_train, held, n, D) == 0);
    const double healthy = ncsn_nn_ratio(fresh, n, train, n_train, held, n, D);
    NCSN_CHECK_CLOSE(healthy, 1, 0.05);
    for (int i = 0; i < n * D; i++) fresh[i] = copies[i] + 0.01f * fresh[i];
    CU_ASSERT(ncsn_nn_ratio(fresh, n, train, n_train, held, n, D) < 0.2); /* near copies */
    for (int i = 0; i < n * D; i++) fresh[i] = held[i] + 6;
    CU_ASSERT(ncsn_nn_ratio(fresh, n, train, n_train, held, n, D) > 5); /* off the data */
    fresh[5] = NAN;
    CU_ASSERT(isnan(ncsn_nn_ratio(fresh, n, train, n_train, held, n, D)));
    CU_ASSERT(isnan(ncsn_nn_ratio(held, 0, train, n_train, held, n, D)));
    NCSN_FREE_ALL(train, held, fresh, copies);
}

/* compute_sets: fd and its floor against the reference, nn_ratio against the training
 * points with the reference as the held-out side. */
static void test_compute_sets_fd_nn(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    const int n = 500, L = 2;
    double *sig = geometric_sigmas(20, 0.1, L);
    float *s = gmm_set(&g, n, 3, NCSN_RNG_SAMPLE_NOISE);
    float *ref = gmm_set(&g, n, 4, NCSN_RNG_REFERENCE);
    float *flo = gmm_set(&g, n, 4, NCSN_RNG_FLOOR);
    float *train = gmm_set(&g, 300, 4, NCSN_RNG_TRAIN_DATA);
    ncsn_metrics r;
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute_sets(&g, NULL, sig, L, s, n, 2, ref, n, flo, n, train, 300, -8, 8, 4, &r);
    CU_ASSERT(r.fd == ncsn_fd(s, n, ref, n, 2));
    CU_ASSERT(r.noise_floor_fd == ncsn_fd(flo, n, ref, n, 2));
    CU_ASSERT(r.nn_ratio == ncsn_nn_ratio(s, n, train, 300, ref, n, 2));
    /* fresh draws: fd is noisy here (the 5% mode's share moves the covariance a lot) */
    CU_ASSERT(r.fd < 3 && r.noise_floor_fd < 3 && fabs(r.nn_ratio - 1) < 0.2);
    ncsn_metrics_free(&r);
    for (int i = 0; i < 2 * n; i++) s[i] = s[i] * 0.5f + 1; /* shrunk and shifted */
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute_sets(&g, NULL, sig, L, s, n, 2, ref, n, flo, n, NULL, 0, -8, 8, 4, &r);
    CU_ASSERT(r.fd > 10 * r.noise_floor_fd && isnan(r.nn_ratio)); /* no training points */
    const double floor_fd = r.noise_floor_fd;
    ncsn_metrics_free(&r);
    /* A bad sample (here not finite) is counted and left out: the numbers are those of
     * the other n - 1 samples. */
    s[1] = INFINITY; /* row 0 */
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute_sets(&g, NULL, sig, L, s, n, 2, ref, n, flo, n, train, 300, -8, 8, 4, &r);
    CU_ASSERT(r.n_bad == 1 && r.n_nonfinite == 1 && r.noise_floor_fd == floor_fd);
    CU_ASSERT(r.fd == ncsn_fd(s + 2, n - 1, ref, n, 2));
    CU_ASSERT(r.nn_ratio == ncsn_nn_ratio(s + 2, n - 1, train, 300, ref, n, 2));
    ncsn_metrics_free(&r);
    NCSN_FREE_ALL(sig, s, ref, flo, train);
    ncsn_gmm_free(&g);
}

/* The bad-sample radius: mean of the reference set, the box corner farthest from it,
 * plus 3 sigma_1; a sample just inside is good, just outside is bad. */
static void test_bad_radius(void) {
    const float ref[4] = {1, 1, 3, 3}; /* mean (2, 2) */
    double mean[2];
    const double r = ncsn_bad_radius(ref, 2, 2, -8, 8, 5, mean);
    CU_ASSERT(mean[0] == 2 && mean[1] == 2);
    CU_ASSERT_DOUBLE_EQUAL(r, sqrt(200.0) + 15, 1e-12); /* corner (-8, -8): 10 per axis */
    CU_ASSERT(isnan(ncsn_bad_radius(ref, 0, 2, -8, 8, 5, mean)));

    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    const int n = 200;
    double sig[1] = {5};
    float *s = gmm_set(&g, n, 3, NCSN_RNG_SAMPLE_NOISE);
    float *rf = gmm_set(&g, n, 4, NCSN_RNG_REFERENCE);
    double m[2];
    const double R = ncsn_bad_radius(rf, n, 2, -8, 8, sig[0], m);
    s[0] = (float)(m[0] + 0.999 * R); /* inside, on the first axis */
    s[1] = (float)m[1];
    s[2] = (float)(m[0] + 1.001 * R); /* outside */
    s[3] = (float)m[1];
    ncsn_metrics out;
    memset(&out, 0, sizeof out);
    ncsn_metrics_compute_sets(&g, NULL, sig, 1, s, n, 2, rf, n, rf, n, NULL, 0, -8, 8, 1, &out);
    CU_ASSERT(out.n_bad == 1 && out.n_nonfinite == 0 && out.bad_radius == R);
    ncsn_metrics_free(&out);
    NCSN_FREE_ALL(s, rf);
    ncsn_gmm_free(&g);
}

/* ---- ncsn_metrics_compute ------------------------------------------------------------- */

static void test_compute_consistent(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    const int n = 600, L = 3;
    const uint64_t seed = 42;
    double *sig = geometric_sigmas(20, 0.1, L);
    float *s = gmm_set(&g, n, 99, NCSN_RNG_SAMPLE_NOISE);
    for (int i = 0; i < 2 * n; i++) s[i] *= 0.9f; /* a slightly wrong generator */
    ncsn_metrics r;
    memset(&r, 0, sizeof r);
    r.final_loss = 7;
    ncsn_metrics_compute(&g, NULL, sig, L, s, n, -8, 8, seed, &r);

    /* The same numbers from the public pieces. */
    float *ref = gmm_set(&g, n, seed, NCSN_RNG_REFERENCE);
    float *flo = gmm_set(&g, n, seed, NCSN_RNG_FLOOR);
    ncsn_key dirs = ncsn_rng_key(seed, 0, NCSN_RNG_SWD_DIRS);
    double h = ncsn_median_pairwise_distance(ref, n, 2);
    CU_ASSERT(r.mmd2 == ncsn_mmd2_unbiased(s, n, ref, n, 2, h));
    CU_ASSERT(r.noise_floor_mmd2 == ncsn_mmd2_unbiased(flo, n, ref, n, 2, h));
    CU_ASSERT(r.swd == ncsn_swd(s, n, ref, n, 2, NCSN_SWD_DIRECTIONS, dirs));
    CU_ASSERT(r.noise_floor_swd == ncsn_swd(flo, n, ref, n, 2, NCSN_SWD_DIRECTIONS, dirs));
    CU_ASSERT(r.nll_true == ncsn_nll_true(&g, s, n));
    CU_ASSERT(r.fd == ncsn_fd(s, n, ref, n, 2));
    CU_ASSERT(r.noise_floor_fd == ncsn_fd(flo, n, ref, n, 2));
    CU_ASSERT(isnan(r.nn_ratio)); /* no training points */
    double w[2];
    ncsn_mode_weights(&g, s, n, w);
    CU_ASSERT_FATAL(r.K == 2 && r.mode_weights != NULL);
    CU_ASSERT(r.mode_weights[0] == w[0] && r.mode_weights[1] == w[1]);
    CU_ASSERT(r.mode_weight_error == fmax(fabs(w[0] - 0.95), fabs(w[1] - 0.05)));
    CU_ASSERT(r.n_nonfinite == 0);
    CU_ASSERT(r.final_loss == 7); /* not touched */
    CU_ASSERT_FATAL(r.L == L && r.score_error != NULL);
    for (int l = 0; l < L; l++) CU_ASSERT(isnan(r.score_error[l])); /* no model */
    /* Shrunk samples are further from the reference than fresh data is. */
    CU_ASSERT(r.mmd2 > r.noise_floor_mmd2);
    CU_ASSERT(r.swd > r.noise_floor_swd);
    CU_ASSERT(r.fd > r.noise_floor_fd);
    double floor_mmd = r.noise_floor_mmd2, floor_swd = r.noise_floor_swd;
    ncsn_metrics_free(&r);
    CU_ASSERT(r.mode_weights == NULL && r.score_error == NULL);
    ncsn_metrics_free(&r); /* twice is fine */

    /* Bad samples (two not finite, one far away) are counted and left out: every sample
     * metric is that of the n - 3 others, and the floors are unaffected. */
    s[2 * 3 + 1] = NAN;
    s[2 * 10] = INFINITY;
    s[2 * 20] = 1e6f;
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute(&g, NULL, sig, L, s, n, -8, 8, seed, &r);
    CU_ASSERT(r.n_bad == 3 && r.n_nonfinite == 2);
    float *good = malloc(sizeof(float) * 2 * n);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (i != 3 && i != 10 && i != 20) {
            good[2 * k] = s[2 * i];
            good[2 * k + 1] = s[2 * i + 1];
            k++;
        }
    CU_ASSERT_FATAL(k == n - 3);
    CU_ASSERT(r.mmd2 == ncsn_mmd2_unbiased(good, k, ref, n, 2, h));
    CU_ASSERT(r.swd == ncsn_swd(good, k, ref, n, 2, NCSN_SWD_DIRECTIONS, dirs));
    CU_ASSERT(r.nll_true == ncsn_nll_true(&g, good, k));
    CU_ASSERT(r.fd == ncsn_fd(good, k, ref, n, 2));
    ncsn_mode_weights(&g, good, k, w);
    CU_ASSERT(r.mode_weights[0] == w[0] && r.mode_weights[1] == w[1]);
    CU_ASSERT(r.noise_floor_mmd2 == floor_mmd && r.noise_floor_swd == floor_swd);
    free(good);
    ncsn_metrics_free(&r);

    free(ref);
    free(flo);
    free(s);
    free(sig);
    ncsn_gmm_free(&g);
}

/* ---- thread-count independence (docs/computation.md, Reproducibility) ------------------ */

#define N_OUT 16
/* Everything the module computes, flattened; score errors last. */
static void everything(const ncsn_gmm *g, const ncsn_model *m, double *out /* (N_OUT + 4) */) {
    const int n = 777, L = 4;
    double *sig = geometric_sigmas(20, 0.1, L);
    float *x = gmm_set(g, n, 5, NCSN_RNG_SAMPLE_NOISE);
    float *y = gmm_set(g, n - 100, 6, NCSN_RNG_SAMPLE_NOISE);
    ncsn_key dirs = ncsn_rng_key(5, 0, NCSN_RNG_SWD_DIRS);
    out[0] = ncsn_median_pairwise_distance(x, n, 2);
    out[1] = ncsn_mmd2_unbiased(x, n, y, n - 100, 2, out[0]);
    out[2] = ncsn_swd(x, n, y, n - 100, 2, 64, dirs);
    out[3] = ncsn_nll_true(g, x, n);
    ncsn_metrics r;
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute(g, m, sig, L, x, n, -8, 8, 17, &r);
    double f[] = {r.mmd2, r.swd, r.mode_weight_error, r.nll_true, r.noise_floor_mmd2,
                  r.noise_floor_swd, r.mode_weights[0], r.mode_weights[1]};
    memcpy(out + 4, f, sizeof f);
    out[12] = r.fd;
    out[13] = r.noise_floor_fd;
    float *z = gmm_set(g, n, 7, NCSN_RNG_SAMPLE_NOISE);
    out[14] = ncsn_nn_ratio(x, n, y, n - 100, z, n, 2);
    const uint64_t kept = rng_state; /* the same set on every call */
    rng_state = 99;
    float *u = random_set(300, 37, -1, 1); /* a covariance of several row tiles */
    rng_state = kept;
    out[15] = ncsn_fd(u, 150, u + 150 * 37, 150, 37);
    free(u);
    free(z);
    memcpy(out + N_OUT, r.score_error, sizeof(double) * L);
    ncsn_metrics_free(&r);
    free(x);
    free(y);
    free(sig);
}

/* The notebook's network with the weights of key 3 (untrained). */
static void notebook_model(ncsn_model *m) {
    ncsn_model_alloc(m, 2, 16, 128, NCSN_SIGMA_INPUT_SIGMA, 0);
    ncsn_model_init_params(m, ncsn_rng_key(3, 0, NCSN_RNG_INIT));
}

static void test_thread_count_independence(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    ncsn_model m;
    notebook_model(&m);
    double ref[N_OUT + 4], other[N_OUT + 4];
    for (ncsn_fix_threads th = ncsn_fix_threads_range(1, 3); ncsn_fix_threads_next(&th);) {
        const int t = th.threads;
        everything(&g, &m, t == 1 ? ref : other);
        for (int i = 0; i < N_OUT + 4 && t > 1; i++) {
            if (memcmp(&ref[i], &other[i], sizeof(double)) != 0)
                fprintf(stderr, "\n  output %d: %.17g with 1 thread, %.17g with %d\n", i,
                        ref[i], other[i], t);
            CU_ASSERT(memcmp(&ref[i], &other[i], sizeof(double)) == 0);
        }
    }
    for (int i = 0; i < N_OUT + 4; i++) CU_ASSERT(isfinite(ref[i]));
    ncsn_model_free(&m);
    ncsn_gmm_free(&g);
}

/* ---- timing at the notebook's size (printed, not asserted) ---------------------------- */

static void test_timing_notebook_size(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    ncsn_model m;
    notebook_model(&m);
    const int n = 5000, L = 100;
    double *sig = geometric_sigmas(20, 0.1, L);
    float *s = gmm_set(&g, n, 77, NCSN_RNG_SAMPLE_NOISE);
    float *ref = gmm_set(&g, n, 78, NCSN_RNG_REFERENCE);
    ncsn_key dirs = ncsn_rng_key(1, 0, NCSN_RNG_SWD_DIRS);
    double *err = ncsn_xmalloc(sizeof(double) * L);

    double t0 = ncsn_now();
    double h = ncsn_median_pairwise_distance(ref, n, 2);
    double t1 = ncsn_now();
    double mmd = ncsn_mmd2_unbiased(s, n, ref, n, 2, h);
    double t2 = ncsn_now();
    double swd = ncsn_swd(s, n, ref, n, 2, NCSN_SWD_DIRECTIONS, dirs);
    double t3 = ncsn_now();
    ncsn_score_error(&m, &g, sig, L, NCSN_SCORE_ERROR_POINTS,
                     ncsn_rng_key(1, 0, NCSN_RNG_SCORE_ERROR), err);
    double t4 = ncsn_now();
    ncsn_metrics r;
    memset(&r, 0, sizeof r);
    ncsn_metrics_compute(&g, &m, sig, L, s, n, -8, 8, 1, &r);
    double t5 = ncsn_now();
    printf("\n  n=%d D=2 L=%d threads=%d: median %.3fs, mmd2 %.3fs, swd %.3fs, "
           "score_error %.3fs; ncsn_metrics_compute %.3fs\n"
           "  (h %.4f mmd2 %.2e swd %.4f; floor mmd2 %.2e swd %.4f; score_error[0] %.3f) ",
           n, L, ncsn_max_threads(), t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, h, mmd, swd,
           r.noise_floor_mmd2, r.noise_floor_swd, r.score_error[0]);
    CU_ASSERT(isfinite(r.mmd2) && isfinite(r.swd) && isfinite(r.score_error[L - 1]));
    ncsn_metrics_free(&r);
    free(err);
    free(s);
    free(ref);
    free(sig);
    ncsn_model_free(&m);
    ncsn_gmm_free(&g);
}

/* ---- registration -------------------------------------------------------------------- */

static const ncsn_test_case tests[] = {
    {"median matches brute force", test_median_matches_brute_force},
    {"median with ties, sorted input, large n", test_median_ties_sorted_large},
    {"median of degenerate input is NaN", test_median_degenerate},
    {"mmd2 matches brute force", test_mmd2_matches_brute_force},
    {"mmd2 same mixture ~0, shifted > 0", test_mmd2_same_vs_shifted},
    {"swd in 1-D: shift by c is |c|", test_swd_1d_shift},
    {"swd with unequal sizes", test_swd_unequal_sizes},
    {"swd is symmetric", test_swd_symmetric},
    {"swd in 2-D: shift and directions", test_swd_2d_shift_and_directions},
    {"swd of non-finite input is NaN", test_swd_nonfinite},
    {"bad-sample radius, and a sample either side of it", test_bad_radius},
    {"mode weights", test_mode_weights_hand_made},
    {"nll_true closed form", test_nll_true_closed_form},
    {"score error of a zero model is 1", test_score_error_zero_model},
    {"score error of a linear model", test_score_error_linear_model},
    {"score error points come from q_sigma", test_score_error_points_from_q_sigma},
    {"fd closed form: diagonal, rotated", test_fd_closed_form_diagonal_and_rotated},
    {"fd closed form: non-commuting 2x2", test_fd_closed_form_noncommuting},
    {"mean and covariance match brute force", test_mean_cov_brute_force},
    {"fd of points: fitted Gaussians, self 0, NaN", test_fd_of_points},
    {"fd at D=64", test_fd_dimension_64},
    {"nearest distances match brute force", test_nearest_distances_brute_force},
    {"nn_ratio: copies 0, fresh 1, off the data >> 1", test_nn_ratio},
    {"compute_sets: fd, floor, nn_ratio", test_compute_sets_fd_nn},
    {"metrics_compute consistent, bad samples left out", test_compute_consistent},
    {"bit-identical for 1, 2, 3 threads", NCSN_OPENMP_ONLY(test_thread_count_independence)},
    {"timing at n=5000, D=2 (printed)", test_timing_notebook_size},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("metrics", tests);
}
