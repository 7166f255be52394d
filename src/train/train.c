/* train/train.c: the DSM loss and its gradient, Adam, and the training loop (SPEC.md section 3).
 * B = batch size, D = data dimension, E = embedding width, H = hidden width,
 * L = number of levels, K = number of embedding classes in a batch (see train.h).
 * The fast path's kernels use fused multiply-adds at fixed places (fma8, fmaf: the sums of
 * products of the forward and backward passes and of the class tables), everything else
 * unfused (-ffp-contract=off). Each kernel is built twice from one body, for AVX2+FMA,
 * where fma8 becomes vfmadd, and for the x86-64 baseline, where it is fmaf per lane (the
 * FMA instruction through glibc where the CPU has one, exact software otherwise: several
 * times slower there), chosen at run time by ncsn_isa (rng.h). fmaf is correctly rounded,
 * so both give the same bits. Adam and the draws have no fused operations. */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define NCSN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define NCSN_HOT
#endif

typedef ncsn_v8f v8f;
typedef ncsn_v8i v8i;
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8f))
#define STORE8(p, src) memcpy((p), &(src), sizeof(v8f))
#define RELU8(v, mask) ((v8f)((v8i)(v) & (mask)))
#define FAST_MAX_D 16

/* a b + c per lane, rounded once: FMA8(a, b, c) inside a kernel body (*_impl below), whose
 * parameter hw_ (a constant in each build of it) says which form: vfmadd in the AVX2+FMA
 * build, fmaf per lane in the baseline's. fma8_hw is never inlined into (nor, hw_ being 0,
 * called from) the baseline build. */
/* 32-byte vectors passed by value to and from these inline helpers: GCC warns that the ABI
 * of such calls differs without AVX, which matters only across separately built code,
 * never here (the helpers are inlined, and fma8_hw is never called in the baseline). */
#pragma GCC diagnostic ignored "-Wpsabi"
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define HAVE_FMA_BUILD 1
static inline __attribute__((target("avx2,fma"))) v8f fma8_hw(v8f a, v8f b, v8f c) {
    return (v8f)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}
#endif
static inline __attribute__((always_inline)) v8f fma8_sw(v8f a, v8f b, v8f c) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}
#ifdef HAVE_FMA_BUILD
#define FMA8(a, b, c) (hw_ ? fma8_hw((a), (b), (c)) : fma8_sw((a), (b), (c)))
#else
#define FMA8(a, b, c) ((void)hw_, fma8_sw((a), (b), (c)))
#endif
/* FMA8S(a, s, c): FMA8 with a scalar factor s in every lane */
#ifdef HAVE_FMA_BUILD
static inline __attribute__((target("avx2,fma"))) v8f fma8s_hw(v8f a, float s, v8f c) {
    return (v8f)_mm256_fmadd_ps((__m256)a, _mm256_set1_ps(s), (__m256)c);
}
#endif
static inline __attribute__((always_inline)) v8f fma8s_sw(v8f a, float s, v8f c) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], s, c[l]);
    return r;
}
/* BCAST8(s): s in every lane (vbroadcastss; GCC builds {s, ..., s} through memory) */
#ifdef HAVE_FMA_BUILD
static inline __attribute__((target("avx2,fma"))) v8f bcast8_hw(float s) {
    return (v8f)_mm256_set1_ps(s);
}
#endif
static inline __attribute__((always_inline)) v8f bcast8_sw(float s) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = s;
    return r;
}
#ifdef HAVE_FMA_BUILD
#define FMA8S(a, s, c) (hw_ ? fma8s_hw((a), (s), (c)) : fma8s_sw((a), (s), (c)))
#define BCAST8(s) (hw_ ? bcast8_hw(s) : bcast8_sw(s))
#else
#define FMA8S(a, s, c) ((void)hw_, fma8s_sw((a), (s), (c)))
#define BCAST8(s) ((void)hw_, bcast8_sw(s))
#endif

/* KERNEL(name, params, args) defines name_fma (built for AVX2+FMA) and name_base (the
 * baseline) around the always-inline body name_impl(args..., hw_); CALL_KERNEL(fma, name,
 * args) calls the one chosen. */
#define KERNEL_ARGS(...) __VA_ARGS__
#define KERNEL_CALL(f, ...) f(__VA_ARGS__)
#ifdef HAVE_FMA_BUILD
#define KERNEL(name, params, args)                                                          \
    __attribute__((target("avx2,fma"))) static void name##_fma params {                     \
        KERNEL_CALL(name##_impl, KERNEL_ARGS args, 1);                                      \
    }                                                                                       \
    static void name##_base params { KERNEL_CALL(name##_impl, KERNEL_ARGS args, 0); }
#define CALL_KERNEL(fma, name, args) ((fma) ? name##_fma args : name##_base args)
#else
#define KERNEL(name, params, args) \
    static void name##_base params { KERNEL_CALL(name##_impl, KERNEL_ARGS args, 0); }
#define CALL_KERNEL(fma, name, args) ((void)(fma), name##_base args)
#endif
#ifndef NCSN_FAST_PARALLEL_MIN
#define NCSN_FAST_PARALLEL_MIN 262144L
#endif

/* The fast path's tables (see ncsn_dsm_loss_grad in train.h). "Position" i is the i-th
 * example in (class, index) order, the order of every sum over examples. */
typedef struct {
    int Kmax;           /* E + 1: the most classes a batch can have */
    int *cls;           /* (Bmax) class of each example */
    int *ord;           /* (Bmax) example at each position */
    int *kstart;        /* (Kmax + 1) where each class starts in ord */
    uint32_t *kmask;    /* (Kmax) ReLU pattern of each class */
    int Lcap;           /* entries in the per-level tables */
    uint32_t stamp;     /* this batch's mark in lv_stamp */
    uint32_t *lv_stamp; /* (Lcap) == stamp: the level's entries below are this batch's */
    int *lv_cls;        /* (Lcap) class of the level */
    float *lv_t;        /* (Lcap) embedding input of the level */
    float *t;           /* (Bmax) embedding input, by example */
    float *sig;         /* (Bmax) sigma, by example */
    float *ts;          /* (Bmax) t, by position */
    float *xs;          /* (Bmax, D) x' = x + sigma z, by position */
    float *ds;          /* (Bmax, D) dloss_b / d(network output), by position */
    float *dout;        /* (Bmax, D) the same, by example */
    float *zs;          /* (Bmax, H) the first layer before the ReLU, by position */
    double *lossb;      /* (Bmax) */
    float *w1xT;        /* (D, H) W_1's x columns, transposed */
    float *w1eT;        /* (E, H) W_1's e columns, transposed */
    float *we2T;        /* (E, E) W_e2 transposed */
    float *uk, *vk;     /* (Kmax, E) embedding of class k: e = t u_k + v_k */
    float *Ak, *Bk;     /* (Kmax, H) first layer of class k: W_1x x + t A_k + B_k */
    float *Pk, *Qk;     /* (Kmax, H) sums of t dz1 and of dz1 over class k */
    float *pk, *qk;     /* (Kmax, E) W_1e' P_k, W_1e' Q_k */
} fast_work;

