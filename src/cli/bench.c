/* cli/bench.c: `ncsn bench` (see bench.h). Everything runs at the notebook's sizes (SPEC.md
 * section 5): D = 2, E = 16, H = 128, batch 128, L = 100 levels from 20 to 0.1, 5000 chains.
 *
 * Each measurement is the best of a few repeats (the machine may be shared). Beside the
 * library's paths (ncsn_train, ncsn_sample) runs a reference: the straightforward code the
 * library started from (per-example forward/backward, scalar Philox and libm Box-Muller per
 * draw), so one run gives before/after ratios on the same machine under the same load.
 *
 * FLOP counts are those of the plain network, whatever the implementation does:
 *   one evaluation   2 H D + H + 2 D H (+ the Langevin update, ignored)
 *   one training example   forward (embedding included) and twice that for backward.
 * The peak is measured here: independent FMA chains (AVX2+FMA when the CPU has them) on
 * every thread, and the same with separate multiplies and adds. The kernels use fused
 * multiply-adds at fixed places (vfmadd, or fmaf per lane in the baseline build), so the
 * FMA peak is theirs; a last check runs a little training and sampling with the baseline
 * kernels and with the CPU's and compares the bits. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "ncsn/bench.h"

#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/model.h"
#include "ncsn/noise.h"
#include "ncsn/rng.h"
#include "ncsn/sample.h"
#include "ncsn/train.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

static const char *usage_bench =
    "usage: ncsn bench [--quick] [--json] [--threads N,...] [--steps N] [--chains N] [--sweep]\n"
    "\n"
    "Measures, at the notebook's sizes (D 2, emb 16, hidden 128, batch 128, L 100):\n"
    "  training     microseconds per Adam step (draws, loss and gradient, Adam included)\n"
    "  sampling     network evaluations per second of annealed Langevin over 5000 chains\n"
    "  peak         FP32 GFLOP/s of an FMA microbenchmark on the same threads\n"
    "  kernels      whether the AVX2+FMA kernels give the bits of the baseline ones\n"
    "each for the library and for the straightforward reference path, for 1 and 2 threads\n"
    "(OMP_NUM_THREADS is ignored: --threads chooses). Prints; never fails on slowness.\n"
    "\n"
    "  --quick          a smoke run of a few seconds\n"
    "  --json           one JSON object on stdout instead of the table\n"
    "  --threads LIST   thread counts, e.g. 1,2 (default: 1 and the maximum, if > 1)\n"
    "  --steps N        training steps per measurement (default 2000; quick 100)\n"
    "  --chains N       sampling chains (default 5000)\n"
    "  --sweep          also time a real sweep: `ncsn sweep` on 4 configurations of\n"
    "                   sweeps/notebook-sweep.yaml at full size (eps x EMA, one seed), with\n"
    "                   P = 1 rank (all threads) and P = 2 ranks (mpiexec, threads split),\n"
    "                   reported as runs per hour; about a minute (not with --quick)\n"
    "  -h, --help       this text\n";

enum { BD = 2, BE = 16, BH = 128, BB = 128, BL = 100, MAX_T = 8 };

static void set_threads(int t) {
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* ---- peak ---------------------------------------------------------------------------- */

typedef float v8f __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static float fma_kernel(long iters, float a, float b) {
    __m256 acc[12];
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    for (int k = 0; k < 12; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) acc[k] = _mm256_fmadd_ps(acc[k], va, vb);
    __m256 s = acc[0];
    for (int k = 1; k < 12; k++) s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

/* Separate multiply and add chains: 6 of each (all in registers), 8 lanes. */
__attribute__((target_clones("avx2", "default"))) static float muladd_kernel(long iters, float a,
                                                                             float b) {
    v8f m[6], s[6];
    for (int k = 0; k < 6; k++)
        for (int l = 0; l < 8; l++) m[k][l] = s[k][l] = (float)(k + l);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 6; k++) {
            m[k] = m[k] * a;
            s[k] = s[k] + b;
        }
    float r = 0;
    for (int k = 0; k < 6; k++) r += m[k][0] + s[k][0];
    return r;
}

