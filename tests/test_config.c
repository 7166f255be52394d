/* test_config.c: the configuration module (src/config/config.c): defaults, YAML files, --set,
 * every class of error with its exact `FILE:LINE: KEY: reason`, validation, the YAML
 * round trip, copy/free and the visitor. */
#include <stdint.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/config.h"
#include "ncsn/model.h"

/* Bit-for-bit equality of two doubles. */
#define CHECK_BITS(a, b)                                                                      \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (memcmp(&a_, &b_, sizeof a_) != 0)                                                 \
            fprintf(stderr, "\n  %s:%d: %s = %.17g, %s = %.17g\n", __FILE__, __LINE__, #a,   \
                    a_, #b, b_);                                                              \
        CU_ASSERT(memcmp(&a_, &b_, sizeof a_) == 0);                                          \
    } while (0)

static const char *const expected_keys[] = {
    "seed",
    "dataset.name", "dataset.dim", "dataset.n", "dataset.weights", "dataset.means",
    "dataset.std", "dataset.base", "dataset.noise", "dataset.path", "dataset.key",
    "dataset.labels", "dataset.holdout",
    "model.emb", "model.hidden", "model.sigma_input", "model.scale_by_sigma",
    "train.steps", "train.batch", "train.lr", "train.weight_decay", "train.ema",
    "train.log_every", "train.checkpoint_every", "train.snapshot_every",
    "noise.sigma_1", "noise.sigma_L", "noise.L",
    "sample.n", "sample.T", "sample.eps", "sample.low", "sample.high", "sample.method",
    "sample.score", "sample.denoise", "sample.checkpoint_every", "sample.max_bad_fraction",
    "sample.snapshot",
};
#define N_EXPECTED ((int)(sizeof expected_keys / sizeof expected_keys[0]))

static const char *origin(const ncsn_config *c, const char *key) {
    int i = ncsn_config_key_index(key);
    CU_ASSERT_FATAL(i >= 0);
    return ncsn_config_origin(c, i);
}


/* Loading text (labelled x.yaml) over the defaults fails with want, leaving c unchanged. */
static void expect_load_error_at(const char *text, const char *want, int line) {
    ncsn_config c, before;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    ncsn_config_copy(&before, &c);
    int rc = ncsn_config_load_string(&c, text, "x.yaml", &err);
    ncsn_fix_check_refused(rc, err.msg, want, __FILE__, line);
    CU_ASSERT(ncsn_config_equal(&c, &before));
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.lr"), "");
    ncsn_config_free(&c);
    ncsn_config_free(&before);
}
#define expect_load_error(text, want) expect_load_error_at(text, want, __LINE__)

static void expect_set_error_at(const char *assignment, const char *want, int line) {
    ncsn_config c, before;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    ncsn_config_copy(&before, &c);
    int rc = ncsn_config_set(&c, assignment, &err);
    ncsn_fix_check_refused(rc, err.msg, want, __FILE__, line);
    CU_ASSERT(ncsn_config_equal(&c, &before));
    ncsn_config_free(&c);
    ncsn_config_free(&before);
}
#define expect_set_error(assignment, want) expect_set_error_at(assignment, want, __LINE__)

/* text (x.yaml) and then the --set assignments (NULL-terminated) load, but validation
 * fails with want. */
