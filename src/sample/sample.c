/* sample/sample.c: annealed and plain Langevin dynamics over blocks of chains
 * (docs/computation.md, Samplers).
 * n = chains, D = data dimension, H = hidden width.
 * The notebook's case (the network, D = 2) has its own kernel (sample_d2.inc): groups of
 * 32 (AVX2+FMA) or 8 chains whose positions stay in registers for all T steps of a level,
 * with the network (rewritten per level to save a multiply per hidden unit, see d2_pack;
 * fused multiply-adds at fixed places), the noise (Philox by pmuludq and Box-Muller for
 * the whole group at once, one Philox call serving two steps) and the update fused. The
 * kernel is built for AVX2+FMA and for the x86-64 baseline, chosen at run time
 * (ncsn_isa, cpu.h); the fused multiply-adds are vfmadd in one and fmaf in the other, so
 * both give the same bits.
 * The network at any other D goes in blocks of GB_CHAINS chains through the blocked
 * products of gemm.h (level_blocked): per step, h = relu(c + W_1x x) and s = W_2 h + b_2
 * as fused multiply-add chains in a fixed order, the same bits on every variant (AVX-512,
 * AVX2+FMA, baseline) and thread count. The exact mixture score (plain Langevin) goes in
 * blocks of CB chains laid out coordinate-major (D, CB), built for the baseline only, with
 * no fused multiply-adds (-ffp-contract=off). */
#include "ncsn/sample.h"

#include <math.h>
#include <string.h>

#include "ncsn/common.h"
#include "ncsn/gemm.h"
#include "ncsn/plan.h"
#include "ncsn/simd.h"

#define CB 64 /* chains per block */

/* The noise of chain c at global step s, coordinate j (docs/computation.md, Reproducibility):
 * Philox at counter (s / 2, c, j / 2, 0); words (0, 1) serve even s and words (2, 3) odd s;
 * Box-Muller (ncsn_box_muller_lanes) of that pair gives coordinate j's normal as the cosine (j
 * even) or sine (j odd) branch. */
static inline void step_noise_pairs(ncsn_key key, uint32_t step, uint32_t chain0, uint32_t pair,
                                    float zc[NCSN_RNG_LANES], float zs[NCSN_RNG_LANES]) {
    uint32_t w[4][NCSN_RNG_LANES];
    ncsn_philox_lanes(key, step >> 1, chain0, pair, 0, w);
    const int q = (int)(step & 1) * 2;
    ncsn_box_muller_lanes(w[q], w[q + 1], zc, zs);
}

void ncsn_sampler_start(ncsn_key key, int n, int D, double low, double high, float *x) {
    const float lo = (float)low, width = (float)(high - low);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < n; c++) {
        float *xc = x + (size_t)c * D;
        ncsn_rng_fill_uniform(key, 0, (uint32_t)c, D, xc);
        for (int d = 0; d < D; d++) xc[d] = lo + width * xc[d];
    }
}

/* Scratch of one block: positions, scores, hidden activations, noise. */
typedef struct {
    float *x;  /* (D, CB) */
    float *s;  /* (D, CB) */
    float *xr; /* (CB, D) row-major copy for the exact score */
    float *sr; /* (CB, D) */
} block_work;

static void exact_score_block(const ncsn_gmm *g, double sigma, int D, int nb, block_work *w) {
    for (int i = 0; i < nb; i++)
        for (int d = 0; d < D; d++) w->xr[(size_t)i * D + d] = w->x[(size_t)d * CB + i];
    ncsn_gmm_score_batch(g, w->xr, nb, sigma, w->sr);
    for (int i = 0; i < nb; i++)
        for (int d = 0; d < D; d++) w->s[(size_t)d * CB + i] = w->sr[(size_t)i * D + d];
}

/* ---- the notebook's case: the network with D = 2 ------------------------------------ */

