/* train/dsm_gemm.c: the DSM loss and its gradient (docs/computation.md, Training objective) by
 * blocked matrix products (gemm.h), for any D and H: the fast path's phases where dsm_fast.c's
 * own kernels (D <= 16, E and H multiples of 8) do not apply. The embedding's classes and
 * their tables are dsm_fast.c's (see ncsn_dsm_loss_grad in train.h). W_2 comes by hidden unit,
 * (H, D) (model.h, ncsn_model_w2_layout; dsm.c hands these phases a model in that layout),
 * and so do its gradient and update: each thread's units are whole rows of its own. Per batch,
 * with positions in (class, index) order:
 *   zs = t A_k + B_k + X' W_1x'          (B, H)  the first layer
 *   hs = relu(zs);  s = (hs W_2' + b_2) scale                   (B, D)
 *   ds = dloss/ds;  dz = relu'(zs) (ds W_2)                      (B, H)
 *   (relu'(zs) is 1 exactly where hs > 0, so only hs is kept for the backward pass,
 *   and dz overwrites it once dW_2 has read it; both are stored by blocks of units,
 *   hs_blk (B, ob) one after another, so that each thread's activations are whole lines
 *   of its own and no prefetcher pulls the other thread's)
 *   dW_2' = hs' ds (by unit),  dW_1x = dz' X',  db_1 = 1' dz,  P_k, Q_k = t' dz, 1' dz over class k
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

static int omp_thread(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}


/* Plain loops with fmaf: a build for x86-64-v3 (AVX2, FMA) makes it one instruction, the
 * default build calls libm's (the same bits). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define FMA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FMA_CLONES
#endif

/* dst (cols, ld_dst) = src (rows, ld_src)' over rows [r0, r1): 8 x 8 blocks by shuffles,
 * dst's rows written in order (measured 1.7x faster than src's rows in order). */
NCSN_HOT static void transpose_rows(const float *src, int ld_src, int r0, int r1, int cols,
                                    float *dst, int ld_dst) {
    const int r8 = r0 + (r1 - r0) / 8 * 8;
    int c = 0;
    for (; c + 8 <= cols; c += 8) {
        for (int r = r0; r < r8; r += 8)
            transpose8(src + (size_t)r * ld_src + c, ld_src, dst + (size_t)c * ld_dst + r, ld_dst);
        for (int q = c; q < c + 8; q++)
            for (int r = r8; r < r1; r++) dst[(size_t)q * ld_dst + r] = src[(size_t)r * ld_src + q];
    }
    for (; c < cols; c++)
        for (int r = r0; r < r1; r++) dst[(size_t)c * ld_dst + r] = src[(size_t)r * ld_src + c];
}

/* Each class's embedding line e = t u_k + v_k (its ReLU pattern fixed; docs/computation.md,
 * Score network), split between the threads by class; no barrier after it (gather, next,
 * reads none of it, and has one). */
FMA_CLONES static void class_lines(const ncsn_model *m, int K, fast_work *f) {
    const int E = m->E;
#pragma omp for schedule(static) nowait
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
}

/* The cache lines of n floats at p, fetched ahead of their use. */
static void prefetch_floats(const float *p, int n) {
    for (size_t o = 0; o < sizeof(float) * (size_t)n; o += 64) __builtin_prefetch((const char *)p + o);
}

/* x' = x + sigma z at each position (the position's class, t and output scale are
 * dsm_fast_classes's); split by position. Example b's x is row x_rows[b] of x, or row b
 * where x_rows is NULL. The positions go in class order, so the rows of x and of z are in
 * no order: those 4 positions ahead are fetched while this one is computed (measured: the
 * gather a fifth faster). */
FMA_CLONES static void gather(const ncsn_model *m, const float *x, const int *x_rows,
                              const float *z, int B, fast_work *f) {
    const int D = m->D;
#pragma omp for schedule(static)
    for (int i = 0; i < B; i++) {
        if (i + 4 < B) {
            const int ba = f->ord[i + 4];
            prefetch_floats(x + (size_t)(x_rows ? x_rows[ba] : ba) * D, D);
            prefetch_floats(z + (size_t)ba * D, D);
        }
        const int b = f->ord[i];
        const float sigma = f->sig[b];
        const float *xb = x + (size_t)(x_rows ? x_rows[b] : b) * D, *zb = z + (size_t)b * D;
        float *xs = f->xs + (size_t)i * D;
        for (int d = 0; d < D; d++) xs[d] = fmaf(sigma, zb[d], xb[d]);
    }
}