static void expect_invalid_at(const char *text, const char *const *sets, const char *want,
                              int line) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    int rc = ncsn_config_load_string(&c, text, "x.yaml", &err);
    if (rc) fprintf(stderr, "\n  test_config.c:%d: load failed: %s\n", line, err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (int i = 0; sets && sets[i]; i++) {
        rc = ncsn_config_set(&c, sets[i], &err);
        if (rc) fprintf(stderr, "\n  test_config.c:%d: set failed: %s\n", line, err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    rc = ncsn_config_validate(&c, &err);
    ncsn_fix_check_refused(rc, err.msg, want, __FILE__, line);
    ncsn_config_free(&c);
}
#define expect_invalid(text, sets, want) expect_invalid_at(text, sets, want, __LINE__)

/* ------------------------------------------------------------------ defaults, keys */

static void test_defaults_are_the_notebook(void) {
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL(c.seed, 0);
    CU_ASSERT_STRING_EQUAL(c.dataset.name, "gmm");
    CU_ASSERT_EQUAL(c.dataset.n, 1000);
    CU_ASSERT_EQUAL(c.dataset.k, 2);
    CU_ASSERT_EQUAL(c.dataset.dim, 2);
    CU_ASSERT_EQUAL(c.dataset.n_weights, 2);
    CU_ASSERT_EQUAL(c.dataset.n_std, 2);
    CU_ASSERT_FATAL(c.dataset.weights && c.dataset.means && c.dataset.std);
    CHECK_BITS(c.dataset.weights[0], 0.95);
    CHECK_BITS(c.dataset.weights[1], 0.05);
    const double means[] = {-5, -5, 5, 5};
    for (int i = 0; i < 4; i++) CHECK_BITS(c.dataset.means[i], means[i]);
    CHECK_BITS(c.dataset.std[0], 1.0);
    CHECK_BITS(c.dataset.std[1], 1.0);
    CU_ASSERT_EQUAL(c.model.emb, 16);
    CU_ASSERT_EQUAL(c.model.hidden, 128);
    CU_ASSERT_EQUAL(c.model.sigma_input, NCSN_SIGMA_INPUT_SIGMA);
    CU_ASSERT_EQUAL(c.model.scale_by_sigma, 0);
    CU_ASSERT_EQUAL(c.train.steps, 30000);
    CU_ASSERT_EQUAL(c.train.batch, 128);
    CHECK_BITS(c.train.lr, 1e-3);
    CHECK_BITS(c.train.weight_decay, 0.0);
    CHECK_BITS(c.train.ema, 0.0);
    CU_ASSERT_EQUAL(c.train.log_every, 100);
    CHECK_BITS(c.noise.sigma_1, 20.0);
    CHECK_BITS(c.noise.sigma_L, 0.1);
    CU_ASSERT_EQUAL(c.noise.L, 100);
    CU_ASSERT_EQUAL(c.noise.sigma_1_auto, 0);
    CU_ASSERT_EQUAL(c.noise.L_auto, 0);
    CU_ASSERT_EQUAL(c.sample.n, 5000);
    CU_ASSERT_EQUAL(c.sample.T, 1000);
    CHECK_BITS(c.sample.eps, 1e-3);
    CU_ASSERT_EQUAL(c.sample.eps_auto, 0);
    CHECK_BITS(c.sample.low, -8.0);
    CHECK_BITS(c.sample.high, 8.0);
    CU_ASSERT_EQUAL(c.sample.method, NCSN_SAMPLE_ANNEALED);
    CU_ASSERT_EQUAL(c.sample.score, NCSN_SCORE_MODEL);
    CU_ASSERT_EQUAL(c.sample.denoise, 0);
    for (int i = 0; i < ncsn_config_n_keys(); i++)
        CU_ASSERT_STRING_EQUAL(ncsn_config_origin(&c, i), "");
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    ncsn_config_free(&c);
}

static void test_key_names_and_indices(void) {
    CU_ASSERT_EQUAL(ncsn_config_n_keys(), N_EXPECTED);
    for (int i = 0; i < N_EXPECTED; i++) {
        CU_ASSERT_STRING_EQUAL(ncsn_config_key_name(i), expected_keys[i]);
        CU_ASSERT_EQUAL(ncsn_config_key_index(expected_keys[i]), i);
    }
    CU_ASSERT_PTR_NULL(ncsn_config_key_name(-1));
    CU_ASSERT_PTR_NULL(ncsn_config_key_name(N_EXPECTED));
    CU_ASSERT_EQUAL(ncsn_config_key_index("train"), -1);
    CU_ASSERT_EQUAL(ncsn_config_key_index("train.lrr"), -1);
    CU_ASSERT_EQUAL(ncsn_config_key_index("lr"), -1);
}

/* ------------------------------------------------------------------ files */

static void test_file_overrides_some_keys(void) {
    const char *path = ncsn_fix_write_tmp("run.yaml",
                                  "# a sweep point\n"                /* 1 */
                                  "seed: 42\n"                       /* 2 */
                                  "dataset:\n"                       /* 3 */
                                  "  n: 3e3   # integral real\n"     /* 4 */
                                  "  weights: [0.25, 0.25, 0.5]\n"   /* 5 */
                                  "  means:\n"                       /* 6 */
                                  "    - [0, 0, 1]\n"                /* 7 */
                                  "    - [1, 1, 2]\n"                /* 8 */
                                  "    - [-1, 2.5, 3]\n"             /* 9 */
                                  "  std: [0.5, 1, 2]\n"             /* 10 */
                                  "model:\n"                         /* 11 */
                                  "  sigma_input: log_sigma\n"       /* 12 */
                                  "  scale_by_sigma: yes\n"          /* 13 */
                                  "train: {lr: 1e-4, steps: 500, ema: 0.999}\n" /* 14 */
                                  "noise:\n"                         /* 15 */
                                  "  sigma_L: 0.01\n"                /* 16 */
                                  "sample:\n"                        /* 17 */
                                  "  method: plain\n"                /* 18 */
                                  "  score: exact\n"                 /* 19 */
                                  "  denoise: On\n");                /* 20 */
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    int rc = ncsn_config_load_file(&c, path, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(c.seed, 42);
    CU_ASSERT_EQUAL(c.dataset.n, 3000);
    CU_ASSERT_EQUAL(c.dataset.k, 3);
    CU_ASSERT_EQUAL(c.dataset.dim, 3);
    CU_ASSERT_EQUAL(c.dataset.n_weights, 3);
    CHECK_BITS(c.dataset.weights[2], 0.5);
    const double means[] = {0, 0, 1, 1, 1, 2, -1, 2.5, 3};
    for (int i = 0; i < 9; i++) CHECK_BITS(c.dataset.means[i], means[i]);
    CU_ASSERT_EQUAL(c.dataset.n_std, 3);
    CHECK_BITS(c.dataset.std[0], 0.5);
    CHECK_BITS(c.dataset.std[2], 2.0);
    CU_ASSERT_EQUAL(c.model.sigma_input, NCSN_SIGMA_INPUT_LOG_SIGMA);
    CU_ASSERT_EQUAL(c.model.scale_by_sigma, 1);
    CHECK_BITS(c.train.lr, 1e-4);
    CU_ASSERT_EQUAL(c.train.steps, 500);
    CHECK_BITS(c.train.ema, 0.999);
    CHECK_BITS(c.noise.sigma_L, 0.01);
    CU_ASSERT_EQUAL(c.sample.method, NCSN_SAMPLE_PLAIN);
    CU_ASSERT_EQUAL(c.sample.score, NCSN_SCORE_EXACT);
    CU_ASSERT_EQUAL(c.sample.denoise, 1);
    /* untouched keys keep the notebook's values */
    CU_ASSERT_EQUAL(c.model.emb, 16);
    CU_ASSERT_EQUAL(c.train.batch, 128);
    CHECK_BITS(c.noise.sigma_1, 20.0);
    CU_ASSERT_EQUAL(c.sample.T, 1000);
    /* origins: FILE:LINE of the key */
    char want[600];
    snprintf(want, sizeof want, "%s:2", path);
    CU_ASSERT_STRING_EQUAL(origin(&c, "seed"), want);
    snprintf(want, sizeof want, "%s:6", path);
    CU_ASSERT_STRING_EQUAL(origin(&c, "dataset.means"), want);
    snprintf(want, sizeof want, "%s:14", path);
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.lr"), want);
    snprintf(want, sizeof want, "%s:20", path);
    CU_ASSERT_STRING_EQUAL(origin(&c, "sample.denoise"), want);
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.batch"), "");
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);

    /* a second file merges over the first */
    path = ncsn_fix_write_tmp("second.yaml", "train:\n  lr: 0.5\n");
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_file(&c, path, &err), 0);
    CHECK_BITS(c.train.lr, 0.5);
    CU_ASSERT_EQUAL(c.train.steps, 500);
    snprintf(want, sizeof want, "%s:2", path);
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.lr"), want);
    ncsn_config_free(&c);
}

static void test_dotted_keys_at_top_level(void) {
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(
        ncsn_config_load_string(&c, "train.lr: 2e-4\nnoise.L: 10\n", "x.yaml", &err), 0);
    CHECK_BITS(c.train.lr, 2e-4);
    CU_ASSERT_EQUAL(c.noise.L, 10);
    CU_ASSERT_STRING_EQUAL(origin(&c, "noise.L"), "x.yaml:2");
    ncsn_config_free(&c);
}

static void test_empty_files_are_valid(void) {
    const char *texts[] = {"", "# only a comment\n\n", "---\n", "---\n...\n", "~\n",
                           "train:\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ncsn_config c, d;
        ncsn_error err = {{0}};
        ncsn_config_default(&c);
        ncsn_config_default(&d);
        int rc = ncsn_config_load_string(&c, texts[i], "x.yaml", &err);
        if (rc) fprintf(stderr, "\n  text %zu: %s\n", i, err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(ncsn_config_equal(&c, &d));
        ncsn_config_free(&c);
        ncsn_config_free(&d);
    }
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL(ncsn_config_load_file(&c, ncsn_fix_write_tmp("empty.yaml", ""), &err), 0);
    ncsn_config_free(&c);
}

static void test_missing_file(void) {
    char path[600], want[700];
    snprintf(path, sizeof path, "%s/no-such.yaml", ncsn_test_tmpdir());
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL(ncsn_config_load_file(&c, path, &err), -1);
    NCSN_CHECK_MSG(err.msg, want);
    ncsn_config_free(&c);
}

static void test_file_error_names_path_and_line(void) {
    const char *path = ncsn_fix_write_tmp("bad.yaml", "train:\n  steps: 10\n  lr: fast\n");
    char want[700];
    snprintf(want, sizeof want, "%s:3: train.lr: expected a positive number, got \"fast\"",
             path);
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL(ncsn_config_load_file(&c, path, &err), -1);
    NCSN_CHECK_MSG(err.msg, want);
    CU_ASSERT_EQUAL(c.train.steps, 30000); /* nothing applied */
    ncsn_config_free(&c);
}

static void test_std_scalar_follows_k(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    /* std before means in the file: the one number still covers all three components */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&c,
                                                  "dataset:\n"
                                                  "  std: 2.5\n"
                                                  "  weights: [0.2, 0.3, 0.5]\n"
                                                  "  means: [[0], [1], [2]]\n",
                                                  "x.yaml", &err),
                          0);
    CU_ASSERT_EQUAL(c.dataset.k, 3);
    CU_ASSERT_EQUAL(c.dataset.dim, 1);
    CU_ASSERT_EQUAL_FATAL(c.dataset.n_std, 3);
    for (int i = 0; i < 3; i++) CHECK_BITS(c.dataset.std[i], 2.5);
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    /* later overrides change K again */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.means=[[0],[1],[2],[3]]", &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.weights=[0.25,0.25,0.25,0.25]", &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.dataset.n_std, 4);
    CHECK_BITS(c.dataset.std[3], 2.5);
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    /* a one-entry list also applies to every component */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.std=[3]", &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.dataset.n_std, 4);
    CHECK_BITS(c.dataset.std[0], 3.0);
    CHECK_BITS(c.dataset.std[3], 3.0);
    /* a full list does not follow K */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.std=[1,2,3,4]", &err), 0);
    CU_ASSERT_EQUAL(c.dataset.std_scalar, 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.means=[[0],[1]]", &err), 0);
    CU_ASSERT_EQUAL(c.dataset.n_std, 4);
    ncsn_config_free(&c);
}

