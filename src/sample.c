/* sample.c: annealed and plain Langevin dynamics over blocks of chains (SPEC.md s. 4).
 * n = chains, D = data dimension, H = hidden width.
 * The notebook's case (the network, D = 2) has its own kernel: groups of G chains, two
 * 8-lane vectors, whose positions stay in registers for all T steps of a level, with the
 * network, the noise (ncsn_philox_lanes + ncsn_box_muller_lanes, one Philox call serving
 * two steps) and the update fused. Everything else goes in blocks of CB chains laid out
 * coordinate-major (D, CB), so the inner loops run over chains and vectorise.
 * Hot kernels are compiled for AVX2 and for the baseline ISA (chosen at run time); they
 * use only elementwise float arithmetic without contraction, so both give the same bits. */
#include "ncsn/sample.h"

#include <math.h>
#include <string.h>

#include "ncsn/common.h"

#define CB 64 /* chains per block */

#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define NCSN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define NCSN_HOT
#endif

/* The noise of chain c at global step s, coordinate j (SPEC.md section 8): Philox at
 * counter (s / 2, c, j / 2, 0); words (0, 1) serve even s and words (2, 3) odd s; Box-Muller
 * (ncsn_box_muller_lanes) of that pair gives coordinate j's normal as the cosine (j even) or
 * sine (j odd) branch. */
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
    float *h;  /* (H, CB) */
    float *xr; /* (CB, D) row-major copy for the exact score */
    float *sr; /* (CB, D) */
} block_work;

/* s = s_theta(x, sigma) for one block of nb chains, given the level bias c (H).
 * Chains go V at a time: for each hidden unit o, h = relu(c_o + W_1x[o,:] x) and
 * s += W_2[:, o] h, so x, h and s stay in registers and the loops over the V chains
 * vectorise. D = 2 (the notebook's) gets its own unrolled copy. */
#define V 16
static void model_score_block(const ncsn_model *m, const float *c, float scale, int nb,
                              block_work *w) {
    const int D = m->D, E = m->E, H = m->H;
    const float *w1 = m->bb0_w, *w2 = m->bb2_w;
    for (int i0 = 0; i0 < nb; i0 += V) {
        if (D == 2) {
            float x0[V], x1[V], s0[V], s1[V];
            for (int v = 0; v < V; v++) {
                x0[v] = w->x[i0 + v];
                x1[v] = w->x[CB + i0 + v];
                s0[v] = 0;
                s1[v] = 0;
            }
            for (int o = 0; o < H; o++) {
                const float a = w1[(size_t)o * (2 + E)], b = w1[(size_t)o * (2 + E) + 1];
                const float co = c[o], u0 = w2[o], u1 = w2[H + o];
                for (int v = 0; v < V; v++) {
                    float h = co + a * x0[v] + b * x1[v];
                    h = h > 0 ? h : 0;
                    s0[v] += u0 * h;
                    s1[v] += u1 * h;
                }
            }
            const float b0 = m->bb2_b[0], b1 = m->bb2_b[1];
            for (int v = 0; v < V; v++) {
                w->s[i0 + v] = (s0[v] + b0) * scale;
                w->s[CB + i0 + v] = (s1[v] + b1) * scale;
            }
            continue;
        }
        float h[V];
        for (int d = 0; d < D; d++)
            for (int v = 0; v < V; v++) w->s[(size_t)d * CB + i0 + v] = 0;
        for (int o = 0; o < H; o++) {
            const float *wo = w1 + (size_t)o * (D + E);
            for (int v = 0; v < V; v++) h[v] = c[o];
            for (int d = 0; d < D; d++)
                for (int v = 0; v < V; v++) h[v] += wo[d] * w->x[(size_t)d * CB + i0 + v];
            for (int v = 0; v < V; v++) h[v] = h[v] > 0 ? h[v] : 0;
            for (int d = 0; d < D; d++) {
                const float u = w2[(size_t)d * H + o];
                for (int v = 0; v < V; v++) w->s[(size_t)d * CB + i0 + v] += u * h[v];
            }
        }
        for (int d = 0; d < D; d++)
            for (int v = 0; v < V; v++)
                w->s[(size_t)d * CB + i0 + v] = (w->s[(size_t)d * CB + i0 + v] + m->bb2_b[d]) * scale;
    }
}

