/* data/dataset.c: the data sets of dataset.h: building one from a configuration, the
 * generators (the mixture, the 2-D toys, their embeddings), training points and the
 * metrics' reference sets. Files are read by data/dataset_h5.c.
 *
 * Sizes: D = data dimension, n = points asked for, R = 2 (the plane of manifold).
 * Every generator draws point i from counters that carry its index first + i, so a point
 * does not depend on which thread makes it, nor on how many points are drawn with it. */
#include "ncsn/dataset.h"

#include <math.h>
#include <string.h>

enum { R = 2 };

enum toy { TOY_NONE = 0, TOY_MOONS, TOY_SWISSROLL, TOY_RINGS, TOY_CHECKERBOARD };

static enum toy toy_of(const char *name) {
    if (!strcmp(name, "moons")) return TOY_MOONS;
    if (!strcmp(name, "swissroll")) return TOY_SWISSROLL;
    if (!strcmp(name, "rings")) return TOY_RINGS;
    if (!strcmp(name, "checkerboard")) return TOY_CHECKERBOARD;
    return TOY_NONE;
}

/* ---- the 2-D toys (definitions in dataset.h) ------------------------------------------- */

/* y (2): point idx of a toy, from the uniforms of counters (idx, 0, 0..2). */
static void toy_point(enum toy toy, ncsn_key key, uint32_t idx, double y[2]) {
    const double u0 = ncsn_rng_uniform_double(key, idx, 0, 0);
    const double u1 = ncsn_rng_uniform_double(key, idx, 0, 1);
    switch (toy) {
    case TOY_MOONS: {
        double t = M_PI * u1;
        if (u0 < 0.5) {
            y[0] = cos(t);
            y[1] = sin(t);
        } else {
            y[0] = 1.0 - cos(t);
            y[1] = 0.5 - sin(t);
        }
        break;
    }
    case TOY_SWISSROLL: {
        double t = 1.5 * M_PI * (1.0 + 2.0 * u0);
        y[0] = 0.5 * t * cos(t);
        y[1] = 0.5 * t * sin(t);
        break;
    }
    case TOY_RINGS: {
        int ring = (int)(4.0 * u0); /* u0 < 1, so 0..3 */
        double radius = 0.75 * (ring + 1), angle = 2.0 * M_PI * u1;
        y[0] = radius * cos(angle);
        y[1] = radius * sin(angle);
        break;
    }
    case TOY_CHECKERBOARD: {
        /* FFJORD: x1 in [-2, 2), x2 in [0, 1) or [-2, -1), shifted up by one when
         * floor(x1) is odd; then everything times 2. */
        const double u2 = ncsn_rng_uniform_double(key, idx, 0, 2);
        double x1 = 4.0 * u0 - 2.0;
        double x2 = u1 - (u2 < 0.5 ? 2.0 : 0.0);
        double shift = fmod(floor(x1), 2.0);
        x2 += shift < 0 ? shift + 2.0 : shift;
        y[0] = 2.0 * x1;
        y[1] = 2.0 * x2;
        break;
    }
    case TOY_NONE: NCSN_ASSERT(0 && "not a toy");
    }
}

static void sample_mixture(const ncsn_dataset *ds, ncsn_key key, uint32_t first, int n,
                           float *out) {
    ncsn_gmm_sample(&ds->mix, key, first, n, out);
}

/* A toy in 2-D, or embedded by Q: x = Q y + noise e, e the D normals of (idx, 1, .). */
static void sample_toy(const ncsn_dataset *ds, ncsn_key key, uint32_t first, int n,
                       float *out) {
    const int D = ds->D;
#pragma omp parallel
    {
        float *e = ncsn_xcalloc((size_t)D, sizeof(float)); /* (D) noise */
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            const uint32_t idx = first + (uint32_t)i;
            double y[2];
            toy_point((enum toy)ds->toy, key, idx, y);
            if (ds->noise > 0) ncsn_rng_fill_normal(key, idx, 1, D, e);
            float *x = out + (size_t)i * D;
            for (int d = 0; d < D; d++) {
                double v = ds->Q ? ds->Q[(size_t)d * R] * y[0] + ds->Q[(size_t)d * R + 1] * y[1]
                                 : y[d];
                x[d] = (float)(v + ds->noise * (double)e[d]);
            }
        }
        free(e);
    }
}

/* ---- the embedding --------------------------------------------------------------------- */

void ncsn_dataset_embedding(int D, double *Q) {
    NCSN_ASSERT(D >= R);
    const ncsn_key key = ncsn_rng_key(0, 0, NCSN_RNG_DATASET);
    for (int d = 0; d < D; d++) {
        float z[R];
        ncsn_rng_fill_normal(key, (uint32_t)d, 0, R, z);
        for (int j = 0; j < R; j++) Q[(size_t)d * R + j] = z[j];
    }
    /* Gram-Schmidt, each projection done twice ("twice is enough") for orthogonality to
     * the last bit that double allows. */
    for (int j = 0; j < R; j++) {
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int d = 0; d < D; d++) dot += Q[(size_t)d * R + i] * Q[(size_t)d * R + j];
                for (int d = 0; d < D; d++) Q[(size_t)d * R + j] -= dot * Q[(size_t)d * R + i];
            }
        }
        double norm = 0;
        for (int d = 0; d < D; d++) norm += Q[(size_t)d * R + j] * Q[(size_t)d * R + j];
        norm = sqrt(norm);
        NCSN_ASSERT(norm > 0);
        for (int d = 0; d < D; d++) Q[(size_t)d * R + j] /= norm;
    }
}