static void test_auto_values(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&c,
                                                  "noise: {sigma_1: auto, L: auto}\n"
                                                  "sample:\n"
                                                  "  eps: auto\n",
                                                  "x.yaml", &err),
                          0);
    CU_ASSERT_EQUAL(c.noise.sigma_1_auto, 1);
    CU_ASSERT_EQUAL(c.noise.L_auto, 1);
    CU_ASSERT_EQUAL(c.sample.eps_auto, 1);
    CU_ASSERT_STRING_EQUAL(origin(&c, "sample.eps"), "x.yaml:3");
    /* auto values are not checked until resolved: not even against sigma_L */
    c.noise.sigma_1 = 0;
    c.noise.L = 0;
    c.sample.eps = -1;
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    /* a number clears auto */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "noise.L=12", &err), 0);
    CU_ASSERT_EQUAL(c.noise.L_auto, 0);
    CU_ASSERT_EQUAL(c.noise.L, 12);
    ncsn_config_free(&c);
}

/* ------------------------------------------------------------------ errors in files */

static void test_syntax_errors(void) {
    expect_load_error("train:\n  lr: 1\n steps: 3\n",
                      "x.yaml:3: YAML syntax error: did not find expected key "
                      "(while parsing a block mapping)");
    expect_load_error("train: {lr: 1\nseed: 2\n",
                      "x.yaml:2: YAML syntax error: did not find expected ',' or '}' "
                      "(while parsing a flow mapping)");
    expect_load_error("seed: 1\n---\nseed: 2\n",
                      "x.yaml:3: a second YAML document; one configuration per file");
    expect_load_error("seed: 1\n---\nseed: [1\n",
                      "x.yaml:4: YAML syntax error: did not find expected ',' or ']' "
                      "(while parsing a flow sequence)");
    expect_load_error("- 1\n- 2\n",
                      "x.yaml:1: expected a map of keys at the top level, got a list");
}

static void test_tabs(void) {
    expect_load_error("seed: 1\ntrain:\n\tlr: 1\n",
                      "x.yaml:3: tab character: indent YAML with spaces");
    expect_load_error("seed: 1\t# comment\n", "x.yaml:1: tab character: indent YAML with spaces");
}

static void test_unknown_keys(void) {
    expect_load_error("seed: 1\n"
                      "train:\n"
                      "  steps: 10\n"
                      "  lr: 0.1\n"
                      "  lrate: 0.1\n",
                      "x.yaml:5: train.lrate: unknown key (did you mean train.lr?)");
    expect_load_error("train:\n  batchsize: 64\n",
                      "x.yaml:2: train.batchsize: unknown key (did you mean train.batch?)");
    expect_load_error("traning:\n  lr: 1\n",
                      "x.yaml:1: traning: unknown key (did you mean train?)");
    expect_load_error("seed: 0\ntrain:\n  sigma_L: 0.2\n",
                      "x.yaml:3: train.sigma_L: unknown key (did you mean noise.sigma_L?)");
    expect_load_error("noise:\n  sigma_l: 0.2\n",
                      "x.yaml:2: noise.sigma_l: unknown key (did you mean noise.sigma_L?)");
    expect_load_error("lr: 1\n", "x.yaml:1: lr: unknown key (did you mean train.lr?)");
    expect_load_error("optimizer: adam\n", "x.yaml:1: optimizer: unknown key");
    /* no deeper nesting than the sections */
    expect_load_error("train:\n  adam:\n    beta1: 0.9\n", "x.yaml:2: train.adam: unknown key");
    expect_load_error("train:\n  lr: {value: 1}\n",
                      "x.yaml:2: train.lr: expected a positive number, got a map");
    expect_load_error("train: 5\n", "x.yaml:1: train: expected a map of train.* keys, got 5");
    expect_load_error("seed:\n  value: 1\n",
                      "x.yaml:1: seed: expected an integer >= 0, got a map");
}

static void test_duplicate_keys(void) {
    expect_load_error("train:\n  lr: 0.1\n  steps: 4\n  lr: 0.2\n",
                      "x.yaml:4: train.lr: duplicate key (first given at line 2)");
    expect_load_error("train:\n  lr: 0.1\nseed: 3\ntrain:\n  steps: 4\n",
                      "x.yaml:4: train: duplicate key (first given at line 1)");
    expect_load_error("train:\n  lr: 0.1\ntrain.lr: 0.2\n",
                      "x.yaml:3: train.lr: duplicate key (first given at line 2)");
}

static void test_wrong_types(void) {
    expect_load_error("seed: 0\ntrain:\n  lr: fast\n",
                      "x.yaml:3: train.lr: expected a positive number, got \"fast\"");
    expect_load_error("train:\n  lr: \"0.1\"\n",
                      "x.yaml:2: train.lr: expected a positive number, got \"0.1\" (a quoted "
                      "string)");
    expect_load_error("train:\n  lr:\n",
                      "x.yaml:2: train.lr: expected a positive number, got an empty value");
    expect_load_error("train:\n  lr: [1, 2]\n",
                      "x.yaml:2: train.lr: expected a positive number, got a list");
    expect_load_error("train:\n  steps: 1.5\n",
                      "x.yaml:2: train.steps: expected an integer >= 0, got 1.5");
    expect_load_error("train:\n  batch: 64.0001\n",
                      "x.yaml:2: train.batch: expected an integer >= 1, got 64.0001");
    expect_load_error("train:\n  batch: 1e10\n",
                      "x.yaml:2: train.batch: expected an integer >= 1, got 1e10 (out of range)");
    expect_load_error("seed: -1\n", "x.yaml:1: seed: expected an integer >= 0, got -1");
    expect_load_error("seed: 18446744073709551616\n",
                      "x.yaml:1: seed: expected an integer >= 0, got 18446744073709551616");
    expect_load_error("model:\n  scale_by_sigma: maybe\n",
                      "x.yaml:2: model.scale_by_sigma: expected true or false (or yes/no, "
                      "on/off), got \"maybe\"");
    expect_load_error("model:\n  scale_by_sigma: 1\n",
                      "x.yaml:2: model.scale_by_sigma: expected true or false (or yes/no, "
                      "on/off), got 1");
    expect_load_error("model:\n  sigma_input: log-sigma\n",
                      "x.yaml:2: model.sigma_input: expected sigma, log_sigma or none, got "
                      "\"log-sigma\" (did you mean log_sigma?)");
    expect_load_error("sample:\n  method: langevin\n",
                      "x.yaml:2: sample.method: expected annealed or plain, got \"langevin\"");
    expect_load_error("dataset:\n  name: mnist\n",
                      "x.yaml:2: dataset.name: expected gmm, manifold, moons, swissroll, rings, "
                      "checkerboard or hdf5, got \"mnist\"");
    expect_load_error("noise:\n  sigma_1: automatic\n",
                      "x.yaml:2: noise.sigma_1: expected a positive number or auto, got "
                      "\"automatic\"");
    expect_load_error("noise:\n  sigma_L: auto\n",
                      "x.yaml:2: noise.sigma_L: expected a positive number, got \"auto\"");
    expect_load_error("train:\n  lr: 1e999\n",
                      "x.yaml:2: train.lr: expected a positive number, got 1e999 (not finite)");
    expect_load_error("train:\n  lr: .inf\n",
                      "x.yaml:2: train.lr: expected a positive number, got .inf (not finite)");
    expect_load_error("sample:\n  low: nan\n",
                      "x.yaml:2: sample.low: expected a number, got nan (not finite)");
    expect_load_error("sample:\n  low: -Infinity\n",
                      "x.yaml:2: sample.low: expected a number, got -Infinity (not finite)");
}

