/* noise.h: the geometric noise levels of docs/computation.md, Noise levels.
 *   sigma_i = exp(linspace(ln sigma_1, ln sigma_L, L))_i, in double; L = 1 gives sigma_1. */
#ifndef NCSN_NOISE_H
#define NCSN_NOISE_H

void ncsn_noise_levels(double sigma_1, double sigma_L, int L, double *sigmas /* (L) */);

#endif