static int fast_ok(const ncsn_model *m) {
    return m->E <= 32 && m->E % 8 == 0 && m->H % 8 == 0 && m->D <= FAST_MAX_D;
}

static fast_work *fast_alloc(const ncsn_model *m, int Bmax) {
    const int D = m->D, E = m->E, H = m->H, K = E + 1;
    fast_work *f = ncsn_xcalloc(1, sizeof *f);
    f->Kmax = K;
    f->cls = ncsn_xcalloc((size_t)Bmax, sizeof(int));
    f->ord = ncsn_xcalloc((size_t)Bmax, sizeof(int));
    f->kstart = ncsn_xcalloc((size_t)K + 1, sizeof(int));
    f->kmask = ncsn_xcalloc((size_t)K, sizeof(uint32_t));
    f->lossb = ncsn_xcalloc((size_t)Bmax, sizeof(double));
    size_t nf = (size_t)Bmax * (3 + 3 * (size_t)D + (size_t)H) + (size_t)(D + E) * H +
                (size_t)E * E + (size_t)K * (4 * E + 4 * H);
    float *p = ncsn_xcalloc(nf, sizeof(float));
    f->t = p; p += Bmax;
    f->sig = p; p += Bmax;
    f->ts = p; p += Bmax;
    f->xs = p; p += (size_t)Bmax * D;
    f->ds = p; p += (size_t)Bmax * D;
    f->dout = p; p += (size_t)Bmax * D;
    f->zs = p; p += (size_t)Bmax * H;
    f->w1xT = p; p += (size_t)D * H;
    f->w1eT = p; p += (size_t)E * H;
    f->we2T = p; p += (size_t)E * E;
    f->uk = p; p += (size_t)K * E;
    f->vk = p; p += (size_t)K * E;
    f->pk = p; p += (size_t)K * E;
    f->qk = p; p += (size_t)K * E;
    f->Ak = p; p += (size_t)K * H;
    f->Bk = p; p += (size_t)K * H;
    f->Pk = p; p += (size_t)K * H;
    f->Qk = p; p += (size_t)K * H;
    return f;
}

static void fast_free(fast_work *f) {
    if (!f) return;
    free(f->cls);
    free(f->ord);
    free(f->kstart);
    free(f->kmask);
    free(f->lossb);
    free(f->lv_stamp);
    free(f->lv_cls);
    free(f->lv_t);
    free(f->t);
    free(f);
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void ncsn_dsm_work_alloc(ncsn_dsm_work *w, const ncsn_model *m, int max_batch) {
    memset(w, 0, sizeof *w);
    w->n_shards = (max_batch + NCSN_SHARD - 1) / NCSN_SHARD;
    w->n_threads = ncsn_max_threads();
    w->grads = ncsn_xcalloc((size_t)w->n_shards * m->n_params, sizeof(float));
    w->losses = ncsn_xcalloc((size_t)w->n_shards, sizeof(double));
    w->acts = ncsn_xcalloc((size_t)w->n_threads, sizeof(ncsn_acts));
    for (int t = 0; t < w->n_threads; t++) ncsn_acts_alloc(&w->acts[t], m);
    w->xz = ncsn_xcalloc((size_t)w->n_threads * 2 * m->D, sizeof(float));
    w->max_batch = max_batch;
    w->fast = fast_ok(m) ? fast_alloc(m, max_batch) : NULL;
}

void ncsn_dsm_work_free(ncsn_dsm_work *w) {
    if (!w) return;
    if (w->acts)
        for (int t = 0; t < w->n_threads; t++) ncsn_acts_free(&w->acts[t]);
    free(w->acts);
    free(w->grads);
    free(w->losses);
    free(w->xz);
    fast_free(w->fast);
    memset(w, 0, sizeof *w);
}

double ncsn_dsm_loss_grad_reference(const ncsn_model *m, const float *x, int B,
                                    const int *levels, const float *sigmas, const float *z,
                                    ncsn_model *grad, ncsn_dsm_work *w) {
    const int D = m->D;
    const int n_shards = (B + NCSN_SHARD - 1) / NCSN_SHARD;
    NCSN_ASSERT(n_shards <= w->n_shards);
    const size_t P = m->n_params;

#pragma omp parallel for schedule(static)
    for (int sh = 0; sh < n_shards; sh++) {
        ncsn_model g;
        ncsn_model_view(m, w->grads + (size_t)sh * P, &g);
        memset(g.params, 0, sizeof(float) * P);
        int tid = thread_id();
        ncsn_acts *a = &w->acts[tid];
        float *xp = w->xz + (size_t)tid * 2 * D; /* x' (D) */
        float *ds = xp + D;                       /* dloss/ds (D) */
        double loss = 0;
        int end = (sh + 1) * NCSN_SHARD < B ? (sh + 1) * NCSN_SHARD : B;
        for (int b = sh * NCSN_SHARD; b < end; b++) {
            const float sigma = sigmas[levels[b]];
            const float *xb = x + (size_t)b * D, *zb = z + (size_t)b * D;
            for (int d = 0; d < D; d++) xp[d] = xb[d] + sigma * zb[d];
            ncsn_model_forward(m, xp, sigma, a);
            /* loss_b = 1/2 |sigma s + z|^2, so dloss_b/ds = sigma (sigma s + z) */
            float lb = 0;
            for (int d = 0; d < D; d++) {
                float r = sigma * a->s[d] + zb[d];
                lb += r * r;
                ds[d] = sigma * r;
            }
            loss += 0.5 * (double)lb;
            ncsn_model_backward(m, xp, sigma, a, ds, &g);
        }
        w->losses[sh] = loss;
    }

    /* Reduce shards in a fixed order, then scale to the mean over the batch. */
    const float inv_b = 1.0f / (float)B;
    double loss = 0;
    for (int sh = 0; sh < n_shards; sh++) loss += w->losses[sh];
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < P; p++) {
        float acc = 0;
        for (int sh = 0; sh < n_shards; sh++) acc += w->grads[(size_t)sh * P + p];
        grad->params[p] = acc * inv_b;
    }
    return loss / (double)B;
}