/* ---- building one ------------------------------------------------------------------------ */

int ncsn_dataset_open(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "%s", c->dataset.name);
    const char *name = c->dataset.name;
    const int manifold = !strcmp(name, "manifold");
    ds->noise = c->dataset.noise;
    ds->n_points = c->dataset.n;
    if (!strcmp(name, "hdf5")) {
        if (ncsn_dataset_load_h5(ds, c, err) != 0) {
            ncsn_dataset_free(ds);
            return -1;
        }
        return 0;
    }
    if (!strcmp(name, "gmm")) {
        ds->D = c->dataset.means_cols;
        if (ncsn_gmm_init(&ds->mix, ds->D, c->dataset.k, c->dataset.weights, c->dataset.means,
                          c->dataset.std) != 0)
            return ncsn_seterr(err, "dataset: the weights, means and std do not make a mixture");
        ds->sample = sample_mixture;
        ds->exact = &ds->mix;
        return 0;
    }
    if (manifold) {
        ds->D = c->dataset.dim;
        if (ds->D < R)
            return ncsn_seterr(err, "dataset.dim: manifold needs a dimension of at least 2, got %d",
                               ds->D);
        ds->Q = ncsn_xmalloc(sizeof(double) * (size_t)ds->D * R);
        ncsn_dataset_embedding(ds->D, ds->Q);
        if (!strcmp(c->dataset.base, "gmm")) {
            if (c->dataset.means_cols != R ||
                ncsn_gmm_init_embedded(&ds->mix, ds->D, R, ds->Q, c->dataset.k,
                                       c->dataset.weights, c->dataset.means, c->dataset.std,
                                       ds->noise) != 0) {
                ncsn_dataset_free(ds);
                return ncsn_seterr(err, "dataset: the weights, 2-D means and std do not make a "
                                        "mixture to embed");
            }
            ds->sample = sample_mixture;
            ds->exact = &ds->mix;
        } else {
            ds->toy = toy_of(c->dataset.base);
            NCSN_ASSERT(ds->toy != TOY_NONE);
            ds->sample = sample_toy;
        }
        return 0;
    }
    ds->toy = toy_of(name);
    if (ds->toy == TOY_NONE)
        return ncsn_seterr(err, "dataset.name: unknown data set \"%s\"", name);
    ds->D = R;
    ds->sample = sample_toy;
    return 0;
}

void ncsn_dataset_free(ncsn_dataset *ds) {
    if (!ds) return;
    ncsn_gmm_free(&ds->mix);
    NCSN_FREE_ALL(ds->Q, ds->train, ds->heldout, ds->train_labels, ds->heldout_labels);
    memset(ds, 0, sizeof *ds);
}

/* ---- what a run takes from it ------------------------------------------------------------- */

/* The first n rows of a (rows, D), copied. */
static float *first_rows(const float *a, int n, int D) {
    float *x = ncsn_xmalloc(sizeof(float) * ((size_t)n * (size_t)D + 1));
    if (n > 0) memcpy(x, a, sizeof(float) * (size_t)n * (size_t)D);
    return x;
}

void ncsn_dataset_training_points(const ncsn_dataset *ds, const ncsn_config *c, float **x) {
    const int n = ds->n_points, D = ds->D;
    if (ds->sample) {
        *x = ncsn_xmalloc(sizeof(float) * (size_t)n * (size_t)D);
        ds->sample(ds, ncsn_rng_key(c->seed, ncsn_config_id(c, NCSN_PART_DATA), NCSN_RNG_TRAIN_DATA), 0, n, *x);
    } else {
        NCSN_ASSERT(n <= ds->n_train); /* ncsn_dataset_open made it so */
        *x = first_rows(ds->train, n, D);
    }
}

void ncsn_dataset_reference_sets(const ncsn_dataset *ds, uint64_t seed, int n, float **ref,
                                 int *n_ref, float **floor_set, int *n_floor) {
    const int D = ds->D;
    if (ds->sample) {
        *n_ref = *n_floor = n;
        *ref = ncsn_xmalloc(sizeof(float) * ((size_t)n * (size_t)D + 1));
        *floor_set = ncsn_xmalloc(sizeof(float) * ((size_t)n * (size_t)D + 1));
        ds->sample(ds, ncsn_rng_key(seed, 0, NCSN_RNG_REFERENCE), 0, n, *ref);
        ds->sample(ds, ncsn_rng_key(seed, 0, NCSN_RNG_FLOOR), 0, n, *floor_set);
    } else {
        *n_ref = n < ds->n_heldout ? n : ds->n_heldout;
        *n_floor = n < ds->n_train ? n : ds->n_train;
        *ref = first_rows(ds->heldout, *n_ref, D);
        *floor_set = first_rows(ds->train, *n_floor, D);
    }
}
