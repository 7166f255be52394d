/* cli/bench_calibrate.c: `ncsn bench --calibrate FILE` (cli/bench.h): the rates of the cost
 * model (resources.h) on this machine, each with 1 thread and with T threads, best of
 * three: training and sampling GFLOP/s of both kernel families (D 2, H 128 and D 64,
 * H 512, as `ncsn bench` counts them), ns per metric pair with and without a kernel exp at
 * D = 2 and 64 (so a + b D), the other metrics' GFLOP/s (SWD and FD at D = 64); and the
 * process's own memory and fixed seconds, from tiny child runs. One thread's rates are
 * timed in CPU time, so that a busy machine does not slow them; T threads' in wall time.
 * About half a minute. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ncsn/common.h"
#include "ncsn/metrics.h"
#include "ncsn/noise.h"
#include "ncsn/resources.h"
#include "bench.h"

enum { REPS = 3, PAIR_N = 1500, OTHER_N = 4000 };

/* GFLOP/s of training and sampling at D, H: *train, *sample. */
static void kernels(int D, int H, const double *sigmas, double *train, double *sample) {
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.D = D;
    o.H = H;
    o.steps = D == 2 ? 20000 : 600;
    o.chains = D == 2 ? 5000 : 1000;
    o.levels = D == 2 ? 4 : 2;
    o.T = 100;
    const int n = 1000;
    float *data = bench_data(D, n);
    uint64_t hash;
    const double us = bench_train_us(&o, sigmas, data, n, REPS, &hash);
    *train = bench_flops_train_step(&o) / us * 1e-3;
    *sample = bench_sample_eps(&o, sigmas, REPS, &hash) * bench_flops_eval(&o) * 1e-9;
    free(data);
}

/* Seconds of fn's best of REPS. */
#define BEST_OF(seconds, call)                                \
    do {                                                      \
        seconds = 1e30;                                       \
        for (int rep_ = 0; rep_ < REPS; rep_++) {             \
            const double t0_ = bench_clock();                 \
            call;                                             \
            const double s_ = bench_clock() - t0_;            \
            if (s_ < seconds) seconds = s_;                   \
        }                                                     \
    } while (0)

/* ns per pair at D = 2 and 64, as a + b D: with a kernel exp (MMD) and plain (median). */
static void pairs(double exp_ns[2], double plain_ns[2]) {
    double e[2], p[2];
    const int dims[2] = {2, 64};
    for (int i = 0; i < 2; i++) {
        const int D = dims[i], n = PAIR_N;
        float *x = bench_data(D, 2 * n), *y = x + (size_t)n * D;
        double sec;
        volatile double sink;
        BEST_OF(sec, sink = ncsn_mmd2_unbiased(x, n, y, n, D, 3.0 * sqrt((double)D)));
        e[i] = sec * 1e9 / ((double)n * (2.0 * n - 1));
        BEST_OF(sec, sink = ncsn_median_pairwise_distance(x, 2 * n, D));
        p[i] = sec * 1e9 / ((double)(2 * n) * (2 * n - 1));
        (void)sink;
        free(x);
    }
    exp_ns[1] = (e[1] - e[0]) / 62 > 0 ? (e[1] - e[0]) / 62 : 0;
    exp_ns[0] = e[0] - 2 * exp_ns[1];
    plain_ns[1] = (p[1] - p[0]) / 62 > 0 ? (p[1] - p[0]) / 62 : 0;
    plain_ns[0] = p[0] - 2 * plain_ns[1];
}

/* GFLOP/s of SWD and FD at D = 64, counted as ncsn_work_of counts them. */
static double other(void) {
    const int D = 64, n = OTHER_N;
    float *x = bench_data(D, 2 * n), *y = x + (size_t)n * D;
    double sec;
    volatile double sink;
    BEST_OF(sec, sink = ncsn_swd(x, n, y, n, D, NCSN_SWD_DIRECTIONS, ncsn_rng_key(1, 0, 0)) +
                        ncsn_fd(x, n, y, n, D));
    (void)sink;
    free(x);
    const double flops = (double)NCSN_SWD_DIRECTIONS * 2 * n * (2.0 * D + 40) +
                         2.0 * n * D * D + 50.0 * D * D * D;
    return flops / sec * 1e-9;
}

/* The tiny run of the memory baseline: as little data and work as a run can have, with a
 * checkpoint in each phase (as the estimate counts one). */
static const char *tiny[] = {"-s", "train.steps=2",   "-s", "sample.n=2",  "-s", "sample.T=1",
                             "-s", "noise.L=2",       "-s", "dataset.n=2", "-s", "train.batch=2",
                             "-s", "train.checkpoint_every=1", "-s", "sample.checkpoint_every=1",
                             "-q"};
enum { N_TINY = sizeof tiny / sizeof *tiny };

/* The tiny run's own estimate, without the baseline: what a child's peak has beyond it. */
static double tiny_estimate(int threads) {
    ncsn_config c;
    ncsn_config_default(&c);
    ncsn_error err;
    for (int i = 1; i < N_TINY - 1; i += 2) NCSN_ASSERT(ncsn_config_set(&c, tiny[i], &err) == 0);
    ncsn_run_sizes s;
    ncsn_run_sizes_of(&s, &c, threads, 1, 1, &err);
    ncsn_memory m;
    ncsn_memory_estimate(&s, 0, &m);
    ncsn_config_free(&c);
    return (double)m.peak;
}