/* ---- the fast path (see ncsn_dsm_loss_grad in train.h) ------------------------------- */

/* Everything the kernels read; all arrays belong to the model, the batch or fast_work. */
typedef struct {
    const ncsn_model *m;
    const float *x, *z;
    int B, K;
    float inv_b;
    fast_work *f;
    ncsn_model *grad;
    int fma; /* the AVX2+FMA kernels (ncsn_isa), else the baseline's */
} fast_ctx;

/* Horizontal sum of 8 lanes in a fixed tree. */
static inline float hsum8(const v8f *v) {
    const float *a = (const float *)v;
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* Forward pass of the n (1 or 2) positions from i: x', the first layer (kept for the
 * backward pass), the loss and dloss/d(output) of each example. Two examples go side by
 * side, sharing the weights' loads and each hiding the other's latency of the output sums
 * (one chain of fused multiply-adds per output); each example's arithmetic is the same
 * whether it goes alone or in a pair. */
static inline __attribute__((always_inline)) void forward_n(const fast_ctx *c, int i, const int n,
                                                            const int D, const int hw_) {
    const ncsn_model *m = c->m;
    const int H = m->H;
    fast_work *f = c->f;
    const float *w1xT = f->w1xT, *w2 = m->bb2_w; /* kept in registers: the stores below */
    int b[2];                                     /* might alias them, for all GCC knows */
    float sigma[2], t[2], scale[2];
    float *xp[2], *zrow[2];
    const float *A[2], *Bk[2];
    v8f acc[2][FAST_MAX_D], tv[2], xv[2][FAST_MAX_D]; /* t and x' in every lane */
    for (int e = 0; e < n; e++) {
        b[e] = f->ord[i + e];
        const int k = f->cls[b[e]];
        sigma[e] = f->sig[b[e]];
        t[e] = f->t[b[e]];
        scale[e] = m->scale_by_sigma ? 1.0f / sigma[e] : 1.0f;
        xp[e] = f->xs + (size_t)(i + e) * D;
        zrow[e] = f->zs + (size_t)(i + e) * H;
        const float *xb = c->x + (size_t)b[e] * D, *zb = c->z + (size_t)b[e] * D;
        for (int d = 0; d < D; d++) {
            xp[e][d] = __builtin_fmaf(sigma[e], zb[d], xb[d]);
            xv[e][d] = BCAST8(xp[e][d]);
            acc[e][d] = (v8f){0};
        }
        f->ts[i + e] = t[e];
        tv[e] = BCAST8(t[e]);
        A[e] = f->Ak + (size_t)k * H;
        Bk[e] = f->Bk + (size_t)k * H;
    }
    for (int o = 0; o < H; o += 8) {
        for (int e = 0; e < n; e++) {
            v8f a, bb, zz;
            LOAD8(a, A[e] + o);
            LOAD8(bb, Bk[e] + o);
            zz = FMA8(a, tv[e], bb);
            for (int d = 0; d < D; d++) {
                v8f w;
                LOAD8(w, w1xT + (size_t)d * H + o);
                zz = FMA8(w, xv[e][d], zz);
            }
            STORE8(zrow[e] + o, zz);
            const v8f h = RELU8(zz, zz > 0);
            for (int d = 0; d < D; d++) {
                v8f w;
                LOAD8(w, w2 + (size_t)d * H + o);
                acc[e][d] = FMA8(w, h, acc[e][d]);
            }
        }
    }
    /* loss_b = 1/2 |sigma s + z|^2, so dloss_b/ds = sigma (sigma s + z) */
    for (int e = 0; e < n; e++) {
        const float *zb = c->z + (size_t)b[e] * D;
        float lb = 0;
        float *dout = f->dout + (size_t)b[e] * D, *ds = f->ds + (size_t)(i + e) * D;
        for (int d = 0; d < D; d++) {
            const float s = (hsum8(&acc[e][d]) + m->bb2_b[d]) * scale[e];
            const float r = __builtin_fmaf(sigma[e], s, zb[d]);
            lb = __builtin_fmaf(r, r, lb);
            ds[d] = dout[d] = (sigma[e] * r) * scale[e];
        }
        f->lossb[b[e]] = 0.5 * (double)lb;
    }
}

/* Forward pass of positions [i0, i1), two at a time. */
static inline __attribute__((always_inline)) void forward_impl(const fast_ctx *c, int i0, int i1,
                                                               const int D, const int hw_) {
    int i = i0;
    for (; i + 1 < i1; i += 2) forward_n(c, i, 2, D, hw_);
    if (i < i1) forward_n(c, i, 1, D, hw_);
}

#define forward_d2_impl(c, i0, i1, hw) forward_impl(c, i0, i1, 2, hw)
#define forward_any_impl(c, i0, i1, hw) forward_impl(c, i0, i1, (c)->m->D, hw)
KERNEL(forward_d2, (const fast_ctx *c, int i0, int i1), (c, i0, i1))
KERNEL(forward_any, (const fast_ctx *c, int i0, int i1), (c, i0, i1))

/* Backward pass of hidden units [8 NB j, 8 NB (j + 1)) over every position: the
 * gradients of W_2's columns, W_1's rows and b_1 there, and P_k, Q_k there. The first
 * layer comes from the forward pass (zs). NB = 2 (two blocks sharing each example's loads)
 * measured no faster than 1 on Zen 3: its 14 accumulators spill. */
