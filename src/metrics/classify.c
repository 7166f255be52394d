/* metrics/classify.c: the k-nearest-neighbour classifier of data with labels and the class
 * metrics of a run (classify.h; docs/computation.md, metrics: the classes play the modes'
 * part).
 *
 * Sizes: n = queries (samples, or held-out rows), n_fit = fitted rows, D = data dimension,
 * K = classes, k = neighbours.
 *
 * Brute force: every query measures its distance to every fitted row (n n_fit D), keeping
 * the k best in a sorted list ordered by (distance, row), so the order of the rows alone
 * breaks ties. Each query is one OpenMP iteration writing only its own prediction: the
 * same answer for any thread count. */
#include "ncsn/classify.h"

#include <math.h>
#include <string.h>

#include "ncsn/common.h"

/* |a - b|^2 in double for two rows of D floats. */
static double sqdist(const float *a, const float *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) {
        double diff = (double)a[d] - (double)b[d];
        s += diff * diff;
    }
    return s;
}

/* The class of query q: its k nearest fitted rows vote. best_d (k), best_i (k), votes (K)
 * are the caller's scratch. */
static int predict_one(const float *fit, const int *fit_labels, int n_fit, int D, int K, int k,
                       const float *q, double *best_d, int *best_i, int *votes) {
    int have = 0; /* best_d, best_i: the `have` nearest so far, nearest first */
    for (int j = 0; j < n_fit; j++) {
        const double d = sqdist(q, fit + (size_t)j * D, D);
        if (have == k && !(d < best_d[k - 1])) continue; /* equal: the earlier row stays */
        int at = have < k ? have++ : k - 1;
        while (at > 0 && d < best_d[at - 1]) { /* strictly nearer: move up */
            best_d[at] = best_d[at - 1];
            best_i[at] = best_i[at - 1];
            at--;
        }
        best_d[at] = d;
        best_i[at] = j;
    }
    memset(votes, 0, sizeof(int) * (size_t)K);
    int most = 0;
    for (int r = 0; r < have; r++) {
        const int v = ++votes[fit_labels[best_i[r]]];
        if (v > most) most = v;
    }
    for (int r = 0; r < have; r++) /* the nearest member of a class with the most votes */
        if (votes[fit_labels[best_i[r]]] == most) return fit_labels[best_i[r]];
    return 0; /* n_fit = 0: nothing to vote */
}

void ncsn_knn_predict(const float *fit, const int *fit_labels, int n_fit, int D, int n_classes,
                      int k, const float *x, int n, int *pred) {
    NCSN_ASSERT(k >= 1 && n_classes >= 1);
    if (k > n_fit) k = n_fit;
    const int kk = k > 0 ? k : 1;
#pragma omp parallel
    {
        double *best_d = ncsn_xmalloc(sizeof(double) * (size_t)kk); /* (k) */
        int *best_i = ncsn_xmalloc(sizeof(int) * (size_t)kk);       /* (k) */
        int *votes = ncsn_xmalloc(sizeof(int) * (size_t)n_classes); /* (K) */
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n; i++)
            pred[i] = predict_one(fit, fit_labels, n_fit, D, n_classes, k, x + (size_t)i * D,
                                  best_d, best_i, votes);
        free(best_d);
        free(best_i);
        free(votes);
    }
}

void ncsn_class_shares(const int *labels, int n, int K, double *w) {
    int64_t *count = ncsn_xcalloc((size_t)K, sizeof(int64_t)); /* (K) */
    for (int i = 0; i < n; i++) {
        NCSN_ASSERT(labels[i] >= 0 && labels[i] < K);
        count[labels[i]]++;
    }
    for (int c = 0; c < K; c++) w[c] = n > 0 ? (double)count[c] / (double)n : NAN;
    free(count);
}

static int all_finite(const float *x, int n, int D) {
    for (size_t j = 0; j < (size_t)n * (size_t)D; j++)
        if (!isfinite(x[j])) return 0;
    return 1;
}

void ncsn_metrics_classes(const ncsn_dataset *ds, const float *samples, int n,
                          ncsn_metrics *out) {
    NCSN_ASSERT(ds->train_labels && ds->n_points <= ds->n_train);
    const int K = ds->n_classes, D = ds->D, n_fit = ds->n_points, n_held = ds->n_heldout;
    const int nq = n > n_held ? n : n_held;
    int *pred = ncsn_xmalloc(sizeof(int) * (size_t)(nq > 0 ? nq : 1)); /* (max(n, n_held)) */
    /* the classifier on the held-out rows */
    ncsn_knn_predict(ds->train, ds->train_labels, n_fit, D, K, NCSN_KNN_K, ds->heldout, n_held,
                     pred);
    int right = 0;
    for (int i = 0; i < n_held; i++) right += pred[i] == ds->heldout_labels[i];
    out->labelled = 1;
    out->classifier_accuracy = n_held > 0 ? (double)right / (double)n_held : NAN;
    /* the samples' classes against the training shares */
    free(out->train_shares);
    double *truth = out->train_shares = ncsn_xmalloc(sizeof(double) * (size_t)K); /* (K) */
    ncsn_class_shares(ds->train_labels, n_fit, K, truth);
    free(out->mode_weights);
    out->K = K;
    out->mode_weights = ncsn_xmalloc(sizeof(double) * (size_t)K);
    if (n >= 1 && all_finite(samples, n, D)) {
        ncsn_knn_predict(ds->train, ds->train_labels, n_fit, D, K, NCSN_KNN_K, samples, n, pred);
        ncsn_class_shares(pred, n, K, out->mode_weights);
    } else {
        for (int c = 0; c < K; c++) out->mode_weights[c] = NAN;
    }
    double worst = 0;
    for (int c = 0; c < K; c++) {
        const double e = fabs(out->mode_weights[c] - truth[c]);
        worst = (e > worst || isnan(e)) ? e : worst;
    }
    out->mode_weight_error = worst;
    free(pred);
}
