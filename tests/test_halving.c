/* test_halving.c: successive halving's pure part (src/sweep/halving.c) and its sweep file
 * settings (src/sweep/spec.c): how many configurations a rung promotes, the order scores put
 * them in (against a brute-force ranking, ties and failed runs included), a rung's runs, and
 * bad settings refused with FILE:LINE: KEY. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/sweep.h"

static void test_promoted(void) {
    CU_ASSERT_EQUAL(ncsn_halving_promoted(32, 0.34), 11);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(11, 0.34), 4);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(16, 0.5), 8);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(8, 0.25), 2);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(10, 0.3), 3);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(50, 0.14), 7);  /* 0.14 * 50 is 7.000000000000001 */
    CU_ASSERT_EQUAL(ncsn_halving_promoted(100, 0.07), 7); /* 0.07 * 100 is 7.000000000000001 */
    CU_ASSERT_EQUAL(ncsn_halving_promoted(10, 0.7), 7);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(3, 0.1), 1);  /* at least one */
    CU_ASSERT_EQUAL(ncsn_halving_promoted(1, 0.5), 1);
    CU_ASSERT_EQUAL(ncsn_halving_promoted(5, 0.99), 5); /* at most all */
    CU_ASSERT_EQUAL(ncsn_halving_promoted(0, 0.5), 0);
}

/* The place of configuration i by counting the ones that go before it: lower finite scores,
 * equal scores of lower index, and any finite score before a non-finite one. */
static int brute_place(const double *score, int n, int i) {
    int before = 0;
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        const int fi = isfinite(score[i]), fj = isfinite(score[j]);
        if (fj && !fi) before++;
        else if (fj && fi && (score[j] < score[i] || (score[j] == score[i] && j < i))) before++;
        else if (!fj && !fi && j < i) before++;
    }
    return before;
}

static void test_order(void) {
    const double fixed[] = {0.3, NAN, 0.1, 0.3, INFINITY, 0.1};
    int order[6];
    ncsn_halving_order(fixed, 6, order);
    const int want[] = {2, 5, 0, 3, 1, 4};
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(order[i], want[i]);
    /* many random score sets with ties and failures, against the count */
    uint64_t x = 12345;
    for (int trial = 0; trial < 200; trial++) {
        const int n = 1 + trial % 40;
        double score[40];
        for (int i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            const int v = (int)(x >> 59); /* 0..31: many ties */
            score[i] = v == 31 ? NAN : v == 30 ? INFINITY : v / 8.0;
        }
        int got[40];
        ncsn_halving_order(score, n, got);
        for (int p = 0; p < n; p++) CU_ASSERT_EQUAL(brute_place(score, n, got[p]), p);
    }
}

static const char *HALVING =
    "dataset: {n: 200}\n"
    "train: {steps: 120, batch: 64, lr: [0.001, 0.003], log_every: 40}\n"
    "noise: {L: 8}\n"
    "sample: {n: 200, T: [10, 15]}\n"
    "sweep: {mode: halving, rungs: [30, 70, 120], keep: 0.5, sample_n: 50, repeats: 2}\n";

