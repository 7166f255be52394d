/* run.c: one run end to end (see run.h): the data set, "auto" values, training,
 * sampling, the metrics of SPEC.md section 7, and the run file. */
#include "ncsn/run.h"

#include <math.h>
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
} sample_job;

static int sample_measure_write(const sample_job *job, const char *out_path,
                                const ncsn_run_options *opt, ncsn_error *err) {
    const ncsn_config *c = job->cfg;
    const int n = c->sample.n, D = c->dataset.dim;
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)n * (size_t)D);
    double t0 = ncsn_now();
    if (job->diverged) {
        for (size_t j = 0; j < (size_t)n * D; j++) x[j] = NAN;
    } else {
        ncsn_sampler s = {c->sample.method, c->sample.T, c->sample.eps, c->sample.denoise,
                          job->sigmas, job->L};
        ncsn_score_fn score = {c->sample.score == NCSN_SCORE_MODEL ? job->model : NULL,
                               job->ds->exact};
        ncsn_sampler_start(ncsn_rng_key(c->seed, opt->config_index, NCSN_RNG_SAMPLE_START), n, D,
                           c->sample.low, c->sample.high, x);
        if (ncsn_sample(&s, score, ncsn_rng_key(c->seed, opt->config_index, NCSN_RNG_SAMPLE_NOISE),
                        x, n, D, progress_of(opt), opt->progress_user) != 0) {
            free(x); /* a stop signal: nothing is written */
            return ncsn_stop_error(err);
        }
    }
    double sample_seconds = ncsn_now() - t0;

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
        rc = NCSN_EXIT_RUNTIME;
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
    int diverged = 0;
    if (c.sample.score == NCSN_SCORE_MODEL) {
        int trained = ncsn_train(&c, opt->config_index, sigmas, L, x, c.dataset.n, &model,
                                 c.train.ema > 0 ? &ema : NULL, &log,
                                 progress_of(opt), opt->progress_user);
        if (trained == 2) { /* a stop signal: nothing is written */
            rc = ncsn_stop_error(err);
            goto done;
        }
        diverged = trained != 0;
    } else {
        log.diverged_at = -1; /* the exact score needs no training */
    }
    sample_job job = {&c, &ds, c.train.ema > 0 ? &ema : &model, sigmas, L, log.step, log.loss,
                      log.n, log.final_loss, log.seconds, diverged, {NULL, NULL, NULL}};
    rc = sample_measure_write(&job, out_path, opt, err);

done:
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
                                      c.sample.T == in.cfg.sample.T)}};
    rc = sample_measure_write(&job, out_path, opt, err);
done:
    free(sigmas);
    free(x);
    ncsn_dataset_free(&ds);
    ncsn_config_free(&c);
    ncsn_run_input_free(&in);
    return rc;
}