static int have_fma(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* GFLOP/s over t threads, each running the kernel; kind 0 = FMA, 1 = mul + add. */
static double measure_peak(int t, int kind, long iters) {
    volatile float va = 0.9999999f, vb = 1e-7f;
    const float a = va, b = vb;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = 0, t1 = 0;
        float sink = 0;
        set_threads(t);
#pragma omp parallel reduction(+ : sink)
        {
#pragma omp barrier
#pragma omp master
            t0 = ncsn_now();
#if defined(__x86_64__) && defined(__GNUC__)
            if (kind == 0)
                sink += fma_kernel(iters, a, b);
            else
#endif
                sink += muladd_kernel(iters, a, b);
#pragma omp barrier
#pragma omp master
            t1 = ncsn_now();
        }
        if (sink == 12345.0f) fprintf(stderr, " ");
        double flops = (double)t * (double)iters * (kind == 0 ? 12 * 16 : 12 * 8);
        double g = flops / (t1 - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* ---- reference paths: the code the library started from ------------------------------- */

/* One training step as ncsn_train first did it: scalar draws per example, the per-example
 * loss and gradient, Adam. */
static void ref_train_step(ncsn_key k_level, ncsn_key k_noise, uint32_t step, const float *x,
                           int n, int *levels, float *xb, float *zb, const float *sig,
                           ncsn_model *model, ncsn_model *grad, ncsn_dsm_work *w,
                           ncsn_adam *adam) {
    const int D = model->D, B = BB;
    const int pos = (int)((step * (uint32_t)B) % (uint32_t)(n - B));
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        memcpy(xb + (size_t)b * D, x + (size_t)(pos + b) * D, sizeof(float) * D);
        float u[4];
        ncsn_rng_uniform4(k_level, step, (uint32_t)b, 0, u);
        int lv = (int)(u[0] * (float)BL);
        levels[b] = lv < BL ? lv : BL - 1;
        ncsn_rng_fill_normal(k_noise, step, (uint32_t)b, D, zb + (size_t)b * D);
    }
    ncsn_dsm_loss_grad_reference(model, xb, B, levels, sig, zb, grad, w);
    ncsn_adam_step(adam, model->params, grad->params);
}

#define RCB 64
#define RV 16
/* The first blocked sampler kernel: D = 2 only (what the bench runs). */
static void ref_score_block(const ncsn_model *m, const float *c, int nb, const float *x,
                            float *s) {
    const int E = m->E, H = m->H;
    const float *w1 = m->bb0_w, *w2 = m->bb2_w;
    for (int i0 = 0; i0 < nb; i0 += RV) {
        float x0[RV], x1[RV], s0[RV], s1[RV];
        for (int v = 0; v < RV; v++) {
            x0[v] = x[i0 + v];
            x1[v] = x[RCB + i0 + v];
            s0[v] = 0;
            s1[v] = 0;
        }
        for (int o = 0; o < H; o++) {
            const float a = w1[(size_t)o * (2 + E)], b = w1[(size_t)o * (2 + E) + 1];
            const float co = c[o], u0 = w2[o], u1 = w2[H + o];
            for (int v = 0; v < RV; v++) {
                float h = co + a * x0[v] + b * x1[v];
                h = h > 0 ? h : 0;
                s0[v] += u0 * h;
                s1[v] += u1 * h;
            }
        }
        for (int v = 0; v < RV; v++) {
            s[i0 + v] = s0[v] + m->bb2_b[0];
            s[RCB + i0 + v] = s1[v] + m->bb2_b[1];
        }
    }
}

static void ref_sample(const ncsn_model *m, const double *sigmas, int L, int T, double eps,
                       ncsn_key key, float *x, int n) {
    const int D = 2, H = m->H;
    float *c = ncsn_xmalloc(sizeof(float) * (size_t)H);
    const double sigma_L = sigmas[L - 1];
    const int n_blocks = (n + RCB - 1) / RCB;
    for (int i = 0; i < L; i++) {
        const double sigma = sigmas[i];
        const double alpha = eps * sigma * sigma / (sigma_L * sigma_L);
        const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
        const uint32_t step0 = (uint32_t)(i * T);
        ncsn_model_level_bias(m, (float)sigma, c);
#pragma omp parallel
        {
            float wx[2 * RCB], ws[2 * RCB];
#pragma omp for schedule(static)
            for (int blk = 0; blk < n_blocks; blk++) {
                const int c0 = blk * RCB;
                const int nb = (n - c0) < RCB ? (n - c0) : RCB;
                memset(wx, 0, sizeof wx);
                for (int q = 0; q < nb; q++)
                    for (int d = 0; d < D; d++) wx[d * RCB + q] = x[(size_t)(c0 + q) * D + d];
                for (int t = 0; t < T; t++) {
                    ref_score_block(m, c, nb, wx, ws);
                    for (int q = 0; q < nb; q++) {
                        float z[4];
                        ncsn_rng_normal4(key, step0 + (uint32_t)t, (uint32_t)(c0 + q), 0, z);
                        for (int d = 0; d < D; d++)
                            wx[d * RCB + q] += half_alpha * ws[d * RCB + q] + sqrt_alpha * z[d];
                    }
                }
                for (int q = 0; q < nb; q++)
                    for (int d = 0; d < D; d++) x[(size_t)(c0 + q) * D + d] = wx[d * RCB + q];
            }
        }
    }
    free(c);
}

/* ---- the measurements ------------------------------------------------------------------ */

typedef struct {
    int threads;
    double peak_fma, peak_muladd;        /* GFLOP/s */
    double train_us, train_ref_us;       /* per step */
    double sample_eps, sample_ref_eps;   /* network evaluations per second */
    uint64_t train_hash, sample_hash;    /* bits of the library's results */
} bench_row;

typedef struct {
    int quick, json, sweep;
    int threads[MAX_T], n_threads;
    long steps;
    int chains, levels, T;
} bench_opts;

static double flops_per_train_example(void) {
    double fwd = 2.0 * BE + 2.0 * BE * BE + 2.0 * BH * (BD + BE) + 2.0 * BD * BH;
    return 3.0 * fwd;
}
static double flops_per_eval(void) { return 2.0 * BH * BD + BH + 2.0 * BD * BH; }

static void make_data(float **x, int n) {
    ncsn_gmm g;
    double w[2] = {0.95, 0.05}, mu[4] = {-5, -5, 5, 5}, sd[2] = {1, 1};
    NCSN_ASSERT(ncsn_gmm_init(&g, 2, 2, w, mu, sd) == 0);
    *x = ncsn_xmalloc(sizeof(float) * (size_t)n * 2);
    ncsn_gmm_sample(&g, ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_DATA), 0, n, *x);
    ncsn_gmm_free(&g);
}

static void bench_train(const bench_opts *o, const double *sigmas, const float *data, int n,
                        bench_row *r) {
    const int reps = o->quick ? 1 : 3;
    ncsn_config cfg;
    ncsn_config_default(&cfg);
    cfg.train.steps = o->steps;
    cfg.train.batch = BB;
    cfg.train.log_every = o->steps;
    r->train_us = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_model m;
        ncsn_model_alloc(&m, BD, BE, BH, 0, 0);
        ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
        ncsn_train_log log;
        double t0 = ncsn_now();
        ncsn_train(&cfg, 0, sigmas, BL, data, n, &m, NULL, &log, NULL, NULL);
        double us = (ncsn_now() - t0) / (double)o->steps * 1e6;
        if (us < r->train_us) r->train_us = us;
        r->train_hash = fnv1a(m.params, sizeof(float) * m.n_params, 14695981039346656037ull);
        ncsn_train_log_free(&log);
        ncsn_model_free(&m);
    }
    ncsn_config_free(&cfg);

    /* reference: fewer steps, it is slow */
    const long ref_steps = o->quick ? 20 : o->steps / 10 > 50 ? o->steps / 10 : 50;
    float sig[BL];
    for (int i = 0; i < BL; i++) sig[i] = (float)sigmas[i];
    int levels[BB];
    float *xb = ncsn_xmalloc(sizeof(float) * BB * BD), *zb = ncsn_xmalloc(sizeof(float) * BB * BD);
    r->train_ref_us = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_model m, g;
        ncsn_model_alloc(&m, BD, BE, BH, 0, 0);
        ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
        float *gb = ncsn_xcalloc(m.n_params, sizeof(float));
        ncsn_model_view(&m, gb, &g);
        ncsn_dsm_work w;
        ncsn_dsm_work_alloc(&w, &m, BB);
        ncsn_adam adam;
        ncsn_adam_init(&adam, m.n_params, 1e-3, 0);
        ncsn_key kl = ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_LEVEL), kn = ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_NOISE);
        double t0 = ncsn_now();
        for (long s = 0; s < ref_steps; s++)
            ref_train_step(kl, kn, (uint32_t)s, data, n, levels, xb, zb, sig, &m, &g, &w, &adam);
        double us = (ncsn_now() - t0) / (double)ref_steps * 1e6;
        if (us < r->train_ref_us) r->train_ref_us = us;
        ncsn_adam_free(&adam);
        ncsn_dsm_work_free(&w);
        free(gb);
        ncsn_model_free(&m);
    }
    free(xb);
    free(zb);
}

