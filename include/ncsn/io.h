/* io.h: the run file, one HDF5 file per run (format_version 1) (io/runfile.c). The
 * checkpoint of a run in flight is checkpoint.h, included here for the callers of both.
 *   /samples                 (n, D) float32
 *   /train/step, /train/loss (n_loss) int64, float32: the loss history
 *   /noise/sigmas            (L) float64: the noise levels used
 *   /model/<layer>/weight, /model/<layer>/bias   PyTorch names and shapes, float32; no
 *                            /model for sample.score exact (no network was trained), no
 *                            sigma_emb layers for model.sigma_input none
 *   /snapshots/step (S) int64, /snapshots/model and /snapshots/ema (S, n_params) float32
 *                            with train.snapshot_every: the weights block (the tensors of
 *                            /model in their order, flattened) after each S-th step
 *   /metrics/<name>          scalars (float64); n_bad and n_nonfinite (int64, metrics.h's
 *                            bad samples); mode_weights (K), score_error (L);
 *                            classifier_accuracy and train_shares (K), the truth of
 *                            mode_weights, only for data with labels
 *   /config                  group whose attributes are every resolved configuration value,
 *                            "origins", and the provenance of the techniques' values:
 *                            sigma_1_source ("explicit" | "technique1"), L_source
 *                            ("explicit" | "technique2"), eps_source ("explicit" |
 *                            "technique3"); gamma, the realised ratio of the levels
 *                            (sigma_1/sigma_L)^(1/(L-1)); eps_paper = sample.eps / 2, the
 *                            same step in the paper's convention x += eps s + sqrt(2 eps) z
 *                            (docs/computation.md, Techniques; sample.eps is the sampler's,
 *                            Samplers)
 *   root attributes          format_version, ncsn_version, git_commit, status ("complete"),
 *                            config_yaml, created (ISO 8601 UTC)
 * The file is written to "<path>.tmp.<pid>" and renamed into place when complete, so a
 * reader never sees a half-written file under the final name.
 *   ncsn_run_file_write      write a run file
 *   ncsn_run_file_check_writable  can a run file be written there? (before any work)
 *   ncsn_run_file_exists     does path hold a run file already? (`--force` overwrites it)
 *   ncsn_run_file_read       read config and model back (for `ncsn sample`), checking
 *                            format_version and status */
#ifndef NCSN_IO_H
#define NCSN_IO_H

#include <stdint.h>

#include "ncsn/checkpoint.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"
#include "ncsn/plan.h"

#define NCSN_FORMAT_VERSION 1

typedef struct {
    const ncsn_config *cfg;     /* resolved configuration */
    const ncsn_model *model;    /* the trained weights (EMA copy when train.ema > 0), whichever
                                   snapshot was sampled; NULL for the exact score */
    const ncsn_snapshots *snapshots; /* NULL or none kept: no /snapshots */
    const double *sigmas;       /* (L) */
    int L;
    const float *samples;       /* (n, D) */
    int n, D;
    const int64_t *loss_step;   /* (n_loss) */
    const float *loss;          /* (n_loss) */
    int n_loss;
    const ncsn_metrics *metrics;
    const char *status;         /* "complete", or e.g. "diverged" */
    /* The run plan's sources of noise.sigma_1, noise.L, sample.eps, gamma and eps_paper
     * (plan.h); NULL: those of cfg as it stands (ncsn_provenance_of). */
    const ncsn_provenance *provenance;
} ncsn_run_output;

int ncsn_run_file_write(const char *path, const ncsn_run_output *r, ncsn_error *err);

/* Before any work: fails, with the reason, when path is empty or a directory, or when a
 * file cannot be created beside it (missing directory, no permission). */
int ncsn_run_file_check_writable(const char *path, ncsn_error *err);

/* 1 when path is an HDF5 file with the root attributes format_version and status (a run
 * file ncsn wrote, whatever its status), else 0 (absent, not HDF5, something else). */
int ncsn_run_file_exists(const char *path);
/* 1 when path is a run file whose training finished (status "complete", or "bad_samples":
 * only its samples went wrong), so its model can be sampled again; else 0. */
int ncsn_run_file_has_model(const char *path);

/* What ncsn_run_file_read gives back; free with ncsn_run_input_free. */
typedef struct {
    ncsn_config cfg;        /* parsed from config_yaml */
    ncsn_model model;       /* allocated and filled from /model; zeroed (has_model 0) for a
                               run with sample.score exact, which trained no network */
    int has_model;
    ncsn_snapshots snapshots; /* /snapshots (train.snapshot_every > 0), else none */
    int64_t *loss_step;     /* (n_loss) */
    float *loss;            /* (n_loss) */
    int n_loss;
    double train_seconds, final_loss;
    /* /config's sigma_1_source, L_source, eps_source; "" in files written before them. */
    char sigma_1_source[16], L_source[16], eps_source[16];
} ncsn_run_input;

int ncsn_run_file_read(const char *path, ncsn_run_input *in, ncsn_error *err);
void ncsn_run_input_free(ncsn_run_input *in);

#endif
