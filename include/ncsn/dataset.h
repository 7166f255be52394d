/* dataset.h: the data sets of `dataset.name` behind one interface.
 *   gmm           the Gaussian mixture of dataset.weights, .means (K, D) and .std (data.h)
 *   manifold      a 2-D set, dataset.base gmm (the mixture above, with 2-D means) or
 *                 swissroll, embedded in R^D (D = dataset.dim) by a fixed random map Q (D, 2)
 *                 with orthonormal columns, plus N(0, dataset.noise^2 I_D): the manifold
 *                 hypothesis of the notebook's first section
 *   moons, swissroll, rings, checkerboard    the classic 2-D toys, plus N(0, noise^2 I)
 *   hdf5          an (N, D) array of numbers from dataset.path, dataset.key, shuffled once
 *                 and split into training rows and dataset.holdout held-out rows; with
 *                 dataset.labels, each row's class (an (N,) array of whole numbers 0 to
 *                 NCSN_MAX_CLASSES - 1 in the same file) goes with its row
 * A data set is either a generator of fresh points (sample != NULL) or fixed arrays
 * (train, heldout). exact, where not NULL, is the distribution itself as a mixture (gmm,
 * and manifold with base gmm): its log density, its perturbed score grad log q_sigma
 * (docs/computation.md, Data and exact scores) and its modes (the K means).
 *
 * The 2-D toys (fresh point i of a stream uses counters (first + i, 0, .) for uniforms
 * and (first + i, 1, .) for the noise):
 *   moons         with probability 1/2 each, (cos t, sin t) or (1 - cos t, 1/2 - sin t),
 *                 t uniform in [0, pi] (scikit-learn's make_moons)
 *   swissroll     (t cos t, t sin t) / 2, t uniform in [3 pi / 2, 9 pi / 2]: radius t / 2
 *                 in [2.36, 7.07], inside the notebook's start box [-8, 8]^2
 *   rings         4 circles of radius 0.75, 1.5, 2.25, 3 with probability 1/4 each,
 *                 angle uniform
 *   checkerboard  uniform on the 8 of the 16 cells (2 x 2) of [-4, 4]^2 whose
 *                 floor(x/2) + floor(y/2) is even (FFJORD's toy)
 * The embedding Q and the shuffle of a file's rows are fixed: key ncsn_rng_key(0, 0,
 * NCSN_RNG_DATASET), whatever the run's seed, so every run of a sweep sees the same data
 * set and the same held-out rows.
 *   ncsn_dataset_open             build the configured data set (reads a file)
 *   ncsn_dataset_training_points  the dataset.n training points of a run
 *   ncsn_dataset_reference_sets   the reference and noise-floor sets of the metrics
 *   ncsn_dataset_embedding        Q for dimension D
 *   ncsn_dataset_free */
#ifndef NCSN_DATASET_H
#define NCSN_DATASET_H

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/rng.h"

typedef struct ncsn_dataset ncsn_dataset;

#define NCSN_MAX_CLASSES 256 /* dataset.labels: classes 0 .. 255 */

/* out (n, D): fresh points first .. first + n - 1 of the stream under key. */
typedef void (*ncsn_dataset_sampler)(const ncsn_dataset *ds, ncsn_key key, uint32_t first,
                                     int n, float *out);

struct ncsn_dataset {
    char name[NCSN_NAME_MAX];     /* dataset.name */
    int D;
    ncsn_dataset_sampler sample;  /* a generator; NULL for a file */
    const ncsn_gmm *exact;        /* the exact mixture (points to mix), or NULL */
    /* A file (sample == NULL): its rows after the fixed shuffle, split. */
    float *train;                 /* (n_train, D) */
    int n_train;
    float *heldout;               /* (n_heldout, D) */
    int n_heldout;
    /* dataset.labels (NULL and 0 without): the class of each row above. */
    int *train_labels;            /* (n_train) in 0 .. n_classes - 1 */
    int *heldout_labels;          /* (n_heldout) */
    int n_classes;                /* 1 + the largest label of the file */
    /* The training points a run takes: dataset.n, or for a file every training row when
     * dataset.n asks for more (ncsn_plan_make writes it back into dataset.n). */
    int n_points;
    char label[2 * NCSN_PATH_MAX + 8]; /* "FILE:KEY" for messages */
    /* What the generators use. */
    ncsn_gmm mix;                 /* gmm, manifold with base gmm */
    int toy;                      /* the 2-D generator (dataset.c), manifold swissroll too */
    double noise;
    double *Q;                    /* (D, 2) manifold's embedding, else NULL */
};

/* Builds the data set of c (dataset.*). Errors read like configuration errors,
 * "ORIGIN: dataset.KEY: reason", and name the file and its dataset for hdf5: missing file
 * or key, not a 2-D array of numbers, a value that is not finite, too few rows for the
 * held-out split, fewer training rows than train.batch, D not dataset.dim; labels that
 * are not an (N,) array of whole numbers 0 .. NCSN_MAX_CLASSES - 1, one per row.
 * Returns 0 or -1. */
int ncsn_dataset_open(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err);
void ncsn_dataset_free(ncsn_dataset *ds); /* safe on zeroed */

/* *x (ds->n_points, D), malloc'd: drawn from a generator with key (seed, the id of c's
 * dataset.* keys (config.h, NCSN_PART_DATA), NCSN_RNG_TRAIN_DATA), so runs of one seed and
 * data set train on the same points; or the first n_points training rows of a file. */
void ncsn_dataset_training_points(const ncsn_dataset *ds, const ncsn_config *c, float **x);

/* The metrics' sets (docs/computation.md, Metrics), malloc'd. A generator: n fresh points
 * each, keys (seed, 0, NCSN_RNG_REFERENCE) and (seed, 0, NCSN_RNG_FLOOR). A file: the first
 * min(n, n_heldout) held-out rows, and as the noise floor the first min(n, n_train) training
 * rows (data the model saw, but drawn independently of the held-out rows). */
void ncsn_dataset_reference_sets(const ncsn_dataset *ds, uint64_t seed, int n, float **ref,
                                 int *n_ref, float **floor_set, int *n_floor);

/* Q (D, 2), orthonormal columns: Gram-Schmidt on standard normals of the fixed key. */
void ncsn_dataset_embedding(int D, double *Q);

/* ncsn_dataset_open's hdf5 half (data/dataset_h5.c): fills D, train, heldout, label,
 * n_points and, with dataset.labels, the labels. */
int ncsn_dataset_load_h5(ncsn_dataset *ds, const ncsn_config *c, ncsn_error *err);

#endif
