/* model.h: the score network (the notebook's ScoreModel; docs/computation.md, Score network).
 *   e = W_e2 relu(W_e1 t + b_e1) + b_e2      t = sigma, or log sigma     1 -> E -> E
 *   h = relu(W_1 [x ; e] + b_1)                                          D + E -> H
 *   s = W_2 h + b_2                                                      H -> D
 *   and s / sigma when scale_by_sigma is on (the paper's Technique 3).
 * Sizes: D = data dimension, E = embedding width (16), H = hidden width (128),
 * n = number of points. Weights are row-major (out, in), PyTorch's nn.Linear layout.
 *
 * All parameters live in one float block; an ncsn_model holds named pointers into it.
 * Gradients and Adam moments are further blocks of the same layout (ncsn_model_view).
 *   ncsn_model_init / _free            allocate and initialise like nn.Linear
 *   ncsn_model_view                    the same named pointers over another block
 *   ncsn_model_tensor                  the i-th tensor with its PyTorch name and shape
 *   ncsn_model_embed, _level_bias      the per-level constant of the first layer
 *   ncsn_model_score                   s(x, sigma) for n points at one sigma
 *   ncsn_model_forward / _backward     one example, with its activations, for training
 *   ncsn_model_units_share, _unit_params   which hidden units, and so which parameters, a
 *                                      thread owns in the blocked training path */
#ifndef NCSN_MODEL_H
#define NCSN_MODEL_H

#include <stddef.h>

#include "ncsn/rng.h"

/* What the network sees of sigma: sigma or log sigma through the embedding, or nothing
 * (none: the unconditional net(x) of the paper's Technique 3, with E = 0 and no embedding
 * tensors; the configuration then requires scale_by_sigma, s = net(x) / sigma). */
enum ncsn_sigma_input {
    NCSN_SIGMA_INPUT_SIGMA = 0,
    NCSN_SIGMA_INPUT_LOG_SIGMA = 1,
    NCSN_SIGMA_INPUT_NONE = 2
};

typedef struct {
    int D, E, H;
    int sigma_input;    /* enum ncsn_sigma_input */
    int scale_by_sigma; /* 0 or 1 */
    size_t n_params;
    float *params; /* the block (n_params); owned only if owns_params */
    int owns_params;
    float *emb0_w; /* (E, 1)     sigma_emb.0.weight */
    float *emb0_b; /* (E)        sigma_emb.0.bias */
    float *emb2_w; /* (E, E)     sigma_emb.2.weight */
    float *emb2_b; /* (E)        sigma_emb.2.bias */
    float *bb0_w;  /* (H, D + E) backbone.0.weight: columns 0..D-1 see x, D..D+E-1 see e */
    float *bb0_b;  /* (H)        backbone.0.bias */
    float *bb2_w;  /* (D, H)     backbone.2.weight */
    float *bb2_b;  /* (D)        backbone.2.bias */
} ncsn_model;

#define NCSN_MODEL_N_TENSORS 8

size_t ncsn_model_param_count(int D, int E, int H);
/* Allocates the block, zeroed. With sigma_input NCSN_SIGMA_INPUT_NONE, E is 0 whatever is
 * passed: the first layer sees x alone. */
void ncsn_model_alloc(ncsn_model *m, int D, int E, int H, int sigma_input, int scale_by_sigma);
/* nn.Linear's default: every weight and bias uniform in +-1/sqrt(fan_in), from key. */
void ncsn_model_init_params(ncsn_model *m, ncsn_key key);
void ncsn_model_free(ncsn_model *m); /* safe on a zeroed or half-built model */
/* view gets m's shape and named pointers into block (n_params floats, not owned). */
void ncsn_model_view(const ncsn_model *m, float *block, ncsn_model *view);
void ncsn_model_copy(const ncsn_model *src, ncsn_model *dst); /* dst allocated like src */

