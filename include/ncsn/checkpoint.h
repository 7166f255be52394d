/* checkpoint.h: the checkpoint of a run in flight (checkpoint_version 1; io/checkpoint.c),
 * from which the run continues with exactly the results of an uninterrupted run. Written
 * atomically like the run file (io.h); every dataset carries a Fletcher-32 checksum, so
 * a damaged file is refused rather than resumed from:
 *   root attributes   checkpoint_version, ncsn_version, phase ("train" | "sample"),
 *                     config_yaml (ncsn_config_results_yaml: a checkpoint only resumes
 *                     the same configuration)
 *   /counters         (7) int64: step, epoch, pos, adam_t, level, steps (train.steps),
 *                     levels (the sampler's: L, or 1 for plain)
 *   /reals            (3) float64: train_seconds, sample_seconds, final_loss
 *   /model, /ema      (n_params) float32: the weights block (ema only with train.ema > 0)
 *   /adam_m, /adam_v  (n_params) float32: Adam's moments (phase train)
 *   /loss_step, /loss the loss history so far
 *   /samples          (n, D) float32: the chains after `level` levels (phase sample)
 *   /snap_step, /snap_model, /snap_ema   with train.snapshot_every > 0: the snapshots
 *                     so far, (S) int64 and (S * n_params) float32 each (train.h) */
#ifndef NCSN_CHECKPOINT_H
#define NCSN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/train.h"

#define NCSN_CHECKPOINT_VERSION 1
enum ncsn_checkpoint_phase { NCSN_CHECKPOINT_TRAIN = 0, NCSN_CHECKPOINT_SAMPLE = 1 };

typedef struct {
    int phase;                 /* enum ncsn_checkpoint_phase */
    int64_t step;              /* training steps taken */
    uint32_t epoch;            /* the batch order's place (ncsn_trainer) */
    int pos;
    int64_t adam_t;            /* Adam's step count (= step) */
    int level;                 /* sampling levels done (phase sample) */
    int64_t steps;             /* the run's training steps (train.steps) */
    int levels;                /* the sampler's levels (ncsn_plan_levels) */
    double train_seconds, sample_seconds; /* spent so far */
    double final_loss;         /* the last step's loss */
    size_t n_params;
    float *model, *ema;        /* (n_params); ema NULL without train.ema */
    float *adam_m, *adam_v;    /* (n_params); phase train */
    int64_t *loss_step;        /* (n_loss) */
    float *loss;               /* (n_loss) */
    int n_loss;
    float *samples;            /* (n, D); phase sample */
    int n, D;
    ncsn_snapshots snaps;      /* written from (borrowed), read into (owned) */
} ncsn_checkpoint;

/* Writes ck (its arrays are borrowed) as the checkpoint of configuration cfg. */
int ncsn_checkpoint_write(const char *path, const ncsn_config *cfg, const ncsn_checkpoint *ck,
                          ncsn_error *err);
/* Reads a checkpoint of configuration cfg (a model of n_params parameters), checking the
 * configuration, every shape and range, and the checksums; ck's arrays are allocated
 * (free with ncsn_checkpoint_free). Fails, with the reason, on anything else. */
int ncsn_checkpoint_read(const char *path, const ncsn_config *cfg, size_t n_params,
                         ncsn_checkpoint *ck, ncsn_error *err);
/* Reads a training-phase checkpoint written when a shorter training of cfg's model ended
 * (a halving sweep's training state): its configuration has cfg's training streams
 * (NCSN_PART_STREAMS), seed, train.log_every and train.snapshot_every, and at most cfg's
 * train.steps, and it was taken at its last step; its sample.* keys may differ. ck->steps is
 * that training's train.steps. Fails, with the reason, on anything else. */
int ncsn_checkpoint_read_start(const char *path, const ncsn_config *cfg, size_t n_params,
                               ncsn_checkpoint *ck, ncsn_error *err);
void ncsn_checkpoint_free(ncsn_checkpoint *ck);
/* How far the run of a checkpoint got, without checking its configuration: the fraction
 * of its training steps and of its sampling levels done (each in [0, 1]). For planning
 * (a sweep's deadline); -1 when the file is not a readable checkpoint. */
int ncsn_checkpoint_progress(const char *path, double *train_done, double *sample_done);

#endif