/* The level's network, rewritten to save a multiply per hidden unit. Unit o has first-layer
 * weights (a, b), level bias c and output weights (u0, u1). Its pivot p is the coordinate
 * whose weight is larger in magnitude, m that magnitude, q the other coordinate; then
 *   relu(c + a x0 + b x1) = m relu(c' +- x_p + r x_q),   c' = c / m,  r = w_q / m,
 * so s_d = fma(u_d m, relu(fma(r, x_q, c' +- x_p)), s_d): 3 fused multiply-adds and an add
 * where the network as written takes 4 and no add (fma(b, x1, fma(a, x0, c)), and the two
 * output fmas), which matters since the two FMA pipes are the bound while the add goes to
 * the others. Units go in four kinds by pivot and sign (0: x0 +, 1: x0 -,
 * 2: x1 +, 3: x1 -), each kind in unit order; units whose rescaled weights would not be
 * finite (m = 0, tiny m, non-finite weights) keep the written form, last. The rounding
 * differs from the written form by about an ulp, and is the same on every ISA and thread. */
typedef struct {
    int start[5];  /* units of kind k: w[start[k] .. start[k + 1]) */
    int n_generic; /* units in the written form: g */
    float *w;      /* (start[4], 4, 8) c', r, u0 m, u1 m, each broadcast to 8 lanes */
    float *g;      /* (n_generic, 5, 8) c, a, b, u0, u1, broadcast */
    float b0, b1;  /* W_2's bias */
} d2_pack;

static void bcast8(float *p, float v) {
    for (int l = 0; l < 8; l++) p[l] = v;
}

static void pack_d2(const ncsn_model *m, const float *c, d2_pack *pk) {
    const int E = m->E, H = m->H;
    pk->w = ncsn_xmalloc(sizeof(float) * (size_t)H * 32);
    pk->g = ncsn_xmalloc(sizeof(float) * (size_t)H * 40);
    pk->n_generic = 0;
    pk->b0 = m->bb2_b[0];
    pk->b1 = m->bb2_b[1];
    int n = 0;
    for (int kind = 0; kind < 5; kind++) {
        pk->start[kind] = n;
        for (int o = 0; o < H; o++) {
            const float a = m->bb0_w[(size_t)o * (2 + E)], b = m->bb0_w[(size_t)o * (2 + E) + 1];
            const float co = c[o], u0 = m->bb2_w[o], u1 = m->bb2_w[H + o];
            const int piv = fabsf(b) > fabsf(a);
            const float wp = piv ? b : a, wq = piv ? a : b, mag = fabsf(wp);
            const float cc = co / mag, r = wq / mag, v0 = u0 * mag, v1 = u1 * mag;
            const int ok = mag > 0 && isfinite(cc) && isfinite(r) && isfinite(v0) &&
                           isfinite(v1) && isfinite(co) && isfinite(u0) && isfinite(u1);
            const int k = ok ? 2 * piv + (wp < 0) : 4;
            if (k != kind) continue;
            if (k < 4) {
                float *p = pk->w + (size_t)n++ * 32;
                bcast8(p, cc);
                bcast8(p + 8, r);
                bcast8(p + 16, v0);
                bcast8(p + 24, v1);
            } else {
                float *p = pk->g + (size_t)pk->n_generic++ * 40;
                bcast8(p, co);
                bcast8(p + 8, a);
                bcast8(p + 16, b);
                bcast8(p + 24, u0);
                bcast8(p + 32, u1);
            }
        }
    }
}

/* The kernel (sample_d2.inc) for T steps of chains [c0, c0 + nb) of x (n, 2), nb <= the
 * group, positions in registers: built for AVX2 with FMA (32 chains a group) and for
 * the x86-64 baseline (8 chains), chosen at run time (ncsn_isa); a portable build elsewhere.
 * The fused multiply-adds are vfmadd in the first and fmaf per lane in the others (a
 * library call on CPUs without FMA: several times slower there, and the same bits). */
typedef float v4f __attribute__((vector_size(16)));

/* a b + c rounded once, per lane, by fmaf (correctly rounded in glibc: the FMA instruction
 * where the CPU has one, exact software otherwise) */
