/* test_model.c: the network's gradients, the DSM loss, Adam, and thread invariance of
 * the batch gradient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/config.h"
#include "ncsn/model.h"
#include "ncsn/noise.h"
#include "ncsn/rng.h"
#include "ncsn/train.h"

enum { D = 3, E = 8, H = 16, B = 37, L = 5 };

typedef struct {
    ncsn_model m;
    float x[B * D], z[B * D];
    int levels[B];
    float sigmas[L];
} fixture;

static void make_fixture(fixture *f, int sigma_input, int scale_by_sigma) {
    ncsn_model_alloc(&f->m, D, E, H, sigma_input, scale_by_sigma);
    ncsn_model_init_params(&f->m, ncsn_rng_key(7, 0, NCSN_RNG_INIT));
    ncsn_key k = ncsn_rng_key(11, 0, NCSN_RNG_MISC);
    ncsn_rng_fill_normal(k, 0, 0, B * D, f->x);
    ncsn_rng_fill_normal(k, 1, 0, B * D, f->z);
    ncsn_fix_sigmas(5.0, 0.2, L, f->sigmas);
    for (int b = 0; b < B; b++) f->levels[b] = b % L;
}

/* An independent double-precision forward pass of the mean DSM loss, written from
 * docs/computation.md (Score network, Training objective), over parameters P laid out like
 * ncsn_model's block. pat (B, E + H)
 * receives the ReLU pattern (signs of every pre-activation). */
static double reference_loss(const fixture *f, const double *P, unsigned char *pat) {
    const double *e0w = P, *e0b = e0w + E, *e2w = e0b + E, *e2b = e2w + E * E;
    const double *w1 = e2b + E, *b1 = w1 + H * (D + E), *w2 = b1 + H, *b2 = w2 + D * H;
    const int sigma_input = f->m.sigma_input, scale_by_sigma = f->m.scale_by_sigma;
    double total = 0;
    for (int b = 0; b < B; b++) {
        double sigma = f->sigmas[f->levels[b]];
        double t = sigma_input == NCSN_SIGMA_INPUT_LOG_SIGMA ? log(sigma) : sigma;
        double a0[E], e[E], in[D + E], h[H];
        for (int j = 0; j < E; j++) {
            a0[j] = e0w[j] * t + e0b[j];
            pat[b * (E + H) + j] = a0[j] > 0;
        }
        for (int o = 0; o < E; o++) {
            e[o] = e2b[o];
            for (int j = 0; j < E; j++) e[o] += e2w[o * E + j] * (a0[j] > 0 ? a0[j] : 0);
        }
        for (int d = 0; d < D; d++) in[d] = (double)f->x[b * D + d] + sigma * f->z[b * D + d];
        for (int j = 0; j < E; j++) in[D + j] = e[j];
        for (int o = 0; o < H; o++) {
            double z1 = b1[o];
            for (int j = 0; j < D + E; j++) z1 += w1[o * (D + E) + j] * in[j];
            pat[b * (E + H) + E + o] = z1 > 0;
            h[o] = z1 > 0 ? z1 : 0;
        }
        for (int d = 0; d < D; d++) {
            double s = b2[d];
            for (int o = 0; o < H; o++) s += w2[d * H + o] * h[o];
            if (scale_by_sigma) s /= sigma;
            double r = sigma * s + f->z[b * D + d];
            total += 0.5 * r * r;
        }
    }
    return total / B;
}

/* For each tensor: the derivative along a random unit direction within that tensor, by
 * central differences of the double-precision reference loss, against the analytic float
 * gradient. Central differences are only valid while a step crosses no ReLU kink, so the
 * step shrinks until the pattern at both ends equals the pattern at the centre. */