static void bench_sample(const bench_opts *o, const double *all_sigmas, bench_row *r) {
    const int reps = o->quick ? 1 : 3;
    const int n = o->chains, L = o->levels, T = o->T;
    /* L levels spread over the notebook's 100, sampled with the notebook's eps */
    double sig[BL];
    for (int i = 0; i < L; i++) sig[i] = all_sigmas[(BL - 1) * i / (L > 1 ? L - 1 : 1)];
    ncsn_model m;
    ncsn_model_alloc(&m, BD, BE, BH, 0, 0);
    ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * BD);
    const double evals = (double)n * L * T;
    const ncsn_key ks = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_START);
    const ncsn_key kn = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE);
    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, T, 0.001, 0, sig, L};
    ncsn_score_fn score = {&m, NULL};
    r->sample_eps = 0;
    r->sample_ref_eps = 0;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_sampler_start(ks, n, BD, -8, 8, x);
        double t0 = ncsn_now();
        ncsn_sample(&s, score, kn, x, n, BD, NULL, NULL);
        double e = evals / (ncsn_now() - t0);
        if (e > r->sample_eps) r->sample_eps = e;
        r->sample_hash = fnv1a(x, sizeof(float) * (size_t)n * BD, 14695981039346656037ull);
    }
    /* the reference: fewer steps */
    const int Tr = T / 4 > 1 ? T / 4 : 1;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_sampler_start(ks, n, BD, -8, 8, x);
        double t0 = ncsn_now();
        ref_sample(&m, sig, L, Tr, 0.001, kn, x, n);
        double e = (double)n * L * Tr / (ncsn_now() - t0);
        if (e > r->sample_ref_eps) r->sample_ref_eps = e;
    }
    free(x);
    ncsn_model_free(&m);
}

