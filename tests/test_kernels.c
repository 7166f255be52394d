/* test_kernels.c: the blocked kernels at any D and width (gemm.h, the training path of
 * train/dsm_gemm.c, the sampler's blocked path): every variant the CPU has (AVX-512,
 * AVX2+FMA, the baseline) against a plain chain of fmaf, bit for bit; the training
 * gradient against the per-example reference path for D in {1, 2, 3, 13, 16, 30, 64, 100}
 * and widths that are not a multiple of any vector width; bit-identity across variants
 * and thread counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "ncsn/cpu.h"
#include "ncsn/gemm.h"
#include "ncsn/model.h"
#include "ncsn/noise.h"
#include "ncsn/rng.h"
#include "ncsn/sample.h"
#include "ncsn/train.h"

/* The variants this CPU runs, lowest first; returns how many. */
static int variants(int isa[3]) {
    int n = 0;
    for (int v = NCSN_ISA_BASELINE; v <= ncsn_isa_best(); v++) isa[n++] = v;
    return n;
}

static float *normals(uint32_t stream, size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    ncsn_rng_fill_normal(ncsn_rng_key(21, stream, NCSN_RNG_MISC), 0, 0, (int)n, p);
    return p;
}

/* C by the definition in gemm.h: one fmaf chain per element, then the epilogue. */
static void naive(const ncsn_gemm *g, float *C) {
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            const int r = g->row_cls ? g->row_cls[i] : 0;
            float v = 0;
            if (g->init_b) {
                v = g->init_b[r * g->ld_init + j];
                if (g->init_a) v = fmaf(g->init_a[r * g->ld_init + j], g->row_t[i], v);
            }
            for (int k = 0; k < g->K; k++) v = fmaf(g->A[i * g->a_rs + k * g->a_ks], g->B[k * g->ldb + j], v);
            if (g->bias) v = v + g->bias[j];
            if (g->row_scale) v = v * g->row_scale[i];
            else if (g->has_scale) v = v * g->scale;
            if (g->relu) v = v > 0 ? v : 0;
            if (g->mask) v = g->mask[i * g->ldm + j] > 0 ? v : 0;
            C[i * g->ldc + j] = v;
        }
}

/* B's three layouts (gemm.h): rows N + 1 apart; rows a multiple of 1 KB apart (the
 * driver copies each strip); panel-major (ncsn_gemm_pack_b). */
enum { B_PLAIN, B_ALIASED, B_PANELS, B_LAYOUTS };

static void test_gemm_matches_definition(void) {
    const int shapes[][3] = {{1, 1, 1},   {7, 13, 5},   {6, 16, 64},  {13, 64, 3},
                             {37, 100, 30}, {128, 37, 64}, {5, 130, 17}, {64, 67, 128},
                             {40, 130, 300}};
    static const char *layout_names[B_LAYOUTS] = {"plain", "aliased", "panels"};
    int isa[3];
    const int nv = variants(isa);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int layout = 0; layout < B_LAYOUTS; layout++)
        for (int opt = 0; opt < 4; opt++) {
            const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            const int transposed = opt & 1, ldc = N + 3;
            const int ldb = layout == B_ALIASED ? (N + 256) / 256 * 256 : N + 1;
            float *A = normals(1, (size_t)M * K), *B = normals(2, (size_t)K * ldb);
            float *packed = malloc(sizeof(float) * ncsn_gemm_packed_floats(K, N));
            ncsn_gemm_pack_b(B, ldb, 1, K, N, packed);
            { /* the same panels packed from B' (k stride 1: 8 x 8 transposes, then tails) */
                float *Bt = malloc(sizeof(float) * (size_t)N * (K + 1));
                float *packed_t = malloc(sizeof(float) * ncsn_gemm_packed_floats(K, N));
                for (int k = 0; k < K; k++)
                    for (int j = 0; j < N; j++) Bt[(size_t)j * (K + 1) + k] = B[(size_t)k * ldb + j];
                ncsn_gemm_pack_b(Bt, 1, K + 1, K, N, packed_t);
                CU_ASSERT(memcmp(packed, packed_t,
                                 sizeof(float) * ncsn_gemm_packed_floats(K, N)) == 0);
                free(Bt), free(packed_t);
            }
            float *ia = normals(3, 3 * (size_t)N), *ib = normals(4, 3 * (size_t)N);
            float *t = normals(5, M), *bias = normals(6, N), *rs = normals(7, M);
            float *mask = normals(8, (size_t)M * ldc);
            int *cls = malloc(sizeof(int) * M);
            for (int i = 0; i < M; i++) cls[i] = (i * 7) % 3;
            ncsn_gemm g;
            memset(&g, 0, sizeof g);
            g.M = M, g.N = N, g.K = K, g.A = A;
            g.a_rs = transposed ? 1 : K;
            g.a_ks = transposed ? M : 1;
            g.B = B, g.ldb = ldb, g.ldc = ldc;
            if (opt >= 1) g.init_b = ib, g.ld_init = N, g.row_cls = cls;
            if (opt >= 2) g.init_a = ia, g.row_t = t, g.bias = bias, g.relu = 1;
            if (opt == 1) g.has_scale = 1, g.scale = 0.37f;
            if (opt == 3) g.row_scale = rs, g.mask = mask, g.ldm = ldc;
            float *want = calloc((size_t)M * ldc, sizeof(float));
            float *got = calloc((size_t)M * ldc, sizeof(float));
            g.C = want;
            naive(&g, want);
            if (layout == B_PANELS) g.B = packed, g.ldb = (ptrdiff_t)NCSN_GEMM_PANEL * K, g.b_panels = 1;
            for (int v = 0; v < nv; v++) {
                ncsn_isa_force(isa[v]);
                memset(got, 0, sizeof(float) * M * ldc);
                g.C = got;
                /* in pieces each way: the split changes nothing (N / 3 cuts a panel) */
                ncsn_gemm_block(&g, 0, M / 2, 0, N / 3);
                ncsn_gemm_block(&g, 0, M / 2, N / 3, N);
                ncsn_gemm_block(&g, M / 2, M, 0, N);
                const int same = memcmp(got, want, sizeof(float) * M * ldc) == 0;
                if (!same)
                    fprintf(stderr, "\n  gemm %s: M %d N %d K %d option %d, B %s, differs\n",
                            ncsn_isa_name(isa[v]), M, N, K, opt, layout_names[layout]);
                CU_ASSERT(same);
            }
            ncsn_isa_force(NCSN_ISA_AUTO);
            free(A), free(B), free(packed), free(ia), free(ib), free(t), free(bias), free(rs);
            free(mask), free(cls), free(want), free(got);
        }
    printf("(variants up to %s) ", ncsn_isa_name(ncsn_isa_best()));
}

