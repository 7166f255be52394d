/* train/trainer.c: the training loop (docs/computation.md, Training objective) as a resumable
 * object (ncsn_trainer, train.h): epoch permutations, the step's draws, the loss and gradient
 * (dsm.c), Adam (adam.c), the EMA weights, the loss history and the snapshots
 * (snapshots.c).
 * B = batch size, D = data dimension, L = number of levels. */
#include "ncsn/train.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ncsn/cpu.h"
#include "ncsn/simd.h"

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

/* draw_levels's builds: AVX-512, AVX2, baseline. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define DRAW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DRAW_CLONES
#endif

/* The step's draws (docs/computation.md, Reproducibility): example b's level from word 0 of
 * counter (step, b, 0, 0) under the level key, uniform over 0..L-1; its z coordinates 4c .. 4c+3
 * from counter (step, b, c, 0) under the noise key by Box-Muller (ncsn_box_muller_v32):
 * words (0, 1) give coordinates 4c, 4c+1, words (2, 3) give 4c+2, 4c+3. The levels first,
 * then the noise by groups of examples, in any order and on any thread: every number
 * comes from its own counter. */
enum { LEVEL_RUN = 8 }; /* blocks of 8 examples per ncsn_philox_v8_run */

DRAW_CLONES static void draw_levels(ncsn_key k_level, uint32_t step, int bsz, int L, int *levels) {
    for (int r0 = 0; r0 < bsz; r0 += 8 * LEVEL_RUN) {
        ncsn_v8u w[LEVEL_RUN][4];
        const int nblk = (bsz - r0 + 7) / 8 < LEVEL_RUN ? (bsz - r0 + 7) / 8 : LEVEL_RUN;
        ncsn_philox_v8_run(k_level, step, (uint32_t)r0, 0, 0, nblk, w);
        for (int j = 0; j < nblk; j++) {
            const int b0 = r0 + 8 * j, nb = bsz - b0 < 8 ? bsz - b0 : 8;
            const v8f u = (0.5f + __builtin_convertvector((v8i)(w[j][0] >> 9), v8f)) *
                          (1.0f / 8388608.0f);
            const v8i lv = __builtin_convertvector(u * (float)L, v8i);
            for (int l = 0; l < nb; l++) levels[b0 + l] = lv[l] < L ? lv[l] : L - 1;
        }
    }
}

/* The examples of one group of the noise: 8, each with 16 coordinates per Philox call,
 * where D > 4; else 32, each with its one block of 4 coordinates. */
static int noise_group_size(int D) { return D > 4 ? 8 : 32; }

/* The noise of group g, examples [G g, G g + G) below bsz (G = noise_group_size(D)), into
 * their rows of zb (bsz, D): the counters of 32 lanes at once (ncsn_philox_v32s, rng.h), 8
 * examples by 4 blocks of coordinates (D > 4) or 32 examples by one block, then Box-Muller
 * on the 32 lanes; the 8 by 16 draws are transposed to 16 coordinates of each example's
 * row. Coordinates past D are drawn and dropped. One body for every build (the same bits:
 * Box-Muller's arithmetic is the same in every lane). */
