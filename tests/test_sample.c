/* test_sample.c: noise levels, the mixture's exact score and density, and the Langevin
 * samplers driven by the exact score (the notebook's demonstration). */
#include <string.h>

#include "fixtures.h"
#include "ncsn/data.h"
#include "ncsn/metrics.h"
#include "ncsn/noise.h"
#include "ncsn/sample.h"

static void test_noise_levels(void) {
    double s[100];
    ncsn_noise_levels(20.0, 0.1, 100, s);
    CU_ASSERT(s[0] == 20.0 || fabs(s[0] - 20.0) < 1e-12);
    NCSN_CHECK_CLOSE(s[99], 0.1, 1e-15);
    double gamma = pow(200.0, 1.0 / 99.0);
    for (int i = 1; i < 100; i++) NCSN_CHECK_CLOSE(s[i - 1] / s[i], gamma, 1e-12);
    ncsn_noise_levels(3.0, 1.0, 1, s);
    CU_ASSERT(s[0] == 3.0);
}

static void test_exact_score_vs_finite_differences(void) {
    ncsn_gmm g;
    double w[3] = {0.5, 0.3, 0.2}, mu[9] = {0, 0, 1, 2, -1, 0, -2, 1, 3}, sd[3] = {1, 0.5, 2};
    CU_ASSERT_FATAL(ncsn_gmm_init(&g, 3, 3, w, mu, sd) == 0);
    float pts[4][3] = {{0.3f, -0.2f, 0.9f}, {2, -1, 0}, {-3, 1, 2}, {0.7f, 0.7f, 0.7f}};
    const double sigmas[3] = {0.0, 0.3, 2.5};
    for (int p = 0; p < 4; p++)
        for (int si = 0; si < 3; si++) {
            double grad[3];
            ncsn_gmm_score(&g, pts[p], sigmas[si], grad);
            for (int d = 0; d < 3; d++) {
                /* central differences of log q_sigma with a step exact in float */
                float xp[3], xm[3];
                memcpy(xp, pts[p], sizeof xp);
                memcpy(xm, pts[p], sizeof xm);
                const float h = 1.0f / 256;
                xp[d] += h;
                xm[d] -= h;
                double fd = (ncsn_gmm_log_prob(&g, xp, sigmas[si]) -
                             ncsn_gmm_log_prob(&g, xm, sigmas[si])) / (2.0 * h);
                NCSN_CHECK_CLOSE(grad[d], fd, 1e-4 * (1 + fabs(fd)));
            }
        }
    /* log density of one isotropic Gaussian in closed form */
    ncsn_gmm one;
    double w1[1] = {1}, mu1[2] = {1, -1}, sd1[1] = {2};
    CU_ASSERT_FATAL(ncsn_gmm_init(&one, 2, 1, w1, mu1, sd1) == 0);
    float x[2] = {0, 0};
    double var = 4 + 0.25; /* std^2 + sigma^2 */
    NCSN_CHECK_CLOSE(ncsn_gmm_log_prob(&one, x, 0.5), -2 / (2 * var) - log(2 * M_PI * var), 1e-12);
    ncsn_gmm_free(&one);
    ncsn_gmm_free(&g);
}

static void test_gmm_sampling_moments(void) {
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    enum { N = 20000 };
    float *x = malloc(sizeof(float) * N * 2);
    ncsn_gmm_sample(&g, ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_DATA), 0, N, x);
    double w[2];
    ncsn_mode_weights(&g, x, N, w);
    NCSN_CHECK_CLOSE(w[1], 0.05, 0.006); /* 4 standard errors */
    double m = 0, v = 0;
    int c = 0;
    for (int i = 0; i < N; i++)
        if (x[2 * i] < 0) {
            m += x[2 * i];
            v += (x[2 * i] + 5) * (x[2 * i] + 5);
            c++;
        }
    NCSN_CHECK_CLOSE(m / c, -5.0, 0.03);
    NCSN_CHECK_CLOSE(v / c, 1.0, 0.05);
    free(x);
    ncsn_gmm_free(&g);
}

static double minor_weight_after(const ncsn_sampler *s, ncsn_score_fn score, int n, float *x) {
    ncsn_sampler_start(ncsn_rng_key(2, 0, NCSN_RNG_SAMPLE_START), n, 2, -8, 8, x);
    ncsn_sample(s, score, ncsn_rng_key(2, 0, NCSN_RNG_SAMPLE_NOISE), x, n, 2, NULL, NULL);
    double w[2];
    ncsn_mode_weights(score.gmm, x, n, w);
    return w[1];
}