static void exact_score_block(const ncsn_gmm *g, double sigma, int D, int nb, block_work *w) {
    for (int i = 0; i < nb; i++)
        for (int d = 0; d < D; d++) w->xr[(size_t)i * D + d] = w->x[(size_t)d * CB + i];
    ncsn_gmm_score_batch(g, w->xr, nb, sigma, w->sr);
    for (int i = 0; i < nb; i++)
        for (int d = 0; d < D; d++) w->s[(size_t)d * CB + i] = w->sr[(size_t)i * D + d];
}

/* ---- the notebook's case: the network with D = 2 ------------------------------------ */

typedef ncsn_v8f v8f;
typedef ncsn_v8i v8i;
#define G 16 /* chains per group: two 8-lane vectors */
#define PK 8 /* floats per hidden unit in the packed weights */

/* Per hidden unit o of a level: (W_1[o,0], W_1[o,1], c_o, W_2[0,o], W_2[1,o], 0, 0, 0). */
static void pack_d2(const ncsn_model *m, const float *c, float *pk) {
    const int E = m->E, H = m->H;
    for (int o = 0; o < H; o++) {
        float *p = pk + (size_t)o * PK;
        p[0] = m->bb0_w[(size_t)o * (2 + E)];
        p[1] = m->bb0_w[(size_t)o * (2 + E) + 1];
        p[2] = c[o];
        p[3] = m->bb2_w[o];
        p[4] = m->bb2_w[H + o];
        p[5] = p[6] = p[7] = 0;
    }
}

/* relu per lane; loads of 8 floats (macros: passing 32-byte vectors by value between
 * functions draws ABI warnings where AVX is off) */
#define RELU8(v) ((v8f)((v8i)(v) & ((v) > 0)))
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8f))

/* T steps for chains [c0, c0 + nb) of x (n, 2), nb <= G, all in registers. */
NCSN_HOT static void group_d2(const float *pk, int H, float b0, float b1, float scale,
                              float half_alpha, float sqrt_alpha, int T, uint32_t step0,
                              ncsn_key key, float *x, int c0, int nb) {
    float buf[2][G];
    for (int i = 0; i < G; i++) {
        buf[0][i] = i < nb ? x[(size_t)(c0 + i) * 2] : 0;
        buf[1][i] = i < nb ? x[(size_t)(c0 + i) * 2 + 1] : 0;
    }
    v8f x0a, x0b, x1a, x1b;
    LOAD8(x0a, buf[0]);
    LOAD8(x0b, buf[0] + 8);
    LOAD8(x1a, buf[1]);
    LOAD8(x1b, buf[1] + 8);
    ncsn_v8u w[2][4];
    for (int t = 0; t < T; t++) {
        const uint32_t step = step0 + (uint32_t)t;
        v8f s0a = {0}, s0b = {0}, s1a = {0}, s1b = {0};
        for (int o = 0; o < H; o++) {
            const float *p = pk + (size_t)o * PK;
            const float a = p[0], b = p[1], co = p[2], u0 = p[3], u1 = p[4];
            const v8f za = (co + a * x0a) + b * x1a, zb = (co + a * x0b) + b * x1b;
            const v8f ha = RELU8(za), hb = RELU8(zb);
            s0a += u0 * ha;
            s0b += u0 * hb;
            s1a += u1 * ha;
            s1b += u1 * hb;
        }
        if (t == 0 || (step & 1) == 0) {
            ncsn_philox_v8(key, step >> 1, (uint32_t)c0, 0, 0, w[0]);
            ncsn_philox_v8(key, step >> 1, (uint32_t)c0 + NCSN_RNG_LANES, 0, 0, w[1]);
        }
        const int q = (int)(step & 1) * 2;
        v8f zca, zsa, zcb, zsb;
        ncsn_box_muller_v8(&w[0][q], &w[0][q + 1], &zca, &zsa);
        ncsn_box_muller_v8(&w[1][q], &w[1][q + 1], &zcb, &zsb);
        x0a += half_alpha * ((s0a + b0) * scale) + sqrt_alpha * zca;
        x0b += half_alpha * ((s0b + b0) * scale) + sqrt_alpha * zcb;
        x1a += half_alpha * ((s1a + b1) * scale) + sqrt_alpha * zsa;
        x1b += half_alpha * ((s1b + b1) * scale) + sqrt_alpha * zsb;
    }
    memcpy(buf[0], &x0a, sizeof x0a);
    memcpy(buf[0] + 8, &x0b, sizeof x0b);
    memcpy(buf[1], &x1a, sizeof x1a);
    memcpy(buf[1] + 8, &x1b, sizeof x1b);
    for (int i = 0; i < nb; i++) {
        x[(size_t)(c0 + i) * 2] = buf[0][i];
        x[(size_t)(c0 + i) * 2 + 1] = buf[1][i];
    }
}

