/* cli/bench_measure.c: what `ncsn bench` measures (cli/bench.h). Each speed is the best
 * of a few repeats (the machine may be shared), and each repeat of the library's paths is
 * paired with the FMA peak measured just before it: on a shared host the same training
 * step took 1.4-1.6x as long from one minute to the next (the peak itself moved less), so
 * the share of the peak is each repeat's GFLOP/s over its own peak, the median of the
 * repeats, never a speed and a peak from different moments. Beside the library's paths
 * (ncsn_train, ncsn_sample) runs a reference: the straightforward code (per-example
 * forward and backward through model.c with scalar draws; ncsn_model_score per chain with
 * libm Box-Muller), so one run gives before/after ratios on the same machine under the
 * same load. The peak is measured here too: independent chains of fused multiply-adds of
 * the widest vectors the kernels use, every thread timing its own, summed. And each
 * measurement's steal: the share of the CPU time it wanted that the host took (bench.h,
 * bench_steal). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/cpu.h"
#include "ncsn/data.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"
#include "ncsn/sample.h"
#include "ncsn/text.h"
#include "ncsn/train.h"
#include "bench.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

void bench_set_threads(int t) {
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static double process_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The clock of train_once and bench_sample_eps: wall time, or this process's CPU time. */
static int use_cpu_clock;
void bench_use_cpu_clock(int on) { use_cpu_clock = on; }
double bench_clock(void) { return use_cpu_clock ? process_cpu_seconds() : ncsn_now(); }

double bench_flops_train_step(const bench_opts *o) { return 2.0 * BENCH_B * 5.0 * o->D * o->H; }
double bench_flops_eval(const bench_opts *o) { return 2.0 * 2.0 * o->D * o->H; }

/* ---- the host's steal ---------------------------------------------------------------- */

/* The steal time of /proc/stat's first line (every CPU), in ticks of *tick seconds; -1
 * where not readable.
 * NCSN_BENCH_PROC_STAT names another file to read instead (the tests' hosts). */
static double steal_ticks(double *tick) {
    const char *path = getenv("NCSN_BENCH_PROC_STAT");
    FILE *f = fopen(path && *path ? path : "/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8];
    const int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    const long hz = sysconf(_SC_CLK_TCK);
    *tick = hz > 0 ? 1.0 / (double)hz : 0.01;
    return got == 8 ? (double)v[7] : -1;
}

void bench_steal_start(bench_steal *s) {
    double tick;
    const double t = steal_ticks(&tick);
    s->steal = t < 0 ? -1 : t * tick;
    s->cpu = process_cpu_seconds();
}

double bench_steal_end(const bench_steal *s) {
    const double cpu = process_cpu_seconds() - s->cpu;
    double tick;
    const double t = steal_ticks(&tick);
    if (s->steal < 0 || t < 0) return -1;
    const double stolen = t * tick - s->steal; /* seconds */
    if (stolen < 0) return -1; /* a counter that went back: not known */
    const double beyond = stolen > tick ? stolen - tick : 0;
    return stolen + cpu > 0 ? beyond / (stolen + cpu) : 0;
}

/* ---- peak ---------------------------------------------------------------------------- */

typedef float v8f __attribute__((vector_size(32)));

/* FLOPs per iteration of each kernel below */
enum { FMA512_FLOPS = 16 * 16 * 2, FMA256_FLOPS = 12 * 8 * 2, MULADD_FLOPS = 12 * 8 };

#if defined(__x86_64__) && defined(__GNUC__) && !defined(NCSN_NO_CLONES)
/* N chains of fused multiply-adds of vector type VT (two FMA pipes of latency 4 need 8 in
 * flight); returns a sum of the chains so that nothing is optimised away. */
#define FMA_PEAK_BODY(VT, N, SET1, FMADD, ADD, FIRST)                                       \
    VT acc[N];                                                                             \
    const VT va = SET1(a), vb = SET1(b);                                                   \
    for (int k = 0; k < N; k++) acc[k] = SET1((float)k);                                   \
    for (long i = 0; i < iters; i++)                                                       \
        for (int k = 0; k < N; k++) acc[k] = FMADD(acc[k], va, vb);                        \
    VT s = acc[0];                                                                         \
    for (int k = 1; k < N; k++) s = ADD(s, acc[k]);                                        \
    return FIRST(s);

__attribute__((target("avx512f"))) static float fma512_kernel(long iters, float a, float b) {
    FMA_PEAK_BODY(__m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_cvtss_f32)
}

__attribute__((target("avx2,fma"))) static float fma256_kernel(long iters, float a, float b) {
    FMA_PEAK_BODY(__m256, 12, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_cvtss_f32)
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

/* One thread's GFLOP/s of kernel kind (0: the widest FMA the kernels use, 1: mul + add). */
static double peak_one(int kind, long iters, float a, float b, float *sink) {
    const double t0 = ncsn_now();
    double flops = (double)iters * MULADD_FLOPS;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(NCSN_NO_CLONES)
    if (kind == 0 && ncsn_isa() == NCSN_ISA_AVX512) {
        *sink += fma512_kernel(iters, a, b);
        flops = (double)iters * FMA512_FLOPS;
    } else if (kind == 0 && ncsn_isa() == NCSN_ISA_AVX2_FMA) {
        *sink += fma256_kernel(iters, a, b);
        flops = (double)iters * FMA256_FLOPS;
    } else
#endif
        *sink += muladd_kernel(iters, a, b);
    return flops / (ncsn_now() - t0) * 1e-9;
}

double bench_peak(int t, int kind, long iters) {
    volatile float va = 0.9999999f, vb = 1e-7f;
    const float a = va, b = vb;
    double best = 0;
    ncsn_isa(); /* decided before the threads read it */
    for (int rep = 0; rep < 3; rep++) {
        double total = 0;
        float sink = 0;
        bench_set_threads(t);
#pragma omp parallel reduction(+ : total, sink)
        {
#pragma omp barrier
            total += peak_one(kind, iters, a, b, &sink);
        }
        if (sink == 12345.0f) fprintf(stderr, " ");
        if (total > best) best = total;
    }
    return best;
}

/* ---- data ------------------------------------------------------------------------------ */

float *bench_data(int D, int n) {
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    if (D == 2) { /* the notebook's mixture */
        ncsn_gmm g;
        double w[2] = {0.95, 0.05}, mu[4] = {-5, -5, 5, 5}, sd[2] = {1, 1};
        NCSN_ASSERT(ncsn_gmm_init(&g, 2, 2, w, mu, sd) == 0);
        ncsn_gmm_sample(&g, ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_DATA), 0, n, x);
        ncsn_gmm_free(&g);
        return x;
    }
    ncsn_key k = ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_DATA);
    for (int i = 0; i < n; i++) ncsn_rng_fill_normal(k, 0, (uint32_t)i, D, x + (size_t)i * D);
    for (size_t j = 0; j < (size_t)n * D; j++) x[j] *= 3.0f;
    return x;
}