/* ---- the instruction-set variants give the same bits --------------------------------- */

enum { ISA_STEPS = 20, ISA_CHAINS = 300 };

/* Training (ISA_STEPS Adam steps) and sampling (a few hundred chains, two levels) once with the
 * baseline kernels (fmaf per lane: slow, hence the small sizes) and once with the CPU's;
 * *same_* = the results are bit-identical (trivially where the CPU's is the baseline). */
static void bench_isa_identity(const double *sigmas, const float *data, int n, int *same_train,
                               int *same_sample) {
    enum { STEPS = ISA_STEPS, CHAINS = ISA_CHAINS, T = 10 };
    uint64_t th[2], sh[2];
    ncsn_config cfg;
    ncsn_config_default(&cfg);
    cfg.train.steps = STEPS;
    cfg.train.batch = BB;
    cfg.train.log_every = STEPS;
    double sig[2] = {sigmas[0], sigmas[BL - 1]};
    float *x = ncsn_xmalloc(sizeof(float) * CHAINS * BD);
    for (int r = 0; r < 2; r++) {
        ncsn_isa_force(r ? NCSN_ISA_AVX2_FMA : NCSN_ISA_BASELINE);
        ncsn_model m;
        ncsn_model_alloc(&m, BD, BE, BH, 0, 0);
        ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
        ncsn_train_log log;
        ncsn_train(&cfg, 0, sigmas, BL, data, n, &m, NULL, &log, NULL, NULL);
        th[r] = fnv1a(m.params, sizeof(float) * m.n_params, 14695981039346656037ull);
        ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, T, 0.001, 0, sig, 2};
        ncsn_score_fn score = {&m, NULL};
        ncsn_sampler_start(ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_START), CHAINS, BD, -8, 8, x);
        ncsn_sample(&s, score, ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE), x, CHAINS, BD, NULL,
                    NULL);
        sh[r] = fnv1a(x, sizeof(float) * CHAINS * BD, 14695981039346656037ull);
        ncsn_train_log_free(&log);
        ncsn_model_free(&m);
    }
    ncsn_isa_force(NCSN_ISA_AUTO);
    *same_train = th[0] == th[1];
    *same_sample = sh[0] == sh[1];
    free(x);
    ncsn_config_free(&cfg);
}