/* One thread's hidden units [o0, o1) (whole blocks): what it reads and writes of every
 * phase, so that each thread keeps its own rows of W_1 and of W_2 (by unit), and columns of
 * the activations, in its cache from phase to phase. */
typedef struct {
    const ncsn_model *m;
    fast_work *f;
    ncsn_model *grad;
    int B, K, o0, o1, blk0, blk1; /* blocks [blk0, blk1) of f->ob units */
    float inv_b;
    ncsn_param_update *update;    /* NULL: the caller updates the parameters */
} owned;

/* The update of the n parameters at p of m (a piece of m->params). */
static void update(const owned *w, const float *p, size_t n) {
    if (w->update) w->update->fn((size_t)(p - w->m->params), n, w->update->user);
}

/* A product over the owned columns [o0, o1) of an (., H) output. */
static void cols(ncsn_gemm *g, const owned *w) { ncsn_gemm_block(g, 0, g->M, w->o0, w->o1); }

/* Block blk of hs (or dz over it): (B, ob) rows of the block's units, ld ob. */
static float *hs_block(const owned *w, int blk) {
    return w->f->hs + (size_t)blk * w->B * w->f->ob;
}

/* The units of block blk: [*u0, *u0 + return). */
static int block_units(const owned *w, int blk, int *u0) {
    const int H = w->m->H, ob = w->f->ob;
    *u0 = blk * ob;
    return H - *u0 < ob ? H - *u0 : ob;
}

/* The output's sum over the blocks of units is a pairwise tree (docs/performance.md,
 * Training at any D). Node (a, s), for s a power of two and a a multiple of s, is the sum
 * over blocks [a, a + s): node (a, s / 2) + node (a + s / 2, s / 2), or node (a, s / 2)
 * alone where the right half starts past the last block; the root is (0, the least power
 * of two >= the blocks). Node (a, s) is kept in spart's block a, but for the root where the
 * loss sums it: its last add is taken in registers (residual). A node whose blocks are one
 * thread's is summed by that thread after its product of the node's last block, while it
 * is in the thread's cache; the loss sums the others. The same adds of the same values
 * whatever the split: the bits do not depend on the number of threads. */

/* Whether node (a, s) is summed in the forward pass, the blocks split between nt threads
 * as ncsn_model_units_share splits them: whole, and no thread's first block in (a, a + s). */
static int summed_forward(int n_blk, int nt, int a, int s) {
    if (a + s > n_blk) return s == 1;
    for (int t = 1; t < nt; t++) {
        const int first = (int)((long)n_blk * t / nt);
        if (first > a && first < a + s) return 0;
    }
    return 1;
}

/* Node (a, 2 h) from its halves at positions [i0, i0 + n): spart's block a += block a + h. */
static void node_add(const fast_work *f, int B, int D, int a, int h, int i0, int n) {
    float *restrict l = f->spart + ((size_t)a * B + i0) * D;
    const float *restrict r = f->spart + ((size_t)(a + h) * B + i0) * D;
    for (size_t k = 0; k < (size_t)n * D; k++) l[k] = l[k] + r[k];
}

/* Node (a, s) at positions [i0, i0 + n), where the forward pass did not sum it. */
static void tree_sum(const fast_work *f, int B, int D, int n_blk, int nt, int a, int s, int i0,
                     int n) {
    if (summed_forward(n_blk, nt, a, s)) return;
    const int h = s / 2;
    tree_sum(f, B, D, n_blk, nt, a, h, i0, n);
    if (a + h >= n_blk) return;
    tree_sum(f, B, D, n_blk, nt, a + h, h, i0, n);
    node_add(f, B, D, a, h, i0, n);
}

/* Forward over the owned units: A_k and B_k (W_1e's owned rows transposed), then per block
 * hs, from the block's W_1x' packed into this thread's buffer (32 KB at D 64: the step's
 * data stays within a core's L2 cache, where a whole transposed copy of W_1x did not), and
 * the output's partial sums from the block's rows of W_2 by unit, which are W_2' (nu, D). */
