/* train/adam.c: torch.optim.Adam (single-tensor path), weight decay added to the gradient
 * (docs/computation.md, Adam and EMA). No fused operations: every variant gives the same
 * bits. */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>


#include "ncsn/simd.h"

void ncsn_adam_init(ncsn_adam *a, size_t n, double lr, double weight_decay) {
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->weight_decay = weight_decay;
    a->n = n;
    a->m = ncsn_xcalloc_lines(n, sizeof(float));
    a->v = ncsn_xcalloc_lines(n, sizeof(float));
}

void ncsn_adam_free(ncsn_adam *a) {
    if (!a) return;
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Adam over [0, n): the scalar form below, 8 (AVX2) or 4 (SSE) lanes at a time. sqrt is
 * correctly rounded on every path, so all give the same bits. */
typedef ncsn_adam_coef adam_consts;

#define ADAM_SCALAR(c, p, g, m, v, i)                                        \
    do {                                                                     \
        float g_ = g[i];                                                     \
        if (c->wd != 0) g[i] = g_ += c->wd * p[i];                           \
        m[i] = c->b1 * m[i] + (1 - c->b1) * g_;                              \
        v[i] = c->b2 * v[i] + (1 - c->b2) * g_ * g_;                         \
        const float denom_ = sqrtf(v[i]) / c->bc2_sqrt + c->eps;             \
        p[i] -= c->step_size * (m[i] / denom_);                              \
    } while (0)

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ADAM_VECTOR(VT, W, SQRT)                                                      \
    size_t i = 0;                                                                     \
    const float ob1 = 1 - c->b1, ob2 = 1 - c->b2;                                     \
    for (; i + W <= n; i += W) {                                                      \
        VT gv, pv, mv, vv;                                                            \
        memcpy(&gv, g + i, sizeof gv);                                                \
        memcpy(&pv, p + i, sizeof pv);                                                \
        memcpy(&mv, m + i, sizeof mv);                                                \
        memcpy(&vv, v + i, sizeof vv);                                                \
        if (c->wd != 0) {                                                             \
            gv = gv + c->wd * pv;                                                     \
            memcpy(g + i, &gv, sizeof gv);                                            \
        }                                                                             \
        mv = c->b1 * mv + ob1 * gv;                                                   \
        vv = c->b2 * vv + (ob2 * gv) * gv;                                            \
        const VT denom = SQRT(vv) / c->bc2_sqrt + c->eps;                             \
        pv = pv - c->step_size * (mv / denom);                                        \
        memcpy(p + i, &pv, sizeof pv);                                                \
        memcpy(m + i, &mv, sizeof mv);                                                \
        memcpy(v + i, &vv, sizeof vv);                                                \
    }                                                                                 \
    for (; i < n; i++) ADAM_SCALAR(c, p, g, m, v, i);

typedef float v4f __attribute__((vector_size(16)));
#define SQRT8(x) ((v8f)_mm256_sqrt_ps((__m256)(x)))
#define SQRT4(x) ((v4f)_mm_sqrt_ps((__m128)(x)))
#ifndef NCSN_NO_CLONES
__attribute__((target("avx2"))) static void adam_avx2(const adam_consts *c, float *p, float *g,
                                                      float *m, float *v, size_t n) {
    ADAM_VECTOR(v8f, 8, SQRT8)
}
#endif
static void adam_sse(const adam_consts *c, float *p, float *g, float *m, float *v, size_t n) {
    ADAM_VECTOR(v4f, 4, SQRT4)
}
#endif

static void adam_range(const adam_consts *c, float *p, float *g, float *m, float *v, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) { /* AVX2 without FMA: the baseline, like the rest */
        adam_avx2(c, p, g, m, v, n);
        return;
    }
#endif
    adam_sse(c, p, g, m, v, n);
#else
    for (size_t i = 0; i < n; i++) ADAM_SCALAR(c, p, g, m, v, i);
#endif
}

ncsn_adam_coef ncsn_adam_next_coef(const ncsn_adam *a) {
    /* torch.optim.Adam (single-tensor path): g += wd p; m = b1 m + (1-b1) g;
     * v = b2 v + (1-b2) g^2; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
    const double t = (double)(a->t + 1);
    const double bc1 = 1.0 - pow(a->beta1, t);
    const double bc2 = 1.0 - pow(a->beta2, t);
    const adam_consts c = {(float)(a->lr / bc1), (float)sqrt(bc2), (float)a->beta1,
                           (float)a->beta2, (float)a->eps, (float)a->weight_decay};
    return c;
}

void ncsn_adam_update(ncsn_adam *a, const ncsn_adam_coef *c, float *params, float *grad,
                      size_t start, size_t count) {
    adam_range(c, params + start, grad + start, a->m + start, a->v + start, count);
}

void ncsn_adam_count(ncsn_adam *a) { a->t++; }

void ncsn_adam_step(ncsn_adam *a, float *params, float *grad) {
    const adam_consts c = ncsn_adam_next_coef(a);
    adam_range(&c, params, grad, a->m, a->v, a->n);
    ncsn_adam_count(a);
}