static void model_make(const bench_opts *o, ncsn_model *m) {
    ncsn_model_alloc(m, o->D, BENCH_E, o->H, 0, 0);
    ncsn_model_init_params(m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
}

/* ---- training ------------------------------------------------------------------------ */

/* One training step the straightforward way: scalar draws per example, the per-example
 * loss and gradient, Adam. */
static void ref_train_step(ncsn_key k_level, ncsn_key k_noise, uint32_t step, const float *x,
                           int n, int *levels, float *xb, float *zb, const float *sig,
                           ncsn_model *model, ncsn_model *grad, ncsn_dsm_work *w,
                           ncsn_adam *adam) {
    const int D = model->D, B = BENCH_B;
    const int pos = (int)((step * (uint32_t)B) % (uint32_t)(n - B));
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        memcpy(xb + (size_t)b * D, x + (size_t)(pos + b) * D, sizeof(float) * D);
        float u[4];
        ncsn_rng_uniform4(k_level, step, (uint32_t)b, 0, u);
        int lv = (int)(u[0] * (float)BENCH_L);
        levels[b] = lv < BENCH_L ? lv : BENCH_L - 1;
        ncsn_rng_fill_normal(k_noise, step, (uint32_t)b, D, zb + (size_t)b * D);
    }
    ncsn_dsm_loss_grad_reference(model, xb, B, levels, sig, zb, grad, w);
    ncsn_adam_step(adam, model->params, grad->params);
}