static void test_annealed_recovers_weights(void) {
    /* Annealed Langevin with the exact perturbed score recovers the 0.05 mode; plain
     * Langevin with the exact data score does not (the notebook's point). */
    enum { N = 5000 };
    ncsn_gmm g;
    ncsn_fix_notebook_gmm(&g);
    double sig[100];
    ncsn_noise_levels(20, 0.1, 100, sig);
    float *x = malloc(sizeof(float) * N * 2);
    ncsn_score_fn score = {NULL, &g};
    ncsn_sampler annealed = {NCSN_SAMPLE_ANNEALED, 100, 0.001, 0, sig, 100};
    double w_annealed = minor_weight_after(&annealed, score, N, x);
    printf("(annealed minor weight %.4f) ", w_annealed);
    CU_ASSERT(fabs(w_annealed - 0.05) < 0.015);
    ncsn_sampler plain = {NCSN_SAMPLE_PLAIN, 1000, 0.01, 0, sig, 100};
    double w_plain = minor_weight_after(&plain, score, N, x);
    printf("(plain minor weight %.4f) ", w_plain);
    CU_ASSERT(fabs(w_plain - 0.05) > 0.2);
    free(x);
    ncsn_gmm_free(&g);
}

static void test_sampler_thread_invariance(void) {
    enum { N = 300 };
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, 32, 0, 1);
    ncsn_model_init_params(&m, ncsn_rng_key(4, 0, NCSN_RNG_INIT));
    double sig[10];
    ncsn_noise_levels(20, 0.1, 10, sig);
    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, 20, 0.001, 1, sig, 10};
    ncsn_score_fn score = {&m, NULL};
    float *x[3];
    for (ncsn_fix_threads th = ncsn_fix_threads_range(1, 3); ncsn_fix_threads_next(&th);) {
        const int t = th.threads;
        x[t - 1] = malloc(sizeof(float) * N * 2);
        ncsn_sampler_start(ncsn_rng_key(9, 0, NCSN_RNG_SAMPLE_START), N, 2, -8, 8, x[t - 1]);
        ncsn_sample(&s, score, ncsn_rng_key(9, 0, NCSN_RNG_SAMPLE_NOISE), x[t - 1], N, 2, NULL,
                    NULL);
    }
    CU_ASSERT(memcmp(x[0], x[1], sizeof(float) * N * 2) == 0);
    CU_ASSERT(memcmp(x[0], x[2], sizeof(float) * N * 2) == 0);
    /* and the blocked sampler's network equals the reference path: one step, no noise
     * influence check by recomputing the score of the final points both ways */
    float s1[2 * 8], s2[2 * 8];
    ncsn_model_score(&m, x[0], 8, 0.5f, s1);
    for (int i = 0; i < 8; i++) ncsn_model_score(&m, x[0] + 2 * i, 1, 0.5f, s2 + 2 * i);
    CU_ASSERT(memcmp(s1, s2, sizeof s1) == 0);
    for (int t = 0; t < 3; t++) free(x[t]);
    ncsn_model_free(&m);
}

