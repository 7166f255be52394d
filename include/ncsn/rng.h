/* rng.h: counter-based random numbers (docs/computation.md, Reproducibility).
 * Every random number is Philox4x32-10 (Random123) of a counter under a key.
 *   key     = derived from (seed, configuration id, purpose) by ncsn_rng_key(); the
 *             configuration id is config.h's ncsn_config_id of the run's data or training
 *             key (docs/computation.md, Reproducibility)
 *   counter = (a, b, c, d): by convention a = step, b = example or chain,
 *             c = coordinate block (coordinates 4c .. 4c+3), d = 0
 * So a number depends only on what it is for and where it is used, never on which
 * thread draws it or in what order.
 *   ncsn_rng_uniform4 / ncsn_rng_normal4   four numbers from one counter
 *   ncsn_rng_fill_normal / _uniform        n coordinates of one (a, b) row
 * Vectorisable forms for the hot loops (training draws, the sampler's noise):
 *   ncsn_philox_lanes       Philox4x32-10 of NCSN_RNG_LANES consecutive counters
 *                           (a, b0 + l, c, d), bit-identical to ncsn_rng_u32x4
 *   ncsn_philox_v8[_sse2|_avx2]  the same as 8-lane vectors: portable, or by pmuludq for
 *                           code built for the x86-64 baseline or for AVX2 (same bits);
 *                           ncsn_philox_v32s[_sse2|_avx2|_avx512] four blocks with
 *                           strides (8 rows by 4 coordinate blocks, or 32 rows)
 *   ncsn_u01_open           Random123's u01fixedpt_open_open_32_float, inline
 *   ncsn_box_muller_lanes   Box-Muller with this file's own polynomial log, sin and cos
 *   (_v8, _v32)             (8 or 32 lanes, the same bits per lane):
 *                           plain float arithmetic in a fixed order, so every ISA variant
 *                           (and the scalar ncsn_rng_normal4_poly) gives the same bits.
 *                           Error about 1e-7 relative to exact Box-Muller of the same
 *                           uniforms; values differ from ncsn_rng_normal4 (libm) in the last
 *                           bits. Who uses which is documented in train.h and sample.h. */
#ifndef NCSN_RNG_H
#define NCSN_RNG_H

#include <stdint.h>
#include <string.h>

#include "ncsn/cpu.h"

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

/* out[j] = the four Box-Muller normals of counter (a, b, c, 0) like ncsn_rng_normal4, but
 * by ncsn_box_muller_lanes's polynomials (the same bits as the lane form). */
void ncsn_rng_normal4_poly(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]);

#define NCSN_RNG_LANES 8

#if !defined(__GNUC__)
#error "ncsn's vectorised random numbers need GCC or Clang vector extensions"
#endif

/* The lane forms use GCC/Clang vector extensions (8 x 32 bits): AVX2 registers where the
 * caller is compiled for AVX2, pairs of SSE registers otherwise; elementwise integer and
 * float operations only, so the bits never depend on the ISA. */
typedef uint32_t ncsn_v8u __attribute__((vector_size(32)));
typedef int32_t ncsn_v8i __attribute__((vector_size(32)));
typedef float ncsn_v8f __attribute__((vector_size(32)));
/* 32 lanes (four blocks of 8; the compiler splits them into registers): the noise of a
 * whole group of the sampler at once. */
typedef uint32_t ncsn_v32u __attribute__((vector_size(128)));
typedef int32_t ncsn_v32i __attribute__((vector_size(128)));
typedef float ncsn_v32f __attribute__((vector_size(128)));

/* hi:lo = a * M (64-bit product of 32-bit words) from 16 x 16-bit products, which every
 * vector ISA has: the portable form. */
static inline void ncsn_mulhilo_v8(const ncsn_v8u *a, uint32_t M, ncsn_v8u *hi, ncsn_v8u *lo) {
    const uint32_t m0 = M & 0xffffu, m1 = M >> 16;
    const ncsn_v8u a0 = *a & 0xffffu, a1 = *a >> 16;
    const ncsn_v8u t0 = a0 * m0;
    const ncsn_v8u t1 = a1 * m0 + (t0 >> 16);
    const ncsn_v8u t2 = a0 * m1 + (t1 & 0xffffu);
    *hi = a1 * m1 + (t1 >> 16) + (t2 >> 16);
    *lo = (t0 & 0xffffu) | (t2 << 16);
}

