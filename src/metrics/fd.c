/* metrics/fd.c: the Fréchet distance between Gaussians fitted to two sets of points
 * (docs/computation.md, Metrics), FID's formula in data space:
 *     fd = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}).
 *
 * Sizes: n points of dimension D; S (D, D) row-major, double throughout.
 *
 * Moments: the mean, then the covariance of the centred points with the unbiased
 * normaliser n - 1. Cost O(n D^2), parallel over tiles of S's rows: each element is one
 * sum over the points in their order, so the bits do not depend on the thread count.
 *
 * The root term: with S1 = V diag(l) V^T (GSL's symmetric eigensolver, gsl_eigen_symmv),
 * S1^{1/2} S2 S1^{1/2} = V M V^T with M = diag(sqrt l) (V^T S2 V) diag(sqrt l), so the
 * trace of its square root is sum_i sqrt(m_i) over the eigenvalues m_i of M
 * (gsl_eigen_symm, no vectors). Eigenvalues that rounding leaves below zero count as
 * zero (a covariance is positive semi-definite; with n <= D it is singular), and an fd
 * that rounding leaves below zero reads 0. Cost O(D^3): the two eigensolvers and the
 * two products V^T (S2 V). ncsn_fd_ref keeps S1's side (mean, trace, V, sqrt l) so that
 * the samples and the noise-floor set are both compared with one reference
 * decomposition. GSL's routines are serial and deterministic. */
#include <gsl/gsl_eigen.h>
#include <math.h>
#include <string.h>

#include "ncsn/common.h"
#include "ncsn/metrics.h"

#define TILE 8 /* rows of S accumulated together: each point's row is read once per tile */

static int all_finite(const float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

void ncsn_mean_cov(const float *x, int n, int D, double *mu, double *S) {
    NCSN_ASSERT(n >= 2 && D >= 1);
    memset(mu, 0, sizeof(double) * (size_t)D);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) mu[d] += (double)x[(size_t)i * D + d];
    for (int d = 0; d < D; d++) mu[d] /= (double)n;
    double *xc = ncsn_xmalloc(sizeof(double) * (size_t)n * (size_t)D); /* (n, D) centred */
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) xc[(size_t)i * D + d] = (double)x[(size_t)i * D + d] - mu[d];
    const int n_tiles = (D + TILE - 1) / TILE;
    /* Tile t: rows a in [t TILE, t TILE + TILE), columns b >= a (the upper triangle). */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < n_tiles; t++) {
        const int a0 = t * TILE, a1 = a0 + TILE < D ? a0 + TILE : D;
        for (int a = a0; a < a1; a++) memset(S + (size_t)a * D + a, 0, sizeof(double) * (size_t)(D - a));
        for (int i = 0; i < n; i++) {
            const double *xi = xc + (size_t)i * D;
            for (int a = a0; a < a1; a++) {
                const double xa = xi[a];
                double *Sa = S + (size_t)a * D;
                for (int b = a; b < D; b++) Sa[b] += xa * xi[b];
            }
        }
    }
    for (int a = 0; a < D; a++) {
        for (int b = a; b < D; b++) S[(size_t)a * D + b] /= (double)(n - 1);
        for (int b = 0; b < a; b++) S[(size_t)a * D + b] = S[(size_t)b * D + a];
    }
    free(xc);
}

/* out = A^T B for A, B, out (D, D); row i of out in parallel, each element one sum over k
 * in order. */
static void product_at_b(const double *A, const double *B, int D, double *out) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < D; i++) {
        double *oi = out + (size_t)i * D;
        memset(oi, 0, sizeof(double) * (size_t)D);
        for (int k = 0; k < D; k++) {
            const double a = A[(size_t)k * D + i];
            const double *bk = B + (size_t)k * D;
            for (int j = 0; j < D; j++) oi[j] += a * bk[j];
        }
    }
}

int ncsn_fd_ref_init(ncsn_fd_ref *r, const double *mu, const double *S, int D) {
    memset(r, 0, sizeof *r);
    r->D = D;
    r->mu = ncsn_xmalloc(sizeof(double) * (size_t)D);
    r->V = ncsn_xmalloc(sizeof(double) * (size_t)D * (size_t)D);
    r->root_l = ncsn_xmalloc(sizeof(double) * (size_t)D);
    memcpy(r->mu, mu, sizeof(double) * (size_t)D);
    double *A = ncsn_xmalloc(sizeof(double) * (size_t)D * (size_t)D); /* (D, D) destroyed */
    memcpy(A, S, sizeof(double) * (size_t)D * (size_t)D);
    r->trace = 0;
    for (int d = 0; d < D; d++) r->trace += S[(size_t)d * D + d];
    gsl_matrix_view Av = gsl_matrix_view_array(A, (size_t)D, (size_t)D);
    gsl_matrix_view Vv = gsl_matrix_view_array(r->V, (size_t)D, (size_t)D);
    gsl_vector_view lv = gsl_vector_view_array(r->root_l, (size_t)D);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc((size_t)D);
    NCSN_ASSERT(w);
    const int status = gsl_eigen_symmv(&Av.matrix, &lv.vector, &Vv.matrix, w);
    gsl_eigen_symmv_free(w);
    free(A);
    for (int d = 0; d < D; d++) r->root_l[d] = r->root_l[d] > 0 ? sqrt(r->root_l[d]) : 0;
    return status == 0 ? 0 : -1;
}