static void check_gradients(int sigma_input, int scale_by_sigma) {
    fixture f;
    make_fixture(&f, sigma_input, scale_by_sigma);
    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, &f.m, B);
    float *g = calloc(f.m.n_params, sizeof(float));
    ncsn_model gv;
    ncsn_model_view(&f.m, g, &gv);
    double loss = ncsn_dsm_loss_grad(&f.m, f.x, B, f.levels, f.sigmas, f.z, &gv, &w);
    const size_t np = f.m.n_params;
    double *P = malloc(sizeof(double) * np), *Q = malloc(sizeof(double) * np);
    for (size_t j = 0; j < np; j++) P[j] = f.m.params[j];
    static unsigned char pat0[B * (E + H)], pat[B * (E + H)];
    NCSN_CHECK_CLOSE(reference_loss(&f, P, pat0), loss, 1e-5 * loss);
    ncsn_key kd = ncsn_rng_key(3, 0, NCSN_RNG_MISC);
    for (int t = 0; t < NCSN_MODEL_N_TENSORS; t++) {
        const char *name;
        float *data, *gdata;
        int rows, cols;
        ncsn_model_tensor(&f.m, t, &name, &data, &rows, &cols);
        ncsn_model_tensor(&gv, t, &name, &gdata, &rows, &cols);
        const size_t off = (size_t)(data - f.m.params);
        int count = rows * (cols ? cols : 1);
        float *dir = malloc(sizeof(float) * count);
        ncsn_rng_fill_normal(kd, (uint32_t)t, 0, count, dir);
        double norm = 0, analytic = 0;
        for (int j = 0; j < count; j++) norm += (double)dir[j] * dir[j];
        for (int j = 0; j < count; j++) analytic += (double)gdata[j] * dir[j] / sqrt(norm);
        double h = 1e-3, numeric = 0;
        for (; h > 1e-9; h /= 4) {
            int same = 1;
            memcpy(Q, P, sizeof(double) * np);
            for (int j = 0; j < count; j++) Q[off + j] += h * dir[j] / sqrt(norm);
            double lp = reference_loss(&f, Q, pat);
            same &= memcmp(pat, pat0, sizeof pat) == 0;
            memcpy(Q, P, sizeof(double) * np);
            for (int j = 0; j < count; j++) Q[off + j] -= h * dir[j] / sqrt(norm);
            double lm = reference_loss(&f, Q, pat);
            same &= memcmp(pat, pat0, sizeof pat) == 0;
            numeric = (lp - lm) / (2 * h);
            if (same) break;
        }
        /* the analytic gradient is summed in float: allow 2e-5 relative, and 1e-6 of the loss */
        double tol = 2e-5 * fabs(analytic) + 1e-6 * loss;
        if (getenv("NCSN_TEST_VERBOSE") || !(fabs(numeric - analytic) <= tol))
            fprintf(stderr, "\n  %s (sigma_input %d, scale %d): analytic %.8g numeric %.8g h %g\n",
                    name, sigma_input, scale_by_sigma, analytic, numeric, h);
        CU_ASSERT(fabs(numeric - analytic) <= tol);
        CU_ASSERT(fabs(analytic) > 1e-4); /* every tensor gets a gradient */
        free(dir);
    }
    free(P);
    free(Q);
    free(g);
    ncsn_dsm_work_free(&w);
    ncsn_model_free(&f.m);
}

static void test_gradients_sigma(void) { check_gradients(NCSN_SIGMA_INPUT_SIGMA, 0); }
static void test_gradients_log_sigma(void) { check_gradients(NCSN_SIGMA_INPUT_LOG_SIGMA, 0); }
static void test_gradients_scaled(void) { check_gradients(NCSN_SIGMA_INPUT_SIGMA, 1); }

/* sigma_input none: no embedding (E = 0, D H + H + H D + D parameters) and
 * s(x, sigma) = net(x) / sigma, so sigma s(x, sigma) is the same for every sigma. */
