/* metrics/metrics.c: what every run measures (docs/computation.md, metrics).
 *
 * Sizes: n, m = points in the two sets compared, D = data dimension, K = mixture
 * components, L = noise levels, P = points per level for the score error,
 * N = n (n - 1) / 2 pairs of one set.
 *
 *   ncsn_median_pairwise_distance   exact median of the N distances (bucket counts, then
 *                                   quickselect within the median's bucket)
 *   ncsn_mmd2_unbiased              Gretton et al.'s unbiased MMD^2, Gaussian kernel
 *   ncsn_swd                        sliced Wasserstein-1, exact 1-D W1 per direction
 *                                   (projections sorted by radix sort)
 *   ncsn_mode_weights, _nll_true    what the known mixture says about the samples
 *   ncsn_score_error                E|s_theta - grad log q_sigma|^2 / E|grad log q_sigma|^2
 *   ncsn_metrics_compute_sets       all of them, and fd (fd.c) and nn_ratio (nn.c), for
 *                                   one run against given reference and noise-floor sets;
 *                                   _compute (a mixture's fresh sets) and _compute_dataset
 *                                   (dataset.h's sets) choose the sets
 *
 * Determinism (docs/computation.md, reproducibility): every floating-point sum is cut into
 * fixed blocks of BLOCK rows, a partition that does not depend on the thread count. Each
 * block is summed serially in double into its own slot, and the slots are added in block order at the
 * end. No OpenMP reduction clause ever touches a float or a double, so every number here
 * is bit-for-bit the same for any number of threads. Counts (the median's buckets) are
 * integers, exact in any order.
 *
 * Bad samples (metrics.h): the _compute functions measure the good samples only and count
 * the rest; the building blocks give NaN for a non-finite coordinate rather than a
 * misleading number. */
#include "ncsn/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/classify.h"
#include "ncsn/common.h"

#define BLOCK 64 /* rows per partial sum; fixed, never derived from the thread count */

static int n_blocks(int n) { return (n + BLOCK - 1) / BLOCK; }

static int min_int(int a, int b) { return a < b ? a : b; }

/* Adds part[0..nb-1] left to right: the one place where block sums meet. */
static double sum_in_order(const double *part, int nb) {
    double s = 0;
    for (int b = 0; b < nb; b++) s += part[b];
    return s;
}

static int64_t count_nonfinite(const float *x, int n, int D) {
    int64_t bad = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * D;
        for (int d = 0; d < D; d++) {
            if (!isfinite(xi[d])) {
                bad++;
                break;
            }
        }
    }
    return bad;
}

/* |a - b|^2 in double for two rows of D floats. */
static inline double sqdist(const float *a, const float *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) {
        double diff = (double)a[d] - (double)b[d];
        s += diff * diff;
    }
    return s;
}

/* ---------------------------------------------------------------------------------------
 * Median pairwise distance: the bandwidth of the MMD kernel (docs/computation.md, metrics). */

