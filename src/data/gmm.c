/* data/gmm.c: Gaussian-mixture sampling, exact log density and exact perturbed score.
 *
 * Embedded mixtures (r > 0, data.h): with v = x - mu_k split into its part in the plane,
 * P v = Q a with a = Q^T v (r), and the rest v - Q a, the covariance of q_sigma's
 * component k, C_k = std_k^2 Q Q^T + (tau^2 + sigma^2) I, acts as
 *   s_par = std_k^2 + tau^2 + sigma^2    on the plane (r directions),
 *   s_perp = tau^2 + sigma^2             on its orthogonal complement (D - r directions),
 * so log N(x; mu_k, C_k) = -|a|^2 / (2 s_par) - |v - Q a|^2 / (2 s_perp)
 *                          - r/2 log(2 pi s_par) - (D - r)/2 log(2 pi s_perp),
 * and grad_x log N = -Q a / s_par - (v - Q a) / s_perp. The score of the mixture is the
 * responsibility-weighted sum of these. With tau = sigma = 0 and D > r the components
 * have no density off the plane: log_prob and score are NaN there. */
#include "ncsn/data.h"

#include <math.h>
#include <string.h>

#include "ncsn/common.h"

int ncsn_gmm_init(ncsn_gmm *g, int D, int K, const double *weights, const double *means,
                  const double *std) {
    memset(g, 0, sizeof *g);
    double total = 0;
    for (int k = 0; k < K; k++) {
        if (!(weights[k] >= 0) || !(std[k] >= 0)) return -1;
        total += weights[k];
    }
    if (K < 1 || D < 1 || fabs(total - 1.0) > 1e-6) return -1;
    g->D = D;
    g->K = K;
    g->weights = ncsn_xmalloc(sizeof(double) * (size_t)K);
    g->means = ncsn_xmalloc(sizeof(double) * (size_t)K * (size_t)D);
    g->std = ncsn_xmalloc(sizeof(double) * (size_t)K);
    for (int k = 0; k < K; k++) g->weights[k] = weights[k] / total;
    memcpy(g->means, means, sizeof(double) * (size_t)K * (size_t)D);
    memcpy(g->std, std, sizeof(double) * (size_t)K);
    return 0;
}

#define MAX_R 16 /* plane dimension of an embedded mixture (the manifold data set has 2) */

int ncsn_gmm_init_embedded(ncsn_gmm *g, int D, int r, const double *Q, int K,
                           const double *weights, const double *means_r, const double *std,
                           double tau) {
    if (r < 1 || r > MAX_R || r > D || !(tau >= 0) || !isfinite(tau)) {
        memset(g, 0, sizeof *g);
        return -1;
    }
    double *mu = ncsn_xcalloc((size_t)K * (size_t)D, sizeof(double)); /* (K, D) = Q m_k */
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++)
            for (int j = 0; j < r; j++)
                mu[(size_t)k * D + d] += Q[(size_t)d * r + j] * means_r[(size_t)k * r + j];
    int rc = ncsn_gmm_init(g, D, K, weights, mu, std);
    free(mu);
    if (rc != 0) return rc;
    g->r = r;
    g->Q = ncsn_xmalloc(sizeof(double) * (size_t)D * (size_t)r);
    memcpy(g->Q, Q, sizeof(double) * (size_t)D * (size_t)r);
    g->tau = tau;
    return 0;
}

void ncsn_gmm_free(ncsn_gmm *g) {
    if (!g) return;
    NCSN_FREE_ALL(g->weights, g->means, g->std, g->Q);
    memset(g, 0, sizeof *g);
}

/* x (D) = mu_k + std_k Q z + tau e, (z, e) the r + D normals of counters (idx, 1, .). */
static void embedded_sample(const ncsn_gmm *g, ncsn_key key, uint32_t idx, int k, float *x) {
    const int D = g->D, r = g->r;
    float buf[256];
    float *z = D + r <= 256 ? buf : ncsn_xmalloc(sizeof(float) * (size_t)(D + r));
    ncsn_rng_fill_normal(key, idx, 1, r + D, z);
    for (int d = 0; d < D; d++) {
        double v = g->means[(size_t)k * D + d] + g->tau * (double)z[r + d];
        for (int j = 0; j < r; j++) v += g->std[k] * g->Q[(size_t)d * r + j] * (double)z[j];
        x[d] = (float)v;
    }
    if (z != buf) free(z);
}

void ncsn_gmm_sample(const ncsn_gmm *g, ncsn_key key, uint32_t first, int n, float *out) {
    const int D = g->D;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        uint32_t idx = first + (uint32_t)i;
        /* component: counter (idx, 0, 0, d=1); coordinates: counters (idx, 1, block) */
        double u = ncsn_rng_uniform_double(key, idx, 0, 0);
        int k = 0;
        double cum = g->weights[0];
        while (k + 1 < g->K && u >= cum) cum += g->weights[++k];
        float *x = out + (size_t)i * D;
        if (g->r > 0) {
            embedded_sample(g, key, idx, k, x);
            continue;
        }
        ncsn_rng_fill_normal(key, idx, 1, D, x);
        for (int d = 0; d < D; d++)
            x[d] = (float)(g->means[(size_t)k * D + d] + g->std[k] * (double)x[d]);
    }
}

/* Component k of an embedded mixture at x: a = Q^T (x - mu_k) (r), the variances along
 * and across the plane, and |x - mu_k - Q a|^2. */