#define NOISE_GROUP_PARAMS (ncsn_key k_noise, uint32_t step, int bsz, int D, int g, float *zb)
#define NOISE_GROUP_BODY(PHILOX_V32S)                                                       \
    const int G = noise_group_size(D), b0 = G * g, nb = bsz - b0 < G ? bsz - b0 : G;        \
    ncsn_v32u w[4];                                                                         \
    ncsn_v32f z[4];                                                                         \
    if (D <= 4) { /* the one block: coordinate q of example b0 + l is z[q] lane l */        \
        PHILOX_V32S(k_noise, step, (uint32_t)b0, 0, 8, 0, w);                               \
        ncsn_box_muller_v32(&w[0], &w[1], &z[0], &z[1]);                                    \
        if (D > 2) ncsn_box_muller_v32(&w[2], &w[3], &z[2], &z[3]);                         \
        for (int l = 0; l < nb; l++)                                                        \
            for (int q = 0; q < D; q++) zb[(size_t)(b0 + l) * D + q] = z[q][l];             \
        return;                                                                             \
    }                                                                                       \
    for (int c = 0; 4 * c < D; c += 4) {                                                    \
        PHILOX_V32S(k_noise, step, (uint32_t)b0, (uint32_t)c, 0, 1, w);                     \
        ncsn_box_muller_v32(&w[0], &w[1], &z[0], &z[1]);                                    \
        if (4 * c + 2 < D)                                                                  \
            ncsn_box_muller_v32(&w[2], &w[3], &z[2], &z[3]);                                \
        else /* (dropped) */                                                                \
            z[2] = z[3] = z[0];                                                             \
        /* (coordinate 4 p + q, example l) = z[q] lane 8 p + l; then (example, coordinate) */ \
        float zcol[16][8], zrow[8][16];                                                     \
        for (int p = 0; p < 4; p++)                                                         \
            for (int q = 0; q < 4; q++)                                                     \
                memcpy(zcol[4 * p + q], (const float *)&z[q] + 8 * p, sizeof zcol[0]);      \
        transpose8(zcol[0], 8, zrow[0], 16);                                                \
        transpose8(zcol[8], 8, zrow[0] + 8, 16);                                            \
        const int nd = D - 4 * c < 16 ? D - 4 * c : 16;                                    \
        for (int l = 0; l < nb; l++) {                                                      \
            float *row = zb + (size_t)(b0 + l) * D + 4 * c;                                 \
            if (nd == 16) /* (a copy of constant size: vector moves, not rep movs) */       \
                memcpy(row, zrow[l], sizeof zrow[l]);                                       \
            else                                                                            \
                for (int d = 0; d < nd; d++) row[d] = zrow[l][d];                           \
        }                                                                                   \
    }
#if defined(NCSN_RNG_X86)
static void noise_group_sse2 NOISE_GROUP_PARAMS { NOISE_GROUP_BODY(ncsn_philox_v32s_sse2) }
#ifndef NCSN_NO_CLONES
__attribute__((target("avx2"))) static void noise_group_avx2 NOISE_GROUP_PARAMS {
    NOISE_GROUP_BODY(ncsn_philox_v32s_avx2)
}
/* Philox's and Box-Muller's 32 lanes in two 16-lane registers */
__attribute__((target("avx512f,avx2"))) static void noise_group_avx512 NOISE_GROUP_PARAMS {
    NOISE_GROUP_BODY(ncsn_philox_v32s_avx512)
}
#endif
#else
static void noise_group_portable NOISE_GROUP_PARAMS { NOISE_GROUP_BODY(ncsn_philox_v32s) }
#endif

typedef void(*noise_group_fn) NOISE_GROUP_PARAMS;

static noise_group_fn noise_group(void) {
#if defined(NCSN_RNG_X86)
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX512) return noise_group_avx512;
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) return noise_group_avx2;
#endif
    return noise_group_sse2;
#else
    return noise_group_portable;
#endif
}

/* The batch's noise by groups of examples, split between the calling team's threads
 * (orphaned worksharing; a barrier after it), or all on this thread outside any parallel
 * region. Dynamic: a thread busy with other work first (step_on_team's levels and
 * classes), or given less CPU, draws fewer groups. (A dynamic loop calls into the OpenMP
 * runtime even with no team, about a microsecond: one thread takes a plain loop.) */
static void draw_noise_groups(ncsn_key k_noise, uint32_t step, int bsz, int D, float *zb) {
    const noise_group_fn draw = noise_group();
    const int G = noise_group_size(D), n_groups = (bsz + G - 1) / G;
#ifdef _OPENMP
    if (omp_get_num_threads() > 1) {
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < n_groups; g++) draw(k_noise, step, bsz, D, g, zb);
        return;
    }
#endif
    for (int g = 0; g < n_groups; g++) draw(k_noise, step, bsz, D, g, zb);
}

/* The noise in parallel for large batches, with no OpenMP team for small ones. */
static void draw_batch(ncsn_key k_level, ncsn_key k_noise, uint32_t step, int bsz, int L,
                       int D, int *levels, float *zb) {
    draw_levels(k_level, step, bsz, L, levels);
    if ((long)bsz * D >= 8192) {
#pragma omp parallel
        draw_noise_groups(k_noise, step, bsz, D, zb);
    } else {
        draw_noise_groups(k_noise, step, bsz, D, zb);
    }
}

