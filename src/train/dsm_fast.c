/* train/dsm_fast.c: the fast path of the DSM loss and gradient (see ncsn_dsm_loss_grad in
 * train.h): the embedding's ReLU classes, per-class tables of the first layer, and the
 * forward and backward passes vectorised over hidden units.
 * B = batch size, D = data dimension, E = embedding width, H = hidden width,
 * L = number of levels, K = number of embedding classes in a batch (see train.h).
 * The kernels use fused multiply-adds at fixed places (FMA8, fmaf: the sums of products of
 * the forward and backward passes and of the class tables), everything else unfused
 * (-ffp-contract=off). Each kernel is built twice from one body (simd.h's KERNEL), for
 * AVX2+FMA, where FMA8 becomes vfmadd, and for the x86-64 baseline, where it is fmaf per
 * lane (the FMA instruction through glibc where the CPU has one, exact software otherwise:
 * several times slower there), chosen at run time by ncsn_isa (cpu.h). fmaf is correctly
 * rounded, so both give the same bits. */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "ncsn/gemm.h"
#include "ncsn/simd.h"
#include "dsm_fast.h"

#ifndef NCSN_BLOCKED_PARALLEL_MIN
#define NCSN_BLOCKED_PARALLEL_MIN 2097152L
#endif
#ifndef NCSN_FAST_PARALLEL_MIN
#define NCSN_FAST_PARALLEL_MIN 262144L
#endif

int dsm_fast_ok(const ncsn_model *m) { return m->E <= 32; }

int dsm_fast_blocked(const ncsn_model *m) {
    return !(m->E % 8 == 0 && m->H % 8 == 0 && m->D <= FAST_KERNEL_MAX_D);
}

fast_work *dsm_fast_alloc(const ncsn_model *m, int Bmax) {
    const int D = m->D, E = m->E, H = m->H, K = E + 1;
    fast_work *f = ncsn_xcalloc(1, sizeof *f);
    f->Kmax = K;
    f->cls = ncsn_xcalloc((size_t)Bmax, sizeof(int));
    f->ord = ncsn_xcalloc((size_t)Bmax, sizeof(int));
    f->kstart = ncsn_xcalloc((size_t)K + 1, sizeof(int));
    f->kmask = ncsn_xcalloc((size_t)K, sizeof(uint32_t));
    f->lossp = ncsn_xcalloc((size_t)Bmax, sizeof(double));
    size_t nf = (size_t)Bmax * (3 + 2 * (size_t)D + (size_t)H) + (size_t)(D + E) * H +
                (size_t)E * E + (size_t)K * (4 * E + 4 * H);
    float *p = ncsn_xcalloc_lines(nf, sizeof(float));
    f->t = p; p += Bmax;
    f->sig = p; p += Bmax;
    f->ts = p; p += Bmax;
    f->xs = p; p += (size_t)Bmax * D;
    f->ds = p; p += (size_t)Bmax * D;
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
    f->pq_ld = E;
    f->blocked = dsm_fast_blocked(m);
    if (f->blocked) {
        f->kpos = ncsn_xcalloc((size_t)Bmax, sizeof(int));
        f->ob = ncsn_model_unit_block(H);
        const int n_blk = (H + f->ob - 1) / f->ob;
        const size_t hpad = (size_t)n_blk * f->ob; /* hs by blocks of ob units */
        size_t ng = (size_t)Bmax * (3 + hpad) +
                    (size_t)K * (2 * E + 2 * H + 2 * E);
        float *q = ncsn_xcalloc_lines(ng, sizeof(float));
        f->scale = q; q += Bmax;
        f->tone = q; q += 2 * (size_t)Bmax;
        f->hs = q; q += (size_t)Bmax * hpad;
        f->uv = q; q += (size_t)K * 2 * E;
        f->pq = q; q += (size_t)K * 2 * H;
        f->pk = q; /* interleaved: (Kmax, 2, E) */
        f->qk = q + E;
        f->pq_ld = 2 * E;
        f->uk = f->uv;
        f->vk = f->uv + E;
        f->spart = ncsn_xcalloc((size_t)n_blk * Bmax * D, sizeof(float));
        /* W_1x' (D, ob) and W_2 (D, ob) of one block, each from a line */
        f->n_threads = ncsn_max_threads();
        f->wpack_w2 = (ncsn_gemm_packed_floats(D, f->ob) + 15) / 16 * 16;
        f->wpack_floats = 2 * f->wpack_w2;
        f->wpack = ncsn_xcalloc_lines((size_t)f->n_threads * f->wpack_floats, sizeof(float));
        f->pqpart = ncsn_xcalloc((size_t)n_blk * K * 2 * E, sizeof(float));
    }
    return f;
}

