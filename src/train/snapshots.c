/* train/snapshots.c: the weights kept during training every train.snapshot_every steps
 * (ncsn_snapshots, train.h; docs/computation.md, snapshots). P = parameters per model. */
#include <stdlib.h>
#include <string.h>

#include "ncsn/train.h"

void ncsn_snapshots_alloc(ncsn_snapshots *s, int64_t steps, int64_t every, size_t n_params,
                          int with_ema) {
    memset(s, 0, sizeof *s);
    s->n_params = n_params;
    if (every <= 0 || steps < every) return;
    s->n_max = (int)(steps / every);
    s->step = ncsn_xmalloc(sizeof(int64_t) * (size_t)s->n_max);
    s->model = ncsn_xmalloc(sizeof(float) * (size_t)s->n_max * n_params);
    if (with_ema) s->ema = ncsn_xmalloc(sizeof(float) * (size_t)s->n_max * n_params);
}

void ncsn_snapshots_push(ncsn_snapshots *s, int64_t step, const float *model, const float *ema) {
    NCSN_ASSERT(s->n < s->n_max);
    const size_t P = s->n_params;
    s->step[s->n] = step;
    memcpy(s->model + (size_t)s->n * P, model, sizeof(float) * P);
    if (s->ema) memcpy(s->ema + (size_t)s->n * P, ema, sizeof(float) * P);
    s->n++;
}

int ncsn_snapshots_find(const ncsn_snapshots *s, int64_t step) {
    for (int i = 0; i < s->n; i++)
        if (s->step[i] == step) return i;
    return -1;
}

void ncsn_snapshots_free(ncsn_snapshots *s) {
    if (!s) return;
    free(s->step);
    free(s->model);
    free(s->ema);
    memset(s, 0, sizeof *s);
}
