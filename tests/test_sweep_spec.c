/* test_sweep_spec.c: sweep files expanded into runs (src/sweep/spec.c): the grid's count
 * and order, ids, derived seeds, repeats, random mode, -s overrides that sweep, array
 * values that sweep, errors with FILE:LINE: KEY, swept_keys, cost and canonical text, and
 * which runs share a training (src/sweep/trainings.c). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/config.h"
#include "ncsn/sweep.h"

/* Loads text (written to x.yaml) with the overrides; fails the test when it does not load. */
static int load_at(ncsn_sweep *s, const char *text, const char *const *sets, int n_sets,
                   int line) {
    ncsn_error err = {{0}};
    const char *path = text ? ncsn_fix_write_tmp("x.yaml", text) : NULL;
    int rc = ncsn_sweep_load(s, path, sets, n_sets, &err);
    if (rc) fprintf(stderr, "\n  test_sweep_spec.c:%d: load failed: %s\n", line, err.msg);
    return rc;
}
#define LOAD(s, text, sets, n) CU_ASSERT_EQUAL_FATAL(load_at(s, text, sets, n, __LINE__), 0)

/* Loading text fails with want, where "FILE" in want stands for the file's path, and
 * leaves s zeroed. */
static void expect_error_at(const char *text, const char *const *sets, int n_sets,
                            const char *want, int line) {
    ncsn_sweep s;
    ncsn_error err = {{0}};
    const char *path = text ? ncsn_fix_write_tmp("x.yaml", text) : NULL;
    char full[1024];
    const char *at = strstr(want, "FILE");
    if (at) snprintf(full, sizeof full, "%.*s%s%s", (int)(at - want), want, path, at + 4);
    else snprintf(full, sizeof full, "%s", want);
    int rc = ncsn_sweep_load(&s, path, sets, n_sets, &err);
    ncsn_fix_check_refused(rc, err.msg, full, __FILE__, line);
    CU_ASSERT_EQUAL(s.n_runs, 0);
    CU_ASSERT_PTR_NULL(s.runs);
    CU_ASSERT_PTR_NULL(s.canonical);
    if (rc == 0) ncsn_sweep_free(&s);
}
#define expect_error(text, sets, n, want) expect_error_at(text, sets, n, want, __LINE__)

static int swept(const ncsn_sweep *s, const char *key) {
    for (int k = 0; k < s->n_swept; k++)
        if (strcmp(s->swept_keys[k], key) == 0) return 1;
    return 0;
}

/* ------------------------------------------------------------------ single runs */

static void test_plain_file_is_one_run(void) {
    ncsn_sweep s;
    LOAD(&s, "seed: 7\ntrain:\n  lr: 1e-4\n  steps: 10\ndataset:\n  weights: [0.9, 0.1]\n"
             "  std: [1, 2]\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 1);
    CU_ASSERT_STRING_EQUAL(s.runs[0].id, "c0000");
    CU_ASSERT_STRING_EQUAL(s.runs[0].group, "c0000");
    CU_ASSERT_EQUAL(s.runs[0].repeat, 0);
    CU_ASSERT_EQUAL(s.runs[0].index, 0);
    CU_ASSERT_EQUAL(s.n_swept, 0);
    CU_ASSERT_EQUAL(s.repeats, 1);
    CU_ASSERT_EQUAL(s.base_seed, 7);
    CU_ASSERT_EQUAL(s.runs[0].cfg.seed, 7); /* repeat 0: the file's own seed */
    CU_ASSERT_PTR_NOT_NULL(s.canonical);

    /* The same configuration as the configuration module's own loader gives. */
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_file(&c, ncsn_fix_write_tmp("y.yaml",
                          "seed: 7\ntrain:\n  lr: 1e-4\n  steps: 10\ndataset:\n"
                          "  weights: [0.9, 0.1]\n  std: [1, 2]\n"), &err), 0);
    c.seed = s.runs[0].cfg.seed;
    CU_ASSERT(ncsn_config_equal(&c, &s.runs[0].cfg));
    /* ... and the same origins, with the file's lines. */
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        const char *co = ncsn_config_origin(&c, i), *ro = ncsn_config_origin(&s.runs[0].cfg, i);
        const char *want = co[0] ? strchr(co, ':') : "";
        const char *have = ro[0] ? strchr(ro, ':') : "";
        CU_ASSERT_STRING_EQUAL(have, want);
    }
    CU_ASSERT_EQUAL(s.runs[0].cfg.dataset.std[1], 2);
    ncsn_config_free(&c);
    ncsn_sweep_free(&s);
    ncsn_sweep_free(&s); /* safe twice */
}

static void test_no_file_is_the_defaults(void) {
    ncsn_sweep s;
    LOAD(&s, NULL, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 1);
    ncsn_config c;
    ncsn_config_default(&c);
    CU_ASSERT(ncsn_config_equal(&c, &s.runs[0].cfg));
    ncsn_config_free(&c);
    ncsn_sweep_free(&s);

    LOAD(&s, "", NULL, 0); /* an empty file too */
    CU_ASSERT_EQUAL(s.n_runs, 1);
    ncsn_sweep_free(&s);
}