static inline __attribute__((always_inline)) void backward_impl(const fast_ctx *c, int j,
                                                                const int D, const int NB,
                                                                const int hw_) {
    const ncsn_model *m = c->m;
    const int E = m->E, H = m->H, DE = D + E, o0 = 8 * NB * j;
    const fast_work *f = c->f;
    v8f w2[2][FAST_MAX_D], gw2[2][FAST_MAX_D], gw1x[2][FAST_MAX_D], gb1[2];
    for (int n = 0; n < NB; n++) {
        for (int d = 0; d < D; d++) {
            LOAD8(w2[n][d], m->bb2_w + (size_t)d * H + o0 + 8 * n);
            gw2[n][d] = (v8f){0};
            gw1x[n][d] = (v8f){0};
        }
        gb1[n] = (v8f){0};
    }
    for (int k = 0; k < c->K; k++) {
        v8f P[2], Q[2];
        for (int n = 0; n < NB; n++) P[n] = Q[n] = (v8f){0};
        for (int i = f->kstart[k]; i < f->kstart[k + 1]; i++) {
            const float t = f->ts[i];
            const float *xp = f->xs + (size_t)i * D, *dout = f->ds + (size_t)i * D;
            const float *zrow = f->zs + (size_t)i * H + o0;
            for (int n = 0; n < NB; n++) {
                v8f zz;
                LOAD8(zz, zrow + 8 * n);
                const v8i mask = zz > 0;
                const v8f h = RELU8(zz, mask);
                v8f g = w2[n][0] * dout[0];
                for (int d = 1; d < D; d++) g = FMA8S(w2[n][d], dout[d], g);
                const v8f dz = RELU8(g, mask);
                for (int d = 0; d < D; d++) {
                    gw2[n][d] = FMA8S(h, dout[d], gw2[n][d]);
                    gw1x[n][d] = FMA8S(dz, xp[d], gw1x[n][d]);
                }
                gb1[n] += dz;
                P[n] = FMA8S(dz, t, P[n]);
                Q[n] += dz;
            }
        }
        for (int n = 0; n < NB; n++) {
            STORE8(f->Pk + (size_t)k * H + o0 + 8 * n, P[n]);
            STORE8(f->Qk + (size_t)k * H + o0 + 8 * n, Q[n]);
        }
    }
    ncsn_model *g = c->grad;
    const float inv_b = c->inv_b;
    for (int n = 0; n < NB; n++) {
        const int on = o0 + 8 * n;
        for (int d = 0; d < D; d++) {
            v8f v = gw2[n][d] * inv_b;
            STORE8(g->bb2_w + (size_t)d * H + on, v);
        }
        for (int l = 0; l < 8; l++) {
            float *row = g->bb0_w + (size_t)(on + l) * DE;
            for (int d = 0; d < D; d++) row[d] = gw1x[n][d][l] * inv_b;
            g->bb0_b[on + l] = gb1[n][l] * inv_b;
        }
        /* W_1e's rows: sum over classes of P_k u_k' + Q_k v_k', 8 columns side by side
         * (independent sums, each in class order) */
        for (int e0 = 0; e0 < E; e0 += 8) {
            v8f acc[8];
            for (int e = 0; e < 8; e++) acc[e] = (v8f){0};
            for (int k = 0; k < c->K; k++) {
                v8f P, Q;
                LOAD8(P, f->Pk + (size_t)k * H + on);
                LOAD8(Q, f->Qk + (size_t)k * H + on);
                const float *u = f->uk + (size_t)k * E + e0, *v = f->vk + (size_t)k * E + e0;
                for (int e = 0; e < 8; e++) {
                    acc[e] = FMA8S(P, u[e], acc[e]);
                    acc[e] = FMA8S(Q, v[e], acc[e]);
                }
            }
            for (int e = 0; e < 8; e++) {
                const v8f r = acc[e] * inv_b;
                for (int l = 0; l < 8; l++) g->bb0_w[(size_t)(on + l) * DE + D + e0 + e] = r[l];
            }
        }
    }
}

#define backward_d2_impl(c, j, hw) backward_impl(c, j, 2, 1, hw)
#define backward_any_impl(c, j, hw) backward_impl(c, j, (c)->m->D, 1, hw)
KERNEL(backward_d2, (const fast_ctx *c, int j), (c, j))
KERNEL(backward_any, (const fast_ctx *c, int j), (c, j))

/* dst[r ld_dst + c] = src[c ld_src + r] for r, c < 8 (an 8 x 8 block, by shuffles). */
static inline __attribute__((always_inline)) void transpose8(const float *src, int ld_src,
                                                             float *dst, int ld_dst) {
    v8f r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) LOAD8(r[i], src + (size_t)i * ld_src);
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shuffle(r[i], r[i + 1], (v8i){0, 8, 1, 9, 4, 12, 5, 13});
        t[i + 1] = __builtin_shuffle(r[i], r[i + 1], (v8i){2, 10, 3, 11, 6, 14, 7, 15});
    }
    for (int i = 0; i < 8; i += 4)
        for (int j = 0; j < 2; j++) {
            u[i + j] = __builtin_shuffle(t[i + j], t[i + j + 2], (v8i){0, 1, 8, 9, 4, 5, 12, 13});
            u[i + j + 2] =
                __builtin_shuffle(t[i + j], t[i + j + 2], (v8i){2, 3, 10, 11, 6, 7, 14, 15});
        }
    static const int from[4] = {0, 2, 1, 3};
    for (int i = 0; i < 4; i++) {
        const int q = from[i];
        const v8f a = __builtin_shuffle(u[q], u[q + 4], (v8i){0, 1, 2, 3, 8, 9, 10, 11});
        const v8f b = __builtin_shuffle(u[q], u[q + 4], (v8i){4, 5, 6, 7, 12, 13, 14, 15});
        STORE8(dst + (size_t)i * ld_dst, a);
        STORE8(dst + (size_t)(i + 4) * ld_dst, b);
    }
}

/* W_1's x and e columns and W_e2, transposed, for hidden units [o0, o0 + 8). */
NCSN_HOT static void transpose_block(const ncsn_model *m, fast_work *f, int o0) {
    const int D = m->D, E = m->E, H = m->H, DE = D + E;
    for (int o = o0; o < o0 + 8; o++)
        for (int d = 0; d < D; d++) f->w1xT[(size_t)d * H + o] = m->bb0_w[(size_t)o * DE + d];
    for (int e0 = 0; e0 < E; e0 += 8)
        transpose8(m->bb0_w + (size_t)o0 * DE + D + e0, DE, f->w1eT + (size_t)e0 * H + o0, H);
    if (o0 < E)
        for (int j0 = 0; j0 < E; j0 += 8)
            transpose8(m->emb2_w + (size_t)o0 * E + j0, E, f->we2T + (size_t)j0 * E + o0, E);
}

/* Class k's embedding slope and intercept (e = t u_k + v_k) and first-layer A_k, B_k.
 * u and v run over the embedding's outputs in 8 lanes (W_e2 transposed), each lane
 * summing over j in order, as A and B do over j for each hidden unit. */
