/* run.h: one run end to end: data, resolve "auto" values, train, sample, measure, write.
 *   ncsn_training_set   the configured data set and its dataset.n training points
 *   ncsn_run            what `ncsn run` does
 *   ncsn_resample       what `ncsn sample` does: new samples from a run file's model */
#ifndef NCSN_RUN_H
#define NCSN_RUN_H

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/data.h"

typedef struct {
    int quiet;            /* no progress on stderr */
    uint32_t config_index;/* the configuration's index in a sweep (0 for a single run) */
} ncsn_run_options;

/* g gets the mixture; *x (n, D) the training points, drawn with key
 * (seed, config_index, NCSN_RNG_TRAIN_DATA). Free with free() and ncsn_gmm_free(). */
int ncsn_training_set(const ncsn_config *c, uint32_t config_index, ncsn_gmm *g, float **x,
                      ncsn_error *err);

/* Returns NCSN_EXIT_OK, NCSN_EXIT_USAGE (configuration error) or NCSN_EXIT_RUNTIME. */
int ncsn_run(const ncsn_config *c, const char *out_path, const ncsn_run_options *opt,
             ncsn_error *err);

#endif
