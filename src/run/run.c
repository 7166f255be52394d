/* run/run.c: one run end to end (see run.h): the data set, "auto" values, training,
 * sampling, the metrics of SPEC.md section 7, and the run file. */
#include "ncsn/run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "ncsn/dataset.h"
#include "ncsn/io.h"
#include "ncsn/metrics.h"
#include "ncsn/model.h"
#include "ncsn/noise.h"
#include "ncsn/sample.h"
#include "ncsn/techniques.h"
#include "ncsn/train.h"

void ncsn_progress_stderr(const char *phase, int64_t done, int64_t total, double rate,
                          const char *extra, void *user) {
    FILE *out = user ? (FILE *)user : stderr;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    const int train = strcmp(phase, "train") == 0;
    int tty = isatty(fileno(out));
    fprintf(out, "%s%s %s=%lld/%lld %s rate=%.4g %s eta=%.1fs%s", tty ? "\r\033[K" : "", phase,
            train ? "step" : "level", (long long)done, (long long)total, extra ? extra : "",
            rate, train ? "steps/s" : "levels/s", eta, (tty && done < total) ? "" : "\n");
    fflush(out);
}

static ncsn_progress_fn progress_of(const ncsn_run_options *opt) {
    if (opt->quiet) return NULL;
    return opt->progress ? opt->progress : ncsn_progress_stderr;
}

int ncsn_training_set(const ncsn_config *c, uint32_t config_index, ncsn_dataset *ds,
                      float **x, ncsn_error *err) {
    *x = NULL;
    if (ncsn_dataset_open(ds, c, err) != 0) return -1;
    ncsn_dataset_training_points(ds, c, config_index, x);
    return 0;
}

/* dataset.dim "auto" that only the data could tell (a file's D) becomes that number, so
 * that the run file's configuration says it; where the configuration itself derives it
 * (the mixture's means, the toys' 2) it stays "auto". */
static void resolve_dim(ncsn_config *c, const ncsn_dataset *ds) {
    if (c->dataset.dim_auto && c->dataset.dim != ds->D) c->dataset.dim_auto = 0;
    c->dataset.dim = ds->D;
}

/* Where sigma_1, L and eps of a resampled run came from: the technique that gave the
 * trained run's value when c still has that value, else c's own. */
static const char *carried_source(const char *own, const char *old_source, int same) {
    return strcmp(own, "explicit") == 0 && same && old_source[0] ? old_source : own;
}

/* What sampling, measuring and writing need, whether or not this process trained. */
typedef struct {
    const ncsn_config *cfg;
    const ncsn_dataset *ds;
    const ncsn_model *model;   /* the weights to sample with and to store */
    const double *sigmas;
    int L;
    const int64_t *loss_step;
    const float *loss;
    int n_loss;
    double final_loss, train_seconds;
    int diverged;              /* training diverged: skip sampling */
    const char *sources[3];    /* provenance of sigma_1, L, eps; NULL: cfg's auto flags */
    const ncsn_checkpoint *resume; /* a phase "sample" checkpoint to continue, or NULL */
} sample_job;

