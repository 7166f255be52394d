/* test_classify.c: the k-NN classifier and the class metrics of data with labels
 * (classify.h).
 *   brute force   predictions against a reference that sorts every distance (qsort of
 *                 (distance, row) pairs) and counts the votes itself, on random points and
 *                 on a grid where distances and votes tie
 *   threads       the same predictions for 1 to 4 threads
 *   shares        class shares against counting by hand
 *   metrics       ncsn_metrics_classes on a hand-built labelled data set: held-out
 *                 accuracy as the reference computes it, samples that copy the training
 *                 points give the training shares (error 0), a sample off the data still
 *                 gets a class, a non-finite sample makes the shares NaN (a run's file:
 *                 tests/cli/labels.sh)
 * Sizes: n queries, n_fit fitted rows, D dimensions, K classes. */
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/classify.h"
#include "ncsn/dataset.h"
#include "ncsn/metrics.h"
#include "ncsn/rng.h"

typedef struct {
    double d;
    int i;
} pair;

static int by_distance_then_row(const void *a, const void *b) {
    const pair *p = a, *q = b;
    if (p->d != q->d) return p->d < q->d ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* The reference: all distances sorted, the first k vote, a tie in votes to the class met
 * first in that order. */
static int reference_class(const float *fit, const int *labels, int n_fit, int D, int K, int k,
                           const float *q) {
    pair *all = malloc(sizeof(pair) * (size_t)n_fit);
    for (int j = 0; j < n_fit; j++) {
        double s = 0;
        for (int d = 0; d < D; d++) {
            double diff = (double)q[d] - (double)fit[(size_t)j * D + d];
            s += diff * diff;
        }
        all[j] = (pair){s, j};
    }
    qsort(all, (size_t)n_fit, sizeof(pair), by_distance_then_row);
    if (k > n_fit) k = n_fit;
    int *votes = calloc((size_t)K, sizeof(int)), most = 0, best = -1;
    for (int r = 0; r < k; r++) votes[labels[all[r].i]]++;
    for (int r = 0; r < k; r++) {
        int c = labels[all[r].i];
        if (votes[c] > most) most = votes[c], best = c;
    }
    free(votes);
    free(all);
    return best;
}

/* n uniforms in [0, scale) (rounded down to whole numbers when grid) from stream s. */
static void fill(float *x, size_t n, uint32_t s, double scale, int grid) {
    const ncsn_key key = ncsn_rng_key(11, s, NCSN_RNG_REFERENCE);
    for (size_t j = 0; j < n; j++) {
        double u = scale * ncsn_rng_uniform_double(key, (uint32_t)j, 0, 0);
        x[j] = (float)(grid ? floor(u) : u);
    }
}

static void check_against_reference(int n_fit, int n, int D, int K, int k, int grid) {
    float *fit = malloc(sizeof(float) * (size_t)n_fit * D), *x = malloc(sizeof(float) * (size_t)n * D);
    int *labels = malloc(sizeof(int) * (size_t)n_fit), *pred = malloc(sizeof(int) * (size_t)n);
    fill(fit, (size_t)n_fit * D, 1, grid ? 4 : 1, grid);
    fill(x, (size_t)n * D, 2, grid ? 4 : 1, grid);
    for (int j = 0; j < n_fit; j++) labels[j] = (j * 7 + j / 3) % K;
    ncsn_knn_predict(fit, labels, n_fit, D, K, k, x, n, pred);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        int want = reference_class(fit, labels, n_fit, D, K, k, x + (size_t)i * D);
        if (pred[i] != want && wrong++ < 5)
            fprintf(stderr, "\n  query %d (k %d, grid %d): class %d, reference %d\n", i, k, grid,
                    pred[i], want);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    free(fit);
    free(x);
    free(labels);
    free(pred);
}

static void test_brute_force(void) {
    check_against_reference(300, 200, 5, 4, NCSN_KNN_K, 0); /* random: no ties */
    check_against_reference(300, 200, 2, 3, NCSN_KNN_K, 1); /* a 4 x 4 grid: many ties */
    check_against_reference(300, 100, 2, 3, 4, 1);          /* even k: tied votes */
    check_against_reference(3, 10, 2, 3, NCSN_KNN_K, 0);    /* k > n_fit */
    check_against_reference(50, 20, 3, 2, 1, 1);            /* 1-NN */
}

static void test_threads(void) {
    enum { N_FIT = 500, N = 300, D = 8, K = 5 };
    float *fit = malloc(sizeof(float) * N_FIT * D), *x = malloc(sizeof(float) * N * D);
    int labels[N_FIT], ref[N], other[N];
    fill(fit, N_FIT * D, 3, 1, 0);
    fill(x, N * D, 4, 1, 0);
    for (int j = 0; j < N_FIT; j++) labels[j] = j % K;
    for (ncsn_fix_threads th = ncsn_fix_threads_range(1, 4); ncsn_fix_threads_next(&th);) {
        ncsn_knn_predict(fit, labels, N_FIT, D, K, NCSN_KNN_K, x, N, th.threads == 1 ? ref : other);
        if (th.threads > 1) CU_ASSERT(memcmp(ref, other, sizeof ref) == 0);
    }
    free(fit);
    free(x);
}

static void test_shares(void) {
    const int labels[] = {0, 2, 2, 1, 2, 0, 2, 4};
    double w[5];
    ncsn_class_shares(labels, 8, 5, w);
    const double want[5] = {2 / 8.0, 1 / 8.0, 4 / 8.0, 0, 1 / 8.0};
    for (int c = 0; c < 5; c++) CU_ASSERT_EQUAL(w[c], want[c]);
    ncsn_class_shares(labels, 0, 5, w);
    CU_ASSERT(isnan(w[0]) && isnan(w[4]));
}

/* A labelled data set by hand: K = 3 clusters around (10 c, 0, ...) in D = 4, class c,
 * with shares 1/2, 1/3, 1/6 among the training rows; the held-out rows are mislabelled
 * every fifth row, so the accuracy is 4/5 of them. */
enum { HD = 4, HK = 3, H_TRAIN = 120, H_HELD = 30 };
static void labelled_set(ncsn_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "hdf5");
    ds->D = HD;
    ds->n_train = ds->n_points = H_TRAIN;
    ds->n_heldout = H_HELD;
    ds->n_classes = HK;
    ds->train = malloc(sizeof(float) * H_TRAIN * HD);
    ds->heldout = malloc(sizeof(float) * H_HELD * HD);
    ds->train_labels = malloc(sizeof(int) * H_TRAIN);
    ds->heldout_labels = malloc(sizeof(int) * H_HELD);
    float noise[(H_TRAIN + H_HELD) * HD];
    fill(noise, (H_TRAIN + H_HELD) * HD, 5, 1, 0);
    for (int i = 0; i < H_TRAIN + H_HELD; i++) {
        const int held = i >= H_TRAIN, j = held ? i - H_TRAIN : i;
        const int c = (j % 6) < 3 ? 0 : (j % 6) < 5 ? 1 : 2;
        float *row = (held ? ds->heldout : ds->train) + (size_t)j * HD;
        for (int d = 0; d < HD; d++) row[d] = (d == 0 ? 10.0f * c : 0.0f) + noise[i * HD + d];
        if (held) ds->heldout_labels[j] = j % 5 == 0 ? (c + 1) % HK : c;
        else ds->train_labels[j] = c;
    }
}

