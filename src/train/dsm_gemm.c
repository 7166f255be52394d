/* train/dsm_gemm.c: the DSM loss and its gradient (SPEC.md section 3) by blocked matrix
 * products (gemm.h), for any D and H: the fast path's phases where dsm_fast.c's own kernels
 * (D <= 16, E and H multiples of 8) do not apply. The embedding's classes and their tables
 * are dsm_fast.c's (see ncsn_dsm_loss_grad in train.h); per batch, with positions in
 * (class, index) order:
 *   zs = t A_k + B_k + X' W_1x'          (B, H)  the first layer, kept for the backward pass
 *   hs = relu(zs);  s = (hs W_2' + b_2) scale                   (B, D)
 *   ds = dloss/ds;  dz = relu'(zs) (ds W_2)                      (B, H)
 *   dW_2 = ds' hs,  dW_1x = dz' X',  db_1 = 1' dz,  P_k, Q_k = t' dz, 1' dz over class k
 *   dW_1e = sum_k P_k u_k' + Q_k v_k';   p_k, q_k = W_1e' P_k, W_1e' Q_k -> the embedding
 * Every sum is one chain of fused multiply-adds in a fixed order (gemm.h): over d, over
 * hidden units, or over positions. Threads split each product's rows or columns, which
 * changes no element's order: the result is the same for any number of threads and on
 * every instruction set. B = batch, D = data dimension, E = embedding width, H = hidden
 * width, K = classes in the batch. */
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ncsn/gemm.h"
#include "ncsn/simd.h"
#include "ncsn/train.h"
#include "dsm_fast.h"

static ncsn_gemm product(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks,
                         const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc) {
    ncsn_gemm g;
    memset(&g, 0, sizeof g);
    g.M = M;
    g.N = N;
    g.K = K;
    g.A = A;
    g.a_rs = a_rs;
    g.a_ks = a_ks;
    g.B = B;
    g.ldb = ldb;
    g.C = C;
    g.ldc = ldc;
    return g;
}

static int team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Piece p of n of [0, count), its ends at multiples of align. */
static int piece_start(int count, int p, int n, int align) {
    if (p >= n) return count;
    const int units = (count + align - 1) / align;
    const int at = (int)((long)units * p / n) * align;
    return at < count ? at : count;
}

/* Piece p of n of g: rows (by_rows) or columns, cut at multiples of the register block. */
static void piece(const ncsn_gemm *g, int by_rows, int p, int n) {
    if (by_rows)
        ncsn_gemm_block(g, piece_start(g->M, p, n, 6), piece_start(g->M, p + 1, n, 6), 0, g->N);
    else {
        const int w = ncsn_gemm_panel();
        ncsn_gemm_block(g, 0, g->M, piece_start(g->N, p, n, w), piece_start(g->N, p + 1, n, w));
    }
}

/* g's rows, or columns, split between the team's threads (orphaned worksharing: outside a
 * parallel region one thread does all); with nowait no barrier after. */
static void split(const ncsn_gemm *g, int by_rows, int nowait) {
    const int n = team_size();
    if (nowait) {
#pragma omp for schedule(static) nowait
        for (int p = 0; p < n; p++) piece(g, by_rows, p, n);
    } else {
#pragma omp for schedule(static)
        for (int p = 0; p < n; p++) piece(g, by_rows, p, n);
    }
}
enum { COLS = 0, ROWS = 1, WAIT = 0, NOWAIT = 1 };

/* Plain loops with fmaf: a build for x86-64-v3 (AVX2, FMA) makes it one instruction, the
 * default build calls libm's (the same bits). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define FMA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FMA_CLONES
#endif

/* dst (cols, ld_dst) = src (rows, ld_src)' over rows [r0, r1): 8 x 8 blocks by shuffles. */
static void transpose_rows(const float *src, int ld_src, int r0, int r1, int cols, float *dst,
                           int ld_dst) {
    int r = r0;
    for (; r + 8 <= r1; r += 8) {
        int c = 0;
        for (; c + 8 <= cols; c += 8)
            transpose8(src + (size_t)r * ld_src + c, ld_src, dst + (size_t)c * ld_dst + r, ld_dst);
        for (; c < cols; c++)
            for (int q = r; q < r + 8; q++) dst[(size_t)c * ld_dst + q] = src[(size_t)q * ld_src + c];
    }
    for (; r < r1; r++)
        for (int c = 0; c < cols; c++) dst[(size_t)c * ld_dst + r] = src[(size_t)r * ld_src + c];
}