static void test_integers_and_booleans_accepted(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&c,
                                                  "seed: 18446744073709551615\n"
                                                  "train: {steps: 3e4, batch: 6.4e1, "
                                                  "log_every: +5}\n"
                                                  "model: {scale_by_sigma: TRUE}\n"
                                                  "sample: {denoise: yes, n: 1.0e3}\n",
                                                  "x.yaml", &err),
                          0);
    CU_ASSERT(c.seed == UINT64_MAX);
    CU_ASSERT_EQUAL(c.train.steps, 30000);
    CU_ASSERT_EQUAL(c.train.batch, 64);
    CU_ASSERT_EQUAL(c.train.log_every, 5);
    CU_ASSERT_EQUAL(c.model.scale_by_sigma, 1);
    CU_ASSERT_EQUAL(c.sample.denoise, 1);
    CU_ASSERT_EQUAL(c.sample.n, 1000);
    const char *words[][2] = {{"true", "1"},  {"false", "0"}, {"yes", "1"}, {"no", "0"},
                              {"on", "1"},    {"off", "0"},   {"Off", "0"}, {"YES", "1"}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "sample:\n  denoise: %s\n", words[i][0]);
        CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&c, text, "x.yaml", &err), 0);
        CU_ASSERT_EQUAL(c.sample.denoise, words[i][1][0] - '0');
    }
    ncsn_config_free(&c);
}

static void test_impossible_values_in_files(void) {
    expect_load_error("train:\n  lr: -1\n",
                      "x.yaml:2: train.lr: expected a positive number, got -1");
    expect_load_error("train:\n  lr: 0\n", "x.yaml:2: train.lr: expected a positive number, got 0");
    expect_load_error("train:\n  ema: 1\n",
                      "x.yaml:2: train.ema: expected a number in [0, 1), got 1");
    expect_load_error("train:\n  weight_decay: -0.1\n",
                      "x.yaml:2: train.weight_decay: expected a number >= 0, got -0.1");
    expect_load_error("train:\n  batch: 0\n",
                      "x.yaml:2: train.batch: expected an integer >= 1, got 0");
    expect_load_error("train:\n  steps: -5\n",
                      "x.yaml:2: train.steps: expected an integer >= 0, got -5");
    expect_load_error("model:\n  hidden: 70000\n",
                      "x.yaml:2: model.hidden: expected an integer from 1 to 65536, got 70000");
    expect_load_error("dataset:\n  n: 1\n",
                      "x.yaml:2: dataset.n: expected an integer >= 2, got 1");
    expect_load_error("noise:\n  L: 0\n",
                      "x.yaml:2: noise.L: expected an integer >= 1 or auto, got 0");
    expect_load_error("sample:\n  eps: 0\n",
                      "x.yaml:2: sample.eps: expected a positive number or auto, got 0");
    expect_load_error("sample:\n  T: -1\n", "x.yaml:2: sample.T: expected an integer >= 1, got -1");
}

static void test_list_errors(void) {
    expect_load_error("dataset:\n"
                      "  means:\n"
                      "    - [0, 0]\n"
                      "    - [1, 1, 1]\n",
                      "x.yaml:4: dataset.means: row 2 has 3 numbers but row 1 has 2");
    expect_load_error("dataset:\n  means: [[0, 0],\n          [1, x]]\n",
                      "x.yaml:3: dataset.means: row 2, entry 2: expected a number, got \"x\"");
    expect_load_error("dataset:\n  means: [0, 0]\n",
                      "x.yaml:2: dataset.means: row 1: expected a list of numbers, got 0");
    expect_load_error("dataset:\n  means: 5\n",
                      "x.yaml:2: dataset.means: expected a list of rows (one per component) of "
                      "numbers, got 5");
    expect_load_error("dataset:\n  means: []\n",
                      "x.yaml:2: dataset.means: expected a non-empty list of rows");
    expect_load_error("dataset:\n  means: [[]]\n", "x.yaml:2: dataset.means: row 1 is empty");
    expect_load_error("dataset:\n  weights: []\n",
                      "x.yaml:2: dataset.weights: expected a non-empty list");
    expect_load_error("dataset:\n  weights: 1\n",
                      "x.yaml:2: dataset.weights: expected a list of numbers >= 0, one per "
                      "component, got 1");
    expect_load_error("dataset:\n  weights:\n    - 0.5\n    - -0.5\n",
                      "x.yaml:4: dataset.weights: entry 2: expected a number >= 0, got -0.5");
    expect_load_error("dataset:\n  std: [1, 0]\n",
                      "x.yaml:2: dataset.std: entry 2: expected a positive number, got 0");
    expect_load_error("dataset:\n  std: -1\n",
                      "x.yaml:2: dataset.std: expected a positive number or a list of positive "
                      "numbers, one per component, got -1");
    expect_load_error("dataset:\n  std: {a: 1}\n",
                      "x.yaml:2: dataset.std: expected a positive number or a list of positive "
                      "numbers, one per component, got a map");

    /* D > 4096 and K > 1024 */
    size_t size = 20000;
    char *text = malloc(size);
    CU_ASSERT_FATAL(text != NULL);
    size_t len = (size_t)snprintf(text, size, "dataset:\n  means: [[");
    for (int i = 0; i < 4097; i++)
        len += (size_t)snprintf(text + len, size - len, "%s0", i ? "," : "");
    snprintf(text + len, size - len, "]]\n");
    expect_load_error(text,
                      "x.yaml:2: dataset.means: row 1 has 4097 numbers, more than the 4096 "
                      "dimensions allowed");
    len = (size_t)snprintf(text, size, "dataset:\n  weights: [");
    for (int i = 0; i < 1025; i++)
        len += (size_t)snprintf(text + len, size - len, "%s0", i ? "," : "");
    snprintf(text + len, size - len, "]\n");
    expect_load_error(text,
                      "x.yaml:2: dataset.weights: has 1025 entries, more than the 1024 "
                      "components allowed");
    free(text);
}

/* ------------------------------------------------------------------ --set */

