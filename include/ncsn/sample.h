/* sample.h: Langevin samplers (docs/computation.md, Samplers).
 * Annealed (NCSN 2019, Algorithm 1, the notebook's convention):
 *   for i = 1..L: alpha_i = eps sigma_i^2 / sigma_L^2;
 *     T times: x <- x + (alpha_i / 2) s(x, sigma_i) + sqrt(alpha_i) z
 * Plain: T steps of x <- x + (eps / 2) s(x) + sqrt(eps) z with a fixed step eps, where s is
 * the exact data score (sigma = 0) or the model at sigma_L.
 * Optional final denoising: x <- x + sigma_L^2 s(x, sigma_L).
 * Chain c's start and noise come from counters (0, c, block) and (global step, c, block),
 * so each chain is the same whichever thread runs it.
 *   ncsn_sampler_start   uniform start on [low, high]^D
 *   ncsn_sample          run the configured sampler in place on x (n, D) */
#ifndef NCSN_SAMPLE_H
#define NCSN_SAMPLE_H

#include "ncsn/config.h"
#include "ncsn/data.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"
#include "ncsn/train.h"

/* Where scores come from: the network, or the mixture's exact grad log q_sigma. */
typedef struct {
    const ncsn_model *model; /* used when not NULL */
    const ncsn_gmm *gmm;     /* otherwise */
} ncsn_score_fn;

void ncsn_sampler_start(ncsn_key key, int n, int D, double low, double high, float *x);

typedef struct {
    int method;         /* enum ncsn_sample_method */
    int T;
    double eps;
    int denoise;
    const double *sigmas; /* (L) */
    int L;
} ncsn_sampler;

/* Runs the sampler on x (n, D) in place with noise from key. Returns 0, or 1 when
 * ncsn_stop_requested() (common.h; checked before each level): x is then partly sampled. */
int ncsn_sample(const ncsn_sampler *s, ncsn_score_fn score, ncsn_key key, float *x, int n,
                int D, ncsn_progress_fn progress, void *user);

/* The sampler's levels: L for the annealed sampler, 1 for the plain one (its T steps). */
int ncsn_sampler_levels(const ncsn_sampler *s);

/* Levels [from, to) of the sampler on x (n, D), which holds the chains after `from`
 * levels; the final denoising step runs when to is the last level. The noise of a step
 * depends only on its global index, so running the levels in pieces (resuming from a
 * checkpoint) gives exactly the chains of one call. *done gets the levels finished.
 * Returns 0, or 1 when ncsn_stop_requested() (checked before each level): x then holds
 * the chains after *done levels. */
int ncsn_sample_levels(const ncsn_sampler *s, ncsn_score_fn score, ncsn_key key, float *x,
                       int n, int D, int from, int to, int *done, ncsn_progress_fn progress,
                       void *user);

#endif
