/* test_checkpoint.c: checkpoints (io.h, run.h). A run stopped part-way and resumed from
 * its checkpoint computes exactly what an uninterrupted run computes: the training loop in
 * pieces with a checkpoint file between them, the sampler in pieces, and ncsn_run resuming
 * from a checkpoint or writing periodic ones. A checkpoint of another configuration, a
 * damaged or truncated one, or one with values out of range is refused. */
#define _GNU_SOURCE /* memmem */
#include <hdf5.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/noise.h"
#include "ncsn/run.h"
#include "ncsn/sample.h"

/* A small run: 200 points, batches of 64 (an epoch is 4 steps, the last one of 8
 * examples), EMA on, 300 steps. */
static void small_config(ncsn_config *c) {
    ncsn_fix_config_valid(c, SETS("dataset.n=200", "train.steps=300", "train.batch=64",
                                  "train.ema=0.9", "train.log_every=7", "noise.L=6",
                                  "sample.n=100", "sample.T=20", "sample.denoise=true",
                                  "sample.max_bad_fraction=1", /* resuming, not quality */
                                  "train.snapshot_every=50")); /* snapshots resume too */
}

/* What ncsn_run sets up before training: data, levels, the initial weights. */
typedef struct {
    ncsn_dataset ds;
    float *x;       /* (dataset.n, D) */
    double *sigmas; /* (L) */
    ncsn_model model, ema;
    uint32_t id;    /* the training key's id, as ncsn_run's plan has it */
} setup;

static void setup_init(setup *s, const ncsn_config *c) {
    memset(s, 0, sizeof *s);
    ncsn_error err;
    CU_ASSERT_FATAL(ncsn_training_set(c, &s->ds, &s->x, &err) == 0);
    ncsn_plan p;
    CU_ASSERT_FATAL(ncsn_plan_make(&p, c, &err) == 0);
    s->id = p.train_id;
    ncsn_plan_free(&p);
    s->sigmas = malloc(sizeof(double) * (size_t)c->noise.L);
    ncsn_noise_levels(c->noise.sigma_1, c->noise.sigma_L, c->noise.L, s->sigmas);
    ncsn_model_alloc(&s->model, 2, c->model.emb, c->model.hidden, c->model.sigma_input,
                     c->model.scale_by_sigma);
    ncsn_model_init_params(&s->model, ncsn_rng_key(c->seed, s->id, NCSN_RNG_INIT));
}

static void setup_free(setup *s) {
    ncsn_model_free(&s->ema);
    ncsn_model_free(&s->model);
    free(s->sigmas);
    free(s->x);
    ncsn_dataset_free(&s->ds);
}

static int same_floats(const float *a, const float *b, size_t n) {
    return memcmp(a, b, sizeof(float) * n) == 0;
}

/* Trains `at` steps and writes the trainer's checkpoint to path. */
static void checkpoint_at(const ncsn_config *c, int64_t at, const char *path) {
    setup s;
    setup_init(&s, c);
    ncsn_trainer t;
    ncsn_trainer_init(&t, c, s.id, s.sigmas, c->noise.L, s.x, c->dataset.n, &s.model, &s.ema);
    CU_ASSERT(ncsn_trainer_run(&t, at, NULL, NULL) == 0);
    CU_ASSERT(t.step == at);
    ncsn_checkpoint ck;
    ncsn_trainer_checkpoint(&t, &ck);
    ncsn_error err = {{0}};
    CU_ASSERT(ncsn_checkpoint_write(path, c, &ck, &err) == 0);
    ncsn_train_log_free(&t.log);
    ncsn_trainer_free(&t);
    setup_free(&s);
}

/* Trained in one go, and in two pieces through a checkpoint file at a step inside an
 * epoch (77 = 19 epochs + 1 step): the same weights, EMA, moments and loss history. */