static void test_unconditional_network(void) {
    ncsn_model m;
    ncsn_model_alloc(&m, 3, 16, 20, NCSN_SIGMA_INPUT_NONE, 1);
    CU_ASSERT(m.E == 0 && m.n_params == (size_t)(3 * 20 + 20 + 20 * 3 + 3));
    CU_ASSERT(m.n_params == ncsn_model_param_count(3, 0, 20));
    ncsn_model_init_params(&m, ncsn_rng_key(5, 0, NCSN_RNG_INIT));
    const float x[6] = {0.5f, -1, 2, 3, 0.25f, -0.75f};
    float s1[6], s2[6];
    ncsn_model_score(&m, x, 2, 0.5f, s1);
    ncsn_model_score(&m, x, 2, 4.0f, s2);
    for (int i = 0; i < 6; i++) NCSN_CHECK_CLOSE(0.5 * s1[i], 4.0 * s2[i], 1e-6 * fabs(s1[i]));
    float c[20];
    ncsn_model_level_bias(&m, 7.0f, c);
    CU_ASSERT(memcmp(c, m.bb0_b, sizeof c) == 0); /* the first layer's bias alone */
    ncsn_model_free(&m);
}

static void test_zero_network_loss(void) {
    /* s = 0 gives loss = 1/2 |z|^2 per example: D/2 in expectation, exactly the mean of
     * 1/2 |z|^2 for the given z. */
    enum { N = 4096 };
    ncsn_model m;
    ncsn_model_alloc(&m, D, E, H, 0, 0);
    float *x = calloc(N * D, sizeof(float)), *z = malloc(sizeof(float) * N * D);
    int *lv = calloc(N, sizeof(int));
    float sig[1] = {1.0f};
    ncsn_rng_fill_normal(ncsn_rng_key(5, 0, NCSN_RNG_MISC), 0, 0, N * D, z);
    double expect = 0;
    for (int j = 0; j < N * D; j++) expect += 0.5 * z[j] * z[j];
    expect /= N;
    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, &m, N);
    float *g = calloc(m.n_params, sizeof(float));
    ncsn_model gv;
    ncsn_model_view(&m, g, &gv);
    double loss = ncsn_dsm_loss_grad(&m, x, N, lv, sig, z, &gv, &w);
    NCSN_CHECK_CLOSE(loss, expect, 1e-6 * expect);
    NCSN_CHECK_CLOSE(loss, D / 2.0, 0.1); /* docs/computation.md, Training objective */
    free(g);
    ncsn_dsm_work_free(&w);
    free(x);
    free(z);
    free(lv);
    ncsn_model_free(&m);
}

static void test_adam_hand_computed(void) {
    /* Two steps of Adam on p = [1, -2], g = [0.5, 0.1] then [-0.3, 0.2], lr 0.1, wd 0.01,
     * computed by hand in double from torch.optim.Adam's formulas. */
    float p[2] = {1.0f, -2.0f};
    float g1[2] = {0.5f, 0.1f}, g2[2] = {-0.3f, 0.2f};
    ncsn_adam a;
    ncsn_adam_init(&a, 2, 0.1, 0.01);
    double ep[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
    const double *gs[2] = {(double[]){0.5, 0.1}, (double[]){-0.3, 0.2}};
    for (int t = 1; t <= 2; t++) {
        for (int i = 0; i < 2; i++) {
            double g = gs[t - 1][i] + 0.01 * ep[i];
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            ep[i] -= 0.1 * mh / (sqrt(vh) + 1e-8);
        }
        ncsn_adam_step(&a, p, t == 1 ? g1 : g2);
    }
    NCSN_CHECK_CLOSE(p[0], ep[0], 4e-6);
    NCSN_CHECK_CLOSE(p[1], ep[1], 4e-6);
    /* Adam's first step moves each parameter by lr against the gradient's sign. */
    float q[2] = {1.0f, -2.0f}, gq[2] = {0.5f, -0.1f};
    ncsn_adam b;
    ncsn_adam_init(&b, 2, 0.1, 0.0);
    ncsn_adam_step(&b, q, gq);
    NCSN_CHECK_CLOSE(q[0], 0.9, 1e-6);
    NCSN_CHECK_CLOSE(q[1], -1.9, 1e-6);
    ncsn_adam_free(&b);
    ncsn_adam_free(&a);
}

static void test_init_bounds(void) {
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, 128, 0, 0);
    ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
    /* backbone.0 fan_in = 18, so |w| <= 1/sqrt(18), and the values fill that range */
    float bound = 1.0f / sqrtf(18.0f), mx = 0;
    for (int j = 0; j < 128 * 18; j++) {
        CU_ASSERT(fabsf(m.bb0_w[j]) <= bound);
        if (fabsf(m.bb0_w[j]) > mx) mx = fabsf(m.bb0_w[j]);
    }
    CU_ASSERT(mx > 0.95f * bound);
    /* sigma_emb.0 fan_in = 1: values in [-1, 1] */
    for (int j = 0; j < 16; j++) CU_ASSERT(fabsf(m.emb0_w[j]) <= 1.0f);
    ncsn_model_free(&m);
}