static inline void swap_d(double *a, size_t i, size_t j) {
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static double median3(double a, double b, double c) {
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    /* now a <= b */
    if (c <= a) return a;
    if (c >= b) return b;
    return c;
}

/* Returns the k-th smallest (0-based) of a (n) and leaves a partitioned around it:
 * a[0..k-1] <= a[k] <= a[k+1..n-1]. Quickselect with a median-of-three pivot and a
 * three-way partition, so runs of equal values (duplicated points) cost nothing extra.
 * Serial and deterministic. a must hold no NaN. */
static double select_kth(double *a, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the k-th smallest lies in a[lo..hi-1] */
    while (hi - lo > 1) {
        double p = median3(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
        /* [lo, lt) < p, [lt, i) == p, [i, gt) unseen, [gt, hi) > p */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < p)
                swap_d(a, lt++, i++);
            else if (a[i] > p)
                swap_d(a, i, --gt);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return a[k];
}

/* The squared distances of the strict upper triangle, visited row by row (row i: pairs
 * (i, j), j > i) by a parallel loop: each is a fixed function of its pair, so every pass
 * sees the same values. Squaring is monotone, so order statistics are taken on squares. */
#define MED_BITS 16 /* a square's bucket: its top 16 bits (sign 0, exponent, 4 mantissa bits) */
static inline uint32_t med_bucket(double d2) {
    uint64_t u;
    memcpy(&u, &d2, sizeof u); /* d2 >= 0: the bits are monotone in the value */
    return (uint32_t)(u >> (64 - MED_BITS));
}

double ncsn_median_pairwise_distance(const float *x, int n, int D) {
    if (n < 2 || count_nonfinite(x, n, D) > 0) return NAN;
    const size_t N = (size_t)n * (size_t)(n - 1) / 2;
    /* The k-th smallest square (and for an even count the (k+1)-th) without storing all N:
     * pass 1 counts the squares per bucket (integer counts: the same for any thread count);
     * the buckets holding ranks k and k+1 bound a value range; pass 2 keeps only the squares
     * in that range (a small fraction), where select_kth finds the exact ranks. The result
     * is the same exact median as sorting all N distances. */
    const size_t k = N % 2 == 1 ? N / 2 : N / 2 - 1;
    const size_t NB = (size_t)1 << MED_BITS;
    uint64_t *hist = ncsn_xcalloc(NB, sizeof(uint64_t)); /* (NB) squares per bucket */
#pragma omp parallel
    {
        uint64_t *mine = ncsn_xcalloc(NB, sizeof(uint64_t));
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n - 1; i++) {
            const float *xi = x + (size_t)i * D;
            for (int j = i + 1; j < n; j++) mine[med_bucket(sqdist(xi, x + (size_t)j * D, D))]++;
        }
#pragma omp critical
        for (size_t b = 0; b < NB; b++) hist[b] += mine[b];
        free(mine);
    }
    /* buckets lo_b (rank k) and hi_b (rank k + 1, or k for an odd count); below = squares
     * in buckets before lo_b */
    size_t below = 0, seen = 0;
    uint32_t lo_b = 0, hi_b = 0;
    int have_lo = 0;
    const size_t k_hi = N % 2 == 1 ? k : k + 1;
    for (size_t b = 0; b < NB; b++) {
        if (!have_lo && seen + hist[b] > k) {
            lo_b = (uint32_t)b;
            below = seen;
            have_lo = 1;
        }
        if (seen + hist[b] > k_hi) {
            hi_b = (uint32_t)b;
            break;
        }
        seen += hist[b];
    }
    size_t m = 0; /* squares in buckets [lo_b, hi_b] */
    for (uint32_t b = lo_b; b <= hi_b; b++) m += hist[b];
    free(hist);
    double *sel = ncsn_xmalloc(sizeof(double) * m); /* (m) those squares, in any order */
    size_t fill = 0;
#pragma omp parallel
    {
        size_t cap = 1024, cnt = 0;
        double *mine = ncsn_xmalloc(sizeof(double) * cap);
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n - 1; i++) {
            const float *xi = x + (size_t)i * D;
            for (int j = i + 1; j < n; j++) {
                const double d2 = sqdist(xi, x + (size_t)j * D, D);
                const uint32_t b = med_bucket(d2);
                if (b < lo_b || b > hi_b) continue;
                if (cnt == cap) { /* grow */
                    double *more = ncsn_xmalloc(sizeof(double) * 2 * cap);
                    memcpy(more, mine, sizeof(double) * cnt);
                    free(mine);
                    mine = more;
                    cap *= 2;
                }
                mine[cnt++] = d2;
            }
        }
        size_t at;
#pragma omp critical
        {
            at = fill;
            fill += cnt;
        }
        memcpy(sel + at, mine, sizeof(double) * cnt);
        free(mine);
    }
    NCSN_ASSERT(fill == m);
    double med;
    const size_t kk = k - below; /* rank k within sel */
    if (N % 2 == 1) {
        med = sqrt(select_kth(sel, m, kk));
    } else {
        /* Even count: mean of the two middle distances. After the selection everything
         * right of kk is >= sel[kk], so the (k+1)-th smallest is the minimum there. */
        double lo = select_kth(sel, m, kk);
        double hi = sel[kk + 1];
        for (size_t t = kk + 2; t < m; t++) hi = sel[t] < hi ? sel[t] : hi;
        med = 0.5 * (sqrt(lo) + sqrt(hi));
    }
    free(sel);
    return med;
}