static void test_trainer_pieces(void) {
    ncsn_config c;
    small_config(&c);
    setup ref;
    setup_init(&ref, &c);
    ncsn_train_log log;
    CU_ASSERT_FATAL(ncsn_train(&c, ref.id, ref.sigmas, c.noise.L, ref.x, c.dataset.n, &ref.model,
                               &ref.ema, &log, NULL, NULL) == 0);

    char path[1024];
    ncsn_fix_path(path, sizeof path, "pieces.ckpt");
    checkpoint_at(&c, 77, path);

    setup s;
    setup_init(&s, &c);
    ncsn_model_init_params(&s.model, ncsn_rng_key(99, 0, NCSN_RNG_INIT)); /* overwritten */
    ncsn_checkpoint ck;
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_checkpoint_read(path, &c, s.model.n_params, &ck, &err) == 0);
    CU_ASSERT(ck.phase == NCSN_CHECKPOINT_TRAIN);
    CU_ASSERT(ck.step == 77 && ck.adam_t == 77 && ck.epoch == 20 && ck.pos == 64);
    CU_ASSERT(ck.steps == 300 && ck.levels == 6);
    double train_done = -1, sample_done = -1;
    CU_ASSERT(ncsn_checkpoint_progress(path, &train_done, &sample_done) == 0);
    NCSN_CHECK_CLOSE(train_done, 77.0 / 300.0, 1e-12);
    NCSN_CHECK_CLOSE(sample_done, 0, 0);
    CU_ASSERT(ck.n_loss == 11); /* steps 7, 14, ..., 77 */
    ncsn_trainer t;
    ncsn_trainer_init(&t, &c, s.id, s.sigmas, c.noise.L, s.x, c.dataset.n, &s.model, &s.ema);
    ncsn_trainer_restore(&t, &ck);
    ncsn_checkpoint_free(&ck);
    CU_ASSERT(ncsn_trainer_run(&t, c.train.steps, NULL, NULL) == 0);
    CU_ASSERT(same_floats(s.model.params, ref.model.params, ref.model.n_params));
    CU_ASSERT(same_floats(s.ema.params, ref.ema.params, ref.ema.n_params));
    CU_ASSERT_EQUAL(t.log.n, log.n);
    if (t.log.n == log.n) {
        CU_ASSERT(memcmp(t.log.step, log.step, sizeof(int64_t) * (size_t)log.n) == 0);
        CU_ASSERT(same_floats(t.log.loss, log.loss, (size_t)log.n));
    }
    CU_ASSERT(t.log.final_loss == log.final_loss);
    ncsn_train_log_free(&t.log);
    ncsn_trainer_free(&t);
    ncsn_train_log_free(&log);
    setup_free(&s);
    setup_free(&ref);
    ncsn_config_free(&c);
}

/* The sampler in one call and in pieces (levels [0, 2), [2, 2), [2, L)): the same chains,
 * denoising included; the plain sampler (one level) likewise. */
static void test_sampler_pieces(void) {
    ncsn_config c;
    small_config(&c);
    setup s;
    setup_init(&s, &c);
    const int n = 300, D = 2;
    float *a = malloc(sizeof(float) * n * D), *b = malloc(sizeof(float) * n * D);
    const ncsn_key k_start = ncsn_rng_key(4, 0, NCSN_RNG_SAMPLE_START);
    const ncsn_key k_noise = ncsn_rng_key(4, 0, NCSN_RNG_SAMPLE_NOISE);
    ncsn_score_fn score = {&s.model, NULL};
    for (int method = 0; method < 2; method++) {
        ncsn_sampler sm = {method ? NCSN_SAMPLE_PLAIN : NCSN_SAMPLE_ANNEALED, 30, 1e-3, 1,
                           s.sigmas, c.noise.L};
        const int levels = ncsn_sampler_levels(&sm);
        CU_ASSERT_EQUAL(levels, method ? 1 : c.noise.L);
        ncsn_sampler_start(k_start, n, D, -8, 8, a);
        memcpy(b, a, sizeof(float) * n * D);
        CU_ASSERT(ncsn_sample(&sm, score, k_noise, a, n, D, NULL, NULL) == 0);
        const int cut = method ? 0 : 2;
        int done = -1;
        CU_ASSERT(ncsn_sample_levels(&sm, score, k_noise, b, n, D, 0, cut, &done, NULL, NULL) == 0);
        CU_ASSERT_EQUAL(done, cut);
        CU_ASSERT(ncsn_sample_levels(&sm, score, k_noise, b, n, D, cut, cut, &done, NULL,
                                     NULL) == 0);
        CU_ASSERT(ncsn_sample_levels(&sm, score, k_noise, b, n, D, cut, levels, &done, NULL,
                                     NULL) == 0);
        CU_ASSERT_EQUAL(done, levels);
        CU_ASSERT(same_floats(a, b, (size_t)n * D));
    }
    free(a);
    free(b);
    setup_free(&s);
    ncsn_config_free(&c);
}

