/* run/resources.c: the peak memory of a run before it starts (resources.h): its sizes from a
 * configuration or a plan, the bytes each phase holds at once (docs/cluster.md, Sizing a
 * job, lists the terms; each is the allocation of the module named beside it), the memory
 * the process may use, and the refusal that names the key. Every size is a 64-bit product
 * checked for overflow: one that overflows saturates, and the run is refused like any other
 * that does not fit. */
#include "ncsn/resources.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ncsn/h5util.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"
#include "ncsn/plan.h"
#include "ncsn/text.h"

#define MiB ((uint64_t)1 << 20)

/* ---- the sizes ----------------------------------------------------------------------- */

/* The counts that follow from the others: P, the sampler's levels, the metrics' sets. */
static void derive(ncsn_run_sizes *s) {
    const int64_t D = s->D, E = s->E, H = s->H;
    s->P = E + E + E * E + E + H * (D + E) + H + D * H + D; /* ncsn_model_param_count */
    s->levels = s->plain ? 1 : s->L;
    if (s->generator) {
        s->n_ref = s->n_floor = s->n;
    } else {
        s->n_ref = s->n < s->file_held ? s->n : s->file_held;
        s->n_floor = s->n < s->file_train ? s->n : s->file_train;
    }
}

/* The hdf5 file's rows and columns without reading its values; 0 and 0 when it cannot be
 * read (the run says why when it opens the file). The last file's are kept: the runs of a
 * sweep share theirs (configuration loading is single-threaded). */
static void file_shape(const ncsn_config *c, int64_t *rows, int64_t *cols) {
    static char last_path[NCSN_PATH_MAX], last_key[NCSN_PATH_MAX];
    static int64_t last_rows, last_cols;
    if (last_path[0] && !strcmp(last_path, c->dataset.path) && !strcmp(last_key, c->dataset.key)) {
        *rows = last_rows;
        *cols = last_cols;
        return;
    }
    ncsn_h5_array_info info;
    *rows = *cols = 0;
    if (ncsn_h5_array_shape(c->dataset.path, c->dataset.key, &info) == NCSN_H5_ARRAY_OK) {
        *rows = (int64_t)info.dims[0];
        *cols = (int64_t)info.dims[1];
    }
    snprintf(last_path, sizeof last_path, "%s", c->dataset.path);
    snprintf(last_key, sizeof last_key, "%s", c->dataset.key);
    last_rows = *rows;
    last_cols = *cols;
}

static void common_sizes(ncsn_run_sizes *s, const ncsn_config *c, int threads, int trains,
                         int checkpoints) {
    memset(s, 0, sizeof *s);
    s->E = c->model.sigma_input == NCSN_SIGMA_INPUT_NONE ? 0 : c->model.emb; /* model.h */
    s->H = c->model.hidden;
    s->B = c->train.batch;
    s->exact_score = c->sample.score == NCSN_SCORE_EXACT;
    s->trains = trains && !s->exact_score;
    s->steps = s->exact_score ? 0 : c->train.steps; /* the loss history, trained or read */
    s->log_every = c->train.log_every;
    s->snapshots = s->exact_score || c->train.snapshot_every <= 0
                       ? 0
                       : c->train.steps / c->train.snapshot_every;
    s->ema = c->train.ema > 0;
    s->T = c->sample.T;
    s->n = c->sample.n;
    s->plain = c->sample.method == NCSN_SAMPLE_PLAIN;
    s->denoise = c->sample.denoise;
    s->checkpoints = checkpoints;
    s->threads = threads > 0 ? threads : 1;
    s->generator = strcmp(c->dataset.name, "hdf5") != 0;
    s->labelled = !s->generator && c->dataset.labels[0];
    const int mixture = strcmp(c->dataset.name, "gmm") == 0 ||
                        (strcmp(c->dataset.name, "manifold") == 0 &&
                         strcmp(c->dataset.base, "gmm") == 0);
    s->K = mixture ? c->dataset.k : 0;
}