/* ---- sweep throughput: the real `ncsn sweep`, as a child process --------------------- */

/* 4 configurations of sweeps/notebook-sweep.yaml (its sizes: 30000 steps, 5000 chains,
 * 100 levels x T 100), the eps and EMA axes, one seed. */
static const char *bench_sweep_yaml =
    "seed: 0\n"
    "dataset: {name: gmm, n: 1000, weights: [0.95, 0.05], means: [[-5, -5], [5, 5]], std: 1.0}\n"
    "model: {emb: 16, hidden: 128, sigma_input: sigma, scale_by_sigma: false}\n"
    "train: {steps: 30000, batch: 128, lr: 0.001, ema: [0, 0.999]}\n"
    "noise: {sigma_1: 20, sigma_L: 0.1, L: 100}\n"
    "sample: {n: 5000, T: 100, eps: [0.001, auto]}\n"
    "sweep: {repeats: 1}\n";
enum { BENCH_SWEEP_RUNS = 4 };

typedef struct {
    int P, threads;  /* ranks, OpenMP threads per rank */
    double seconds;  /* wall time of the whole sweep; < 0 when not run */
    char note[4400]; /* why not, when not */
} sweep_row;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The directory of PATH that holds name, or "" (searched like execvp). */
static int find_in_path(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && len + strlen(name) + 2 < cap) {
            snprintf(out, cap, "%.*s/%s", (int)len, path, name);
            if (access(out, X_OK) == 0) return 1;
        }
        if (!end) break;
        path = end + 1;
    }
    return 0;
}

extern char **environ;

/* Runs argv with stdout and stderr to log, OMP_NUM_THREADS = threads (and the Open MPI
 * root permissions when root); returns the exit status, or -1. */