static void test_score_matches_forward(void) {
    /* The per-level bias path (ncsn_model_score) equals the plain forward pass. */
    fixture f;
    make_fixture(&f, NCSN_SIGMA_INPUT_LOG_SIGMA, 1);
    ncsn_acts a;
    ncsn_acts_alloc(&a, &f.m);
    float s[B * D];
    ncsn_model_score(&f.m, f.x, B, 0.7f, s);
    for (int b = 0; b < B; b++) {
        ncsn_model_forward(&f.m, f.x + b * D, 0.7f, &a);
        for (int d = 0; d < D; d++) NCSN_CHECK_CLOSE(s[b * D + d], a.s[d], 1e-5);
    }
    ncsn_acts_free(&a);
    ncsn_model_free(&f.m);
}

/* The batch gradient of nb examples of model m for 1 to n_threads threads: *loss and g
 * (n_threads, n_params) each. */
static void loss_grad_per_thread_count(const ncsn_model *m, const float *x, int nb,
                                       const int *lv, const float *sig, const float *z,
                                       int n_threads, double *loss, float **g) {
    for (ncsn_fix_threads t = ncsn_fix_threads_range(1, n_threads); ncsn_fix_threads_next(&t);) {
        const int r = t.threads - 1;
        ncsn_dsm_work w;
        ncsn_dsm_work_alloc(&w, m, nb);
        g[r] = calloc(m->n_params, sizeof(float));
        ncsn_model gv;
        ncsn_model_view(m, g[r], &gv);
        loss[r] = ncsn_dsm_loss_grad(m, x, nb, lv, sig, z, &gv, &w);
        ncsn_dsm_work_free(&w);
    }
}

static void test_thread_invariance(void) {
    fixture f;
    make_fixture(&f, 0, 0);
    float *g[2];
    double loss[2];
    loss_grad_per_thread_count(&f.m, f.x, B, f.levels, f.sigmas, f.z, 2, loss, g);
    CU_ASSERT(loss[0] == loss[1]);
    CU_ASSERT(memcmp(g[0], g[1], sizeof(float) * f.m.n_params) == 0);
    free(g[0]);
    free(g[1]);
    ncsn_model_free(&f.m);
}

/* A batch of nb examples of dimension dim over n_levels levels from 20 down to 0.1: x and z
 * (nb, dim) standard normal under key (streams 0 and 1), level of example b (b * mul + add)
 * mod n_levels. */
typedef struct {
    float *x, *z, *sig;
    int *lv;
} batch;