int ncsn_run_sizes_of(ncsn_run_sizes *s, const ncsn_config *c, int threads, int trains,
                      int checkpoints, ncsn_error *err) {
    common_sizes(s, c, threads, trains, checkpoints);
    s->D = c->dataset.dim;
    s->n_train = c->dataset.n;
    if (!s->generator) {
        int64_t rows, cols;
        file_shape(c, &rows, &cols);
        if (rows > 0) {
            const int64_t held = (int64_t)floor(c->dataset.holdout * (double)rows + 0.5);
            s->file_rows = rows;
            s->file_held = held;
            s->file_train = rows - held;
            if (s->n_train > s->file_train) s->n_train = s->file_train;
            if (c->dataset.dim_auto) s->D = cols;
        } else if (c->dataset.dim_auto) {
            s->D = 1; /* unknown: the run reports the file */
            derive(s);
            return ncsn_seterr(err, "%s:%s: cannot read its shape", c->dataset.path,
                               c->dataset.key);
        }
    }
    s->technique1 = c->noise.sigma_1_auto;
    if (!c->noise.L_auto) {
        s->L = c->noise.L;
    } else if (!c->noise.sigma_1_auto) { /* Technique 2 needs only numbers */
        ncsn_techniques t;
        ncsn_techniques_chain(&t, (int)s->D, c->noise.sigma_1, c->noise.sigma_L, 0, c->sample.T);
        s->L = t.L > 0 ? t.L : NCSN_L_ASSUMED;
        s->L_assumed = t.L <= 0;
    } else {
        s->L = NCSN_L_ASSUMED;
        s->L_assumed = 1;
    }
    derive(s);
    return 0;
}

void ncsn_run_sizes_set_L(ncsn_run_sizes *s, int64_t L) {
    s->L = L;
    s->L_assumed = 0;
    derive(s);
}

void ncsn_run_sizes_of_plan(ncsn_run_sizes *s, const ncsn_plan *p, int threads, int trains,
                            int checkpoints) {
    const ncsn_config *c = &p->cfg;
    common_sizes(s, c, threads, trains, checkpoints);
    s->D = p->D;
    s->L = p->L;
    s->n_train = c->dataset.n;
    s->technique1 = c->noise.sigma_1_auto;
    s->generator = p->ds.sample != NULL;
    if (!s->generator) {
        s->file_train = p->ds.n_train;
        s->file_held = p->ds.n_heldout;
        s->file_rows = s->file_train + s->file_held;
        s->labelled = p->ds.train_labels != NULL;
    }
    derive(s);
}

/* ---- arithmetic that saturates ------------------------------------------------------- */

typedef struct {
    int overflow;
} calc;

static uint64_t mul(calc *k, uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        k->overflow = 1;
        return UINT64_MAX;
    }
    return r;
}

static uint64_t add(calc *k, uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        k->overflow = 1;
        return UINT64_MAX;
    }
    return r;
}

static uint64_t mul3(calc *k, uint64_t a, uint64_t b, uint64_t c) { return mul(k, mul(k, a, b), c); }
static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t u(int64_t v) { return v > 0 ? (uint64_t)v : 0; }
static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }
static uint64_t round_up(calc *k, uint64_t a, uint64_t to) { return mul(k, ceil_div(a, to), to); }

/* ---- the terms ----------------------------------------------------------------------- */

/* The loss history's capacity in entries (trainer.c: doubling from 256). */
static uint64_t log_capacity(const ncsn_run_sizes *s) {
    const uint64_t entries = u(s->steps) / (s->log_every > 0 ? u(s->log_every) : 1) + 2;
    uint64_t cap = 256;
    while (cap < entries && cap <= UINT64_MAX / 2) cap *= 2;
    return cap < entries ? entries : cap;
}

/* An HDF5 file built in memory and copied out (h5util.c, ncsn_h5_image): the core
 * driver's buffer in 1 MiB increments, the image, and a filter's chunk buffer. */
static uint64_t image_bytes(calc *k, uint64_t file, uint64_t chunk_buffer) {
    const uint64_t body = add(k, file, 64 * 1024); /* attributes, the configuration */
    return add(k, add(k, round_up(k, body, MiB), body), chunk_buffer);
}

