/* sweep/halving_run.c: the runner of a halving sweep (sweep.h, ncsn_halving; docs/cluster.md,
 * Successive halving). Synchronous successive halving: rung k is a sweep of its own in
 * DIR/rung<k>/ (ncsn_halving_rung), run by the grid runner (runner.h) on every rank to its
 * end; only once every run of it has ended (whoever ran it) is it scored, each
 * configuration by the mean of sweep.metric over its repeats, read from the run files, and
 * the best ncsn_halving_promoted(n, keep) go on to rung k+1, whose trainings continue those
 * of rung k from their training states (DIR/rung<k>/states/<trainer>.h5). A rung with fewer
 * scores than it promotes is not decided at all (exit 1): promoting by index would be
 * arbitrary. So promotions depend on run files alone, which are the same bits for any
 * number of ranks and after any interruption: running the same command again walks the
 * rungs again, keeps what is finished, and decides the same; once rung k+1 exists, rung k's
 * promotions are the ones its directory was made for, and rung k is not run again.
 *
 *   DIR/sweep.txt      the halving sweep (identifies it)
 *   DIR/journal.log    rung_started, rung_decided, rung_fixed, rung_waiting,
 *                      rung_undecidable lines
 *   DIR/rungs.tsv      every rung decided so far: a configuration's score, rank and
 *                      whether it was promoted (rank 0 rewrites it after each rung)
 *   DIR/rung<k>/       rung k as a sweep directory (summary.h), with states/ before the
 *                      last rung */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ncsn/common.h"
#include "ncsn/h5util.h"
#include "ncsn/runner.h"
#include "ncsn/summary.h"
#include "ncsn/sweep.h"
#include "ncsn/text.h"

#include "runner_internal.h"

/* ---- scores ---------------------------------------------------------------------------- */

typedef struct {
    const char *metric;
    double value;
} score_read;

static int read_score(const ncsn_h5_ctx *c, hid_t file, void *data) {
    score_read *sr = data;
    char *status = NULL, name[64];
    if (ncsn_h5_read_attr_string(c, file, "status", &status) != 0) return -1;
    const int complete = strcmp(status, "complete") == 0;
    free(status);
    if (!complete) return 0;
    snprintf(name, sizeof name, "/metrics/%s", sr->metric);
    return ncsn_h5_read_dataset(c, file, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 0, NULL,
                                &sr->value);
}

/* A run's score: its metric when its file exists and its status is complete, else NaN. */
static double run_score(const char *dir, const char *id, const char *metric) {
    char *path = ncsn_xasprintf("%s/runs/%s.h5", dir, id);
    score_read sr = {metric, NAN};
    ncsn_error err;
    if (access(path, F_OK) != 0 || ncsn_h5_read_file(path, read_score, &sr, &err) != 0)
        sr.value = NAN;
    free(path);
    return sr.value;
}

/* ---- the record: rungs.tsv --------------------------------------------------------------- */

typedef struct {
    int rung;
    int64_t steps;
    int sample_n;         /* the configuration's sample.n at this rung */
    char group[32];
    int runs, scored;     /* repeats, and those with a finite score */
    double score;         /* the mean over the repeats; +inf when one has none */
    int rank;             /* 1 = best of the rung */
    const char *promoted; /* "yes", "no"; "-" in the last rung */
} rung_row;

typedef struct {
    rung_row *rows;
    int n, cap;
} rung_table;

static void table_add(rung_table *t, const rung_row *r) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        rung_row *bigger = realloc(t->rows, sizeof *bigger * (size_t)t->cap);
        NCSN_ASSERT(bigger != NULL);
        t->rows = bigger;
    }
    t->rows[t->n++] = *r;
}