static void batch_init(batch *bt, int nb, int dim, int n_levels, ncsn_key key, int mul, int add) {
    bt->x = malloc(sizeof(float) * nb * dim);
    bt->z = malloc(sizeof(float) * nb * dim);
    bt->lv = malloc(sizeof(int) * nb);
    bt->sig = malloc(sizeof(float) * n_levels);
    ncsn_rng_fill_normal(key, 0, 0, nb * dim, bt->x);
    ncsn_rng_fill_normal(key, 1, 0, nb * dim, bt->z);
    for (int b = 0; b < nb; b++) bt->lv[b] = (b * mul + add) % n_levels;
    ncsn_fix_sigmas(20.0, 0.1, n_levels, bt->sig);
}

static void batch_free(batch *bt) {
    free(bt->x);
    free(bt->z);
    free(bt->lv);
    free(bt->sig);
}

/* The fast path (ncsn_dsm_loss_grad) against the per-example reference path, at the
 * notebook's sizes and at the fixture's, for every input option: same loss and gradient up
 * to float rounding (each tensor compared relative to its largest element). */
static void compare_fast_reference(int Dm, int Em, int Hm, int Bm, int Lm, int opt) {
    ncsn_model m;
    ncsn_fix_model_alloc(&m, Dm, Em, Hm, opt);
    ncsn_model_init_params(&m, ncsn_rng_key(8, 1, NCSN_RNG_INIT));
    batch bt;
    batch_init(&bt, Bm, Dm, Lm, ncsn_rng_key(12, 0, NCSN_RNG_MISC), 37, 11);
    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, &m, Bm);
    float *g1 = calloc(m.n_params, sizeof(float)), *g2 = calloc(m.n_params, sizeof(float));
    ncsn_model v1, v2;
    ncsn_model_view(&m, g1, &v1);
    ncsn_model_view(&m, g2, &v2);
    double l1 = ncsn_dsm_loss_grad(&m, bt.x, Bm, bt.lv, bt.sig, bt.z, &v1, &w);
    double l2 = ncsn_dsm_loss_grad_reference(&m, bt.x, Bm, bt.lv, bt.sig, bt.z, &v2, &w);
    NCSN_CHECK_CLOSE(l1, l2, 1e-6 * l2);
    char label[96];
    snprintf(label, sizeof label, "D %d E %d H %d B %d, option %d", Dm, m.E, Hm, Bm, opt);
    ncsn_fix_check_grads_close(&m, g1, g2, 1e-4, label);
    free(g1);
    free(g2);
    ncsn_dsm_work_free(&w);
    batch_free(&bt);
    ncsn_model_free(&m);
}

static void test_fast_matches_reference(void) {
    for (int opt = 0; opt < NCSN_FIX_MODEL_OPTIONS; opt++) {
        compare_fast_reference(2, 16, 128, 128, 100, opt); /* the notebook's network */
        compare_fast_reference(D, E, H, B, L, opt);
        compare_fast_reference(5, 8, 24, 1000, 7, opt);
    }
}

static void test_large_batch_thread_invariance(void) {
    /* big enough that the fast path runs its parallel region */
    enum { NB = 4096 };
    ncsn_model m;
    ncsn_model_alloc(&m, 2, 16, 128, 0, 0);
    ncsn_model_init_params(&m, ncsn_rng_key(3, 0, NCSN_RNG_INIT));
    batch bt;
    batch_init(&bt, NB, 2, 10, ncsn_rng_key(4, 0, NCSN_RNG_MISC), 7, 0);
    float *g[3];
    double loss[3];
    loss_grad_per_thread_count(&m, bt.x, NB, bt.lv, bt.sig, bt.z, 3, loss, g);
    for (int r = 1; r < 3; r++) {
        CU_ASSERT(loss[0] == loss[r]);
        CU_ASSERT(memcmp(g[0], g[r], sizeof(float) * m.n_params) == 0);
    }
    for (int r = 0; r < 3; r++) free(g[r]);
    batch_free(&bt);
    ncsn_model_free(&m);
}