/* ---------------------------------------------------------------------------------------
 * Unbiased MMD^2 (Gretton et al. 2012, eq. 3), k(x, y) = exp(-|x - y|^2 / (2 h^2)). */

/* sum_{i, j} k(x_i, y_j) for x (n, D), y (m, D); within = 1 when y is x itself (m = n),
 * then only the pairs i < j. inv = 1 / (2 h^2). Blocks of rows are uneven within a set
 * (row i has n - 1 - i partners), hence the dynamic schedule: which thread takes a block
 * does not change what the block sums. */
static double kernel_sum(const float *x, int n, const float *y, int m, int D, double inv,
                         int within) {
    const int nb = n_blocks(n);
    double *part = ncsn_xcalloc((size_t)nb, sizeof(double)); /* (nb) */
#pragma omp parallel for schedule(dynamic, 1)
    for (int b = 0; b < nb; b++) {
        double s = 0;
        for (int i = b * BLOCK; i < min_int(n, (b + 1) * BLOCK); i++) {
            const float *xi = x + (size_t)i * D;
            for (int j = within ? i + 1 : 0; j < m; j++)
                s += exp(-sqdist(xi, y + (size_t)j * D, D) * inv);
        }
        part[b] = s;
    }
    double total = sum_in_order(part, nb);
    free(part);
    return total;
}

/* sum_{i < j} k(x_i, x_j) over one set x (n, D). */
static double kernel_sum_within(const float *x, int n, int D, double inv) {
    return kernel_sum(x, n, x, n, D, inv, 1);
}

/* sum_{i, j} k(x_i, y_j) for x (n, D), y (m, D). */
static double kernel_sum_cross(const float *x, int n, const float *y, int m, int D,
                               double inv) {
    return kernel_sum(x, n, y, m, D, inv, 0);
}

/* kxx = sum_{i<j} k(x_i, x_j), kyy likewise, kxy = sum_{i,j} k(x_i, y_j). The i != j sums
 * of the definition are twice the i < j sums. */
static double mmd2_from_sums(double kxx, int n, double kyy, int m, double kxy) {
    return 2.0 * kxx / ((double)n * (double)(n - 1)) + 2.0 * kyy / ((double)m * (double)(m - 1)) -
           2.0 * kxy / ((double)n * (double)m);
}

/* 1 / (2 h^2), or NaN when h is not a usable bandwidth. */
static double kernel_inv(double bandwidth) {
    if (!(bandwidth > 0) || !isfinite(bandwidth)) return NAN;
    return 1.0 / (2.0 * bandwidth * bandwidth);
}

double ncsn_mmd2_unbiased(const float *x, int n, const float *y, int m, int D,
                          double bandwidth) {
    const double inv = kernel_inv(bandwidth);
    if (n < 2 || m < 2 || isnan(inv)) return NAN;
    if (count_nonfinite(x, n, D) > 0 || count_nonfinite(y, m, D) > 0) return NAN;
    return mmd2_from_sums(kernel_sum_within(x, n, D, inv), n, kernel_sum_within(y, m, D, inv),
                          m, kernel_sum_cross(x, n, y, m, D, inv));
}

/* ---------------------------------------------------------------------------------------
 * Sliced Wasserstein-1 (docs/computation.md, metrics): the mean over unit directions v of W1
 * between the 1-D empirical distributions of v.x and v.y. */

/* a (n) sorted ascending, by a least-significant-digit radix sort of the doubles' bits
 * made monotone (negatives: all bits flipped; others: the sign bit set): 8 passes of 8
 * bits, several times faster than qsort's comparisons. key and tmp: (n) scratch. No NaN
 * here; -0 sorts before +0, where qsort kept them as they came, which changes no W1 sum
 * (|a - b| is the same for either zero). */
