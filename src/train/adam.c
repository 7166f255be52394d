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
    a->m = ncsn_xcalloc(n, sizeof(float));
    a->v = ncsn_xcalloc(n, sizeof(float));
}

void ncsn_adam_free(ncsn_adam *a) {
    if (!a) return;
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Adam over [0, n): the scalar form below, 8 (AVX2) or 4 (SSE) lanes at a time. sqrt is
 * correctly rounded on every path, so all give the same bits. */
typedef struct {
    float step_size, bc2_sqrt, b1, b2, eps, wd;
} adam_consts;

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

static adam_consts adam_next(ncsn_adam *a) {
    /* torch.optim.Adam (single-tensor path): g += wd p; m = b1 m + (1-b1) g;
     * v = b2 v + (1-b2) g^2; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
    a->t++;
    const double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    const double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const adam_consts c = {(float)(a->lr / bc1), (float)sqrt(bc2), (float)a->beta1,
                           (float)a->beta2, (float)a->eps, (float)a->weight_decay};
    return c;
}

typedef struct {
    const adam_consts *c;
    ncsn_adam *a;
    float *params, *grad;
} adam_job;

static void adam_owned(size_t start, size_t count, void *user) {
    const adam_job *j = user;
    adam_range(j->c, j->params + start, j->grad + start, j->a->m + start, j->a->v + start, count);
}

void ncsn_adam_step_model(ncsn_adam *a, const ncsn_model *m, float *grad) {
    /* Every element's update is its own, so any split gives the bits of one thread: each
     * thread updates the parameters of the hidden units it owns in the blocked training
     * path, which are in its cache (small models in one piece). */
    const adam_consts c = adam_next(a);
    adam_job j = {&c, a, m->params, grad};
    ncsn_model_each_owned(m, adam_owned, &j);
}

void ncsn_adam_step(ncsn_adam *a, float *params, float *grad) {
    const adam_consts c = adam_next(a);
    adam_range(&c, params, grad, a->m, a->v, a->n);
}
