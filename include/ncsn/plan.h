/* plan.h: the run plan, everything one run needs, worked out once from a configuration and
 * its data: the data set and training points, the values the configuration leaves "auto"
 * (dataset.dim from a file, noise.sigma_1 by Technique 1, noise.L by Technique 2,
 * sample.eps by Technique 3), the noise levels, the realised gamma, eps in the paper's
 * convention, where each value came from, and the sampler's settings (docs/computation.md:
 * Techniques, Noise levels, Samplers). The run, `ncsn sample`, `ncsn techniques`, the sweep's
 * checks and the run file read these here; nothing else resolves "auto" or recomputes them.
 *   ncsn_training_set        the configured data set and its dataset.n training points
 *   ncsn_plan_make           the plan of one run of a configuration (reads the data)
 *   ncsn_plan_resolve        the same from training points given by the caller
 *   ncsn_plan_carry          provenance carried over from a trained run (`ncsn sample`)
 *   ncsn_plan_check          what fails before the data is read (a sweep checks every run)
 *   ncsn_plan_free
 *   ncsn_techniques_chain    Technique 2 then 3 on numbers, each outcome kept
 *   ncsn_realised_gamma      (sigma_1/sigma_L)^(1/(L-1)), the ratio of neighbouring levels
 *   ncsn_eps_paper, ncsn_eps_sampler   the factor 2 between the sampler's eps and the paper's
 *   ncsn_sampler_level_count, ncsn_plan_levels   the sampler's levels: L, or 1 for plain
 *   ncsn_provenance_of       the provenance of a configuration as it stands
 * Errors are configuration errors naming the key (config.h's "ORIGIN: KEY: reason"). */
#ifndef NCSN_PLAN_H
#define NCSN_PLAN_H

#include <stdint.h>

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/dataset.h"
#include "ncsn/sample.h"

/* Where noise.sigma_1, noise.L and sample.eps came from ("explicit", "technique1",
 * "technique2", "technique3"; "" in run files written before provenance), the realised
 * gamma, and sample.eps in the paper's convention: what the run file's /config records. */
typedef struct {
    char sigma_1_source[16], L_source[16], eps_source[16];
    double gamma;     /* (sigma_1/sigma_L)^(1/(L-1)); sigma_1/sigma_L for L = 1 */
    double eps_paper; /* sample.eps / 2: the step of x += eps s + sqrt(2 eps) z */
} ncsn_provenance;

typedef struct {
    /* The configuration as run: dataset.dim, noise.sigma_1, noise.L and sample.eps hold
     * the numbers in use; the *_auto flags stay as given (provenance, and "# auto" in the
     * run file's YAML). dataset.dim "auto" that only a file could tell becomes explicit;
     * dataset.n beyond a file's training rows becomes their number. */
    ncsn_config cfg;
    ncsn_dataset ds;         /* the data set (ncsn_plan_make); zeroed by ncsn_plan_resolve */
    float *x;                /* (dataset.n, D) training points (ncsn_plan_make), or NULL */
    int D;
    double *sigmas;          /* (L) the noise levels, largest first */
    int L;
    ncsn_provenance prov;
    ncsn_sampler sampler;    /* method, T, eps, denoise, sigmas, L: what the sampler runs */
    int levels;              /* the sampler's levels (ncsn_sampler_level_count) */
    /* The id of the resolved configuration's streams part (config.h, NCSN_PART_STREAMS):
     * with the seed, the key of every stream of the run but the data's and the metrics'
     * (initialisation, epochs, levels, training noise, the sampler's start and noise). */
    uint32_t train_id;
} ncsn_plan;

/* ds gets the configured data set (dataset.h: its dimension ds->D resolves dataset.dim
 * "auto"); *x (ds->n_points, D) the training points: drawn from a generator with key
 * (seed, id of the dataset.* keys, NCSN_RNG_TRAIN_DATA) (ncsn_dataset_training_points), or
 * a file's first dataset.n training rows (all of them when dataset.n is larger).
 * Free with free() and ncsn_dataset_free() (also after a failure). */
int ncsn_training_set(const ncsn_config *c, ncsn_dataset *ds, float **x, ncsn_error *err);

/* The plan of a run of c, a configuration that passed ncsn_config_validate:
 * its training set, then every "auto" value in order (sigma_1 feeds L; the realised gamma
 * of the final sigma_1, sigma_L, L feeds eps). 0, or -1 with err filled (a data set that
 * cannot be used, or a technique without an answer, naming the key). Free with
 * ncsn_plan_free (also after a failure). */
int ncsn_plan_make(ncsn_plan *p, const ncsn_config *c, ncsn_error *err);
/* The same values from training points x (n, D) given by the caller (borrowed; NULL when
 * there are none: then Technique 1 fails), without a data set. */
int ncsn_plan_resolve(ncsn_plan *p, const ncsn_config *c, const float *x, int n, int D,
                      ncsn_error *err);
/* A resampled run (`ncsn sample`): sigma_1, L and eps that the trained run (its
 * configuration trained, its recorded sources) got from a technique keep that source while
 * p still has the value, where p's own source is "explicit" (the run file's configuration
 * holds them as numbers). eps keeps it only with the same sample.T. */
void ncsn_plan_carry(ncsn_plan *p, const ncsn_config *trained, const char *sigma_1_source,
                     const char *L_source, const char *eps_source);
/* Before any data is read: -1 with err filled when noise.L is auto and Technique 2 has no
 * solution for the configured dataset.dim. run, when not NULL, names the run in the
 * message ("noise.L: auto (run c0003): ..."). */
int ncsn_plan_check(const ncsn_config *c, const char *run, ncsn_error *err);
void ncsn_plan_free(ncsn_plan *p); /* safe on zeroed; leaves p zeroed */

/* What Techniques 2 and 3 give for dimension D, sigma_1 > sigma_L, T steps per level and
 * the number of levels L (0: Technique 2's). Technique 2 is solved whatever L is; a step
 * that has no answer keeps its sentence and leaves its numbers NAN (or 0). */
typedef struct {
    int t2_ok;
    double gamma_t2;         /* Technique 2's gamma, NAN without a solution */
    int L_t2;                /* 1 + ceil(ln(sigma_1/sigma_L) / ln gamma_t2); < 1: none fits */
    char t2_msg[1024];       /* the "no solution" sentence */
    int L;                   /* the L in use: the one given, or L_t2; 0: none */
    double gamma;            /* ncsn_realised_gamma with that L, NAN without one */
    int t3_ok;
    double eps_paper, f_min; /* Technique 3's argmin and f there, NAN without a solution */
    double eps;              /* the sampler's: ncsn_eps_sampler(eps_paper) */
    char t3_msg[1024];
} ncsn_techniques;
void ncsn_techniques_chain(ncsn_techniques *t, int D, double sigma_1, double sigma_L, int L,
                           int T);

double ncsn_realised_gamma(double sigma_1, double sigma_L, int L);
/* The factor of 2 (docs/computation.md, Techniques): the sampler steps
 * x += (eps/2) s + sqrt(eps) z (alpha/2 at level i), the paper x += eps s + sqrt(2 eps) z,
 * so the sampler's eps is twice the paper's. These two are the only place the factor lives. */
double ncsn_eps_paper(double eps_sampler);
double ncsn_eps_sampler(double eps_paper);
/* Annealed Langevin runs L levels; plain Langevin is one level of T steps. */
int ncsn_sampler_level_count(int method, int L);
int ncsn_plan_levels(const ncsn_config *c); /* of c's sample.method and noise.L */
void ncsn_provenance_of(const ncsn_config *c, ncsn_provenance *p);

#endif