static void forward_owned(const owned *w) {
    const ncsn_model *m = w->m;
    fast_work *f = w->f;
    const int D = m->D, E = m->E, H = m->H, DE = D + E, B = w->B, K = w->K, ob = f->ob;
    transpose_rows(m->bb0_w + D, DE, w->o0, w->o1, E, f->w1eT, H);
    const int me = omp_thread();
    NCSN_ASSERT(me < f->n_threads);
    float *w1p = f->wpack + (size_t)me * f->wpack_floats;
    ncsn_gemm ga = product(K, H, E, f->uv, 2 * E, 1, f->w1eT, H, f->Ak, H);
    ncsn_gemm gb = product(K, H, E, f->uv + E, 2 * E, 1, f->w1eT, H, f->Bk, H);
    gb.init_b = m->bb0_b;
    cols(&ga, w);
    cols(&gb, w);
    for (int blk = w->blk0; blk < w->blk1; blk++) {
        int u0;
        const int nu = block_units(w, blk, &u0);
        float *hb = hs_block(w, blk);
        /* the block's W_1x' (D, nu): B(d, j) = W_1[u0 + j, d] */
        ncsn_gemm_pack_b(m->bb0_w + (size_t)u0 * DE, 1, DE, D, nu, w1p);
        ncsn_gemm g1 = product(B, nu, D, f->xs, D, 1, w1p, (ptrdiff_t)NCSN_GEMM_PANEL * D, hb, ob);
        g1.b_panels = 1;
        g1.init_a = f->Ak + u0;
        g1.init_b = f->Bk + u0;
        g1.ld_init = H;
        g1.row_cls = f->kpos;
        g1.row_t = f->tone; /* its first row: t by position */
        g1.relu = 1;
        ncsn_gemm_block(&g1, 0, B, 0, nu);
        ncsn_gemm g2 = product(B, D, nu, hb, ob, 1, m->bb2_w + (size_t)u0 * D, D,
                               f->spart + (size_t)blk * B * D, D);
        ncsn_gemm_block(&g2, 0, B, 0, D);
        /* the tree's nodes that end at this block and are this thread's */
        for (int s = 2; (blk + 1) % s == 0 && blk + 1 - s >= w->blk0; s *= 2)
            node_add(f, B, D, blk + 1 - s, s / 2, 0, B);
    }
}

/* r = sigma s + z for position i (D floats at r), with s = (the tree's root + b_2) scale;
 * vectorised over d. z (B, D) by example. h = 0: the root is summed, in spart's block 0;
 * else its halves are, in blocks 0 and h, and their sum is taken here (the same add, not
 * stored: the root's add writes none of the lines of block 0, which with two threads the
 * other thread's forward pass wrote). */
FMA_CLONES static void residual(const ncsn_model *m, const fast_work *f, const float *z, int i,
                                int B, int h, float *r) {
    const int D = m->D, b = f->ord[i];
    const float sigma = f->sig[b], scale = f->scale[i];
    const float *s = f->spart + (size_t)i * D, *zb = z + (size_t)b * D;
    if (h) {
        const float *s2 = f->spart + ((size_t)h * B + i) * D;
        for (int d = 0; d < D; d++) r[d] = fmaf(sigma, ((s[d] + s2[d]) + m->bb2_b[d]) * scale, zb[d]);
    } else {
        for (int d = 0; d < D; d++) r[d] = fmaf(sigma, (s[d] + m->bb2_b[d]) * scale, zb[d]);
    }
}

/* The loss and dloss/ds: loss_b = 1/2 |r|^2, so dloss_b/ds = sigma r (times the output
 * scale: the gradient with respect to the network before it). Split by groups of 8
 * positions: the tree's last nodes, r for each (in ds), then the 8 losses' chains over d
 * side by side (each one chain in d order: 8 in flight instead of one), then ds over r. */