/* The ten Philox4x32 rounds on 8 lanes of counters (a, b0 + l, c, d), with MULHILO. */
#define NCSN_PHILOX_V8_BODY(MULHILO)                                                        \
    const ncsn_v8u lane_ = {0, 1, 2, 3, 4, 5, 6, 7};                                       \
    ncsn_v8u c0 = lane_ * 0 + a, c1 = lane_ + b0, c2 = lane_ * 0 + c, c3 = lane_ * 0 + d;   \
    uint32_t k0 = key.k[0], k1 = key.k[1];                                                  \
    for (int r = 0; r < 10; r++) {                                                          \
        ncsn_v8u hi0, lo0, hi1, lo1;                                                        \
        MULHILO(&c0, 0xD2511F53u, &hi0, &lo0);                                              \
        MULHILO(&c2, 0xCD9E8D57u, &hi1, &lo1);                                              \
        c0 = hi1 ^ c1 ^ k0;                                                                 \
        c1 = lo1;                                                                           \
        c2 = hi0 ^ c3 ^ k1;                                                                 \
        c3 = lo0;                                                                           \
        k0 += 0x9E3779B9u;                                                                  \
        k1 += 0xBB67AE85u;                                                                  \
    }                                                                                       \
    out[0] = c0;                                                                            \
    out[1] = c1;                                                                            \
    out[2] = c2;                                                                            \
    out[3] = c3;

/* out[i] lane l = word i of Philox4x32-10 at counter (a, b0 + l, c, d) under key: the
 * portable form, for any caller (ISA-cloned code included). */
static inline void ncsn_philox_v8(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t d,
                                  ncsn_v8u out[4]) {
    NCSN_PHILOX_V8_BODY(ncsn_mulhilo_v8)
}

#if defined(__x86_64__)
#include <immintrin.h>
#define NCSN_RNG_X86 1
/* The same words by the 32 x 32 -> 64 multiply (pmuludq) of even and odd lanes, two to
 * three times faster: ncsn_philox_v8_sse2 for code built for the x86-64 baseline (every
 * x86-64 CPU has SSE2), ncsn_philox_v8_avx2 only inside functions built for AVX2. Integer
 * arithmetic: all forms give the same bits. */
static inline __attribute__((always_inline)) void ncsn_mulhilo_sse2(const ncsn_v8u *a,
                                                                   uint32_t M, ncsn_v8u *hi,
                                                                   ncsn_v8u *lo) {
    const __m128i m = _mm_set1_epi32((int)M), low = _mm_set_epi32(0, -1, 0, -1);
    __m128i av[2], l[2], h[2];
    memcpy(av, a, sizeof av);
    for (int k = 0; k < 2; k++) {
        const __m128i e = _mm_mul_epu32(av[k], m), o = _mm_mul_epu32(_mm_srli_epi64(av[k], 32), m);
        l[k] = _mm_or_si128(_mm_and_si128(e, low), _mm_slli_epi64(o, 32));
        h[k] = _mm_or_si128(_mm_srli_epi64(e, 32), _mm_andnot_si128(low, o));
    }
    memcpy(lo, l, sizeof l);
    memcpy(hi, h, sizeof h);
}
static inline __attribute__((always_inline)) void ncsn_philox_v8_sse2(ncsn_key key, uint32_t a,
                                                                     uint32_t b0, uint32_t c,
                                                                     uint32_t d, ncsn_v8u out[4]) {
    NCSN_PHILOX_V8_BODY(ncsn_mulhilo_sse2)
}
static inline __attribute__((always_inline, target("avx2"))) void
ncsn_mulhilo_avx2(const ncsn_v8u *a, uint32_t M, ncsn_v8u *hi, ncsn_v8u *lo) {
    const __m256i m = _mm256_set1_epi32((int)M), av = (__m256i)*a;
    const __m256i e = _mm256_mul_epu32(av, m), o = _mm256_mul_epu32(_mm256_srli_epi64(av, 32), m);
    *lo = (ncsn_v8u)_mm256_blend_epi32(e, _mm256_slli_epi64(o, 32), 0xAA);
    *hi = (ncsn_v8u)_mm256_blend_epi32(_mm256_srli_epi64(e, 32), o, 0xAA);
}
static inline __attribute__((always_inline, target("avx2"))) void
ncsn_philox_v8_avx2(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t d,
                    ncsn_v8u out[4]) {
    NCSN_PHILOX_V8_BODY(ncsn_mulhilo_avx2)
}
/* nblk (<= 4) blocks of 8 counters (a, b0 + b_step j + l, c + c_step j, d) whose rounds go
 * side by side, so that one block's multiplies need not wait on its last round:
 * out[i][j] = word i of block j. Blocks of consecutive counters: b_step 8, c_step 0.
 * Only inside functions built for AVX2; the same bits as ncsn_philox_v8. */