static int read_fails(const char *path, const ncsn_config *c, size_t n_params,
                      const char *expect) {
    ncsn_checkpoint ck;
    ncsn_error err = {{0}};
    int rc = ncsn_checkpoint_read(path, c, n_params, &ck, &err);
    if (rc == 0) {
        ncsn_checkpoint_free(&ck);
        fprintf(stderr, "\n  %s was accepted\n", path);
        return 0;
    }
    if (!strstr(err.msg, expect)) {
        fprintf(stderr, "\n  %s: message \"%s\" lacks \"%s\"\n", path, err.msg, expect);
        return 0;
    }
    CU_ASSERT(ck.model == NULL && ck.loss == NULL); /* nothing left allocated */
    return 1;
}

/* Refused: another configuration, a flipped byte in the weights (their checksum), a
 * truncated file, a step beyond train.steps. Accepted: other checkpoint intervals. */
static void test_refused(void) {
    ncsn_config c;
    small_config(&c);
    c.train.snapshot_every = 0; /* the hand-built checkpoints below hold no snapshots */
    setup s;
    setup_init(&s, &c);
    const size_t np = s.model.n_params;
    char path[1024], bad[1024];
    ncsn_fix_path(path, sizeof path, "good.ckpt");
    checkpoint_at(&c, 50, path);

    ncsn_config other;
    ncsn_config_copy(&other, &c);
    ncsn_error err;
    CU_ASSERT_FATAL(ncsn_config_set(&other, "train.lr=0.002", &err) == 0);
    CU_ASSERT(read_fails(path, &other, np, "different configuration"));
    ncsn_config_free(&other);
    ncsn_config_copy(&other, &c);
    CU_ASSERT_FATAL(ncsn_config_set(&other, "train.checkpoint_every=10", &err) == 0);
    ncsn_checkpoint ck;
    CU_ASSERT(ncsn_checkpoint_read(path, &other, np, &ck, &err) == 0);
    const float first = ck.model[0];
    ncsn_checkpoint_free(&ck);
    ncsn_config_free(&other);

    /* one byte of the stored weights flipped: find them by their bytes */
    size_t size;
    char *buf = ncsn_fix_read_file(path, &size);
    setup t;
    setup_init(&t, &c);
    char *at = memmem(buf, size, &first, sizeof first);
    CU_ASSERT_FATAL(at != NULL);
    at[1] ^= 0x40;
    ncsn_fix_write_file(ncsn_fix_path(bad, sizeof bad, "flipped.ckpt"), buf, size);
    CU_ASSERT(read_fails(bad, &c, np, "Fletcher32 checksum"));
    at[1] ^= 0x40;
    ncsn_fix_write_file(ncsn_fix_path(bad, sizeof bad, "half.ckpt"), buf, size / 2);
    CU_ASSERT(read_fails(bad, &c, np, "half.ckpt"));
    free(buf);
    setup_free(&t);

    /* a checkpoint claiming more steps than the run has */
    CU_ASSERT_FATAL(ncsn_checkpoint_read(path, &c, np, &ck, &err) == 0);
    ck.step = ck.adam_t = c.train.steps + 1;
    ncsn_fix_path(bad, sizeof bad, "range.ckpt");
    CU_ASSERT(ncsn_checkpoint_write(bad, &c, &ck, &err) == 0);
    ncsn_checkpoint_free(&ck);
    CU_ASSERT(read_fails(bad, &c, np, "out of range"));
    CU_ASSERT(read_fails(path, &c, np + 1, "shape")); /* another model size */
    double train_done, sample_done;
    CU_ASSERT(ncsn_checkpoint_progress(ncsn_fix_path(bad, sizeof bad, "half.ckpt"), &train_done,
                                       &sample_done) == -1);

    /* a sampling checkpoint after 4 of 6 levels: its progress, and read back whole */
    float *chains = calloc((size_t)c.sample.n * 2, sizeof(float));
    const ncsn_checkpoint sck = {.phase = NCSN_CHECKPOINT_SAMPLE, .step = c.train.steps,
                                 .adam_t = c.train.steps, .level = 4, .steps = c.train.steps,
                                 .levels = c.noise.L, .n_params = np, .model = s.model.params,
                                 .samples = chains, .n = c.sample.n, .D = 2};
    ncsn_fix_path(bad, sizeof bad, "sampling.ckpt");
    CU_ASSERT(ncsn_checkpoint_write(bad, &c, &sck, &err) == 0);
    CU_ASSERT(ncsn_checkpoint_progress(bad, &train_done, &sample_done) == 0);
    NCSN_CHECK_CLOSE(train_done, 1, 0);
    NCSN_CHECK_CLOSE(sample_done, 4.0 / 6.0, 1e-12);
    CU_ASSERT(ncsn_checkpoint_read(bad, &c, np, &ck, &err) == 0);
    CU_ASSERT(ck.phase == NCSN_CHECKPOINT_SAMPLE && ck.level == 4 && ck.samples != NULL);
    ncsn_checkpoint_free(&ck);
    free(chains);
    setup_free(&s);
    ncsn_config_free(&c);
}

