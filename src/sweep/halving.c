/* sweep/halving.c: successive halving's pure part (sweep.h, ncsn_halving_*): how many
 * configurations a rung promotes, the order its scores put them in, and the runs of a rung
 * as a sweep of their own, which the runner (sweep/halving_run.c) runs like any grid.
 * Nothing here reads the clock, the directory or the rank: a rung's promotions are a
 * function of its scores, and its runs a function of the sweep and the promotions. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/sweep.h"
#include "ncsn/text.h"

int ncsn_halving_promoted(int n, double keep) {
    NCSN_ASSERT(n >= 0 && keep > 0 && keep < 1);
    if (n == 0) return 0;
    /* the product rounded to 9 decimal places first: keep 0.14 of 50 (7.000000000000001
     * in doubles) is 7, not 8 */
    const double x = keep * n;
    const double rounded = round(x * 1e9) / 1e9;
    int m = (int)ceil(rounded);
    if (m < 1) m = 1;
    return m > n ? n : m;
}

typedef struct {
    double score;
    int index;
} scored;

static int by_score(const void *x, const void *y) {
    const scored *a = x, *b = y;
    const int fa = isfinite(a->score), fb = isfinite(b->score);
    if (fa != fb) return fb - fa; /* finite first */
    if (fa && a->score != b->score) return a->score < b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

void ncsn_halving_order(const double *score, int n, int *order) {
    scored *v = ncsn_xmalloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) v[i] = (scored){score[i], i};
    qsort(v, (size_t)n, sizeof *v, by_score);
    for (int i = 0; i < n; i++) order[i] = v[i].index;
    free(v);
}

int ncsn_halving_rung(const ncsn_sweep *s, int k, const unsigned char *alive, ncsn_sweep *out,
                      ncsn_error *err) {
    const ncsn_halving *h = &s->halving;
    NCSN_ASSERT(h->on && k >= 0 && k < h->n_rungs && s->repeats >= 1);
    memset(out, 0, sizeof *out);
    const int last = k == h->n_rungs - 1;
    const int64_t steps = h->steps[k], before = k > 0 ? h->steps[k - 1] : 0;
    out->runs = ncsn_xcalloc((size_t)(s->n_runs ? s->n_runs : 1), sizeof *out->runs);
    out->repeats = s->repeats;
    out->base_seed = s->base_seed;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    fprintf(f, "# ncsn halving rung\nrung: %d of %d\nsteps: %" PRId64 "\nsample_n: %d\n"
            "configurations:", k, h->n_rungs, steps, last ? 0 : h->sample_n);
    for (int r = 0; r < s->n_runs; r++) {
        const ncsn_sweep_run *from = &s->runs[r];
        if (!alive[r / s->repeats]) continue;
        ncsn_sweep_run *run = &out->runs[out->n_runs++];
        *run = *from;
        ncsn_config_copy(&run->cfg, &from->cfg);
        run->cfg.train.steps = steps;
        if (!last && h->sample_n > 0) run->cfg.sample.n = h->sample_n;
        if (ncsn_config_validate(&run->cfg, err) != 0) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof err->msg - n, " (run %s at halving rung %d, %" PRId64
                     " steps)", run->id, k, steps);
            fclose(f);
            free(text);
            ncsn_sweep_free(out);
            return -1;
        }
        run->cost = ncsn_sweep_run_cost(&run->cfg, &run->train_cost);
        /* a rung continues the training of the one before: only its new steps cost */
        const double new_share = (double)(steps - before) / (double)steps;
        run->cost -= run->train_cost * (1 - new_share);
        run->train_cost *= new_share;
        if (run->repeat == 0) fprintf(f, " %s", run->group);
    }
    fprintf(f, "\n%s", s->canonical);
    fclose(f);
    out->canonical = text;
    out->swept_keys = ncsn_xcalloc((size_t)(s->n_swept ? s->n_swept : 1), sizeof(char *));
    for (int j = 0; j < s->n_swept; j++) out->swept_keys[j] = ncsn_xstrdup(s->swept_keys[j]);
    out->n_swept = s->n_swept;
    return 0;
}
