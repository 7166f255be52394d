/* run.h: one run end to end: the run plan (plan.h: data, "auto" values), train, sample,
 * measure, write.
 *   ncsn_run            what `ncsn run` does; ncsn_run_outcome: the same, saying how it ended
 *   ncsn_resample       what `ncsn sample` does: new samples from a run file's model
 *   ncsn_sample_model   a sweep's sampling job: a run from another run file's model
 *   ncsn_outcome_exit, ncsn_outcome_status   an outcome's exit code and run file status
 *   ncsn_trainer_checkpoint / _restore  a training loop's state to and from a checkpoint
 *   ncsn_progress_stderr  the progress printer both use (key=value lines with rate, ETA),
 *                         to the FILE * in user, or stderr when user is NULL */
#ifndef NCSN_RUN_H
#define NCSN_RUN_H

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/dataset.h"
#include "ncsn/io.h"
#include "ncsn/plan.h"
#include "ncsn/train.h"

typedef struct {
    int quiet;               /* no progress at all */
    ncsn_progress_fn progress; /* where progress goes; NULL: ncsn_progress_stderr */
    void *progress_user;
    FILE *log;               /* the closing summary line and notes; NULL: stderr */
    /* ncsn_run: where the run's checkpoint lives (io.h), or NULL for none. An existing
     * checkpoint of the same configuration is resumed from (an unreadable or different
     * one is reported and ignored); one is written when a stop signal stops the run, and
     * every train.checkpoint_every steps and sample.checkpoint_every levels; it is removed
     * once the run file is written. */
    const char *checkpoint;
    /* Successive halving (docs/cluster.md): a training state (checkpoint.h,
     * ncsn_checkpoint_read_start) written at the end of a shorter training of this run's
     * model, which training continues from when there is no checkpoint to resume; the run
     * file is bit for bit the one a training from step 0 writes, times aside. One that is
     * missing or not such a state is reported in the log and ignored (training starts at
     * step 0). NULL: none. */
    const char *train_from;
    /* Where to write the training state once training has run its steps (NULL: nowhere). */
    const char *train_state_out;
} ncsn_run_options;

/* How a run ended. */
typedef enum {
    NCSN_OUTCOME_COMPLETE = 0,  /* run file written, status "complete" */
    NCSN_OUTCOME_DIVERGED,      /* run file written, status "diverged": training's loss
                                   became non-finite, sampling was skipped */
    NCSN_OUTCOME_BAD_SAMPLES,   /* run file written, status "bad_samples": more bad samples
                                   than sample.max_bad_fraction allows */
    NCSN_OUTCOME_CONFIG_ERROR,  /* a configuration or data error: nothing computed */
    NCSN_OUTCOME_FAILED,        /* no run file: an input could not be read, or the output
                                   not written */
    NCSN_OUTCOME_INTERRUPTED,   /* a stop signal (common.h): no run file, the state in the
                                   checkpoint (if set) */
} ncsn_outcome;

/* NCSN_EXIT_OK (complete), NCSN_EXIT_USAGE (configuration error), NCSN_EXIT_INTERRUPTED,
 * or NCSN_EXIT_RUNTIME (the rest). */
int ncsn_outcome_exit(ncsn_outcome o);
/* The status a run file records ("complete", "diverged", "bad_samples"); "failed"
 * when there is no run file, "interrupted" for a stop. */
const char *ncsn_outcome_status(ncsn_outcome o);

/* Returns ncsn_outcome_exit of how the run ended: NCSN_EXIT_OK, NCSN_EXIT_USAGE
 * (configuration error), NCSN_EXIT_RUNTIME (including a run that diverged: its file is
 * still written, with status "diverged"), or NCSN_EXIT_INTERRUPTED when a stop signal
 * (common.h) stopped training or sampling: no run file is written, the state goes to
 * opt->checkpoint (if set), and err says which signal and where the state is. c must
 * have passed ncsn_config_validate. */
int ncsn_run(const ncsn_config *c, const char *out_path, const ncsn_run_options *opt,
             ncsn_error *err);
ncsn_outcome ncsn_run_outcome(const ncsn_config *c, const char *out_path,
                              const ncsn_run_options *opt, ncsn_error *err);

/* New samples from a run file's trained model under c (its sample.* keys may differ from
 * the file's); the loss history and training time are carried over. Same return codes.
 * Checkpointed and resumed like a run's sampling (opt->checkpoint: a sampling-phase
 * checkpoint of c); not for a file of the exact score, which has no network to store. */
int ncsn_resample(const char *in_path, const ncsn_config *c, const char *out_path,
                  const ncsn_run_options *opt, ncsn_error *err);

/* A sweep's sampling job (sweep/runner.c): c (whose training keys and seed are those of
 * model_path's run, and whose sample.* keys may differ) sampled from model_path's trained
 * model, written to out_path bit for bit as ncsn_run of c writes it, times aside: no
 * provenance is carried over from model_path (c's own "auto" values say where its values
 * come from), and a sampling-phase checkpoint at opt->checkpoint is continued from. How it
 * ended, as ncsn_run_outcome (FAILED when model_path cannot be read). */
ncsn_outcome ncsn_sample_model(const char *model_path, const ncsn_config *c,
                               const char *out_path, const ncsn_run_options *opt,
                               ncsn_error *err);

/* The configuration stored in a run file (for overriding before ncsn_resample). */
int ncsn_run_file_config(const char *in_path, ncsn_config *c, ncsn_error *err);

/* A training-phase checkpoint (io.h) of t's whole state; its arrays are t's (borrowed). */
void ncsn_trainer_checkpoint(const ncsn_trainer *t, ncsn_checkpoint *ck);
/* Puts a training-phase checkpoint's state into t, just initialised with the same run
 * (ck's loss history moves into t), ready to continue where the checkpoint was taken; ck may
 * be the state at the end of a shorter training of the same model
 * (ncsn_checkpoint_read_start): its last loss entry, logged only because that training
 * ended there, is dropped, and its snapshots make room for the longer training's. */
void ncsn_trainer_restore(ncsn_trainer *t, ncsn_checkpoint *ck);

void ncsn_progress_stderr(const char *phase, int64_t done, int64_t total, double rate,
                          const char *extra, void *user);

#endif