static void sort_doubles(double *a, int n, uint64_t *key, uint64_t *tmp) {
    for (int i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &a[i], sizeof u);
        key[i] = (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
    }
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (int i = 0; i < n; i++) count[((key[i] >> shift) & 0xff) + 1]++;
        if (count[((key[0] >> shift) & 0xff) + 1] == (size_t)n) continue; /* one digit */
        for (int d = 0; d < 256; d++) count[d + 1] += count[d];
        for (int i = 0; i < n; i++) tmp[count[(key[i] >> shift) & 0xff]++] = key[i];
        uint64_t *t = key;
        key = tmp;
        tmp = t;
    }
    for (int i = 0; i < n; i++) {
        const uint64_t u = (key[i] >> 63) ? key[i] & ~(UINT64_C(1) << 63) : ~key[i];
        memcpy(&a[i], &u, sizeof u);
    }
}

/* W1 = integral over t in (0, 1) of |F^-1(t) - G^-1(t)| for sorted a (n), b (m).
 * Equal sizes: the mean of |a_(i) - b_(i)|. Otherwise the quantile functions are step
 * functions with jumps at i/n and j/m; the walk over the merged jumps integrates their
 * difference exactly, with interval lengths counted in integer units of 1/(n m).
 * Symmetric bit for bit in (a, b). */
static double w1_sorted(const double *a, int n, const double *b, int m) {
    double s = 0;
    if (n == m) {
        for (int i = 0; i < n; i++) s += fabs(a[i] - b[i]);
        return s / (double)n;
    }
    const int64_t total = (int64_t)n * m;
    int64_t pos = 0; /* t = pos / (n m) */
    int i = 0, j = 0;
    while (pos < total) {
        /* a[i] is F^-1 on (i m, (i+1) m], b[j] is G^-1 on (j n, (j+1) n] */
        int64_t end_a = (int64_t)(i + 1) * m, end_b = (int64_t)(j + 1) * n;
        int64_t end = end_a < end_b ? end_a : end_b;
        s += (double)(end - pos) * fabs(a[i] - b[j]);
        pos = end;
        if (end_a == end) i++;
        if (end_b == end) j++;
    }
    return s / (double)total;
}

/* Direction t: a standard normal vector from counters (t, 0, .) under key, normalised. */
static void swd_direction(ncsn_key key, int t, int D, float *z /* (D) */, double *v /* (D) */) {
    ncsn_rng_fill_normal(key, (uint32_t)t, 0, D, z);
    double norm = 0;
    for (int d = 0; d < D; d++) norm += (double)z[d] * (double)z[d];
    norm = sqrt(norm);
    for (int d = 0; d < D; d++) v[d] = norm > 0 ? (double)z[d] / norm : (d == 0);
}

static void project(const float *x, int n, int D, const double *v, double *out /* (n) */) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * D;
        double s = 0;
        for (int d = 0; d < D; d++) s += v[d] * (double)xi[d];
        out[i] = s;
    }
}

double ncsn_swd(const float *x, int n, const float *y, int m, int D, int n_dirs, ncsn_key key) {
    if (n < 1 || m < 1 || n_dirs < 1) return NAN;
    if (count_nonfinite(x, n, D) > 0 || count_nonfinite(y, m, D) > 0) return NAN;
    double *w1 = ncsn_xcalloc((size_t)n_dirs, sizeof(double)); /* (n_dirs) W1 per direction */
#pragma omp parallel
    {
        float *z = ncsn_xmalloc(sizeof(float) * (size_t)D);   /* (D) raw normal draw */
        double *v = ncsn_xmalloc(sizeof(double) * (size_t)D); /* (D) unit direction */
        double *a = ncsn_xmalloc(sizeof(double) * (size_t)n); /* (n) sorted v.x */
        double *b = ncsn_xmalloc(sizeof(double) * (size_t)m); /* (m) sorted v.y */
        const int nm = n > m ? n : m;
        uint64_t *keys = ncsn_xmalloc(sizeof(uint64_t) * (size_t)nm); /* (nm) sort scratch */
        uint64_t *tmp = ncsn_xmalloc(sizeof(uint64_t) * (size_t)nm); /* (nm) */
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < n_dirs; t++) {
            swd_direction(key, t, D, z, v);
            project(x, n, D, v, a);
            project(y, m, D, v, b);
            sort_doubles(a, n, keys, tmp);
            sort_doubles(b, m, keys, tmp);
            w1[t] = w1_sorted(a, n, b, m);
        }
        free(z);
        free(v);
        free(a);
        free(b);
        free(keys);
        free(tmp);
    }
    double mean = sum_in_order(w1, n_dirs) / (double)n_dirs;
    free(w1);
    return mean;
}