static inline __attribute__((always_inline, target("avx2"))) void
ncsn_philox_blocks_avx2(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t d,
                        const int nblk, uint32_t b_step, uint32_t c_step, ncsn_v8u out[4][4]) {
    const ncsn_v8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
    ncsn_v8u x0[4], x1[4], x2[4], x3[4];
    for (int j = 0; j < nblk; j++) {
        x0[j] = lane * 0 + a;
        x1[j] = lane + (b0 + b_step * (uint32_t)j);
        x2[j] = lane * 0 + (c + c_step * (uint32_t)j);
        x3[j] = lane * 0 + d;
    }
    uint32_t k0 = key.k[0], k1 = key.k[1];
#pragma GCC unroll 10
    for (int r = 0; r < 10; r++) {
        for (int j = 0; j < nblk; j++) {
            ncsn_v8u hi0, lo0, hi1, lo1;
            ncsn_mulhilo_avx2(&x0[j], 0xD2511F53u, &hi0, &lo0);
            ncsn_mulhilo_avx2(&x2[j], 0xCD9E8D57u, &hi1, &lo1);
            x0[j] = hi1 ^ x1[j] ^ k0;
            x1[j] = lo1;
            x2[j] = hi0 ^ x3[j] ^ k1;
            x3[j] = lo0;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int j = 0; j < nblk; j++) {
        out[0][j] = x0[j];
        out[1][j] = x1[j];
        out[2][j] = x2[j];
        out[3][j] = x3[j];
    }
}

#endif

/* ncsn_philox_v32s[_sse2|_avx2|_avx512]: four blocks of 8 counters, block p at
 * (a, b0 + b_step p + l, c + c_step p, 0) for l < 8, word-major: out[i] lane 8 p + l = word i
 * of that counter. b_step 0, c_step 1: 8 chains or examples by 4 blocks of coordinates (16
 * coordinates of 8 rows: the sampler's noise and training's); b_step 8, c_step 0: 32
 * consecutive rows at one block. _avx2 (the four blocks' rounds side by side) only inside
 * functions built for AVX2, _avx512 (the 32 lanes in two 16-lane registers: 8 lane pairs
 * per 32 x 32 -> 64 multiply instead of 4) only inside ones built for AVX-512F; all four
 * give the same bits. */
#define NCSN_PHILOX_V32S_BY_BLOCKS(V8)                                                      \
    ncsn_v8u blk_[4][4];                                                                    \
    for (int p = 0; p < 4; p++) {                                                           \
        ncsn_v8u one[4];                                                                    \
        V8(key, a, b0 + b_step * (uint32_t)p, c + c_step * (uint32_t)p, 0, one);            \
        for (int i = 0; i < 4; i++) blk_[i][p] = one[i];                                    \
    }                                                                                       \
    memcpy(out, blk_, sizeof blk_);
static inline void ncsn_philox_v32s(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c,
                                    uint32_t b_step, uint32_t c_step, ncsn_v32u out[4]) {
    NCSN_PHILOX_V32S_BY_BLOCKS(ncsn_philox_v8)
}
#if defined(NCSN_RNG_X86)
static inline __attribute__((always_inline)) void
ncsn_philox_v32s_sse2(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t b_step,
                      uint32_t c_step, ncsn_v32u out[4]) {
    NCSN_PHILOX_V32S_BY_BLOCKS(ncsn_philox_v8_sse2)
}
static inline __attribute__((always_inline, target("avx2"))) void
ncsn_philox_v32s_avx2(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t b_step,
                      uint32_t c_step, ncsn_v32u out[4]) {
    ncsn_v8u blk[4][4];
    ncsn_philox_blocks_avx2(key, a, b0, c, 0, 4, b_step, c_step, blk);
    memcpy(out, blk, sizeof blk);
}
static inline __attribute__((always_inline, target("avx512f"))) void
ncsn_mulhilo_avx512(__m512i a, uint32_t M, __m512i *hi, __m512i *lo) {
    const __m512i m = _mm512_set1_epi32((int)M);
    const __m512i e = _mm512_mul_epu32(a, m), o = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, e, _mm512_slli_epi64(o, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e, 32), o);
}
static inline __attribute__((always_inline, target("avx512f"))) void
ncsn_philox_v32s_avx512(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t b_step,
                        uint32_t c_step, ncsn_v32u out[4]) {
    /* lanes 0-15: blocks 0, 1; lanes 16-31: blocks 2, 3 */
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i l8 = _mm512_and_si512(lane, _mm512_set1_epi32(7));
    const __m512i p = _mm512_srli_epi32(lane, 3); /* 0 or 1 */
    __m512i x0[2], x1[2], x2[2], x3[2];
    for (int j = 0; j < 2; j++) {
        const uint32_t p0 = 2u * (uint32_t)j;
        x0[j] = _mm512_set1_epi32((int)a);
        x1[j] = _mm512_add_epi32(_mm512_add_epi32(l8, _mm512_set1_epi32((int)(b0 + b_step * p0))),
                                 _mm512_mullo_epi32(p, _mm512_set1_epi32((int)b_step)));
        x2[j] = _mm512_add_epi32(_mm512_set1_epi32((int)(c + c_step * p0)),
                                 _mm512_mullo_epi32(p, _mm512_set1_epi32((int)c_step)));
        x3[j] = _mm512_setzero_si512();
    }
    uint32_t k0 = key.k[0], k1 = key.k[1];
#pragma GCC unroll 10
    for (int r = 0; r < 10; r++) {
        const __m512i kv0 = _mm512_set1_epi32((int)k0), kv1 = _mm512_set1_epi32((int)k1);
        for (int j = 0; j < 2; j++) {
            __m512i hi0, lo0, hi1, lo1;
            ncsn_mulhilo_avx512(x0[j], 0xD2511F53u, &hi0, &lo0);
            ncsn_mulhilo_avx512(x2[j], 0xCD9E8D57u, &hi1, &lo1);
            x0[j] = _mm512_xor_si512(_mm512_xor_si512(hi1, x1[j]), kv0);
            x1[j] = lo1;
            x2[j] = _mm512_xor_si512(_mm512_xor_si512(hi0, x3[j]), kv1);
            x3[j] = lo0;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int j = 0; j < 2; j++) {
        memcpy((char *)&out[0] + 64 * j, &x0[j], 64);
        memcpy((char *)&out[1] + 64 * j, &x1[j], 64);
        memcpy((char *)&out[2] + 64 * j, &x2[j], 64);
        memcpy((char *)&out[3] + 64 * j, &x3[j], 64);
    }
}
#endif

/* out[i][l] = word i of Philox4x32-10 at counter (a, b0 + l, c, d) under key. */
static inline void ncsn_philox_lanes(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c,
                                     uint32_t d, uint32_t out[4][NCSN_RNG_LANES]) {
    ncsn_v8u v[4];
#ifdef NCSN_RNG_X86
    ncsn_philox_v8_sse2(key, a, b0, c, d, v);
#else
    ncsn_philox_v8(key, a, b0, c, d, v);
#endif
    for (int i = 0; i < 4; i++) memcpy(out[i], &v[i], sizeof v[i]);
}


/* out[j][i] lane l = word i of Philox4x32-10 at counter (a, b0 + 8 j + l, c, d) for
 * j < n_blocks: ncsn_philox_v8 over a run of counters, by the fastest form the CPU has. */
void ncsn_philox_v8_run(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t d,
                        int n_blocks, ncsn_v8u (*out)[4]);

/* Uniform in (0, 1): (0.5 + (u >> 9)) 2^-23, exactly Random123's open-open float. */
static inline float ncsn_u01_open(uint32_t u) {
    return (0.5f + (float)(int32_t)(u >> 9)) * (1.0f / 8388608.0f);
}

/* Normals from two uniform words per lane: zc = r cos(2 pi v), zs = r sin(2 pi v) with
 * r = sqrt(-2 log u), u = ncsn_u01_open(u1), v = ncsn_u01_open(u2), as ncsn_rng_normal4.
 * log: Cephes logf's polynomial after splitting off the exponent; sqrt: three Newton steps
 * on 1/sqrt from the integer first guess, then one on sqrt (no libm, no rsqrt instruction,
 * whose bits vary by CPU); sin, cos: Cephes sinf and cosf polynomials on [-pi/4, pi/4]
 * after an exact integer quadrant reduction of v. Separate multiplies and adds (never
 * fused: these are the numbers of docs/computation.md, Reproducibility, the same on every
 * machine).
 * The body is written once for any lane count (VF, VI, VU: float, int32 and uint32 vectors
 * of that count): every lane sees the same operations, so the 8-lane form and the 32-lane
 * form (four blocks of 8 side by side: independent work that hides the long dependency
 * chains of the polynomials and Newton steps) give the same bits. */
#define NCSN_BOX_MULLER_BODY(VF, VI, VU)                                                      \
    const VU u1 = *pu1, u2 = *pu2;                                                          \
    /* log u: u = 2^e m, m in [sqrt(1/2), sqrt(2)) */                                        \
    const VF u = (0.5f + __builtin_convertvector((VI)(u1 >> 9), VF)) * (1.0f / 8388608.0f); \
    VI bits = (VI)u;                                                                        \
    VI e = ((bits >> 23) & 0xff) - 126;                                                     \
    VF m = (VF)((bits & (int32_t)0x807fffff) | 0x3f000000);                                 \
    /* -1 where m < sqrt(1/2): the sign of the difference (exact in sign, +0 when equal), \
     * as no comparison: the compiler splits 32-lane arithmetic into registers well, but  \
     * not 32-lane comparisons */                                                          \
    const VI small = (VI)(m - 0.707106781186547524f) >> 31;                                 \
    e = e + small;                                                                          \
    m = (VF)(((VI)((m + m) - 1.0f) & small) | ((VI)(m - 1.0f) & ~small));                   \
    const VF ef = __builtin_convertvector(e, VF);                                           \
    const VF z = m * m;                                                                     \
    VF y = m * 7.0376836292e-2f + -1.1514610310e-1f;                                        \
    y = y * m + 1.1676998740e-1f;                                                           \
    y = y * m + -1.2420140846e-1f;                                                          \
    y = y * m + 1.4249322787e-1f;                                                           \
    y = y * m + -1.6668057665e-1f;                                                          \
    y = y * m + 2.0000714765e-1f;                                                           \
    y = y * m + -2.4999993993e-1f;                                                          \
    y = y * m + 3.3333331174e-1f;                                                           \
    y = y * m * z;                                                                          \
    y = y + ef * -2.12194440e-4f;                                                           \
    y = y + -0.5f * z;                                                                      \
    VF lg = m + y;                                                                          \
    lg = lg + ef * 0.693359375f;                                                            \
    VF q = -2.0f * lg;                                                                      \
    /* q >= 0, and the radius is finite: q where its sign bit is clear, else +0 (q is never \
     * NaN: u lies in (0, 1)) */                                                           \
    q = (VF)((VI)q & ~((VI)q >> 31));                                                       \
    /* r = sqrt(q) */                                                                       \
    VF g = (VF)(0x5f3759df - ((VI)q >> 1)); /* ~ 1/sqrt(q) */                               \
    const VF hq = 0.5f * q;                                                                 \
    g = g * (1.5f - hq * g * g);                                                            \
    g = g * (1.5f - hq * g * g);                                                            \
    g = g * (1.5f - hq * g * g);                                                            \
    VF r = q * g;                                                                           \
    r = r + (0.5f * g) * (q - r * r);                                                       \
    /* 4v = J 2^-22 with J = 2 (u2 >> 9) + 1; quadrant k = round(4v), f = 4v - k exact */   \
    const VI J = (VI)((u2 >> 9) << 1) + 1;                                                  \
    const VI k = (J + (1 << 21)) >> 22;                                                     \
    const VF f = __builtin_convertvector(J - (k << 22), VF) * (1.0f / 4194304.0f);          \
    const VF t = f * 1.57079632679489661923f;                                               \
    const VF t2 = t * t;                                                                    \
    VF sp = t2 * -1.9515295891e-4f + 8.3321608736e-3f;                                      \
    sp = sp * t2 + -1.6666654611e-1f;                                                       \
    const VF sn = t + t * t2 * sp;                                                          \
    VF cp = t2 * 2.443315711809948e-5f + -1.388731625493765e-3f;                            \
    cp = cp * t2 + 4.166664568298827e-2f;                                                   \
    const VF cs = (1.0f - 0.5f * t2) + t2 * t2 * cp;                                        \
    /* rotate by k quarter turns: odd k swaps, signs from k */                              \
    const VI swap = -(k & 1);                                                               \
    VU c = (VU)(((VI)sn & swap) | ((VI)cs & ~swap));                                        \
    VU s = (VU)(((VI)cs & swap) | ((VI)sn & ~swap));                                        \
    c ^= (((VU)(k + 1) >> 1) & 1u) << 31;                                                   \
    s ^= (((VU)k >> 1) & 1u) << 31;                                                         \
    *zc = r * (VF)c;                                                                        \
    *zs = r * (VF)s;

static inline void ncsn_box_muller_v8(const ncsn_v8u *pu1, const ncsn_v8u *pu2, ncsn_v8f *zc,
                                      ncsn_v8f *zs) {
    NCSN_BOX_MULLER_BODY(ncsn_v8f, ncsn_v8i, ncsn_v8u)
}

/* 32 lanes: four blocks of 8 (lanes 8 j .. 8 j + 7 = block j), the same bits per lane. */
static inline void ncsn_box_muller_v32(const ncsn_v32u *pu1, const ncsn_v32u *pu2, ncsn_v32f *zc,
                                       ncsn_v32f *zs) {
    NCSN_BOX_MULLER_BODY(ncsn_v32f, ncsn_v32i, ncsn_v32u)
}

/* 64 lanes (eight blocks of 8): the AVX-512 build of the D = 2 sampler's groups. */
typedef uint32_t ncsn_v64u __attribute__((vector_size(256)));
typedef int32_t ncsn_v64i __attribute__((vector_size(256)));
typedef float ncsn_v64f __attribute__((vector_size(256)));
static inline void ncsn_box_muller_v64(const ncsn_v64u *pu1, const ncsn_v64u *pu2, ncsn_v64f *zc,
                                       ncsn_v64f *zs) {
    NCSN_BOX_MULLER_BODY(ncsn_v64f, ncsn_v64i, ncsn_v64u)
}

/* The array form of ncsn_box_muller_v8. */
static inline void ncsn_box_muller_lanes(const uint32_t *u1, const uint32_t *u2, float *zc,
                                         float *zs) {
    ncsn_v8u a, b;
    ncsn_v8f c, s;
    memcpy(&a, u1, sizeof a);
    memcpy(&b, u2, sizeof b);
    ncsn_box_muller_v8(&a, &b, &c, &s);
    memcpy(zc, &c, sizeof c);
    memcpy(zs, &s, sizeof s);
}

#endif