/* What stays from loading to writing: the data set, the training points, sigma. */
static uint64_t persistent(calc *k, const ncsn_run_sizes *s) {
    const uint64_t D = u(s->D);
    uint64_t b = mul3(k, u(s->n_train), D, 4); /* the training points (plan.h) */
    b = add(k, b, mul(k, u(s->L), 8));                     /* the noise levels */
    if (s->generator) { /* the mixture (data.h), a manifold's map */
        b = add(k, b, add(k, mul3(k, u(s->K), D, 16), mul(k, D, 16)));
    } else { /* the file's rows as floats, split (dataset_h5.c), and their labels */
        b = add(k, b, mul3(k, u(s->file_rows), D, 4));
        if (s->labelled) b = add(k, b, mul(k, u(s->file_rows), 4));
    }
    return b;
}

/* Reading the file (dataset_h5.c) and Technique 1 (techniques.c). */
static uint64_t load_peak(calc *k, const ncsn_run_sizes *s, uint64_t keep) {
    const uint64_t D = u(s->D), N = u(s->file_rows), n = u(s->n_train);
    uint64_t file = 0;
    if (!s->generator) { /* the array in double, the shuffle, the labels, the split rows */
        file = add(k, mul3(k, N, D, 12), mul(k, N, 4));
        if (s->labelled) file = add(k, file, mul(k, N, 8 + 4 + 4));
        file = add(k, file, MiB); /* HDF5's conversion buffer */
    }
    uint64_t t1 = 0;
    if (s->technique1) /* radii (16 B a point) and the tiles of 128 points in double */
        t1 = add(k, mul(k, n, 16), mul3(k, mul(k, ceil_div(n, 128), 128), D, 8));
    return max2(file, add(k, keep, t1));
}

/* Training (trainer.c, dsm.c, dsm_fast.c, adam.c): the weights, EMA, Adam's moments, the
 * gradient, the per-shard gradients, the fast path's tables, the batch, the loss history,
 * and a checkpoint's image. */
static uint64_t train_peak(calc *k, const ncsn_run_sizes *s, uint64_t keep) {
    if (!s->trains) return 0;
    const uint64_t D = u(s->D), E = u(s->E), H = u(s->H), B = u(s->B), P = u(s->P),
                   t = u(s->threads), L = u(s->L), K = E + 1;
    /* model, m, v, gradient, EMA; the reference path's per-shard gradients (E > 32: the
     * fast path leaves them untouched) */
    const uint64_t copies = 4 + (s->ema ? 1 : 0) + (E > 32 ? ceil_div(B, 16) : 0);
    uint64_t b = add(k, keep, mul3(k, P, copies, 4));
    b = add(k, b, mul3(k, t, add(k, mul(k, 2, E + H), 3 * D), 4)); /* acts, x' z per thread */
    if (E <= 32) { /* the fast path's tables */
        uint64_t f = add(k, mul(k, B, add(k, 3 + 2 * D, H)), mul(k, D + E, H));
        f = add(k, f, add(k, E * E, mul(k, K, add(k, 4 * E, 4 * H))));
        b = add(k, b, add(k, mul(k, f, 4), mul(k, B, 24)));
        if (!(E % 8 == 0 && H % 8 == 0 && D <= 6)) { /* the blocked path's */
            const uint64_t ob = H >= 256 ? 128 : 64, n_blk = ceil_div(H, ob);
            uint64_t g = mul(k, B, add(k, 3, 2 * H));
            /* each thread's W_1x' (D, ob) and W_2 (D, ob) of one block, panel-major */
            const uint64_t pack = mul(k, 2 * ob, D) + 32;
            g = add(k, g, mul(k, t, pack));
            g = add(k, g, mul(k, D, H)); /* the scratch of W_2's change of layout (model.h) */
            g = add(k, g, mul(k, K, 4 * E + 2 * H));
            g = add(k, g, add(k, mul3(k, n_blk, B, D), mul3(k, n_blk, K, 2 * E)));
            b = add(k, b, mul(k, g, 4));
        }
        b = add(k, b, mul3(k, L, 2, 12)); /* per-level marks, up to twice L */
    }
    b = add(k, b, add(k, mul(k, L, 4), mul(k, u(s->n_train), 4))); /* sigma, the epoch's order */
    b = add(k, b, mul3(k, B, add(k, 2 * D, 1), 4));                 /* the batch */
    const uint64_t log = mul(k, log_capacity(s), 12);
    b = add(k, b, log);
    if (s->checkpoints) { /* weights, EMA, moments and history, Fletcher-32 chunks */
        const uint64_t ck = add(k, mul3(k, P, 3 + (s->ema ? 1 : 0), 4), log);
        b = add(k, b, image_bytes(k, ck, mul(k, P, 4) < 64 * MiB ? mul(k, P, 4) : 64 * MiB));
    }
    return b;
}