static void test_set_values(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    const char *sets[] = {"train.lr=1e-4",
                          "seed=18446744073709551615",
                          "model.scale_by_sigma=yes",
                          "sample.method=plain",
                          " train.steps = 3e4",
                          "dataset.means=[[0,0],[1,1],[2,2]]",
                          "dataset.weights=[0.5, 0.25, 0.25]",
                          "dataset.name=gmm",
                          "noise.L=auto",
                          "sample.eps=auto",
                          "noise.sigma_1=auto",
                          "dataset.std=[1, 2, 3]",
                          "model.sigma_input=log_sigma"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        int rc = ncsn_config_set(&c, sets[i], &err);
        if (rc) fprintf(stderr, "\n  %s: %s\n", sets[i], err.msg);
        CU_ASSERT_EQUAL(rc, 0);
    }
    CHECK_BITS(c.train.lr, 1e-4);
    CU_ASSERT(c.seed == UINT64_MAX);
    CU_ASSERT_EQUAL(c.model.scale_by_sigma, 1);
    CU_ASSERT_EQUAL(c.sample.method, NCSN_SAMPLE_PLAIN);
    CU_ASSERT_EQUAL(c.train.steps, 30000);
    CU_ASSERT_EQUAL(c.dataset.k, 3);
    CU_ASSERT_EQUAL(c.dataset.dim, 2);
    CHECK_BITS(c.dataset.means[5], 2.0);
    CHECK_BITS(c.dataset.weights[0], 0.5);
    CU_ASSERT_EQUAL(c.noise.L_auto, 1);
    CU_ASSERT_EQUAL(c.sample.eps_auto, 1);
    CU_ASSERT_EQUAL(c.noise.sigma_1_auto, 1);
    CHECK_BITS(c.dataset.std[2], 3.0);
    CU_ASSERT_EQUAL(c.model.sigma_input, NCSN_SIGMA_INPUT_LOG_SIGMA);
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.lr"), "--set");
    CU_ASSERT_STRING_EQUAL(origin(&c, "dataset.means"), "--set");
    CU_ASSERT_STRING_EQUAL(origin(&c, "train.batch"), "");
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    ncsn_config_free(&c);
}

static void test_set_errors(void) {
    expect_set_error("train.lr", "--set train.lr: expected KEY=VALUE, e.g. train.lr=1e-4");
    expect_set_error("=3", "--set =3: expected KEY=VALUE, e.g. train.lr=1e-4");
    expect_set_error("train.lrr=1", "--set train.lrr: unknown key (did you mean train.lr?)");
    expect_set_error("batch=1", "--set batch: unknown key (did you mean train.batch?)");
    expect_set_error("noise.sigma=1",
                     "--set noise.sigma: unknown key "
                     "(did you mean noise.sigma_1 or noise.sigma_L?)");
    expect_set_error("train=1",
                     "--set train: a group of keys: set one of them, e.g. train.steps=VALUE");
    expect_set_error("train.lr=fast", "--set train.lr: expected a positive number, got \"fast\"");
    expect_set_error("train.lr=", "--set train.lr: expected a positive number, got an empty value");
    expect_set_error("train.lr=-1e-4", "--set train.lr: expected a positive number, got -1e-4");
    expect_set_error("train.lr=[1", "--set train.lr: YAML syntax error in the value: did not find "
                                    "expected ',' or ']' (while parsing a flow sequence)");
    expect_set_error("train.lr=\t1", "--set train.lr: tab character in the value");
    expect_set_error("dataset.means=[[0,0],[1]]",
                     "--set dataset.means: row 2 has 1 numbers but row 1 has 2");
    expect_set_error("noise.sigma_L=auto",
                     "--set noise.sigma_L: expected a positive number, got \"auto\"");
}

/* ------------------------------------------------------------------ validation */

static void test_validation_names_the_origin(void) {
    /* the brief's example: sigma_L from line 7 of a file */
    expect_invalid("seed: 1\n"
                   "train:\n"
                   "  lr: 0.1\n"
                   "  steps: 10\n"
                   "# the noise\n"
                   "noise:\n"
                   "  sigma_L: 25\n",
                   NULL, "x.yaml:7: noise.sigma_L: must be smaller than noise.sigma_1 (20)");
    /* when only sigma_1 was set, it is the one named */
    expect_invalid("noise:\n  sigma_1: 0.05\n", NULL,
                   "x.yaml:2: noise.sigma_1: must be larger than noise.sigma_L (0.1)");
    expect_invalid("", SETS("noise.sigma_L=20"),
                   "--set noise.sigma_L: must be smaller than noise.sigma_1 (20)");
    expect_invalid("model:\n  sigma_input: none\n", NULL,
                   "x.yaml:2: model.sigma_input: none (the unconditional net(x) / sigma) needs "
                   "model.scale_by_sigma: true, or the score would not depend on sigma at all");
    expect_invalid("model:\n  sigma_input: none\n  scale_by_sigma: false\n", NULL,
                   "x.yaml:2: model.sigma_input: none (the unconditional net(x) / sigma) needs "
                   "model.scale_by_sigma: true, or the score would not depend on sigma at all");
    expect_invalid("", SETS("train.batch=2000"),
                   "--set train.batch: must not exceed dataset.n (1000), got 2000");
    expect_invalid("dataset:\n  n: 100\n", NULL,
                   "x.yaml:2: dataset.n: must be at least train.batch (128), got 100");
    expect_invalid("", SETS("dataset.weights=[0.5, 0.4]"),
                   "--set dataset.weights: must sum to 1, they sum to 0.9");
    expect_invalid("dataset:\n  weights: [0.2, 0.3, 0.5]\n", NULL,
                   "x.yaml:2: dataset.weights: has 3 entries but dataset.means has 2 rows");
    expect_invalid("dataset:\n  means: [[1], [2], [3]]\n", NULL,
                   "x.yaml:2: dataset.means: has 3 rows but dataset.weights has 2 entries");
    expect_invalid("dataset:\n  std: [1, 2, 3]\n", NULL,
                   "x.yaml:2: dataset.std: has 3 entries but dataset.means has 2 rows (give one "
                   "number, or one per component)");
    expect_invalid("sample:\n  low: 1\n  high: 1\n", NULL,
                   "x.yaml:2: sample.low: must be smaller than sample.high (1)");
    expect_invalid("", SETS("sample.high=-9"),
                   "--set sample.high: must be larger than sample.low (-8)");
    /* weights within 1e-6 of summing to 1 pass */
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.weights=[0.5, 0.5000009]", &err), 0);
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.weights=[0.5, 0.500002]", &err), 0);
    CU_ASSERT_EQUAL(ncsn_config_validate(&c, &err), -1);
    ncsn_config_free(&c);
}

/* Each case breaks a default configuration by hand and expects the message. */
static void expect_broken(void (*breaker)(ncsn_config *), const char *want, int line) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    breaker(&c);
    int rc = ncsn_config_validate(&c, &err);
    ncsn_fix_check_refused(rc, err.msg, want, __FILE__, line);
    ncsn_config_free(&c);
}
#define BREAK(name, body)                                                                     \
    static void name(ncsn_config *c) { body; }
BREAK(b_lr_nan, c->train.lr = NAN)
BREAK(b_low_inf, c->sample.low = -INFINITY)
BREAK(b_sigma_L_zero, c->noise.sigma_L = 0)
BREAK(b_L_zero, c->noise.L = 0)
BREAK(b_eps_zero, c->sample.eps = 0)
BREAK(b_steps, c->train.steps = -1)
BREAK(b_ema, c->train.ema = 1)
BREAK(b_wd, c->train.weight_decay = -1e-9)
BREAK(b_log_every, c->train.log_every = 0)
BREAK(b_sample_n, c->sample.n = 0)
BREAK(b_T, c->sample.T = 0)
BREAK(b_emb, c->model.emb = 65537)
BREAK(b_hidden, c->model.hidden = 0)
BREAK(b_n, c->dataset.n = 1)
BREAK(b_batch, c->train.batch = 0)
BREAK(b_weight_negative, c->dataset.weights[0] = 1.05; c->dataset.weights[1] = -0.05)
BREAK(b_mean_nan, c->dataset.means[3] = NAN)
BREAK(b_std_zero, c->dataset.std[1] = 0)
BREAK(b_name, strcpy(c->dataset.name, "mnist"))
BREAK(b_method, c->sample.method = 7)
BREAK(b_bool, c->sample.denoise = 2)
BREAK(b_dim, c->dataset.means_cols = c->dataset.dim = 5000; free(c->dataset.means);
      c->dataset.means = calloc(2 * 5000, sizeof(double)))