static inline __attribute__((always_inline)) void class_tables_impl(const ncsn_model *m,
                                                                    fast_work *f, int k,
                                                                    const int hw_) {
    const int E = m->E, H = m->H;
    const uint32_t mk = f->kmask[k];
    float alpha[32], beta[32];
    for (int j = 0; j < E; j++) {
        const int on = (mk >> j) & 1;
        alpha[j] = on ? m->emb0_w[j] : 0;
        beta[j] = on ? m->emb0_b[j] : 0;
    }
    float *u = f->uk + (size_t)k * E, *v = f->vk + (size_t)k * E;
    for (int i = 0; i < E; i += 8) {
        v8f su = {0}, sv;
        LOAD8(sv, m->emb2_b + i);
        for (int j = 0; j < E; j++) {
            v8f w;
            LOAD8(w, f->we2T + (size_t)j * E + i);
            su = FMA8S(w, alpha[j], su);
            sv = FMA8S(w, beta[j], sv);
        }
        STORE8(u + i, su);
        STORE8(v + i, sv);
    }
    /* four blocks of 8 hidden units at a time: eight independent sums in flight */
    float *A = f->Ak + (size_t)k * H, *Bk = f->Bk + (size_t)k * H;
    const float *w1eT = f->w1eT;
    int o = 0;
    for (; o + 32 <= H; o += 32) {
        v8f a[4], bb[4];
        for (int q = 0; q < 4; q++) {
            a[q] = (v8f){0};
            LOAD8(bb[q], m->bb0_b + o + 8 * q);
        }
        for (int j = 0; j < E; j++) {
            const v8f uj = BCAST8(u[j]), vj = BCAST8(v[j]);
            for (int q = 0; q < 4; q++) {
                v8f w;
                LOAD8(w, w1eT + (size_t)j * H + o + 8 * q);
                a[q] = FMA8(w, uj, a[q]);
                bb[q] = FMA8(w, vj, bb[q]);
            }
        }
        for (int q = 0; q < 4; q++) {
            STORE8(A + o + 8 * q, a[q]);
            STORE8(Bk + o + 8 * q, bb[q]);
        }
    }
    for (; o < H; o += 8) {
        v8f a = {0}, bb;
        LOAD8(bb, m->bb0_b + o);
        for (int j = 0; j < E; j++) {
            v8f w;
            LOAD8(w, w1eT + (size_t)j * H + o);
            a = FMA8S(w, u[j], a);
            bb = FMA8S(w, v[j], bb);
        }
        STORE8(A + o, a);
        STORE8(Bk + o, bb);
    }
}
KERNEL(class_tables, (const ncsn_model *m, fast_work *f, int k), (m, f, k))

/* p_k = W_1e' P_k, q_k = W_1e' Q_k, summed over the hidden units in order, for classes
 * [k0, k0 + nk), nk <= 3, at once (independent sums side by side); NE = E / 8. */
static inline __attribute__((always_inline)) void class_backward_impl(const ncsn_model *m,
                                                                      fast_work *f, int k0,
                                                                      int nk, const int NE,
                                                                      const int hw_) {
    const int D = m->D, E = m->E, H = m->H, DE = D + E;
    v8f p[3][4], q[3][4];
    for (int kk = 0; kk < nk; kk++)
        for (int e = 0; e < NE; e++) p[kk][e] = q[kk][e] = (v8f){0};
    for (int o = 0; o < H; o++) {
        v8f w[4];
        for (int e = 0; e < NE; e++) LOAD8(w[e], m->bb0_w + (size_t)o * DE + D + 8 * e);
        for (int kk = 0; kk < nk; kk++) {
            const float po = f->Pk[(size_t)(k0 + kk) * H + o], qo = f->Qk[(size_t)(k0 + kk) * H + o];
            for (int e = 0; e < NE; e++) {
                p[kk][e] = FMA8S(w[e], po, p[kk][e]);
                q[kk][e] = FMA8S(w[e], qo, q[kk][e]);
            }
        }
    }
    for (int kk = 0; kk < nk; kk++)
        for (int e = 0; e < NE; e++) {
            STORE8(f->pk + (size_t)(k0 + kk) * E + 8 * e, p[kk][e]);
            STORE8(f->qk + (size_t)(k0 + kk) * E + 8 * e, q[kk][e]);
        }
}

#define class_backward_e_impl(m, f, k0, nk, hw)                        \
    ((m)->E == 16 ? class_backward_impl(m, f, k0, nk, 2, hw) /* unrolled */ \
                  : class_backward_impl(m, f, k0, nk, (m)->E / 8, hw))
KERNEL(class_backward_e, (const ncsn_model *m, fast_work *f, int k0, int nk), (m, f, k0, nk))

/* The embedding's gradients from p_k, q_k (SPEC.md section 2's sigma_emb). */
static inline __attribute__((always_inline)) void
embedding_backward_impl(const ncsn_model *m, const fast_work *f, int K, float inv_b,
                        ncsn_model *g, const int hw_) {
    (void)hw_; /* scalar: __builtin_fmaf is the FMA instruction or fmaf by itself */
    const int E = m->E;
    float gw2[32 * 32], gb2[32], gw1[32], gb1[32];
    memset(gw2, 0, sizeof gw2);
    for (int j = 0; j < E; j++) gb2[j] = gw1[j] = gb1[j] = 0;
    for (int k = 0; k < K; k++) {
        const uint32_t mk = f->kmask[k];
        const float *p = f->pk + (size_t)k * E, *q = f->qk + (size_t)k * E;
        float alpha[32], beta[32], wp[32], wq[32];
        for (int j = 0; j < E; j++) {
            const int on = (mk >> j) & 1;
            alpha[j] = on ? m->emb0_w[j] : 0;
            beta[j] = on ? m->emb0_b[j] : 0;
            wp[j] = wq[j] = 0;
        }
        /* sigma_emb.2: sum over the class of de r' = p_k alpha_k' + q_k beta_k' */
        for (int i = 0; i < E; i++) {
            for (int j = 0; j < E; j++) {
                gw2[i * E + j] = __builtin_fmaf(p[i], alpha[j], gw2[i * E + j]);
                gw2[i * E + j] = __builtin_fmaf(q[i], beta[j], gw2[i * E + j]);
            }
            gb2[i] += q[i];
        }
        /* sigma_emb.0: da0 = mask (W_e2' de), summed with weights t and 1 */
        for (int i = 0; i < E; i++) {
            const float *w = m->emb2_w + (size_t)i * E;
            for (int j = 0; j < E; j++) {
                wp[j] = __builtin_fmaf(w[j], p[i], wp[j]);
                wq[j] = __builtin_fmaf(w[j], q[i], wq[j]);
            }
        }
        for (int j = 0; j < E; j++)
            if ((mk >> j) & 1) {
                gw1[j] += wp[j];
                gb1[j] += wq[j];
            }
    }
    for (int i = 0; i < E * E; i++) g->emb2_w[i] = gw2[i] * inv_b;
    for (int j = 0; j < E; j++) {
        g->emb2_b[j] = gb2[j] * inv_b;
        g->emb0_w[j] = gw1[j] * inv_b;
        g->emb0_b[j] = gb1[j] * inv_b;
    }
}
KERNEL(embedding_backward,
       (const ncsn_model *m, const fast_work *f, int K, float inv_b, ncsn_model *g),
       (m, f, K, inv_b, g))

