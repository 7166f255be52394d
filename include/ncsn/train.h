/* train.h: denoising score matching with Adam (docs/computation.md, Training
 * objective; Adam and EMA).
 * For each example: a level i uniform in 1..L, z ~ N(0, I), x' = x + sigma_i z,
 * loss = 1/2 |sigma_i s(x', sigma_i) + z|^2; the batch loss is the mean over the batch.
 * Batches walk through a fresh permutation of the training set each epoch (the last batch
 * of an epoch is smaller when batch does not divide n, like PyTorch's DataLoader).
 * Every gradient sum runs in an order fixed by the batch alone (see ncsn_dsm_loss_grad),
 * never by the thread count: results are the same for any number of threads.
 *   ncsn_dsm_loss_grad   loss and gradient of one batch (also used by the gradient checks)
 *   ncsn_adam_*          torch.optim.Adam, weight decay added to the gradient
 *   ncsn_train           the whole training loop */
#ifndef NCSN_TRAIN_H
#define NCSN_TRAIN_H

#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"

#define NCSN_SHARD 16

/* Scratch for the loss and gradient: per-shard buffers for the reference path, and the
 * fast path's per-example and per-class tables (see ncsn_dsm_loss_grad).
 * W_2's layout (model.h, ncsn_model_w2_layout): the model, the gradient and the update's
 * arrays hold it (D, H) with w2_by_unit 0 (ncsn_dsm_work_alloc's), or (H, D) with 1. The
 * blocked kernels (blocked) compute in (H, D), every other path in (D, H); a model in the
 * other layout goes through a copy in it (other), and the gradient comes back in the
 * caller's. The trainer sets w2_by_unit = blocked and keeps its arrays so while it trains. */
typedef struct {
    int n_shards;      /* buffers for up to n_shards * NCSN_SHARD examples */
    float *grads;      /* (n_shards, n_params) */
    double *losses;    /* (n_shards) */
    ncsn_acts *acts;   /* (threads) */
    float *xz;         /* (threads, 2 * D): x' and z of the current example */
    int n_threads;
    int max_batch;
    void *fast;        /* the fast path's tables (dsm_fast.c) */
    int blocked;       /* 1: the fast path takes the blocked kernels (dsm_gemm.c) */
    int w2_by_unit;    /* the caller's layout of W_2, 0 or 1 */
    ncsn_model other;  /* the model with W_2 in the other layout (allocated when first used) */
} ncsn_dsm_work;

void ncsn_dsm_work_alloc(ncsn_dsm_work *w, const ncsn_model *m, int max_batch);
void ncsn_dsm_work_free(ncsn_dsm_work *w);

/* Mean DSM loss of a batch of B examples x (B, D). Example b uses level levels[b] (0-based
 * index into sigmas) and noise z (B, D). grad (a view of n_params floats) is overwritten
 * with the gradient of the mean loss.
 *
 * How (docs/computation.md, Score network, the per-level bias taken one step further): the
 * embedding's input t is a scalar and each of its E hidden units is active on a half-line of
 * t, so its ReLU pattern, the example's "class", takes at most E + 1 values, and within one
 * class the embedding is affine in t: e = t u_k + v_k, hence W_1 [x; e] + b_1 = W_1x x + t
 * A_k + B_k. The forward pass needs A_k, B_k once per class, and the backward pass only the
 * per-class sums P_k = sum t dz1, Q_k = sum dz1 over the examples, from which every embedding
 * gradient follows exactly (W_1e: sum_k P_k u_k' + Q_k v_k'; the rest through W_1e' P_k,
 * W_1e' Q_k). Per example remain the H x D products. Up to D = 6 (E and H multiples of 8) its
 * own kernels do them, vectorised over H: over examples in (class, index) order for one
 * hidden unit at a time, the hidden units split between threads; over H in 8 fixed partial
 * sums. At any other D or width the blocked products of gemm.h do (train/dsm_gemm.c,
 * docs/performance.md): every sum one chain of fused multiply-adds in a fixed order, sums
 * over hidden units per fixed block of units. Either way the result is the same for any
 * number of threads and on every instruction set. E > 32 takes the reference path. */
double ncsn_dsm_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                          const float *sigmas, const float *z, ncsn_model *grad,
                          ncsn_dsm_work *w);

/* One step's draws (docs/computation.md, Reproducibility), as the trainer makes them: example
 * b's level levels[b] in 0..L-1 from word 0 of counter (step, b, 0, 0) under k_level, as
 * ncsn_rng_uniform4's first number times L; its noise z (bsz, D), coordinates 4c .. 4c+3
 * those of ncsn_rng_normal4_poly(k_noise, step, b, c). */
void ncsn_train_draws(ncsn_key k_level, ncsn_key k_noise, uint32_t step, int bsz, int L, int D,
                      int *levels, float *z);

