/* data.h: the Gaussian-mixture data set and what is known about it exactly.
 * A mixture of K Gaussians in D dimensions: weights w (K), means mu (K, D), standard
 * deviations std (K). Component k has covariance std_k^2 I, or, for a mixture embedded
 * by ncsn_gmm_init_embedded (the `manifold` data set, dataset.h), std_k^2 Q Q^T + tau^2 I:
 * std_k within the r-dimensional plane spanned by the orthonormal columns of Q (D, r),
 * and a small isotropic tau in all D coordinates.
 *   ncsn_gmm_init_embedded  the mixture of r-D means m (K, r) lifted by Q, mu_k = Q m_k
 *   ncsn_gmm_sample       n samples; sample i depends only on (key, first + i)
 *   ncsn_gmm_log_prob     log q_sigma(x), q_sigma = p_data convolved with N(0, sigma^2 I)
 *   ncsn_gmm_score        grad_x log q_sigma(x), sigma = 0 gives p_data (docs/computation.md,
 *                         Data and exact scores)
 *   ncsn_gmm_nearest      index of the nearest mean (mode assignment) */
#ifndef NCSN_DATA_H
#define NCSN_DATA_H

#include "ncsn/rng.h"

typedef struct {
    int D, K;
    double *weights; /* (K), sums to 1 */
    double *means;   /* (K, D) */
    double *std;     /* (K) */
    /* Embedded mixtures only (r > 0): component k is N(mu_k, std_k^2 Q Q^T + tau^2 I). */
    int r;           /* 0: isotropic components */
    double *Q;       /* (D, r), orthonormal columns */
    double tau;      /* >= 0 */
} ncsn_gmm;

/* Copies the arrays. Returns 0, or -1 if the weights are not a distribution. */
int ncsn_gmm_init(ncsn_gmm *g, int D, int K, const double *weights, const double *means,
                  const double *std);
/* The r-D mixture (weights, means_r (K, r), std) lifted into R^D by Q (D, r), whose
 * columns must be orthonormal, plus N(0, tau^2 I_D). Copies the arrays; 0, or -1 as above. */
int ncsn_gmm_init_embedded(ncsn_gmm *g, int D, int r, const double *Q, int K,
                           const double *weights, const double *means_r, const double *std,
                           double tau);
void ncsn_gmm_free(ncsn_gmm *g); /* safe on a zeroed or half-built struct */

/* out (n, D): samples first .. first + n - 1 of the stream under key. Sample i uses the
 * counters (first + i, 0, .) and (first + i, 1, .) only. An embedded sample is
 * mu_k + std_k Q z + tau e with (z, e) the first r and next D normals of (first + i, 1, .),
 * so it is Q times the r-D mixture's sample of the same index, plus tau e. */
void ncsn_gmm_sample(const ncsn_gmm *g, ncsn_key key, uint32_t first, int n, float *out);

/* NaN where q_sigma has no density: an embedded mixture with tau = 0 at sigma = 0. */
double ncsn_gmm_log_prob(const ncsn_gmm *g, const float *x /* (D) */, double sigma);
void ncsn_gmm_score(const ncsn_gmm *g, const float *x /* (D) */, double sigma,
                    double *grad /* (D) */);
/* s (n, D) = grad log q_sigma at each row of x (n, D), in float. */
void ncsn_gmm_score_batch(const ncsn_gmm *g, const float *x, int n, double sigma, float *s);
int ncsn_gmm_nearest(const ncsn_gmm *g, const float *x /* (D) */);

#endif