static void test_metrics(void) {
    ncsn_dataset ds;
    labelled_set(&ds);
    /* samples: the training rows themselves, then one far off the data */
    enum { N = H_TRAIN + 1 };
    float x[N * HD];
    memcpy(x, ds.train, sizeof(float) * H_TRAIN * HD);
    for (int d = 0; d < HD; d++) x[H_TRAIN * HD + d] = 1000.0f;
    ncsn_metrics m;
    memset(&m, 0, sizeof m);
    ncsn_metrics_classes(&ds, x, H_TRAIN, &m);
    CU_ASSERT_EQUAL(m.labelled, 1);
    CU_ASSERT_EQUAL(m.K, HK);
    CU_ASSERT_FATAL(m.mode_weights != NULL);
    CU_ASSERT_EQUAL(m.classifier_accuracy, 24.0 / 30.0);
    NCSN_CHECK_CLOSE(m.mode_weights[0], 0.5, 1e-15);
    NCSN_CHECK_CLOSE(m.mode_weights[1], 1 / 3.0, 1e-15);
    NCSN_CHECK_CLOSE(m.mode_weights[2], 1 / 6.0, 1e-15);
    CU_ASSERT(m.mode_weight_error <= 1e-15);
    CU_ASSERT_FATAL(m.train_shares != NULL);
    CU_ASSERT(m.train_shares[0] == 0.5 && m.train_shares[1] == 40 / 120.0 &&
              m.train_shares[2] == 20 / 120.0);
    ncsn_metrics_free(&m);
    CU_ASSERT(m.train_shares == NULL && m.mode_weights == NULL);

    /* the sample off the data goes to the cluster nearest it: class 2 gains 1/N */
    memset(&m, 0, sizeof m);
    ncsn_metrics_classes(&ds, x, N, &m);
    int pred;
    ncsn_knn_predict(ds.train, ds.train_labels, H_TRAIN, HD, HK, NCSN_KNN_K, x + H_TRAIN * HD, 1,
                     &pred);
    CU_ASSERT_EQUAL(pred, 2);
    NCSN_CHECK_CLOSE(m.mode_weights[2], (H_TRAIN / 6 + 1) / (double)N, 1e-15);
    NCSN_CHECK_CLOSE(m.mode_weight_error, (H_TRAIN / 6 + 1) / (double)N - 1 / 6.0, 1e-15);
    ncsn_metrics_free(&m);

    /* a non-finite sample: shares and their error NaN, the accuracy still measured */
    x[3] = NAN;
    memset(&m, 0, sizeof m);
    ncsn_metrics_classes(&ds, x, N, &m);
    CU_ASSERT(isnan(m.mode_weights[0]) && isnan(m.mode_weight_error));
    CU_ASSERT_EQUAL(m.classifier_accuracy, 24.0 / 30.0);
    ncsn_metrics_free(&m);
    x[3] = ds.train[3];

    /* fitted on the run's training points only: the first 60 rows */
    ds.n_points = 60;
    memset(&m, 0, sizeof m);
    ncsn_metrics_classes(&ds, x, 60, &m);
    CU_ASSERT(m.mode_weight_error <= 1e-15);
    ncsn_metrics_free(&m);
    ncsn_dataset_free(&ds);
}

static const ncsn_test_case tests[] = {
    {"k-NN against sorting every distance, ties included", test_brute_force},
    {"k-NN: the same classes for 1 to 4 threads", NCSN_OPENMP_ONLY(test_threads)},
    {"class shares", test_shares},
    {"class metrics: accuracy, shares, error against the training shares", test_metrics},
    {NULL, NULL},
};

void ncsn_test_register(void) { ncsn_test_suite("classify", tests); }
