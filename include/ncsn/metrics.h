/* metrics.h: what every run measures (docs/computation.md, metrics).
 *   ncsn_median_pairwise_distance   bandwidth of the MMD kernel
 *   ncsn_mmd2_unbiased              unbiased MMD^2, k(x,y) = exp(-|x-y|^2 / (2 h^2))
 *   ncsn_swd                        sliced Wasserstein-1 over n_dirs fixed directions
 *   ncsn_mode_weights               share of samples nearest each mixture mean
 *   ncsn_nll_true                   mean -log p_data of the samples
 *   ncsn_score_error                per level: E s^2|s_theta - grad log q_s|^2 / E s^2|grad log q_s|^2
 *   ncsn_mean_cov, ncsn_fd*         Frechet distance between fitted Gaussians (fd.c)
 *   ncsn_nearest_distances, ncsn_nn_ratio   exact nearest neighbours, nn_ratio (nn.c)
 *   ncsn_metrics_compute_sets       all of the above for one run's samples against given
 *                                   reference and noise-floor sets
 *   ncsn_metrics_compute            ... against fresh sets from a mixture
 *   ncsn_metrics_compute_dataset    ... against a data set's sets (dataset.h)
 * Mode weights, nll_true and score_error need the exact mixture: without one (data sets
 * other than gmm and manifold with base gmm) K = 0, mode_weights is NULL, and
 * mode_weight_error, nll_true and every score_error are NaN.
 * All reductions run in double over fixed blocks in a fixed order, so the numbers do not
 * depend on the thread count.
 *
 * Bad samples (docs/computation.md, bad samples): a sample with a non-finite coordinate,
 * or farther from the reference set's mean than
 *   R = |the corner of the start box [low, high]^D farthest from that mean| + 3 sigma_1,
 * is bad. The _compute functions count the bad samples (n_bad) and measure the others
 * only, so a few escaped chains never turn a metric into NaN or 1e21; the building blocks
 * (ncsn_mmd2_unbiased, ...) still give NaN for non-finite input. */
#ifndef NCSN_METRICS_H
#define NCSN_METRICS_H

#include "ncsn/data.h"
#include "ncsn/dataset.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"

#define NCSN_SWD_DIRECTIONS 128
#define NCSN_SCORE_ERROR_POINTS 2000

typedef struct {
    double mmd2, swd;
    double mode_weight_error, nll_true;
    double final_loss;
    double train_seconds, sample_seconds;
    double noise_floor_mmd2, noise_floor_swd;
    double fd, noise_floor_fd; /* Frechet distance to the reference (fd.c) */
    double nn_ratio;      /* nn.c; NaN without training points; no floor (1 by construction) */
    /* Data with labels (classify.h): the classes are the modes, K of them. */
    int labelled;               /* 1: classifier_accuracy and train_shares hold numbers */
    double classifier_accuracy; /* k-NN on the held-out rows */
    double *train_shares;       /* (K) the classes' shares among the training points, the
                                   truth of mode_weights; NULL without labels */
    int K;                /* 0 when the data set has no known modes */
    double *mode_weights; /* (K); NULL when K = 0 */
    int L;
    double *score_error;  /* (L); NaN when no model was trained */
    int64_t n_bad;        /* bad samples, left out of every sample metric */
    int64_t n_nonfinite;  /* of those, the ones with a NaN or infinite coordinate */
    double bad_radius;    /* R above; NaN when the reference set cannot give a mean */
} ncsn_metrics;

void ncsn_metrics_free(ncsn_metrics *m); /* safe on zeroed */

double ncsn_median_pairwise_distance(const float *x, int n, int D);
double ncsn_mmd2_unbiased(const float *x, int n, const float *y, int m, int D,
                          double bandwidth);
/* Directions are unit vectors drawn from key (purpose NCSN_RNG_SWD_DIRS), so every run of a
 * configuration uses the same ones. Equal n and m compare sorted projections; otherwise
 * quantile functions on a common grid. */
double ncsn_swd(const float *x, int n, const float *y, int m, int D, int n_dirs, ncsn_key key);
void ncsn_mode_weights(const ncsn_gmm *g, const float *x, int n, double *w /* (K) */);
double ncsn_nll_true(const ncsn_gmm *g, const float *x, int n);
/* n_points points x ~ q_sigma_i per level, drawn from key. */
void ncsn_score_error(const ncsn_model *model, const ncsn_gmm *g, const double *sigmas, int L,
                      int n_points, ncsn_key key, double *err /* (L) */);