/* ---------------------------------------------------------------------------------------
 * What the known mixture says about samples (docs/computation.md, metrics). */

void ncsn_mode_weights(const ncsn_gmm *g, const float *x, int n, double *w) {
    const int K = g->K, D = g->D;
    if (n < 1 || count_nonfinite(x, n, D) > 0) {
        for (int k = 0; k < K; k++) w[k] = NAN;
        return;
    }
    int *nearest = ncsn_xmalloc(sizeof(int) * (size_t)n); /* (n) mode of each sample */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) nearest[i] = ncsn_gmm_nearest(g, x + (size_t)i * D);
    int64_t *count = ncsn_xcalloc((size_t)K, sizeof(int64_t)); /* (K) */
    for (int i = 0; i < n; i++) count[nearest[i]]++;
    for (int k = 0; k < K; k++) w[k] = (double)count[k] / (double)n;
    free(count);
    free(nearest);
}

double ncsn_nll_true(const ncsn_gmm *g, const float *x, int n) {
    const int D = g->D;
    if (n < 1 || count_nonfinite(x, n, D) > 0) return NAN;
    const int nb = n_blocks(n);
    double *part = ncsn_xcalloc((size_t)nb, sizeof(double)); /* (nb) */
#pragma omp parallel for schedule(static)
    for (int b = 0; b < nb; b++) {
        double s = 0;
        for (int i = b * BLOCK; i < min_int(n, (b + 1) * BLOCK); i++)
            s -= ncsn_gmm_log_prob(g, x + (size_t)i * D, 0.0);
        part[b] = s;
    }
    double nll = sum_in_order(part, nb) / (double)n;
    free(part);
    return nll;
}

/* ---------------------------------------------------------------------------------------
 * Score error per level (docs/computation.md, metrics):
 *   E sigma^2 |s_theta(x, sigma) - grad log q_sigma(x)|^2 / E sigma^2 |grad log q_sigma(x)|^2,
 * x ~ q_sigma. Within one level sigma^2 is a common factor of both sums and cancels, so
 * it is left out. Point p of level l is stream index a = l P + p under key: its data
 * sample is ncsn_gmm_sample's index a (counters (a, 0, .) and (a, 1, .)), its noise
 * z ~ N(0, I) comes from counters (a, 2, .), so no two numbers share a counter. */

