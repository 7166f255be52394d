/* metrics/nn.c: nearest training points and nn_ratio (docs/computation.md, Metrics).
 *
 *   nn_ratio = median_i min_j |s_i - t_j| / median_k min_j |h_k - t_j|
 * over the samples s (n), the training points t (n_train) and held-out or fresh points h
 * (n_held) of the same data: about 1 when the samples lie as close to the training set as
 * new data does, far below 1 when they copy training points (memorising), far above 1
 * when they lie off the data. There is no noise floor: fresh data in the samples' place
 * gives 1 by construction (it is what the denominator measures).
 *
 * Sizes: n queries, m reference points, D dimensions, LANES reference points per block.
 *
 * Exact nearest neighbours by brute force, O(n m D), in double. The reference points are
 * copied once into blocks of LANES points stored dimension-major (block, D, LANES), so
 * the inner loop runs over the LANES points of a block with one running sum each: every
 * pair's squared distance is the sum over d = 0, 1, ..., D - 1 in order (the same number
 * as a plain loop), and the compiler vectorises across the lanes without reordering any
 * sum. A short last block repeats its last point. Queries are independent and run in
 * parallel: the result does not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "ncsn/common.h"
#include "ncsn/metrics.h"

#define LANES 8

/* ref (m, D) as blocks (nb, D, LANES) of doubles. */
static double *lane_blocks(const float *ref, int m, int D, int *nb) {
    *nb = (m + LANES - 1) / LANES;
    double *blk = ncsn_xmalloc(sizeof(double) * (size_t)*nb * (size_t)D * LANES);
    for (int b = 0; b < *nb; b++)
        for (int l = 0; l < LANES; l++) {
            const int j = b * LANES + l < m ? b * LANES + l : m - 1;
            for (int d = 0; d < D; d++)
                blk[((size_t)b * D + d) * LANES + l] = (double)ref[(size_t)j * D + d];
        }
    return blk;
}

/* dist (n): for each query, the distance to its nearest point of the blocks. */
static void nearest_in_blocks(const float *q, int n, const double *blk, int nb, int D,
                              double *dist) {
#pragma omp parallel
    {
        double *qd = ncsn_xmalloc(sizeof(double) * (size_t)D); /* (D) the query in double */
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < D; d++) qd[d] = (double)q[(size_t)i * D + d];
            double best = INFINITY;
            for (int b = 0; b < nb; b++) {
                const double *bb = blk + (size_t)b * D * LANES;
                double s[LANES] = {0};
                for (int d = 0; d < D; d++)
                    for (int l = 0; l < LANES; l++) {
                        const double diff = qd[d] - bb[(size_t)d * LANES + l];
                        s[l] += diff * diff;
                    }
                for (int l = 0; l < LANES; l++) best = s[l] < best ? s[l] : best;
            }
            dist[i] = sqrt(best);
        }
        free(qd);
    }
}

void ncsn_nearest_distances(const float *q, int n, const float *ref, int m, int D,
                            double *dist) {
    NCSN_ASSERT(m >= 1);
    int nb;
    double *blk = lane_blocks(ref, m, D, &nb);
    nearest_in_blocks(q, n, blk, nb, D, dist);
    free(blk);
}

static int cmp_double(const void *pa, const void *pb) {
    const double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The median of a (n, no NaN), sorting a; the mean of the middle two for even n. */
static double median_sorting(double *a, int n) {
    qsort(a, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

static int all_finite(const float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

double ncsn_nn_ratio(const float *samples, int n, const float *train, int n_train,
                     const float *held, int n_held, int D) {
    if (n < 1 || n_train < 1 || n_held < 1) return NAN;
    if (!all_finite(samples, (size_t)n * D) || !all_finite(train, (size_t)n_train * D) ||
        !all_finite(held, (size_t)n_held * D))
        return NAN;
    int nb;
    double *blk = lane_blocks(train, n_train, D, &nb);
    double *ds = ncsn_xmalloc(sizeof(double) * (size_t)n);      /* (n) samples' distances */
    double *dh = ncsn_xmalloc(sizeof(double) * (size_t)n_held); /* (n_held) held-out ones */
    nearest_in_blocks(samples, n, blk, nb, D, ds);
    nearest_in_blocks(held, n_held, blk, nb, D, dh);
    const double num = median_sorting(ds, n), den = median_sorting(dh, n_held);
    NCSN_FREE_ALL(blk, ds, dh);
    return num / den; /* den 0: held-out points that repeat training points (inf or NaN) */
}
