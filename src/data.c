/* data.c: Gaussian-mixture sampling, exact log density and exact perturbed score. */
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

void ncsn_gmm_free(ncsn_gmm *g) {
    if (!g) return;
    free(g->weights);
    free(g->means);
    free(g->std);
    memset(g, 0, sizeof *g);
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
        ncsn_rng_fill_normal(key, idx, 1, D, x);
        for (int d = 0; d < D; d++)
            x[d] = (float)(g->means[(size_t)k * D + d] + g->std[k] * (double)x[d]);
    }
}

/* log of w_k N(x; mu_k, (std_k^2 + sigma^2) I) for each k, into lp (K). */
static void component_log_terms(const ncsn_gmm *g, const float *x, double sigma, double *lp) {
    const int D = g->D;
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
    for (int k = 0; k < g->K; k++) m = terms[k] > m ? terms[k] : m;
    double s = 0;
    for (int k = 0; k < g->K; k++) s += exp(terms[k] - m);
    if (terms != lp) free(terms);
    return m + log(s);
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