/* i in [0, NCSN_MODEL_N_TENSORS): name like "backbone.0.weight", data, and shape
 * (rows, cols); a 1-D bias has cols = 0. */
void ncsn_model_tensor(const ncsn_model *m, int i, const char **name, float **data, int *rows,
                       int *cols);

/* e(sigma) (E). */
void ncsn_model_embed(const ncsn_model *m, float sigma, float *e);
/* c = W_1[:, D:] e(sigma) + b_1 (H): the part of the first layer that is constant within
 * one noise level (docs/computation.md, Score network). */
void ncsn_model_level_bias(const ncsn_model *m, float sigma, float *c);
/* s (n, D) = s_theta(x, sigma) for x (n, D). Serial; callers parallelise over points. */
void ncsn_model_score(const ncsn_model *m, const float *x, int n, float sigma, float *s);

/* Hidden units go in blocks of ncsn_model_unit_block(H) (64, or 128 from H = 256; a sum
 * over hidden units is taken per block, then the blocks' sums are added in a fixed order,
 * so the block size, never the thread count, fixes its order). Thread me of nt owns the
 * whole blocks [nblk me / nt, nblk (me + 1) / nt): units [*o0, *o1). */
int ncsn_model_unit_block(int H);
void ncsn_model_units_share(int H, int me, int nt, int *o0, int *o1);
/* The parameters of units [o0, o1) (W_1's rows, b_1, W_2's columns) as (start, count)
 * ranges of the parameter block, and with with_rest the embedding's and b_2; returns the
 * number of ranges (at most D + 4). */
int ncsn_model_unit_params(const ncsn_model *m, int o0, int o1, int with_rest, size_t *start,
                           size_t *count);
/* fn(start, count, user) over every parameter, in parallel: each thread of a new OpenMP
 * team calls it on the ranges of the units it owns (ncsn_model_units_share; thread 0 also
 * the embedding's and b_2). For elementwise updates (Adam, EMA), which give the bits of one
 * thread whatever the split, done where the blocked training path left those parameters.
 * Small models (under NCSN_MODEL_OWNED_MIN parameters, the notebook's 2.8 k among them) and
 * one-thread runs: fn(0, n_params, user) once, with no OpenMP team. */
#define NCSN_MODEL_OWNED_MIN 32768
void ncsn_model_each_owned(const ncsn_model *m, void (*fn)(size_t start, size_t count, void *user),
                           void *user);

/* backbone.2.weight in a parameter block of m's shape (m's own, a gradient, Adam's moments,
 * an EMA copy): as PyTorch holds it, (D, H), everywhere but in training, or by hidden unit,
 * (H, D), its transpose, while the blocked training path runs (train.h, ncsn_dsm_work's
 * w2_by_unit). Rewrites block's W_2 in place into the other layout: by_unit 1 from (D, H)
 * to (H, D), 0 back. */
void ncsn_model_w2_layout(const ncsn_model *m, float *block, int by_unit);

/* Activations of one example, kept for the backward pass. */
typedef struct {
    float t;        /* embedding input (sigma or log sigma) */
    float *a0;      /* (E) pre-relu embedding hidden */
    float *e;       /* (E) embedding */
    float *z1;      /* (H) pre-relu hidden */
    float *h;       /* (H) relu(z1) */
    float *s;       /* (D) output score */
} ncsn_acts;

void ncsn_acts_alloc(ncsn_acts *a, const ncsn_model *m);
void ncsn_acts_free(ncsn_acts *a);
/* Forward one example; fills a (a->s is the score). */
void ncsn_model_forward(const ncsn_model *m, const float *x, float sigma, ncsn_acts *a);
/* Given dL/ds (D) for that example, accumulates dL/dparams into grad (a view). */
void ncsn_model_backward(const ncsn_model *m, const float *x, float sigma, const ncsn_acts *a,
                         const float *ds, ncsn_model *grad);

#endif