void dsm_fast_free(fast_work *f) {
    if (!f) return;
    free(f->cls);
    free(f->ord);
    free(f->kstart);
    free(f->kmask);
    free(f->lossp);
    free(f->lv_stamp);
    free(f->lv_cls);
    free(f->lv_t);
    free(f->t);
    free(f->kpos);
    free(f->scale);
    free(f->spart);
    free(f->wpack);
    free(f->pqpart);
    free(f);
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
        float *ds = f->ds + (size_t)(i + e) * D;
        for (int d = 0; d < D; d++) {
            const float s = (hsum8(&acc[e][d]) + m->bb2_b[d]) * scale[e];
            const float r = __builtin_fmaf(sigma[e], s, zb[d]);
            lb = __builtin_fmaf(r, r, lb);
            ds[d] = (sigma[e] * r) * scale[e];
        }
        f->lossp[i + e] = 0.5 * (double)lb;
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

/* The embedding's gradients from p_k, q_k (docs/computation.md, Score network: sigma_emb). */
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
        const float *p = f->pk + (size_t)k * f->pq_ld, *q = f->qk + (size_t)k * f->pq_ld;
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

void dsm_bias2_grad(const fast_work *f, int D, int B, float inv_b, int d0, int d1,
                    ncsn_model *grad) {
    for (int c0 = d0; c0 < d1; c0 += 64) {
        const int n = d1 - c0 < 64 ? d1 - c0 : 64;
        float acc[64] = {0};
        for (int i = 0; i < B; i++) {
            const float *row = f->ds + (size_t)i * D + c0;
            for (int j = 0; j < n; j++) acc[j] += row[j];
        }
        for (int j = 0; j < n; j++) grad->bb2_b[c0 + j] = acc[j] * inv_b;
    }
}

void dsm_embedding_backward(const ncsn_model *m, const fast_work *f, int K, float inv_b,
                            ncsn_model *grad) {
    CALL_KERNEL(ncsn_isa() >= NCSN_ISA_AVX2_FMA, embedding_backward, (m, f, K, inv_b, grad));
}

/* Each example's sigma, embedding input and class, and the positions (examples sorted by
 * (class, index)); for the blocked kernels, the class, t and output scale by position. The
 * ReLU pattern of the embedding depends only on the level, so it is computed once per level
 * present in the batch; a class is numbered at its first appearance in the batch. Returns
 * K, or -1 when the batch has more classes than the tables hold (cannot happen for finite
 * t, see train.h). */
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
            int j = 0;        /* like model.c's embedding) */
#if defined(__x86_64__) && defined(__GNUC__)
            const __m128 tv = _mm_set1_ps(t), zero = _mm_setzero_ps();
            for (; j + 4 <= E; j += 4) { /* SSE, 4 units at a time */
                const __m128 a = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m->emb0_w + j), tv),
                                            _mm_loadu_ps(m->emb0_b + j));
                mask |= (uint32_t)_mm_movemask_ps(_mm_cmpgt_ps(a, zero)) << j;
            }
#endif
            for (; j < E; j++) mask |= (uint32_t)(m->emb0_w[j] * t + m->emb0_b[j] > 0) << j;
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
    if (f->blocked) /* the blocked kernels' rows by position */
        for (int i = 0; i < B; i++) {
            const int b = f->ord[i];
            f->kpos[i] = f->cls[b];
            f->tone[i] = f->t[b];
            f->tone[B + i] = 1.0f;
            f->scale[i] = m->scale_by_sigma ? 1.0f / f->sig[b] : 1.0f;
        }
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
        for (int i = 0; i < B; i++) l += f->lossp[i];
        dsm_bias2_grad(f, D, B, c->inv_b, 0, D, grad);
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

int dsm_fast_parallel(const fast_work *f, const ncsn_model *m, int B) {
    /* In parallel only for batches well above the notebook's (B H = 16384), where a
     * barrier's microsecond, or a descheduled thread on a shared machine, costs less than
     * the work it splits; for the blocked kernels, from B H D = 2^21 (measured: at
     * D 64, H 128 and at D 16, H 512 two threads were no faster). The result is the same. */
    const long BH = (long)B * m->H;
    const int big = f->blocked ? BH * m->D >= NCSN_BLOCKED_PARALLEL_MIN
                               : BH * (m->D + 2) >= NCSN_FAST_PARALLEL_MIN;
    return big && ncsn_max_threads() > 1;
}

int dsm_fast_classes(const ncsn_model *m, int B, const int *levels, const float *sigmas,
                     fast_work *f) {
    return f->K = classify(m, B, levels, sigmas, f);
}

/* *mean_loss = the mean loss; returns 0, or -1 when the batch does not fit the tables. */
int dsm_fast_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad, fast_work *f,
                          ncsn_param_update *update, double *mean_loss) {
    const int K = dsm_fast_classes(m, B, levels, sigmas, f);
    if (K < 0) return -1;
    const int fma = ncsn_isa() >= NCSN_ISA_AVX2_FMA;
    const fast_ctx c = {m, x, z, B, K, 1.0f / (float)B, f, grad, fma};
    double loss = 0;
    if (dsm_fast_parallel(f, m, B)) {
#pragma omp parallel
        {
            if (f->blocked) {
                const double l = dsm_gemm_phases(m, x, NULL, z, B, K, f, grad, update);
#pragma omp master
                loss = l;
            } else {
                fast_phases(&c, &loss);
            }
        }
    } else if (f->blocked) {
        loss = dsm_gemm_phases(m, x, NULL, z, B, K, f, grad, update);
    } else {
        fast_phases(&c, &loss);
    }
    *mean_loss = loss / (double)B;
    return 0;
}