BREAK(b_k, c->dataset.k = c->dataset.n_weights = c->dataset.n_std = 1025;
      free(c->dataset.means); c->dataset.means = calloc(1025 * 2, sizeof(double)))
BREAK(b_from_file, c->origin[ncsn_config_key_index("train.ema")] = "sweep.yaml:9";
      c->train.ema = -0.5)

static void test_validation_of_each_key(void) {
    expect_broken(b_lr_nan, "train.lr: expected a positive number, got .nan", __LINE__);
    expect_broken(b_low_inf, "sample.low: expected a number, got -.inf", __LINE__);
    expect_broken(b_sigma_L_zero, "noise.sigma_L: expected a positive number, got 0", __LINE__);
    expect_broken(b_L_zero, "noise.L: expected an integer >= 1 or auto, got 0", __LINE__);
    expect_broken(b_eps_zero, "sample.eps: expected a positive number or auto, got 0", __LINE__);
    expect_broken(b_steps, "train.steps: expected an integer >= 0, got -1", __LINE__);
    expect_broken(b_ema, "train.ema: expected a number in [0, 1), got 1", __LINE__);
    expect_broken(b_wd, "train.weight_decay: expected a number >= 0, got -1e-09", __LINE__);
    expect_broken(b_log_every, "train.log_every: expected an integer >= 1, got 0", __LINE__);
    expect_broken(b_sample_n, "sample.n: expected an integer >= 1, got 0", __LINE__);
    expect_broken(b_T, "sample.T: expected an integer >= 1, got 0", __LINE__);
    expect_broken(b_emb, "model.emb: expected an integer from 1 to 65536, got 65537", __LINE__);
    expect_broken(b_hidden, "model.hidden: expected an integer from 1 to 65536, got 0", __LINE__);
    expect_broken(b_n, "dataset.n: expected an integer >= 2, got 1", __LINE__);
    expect_broken(b_batch, "train.batch: expected an integer >= 1, got 0", __LINE__);
    expect_broken(b_weight_negative, "dataset.weights: entry 2: expected a number >= 0, got -0.05",
                  __LINE__);
    expect_broken(b_mean_nan, "dataset.means: row 2, entry 2: expected a number, got .nan",
                  __LINE__);
    expect_broken(b_std_zero, "dataset.std: entry 2: expected a positive number, got 0", __LINE__);
    expect_broken(b_name, "dataset.name: expected gmm, manifold, moons, swissroll, rings, "
                  "checkerboard or hdf5, got \"mnist\"", __LINE__);
    expect_broken(b_method, "sample.method: expected annealed or plain, got 7", __LINE__);
    expect_broken(b_bool, "sample.denoise: expected true or false, got 2", __LINE__);
    expect_broken(b_dim, "dataset.means: rows have 5000 numbers, expected 1 to 4096 dimensions",
                  __LINE__);
    expect_broken(b_k, "dataset.weights: has 1025 entries, more than the 1024 components allowed",
                  __LINE__);
    expect_broken(b_from_file, "sweep.yaml:9: train.ema: expected a number in [0, 1), got -0.5",
                  __LINE__);
}

/* ------------------------------------------------------------------ YAML output */

static void roundtrip(const ncsn_config *c) {
    char *text = ncsn_config_to_yaml(c);
    CU_ASSERT_FATAL(text != NULL);
    ncsn_config d;
    ncsn_error err = {{0}};
    ncsn_config_default(&d);
    int rc = ncsn_config_load_string(&d, text, "roundtrip", &err);
    if (rc) fprintf(stderr, "\n  %s\n%s\n", err.msg, text);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    if (!ncsn_config_equal(c, &d)) fprintf(stderr, "\n  not equal after reading back:\n%s\n", text);
    CU_ASSERT(ncsn_config_equal(c, &d));
    /* printing the result again gives the same text */
    char *again = ncsn_config_to_yaml(&d);
    CU_ASSERT_STRING_EQUAL(text, again);
    free(again);
    free(text);
    ncsn_config_free(&d);
}

static size_t too_deep(const char *text) { return ncsn_yaml_too_deep(text, strlen(text)); }

/* Flow nesting beyond NCSN_YAML_MAX_DEPTH is found, with its line; brackets in quoted
 * scalars (with their escapes) and comments are not counted. */
static void test_yaml_depth(void) {
    char deep[400];
    int n = snprintf(deep, sizeof deep, "a: 1\nb: ");
    for (int i = 0; i < NCSN_YAML_MAX_DEPTH; i++) deep[n++] = '[';
    deep[n] = '\0';
    CU_ASSERT_EQUAL(too_deep(deep), 0);        /* 64 deep */
    strcat(deep, "[");
    CU_ASSERT_EQUAL(too_deep(deep), 2);        /* 65 deep, on line 2 */
    char text[4 * sizeof deep + 64];
    snprintf(text, sizeof text, "a: '%s'\nb: \"\\\"%s\"\nc: x # %s\nd: 'it''s %s'\n",
             deep + 8, deep + 8, deep + 8, deep + 8);
    CU_ASSERT_EQUAL(too_deep(text), 0);
    snprintf(text, sizeof text, "e: [1, [2]]\nf: it's %s\n", deep + 8); /* not a quote */
    CU_ASSERT_EQUAL(too_deep(text), 2);
    CU_ASSERT_EQUAL(too_deep("m: {a: [1, {b: [2]}]}\n"), 0);
}

/* Origins are interned: one copy of each text, shared by every configuration. */
static void test_origins_interned(void) {
    char text[32];
    snprintf(text, sizeof text, "sweep.yaml:%d", 12);
    const char *a = ncsn_config_intern(text);
    CU_ASSERT_STRING_EQUAL(a, "sweep.yaml:12");
    CU_ASSERT(a != text);
    CU_ASSERT(ncsn_config_intern("sweep.yaml:12") == a);
    CU_ASSERT(ncsn_config_intern("sweep.yaml:13") != a);
    CU_ASSERT_STRING_EQUAL(ncsn_config_intern(""), "");
    CU_ASSERT_STRING_EQUAL(ncsn_config_intern(NULL), "");
    for (int i = 0; i < 5000; i++) { /* through several growths of the table */
        snprintf(text, sizeof text, "f.yaml:%d", i);
        CU_ASSERT_STRING_EQUAL(ncsn_config_intern(text), text);
    }
    CU_ASSERT(ncsn_config_intern("sweep.yaml:12") == a);
    ncsn_config c, d;
    ncsn_config_default(&c);
    ncsn_error err;
    CU_ASSERT_FATAL(ncsn_config_load_string(&c, "train:\n  lr: 0.01\n", "x.yaml", &err) == 0);
    ncsn_config_copy(&d, &c);
    const int i = ncsn_config_key_index("train.lr");
    CU_ASSERT_STRING_EQUAL(ncsn_config_origin(&c, i), "x.yaml:2");
    CU_ASSERT(ncsn_config_origin(&d, i) == ncsn_config_origin(&c, i));
    CU_ASSERT_STRING_EQUAL(ncsn_config_origin(&c, -1), "");
    ncsn_config_free(&c);
    ncsn_config_free(&d);
}