void ncsn_score_error(const ncsn_model *model, const ncsn_gmm *g, const double *sigmas, int L,
                      int n_points, ncsn_key key, double *err) {
    if (!model || n_points < 1) {
        for (int l = 0; l < L; l++) err[l] = NAN;
        return;
    }
    NCSN_ASSERT(model->D == g->D);
    NCSN_ASSERT((uint64_t)L * (uint64_t)n_points <= UINT32_MAX);
    const int D = g->D, P = n_points, nb = n_blocks(P);
    const int tasks = L * nb; /* (level, block of points) pairs */
    double *num = ncsn_xcalloc((size_t)tasks, sizeof(double)); /* (L, nb) sum |s - g|^2 */
    double *den = ncsn_xcalloc((size_t)tasks, sizeof(double)); /* (L, nb) sum |g|^2 */
#pragma omp parallel
    {
        float *xb = ncsn_xmalloc(sizeof(float) * (size_t)BLOCK * D); /* (BLOCK, D) points */
        float *sb = ncsn_xmalloc(sizeof(float) * (size_t)BLOCK * D); /* (BLOCK, D) s_theta */
        float *z = ncsn_xmalloc(sizeof(float) * (size_t)D);          /* (D) noise */
        double *gs = ncsn_xmalloc(sizeof(double) * (size_t)D);       /* (D) exact score */
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++) {
            const int l = task / nb, b = task % nb;
            const int p0 = b * BLOCK, cnt = min_int(BLOCK, P - p0);
            const double sigma = sigmas[l];
            const uint32_t first = (uint32_t)l * (uint32_t)P + (uint32_t)p0;
            /* x = data sample + sigma z */
            ncsn_gmm_sample(g, key, first, cnt, xb);
            for (int q = 0; q < cnt; q++) {
                float *xq = xb + (size_t)q * D;
                ncsn_rng_fill_normal(key, first + (uint32_t)q, 2, D, z);
                for (int d = 0; d < D; d++) xq[d] = (float)((double)xq[d] + sigma * (double)z[d]);
            }
            ncsn_model_score(model, xb, cnt, (float)sigma, sb);
            double sn = 0, sd = 0;
            for (int q = 0; q < cnt; q++) {
                ncsn_gmm_score(g, xb + (size_t)q * D, sigma, gs);
                for (int d = 0; d < D; d++) {
                    double diff = (double)sb[(size_t)q * D + d] - gs[d];
                    sn += diff * diff;
                    sd += gs[d] * gs[d];
                }
            }
            num[task] = sn;
            den[task] = sd;
        }
        free(xb);
        free(sb);
        free(z);
        free(gs);
    }
    for (int l = 0; l < L; l++)
        err[l] = sum_in_order(num + (size_t)l * nb, nb) / sum_in_order(den + (size_t)l * nb, nb);
    free(num);
    free(den);
}

/* ---------------------------------------------------------------------------------------
 * Everything for one run. */

void ncsn_metrics_free(ncsn_metrics *m) {
    if (!m) return;
    free(m->mode_weights);
    free(m->score_error);
    free(m->train_shares);
    m->mode_weights = NULL;
    m->score_error = NULL;
    m->train_shares = NULL;
    m->K = 0;
    m->L = 0;
}

/* The run's samples (n) against a reference set (n_ref) and the noise floor, a second set
 * (n_floor) against the same reference. exact, when not NULL, is the data's mixture. */
/* ---------------------------------------------------------------------------------------
 * Bad samples (metrics.h, docs/computation.md, bad samples). */

double ncsn_bad_radius(const float *ref, int n_ref, int D, double low, double high,
                       double sigma1, double *mean) {
    for (int d = 0; d < D; d++) mean[d] = 0;
    if (n_ref < 1) return NAN;
    for (int i = 0; i < n_ref; i++) /* serial, in row order: the same bits everywhere */
        for (int d = 0; d < D; d++) mean[d] += ref[(size_t)i * D + d];
    double corner2 = 0; /* |farthest corner - mean|^2: per coordinate, the farther face */
    for (int d = 0; d < D; d++) {
        mean[d] /= n_ref;
        const double far = fmax(fabs(mean[d] - low), fabs(high - mean[d]));
        corner2 += far * far;
    }
    const double r = sqrt(corner2) + 3 * sigma1;
    return isfinite(r) ? r : NAN;
}

/* The samples that are not bad, in their order: a copy in *good (caller frees; NULL when
 * every sample is good, and then *good_x is samples itself). Sets n_bad, n_nonfinite and
 * bad_radius in out; returns the number of good samples. */