void ncsn_train_draws(ncsn_key k_level, ncsn_key k_noise, uint32_t step, int bsz, int L, int D,
                      int *levels, float *z) {
    draw_batch(k_level, k_noise, step, bsz, L, D, levels, z);
}

/* One step's update of a range of parameters: Adam, then the EMA of the new weights
 * (ema = r ema + (1 - r) model), each element its own (the bits of one thread whatever
 * the split). Called by the blocked loss and gradient on each thread's own parameters as
 * they become final (ncsn_dsm_loss_grad_update), else over ncsn_model_each_owned. */
typedef struct {
    ncsn_adam *adam;
    ncsn_adam_coef coef;
    float *params, *grad, *ema;
    float r, q;
} step_job;

static void step_range(size_t start, size_t count, void *user) {
    step_job *j = user;
    ncsn_adam_update(j->adam, &j->coef, j->params, j->grad, start, count);
    if (j->ema)
        for (size_t k = start; k < start + count; k++)
            j->ema[k] = j->r * j->ema[k] + j->q * j->params[k];
}

/* The step's draws and its loss and gradient (ncsn_dsm_team's pieces) on the calling team,
 * or on this thread outside any parallel region: one thread draws the levels and
 * classifies them while the others draw the noise, by groups of any order and thread (each
 * its own counters: the same bits). The batch is the data's rows at t->perm + t->pos.
 * Returns the mean loss on every thread. */
static double step_on_team(ncsn_trainer *t, uint32_t step, int bsz, ncsn_param_update *update) {
#pragma omp master
    {
        draw_levels(t->k_level, step, bsz, t->L, t->levels);
        ncsn_dsm_team_classes(&t->work, t->model, bsz, t->levels, t->sig);
    }
    /* (its barrier publishes the levels and classes too) */
    draw_noise_groups(t->k_noise, step, bsz, t->model->D, t->zb);
    return ncsn_dsm_team_loss_grad(t->model, t->x, t->perm + t->pos, bsz, t->zb, &t->grad,
                                   &t->work, update);
}

/* The step's batch of bsz at t->pos, its draws, the loss (returned) and its gradient, with
 * update (ncsn_dsm_loss_grad_update): on one team where the loss takes one (step_on_team),
 * else one thing after another. */
static double step_loss(ncsn_trainer *t, uint32_t step, int bsz, ncsn_param_update *update) {
    const int D = t->model->D, team = ncsn_dsm_team(&t->work, t->model, bsz);
    if (team == 2) {
        double loss = 0;
#pragma omp parallel
        {
            const double l = step_on_team(t, step, bsz, update);
#pragma omp master
            loss = l;
        }
        return loss;
    }
    if (team == 1) return step_on_team(t, step, bsz, update);
    for (int b = 0; b < bsz; b++)
        memcpy(t->xb + (size_t)b * D, t->x + (size_t)t->perm[t->pos + b] * D, sizeof(float) * D);
    draw_batch(t->k_level, t->k_noise, step, bsz, t->L, D, t->levels, t->zb);
    return ncsn_dsm_loss_grad_update(t->model, t->xb, bsz, t->levels, t->sig, t->zb, &t->grad,
                                     &t->work, update);
}

/* W_2's layout in the arrays the trainer updates (model.h, ncsn_model_w2_layout): by unit
 * while ncsn_trainer_run runs, where the blocked kernels take it so (t->work.w2_by_unit),
 * as PyTorch holds it between runs, when the caller reads or restores them. */
static void trainer_w2_layout(ncsn_trainer *t, int by_unit) {
    if (!t->work.w2_by_unit) return;
    ncsn_model_w2_layout(t->model, t->model->params, by_unit);
    if (t->ema) ncsn_model_w2_layout(t->model, t->ema->params, by_unit);
    ncsn_model_w2_layout(t->model, t->adam.m, by_unit);
    ncsn_model_w2_layout(t->model, t->adam.v, by_unit);
}