/* An update of the parameters [start, start + count) from their gradient, elementwise (the
 * trainer's Adam and EMA step). */
typedef struct {
    void (*fn)(size_t start, size_t count, void *user);
    void *user;
    int applied; /* out: 1 when every parameter went through fn during the call */
} ncsn_param_update;

/* ncsn_dsm_loss_grad, and where the blocked products run on the caller's model itself
 * (w2_by_unit set; docs/performance.md, Training at any D) and the loss is finite,
 * update->fn on every parameter once: on each thread's own parameters as soon as their
 * gradient is final and the step reads their values no more, while they are still in that
 * thread's cache. Elsewhere update->applied stays 0 and the caller updates. The bits are
 * those of ncsn_dsm_loss_grad and then update. */
double ncsn_dsm_loss_grad_update(const ncsn_model *m, const float *x, int B, const int *levels,
                                 const float *sigmas, const float *z, ncsn_model *grad,
                                 ncsn_dsm_work *w, ncsn_param_update *update);

/* The same in pieces, for a caller that runs the step's other work (the trainer's draws)
 * on the team the products run on, with no second fork and join, and whose examples are
 * rows of its data (example b is row rows[b] of data: no copy of the batch).
 * ncsn_dsm_team(w, m, B): 0 where these do not apply (call ncsn_dsm_loss_grad_update);
 * else they take the blocked products on the caller's model (w->w2_by_unit set), inside
 * a parallel region where it returns 2, outside any where 1. Then one thread calls
 * ncsn_dsm_team_classes once the levels are drawn, and after a barrier every thread calls
 * ncsn_dsm_team_loss_grad, which returns the mean loss on each. The bits and the update
 * are those of ncsn_dsm_loss_grad_update. */
int ncsn_dsm_team(const ncsn_dsm_work *w, const ncsn_model *m, int B);
void ncsn_dsm_team_classes(ncsn_dsm_work *w, const ncsn_model *m, int B, const int *levels,
                           const float *sigmas);
double ncsn_dsm_team_loss_grad(const ncsn_model *m, const float *data, const int *rows, int B,
                               const float *z, ncsn_model *grad, ncsn_dsm_work *w,
                               ncsn_param_update *update);

/* The same loss and gradient by the straightforward path: one example at a time through
 * ncsn_model_forward / _backward, summed per shard. Slower; kept as the reference that
 * tests and `ncsn bench` compare the fast path with (equal up to float rounding). W_2 in
 * (D, H) whatever w->w2_by_unit says. */
double ncsn_dsm_loss_grad_reference(const ncsn_model *m, const float *x, int B,
                                    const int *levels, const float *sigmas, const float *z,
                                    ncsn_model *grad, ncsn_dsm_work *w);

/* Adam (torch.optim.Adam semantics). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t t;   /* steps taken */
    size_t n;
    float *m, *v; /* (n) first and second moments */
} ncsn_adam;

void ncsn_adam_init(ncsn_adam *a, size_t n, double lr, double weight_decay);
void ncsn_adam_free(ncsn_adam *a);

/* One step in pieces: the coefficients of step a->t + 1, the update of any ranges (each
 * element its own, so any split and order give the same bits; grad gains the weight
 * decay), then the step counted. */
typedef struct {
    float step_size, bc2_sqrt, b1, b2, eps, wd;
    float inv_bc2_sqrt; /* 1 / bc2_sqrt rounded to nearest: the division by bc2_sqrt without
                           the divider (adam.c) */
} ncsn_adam_coef;
ncsn_adam_coef ncsn_adam_next_coef(const ncsn_adam *a);
void ncsn_adam_update(ncsn_adam *a, const ncsn_adam_coef *c, float *params, float *grad,
                      size_t start, size_t count);
void ncsn_adam_count(ncsn_adam *a);

/* params -= Adam update for grad (both n floats). grad is modified (weight decay added). */
void ncsn_adam_step(ncsn_adam *a, float *params, float *grad);

/* Progress reporting: called about once a second and at the end. */
typedef void (*ncsn_progress_fn)(const char *phase, int64_t done, int64_t total, double rate,
                                 const char *extra, void *user);

typedef struct {
    int64_t *step;     /* (n) */
    float *loss;       /* (n) */
    int n, cap;
    double final_loss; /* loss of the last step */
    double seconds;
    int64_t diverged_at; /* -1, or the step whose loss was not finite */
} ncsn_train_log;

void ncsn_train_log_free(ncsn_train_log *log);

/* Snapshots (train/snapshots.c; docs/computation.md, snapshots): the weights, and their EMA
 * copy, after every train.snapshot_every steps, so a run can be sampled at any of those
 * points of its training (sample.snapshot). Sized once for train.steps / snapshot_every. */
