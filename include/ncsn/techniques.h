/* techniques.h: the hyperparameter techniques of SPEC.md section 6.
 *   Technique 1  ncsn_t1_max_pairwise_distance   sigma_1: the largest distance between two
 *                                                training points, exact (tiled, OpenMP)
 *   Technique 2  ncsn_t2_g, ncsn_t2_solve_gamma  gamma from g(gamma) = 0.5 (Brent root)
 *                ncsn_t2_num_levels              L = 1 + ceil(ln(sigma_1/sigma_L) / ln gamma)
 *   Technique 3  ncsn_t3_f, ncsn_t3_solve        argmin over 0 < u < 1 of f (Brent minimiser
 *                                                on ln u); the sampler's eps is 2 x argmin
 *   ncsn_config_resolve                          replace every "auto" in a configuration */
#ifndef NCSN_TECHNIQUES_H
#define NCSN_TECHNIQUES_H

#include "ncsn/common.h"
#include "ncsn/config.h"

double ncsn_t1_max_pairwise_distance(const float *x /* (n, D) */, int n, int D);

/* g(gamma) = Phi(sqrt(2D)(gamma-1) + 3 gamma) - Phi(sqrt(2D)(gamma-1) - 3 gamma), Phi by erfc. */
double ncsn_t2_g(double gamma, int D);
/* 0 and *gamma > 1 on success; -1 with a sentence in err when there is no root (D <= 4). */
int ncsn_t2_solve_gamma(int D, double *gamma, ncsn_error *err);
int ncsn_t2_num_levels(double sigma_1, double sigma_L, double gamma);

/* f with u = eps / sigma_L^2: (1-u)^(2T) (gamma^2 - 2/(2-u)) + 2/(2-u), stable for tiny u. */
double ncsn_t3_f(double u, double gamma, int T);
/* eps_paper = sigma_L^2 * argmin f; the sampler's eps (SPEC.md section 4) is 2 eps_paper. */
int ncsn_t3_solve(double sigma_L, double gamma, int T, double *eps_paper, double *f_min,
                  ncsn_error *err);

/* Resolves noise.sigma_1 (Technique 1 on train (n, D)), noise.L (Technique 2) and
 * sample.eps (Technique 3, with the realised gamma = (sigma_1/sigma_L)^(1/(L-1))) where the
 * configuration says "auto". A Technique 2 failure is a configuration error naming the key. */
int ncsn_config_resolve(ncsn_config *c, const float *train, int n, int D, ncsn_error *err);

#endif