static void test_cost(void) {
    ncsn_sweep s;
    LOAD(&s, "train: {steps: 10, batch: 4}\nmodel: {emb: 3, hidden: 5}\n"
             "sample: {n: 7, T: 11}\nnoise: {L: 13}\n",
         NULL, 0);
    /* steps * batch * (D + E) * H + n * L * T * D * H with D = 2 */
    NCSN_CHECK_CLOSE(s.runs[0].cost, 10.0 * 4 * (2 + 3) * 5 + 7.0 * 13 * 11 * 2 * 5, 0);
    ncsn_sweep_free(&s);
    LOAD(&s, "train: {steps: 10, batch: 4}\nmodel: {emb: 3, hidden: 5}\n"
             "sample: {n: 7, T: 11}\nnoise: {L: auto}\n",
         NULL, 0);
    NCSN_CHECK_CLOSE(s.runs[0].cost, 10.0 * 4 * (2 + 3) * 5 + 7.0 * 100 * 11 * 2 * 5, 0);
    ncsn_sweep_free(&s);
}

/* ------------------------------------------------------------------ grids */

static void test_grid_count_and_order(void) {
    ncsn_sweep s;
    /* Written lr first, but the table's order puts model.hidden before train.lr: lr varies
     * fastest. */
    LOAD(&s, "train:\n  lr: [1e-3, 1e-4]\nmodel:\n  hidden: [64, 128, 256]\n"
             "sample:\n  eps: [0.001, auto]\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 12);
    const int hidden[] = {64, 128, 256};
    const double lr[] = {1e-3, 1e-4};
    for (int k = 0; k < 12; k++) {
        char id[16];
        snprintf(id, sizeof id, "c%04d", k);
        CU_ASSERT_STRING_EQUAL(s.runs[k].id, id);
        CU_ASSERT_STRING_EQUAL(s.runs[k].group, id);
        CU_ASSERT_EQUAL(s.runs[k].index, (uint32_t)k);
        CU_ASSERT_EQUAL(s.runs[k].repeat, 0);
        CU_ASSERT_EQUAL(s.runs[k].cfg.model.hidden, hidden[k / 4]);
        CU_ASSERT_EQUAL(s.runs[k].cfg.train.lr, lr[(k / 2) % 2]);
        CU_ASSERT_EQUAL(s.runs[k].cfg.sample.eps_auto, k % 2);
        CU_ASSERT_EQUAL(s.runs[k].cfg.seed, 0); /* the configurations share the seed */
    }
    CU_ASSERT_EQUAL_FATAL(s.n_swept, 3);
    CU_ASSERT_STRING_EQUAL(s.swept_keys[0], "model.hidden");
    CU_ASSERT_STRING_EQUAL(s.swept_keys[1], "train.lr");
    CU_ASSERT_STRING_EQUAL(s.swept_keys[2], "sample.eps");
    /* Each value's origin is its own line. */
    int i_h = ncsn_config_key_index("model.hidden");
    char want[600];
    snprintf(want, sizeof want, "%s/x.yaml:4", ncsn_test_tmpdir());
    CU_ASSERT_STRING_EQUAL(ncsn_config_origin(&s.runs[0].cfg, i_h), want);
    ncsn_sweep_free(&s);
}

static void test_seeds_are_stable(void) {
    const char *text = "seed: 3\ntrain: {lr: [1e-3, 1e-4, 1e-5]}\n";
    ncsn_sweep a, b;
    LOAD(&a, text, NULL, 0);
    LOAD(&b, text, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(a.n_runs, 3);
    CU_ASSERT_EQUAL_FATAL(b.n_runs, 3);
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(a.runs[k].cfg.seed, b.runs[k].cfg.seed);
        CU_ASSERT_EQUAL(a.runs[k].cfg.seed, 3);
    }
    CU_ASSERT_STRING_EQUAL(a.canonical, b.canonical);
    ncsn_sweep_free(&a);
    ncsn_sweep_free(&b);

    /* The mix: repeat 0 keeps the seed; other repeats and other base seeds differ. */
    CU_ASSERT_EQUAL(ncsn_sweep_seed(5, 0), 5);
    CU_ASSERT_NOT_EQUAL(ncsn_sweep_seed(0, 1), ncsn_sweep_seed(0, 2));
    CU_ASSERT_NOT_EQUAL(ncsn_sweep_seed(0, 1), ncsn_sweep_seed(1, 1));
    CU_ASSERT_NOT_EQUAL(ncsn_sweep_seed(0, 2), ncsn_sweep_seed(1, 1));
    CU_ASSERT_NOT_EQUAL(ncsn_sweep_seed(0, 1), 0);
    CU_ASSERT_EQUAL(ncsn_sweep_seed(0, 1), ncsn_sweep_seed(0, 1));
    /* Low bits of nearby inputs are not correlated: the seeds of 64 repeats spread over
     * both values of every bit. */
    uint64_t any = 0, all = ~UINT64_C(0);
    for (int k = 1; k <= 64; k++) {
        any |= ncsn_sweep_seed(0, k);
        all &= ncsn_sweep_seed(0, k);
    }
    CU_ASSERT_EQUAL(any, ~UINT64_C(0));
    CU_ASSERT_EQUAL(all, 0);
}

static void test_swept_seed(void) {
    ncsn_sweep s;
    LOAD(&s, "seed: [5, 9]\n", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 2);
    CU_ASSERT_EQUAL(s.base_seed, 5);
    CU_ASSERT_EQUAL(s.runs[0].cfg.seed, 5);
    CU_ASSERT_EQUAL(s.runs[1].cfg.seed, 9);
    CU_ASSERT_EQUAL_FATAL(s.n_swept, 1);
    CU_ASSERT_STRING_EQUAL(s.swept_keys[0], "seed");
    ncsn_sweep_free(&s);
}

static void test_repeats(void) {
    ncsn_sweep s;
    LOAD(&s, "seed: 1\ntrain: {lr: [1e-3, 1e-4]}\nsweep:\n  repeats: 3\n", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 6);
    CU_ASSERT_EQUAL(s.repeats, 3);
    const char *ids[] = {"c0000-r0", "c0000-r1", "c0000-r2", "c0001-r0", "c0001-r1", "c0001-r2"};
    for (int k = 0; k < 6; k++) {
        CU_ASSERT_STRING_EQUAL(s.runs[k].id, ids[k]);
        CU_ASSERT_STRING_EQUAL(s.runs[k].group, k < 3 ? "c0000" : "c0001");
        CU_ASSERT_EQUAL(s.runs[k].repeat, k % 3);
        CU_ASSERT_EQUAL(s.runs[k].index, (uint32_t)k);
        CU_ASSERT_EQUAL(s.runs[k].cfg.train.lr, k < 3 ? 1e-3 : 1e-4);
        CU_ASSERT_EQUAL(s.runs[k].cfg.seed, ncsn_sweep_seed(1, k % 3));
        /* repeats differ; repeat r of every configuration has the same seed */
        for (int j = 0; j < k; j++)
            CU_ASSERT_EQUAL(s.runs[k].cfg.seed == s.runs[j].cfg.seed, j % 3 == k % 3);
        /* Repeats differ only in the seed. */
        ncsn_config c;
        ncsn_config_copy(&c, &s.runs[k - k % 3].cfg);
        c.seed = s.runs[k].cfg.seed;
        CU_ASSERT(ncsn_config_equal(&c, &s.runs[k].cfg));
        ncsn_config_free(&c);
    }
    CU_ASSERT_EQUAL_FATAL(s.n_swept, 1); /* not the seed: the runner adds a repeat column */
    CU_ASSERT_STRING_EQUAL(s.swept_keys[0], "train.lr");
    ncsn_sweep_free(&s);
}

static void test_array_values_sweep(void) {
    ncsn_sweep s;
    /* weights: a list of numbers is one value; a list of lists sweeps them. std: [1, 2] is
     * one value per component; [[0.5], [2]] sweeps one number for all components. */
    LOAD(&s, "dataset:\n"
             "  weights:\n"
             "    - [0.95, 0.05]\n"
             "    - [0.9, 0.1]\n"
             "  std: [[0.5], [2]]\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 4);
    CU_ASSERT_EQUAL(s.runs[0].cfg.dataset.weights[0], 0.95);
    CU_ASSERT_EQUAL(s.runs[1].cfg.dataset.weights[0], 0.95);
    CU_ASSERT_EQUAL(s.runs[2].cfg.dataset.weights[1], 0.1);
    CU_ASSERT_EQUAL(s.runs[0].cfg.dataset.n_std, 2); /* broadcast to K */
    CU_ASSERT_EQUAL(s.runs[0].cfg.dataset.std[1], 0.5);
    CU_ASSERT_EQUAL(s.runs[1].cfg.dataset.std[0], 2);
    CU_ASSERT_EQUAL_FATAL(s.n_swept, 2);
    CU_ASSERT_STRING_EQUAL(s.swept_keys[0], "dataset.weights");
    CU_ASSERT_STRING_EQUAL(s.swept_keys[1], "dataset.std");
    ncsn_sweep_free(&s);

    LOAD(&s, "dataset: {std: [[1, 1], [2, 3]]}\n", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 2);
    CU_ASSERT_EQUAL(s.runs[1].cfg.dataset.std[1], 3);
    ncsn_sweep_free(&s);

    LOAD(&s, "dataset: {std: [1, 2]}\n", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 1);
    CU_ASSERT_EQUAL(s.runs[0].cfg.dataset.std[1], 2);
    ncsn_sweep_free(&s);

    /* means: a list of matrices, here with different K, and weights and std to match. */
    LOAD(&s, "dataset:\n"
             "  means: [[[-5, -5], [5, 5]], [[-1, 0], [1, 0]]]\n"
             "  std: 1\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 2);
    CU_ASSERT_EQUAL(s.runs[1].cfg.dataset.means[0], -1);
    CU_ASSERT_EQUAL(s.runs[1].cfg.dataset.means[3], 0);
    CU_ASSERT_EQUAL_FATAL(s.n_swept, 1);
    CU_ASSERT_STRING_EQUAL(s.swept_keys[0], "dataset.means");
    ncsn_sweep_free(&s);
}

static void test_layouts(void) {
    ncsn_sweep s;
    /* Dotted keys at the top level, block lists, an alias, quoted names, an empty section. */
    LOAD(&s, "train.lr: &rates\n  - 1e-3\n  - 1e-4\n"
             "train.weight_decay: *rates\n"
             "dataset: {name: [\"gmm\"]}\n"
             "model:\n"
             "sweep.repeats: 2\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 8);
    CU_ASSERT_EQUAL(s.runs[2].cfg.train.weight_decay, 1e-4);
    CU_ASSERT_EQUAL(s.runs[4].cfg.train.lr, 1e-4);
    CU_ASSERT_STRING_EQUAL(s.runs[0].cfg.dataset.name, "gmm");
    CU_ASSERT_EQUAL(s.n_swept, 2);
    ncsn_sweep_free(&s);
    /* A one-value list is a plain value; so is a list that repeats one value. */
    LOAD(&s, "train: {lr: [1e-3], steps: [5, 5]}\n", NULL, 0);
    CU_ASSERT_EQUAL(s.n_runs, 2);
    CU_ASSERT_EQUAL(s.n_swept, 0);
    CU_ASSERT_EQUAL(s.runs[1].cfg.train.lr, 1e-3);
    ncsn_sweep_free(&s);
}

/* ------------------------------------------------------------------ random mode */

static void test_random_mode(void) {
    const char *text = "seed: 11\n"
                       "sweep: {mode: random, trials: 200}\n"
                       "train:\n"
                       "  lr: {log_uniform: [1e-5, 1e-2]}\n"
                       "  steps: {uniform: [100, 103]}\n"
                       "  ema: {uniform: [0.9, 0.99]}\n"
                       "model:\n"
                       "  hidden: {choice: [32, 64, 128]}\n"
                       "sample:\n"
                       "  eps: [0.001, auto]\n";
    ncsn_sweep a, b;
    LOAD(&a, text, NULL, 0);
    LOAD(&b, text, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(a.n_runs, 200);
    int seen_hidden[3] = {0}, seen_steps[4] = {0}, seen_auto[2] = {0};
    double lr_min = 1, lr_max = 0;
    for (int k = 0; k < 200; k++) {
        const ncsn_config *c = &a.runs[k].cfg;
        CU_ASSERT(ncsn_config_equal(c, &b.runs[k].cfg)); /* reproducible */
        CU_ASSERT(c->train.lr >= 1e-5 && c->train.lr <= 1e-2);
        CU_ASSERT(c->train.ema >= 0.9 && c->train.ema <= 0.99);
        CU_ASSERT(c->train.steps >= 100 && c->train.steps <= 103);
        if (c->train.steps >= 100 && c->train.steps <= 103) seen_steps[c->train.steps - 100]++;
        CU_ASSERT(c->model.hidden == 32 || c->model.hidden == 64 || c->model.hidden == 128);
        seen_hidden[c->model.hidden == 32 ? 0 : c->model.hidden == 64 ? 1 : 2]++;
        seen_auto[c->sample.eps_auto]++;
        if (c->train.lr < lr_min) lr_min = c->train.lr;
        if (c->train.lr > lr_max) lr_max = c->train.lr;
        CU_ASSERT_EQUAL(c->seed, 11);
    }
    for (int j = 0; j < 3; j++) CU_ASSERT(seen_hidden[j] > 30);
    for (int j = 0; j < 4; j++) CU_ASSERT(seen_steps[j] > 20); /* both ends included */
    CU_ASSERT(seen_auto[0] > 50 && seen_auto[1] > 50);
    /* log-uniform: spread over the decades, not bunched at the top */
    CU_ASSERT(lr_min < 1e-4);
    CU_ASSERT(lr_max > 1e-3);
    CU_ASSERT_STRING_EQUAL(a.canonical, b.canonical);
    CU_ASSERT_EQUAL(a.n_swept, 5);
    CU_ASSERT(swept(&a, "train.lr") && swept(&a, "train.steps") && swept(&a, "train.ema") &&
              swept(&a, "model.hidden") && swept(&a, "sample.eps"));
    ncsn_sweep_free(&b);

    /* Another seed draws other values. */
    LOAD(&b, text, SETS("seed=12"), 1);
    CU_ASSERT_EQUAL_FATAL(b.n_runs, 200);
    int same = 0;
    for (int k = 0; k < 200; k++) same += a.runs[k].cfg.train.lr == b.runs[k].cfg.train.lr;
    CU_ASSERT(same < 5);
    CU_ASSERT_STRING_NOT_EQUAL(a.canonical, b.canonical);
    ncsn_sweep_free(&a);
    ncsn_sweep_free(&b);

    /* Repeats of random trials; a list of weight vectors is a choice. */
    LOAD(&a, "sweep: {mode: random, trials: 4, repeats: 2}\n"
             "dataset: {weights: [[0.5, 0.5], [0.25, 0.75]]}\n",
         NULL, 0);
    CU_ASSERT_EQUAL_FATAL(a.n_runs, 8);
    CU_ASSERT_STRING_EQUAL(a.runs[7].id, "c0003-r1");
    for (int k = 0; k < 8; k++) {
        double w = a.runs[k].cfg.dataset.weights[0];
        CU_ASSERT(w == 0.5 || w == 0.25);
        CU_ASSERT_EQUAL(w, a.runs[k - k % 2].cfg.dataset.weights[0]);
    }
    ncsn_sweep_free(&a);
}

/* ------------------------------------------------------------------ overrides */

static void test_overrides(void) {
    ncsn_sweep s;
    /* A list in an override sweeps; it replaces the file's list. */
    LOAD(&s, "train: {lr: [1, 2, 3], steps: 10}\n",
         SETS("train.lr=[1e-3,1e-4]", "sweep.repeats=3", "model.hidden = 32"), 3);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 6);
    CU_ASSERT_EQUAL(s.runs[0].cfg.train.lr, 1e-3);
    CU_ASSERT_EQUAL(s.runs[5].cfg.train.lr, 1e-4);
    CU_ASSERT_EQUAL(s.runs[5].cfg.model.hidden, 32);
    CU_ASSERT_EQUAL(s.runs[5].cfg.train.steps, 10);
    CU_ASSERT_STRING_EQUAL(s.runs[5].id, "c0001-r2");
    CU_ASSERT_STRING_EQUAL(ncsn_config_origin(&s.runs[0].cfg, ncsn_config_key_index("train.lr")), "--set");
    ncsn_sweep_free(&s);

    /* A single value in an override ends the file's sweep of that key. */
    LOAD(&s, "train: {lr: [1, 2, 3]}\n", SETS("train.lr=0.5"), 1);
    CU_ASSERT_EQUAL(s.n_runs, 1);
    CU_ASSERT_EQUAL(s.runs[0].cfg.train.lr, 0.5);
    ncsn_sweep_free(&s);

    /* Without a file; random mode and a distribution from the command line. */
    LOAD(&s, NULL,
         SETS("sweep.mode=random", "sweep.trials=5", "train.lr={uniform: [0.1, 0.2]}",
              "dataset.weights=[[0.5,0.5],[0.9,0.1]]"),
         4);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 5);
    for (int k = 0; k < 5; k++) CU_ASSERT(s.runs[k].cfg.train.lr >= 0.1 && s.runs[k].cfg.train.lr <= 0.2);
    ncsn_sweep_free(&s);
}

/* ------------------------------------------------------------------ canonical */

static void test_canonical(void) {
    const char *text = "train:\n  lr: [1e-3, 1e-4]\nsweep:\n  repeats: 2\n";
    ncsn_sweep a, b;
    LOAD(&a, text, NULL, 0);
    /* Comments and layout do not matter. */
    LOAD(&b, "# a comment\nsweep: {repeats: 2}\n\ntrain: {lr: [0.001, 0.0001]}  # x\n", NULL, 0);
    CU_ASSERT_STRING_EQUAL(a.canonical, b.canonical);
    ncsn_sweep_free(&b);
    /* Nor does an override that says what the file says. */
    LOAD(&b, text, SETS("train.lr=[1e-3, 1e-4]"), 1);
    CU_ASSERT_STRING_EQUAL(a.canonical, b.canonical);
    ncsn_sweep_free(&b);

    const char *other[] = {
        "train:\n  lr: [1e-3, 1e-5]\nsweep:\n  repeats: 2\n",        /* a swept value */
        "train:\n  lr: [1e-4, 1e-3]\nsweep:\n  repeats: 2\n",        /* the order */
        "train:\n  lr: [1e-3, 1e-4]\nsweep:\n  repeats: 3\n",        /* repeats */
        "train:\n  lr: [1e-3, 1e-4]\n",                              /* no repeats */
        "seed: 1\ntrain:\n  lr: [1e-3, 1e-4]\nsweep:\n  repeats: 2\n", /* the seed */
        "train:\n  lr: [1e-3, 1e-4]\n  steps: 5\nsweep:\n  repeats: 2\n", /* a fixed value */
        "train:\n  lr: [1e-3, 1e-4]\nsample: {eps: auto}\nsweep:\n  repeats: 2\n", /* auto */
    };
    for (size_t j = 0; j < sizeof other / sizeof other[0]; j++) {
        LOAD(&b, other[j], NULL, 0);
        if (strcmp(a.canonical, b.canonical) == 0)
            fprintf(stderr, "\n  canonical text unchanged by variant %zu\n", j);
        CU_ASSERT_STRING_NOT_EQUAL(a.canonical, b.canonical);
        ncsn_sweep_free(&b);
    }
    LOAD(&b, text, SETS("model.emb=8"), 1);
    CU_ASSERT_STRING_NOT_EQUAL(a.canonical, b.canonical);
    ncsn_sweep_free(&b);
    ncsn_sweep_free(&a);
}

/* ------------------------------------------------------------------ errors */

static void test_errors(void) {
    /* Bad values inside a list, at their own lines. */
    expect_error("train:\n  lr: [1e-3,\n       fast]\n", NULL, 0,
                 "FILE:3: train.lr: expected a positive number, got \"fast\"");
    expect_error("dataset:\n  weights:\n    - [0.95, 0.05]\n    - [0.9,\n       -0.1]\n", NULL, 0,
                 "FILE:5: dataset.weights: entry 2: expected a number >= 0, got -0.1");
    expect_error("model:\n  sigma_input: [sigma, log_sigmaa]\n", NULL, 0,
                 "FILE:2: model.sigma_input: expected sigma, log_sigma or none, got \"log_sigmaa\" "
                 "(did you mean log_sigma?)");
    expect_error("train:\n  lr: auto\n", NULL, 0,
                 "FILE:2: train.lr: expected a positive number, got \"auto\"");
    /* A plain value: the message the configuration module gives for the file. */
    expect_error("train:\n  steps: -1\n", NULL, 0,
                 "FILE:2: train.steps: expected an integer >= 0, got -1");
    expect_error("dataset:\n  means:\n    - [0, 0]\n    - [1, x]\n", NULL, 0,
                 "FILE:4: dataset.means: row 2, entry 2: expected a number, got \"x\"");
    /* Rules between keys name the run. */
    expect_error("train:\n  batch: [64, 2000]\n", NULL, 0,
                 "FILE:2: train.batch: must not exceed dataset.n (1000), got 2000 (run c0001)");
    expect_error("dataset:\n  means: [[[0, 0]], [[-5, -5], [5, 5]]]\n"
                 "  weights:\n    - [1]\n    - [0.5, 0.5]\n",
                 NULL, 0,
                 "FILE:4: dataset.weights: has 1 entries but dataset.means has 2 rows "
                 "(run c0001)");
    /* Structure. */
    expect_error("train:\n  lr: []\n", NULL, 0,
                 "FILE:2: train.lr: an empty list sweeps nothing: give values");
    expect_error("sweep:\n  trials: 5\n", NULL, 0,
                 "FILE:2: sweep.trials: only used with sweep.mode: random (a grid's size "
                 "comes from its lists)");
    expect_error("sweep:\n  mode: random\n", NULL, 0,
                 "FILE:2: sweep.mode: random mode needs sweep.trials: N, the number of draws");
    expect_error("sweep:\n  repeat: 5\n", NULL, 0,
                 "FILE:2: sweep.repeat: unknown key: the sweep block takes mode, trials, "
                 "repeats, and for halving rungs, keep, metric and sample_n (did you mean "
                 "sweep.repeats?)");
    expect_error("sweep:\n  mode: grd\n", NULL, 0,
                 "FILE:2: sweep.mode: expected grid, random or halving, got \"grd\"");
    expect_error("sweep:\n  repeats: 2\nsweep.repeats: 3\n", NULL, 0,
                 "FILE:3: sweep.repeats: duplicate key (first given at line 2)");
    expect_error("sweep:\nsweep:\n", NULL, 0,
                 "FILE:2: sweep: duplicate key (first given at line 1)");
    expect_error("sweep: {mode: random, trials: 2}\ntrain: {lr: {foo: 1}}\n", NULL, 0,
                 "FILE:2: train.lr: expected a positive number, got a map");
    expect_error("sweep:\n  repeats: 0\n", NULL, 0,
                 "FILE:2: sweep.repeats: expected an integer from 1 to 100000, got 0");
    expect_error("sweep: 3\n", NULL, 0,
                 "FILE:1: sweep: expected a map of sweep.* keys (mode, trials, repeats, rungs, keep, "
                 "metric, sample_n), got 3");
    expect_error("sweeps:\n  repeats: 2\n", NULL, 0, "FILE:1: sweeps: unknown key (did you mean sweep?)");
    expect_error("train:\n  lrate: [1, 2]\n", NULL, 0,
                 "FILE:2: train.lrate: unknown key (did you mean train.lr?)");
    expect_error("train:\n  lr: 1\n  lr: [1, 2]\n", NULL, 0,
                 "FILE:3: train.lr: duplicate key (first given at line 2)");
    expect_error("train:\n  lr:\n\t- 1\n", NULL, 0,
                 "FILE:3: tab character: indent YAML with spaces");
    expect_error("train: [1\n", NULL, 0,
                 "FILE:2: YAML syntax error: did not find expected ',' or ']' (while parsing a "
                 "flow sequence)");
    /* Distributions. */
    expect_error("train:\n  lr: {uniform: [1e-4, 1e-2]}\n", NULL, 0,
                 "FILE:2: train.lr: {uniform: ...} is a distribution: it needs sweep.mode: "
                 "random (a grid takes a list)");
    expect_error("sweep: {mode: random, trials: 3}\ntrain:\n  lr: {log_uniform: [0, 1e-2]}\n",
                 NULL, 0, "FILE:3: train.lr: log_uniform: [a, b] needs a > 0, got a = 0");
    expect_error("sweep: {mode: random, trials: 3}\ntrain:\n  lr: {uniform: [1e-2, 1e-4]}\n",
                 NULL, 0, "FILE:3: train.lr: uniform: [a, b] needs a <= b, got [0.01, 0.0001]");
    expect_error("sweep: {mode: random, trials: 3}\ntrain:\n  lr: {uniform: [0, 1e-2]}\n",
                 NULL, 0, "FILE:3: train.lr: expected a positive number, got 0");
    expect_error("sweep: {mode: random, trials: 3}\nmodel:\n  hidden: {uniform: [8, 16.5]}\n",
                 NULL, 0,
                 "FILE:3: model.hidden: uniform: an integer key needs integer bounds, got 16.5");
    expect_error("sweep: {mode: random, trials: 3}\nseed: {uniform: [1, 9]}\n", NULL, 0,
                 "FILE:2: seed: uniform draws numbers; use a list or {choice: [...]} for this "
                 "key");
    expect_error("sweep: {mode: random, trials: 3}\nsample: {method: {uniform: [1, 2]}}\n",
                 NULL, 0,
                 "FILE:2: sample.method: uniform draws numbers; use a list or {choice: [...]} "
                 "for this key");
    expect_error("sweep: {mode: random, trials: 3}\ntrain: {lr: {choice: []}}\n", NULL, 0,
                 "FILE:2: train.lr: choice: expected a non-empty list, got a list");
    /* Too many runs: named where the count passes the limit, before any is built. */
    expect_error("train:\n  lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n"
                 "  steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                 "model:\n  hidden: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                 "  emb: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                 "sample:\n  T: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
                 NULL, 0,
                 "FILE:8: sample.T: the sweep would have at least 110000 runs (this key has 10 "
                 "values), more than the 100000 allowed");
}

static void test_override_errors(void) {
    expect_error(NULL, SETS("train.lr=[]"), 1,
                 "--set train.lr: an empty list sweeps nothing: give values");
    expect_error(NULL, SETS("train.lr=[1e-3, fast]"), 1,
                 "--set train.lr: expected a positive number, got \"fast\"");
    expect_error(NULL, SETS("train.lrr=[1e-3]"), 1,
                 "--set train.lrr: unknown key (did you mean train.lr?)");
    expect_error(NULL, SETS("train=1"), 1,
                 "--set train: a group of keys: set one of them, e.g. train.steps=VALUE");
    expect_error(NULL, SETS("sweep.trials=4"), 1,
                 "--set sweep.trials: only used with sweep.mode: random (a grid's size comes "
                 "from its lists)");
    expect_error(NULL, SETS("sweep.mode=random"), 1,
                 "--set sweep.mode: random mode needs sweep.trials: N, the number of draws");
    expect_error(NULL, SETS("sweep.repeats=x"), 1,
                 "--set sweep.repeats: expected an integer from 1 to 100000, got \"x\"");
    expect_error(NULL, SETS("sweep.repeat=2"), 1,
                 "--set sweep.repeat: unknown key: the sweep block takes mode, trials, "
                 "repeats, and for halving rungs, keep, metric and sample_n (did you mean "
                 "sweep.repeats?)");
    expect_error(NULL, SETS("sweep=2"), 1,
                 "--set sweep: a group of keys: set one of them, e.g. sweep.repeats=VALUE");
    expect_error(NULL, SETS("train.lr"), 1,
                 "--set train.lr: expected KEY=VALUE, e.g. train.lr=1e-4 or train.lr=[1e-3,1e-4]");
    expect_error(NULL, SETS("train.lr=[1"), 1,
                 "--set train.lr: YAML syntax error in the value: did not find expected ',' or "
                 "']' (while parsing a flow sequence)");
    expect_error(NULL, SETS("train.batch=[64, 2000]"), 1,
                 "--set train.batch: must not exceed dataset.n (1000), got 2000 (run c0001)");
    expect_error(NULL, SETS("sweep.repeats=200", "train.lr=[1,2,3,4,5,6,7,8,9,10]",
                            "train.steps=[1,2,3,4,5,6,7,8,9,10]",
                            "model.hidden=[1,2,3,4,5,6,7,8,9,10]"),
                 4,
                 "--set train.lr: the sweep would have at least 200000 runs (this key has 10 "
                 "values), more than the 100000 allowed");
    expect_error(NULL, SETS("sweep.mode=random", "sweep.trials=100000", "sweep.repeats=2"), 3,
                 "--set sweep.repeats: 100000 trials x 2 repeats = 200000 runs, more than the "
                 "100000 allowed");
}

static const ncsn_test_case single_runs_tests[] = {
    {"a plain file is one run c0000", test_plain_file_is_one_run},
    {"no file is the defaults", test_no_file_is_the_defaults},
    {"cost", test_cost},
    {NULL},
};

static const ncsn_test_case grids_tests[] = {
    {"count and order", test_grid_count_and_order},
    {"seeds differ and are stable", test_seeds_are_stable},
    {"a swept seed", test_swept_seed},
    {"repeats", test_repeats},
    {"array values sweep", test_array_values_sweep},
    {"layouts", test_layouts},
    {NULL},
};

/* ------------------------------------------------------------------ shared trainings */

/* Run k's trainer by brute force: the first run j <= k with its seed, shard and values of
 * every key but sample.* (auto flags included); k itself for an exact-score run. */
static int trainer_by_brute_force(const ncsn_sweep *s, int k, int shard_n) {
    const ncsn_config *c = &s->runs[k].cfg;
    if (c->sample.score == NCSN_SCORE_EXACT) return k;
    for (int j = 0; j <= k; j++) {
        const ncsn_config *d = &s->runs[j].cfg;
        int same = d->sample.score == NCSN_SCORE_MODEL && d->seed == c->seed &&
                   (shard_n < 2 || s->runs[j].index % (uint32_t)shard_n ==
                                       s->runs[k].index % (uint32_t)shard_n);
        for (int i = 0; same && i < ncsn_config_n_keys(); i++)
            if (strncmp(ncsn_config_key_name(i), "sample.", 7) != 0)
                same = ncsn_config_key_equal(c, d, i);
        if (same) return j;
    }
    return -1;
}

static void test_trainings(void) {
    ncsn_sweep s;
    /* sigma_1 auto and a number are two trainings whatever number auto gives; steps too;
     * T and the score source are sampling keys; the exact score trains nothing */
    LOAD(&s, "train: {steps: [100, 200]}\nnoise: {sigma_1: [auto, 20]}\n"
             "sample: {T: [10, 20], score: [model, exact]}\nsweep: {repeats: 2}\n", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_runs, 32);
    int by[32];
    for (int shard_n = 1; shard_n <= 3; shard_n++) {
        const int trainings = ncsn_sweep_trainings(&s, shard_n, by);
        int own = 0;
        for (int k = 0; k < s.n_runs; k++) {
            CU_ASSERT_EQUAL(by[k], trainer_by_brute_force(&s, k, shard_n));
            own += by[k] == k && s.runs[k].cfg.sample.score == NCSN_SCORE_MODEL;
        }
        CU_ASSERT_EQUAL(trainings, own);
        /* 2 steps x 2 sigma_1 x 2 seeds; shards train apart: the two T of a training are
         * 4 runs apart (score, then the repeat, vary faster), in one shard of 2, in two of 3 */
        CU_ASSERT_EQUAL(trainings, shard_n == 3 ? 16 : 8);
    }
    ncsn_sweep_free(&s);
}

static const ncsn_test_case trainings_tests[] = {
    {"runs that differ only in sample.* share one", test_trainings},
    {NULL},
};

static const ncsn_test_case random_mode_tests[] = {
    {"reproducible, within bounds", test_random_mode},
    {NULL},
};

static const ncsn_test_case overrides_tests[] = {
    {"lists, repeats, random mode", test_overrides},
    {NULL},
};

static const ncsn_test_case canonical_text_tests[] = {
    {"equal and different", test_canonical},
    {NULL},
};

static const ncsn_test_case errors_tests[] = {
    {"file errors name FILE:LINE: KEY", test_errors},
    {"override errors", test_override_errors},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("sweep spec: single runs", single_runs_tests);
    ncsn_test_suite("sweep spec: grids", grids_tests);
    ncsn_test_suite("sweep spec: random mode", random_mode_tests);
    ncsn_test_suite("sweep spec: overrides", overrides_tests);
    ncsn_test_suite("sweep spec: canonical text", canonical_text_tests);
    ncsn_test_suite("sweep spec: errors", errors_tests);
    ncsn_test_suite("sweep spec: shared trainings", trainings_tests);
}