/* One batch's loss and gradient: inputs made from (D, E, H, B). */
typedef struct {
    ncsn_model m;
    float *x, *z, *sig;
    int *lv;
    int B, L;
} batch;

static void batch_make(batch *b, int D, int E, int H, int B, int opt) {
    b->B = B;
    b->L = 9;
    ncsn_fix_model_alloc(&b->m, D, E, H, opt);
    ncsn_model_init_params(&b->m, ncsn_rng_key(31, (uint32_t)(D * 1000 + H), NCSN_RNG_INIT));
    b->x = normals(11, (size_t)B * D);
    b->z = normals(12, (size_t)B * D);
    for (int i = 0; i < B * D; i++) b->x[i] *= 3;
    b->lv = malloc(sizeof(int) * B);
    for (int i = 0; i < B; i++) b->lv[i] = (i * 37 + 11) % b->L;
    double sd[9];
    ncsn_noise_levels(20.0, 0.1, b->L, sd);
    b->sig = malloc(sizeof(float) * b->L);
    for (int i = 0; i < b->L; i++) b->sig[i] = (float)sd[i];
}

static void batch_free(batch *b) {
    free(b->x), free(b->z), free(b->lv), free(b->sig);
    ncsn_model_free(&b->m);
}

enum { FAST, REFERENCE, FAST_BY_UNIT };

/* The batch's loss, and its gradient in g (W_2 as PyTorch holds it), by the fast path, the
 * reference path, or the fast path given W_2 by unit (the trainer's layout; model.h,
 * ncsn_model_w2_layout), its gradient then rewritten back. */
static double batch_grad(const batch *b, float *g, int how) {
    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, &b->m, b->B);
    ncsn_model m = b->m, by_unit;
    if (how == FAST_BY_UNIT) {
        ncsn_model_copy(&b->m, &by_unit);
        ncsn_model_w2_layout(&by_unit, by_unit.params, 1);
        w.w2_by_unit = 1;
        m = by_unit;
    }
    ncsn_model gv;
    ncsn_model_view(&m, g, &gv);
    const double loss = how == REFERENCE
        ? ncsn_dsm_loss_grad_reference(&m, b->x, b->B, b->lv, b->sig, b->z, &gv, &w)
        : ncsn_dsm_loss_grad(&m, b->x, b->B, b->lv, b->sig, b->z, &gv, &w);
    if (how == FAST_BY_UNIT) {
        ncsn_model_w2_layout(&m, g, 0);
        ncsn_model_free(&by_unit);
    }
    ncsn_dsm_work_free(&w);
    return loss;
}

/* Every tensor within 1e-4 of its largest entry, the loss within 1e-6. */
static void check_close(const batch *b, const float *got, const float *want, double lg, double lw) {
    NCSN_CHECK_CLOSE(lg, lw, 1e-6 * lw);
    char label[64];
    snprintf(label, sizeof label, "D %d E %d H %d", b->m.D, b->m.E, b->m.H);
    ncsn_fix_check_grads_close(&b->m, got, want, 1e-4, label);
}