static int split_bad(const float *samples, int n, int D, const float *ref, int n_ref,
                     double low, double high, double sigma1, ncsn_metrics *out, float **good,
                     const float **good_x) {
    double *mean = ncsn_xmalloc(sizeof(double) * (size_t)(D > 0 ? D : 1));
    const double radius = ncsn_bad_radius(ref, n_ref, D, low, high, sigma1, mean);
    out->bad_radius = radius;
    out->n_nonfinite = count_nonfinite(samples, n, D);
    unsigned char *bad = ncsn_xcalloc((size_t)(n > 0 ? n : 1), 1);
    int64_t n_bad = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = samples + (size_t)i * D;
        double r2 = 0;
        for (int d = 0; d < D; d++) {
            const double diff = (double)xi[d] - mean[d];
            r2 += diff * diff;
        }
        /* NaN r2 (a non-finite coordinate) fails the comparison: bad. A NaN radius
         * (no reference mean) leaves only the non-finite ones bad. */
        bad[i] = !(r2 <= radius * radius) && !(isnan(radius) && isfinite(r2));
        n_bad += bad[i];
    }
    out->n_bad = n_bad;
    *good = NULL;
    *good_x = samples;
    if (n_bad > 0) {
        *good = ncsn_xmalloc(sizeof(float) * (size_t)(n - n_bad > 0 ? n - n_bad : 1) * D);
        size_t k = 0;
        for (int i = 0; i < n; i++)
            if (!bad[i]) memcpy(*good + k++ * D, samples + (size_t)i * D, sizeof(float) * D);
        *good_x = *good;
    }
    free(bad);
    free(mean);
    return (int)(n - n_bad);
}

/* Every metric of good samples (n, D) only: split_bad's, all finite. */
static void compute_good(const ncsn_gmm *exact, const ncsn_model *model, const double *sigmas,
                         int L, const float *samples, int n, int D, const float *ref,
                         int n_ref, const float *floor_set, int n_floor, const float *train,
                         int n_train, uint64_t seed, ncsn_metrics *out) {
    const ncsn_key dirs = ncsn_rng_key(seed, 0, NCSN_RNG_SWD_DIRS);

    /* Distances to the reference set; its own kernel sum is shared by both MMDs, which
     * then equal ncsn_mmd2_unbiased(., ref, median) bit for bit. */
    const double inv = kernel_inv(ncsn_median_pairwise_distance(ref, n_ref, D));
    const int ref_ok = n_ref >= 2 && !isnan(inv);
    const double k_ref = ref_ok ? kernel_sum_within(ref, n_ref, D, inv) : NAN;
    out->noise_floor_mmd2 =
        ref_ok && n_floor >= 2
            ? mmd2_from_sums(kernel_sum_within(floor_set, n_floor, D, inv), n_floor, k_ref, n_ref,
                             kernel_sum_cross(floor_set, n_floor, ref, n_ref, D, inv))
            : NAN;
    out->noise_floor_swd = ncsn_swd(floor_set, n_floor, ref, n_ref, D, NCSN_SWD_DIRECTIONS, dirs);
    out->mmd2 = ref_ok && n >= 2
                    ? mmd2_from_sums(kernel_sum_within(samples, n, D, inv), n, k_ref, n_ref,
                                     kernel_sum_cross(samples, n, ref, n_ref, D, inv))
                    : NAN;
    out->swd = n >= 1 ? ncsn_swd(samples, n, ref, n_ref, D, NCSN_SWD_DIRECTIONS, dirs) : NAN;

    /* Frechet distances to one decomposition of the reference (fd.c); nn_ratio against the
     * training points, the reference as the held-out side (nn.c). */
    ncsn_fd_ref fref;
    const int fref_ok = ncsn_fd_ref_of(&fref, ref, n_ref, D) == 0;
    out->noise_floor_fd = fref_ok ? ncsn_fd_to(&fref, floor_set, n_floor) : NAN;
    out->fd = fref_ok ? ncsn_fd_to(&fref, samples, n) : NAN;
    ncsn_fd_ref_free(&fref);
    out->nn_ratio = train ? ncsn_nn_ratio(samples, n, train, n_train, ref, n_ref, D)
                                    : NAN;

    /* What the mixture knows, where there is one; ncsn_mode_weights and ncsn_nll_true give
     * NaN themselves for non-finite samples. Without one there are no modes (K = 0) and
     * the rest is NaN. */
    out->L = L;
    out->score_error = ncsn_xmalloc(sizeof(double) * (size_t)(L > 0 ? L : 1));
    if (!exact) {
        out->K = 0;
        out->mode_weights = NULL;
        out->mode_weight_error = out->nll_true = NAN;
        for (int l = 0; l < L; l++) out->score_error[l] = NAN;
        return;
    }
    NCSN_ASSERT(exact->D == D);
    const int K = exact->K;
    out->K = K;
    out->mode_weights = ncsn_xmalloc(sizeof(double) * (size_t)K);
    ncsn_mode_weights(exact, samples, n, out->mode_weights);
    double worst = 0;
    for (int k = 0; k < K; k++) {
        double e = fabs(out->mode_weights[k] - exact->weights[k]);
        worst = (e > worst || isnan(e)) ? e : worst;
    }
    out->mode_weight_error = worst;
    out->nll_true = ncsn_nll_true(exact, samples, n);
    ncsn_score_error(model, exact, sigmas, L, NCSN_SCORE_ERROR_POINTS,
                     ncsn_rng_key(seed, 0, NCSN_RNG_SCORE_ERROR), out->score_error);
}

