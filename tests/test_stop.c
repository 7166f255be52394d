/* test_stop.c: the stop flag (common.h): signals set it, the training loop, the sampler
 * and ncsn_run stop on it without writing anything, and a run after the flag is cleared
 * is the same as one that never saw it. */
#include <signal.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/run.h"
#include "ncsn/sample.h"

static void test_flag_by_hand(void) {
    ncsn_stop_reset();
    CU_ASSERT(!ncsn_stop_requested());
    CU_ASSERT(ncsn_stop_signal() == 0);
    ncsn_stop_request(SIGUSR1);
    ncsn_stop_request(SIGTERM); /* the first signal is the one reported */
    CU_ASSERT(ncsn_stop_requested());
    CU_ASSERT(ncsn_stop_signal() == SIGUSR1);
    ncsn_error err = {{0}};
    CU_ASSERT(ncsn_stop_error(&err) == NCSN_EXIT_INTERRUPTED);
    CU_ASSERT(strstr(err.msg, "SIGUSR1") != NULL);
    ncsn_stop_reset();
    CU_ASSERT(!ncsn_stop_requested());
}

static void test_signals_set_the_flag(void) {
    signal(SIGINT, SIG_DFL); /* install keeps an inherited SIG_IGN (background jobs) */
    ncsn_stop_install();
    const int sigs[3] = {SIGUSR1, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        ncsn_stop_reset();
        CU_ASSERT(raise(sigs[i]) == 0); /* the process survives: the handler only sets it */
        CU_ASSERT(ncsn_stop_requested());
        CU_ASSERT(ncsn_stop_signal() == sigs[i]);
    }
    ncsn_stop_reset();
    signal(SIGUSR1, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

static void small_config(ncsn_config *c) {
    ncsn_fix_config_valid(c, SETS("dataset.n=200", "train.steps=50", "train.batch=32",
                                  "noise.L=5", "sample.n=64", "sample.T=5"));
}

static void test_train_and_sample_stop(void) {
    ncsn_config c;
    small_config(&c);
    const int D = 2, n = 200;
    float *x = calloc((size_t)n * D, sizeof(float));
    double sigmas[5] = {10, 5, 2, 1, 0.5};
    ncsn_model m;
    ncsn_model_alloc(&m, D, c.model.emb, c.model.hidden, c.model.sigma_input,
                     c.model.scale_by_sigma);
    ncsn_model_init_params(&m, ncsn_rng_key(1, 0, NCSN_RNG_INIT));
    ncsn_train_log log;
    ncsn_stop_request(SIGUSR1);
    CU_ASSERT(ncsn_train(&c, 0, sigmas, 5, x, n, &m, NULL, &log, NULL, NULL) == 2);
    CU_ASSERT(log.n == 0); /* stopped before the first step */
    ncsn_train_log_free(&log);

    ncsn_sampler s = {NCSN_SAMPLE_ANNEALED, 5, 1e-3, 0, sigmas, 5};
    ncsn_score_fn score = {&m, NULL};
    CU_ASSERT(ncsn_sample(&s, score, ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE), x, 64, D, NULL,
                          NULL) == 1);
    ncsn_stop_reset();
    CU_ASSERT(ncsn_sample(&s, score, ncsn_rng_key(1, 0, NCSN_RNG_SAMPLE_NOISE), x, 64, D, NULL,
                          NULL) == 0);
    ncsn_model_free(&m);
    free(x);
    ncsn_config_free(&c);
}

static void test_run_writes_nothing(void) {
    ncsn_config c;
    small_config(&c);
    char path[1024];
    ncsn_fix_path(path, sizeof path, "stopped.h5");
    ncsn_run_options opt = {1, NULL, NULL, NULL, NULL, NULL, NULL};
    ncsn_error err = {{0}};
    ncsn_stop_request(SIGTERM);
    CU_ASSERT(ncsn_run(&c, path, &opt, &err) == NCSN_EXIT_INTERRUPTED);
    CU_ASSERT(strstr(err.msg, "SIGTERM") != NULL);
    CU_ASSERT(!ncsn_fix_exists(path));
    ncsn_stop_reset();
    CU_ASSERT(ncsn_run(&c, path, &opt, &err) == NCSN_EXIT_OK);
    CU_ASSERT(ncsn_fix_exists(path));
    ncsn_config_free(&c);
}

static const ncsn_test_case tests[] = {
    {"the flag by hand; the first signal is kept", test_flag_by_hand},
    {"SIGUSR1, SIGTERM, SIGINT set the flag", test_signals_set_the_flag},
    {"training and sampling stop on the flag", test_train_and_sample_stop},
    {"ncsn_run returns 3 and writes nothing", test_run_writes_nothing},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("stop", tests);
}
