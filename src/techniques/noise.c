/* techniques/noise.c: geometric noise levels (docs/computation.md, Noise levels). */
#include "ncsn/noise.h"

#include <math.h>

void ncsn_noise_levels(double sigma_1, double sigma_L, int L, double *sigmas) {
    /* Like numpy/torch linspace: start + i * step, with the last point exactly the end. */
    double a = log(sigma_1), b = log(sigma_L);
    if (L == 1) {
        sigmas[0] = sigma_1;
        return;
    }
    double step = (b - a) / (double)(L - 1);
    for (int i = 0; i < L; i++) sigmas[i] = exp(i == L - 1 ? b : a + step * (double)i);
}