/* Microseconds per step of the reference path (best of reps). */
static double ref_train_us(const bench_opts *o, const double *sigmas, const float *data, int n,
                           long steps, int reps) {
    float sig[BENCH_L];
    for (int i = 0; i < BENCH_L; i++) sig[i] = (float)sigmas[i];
    int levels[BENCH_B];
    float *xb = ncsn_xmalloc(sizeof(float) * BENCH_B * o->D);
    float *zb = ncsn_xmalloc(sizeof(float) * BENCH_B * o->D);
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_model m, g;
        model_make(o, &m);
        float *gb = ncsn_xcalloc(m.n_params, sizeof(float));
        ncsn_model_view(&m, gb, &g);
        ncsn_dsm_work w;
        ncsn_dsm_work_alloc(&w, &m, BENCH_B);
        ncsn_adam adam;
        ncsn_adam_init(&adam, m.n_params, 1e-3, 0);
        ncsn_key kl = ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_LEVEL);
        ncsn_key kn = ncsn_rng_key(1, 0, NCSN_RNG_TRAIN_NOISE);
        double t0 = ncsn_now();
        for (long s = 0; s < steps; s++)
            ref_train_step(kl, kn, (uint32_t)s, data, n, levels, xb, zb, sig, &m, &g, &w, &adam);
        double us = (ncsn_now() - t0) / (double)steps * 1e6;
        if (us < best) best = us;
        ncsn_adam_free(&adam);
        ncsn_dsm_work_free(&w);
        free(gb);
        ncsn_model_free(&m);
    }
    free(xb);
    free(zb);
    return best;
}

/* steps Adam steps of ncsn_train from the fixed initialisation; returns the seconds, and
 * *hash the bits of the trained weights. */
static double train_once(const bench_opts *o, const double *sigmas, const float *data, int n,
                         long steps, uint64_t *hash) {
    ncsn_config cfg;
    ncsn_config_default(&cfg);
    cfg.train.steps = steps;
    cfg.train.batch = BENCH_B;
    cfg.train.log_every = steps;
    ncsn_model m;
    model_make(o, &m);
    ncsn_train_log log;
    const double t0 = bench_clock();
    ncsn_train(&cfg, 0, sigmas, BENCH_L, data, n, &m, NULL, &log, NULL, NULL);
    const double seconds = bench_clock() - t0;
    *hash = ncsn_fnv1a(m.params, sizeof(float) * m.n_params);
    ncsn_train_log_free(&log);
    ncsn_model_free(&m);
    ncsn_config_free(&cfg);
    return seconds;
}

double bench_train_us(const bench_opts *o, const double *sigmas, const float *data, int n,
                      int reps, uint64_t *hash) {
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        const double us = train_once(o, sigmas, data, n, o->steps, hash) / (double)o->steps * 1e6;
        if (us < best) best = us;
    }
    return best;
}

long bench_train_steps_for(const bench_opts *o, const double *sigmas, const float *data, int n) {
    bench_opts trial = *o;
    uint64_t hash;
    bench_set_threads(1);
    bench_use_cpu_clock(1); /* the CPU time a tick of steal is counted against */
    double us = 0;
    for (trial.steps = 20; trial.steps <= 100000; trial.steps *= 2) {
        us = bench_train_us(&trial, sigmas, data, n, 1, &hash);
        if (us * 1e-6 * (double)trial.steps >= 0.05) break;
    }
    bench_use_cpu_clock(0);
    const double steps = BENCH_MEASURE_S * 1e6 / us;
    return steps < 100 ? 100 : steps > 100000 ? 100000 : (long)steps;
}

/* Of the ratios num[i] / den[i] over n rounds: the median over all (*all), and over those
 * whose steals st_a[i] and st_b[i] are both at most BENCH_STEAL_LIMIT (*whole, -1 where none
 * is or any steal is not known; *n_whole their number, -1 where any steal is not known). */
static void ratio_medians(const double *num, const double *den, const double *st_a,
                          const double *st_b, int n, double *all, double *whole, int *n_whole) {
    NCSN_ASSERT(n >= 1 && n <= BENCH_MAX_ROUNDS);
    double ratio[BENCH_MAX_ROUNDS] = {0}, kept[BENCH_MAX_ROUNDS] = {0};
    int n_kept = 0, known = 1;
    for (int i = 0; i < n; i++) {
        ratio[i] = num[i] / den[i];
        known &= st_a[i] >= 0 && st_b[i] >= 0;
        if (st_a[i] >= 0 && st_a[i] <= BENCH_STEAL_LIMIT && st_b[i] >= 0 &&
            st_b[i] <= BENCH_STEAL_LIMIT)
            kept[n_kept++] = ratio[i];
    }
    *all = bench_median(ratio, n);
    *n_whole = known ? n_kept : -1;
    *whole = known && n_kept ? bench_median(kept, n_kept) : -1;
}

bench_scaling bench_scaling_of(const bench_row *a, const bench_row *b) {
    bench_scaling s;
    const int n = a->n_pairs;
    ratio_medians(a->train_us_each, b->train_us_each, a->train_steal_each, b->train_steal_each,
                  n, &s.train, &s.train_whole, &s.n_whole_train);
    ratio_medians(b->sample_eps_each, a->sample_eps_each, a->sample_steal_each,
                  b->sample_steal_each, n, &s.sample, &s.sample_whole, &s.n_whole_sample);
    s.train_best = a->train_us / b->train_us;
    s.sample_best = b->sample_eps / a->sample_eps;
    return s;
}

