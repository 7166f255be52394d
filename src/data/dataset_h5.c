/* data/dataset_h5.c: the hdf5 data set (dataset.h). An (N, D) array of numbers (any integer or
 * floating type) is read whole from dataset.path, dataset.key, checked (rank 2, every
 * value finite and within float range, D = dataset.dim when that is given), its rows
 * shuffled by a fixed permutation (files are often sorted, by class or by time), and split
 * into the first N - m rows for training and the last m = round(dataset.holdout N) held
 * out for the metrics. With dataset.labels, the (N,) labels in the same file (whole numbers
 * 0 .. NCSN_MAX_CLASSES - 1, of any number type) follow their rows through the shuffle and
 * the split. dataset.n beyond the training rows takes all of them (ds->n_points).
 * Every failure is one line naming the key, the file and its dataset.
 * The file is read by ncsn_h5_read_array (h5util.h); this file words its failures. */
#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>

#include "ncsn/h5util.h"
#include "ncsn/dataset.h"

#define MAX_D 4096 /* as config.c: the largest data dimension */

/* The fixed shuffle: perm (N) by Fisher-Yates with uniforms of counters (i, 2, 0). */
static void fixed_permutation(int N, int *perm) {
    const ncsn_key key = ncsn_rng_key(0, 0, NCSN_RNG_DATASET);
    for (int i = 0; i < N; i++) perm[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(ncsn_rng_uniform_double(key, (uint32_t)i, 2, 0) * (double)(i + 1));
        if (j > i) j = i;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Why ncsn_h5_read_array failed with st, in words (why, n bytes); returns the key to
 * blame: dataset.path when the file itself is wrong, dataset.key when what key names is. */
static const char *array_failure(ncsn_h5_array_status st, const ncsn_h5_array_info *info,
                                 const char *label, const char *key, char *why, size_t n) {
    const unsigned long long rows = info->dims[0], cols = info->dims[1];
    switch (st) {
    case NCSN_H5_ARRAY_OK: return NULL;
    case NCSN_H5_ARRAY_NO_FILE:
        snprintf(why, n, "%s: cannot open (%s)", label, strerror(info->errnum));
        return "dataset.path";
    case NCSN_H5_ARRAY_NOT_HDF5: snprintf(why, n, "%s: not an HDF5 file", label); break;
    case NCSN_H5_ARRAY_UNOPENABLE: snprintf(why, n, "%s: cannot open as HDF5", label); break;
    case NCSN_H5_ARRAY_NO_OBJECT:
        snprintf(why, n, "%s has no dataset \"%s\"", label, key);
        return "dataset.key";
    case NCSN_H5_ARRAY_NOT_DATASET:
        snprintf(why, n, "%s: \"%s\" is a group, not a dataset of points", label, key);
        return "dataset.key";
    case NCSN_H5_ARRAY_BAD_RANK:
        snprintf(why, n, "%s:%s has rank %d, expected an (N, D) array of points", label, key,
                 info->rank);
        return "dataset.key";
    case NCSN_H5_ARRAY_NOT_NUMBERS:
        snprintf(why, n, "%s:%s does not hold numbers (integer or float)", label, key);
        return "dataset.key";
    case NCSN_H5_ARRAY_BAD_SHAPE:
        snprintf(why, n, "%s:%s has shape (%llu, %llu): expected N >= 1 rows of 1 to %d numbers",
                 label, key, rows, cols, MAX_D);
        return "dataset.key";
    case NCSN_H5_ARRAY_UNREADABLE:
        snprintf(why, n, "%s:%s: reading the values failed", label, key);
        return "dataset.key";
    }
    return "dataset.path"; /* NOT_HDF5, UNOPENABLE */
}

/* Reads path:key into *x (N, D) as double (ncsn_h5_read_array), every value checked. */
static int read_array(const ncsn_config *c, const char *path, const char *key, double **x,
                      int *N, int *D, ncsn_error *err) {
    const char *label = c->dataset.path;
    void *values = NULL;
    ncsn_h5_array_info info;
    const hsize_t *dims = info.dims;
    char why[2 * NCSN_PATH_MAX + 200]; /* the label, the key and the words */
    const char *blame = array_failure(ncsn_h5_read_array(path, key, H5T_NATIVE_DOUBLE,
                                                         sizeof(double), MAX_D, &values, &info),
                                      &info, label, key, why, sizeof why);
    if (blame) return ncsn_config_key_error(err, c, blame, "%s", why);
    double *buf = values;
    for (size_t j = 0; j < (size_t)(dims[0] * dims[1]); j++) {
        if (isfinite(buf[j]) && fabs(buf[j]) <= FLT_MAX) continue;
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s:%s: row %zu, column %zu is %g: every value must be a finite "
                              "number within float range", label, key, j / (size_t)dims[1],
                              j % (size_t)dims[1], buf[j]);
        free(buf);
        return -1;
    }
    *x = buf;
    *N = (int)dims[0];
    *D = (int)dims[1];
    return 0;
}

/* Why reading the labels at key failed, in words (why, n bytes). The file itself opened
 * for the points, so what fails here is what key names. */
static void labels_failure(ncsn_h5_array_status st, const ncsn_h5_array_info *info,
                           const char *label, const char *key, char *why, size_t n) {
    switch (st) {
    case NCSN_H5_ARRAY_NOT_DATASET:
        snprintf(why, n, "%s: \"%s\" is a group, not a dataset of labels", label, key);
        break;
    case NCSN_H5_ARRAY_BAD_RANK:
        snprintf(why, n, "%s:%s has rank %d, expected an (N,) array of labels, one per row",
                 label, key, info->rank);
        break;
    case NCSN_H5_ARRAY_BAD_SHAPE: snprintf(why, n, "%s:%s holds no labels", label, key); break;
    default: array_failure(st, info, label, key, why, n); /* the same words as for points */
    }
}

/* *labels (N) from path:c->dataset.labels, each a whole number 0 .. NCSN_MAX_CLASSES - 1;
 * *n_classes = 1 + the largest. Failures name dataset.labels. */
static int read_labels(const ncsn_config *c, int N, int **labels, int *n_classes,
                       ncsn_error *err) {
    const char *label = c->dataset.path, *key = c->dataset.labels;
    void *values = NULL;
    ncsn_h5_array_info info;
    char why[2 * NCSN_PATH_MAX + 200];
    ncsn_h5_array_status st = ncsn_h5_read_vector(c->dataset.path, key, H5T_NATIVE_DOUBLE,
                                                  sizeof(double), &values, &info);
    if (st != NCSN_H5_ARRAY_OK) {
        labels_failure(st, &info, label, key, why, sizeof why);
        return ncsn_config_key_error(err, c, "dataset.labels", "%s", why);
    }
    const double *v = values;
    int rc = 0;
    if ((long long)info.dims[0] != N)
        rc = ncsn_config_key_error(err, c, "dataset.labels", "%s:%s has %llu labels, but %s:%s "
                                   "has %d rows: one label per row", label, key,
                                   (unsigned long long)info.dims[0], label, c->dataset.key, N);
    int *out = ncsn_xmalloc(sizeof(int) * (size_t)N);
    *n_classes = 0;
    for (int i = 0; i < N && rc == 0; i++) {
        if (!(v[i] >= 0 && v[i] < NCSN_MAX_CLASSES && v[i] == floor(v[i])))
            rc = ncsn_config_key_error(err, c, "dataset.labels", "%s:%s: entry %d is %g: labels "
                                       "must be whole numbers 0 to %d", label, key, i, v[i],
                                       NCSN_MAX_CLASSES - 1);
        else if ((out[i] = (int)v[i]) >= *n_classes)
            *n_classes = out[i] + 1;
    }
    free(values);
    if (rc) {
        free(out);
        return -1;
    }
    *labels = out;
    return 0;
}

/* The sizes of the split: m held-out rows of N, and the training points a run takes
 * (dataset.n, or every training row when it asks for more). Refuses what cannot work. */
static int split_sizes(const ncsn_config *c, int N, int D, int *m, int *n_points,
                       ncsn_error *err) {
    const char *path = c->dataset.path, *key = c->dataset.key;
    const double holdout = c->dataset.holdout;
    *m = (int)floor(holdout * N + 0.5);
    *n_points = c->dataset.n < N - *m ? c->dataset.n : N - *m;
    if (!c->dataset.dim_auto && D != c->dataset.dim)
        return ncsn_config_key_error(err, c, "dataset.dim", "is %d, but %s:%s has rows of %d "
                                     "numbers", c->dataset.dim, path, key, D);
    if (*m < 2)
        return ncsn_config_key_error(err, c, "dataset.holdout", "%s:%s has %d rows: holding "
                                     "out %g of them keeps %d, fewer than the 2 the metrics "
                                     "need", path, key, N, holdout, *m);
    if (*n_points < c->train.batch)
        return ncsn_config_key_error(err, c, "train.batch", "is %d, but %s:%s has %d rows, and "
                                     "after holding out %d (dataset.holdout %g) only %d are "
                                     "left for training", c->train.batch, path, key, N, *m,
                                     holdout, N - *m);
    return 0;
}

int ncsn_dataset_load_h5(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err) {
    const char *path = c->dataset.path, *key = c->dataset.key;
    snprintf(ds->label, sizeof ds->label, "%s:%s", path, key);
    double *x = NULL;
    int *labels = NULL;
    int N = 0, D = 0, m = 0;
    if (read_array(c, path, key, &x, &N, &D, err)) return -1;
    if (split_sizes(c, N, D, &m, &ds->n_points, err) != 0 ||
        (c->dataset.labels[0] && read_labels(c, N, &labels, &ds->n_classes, err) != 0)) {
        free(x);
        return -1;
    }

    /* Row perm[i] of the file becomes row i: training rows first, then the held-out. */
    int *perm = ncsn_xmalloc(sizeof(int) * (size_t)N);
    fixed_permutation(N, perm);
    ds->D = D;
    ds->n_train = N - m;
    ds->n_heldout = m;
    ds->train = ncsn_xmalloc(sizeof(float) * (size_t)ds->n_train * (size_t)D);
    ds->heldout = ncsn_xmalloc(sizeof(float) * (size_t)m * (size_t)D);
    if (labels) {
        ds->train_labels = ncsn_xmalloc(sizeof(int) * (size_t)ds->n_train);
        ds->heldout_labels = ncsn_xmalloc(sizeof(int) * (size_t)m);
    }
    for (int i = 0; i < N; i++) {
        const int train = i < ds->n_train, j = train ? i : i - ds->n_train;
        const double *row = x + (size_t)perm[i] * D;
        float *to = (train ? ds->train : ds->heldout) + (size_t)j * D;
        for (int d = 0; d < D; d++) to[d] = (float)row[d];
        if (labels) (train ? ds->train_labels : ds->heldout_labels)[j] = labels[perm[i]];
    }
    free(perm);
    free(labels);
    free(x);
    return 0;
}
