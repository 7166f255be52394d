/* cli/sweep_cost.h: what `ncsn sweep` knows of its runs' resources before running them
 * (cli/sweep_cost.c, from resources.h), private to src/cli/.
 *   sweep_cost_of        every run's peak memory and seconds
 *   sweep_cost_check     refuse a sweep one of whose runs cannot fit in memory
 *   sweep_cost_print, sweep_cost_json   the dry run's totals and what to ask SLURM for
 *   sweep_halving_print, sweep_halving_estimate   the same for a halving sweep's rungs
 *                        (cli/sweep_halving.c) */
#ifndef NCSN_CLI_SWEEP_COST_H
#define NCSN_CLI_SWEEP_COST_H

#include <stdio.h>

#include "ncsn/resources.h"
#include "ncsn/runner.h"
#include "ncsn/sweep.h"

typedef struct {
    ncsn_memory mem;        /* the run's peak, the process's baseline included */
    double seconds;         /* wall seconds on one rank of `threads` threads */
    double train_seconds;   /* the training part */
    double core_seconds;    /* seconds x threads */
} sweep_run_cost;

/* The sizing of a sweep for P ranks of T threads each. */
typedef struct {
    int ranks, threads;
    int mpi;                   /* the ranks run under MPI (baseline memory) */
    ncsn_calibration cal;
} sweep_sizing;

/* out (s->n_runs): every run's estimates; a run that samples another's model
 * (trained_by[k] != k, ncsn_sweep_trainings; trained_by may be NULL) costs its sampling
 * alone. */
void sweep_cost_of(const ncsn_sweep *s, const sweep_sizing *z, const int *trained_by,
                   sweep_run_cost *out);
/* 0, or -1 with err naming the run and key when a run of this shard cannot fit in the
 * memory this process may use, local_ranks of them at once (the ranks on this node), or
 * its sizes overflow. limit_too: 0 checks only overflow (a dry run sizes a job elsewhere). */
int sweep_cost_check(const ncsn_sweep *s, const ncsn_sweep_options *o, const sweep_run_cost *c,
                     int local_ranks, int limit_too, ncsn_error *err);
/* The dry run's closing lines: totals over the shard's runs (the sums of their lines), the
 * trainings among them (o->trained_by) and the SLURM request; and the same as one JSON
 * object with every run (its "trained_by": the run whose model it samples, itself when it
 * trains). */
void sweep_cost_print(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                      const sweep_run_cost *c, const sweep_sizing *z);
void sweep_cost_json(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                     const sweep_run_cost *c, const sweep_sizing *z);

/* A halving sweep's rungs for the dry run (text, or one JSON object): at most how many
 * configurations, runs and trainings each has (rung 0 every configuration; then
 * ncsn_halving_promoted of the rung before, each of which may need a training of its own),
 * the training steps they take (a later rung continues the rung before's) and their
 * estimated core-seconds (each rung's runs as a share of every configuration's at that
 * rung); and the totals against the grid of every configuration at the last rung, whose
 * estimates are grid_cost (sweep_cost_of of s). */
void sweep_halving_print(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                         const sweep_run_cost *grid_cost, const sweep_sizing *z, int json);
/* ncsn_halving_estimate_fn (runner.h) for the deadline planning; user: the sweep_sizing. */
void sweep_halving_estimate(const ncsn_sweep *rung, const int *trained_by, double *seconds,
                            void *user);

#endif