/* The weights that live past training: the model, the EMA copy it samples with, and the
 * snapshots (each a model and, with EMA, its copy), trained or read from a run file. */
static uint64_t weights(calc *k, const ncsn_run_sizes *s) {
    const uint64_t kept = mul3(k, u(s->P), s->trains && s->ema ? 2 : 1, 4);
    return add(k, kept, mul3(k, mul(k, u(s->snapshots), u(s->P)), s->ema ? 2 : 1, 4));
}

/* Sampling (sample.c): the chains, the level's packed weights, each thread's block, a
 * sampling checkpoint, the denoising step's scores. */
static uint64_t sample_peak(calc *k, const ncsn_run_sizes *s, uint64_t keep) {
    const uint64_t D = u(s->D), H = u(s->H), t = u(s->threads), n = u(s->n);
    const uint64_t chains = mul3(k, n, D, 4);
    uint64_t b = add(k, keep, chains);
    uint64_t level;
    if (s->exact_score) level = mul3(k, t, mul(k, 4 * 64, D), 4);
    else if (s->D == 2) level = mul(k, H, 72 * 4);
    else level = add(k, mul3(k, D, H, 8), mul3(k, t, mul(k, 48, add(k, H, 2 * D)), 4));
    b = add(k, b, add(k, level, mul(k, H, 4)));
    uint64_t extra = s->denoise ? chains : 0;
    if (s->checkpoints) {
        const uint64_t ck = add(k, add(k, chains, mul(k, u(s->P), 4)), mul(k, log_capacity(s), 12));
        extra = max2(extra, image_bytes(k, ck, chains < 64 * MiB ? chains : 64 * MiB));
    }
    return add(k, b, extra);
}

/* The median's selection (metrics.c, ncsn_median_pairwise_distance) keeps the squared
 * distances of the one or two buckets (of 2^16) around the median: about 0.01 sqrt(D) of
 * the n (n - 1) / 2 pairs for Gaussian data (measured at D = 2 to 1024; a data set whose
 * distances crowd around their median keeps more), and as much again in the threads'
 * doubling buffers they are gathered in. */
static uint64_t median_peak(calc *k, const ncsn_run_sizes *s) {
    const uint64_t m = u(s->n_ref), t = u(s->threads);
    const uint64_t pairs = m > 1 ? mul(k, m, m - 1) / 2 : 0;
    double f = 0.01 * sqrt((double)(s->D > 0 ? s->D : 1));
    if (f > 1) f = 1;
    const uint64_t kept = (uint64_t)((double)pairs * f) + 1;
    const uint64_t pass1 = mul3(k, (uint64_t)1 << 16, t + 1, 8);
    const uint64_t pass2 = add(k, mul(k, kept, 16), mul(k, t, 8192)); /* sel, the buffers */
    return max2(pass1, pass2);
}

/* The metrics (metrics.c, fd.c, nn.c, classify.c): the reference and noise-floor sets, then
 * the largest working set of one metric at a time. */
