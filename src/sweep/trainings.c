/* sweep/trainings.c: which runs of a sweep share one training (sweep.h,
 * ncsn_sweep_trainings). Runs with the same seed and the same values of every key but the
 * sample.* keys (config.h, NCSN_PART_TRAINING, with the "auto" flags of the keys still to
 * be resolved) train bit-identical models, so the first of them in expansion order trains
 * and the others sample its model. The runs are sorted by a 64-bit hash of that key, and
 * runs with equal hashes compare their texts: O(N log N) for N runs, one key text at a
 * time. */
#include <stdlib.h>
#include <string.h>

#include "ncsn/sweep.h"
#include "ncsn/text.h"

/* The training key of run r: its training identity, the auto flags and the seed, and its
 * shard when trainings must not cross shards (malloc'd). */
static char *training_key(const ncsn_sweep_run *r, int shard_n) {
    const ncsn_config *c = &r->cfg;
    char *id = ncsn_config_identity(c, NCSN_PART_TRAINING);
    char *key = ncsn_xasprintf("%s\nauto: %d %d %d\nseed: %llu\nshard: %d\n", id,
                               c->dataset.dim_auto, c->noise.sigma_1_auto, c->noise.L_auto,
                               (unsigned long long)c->seed,
                               shard_n > 1 ? (int)(r->index % (uint32_t)shard_n) : 0);
    free(id);
    return key;
}

typedef struct {
    uint64_t hash;
    int k;
} keyed;

static int by_hash(const void *x, const void *y) {
    const keyed *a = x, *b = y;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

/* An exact-score run trains nothing and shares nothing. */
static int trains(const ncsn_sweep_run *r) { return r->cfg.sample.score == NCSN_SCORE_MODEL; }

int ncsn_sweep_trainings(const ncsn_sweep *s, int shard_n, int *trained_by) {
    const int n = s->n_runs;
    keyed *order = ncsn_xmalloc(sizeof *order * (size_t)(n ? n : 1));
    int m = 0;
    for (int k = 0; k < n; k++) {
        trained_by[k] = k;
        if (!trains(&s->runs[k])) continue;
        char *key = training_key(&s->runs[k], shard_n);
        order[m].hash = ncsn_fnv1a(key, strlen(key));
        order[m++].k = k;
        free(key);
    }
    qsort(order, (size_t)m, sizeof *order, by_hash);
    int trainings = 0;
    for (int i = 0; i < m;) {
        int j = i;
        while (j < m && order[j].hash == order[i].hash) j++;
        /* runs i..j-1 share a hash: each joins the first earlier one with the same key
         * (almost always run i: a collision of 64-bit hashes is all but impossible) */
        for (int a = i; a < j; a++) {
            const int ka = order[a].k;
            if (trained_by[ka] != ka) continue;
            trainings++;
            char *key_a = training_key(&s->runs[ka], shard_n);
            for (int b = a + 1; b < j; b++) {
                const int kb = order[b].k;
                if (trained_by[kb] != kb) continue;
                char *key_b = training_key(&s->runs[kb], shard_n);
                if (strcmp(key_a, key_b) == 0) trained_by[kb] = ka;
                free(key_b);
            }
            free(key_a);
        }
        i = j;
    }
    free(order);
    return trainings;
}