static void level_d2(const ncsn_model *m, const float *c, float scale, double alpha, int T,
                     uint32_t step0, ncsn_key key, float *x, int n) {
    const int H = m->H;
    float *pk = ncsn_xmalloc(sizeof(float) * (size_t)H * PK);
    pack_d2(m, c, pk);
    const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
    const int n_groups = (n + G - 1) / G;
#pragma omp parallel for schedule(static)
    for (int g = 0; g < n_groups; g++) {
        const int c0 = g * G, nb = (n - c0) < G ? (n - c0) : G;
        group_d2(pk, H, m->bb2_b[0], m->bb2_b[1], scale, half_alpha, sqrt_alpha, T, step0, key,
                 x, c0, nb);
    }
    free(pk);
}

/* One level: T steps of size alpha at noise level sigma for every block of chains.
 * step0 is the global index of this level's first step (the noise counter). */
static void run_level(ncsn_score_fn score, const float *c, double sigma, int use_sigma_model,
                      double alpha, int T, uint32_t step0, ncsn_key key, float *x, int n,
                      int D, int H) {
    const int n_blocks = (n + CB - 1) / CB;
    const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
    const float scale = (score.model && score.model->scale_by_sigma) ? (float)(1.0 / sigma) : 1.0f;
    (void)use_sigma_model;
    if (score.model && D == 2) {
        level_d2(score.model, c, scale, alpha, T, step0, key, x, n);
        return;
    }
#pragma omp parallel
    {
        block_work w;
        float *mem = ncsn_xcalloc((size_t)4 * D * CB + (size_t)H * CB, sizeof(float));
        w.x = mem;
        w.s = w.x + (size_t)D * CB;
        w.h = w.s + (size_t)D * CB;
        w.xr = w.h + (size_t)H * CB;
        w.sr = w.xr + (size_t)D * CB;
#pragma omp for schedule(static)
        for (int blk = 0; blk < n_blocks; blk++) {
            const int c0 = blk * CB;
            const int nb = (n - c0) < CB ? (n - c0) : CB;
            for (int i = 0; i < nb; i++)
                for (int d = 0; d < D; d++)
                    w.x[(size_t)d * CB + i] = x[(size_t)(c0 + i) * D + d];
            for (int t = 0; t < T; t++) {
                if (score.model)
                    model_score_block(score.model, c, scale, nb, &w);
                else
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

int ncsn_sample(const ncsn_sampler *s, ncsn_score_fn score, ncsn_key key, float *x, int n,
                int D, ncsn_progress_fn progress, void *user) {
    const int H = score.model ? score.model->H : 1;
    float *c = ncsn_xcalloc((size_t)H, sizeof(float)); /* level bias (H) */
    const double sigma_L = s->sigmas[s->L - 1];
    const double t0 = ncsn_now();
    if (s->method == NCSN_SAMPLE_PLAIN) {
        /* the model at sigma_L, or the exact data score (sigma = 0) */
        double sigma = score.model ? sigma_L : 0.0;
        if (score.model) ncsn_model_level_bias(score.model, (float)sigma, c);
        run_level(score, c, sigma, 1, s->eps, s->T, 0, key, x, n, D, H);
        if (progress) progress("sample", 1, 1, 1.0 / (ncsn_now() - t0), "plain", user);
    } else {
        double last = t0;
        for (int i = 0; i < s->L; i++) {
            const double sigma = s->sigmas[i];
            const double alpha = s->eps * sigma * sigma / (sigma_L * sigma_L);
            if (score.model) ncsn_model_level_bias(score.model, (float)sigma, c);
            run_level(score, c, sigma, 1, alpha, s->T, (uint32_t)i * (uint32_t)s->T, key, x, n,
                      D, H);
            double now = ncsn_now();
            if (progress && (now - last >= 1.0 || i + 1 == s->L)) {
                char extra[64];
                snprintf(extra, sizeof extra, "sigma=%.4g", sigma);
                progress("sample", i + 1, s->L, (double)(i + 1) / (now - t0), extra, user);
                last = now;
            }
        }
    }
    if (s->denoise) denoise(score, sigma_L, x, n, D);
    free(c);
    return 0;
}