static uint64_t metrics_peak(calc *k, const ncsn_run_sizes *s, uint64_t keep) {
    const uint64_t D = u(s->D), n = u(s->n), t = u(s->threads), nr = u(s->n_ref),
                   nf = u(s->n_floor), L = u(s->L);
    uint64_t b = add(k, keep, mul3(k, add(k, nr, nf), D, 4));
    b = add(k, b, mul(k, L, 8));                   /* the score error's result */
    b = add(k, b, add(k, mul3(k, n, D, 4), n));    /* the good samples' copy, the bad marks */
    uint64_t w = median_peak(k, s);
    const uint64_t big = max2(n, nf) > nr ? max2(n, nf) : nr;
    /* SWD: each thread's two projections and sort keys */
    w = max2(w, mul3(k, t, add(k, add(k, big, nr), mul(k, 2, big)), 8));
    /* FD: the covariances, eigenvectors and products, and a centred copy of a set */
    const uint64_t DD = mul(k, D, D);
    uint64_t fd = max2(mul(k, 4, DD), add(k, mul(k, 2, DD), mul(k, big, D)));
    w = max2(w, mul(k, add(k, fd, mul(k, D, 16)), 8));
    /* nn_ratio: the training points in blocks of 8 lanes of double, the distances */
    w = max2(w, add(k, mul3(k, mul(k, ceil_div(u(s->n_train), 8), 8), D, 8),
                    mul(k, add(k, n, nr), 8)));
    if (s->labelled) w = max2(w, mul(k, max2(n, u(s->file_held)), 4));
    if (s->K > 0) {
        w = max2(w, mul(k, n, 4)); /* each sample's mode */
        if (!s->exact_score) { /* the score error's partial sums, each thread's block */
            const uint64_t nb = ceil_div(NCSN_SCORE_ERROR_POINTS, 64);
            w = max2(w, add(k, mul3(k, L, nb, 16), mul3(k, t, add(k, mul(k, 128, D), 3 * D), 4)));
        }
    }
    return add(k, b, w);
}

/* Writing the run file (runfile.c): the samples, the weights, the history, sigma and the
 * score error, as an image. */
static uint64_t write_peak(calc *k, const ncsn_run_sizes *s, uint64_t keep) {
    const uint64_t chains = mul3(k, u(s->n), u(s->D), 4);
    const uint64_t hist = mul(k, u(s->steps) / (s->log_every > 0 ? u(s->log_every) : 1) + 2, 12);
    uint64_t file = add(k, add(k, chains, mul(k, u(s->P), 4)), hist);
    file = add(k, file, mul3(k, mul(k, u(s->snapshots), u(s->P)), s->ema ? 2 : 1, 4));
    file = add(k, file, mul(k, u(s->L), 16));
    return add(k, add(k, add(k, keep, chains), mul(k, u(s->L), 8)), image_bytes(k, file, 0));
}

static void estimate_once(const ncsn_run_sizes *s, uint64_t baseline, ncsn_memory *m) {
    calc k = {0};
    memset(m, 0, sizeof *m);
    const uint64_t keep = persistent(&k, s);
    const uint64_t later = add(&k, add(&k, keep, weights(&k, s)), mul(&k, log_capacity(s), 12));
    m->phase[NCSN_PHASE_LOAD] = load_peak(&k, s, keep);
    m->phase[NCSN_PHASE_TRAIN] = train_peak(&k, s, keep);
    m->phase[NCSN_PHASE_SAMPLE] = sample_peak(&k, s, later);
    const uint64_t with_samples = add(&k, later, mul3(&k, u(s->n), u(s->D), 4));
    m->phase[NCSN_PHASE_METRICS] = metrics_peak(&k, s, with_samples);
    m->phase[NCSN_PHASE_WRITE] = write_peak(&k, s, later);
    m->peak_phase = 0;
    for (int i = 0; i < NCSN_N_PHASES; i++) {
        m->phase[i] = add(&k, m->phase[i], baseline);
        if (m->phase[i] > m->phase[m->peak_phase]) m->peak_phase = i;
    }
    m->overflow = k.overflow;
    m->peak = k.overflow ? UINT64_MAX : m->phase[m->peak_phase];
}

/* The keys whose size the memory grows with, each set to its smallest. */
typedef struct {
    const char *key;
    void (*smallest)(ncsn_run_sizes *s);
} size_key;