/* The results YAML leaves out the checkpoint intervals and nothing else. */
static void test_results_yaml(void) {
    ncsn_config a, b;
    ncsn_config_default(&a);
    ncsn_config_default(&b);
    ncsn_error err;
    CU_ASSERT_FATAL(ncsn_config_set(&b, "train.checkpoint_every=500", &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_set(&b, "sample.checkpoint_every=3", &err) == 0);
    char *ya = ncsn_config_results_yaml(&a), *yb = ncsn_config_results_yaml(&b);
    CU_ASSERT_STRING_EQUAL(ya, yb);
    CU_ASSERT_PTR_NULL(strstr(ya, "checkpoint_every"));
    free(yb);
    char *full = ncsn_config_to_yaml(&b);
    CU_ASSERT_PTR_NOT_NULL(strstr(full, "  checkpoint_every: 500\n"));
    free(full);
    CU_ASSERT_FATAL(ncsn_config_set(&b, "train.log_every=7", &err) == 0);
    yb = ncsn_config_results_yaml(&b);
    CU_ASSERT_STRING_NOT_EQUAL(ya, yb);
    free(ya);
    free(yb);
    ncsn_config_free(&a);
    ncsn_config_free(&b);
}

static void test_yaml_roundtrip_defaults(void) {
    ncsn_config c;
    ncsn_config_default(&c);
    roundtrip(&c);
    char *text = ncsn_config_to_yaml(&c);
    /* every key appears, each section once */
    for (int i = 0; i < N_EXPECTED; i++) {
        const char *dot = strrchr(expected_keys[i], '.');
        char line[64];
        snprintf(line, sizeof line, "%s%s:", dot ? "\n  " : "\n", dot ? dot + 1 : expected_keys[i]);
        if (!strstr(text, line)) fprintf(stderr, "\n  missing %s in\n%s\n", expected_keys[i], text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ntrain:\n"));
    CU_ASSERT_PTR_NULL(strstr(strstr(text, "\ntrain:\n") + 1, "\ntrain:\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  lr: 0.001\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  sigma_L: 0.1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  std: 1\n"));
    free(text);
    ncsn_config_free(&c);
}

static void test_yaml_roundtrip_exact_doubles(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.means=[[0.1,0.2,0.3],[1,1,1],[2,2,2]]",
                                          &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.weights=[0.1,0.2,0.7]", &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "dataset.std=[0.3,0.7,1e-300]", &err), 0);
    c.seed = UINT64_MAX;
    c.dataset.means[0] = 0.1 + 0.2; /* 0.30000000000000004 */
    c.dataset.means[1] = -0.0;
    c.train.lr = 1e-4;
    c.train.weight_decay = 1.0 / 3.0;
    c.train.ema = 0.999;
    c.noise.sigma_1 = 28.284271247461902;
    c.noise.sigma_L = 0.1;
    c.sample.eps = 6.1e-5;
    c.sample.low = -1e308;
    c.sample.high = 5e-324; /* the smallest subnormal */
    c.train.steps = INT64_MAX;
    c.model.scale_by_sigma = 1;
    c.model.sigma_input = NCSN_SIGMA_INPUT_LOG_SIGMA;
    c.sample.score = NCSN_SCORE_EXACT;
    c.sample.method = NCSN_SAMPLE_PLAIN;
    c.sample.denoise = 1;
    roundtrip(&c);

    char *text = ncsn_config_to_yaml(&c);
    ncsn_config d;
    ncsn_config_default(&d);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&d, text, "t", &err), 0);
    CHECK_BITS(d.train.lr, 1e-4);
    CHECK_BITS(d.noise.sigma_L, 0.1);
    CHECK_BITS(d.dataset.means[0], 0.1 + 0.2);
    CHECK_BITS(d.dataset.means[1], -0.0);
    CHECK_BITS(d.train.weight_decay, 1.0 / 3.0);
    CHECK_BITS(d.sample.high, 5e-324);
    CU_ASSERT(d.seed == UINT64_MAX);
    CU_ASSERT(d.train.steps == INT64_MAX);
    CU_ASSERT_EQUAL(d.dataset.std_scalar, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "seed: 18446744073709551615\n"));
    free(text);
    ncsn_config_free(&d);
    ncsn_config_free(&c);
}

static void test_yaml_auto_values(void) {
    ncsn_config c;
    ncsn_error err = {{0}};
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "noise.sigma_1=auto", &err), 0);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "noise.L=auto", &err), 0);
    c.noise.sigma_1 = 28.5; /* as the techniques resolve it */
    c.noise.L = 37;
    char *text = ncsn_config_to_yaml(&c);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  sigma_1: 28.5  # auto\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  L: 37  # auto\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  eps: 0.001\n"));
    /* reading it back gives the resolved numbers */
    ncsn_config d;
    ncsn_config_default(&d);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_load_string(&d, text, "t", &err), 0);
    CHECK_BITS(d.noise.sigma_1, 28.5);
    CU_ASSERT_EQUAL(d.noise.L, 37);
    CU_ASSERT_EQUAL(d.noise.sigma_1_auto, 0);
    CU_ASSERT_EQUAL(d.noise.L_auto, 0);
    free(text);
    ncsn_config_free(&d);
    ncsn_config_free(&c);
}

/* ------------------------------------------------------------------ copy, free, equal */

static void test_copy_and_free(void) {
    ncsn_config a, b, zero;
    ncsn_error err;
    memset(&zero, 0, sizeof zero);
    ncsn_config_default(&a);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&a, "dataset.std=[0.5, 2]", &err), 0);
    ncsn_config_copy(&b, &a);
    CU_ASSERT(ncsn_config_equal(&a, &b));
    CU_ASSERT_STRING_EQUAL(origin(&b, "dataset.std"), "--set");
    CU_ASSERT_PTR_NOT_EQUAL(a.dataset.weights, b.dataset.weights);
    CU_ASSERT_PTR_NOT_EQUAL(a.dataset.means, b.dataset.means);
    CU_ASSERT_PTR_NOT_EQUAL(a.dataset.std, b.dataset.std);
    b.dataset.means[0] = 99;
    b.dataset.weights[1] = 99;
    b.dataset.std[1] = 99;
    CHECK_BITS(a.dataset.means[0], -5.0);
    CHECK_BITS(a.dataset.weights[1], 0.05);
    CHECK_BITS(a.dataset.std[1], 2.0);
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    ncsn_config_free(&b);
    CU_ASSERT_EQUAL(memcmp(&b, &zero, sizeof b), 0);
    ncsn_config_free(&b); /* safe on zeroed */
    ncsn_config_free(NULL);
    /* copying a zeroed configuration */
    ncsn_config_copy(&b, &zero);
    CU_ASSERT_PTR_NULL(b.dataset.means);
    ncsn_config_free(&b);
    ncsn_config_free(&a);
    CU_ASSERT_EQUAL(memcmp(&a, &zero, sizeof a), 0);
}

static void test_equal_sees_every_difference(void) {
    ncsn_config a, b;
    ncsn_config_default(&a);
    ncsn_config_copy(&b, &a);
    b.origin[3] = "elsewhere:1"; /* origins do not count */
    CU_ASSERT(ncsn_config_equal(&a, &b));
    b.train.lr = nextafter(b.train.lr, 1);
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    b.train.lr = a.train.lr;
    b.sample.eps_auto = 1;
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    b.sample.eps_auto = 0;
    b.seed = 1;
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    b.seed = 0;
    b.sample.method = NCSN_SAMPLE_PLAIN;
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    b.sample.method = NCSN_SAMPLE_ANNEALED;
    b.dataset.means[3] = 5.5;
    CU_ASSERT(!ncsn_config_equal(&a, &b));
    b.dataset.means[3] = 5;
    CU_ASSERT(ncsn_config_equal(&a, &b));
    ncsn_config_free(&a);
    ncsn_config_free(&b);
}