static void test_philox_lanes_and_poly_normals(void) {
    /* The lane Philox equals Random123's; the polynomial Box-Muller is within 1e-6 of the
     * exact transform of the same uniforms, including the extreme words. */
    ncsn_key k = ncsn_rng_key(21, 3, NCSN_RNG_SAMPLE_NOISE);
    double worst = 0;
    for (uint32_t a = 0; a < 64; a++) {
        uint32_t lanes[4][NCSN_RNG_LANES];
        ncsn_philox_lanes(k, a, 1000 * a, a & 3, a & 1, lanes);
        for (int l = 0; l < NCSN_RNG_LANES; l++) {
            uint32_t ref[4];
            ncsn_rng_u32x4(k, a, 1000 * a + (uint32_t)l, a & 3, a & 1, ref);
            for (int i = 0; i < 4; i++) CU_ASSERT(lanes[i][l] == ref[i]);
        }
    }
    for (uint32_t i = 0; i < 200000; i++) {
        uint32_t u1[NCSN_RNG_LANES], u2[NCSN_RNG_LANES];
        float zc[NCSN_RNG_LANES], zs[NCSN_RNG_LANES];
        for (int l = 0; l < NCSN_RNG_LANES; l++) {
            uint32_t w[4];
            ncsn_rng_u32x4(k, i, (uint32_t)l, 0, 0, w);
            u1[l] = i < 16 ? (i & 1 ? 0u : 0xffffffffu) : w[0];
            u2[l] = i < 16 ? (uint32_t)l << 29 | (i << 9) : w[1];
        }
        ncsn_box_muller_lanes(u1, u2, zc, zs);
        for (int l = 0; l < NCSN_RNG_LANES; l++) {
            double u = ((u1[l] >> 9) + 0.5) / 8388608.0, v = ((u2[l] >> 9) + 0.5) / 8388608.0;
            double r = sqrt(-2 * log(u));
            double ec = r * cos(2 * M_PI * v), es = r * sin(2 * M_PI * v);
            double err = fmax(fabs(zc[l] - ec), fabs(zs[l] - es)) / fmax(1.0, r);
            if (err > worst) worst = err;
        }
    }
    /* the 32-lane form equals the 8-lane form lane for lane, extreme words included */
    int same = 1;
    for (uint32_t i = 0; i < 20000; i++) {
        ncsn_v32u u1, u2;
        ncsn_v32f c32, s32;
        for (int l = 0; l < 32; l++) {
            uint32_t w[4];
            ncsn_rng_u32x4(k, i, (uint32_t)l, 1, 0, w);
            u1[l] = i < 4 ? (i & 1 ? 0u : 0xffffffffu) ^ (uint32_t)l : w[0];
            u2[l] = i < 4 ? (uint32_t)l << 27 | (i << 9) : w[1];
        }
        ncsn_box_muller_v32(&u1, &u2, &c32, &s32);
        for (int j = 0; j < 4; j++) {
            ncsn_v8u a, b;
            ncsn_v8f c8, s8;
            memcpy(&a, (uint32_t *)&u1 + 8 * j, sizeof a);
            memcpy(&b, (uint32_t *)&u2 + 8 * j, sizeof b);
            ncsn_box_muller_v8(&a, &b, &c8, &s8);
            same &= memcmp(&c8, (float *)&c32 + 8 * j, sizeof c8) == 0 &&
                    memcmp(&s8, (float *)&s32 + 8 * j, sizeof s8) == 0;
        }
    }
    CU_ASSERT(same);
    printf("(worst normal error %.2g) ", worst);
    CU_ASSERT(worst < 1e-6);
    float p4[4], q4[4];
    ncsn_rng_normal4_poly(k, 5, 6, 7, p4);
    ncsn_rng_normal4(k, 5, 6, 7, q4);
    for (int i = 0; i < 4; i++) NCSN_CHECK_CLOSE(p4[i], q4[i], 1e-5 * (1 + fabs(q4[i])));
}

/* The D = 2 kernel (sample_d2.inc: the network rewritten per level to save a multiply, all
 * four pivot kinds, units kept in the written form, ReLU by max) against the network as
 * written: one step from known points equals x + alpha/2 s(x) + sqrt(alpha) z with s from
 * ncsn_model_score and z from ncsn_rng_normal4_poly, to float rounding. Chains 0..36 cover
 * full and partial groups. */