void ncsn_metrics_compute_sets(const ncsn_gmm *exact, const ncsn_model *model,
                               const double *sigmas, int L, const float *samples, int n, int D,
                               const float *ref, int n_ref, const float *floor_set, int n_floor,
                               const float *train, int n_train, double low, double high,
                               uint64_t seed, ncsn_metrics *out) {
    float *good;
    const float *x;
    const int n_good = split_bad(samples, n, D, ref, n_ref, low, high, L > 0 ? sigmas[0] : 0,
                                 out, &good, &x);
    compute_good(exact, model, sigmas, L, x, n_good, D, ref, n_ref, floor_set, n_floor, train,
                 n_train, seed, out);
    free(good);
}

/* The reference and floor sets use configuration 0 of the run's seed: every configuration
 * of a sweep that shares a seed is measured against the same reference set, so their
 * metrics differ only through their samples. out's arrays are allocated here (out must
 * not hold arrays already; ncsn_metrics_free releases them). */
void ncsn_metrics_compute(const ncsn_gmm *g, const ncsn_model *model, const double *sigmas,
                          int L, const float *samples, int n, double low, double high,
                          uint64_t seed, ncsn_metrics *out) {
    const int D = g->D;
    float *ref = ncsn_xmalloc(sizeof(float) * (size_t)n * D);   /* (n, D) reference set */
    float *floor_ = ncsn_xmalloc(sizeof(float) * (size_t)n * D); /* (n, D) noise-floor set */
    ncsn_gmm_sample(g, ncsn_rng_key(seed, 0, NCSN_RNG_REFERENCE), 0, n, ref);
    ncsn_gmm_sample(g, ncsn_rng_key(seed, 0, NCSN_RNG_FLOOR), 0, n, floor_);
    ncsn_metrics_compute_sets(g, model, sigmas, L, samples, n, D, ref, n, floor_, n, NULL, 0,
                              low, high, seed, out);
    free(ref);
    free(floor_);
}

void ncsn_metrics_compute_dataset(const ncsn_dataset *ds, const ncsn_model *model,
                                  const double *sigmas, int L, const float *samples, int n,
                                  const float *train, int n_train, double low, double high,
                                  uint64_t seed, ncsn_metrics *out) {
    float *ref, *floor_;
    int n_ref, n_floor;
    ncsn_dataset_reference_sets(ds, seed, n, &ref, &n_ref, &floor_, &n_floor);
    float *good;
    const float *x;
    const int n_good = split_bad(samples, n, ds->D, ref, n_ref, low, high,
                                 L > 0 ? sigmas[0] : 0, out, &good, &x);
    compute_good(ds->exact, model, sigmas, L, x, n_good, ds->D, ref, n_ref, floor_, n_floor,
                 train, n_train, seed, out);
    /* Data with labels: the classes are the modes (classify.h). */
    if (ds->train_labels) ncsn_metrics_classes(ds, x, n_good, out);
    NCSN_FREE_ALL(good, ref, floor_);
}
