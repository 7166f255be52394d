/* util/rng.c: Philox keys, uniforms and normals (see rng.h). */
#include "ncsn/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

ncsn_key ncsn_rng_key(uint64_t seed, uint32_t config, uint32_t purpose) {
    /* Key derivation: one Philox call on (seed, config, purpose) under a fixed key. */
    philox4x32_ctr_t c = {{(uint32_t)seed, (uint32_t)(seed >> 32), config, purpose}};
    philox4x32_key_t k = {{0x6e63736eu, 0x5350454bu}};
    philox4x32_ctr_t r = philox4x32(c, k);
    ncsn_key out = {{r.v[0], r.v[1] ^ r.v[2]}};
    return out;
}

void ncsn_rng_u32x4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
                    uint32_t out[4]) {
    philox4x32_ctr_t ctr = {{a, b, c, d}};
    philox4x32_key_t k = {{key.k[0], key.k[1]}};
    philox4x32_ctr_t r = philox4x32(ctr, k);
    for (int i = 0; i < 4; i++) out[i] = r.v[i];
}

void ncsn_rng_uniform4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]) {
    uint32_t u[4];
    ncsn_rng_u32x4(key, a, b, c, 0, u);
    for (int i = 0; i < 4; i++) out[i] = u01fixedpt_open_open_32_float(u[i]);
}

void ncsn_rng_normal4(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]) {
    uint32_t u[4];
    ncsn_rng_u32x4(key, a, b, c, 0, u);
    const float two_pi = 6.28318530717958647692f;
    for (int i = 0; i < 4; i += 2) {
        float u1 = u01fixedpt_open_open_32_float(u[i]);
        float u2 = u01fixedpt_open_open_32_float(u[i + 1]);
        float r = sqrtf(-2.0f * logf(u1));
        float t = two_pi * u2;
        out[i] = r * cosf(t);
        out[i + 1] = r * sinf(t);
    }
}

double ncsn_rng_uniform_double(ncsn_key key, uint32_t a, uint32_t b, uint32_t c) {
    uint32_t u[4];
    ncsn_rng_u32x4(key, a, b, c, 1, u);
    uint64_t bits = ((uint64_t)u[0] << 21) ^ (uint64_t)(u[1] >> 11); /* 53 bits */
    bits &= (UINT64_C(1) << 53) - 1;
    return ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
}

void ncsn_rng_fill_normal(ncsn_key key, uint32_t a, uint32_t b, int n, float *out) {
    for (int j = 0; j < n; j += 4) {
        float z[4];
        ncsn_rng_normal4(key, a, b, (uint32_t)(j / 4), z);
        for (int i = 0; i < 4 && j + i < n; i++) out[j + i] = z[i];
    }
}

void ncsn_rng_fill_uniform(ncsn_key key, uint32_t a, uint32_t b, int n, float *out) {
    for (int j = 0; j < n; j += 4) {
        float z[4];
        ncsn_rng_uniform4(key, a, b, (uint32_t)(j / 4), z);
        for (int i = 0; i < 4 && j + i < n; i++) out[j + i] = z[i];
    }
}

void ncsn_rng_normal4_poly(ncsn_key key, uint32_t a, uint32_t b, uint32_t c, float out[4]) {
    uint32_t u[4][NCSN_RNG_LANES];
    ncsn_philox_lanes(key, a, b, c, 0, u);
    float zc[NCSN_RNG_LANES], zs[NCSN_RNG_LANES];
    ncsn_box_muller_lanes(u[0], u[1], zc, zs);
    out[0] = zc[0];
    out[1] = zs[0];
    ncsn_box_muller_lanes(u[2], u[3], zc, zs);
    out[2] = zc[0];
    out[3] = zs[0];
}

/* ncsn_philox_v8_run: one block of 8 counters at a time, by the fastest form this CPU has
 * (the same bits from every form). */
#if defined(NCSN_RNG_X86) && !defined(NCSN_NO_CLONES)
/* four blocks at a time, their rounds side by side (ncsn_philox_blocks_avx2), then the rest */
__attribute__((target("avx2"))) static void philox_run_avx2(ncsn_key key, uint32_t a, uint32_t b0,
                                                            uint32_t c, uint32_t d, int n_blocks,
                                                            ncsn_v8u (*out)[4]) {
    int j = 0;
    for (; j + 4 <= n_blocks; j += 4) {
        ncsn_v8u w[4][4];
        ncsn_philox_blocks_avx2(key, a, b0 + 8u * (uint32_t)j, c, d, 4, 8, 0, w);
        for (int jj = 0; jj < 4; jj++)
            for (int i = 0; i < 4; i++) out[j + jj][i] = w[i][jj];
    }
    for (; j < n_blocks; j++) ncsn_philox_v8_avx2(key, a, b0 + 8u * (uint32_t)j, c, d, out[j]);
}
#endif

void ncsn_philox_v8_run(ncsn_key key, uint32_t a, uint32_t b0, uint32_t c, uint32_t d,
                        int n_blocks, ncsn_v8u (*out)[4]) {
#if defined(NCSN_RNG_X86)
#ifndef NCSN_NO_CLONES
    if (ncsn_isa() >= NCSN_ISA_AVX2_FMA) {
        philox_run_avx2(key, a, b0, c, d, n_blocks, out);
        return;
    }
#endif
    for (int j = 0; j < n_blocks; j++) ncsn_philox_v8_sse2(key, a, b0 + 8u * (uint32_t)j, c, d, out[j]);
#else
    for (int j = 0; j < n_blocks; j++) ncsn_philox_v8(key, a, b0 + 8u * (uint32_t)j, c, d, out[j]);
#endif
}