/* W_1's x and e columns and W_2, transposed; each class's embedding line
 * e = t u_k + v_k (its ReLU pattern fixed), then A_k = W_1e u_k, B_k = W_1e v_k + b_1. */
FMA_CLONES static void class_tables(const ncsn_model *m, int K, fast_work *f) {
    const int D = m->D, E = m->E, H = m->H, DE = D + E;
    const int n = team_size();
#pragma omp for schedule(static)
    for (int p = 0; p < n; p++) { /* rows of W_1 (hidden units), and W_2 by rows */
        const int o0 = piece_start(H, p, n, 8), o1 = piece_start(H, p + 1, n, 8);
        const int d0 = piece_start(D, p, n, 8), d1 = piece_start(D, p + 1, n, 8);
        transpose_rows(m->bb0_w, DE, o0, o1, D, f->w1xT, H);
        transpose_rows(m->bb0_w + D, DE, o0, o1, E, f->w1eT, H);
        transpose_rows(m->bb2_w, H, d0, d1, H, f->w2T, D);
    }
#pragma omp for schedule(static)
    for (int k = 0; k < K; k++) {
        float alpha[32], beta[32];
        for (int j = 0; j < E; j++) {
            const int on = (f->kmask[k] >> j) & 1;
            alpha[j] = on ? m->emb0_w[j] : 0;
            beta[j] = on ? m->emb0_b[j] : 0;
        }
        float *u = f->uv + (size_t)k * 2 * E, *v = u + E;
        for (int i = 0; i < E; i++) {
            const float *w = m->emb2_w + (size_t)i * E;
            float su = 0, sv = m->emb2_b[i];
            for (int j = 0; j < E; j++) {
                su = fmaf(w[j], alpha[j], su);
                sv = fmaf(w[j], beta[j], sv);
            }
            u[i] = su;
            v[i] = sv;
        }
    }
    ncsn_gemm ga = product(K, H, E, f->uv, 2 * E, 1, f->w1eT, H, f->Ak, H);
    ncsn_gemm gb = product(K, H, E, f->uv + E, 2 * E, 1, f->w1eT, H, f->Bk, H);
    gb.init_b = m->bb0_b;
    split(&ga, COLS, NOWAIT);
    split(&gb, COLS, WAIT);
}

/* Position i's example: x' = x + sigma z, z, t, class and output scale. */
FMA_CLONES static void gather(const ncsn_model *m, const float *x, const float *z, int B, fast_work *f) {
    const int D = m->D;
#pragma omp for schedule(static)
    for (int i = 0; i < B; i++) {
        const int b = f->ord[i];
        const float sigma = f->sig[b];
        f->kpos[i] = f->cls[b];
        f->ts[i] = f->tone[i] = f->t[b];
        f->tone[B + i] = 1.0f;
        f->scale[i] = m->scale_by_sigma ? 1.0f / sigma : 1.0f;
        for (int d = 0; d < D; d++) {
            f->xs[(size_t)i * D + d] = fmaf(sigma, z[(size_t)b * D + d], x[(size_t)b * D + d]);
            f->zpos[(size_t)i * D + d] = z[(size_t)b * D + d];
        }
    }
}

/* loss_b = 1/2 |sigma s + z|^2, so dloss_b/ds = sigma (sigma s + z) (times the output
 * scale: the gradient with respect to the network before it). */
