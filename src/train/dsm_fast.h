/* dsm_fast.h: the fast path's tables and entry points, private to src/train/ (the loss and
 * gradient of ncsn_dsm_loss_grad, train.h). Sizes: Bmax = the largest batch, D, E, H as in
 * model.h, K = classes of the embedding's ReLU pattern in a batch (at most E + 1). */
#ifndef NCSN_TRAIN_DSM_FAST_H
#define NCSN_TRAIN_DSM_FAST_H

#include <stdint.h>

#include "ncsn/model.h"

#define FAST_MAX_D 16
/* dsm_fast.c's own kernels up to this D (measured: from D = 8 on the blocked ones are
 * faster, at D = 4 slower) */
#define FAST_KERNEL_MAX_D 6

/* The fast path's tables (see ncsn_dsm_loss_grad in train.h). "Position" i is the i-th
 * example in (class, index) order, the order of every sum over examples. */
typedef struct {
    int Kmax;           /* E + 1: the most classes a batch can have */
    int K;              /* the classes of the batch last classified (dsm_fast_classes) */
    int *cls;           /* (Bmax) class of each example */
    int *ord;           /* (Bmax) example at each position */
    int *kstart;        /* (Kmax + 1) where each class starts in ord */
    uint32_t *kmask;    /* (Kmax) ReLU pattern of each class */
    int Lcap;           /* entries in the per-level tables */
    uint32_t stamp;     /* this batch's mark in lv_stamp */
    uint32_t *lv_stamp; /* (Lcap) == stamp: the level's entries below are this batch's */
    int *lv_cls;        /* (Lcap) class of the level */
    float *lv_t;        /* (Lcap) embedding input of the level */
    float *t;           /* (Bmax) embedding input, by example */
    float *sig;         /* (Bmax) sigma, by example */
    float *ts;          /* (Bmax) t, by position */
    float *xs;          /* (Bmax, D) x' = x + sigma z, by position */
    float *ds;          /* (Bmax, D) dloss_b / d(network output), by position */
    float *zs;          /* (Bmax, H) the first layer before the ReLU, by position */
    double *lossp;      /* (Bmax) the loss, by position */
    float *w1xT;        /* (D, H) W_1's x columns, transposed */
    float *w1eT;        /* (E, H) W_1's e columns, transposed */
    float *we2T;        /* (E, E) W_e2 transposed */
    float *uk, *vk;     /* (Kmax, E) embedding of class k: e = t u_k + v_k */
    float *Ak, *Bk;     /* (Kmax, H) first layer of class k: W_1x x + t A_k + B_k */
    float *Pk, *Qk;     /* (Kmax, H) sums of t dz1 and of dz1 over class k */
    float *pk, *qk;     /* (Kmax, pq_ld) W_1e' P_k, W_1e' Q_k */
    int pq_ld;          /* E, or 2 E where pk and qk interleave (the blocked kernels) */
    int blocked;        /* 1: the blocked kernels (dsm_gemm.c) below, 0: dsm_fast.c's */
    /* the blocked kernels' tables (NULL unless blocked); kpos, scale and tone are
       dsm_fast_classes's, with the classes */
    int *kpos;          /* (Bmax) class, by position */
    float *scale;       /* (Bmax) the network's output scale (1 or 1/sigma), by position */
    float *hs;          /* (H / ob blocks, B, ob) relu(zs) by block of units, then dz over it */
    float *wpack;       /* (threads, wpack_floats) each thread's block of W_1x' for the
                           forward pass and of W_2 (D, ob) for the backward pass, packed
                           panel-major (gemm.h) one block of units at a time */
    size_t wpack_floats;
    size_t wpack_w2;    /* where W_2 starts in a thread's wpack (a line after W_1x') */
    int n_threads;      /* threads with a wpack (ncsn_max_threads at allocation) */
    float *uv;          /* (Kmax, 2, E) rows u_k, v_k (uk = uv, vk = uv + E, stride 2 E) */
    float *pq;          /* (Kmax, 2, H) rows P_k, Q_k */
    float *tone;        /* (2, Bmax) rows t by position, and ones */
    int ob;             /* hidden units per block (64, or 128 from H = 256): the sums over
                           hidden units are taken per block, then added: the output's by
                           a pairwise tree (dsm_gemm.c), p_k and q_k in block order */
    float *spart;       /* (H / ob, Bmax, D) the output's partial sums per block, then the
                           tree's nodes but its root (dsm_gemm.c) */
    float *pqpart;      /* (H / ob, Kmax, 2, E) W_1e' P_k, W_1e' Q_k, per block */
} fast_work;

/* Whether the fast path covers this model's sizes (E <= 32: a class is a 32-bit mask). */
int dsm_fast_ok(const ncsn_model *m);
/* Whether it takes the blocked kernels (any D and H) rather than dsm_fast.c's own ones
 * (D <= FAST_KERNEL_MAX_D, E and H multiples of 8). */
int dsm_fast_blocked(const ncsn_model *m);
fast_work *dsm_fast_alloc(const ncsn_model *m, int Bmax);
void dsm_fast_free(fast_work *f); /* NULL is a no-op */
/* *mean_loss = the batch's mean loss, grad its gradient; returns 0, or -1 when the batch
 * does not fit the tables (the caller then takes the reference path). update: NULL, or
 * applied by the blocked phases (ncsn_dsm_loss_grad_update). */
int dsm_fast_loss_grad(const ncsn_model *m, const float *x, int B, const int *levels,
                       const float *sigmas, const float *z, ncsn_model *grad, fast_work *f,
                       ncsn_param_update *update, double *mean_loss);

/* b_2's gradient at d in [d0, d1) (both paths): each d's sum of ds over the batch in
 * position order, times inv_b; positions in the outer loop, so that the sums of up to 64 d
 * run side by side rather than one chain of adds at a time. */
void dsm_bias2_grad(const fast_work *f, int D, int B, float inv_b, int d0, int d1,
                    ncsn_model *grad);
/* The embedding's gradients from p_k, q_k (the last phase of both). */
void dsm_embedding_backward(const ncsn_model *m, const fast_work *f, int K, float inv_b,
                            ncsn_model *grad);
/* The blocked kernels' phases (dsm_gemm.c), called like dsm_fast.c's own: by every thread
 * of a parallel region (orphaned worksharing), or outside one. Example b's x is row
 * x_rows[b] of x (row b where x_rows is NULL). Returns the summed loss, the same on every
 * thread. update: NULL, or applied to each thread's parameters as they become final. */
double dsm_gemm_phases(const ncsn_model *m, const float *x, const int *x_rows, const float *z,
                       int B, int K, fast_work *f, ncsn_model *grad, ncsn_param_update *update);

/* Whether a batch of B takes the fast path on a team of threads (else on one thread). */
int dsm_fast_parallel(const fast_work *f, const ncsn_model *m, int B);
/* The batch's classes into f (f->K, returned: -1 when they do not fit the tables). */
int dsm_fast_classes(const ncsn_model *m, int B, const int *levels, const float *sigmas,
                     fast_work *f);

#endif