/* ------------------------------------------------------------------ visitor */

typedef struct {
    int n;
    ncsn_config_value v[NCSN_MAX_KEYS];
    double reals[NCSN_MAX_KEYS]; /* first real, copied */
    int64_t ints[NCSN_MAX_KEYS];
    char strings[NCSN_MAX_KEYS][64];
    char origins[NCSN_MAX_KEYS][64];
} visited;

static void collect(const ncsn_config_value *v, void *user) {
    visited *s = user;
    CU_ASSERT_FATAL(s->n < NCSN_MAX_KEYS);
    s->v[s->n] = *v;
    if (v->reals) s->reals[s->n] = v->reals[0];
    if (v->ints) s->ints[s->n] = v->ints[0];
    if (v->string) snprintf(s->strings[s->n], 64, "%s", v->string);
    snprintf(s->origins[s->n], 64, "%s", v->origin);
    s->n++;
}

static void test_visit_order_and_shapes(void) {
    ncsn_config c;
    ncsn_error err;
    ncsn_config_default(&c);
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "noise.sigma_1=auto", &err), 0);
    c.noise.sigma_1 = 31.25; /* resolved */
    CU_ASSERT_EQUAL_FATAL(ncsn_config_set(&c, "seed=18446744073709551615", &err), 0);
    visited *s = calloc(1, sizeof *s);
    ncsn_config_visit(&c, collect, s);
    CU_ASSERT_EQUAL_FATAL(s->n, N_EXPECTED);
    for (int i = 0; i < N_EXPECTED; i++) {
        CU_ASSERT_STRING_EQUAL(s->v[i].key, expected_keys[i]);
        CU_ASSERT_STRING_EQUAL(s->origins[i], ncsn_config_origin(&c, i));
    }
#define AT_KEY(name) (ncsn_config_key_index(name))
    int i = AT_KEY("dataset.means");
    CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_REAL);
    CU_ASSERT_EQUAL(s->v[i].rows, 2);
    CU_ASSERT_EQUAL(s->v[i].cols, 2);
    CU_ASSERT_EQUAL(s->v[i].count, 4);
    CHECK_BITS(s->reals[i], -5.0);
    const char *lists[] = {"dataset.weights", "dataset.std"};
    for (int j = 0; j < 2; j++) {
        i = AT_KEY(lists[j]);
        CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_REAL);
        CU_ASSERT_EQUAL(s->v[i].count, 2);
        CU_ASSERT_EQUAL(s->v[i].rows, 2);
        CU_ASSERT_EQUAL(s->v[i].cols, 0);
    }
    i = AT_KEY("noise.sigma_1");
    CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_REAL);
    CU_ASSERT_EQUAL(s->v[i].count, 1);
    CU_ASSERT_EQUAL(s->v[i].rows, 0);
    CU_ASSERT_EQUAL(s->v[i].cols, 0);
    CHECK_BITS(s->reals[i], 31.25);
    CU_ASSERT_STRING_EQUAL(s->origins[i], "--set");
    i = AT_KEY("seed");
    CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_INT);
    CU_ASSERT_EQUAL(s->v[i].is_unsigned, 1);
    CU_ASSERT((uint64_t)s->ints[i] == UINT64_MAX);
    const char *strings[][2] = {{"dataset.name", "gmm"},
                                {"model.sigma_input", "sigma"},
                                {"sample.method", "annealed"},
                                {"sample.score", "model"}};
    for (int j = 0; j < 4; j++) {
        i = AT_KEY(strings[j][0]);
        CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_STRING);
        CU_ASSERT_STRING_EQUAL(s->strings[i], strings[j][1]);
    }
    i = AT_KEY("model.scale_by_sigma");
    CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_BOOL);
    CU_ASSERT_EQUAL(s->ints[i], 0);
    i = AT_KEY("sample.denoise");
    CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_BOOL);
    const char *ints[][2] = {{"dataset.n", "1000"}, {"model.emb", "16"},   {"model.hidden", "128"},
                             {"train.steps", "30000"}, {"train.batch", "128"},
                             {"train.log_every", "100"}, {"noise.L", "100"},
                             {"sample.n", "5000"},   {"sample.T", "1000"}};
    for (int j = 0; j < 9; j++) {
        i = AT_KEY(ints[j][0]);
        CU_ASSERT_EQUAL(s->v[i].type, NCSN_VALUE_INT);
        CU_ASSERT_EQUAL(s->v[i].is_unsigned, 0);
        CU_ASSERT_EQUAL(s->ints[i], atoll(ints[j][1]));
    }
    const char *reals[] = {"train.lr", "train.weight_decay", "train.ema", "noise.sigma_L",
                           "sample.eps", "sample.low", "sample.high"};
    for (int j = 0; j < 7; j++) CU_ASSERT_EQUAL(s->v[AT_KEY(reals[j])].type, NCSN_VALUE_REAL);
#undef AT_KEY
    free(s);
    ncsn_config_free(&c);
}

static const ncsn_test_case defaults_and_keys_tests[] = {
    {"defaults are the notebook's experiment", test_defaults_are_the_notebook},
    {"key names and indices", test_key_names_and_indices},
    {NULL},
};

static const ncsn_test_case files_tests[] = {
    {"a file overrides some keys", test_file_overrides_some_keys},
    {"dotted keys at the top level", test_dotted_keys_at_top_level},
    {"empty files are valid", test_empty_files_are_valid},
    {"missing file", test_missing_file},
    {"file errors name path and line", test_file_error_names_path_and_line},
    {"one std follows K", test_std_scalar_follows_k},
    {"auto values", test_auto_values},
    {"integers and booleans accepted", test_integers_and_booleans_accepted},
    {NULL},
};

static const ncsn_test_case errors_tests[] = {
    {"syntax errors", test_syntax_errors},
    {"tabs", test_tabs},
    {"unknown keys", test_unknown_keys},
    {"duplicate keys", test_duplicate_keys},
    {"wrong types", test_wrong_types},
    {"impossible values", test_impossible_values_in_files},
    {"lists", test_list_errors},
    {NULL},
};

static const ncsn_test_case set_tests[] = {
    {"scalars, lists, auto", test_set_values},
    {"errors", test_set_errors},
    {NULL},
};

static const ncsn_test_case validation_tests[] = {
    {"rules between keys name the origin", test_validation_names_the_origin},
    {"each key's range", test_validation_of_each_key},
    {NULL},
};

static const ncsn_test_case yaml_output_tests[] = {
    {"defaults round trip", test_yaml_roundtrip_defaults},
    {"results YAML: all but the checkpoint intervals", test_results_yaml},
    {"origins interned and shared by copies", test_origins_interned},
    {"YAML nesting depth", test_yaml_depth},
    {"doubles round trip bit for bit", test_yaml_roundtrip_exact_doubles},
    {"auto values print their number", test_yaml_auto_values},
    {NULL},
};

static const ncsn_test_case copy_free_equal_visit_tests[] = {
    {"copy and free", test_copy_and_free},
    {"equal sees every difference", test_equal_sees_every_difference},
    {"visit order and shapes", test_visit_order_and_shapes},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("config: defaults and keys", defaults_and_keys_tests);
    ncsn_test_suite("config: files", files_tests);
    ncsn_test_suite("config: errors", errors_tests);
    ncsn_test_suite("config: --set", set_tests);
    ncsn_test_suite("config: validation", validation_tests);
    ncsn_test_suite("config: YAML output", yaml_output_tests);
    ncsn_test_suite("config: copy, free, equal, visit", copy_free_equal_visit_tests);
}