/* A note for the user: to the run's log, or stderr. */
static void note(const ncsn_run_options *opt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(const ncsn_run_options *opt, const char *fmt, ...) {
    if (opt->quiet) return;
    FILE *out = opt->log ? opt->log : stderr;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

/* Writes ck to opt->checkpoint (when set). A failure is reported and the run goes on:
 * the checkpoint is a safeguard, not a result. Returns 0 when written. */
static int save_checkpoint(const ncsn_run_options *opt, const ncsn_config *c,
                           const ncsn_checkpoint *ck) {
    if (!opt->checkpoint) return -1;
    ncsn_error err;
    if (ncsn_checkpoint_write(opt->checkpoint, c, ck, &err) == 0) return 0;
    FILE *out = opt->log ? opt->log : stderr;
    fprintf(out, "ncsn: warning: no checkpoint written: %s\n", err.msg);
    fflush(out);
    return -1;
}

/* err for a run stopped by a signal, saying where its state went. */
static int stopped(const ncsn_run_options *opt, int saved, const char *where, ncsn_error *err) {
    if (!saved) return ncsn_stop_error(err);
    ncsn_seterr(err, "interrupted by %s at %s; its state is in %.3000s and the same command "
                "resumes from there", ncsn_stop_signal_name(), where, opt->checkpoint);
    return NCSN_EXIT_INTERRUPTED;
}

/* The sampling-phase checkpoint of job after `level` levels with chains x. */
static int save_sample_checkpoint(const sample_job *job, const ncsn_run_options *opt,
                                  const float *x, int level, double sample_seconds) {
    const ncsn_config *c = job->cfg;
    const ncsn_checkpoint ck = {.phase = NCSN_CHECKPOINT_SAMPLE,
                                .step = c->train.steps,
                                .adam_t = c->train.steps,
                                .level = level,
                                .steps = c->train.steps,
                                .levels = ncsn_config_sampler_levels(c),
                                .train_seconds = job->train_seconds,
                                .sample_seconds = sample_seconds,
                                .final_loss = job->final_loss,
                                .n_params = job->model->n_params,
                                .model = job->model->params,
                                .loss_step = (int64_t *)job->loss_step,
                                .loss = (float *)job->loss,
                                .n_loss = job->n_loss,
                                .samples = (float *)x,
                                .n = c->sample.n,
                                .D = c->dataset.dim};
    return save_checkpoint(opt, c, &ck);
}

static int sample_measure_write(const sample_job *job, const char *out_path,
                                const ncsn_run_options *opt, ncsn_error *err) {
    const ncsn_config *c = job->cfg;
    const int n = c->sample.n, D = c->dataset.dim;
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * (size_t)D);
    double t0 = ncsn_now(), seconds_before = 0;
    if (job->diverged) {
        for (size_t j = 0; j < (size_t)n * D; j++) x[j] = NAN;
    } else {
        ncsn_sampler s = {c->sample.method, c->sample.T, c->sample.eps, c->sample.denoise,
                          job->sigmas, job->L};
        ncsn_score_fn score = {c->sample.score == NCSN_SCORE_MODEL ? job->model : NULL,
                               job->ds->exact};
        const ncsn_key key = ncsn_rng_key(c->seed, opt->config_index, NCSN_RNG_SAMPLE_NOISE);
        const int n_levels = ncsn_sampler_levels(&s), every = c->sample.checkpoint_every;
        int done = 0;
        if (job->resume) { /* the chains after job->resume->level levels */
            memcpy(x, job->resume->samples, sizeof(float) * (size_t)n * (size_t)D);
            done = job->resume->level;
            seconds_before = job->resume->sample_seconds;
        } else {
            ncsn_sampler_start(ncsn_rng_key(c->seed, opt->config_index, NCSN_RNG_SAMPLE_START),
                               n, D, c->sample.low, c->sample.high, x);
        }
        while (done < n_levels) {
            int to = every > 0 ? (done / every + 1) * every : n_levels;
            if (to > n_levels) to = n_levels;
            if (ncsn_sample_levels(&s, score, key, x, n, D, done, to, &done, progress_of(opt),
                                   opt->progress_user) != 0) {
                /* a stop signal: no run file; the chains so far go to the checkpoint */
                int saved = save_sample_checkpoint(job, opt, x, done,
                                                   seconds_before + ncsn_now() - t0) == 0;
                free(x);
                char where[64];
                snprintf(where, sizeof where, "sampling level %d of %d", done, n_levels);
                return stopped(opt, saved, where, err);
            }
            if (every > 0 && done < n_levels)
                save_sample_checkpoint(job, opt, x, done, seconds_before + ncsn_now() - t0);
        }
    }
    double sample_seconds = seconds_before + ncsn_now() - t0;

    ncsn_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    ncsn_metrics_compute_dataset(job->ds, job->model, job->sigmas, job->L, x, n, c->seed,
                                 &metrics);
    metrics.final_loss = job->final_loss;
    metrics.train_seconds = job->train_seconds;
    metrics.sample_seconds = sample_seconds;

    const char *status = "complete";
    if (job->diverged) status = "diverged";
    else if (metrics.n_nonfinite > 0) status = "nonfinite_samples";
    ncsn_run_output out = {c, job->model, job->sigmas, job->L, x, n, D, job->loss_step,
                           job->loss, job->n_loss, &metrics, status, job->sources[0],
                           job->sources[1], job->sources[2]};
    int rc = NCSN_EXIT_OK;
    if (ncsn_run_file_write(out_path, &out, err) != 0) {
        rc = NCSN_EXIT_RUNTIME; /* a checkpoint stays: the same command resumes from it */
    } else if (opt->checkpoint && unlink(opt->checkpoint) != 0 && errno != ENOENT) {
        note(opt, "ncsn: warning: cannot remove the checkpoint %s (%s)", opt->checkpoint,
             strerror(errno));
    }
    if (rc != NCSN_EXIT_OK) {
    } else if (job->diverged) {
        ncsn_seterr(err, "training diverged: the loss became non-finite at step %lld; %s "
                    "records status \"diverged\" (try a smaller train.lr)",
                    (long long)job->loss_step[job->n_loss - 1], out_path);
        rc = NCSN_EXIT_RUNTIME;
    } else if (metrics.n_nonfinite > 0) {
        ncsn_seterr(err, "%lld of %d samples are not finite (sample.eps %g is too large for "
                    "this sampler?); %s records status \"nonfinite_samples\"",
                    (long long)metrics.n_nonfinite, n, c->sample.eps, out_path);
        rc = NCSN_EXIT_RUNTIME;
    } else if (!opt->quiet) {
        fprintf(opt->log ? opt->log : stderr, "done out=%s mmd2=%.4g swd=%.4g mode_weight_error=%.4g "
                "final_loss=%.4f train_seconds=%.2f sample_seconds=%.2f\n", out_path,
                metrics.mmd2, metrics.swd, metrics.mode_weight_error, metrics.final_loss,
                metrics.train_seconds, metrics.sample_seconds);
    }
    ncsn_metrics_free(&metrics);
    free(x);
    return rc;
}

void ncsn_trainer_checkpoint(const ncsn_trainer *t, ncsn_checkpoint *ck) {
    const ncsn_checkpoint c = {.phase = NCSN_CHECKPOINT_TRAIN,
                               .step = t->step,
                               .epoch = t->epoch,
                               .pos = t->pos,
                               .adam_t = t->adam.t,
                               .steps = t->cfg->train.steps,
                               .levels = ncsn_config_sampler_levels(t->cfg),
                               .train_seconds = t->log.seconds,
                               .final_loss = t->log.final_loss,
                               .n_params = t->model->n_params,
                               .model = t->model->params,
                               .ema = t->ema ? t->ema->params : NULL,
                               .adam_m = t->adam.m,
                               .adam_v = t->adam.v,
                               .loss_step = t->log.step,
                               .loss = t->log.loss,
                               .n_loss = t->log.n};
    *ck = c;
}

static int save_train_checkpoint(const ncsn_trainer *t, const ncsn_run_options *opt) {
    ncsn_checkpoint ck;
    ncsn_trainer_checkpoint(t, &ck);
    return save_checkpoint(opt, t->cfg, &ck);
}

void ncsn_trainer_restore(ncsn_trainer *t, ncsn_checkpoint *ck) {
    NCSN_ASSERT(ck->phase == NCSN_CHECKPOINT_TRAIN && ck->n_params == t->model->n_params);
    NCSN_ASSERT(!t->ema || ck->ema);
    const size_t bytes = sizeof(float) * t->model->n_params;
    memcpy(t->model->params, ck->model, bytes);
    if (t->ema) memcpy(t->ema->params, ck->ema, bytes);
    memcpy(t->adam.m, ck->adam_m, bytes);
    memcpy(t->adam.v, ck->adam_v, bytes);
    t->adam.t = ck->adam_t;
    free(t->log.step);
    free(t->log.loss);
    t->log.step = ck->loss_step;
    t->log.loss = ck->loss;
    t->log.n = t->log.cap = ck->n_loss;
    ck->loss_step = NULL;
    ck->loss = NULL;
    t->log.seconds = ck->train_seconds;
    t->log.final_loss = ck->final_loss;
    ncsn_trainer_resume(t, ck->step, ck->epoch, ck->pos);
}

/* Trains in pieces of train.checkpoint_every steps (one piece when 0), writing a
 * checkpoint after each and when a stop signal ends training. Returns as
 * ncsn_trainer_run; *saved says whether the stop's checkpoint was written. */
static int train_with_checkpoints(ncsn_trainer *t, const ncsn_run_options *opt, int *saved) {
    const int64_t steps = t->cfg->train.steps, every = t->cfg->train.checkpoint_every;
    int status = 0;
    *saved = 0;
    while (t->step < steps) {
        const int64_t until = every > 0 ? (t->step / every + 1) * every : steps;
        status = ncsn_trainer_run(t, until, progress_of(opt), opt->progress_user);
        if (status == 2) *saved = save_train_checkpoint(t, opt) == 0;
        if (status != 0) break;
        if (every > 0 && t->step < steps) save_train_checkpoint(t, opt);
    }
    return status;
}

/* The checkpoint at opt->checkpoint, if there is one this run can continue from. */
static int load_checkpoint(const ncsn_run_options *opt, const ncsn_config *c, size_t n_params,
                           ncsn_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    if (!opt->checkpoint || access(opt->checkpoint, F_OK) != 0) return 0;
    ncsn_error err;
    if (ncsn_checkpoint_read(opt->checkpoint, c, n_params, ck, &err) != 0) {
        note(opt, "ncsn: warning: not resuming: %s; starting from the beginning", err.msg);
        return 0;
    }
    if (ck->phase == NCSN_CHECKPOINT_TRAIN)
        note(opt, "resuming from %s: training step %lld of %lld", opt->checkpoint,
             (long long)ck->step, (long long)c->train.steps);
    else
        note(opt, "resuming from %s: sampling level %d", opt->checkpoint, ck->level);
    return 1;
}

int ncsn_run(const ncsn_config *cfg_in, const char *out_path, const ncsn_run_options *opt,
             ncsn_error *err) {
    ncsn_config c;
    ncsn_config_copy(&c, cfg_in);
    ncsn_dataset ds;
    memset(&ds, 0, sizeof ds);
    float *x = NULL;
    double *sigmas = NULL;
    ncsn_model model, ema;
    memset(&model, 0, sizeof model);
    memset(&ema, 0, sizeof ema);
    ncsn_train_log log;
    memset(&log, 0, sizeof log);
    log.diverged_at = -1;
    ncsn_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    int rc = NCSN_EXIT_OK;

    if (ncsn_training_set(&c, opt->config_index, &ds, &x, err) != 0 ||
        (resolve_dim(&c, &ds), ncsn_config_resolve(&c, x, c.dataset.n, ds.D, err) != 0) ||
        ncsn_config_validate(&c, err) != 0) {
        rc = NCSN_EXIT_USAGE;
        goto done;
    }
    const int L = c.noise.L;
    sigmas = ncsn_xmalloc(sizeof(double) * (size_t)L);
    ncsn_noise_levels(c.noise.sigma_1, c.noise.sigma_L, L, sigmas);

    ncsn_model_alloc(&model, c.dataset.dim, c.model.emb, c.model.hidden, c.model.sigma_input,
                     c.model.scale_by_sigma);
    ncsn_model_init_params(&model, ncsn_rng_key(c.seed, opt->config_index, NCSN_RNG_INIT));
    const int resumed = load_checkpoint(opt, &c, model.n_params, &ck);
    const int sample_phase = resumed && ck.phase == NCSN_CHECKPOINT_SAMPLE;
    int diverged = 0;
    const ncsn_model *weights = &model; /* what the sampler uses and the file stores */
    if (c.sample.score == NCSN_SCORE_MODEL && !sample_phase) {
        ncsn_trainer t;
        ncsn_trainer_init(&t, &c, opt->config_index, sigmas, L, x, c.dataset.n, &model,
                          c.train.ema > 0 ? &ema : NULL);
        if (resumed) ncsn_trainer_restore(&t, &ck);
        int saved;
        const int trained = train_with_checkpoints(&t, opt, &saved);
        const int64_t at = t.step;
        log = t.log; /* freed below */
        ncsn_trainer_free(&t);
        if (trained == 2) {
            char where[64];
            snprintf(where, sizeof where, "training step %lld of %lld", (long long)at,
                     (long long)c.train.steps);
            rc = stopped(opt, saved, where, err);
            goto done;
        }
        diverged = trained != 0;
        if (c.train.ema > 0) weights = &ema;
    } else if (sample_phase) { /* trained already: the weights the sampler uses */
        memcpy(model.params, ck.model, sizeof(float) * model.n_params);
        log.step = ck.loss_step;
        log.loss = ck.loss;
        log.n = log.cap = ck.n_loss;
        ck.loss_step = NULL;
        ck.loss = NULL;
        log.final_loss = ck.final_loss;
        log.seconds = ck.train_seconds;
    }
    sample_job job = {&c, &ds, weights, sigmas, L, log.step, log.loss, log.n, log.final_loss,
                      log.seconds, diverged, {NULL, NULL, NULL}, sample_phase ? &ck : NULL};
    rc = sample_measure_write(&job, out_path, opt, err);

done:
    ncsn_checkpoint_free(&ck);
    ncsn_train_log_free(&log);
    ncsn_model_free(&ema);
    ncsn_model_free(&model);
    free(sigmas);
    free(x);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
    return rc;
}

int ncsn_run_file_config(const char *in_path, ncsn_config *c, ncsn_error *err) {
    ncsn_run_input in;
    memset(&in, 0, sizeof in);
    if (ncsn_run_file_read(in_path, &in, err) != 0) return -1;
    ncsn_config_copy(c, &in.cfg);
    ncsn_run_input_free(&in);
    return 0;
}

int ncsn_resample(const char *in_path, const ncsn_config *cfg_in, const char *out_path,
                  const ncsn_run_options *opt, ncsn_error *err) {
    ncsn_run_input in;
    memset(&in, 0, sizeof in);
    if (ncsn_run_file_read(in_path, &in, err) != 0) return NCSN_EXIT_RUNTIME;
    ncsn_config c;
    ncsn_config_copy(&c, cfg_in);
    ncsn_dataset ds;
    memset(&ds, 0, sizeof ds);
    float *x = NULL;
    double *sigmas = NULL;
    int rc = NCSN_EXIT_OK;
    if (ncsn_training_set(&c, opt->config_index, &ds, &x, err) != 0 ||
        (resolve_dim(&c, &ds), ncsn_config_resolve(&c, x, c.dataset.n, ds.D, err) != 0) ||
        ncsn_config_validate(&c, err) != 0) {
        rc = NCSN_EXIT_USAGE;
        goto done;
    }
    if (ds.D != in.model.D) {
        ncsn_seterr(err, "the data set has dimension %d, but %s's model was trained on "
                    "dimension %d", ds.D, in_path, in.model.D);
        rc = NCSN_EXIT_USAGE;
        goto done;
    }
    sigmas = ncsn_xmalloc(sizeof(double) * (size_t)c.noise.L);
    ncsn_noise_levels(c.noise.sigma_1, c.noise.sigma_L, c.noise.L, sigmas);
    /* sigma_1 and L the trained run resolved by a technique keep that provenance while
     * they keep their value (the run file's configuration holds them as numbers). */
    sample_job job = {&c, &ds, &in.model, sigmas, c.noise.L, in.loss_step, in.loss, in.n_loss,
                      in.final_loss, in.train_seconds, 0,
                      {carried_source(ncsn_config_sigma_1_source(&c), in.sigma_1_source,
                                      c.noise.sigma_1 == in.cfg.noise.sigma_1),
                       carried_source(ncsn_config_L_source(&c), in.L_source,
                                      c.noise.L == in.cfg.noise.L),
                       carried_source(ncsn_config_eps_source(&c), in.eps_source,
                                      c.sample.eps == in.cfg.sample.eps &&
                                      c.sample.T == in.cfg.sample.T)},
                      NULL};
    rc = sample_measure_write(&job, out_path, opt, err);
done:
    free(sigmas);
    free(x);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
    ncsn_run_input_free(&in);
    return rc;
}