/* The peaks of a tiny `ncsn run`, `ncsn sweep` and `mpiexec -n 1 ncsn sweep` (children):
 * the baseline, the sweep's and MPI's additions, and the tiny run's seconds. 0, or -1
 * (then unchanged). */
static int process_memory(ncsn_calibration *cal) {
    char self[4096], dir[4096], out[4200], log[4200], mpiexec[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ncsn-calibrate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len <= 0 || !mkdtemp(dir)) return -1;
    self[len] = 0;
    snprintf(log, sizeof log, "%s/log", dir);
    char *argv[N_TINY + 16];
    long rss_run = 0, rss_sweep = 0, rss_mpi = 0;
    int n = 0;
    argv[n++] = self;
    argv[n++] = "run";
    for (int i = 0; i < N_TINY; i++) argv[n++] = (char *)tiny[i];
    snprintf(out, sizeof out, "%s/tiny.h5", dir);
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n] = NULL;
    const double t0 = ncsn_now();
    int rc = bench_spawn(argv, log, 1, &rss_run);
    const double seconds = ncsn_now() - t0;
    argv[1] = "sweep";
    snprintf(out, sizeof out, "%s/s1", dir);
    if (rc == 0) rc = bench_spawn(argv, log, 1, &rss_sweep);
    if (rc == 0 && bench_find_in_path("mpiexec", mpiexec, sizeof mpiexec)) {
        char *argv_p[N_TINY + 24];
        int m = 0;
        const char *pre[] = {mpiexec, "-n", "1", "--oversubscribe"};
        for (int i = 0; i < 4; i++) argv_p[m++] = (char *)pre[i];
        snprintf(out, sizeof out, "%s/s2", dir);
        for (int i = 0; i <= n; i++) argv_p[m++] = argv[i];
        if (bench_spawn(argv_p, log, 1, &rss_mpi) == 0 && rss_mpi > rss_sweep)
            cal->mpi_bytes = 1024.0 * (double)(rss_mpi - rss_sweep);
    }
    if (rc == 0) bench_remove_tree(dir);
    if (rc != 0) {
        fprintf(stderr, "bench: the tiny runs failed (log: %s); the built-in memory baseline "
                "stays\n", log);
        return -1;
    }
    const double base = 1024.0 * (double)rss_run - tiny_estimate(1);
    if (base > 0) cal->baseline_bytes = base;
    if (rss_sweep > rss_run) cal->sweep_bytes = 1024.0 * (double)(rss_sweep - rss_run);
    cal->run_seconds = seconds;
    return 0;
}

int bench_calibrate(int threads, const char *path) {
    ncsn_calibration cal;
    ncsn_calibration_default(&cal);
    cal.threads = threads;
    /* first, while this process is small: a child's peak (ru_maxrss) counts the memory of
     * the process it was spawned from */
    fprintf(stderr, "bench: the process's own memory, from tiny runs...\n");
    process_memory(&cal);
    double sigmas[BENCH_L];
    ncsn_noise_levels(20.0, 0.1, BENCH_L, sigmas);
    for (int k = 0; k < 2; k++) {
        const int t = k == 0 ? 1 : threads;
        if (k == 1 && threads == 1) { /* the same measurement */
            cal.train_small_gflops[1] = cal.train_small_gflops[0];
            cal.train_blocked_gflops[1] = cal.train_blocked_gflops[0];
            cal.sample_small_gflops[1] = cal.sample_small_gflops[0];
            cal.sample_blocked_gflops[1] = cal.sample_blocked_gflops[0];
            memcpy(cal.pair_exp_ns[1], cal.pair_exp_ns[0], sizeof cal.pair_exp_ns[0]);
            memcpy(cal.pair_plain_ns[1], cal.pair_plain_ns[0], sizeof cal.pair_plain_ns[0]);
            cal.other_gflops[1] = cal.other_gflops[0];
            break;
        }
        fprintf(stderr, "bench: calibrating with %d thread%s...\n", t, t > 1 ? "s" : "");
        bench_set_threads(t);
        bench_use_cpu_clock(t == 1); /* one thread's rate, whatever else the machine runs */
        kernels(2, 128, sigmas, &cal.train_small_gflops[k], &cal.sample_small_gflops[k]);
        kernels(64, 512, sigmas, &cal.train_blocked_gflops[k], &cal.sample_blocked_gflops[k]);
        pairs(cal.pair_exp_ns[k], cal.pair_plain_ns[k]);
        cal.other_gflops[k] = other();
    }
    bench_set_threads(threads);
    bench_use_cpu_clock(0);
    ncsn_error err;
    if (ncsn_calibration_write(&cal, path, &err) != 0) {
        fprintf(stderr, "ncsn bench: %s\n", err.msg);
        return NCSN_EXIT_RUNTIME;
    }
    FILE *f = fopen(path, "r");
    if (f) {
        int ch;
        while ((ch = fgetc(f)) != EOF) putchar(ch);
        fclose(f);
    }
    fprintf(stderr, "bench: wrote %s; use it with NCSN_CALIBRATION=%s or ncsn sweep "
            "--calibration %s\n", path, path, path);
    return NCSN_EXIT_OK;
}
