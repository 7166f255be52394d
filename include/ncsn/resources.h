/* resources.h: what a run will need, known before it starts (docs/cluster.md, Sizing a job):
 * its peak memory from its sizes (run/resources.c) and its work and seconds from a cost
 * model at measured rates (run/cost.c). `ncsn run`, `sample` and `sweep` refuse a run whose
 * peak does not fit the memory the process may have; `ncsn sweep --dry-run` prints both
 * estimates and what to ask SLURM for; the sweep's deadline planning uses the seconds.
 * Sizes: D data dimension, E embedding width, H hidden width, B batch, L noise levels,
 * n chains (sample.n), P parameters, t OpenMP threads.
 *   ncsn_run_sizes           the sizes a run's memory and work follow from
 *   ncsn_run_sizes_of        ... from a configuration, before its data is read (a file's
 *                            shape only); noise.L "auto" that needs the data is assumed
 *   ncsn_run_sizes_of_plan   ... from a resolved run plan (plan.h)
 *   ncsn_memory_estimate     the peak bytes, by phase, and the key that accounts for most
 *                            of it; sizes that overflow 64 bits saturate and say so
 *   ncsn_memory_limit        the bytes this process may use: NCSN_MEMORY_LIMIT, else the
 *                            cgroup's limit (SLURM's --mem), else MemAvailable
 *   ncsn_memory_check        refuse (exit 2) a run that cannot fit, naming the key and bytes
 *   ncsn_memory_check_config, _plan   the sizes, the estimate and the limit, then the check
 *   ncsn_bytes_text          "1.5 GiB"
 *   ncsn_calibration         the rates the cost model divides by: built in, or a file
 *                            written by `ncsn bench --calibrate`
 *   ncsn_work_of, ncsn_seconds_estimate   the work of a run and its seconds at t threads */
#ifndef NCSN_RESOURCES_H
#define NCSN_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/plan.h"

/* noise.L assumed for a run whose L is "auto" and whose sigma_1 is too (Technique 1 needs
 * the training points): the notebook's number of levels. */
#define NCSN_L_ASSUMED 100

/* Every count a run's memory and work follow from, as 64-bit integers. */
typedef struct {
    int64_t D, E, H, B, P;      /* P = ncsn_model_param_count(D, E, H) */
    int64_t steps, log_every;   /* training steps (the loss history's; 0: exact score) */
    int64_t snapshots;          /* snapshots kept (train.snapshot_every; train.h) */
    int64_t L, levels, T;       /* noise levels; the sampler's levels and steps per level */
    int64_t n;                  /* sample.n: chains */
    int64_t n_train;            /* training points (dataset.n, at most a file's training rows) */
    int64_t file_rows;          /* hdf5: the file's rows N (0: a generator, or not known) */
    int64_t file_train, file_held;  /* hdf5: its training and held-out rows */
    int64_t n_ref, n_floor;     /* the metrics' reference and noise-floor sets */
    int64_t K;                  /* the mixture's components where there is one (exact), else 0 */
    int generator;              /* fresh points (sample != NULL), not a file */
    int labelled;               /* hdf5 with dataset.labels: the k-NN classifier */
    int trains;                 /* the run trains (not `ncsn sample`, not the exact score) */
    int ema;                    /* train.ema > 0: a second copy of the weights */
    int technique1;             /* noise.sigma_1 auto: Technique 1 on the training points */
    int L_assumed;              /* L is NCSN_L_ASSUMED, not the run's own */
    int checkpoints;            /* may write checkpoints (run, sweep; a signal is enough) */
    int denoise, exact_score, plain;
    int64_t threads;            /* OpenMP threads */
} ncsn_run_sizes;

/* The sizes of configuration c (validated) with t threads. trains: 0 for `ncsn sample`
 * (the model comes from a file); checkpoints: whether it may write checkpoints. For hdf5
 * data the file's shape is read (not its values); when that fails the file's rows stay 0
 * and dataset_open reports why later. 0, or -1 only for an "auto" dimension whose file
 * cannot be read (err filled; the caller may ignore it: the run reports it itself). */
int ncsn_run_sizes_of(ncsn_run_sizes *s, const ncsn_config *c, int threads, int trains,
                      int checkpoints, ncsn_error *err);
/* noise.L found since (a plan made for it): s->L, and what follows from it. */
void ncsn_run_sizes_set_L(ncsn_run_sizes *s, int64_t L);
/* The same from a resolved plan: its D, L, data set and training points are the run's. */
void ncsn_run_sizes_of_plan(ncsn_run_sizes *s, const ncsn_plan *p, int threads,
                            int trains, int checkpoints);

enum { NCSN_PHASE_LOAD, NCSN_PHASE_TRAIN, NCSN_PHASE_SAMPLE, NCSN_PHASE_METRICS,
       NCSN_PHASE_WRITE, NCSN_N_PHASES };

typedef struct {
    uint64_t peak;                   /* bytes at the peak, the process's baseline included */
    uint64_t phase[NCSN_N_PHASES];   /* the same at each phase's own peak */
    int peak_phase;                  /* which phase has it */
    int overflow;                    /* a size overflowed 64-bit arithmetic: peak UINT64_MAX */
    const char *key;                 /* the key that accounts for most of the peak */
    uint64_t key_bytes;              /* what it accounts for: the peak less the peak with
                                        that key at its smallest */
} ncsn_memory;

/* *bytes = the process's own memory before any run (libraries, HDF5, threads): what a run
 * of sizes zero would peak at, from the calibration (ncsn_calibration_load's: a bad
 * NCSN_CALIBRATION file is an error, -1). sweep_rank: a rank of `ncsn sweep` under MPI
 * (the sweep's and MPI's additions). */