void ncsn_fd_ref_free(ncsn_fd_ref *r) {
    if (!r) return;
    NCSN_FREE_ALL(r->mu, r->V, r->root_l);
    memset(r, 0, sizeof *r);
}

double ncsn_fd_gaussian_to(const ncsn_fd_ref *r, const double *mu, const double *S) {
    const int D = r->D;
    const size_t DD = (size_t)D * (size_t)D;
    double *SV = ncsn_xmalloc(sizeof(double) * DD); /* (D, D) S V (S symmetric: S^T V) */
    double *M = ncsn_xmalloc(sizeof(double) * DD);  /* (D, D) V^T S V, then M */
    product_at_b(S, r->V, D, SV);
    product_at_b(r->V, SV, D, M);
    for (int i = 0; i < D; i++) /* symmetrise (rounding), scale by sqrt l on both sides */
        for (int j = 0; j <= i; j++) {
            const double v = 0.5 * (M[(size_t)i * D + j] + M[(size_t)j * D + i]) *
                             r->root_l[i] * r->root_l[j];
            M[(size_t)i * D + j] = M[(size_t)j * D + i] = v;
        }
    double *m = ncsn_xmalloc(sizeof(double) * (size_t)D); /* (D) eigenvalues of M */
    gsl_matrix_view Mv = gsl_matrix_view_array(M, (size_t)D, (size_t)D);
    gsl_vector_view mv = gsl_vector_view_array(m, (size_t)D);
    gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc((size_t)D);
    NCSN_ASSERT(w);
    const int status = gsl_eigen_symm(&Mv.matrix, &mv.vector, w);
    gsl_eigen_symm_free(w);
    double root = 0, trace = 0, dmu = 0;
    for (int d = 0; d < D; d++) {
        root += m[d] > 0 ? sqrt(m[d]) : 0;
        trace += S[(size_t)d * D + d];
        dmu += (mu[d] - r->mu[d]) * (mu[d] - r->mu[d]);
    }
    NCSN_FREE_ALL(SV, M, m);
    if (status != 0) return NAN;
    const double fd = dmu + r->trace + trace - 2 * root;
    return fd > 0 ? fd : 0;
}

double ncsn_fd_gaussians(const double *mu1, const double *S1, const double *mu2,
                         const double *S2, int D) {
    ncsn_fd_ref r;
    double fd = ncsn_fd_ref_init(&r, mu1, S1, D) == 0 ? ncsn_fd_gaussian_to(&r, mu2, S2) : NAN;
    ncsn_fd_ref_free(&r);
    return fd;
}

int ncsn_fd_ref_of(ncsn_fd_ref *r, const float *y, int m, int D) {
    memset(r, 0, sizeof *r);
    if (m < 2 || !all_finite(y, (size_t)m * (size_t)D)) return -1;
    double *mu = ncsn_xmalloc(sizeof(double) * (size_t)D);
    double *S = ncsn_xmalloc(sizeof(double) * (size_t)D * (size_t)D);
    ncsn_mean_cov(y, m, D, mu, S);
    const int rc = ncsn_fd_ref_init(r, mu, S, D);
    NCSN_FREE_ALL(mu, S);
    return rc;
}

double ncsn_fd_to(const ncsn_fd_ref *r, const float *x, int n) {
    const int D = r->D;
    if (!r->mu || n < 2 || !all_finite(x, (size_t)n * (size_t)D)) return NAN;
    double *mu = ncsn_xmalloc(sizeof(double) * (size_t)D);
    double *S = ncsn_xmalloc(sizeof(double) * (size_t)D * (size_t)D);
    ncsn_mean_cov(x, n, D, mu, S);
    const double fd = ncsn_fd_gaussian_to(r, mu, S);
    NCSN_FREE_ALL(mu, S);
    return fd;
}

double ncsn_fd(const float *x, int n, const float *y, int m, int D) {
    ncsn_fd_ref r;
    const double fd = ncsn_fd_ref_of(&r, y, m, D) == 0 ? ncsn_fd_to(&r, x, n) : NAN;
    ncsn_fd_ref_free(&r);
    return fd;
}
