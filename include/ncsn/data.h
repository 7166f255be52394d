/* data.h: the Gaussian-mixture data set and what is known about it exactly.
 * A mixture of K isotropic Gaussians in D dimensions: weights w (K), means mu (K, D),
 * standard deviations std (K) (component k has covariance std_k^2 I).
 *   ncsn_gmm_sample       n samples; sample i depends only on (key, first + i)
 *   ncsn_gmm_log_prob     log q_sigma(x), q_sigma = p_data convolved with N(0, sigma^2 I)
 *   ncsn_gmm_score        grad_x log q_sigma(x) (SPEC.md section 7), sigma = 0 gives p_data
 *   ncsn_gmm_nearest      index of the nearest mean (mode assignment) */
#ifndef NCSN_DATA_H
#define NCSN_DATA_H

#include "ncsn/rng.h"

typedef struct {
    int D, K;
    double *weights; /* (K), sums to 1 */
    double *means;   /* (K, D) */
    double *std;     /* (K) */
} ncsn_gmm;

/* Copies the arrays. Returns 0, or -1 if the weights are not a distribution. */
int ncsn_gmm_init(ncsn_gmm *g, int D, int K, const double *weights, const double *means,
                  const double *std);
void ncsn_gmm_free(ncsn_gmm *g); /* safe on a zeroed or half-built struct */

/* out (n, D): samples first .. first + n - 1 of the stream under key. */
void ncsn_gmm_sample(const ncsn_gmm *g, ncsn_key key, uint32_t first, int n, float *out);

double ncsn_gmm_log_prob(const ncsn_gmm *g, const float *x /* (D) */, double sigma);
void ncsn_gmm_score(const ncsn_gmm *g, const float *x /* (D) */, double sigma,
                    double *grad /* (D) */);
/* s (n, D) = grad log q_sigma at each row of x (n, D), in float. */
void ncsn_gmm_score_batch(const ncsn_gmm *g, const float *x, int n, double sigma, float *s);
int ncsn_gmm_nearest(const ncsn_gmm *g, const float *x /* (D) */);

#endif