FMA_CLONES static void loss_and_ds(const ncsn_model *m, int B, fast_work *f) {
    const int D = m->D;
#pragma omp for schedule(static)
    for (int i = 0; i < B; i++) {
        const int b = f->ord[i];
        const float sigma = f->sig[b], scale = f->scale[i];
        float lb = 0;
        for (int d = 0; d < D; d++) {
            const size_t at = (size_t)i * D + d;
            const float r = fmaf(sigma, f->spos[at], f->zpos[at]);
            lb = fmaf(r, r, lb);
            f->ds[at] = f->dout[(size_t)b * D + d] = (sigma * r) * scale;
        }
        f->lossb[b] = 0.5 * (double)lb;
    }
}

void dsm_gemm_phases(const ncsn_model *m, const float *x, const float *z, int B, int K,
                     fast_work *f, ncsn_model *grad, double *loss) {
    const int D = m->D, E = m->E, H = m->H, DE = D + E;
    const float inv_b = 1.0f / (float)B;
    class_tables(m, K, f);
    gather(m, x, z, B, f);
    /* forward */
    ncsn_gemm g1 = product(B, H, D, f->xs, D, 1, f->w1xT, H, f->hs, H);
    g1.init_a = f->Ak;
    g1.init_b = f->Bk;
    g1.ld_init = H;
    g1.row_cls = f->kpos;
    g1.row_t = f->ts;
    g1.Zout = f->zs;
    g1.ldz = H;
    g1.relu = 1;
    split(&g1, ROWS, WAIT);
    ncsn_gemm g2 = product(B, D, H, f->hs, H, 1, f->w2T, D, f->spos, D);
    g2.bias = m->bb2_b;
    g2.row_scale = f->scale;
    split(&g2, ROWS, WAIT);
    loss_and_ds(m, B, f);
#pragma omp single nowait
    {
        double l = 0;
        for (int b = 0; b < B; b++) l += f->lossb[b];
        for (int d = 0; d < D; d++) {
            float acc = 0;
            for (int b = 0; b < B; b++) acc += f->dout[(size_t)b * D + d];
            grad->bb2_b[d] = acc * inv_b;
        }
        *loss = l;
    }
    /* backward */
    ncsn_gemm g3 = product(B, H, D, f->ds, D, 1, m->bb2_w, H, f->dz, H);
    g3.mask = f->zs;
    g3.ldm = H;
    split(&g3, ROWS, WAIT);
    ncsn_gemm gw2 = product(D, H, B, f->ds, 1, D, f->hs, H, grad->bb2_w, H);
    ncsn_gemm gw1 = product(H, D, B, f->dz, 1, H, f->xs, D, grad->bb0_w, DE);
    ncsn_gemm gb1 = product(1, H, B, f->tone + B, 0, 1, f->dz, H, grad->bb0_b, H);
    gw2.has_scale = gw1.has_scale = gb1.has_scale = 1;
    gw2.scale = gw1.scale = gb1.scale = inv_b;
    split(&gw2, COLS, NOWAIT);
    split(&gw1, ROWS, NOWAIT);
    split(&gb1, COLS, NOWAIT);
#pragma omp for schedule(static)
    for (int k = 0; k < K; k++) { /* P_k, Q_k: rows t and 1 against class k's dz */
        const int i0 = f->kstart[k], nk = f->kstart[k + 1] - i0;
        ncsn_gemm gpq = product(2, H, nk, f->tone + i0, B, 1, f->dz + (size_t)i0 * H, H,
                                f->pq + (size_t)k * 2 * H, H);
        ncsn_gemm_block(&gpq, 0, 2, 0, H);
    }
    /* W_1e's gradient over rows P_0, Q_0, P_1, ... against u_0, v_0, u_1, ...; then
     * p_k, q_k for the embedding */
    ncsn_gemm gw1e = product(H, E, 2 * K, f->pq, 1, H, f->uv, E, grad->bb0_w + D, DE);
    gw1e.has_scale = 1;
    gw1e.scale = inv_b;
    split(&gw1e, ROWS, NOWAIT);
    ncsn_gemm gpk = product(2 * K, E, H, f->pq, H, 1, m->bb0_w + D, DE, f->pk, E);
    split(&gpk, ROWS, WAIT);
#pragma omp single
    dsm_embedding_backward(m, f, K, inv_b, grad);
}