/* DIR/rungs.tsv, whole, atomically. */
static void write_table(const char *dir, const ncsn_sweep *s, const rung_table *t) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f != NULL);
    fprintf(f, "# ncsn halving: score = the mean %s over a configuration's %d repeat%s, lower "
            "is better; keep %.6g of each rung\n", s->halving.metric, s->repeats,
            s->repeats == 1 ? "" : "s", s->halving.keep);
    fputs("rung\tsteps\tsample_n\tconfiguration\truns\tscored\tscore\trank\tpromoted\n", f);
    for (int i = 0; i < t->n; i++) {
        const rung_row *r = &t->rows[i];
        fprintf(f, "%d\t%" PRId64 "\t%d\t%s\t%d\t%d\t%.17g\t%d\t%s\n", r->rung, r->steps,
                r->sample_n, r->group, r->runs, r->scored, r->score, r->rank, r->promoted);
    }
    fclose(f);
    char *path = ncsn_xasprintf("%s/rungs.tsv", dir), *tmp = ncsn_xasprintf("%s.tmp.%ld", path,
                                                                              (long)getpid());
    ncsn_error err;
    if (ncsn_replace_file(path, tmp, -1, text, size, &err) != 0)
        fprintf(stderr, "ncsn sweep: %s\n", err.msg);
    free(tmp);
    free(path);
    free(text);
}

/* ---- one rung ------------------------------------------------------------------------------ */

/* For every run of rung (rung k), the training state its training continues: that of the
 * run that trained its model in rung k-1 (prev, whose runs include rung's), or NULL. */
static char **states_of(const char *dir, int k, const ncsn_sweep *rung, const ncsn_sweep *prev,
                        const int *prev_trained_by) {
    char **from = ncsn_xcalloc((size_t)(rung->n_runs ? rung->n_runs : 1), sizeof *from);
    int q = 0;
    for (int j = 0; j < rung->n_runs; j++) {
        while (q < prev->n_runs && prev->runs[q].index != rung->runs[j].index) q++;
        NCSN_ASSERT(q < prev->n_runs); /* promoted configurations ran the rung before */
        const ncsn_sweep_run *t = &prev->runs[prev_trained_by[q]];
        if (t->cfg.sample.score == NCSN_SCORE_MODEL)
            from[j] = ncsn_xasprintf("%s/rung%d/states/%s.h5", dir, k - 1, t->id);
    }
    return from;
}

static void free_states(char **from, int n) {
    for (int j = 0; from && j < n; j++) free(from[j]);
    free(from);
}

/* How many runs of the rung have not ended (complete or failed), whoever's they are: runs
 * of other --shard tasks, runs another process holds, runs not run. Every run when the
 * directory cannot be listed. */
static int rung_unfinished(const char *dir, const ncsn_sweep *rung) {
    unsigned char *state = ncsn_xcalloc((size_t)rung->n_runs + 1, 1);
    ncsn_error err;
    int left = rung->n_runs;
    if (ncsn_sweep_states(dir, rung, state, NULL, &err) == 0) {
        left = 0;
        for (int j = 0; j < rung->n_runs; j++)
            left += state[j] != NCSN_RUN_FINISHED && state[j] != NCSN_RUN_FAILED;
    }
    free(state);
    return left;
}

/* Rank 0: rung k's promotions as an earlier invocation decided them, once rung k+1 exists:
 * the configurations DIR/rung<k+1>/sweep.txt lists (ncsn_halving_rung), into promoted
 * (n_configs). 1 read, 0 no rung k+1 yet, -1 (err) a list that cannot be rung k's. Rung
 * k+1's runs are those, so rung k is not decided again: a run of it retried
 * (--retry-failed) or ending otherwise could change the promotions, and rung k+1's
 * directory would then hold another sweep. */
