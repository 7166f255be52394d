/* gemm.h: the blocked matrix products behind training and sampling at any D and width
 * (docs/performance.md). One call computes a block of
 *     C(i, j) = epilogue( init(i, j) + sum_k A(i, k) B(k, j) )
 * where every element is one chain of fused multiply-adds over k = 0, 1, ..., K - 1 in
 * order, started from init. So an element's bits depend on neither the vector width (the
 * AVX-512, AVX2+FMA and baseline variants, cpu.h, agree bit for bit), nor the register
 * blocking, nor how the caller splits C between threads.
 *   A(i, k) = A[i a_rs + k a_ks]   any strides: A or its transpose, row-major
 *   B(k, j) = B[k ldb + j]         rows of B contiguous in j (the vectorised axis), or with
 *                                  b_panels, panels of NCSN_GEMM_PANEL columns one after
 *                                  another (ncsn_gemm_pack_b): B[(j / 64) ldb + 64 k + j % 64]
 *   C(i, j) = C[i ldc + j]
 * init(i, j), with r = row_cls ? row_cls[i] : 0:
 *   0                                       init_b == NULL
 *   init_b[r ld_init + j]                   init_a == NULL
 *   fma(init_a[r ld_init + j], row_t[i], init_b[r ld_init + j])    otherwise
 * epilogue, in this order, each step only where its field is set (unfused):
 *   v = v + bias[j];  v = v * row_scale[i] (or v * scale where has_scale);
 *   v = v > 0 ? v : 0 (relu);  v = mask(i, j) > 0 ? v : 0;  C(i, j) = v.
 * Sizes: M rows, N columns, K terms of each sum. C may be mask itself (ldm = ldc): each
 * element's mask is read before that element is written. */
#ifndef NCSN_GEMM_H
#define NCSN_GEMM_H

#include <stddef.h>

typedef struct {
    int M, N, K;
    const float *A;
    ptrdiff_t a_rs, a_ks;
    const float *B;
    ptrdiff_t ldb;                /* B's row stride, or with b_panels its panel stride */
    int b_panels;
    float *C;
    ptrdiff_t ldc;
    const float *init_a, *init_b; /* (classes, ld_init) */
    ptrdiff_t ld_init;
    const int *row_cls;           /* (M) or NULL */
    const float *row_t;           /* (M), with init_a */
    const float *bias;            /* (N) or NULL */
    const float *row_scale;       /* (M) or NULL */
    float scale;
    int has_scale;
    int relu;
    const float *mask;            /* (M, ldm) or NULL */
    ptrdiff_t ldm;
} ncsn_gemm;

/* The columns of a panel of a panel-major B. */
#define NCSN_GEMM_PANEL 64

/* B (K, N) with B(k, j) = B[k k_stride + j j_stride] (a matrix or its transpose), copied
 * panel-major into packed (ncsn_gemm_packed_floats(K, N) floats; panel stride 64 K, the
 * last panel's missing columns zero): for a B that many products read, packed once (the
 * sampler's W_1x' per level). */
size_t ncsn_gemm_packed_floats(int K, int N);
void ncsn_gemm_pack_b(const float *B, ptrdiff_t k_stride, ptrdiff_t j_stride, int K, int N,
                      float *packed);

/* The block of C at rows [i0, i1) and columns [j0, j1), by the variant ncsn_isa() names. */
void ncsn_gemm_block(const ncsn_gemm *g, int i0, int i1, int j0, int j1);

#endif