static void test_training_any_d(void) {
    const int dims[] = {1, 2, 3, 13, 16, 30, 64, 100};
    const int widths[][2] = {{16, 37}, {8, 64}, {5, 21}}; /* (E, H) */
    int isa[3];
    const int nv = variants(isa);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
            const int opt = (int)((d + w) % NCSN_FIX_MODEL_OPTIONS);
            batch b;
            batch_make(&b, dims[d], widths[w][0], widths[w][1], 45, opt);
            const size_t P = b.m.n_params;
            float *ref = calloc(P, sizeof(float)), *g0 = calloc(P, sizeof(float));
            float *g = calloc(P, sizeof(float));
            const double lref = batch_grad(&b, ref, REFERENCE);
            double l0 = 0;
            for (int v = 0; v < nv; v++) {
                ncsn_isa_force(isa[v]);
                const double l = batch_grad(&b, v ? g : g0, FAST);
                if (v == 0) {
                    l0 = l;
                    check_close(&b, g0, ref, l0, lref);
                } else {
                    CU_ASSERT(l == l0);
                    CU_ASSERT(memcmp(g, g0, sizeof(float) * P) == 0);
                }
                /* W_2 by unit: the same bits, through whichever path takes this shape */
                CU_ASSERT(batch_grad(&b, g, FAST_BY_UNIT) == l0);
                CU_ASSERT(memcmp(g, g0, sizeof(float) * P) == 0);
            }
            ncsn_isa_force(NCSN_ISA_AUTO);
            free(ref), free(g0), free(g);
            batch_free(&b);
        }
}

/* Batches at odd D and H, on 1 to 5 threads: the last three big enough for the parallel
 * region, with 4, 6 and 3 blocks of units, so that the threads split the tree of the
 * blocks' sums (dsm_gemm.c) at every place. */
static void test_training_threads(void) {
    enum { MAX_T = 5 };
    const int shapes[][3] = {{13, 16, 77}, {3, 16, 203}, {64, 16, 512}, {40, 16, 700}, {64, 16, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        batch b;
        batch_make(&b, shapes[s][0], shapes[s][1], shapes[s][2], 300, (int)s);
        const size_t P = b.m.n_params;
        float *g[MAX_T];
        double l[MAX_T];
        for (ncsn_fix_threads th = ncsn_fix_threads_range(1, MAX_T); ncsn_fix_threads_next(&th);) {
            g[th.threads - 1] = calloc(P, sizeof(float));
            l[th.threads - 1] = batch_grad(&b, g[th.threads - 1], FAST);
        }
        for (int r = 1; r < MAX_T; r++) {
            CU_ASSERT(l[r] == l[0]);
            CU_ASSERT(memcmp(g[r], g[0], sizeof(float) * P) == 0);
        }
        for (int r = 0; r < MAX_T; r++) free(g[r]);
        batch_free(&b);
    }
}

/* The trainer's update on the fly (ncsn_dsm_loss_grad_update): Adam and an EMA applied
 * by the blocked phases on each thread's parameters, with W_2 by unit as the trainer holds
 * it, give the bits of the gradient first and then Adam over every parameter; a non-finite
 * loss updates nothing. */
typedef struct {
    ncsn_adam *adam;
    ncsn_adam_coef coef;
    float *params, *grad, *ema;
} update_job;

static void update_range(size_t start, size_t count, void *user) {
    update_job *j = user;
    ncsn_adam_update(j->adam, &j->coef, j->params, j->grad, start, count);
    for (size_t k = start; k < start + count; k++) j->ema[k] = 0.9f * j->ema[k] + 0.1f * j->params[k];
}

static void test_training_update(void) {
    const int shapes[][4] = {{64, 16, 512, 300}, {13, 16, 77, 300}, {30, 5, 21, 45}, {2, 16, 64, 45}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        batch b;
        batch_make(&b, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], (int)s);
        const size_t P = b.m.n_params;
        const int blocked = shapes[s][0] > 2; /* D = 2 takes dsm_fast.c's own kernels */
        /* the separate way: gradient, then Adam and the EMA over every parameter */
        float *want = malloc(sizeof(float) * P), *want_ema = malloc(sizeof(float) * P);
        float *g = calloc(P, sizeof(float)), *init = malloc(sizeof(float) * P);
        memcpy(init, b.m.params, sizeof(float) * P);
        ncsn_adam a;
        ncsn_adam_init(&a, P, 1e-3, 0.01);
        const double lw = batch_grad(&b, g, FAST);
        update_job sep = {&a, ncsn_adam_next_coef(&a), b.m.params, g, want_ema};
        memcpy(want_ema, init, sizeof(float) * P);
        update_range(0, P, &sep);
        memcpy(want, b.m.params, sizeof(float) * P);
        for (ncsn_fix_threads th = ncsn_fix_threads_range(1, 3); ncsn_fix_threads_next(&th);) {
            ncsn_adam a2;
            ncsn_adam_init(&a2, P, 1e-3, 0.01);
            float *ema = malloc(sizeof(float) * P);
            memcpy(b.m.params, init, sizeof(float) * P);
            memcpy(ema, init, sizeof(float) * P);
            ncsn_dsm_work w;
            ncsn_dsm_work_alloc(&w, &b.m, b.B);
            CU_ASSERT(w.blocked == blocked);
            w.w2_by_unit = w.blocked; /* as the trainer sets it */
            ncsn_model gv;
            ncsn_model_view(&b.m, g, &gv);
            update_job fused = {&a2, ncsn_adam_next_coef(&a2), b.m.params, g, ema};
            ncsn_param_update up = {update_range, &fused, 0};
            float *held[] = {b.m.params, ema, a2.m, a2.v};
            for (int k = 0; k < 4 && blocked; k++) ncsn_model_w2_layout(&b.m, held[k], 1);
            const double l = ncsn_dsm_loss_grad_update(&b.m, b.x, b.B, b.lv, b.sig, b.z, &gv, &w, &up);
            CU_ASSERT(l == lw);
            CU_ASSERT(up.applied == blocked);
            if (!up.applied) update_range(0, P, &fused);
            for (int k = 0; k < 4 && blocked; k++) ncsn_model_w2_layout(&b.m, held[k], 0);
            CU_ASSERT(memcmp(b.m.params, want, sizeof(float) * P) == 0);
            CU_ASSERT(memcmp(ema, want_ema, sizeof(float) * P) == 0);
            CU_ASSERT(memcmp(a2.m, a.m, sizeof(float) * P) == 0 && memcmp(a2.v, a.v, sizeof(float) * P) == 0);
            /* a non-finite loss: nothing updated */
            memcpy(b.m.params, init, sizeof(float) * P);
            const float z0 = b.z[0];
            b.z[0] = NAN;
            up.applied = 1;
            const double ln = ncsn_dsm_loss_grad_update(&b.m, b.x, b.B, b.lv, b.sig, b.z, &gv, &w, &up);
            CU_ASSERT(!isfinite(ln));
            CU_ASSERT(up.applied == 0);
            CU_ASSERT(memcmp(b.m.params, init, sizeof(float) * P) == 0);
            b.z[0] = z0;
            ncsn_dsm_work_free(&w);
            ncsn_adam_free(&a2);
            free(ema);
        }
        ncsn_adam_free(&a);
        free(want), free(want_ema), free(g), free(init);
        batch_free(&b);
    }
}

