/* run/run.c: one run end to end (see run.h): the run plan (plan.h: the data set and the "auto"
 * values), training, sampling, the metrics (docs/computation.md, Metrics), and the run file;
 * checkpoints of both phases, and how the run ended (ncsn_outcome). */
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
#include "ncsn/plan.h"
#include "ncsn/resources.h"
#include "ncsn/sample.h"
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

int ncsn_outcome_exit(ncsn_outcome o) {
    switch (o) {
    case NCSN_OUTCOME_COMPLETE: return NCSN_EXIT_OK;
    case NCSN_OUTCOME_CONFIG_ERROR: return NCSN_EXIT_USAGE;
    case NCSN_OUTCOME_INTERRUPTED: return NCSN_EXIT_INTERRUPTED;
    default: return NCSN_EXIT_RUNTIME;
    }
}

const char *ncsn_outcome_status(ncsn_outcome o) {
    switch (o) {
    case NCSN_OUTCOME_COMPLETE: return "complete";
    case NCSN_OUTCOME_DIVERGED: return "diverged";
    case NCSN_OUTCOME_BAD_SAMPLES: return "bad_samples";
    case NCSN_OUTCOME_INTERRUPTED: return "interrupted";
    default: return "failed";
    }
}

/* What sampling, measuring and writing need, whether or not this process trained. */
typedef struct {
    const ncsn_plan *plan;
    const ncsn_model *model;   /* the weights to sample with: final's, or a snapshot's */
    const ncsn_model *final;   /* the trained weights (EMA copy with train.ema), /model */
    const ncsn_snapshots *snaps; /* kept during training (none: n_max 0) */
    ncsn_train_log log;        /* the loss history, final loss, training time (borrowed) */
    int diverged;              /* training diverged: skip sampling */
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
static ncsn_outcome stopped(const ncsn_run_options *opt, int saved, const char *where,
                            ncsn_error *err) {
    if (!saved) ncsn_stop_error(err);
    else
        ncsn_seterr(err, "interrupted by %s at %s; its state is in %.3000s and the same "
                    "command resumes from there", ncsn_stop_signal_name(), where,
                    opt->checkpoint);
    return NCSN_OUTCOME_INTERRUPTED;
}

/* The sampling-phase checkpoint of job after `level` levels with chains x. */
static int save_sample_checkpoint(const sample_job *job, const ncsn_run_options *opt,
                                  const float *x, int level, double sample_seconds) {
    const ncsn_config *c = &job->plan->cfg;
    const ncsn_checkpoint ck = {.phase = NCSN_CHECKPOINT_SAMPLE,
                                .step = c->train.steps,
                                .adam_t = c->train.steps,
                                .level = level,
                                .steps = c->train.steps,
                                .levels = job->plan->levels,
                                .train_seconds = job->log.seconds,
                                .sample_seconds = sample_seconds,
                                .final_loss = job->log.final_loss,
                                .n_params = job->final->n_params,
                                .model = job->final->params,
                                .loss_step = job->log.step,
                                .loss = job->log.loss,
                                .n_loss = job->log.n,
                                .samples = (float *)x,
                                .n = c->sample.n,
                                .D = job->plan->D,
                                .snaps = *job->snaps};
    return save_checkpoint(opt, c, &ck);
}

/* The chains of job: NaN after a diverged training, else the sampler from the start box
 * (or from job->resume's chains), in pieces of sample.checkpoint_every levels with a
 * checkpoint after each. *seconds gets the sampling time, a resumed run's earlier time
 * included. Returns COMPLETE, or INTERRUPTED when a stop signal stopped it (the chains so
 * far go to the checkpoint; no run file). */
static ncsn_outcome draw(const sample_job *job, const ncsn_run_options *opt, float *x,
                         double *seconds, ncsn_error *err) {
    const ncsn_plan *p = job->plan;
    const ncsn_config *c = &p->cfg;
    const int n = c->sample.n, D = p->D, n_levels = p->levels, every = c->sample.checkpoint_every;
    const double t0 = ncsn_now();
    double before = 0, writes = 0; /* writes: periodic checkpoints, not sampling time */
    *seconds = 0;
    if (job->diverged) {
        for (size_t j = 0; j < (size_t)n * D; j++) x[j] = NAN;
        *seconds = ncsn_now() - t0;
        return NCSN_OUTCOME_COMPLETE;
    }
    const ncsn_score_fn score = {c->sample.score == NCSN_SCORE_MODEL ? job->model : NULL,
                                 p->ds.exact};
    const ncsn_key key = ncsn_rng_key(c->seed, p->train_id, NCSN_RNG_SAMPLE_NOISE);
    int done = 0;
    if (job->resume) { /* the chains after job->resume->level levels */
        memcpy(x, job->resume->samples, sizeof(float) * (size_t)n * (size_t)D);
        done = job->resume->level;
        before = job->resume->sample_seconds;
    } else {
        ncsn_sampler_start(ncsn_rng_key(c->seed, p->train_id, NCSN_RNG_SAMPLE_START), n,
                           D, c->sample.low, c->sample.high, x);
    }
    while (done < n_levels) {
        int to = every > 0 ? (done / every + 1) * every : n_levels;
        if (to > n_levels) to = n_levels;
        if (ncsn_sample_levels(&p->sampler, score, key, x, n, D, done, to, &done,
                               progress_of(opt), opt->progress_user) != 0) {
            *seconds = before + ncsn_now() - t0 - writes;
            const int saved = save_sample_checkpoint(job, opt, x, done, *seconds) == 0;
            char where[64];
            snprintf(where, sizeof where, "sampling level %d of %d", done, n_levels);
            return stopped(opt, saved, where, err);
        }
        if (every > 0 && done < n_levels) {
            const double w0 = ncsn_now();
            save_sample_checkpoint(job, opt, x, done, before + w0 - t0 - writes);
            writes += ncsn_now() - w0;
        }
    }
    *seconds = before + ncsn_now() - t0 - writes;
    return NCSN_OUTCOME_COMPLETE;
}

/* The closing line of a complete run, or err saying why a written run is not complete. */
static void report(const sample_job *job, ncsn_outcome o, const ncsn_metrics *m,
                   const char *out_path, const ncsn_run_options *opt, ncsn_error *err) {
    if (o == NCSN_OUTCOME_DIVERGED) {
        ncsn_seterr(err, "training diverged: the loss became non-finite at step %lld; %s "
                    "records status \"diverged\" (try a smaller train.lr)",
                    (long long)job->log.step[job->log.n - 1], out_path);
    } else if (o == NCSN_OUTCOME_BAD_SAMPLES) {
        ncsn_seterr(err, "%lld of %d samples are bad (%lld not finite, the rest farther than "
                    "%.4g from the data's mean), more than sample.max_bad_fraction %g allows "
                    "(sample.eps %g too large for this sampler?); %s records status "
                    "\"bad_samples\"; its metrics measure the other samples",
                    (long long)m->n_bad, job->plan->cfg.sample.n, (long long)m->n_nonfinite,
                    m->bad_radius, job->plan->cfg.sample.max_bad_fraction,
                    job->plan->cfg.sample.eps, out_path);
    } else if (o == NCSN_OUTCOME_COMPLETE && !opt->quiet) {
        fprintf(opt->log ? opt->log : stderr, "done out=%s mmd2=%.4g swd=%.4g "
                "mode_weight_error=%.4g final_loss=%.4f train_seconds=%.2f "
                "sample_seconds=%.2f\n", out_path, m->mmd2, m->swd, m->mode_weight_error,
                m->final_loss, m->train_seconds, m->sample_seconds);
        if (m->n_bad > 0)
            fprintf(opt->log ? opt->log : stderr, "ncsn: note: %lld of %d samples are bad "
                    "(%lld not finite) and are left out of the metrics (n_bad in %s)\n",
                    (long long)m->n_bad, job->plan->cfg.sample.n, (long long)m->n_nonfinite,
                    out_path);
    }
}

/* Measures the samples x (n, D), writes the run file with the status they earn, and
 * removes the checkpoint once it is written. */
static ncsn_outcome measure_write(const sample_job *job, const float *x, double sample_seconds,
                                  const char *out_path, const ncsn_run_options *opt,
                                  ncsn_error *err) {
    const ncsn_plan *p = job->plan;
    const int n = p->cfg.sample.n;
    ncsn_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    /* The exact score trains nothing: no loss, no learned-score error, no /model. */
    const int exact = p->cfg.sample.score == NCSN_SCORE_EXACT;
    const ncsn_model *learned = exact ? NULL : job->model;
    ncsn_metrics_compute_dataset(&p->ds, learned, p->sigmas, p->L, x, n, p->x,
                                 p->cfg.dataset.n, p->cfg.sample.low, p->cfg.sample.high,
                                 p->cfg.seed, &metrics);
    metrics.final_loss = exact ? NAN : job->log.final_loss;
    metrics.train_seconds = job->log.seconds;
    metrics.sample_seconds = sample_seconds;
    /* One rule for both kinds of bad sample (docs/computation.md, bad samples). */
    const int too_many_bad =
        (double)metrics.n_bad > p->cfg.sample.max_bad_fraction * (double)n;
    ncsn_outcome o = job->diverged  ? NCSN_OUTCOME_DIVERGED
                     : too_many_bad ? NCSN_OUTCOME_BAD_SAMPLES
                                    : NCSN_OUTCOME_COMPLETE;
    const ncsn_run_output out = {&p->cfg, exact ? NULL : job->final, job->snaps,
                                 p->sigmas, p->L, x, n, p->D,
                                 job->log.step, job->log.loss, job->log.n, &metrics,
                                 ncsn_outcome_status(o), &p->prov};
    if (ncsn_run_file_write(out_path, &out, err) != 0) {
        o = NCSN_OUTCOME_FAILED; /* a checkpoint stays: the same command resumes from it */
    } else {
        if (opt->checkpoint && unlink(opt->checkpoint) != 0 && errno != ENOENT)
            note(opt, "ncsn: warning: cannot remove the checkpoint %s (%s)", opt->checkpoint,
                 strerror(errno));
        report(job, o, &metrics, out_path, opt, err);
    }
    ncsn_metrics_free(&metrics);
    return o;
}

static ncsn_outcome sample_measure_write(const sample_job *job, const char *out_path,
                                         const ncsn_run_options *opt, ncsn_error *err) {
    const ncsn_plan *p = job->plan;
    float *x = ncsn_xmalloc(sizeof(float) * (size_t)p->cfg.sample.n * (size_t)p->D);
    double seconds;
    ncsn_outcome o = draw(job, opt, x, &seconds, err);
    if (o == NCSN_OUTCOME_COMPLETE) o = measure_write(job, x, seconds, out_path, opt, err);
    free(x);
    return o;
}

void ncsn_trainer_checkpoint(const ncsn_trainer *t, ncsn_checkpoint *ck) {
    const ncsn_checkpoint c = {.phase = NCSN_CHECKPOINT_TRAIN,
                               .step = t->step,
                               .epoch = t->epoch,
                               .pos = t->pos,
                               .adam_t = t->adam.t,
                               .steps = t->cfg->train.steps,
                               .levels = ncsn_plan_levels(t->cfg),
                               .train_seconds = t->log.seconds,
                               .final_loss = t->log.final_loss,
                               .n_params = t->model->n_params,
                               .model = t->model->params,
                               .ema = t->ema ? t->ema->params : NULL,
                               .adam_m = t->adam.m,
                               .adam_v = t->adam.v,
                               .loss_step = t->log.step,
                               .loss = t->log.loss,
                               .n_loss = t->log.n,
                               .snaps = t->snaps};
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
    /* the end of a shorter training logged its last step whatever train.log_every says
     * (trainer.c); a longer training logs that step only on the interval */
    const int64_t every = t->cfg->train.log_every;
    if (ck->steps < t->cfg->train.steps && t->log.n > 0 &&
        t->log.step[t->log.n - 1] == ck->step && ck->step % every != 0)
        t->log.n--;
    t->log.seconds = ck->train_seconds;
    t->log.final_loss = ck->final_loss;
    if (ck->snaps.n_max < t->snaps.n_max) { /* a shorter training's: into the room made */
        for (int i = 0; i < ck->snaps.n; i++)
            ncsn_snapshots_push(&t->snaps, ck->snaps.step[i],
                                ck->snaps.model + (size_t)i * ck->snaps.n_params,
                                ck->snaps.ema ? ck->snaps.ema + (size_t)i * ck->snaps.n_params
                                              : NULL);
        ncsn_snapshots_free(&ck->snaps);
    } else {
        ncsn_snapshots_free(&t->snaps);
        t->snaps = ck->snaps; /* taken */
        memset(&ck->snaps, 0, sizeof ck->snaps);
    }
    ncsn_trainer_resume(t, ck->step, ck->epoch, ck->pos);
}

/* The state at the end of training, to opt->train_state_out, for a longer training of the
 * same model to continue from (a halving sweep's next rung). A failure is reported: the
 * longer training then starts from step 0, to the same bits. */
static void save_train_state(const ncsn_trainer *t, const ncsn_run_options *opt) {
    ncsn_checkpoint ck;
    ncsn_trainer_checkpoint(t, &ck);
    ncsn_error err;
    if (ncsn_checkpoint_write(opt->train_state_out, t->cfg, &ck, &err) != 0)
        note(opt, "ncsn: warning: no training state written: %s", err.msg);
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

/* The training state at opt->train_from, if it is the end of a shorter training of this
 * run's model. */
static int load_train_from(const ncsn_run_options *opt, const ncsn_config *c, size_t n_params,
                           ncsn_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    if (!opt->train_from) return 0;
    if (access(opt->train_from, F_OK) != 0) {
        note(opt, "ncsn: warning: not continuing: no training state %s (%s); training from "
             "step 0", opt->train_from, strerror(errno));
        return 0;
    }
    ncsn_error err;
    if (ncsn_checkpoint_read_start(opt->train_from, c, n_params, ck, &err) != 0) {
        note(opt, "ncsn: warning: not continuing: %s; training from step 0", err.msg);
        return 0;
    }
    note(opt, "continuing the training of %s: step %lld of %lld", opt->train_from,
         (long long)ck->step, (long long)c->train.steps);
    return 1;
}

/* The checkpoint at opt->checkpoint, if there is one this run can continue from; else the
 * training state at opt->train_from, if any. */
static int load_checkpoint(const ncsn_run_options *opt, const ncsn_config *c, size_t n_params,
                           ncsn_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    if (!opt->checkpoint || access(opt->checkpoint, F_OK) != 0)
        return load_train_from(opt, c, n_params, ck);
    ncsn_error err;
    if (ncsn_checkpoint_read(opt->checkpoint, c, n_params, ck, &err) != 0) {
        note(opt, "ncsn: warning: not resuming: %s; starting from the beginning", err.msg);
        return load_train_from(opt, c, n_params, ck);
    }
    if (ck->phase == NCSN_CHECKPOINT_TRAIN)
        note(opt, "resuming from %s: training step %lld of %lld", opt->checkpoint,
             (long long)ck->step, (long long)c->train.steps);
    else
        note(opt, "resuming from %s: sampling level %d", opt->checkpoint, ck->level);
    return 1;
}

/* The weights to sample with: the final ones (sample.snapshot 0), else sample.snapshot's
 * snapshot (its EMA copy with train.ema), copied into scratch (allocated like final). */
static const ncsn_model *sampling_weights(const ncsn_config *c, const ncsn_model *final,
                                          const ncsn_snapshots *snaps, ncsn_model *scratch) {
    if (c->sample.snapshot == 0) return final;
    const int i = ncsn_snapshots_find(snaps, c->sample.snapshot);
    NCSN_ASSERT(i >= 0); /* the configuration's validation keeps sample.snapshot to these */
    ncsn_model_alloc(scratch, final->D, final->E, final->H, final->sigma_input,
                     final->scale_by_sigma);
    const float *w = (snaps->ema ? snaps->ema : snaps->model) + (size_t)i * snaps->n_params;
    memcpy(scratch->params, w, sizeof(float) * snaps->n_params);
    return scratch;
}

/* The model the run samples with, into job: trained (from the start, or from a
 * training-phase checkpoint ck), a sampling-phase checkpoint's trained weights, or the
 * initial weights for the exact score; then the snapshot to sample, if one is chosen
 * (into scratch). log receives the loss history and snaps the snapshots (the caller frees
 * both). Returns COMPLETE, or INTERRUPTED when a stop signal stopped training. */
static ncsn_outcome get_model(const ncsn_plan *p, const ncsn_run_options *opt,
                              ncsn_checkpoint *ck, ncsn_model *model, ncsn_model *ema,
                              ncsn_model *scratch, ncsn_train_log *log, ncsn_snapshots *snaps,
                              sample_job *job, ncsn_error *err) {
    const ncsn_config *c = &p->cfg;
    const int sample_phase = ck && ck->phase == NCSN_CHECKPOINT_SAMPLE;
    job->model = job->final = model;
    job->snaps = snaps;
    job->resume = sample_phase ? ck : NULL;
    if (c->sample.score == NCSN_SCORE_MODEL && !sample_phase) {
        ncsn_trainer t;
        ncsn_trainer_init(&t, c, p->train_id, p->sigmas, p->L, p->x, c->dataset.n, model,
                          c->train.ema > 0 ? ema : NULL);
        if (ck) ncsn_trainer_restore(&t, ck);
        int saved;
        const int trained = train_with_checkpoints(&t, opt, &saved);
        const int64_t at = t.step;
        if (trained == 0 && opt->train_state_out) save_train_state(&t, opt);
        *log = t.log; /* the caller frees it */
        *snaps = t.snaps;
        memset(&t.snaps, 0, sizeof t.snaps);
        ncsn_trainer_free(&t);
        if (trained == 2) {
            char where[64];
            snprintf(where, sizeof where, "training step %lld of %lld", (long long)at,
                     (long long)c->train.steps);
            return stopped(opt, saved, where, err);
        }
        job->diverged = trained != 0;
        if (c->train.ema > 0) job->model = job->final = ema;
    } else if (sample_phase) { /* trained already: the final weights and the snapshots */
        memcpy(model->params, ck->model, sizeof(float) * model->n_params);
        log->step = ck->loss_step;
        log->loss = ck->loss;
        log->n = log->cap = ck->n_loss;
        ck->loss_step = NULL;
        ck->loss = NULL;
        log->final_loss = ck->final_loss;
        log->seconds = ck->train_seconds;
        *snaps = ck->snaps;
        memset(&ck->snaps, 0, sizeof ck->snaps);
    }
    if (!job->diverged) job->model = sampling_weights(c, job->final, snaps, scratch);
    job->log = *log;
    return NCSN_OUTCOME_COMPLETE;
}

ncsn_outcome ncsn_run_outcome(const ncsn_config *cfg, const char *out_path,
                              const ncsn_run_options *opt, ncsn_error *err) {
    ncsn_plan plan;
    /* the memory once more with what only the data could tell (noise.L auto) */
    if (ncsn_plan_make(&plan, cfg, err) != 0 ||
        ncsn_memory_check_plan(&plan, 1, opt->checkpoint != NULL, err) != 0) {
        ncsn_plan_free(&plan);
        return NCSN_OUTCOME_CONFIG_ERROR;
    }
    const ncsn_config *c = &plan.cfg;
    ncsn_model model, ema, scratch;
    memset(&model, 0, sizeof model);
    memset(&ema, 0, sizeof ema);
    memset(&scratch, 0, sizeof scratch);
    ncsn_model_alloc(&model, plan.D, c->model.emb, c->model.hidden, c->model.sigma_input,
                     c->model.scale_by_sigma);
    ncsn_model_init_params(&model, ncsn_rng_key(c->seed, plan.train_id, NCSN_RNG_INIT));
    ncsn_checkpoint ck;
    const int resumed = load_checkpoint(opt, c, model.n_params, &ck);
    ncsn_train_log log;
    memset(&log, 0, sizeof log);
    log.diverged_at = -1;
    ncsn_snapshots snaps;
    memset(&snaps, 0, sizeof snaps);
    sample_job job;
    memset(&job, 0, sizeof job);
    job.plan = &plan;
    ncsn_outcome o = get_model(&plan, opt, resumed ? &ck : NULL, &model, &ema, &scratch, &log,
                               &snaps, &job, err);
    if (o == NCSN_OUTCOME_COMPLETE) o = sample_measure_write(&job, out_path, opt, err);
    ncsn_checkpoint_free(&ck);
    ncsn_train_log_free(&log);
    ncsn_snapshots_free(&snaps);
    ncsn_model_free(&scratch);
    ncsn_model_free(&ema);
    ncsn_model_free(&model);
    ncsn_plan_free(&plan);
    return o;
}

int ncsn_run(const ncsn_config *c, const char *out_path, const ncsn_run_options *opt,
             ncsn_error *err) {
    return ncsn_outcome_exit(ncsn_run_outcome(c, out_path, opt, err));
}

int ncsn_run_file_config(const char *in_path, ncsn_config *c, ncsn_error *err) {
    ncsn_run_input in;
    memset(&in, 0, sizeof in);
    if (ncsn_run_file_read(in_path, &in, err) != 0) return -1;
    ncsn_config_copy(c, &in.cfg);
    ncsn_run_input_free(&in);
    return 0;
}

/* ncsn_resample and ncsn_sample_model: carry says whether sigma_1, L and eps keep the
 * provenance the trained run gave them (ncsn_plan_carry). */
static ncsn_outcome resample(const char *in_path, const ncsn_config *cfg, const char *out_path,
                             const ncsn_run_options *opt, int carry, ncsn_error *err) {
    ncsn_run_input in;
    memset(&in, 0, sizeof in);
    if (ncsn_run_file_read(in_path, &in, err) != 0) return NCSN_OUTCOME_FAILED;
    ncsn_plan plan;
    ncsn_outcome o = NCSN_OUTCOME_CONFIG_ERROR;
    if (ncsn_plan_make(&plan, cfg, err) != 0) {
    } else if (!in.has_model && plan.cfg.sample.score == NCSN_SCORE_MODEL) {
        ncsn_seterr(err, "%s holds no trained network (it ran with sample.score exact): sample "
                    "it with the exact score, or train a network with ncsn run", in_path);
    } else if (in.has_model && plan.D != in.model.D) {
        ncsn_seterr(err, "the data set has dimension %d, but %s's model was trained on "
                    "dimension %d", plan.D, in_path, in.model.D);
    } else {
        /* sigma_1, L and eps the trained run got from a technique keep that provenance
         * while they keep their value */
        if (carry)
            ncsn_plan_carry(&plan, &in.cfg, in.sigma_1_source, in.L_source, in.eps_source);
        const ncsn_train_log log = {in.loss_step, in.loss, in.n_loss, in.n_loss,
                                    in.final_loss, in.train_seconds, -1};
        /* resumable like a run's sampling (a file of the exact score, with no network to
         * store, is sampled without a checkpoint) */
        ncsn_run_options o2 = *opt;
        o2.train_from = o2.train_state_out = NULL; /* nothing is trained here */
        if (!in.has_model) o2.checkpoint = NULL;
        ncsn_checkpoint ck;
        int resumed = load_checkpoint(&o2, &plan.cfg, in.model.n_params, &ck);
        if (resumed && ck.phase != NCSN_CHECKPOINT_SAMPLE) {
            note(&o2, "ncsn: warning: not resuming: %s holds a training checkpoint; sampling "
                 "from the beginning", o2.checkpoint);
            ncsn_checkpoint_free(&ck);
            resumed = 0;
        }
        ncsn_model scratch;
        memset(&scratch, 0, sizeof scratch);
        const sample_job job = {&plan, sampling_weights(&plan.cfg, &in.model, &in.snapshots,
                                                        &scratch),
                                &in.model, &in.snapshots, log, 0, resumed ? &ck : NULL};
        o = sample_measure_write(&job, out_path, &o2, err);
        ncsn_model_free(&scratch);
        ncsn_checkpoint_free(&ck);
    }
    ncsn_plan_free(&plan);
    ncsn_run_input_free(&in);
    return o;
}

int ncsn_resample(const char *in_path, const ncsn_config *cfg, const char *out_path,
                  const ncsn_run_options *opt, ncsn_error *err) {
    return ncsn_outcome_exit(resample(in_path, cfg, out_path, opt, 1, err));
}

ncsn_outcome ncsn_sample_model(const char *model_path, const ncsn_config *cfg,
                               const char *out_path, const ncsn_run_options *opt,
                               ncsn_error *err) {
    return resample(model_path, cfg, out_path, opt, 0, err);
}
