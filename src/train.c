/* train.c: the DSM loss and its gradient over shards, Adam, and the training loop
 * (SPEC.md section 3). B = batch size, D = data dimension, L = number of levels. */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

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
}

void ncsn_dsm_work_free(ncsn_dsm_work *w) {
    if (!w) return;
    if (w->acts)
        for (int t = 0; t < w->n_threads; t++) ncsn_acts_free(&w->acts[t]);
    free(w->acts);
    free(w->grads);
    free(w->losses);
    free(w->xz);
    memset(w, 0, sizeof *w);
}

double ncsn_dsm_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad,
                          ncsn_dsm_work *w) {
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

void ncsn_adam_step(ncsn_adam *a, float *params, float *grad) {
    /* torch.optim.Adam (single-tensor path): g += wd p; m = b1 m + (1-b1) g;
     * v = b2 v + (1-b2) g^2; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
    a->t++;
    const double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    const double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const float step_size = (float)(a->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, eps = (float)a->eps;
    const float wd = (float)a->weight_decay;
    for (size_t i = 0; i < a->n; i++) {
        float g = grad[i];
        if (wd != 0) g += wd * params[i];
        grad[i] = g;
        a->m[i] = b1 * a->m[i] + (1 - b1) * g;
        a->v[i] = b2 * a->v[i] + (1 - b2) * g * g;
        float denom = sqrtf(a->v[i]) / bc2_sqrt + eps;
        params[i] -= step_size * (a->m[i] / denom);
    }
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

/* perm (n) = a uniformly random permutation for epoch, by Fisher-Yates on counters. */
static void epoch_permutation(ncsn_key key, uint32_t epoch, int n, int *perm) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        double u = ncsn_rng_uniform_double(key, epoch, (uint32_t)i, 0);
        int j = (int)(u * (double)(i + 1));
        if (j > i) j = i;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int ncsn_train(const ncsn_config *cfg, uint32_t config_index, const double *sigmas, int L,
               const float *x, int n, ncsn_model *model, ncsn_model *ema, ncsn_train_log *log,
               ncsn_progress_fn progress, void *user) {
    const int D = model->D;
    const int B = cfg->train.batch;
    const int64_t steps = cfg->train.steps;
    const uint64_t seed = cfg->seed;
    const ncsn_key k_shuffle = ncsn_rng_key(seed, config_index, NCSN_RNG_SHUFFLE);
    const ncsn_key k_level = ncsn_rng_key(seed, config_index, NCSN_RNG_TRAIN_LEVEL);
    const ncsn_key k_noise = ncsn_rng_key(seed, config_index, NCSN_RNG_TRAIN_NOISE);

    float *sig = ncsn_xmalloc(sizeof(float) * (size_t)L);
    for (int i = 0; i < L; i++) sig[i] = (float)sigmas[i];
    int *perm = ncsn_xmalloc(sizeof(int) * (size_t)n);
    int *levels = ncsn_xmalloc(sizeof(int) * (size_t)B);
    float *xb = ncsn_xmalloc(sizeof(float) * (size_t)B * D); /* (B, D) */
    float *zb = ncsn_xmalloc(sizeof(float) * (size_t)B * D); /* (B, D) */
    float *gblock = ncsn_xcalloc(model->n_params, sizeof(float));
    ncsn_model grad;
    ncsn_model_view(model, gblock, &grad);
    ncsn_dsm_work work;
    ncsn_dsm_work_alloc(&work, model, B);
    ncsn_adam adam;
    ncsn_adam_init(&adam, model->n_params, cfg->train.lr, cfg->train.weight_decay);
    const double ema_rate = cfg->train.ema;
    if (ema) ncsn_model_copy(model, ema);

    memset(log, 0, sizeof *log);
    log->diverged_at = -1;
    const double t0 = ncsn_now();
    double last_report = t0;
    uint32_t epoch = 0;
    int pos = n; /* position in the current permutation; n forces a new epoch */
    int status = 0;
    double loss = 0;

    for (int64_t step = 0; step < steps; step++) {
        if (pos >= n) {
            epoch_permutation(k_shuffle, epoch++, n, perm);
            pos = 0;
        }
        const int bsz = (n - pos) < B ? (n - pos) : B;
        const uint32_t s32 = (uint32_t)step;
#pragma omp parallel for schedule(static)
        for (int b = 0; b < bsz; b++) {
            memcpy(xb + (size_t)b * D, x + (size_t)perm[pos + b] * D, sizeof(float) * D);
            float u[4];
            ncsn_rng_uniform4(k_level, s32, (uint32_t)b, 0, u);
            int lv = (int)(u[0] * (float)L);
            levels[b] = lv < L ? lv : L - 1;
            ncsn_rng_fill_normal(k_noise, s32, (uint32_t)b, D, zb + (size_t)b * D);
        }
        pos += bsz;

        loss = ncsn_dsm_loss_grad(model, xb, bsz, levels, sig, zb, &grad, &work);
        if (!isfinite(loss)) {
            log->diverged_at = step;
            log_push(log, step + 1, (float)loss);
            status = 1;
            break;
        }
        ncsn_adam_step(&adam, model->params, grad.params);
        if (ema) {
            const float r = (float)ema_rate, q = 1.0f - (float)ema_rate;
            for (size_t p = 0; p < model->n_params; p++)
                ema->params[p] = r * ema->params[p] + q * model->params[p];
        }
        if ((step + 1) % cfg->train.log_every == 0 || step + 1 == steps)
            log_push(log, step + 1, (float)loss);
        if (progress) {
            double now = ncsn_now();
            if (now - last_report >= 1.0 || step + 1 == steps) {
                char extra[64];
                snprintf(extra, sizeof extra, "loss=%.4f", loss);
                progress("train", step + 1, steps, (double)(step + 1) / (now - t0), extra, user);
                last_report = now;
            }
        }
    }
    log->final_loss = loss;
    log->seconds = ncsn_now() - t0;

    ncsn_adam_free(&adam);
    ncsn_dsm_work_free(&work);
    free(gblock);
    free(zb);
    free(xb);
    free(levels);
    free(perm);
    free(sig);
    return status;
}