/* Annealed Langevin written plainly: ncsn_model_score per chain (no fused operations) and
 * the sampler's noise (counter (step / 2, chain, pair); words 0, 1 at even steps, 2, 3 at
 * odd ones; ncsn_box_muller_lanes), over levels sig (L) with T steps each. */
static void plain_sampler(const ncsn_model *m, const double *sig, int L, int T, double eps,
                          ncsn_key key, float *x, int n) {
    const int D = m->D;
    float *s = malloc(sizeof(float) * D);
    for (int i = 0; i < L; i++) {
        const double alpha = eps * sig[i] * sig[i] / (sig[L - 1] * sig[L - 1]);
        const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
        for (int t = 0; t < T; t++) {
            const uint32_t step = (uint32_t)(i * T + t);
            for (int c = 0; c < n; c++) {
                float *xc = x + (size_t)c * D;
                ncsn_model_score(m, xc, 1, (float)sig[i], s);
                const int c0 = c - c % NCSN_RNG_LANES;
                for (int d0 = 0; d0 < D; d0 += 2) {
                    uint32_t w[4][NCSN_RNG_LANES];
                    float zc[NCSN_RNG_LANES], zs[NCSN_RNG_LANES];
                    ncsn_philox_lanes(key, step >> 1, (uint32_t)c0, (uint32_t)(d0 / 2), 0, w);
                    const int q = (int)(step & 1) * 2;
                    ncsn_box_muller_lanes(w[q], w[q + 1], zc, zs);
                    xc[d0] += half_alpha * s[d0] + sqrt_alpha * zc[c - c0];
                    if (d0 + 1 < D) xc[d0 + 1] += half_alpha * s[d0 + 1] + sqrt_alpha * zs[c - c0];
                }
            }
        }
    }
    free(s);
}

/* The sampler (the D = 2 kernel, and the blocked products at any other D): close to the
 * plain sampler, and the same bits
 * on every variant and thread count (odd D, chains not a multiple of a block, odd T so
 * levels start at odd steps). */