FMA_CLONES static void loss_and_ds(const ncsn_model *m, const float *z, int B, int n_blk,
                                   fast_work *f) {
    const int D = m->D, nt = team_size();
    int root = 1;
    while (root < n_blk) root *= 2;
    /* the root's halves, where the forward pass did not sum it (then its right half is
     * never empty: root / 2 < n_blk) */
    const int h = summed_forward(n_blk, nt, 0, root) ? 0 : root / 2;
#pragma omp for schedule(static)
    for (int g = 0; g < (B + 7) / 8; g++) {
        const int i0 = 8 * g, n = B - i0 < 8 ? B - i0 : 8;
        float *r = f->ds + (size_t)i0 * D;
        if (h) {
            tree_sum(f, B, D, n_blk, nt, 0, h, i0, n);
            tree_sum(f, B, D, n_blk, nt, h, h, i0, n);
        }
        for (int l = 0; l < n; l++) residual(m, f, z, i0 + l, B, h, r + (size_t)l * D);
        float lb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        if (n == 8) {
            for (int d = 0; d < D; d++)
                for (int l = 0; l < 8; l++) {
                    const float v = r[(size_t)l * D + d];
                    lb[l] = fmaf(v, v, lb[l]);
                }
        } else {
            for (int l = 0; l < n; l++)
                for (int d = 0; d < D; d++) lb[l] = fmaf(r[(size_t)l * D + d], r[(size_t)l * D + d], lb[l]);
        }
        for (int l = 0; l < n; l++) {
            const int i = i0 + l, b = f->ord[i];
            const float sigma = f->sig[b], scale = f->scale[i];
            float *ri = r + (size_t)l * D;
            for (int d = 0; d < D; d++) ri[d] = (sigma * ri[d]) * scale;
            f->lossp[i] = 0.5 * (double)lb[l];
        }
    }
}

/* Backward over the owned units: the gradient of W_2's rows (by unit), dz (over hs, in
 * place: hs is read by nothing after W_2's gradient) from the block's W_2 packed as (D, nu),
 * the gradients of W_1's rows and b_1, P_k and Q_k, W_1e's rows, and the partial sums of
 * p_k, q_k over each owned block. W_2's owned rows are updated once the last block's dz
 * has read them: no other thread reads them. */
static void backward_owned(const owned *w) {
    const ncsn_model *m = w->m;
    fast_work *f = w->f;
    ncsn_model *grad = w->grad;
    const int D = m->D, E = m->E, H = m->H, DE = D + E, B = w->B, K = w->K, ob = f->ob;
    const int o0 = w->o0, no = w->o1 - w->o0;
    float *w2p = f->wpack + (size_t)omp_thread() * f->wpack_floats + f->wpack_w2;
    for (int blk = w->blk0; blk < w->blk1; blk++) {
        int u0;
        const int nu = block_units(w, blk, &u0);
        float *hb = hs_block(w, blk), *dzb = hb; /* hs until g3 turns it into dz */
        /* dW_2 by unit (nu, D) = hs_blk' ds: element (j, d) the chain over positions */
        ncsn_gemm gw2 = product(nu, D, B, hb, 1, ob, f->ds, D, grad->bb2_w + (size_t)u0 * D, D);
        /* the block's W_2 as (D, nu): B(d, j) = W_2[d, u0 + j], stored at [(u0 + j) D + d] */
        ncsn_gemm_pack_b(m->bb2_w + (size_t)u0 * D, 1, D, D, nu, w2p);
        ncsn_gemm g3 = product(B, nu, D, f->ds, D, 1, w2p, (ptrdiff_t)NCSN_GEMM_PANEL * D, dzb, ob);
        g3.b_panels = 1;
        g3.mask = hb; /* relu'(zs) = [hs > 0], each element read before it is overwritten */
        g3.ldm = ob;
        ncsn_gemm gb1 = product(1, nu, B, f->tone + B, 0, 1, dzb, ob, grad->bb0_b + u0, H);
        ncsn_gemm gw1 = product(nu, D, B, dzb, 1, ob, f->xs, D, grad->bb0_w + (size_t)u0 * DE, DE);
        gw2.has_scale = gb1.has_scale = gw1.has_scale = 1;
        gw2.scale = gb1.scale = gw1.scale = w->inv_b;
        ncsn_gemm_block(&gw2, 0, nu, 0, D);
        ncsn_gemm_block(&g3, 0, B, 0, nu);
        ncsn_gemm_block(&gb1, 0, 1, 0, nu);
        ncsn_gemm_block(&gw1, 0, nu, 0, D);
        for (int k = 0; k < K; k++) { /* P_k, Q_k: rows t and 1 against class k's dz */
            const int i0 = f->kstart[k], nk = f->kstart[k + 1] - i0;
            ncsn_gemm gpq = product(2, nu, nk, f->tone + i0, B, 1, dzb + (size_t)i0 * ob, ob,
                                    f->pq + (size_t)k * 2 * H + u0, H);
            ncsn_gemm_block(&gpq, 0, 2, 0, nu);
        }
    }
    update(w, m->bb2_w + (size_t)o0 * D, (size_t)no * D); /* W_2's owned rows */
    update(w, m->bb0_b + o0, (size_t)no); /* b_1's units: final, and read no more */
    /* W_1e's rows from P_0, Q_0, P_1, ... against u_0, v_0, u_1, ... */
    ncsn_gemm gw1e = product(no, E, 2 * K, f->pq + o0, 1, H, f->uv, E,
                             grad->bb0_w + (size_t)o0 * DE + D, DE);
    gw1e.has_scale = 1;
    gw1e.scale = w->inv_b;
    ncsn_gemm_block(&gw1e, 0, no, 0, E);
    for (int blk = w->blk0; blk < w->blk1; blk++) { /* W_1e' P_k, W_1e' Q_k over the block */
        int u0;
        const int nu = block_units(w, blk, &u0);
        ncsn_gemm gpk = product(2 * K, E, nu, f->pq + u0, H, 1, m->bb0_w + (size_t)u0 * DE + D, DE,
                                f->pqpart + (size_t)blk * 2 * K * E, E);
        ncsn_gemm_block(&gpk, 0, 2 * K, 0, E);
    }
    update(w, m->bb0_w + (size_t)o0 * DE, (size_t)no * DE); /* W_1's owned rows, after gpk */
}