static void least_n(ncsn_run_sizes *s) { s->n = 1; }
static void least_L(ncsn_run_sizes *s) { s->L = 1; }
static void least_train(ncsn_run_sizes *s) { s->n_train = s->n_train < 2 ? s->n_train : 2; }
static void least_H(ncsn_run_sizes *s) { s->H = 1; }
static void least_D(ncsn_run_sizes *s) { s->D = 1; }
static void least_E(ncsn_run_sizes *s) { s->E = 1; }
static void least_B(ncsn_run_sizes *s) { s->B = 1; }
static void least_steps(ncsn_run_sizes *s) { s->steps = s->steps < 1 ? s->steps : 1; }
static void least_snapshots(ncsn_run_sizes *s) { s->snapshots = 0; }
static void least_file(ncsn_run_sizes *s) {
    s->file_rows = s->file_train = s->file_held = s->n_train = s->file_rows > 0 ? 2 : 0;
}

static const size_key size_keys[] = {
    {"sample.n", least_n},        {"noise.L", least_L},        {"dataset.n", least_train},
    {"model.hidden", least_H},    {"dataset.dim", least_D},    {"model.emb", least_E},
    {"train.batch", least_B},     {"train.steps", least_steps}, {"dataset.path", least_file},
    {"train.snapshot_every", least_snapshots},
};

void ncsn_memory_estimate(const ncsn_run_sizes *s, uint64_t baseline, ncsn_memory *m) {
    estimate_once(s, baseline, m);
    m->key = NULL;
    m->key_bytes = 0;
    for (size_t i = 0; i < sizeof size_keys / sizeof *size_keys; i++) {
        if (!strcmp(size_keys[i].key, "dataset.path") && s->generator) continue;
        ncsn_run_sizes less = *s;
        size_keys[i].smallest(&less);
        derive(&less);
        ncsn_memory m2;
        estimate_once(&less, baseline, &m2);
        const uint64_t saved = m->peak - m2.peak; /* peak >= m2.peak: monotone terms */
        if (m->peak >= m2.peak && (!m->key || saved > m->key_bytes)) {
            m->key = size_keys[i].key;
            m->key_bytes = saved;
        }
    }
}

const char *ncsn_phase_name(int phase) {
    static const char *const names[NCSN_N_PHASES] = {"loading the data", "training",
                                                     "sampling", "the metrics",
                                                     "writing the run file"};
    return phase >= 0 && phase < NCSN_N_PHASES ? names[phase] : "?";
}

/* ---- the process's baseline ------------------------------------------------------------ */

int ncsn_memory_baseline(int sweep_rank, uint64_t *bytes, ncsn_error *err) {
    ncsn_calibration cal;
    if (ncsn_calibration_load(&cal, NULL, err) != 0) return -1;
    *bytes = (uint64_t)(cal.baseline_bytes + (sweep_rank ? cal.sweep_bytes + cal.mpi_bytes : 0));
    return 0;
}

/* ---- the limit ------------------------------------------------------------------------- */

/* *v = the number in file path ("max" is none: UINT64_MAX). 0, or -1. */
static int read_number_file(const char *path, uint64_t *v) {
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    const int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok) return -1;
    if (!strncmp(buf, "max", 3)) {
        *v = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (end == buf || errno) return -1;
    *v = x;
    return 0;
}

/* Bytes with an optional suffix K, M, G, T (powers of 1024), e.g. "512M". */
static int parse_bytes(const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    while (isspace((unsigned char)*text)) text++;
    if (*text == '-') return -1;
    const double x = strtod(text, &end);
    if (end == text || errno || !(x >= 0)) return -1;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0, end++; break;
    case 'M': mult = 1024.0 * 1024, end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024, end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024, end++; break;
    default: break;
    }
    if (toupper((unsigned char)*end) == 'I') end++;
    if (toupper((unsigned char)*end) == 'B') end++;
    if (*end) return -1;
    const double v = x * mult;
    *out = v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
    return 0;
}

/* The mount point of the cgroup hierarchy of type fstype ("cgroup2", or "cgroup" with
 * option opt), and its root, from root/proc/self/mountinfo. */