static inline v4f fma_lanes4(v4f a, v4f b, v4f c) {
    v4f r;
    for (int l = 0; l < 4; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}

#if defined(NCSN_RNG_X86)
#define D2_NAME group_d2_sse2
#define D2_ATTR
#define D2_VT v4f
#define D2_W 4
#define D2_NV 2
#define D2_FMA(a, b, c) fma_lanes4(a, b, c)
#define D2_MAX(v) ((v4f)_mm_max_ps((__m128)(v), _mm_setzero_ps()))
#define D2_WT ncsn_v8u
#define D2_ZT ncsn_v8f
#define D2_PHILOX(key, a, b0, w) ncsn_philox_v8_sse2(key, a, b0, 0, 0, w)
#define D2_BOX_MULLER ncsn_box_muller_v8
#include "sample_d2.inc"
#ifndef NCSN_NO_CLONES
/* 32 chains a group: 8 accumulators of fused multiply-adds in flight (latency 4-5, two
 * pipes), and the noise of four blocks of 8 chains side by side */
#define D2_NAME group_d2_avx2_fma
#define D2_ATTR __attribute__((target("avx2,fma")))
#define D2_VT ncsn_v8f
#define D2_W 8
#define D2_NV 4
#define D2_FMA(a, b, c) ((ncsn_v8f)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define D2_MAX(v) ((ncsn_v8f)_mm256_max_ps((__m256)(v), _mm256_setzero_ps()))
#define D2_WT ncsn_v32u
#define D2_ZT ncsn_v32f
#define D2_PHILOX(key, a, b0, w) ncsn_philox_v32s_avx2(key, a, b0, 0, 8, 0, w)
#define D2_BOX_MULLER ncsn_box_muller_v32
#include "sample_d2.inc"
/* 64 chains a group, 16 lanes: again 8 accumulators in flight; the noise of eight blocks
 * of 8 chains (two calls of four blocks, each in two 16-lane registers) */
typedef float v16f __attribute__((vector_size(64)));
static inline __attribute__((always_inline, target("avx512f,avx2,fma"))) void
philox_v64(ncsn_key key, uint32_t a, uint32_t b0, ncsn_v64u w[4]) {
    ncsn_v32u lo[4], hi[4];
    ncsn_philox_v32s_avx512(key, a, b0, 0, 8, 0, lo);
    ncsn_philox_v32s_avx512(key, a, b0 + 32, 0, 8, 0, hi);
    for (int i = 0; i < 4; i++) {
        memcpy((char *)&w[i], &lo[i], sizeof lo[i]);
        memcpy((char *)&w[i] + sizeof lo[i], &hi[i], sizeof hi[i]);
    }
}
#define D2_NAME group_d2_avx512
#define D2_ATTR __attribute__((target("avx512f,avx2,fma")))
#define D2_VT v16f
#define D2_W 16
#define D2_NV 4
#define D2_FMA(a, b, c) ((v16f)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define D2_MAX(v) ((v16f)_mm512_max_ps((__m512)(v), _mm512_setzero_ps()))
#define D2_BCAST(s) ((v16f)_mm512_set1_ps(s))
#define D2_WT ncsn_v64u
#define D2_ZT ncsn_v64f
#define D2_PHILOX(key, a, b0, w) philox_v64(key, a, b0, w)
#define D2_BOX_MULLER ncsn_box_muller_v64
#include "sample_d2.inc"
#endif
#else
static inline ncsn_v8f fma_lanes8(ncsn_v8f a, ncsn_v8f b, ncsn_v8f c) {
    ncsn_v8f r;
    for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}
#define D2_NAME group_d2_portable
#define D2_ATTR
#define D2_VT ncsn_v8f
#define D2_W 8
#define D2_NV 1
#define D2_FMA(a, b, c) fma_lanes8(a, b, c)
#define D2_MAX(v) ((ncsn_v8f)((ncsn_v8i)(v) & ((v) > 0)))
#define D2_WT ncsn_v8u
#define D2_ZT ncsn_v8f
#define D2_PHILOX(key, a, b0, w) ncsn_philox_v8(key, a, b0, 0, 0, w)
#define D2_BOX_MULLER ncsn_box_muller_v8
#include "sample_d2.inc"
#endif

typedef void (*group_fn)(const d2_pack *, float, float, float, int, uint32_t, ncsn_key, float *,
                         int, int);

static void level_d2(const ncsn_model *m, const float *c, float scale, double alpha, int T,
                     uint32_t step0, ncsn_key key, float *x, int n) {
    d2_pack pk;
    pack_d2(m, c, &pk);
    const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
#if defined(NCSN_RNG_X86)
    group_fn fn = group_d2_sse2;
    int G = 8;
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) {
        fn = group_d2_avx2_fma;
        G = 32;
    }
    if (ncsn_isa() >= NCSN_ISA_AVX512) {
        fn = group_d2_avx512;
        G = 64;
    }
#endif
#else
    group_fn fn = group_d2_portable;
    const int G = 8;
#endif
    const int n_groups = (n + G - 1) / G;
    /* dynamic: on a shared machine a thread that gets less CPU takes fewer groups; every
     * chain's result is the same whichever thread runs it */
#pragma omp parallel for schedule(dynamic, 4)
    for (int g = 0; g < n_groups; g++) {
        const int c0 = g * G, nb = (n - c0) < G ? (n - c0) : G;
        fn(&pk, scale, half_alpha, sqrt_alpha, T, step0, key, x, c0, nb);
    }
    free(pk.w);
    free(pk.g);
}