/* Each example's sigma, embedding input and class. The ReLU pattern of the embedding
 * depends only on the level, so it is computed once per level present in the batch; a
 * class is numbered at its first appearance in the batch. Returns K, or -1 when the batch
 * has more classes than the tables hold (cannot happen for finite t, see train.h). */
static int classify(const ncsn_model *m, int B, const int *levels, const float *sigmas,
                    fast_work *f) {
    const int E = m->E;
    int Lb = 0;
    for (int b = 0; b < B; b++)
        if (levels[b] + 1 > Lb) Lb = levels[b] + 1;
    if (Lb > f->Lcap) {
        free(f->lv_stamp);
        free(f->lv_cls);
        free(f->lv_t);
        f->Lcap = Lb > 2 * f->Lcap ? Lb : 2 * f->Lcap;
        f->lv_stamp = ncsn_xcalloc((size_t)f->Lcap, sizeof(uint32_t));
        f->lv_cls = ncsn_xcalloc((size_t)f->Lcap, sizeof(int));
        f->lv_t = ncsn_xcalloc((size_t)f->Lcap, sizeof(float));
        f->stamp = 0;
    }
    if (++f->stamp == 0) { /* wrapped: forget every mark */
        memset(f->lv_stamp, 0, sizeof(uint32_t) * (size_t)f->Lcap);
        f->stamp = 1;
    }
    int K = 0;
    for (int b = 0; b < B; b++) {
        const int lv = levels[b];
        const float sigma = sigmas[lv];
        if (f->lv_stamp[lv] != f->stamp) {
            const float t = m->sigma_input == NCSN_SIGMA_INPUT_LOG_SIGMA ? logf(sigma) : sigma;
            uint32_t mask = 0; /* bit j: embedding unit j active, w_j t + b_j > 0 (unfused, */
#if defined(__x86_64__) && defined(__GNUC__) /* like model.c's embedding) */
            const __m128 tv = _mm_set1_ps(t), zero = _mm_setzero_ps();
            for (int j = 0; j < E; j += 4) { /* SSE, 4 units at a time (E % 8 == 0) */
                const __m128 a = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m->emb0_w + j), tv),
                                            _mm_loadu_ps(m->emb0_b + j));
                mask |= (uint32_t)_mm_movemask_ps(_mm_cmpgt_ps(a, zero)) << j;
            }
#else
            for (int j = 0; j < E; j++)
                mask |= (uint32_t)(m->emb0_w[j] * t + m->emb0_b[j] > 0) << j;
#endif
            int k = 0;
            while (k < K && f->kmask[k] != mask) k++;
            if (k == K) {
                if (K == f->Kmax) return -1;
                f->kmask[K++] = mask;
            }
            f->lv_stamp[lv] = f->stamp;
            f->lv_cls[lv] = k;
            f->lv_t[lv] = t;
        }
        f->sig[b] = sigma;
        f->t[b] = f->lv_t[lv];
        f->cls[b] = f->lv_cls[lv];
    }
    /* positions: examples sorted by (class, index) */
    for (int k = 0; k <= K; k++) f->kstart[k] = 0;
    for (int b = 0; b < B; b++) f->kstart[f->cls[b] + 1]++;
    for (int k = 0; k < K; k++) f->kstart[k + 1] += f->kstart[k];
    int fill[33];
    for (int k = 0; k < K; k++) fill[k] = f->kstart[k];
    for (int b = 0; b < B; b++) f->ord[fill[f->cls[b]]++] = b;
    return K;
}

/* The fast path's phases over the batch's tables, with orphaned worksharing: inside a
 * parallel region the threads split each phase (fixed partitions: the same result), and
 * called outside one it runs serially with no OpenMP team, so no barriers (a team of one
 * thread still wakes a futex at each of its barriers). *loss = the summed loss. */
static void fast_phases(const fast_ctx *c, double *loss) {
    const ncsn_model *m = c->m;
    fast_work *f = c->f;
    ncsn_model *grad = c->grad;
    const int D = m->D, H = m->H, B = c->B, K = c->K, fma = c->fma;
    /* W_1 and W_e2 transposed */
#pragma omp for schedule(static)
    for (int o0 = 0; o0 < H; o0 += 8) transpose_block(m, f, o0);
#pragma omp for schedule(static)
    for (int k = 0; k < K; k++) CALL_KERNEL(fma, class_tables, (m, f, k));
    /* forward, in fixed chunks of positions */
    const int chunk = 16, n_chunks = (B + chunk - 1) / chunk;
#pragma omp for schedule(static)
    for (int ch = 0; ch < n_chunks; ch++) {
        const int i0 = ch * chunk, i1 = i0 + chunk < B ? i0 + chunk : B;
        if (D == 2) CALL_KERNEL(fma, forward_d2, (c, i0, i1));
        else CALL_KERNEL(fma, forward_any, (c, i0, i1));
    }
#pragma omp single nowait
    {
        double l = 0;
        float acc[FAST_MAX_D] = {0};
        for (int b = 0; b < B; b++) {
            l += f->lossb[b];
            for (int d = 0; d < D; d++) acc[d] += f->dout[(size_t)b * D + d];
        }
        for (int d = 0; d < D; d++) grad->bb2_b[d] = acc[d] * c->inv_b;
        *loss = l;
    }
#pragma omp for schedule(static)
    for (int j = 0; j < H / 8; j++) {
        if (D == 2) CALL_KERNEL(fma, backward_d2, (c, j));
        else CALL_KERNEL(fma, backward_any, (c, j));
    }
#pragma omp for schedule(static)
    for (int k0 = 0; k0 < K; k0 += 3)
        CALL_KERNEL(fma, class_backward_e, (m, f, k0, K - k0 < 3 ? K - k0 : 3));
#pragma omp single
    CALL_KERNEL(fma, embedding_backward, (m, f, K, c->inv_b, grad));
}