double bench_median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The peak that the shares compare with: the widest FMA the kernels use, or mul + add. */
static double paired_peak(const bench_row *r, long peak_iters) {
    const double p = bench_peak(r->threads, ncsn_isa() > NCSN_ISA_BASELINE ? 0 : 1, peak_iters);
    bench_set_threads(r->threads);
    return p;
}

void bench_train_pair(const bench_opts *o, const double *sigmas, const float *data, int n,
                      long peak_iters, bench_row *r, int round, int rounds) {
    NCSN_ASSERT(round < rounds && rounds <= BENCH_MAX_ROUNDS);
    r->n_pairs = rounds;
    r->n_peaks = 2 * rounds;
    r->peaks[round] = paired_peak(r, peak_iters);
    bench_steal st;
    bench_steal_start(&st);
    r->train_us_each[round] = bench_train_us(o, sigmas, data, n, 1, &r->train_hash);
    r->train_steal_each[round] = bench_steal_end(&st);
}

void bench_train_finish(const bench_opts *o, const double *sigmas, const float *data, int n,
                        bench_row *r) {
    double share[BENCH_MAX_ROUNDS];
    r->train_us = 1e30;
    for (int rep = 0; rep < r->n_pairs; rep++) {
        const double us = r->train_us_each[rep];
        share[rep] = bench_flops_train_step(o) / us * 1e-3 / r->peaks[rep];
        if (us < r->train_us) r->train_us = us;
    }
    r->train_share = bench_median(share, r->n_pairs);
    /* the reference: fewer steps, it is slow */
    const long ref_steps = o->quick ? 5 : o->steps / 10 > 20 ? o->steps / 10 : 20;
    r->train_ref_us = ref_train_us(o, sigmas, data, n, ref_steps, o->quick ? 1 : 3);
}

/* ---- sampling ------------------------------------------------------------------------ */

/* Annealed Langevin the straightforward way: ncsn_model_score per block of chains, libm
 * Box-Muller per draw (docs/computation.md, Samplers). */
static void ref_sample(const ncsn_model *m, const double *sigmas, int L, int T, double eps,
                       ncsn_key key, float *x, int n) {
    enum { RCB = 64 };
    const int D = m->D;
    const double sigma_L = sigmas[L - 1];
    for (int i = 0; i < L; i++) {
        const double alpha = eps * sigmas[i] * sigmas[i] / (sigma_L * sigma_L);
        const float half_alpha = (float)(alpha / 2), sqrt_alpha = (float)sqrt(alpha);
#pragma omp parallel
        {
            float *s = ncsn_xmalloc(sizeof(float) * RCB * (size_t)D);
            float *z = ncsn_xmalloc(sizeof(float) * (size_t)D);
#pragma omp for schedule(static)
            for (int c0 = 0; c0 < n; c0 += RCB) {
                const int nb = n - c0 < RCB ? n - c0 : RCB;
                float *xb = x + (size_t)c0 * D;
                for (int t = 0; t < T; t++) {
                    ncsn_model_score(m, xb, nb, (float)sigmas[i], s);
                    for (int q = 0; q < nb; q++) {
                        ncsn_rng_fill_normal(key, (uint32_t)(i * T + t), (uint32_t)(c0 + q), D, z);
                        for (int d = 0; d < D; d++)
                            xb[(size_t)q * D + d] += half_alpha * s[(size_t)q * D + d] +
                                                     sqrt_alpha * z[d];
                    }
                }
            }
            free(s);
            free(z);
        }
    }
}

/* L levels spread over the notebook's 100 */
static void spread_levels(const double *all_sigmas, int L, double *sig) {
    for (int i = 0; i < L; i++) sig[i] = all_sigmas[(BENCH_L - 1) * i / (L > 1 ? L - 1 : 1)];
}

double bench_sample_eps(const bench_opts *o, const double *all_sigmas, int reps,
                        uint64_t *hash) {
    const int D = o->D, n = o->chains, L = o->levels, T = o->T;
    double sig[BENCH_L];
    spread_levels(all_sigmas, L, sig);
    ncsn_model m;
    model_make(o, &m);
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    const ncsn_key ks = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_START);
    const ncsn_key kn = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE);
    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, T, 0.001, 0, sig, L}; /* the notebook's eps */
    ncsn_score_fn score = {&m, NULL};
    double best = 0;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_sampler_start(ks, n, D, -8, 8, x);
        double t0 = bench_clock();
        ncsn_sample(&s, score, kn, x, n, D, NULL, NULL);
        double e = (double)n * L * T / (bench_clock() - t0);
        if (e > best) best = e;
        *hash = ncsn_fnv1a(x, sizeof(float) * (size_t)n * D);
    }
    free(x);
    ncsn_model_free(&m);
    return best;
}