void ncsn_trainer_init(ncsn_trainer *t, const ncsn_config *cfg, uint32_t config_id,
                       const double *sigmas, int L, const float *x, int n, ncsn_model *model,
                       ncsn_model *ema) {
    memset(t, 0, sizeof *t);
    const int D = model->D, B = cfg->train.batch;
    t->cfg = cfg;
    t->config_id = config_id;
    t->x = x;
    t->n = n;
    t->L = L;
    t->model = model;
    t->ema = ema;
    t->k_shuffle = ncsn_rng_key(cfg->seed, config_id, NCSN_RNG_SHUFFLE);
    t->k_level = ncsn_rng_key(cfg->seed, config_id, NCSN_RNG_TRAIN_LEVEL);
    t->k_noise = ncsn_rng_key(cfg->seed, config_id, NCSN_RNG_TRAIN_NOISE);
    t->sig = ncsn_xmalloc(sizeof(float) * (size_t)L);
    for (int i = 0; i < L; i++) t->sig[i] = (float)sigmas[i];
    t->perm = ncsn_xmalloc(sizeof(int) * (size_t)n);
    t->levels = ncsn_xmalloc(sizeof(int) * (size_t)B);
    t->xb = ncsn_xmalloc(sizeof(float) * (size_t)B * D);
    t->zb = ncsn_xmalloc(sizeof(float) * (size_t)B * D);
    ncsn_isa(); /* decided before any thread draws */
    t->gblock = ncsn_xcalloc_lines(model->n_params, sizeof(float));
    ncsn_model_view(model, t->gblock, &t->grad);
    ncsn_dsm_work_alloc(&t->work, model, B);
    t->work.w2_by_unit = t->work.blocked;
    ncsn_adam_init(&t->adam, model->n_params, cfg->train.lr, cfg->train.weight_decay);
    if (ema) ncsn_model_copy(model, ema);
    ncsn_snapshots_alloc(&t->snaps, cfg->train.steps, cfg->train.snapshot_every,
                         model->n_params, ema != NULL);
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
    ncsn_snapshots_free(&t->snaps);
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
    const int B = cfg->train.batch, n = t->n;
    const int64_t steps = cfg->train.steps;
    if (until > steps) until = steps;
    ncsn_train_log *log = &t->log;
    const double t0 = ncsn_now();
    int status = 0;
    trainer_w2_layout(t, 1);
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
        const float r = (float)cfg->train.ema;
        step_job job = {&t->adam, ncsn_adam_next_coef(&t->adam), t->model->params,
                        t->grad.params, t->ema ? t->ema->params : NULL, r, 1.0f - r};
        ncsn_param_update update = {step_range, &job, 0};
        const double loss = step_loss(t, (uint32_t)step, bsz, &update);
        t->pos += bsz;
        if (!isfinite(loss)) {
            log->diverged_at = step;
            log_push(log, step + 1, (float)loss);
            log->final_loss = loss;
            status = 1;
            break;
        }
        if (!update.applied) ncsn_model_each_owned(t->model, step_range, &job);
        ncsn_adam_count(&t->adam);
        t->step = step + 1;
        log->final_loss = loss;
        if (t->step % cfg->train.log_every == 0 || t->step == steps)
            log_push(log, t->step, (float)loss);
        if (cfg->train.snapshot_every > 0 && t->step % cfg->train.snapshot_every == 0) {
            ncsn_snapshots *s = &t->snaps;
            ncsn_snapshots_push(s, t->step, t->model->params, t->ema ? t->ema->params : NULL);
            if (t->work.w2_by_unit) { /* the snapshot as PyTorch holds it */
                const size_t at = (size_t)(s->n - 1) * s->n_params;
                ncsn_model_w2_layout(t->model, s->model + at, 0);
                if (s->ema) ncsn_model_w2_layout(t->model, s->ema + at, 0);
            }
        }
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
    trainer_w2_layout(t, 0);
    log->seconds += ncsn_now() - t0;
    return status;
}

int ncsn_train(const ncsn_config *cfg, uint32_t config_id, const double *sigmas, int L,
               const float *x, int n, ncsn_model *model, ncsn_model *ema, ncsn_train_log *log,
               ncsn_progress_fn progress, void *user) {
    ncsn_trainer t;
    ncsn_trainer_init(&t, cfg, config_id, sigmas, L, x, n, model, ema);
    const int status = ncsn_trainer_run(&t, cfg->train.steps, progress, user);
    *log = t.log; /* the caller frees it */
    ncsn_trainer_free(&t);
    return status;
}
