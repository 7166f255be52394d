/* rng.h: counter-based random numbers (SPEC.md section 8).
 * Every random number is Philox4x32-10 (Random123) of a counter under a key.
 *   key     = derived from (seed, configuration, purpose) by ncsn_rng_key()
 *   counter = (a, b, c, d): by convention a = step, b = example or chain,
 *             c = coordinate block (coordinates 4c .. 4c+3), d = 0
 * So a number depends only on what it is for and where it is used, never on which
 * thread draws it or in what order.
 *   ncsn_rng_uniform4 / ncsn_rng_normal4   four numbers from one counter
 *   ncsn_rng_fill_normal / _uniform        n coordinates of one (a, b) row */
#ifndef NCSN_RNG_H
#define NCSN_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t k[2];
} ncsn_key;

/* What a stream is for: part of the key, so streams never overlap. */
enum ncsn_purpose {
    NCSN_RNG_TRAIN_DATA = 1,  /* the training set drawn from a generator */
    NCSN_RNG_INIT = 2,        /* network initialisation */
    NCSN_RNG_SHUFFLE = 3,     /* epoch permutations */
    NCSN_RNG_TRAIN_LEVEL = 4, /* noise level of each example */
    NCSN_RNG_TRAIN_NOISE = 5, /* z of each example */
    NCSN_RNG_SAMPLE_START = 6,
    NCSN_RNG_SAMPLE_NOISE = 7,
    NCSN_RNG_REFERENCE = 8,   /* fresh data for the metrics */
    NCSN_RNG_FLOOR = 9,       /* second fresh set, for the noise floor */
    NCSN_RNG_SWD_DIRS = 10,   /* sliced-Wasserstein directions */
    NCSN_RNG_SCORE_ERROR = 11,/* points x ~ q_sigma for the score error */
    NCSN_RNG_DATASET = 12,    /* fixed parts of a data set (embedding maps) */
    NCSN_RNG_MISC = 13
};

ncsn_key ncsn_rng_key(uint64_t seed, uint32_t config, uint32_t purpose);

void ncsn_rng_u32x4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
                    uint32_t out[4]);
/* Uniform in the open interval (0, 1). */
void ncsn_rng_uniform4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]);
/* Standard normals by Box-Muller on two pairs of open uniforms. */
void ncsn_rng_normal4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]);
/* Double-precision uniform in (0, 1) from 53 random bits (a, b, c as above, d = 1). */
double ncsn_rng_uniform_double(ncsn_key key, uint32_t a, uint32_t b, uint32_t c);

/* out[j], j < n: coordinate j of row (a, b), from counters (a, b, j / 4). */
void ncsn_rng_fill_normal(ncsn_key key, uint32_t a, uint32_t b, int n, float *out);
void ncsn_rng_fill_uniform(ncsn_key key, uint32_t a, uint32_t b, int n, float *out);

#endif
