/* train/dsm.c: the DSM loss and its gradient (docs/computation.md, Training objective): the
 * scratch, the reference path (one example at a time through model.c, summed per shard of
 * NCSN_SHARD examples, shards reduced in order) and the choice between it and the fast path
 * (dsm_fast.c). B = batch size, D = data dimension (see train.h). */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "dsm_fast.h"

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
    w->fast = dsm_fast_ok(m) ? dsm_fast_alloc(m, max_batch) : NULL;
    w->blocked = w->fast && ((fast_work *)w->fast)->blocked;
}

void ncsn_dsm_work_free(ncsn_dsm_work *w) {
    if (!w) return;
    if (w->acts)
        for (int t = 0; t < w->n_threads; t++) ncsn_acts_free(&w->acts[t]);
    free(w->acts);
    free(w->grads);
    free(w->losses);
    free(w->xz);
    dsm_fast_free(w->fast);
    ncsn_model_free(&w->other);
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

/* m with W_2 in layout by_unit: m itself, or w->other, a copy rewritten into it. */
static const ncsn_model *in_layout(const ncsn_model *m, ncsn_dsm_work *w, int by_unit) {
    if (by_unit == w->w2_by_unit) return m;
    if (!w->other.params) ncsn_model_copy(m, &w->other);
    else memcpy(w->other.params, m->params, sizeof(float) * m->n_params);
    ncsn_model_w2_layout(&w->other, w->other.params, by_unit);
    return &w->other;
}

double ncsn_dsm_loss_grad_update(const ncsn_model *m, const float *x, int B, const int *levels,
                                 const float *sigmas, const float *z, ncsn_model *grad,
                                 ncsn_dsm_work *w, ncsn_param_update *update) {
    double loss;
    if (update) update->applied = 0;
    if (w->fast && B > 0 && B <= w->max_batch) {
        /* the update's offsets are the caller's: applied only on the caller's own model */
        const ncsn_model *mf = in_layout(m, w, w->blocked);
        if (dsm_fast_loss_grad(mf, x, B, levels, sigmas, z, grad, w->fast,
                               mf == m ? update : NULL, &loss) == 0) {
            if (mf != m) ncsn_model_w2_layout(m, grad->params, w->w2_by_unit);
            return loss;
        }
    }
    loss = ncsn_dsm_loss_grad_reference(in_layout(m, w, 0), x, B, levels, sigmas, z, grad, w);
    if (w->w2_by_unit) ncsn_model_w2_layout(m, grad->params, 1);
    return loss;
}

int ncsn_dsm_team(const ncsn_dsm_work *w, const ncsn_model *m, int B) {
    if (!(w->blocked && w->w2_by_unit && B > 0 && B <= w->max_batch)) return 0;
    return dsm_fast_parallel(w->fast, m, B) ? 2 : 1;
}

void ncsn_dsm_team_classes(ncsn_dsm_work *w, const ncsn_model *m, int B, const int *levels,
                           const float *sigmas) {
    dsm_fast_classes(m, B, levels, sigmas, w->fast);
}

double ncsn_dsm_team_loss_grad(const ncsn_model *m, const float *data, const int *rows, int B,
                               const float *z, ncsn_model *grad, ncsn_dsm_work *w,
                               ncsn_param_update *update) {
    fast_work *f = w->fast;
    /* K <= E + 1 = Kmax always: each unit's w_j t + b_j > 0 changes once as t grows (see
     * ncsn_dsm_loss_grad), so classify's -1 is for batches no sigma can make */
    NCSN_ASSERT(f->blocked && f->K >= 0);
    return dsm_gemm_phases(m, data, rows, z, B, f->K, f, grad, update) / (double)B;
}

double ncsn_dsm_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad,
                          ncsn_dsm_work *w) {
    return ncsn_dsm_loss_grad_update(m, x, B, levels, sigmas, z, grad, w, NULL);
}