/* The Frechet distance (fd.c), FID's formula in data space:
 *   |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}),
 * mu and S the mean and the covariance (unbiased, normaliser n - 1) of each set, all in
 * double. Cost O(n D^2 + D^3). NaN for fewer than 2 points or a non-finite coordinate. */
double ncsn_fd(const float *x, int n, const float *y, int m, int D);
/* mu (D), S (D, D) of x (n >= 2, D). */
void ncsn_mean_cov(const float *x, int n, int D, double *mu, double *S);
/* The same distance between two given Gaussians (S1, S2 symmetric positive semi-definite). */
double ncsn_fd_gaussians(const double *mu1, const double *S1, const double *mu2,
                         const double *S2, int D);
/* One side of the distance, decomposed once and compared with several sets. */
typedef struct {
    int D;
    double *mu;     /* (D) */
    double trace;   /* tr S */
    double *V;      /* (D, D) eigenvectors of S, in columns */
    double *root_l; /* (D) square roots of its eigenvalues (0 where below zero) */
} ncsn_fd_ref;
int ncsn_fd_ref_init(ncsn_fd_ref *r, const double *mu, const double *S, int D); /* 0 or -1 */
/* From points y (m, D); -1 (and a zeroed r) for m < 2 or a non-finite coordinate. */
int ncsn_fd_ref_of(ncsn_fd_ref *r, const float *y, int m, int D);
double ncsn_fd_gaussian_to(const ncsn_fd_ref *r, const double *mu, const double *S);
double ncsn_fd_to(const ncsn_fd_ref *r, const float *x, int n);
void ncsn_fd_ref_free(ncsn_fd_ref *r); /* safe on zeroed */

/* dist (n): the exact distance from each query q (n, D) to its nearest point of ref
 * (m >= 1, D), in double (nn.c). */
void ncsn_nearest_distances(const float *q, int n, const float *ref, int m, int D,
                            double *dist);
/* median nearest-training-point distance of the samples (n) over that of held-out or
 * fresh points held (n_held): ~1 healthy, << 1 memorising, >> 1 off the data. NaN when a
 * set is empty or holds a non-finite coordinate. */
double ncsn_nn_ratio(const float *samples, int n, const float *train, int n_train,
                     const float *held, int n_held, int D);

/* R of the rule above for the reference set ref (n_ref >= 1, D), the start box and sigma_1;
 * mean (D) receives the reference set's mean. NaN for an empty or non-finite ref. */
double ncsn_bad_radius(const float *ref, int n_ref, int D, double low, double high,
                       double sigma1, double *mean);

/* Fills every field but final_loss, train_seconds and sample_seconds.
 * low, high: the chains' start box (sample.low, sample.high), for the bad-sample rule.
 * seed: the run's seed; the reference set (NCSN_RNG_REFERENCE) and the noise-floor set
 * (NCSN_RNG_FLOOR) have n samples each. model may be NULL (score_error is then NaN).
 * There are no training points here: nn_ratio is NaN. */
void ncsn_metrics_compute(const ncsn_gmm *g, const ncsn_model *model, const double *sigmas,
                          int L, const float *samples, int n, double low, double high,
                          uint64_t seed, ncsn_metrics *out);
/* ref (n_ref, D) and floor_set (n_floor, D) may differ in size from the samples (n, D);
 * exact may be NULL. train (n_train, D): the points the model was trained on, for
 * nn_ratio against ref (NULL: nn_ratio NaN). */
void ncsn_metrics_compute_sets(const ncsn_gmm *exact, const ncsn_model *model,
                               const double *sigmas, int L, const float *samples, int n, int D,
                               const float *ref, int n_ref, const float *floor_set, int n_floor,
                               const float *train, int n_train, double low, double high,
                               uint64_t seed, ncsn_metrics *out);
/* The sets of ncsn_dataset_reference_sets(ds, seed, n, ...); train (n_train, D) as above
 * (the run's ncsn_dataset_training_points). For data with labels, the class metrics too
 * (ncsn_metrics_classes, classify.h). */
void ncsn_metrics_compute_dataset(const ncsn_dataset *ds, const ncsn_model *model,
                                  const double *sigmas, int L, const float *samples, int n,
                                  const float *train, int n_train, double low,
                                  double high, uint64_t seed, ncsn_metrics *out);

#endif