/* *loss = the mean loss; returns 0, or -1 when the batch does not fit the tables. */
static int fast_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad, fast_work *f,
                          double *mean_loss) {
    const int D = m->D, H = m->H;
    const int K = classify(m, B, levels, sigmas, f);
    if (K < 0) return -1;
    const int fma = ncsn_isa() == NCSN_ISA_AVX2_FMA;
    const fast_ctx c = {m, x, z, B, K, 1.0f / (float)B, f, grad, fma};
    double loss = 0;
    /* In parallel only for batches well above the notebook's (B H = 16384), where a
     * barrier's microsecond, or a descheduled thread on a shared machine, costs less than
     * the work it splits. The result is the same. */
    if ((long)B * H * (D + 2) >= NCSN_FAST_PARALLEL_MIN && ncsn_max_threads() > 1) {
#pragma omp parallel
        fast_phases(&c, &loss);
    } else {
        fast_phases(&c, &loss);
    }
    *mean_loss = loss / (double)B;
    return 0;
}

double ncsn_dsm_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad,
                          ncsn_dsm_work *w) {
    double loss;
    if (w->fast && B > 0 && B <= w->max_batch &&
        fast_loss_grad(m, x, B, levels, sigmas, z, grad, w->fast, &loss) == 0)
        return loss;
    return ncsn_dsm_loss_grad_reference(m, x, B, levels, sigmas, z, grad, w);
}

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
        if (c->wd != 0) g_ += c->wd * p[i];                                  \
        g[i] = g_;                                                           \
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
        if (c->wd != 0) gv = gv + c->wd * pv;                                         \
        mv = c->b1 * mv + ob1 * gv;                                                   \
        vv = c->b2 * vv + (ob2 * gv) * gv;                                            \
        const VT denom = SQRT(vv) / c->bc2_sqrt + c->eps;                             \
        pv = pv - c->step_size * (mv / denom);                                        \
        memcpy(g + i, &gv, sizeof gv);                                                \
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
    if (ncsn_isa() == NCSN_ISA_AVX2_FMA) { /* AVX2 without FMA: the baseline, like the rest */
        adam_avx2(c, p, g, m, v, n);
        return;
    }
#endif
    adam_sse(c, p, g, m, v, n);
#else
    for (size_t i = 0; i < n; i++) ADAM_SCALAR(c, p, g, m, v, i);
#endif
}

