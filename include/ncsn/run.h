/* run.h: one run end to end: data, resolve "auto" values, train, sample, measure, write.
 *   ncsn_training_set   the configured data set and its dataset.n training points
 *   ncsn_run            what `ncsn run` does
 *   ncsn_resample       what `ncsn sample` does: new samples from a run file's model
 *   ncsn_progress_stderr  the progress printer both use (key=value lines with rate, ETA),
 *                         to the FILE * in user, or stderr when user is NULL */
#ifndef NCSN_RUN_H
#define NCSN_RUN_H

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/train.h"

typedef struct {
    int quiet;               /* no progress at all */
    uint32_t config_index;   /* the configuration's index in a sweep (0 for a single run) */
    ncsn_progress_fn progress; /* where progress goes; NULL: ncsn_progress_stderr */
    void *progress_user;
    FILE *log;               /* the closing summary line; NULL: stderr */
} ncsn_run_options;

/* g gets the mixture; *x (n, D) the training points, drawn with key
 * (seed, config_index, NCSN_RNG_TRAIN_DATA). Free with free() and ncsn_gmm_free(). */
int ncsn_training_set(const ncsn_config *c, uint32_t config_index, ncsn_gmm *g, float **x,
                      ncsn_error *err);

/* Returns NCSN_EXIT_OK, NCSN_EXIT_USAGE (configuration error) or NCSN_EXIT_RUNTIME
 * (including a run that diverged: its file is still written, with status "diverged"). */
int ncsn_run(const ncsn_config *c, const char *out_path, const ncsn_run_options *opt,
             ncsn_error *err);

/* New samples from a run file's trained model under c (its sample.* keys may differ from
 * the file's); the loss history and training time are carried over. Same return codes. */
int ncsn_resample(const char *in_path, const ncsn_config *c, const char *out_path,
                  const ncsn_run_options *opt, ncsn_error *err);

/* The configuration stored in a run file (for overriding before ncsn_resample). */
int ncsn_run_file_config(const char *in_path, ncsn_config *c, ncsn_error *err);

void ncsn_progress_stderr(const char *phase, int64_t done, int64_t total, double rate,
                          const char *extra, void *user);

#endif
