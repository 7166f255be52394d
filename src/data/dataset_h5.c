/* data/dataset_h5.c: the hdf5 data set (dataset.h). An (N, D) array of numbers (any integer or
 * floating type) is read whole from dataset.path, dataset.key, checked (rank 2, every
 * value finite and within float range, D = dataset.dim when that is given), its rows
 * shuffled by a fixed permutation (files are often sorted, by class or by time), and split
 * into the first N - m rows for training and the last m = round(dataset.holdout N) held
 * out for the metrics. Every failure is one line naming the key, the file and its dataset.
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

int ncsn_dataset_load_h5(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err) {
    const char *path = c->dataset.path, *key = c->dataset.key;
    snprintf(ds->label, sizeof ds->label, "%s:%s", path, key);
    double *x = NULL;
    int N = 0, D = 0;
    if (read_array(c, path, key, &x, &N, &D, err)) return -1;
    int rc = 0;

    const double holdout = c->dataset.holdout;
    const int m = (int)floor(holdout * N + 0.5), n = c->dataset.n;
    if (!c->dataset.dim_auto && D != c->dataset.dim)
        rc = ncsn_config_key_error(err, c, "dataset.dim", "is %d, but %s:%s has rows of %d "
                                   "numbers", c->dataset.dim, path, key, D);
    else if (m < 2)
        rc = ncsn_config_key_error(err, c, "dataset.holdout", "%s:%s has %d rows: holding out "
                                   "%g of them keeps %d, fewer than the 2 the metrics need",
                                   path, key, N, holdout, m);
    else if (N - m < n)
        rc = ncsn_config_key_error(err, c, "dataset.n", "is %d, but %s:%s has %d rows, and "
                                   "after holding out %d (dataset.holdout %g) only %d are left "
                                   "for training", n, path, key, N, m, holdout, N - m);
    if (rc) {
        free(x);
        return -1;
    }

    int *perm = ncsn_xmalloc(sizeof(int) * (size_t)N);
    fixed_permutation(N, perm);
    ds->D = D;
    ds->n_train = N - m;
    ds->n_heldout = m;
    ds->train = ncsn_xmalloc(sizeof(float) * (size_t)ds->n_train * (size_t)D);
    ds->heldout = ncsn_xmalloc(sizeof(float) * (size_t)m * (size_t)D);
    for (int i = 0; i < N; i++) {
        const double *row = x + (size_t)perm[i] * D;
        float *to = i < ds->n_train ? ds->train + (size_t)i * D
                                    : ds->heldout + (size_t)(i - ds->n_train) * D;
        for (int d = 0; d < D; d++) to[d] = (float)row[d];
    }
    free(perm);
    free(x);
    return 0;
}