static void embedded_parts(const ncsn_gmm *g, const float *x, int k, double sigma, double *a,
                           double *s_par, double *s_perp, double *perp2) {
    const int D = g->D, r = g->r;
    const double *mu = g->means + (size_t)k * D;
    for (int j = 0; j < r; j++) a[j] = 0;
    for (int d = 0; d < D; d++) {
        double v = (double)x[d] - mu[d];
        for (int j = 0; j < r; j++) a[j] += g->Q[(size_t)d * r + j] * v;
    }
    double p2 = 0;
    for (int d = 0; d < D; d++) {
        double v = (double)x[d] - mu[d];
        for (int j = 0; j < r; j++) v -= g->Q[(size_t)d * r + j] * a[j];
        p2 += v * v;
    }
    *perp2 = p2;
    *s_perp = g->tau * g->tau + sigma * sigma;
    *s_par = g->std[k] * g->std[k] + *s_perp;
}

/* log of w_k N(x; mu_k, (std_k^2 + sigma^2) I) for each k, into lp (K); for an embedded
 * mixture the covariance of the comment at the top. */
static void component_log_terms(const ncsn_gmm *g, const float *x, double sigma, double *lp) {
    const int D = g->D;
    if (g->r > 0) {
        const int r = g->r;
        double a[MAX_R];
        for (int k = 0; k < g->K; k++) {
            double s_par, s_perp, perp2, a2 = 0;
            embedded_parts(g, x, k, sigma, a, &s_par, &s_perp, &perp2);
            for (int j = 0; j < r; j++) a2 += a[j] * a[j];
            lp[k] = log(g->weights[k]) - 0.5 * a2 / s_par - 0.5 * r * log(2.0 * M_PI * s_par);
            if (D > r)
                lp[k] += s_perp > 0 ? -0.5 * perp2 / s_perp - 0.5 * (D - r) * log(2.0 * M_PI * s_perp)
                                    : NAN;
        }
        return;
    }
    for (int k = 0; k < g->K; k++) {
        double var = g->std[k] * g->std[k] + sigma * sigma;
        double sq = 0;
        for (int d = 0; d < D; d++) {
            double diff = (double)x[d] - g->means[(size_t)k * D + d];
            sq += diff * diff;
        }
        lp[k] = log(g->weights[k]) - 0.5 * sq / var - 0.5 * D * log(2.0 * M_PI * var);
    }
}

double ncsn_gmm_log_prob(const ncsn_gmm *g, const float *x, double sigma) {
    double lp[64];
    double *terms = g->K <= 64 ? lp : ncsn_xmalloc(sizeof(double) * (size_t)g->K);
    component_log_terms(g, x, sigma, terms);
    double m = -INFINITY;
    int nan = 0;
    for (int k = 0; k < g->K; k++) {
        m = terms[k] > m ? terms[k] : m;
        nan |= isnan(terms[k]);
    }
    double s = 0;
    for (int k = 0; k < g->K; k++) s += exp(terms[k] - m);
    if (terms != lp) free(terms);
    return nan ? NAN : m + log(s);
}

void ncsn_gmm_score(const ncsn_gmm *g, const float *x, double sigma, double *grad) {
    /* grad log q = sum_k r_k (mu_k - x) / var_k, r_k the posterior responsibility */
    const int D = g->D;
    double lp[64];
    double *terms = g->K <= 64 ? lp : ncsn_xmalloc(sizeof(double) * (size_t)g->K);
    component_log_terms(g, x, sigma, terms);
    double m = -INFINITY;
    for (int k = 0; k < g->K; k++) m = terms[k] > m ? terms[k] : m;
    double s = 0;
    for (int k = 0; k < g->K; k++) {
        terms[k] = exp(terms[k] - m);
        s += terms[k];
    }
    for (int d = 0; d < D; d++) grad[d] = 0;
    if (g->r > 0) {
        /* -Q a / s_par - (v - Q a) / s_perp, v = x - mu_k; D = r has no second part. */
        const int r = g->r;
        double a[MAX_R];
        for (int k = 0; k < g->K; k++) {
            double resp = terms[k] / s, s_par, s_perp, perp2;
            embedded_parts(g, x, k, sigma, a, &s_par, &s_perp, &perp2);
            for (int d = 0; d < D; d++) {
                double qa = 0;
                for (int j = 0; j < r; j++) qa += g->Q[(size_t)d * r + j] * a[j];
                double perp = (double)x[d] - g->means[(size_t)k * D + d] - qa;
                grad[d] += resp * (-qa / s_par - (D > r ? perp / s_perp : 0.0));
            }
        }
        if (terms != lp) free(terms);
        return;
    }
    for (int k = 0; k < g->K; k++) {
        double r = terms[k] / s;
        double var = g->std[k] * g->std[k] + sigma * sigma;
        for (int d = 0; d < D; d++)
            grad[d] += r * (g->means[(size_t)k * D + d] - (double)x[d]) / var;
    }
    if (terms != lp) free(terms);
}

void ncsn_gmm_score_batch(const ncsn_gmm *g, const float *x, int n, double sigma, float *s) {
    const int D = g->D;
    double buf[256];
    double *grad = D <= 256 ? buf : ncsn_xmalloc(sizeof(double) * (size_t)D);
    for (int i = 0; i < n; i++) {
        ncsn_gmm_score(g, x + (size_t)i * D, sigma, grad);
        for (int d = 0; d < D; d++) s[(size_t)i * D + d] = (float)grad[d];
    }
    if (grad != buf) free(grad);
}

int ncsn_gmm_nearest(const ncsn_gmm *g, const float *x) {
    const int D = g->D;
    int best = 0;
    double best_d = INFINITY;
    for (int k = 0; k < g->K; k++) {
        double sq = 0;
        for (int d = 0; d < D; d++) {
            double diff = (double)x[d] - g->means[(size_t)k * D + d];
            sq += diff * diff;
        }
        if (sq < best_d) {
            best_d = sq;
            best = k;
        }
    }
    return best;
}