typedef struct {
    int n, n_max;      /* kept so far, and room */
    size_t n_params;
    int64_t *step;     /* (n_max) the step after which each was taken */
    float *model;      /* (n_max, n_params) */
    float *ema;        /* (n_max, n_params), or NULL without train.ema */
} ncsn_snapshots;

/* Room for every snapshot of a training of `steps` steps (none when every is 0). */
void ncsn_snapshots_alloc(ncsn_snapshots *s, int64_t steps, int64_t every, size_t n_params,
                          int with_ema);
/* Keeps model (and ema, when s has room for it) as the snapshot of step. */
void ncsn_snapshots_push(ncsn_snapshots *s, int64_t step, const float *model, const float *ema);
/* The index of step's snapshot, or -1. */
int ncsn_snapshots_find(const ncsn_snapshots *s, int64_t step);
void ncsn_snapshots_free(ncsn_snapshots *s); /* safe on zeroed */

/* The training loop as an object whose state a checkpoint can hold and restore, so a run
 * stopped at step k and resumed computes exactly what an uninterrupted run computes:
 * step k + 1 draws from counters indexed by the step alone, and the batch order follows
 * the epoch's permutation, regenerated from its counters. */
typedef struct {
    /* the run: set by ncsn_trainer_init, not owned */
    const ncsn_config *cfg;
    uint32_t config_id;       /* the streams id (plan.h train_id): part of every key */
    const float *x;          /* (n, D) training points */
    int n, L;
    ncsn_model *model;       /* trained in place */
    ncsn_model *ema;         /* the EMA weights (allocated like model), or NULL */
    /* the state a checkpoint holds (with model's and ema's weights) */
    int64_t step;            /* steps taken */
    uint32_t epoch;          /* permutations drawn; the current one is epoch - 1's */
    int pos;                 /* examples of the current permutation used (n: none left) */
    ncsn_adam adam;          /* moments and step count */
    ncsn_train_log log;      /* loss history; seconds accumulates over resumed pieces */
    ncsn_snapshots snaps;    /* every train.snapshot_every steps (owned; ncsn_trainer_free
                                frees them unless the caller took them) */
    /* scratch, and progress of this process */
    ncsn_key k_shuffle, k_level, k_noise;
    float *sig;              /* (L) */
    int *perm;               /* (n) */
    int *levels;             /* (batch) */
    float *xb, *zb;          /* (batch, D): the batch (copied only where the steps are not
                                in one piece, ncsn_dsm_team) and its noise, by example */
    float *gblock;           /* (n_params) */
    ncsn_model grad;
    ncsn_dsm_work work;
    double t_start, last_report;
    int64_t step_start;
} ncsn_trainer;

/* Ready to take step 0: ema (if not NULL) becomes a copy of model, Adam's moments zero.
 * Keys come from (cfg->seed, config_id, purpose): config_id is the training key's id
 * (plan.h, train_id; config.h, NCSN_PART_STREAMS). */
void ncsn_trainer_init(ncsn_trainer *t, const ncsn_config *cfg, uint32_t config_id,
                       const double *sigmas, int L, const float *x, int n, ncsn_model *model,
                       ncsn_model *ema);
/* After the caller has put a checkpoint's weights, EMA, Adam moments (adam.m, adam.v,
 * adam.t) and log into t: continue at step `step` of epoch `epoch` (pos examples used). */
void ncsn_trainer_resume(ncsn_trainer *t, int64_t step, uint32_t epoch, int pos);
/* Takes steps until t->step == until (at most cfg->train.steps). Returns 0, or 1 when the
 * loss became non-finite (t->log.diverged_at says when; the step is not applied), or 2
 * when ncsn_stop_requested() (common.h; checked before every step): t then holds the
 * state after t->step steps, ready for a checkpoint. While it runs, W_2 in the weights,
 * the EMA copy and Adam's moments may be held by unit (work.w2_by_unit; model.h,
 * ncsn_model_w2_layout); before it returns, and in every snapshot, as PyTorch holds it. */
int ncsn_trainer_run(ncsn_trainer *t, int64_t until, ncsn_progress_fn progress, void *user);
/* Frees the scratch and Adam's moments; t->log stays (free it with ncsn_train_log_free). */
void ncsn_trainer_free(ncsn_trainer *t);

/* The whole loop in one call: trains model (already initialised) on x (n, D); ema, if not
 * NULL, is allocated like model and receives the EMA weights (rate cfg->train.ema > 0).
 * Returns as ncsn_trainer_run does (2: stopped early, the model is not the trained one). */
int ncsn_train(const ncsn_config *cfg, uint32_t config_id, const double *sigmas, int L,
               const float *x, int n, ncsn_model *model, ncsn_model *ema, ncsn_train_log *log,
               ncsn_progress_fn progress, void *user);

#endif