void ncsn_adam_step(ncsn_adam *a, float *params, float *grad) {
    /* torch.optim.Adam (single-tensor path): g += wd p; m = b1 m + (1-b1) g;
     * v = b2 v + (1-b2) g^2; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
    a->t++;
    const double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    const double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const adam_consts c = {(float)(a->lr / bc1), (float)sqrt(bc2), (float)a->beta1,
                           (float)a->beta2, (float)a->eps, (float)a->weight_decay};
    adam_range(&c, params, grad, a->m, a->v, a->n);
}

void ncsn_train_log_free(ncsn_train_log *log) {
    if (!log) return;
    free(log->step);
    free(log->loss);
    memset(log, 0, sizeof *log);
}

static void log_push(ncsn_train_log *log, int64_t step, float loss) {
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 256;
        int64_t *s = realloc(log->step, sizeof(int64_t) * (size_t)log->cap);
        float *l = realloc(log->loss, sizeof(float) * (size_t)log->cap);
        if (!s || !l) {
            fprintf(stderr, "ncsn: out of memory growing the loss history\n");
            exit(NCSN_EXIT_RUNTIME);
        }
        log->step = s;
        log->loss = l;
    }
    log->step[log->n] = step;
    log->loss[log->n] = loss;
    log->n++;
}

/* perm (n) = a uniformly random permutation for epoch, by Fisher-Yates on counters: the
 * swap at i takes ncsn_rng_uniform_double(key, epoch, i, 0), computed here 64 counters at
 * a time by ncsn_philox_v8_run (the same bits). */
static void epoch_permutation(ncsn_key key, uint32_t epoch, int n, int *perm) {
    enum { RUN = 8 };
    ncsn_v8u w[RUN][4];
    for (int i = 0; i < n; i++) perm[i] = i;
    int base = -1; /* counters [base, base + 8 RUN) are in w */
    for (int i = n - 1; i > 0; i--) {
        if (base < 0 || i < base) {
            base = i + 1 - 8 * RUN > 0 ? i + 1 - 8 * RUN : 0;
            ncsn_philox_v8_run(key, epoch, (uint32_t)base, 0, 1, RUN, w);
        }
        const int r = i - base;
        const uint32_t u0 = w[r / 8][0][r % 8], u1 = w[r / 8][1][r % 8];
        uint64_t bits = ((uint64_t)u0 << 21) ^ (uint64_t)(u1 >> 11);
        bits &= (UINT64_C(1) << 53) - 1;
        const double u = ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
        int j = (int)(u * (double)(i + 1));
        if (j > i) j = i;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* The step's draws (SPEC.md section 3): example b's level from word 0 of counter
 * (step, b, 0, 0) under the level key, uniform over 0..L-1; its z coordinates 4c .. 4c+3
 * from counter (step, b, c, 0) under the noise key by Box-Muller (ncsn_box_muller_v8):
 * words (0, 1) give coordinates 4c, 4c+1, words (2, 3) give 4c+2, 4c+3. */
NCSN_HOT static void draw_batch(ncsn_key k_level, ncsn_key k_noise, uint32_t step, int bsz, int L,
                                int D, int *levels, float *zb) {
    enum { RUN = 8 }; /* blocks of 8 examples per ncsn_philox_v8_run */
    ncsn_v8u w[RUN][4];
    for (int r0 = 0; r0 < bsz; r0 += 8 * RUN) {
        const int nblk = (bsz - r0 + 7) / 8 < RUN ? (bsz - r0 + 7) / 8 : RUN;
        ncsn_philox_v8_run(k_level, step, (uint32_t)r0, 0, 0, nblk, w);
        for (int j = 0; j < nblk; j++) {
            const int b0 = r0 + 8 * j, nb = bsz - b0 < 8 ? bsz - b0 : 8;
            const v8f u = (0.5f + __builtin_convertvector((v8i)(w[j][0] >> 9), v8f)) *
                          (1.0f / 8388608.0f);
            const v8i lv = __builtin_convertvector(u * (float)L, v8i);
            for (int l = 0; l < nb; l++) levels[b0 + l] = lv[l] < L ? lv[l] : L - 1;
        }
        for (int c = 0; 4 * c < D; c++) {
            ncsn_philox_v8_run(k_noise, step, (uint32_t)r0, (uint32_t)c, 0, nblk, w);
            for (int j = 0; j < nblk; j++) {
                const int b0 = r0 + 8 * j, nb = bsz - b0 < 8 ? bsz - b0 : 8;
                v8f z[4];
                ncsn_box_muller_v8(&w[j][0], &w[j][1], &z[0], &z[1]);
                if (4 * c + 2 < D) ncsn_box_muller_v8(&w[j][2], &w[j][3], &z[2], &z[3]);
                if (D == 2 && nb == 8) {
                    for (int l = 0; l < 8; l++) {
                        zb[(size_t)(b0 + l) * 2] = z[0][l];
                        zb[(size_t)(b0 + l) * 2 + 1] = z[1][l];
                    }
                    continue;
                }
                for (int q = 0; q < 4 && 4 * c + q < D; q++)
                    for (int l = 0; l < nb; l++) zb[(size_t)(b0 + l) * D + 4 * c + q] = z[q][l];
            }
        }
    }
}

void ncsn_trainer_init(ncsn_trainer *t, const ncsn_config *cfg, uint32_t config_index,
                       const double *sigmas, int L, const float *x, int n, ncsn_model *model,
                       ncsn_model *ema) {
    memset(t, 0, sizeof *t);
    const int D = model->D, B = cfg->train.batch;
    t->cfg = cfg;
    t->config_index = config_index;
    t->x = x;
    t->n = n;
    t->L = L;
    t->model = model;
    t->ema = ema;
    t->k_shuffle = ncsn_rng_key(cfg->seed, config_index, NCSN_RNG_SHUFFLE);
    t->k_level = ncsn_rng_key(cfg->seed, config_index, NCSN_RNG_TRAIN_LEVEL);
    t->k_noise = ncsn_rng_key(cfg->seed, config_index, NCSN_RNG_TRAIN_NOISE);
    t->sig = ncsn_xmalloc(sizeof(float) * (size_t)L);
    for (int i = 0; i < L; i++) t->sig[i] = (float)sigmas[i];
    t->perm = ncsn_xmalloc(sizeof(int) * (size_t)n);
    t->levels = ncsn_xmalloc(sizeof(int) * (size_t)B);
    t->xb = ncsn_xmalloc(sizeof(float) * (size_t)B * D);
    t->zb = ncsn_xmalloc(sizeof(float) * (size_t)B * D);
    t->gblock = ncsn_xcalloc(model->n_params, sizeof(float));
    ncsn_model_view(model, t->gblock, &t->grad);
    ncsn_dsm_work_alloc(&t->work, model, B);
    ncsn_adam_init(&t->adam, model->n_params, cfg->train.lr, cfg->train.weight_decay);
    if (ema) ncsn_model_copy(model, ema);
    t->log.diverged_at = -1;
    t->pos = n; /* n forces a new epoch at the first step */
    t->t_start = t->last_report = ncsn_now();
}

void ncsn_trainer_resume(ncsn_trainer *t, int64_t step, uint32_t epoch, int pos) {
    NCSN_ASSERT(step >= 0 && pos >= 0 && pos <= t->n && (epoch > 0 || pos == t->n));
    t->step = t->step_start = step;
    t->epoch = epoch;
    t->pos = pos;
    if (epoch > 0 && pos < t->n) epoch_permutation(t->k_shuffle, epoch - 1, t->n, t->perm);
    t->t_start = t->last_report = ncsn_now();
}

void ncsn_trainer_free(ncsn_trainer *t) {
    ncsn_adam_free(&t->adam);
    ncsn_dsm_work_free(&t->work);
    free(t->gblock);
    free(t->zb);
    free(t->xb);
    free(t->levels);
    free(t->perm);
    free(t->sig);
    t->gblock = t->zb = t->xb = t->sig = NULL;
    t->levels = t->perm = NULL;
}

int ncsn_trainer_run(ncsn_trainer *t, int64_t until, ncsn_progress_fn progress, void *user) {
    const ncsn_config *cfg = t->cfg;
    const int D = t->model->D, B = cfg->train.batch, n = t->n;
    const int64_t steps = cfg->train.steps;
    if (until > steps) until = steps;
    ncsn_train_log *log = &t->log;
    const double t0 = ncsn_now();
    int status = 0;
    while (t->step < until) {
        const int64_t step = t->step;
        if (ncsn_stop_requested()) { /* a stop signal (common.h): the state is step's */
            status = 2;
            break;
        }
        if (t->pos >= n) {
            epoch_permutation(t->k_shuffle, t->epoch++, n, t->perm);
            t->pos = 0;
        }
        const int bsz = (n - t->pos) < B ? (n - t->pos) : B;
        for (int b = 0; b < bsz; b++)
            memcpy(t->xb + (size_t)b * D, t->x + (size_t)t->perm[t->pos + b] * D,
                   sizeof(float) * D);
        draw_batch(t->k_level, t->k_noise, (uint32_t)step, bsz, t->L, D, t->levels, t->zb);
        t->pos += bsz;

        const double loss = ncsn_dsm_loss_grad(t->model, t->xb, bsz, t->levels, t->sig, t->zb,
                                               &t->grad, &t->work);
        if (!isfinite(loss)) {
            log->diverged_at = step;
            log_push(log, step + 1, (float)loss);
            log->final_loss = loss;
            status = 1;
            break;
        }
        ncsn_adam_step(&t->adam, t->model->params, t->grad.params);
        if (t->ema) {
            const float r = (float)cfg->train.ema, q = 1.0f - (float)cfg->train.ema;
            float *e = t->ema->params;
            const float *p = t->model->params;
            for (size_t k = 0; k < t->model->n_params; k++) e[k] = r * e[k] + q * p[k];
        }
        t->step = step + 1;
        log->final_loss = loss;
        if (t->step % cfg->train.log_every == 0 || t->step == steps)
            log_push(log, t->step, (float)loss);
        if (progress) {
            const double now = ncsn_now();
            if (now - t->last_report >= 1.0 || t->step == steps) {
                char extra[64];
                snprintf(extra, sizeof extra, "loss=%.4f", loss);
                progress("train", t->step, steps,
                         (double)(t->step - t->step_start) / (now - t->t_start), extra, user);
                t->last_report = now;
            }
        }
    }
    log->seconds += ncsn_now() - t0;
    return status;
}

int ncsn_train(const ncsn_config *cfg, uint32_t config_index, const double *sigmas, int L,
               const float *x, int n, ncsn_model *model, ncsn_model *ema, ncsn_train_log *log,
               ncsn_progress_fn progress, void *user) {
    ncsn_trainer t;
    ncsn_trainer_init(&t, cfg, config_index, sigmas, L, x, n, model, ema);
    const int status = ncsn_trainer_run(&t, cfg->train.steps, progress, user);
    *log = t.log; /* the caller frees it */
    ncsn_trainer_free(&t);
    return status;
}