/* p_k, q_k: the blocks' partial sums in block order (the blocks in the outer loop: the
 * 2 K E sums side by side); then the embedding's gradients. */
static void embedding(const ncsn_model *m, int K, int n_blk, float inv_b, fast_work *f,
                      ncsn_model *grad) {
    const size_t n = (size_t)2 * K * m->E;
    float *restrict pk = f->pk; /* pk, qk interleaved (K, 2, E) */
    memcpy(pk, f->pqpart, sizeof(float) * n);
    for (int blk = 1; blk < n_blk; blk++) {
        const float *restrict part = f->pqpart + (size_t)blk * n;
        for (size_t j = 0; j < n; j++) pk[j] = pk[j] + part[j];
    }
    dsm_embedding_backward(m, f, K, inv_b, grad);
}

/* b_2's gradient split by d between the threads (no thread waits on one that sums them
 * all). */
static void bias2_grad(int D, int B, float inv_b, const fast_work *f, ncsn_model *grad) {
    const int me = omp_thread(), nt = team_size();
    const int d0 = (int)((long)D * me / nt), d1 = (int)((long)D * (me + 1) / nt);
    dsm_bias2_grad(f, D, B, inv_b, d0, d1, grad);
}

double dsm_gemm_phases(const ncsn_model *m, const float *x, const int *x_rows, const float *z,
                       int B, int K, fast_work *f, ncsn_model *grad, ncsn_param_update *upd) {
    const int D = m->D, H = m->H, n_blk = (H + f->ob - 1) / f->ob;
    const float inv_b = 1.0f / (float)B;
    /* this thread's blocks of hidden units (the parameters it updates too) */
    owned w = {m, f, grad, B, K, 0, 0, 0, 0, inv_b, NULL};
    ncsn_model_units_share(H, omp_thread(), team_size(), &w.o0, &w.o1);
    w.blk0 = w.o0 / f->ob;
    w.blk1 = (w.o1 + f->ob - 1) / f->ob;
    class_lines(m, K, f);
    gather(m, x, x_rows, z, B, f); /* (a barrier after it) */
    forward_owned(&w);
#pragma omp barrier
    loss_and_ds(m, z, B, n_blk, f);
    /* every thread sums the loss in the same order: a non-finite one updates nothing */
    double l = 0;
    for (int i = 0; i < B; i++) l += f->lossp[i];
    if (upd && isfinite(l)) w.update = upd;
    backward_owned(&w);
    bias2_grad(D, B, inv_b, f, grad); /* after the products that read all of ds: in cache */
#pragma omp barrier
#pragma omp single
    {
        embedding(m, K, n_blk, inv_b, f, grad);
        /* the embedding's four tensors and b_2, read by nothing after this */
        update(&w, m->emb0_w, (size_t)(m->bb0_w - m->emb0_w));
        update(&w, m->bb2_b, (size_t)D);
        if (upd) upd->applied = w.update != NULL;
    }
    return l;
}