void bench_sample_pair(const bench_opts *o, const double *all_sigmas, long peak_iters,
                       bench_row *r, int round, int rounds) {
    NCSN_ASSERT(round < rounds && rounds == r->n_pairs);
    r->peaks[rounds + round] = paired_peak(r, peak_iters);
    bench_steal st;
    bench_steal_start(&st);
    r->sample_eps_each[round] = bench_sample_eps(o, all_sigmas, 1, &r->sample_hash);
    r->sample_steal_each[round] = bench_steal_end(&st);
}

void bench_sample_finish(const bench_opts *o, const double *all_sigmas, bench_row *r) {
    const int reps = o->quick ? 1 : 3, D = o->D;
    const int n = o->chains, L = o->levels, T = o->T;
    double sig[BENCH_L];
    spread_levels(all_sigmas, L, sig);
    ncsn_model m;
    model_make(o, &m);
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * D);
    const ncsn_key ks = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_START);
    const ncsn_key kn = ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE);
    double share[BENCH_MAX_ROUNDS];
    r->sample_eps = 0;
    for (int rep = 0; rep < r->n_pairs; rep++) {
        const double e = r->sample_eps_each[rep];
        share[rep] = e * bench_flops_eval(o) * 1e-9 / r->peaks[r->n_pairs + rep];
        if (e > r->sample_eps) r->sample_eps = e;
    }
    r->sample_share = bench_median(share, r->n_pairs);
    r->sample_ref_eps = 0;
    /* the reference: fewer chains and steps */
    const int nr = n < 1000 ? n : 1000, Tr = T / 4 > 1 ? T / 4 : 1;
    for (int rep = 0; rep < reps; rep++) {
        ncsn_sampler_start(ks, nr, D, -8, 8, x);
        double t0 = ncsn_now();
        ref_sample(&m, sig, L, Tr, 0.001, kn, x, nr);
        double e = (double)nr * L * Tr / (ncsn_now() - t0);
        if (e > r->sample_ref_eps) r->sample_ref_eps = e;
    }
    free(x);
    ncsn_model_free(&m);
}

void bench_row_peak(bench_row *r) {
    double peaks[2 * BENCH_MAX_ROUNDS];
    memcpy(peaks, r->peaks, sizeof(double) * (size_t)r->n_peaks);
    const double peak = bench_median(peaks, r->n_peaks);
    if (ncsn_isa() > NCSN_ISA_BASELINE) r->peak_fma = peak;
    else r->peak_muladd = peak;
}

/* ---- the instruction-set variants give the same bits --------------------------------- */

void bench_isa_identity(const bench_opts *o, const double *sigmas, const float *data, int n,
                        int *same_train, int *same_sample, int *steps, int *chains) {
    /* the baseline's fused multiply-adds are fmaf calls: slow, hence the small sizes */
    *steps = (long)o->D * o->H > 8192 ? 5 : 20;
    *chains = 300;
    enum { T = 10 };
    double sig[2] = {sigmas[0], sigmas[BENCH_L - 1]};
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)*chains * o->D);
    uint64_t th0 = 0, sh0 = 0;
    *same_train = *same_sample = 1;
    for (int isa = NCSN_ISA_BASELINE; isa <= ncsn_isa_best(); isa++) {
        ncsn_isa_force(isa);
        uint64_t th, sh;
        train_once(o, sigmas, data, n, *steps, &th);
        ncsn_model m;
        model_make(o, &m);
        ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, T, 0.001, 0, sig, 2};
        ncsn_score_fn score = {&m, NULL};
        ncsn_sampler_start(ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_START), *chains, o->D, -8, 8, x);
        ncsn_sample(&s, score, ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE), x, *chains, o->D,
                    NULL, NULL);
        sh = ncsn_fnv1a(x, sizeof(float) * (size_t)*chains * o->D);
        ncsn_model_free(&m);
        if (isa == NCSN_ISA_BASELINE) th0 = th, sh0 = sh;
        *same_train &= th == th0;
        *same_sample &= sh == sh0;
    }
    ncsn_isa_force(NCSN_ISA_AUTO);
    free(x);
}