/* The fast path's two builds, AVX2+FMA (vfmadd) and the baseline (fmaf per lane), give the
 * same loss and gradient bit for bit, for the notebook's network (the D = 2 kernels), the
 * general kernels (D = 5, 3) and every input option; then 30 training steps of the
 * notebook's network (draws, fast path and Adam of each build) give the same weights.
 * Trivially true on a CPU without AVX2 and FMA, where both runs take the baseline. */
static double loss_grad_isa(int isa, const ncsn_model *m, const float *x, int Bm,
                            const int *lv, const float *sig, const float *z, float *g) {
    ncsn_isa_force(isa);
    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, m, Bm);
    ncsn_model gv;
    ncsn_model_view(m, g, &gv);
    double loss = ncsn_dsm_loss_grad(m, x, Bm, lv, sig, z, &gv, &w);
    ncsn_dsm_work_free(&w);
    ncsn_isa_force(NCSN_ISA_AUTO);
    return loss;
}

static void test_fast_isa_variants_identical(void) {
    const int shapes[3][5] = {{2, 16, 128, 128, 100}, {5, 8, 24, 300, 7}, {D, E, H, B, L}};
    for (int sh = 0; sh < 3; sh++)
        for (int opt = 0; opt < NCSN_FIX_MODEL_OPTIONS; opt++) {
            const int Dm = shapes[sh][0], Em = shapes[sh][1], Hm = shapes[sh][2];
            const int Bm = shapes[sh][3], Lm = shapes[sh][4];
            ncsn_model m;
            ncsn_fix_model_alloc(&m, Dm, Em, Hm, opt);
            ncsn_model_init_params(&m, ncsn_rng_key(9, (uint32_t)sh, NCSN_RNG_INIT));
            batch bt;
            batch_init(&bt, Bm, Dm, Lm, ncsn_rng_key(13, (uint32_t)sh, NCSN_RNG_MISC), 37, 11);
            float *g0 = calloc(m.n_params, sizeof(float)), *g1 = calloc(m.n_params, sizeof(float));
            double l0 = loss_grad_isa(NCSN_ISA_BASELINE, &m, bt.x, Bm, bt.lv, bt.sig, bt.z, g0);
            double l1 = loss_grad_isa(NCSN_ISA_AVX2_FMA, &m, bt.x, Bm, bt.lv, bt.sig, bt.z, g1);
            CU_ASSERT(l0 == l1);
            CU_ASSERT(memcmp(g0, g1, sizeof(float) * m.n_params) == 0);
            free(g0);
            free(g1);
            batch_free(&bt);
            ncsn_model_free(&m);
        }
    /* training steps */
    ncsn_config cfg;
    ncsn_config_default(&cfg);
    cfg.train.steps = 30;
    cfg.train.log_every = 10;
    double sd[100];
    ncsn_noise_levels(20.0, 0.1, 100, sd);
    float xs[2 * 500];
    ncsn_rng_fill_normal(ncsn_rng_key(14, 0, NCSN_RNG_MISC), 0, 0, 2 * 500, xs);
    float *params[2];
    for (int r = 0; r < 2; r++) {
        ncsn_isa_force(r ? NCSN_ISA_AVX2_FMA : NCSN_ISA_BASELINE);
        ncsn_model m;
        ncsn_model_alloc(&m, 2, 16, 128, 0, 0);
        ncsn_model_init_params(&m, ncsn_rng_key(15, 0, NCSN_RNG_INIT));
        ncsn_train_log log;
        CU_ASSERT(ncsn_train(&cfg, 0, sd, 100, xs, 500, &m, NULL, &log, NULL, NULL) == 0);
        params[r] = malloc(sizeof(float) * m.n_params);
        memcpy(params[r], m.params, sizeof(float) * m.n_params);
        CU_ASSERT(memcmp(params[0], params[r], sizeof(float) * m.n_params) == 0);
        ncsn_train_log_free(&log);
        ncsn_model_free(&m);
    }
    ncsn_fix_isa_auto();
    free(params[0]);
    free(params[1]);
    ncsn_config_free(&cfg);
}

