/* data/dataset_h5.c: the hdf5 data set (dataset.h). An (N, D) array of numbers (any integer or
 * floating type) is read whole from dataset.path, dataset.key, checked (rank 2, every
 * value finite and within float range, D = dataset.dim when that is given), its rows
 * shuffled by a fixed permutation (files are often sorted, by class or by time), and split
 * into the first N - m rows for training and the last m = round(dataset.holdout N) held
 * out for the metrics. Every failure is one line naming the key, the file and its dataset.
 * HDF5's own error printing is off while the file is read. */
#include <errno.h>
#include <float.h>
#include <hdf5.h>
#include <limits.h>
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

/* Reads path:key into *x (N, D) as double, checked. */
static int read_array(const ncsn_config *c, const char *path, const char *key, double **x,
                      int *N, int *D, ncsn_error *err) {
    const char *label = c->dataset.path;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return ncsn_config_key_error(err, c, "dataset.path", "%s: cannot open (%s)", label,
                                     strerror(errno));
    fclose(probe);
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 <= 0)
        return ncsn_config_key_error(err, c, "dataset.path", "%s: not an HDF5 file", label);

    int rc = -1;
    hid_t file = H5I_INVALID_HID, obj = H5I_INVALID_HID, space = H5I_INVALID_HID,
          type = H5I_INVALID_HID;
    double *buf = NULL;
    if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        ncsn_config_key_error(err, c, "dataset.path", "%s: cannot open as HDF5", label);
        goto done;
    }
    if ((obj = H5Oopen(file, key, H5P_DEFAULT)) < 0) {
        ncsn_config_key_error(err, c, "dataset.key", "%s has no dataset \"%s\"", label, key);
        goto done;
    }
    if (H5Iget_type(obj) != H5I_DATASET) {
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s: \"%s\" is a group, not a dataset of points", label, key);
        goto done;
    }
    space = H5Dget_space(obj);
    type = H5Dget_type(obj);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (rank != 2) {
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s:%s has rank %d, expected an (N, D) array of points", label,
                              key, rank);
        goto done;
    }
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s:%s does not hold numbers (integer or float)", label, key);
        goto done;
    }
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (dims[0] < 1 || dims[1] < 1 || dims[0] > INT_MAX || dims[1] > MAX_D ||
        dims[0] * dims[1] > (hsize_t)(SIZE_MAX / sizeof(double))) {
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s:%s has shape (%llu, %llu): expected N >= 1 rows of 1 to %d "
                              "numbers", label, key, (unsigned long long)dims[0],
                              (unsigned long long)dims[1], MAX_D);
        goto done;
    }
    buf = ncsn_xmalloc(sizeof(double) * (size_t)(dims[0] * dims[1]));
    if (H5Dread(obj, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        ncsn_config_key_error(err, c, "dataset.key", "%s:%s: reading the values failed", label,
                              key);
        goto done;
    }
    for (size_t j = 0; j < (size_t)(dims[0] * dims[1]); j++) {
        if (isfinite(buf[j]) && fabs(buf[j]) <= FLT_MAX) continue;
        ncsn_config_key_error(err, c, "dataset.key",
                              "%s:%s: row %zu, column %zu is %g: every value must be a finite "
                              "number within float range", label, key, j / (size_t)dims[1],
                              j % (size_t)dims[1], buf[j]);
        goto done;
    }
    *x = buf;
    buf = NULL;
    *N = (int)dims[0];
    *D = (int)dims[1];
    rc = 0;
done:
    free(buf);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (obj >= 0) H5Oclose(obj);
    if (file >= 0) H5Fclose(file);
    return rc;
}

int ncsn_dataset_load_h5(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err) {
    const char *path = c->dataset.path, *key = c->dataset.key;
    snprintf(ds->label, sizeof ds->label, "%s:%s", path, key);
    ncsn_h5_quiet quiet;
    ncsn_h5_quiet_begin(&quiet);
    double *x = NULL;
    int N = 0, D = 0;
    int rc = read_array(c, path, key, &x, &N, &D, err);
    ncsn_h5_quiet_end(&quiet);
    if (rc) return -1;

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
