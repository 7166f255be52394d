/* cpu.h: which variant of the hot kernels runs (the training fast path, the blocked
 * matrix kernels of gemm.h, the sampler, ncsn_philox_v8_run), chosen once at run time:
 *   NCSN_ISA_AVX512    x86-64 CPUs with AVX-512F (and AVX2, FMA): 16-lane kernels where
 *                      there are some (gemm.h), the AVX2+FMA ones elsewhere
 *   NCSN_ISA_AVX2_FMA  x86-64 CPUs with AVX2 and FMA
 *   NCSN_ISA_BASELINE  the x86-64 baseline (SSE2), or portable code elsewhere
 * Every variant gives the same bits: each kernel's fused multiply-adds are explicit and at
 * the same places (vfmadd in the vector variants, fmaf, correctly rounded, per lane in the
 * baseline), and no sum is split differently by a wider vector.
 *   ncsn_isa         the variant in use
 *   ncsn_isa_force   choose one for tests and `ncsn bench` (never above what the CPU has;
 *                    NCSN_ISA_AUTO: the CPU's again). The environment variable
 *                    NCSN_ISA=baseline|avx2|avx512 caps it for a whole process.
 *   ncsn_isa_best    what the CPU has, whatever was forced
 *   ncsn_isa_name    "baseline", "avx2+fma" or "avx512"
 * Builds with -DNCSN_NO_CLONES have only the baseline. Not thread-safe: call
 * ncsn_isa_force outside parallel regions. */
#ifndef NCSN_CPU_H
#define NCSN_CPU_H

enum { NCSN_ISA_AUTO = -1, NCSN_ISA_BASELINE = 0, NCSN_ISA_AVX2_FMA = 1, NCSN_ISA_AVX512 = 2 };

int ncsn_isa(void);
void ncsn_isa_force(int isa);
int ncsn_isa_best(void);
const char *ncsn_isa_name(int isa);

#endif