static int cgroup_mount(const char *root, const char *fstype, const char *opt, char *mnt,
                        size_t mnt_size, char *mroot, size_t mroot_size) {
    char path[4200], line[4096];
    snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
        char r[2048], m[2048], type[64], super[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %2047s %2047s", r, m) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", type, super) != 2)
            continue;
        if (strcmp(type, fstype) != 0) continue;
        if (opt) { /* one of the comma-separated super options */
            int has = 0;
            for (char *tok = strtok(super, ","); tok; tok = strtok(NULL, ","))
                has |= strcmp(tok, opt) == 0;
            if (!has) continue;
        }
        snprintf(mnt, mnt_size, "%s%s", root, m);
        snprintf(mroot, mroot_size, "%s", r);
        found = 0;
    }
    fclose(f);
    return found;
}

/* The smallest limit on the way from this process's cgroup up to the hierarchy's root:
 * the file `name` in each directory. 0 when one was read (*v UINT64_MAX when none is set). */
static int cgroup_limit(const char *root, int v2, char *source, size_t source_size,
                        uint64_t *v) {
    char path[8500], line[4096], cg[4096] = "";
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) { /* "0::/path" (v2), "4:memory:/path" (v1) */
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b) continue;
        line[strcspn(line, "\n")] = 0;
        *a = *b = 0;
        const char *controllers = a + 1;
        int match = v2 ? strcmp(line, "0") == 0 && !*controllers : 0;
        if (!v2) {
            char list[4096];
            snprintf(list, sizeof list, "%s", controllers);
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
                match |= strcmp(tok, "memory") == 0;
        }
        if (match) snprintf(cg, sizeof cg, "%s", b + 1);
    }
    fclose(f);
    if (!cg[0]) return -1;
    char mnt[4200], mroot[2048];
    if (cgroup_mount(root, v2 ? "cgroup2" : "cgroup", v2 ? NULL : "memory", mnt, sizeof mnt,
                     mroot, sizeof mroot) != 0)
        return -1;
    /* the cgroup's path below the mount's root (a container sees its own cgroup as /) */
    const char *rel = cg;
    const size_t rl = strlen(mroot);
    if (strcmp(mroot, "/") != 0 && !strncmp(cg, mroot, rl) && (cg[rl] == '/' || !cg[rl]))
        rel = cg + rl;
    const char *file = v2 ? "memory.max" : "memory.limit_in_bytes";
    char dir[8400];
    snprintf(dir, sizeof dir, "%s%s", mnt, rel);
    int any = -1;
    *v = UINT64_MAX;
    for (;;) { /* every ancestor's limit applies too */
        uint64_t x;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (read_number_file(path, &x) == 0) {
            any = 0;
            if (x < *v) *v = x;
        }
        if (strlen(dir) <= strlen(mnt)) break;
        char *slash = strrchr(dir, '/');
        if (!slash) break;
        *slash = 0;
    }
    /* cgroup v1 writes "no limit" as a huge page-aligned number */
    if (!v2 && *v >= ((uint64_t)1 << 62)) *v = UINT64_MAX;
    snprintf(source, source_size, "the cgroup's %s", file);
    return any;
}