static void test_sampling_any_d(void) {
    const int dims[] = {1, 2, 3, 13, 30, 64, 7, 2}; /* the options cycle: D 2 also meets the unconditional network */
    enum { N = 101, L = 3, T = 3 };
    double sig[L] = {3.0, 1.0, 0.3};
    int isa[3];
    const int nv = variants(isa);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        const int D = dims[d];
        ncsn_model m;
        ncsn_fix_model_alloc(&m, D, 16, 37, (int)(d % NCSN_FIX_MODEL_OPTIONS));
        ncsn_model_init_params(&m, ncsn_rng_key(41, (uint32_t)D, NCSN_RNG_INIT));
        const ncsn_key ks = ncsn_rng_key(42, 0, NCSN_RNG_SAMPLE_START);
        const ncsn_key kn = ncsn_rng_key(42, 0, NCSN_RNG_SAMPLE_NOISE);
        float *want = malloc(sizeof(float) * N * D), *first = malloc(sizeof(float) * N * D);
        float *x = malloc(sizeof(float) * N * D);
        ncsn_sampler_start(ks, N, D, -4, 4, want);
        plain_sampler(&m, sig, L, T, 0.01, kn, want, N);
        ncsn_sampler sp = {NCSN_SAMPLE_ANNEALED, T, 0.01, 0, sig, L};
        ncsn_score_fn score = {&m, NULL};
        int runs = 0;
        for (int v = 0; v < nv; v++)
            for (ncsn_fix_threads th = ncsn_fix_threads_range(1, 3); ncsn_fix_threads_next(&th);) {
                ncsn_isa_force(isa[v]);
                ncsn_sampler_start(ks, N, D, -4, 4, x);
                CU_ASSERT(ncsn_sample(&sp, score, kn, x, N, D, NULL, NULL) == 0);
                ncsn_isa_force(NCSN_ISA_AUTO);
                if (runs++ == 0) {
                    memcpy(first, x, sizeof(float) * N * D);
                    double worst = 0;
                    for (int i = 0; i < N * D; i++) worst = fmax(worst, fabs(x[i] - want[i]));
                    if (!(worst <= 1e-3)) fprintf(stderr, "\n  sampler D %d: worst %.3g\n", D, worst);
                    CU_ASSERT(worst <= 1e-3);
                } else {
                    CU_ASSERT(memcmp(x, first, sizeof(float) * N * D) == 0);
                }
            }
        free(want), free(first), free(x);
        ncsn_model_free(&m);
    }
}

/* Adam's vector form divides sqrt(v) by the step's constant without the divider (adam.c):
 * its p, m and v equal the baseline's, whose every operation is IEEE's (subnormals flushed,
 * as in every variant: test_adam_flush), for every mantissa
 * of v in two binades and v across the whole float range, at the constants of steps 1 to
 * 20000 (1 / sqrt(1 - 0.999^t) runs from 31.6 to 1). Beside them, inf and NaN in v (the
 * division's own path). */
