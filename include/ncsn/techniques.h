/* techniques.h: the hyperparameter techniques of docs/computation.md, Techniques.
 *   Technique 1  ncsn_t1_max_pairwise_distance   sigma_1: the largest distance between two
 *                                                training points, exact (tiled, OpenMP)
 *   Technique 2  ncsn_t2_g, ncsn_t2_solve_gamma  gamma from g(gamma) = 0.5 (Brent root)
 *                ncsn_t2_num_levels              L = 1 + ceil(ln(sigma_1/sigma_L) / ln gamma)
 *   Technique 3  ncsn_t3_f, ncsn_t3_solve        argmin over 0 < u < 1 of f (Brent minimiser
 *                                                on ln u); eps in the paper's convention
 * Numbers in, numbers out: resolving a configuration's "auto" keys is the run plan's
 * (plan.h), which also holds the factor 2 between the paper's eps and the sampler's. */
#ifndef NCSN_TECHNIQUES_H
#define NCSN_TECHNIQUES_H

#include "ncsn/common.h"

double ncsn_t1_max_pairwise_distance(const float *x /* (n, D) */, int n, int D);

/* g(gamma) = Phi(sqrt(2D)(gamma-1) + 3 gamma) - Phi(sqrt(2D)(gamma-1) - 3 gamma), Phi by erfc. */
double ncsn_t2_g(double gamma, int D);
/* 0 and *gamma > 1 on success; -1 with a sentence in err when there is no root (D <= 4). */
int ncsn_t2_solve_gamma(int D, double *gamma, ncsn_error *err);
int ncsn_t2_num_levels(double sigma_1, double sigma_L, double gamma);

/* f with u = eps / sigma_L^2: (1-u)^(2T) (gamma^2 - 2/(2-u)) + 2/(2-u), stable for tiny u. */
double ncsn_t3_f(double u, double gamma, int T);
/* eps_paper = sigma_L^2 * argmin f, the step of the paper's x += eps s + sqrt(2 eps) z. */
int ncsn_t3_solve(double sigma_L, double gamma, int T, double *eps_paper, double *f_min,
                  ncsn_error *err);

#endif
