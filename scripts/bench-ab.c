/* bench-ab.c: two builds of the library timed in turn in one process (scripts/bench-ab.sh).
 * Each build is a shared object of libncsn_core loaded with dlopen; rounds alternate A, B,
 * then B, A, each round ncsn_train of STEPS steps of the notebook's network at D, H from the
 * same initialisation (the data and settings of `ncsn bench`). On a shared machine whose
 * speed drifts from minute to minute, builds timed in turn see the same machine, so their
 * ratio holds where each one's absolute time does not (docs/performance.md, Measuring).
 * Prints each build's best, first quartile and median microseconds per step, the ratios
 * B / A, and the hash of each build's trained weights (equal when both give the same bits).
 * Both builds are driven through this tree's headers (include/ncsn): compare revisions
 * whose ncsn_config, ncsn_model and ncsn_train_log are laid out alike.
 *
 *   bench-ab A.so B.so [D H STEPS ROUNDS]      (threads: OMP_NUM_THREADS) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ncsn/config.h"
#include "ncsn/model.h"
#include "ncsn/rng.h"
#include "ncsn/train.h"

enum { LEVELS = 100, EMB = 16, BATCH = 128, N_DATA = 1000, MAX_ROUNDS = 1000 };

/* The library functions a round calls, from one build. */
typedef struct {
    const char *path;
    void (*config_default)(ncsn_config *);
    void (*config_free)(ncsn_config *);
    void (*model_alloc)(ncsn_model *, int, int, int, int, int);
    void (*model_init)(ncsn_model *, ncsn_key);
    void (*model_free)(ncsn_model *);
    void (*log_free)(ncsn_train_log *);
    int (*train)(const ncsn_config *, uint32_t, const double *, int, const float *, int,
                 ncsn_model *, ncsn_model *, ncsn_train_log *, ncsn_progress_fn, void *);
    ncsn_key (*key)(uint64_t, uint32_t, uint32_t);
    uint64_t (*fnv1a)(const void *, size_t);
    void (*noise_levels)(double, double, int, double *);
    void (*fill_normal)(ncsn_key, uint32_t, uint32_t, int, float *);
} build;

static void *symbol(void *h, const char *path, const char *name) {
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "bench-ab: %s has no %s\n", path, name);
        exit(2);
    }
    return p;
}

static void load(build *b, const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "bench-ab: %s\n", dlerror());
        exit(2);
    }
    b->path = path;
    *(void **)&b->config_default = symbol(h, path, "ncsn_config_default");
    *(void **)&b->config_free = symbol(h, path, "ncsn_config_free");
    *(void **)&b->model_alloc = symbol(h, path, "ncsn_model_alloc");
    *(void **)&b->model_init = symbol(h, path, "ncsn_model_init_params");
    *(void **)&b->model_free = symbol(h, path, "ncsn_model_free");
    *(void **)&b->log_free = symbol(h, path, "ncsn_train_log_free");
    *(void **)&b->train = symbol(h, path, "ncsn_train");
    *(void **)&b->key = symbol(h, path, "ncsn_rng_key");
    *(void **)&b->fnv1a = symbol(h, path, "ncsn_fnv1a");
    *(void **)&b->noise_levels = symbol(h, path, "ncsn_noise_levels");
    *(void **)&b->fill_normal = symbol(h, path, "ncsn_rng_fill_normal");
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One round of build b: microseconds per step; *hash the trained weights' bits. */
static double round_us(const build *b, int D, int H, long steps, const double *sigmas,
                       const float *data, uint64_t *hash) {
    ncsn_config cfg;
    b->config_default(&cfg);
    cfg.train.steps = steps;
    cfg.train.batch = BATCH;
    cfg.train.log_every = steps;
    ncsn_model m;
    b->model_alloc(&m, D, EMB, H, 0, 0);
    b->model_init(&m, b->key(1, 0, NCSN_RNG_INIT));
    ncsn_train_log log;
    const double t0 = now();
    const int rc = b->train(&cfg, 0, sigmas, LEVELS, data, N_DATA, &m, NULL, &log, NULL, NULL);
    const double us = (now() - t0) / (double)steps * 1e6;
    if (rc != 0) {
        fprintf(stderr, "bench-ab: %s: ncsn_train returned %d\n", b->path, rc);
        exit(1);
    }
    *hash = b->fnv1a(m.params, sizeof(float) * m.n_params);
    b->log_free(&log);
    b->model_free(&m);
    b->config_free(&cfg);
    return us;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 7) {
        fprintf(stderr, "usage: bench-ab A.so B.so [D H STEPS ROUNDS]\n");
        return 2;
    }
    const int D = argc > 3 ? atoi(argv[3]) : 64, H = argc > 4 ? atoi(argv[4]) : 512;
    const long steps = argc > 5 ? atol(argv[5]) : 100;
    const int rounds = argc > 6 ? atoi(argv[6]) : 20;
    if (D < 1 || H < 1 || steps < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench-ab: D, H, STEPS >= 1 and 1 <= ROUNDS <= %d\n", MAX_ROUNDS);
        return 2;
    }
    build builds[2];
    load(&builds[0], argv[1]);
    load(&builds[1], argv[2]);
    /* the data and levels of `ncsn bench` at D != 2: 3 N(0, I) */
    double sigmas[LEVELS];
    builds[0].noise_levels(20.0, 0.1, LEVELS, sigmas);
    float *data = malloc(sizeof(float) * (size_t)N_DATA * D);
    const ncsn_key k = builds[0].key(1, 0, NCSN_RNG_TRAIN_DATA);
    for (int i = 0; i < N_DATA; i++) builds[0].fill_normal(k, 0, (uint32_t)i, D, data + (size_t)i * D);
    for (size_t j = 0; j < (size_t)N_DATA * D; j++) data[j] *= 3.0f;
    static double us[2][MAX_ROUNDS];
    uint64_t hash[2] = {0, 0};
    for (int r = 0; r < rounds; r++)
        for (int turn = 0; turn < 2; turn++) {
            const int w = r % 2 ? 1 - turn : turn;
            us[w][r] = round_us(&builds[w], D, H, steps, sigmas, data, &hash[w]);
        }
    double best[2], median[2];
    for (int w = 0; w < 2; w++) {
        qsort(us[w], (size_t)rounds, sizeof(double), by_value);
        best[w] = us[w][0];
        median[w] = rounds % 2 ? us[w][rounds / 2] : 0.5 * (us[w][rounds / 2 - 1] + us[w][rounds / 2]);
        printf("%s: best %.1f  q1 %.1f  median %.1f us/step  weights %016llx\n", argv[1 + w],
               best[w], us[w][rounds / 4], median[w], (unsigned long long)hash[w]);
    }
    printf("B / A: best %.3f  median %.3f  same bits: %s\n", best[1] / best[0],
           median[1] / median[0], hash[0] == hash[1] ? "yes" : "no");
    free(data);
    return 0;
}
