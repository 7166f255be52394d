/* io.h: the run file, one HDF5 file per run (format_version 1), and the checkpoint of a
 * run in flight (below).
 *   /samples                 (n, D) float32
 *   /train/step, /train/loss (n_loss) int64, float32: the loss history
 *   /noise/sigmas            (L) float64: the noise levels used
 *   /model/<layer>/weight, /model/<layer>/bias   PyTorch names and shapes, float32
 *   /metrics/<name>          scalars (float64); mode_weights (K), score_error (L)
 *   /config                  group whose attributes are every resolved configuration value,
 *                            "origins", and the provenance of the techniques' values:
 *                            sigma_1_source ("explicit" | "technique1"), L_source
 *                            ("explicit" | "technique2"), eps_source ("explicit" |
 *                            "technique3"); gamma, the realised ratio of the levels
 *                            (sigma_1/sigma_L)^(1/(L-1)); eps_paper = sample.eps / 2, the
 *                            same step in the paper's convention x += eps s + sqrt(2 eps) z
 *                            (SPEC.md section 6; sample.eps is the sampler's, section 4)
 *   root attributes          format_version, ncsn_version, git_commit, status ("complete"),
 *                            config_yaml, created (ISO 8601 UTC)
 * The file is written to "<path>.tmp.<pid>" and renamed into place when complete, so a
 * reader never sees a half-written file under the final name.
 *   ncsn_run_file_write      write a run file
 *   ncsn_run_file_check_writable  can a run file be written there? (before any work)
 *   ncsn_run_file_read       read config and model back (for `ncsn sample`), checking
 *                            format_version and status */
#ifndef NCSN_IO_H
#define NCSN_IO_H

#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"

#define NCSN_FORMAT_VERSION 1

typedef struct {
    const ncsn_config *cfg;     /* resolved configuration */
    const ncsn_model *model;    /* the weights the sampler used (EMA copy when train.ema > 0) */
    const double *sigmas;       /* (L) */
    int L;
    const float *samples;       /* (n, D) */
    int n, D;
    const int64_t *loss_step;   /* (n_loss) */
    const float *loss;          /* (n_loss) */
    int n_loss;
    const ncsn_metrics *metrics;
    const char *status;         /* "complete", or e.g. "diverged" */
    /* Provenance of noise.sigma_1, noise.L, sample.eps ("explicit", "technique1", ...);
     * NULL: read off cfg's *_auto flags (ncsn_config_sigma_1_source, ...). */
    const char *sigma_1_source, *L_source, *eps_source;
} ncsn_run_output;

int ncsn_run_file_write(const char *path, const ncsn_run_output *r, ncsn_error *err);

/* Before any work: fails, with the reason, when path is empty or a directory, or when a
 * file cannot be created beside it (missing directory, no permission). */
int ncsn_run_file_check_writable(const char *path, ncsn_error *err);

/* What ncsn_run_file_read gives back; free with ncsn_run_input_free. */
typedef struct {
    ncsn_config cfg;        /* parsed from config_yaml */
    ncsn_model model;       /* allocated and filled from /model */
    int64_t *loss_step;     /* (n_loss) */
    float *loss;            /* (n_loss) */
    int n_loss;
    double train_seconds, final_loss;
    /* /config's sigma_1_source, L_source, eps_source; "" in files written before them. */
    char sigma_1_source[16], L_source[16], eps_source[16];
} ncsn_run_input;

int ncsn_run_file_read(const char *path, ncsn_run_input *in, ncsn_error *err);
void ncsn_run_input_free(ncsn_run_input *in);

/* The checkpoint of a run in flight (checkpoint_version 1), from which the run continues
 * with exactly the results of an uninterrupted run. Written atomically like the run file;
 * every dataset carries a Fletcher-32 checksum, so a damaged file is refused rather than
 * resumed from:
 *   root attributes   checkpoint_version, ncsn_version, phase ("train" | "sample"),
 *                     config_yaml (ncsn_config_results_yaml: a checkpoint only resumes
 *                     the same configuration)
 *   /counters         (7) int64: step, epoch, pos, adam_t, level, steps (train.steps),
 *                     levels (the sampler's: L, or 1 for plain)
 *   /reals            (3) float64: train_seconds, sample_seconds, final_loss
 *   /model, /ema      (n_params) float32: the weights block (ema only with train.ema > 0)
 *   /adam_m, /adam_v  (n_params) float32: Adam's moments (phase train)
 *   /loss_step, /loss the loss history so far
 *   /samples          (n, D) float32: the chains after `level` levels (phase sample) */
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
    int levels;                /* the sampler's levels (ncsn_sampler_levels) */
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
} ncsn_checkpoint;

/* Writes ck (its arrays are borrowed) as the checkpoint of configuration cfg. */
int ncsn_checkpoint_write(const char *path, const ncsn_config *cfg, const ncsn_checkpoint *ck,
                          ncsn_error *err);
/* Reads a checkpoint of configuration cfg (a model of n_params parameters), checking the
 * configuration, every shape and range, and the checksums; ck's arrays are allocated
 * (free with ncsn_checkpoint_free). Fails, with the reason, on anything else. */
int ncsn_checkpoint_read(const char *path, const ncsn_config *cfg, size_t n_params,
                         ncsn_checkpoint *ck, ncsn_error *err);
void ncsn_checkpoint_free(ncsn_checkpoint *ck);
/* How far the run of a checkpoint got, without checking its configuration: the fraction
 * of its training steps and of its sampling levels done (each in [0, 1]). For planning
 * (a sweep's deadline); -1 when the file is not a readable checkpoint. */
int ncsn_checkpoint_progress(const char *path, double *train_done, double *sample_done);

#endif
