/* cli/bench.h: the parts of `ncsn bench` (cli/bench.c), private to src/cli/.
 *   bench_measure.c  the FMA peak, training and sampling speed beside the straightforward
 *                    reference paths, and the bits of every kernel variant
 *   bench_sweep.c    a real `ncsn sweep` timed as a child process
 *   bench_calibrate.c  the cost model's rates (`ncsn bench --calibrate`)
 * Sizes: D data dimension, E embedding width, H hidden width, B batch, L noise levels. */
#ifndef NCSN_CLI_BENCH_H
#define NCSN_CLI_BENCH_H

#include <stddef.h>
#include <stdint.h>

enum { BENCH_MAX_T = 8, BENCH_E = 16, BENCH_B = 128, BENCH_L = 100 };

enum { BENCH_MAX_SIZES = 8 };
/* rounds: measurements of training and of sampling per row (--rounds; 1 with --quick) */
enum { BENCH_ROUNDS = 5, BENCH_MAX_ROUNDS = 50 };
/* A round is whole where the host took (steal) at most this fraction of the CPU time that
 * each of its measurements wanted. */
#define BENCH_STEAL_LIMIT 0.05
typedef struct {
    int quick, json, sweep;
    int rounds;
    int overhead[BENCH_MAX_SIZES], n_overhead; /* --sweep-overhead: sweep sizes (runs) */
    int overhead_ranks;                         /* --sweep-ranks: P for them (1) */
    int threads[BENCH_MAX_T], n_threads;
    int D, H;
    long steps;        /* training steps per measurement (< 0: sized to BENCH_MEASURE_S) */
    int chains, levels, T;
    const char *calibrate; /* --calibrate FILE */
} bench_opts;

typedef struct {
    int threads;
    double peak_fma, peak_muladd;      /* GFLOP/s: the kernels' widest FMA, mul + add (the
                                          median of the paired measurements below) */
    double train_share, sample_share;  /* of the peak: the median over the measurements of
                                          each one's GFLOP/s over the peak taken just before */
    double peaks[2 * BENCH_MAX_ROUNDS]; /* those peaks, GFLOP/s: training's, then sampling's */
    int n_peaks;
    double train_us_each[BENCH_MAX_ROUNDS], sample_eps_each[BENCH_MAX_ROUNDS];
    /* the fraction of the CPU time each measurement wanted that the host took (bench_steal;
     * < 0: not known) */
    double train_steal_each[BENCH_MAX_ROUNDS], sample_steal_each[BENCH_MAX_ROUNDS];
    int n_pairs; /* measurements of each: the rounds */
    double train_us, train_ref_us;     /* per step */
    double sample_eps, sample_ref_eps; /* network evaluations per second */
    uint64_t train_hash, sample_hash;  /* bits of the library's results */
} bench_row;

/* OpenMP's thread count for what follows (nothing without OpenMP). */
void bench_set_threads(int t);

/* FLOPs counted (the products that grow with D and H, whatever the implementation does):
 * a training step 2 B 5 D H (forward W_1x x' and W_2 h, backward W_2' ds, ds h', dz x'),
 * an evaluation 2 2 D H. */
double bench_flops_train_step(const bench_opts *o);
double bench_flops_eval(const bench_opts *o);

/* GFLOP/s of independent chains on t threads, each timing itself: kind 0 fused
 * multiply-adds of the widest vectors the kernels use (ncsn_isa), 1 separate multiplies
 * and adds. */
double bench_peak(int t, int kind, long iters);
/* The training data: n points (n, D). */
float *bench_data(int D, int n);
/* Training and sampling on r->threads threads, each measurement paired with the peak
 * (bench_peak of peak_iters) measured just before it, and its steal. The _pair calls take
 * the measurement of round `round` of `rounds` (the caller takes every thread count's in
 * turn, so that the scaling compares measurements taken one after the other); the _finish
 * calls, after all of them, set r's speeds (the best), shares of the peak (the median) and
 * reference speeds. */
void bench_train_pair(const bench_opts *o, const double *sigmas, const float *data, int n,
                      long peak_iters, bench_row *r, int round, int rounds);
void bench_train_finish(const bench_opts *o, const double *sigmas, const float *data, int n,
                        bench_row *r);
void bench_sample_pair(const bench_opts *o, const double *sigmas, long peak_iters, bench_row *r,
                       int round, int rounds);
void bench_sample_finish(const bench_opts *o, const double *sigmas, bench_row *r);
/* The host's share of an interval: what the hypervisor took (steal, /proc/stat summed over
 * the CPUs) of the CPU time this process's threads wanted (its own CPU time plus that
 * steal). A shared or throttled virtual machine runs a thread only part of the time; a
 * thread that waits at a barrier for one the host stopped loses the time too, so such a
 * measurement says more about the host than about ncsn. */
