/* model/gemm.c: the blocked matrix products of gemm.h, built three times from one body
 * (gemm_body.inc): AVX-512 (16 lanes, 6 rows by 4 vectors of C in registers), AVX2+FMA (8
 * lanes, 6 by 2) and the x86-64 baseline (scalars, fmaf, 4 by 4), chosen at run time by
 * ncsn_isa (cpu.h). The fused multiply-adds are vfmadd in the vector variants and fmaf,
 * correctly rounded, in the baseline, at the same places: all three give the same bits. */
#include "ncsn/gemm.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "ncsn/common.h"
#include "ncsn/cpu.h"
#include "ncsn/simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* The longest sum whose strip of B the driver copies (gemm_body.inc): 256 rows of NR W
 * floats, 64 KB per thread for AVX-512. */
#define GB_PACK_K 256

/* ---- the baseline: scalars ---------------------------------------------------------- */
#define GB_NAME(x) gemm_base_##x
#define GB_ATTR
#define VT float
#define W 1
#define MR 4
#define NR 4
#define VZERO 0.0f
#define VBCAST(s) (s)
#define VLOADN(p, n) ((void)(n), *(p))
#define VSTOREN(p, v, n) ((void)(n), *(p) = (v))
#define VFMA(a, b, c) fmaf((a), (b), (c))
#define VADD(a, b) ((a) + (b))
#define VMUL(a, b) ((a) * (b))
#define VRELU(v) ((v) > 0 ? (v) : 0.0f)
#define VKEEP(v, m) ((m) > 0 ? (v) : 0.0f)
#include "gemm_body.inc"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(NCSN_NO_CLONES)
#define HAVE_GEMM_VECTOR 1
/* ---- AVX2+FMA: 8 lanes; partial vectors by maskload / maskstore ---------------------- */
static inline __attribute__((always_inline, target("avx2,fma"))) __m256i gemm_mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define GB_NAME(x) gemm_avx2_##x
#define GB_ATTR __attribute__((target("avx2,fma")))
#define VT __m256
#define W 8
#define MR 6
#define NR 2
#define VZERO _mm256_setzero_ps()
#define VBCAST(s) _mm256_set1_ps(s)
#define VLOADN(p, n) ((n) == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), gemm_mask8(n)))
#define VSTOREN(p, v, n)                                             \
    do {                                                             \
        if ((n) == 8) _mm256_storeu_ps((p), (v));                    \
        else _mm256_maskstore_ps((p), gemm_mask8(n), (v));           \
    } while (0)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VKEEP(v, m) _mm256_and_ps((v), _mm256_cmp_ps((m), _mm256_setzero_ps(), _CMP_GT_OQ))
#define VRELU(v) VKEEP((v), (v))
#include "gemm_body.inc"

/* ---- AVX-512: 16 lanes; partial vectors by mask registers -------------------------- */
#define GB_NAME(x) gemm_avx512_##x
#define GB_ATTR __attribute__((target("avx512f,avx2,fma")))
#define VT __m512
#define W 16
#define MR 6
#define NR 4
#define VZERO _mm512_setzero_ps()
#define VBCAST(s) _mm512_set1_ps(s)
#define VLOADN(p, n) \
    ((n) == 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), (p)))
#define VSTOREN(p, v, n)                                                     \
    do {                                                                     \
        if ((n) == 16) _mm512_storeu_ps((p), (v));                           \
        else _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v));  \
    } while (0)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VKEEP(v, m) \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask((m), _mm512_setzero_ps(), _CMP_GT_OQ), (v))
#define VRELU(v) VKEEP((v), (v))
#include "gemm_body.inc"
#endif

void ncsn_gemm_block(const ncsn_gemm *g, int i0, int i1, int j0, int j1) {
    NCSN_ASSERT(0 <= i0 && i0 <= i1 && i1 <= g->M && 0 <= j0 && j0 <= j1 && j1 <= g->N);
    if (i0 == i1 || j0 == j1) return;
#ifdef HAVE_GEMM_VECTOR
    const int isa = ncsn_isa();
    if (isa == NCSN_ISA_AVX512) {
        gemm_avx512_block(g, i0, i1, j0, j1);
        return;
    }
    if (isa == NCSN_ISA_AVX2_FMA) {
        gemm_avx2_block(g, i0, i1, j0, j1);
        return;
    }
#endif
    gemm_base_block(g, i0, i1, j0, j1);
}

size_t ncsn_gemm_packed_floats(int K, int N) {
    return (size_t)(N + NCSN_GEMM_PANEL - 1) / NCSN_GEMM_PANEL * NCSN_GEMM_PANEL * (size_t)K;
}

/* B' row-major (k_stride 1): 8 x 8 blocks transposed by shuffles, the rest element by
 * element. */
NCSN_HOT static void pack_transposed(const float *B, ptrdiff_t j_stride, int K, int N,
                                     float *packed) {
    for (int j0 = 0; j0 < N; j0 += NCSN_GEMM_PANEL) {
        const int nj = N - j0 < NCSN_GEMM_PANEL ? N - j0 : NCSN_GEMM_PANEL;
        float *panel = packed + (size_t)j0 * K;
        const int nj8 = nj / 8 * 8, K8 = K / 8 * 8;
        for (int j = 0; j < nj8; j += 8) {
            const float *src = B + (j0 + j) * j_stride;
            for (int k = 0; k < K8; k += 8)
                transpose8(src + k, (int)j_stride, panel + (size_t)k * NCSN_GEMM_PANEL + j,
                           NCSN_GEMM_PANEL);
            for (int k = K8; k < K; k++)
                for (int q = j; q < j + 8; q++)
                    panel[(size_t)k * NCSN_GEMM_PANEL + q] = B[(j0 + q) * j_stride + k];
        }
        for (int k = 0; k < K; k++) {
            float *row = panel + (size_t)k * NCSN_GEMM_PANEL;
            for (int j = nj8; j < nj; j++) row[j] = B[(j0 + j) * j_stride + k];
            memset(row + nj, 0, sizeof(float) * (NCSN_GEMM_PANEL - nj));
        }
    }
}

void ncsn_gemm_pack_b(const float *B, ptrdiff_t k_stride, ptrdiff_t j_stride, int K, int N,
                      float *packed) {
    if (k_stride == 1 && j_stride <= INT_MAX) {
        pack_transposed(B, j_stride, K, N, packed);
        return;
    }
    for (int j0 = 0; j0 < N; j0 += NCSN_GEMM_PANEL) {
        const int nj = N - j0 < NCSN_GEMM_PANEL ? N - j0 : NCSN_GEMM_PANEL;
        float *panel = packed + (size_t)j0 * K;
        for (int k = 0; k < K; k++) {
            float *row = panel + (size_t)k * NCSN_GEMM_PANEL;
            for (int j = 0; j < nj; j++) row[j] = B[k * k_stride + (j0 + j) * j_stride];
            memset(row + nj, 0, sizeof(float) * (NCSN_GEMM_PANEL - nj));
        }
    }
}