static int read_promotions(const char *dir, int k, const ncsn_sweep *s,
                           const unsigned char *alive, unsigned char *promoted,
                           ncsn_error *err) {
    const int R = s->repeats, n_configs = s->n_runs / R;
    char *path = ncsn_xasprintf("%s/rung%d/sweep.txt", dir, k + 1), *text = NULL;
    if (access(path, F_OK) != 0) {
        free(path);
        return 0;
    }
    int rc = ncsn_read_file(path, &text, NULL, err) == 0 ? 1 : -1;
    const char *line = rc > 0 ? strstr(text, "\nconfigurations:") : NULL;
    if (rc > 0 && !line)
        rc = ncsn_seterr(err, "%s: no configurations line", path);
    memset(promoted, 0, (size_t)n_configs + 1);
    int n = 0, n_alive = 0;
    for (int g = 0; g < n_configs; g++) n_alive += alive[g];
    const char *p = line ? line + strlen("\nconfigurations:") : NULL;
    while (rc > 0) {
        while (*p == ' ') p++;
        if (*p == '\n' || *p == '\0') break;
        const size_t len = strcspn(p, " \n");
        int found = -1;
        for (int g = 0; g < n_configs && found < 0; g++)
            if (alive[g] && strlen(s->runs[g * R].group) == len &&
                strncmp(s->runs[g * R].group, p, len) == 0)
                found = g;
        if (found < 0 || promoted[found]) {
            rc = ncsn_seterr(err, "%s: %.*s is no configuration of rung %d", path, (int)len, p,
                             k);
        } else {
            promoted[found] = 1;
            n++;
        }
        p += len;
    }
    if (rc > 0 && n != ncsn_halving_promoted(n_alive, s->halving.keep))
        rc = ncsn_seterr(err, "%s: %d configurations, but rung %d promotes %d of %d", path, n,
                         k, ncsn_halving_promoted(n_alive, s->halving.keep), n_alive);
    free(text);
    free(path);
    return rc;
}

/* Rank 0: the score of every configuration of the rung (alive_list, n_alive), in order. */
static void score_rung(const char *rdir, const ncsn_sweep *rung, const char *metric,
                       int n_alive, double *score, int *scored) {
    const int R = rung->repeats;
    for (int a = 0; a < n_alive; a++) {
        double sum = 0;
        scored[a] = 0;
        for (int r = 0; r < R; r++) {
            const double v = run_score(rdir, rung->runs[a * R + r].id, metric);
            if (isfinite(v)) {
                sum += v;
                scored[a]++;
            }
        }
        score[a] = scored[a] == R ? sum / R : INFINITY;
    }
}

/* After ncsn_sweep_execute ran rung k (rdir, its status): rank 0 looks whether every run
 * of the rung has ended, its own or not (other --shard tasks', another process's), and if
 * not, the rung waits: NCSN_EXIT_INTERRUPTED, so that the same command continues it. */
static int rung_wait(const char *dir, const char *rdir, int k, const ncsn_sweep *rung,
                     const ncsn_sweep_options *o, int status) {
    const int left = rung_unfinished(rdir, rung);
    if (left == 0) return status;
    if (o->shard_n > 1) {
        ncsn_sweep_journal(dir, "rung_waiting", "rung=%d shard=%d/%d unfinished=%d", k,
                           o->shard_i, o->shard_n, left);
        fprintf(stderr, "ncsn sweep: halving rung %d waits for %d runs of other tasks "
                "(--shard); run the same command again to continue once they end\n", k, left);
    } else {
        ncsn_sweep_journal(dir, "rung_waiting", "rung=%d unfinished=%d", k, left);
        fprintf(stderr, "ncsn sweep: halving rung %d: %d of its %d runs %s not ended "
                "(claimed by another process, or not run; see %s/journal.log); a rung is "
                "decided only once every run of it has ended: run the same command again to "
                "continue\n", k, left, rung->n_runs, left == 1 ? "has" : "have", rdir);
    }
    return NCSN_EXIT_INTERRUPTED;
}

