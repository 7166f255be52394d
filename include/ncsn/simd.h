/* simd.h: what the ISA-specific kernels share (train/, sample/, model/gemm.c).
 *   v8f, v8i            8-lane float and int vectors (GCC vector extensions)
 *   LOAD8, STORE8       unaligned loads and stores; RELU8 by a comparison mask
 *   FMA8, FMA8S, BCAST8 a b + c rounded once, in a kernel body whose parameter hw_ says
 *                       which form: vfmadd (AVX2+FMA build) or fmaf per lane (baseline)
 *   KERNEL, CALL_KERNEL a kernel body built for AVX2+FMA and for the baseline, chosen at
 *                       run time (ncsn_isa, cpu.h)
 *   NCSN_HOT            target_clones for plain code worth an AVX2 build
 *   transpose8          an 8 x 8 block transposed by shuffles
 * Include only from .c files: the macros define static functions. */
#ifndef NCSN_SIMD_H
#define NCSN_SIMD_H

#include <math.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "ncsn/rng.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define NCSN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define NCSN_HOT
#endif

typedef ncsn_v8f v8f;
typedef ncsn_v8i v8i;
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8f))
#define STORE8(p, src) memcpy((p), &(src), sizeof(v8f))
#define RELU8(v, mask) ((v8f)((v8i)(v) & (mask)))

/* a b + c per lane, rounded once: FMA8(a, b, c) inside a kernel body (*_impl below), whose
 * parameter hw_ (a constant in each build of it) says which form: vfmadd in the AVX2+FMA
 * build, fmaf per lane in the baseline's. fma8_hw is never inlined into (nor, hw_ being 0,
 * called from) the baseline build. */
/* 32-byte vectors passed by value to and from these inline helpers: GCC warns that the ABI
 * of such calls differs without AVX, which matters only across separately built code,
 * never here (the helpers are inlined, and fma8_hw is never called in the baseline). */
#pragma GCC diagnostic ignored "-Wpsabi"
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NCSN_NO_CLONES)
#define HAVE_FMA_BUILD 1
static inline __attribute__((target("avx2,fma"))) v8f fma8_hw(v8f a, v8f b, v8f c) {
    return (v8f)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}
#endif
static inline __attribute__((always_inline)) v8f fma8_sw(v8f a, v8f b, v8f c) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}
#ifdef HAVE_FMA_BUILD
#define FMA8(a, b, c) (hw_ ? fma8_hw((a), (b), (c)) : fma8_sw((a), (b), (c)))
#else
#define FMA8(a, b, c) ((void)hw_, fma8_sw((a), (b), (c)))
#endif
/* FMA8S(a, s, c): FMA8 with a scalar factor s in every lane */
#ifdef HAVE_FMA_BUILD
static inline __attribute__((target("avx2,fma"))) v8f fma8s_hw(v8f a, float s, v8f c) {
    return (v8f)_mm256_fmadd_ps((__m256)a, _mm256_set1_ps(s), (__m256)c);
}
#endif
static inline __attribute__((always_inline)) v8f fma8s_sw(v8f a, float s, v8f c) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], s, c[l]);
    return r;
}
/* BCAST8(s): s in every lane (vbroadcastss; GCC builds {s, ..., s} through memory) */
#ifdef HAVE_FMA_BUILD
static inline __attribute__((target("avx2,fma"))) v8f bcast8_hw(float s) {
    return (v8f)_mm256_set1_ps(s);
}
#endif
static inline __attribute__((always_inline)) v8f bcast8_sw(float s) {
    v8f r;
    for (int l = 0; l < 8; l++) r[l] = s;
    return r;
}
#ifdef HAVE_FMA_BUILD
#define FMA8S(a, s, c) (hw_ ? fma8s_hw((a), (s), (c)) : fma8s_sw((a), (s), (c)))
#define BCAST8(s) (hw_ ? bcast8_hw(s) : bcast8_sw(s))
#else
#define FMA8S(a, s, c) ((void)hw_, fma8s_sw((a), (s), (c)))
#define BCAST8(s) ((void)hw_, bcast8_sw(s))
#endif

/* KERNEL(name, params, args) defines name_fma (built for AVX2+FMA) and name_base (the
 * baseline) around the always-inline body name_impl(args..., hw_); CALL_KERNEL(fma, name,
 * args) calls the one chosen. */
#define KERNEL_ARGS(...) __VA_ARGS__
#define KERNEL_CALL(f, ...) f(__VA_ARGS__)
#ifdef HAVE_FMA_BUILD
#define KERNEL(name, params, args)                                                          \
    __attribute__((target("avx2,fma"))) static void name##_fma params {                     \
        KERNEL_CALL(name##_impl, KERNEL_ARGS args, 1);                                      \
    }                                                                                       \
    static void name##_base params { KERNEL_CALL(name##_impl, KERNEL_ARGS args, 0); }
#define CALL_KERNEL(fma, name, args) ((fma) ? name##_fma args : name##_base args)
#else
#define KERNEL(name, params, args) \
    static void name##_base params { KERNEL_CALL(name##_impl, KERNEL_ARGS args, 0); }
#define CALL_KERNEL(fma, name, args) ((void)(fma), name##_base args)
#endif

/* dst[r ld_dst + c] = src[c ld_src + r] for r, c < 8 (an 8 x 8 block, by shuffles). */
static inline __attribute__((always_inline)) void transpose8(const float *src, int ld_src,
                                                             float *dst, int ld_dst) {
    v8f r[8], t[8], u[8];
    /* unrolled, so that the blocks stay in registers (never a round trip through memory) */
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) LOAD8(r[i], src + (size_t)i * ld_src);
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shuffle(r[i], r[i + 1], (v8i){0, 8, 1, 9, 4, 12, 5, 13});
        t[i + 1] = __builtin_shuffle(r[i], r[i + 1], (v8i){2, 10, 3, 11, 6, 14, 7, 15});
    }
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4)
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            u[i + j] = __builtin_shuffle(t[i + j], t[i + j + 2], (v8i){0, 1, 8, 9, 4, 5, 12, 13});
            u[i + j + 2] =
                __builtin_shuffle(t[i + j], t[i + j + 2], (v8i){2, 3, 10, 11, 6, 7, 14, 15});
        }
    static const int from[4] = {0, 2, 1, 3};
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const int q = from[i];
        const v8f a = __builtin_shuffle(u[q], u[q + 4], (v8i){0, 1, 2, 3, 8, 9, 10, 11});
        const v8f b = __builtin_shuffle(u[q], u[q + 4], (v8i){4, 5, 6, 7, 12, 13, 14, 15});
        STORE8(dst + (size_t)i * ld_dst, a);
        STORE8(dst + (size_t)(i + 4) * ld_dst, b);
    }
}

#endif