static void test_adam_division(void) {
    const size_t n = (size_t)1 << 18;
    float *v0 = malloc(sizeof(float) * n), *g0 = normals(40, n), *m0 = normals(41, n);
    float *p[2], *m[2], *v[2], *g[2];
    for (int k = 0; k < 2; k++) {
        p[k] = malloc(sizeof(float) * n), m[k] = malloc(sizeof(float) * n);
        v[k] = malloc(sizeof(float) * n), g[k] = malloc(sizeof(float) * n);
    }
    int isa[3];
    const int nv = variants(isa);
    const int steps[] = {1, 2, 3, 10, 77, 500, 1999, 5000, 16000, 20000};
    for (int si = 0; si < (int)(sizeof steps / sizeof steps[0]); si++) {
        for (int half = 0; half < 2; half++) {
            for (size_t i = 0; i < n; i++) {
                uint32_t bits;
                if (half == 0) { /* every mantissa of [1, 4) by a stride coprime to 2^23 */
                    bits = 0x3f800000u + (uint32_t)((i * 2654435761u + (uint32_t)si) % (1u << 24));
                } else { /* any finite v >= 0: exponents 0 (subnormal) to 254 */
                    bits = (uint32_t)((i * 2246822519u + 12345u * (uint32_t)si) % 0x7f800000u);
                }
                memcpy(&v0[i], &bits, sizeof bits);
            }
            v0[0] = 0, v0[1] = INFINITY, v0[2] = NAN, v0[3] = 0x1p-149f, v0[4] = 3.4e38f;
            for (int k = 0; k < nv; k++) {
                ncsn_isa_force(isa[k]);
                ncsn_adam a;
                ncsn_adam_init(&a, n, 1e-3, 0);
                a.t = steps[si] - 1;
                memcpy(a.v, v0, sizeof(float) * n);
                memcpy(a.m, m0, sizeof(float) * n);
                /* p = 0 and g = 0 except every 8th: the new p is -step m / denom */
                for (size_t i = 0; i < n; i++) p[k > 0][i] = 0, g[k > 0][i] = i % 8 ? 0 : g0[i];
                const ncsn_adam_coef c = ncsn_adam_next_coef(&a);
                ncsn_adam_update(&a, &c, p[k > 0], g[k > 0], 0, n);
                memcpy(m[k > 0], a.m, sizeof(float) * n);
                memcpy(v[k > 0], a.v, sizeof(float) * n);
                ncsn_adam_free(&a);
                if (k > 0) {
                    CU_ASSERT(memcmp(p[0], p[1], sizeof(float) * n) == 0);
                    CU_ASSERT(memcmp(m[0], m[1], sizeof(float) * n) == 0);
                    CU_ASSERT(memcmp(v[0], v[1], sizeof(float) * n) == 0);
                }
            }
            ncsn_isa_force(NCSN_ISA_AUTO);
        }
    }
    if (nv < 2) fprintf(stderr, "(this CPU runs the baseline only: nothing to compare)\n");
    for (int k = 0; k < 2; k++) free(p[k]), free(m[k]), free(v[k]), free(g[k]);
    free(v0), free(g0), free(m0);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <xmmintrin.h>
#define ADAM_TEST_CSR() _mm_getcsr()
#else
#define ADAM_TEST_CSR() 0u
#endif

/* Adam flushes subnormals to zero (docs/computation.md, Adam and EMA): an m that has decayed
 * to the smallest subnormal becomes 0 of its sign, a subnormal v or g reads as 0, a product
 * that would be subnormal is 0; normal values are untouched. Each case fills 19 lanes (whole
 * vectors and a tail) and runs on every variant; the caller's MXCSR is left as it was. On
 * IEEE arithmetic without the flush, the first five cases give nonzero m or v. */
static void test_adam_flush(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    enum { N = 19 };
    const struct {
        float m, v, g;      /* before the step (t = 1) */
        float m_new, v_new; /* after; p starts at 1 */
        int neg_zero_m;     /* the new m is -0 */
    } cases[] = {
        {0x1p-149f, 1, 0, 0, 0.999f, 0},            /* 0.9 m would round back to 2^-149 */
        {-0x1p-149f, 1, -0.0f, -0.0f, 0.999f, 1},   /* -0 + (-0): the sign stays */
        {0, 0x1p-140f, 0, 0, 0, 0},                 /* 0.999 v: subnormal */
        {0, 0, 0x1p-130f, 0, 0, 0},                 /* g subnormal: read as 0 */
        {0, 0, 0x1p-125f, 0, 0, 0},                 /* 0.1 g and 0.001 g^2: subnormal */
        {0, 0, 1, 0x1.9999ap-4f, 0x1.0624p-10f, 0},  /* normal: (1 - 0.9f) g, (1 - 0.999f) g g */
    };
    int isa[3];
    const int nv = variants(isa);
    for (int k = 0; k < nv; k++) {
        ncsn_isa_force(isa[k]);
        for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
            ncsn_adam a;
            ncsn_adam_init(&a, N, 1e-3, 0);
            float p[N], g[N];
            for (int i = 0; i < N; i++) {
                a.m[i] = cases[c].m, a.v[i] = cases[c].v;
                g[i] = cases[c].g, p[i] = 1;
            }
            const unsigned int csr = ADAM_TEST_CSR();
            ncsn_adam_step(&a, p, g);
            CU_ASSERT_EQUAL(ADAM_TEST_CSR(), csr);
            for (int i = 0; i < N; i++) {
                CU_ASSERT_EQUAL(a.m[i], cases[c].m_new);
                CU_ASSERT_EQUAL(signbit(a.m[i]) != 0, cases[c].neg_zero_m);
                CU_ASSERT_EQUAL(a.v[i], cases[c].v_new);
                if (cases[c].m_new != 0) { /* the normal case moves p */
                    CU_ASSERT(p[i] < 1.0f);
                } else {
                    CU_ASSERT_EQUAL(p[i], 1.0f);
                }
            }
            ncsn_adam_free(&a);
        }
    }
    ncsn_isa_force(NCSN_ISA_AUTO);
#else
    fprintf(stderr, "(Adam flushes subnormals on x86-64 only: nothing to check here)\n");
#endif
}

/* ncsn_model_w2_layout: W_2[d, u] moves from d H + u to u D + d and back; nothing else
 * moves. */