/* MemAvailable (or MemTotal) of root/proc/meminfo, bytes. */
static int meminfo(const char *root, const char *name, uint64_t *v) {
    char path[4200], line[256];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int rc = -1;
    const size_t len = strlen(name);
    while (rc && fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (!strncmp(line, name, len) && line[len] == ':' &&
            sscanf(line + len + 1, "%llu", &kb) == 1) {
            *v = (uint64_t)kb * 1024;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int ncsn_memory_limit(const char *root, uint64_t *bytes, const char **source, ncsn_error *err) {
    static char cg_source[64];
    const char *env = getenv("NCSN_MEMORY_LIMIT");
    if (env && *env) {
        if (parse_bytes(env, bytes) != 0)
            return ncsn_seterr(err, "NCSN_MEMORY_LIMIT=%s: expected a number of bytes (with "
                               "an optional K, M, G or T)", env);
        *source = "NCSN_MEMORY_LIMIT";
        return 0;
    }
    uint64_t v;
    if ((cgroup_limit(root, 1, cg_source, sizeof cg_source, &v) == 0 ||
         cgroup_limit(root, 0, cg_source, sizeof cg_source, &v) == 0) &&
        v != UINT64_MAX) {
        *bytes = v;
        *source = cg_source;
        return 0;
    }
    if (meminfo(root, "MemAvailable", &v) == 0) {
        *bytes = v;
        *source = "MemAvailable in /proc/meminfo";
        return 0;
    }
    if (meminfo(root, "MemTotal", &v) == 0) {
        *bytes = v;
        *source = "MemTotal in /proc/meminfo";
        return 0;
    }
    *bytes = UINT64_MAX;
    *source = "none";
    return 0;
}

/* ---- the refusal --------------------------------------------------------------------- */

void ncsn_bytes_text(uint64_t bytes, char *buf, size_t size) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes == UINT64_MAX) {
        snprintf(buf, size, "more than 16 EiB");
        return;
    }
    double v = (double)bytes;
    int i = 0;
    while (v >= 1024 && i < 6) v /= 1024, i++;
    if (i == 0) snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else snprintf(buf, size, "%.1f %s", v, units[i]);
}

int ncsn_memory_check(const ncsn_config *c, const ncsn_memory *m, uint64_t limit,
                      const char *source, const char *run, int share, ncsn_error *err) {
    calc k = {0};
    const uint64_t need = mul(&k, m->peak, share > 1 ? (uint64_t)share : 1);
    if (!m->overflow && !k.overflow && need <= limit) return 0;
    const char *key = m->key ? m->key : "sample.n";
    char value[200] = "", what[64], lim[64], part[64], who[80] = "the run";
    char *text = ncsn_config_key_to_yaml(c, ncsn_config_key_index(key));
    snprintf(value, sizeof value, "%s", text ? text : "?");
    free(text);
    if (run) snprintf(who, sizeof who, "run %s", run);
    if (m->overflow)
        return ncsn_config_key_error(err, c, key, "the memory of %s overflows 64-bit "
                                     "arithmetic at %s = %s: it cannot run anywhere", who, key,
                                     value);
    ncsn_bytes_text(need, what, sizeof what);
    ncsn_bytes_text(limit, lim, sizeof lim);
    ncsn_bytes_text(m->key_bytes, part, sizeof part);
    char many[96] = "";
    if (share > 1)
        snprintf(many, sizeof many, " for %d such runs at once (the ranks on this node)", share);
    return ncsn_config_key_error(err, c, key, "%s needs about %s (%llu bytes) at its "
                                 "peak (%s)%s, more than the %s (%llu bytes) this process may "
                                 "use (%s); %s = %s accounts for %s of it",
                                 who, what, (unsigned long long)need,
                                 ncsn_phase_name(m->peak_phase), many, lim,
                                 (unsigned long long)limit, source, key, value, part);
}

int ncsn_memory_check_config(const ncsn_config *c, int threads, int trains, int checkpoints,
                             ncsn_error *err) {
    ncsn_run_sizes s;
    ncsn_error ignored;
    ncsn_run_sizes_of(&s, c, threads, trains, checkpoints, &ignored);
    uint64_t baseline;
    if (ncsn_memory_baseline(0, &baseline, err) != 0) return -1;
    ncsn_memory m;
    ncsn_memory_estimate(&s, baseline, &m);
    uint64_t limit;
    const char *source;
    if (ncsn_memory_limit("", &limit, &source, err) != 0) return -1;
    return ncsn_memory_check(c, &m, limit, source, NULL, 1, err);
}

int ncsn_memory_check_plan(const ncsn_plan *p, int trains, int checkpoints, ncsn_error *err) {
    ncsn_run_sizes s;
    ncsn_run_sizes_of_plan(&s, p, ncsn_max_threads(), trains, checkpoints);
    uint64_t baseline;
    if (ncsn_memory_baseline(0, &baseline, err) != 0) return -1;
    ncsn_memory m;
    ncsn_memory_estimate(&s, baseline, &m);
    uint64_t limit;
    const char *source;
    if (ncsn_memory_limit("", &limit, &source, err) != 0) return -1;
    return ncsn_memory_check(&p->cfg, &m, limit, source, NULL, 1, err);
}