/* ---- the network at any other D: blocked products (gemm.h) -------------------------- */

/* Chains per block: a multiple of the 8 lanes of the noise and of the products' 6 rows. */
#define GB_CHAINS 48

/* x (nb, D) += (alpha / 2) s + sqrt(alpha) z for chains [chain0, chain0 + nb) at step:
 * the noise of step_noise_pairs, 8 chains and two coordinates per Philox counter; plain
 * float arithmetic in a fixed order (the same bits in every build). One counter serves an
 * even step and the odd one after it (words 0, 1 and words 2, 3): an even step keeps words
 * 2, 3 in odd_words (LANGEVIN_KEPT(nb, D) vectors) for the next step, which passes
 * reuse = 1. The counters of 8 chains by 4 pairs of coordinates go side by side (PHILOX4:
 * words w[i] lane 8 p + l of chain l, pair p), then Box-Muller on the 32 lanes; per 8
 * coordinates the draws are transposed to one row per chain, so that every chain's update
 * runs along its coordinates, 8 at a time. */
#define LANGEVIN_KEPT(nb, D) ((size_t)(((nb) + 7) / 8) * (size_t)(((D) + 7) / 8) * 2)
#define LANGEVIN_UPDATE_BODY(PHILOX4)                                                        \
    const int q = (int)(step & 1) * 2, n8 = (D + 7) / 8;                                     \
    const ncsn_v8f ha = (ncsn_v8f){0} + half_alpha, sa = (ncsn_v8f){0} + sqrt_alpha;         \
    for (int i0 = 0; i0 < nb; i0 += NCSN_RNG_LANES) {                                        \
        const int i1 = nb - i0 < NCSN_RNG_LANES ? nb : i0 + NCSN_RNG_LANES;                  \
        for (int d8 = 0; d8 < D; d8 += 8) {                                                  \
            ncsn_v32u w[4];                                                                  \
            ncsn_v32u *kept = odd_words + 2 * ((size_t)(i0 / NCSN_RNG_LANES) * n8 + d8 / 8); \
            if (reuse) {                                                                     \
                memcpy(&w[2], kept, 2 * sizeof(ncsn_v32u));                                  \
            } else {                                                                         \
                PHILOX4(key, step >> 1, chain0 + (uint32_t)i0, (uint32_t)(d8 / 2), 0, 1, w); \
                memcpy(kept, &w[2], 2 * sizeof(ncsn_v32u));                                  \
            }                                                                                \
            ncsn_v32f zc, zs;                                                                \
            ncsn_box_muller_v32(&w[q], &w[q + 1], &zc, &zs);                                 \
            float zcol[8][8], zrow[8][8]; /* (coordinate, chain), then (chain, coordinate) */ \
            for (int p = 0; p < 4; p++) {                                                    \
                memcpy(zcol[2 * p], (const float *)&zc + 8 * p, sizeof zcol[0]);             \
                memcpy(zcol[2 * p + 1], (const float *)&zs + 8 * p, sizeof zcol[0]);         \
            }                                                                                \
            transpose8(zcol[0], 8, zrow[0], 8);                                              \
            const int nd = D - d8 < 8 ? D - d8 : 8;                                          \
            for (int i = i0; i < i1; i++) {                                                  \
                float *xi = x + (size_t)i * D + d8;                                          \
                const float *si = s + (size_t)i * D + d8;                                    \
                if (nd == 8) {                                                               \
                    ncsn_v8f xv, sv, zv;                                                     \
                    memcpy(&xv, xi, sizeof xv);                                              \
                    memcpy(&sv, si, sizeof sv);                                              \
                    memcpy(&zv, zrow[i - i0], sizeof zv);                                    \
                    xv += ha * sv + sa * zv;                                                 \
                    memcpy(xi, &xv, sizeof xv);                                              \
                } else {                                                                     \
                    for (int d = 0; d < nd; d++)                                             \
                        xi[d] += half_alpha * si[d] + sqrt_alpha * zrow[i - i0][d];          \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }
#define LANGEVIN_UPDATE_PARAMS                                                               \
    (ncsn_key key, uint32_t step, int reuse, ncsn_v32u *odd_words, uint32_t chain0, int nb,  \
     int D, float half_alpha, float sqrt_alpha, const float *s, float *x)
/* PHILOX4: rng.h's ncsn_philox_v32s forms with b_step 0, c_step 1: the words of counters
 * (a, b0 + l, c + p, 0), l < 8, p < 4, as above */
#if defined(NCSN_RNG_X86)
static void langevin_update_sse2 LANGEVIN_UPDATE_PARAMS {
    LANGEVIN_UPDATE_BODY(ncsn_philox_v32s_sse2)
}
#ifndef NCSN_NO_CLONES
__attribute__((target("avx2"))) static void langevin_update_avx2 LANGEVIN_UPDATE_PARAMS {
    LANGEVIN_UPDATE_BODY(ncsn_philox_v32s_avx2)
}
/* the same with Philox's and Box-Muller's 32 lanes in two 16-lane registers */
__attribute__((target("avx512f,avx2,fma"))) static void langevin_update_avx512
    LANGEVIN_UPDATE_PARAMS {
    LANGEVIN_UPDATE_BODY(ncsn_philox_v32s_avx512)
}
#endif
#else
static void langevin_update_portable LANGEVIN_UPDATE_PARAMS {
    LANGEVIN_UPDATE_BODY(ncsn_philox_v32s)
}
#endif

typedef void (*update_fn) LANGEVIN_UPDATE_PARAMS;

static update_fn langevin_update(void) {
#if defined(NCSN_RNG_X86)
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX512) return langevin_update_avx512;
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) return langevin_update_avx2;
#endif
    return langevin_update_sse2;
#else
    return langevin_update_portable;
#endif
}

/* T steps of every chain of x (n, D) at one level, blocks of GB_CHAINS chains in place:
 * h = relu(c + W_1x x) (the level bias c, docs/computation.md, Score network) and
 * s = (W_2 h + b_2) scale by ncsn_gemm_block (each sum a fused multiply-add chain in a fixed
 * order), then the update. */
static void level_blocked(const ncsn_model *m, const float *c, float scale, double alpha, int T,
                          uint32_t step0, ncsn_key key, float *x, int n) {
    const int D = m->D, E = m->E, H = m->H;
    float *w2T = ncsn_xmalloc(sizeof(float) * (size_t)H * D); /* (H, D) */
    for (int o = 0; o < H; o++)
        for (int d = 0; d < D; d++) w2T[(size_t)o * D + d] = m->bb2_w[(size_t)d * H + o];
    /* W_1x' (D, H), panel-major, read by every step of every block (gemm.h) */
    float *w1xP = ncsn_xmalloc(sizeof(float) * ncsn_gemm_packed_floats(D, H));
    ncsn_gemm_pack_b(m->bb0_w, 1, D + E, D, H, w1xP);
    const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
    const update_fn update = langevin_update();
    ncsn_isa(); /* the variant is decided before the threads read it */
    const int n_blocks = (n + GB_CHAINS - 1) / GB_CHAINS;
#pragma omp parallel
    {
        float *h = ncsn_xmalloc(sizeof(float) * (size_t)GB_CHAINS * H); /* (chains, H) */
        float *s = ncsn_xmalloc(sizeof(float) * (size_t)GB_CHAINS * D); /* (chains, D) */
        ncsn_v32u *odd_words = ncsn_xmalloc(sizeof(ncsn_v32u) * LANGEVIN_KEPT(GB_CHAINS, D));
        ncsn_gemm g1, g2;
        memset(&g1, 0, sizeof g1);
        memset(&g2, 0, sizeof g2);
        g1.N = H, g1.K = D, g1.a_rs = D, g1.a_ks = 1, g1.B = w1xP, g1.b_panels = 1;
        g1.ldb = (ptrdiff_t)NCSN_GEMM_PANEL * D;
        g1.C = h, g1.ldc = H, g1.init_b = c, g1.relu = 1;
        g2.N = D, g2.K = H, g2.A = h, g2.a_rs = H, g2.a_ks = 1, g2.B = w2T, g2.ldb = D;
        g2.C = s, g2.ldc = D, g2.bias = m->bb2_b, g2.has_scale = 1, g2.scale = scale;
        /* dynamic: a thread that gets less CPU takes fewer blocks; every chain's result is
         * the same whichever thread runs it */
#pragma omp for schedule(dynamic, 1)
        for (int blk = 0; blk < n_blocks; blk++) {
            const int c0 = blk * GB_CHAINS, nb = n - c0 < GB_CHAINS ? n - c0 : GB_CHAINS;
            float *xb = x + (size_t)c0 * D;
            g1.M = g2.M = nb;
            g1.A = xb;
            for (int t = 0; t < T; t++) {
                const uint32_t step = step0 + (uint32_t)t;
                ncsn_gemm_block(&g1, 0, nb, 0, H);
                ncsn_gemm_block(&g2, 0, nb, 0, D);
                update(key, step, t > 0 && (step & 1), odd_words, (uint32_t)c0, nb, D, half_alpha,
                       sqrt_alpha, s, xb);
            }
        }
        free(h);
        free(s);
        free(odd_words);
    }
    free(w1xP);
    free(w2T);
}

/* One level: T steps of size alpha at noise level sigma for every block of chains.
 * step0 is the global index of this level's first step (the noise counter). */
static void run_level(ncsn_score_fn score, const float *c, double sigma, double alpha, int T,
                      uint32_t step0, ncsn_key key, float *x, int n, int D) {
    const int n_blocks = (n + CB - 1) / CB;
    const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
    const float scale = (score.model && score.model->scale_by_sigma) ? (float)(1.0 / sigma) : 1.0f;
    if (score.model && D == 2) {
        level_d2(score.model, c, scale, alpha, T, step0, key, x, n);
        return;
    }
    if (score.model) {
        level_blocked(score.model, c, scale, alpha, T, step0, key, x, n);
        return;
    }
#pragma omp parallel
    {
        block_work w;
        float *mem = ncsn_xcalloc((size_t)4 * D * CB, sizeof(float));
        w.x = mem;
        w.s = w.x + (size_t)D * CB;
        w.xr = w.s + (size_t)D * CB;
        w.sr = w.xr + (size_t)D * CB;
#pragma omp for schedule(static)
        for (int blk = 0; blk < n_blocks; blk++) {
            const int c0 = blk * CB;
            const int nb = (n - c0) < CB ? (n - c0) : CB;
            for (int i = 0; i < nb; i++)
                for (int d = 0; d < D; d++)
                    w.x[(size_t)d * CB + i] = x[(size_t)(c0 + i) * D + d];
            for (int t = 0; t < T; t++) {
                exact_score_block(score.gmm, sigma, D, nb, &w);
                const uint32_t step = step0 + (uint32_t)t;
                for (int i0 = 0; i0 < nb; i0 += NCSN_RNG_LANES) {
                    for (int d0 = 0; d0 < D; d0 += 2) {
                        float z[2][NCSN_RNG_LANES];
                        step_noise_pairs(key, step, (uint32_t)(c0 + i0), (uint32_t)(d0 / 2), z[0],
                                         z[1]);
                        for (int q = 0; q < 2 && d0 + q < D; q++)
                            for (int i = i0; i < nb && i < i0 + NCSN_RNG_LANES; i++) {
                                float *xd = w.x + (size_t)(d0 + q) * CB + i;
                                *xd += half_alpha * w.s[(size_t)(d0 + q) * CB + i] +
                                       sqrt_alpha * z[q][i - i0];
                            }
                    }
                }
            }
            for (int i = 0; i < nb; i++)
                for (int d = 0; d < D; d++)
                    x[(size_t)(c0 + i) * D + d] = w.x[(size_t)d * CB + i];
        }
        free(mem);
    }
}

/* x += step * s(x, sigma) once (the denoising step), with no noise. */
static void denoise(ncsn_score_fn score, double sigma, float *x, int n, int D) {
    float *s = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    if (score.model) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i += CB) {
            int nb = (n - i) < CB ? (n - i) : CB;
            ncsn_model_score(score.model, x + (size_t)i * D, nb, (float)sigma, s + (size_t)i * D);
        }
    } else {
        ncsn_gmm_score_batch(score.gmm, x, n, sigma, s);
    }
    const float step = (float)(sigma * sigma);
    for (size_t j = 0; j < (size_t)n * D; j++) x[j] += step * s[j];
    free(s);
}