int ncsn_memory_baseline(int sweep_rank, uint64_t *bytes, ncsn_error *err);
/* The peak of a run of sizes s (docs/cluster.md, Sizing a job, has the terms). baseline:
 * ncsn_memory_baseline's. */
void ncsn_memory_estimate(const ncsn_run_sizes *s, uint64_t baseline, ncsn_memory *m);
const char *ncsn_phase_name(int phase);

/* The bytes this process may use and where the number came from ("NCSN_MEMORY_LIMIT",
 * "the cgroup's memory.max", "the cgroup's memory.limit_in_bytes", "MemAvailable", or
 * "none" with UINT64_MAX when nothing could be read). root: "" for the real files, or a
 * directory that stands for / (tests). NCSN_MEMORY_LIMIT (bytes, or with a suffix K, M,
 * G, T: powers of 1024) overrides everything; an unreadable one is an error (-1, err). */
int ncsn_memory_limit(const char *root, uint64_t *bytes, const char **source, ncsn_error *err);

/* The run of c with sizes s against limit: 0 when its peak fits, else -1 with err
 * "ORIGIN: KEY: the run needs about ... (N bytes) at its peak (PHASE), more than the
 * ... (M bytes) this process may use (SOURCE); KEY = VALUE accounts for ... of it", or
 * "... the memory of the run overflows 64-bit arithmetic at KEY = VALUE ...". run, when
 * not NULL, names the run ("run c0003 needs about"). share: how many such runs share the
 * limit at once (ranks on a node), 1 otherwise. */
int ncsn_memory_check(const ncsn_config *c, const ncsn_memory *m, uint64_t limit,
                      const char *source, const char *run, int share, ncsn_error *err);
/* The whole check for the configuration of `ncsn run` (trains 1) or `ncsn sample` (0):
 * sizes, estimate, limit. 0 fits; -1 err filled. */
int ncsn_memory_check_config(const ncsn_config *c, int threads, int trains, int checkpoints,
                             ncsn_error *err);

/* The same for a resolved plan (the run checks once more what only the data told). */
int ncsn_memory_check_plan(const ncsn_plan *p, int trains, int checkpoints, ncsn_error *err);

/* bytes as text with a binary unit: "512 B", "17.9 MiB", "2.0 GiB"; "more than 16 EiB"
 * for UINT64_MAX. */
void ncsn_bytes_text(uint64_t bytes, char *buf, size_t size);

/* ---- time ---------------------------------------------------------------------------- */

/* The rates of the cost model for one rank (run/cost.c), each measured with 1 thread
 * ([0]) and with `threads` threads ([1]) by `ncsn bench --calibrate`; other thread counts
 * interpolate the parallel efficiency between the two. Training and sampling have two
 * kernel families (docs/performance.md): the small ones (training's D <= 6 kernels,
 * sampling's D = 2 kernel), measured at the notebook's D 2, H 128, and the blocked
 * products of every other D, measured at D 64, H 512. GFLOP/s count what `ncsn bench`
 * counts: 10 D H per training example, 4 D H per network evaluation. The metrics are
 * pairs of points: ns per pair with a kernel exp (MMD) and per plain distance (the
 * median, nearest neighbours), each a + b D from two dimensions; the rest (FD, SWD, the
 * score error) counted in FLOPs at other_gflops. */
typedef struct {
    int threads;                        /* the threads of [1] */
    double train_small_gflops[2], train_blocked_gflops[2];
    double sample_small_gflops[2], sample_blocked_gflops[2];
    double pair_exp_ns[2][2];           /* [threads][a, b]: ns per kernel pair, a + b D */
    double pair_plain_ns[2][2];         /* the same for a plain squared distance */
    double other_gflops[2];
    double run_seconds;                 /* fixed per run: the plan, the run file */
    double baseline_bytes;              /* the process's own memory (`ncsn run`) */
    double sweep_bytes, mpi_bytes;      /* what `ncsn sweep` adds, and MPI on top */
    char source[1100];                  /* "built in", or the file */
} ncsn_calibration;

/* The built-in rates: measured on a 2-vCPU AVX-512 Xeon (1 thread), see docs/cluster.md. */
void ncsn_calibration_default(ncsn_calibration *cal);
/* path, or when NULL $NCSN_CALIBRATION, or when unset the built-in rates. A file that
 * cannot be read, or has a line that is not KEY=VALUE of a known key with a positive
 * number, is an error naming the file and line (-1). */
int ncsn_calibration_load(ncsn_calibration *cal, const char *path, ncsn_error *err);
/* Writes cal to path (KEY=VALUE lines, atomically). */
int ncsn_calibration_write(const ncsn_calibration *cal, const char *path, ncsn_error *err);

/* The work of a run: FLOPs as `ncsn bench` counts them, and pairs of points. */
typedef struct {
    double train_flops, sample_flops;
    int train_blocked, sample_blocked;  /* which kernel family does each */
    double pairs_exp, pairs_plain;      /* metric pairs (and Technique 1's) */
    double other_flops;                 /* score error, FD, SWD: counted at the blocked
                                           sampling rate */
} ncsn_work;

void ncsn_work_of(const ncsn_run_sizes *s, ncsn_work *w);
/* Seconds of a run of work w on one rank of t threads at cal's rates; *train_seconds
 * (when not NULL) the training part. */
double ncsn_seconds_estimate(const ncsn_work *w, const ncsn_run_sizes *s,
                             const ncsn_calibration *cal, int threads, double *train_seconds);

#endif
