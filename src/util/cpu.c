/* util/cpu.c: the kernel variant the CPU allows, or the one forced (cpu.h). */
#include "ncsn/cpu.h"

#include <stdlib.h>
#include <string.h>

/* -2: not decided yet */
static int isa_choice = -2;

int ncsn_isa_best(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(NCSN_NO_CLONES)
    /* libgcc's checks include the operating system's support of the wider registers */
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return NCSN_ISA_BASELINE;
    return __builtin_cpu_supports("avx512f") ? NCSN_ISA_AVX512 : NCSN_ISA_AVX2_FMA;
#else
    return NCSN_ISA_BASELINE;
#endif
}

/* The CPU's best, capped by NCSN_ISA. */
static int isa_detect(void) {
    int best = ncsn_isa_best();
    const char *env = getenv("NCSN_ISA");
    if (env) {
        int cap = !strcmp(env, "baseline") ? NCSN_ISA_BASELINE
                : !strcmp(env, "avx2") ? NCSN_ISA_AVX2_FMA
                : NCSN_ISA_AVX512;
        if (cap < best) best = cap;
    }
    return best;
}

int ncsn_isa(void) {
    if (isa_choice == -2) isa_choice = isa_detect();
    return isa_choice;
}

void ncsn_isa_force(int isa) {
    const int best = ncsn_isa_best();
    isa_choice = isa == NCSN_ISA_AUTO ? isa_detect() : isa < best ? isa : best;
}

const char *ncsn_isa_name(int isa) {
    return isa == NCSN_ISA_AVX512 ? "avx512" : isa == NCSN_ISA_AVX2_FMA ? "avx2+fma" : "baseline";
}