int ncsn_sampler_levels(const ncsn_sampler *s) { return ncsn_sampler_level_count(s->method, s->L); }

int ncsn_sample_levels(const ncsn_sampler *s, ncsn_score_fn score, ncsn_key key, float *x,
                       int n, int D, int from, int to, int *done, ncsn_progress_fn progress,
                       void *user) {
    const int n_levels = ncsn_sampler_levels(s);
    NCSN_ASSERT(0 <= from && from <= to && to <= n_levels);
    *done = from;
    const int H = score.model ? score.model->H : 1;
    float *c = ncsn_xcalloc((size_t)H, sizeof(float)); /* level bias (H) */
    const double sigma_L = s->sigmas[s->L - 1];
    const double t0 = ncsn_now();
    double last = t0;
    for (int i = from; i < to; i++) {
        if (ncsn_stop_requested()) { /* a stop signal (common.h), between levels */
            free(c);
            return 1;
        }
        if (s->method == NCSN_SAMPLE_PLAIN) {
            /* the model at sigma_L, or the exact data score (sigma = 0) */
            const double sigma = score.model ? sigma_L : 0.0;
            if (score.model) ncsn_model_level_bias(score.model, (float)sigma, c);
            run_level(score, c, sigma, s->eps, s->T, 0, key, x, n, D);
        } else {
            const double sigma = s->sigmas[i];
            const double alpha = s->eps * sigma * sigma / (sigma_L * sigma_L);
            if (score.model) ncsn_model_level_bias(score.model, (float)sigma, c);
            run_level(score, c, sigma, alpha, s->T, (uint32_t)i * (uint32_t)s->T, key, x, n, D);
        }
        *done = i + 1;
        const double now = ncsn_now();
        if (progress && (now - last >= 1.0 || i + 1 == n_levels)) {
            char extra[64];
            if (s->method == NCSN_SAMPLE_PLAIN) snprintf(extra, sizeof extra, "plain");
            else snprintf(extra, sizeof extra, "sigma=%.4g", s->sigmas[i]);
            progress("sample", i + 1, n_levels, (double)(i + 1 - from) / (now - t0), extra,
                     user);
            last = now;
        }
    }
    if (to == n_levels && s->denoise) denoise(score, sigma_L, x, n, D);
    free(c);
    return 0;
}

int ncsn_sample(const ncsn_sampler *s, ncsn_score_fn score, ncsn_key key, float *x, int n,
                int D, ncsn_progress_fn progress, void *user) {
    int done;
    return ncsn_sample_levels(s, score, key, x, n, D, 0, ncsn_sampler_levels(s), &done,
                              progress, user);
}
