/* sweep.h: a sweep file expanded into runs, and the runner that executes them.
 * A sweep file is a run configuration (config.h) in which any value may be a list: the
 * grid is the Cartesian product of the lists. A top-level `sweep:` block adds
 *   mode: grid | random | halving   (default grid)
 *   trials: N                  random mode: N draws
 *   repeats: R                 R independent seeds of every configuration (default 1)
 *   rungs: [s_1, ..., s_K]     halving: the training steps of each rung, increasing, the
 *                              last equal to train.steps
 *   keep: F                    halving: the share of a rung's configurations promoted to the
 *                              next (default 0.5; at least one)
 *   metric: NAME               halving: the score, the mean of this metric over a
 *                              configuration's repeats, lower better (default
 *                              mode_weight_error; mmd2, swd, fd, final_loss)
 *   sample_n: N                halving: sample.n of every rung but the last (default: sample.n)
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
 *   ncsn_sweep_run_cost  the work estimate of one configuration (ncsn_sweep_run.cost)
 *   ncsn_halving_*       successive halving (sweep/halving.c): promotions, a rung's runs
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

/* Successive halving over a grid (sweep.mode: halving; docs/cluster.md, Successive
 * halving): rung k trains every configuration still in for steps[k] steps (continuing the
 * training of rung k-1), samples it (sample.n = sample_n before the last rung) and scores
 * it by the mean of `metric` over its repeats; the best ncsn_halving_promoted of them go on
 * to rung k+1. The last rung's runs are the sweep file's configurations. */
#define NCSN_HALVING_MAX_RUNGS 16
typedef struct {
    int on;                 /* sweep.mode: halving */
    int n_rungs;            /* 2 .. NCSN_HALVING_MAX_RUNGS */
    int64_t steps[NCSN_HALVING_MAX_RUNGS]; /* (n_rungs) increasing; the last is train.steps */
    double keep;            /* (0, 1): the share promoted from one rung to the next */
    char metric[32];        /* a run file's /metrics scalar, lower better */
    int sample_n;           /* sample.n before the last rung; 0: each run's own */
} ncsn_halving;

typedef struct {
    int n_runs;
    ncsn_sweep_run *runs;       /* (n_runs), in expansion order */
    int n_swept;
    char **swept_keys;          /* (n_swept) dotted keys whose value varies between runs */
    uint64_t base_seed;         /* the file's seed */
    int repeats;
    char *canonical;            /* the expanded sweep as text: identifies it in a directory */
    ncsn_halving halving;       /* on: a halving sweep; runs are then its last rung's */
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

/* ncsn_sweep_run.cost of configuration c: the work estimate and its training part. */
double ncsn_sweep_run_cost(const ncsn_config *c, double *train);

/* Successive halving (sweep/halving.c), the pure part:
 *   ncsn_halving_promoted  how many of n configurations go on: ceil(keep n), at least 1,
 *                          at most n
 *   ncsn_halving_order     order (n) gets 0..n-1 sorted by score, lowest first; scores that
 *                          are not finite (a run that failed) last; ties by index, so the
 *                          order is a function of the scores alone
 *   ncsn_halving_rung      the runs of rung k as a sweep of their own (out): every run of the
 *                          configurations g with alive[g] (g = run index / repeats), with
 *                          train.steps = steps[k] and, before the last rung, sample.n =
 *                          sample_n; ids, groups and indices those of s, and a canonical
 *                          text of its own. 0, or -1 with err when a run's configuration is
 *                          not valid at that rung (sample.snapshot beyond its steps) */
int ncsn_halving_promoted(int n, double keep);
void ncsn_halving_order(const double *score, int n, int *order);
int ncsn_halving_rung(const ncsn_sweep *s, int k, const unsigned char *alive, ncsn_sweep *out,
                      ncsn_error *err);

/* The seed of repeat `repeat` of a configuration whose seed is base_seed: base_seed itself
 * for repeat 0, else a 64-bit mix (splitmix64) of the two. */
uint64_t ncsn_sweep_seed(uint64_t base_seed, int repeat);

#endif