/* /samples and the model's first layer of a run file, for comparisons. */
static float *read_samples(const char *path, size_t n) {
    float *x = malloc(sizeof(float) * n);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t d = H5Dopen2(f, "/samples", H5P_DEFAULT);
    CU_ASSERT(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    return x;
}

static int same_run_files(const char *a, const char *b, const ncsn_config *c) {
    ncsn_run_input ia, ib;
    ncsn_error err;
    if (ncsn_run_file_read(a, &ia, &err) != 0 || ncsn_run_file_read(b, &ib, &err) != 0) {
        fprintf(stderr, "\n  %s\n", err.msg);
        return 0;
    }
    const size_t n = (size_t)c->sample.n * 2;
    float *xa = read_samples(a, n), *xb = read_samples(b, n);
    int same = same_floats(xa, xb, n) &&
               same_floats(ia.model.params, ib.model.params, ia.model.n_params) &&
               ia.n_loss == ib.n_loss && same_floats(ia.loss, ib.loss, (size_t)ia.n_loss) &&
               ia.final_loss == ib.final_loss;
    free(xa);
    free(xb);
    ncsn_run_input_free(&ia);
    ncsn_run_input_free(&ib);
    return same;
}

/* ncsn_run: resuming from a checkpoint at step 77, ignoring a damaged one, and writing
 * periodic ones (train every 40 steps, sample every 2 levels) all give the run file of an
 * uninterrupted run; the checkpoint is gone once the run file is written. */
static void test_run_resumes(void) {
    ncsn_config c;
    small_config(&c);
    char ref[1024], out[1024], ckpt[1024];
    ncsn_fix_path(ref, sizeof ref, "ref.h5");
    ncsn_fix_path(out, sizeof out, "out.h5");
    ncsn_fix_path(ckpt, sizeof ckpt, "run.ckpt");
    ncsn_run_options opt = {1, NULL, NULL, NULL, NULL, NULL, NULL};
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_run(&c, ref, &opt, &err) == NCSN_EXIT_OK);

    opt.checkpoint = ckpt;
    checkpoint_at(&c, 77, ckpt);
    CU_ASSERT(ncsn_run(&c, out, &opt, &err) == NCSN_EXIT_OK);
    CU_ASSERT(same_run_files(ref, out, &c));
    CU_ASSERT(!ncsn_fix_exists(ckpt));

    ncsn_fix_write_file(ckpt, "not a checkpoint", 16);
    CU_ASSERT(ncsn_run(&c, out, &opt, &err) == NCSN_EXIT_OK);
    CU_ASSERT(same_run_files(ref, out, &c));
    CU_ASSERT(!ncsn_fix_exists(ckpt));

    ncsn_config periodic;
    ncsn_config_copy(&periodic, &c);
    CU_ASSERT_FATAL(ncsn_config_set(&periodic, "train.checkpoint_every=40", &err) == 0);
    CU_ASSERT_FATAL(ncsn_config_set(&periodic, "sample.checkpoint_every=2", &err) == 0);
    CU_ASSERT(ncsn_run(&periodic, out, &opt, &err) == NCSN_EXIT_OK);
    CU_ASSERT(same_run_files(ref, out, &c));
    CU_ASSERT(!ncsn_fix_exists(ckpt));
    ncsn_config_free(&periodic);
    ncsn_config_free(&c);
}

static const ncsn_test_case tests[] = {
    {"training in pieces through a checkpoint file", test_trainer_pieces},
    {"sampling in pieces", test_sampler_pieces},
    {"refused: other config, flipped byte, truncated, out of range", test_refused},
    {"ncsn_run resumes, ignores a damaged one, periodic checkpoints", test_run_resumes},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("checkpoint", tests);
}