static int spawn_wait(char **argv, const char *log, int threads) {
    char omp[32];
    snprintf(omp, sizeof omp, "%d", threads);
    setenv("OMP_NUM_THREADS", omp, 1);
    if (geteuid() == 0) {
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bench_sweeps(sweep_row *rows, int *n_rows, int max_t) {
    *n_rows = 0;
    char self[4096], mpiexec[4096], dir[4096], file[4200], log[4200], out[4200];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ncsn-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int ok = len > 0 && mkdtemp(dir) != NULL;
    if (len > 0) self[len] = 0;
    snprintf(file, sizeof file, "%s/sweep.yaml", dir);
    snprintf(log, sizeof log, "%s/sweep.log", dir);
    FILE *fp = ok ? fopen(file, "w") : NULL;
    if (fp) {
        fputs(bench_sweep_yaml, fp);
        ok = fclose(fp) == 0;
    } else {
        ok = 0;
    }
    const int have_mpiexec = find_in_path("mpiexec", mpiexec, sizeof mpiexec);
    const char *old_omp = getenv("OMP_NUM_THREADS");
    char saved_omp[64];
    const int had_omp = old_omp && strlen(old_omp) < sizeof saved_omp;
    if (had_omp) strcpy(saved_omp, old_omp);
    int keep = 0; /* keep the directory (and its log) after a failure */
    for (int P = 1; P <= 2; P++) {
        sweep_row *r = &rows[(*n_rows)++];
        memset(r, 0, sizeof *r);
        r->P = P;
        r->threads = max_t / P > 1 ? max_t / P : 1;
        r->seconds = -1;
        if (!ok) {
            snprintf(r->note, sizeof r->note, "skipped: no temporary directory or no /proc/self/exe");
            continue;
        }
        snprintf(out, sizeof out, "%s/p%d", dir, P);
        char np[16];
        snprintf(np, sizeof np, "%d", P);
        char *argv_1[] = {self, "sweep", file, "-q", "-o", out, NULL};
        char *argv_p[] = {mpiexec, "-n", np, "--oversubscribe", "-x", "OMP_NUM_THREADS",
                          self, "sweep", file, "-q", "-o", out, NULL};
        if (P > 1 && !have_mpiexec) {
            snprintf(r->note, sizeof r->note, "skipped: mpiexec not found in PATH");
            continue;
        }
        fprintf(stderr, "bench: timing `ncsn sweep` of %d runs with P = %d (%d thread%s each)...\n",
                BENCH_SWEEP_RUNS, P, r->threads, r->threads > 1 ? "s" : "");
        const double t0 = ncsn_now();
        const int rc = spawn_wait(P > 1 ? argv_p : argv_1, log, r->threads);
        const double t1 = ncsn_now();
        if (rc != 0) {
            snprintf(r->note, sizeof r->note, "failed: exit status %d (log: %s)", rc, log);
            keep = 1;
            continue;
        }
        r->seconds = t1 - t0;
    }
    if (had_omp) setenv("OMP_NUM_THREADS", saved_omp, 1);
    else unsetenv("OMP_NUM_THREADS");
    if (!keep && ok) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int parse_threads(const char *s, bench_opts *o) {
    o->n_threads = 0;
    while (*s) {
        char *end;
        long t = strtol(s, &end, 10);
        if (end == s || t < 1 || t > 1024 || o->n_threads == MAX_T) return -1;
        o->threads[o->n_threads++] = (int)t;
        s = end;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return o->n_threads > 0 ? 0 : -1;
}

int ncsn_cmd_bench(int argc, char **argv) {
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.steps = -1;
    o.chains = 5000;
#ifdef _OPENMP
    const int max_t = omp_get_num_procs();
#else
    const int max_t = 1;
#endif
    o.threads[o.n_threads++] = 1;
    if (max_t > 1) o.threads[o.n_threads++] = max_t;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_bench, stdout);
            return NCSN_EXIT_OK;
        } else if (!strcmp(a, "--quick")) {
            o.quick = 1;
        } else if (!strcmp(a, "--sweep")) {
            o.sweep = 1;
        } else if (!strcmp(a, "--json")) {
            o.json = 1;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (parse_threads(argv[++i], &o) != 0) {
                fprintf(stderr, "ncsn bench: --threads: expected a list like 1,2, got \"%s\"\n", argv[i]);
                return NCSN_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--steps") && i + 1 < argc) {
            o.steps = strtol(argv[++i], NULL, 10);
            if (o.steps < 1) {
                fprintf(stderr, "ncsn bench: --steps: expected a positive integer\n");
                return NCSN_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--chains") && i + 1 < argc) {
            o.chains = (int)strtol(argv[++i], NULL, 10);
            if (o.chains < 1) {
                fprintf(stderr, "ncsn bench: --chains: expected a positive integer\n");
                return NCSN_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "ncsn bench: unknown option \"%s\"\n%s", a, usage_bench);
            return NCSN_EXIT_USAGE;
        }
    }
    if (o.steps < 0) o.steps = o.quick ? 100 : 2000;
    o.levels = o.quick ? 2 : 4;
    o.T = o.quick ? 10 : 100;
    if (o.quick && o.chains == 5000) o.chains = 2000;

    double sigmas[BL];
    ncsn_noise_levels(20.0, 0.1, BL, sigmas);
    const int n_data = 1000;
    float *data;
    make_data(&data, n_data);

    bench_row rows[MAX_T];
    const long peak_iters = o.quick ? 2000000 : 20000000;
    for (int k = 0; k < o.n_threads; k++) {
        bench_row *r = &rows[k];
        memset(r, 0, sizeof *r);
        r->threads = o.threads[k];
        r->peak_fma = have_fma() ? measure_peak(r->threads, 0, peak_iters) : 0;
        r->peak_muladd = measure_peak(r->threads, 1, peak_iters);
        set_threads(r->threads);
        bench_train(&o, sigmas, data, n_data, r);
        set_threads(r->threads);
        bench_sample(&o, sigmas, r);
    }
    set_threads(max_t);
    int isa_train, isa_sample;
    bench_isa_identity(sigmas, data, n_data, &isa_train, &isa_sample);
    const char *isa_name = ncsn_isa_name(ncsn_isa());
    free(data);
    sweep_row sweeps[2];
    int n_sweeps = 0;
    if (o.sweep) bench_sweeps(sweeps, &n_sweeps, max_t);

    const double fte = flops_per_train_example() * BB, fev = flops_per_eval();
    int same_train = 1, same_sample = 1;
    for (int k = 1; k < o.n_threads; k++) {
        same_train &= rows[k].train_hash == rows[0].train_hash;
        same_sample &= rows[k].sample_hash == rows[0].sample_hash;
    }
    if (o.json) {
        printf("{\"network\": {\"D\": %d, \"E\": %d, \"H\": %d, \"batch\": %d, \"L\": %d},\n", BD,
               BE, BH, BB, BL);
        printf(" \"train_steps\": %ld, \"chains\": %d, \"sample_levels\": %d, \"sample_T\": %d,\n",
               o.steps, o.chains, o.levels, o.T);
        printf(" \"flops_per_train_step\": %.0f, \"flops_per_eval\": %.0f,\n", fte, fev);
        printf(" \"rows\": [\n");
        for (int k = 0; k < o.n_threads; k++) {
            const bench_row *r = &rows[k];
            double peak = r->peak_fma > 0 ? r->peak_fma : r->peak_muladd;
            printf("  {\"threads\": %d, \"peak_fma_gflops\": %.2f, \"peak_muladd_gflops\": %.2f, "
                   "\"train_us_per_step\": %.3f, \"train_ref_us_per_step\": %.3f, "
                   "\"train_gflops\": %.3f, \"train_pct_peak\": %.2f, "
                   "\"sample_evals_per_s\": %.4g, \"sample_ref_evals_per_s\": %.4g, "
                   "\"sample_gflops\": %.3f, \"sample_pct_peak\": %.2f, "
                   "\"train_hash\": \"%016llx\", \"sample_hash\": \"%016llx\"}%s\n",
                   r->threads, r->peak_fma, r->peak_muladd, r->train_us, r->train_ref_us,
                   fte / r->train_us * 1e-3, 100 * fte / r->train_us * 1e-3 / peak, r->sample_eps,
                   r->sample_ref_eps, r->sample_eps * fev * 1e-9,
                   100 * r->sample_eps * fev * 1e-9 / peak, (unsigned long long)r->train_hash,
                   (unsigned long long)r->sample_hash, k + 1 < o.n_threads ? "," : "");
        }
        printf(" ], \"bits_identical_across_threads\": {\"train\": %s, \"sample\": %s},\n",
               same_train ? "true" : "false", same_sample ? "true" : "false");
        printf(" \"kernels\": \"%s\", \"bits_identical_to_baseline\": {\"train\": %s, "
               "\"sample\": %s},\n",
               isa_name, isa_train ? "true" : "false", isa_sample ? "true" : "false");
        if (!o.sweep) {
            printf(" \"sweep\": null}\n");
            return NCSN_EXIT_OK;
        }
        printf(" \"sweep\": {\"runs\": %d, \"rows\": [", BENCH_SWEEP_RUNS);
        for (int k = 0; k < n_sweeps; k++) {
            const sweep_row *w = &sweeps[k];
            printf("%s\n  {\"P\": %d, \"threads_per_rank\": %d, ", k ? "," : "", w->P, w->threads);
            if (w->seconds >= 0)
                printf("\"seconds\": %.3f, \"runs_per_hour\": %.1f}", w->seconds,
                       BENCH_SWEEP_RUNS * 3600.0 / w->seconds);
            else
                printf("\"seconds\": null, \"runs_per_hour\": null, \"note\": \"%s\"}", w->note);
        }
        printf("]}}\n");
        return NCSN_EXIT_OK;
    }
    printf("ncsn bench%s: D %d, emb %d, hidden %d; training batch %d over %d levels, %ld steps;\n"
           "sampling %d chains, %d levels x T %d. FLOPs are the plain network's: %.0f per "
           "training step, %.0f per evaluation.\n\n",
           o.quick ? " --quick" : "", BD, BE, BH, BB, BL, o.steps, o.chains, o.levels, o.T, fte,
           fev);
    printf("%-8s %12s %12s | %11s %11s %7s %8s %7s | %11s %11s %7s %8s %7s\n", "threads",
           "peak FMA", "peak mul+add", "train us", "ref us", "speedup", "GFLOP/s", "%peak",
           "sample ev/s", "ref ev/s", "speedup", "GFLOP/s", "%peak");
    for (int k = 0; k < o.n_threads; k++) {
        const bench_row *r = &rows[k];
        double peak = r->peak_fma > 0 ? r->peak_fma : r->peak_muladd;
        double tg = fte / r->train_us * 1e-3, sg = r->sample_eps * fev * 1e-9;
        printf("%-8d %12.1f %12.1f | %11.2f %11.1f %6.1fx %8.2f %6.1f%% | %11.3g %11.3g %6.1fx "
               "%8.2f %6.1f%%\n",
               r->threads, r->peak_fma, r->peak_muladd, r->train_us, r->train_ref_us,
               r->train_ref_us / r->train_us, tg, 100 * tg / peak, r->sample_eps,
               r->sample_ref_eps, r->sample_eps / r->sample_ref_eps, sg, 100 * sg / peak);
    }
    if (o.n_threads > 1) {
        printf("\nscaling %d -> %d threads: training %.2fx, sampling %.2fx\n", rows[0].threads,
               rows[o.n_threads - 1].threads, rows[0].train_us / rows[o.n_threads - 1].train_us,
               rows[o.n_threads - 1].sample_eps / rows[0].sample_eps);
        printf("results bit-identical across thread counts: training %s, sampling %s\n",
               same_train ? "yes" : "NO", same_sample ? "yes" : "NO");
    }
    printf("kernels: %s; results bit-identical to the baseline kernels (fmaf per lane; %d "
           "steps, %d chains): training %s, sampling %s\n",
           isa_name, ISA_STEPS, ISA_CHAINS, isa_train ? "yes" : "NO", isa_sample ? "yes" : "NO");
    if (o.sweep) {
        printf("\nsweep: `ncsn sweep` of %d configurations of sweeps/notebook-sweep.yaml at full "
               "size (30000 steps, 5000 chains x 100 levels x T 100)\n",
               BENCH_SWEEP_RUNS);
        for (int k = 0; k < n_sweeps; k++) {
            const sweep_row *w = &sweeps[k];
            if (w->seconds >= 0)
                printf("  P = %d (%d thread%s per rank): %7.1f s, %7.1f runs/hour\n", w->P,
                       w->threads, w->threads > 1 ? "s" : "", w->seconds,
                       BENCH_SWEEP_RUNS * 3600.0 / w->seconds);
            else
                printf("  P = %d: %s\n", w->P, w->note);
        }
    }
    return NCSN_EXIT_OK;
}