static void test_d2_kernel_matches_network(void) {
    enum { N = 37 };
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, 64, 0, 1);
    ncsn_model_init_params(&m, ncsn_rng_key(6, 0, NCSN_RNG_INIT));
    for (int o = 0; o < 64; o++) { /* pivots on x0 and x1, both signs; zero and tiny rows */
        float *w = m.bb0_w + (size_t)o * 18;
        if (o % 4 == 1) w[0] = -w[0];
        if (o % 4 == 2) w[1] = 3 * w[1] + (w[1] > 0 ? 1 : -1);
        if (o == 5) w[0] = w[1] = 0;
        if (o == 9) w[0] = 1e-42f, w[1] = 0;
    }
    double sigma = 0.7;
    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, 1, 0.01, 0, &sigma, 1};
    ncsn_score_fn score = {&m, NULL};
    float x[2 * N], x0[2 * N], sc[2 * N];
    ncsn_key k_start = ncsn_rng_key(3, 0, NCSN_RNG_SAMPLE_START);
    ncsn_key k_noise = ncsn_rng_key(3, 0, NCSN_RNG_SAMPLE_NOISE);
    ncsn_sampler_start(k_start, N, 2, -8, 8, x);
    memcpy(x0, x, sizeof x);
    ncsn_sample(&s, score, k_noise, x, N, 2, NULL, NULL);
    ncsn_model_score(&m, x0, N, (float)sigma, sc);
    const float half_alpha = (float)(0.01 / 2), sqrt_alpha = (float)sqrt(0.01);
    double worst = 0;
    for (int c = 0; c < N; c++) {
        float z[4];
        ncsn_rng_normal4_poly(k_noise, 0, (uint32_t)c, 0, z);
        for (int d = 0; d < 2; d++) {
            float want = x0[2 * c + d] + (half_alpha * sc[2 * c + d] + sqrt_alpha * z[d]);
            double err = fabs(x[2 * c + d] - want) / (1 + fabs(want));
            if (err > worst) worst = err;
        }
    }
    printf("(worst %.2g) ", worst);
    CU_ASSERT(worst < 1e-5);
    ncsn_model_free(&m);
}

/* The AVX2+FMA and AVX-512 variants of the D = 2 kernel (vfmadd, groups of several vectors,
 * Philox in 8- or 16-lane registers) against the baseline (fmaf per lane, groups of 8): the
 * same bits, over levels with both step parities, partial groups and every pivot kind.
 * Passes trivially on a CPU without AVX2 and FMA, where every run takes the baseline. */
static void test_d2_isa_variants_identical(void) {
    enum { N = 77, H = 128 };
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, H, 0, 1);
    ncsn_model_init_params(&m, ncsn_rng_key(8, 0, NCSN_RNG_INIT));
    for (int o = 0; o < H; o++) { /* pivots on x0 and x1, both signs; a unit kept as written */
        float *w = m.bb0_w + (size_t)o * 18;
        if (o % 4 == 1) w[0] = -w[0];
        if (o % 4 == 2) w[1] = 3 * w[1] + (w[1] > 0 ? 1 : -1);
        if (o == 7) w[0] = w[1] = 0;
    }
    double sig[3];
    ncsn_noise_levels(5, 0.1, 3, sig);
    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, 7, 0.01, 1, sig, 3}; /* odd T: odd first steps */
    ncsn_score_fn score = {&m, NULL};
    float x[3][2 * N];
    const int isa[3] = {NCSN_ISA_BASELINE, NCSN_ISA_AVX2_FMA, NCSN_ISA_AVX512};
    for (int k = 0; k < 3; k++) {
        ncsn_isa_force(isa[k]); /* (capped at what the CPU has) */
        ncsn_sampler_start(ncsn_rng_key(8, 0, NCSN_RNG_SAMPLE_START), N, 2, -8, 8, x[k]);
        ncsn_sample(&s, score, ncsn_rng_key(8, 0, NCSN_RNG_SAMPLE_NOISE), x[k], N, 2, NULL, NULL);
    }
    ncsn_fix_isa_auto();
    CU_ASSERT(memcmp(x[0], x[1], sizeof x[0]) == 0);
    CU_ASSERT(memcmp(x[0], x[2], sizeof x[0]) == 0);
    int finite = 1;
    for (int i = 0; i < 2 * N; i++) finite &= isfinite(x[0][i]);
    CU_ASSERT(finite);
    ncsn_model_free(&m);
}

static const ncsn_test_case tests[] = {
    {"geometric noise levels", test_noise_levels},
    {"exact score equals finite differences of log q", test_exact_score_vs_finite_differences},
    {"mixture sampling weights and moments", test_gmm_sampling_moments},
    {"annealed recovers the 0.05 weight, plain does not", test_annealed_recovers_weights},
    {"sampling identical for 1, 2, 3 threads",
     NCSN_OPENMP_ONLY(test_sampler_thread_invariance)},
    {"lane Philox and polynomial Box-Muller", test_philox_lanes_and_poly_normals},
    {"the D = 2 kernel equals the network as written", test_d2_kernel_matches_network},
    {"the D = 2 kernel: AVX2+FMA, AVX-512 and baseline give the same bits",
     test_d2_isa_variants_identical},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("sample", tests);
}