static void test_w2_layout(void) {
    ncsn_model m;
    ncsn_model_alloc(&m, 3, 4, 5, NCSN_SIGMA_INPUT_SIGMA, 0);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] = (float)i;
    const size_t w2 = (size_t)(m.bb2_w - m.params);
    ncsn_model_w2_layout(&m, m.params, 1);
    int bad = 0;
    for (size_t i = 0; i < m.n_params; i++) {
        size_t want = i;
        if (i >= w2 && i < w2 + 15) { /* by unit: index w2 + u D + d holds W_2[d, u] */
            const size_t u = (i - w2) / 3, d = (i - w2) % 3;
            want = w2 + d * 5 + u;
        }
        bad += m.params[i] != (float)want;
    }
    CU_ASSERT(bad == 0);
    ncsn_model_w2_layout(&m, m.params, 0);
    for (size_t i = 0; i < m.n_params; i++) bad += m.params[i] != (float)i;
    CU_ASSERT(bad == 0);
    ncsn_model_free(&m);
}

/* The trainer at a shape the blocked kernels take keeps W_2 by unit while it runs; what it
 * hands back is PyTorch's layout, step for step the plain loop's bits: draws, the gradient
 * (W_2 as PyTorch holds it), Adam with weight decay, the EMA. A dataset of one point, so
 * that every batch is that point whatever the epoch's permutation. Trained in two calls
 * (the layout rewritten between them), with snapshots every 10 steps. */
static void test_trainer_w2_by_unit(void) {
    enum { D = 13, E = 16, H = 77, L = 9, STEPS = 40, EVERY = 10 };
    ncsn_config c;
    ncsn_config_default(&c);
    c.train.steps = STEPS;
    c.train.batch = 1;
    c.train.ema = 0.9;
    c.train.weight_decay = 0.01;
    c.train.log_every = EVERY;
    c.train.snapshot_every = EVERY;
    double sd[L];
    ncsn_noise_levels(20.0, 0.1, L, sd);
    float sig[L], *x = normals(21, D);
    for (int i = 0; i < L; i++) sig[i] = (float)sd[i];
    ncsn_model m, ema = {0}, plain, plain_ema;
    ncsn_model_alloc(&m, D, E, H, NCSN_SIGMA_INPUT_SIGMA, 0);
    ncsn_model_init_params(&m, ncsn_rng_key(5, 0, NCSN_RNG_INIT));
    ncsn_model_copy(&m, &plain);
    ncsn_model_copy(&m, &plain_ema);
    const size_t P = m.n_params;
    ncsn_trainer t;
    ncsn_trainer_init(&t, &c, 0, sd, L, x, 1, &m, &ema);
    CU_ASSERT(t.work.blocked == 1 && t.work.w2_by_unit == 1);
    CU_ASSERT(ncsn_trainer_run(&t, 25, NULL, NULL) == 0);
    CU_ASSERT(ncsn_trainer_run(&t, STEPS, NULL, NULL) == 0);

    ncsn_dsm_work w;
    ncsn_dsm_work_alloc(&w, &plain, 1);
    float *gb = calloc(P, sizeof(float));
    ncsn_model g;
    ncsn_model_view(&plain, gb, &g);
    ncsn_adam a;
    ncsn_adam_init(&a, P, c.train.lr, c.train.weight_decay);
    const ncsn_key kl = ncsn_rng_key(c.seed, 0, NCSN_RNG_TRAIN_LEVEL);
    const ncsn_key kn = ncsn_rng_key(c.seed, 0, NCSN_RNG_TRAIN_NOISE);
    const float r = (float)c.train.ema;
    int bad_snapshots = 0;
    for (int step = 0; step < STEPS; step++) {
        int lv;
        float z[D];
        ncsn_train_draws(kl, kn, (uint32_t)step, 1, L, D, &lv, z);
        ncsn_dsm_loss_grad(&plain, x, 1, &lv, sig, z, &g, &w);
        const ncsn_adam_coef co = ncsn_adam_next_coef(&a);
        ncsn_adam_update(&a, &co, plain.params, gb, 0, P);
        ncsn_adam_count(&a);
        for (size_t k = 0; k < P; k++)
            plain_ema.params[k] = r * plain_ema.params[k] + (1.0f - r) * plain.params[k];
        if ((step + 1) % EVERY == 0) {
            const int i = ncsn_snapshots_find(&t.snaps, step + 1);
            CU_ASSERT_FATAL(i >= 0);
            bad_snapshots += memcmp(t.snaps.model + (size_t)i * P, plain.params, sizeof(float) * P) != 0;
            bad_snapshots += memcmp(t.snaps.ema + (size_t)i * P, plain_ema.params, sizeof(float) * P) != 0;
        }
    }
    CU_ASSERT(bad_snapshots == 0);
    CU_ASSERT(memcmp(m.params, plain.params, sizeof(float) * P) == 0);
    CU_ASSERT(memcmp(ema.params, plain_ema.params, sizeof(float) * P) == 0);
    CU_ASSERT(memcmp(t.adam.m, a.m, sizeof(float) * P) == 0 && memcmp(t.adam.v, a.v, sizeof(float) * P) == 0);
    ncsn_adam_free(&a);
    free(gb);
    ncsn_dsm_work_free(&w);
    ncsn_train_log_free(&t.log);
    ncsn_trainer_free(&t);
    ncsn_model_free(&m), ncsn_model_free(&ema), ncsn_model_free(&plain), ncsn_model_free(&plain_ema);
    ncsn_config_free(&c);
    free(x);
}

