/* sweep.h: a sweep file expanded into runs, and the runner that executes them.
 * A sweep file is a run configuration (config.h) in which any value may be a list: the
 * grid is the Cartesian product of the lists. A top-level `sweep:` block adds
 *   mode: grid | random        (default grid)
 *   trials: N                  random mode: N draws
 *   repeats: R                 R independent seeds of every configuration (default 1)
 * and, in random mode, distributions as values: {uniform: [a, b]},
 * {log_uniform: [a, b]}, {choice: [v1, v2, ...]}.
 * Every run gets a stable id ("c0003", or "c0003-r1" with repeats) and a seed: repeat r of
 * a configuration gets ncsn_sweep_seed(its seed, r), the configuration's own seed for
 * r = 0. A run is its configuration (config.h, ncsn_config_id): its random streams depend
 * on its configuration's values, seed included, never on its id or index, so a sweep's run
 * equals `ncsn run` of its configuration, and configurations that differ only in sample.*
 * keys train the same model.
 *
 * Which lists sweep (src/sweep/spec.c): a list sweeps when it nests deeper than the key's
 * own value. So any list sweeps a number or a name (lr: [1e-3, 1e-4]; auto may be one of
 * the values: eps: [0.001, auto]); dataset.weights and dataset.std sweep a list of lists
 * (weights: [[0.95, 0.05], [0.9, 0.1]]; std: [1, 2] is one value, per component, while
 * std: [[1, 1], [2, 2]] sweeps two, and std: [[0.5], [2]] sweeps one number for all
 * components); dataset.means sweeps a list of matrices. Keys in the table's order, the
 * last swept key varying fastest, then repeats. In random mode a list is a choice; every
 * trial draws each key independently with Philox, key ncsn_rng_key(seed, 0,
 * NCSN_RNG_MISC), counter (trial, key index); uniform and log_uniform take number keys
 * only (not the seed), and integer keys draw uniform among the integers a..b (integer
 * bounds required) or round the log-uniform draw. A swept `seed` gives each
 * configuration its own base seed; base_seed (and the random streams' seed) is then its
 * first value. -s KEY=VALUE overrides replace a key's value, lists and distributions
 * included (-s train.lr=[1e-3,1e-4]), or set sweep.mode / sweep.trials / sweep.repeats.
 * At most NCSN_SWEEP_MAX_RUNS runs.
 * swept_keys lists seed only when the configurations' base seeds differ (repeats' seeds
 * differ anyway). canonical leaves out origins: comments and
 * moved lines do not change it.
 *   ncsn_sweep_load      expand and validate every run, before any work
 *   ncsn_sweep_free
 *   ncsn_sweep_trainings which runs share a training: train once, sample many
 *   ncsn_cmd_sweep       `ncsn sweep` (cli.h) */
#ifndef NCSN_SWEEP_H
#define NCSN_SWEEP_H

#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"

#define NCSN_SWEEP_MAX_RUNS 100000

typedef struct {
    char id[32];          /* "c0003" or "c0003-r1" */
    char group[32];       /* the id without its repeat suffix */
    int repeat;           /* 0 .. repeats-1 */
    uint32_t index;       /* position in the expansion (shards; ties in cost) */
    ncsn_config cfg;      /* the run's configuration; cfg.seed is the repeat's seed */
    double cost;          /* work estimate: steps * batch * (D+E) * H + n * L * T * D * H */
    double train_cost;    /* its training part, steps * batch * (D+E) * H */
} ncsn_sweep_run;

typedef struct {
    int n_runs;
    ncsn_sweep_run *runs;       /* (n_runs), in expansion order */
    int n_swept;
    char **swept_keys;          /* (n_swept) dotted keys whose value varies between runs */
    uint64_t base_seed;         /* the file's seed */
    int repeats;
    char *canonical;            /* the expanded sweep as text: identifies it in a directory */
} ncsn_sweep;

/* Loads path (may be NULL: the notebook's defaults), applies the -s overrides (which may
 * themselves be lists), expands, validates every run. Errors read FILE:LINE: KEY: reason. */
int ncsn_sweep_load(ncsn_sweep *s, const char *path, const char *const *sets, int n_sets,
                    ncsn_error *err);
void ncsn_sweep_free(ncsn_sweep *s);

/* Train once, sample many (sweep/trainings.c): runs with the same seed and the same values
 * of every key but sample.* (NCSN_PART_TRAINING, "auto" flags included) train
 * bit-identical models. trained_by (s->n_runs) gets, for every run, the index of the run
 * whose model it samples: the first such run in expansion order (itself for that one, which
 * trains; itself for an exact-score run, which trains nothing). With shard_n > 1 only runs
 * of one shard (--shard) share. Returns the number of trainings (runs k with
 * trained_by[k] == k and sample.score model). */
int ncsn_sweep_trainings(const ncsn_sweep *s, int shard_n, int *trained_by);

/* The seed of repeat `repeat` of a configuration whose seed is base_seed: base_seed itself
 * for repeat 0, else a 64-bit mix (splitmix64) of the two. */
uint64_t ncsn_sweep_seed(uint64_t base_seed, int repeat);

#endif