int ncsn_halving_execute(const ncsn_sweep *s, const ncsn_sweep_options *o, ncsn_world *w,
                         ncsn_halving_estimate_fn estimate, void *user) {
    const ncsn_halving *h = &s->halving;
    NCSN_ASSERT(h->on && s->repeats >= 1 && s->n_runs % s->repeats == 0);
    ncsn_error err = {{0}};
    int status = NCSN_EXIT_OK;
    if (w->rank == 0) {
        status = ncsn_sweep_own_dir(o->dir, s->canonical, NULL, 0, &err);
        if (status == NCSN_EXIT_OK)
            ncsn_sweep_journal(o->dir, "halving_started", "configurations=%d repeats=%d "
                               "rungs=%d ranks=%d", s->n_runs / s->repeats, s->repeats,
                               h->n_rungs, w->size);
    }
    status = ncsn_world_share(w, status);
    if (status != NCSN_EXIT_OK) {
        if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
        return status;
    }
    const int n_configs = s->n_runs / s->repeats, R = s->repeats;
    unsigned char *alive = ncsn_xmalloc((size_t)n_configs + 1);
    unsigned char *promoted = ncsn_xcalloc((size_t)n_configs + 1, 1);
    memset(alive, 1, (size_t)n_configs + 1);
    double *score = ncsn_xmalloc(sizeof *score * (size_t)(n_configs + 1));
    int *scored = ncsn_xmalloc(sizeof *scored * (size_t)(n_configs + 1));
    int *order = ncsn_xmalloc(sizeof *order * (size_t)(n_configs + 1));
    int *groups = ncsn_xmalloc(sizeof *groups * (size_t)(n_configs + 1));
    rung_table table = {0};
    ncsn_sweep prev;
    memset(&prev, 0, sizeof prev);
    int *prev_tb = NULL, worst = NCSN_EXIT_OK;
    for (int k = 0; k < h->n_rungs; k++) {
        const int last = k == h->n_rungs - 1;
        ncsn_sweep rung;
        if (ncsn_halving_rung(s, k, alive, &rung, &err) != 0) { /* checked when loaded */
            if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
            status = NCSN_EXIT_USAGE;
            break;
        }
        int *tb = ncsn_xmalloc(sizeof *tb * (size_t)(rung.n_runs + 1));
        ncsn_sweep_trainings(&rung, o->shard_n, tb);
        char **from = k > 0 ? states_of(o->dir, k, &rung, &prev, prev_tb) : NULL;
        double *seconds = ncsn_xcalloc((size_t)rung.n_runs + 1, sizeof *seconds);
        char *rdir = ncsn_xasprintf("%s/rung%d", o->dir, k);
        const int n_alive = rung.n_runs / R;
        for (int a = 0, g = 0; g < n_configs; g++)
            if (alive[g]) groups[a++] = g;
        /* rung k+1 exists: rung k was decided, for good, by an earlier invocation */
        int fixed = 0;
        if (!last && w->rank == 0) fixed = read_promotions(o->dir, k, s, alive, promoted, &err);
        fixed = ncsn_world_share(w, fixed);
        if (fixed < 0) {
            if (w->rank == 0)
                fprintf(stderr, "ncsn sweep: %s; use a new output directory\n", err.msg);
            status = NCSN_EXIT_USAGE;
        } else if (fixed) {
            if (w->use_mpi) MPI_Bcast(promoted, n_configs, MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD);
            status = NCSN_EXIT_OK;
        } else {
            if (estimate) estimate(&rung, tb, seconds, user);
            ncsn_sweep_options ro = *o;
            ro.dir = rdir;
            ro.trained_by = tb;
            ro.train_from = (const char *const *)from;
            ro.keep_states = !last;
            ro.estimate = estimate ? seconds : NULL;
            if (w->rank == 0)
                ncsn_sweep_journal(o->dir, "rung_started", "rung=%d steps=%" PRId64 " "
                                   "sample_n=%d configurations=%d runs=%d dir=rung%d", k,
                                   h->steps[k], last ? 0 : h->sample_n, n_alive, rung.n_runs,
                                   k);
            status = ncsn_sweep_execute(&rung, &ro, w);
            /* a rung is scored only once every run of it has ended, whoever ran it */
            if (w->rank == 0 && (status == NCSN_EXIT_OK ||
                                 (status == NCSN_EXIT_RUNTIME && !o->fail_fast)))
                status = rung_wait(o->dir, rdir, k, &rung, o, status);
            status = ncsn_world_share(w, status);
        }
        int go_on = fixed >= 0 && (status == NCSN_EXIT_OK ||
                                   (status == NCSN_EXIT_RUNTIME && !o->fail_fast));
        if (go_on) {
            if (w->rank == 0) score_rung(rdir, &rung, h->metric, n_alive, score, scored);
            if (w->use_mpi) {
                MPI_Bcast(score, n_alive, MPI_DOUBLE, 0, MPI_COMM_WORLD);
                MPI_Bcast(scored, n_alive, MPI_INT, 0, MPI_COMM_WORLD);
            }
            ncsn_halving_order(score, n_alive, order);
            int keep = last ? n_alive : ncsn_halving_promoted(n_alive, h->keep), finite = 0;
            for (int a = 0; a < n_alive; a++) finite += isfinite(score[a]) != 0;
            if (fixed) { /* as decided: the promoted first, each part in the order of now */
                int *by = ncsn_xmalloc(sizeof *by * (size_t)(n_alive + 1)), m = 0;
                for (int pass = 1; pass >= 0; pass--)
                    for (int i = 0; i < n_alive; i++)
                        if (promoted[groups[order[i]]] == pass) by[m++] = order[i];
                memcpy(order, by, sizeof *order * (size_t)n_alive);
                free(by);
            } else if (finite < (last ? 1 : keep)) {
                /* too few scores to decide: promoting by configuration index would be
                 * arbitrary, and the sweep would go on as if nothing were wrong */
                if (w->rank == 0) {
                    ncsn_sweep_journal(o->dir, "rung_undecidable", "rung=%d scored=%d of=%d "
                                       "needed=%d metric=%s", k, finite, n_alive,
                                       last ? 1 : keep, h->metric);
                    fprintf(stderr, "ncsn sweep: halving rung %d cannot be decided: %d of its "
                            "%d configurations have a score (every repeat complete with a "
                            "finite %s), and %s %d; see %s/journal.log and the run files "
                            "(--retry-failed runs failed runs again)\n", k, finite, n_alive,
                            h->metric, last ? "the best needs" : "it promotes",
                            last ? 1 : keep, rdir);
                }
                status = worst = NCSN_EXIT_RUNTIME;
                go_on = 0;
            }
            if (go_on) {
                /* a run of an earlier rung that failed scores none and is ranked last
                 * (rungs.tsv, the rung's journal): only the last rung's failures fail the
                 * sweep */
                if (last && status > worst) worst = status;
                memset(alive, 0, (size_t)n_configs + 1);
                for (int i = 0; i < n_alive; i++) {
                    const int a = order[i];
                    if (i < keep) alive[groups[a]] = 1;
                    rung_row row = {k, h->steps[k], rung.runs[a * R].cfg.sample.n, "", R,
                                    scored[a], score[a], i + 1,
                                    last ? "-" : i < keep ? "yes" : "no"};
                    snprintf(row.group, sizeof row.group, "%s", rung.runs[a * R].group);
                    table_add(&table, &row);
                }
                if (w->rank == 0) {
                    write_table(o->dir, s, &table);
                    if (fixed)
                        ncsn_sweep_journal(o->dir, "rung_fixed", "rung=%d promoted=%d of=%d "
                                           "by=rung%d/sweep.txt", k, keep, n_alive, k + 1);
                    else
                        ncsn_sweep_journal(o->dir, "rung_decided", "rung=%d promoted=%d of=%d "
                                           "best=%s score=%.6g", k, last ? 0 : keep, n_alive,
                                           rung.runs[order[0] * R].group, score[order[0]]);
                }
            }
        }
        free(rdir);
        free(seconds);
        free_states(from, rung.n_runs);
        ncsn_sweep_free(&prev);
        free(prev_tb);
        prev = rung;
        prev_tb = tb;
        if (!go_on) break;
    }
    if (status == NCSN_EXIT_OK || (status == NCSN_EXIT_RUNTIME && !o->fail_fast))
        status = worst;
    if (w->rank == 0 && table.n > 0) printf("%s/rungs.tsv\n", o->dir);
    ncsn_sweep_free(&prev);
    free(prev_tb);
    free(table.rows);
    free(groups);
    free(order);
    free(scored);
    free(score);
    free(promoted);
    free(alive);
    return status;
}