/* The trainer's steps in one piece (ncsn_dsm_team: the draws and the loss on one team,
 * the examples read from the data's rows) against its steps one thing after another (the
 * batch copied, the draws, then ncsn_dsm_loss_grad_update, as where W_2 is in PyTorch's
 * layout): the same bits on 1 to 4 threads, at a size where 2 or more fork a team; the
 * epoch's last, smaller batch takes one thread. */
static void test_trainer_team(void) {
    enum { D = 40, E = 16, H = 520, N = 300, L = 20, STEPS = 7, MAX_T = 4 };
    ncsn_config c;
    ncsn_config_default(&c);
    c.train.steps = STEPS;
    c.train.batch = 128;
    c.train.ema = 0.9;
    c.train.log_every = 1;
    c.train.snapshot_every = 3;
    double sd[L];
    ncsn_noise_levels(20.0, 0.1, L, sd);
    float *x = normals(22, (size_t)N * D);
    ncsn_model init;
    ncsn_model_alloc(&init, D, E, H, NCSN_SIGMA_INPUT_SIGMA, 0);
    ncsn_model_init_params(&init, ncsn_rng_key(6, 0, NCSN_RNG_INIT));
    const size_t P = init.n_params;
    float *want = malloc(sizeof(float) * 4 * P), *got = malloc(sizeof(float) * 4 * P);
    float want_loss[STEPS], got_loss[STEPS];
    /* run 0: one thing after another, on one thread; then in one piece on 1 to 4 */
    for (int run = 0; run <= MAX_T; run++) {
        const int threads = run ? run : 1;
        ncsn_fix_threads th = ncsn_fix_threads_range(threads, threads);
        CU_ASSERT_FATAL(ncsn_fix_threads_next(&th));
        ncsn_model m, ema = {0};
        ncsn_model_copy(&init, &m);
        ncsn_trainer t;
        ncsn_trainer_init(&t, &c, 0, sd, L, x, N, &m, &ema);
        if (run == 0) t.work.w2_by_unit = 0;
        CU_ASSERT(ncsn_dsm_team(&t.work, &m, 128) == (run == 0 ? 0 : threads > 1 ? 2 : 1));
        CU_ASSERT(ncsn_trainer_run(&t, STEPS, NULL, NULL) == 0);
        float *out = run == 0 ? want : got, *loss = run == 0 ? want_loss : got_loss;
        memcpy(out, m.params, sizeof(float) * P);
        memcpy(out + P, ema.params, sizeof(float) * P);
        memcpy(out + 2 * P, t.adam.m, sizeof(float) * P);
        memcpy(out + 3 * P, t.adam.v, sizeof(float) * P);
        CU_ASSERT_FATAL(t.log.n == STEPS);
        memcpy(loss, t.log.loss, sizeof(float) * STEPS);
        if (run > 0) {
            CU_ASSERT(memcmp(got, want, sizeof(float) * 4 * P) == 0);
            CU_ASSERT(memcmp(got_loss, want_loss, sizeof want_loss) == 0);
        }
        ncsn_train_log_free(&t.log);
        ncsn_trainer_free(&t);
        ncsn_model_free(&m), ncsn_model_free(&ema);
        ncsn_fix_threads_next(&th);
    }
    free(want), free(got), free(x);
    ncsn_model_free(&init);
    ncsn_config_free(&c);
}

static const ncsn_test_case tests[] = {
    {"blocked products: every variant gives the definition's bits", test_gemm_matches_definition},
    {"training at D 1-100, odd widths: reference values, same bits on every variant",
     test_training_any_d},
    {"sampling at D 1-64: the plain sampler's values, same bits on every variant and thread "
     "count", test_sampling_any_d},
    {"training at odd D and H: same bits on 1 to 5 threads",
     NCSN_OPENMP_ONLY(test_training_threads)},
    {"Adam and the EMA applied by the blocked phases: the bits of a separate step; a "
     "non-finite loss updates nothing", test_training_update},
    {"W_2 by unit: each weight moves to its transposed place, and back", test_w2_layout},
    {"the trainer with W_2 by unit: the plain loop's bits, snapshots and moments included",
     test_trainer_w2_by_unit},
    {"the trainer's steps in one piece: the bits of its steps one thing after another, on 1 to 4 threads",
     NCSN_OPENMP_ONLY(test_trainer_team)},
    {"Adam: the vector form's division without the divider gives the baseline's bits",
     test_adam_division},
    {"Adam: subnormal inputs and results are zero on every variant; MXCSR left as it was",
     test_adam_flush},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("kernels", tests);
}