static void test_rung(void) {
    ncsn_sweep s, r0, r1, r2;
    ncsn_error err = {{0}};
    const char *path = ncsn_fix_write_tmp("h.yaml", HALVING);
    CU_ASSERT_EQUAL_FATAL(ncsn_sweep_load(&s, path, NULL, 0, &err), 0);
    CU_ASSERT(s.halving.on);
    CU_ASSERT_EQUAL(s.halving.n_rungs, 3);
    CU_ASSERT_EQUAL(s.halving.steps[1], 70);
    CU_ASSERT_EQUAL(s.halving.sample_n, 50);
    CU_ASSERT_STRING_EQUAL(s.halving.metric, "mode_weight_error");
    CU_ASSERT_EQUAL(s.n_runs, 8); /* 2 lr x 2 T x 2 repeats, at the last rung */
    CU_ASSERT(strstr(s.canonical, "mode: halving\n") != NULL);
    CU_ASSERT(strstr(s.canonical, "rungs: [30, 70, 120]\nkeep: 0.5\n") != NULL);
    const unsigned char all[4] = {1, 1, 1, 1}, some[4] = {0, 1, 0, 1};
    CU_ASSERT_EQUAL_FATAL(ncsn_halving_rung(&s, 0, all, &r0, &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_halving_rung(&s, 1, some, &r1, &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_halving_rung(&s, 2, some, &r2, &err), 0);
    CU_ASSERT_EQUAL(r0.n_runs, 8);
    CU_ASSERT_EQUAL(r1.n_runs, 4);
    CU_ASSERT_EQUAL(r2.n_runs, 4);
    for (int j = 0; j < r1.n_runs; j++) {
        const ncsn_sweep_run *a = &r1.runs[j], *b = &r2.runs[j];
        const ncsn_sweep_run *from = &s.runs[a->index];
        CU_ASSERT_STRING_EQUAL(a->id, from->id); /* the same ids and seeds at every rung */
        CU_ASSERT_EQUAL(a->cfg.seed, from->cfg.seed);
        CU_ASSERT(a->group[4] == '1' || a->group[4] == '3');
        CU_ASSERT_EQUAL(a->cfg.train.steps, 70);
        CU_ASSERT_EQUAL(a->cfg.sample.n, 50);
        CU_ASSERT_EQUAL(b->cfg.train.steps, 120); /* the last rung: the file's configuration */
        CU_ASSERT_EQUAL(b->cfg.sample.n, 200);
        CU_ASSERT(ncsn_config_equal(&b->cfg, &from->cfg));
        /* rung 1 continues rung 0: its training costs its 40 new steps of 70 */
        double train;
        ncsn_sweep_run_cost(&a->cfg, &train);
        CU_ASSERT_DOUBLE_EQUAL(a->train_cost, train * 40.0 / 70.0, 1e-9 * train);
    }
    CU_ASSERT(strcmp(r0.canonical, r1.canonical) != 0);
    CU_ASSERT(strstr(r1.canonical, "configurations: c0001 c0003\n") != NULL);
    CU_ASSERT(strstr(r1.canonical, s.canonical) != NULL);
    ncsn_sweep_free(&r0);
    ncsn_sweep_free(&r1);
    ncsn_sweep_free(&r2);
    ncsn_sweep_free(&s);
}

static void refused_at(const char *text, const char *const *sets, int n_sets, const char *want,
                       int line) {
    ncsn_sweep s;
    ncsn_error err = {{0}};
    const char *path = ncsn_fix_write_tmp("bad.yaml", text);
    char full[1024];
    const char *at = strstr(want, "FILE");
    if (at) snprintf(full, sizeof full, "%.*s%s%s", (int)(at - want), want, path, at + 4);
    else snprintf(full, sizeof full, "%s", want);
    const int rc = ncsn_sweep_load(&s, path, sets, n_sets, &err);
    ncsn_fix_check_refused(rc, err.msg, full, __FILE__, line);
    if (rc == 0) ncsn_sweep_free(&s);
}
#define refused(text, want) refused_at(text, NULL, 0, want, __LINE__)

static void test_errors(void) {
    refused("sweep:\n  mode: halving\n",
            "FILE:2: sweep.mode: halving needs sweep.rungs: [s_1, ..., s_K], the training steps "
            "of each rung, the last equal to train.steps");
    refused("train: {steps: 100}\nsweep:\n  mode: halving\n  rungs: [100, 50]\n",
            "FILE:4: sweep.rungs: rung 1: 50 steps is not more than rung 0's 100: rungs train "
            "longer and longer");
    refused("train: {steps: 200}\nsweep:\n  mode: halving\n  rungs: [50, 100]\n",
            "FILE:4: sweep.rungs: the last rung, 100 steps, must equal train.steps (200): the "
            "last rung trains the configurations as the sweep file gives them");
    refused("sweep:\n  mode: halving\n  rungs: [30000]\n",
            "FILE:3: sweep.rungs: expected a list of 2 to 16 training step counts, increasing, "
            "the last equal to train.steps (e.g. [3000, 10000, 30000]), got 1 rungs");
    refused("sweep:\n  mode: halving\n  rungs: [10, x, 30000]\n",
            "FILE:3: sweep.rungs: rung 1: expected a positive whole number of training steps, "
            "got \"x\"");
    refused("sweep:\n  mode: halving\n  rungs: [3000, 30000]\n  keep: 1\n",
            "FILE:4: sweep.keep: expected the share of configurations promoted from one rung to "
            "the next, a number between 0 and 1 (e.g. 0.34), got 1");
    refused("sweep:\n  mode: halving\n  rungs: [3000, 30000]\n  metric: nll_true\n",
            "FILE:4: sweep.metric: expected one of mode_weight_error, mmd2, swd, fd, final_loss "
            "(lower is better), got \"nll_true\"");
    refused("sweep:\n  mode: halving\n  rungs: [3000, 30000]\n  sample_n: 0\n",
            "FILE:4: sweep.sample_n: expected the chains of the rungs' samples, a whole number "
            "from 1 to 1000000000, got 0");
    refused("sweep:\n  rungs: [3000, 30000]\n",
            "FILE:2: sweep.rungs: only used with sweep.mode: halving");
    refused("train:\n  steps: [100, 200]\nsweep: {mode: halving, rungs: [50, 200]}\n",
            "FILE:2: train.steps: halving gives every rung its own training steps "
            "(sweep.rungs); train.steps, the last rung's, cannot be swept");
    refused("train: {steps: 100, snapshot_every: 40}\nsample: {snapshot: 80}\n"
            "sweep: {mode: halving, rungs: [50, 100]}\n",
            "FILE:2: sample.snapshot: no snapshot of step 80: it is beyond train.steps (0 "
            "samples the final weights) (run c0000 at halving rung 0, 50 steps)");
    const char *const over[] = {"sweep.keep=0"};
    refused_at("sweep: {mode: halving, rungs: [3000, 30000]}\n", over, 1,
               "--set sweep.keep: expected the share of configurations promoted from one rung "
               "to the next, a number between 0 and 1 (e.g. 0.34), got 0", __LINE__);
}

/* A metric some configuration's runs cannot have would decide rungs by index: refused when
 * loaded, naming sweep.metric, or dataset.name when the metric is the default. */
static void test_metric_refused(void) {
    const char *const why_default =
        "halving scores configurations by sweep.metric, default mode_weight_error, which "
        "configuration %s's runs cannot have: %s; set sweep.metric: mmd2, swd or fd";
    char want[1024];
    snprintf(want, sizeof want, "FILE:2: dataset.name: %s", why_default);
    char full[1024];
    snprintf(full, sizeof full, want, "c0000",
             "moons has no modes (neither a mixture nor class labels)");
    refused("dataset:\n  name: moons\nsweep: {mode: halving, rungs: [50, 30000]}\n", full);
    /* one configuration of two, the value's own line */
    snprintf(full, sizeof full, want, "c0001",
             "rings has no modes (neither a mixture nor class labels)");
    refused("dataset:\n  name: [gmm, rings]\nsweep: {mode: halving, rungs: [50, 30000]}\n",
            full);
    const char *const base[] = {"dataset.base=swissroll"};
    snprintf(want, sizeof want, "FILE:1: dataset.name: %s", why_default);
    snprintf(full, sizeof full, want, "c0000",
             "manifold with dataset.base swissroll has no modes (neither a mixture nor class "
             "labels)");
    refused_at("dataset: {name: manifold, dim: 4}\nsweep: {mode: halving, rungs: [50, 30000]}\n",
               base, 1, full, __LINE__);
    snprintf(want, sizeof want, "FILE:1: dataset.name: %s", why_default);
    snprintf(full, sizeof full, want, "c0000",
             "hdf5 data without dataset.labels has no modes (with labels its classes are the "
             "modes)");
    refused("dataset: {name: hdf5, path: x.h5, key: /x}\n"
            "sweep: {mode: halving, rungs: [50, 30000]}\n", full);
    refused("sample: {score: exact}\nsweep:\n  mode: halving\n  rungs: [50, 30000]\n"
            "  metric: final_loss\n",
            "FILE:5: sweep.metric: final_loss: configuration c0000's runs cannot have it: "
            "sample.score exact trains nothing, so no run has a loss; choose mmd2, swd or fd");
    const char *const over[] = {"sweep.metric=final_loss"};
    refused_at("sample: {score: [model, exact]}\nsweep: {mode: halving, rungs: [50, 30000]}\n",
               over, 1, "--set sweep.metric: final_loss: configuration c0001's runs cannot "
               "have it: sample.score exact trains nothing, so no run has a loss; choose "
               "mmd2, swd or fd", __LINE__);
}

/* What can be scored loads: labelled data (its classes are the modes), a mixture with the
 * exact score, a toy scored by mmd2. */
static void test_metric_accepted(void) {
    const char *const ok[] = {
        "dataset: {name: hdf5, path: x.h5, key: /x, labels: /y}\n"
        "sweep: {mode: halving, rungs: [50, 30000]}\n",
        "sample: {score: exact}\nsweep: {mode: halving, rungs: [50, 30000]}\n",
        "dataset: {name: moons}\nsweep: {mode: halving, rungs: [50, 30000], metric: mmd2}\n",
        "dataset: {name: manifold, dim: 4}\nsweep: {mode: halving, rungs: [50, 30000]}\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ncsn_sweep s;
        ncsn_error err = {{0}};
        const int rc = ncsn_sweep_load(&s, ncsn_fix_write_tmp("ok.yaml", ok[i]), NULL, 0, &err);
        if (rc != 0) fprintf(stderr, "\n  case %zu: %s\n", i, err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0) ncsn_sweep_free(&s);
    }
}

static const ncsn_test_case halving_tests[] = {
    {"promotion counts", test_promoted},
    {"order: by score, failures last, ties by index", test_order},
    {"a rung's runs", test_rung},
    {"bad settings refused", test_errors},
    {"a metric the configurations cannot have refused", test_metric_refused},
    {"metrics the configurations can have accepted", test_metric_accepted},
    {NULL},
};

void ncsn_test_register(void) { ncsn_test_suite("halving", halving_tests); }