typedef struct {
    double cpu, steal; /* seconds at the start; steal < 0: not readable */
} bench_steal;
void bench_steal_start(bench_steal *s);
/* The fraction taken since bench_steal_start, in [0, 1]: the steal beyond one tick of the
 * counter (10 ms: a tick may turn over while almost nothing is taken) over the steal and
 * the process's CPU time; -1 where steal is not readable. */
double bench_steal_end(const bench_steal *s);
/* Training steps for a measurement of about BENCH_MEASURE_S of CPU time on one thread
 * (from a trial of at least 50 ms), 100 to 100000: long enough that steal, counted in 10 ms
 * ticks, is known to a few percent. */
#define BENCH_MEASURE_S 0.25
long bench_train_steps_for(const bench_opts *o, const double *sigmas, const float *data, int n);
/* From row a's thread count to row b's: the median over the rounds of each round's ratio
 * (a's time over b's, b's rate over a's; two measurements taken one after the other), over
 * all rounds and over the whole ones, and the best time against the best. A round is whole
 * for training (for sampling) where both its training (sampling) measurements had steal
 * at most BENCH_STEAL_LIMIT. *_whole: -1 where no round was whole or any steal is not
 * known; n_whole_*: -1 where any steal is not known. */
typedef struct {
    double train, sample, train_best, sample_best;
    double train_whole, sample_whole;
    int n_whole_train, n_whole_sample;
} bench_scaling;
bench_scaling bench_scaling_of(const bench_row *a, const bench_row *b);
/* The median of v (n values; reorders v). */
double bench_median(double *v, int n);
/* The row's peak (peak_fma, or peak_muladd on the baseline): the median of the peaks paired
 * with its training and sampling measurements. */
void bench_row_peak(bench_row *r);
/* The library's paths alone, best of reps: microseconds per training step of o->steps
 * steps, and evaluations per second of o->chains chains, o->levels levels of o->T steps;
 * *hash the bits of the result. */
double bench_train_us(const bench_opts *o, const double *sigmas, const float *data, int n,
                      int reps, uint64_t *hash);
double bench_sample_eps(const bench_opts *o, const double *sigmas, int reps, uint64_t *hash);
/* Their clock (and bench_clock's): wall time (0, the default) or this process's CPU time
 * (1: one thread's rate on a busy machine). */
void bench_use_cpu_clock(int on);
double bench_clock(void);
/* A few training steps and sampling steps on every variant the CPU has (cpu.h), compared
 * with the baseline's bits; *steps and *chains say how many were run. */
void bench_isa_identity(const bench_opts *o, const double *sigmas, const float *data, int n,
                        int *same_train, int *same_sample, int *steps, int *chains);

enum { BENCH_SWEEP_RUNS = 4 };
typedef struct {
    int P, threads;  /* ranks, OpenMP threads per rank */
    double seconds;  /* wall time of the whole sweep; < 0 when not run */
    char note[4400]; /* why not, when not */
} bench_sweep_row;
void bench_sweeps(bench_sweep_row *rows, int *n_rows, int max_t);
/* Removes dir and everything in it. */
void bench_remove_tree(const char *dir);
/* The directory of PATH that holds name into out (searched like execvp): 1, or 0. */
int bench_find_in_path(const char *name, char *out, size_t cap);
/* Runs argv with stdout and stderr to log, OMP_NUM_THREADS = threads (and the Open MPI
 * root permissions when root); returns the exit status, or -1. *maxrss_kb (when not
 * NULL): the largest resident set of the child or of any process it waited for. */
int bench_spawn(char **argv, const char *log, int threads, long *maxrss_kb);

/* `ncsn bench --calibrate`: the cost model's rates (resources.h) with 1 and `threads`
 * threads, and the process's own memory, written to path (cli/bench_calibrate.c). */
int bench_calibrate(int threads, const char *path);

/* The runner's own cost per run: `ncsn sweep` of `runs` trivial runs (a random search over
 * train.lr of a run with no training step, 2 chains and 1 level: a few milliseconds each)
 * on P ranks of one thread, timed as a child process. overhead_ms = (P * wall - the runs'
 * own seconds, summed from the journal) / runs: everything a rank does that is not a run
 * (expansion, directory, claims, state checks, journal, logs, every sweep.h5 rewrite). */
typedef struct {
    int runs, P;
    double wall, run_seconds, overhead_ms; /* wall < 0: not run */
    char note[4400];
} bench_overhead_row;
void bench_sweep_overhead(int runs, int P, bench_overhead_row *row);

#endif