/* The trainer's draws are their definition (train.h, ncsn_train_draws): each example's level
 * and each coordinate's normal from its own counter, for batches that fill whole groups of
 * the draws (32 examples where D <= 4, else 8) and ones that end inside one, at D with and
 * without a partial block of 4 coordinates and of 16, at two steps, in every variant this CPU
 * has (the baseline's Philox by SSE2, AVX2's, AVX-512's). */
static void test_train_draws_definition(void) {
    const ncsn_key kl = ncsn_rng_key(31, 2, NCSN_RNG_TRAIN_LEVEL);
    const ncsn_key kn = ncsn_rng_key(31, 2, NCSN_RNG_TRAIN_NOISE);
    const int batches[] = {128, 104, 5, 77}, dims[] = {1, 2, 3, 4, 5, 7, 13, 16, 17, 20, 64};
    const int L = 100;
    for (int isa = NCSN_ISA_BASELINE; isa <= ncsn_isa_best(); isa++)
        for (int bi = 0; bi < 4; bi++)
            for (int di = 0; di < 11; di++)
                for (uint32_t step = 0; step < 2000; step += 1999) {
                    ncsn_isa_force(isa);
                    const int bsz = batches[bi], Dd = dims[di];
                    int *lv = malloc(sizeof(int) * bsz);
                    float *z = malloc(sizeof(float) * (size_t)bsz * Dd);
                    ncsn_train_draws(kl, kn, step, bsz, L, Dd, lv, z);
                    int bad = 0;
                    for (int b = 0; b < bsz; b++) {
                        float u[4];
                        ncsn_rng_uniform4(kl, step, (uint32_t)b, 0, u);
                        const int want = (int)(u[0] * (float)L) < L ? (int)(u[0] * (float)L) : L - 1;
                        bad += lv[b] != want;
                        for (int c = 0; 4 * c < Dd; c++) {
                            float n4[4];
                            ncsn_rng_normal4_poly(kn, step, (uint32_t)b, (uint32_t)c, n4);
                            for (int q = 0; q < 4 && 4 * c + q < Dd; q++)
                                bad += memcmp(&z[(size_t)b * Dd + 4 * c + q], &n4[q], sizeof(float)) != 0;
                        }
                    }
                    if (bad)
                        fprintf(stderr, "\n  draws (%s): batch %d, D %d, step %u: %d differ\n",
                                ncsn_isa_name(isa), bsz, Dd, step, bad);
                    CU_ASSERT(bad == 0);
                    free(lv), free(z);
                }
    ncsn_isa_force(NCSN_ISA_AUTO);
}

static const ncsn_test_case tests[] = {
    {"finite-difference gradients, sigma input", test_gradients_sigma},
    {"finite-difference gradients, log sigma input", test_gradients_log_sigma},
    {"finite-difference gradients, scale by sigma", test_gradients_scaled},
    {"zero network scores D/2", test_zero_network_loss},
    {"sigma_input none: net(x) / sigma, no embedding", test_unconditional_network},
    {"Adam against hand-computed steps", test_adam_hand_computed},
    {"nn.Linear initialisation bounds", test_init_bounds},
    {"per-level bias path equals forward", test_score_matches_forward},
    {"batch gradient identical for 1 and 2 threads", NCSN_OPENMP_ONLY(test_thread_invariance)},
    {"fast loss and gradient equal the reference path", test_fast_matches_reference},
    {"large batch gradient identical for 1, 2, 3 threads",
     NCSN_OPENMP_ONLY(test_large_batch_thread_invariance)},
    {"fast path and training: AVX2+FMA and baseline give the same bits",
     test_fast_isa_variants_identical},
    {"training draws: each level and normal from its own counter", test_train_draws_definition},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("model", tests);
}
