/* runner.h: the sweep runner (sweep/runner.c), what `ncsn sweep` calls once it has its
 * arguments and the expanded sweep (sweep.h): every MPI rank takes runs from the sweep
 * directory (summary.h has its layout), costliest first, and runs them one at a time; a
 * run that shares its training (ncsn_sweep_trainings) samples the trained model of the run
 * that trains it, once that run's file exists.
 *   ncsn_world_start / _end   MPI, when launched by mpirun or srun (rank 0 of 1 otherwise);
 *                             _end returns the largest exit status of every rank
 *   ncsn_sweep_in_shard       whether a run belongs to this invocation (--shard I/N)
 *   ncsn_halving_execute      a halving sweep: rungs of grid sweeps, scored and promoted
 *   ncsn_sweep_execute        prepare the directory, run what is left, write sweep.h5 and
 *                             say how it went (rank 0); returns the exit status */
#ifndef NCSN_RUNNER_H
#define NCSN_RUNNER_H

#include "ncsn/common.h"
#include "ncsn/sweep.h"

/* MPI state: without a launcher the process is rank 0 of 1 and MPI is never started. */
typedef struct {
    int use_mpi;
    int rank, size, local_size; /* local_size: the ranks on this node */
    char host[256];
} ncsn_world;

void ncsn_world_start(ncsn_world *w, int *argc, char ***argv);
int ncsn_world_end(ncsn_world *w, int status);

typedef struct {
    const char *dir;         /* the sweep directory */
    int retry_failed;        /* run failed, diverged and non-finite runs again */
    int fail_fast;           /* stop taking runs after the first failure */
    int quiet;               /* no progress lines */
    int shard_i, shard_n;    /* only runs whose index is shard_i mod shard_n (0, 0: all) */
    double deadline;         /* Unix time by which this invocation must end; 0: none */
    const double *estimate;  /* (n_runs) each run's seconds by the cost model at this rank's
                                threads (resources.h), for the deadline, for a run that
                                samples another's model its sampling alone; NULL: unknown */
    const int *trained_by;   /* (n_runs) ncsn_sweep_trainings (sweep.h); NULL: every run
                                trains its own model */
    /* Successive halving (sweep/halving_run.c): */
    const char *const *train_from; /* (n_runs) a training state of the run's model after
                                fewer steps, to continue from (run.h); NULL entries or
                                array: train from step 0 */
    int keep_states;         /* write DIR/states/<id>.h5, the training state at the end of
                                every training, for the next rung */
} ncsn_sweep_options;

int ncsn_sweep_in_shard(const ncsn_sweep_options *o, const ncsn_sweep_run *r);
/* Exit status: 0 every run of the shard complete, 1 some failed or were not run, 2 the
 * directory holds another sweep, 3 stopped by a signal or the deadline with runs left. */
int ncsn_sweep_execute(const ncsn_sweep *s, const ncsn_sweep_options *o, ncsn_world *w);

/* A halving sweep (s->halving.on; sweep/halving_run.c): rung after rung, each run like a
 * grid sweep in DIR/rung<k> (o's settings, each rung's trainings and training states), then
 * scored and promoted; DIR/rungs.tsv records every rung's scores and promotions. estimate
 * (may be NULL) gives a rung's runs their seconds for the deadline planning (o->estimate
 * is not used). Exit status as ncsn_sweep_execute's, over the last rung's runs; 1 also when
 * a rung has fewer configurations with a score than it promotes; 3 also when a rung waits
 * for runs that have not ended (other --shard tasks', another process's). */
typedef void (*ncsn_halving_estimate_fn)(const ncsn_sweep *rung, const int *trained_by,
                                         double *seconds, void *user);
int ncsn_halving_execute(const ncsn_sweep *s, const ncsn_sweep_options *o, ncsn_world *w,
                         ncsn_halving_estimate_fn estimate, void *user);

#endif
