/* train/adam.c: torch.optim.Adam (single-tensor path), weight decay added to the gradient
 * (docs/computation.md, Adam and EMA), with subnormal floats flushed to zero on x86-64. No
 * fused operations: every variant gives the same bits. */
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

/* Adam over [0, n): the scalar form below, 8 (AVX2+FMA) or 4 (SSE) lanes at a time. sqrt is
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

#ifndef NCSN_NO_CLONES
/* The AVX2+FMA form: the same operations, except that sqrt(v) / bc2_sqrt, the step's
 * division by a constant c, is computed without the divider, which the other two (sqrt and
 * m / denom) keep busy: with r = RN(1/c) (inv_bc2_sqrt),
 *     q = x r;   q = q + (x - q c) r;   q = q + (x - q c) r
 * each correction two fused multiply-adds. The first correction makes q within one ulp of
 * x / c; the second then gives x / c rounded to nearest (Markstein's theorem: r within half
 * an ulp of 1/c, q faithful, the remainder x - q c exact), the division's bits. The theorem
 * needs no underflow nor overflow: x = sqrt(v) is 0 or between 2^-63 and 2^64 for every
 * finite v >= 0 (subnormal v reads as 0, see adam_range); a vector with anything else
 * (inf, NaN) takes the division. */
__attribute__((target("avx2,fma"), noinline)) static void
adam_avx2_fma(const adam_consts *c, float *p, float *g, float *m, float *v, size_t n) {
    const __m256 b1 = _mm256_set1_ps(c->b1), ob1 = _mm256_set1_ps(1 - c->b1);
    const __m256 b2 = _mm256_set1_ps(c->b2), ob2 = _mm256_set1_ps(1 - c->b2);
    const __m256 wd = _mm256_set1_ps(c->wd), eps = _mm256_set1_ps(c->eps);
    const __m256 step = _mm256_set1_ps(c->step_size), bc = _mm256_set1_ps(c->bc2_sqrt);
    const __m256 rbc = _mm256_set1_ps(c->inv_bc2_sqrt), big = _mm256_set1_ps(0x1p100f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i), pv = _mm256_loadu_ps(p + i);
        __m256 mv = _mm256_loadu_ps(m + i), vv = _mm256_loadu_ps(v + i);
        if (c->wd != 0) {
            gv = _mm256_add_ps(gv, _mm256_mul_ps(wd, pv));
            _mm256_storeu_ps(g + i, gv);
        }
        mv = _mm256_add_ps(_mm256_mul_ps(b1, mv), _mm256_mul_ps(ob1, gv));
        vv = _mm256_add_ps(_mm256_mul_ps(b2, vv), _mm256_mul_ps(_mm256_mul_ps(ob2, gv), gv));
        const __m256 x = _mm256_sqrt_ps(vv);
        __m256 q;
        if (_mm256_movemask_ps(_mm256_cmp_ps(x, big, _CMP_LE_OQ)) == 0xff) {
            q = _mm256_mul_ps(x, rbc);
            q = _mm256_fmadd_ps(_mm256_fnmadd_ps(q, bc, x), rbc, q);
            q = _mm256_fmadd_ps(_mm256_fnmadd_ps(q, bc, x), rbc, q);
        } else {
            q = _mm256_div_ps(x, bc);
        }
        const __m256 denom = _mm256_add_ps(q, eps);
        pv = _mm256_sub_ps(pv, _mm256_mul_ps(step, _mm256_div_ps(mv, denom)));
        _mm256_storeu_ps(p + i, pv);
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
    }
    for (; i < n; i++) ADAM_SCALAR(c, p, g, m, v, i);
}
#endif
#define SQRT4(x) ((v4f)_mm_sqrt_ps((__m128)(x)))
__attribute__((noinline)) static void adam_sse(const adam_consts *c, float *p, float *g, float *m,
                                               float *v, size_t n) {
    ADAM_VECTOR(v4f, 4, SQRT4)
}
#endif

/* Adam's arithmetic runs with the CPU's flush-to-zero and denormals-are-zero modes on
 * (MXCSR bits FTZ 0x8000, DAZ 0x0040; this thread's, restored after): a subnormal input
 * reads as zero and a result that would be subnormal is zero, both of the sign they had.
 * Why: a parameter whose gradient stays 0 (a hidden unit no example activates) has
 * m <- 0.9 m fall into the subnormals within about 800 steps and stay there (0.9 times
 * the smallest subnormal rounds back to it), and every instruction with a subnormal
 * operand or result takes a microcode assist of about a hundred cycles on Intel cores:
 * after 8000 steps at D 64, H 512, half of m was subnormal and Adam took 40% of a step.
 * Every variant (and the scalar tails) runs in the same mode, so all give the same bits. */
#define ADAM_MXCSR_FLUSH 0x8040u
/* (The variants are noinline: none of their arithmetic can be moved across the MXCSR
 * writes around their calls.) */

static void adam_range(const adam_consts *c, float *p, float *g, float *m, float *v, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | ADAM_MXCSR_FLUSH);
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) /* AVX2 without FMA: the baseline, like the rest */
        adam_avx2_fma(c, p, g, m, v, n);
    else
#endif
        adam_sse(c, p, g, m, v, n);
    _mm_setcsr(csr);
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
    const float bc2_sqrt = (float)sqrt(bc2);
    /* 1 / bc2_sqrt in double, then rounded to float: the float nearest to it (no quotient of
     * floats lies within 2^-49 of a midpoint between floats, far beyond double's error) */
    const adam_consts c = {(float)(a->lr / bc1),   bc2_sqrt,
                           (float)a->beta1,        (float)a->beta2,
                           (float)a->eps,          (float)a->weight_decay,
                           (float)(1.0 / (double)bc2_sqrt)};
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
