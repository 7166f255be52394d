/* cli/sweep_halving.c: what `ncsn sweep --dry-run` says of a halving sweep's rungs, and the
 * estimates of a rung's runs for the deadline planning (sweep_cost.h), from the grid's cost
 * model (cli/sweep_cost.c): a rung is a sweep of its own (ncsn_halving_rung), whose trainings
 * continue the rung before's, so only their new steps cost. */
#include <stdlib.h>
#include <string.h>

#include "ncsn/sweep.h"
#include "sweep_cost.h"

/* The share of a run's training at rung k that is new: its train_cost (ncsn_halving_rung)
 * against its whole training's. */
static double new_share(const ncsn_sweep_run *r) {
    double whole = 0;
    ncsn_sweep_run_cost(&r->cfg, &whole);
    return whole > 0 ? r->train_cost / whole : 1;
}

void sweep_halving_estimate(const ncsn_sweep *rung, const int *trained_by, double *seconds,
                            void *user) {
    sweep_run_cost *c = ncsn_xcalloc((size_t)rung->n_runs + 1, sizeof *c);
    sweep_cost_of(rung, user, trained_by, c);
    for (int k = 0; k < rung->n_runs; k++)
        seconds[k] = c[k].seconds - c[k].train_seconds * (1 - new_share(&rung->runs[k]));
    free(c);
}

typedef struct {
    int64_t steps;
    int sample_n, configs, runs, trainings; /* at most, after rung 0 */
    double training_steps, core_seconds;
} rung_plan;

/* Rung k's row (every configuration at most m of them still in). */
static rung_plan plan_rung(const ncsn_sweep *s, const ncsn_sweep_options *o,
                           const sweep_sizing *z, int k, int m, int trainings) {
    const ncsn_halving *h = &s->halving;
    const int R = s->repeats, n_configs = s->n_runs / R;
    unsigned char *all = ncsn_xmalloc((size_t)n_configs + 1);
    memset(all, 1, (size_t)n_configs + 1);
    rung_plan p = {h->steps[k], 0, m, m * R, 0, 0, 0};
    ncsn_sweep rung;
    ncsn_error err;
    if (ncsn_halving_rung(s, k, all, &rung, &err) == 0) { /* checked when loaded */
        sweep_run_cost *c = ncsn_xcalloc((size_t)rung.n_runs + 1, sizeof *c);
        int *tb = ncsn_xmalloc(sizeof *tb * (size_t)(rung.n_runs + 1));
        ncsn_sweep_trainings(&rung, o->shard_n, tb);
        sweep_cost_of(&rung, z, tb, c);
        for (int j = 0; j < rung.n_runs; j++)
            p.core_seconds += c[j].core_seconds -
                              z->threads * c[j].train_seconds * (1 - new_share(&rung.runs[j]));
        p.core_seconds *= (double)m / n_configs;
        p.sample_n = rung.runs[0].cfg.sample.n;
        free(tb);
        free(c);
        ncsn_sweep_free(&rung);
    }
    p.trainings = k == 0 || m * R > trainings ? trainings : m * R;
    p.training_steps = (double)p.trainings * (double)(h->steps[k] - (k ? h->steps[k - 1] : 0));
    free(all);
    return p;
}

void sweep_halving_print(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                         const sweep_run_cost *grid_cost, const sweep_sizing *z, int json) {
    const ncsn_halving *h = &s->halving;
    const int R = s->repeats, n_configs = s->n_runs / R;
    int *tb = ncsn_xmalloc(sizeof *tb * (size_t)(s->n_runs + 1));
    const int trainings = ncsn_sweep_trainings(s, o->shard_n, tb);
    free(tb);
    double grid_core = 0;
    for (int k = 0; k < s->n_runs; k++) grid_core += grid_cost[k].core_seconds;
    rung_plan p[NCSN_HALVING_MAX_RUNGS];
    int total_runs = 0;
    double total_steps = 0, total_core = 0;
    for (int k = 0, m = n_configs; k < h->n_rungs; k++) {
        p[k] = plan_rung(s, o, z, k, m, trainings);
        total_runs += p[k].runs;
        total_steps += p[k].training_steps;
        total_core += p[k].core_seconds;
        m = ncsn_halving_promoted(m, h->keep);
    }
    const double grid_steps = (double)trainings * (double)h->steps[h->n_rungs - 1];
    if (json) {
        fprintf(out, "{\"configurations\": %d, \"repeats\": %d, \"metric\": \"%s\", "
                "\"keep\": %.17g, \"rungs\": [", n_configs, R, h->metric, h->keep);
        for (int k = 0; k < h->n_rungs; k++)
            fprintf(out, "%s{\"rung\": %d, \"steps\": %lld, \"sample_n\": %d, "
                    "\"configurations_max\": %d, \"runs_max\": %d, \"trainings_max\": %d, "
                    "\"training_steps_max\": %.0f, \"core_seconds\": %.6g}", k ? ", " : "", k,
                    (long long)p[k].steps, p[k].sample_n, p[k].configs, p[k].runs,
                    p[k].trainings, p[k].training_steps, p[k].core_seconds);
        fprintf(out, "], \"total\": {\"runs_max\": %d, \"training_steps_max\": %.0f, "
                "\"core_seconds\": %.6g}, \"grid\": {\"runs\": %d, \"trainings\": %d, "
                "\"training_steps\": %.0f, \"core_seconds\": %.6g}}", total_runs, total_steps,
                total_core, s->n_runs, trainings, grid_steps, grid_core);
        return;
    }
    fprintf(out, "halving: %d configurations x %d repeat%s; score: the mean %s over a "
            "configuration's repeats, lower is better; keep %.6g of each rung\n", n_configs, R,
            R == 1 ? "" : "s", h->metric, h->keep);
    fprintf(out, "%-5s %10s %9s %15s %6s %10s %15s %10s\n", "rung", "steps", "sample.n",
            "configurations", "runs", "trainings", "training_steps", "core_s");
    for (int k = 0; k < h->n_rungs; k++) {
        char cfgs[32], runs[32], trains[32], steps[48]; /* "at most" after rung 0 */
        const char *le = k ? "<=" : "";
        snprintf(cfgs, sizeof cfgs, "%s%d", le, p[k].configs);
        snprintf(runs, sizeof runs, "%s%d", le, p[k].runs);
        snprintf(trains, sizeof trains, "%s%d", le, p[k].trainings);
        snprintf(steps, sizeof steps, "%s%.0f", le, p[k].training_steps);
        fprintf(out, "%-5d %10lld %9d %15s %6s %10s %15s %10.1f\n", k, (long long)p[k].steps,
                p[k].sample_n, cfgs, runs, trains, steps, p[k].core_seconds);
    }
    fprintf(out, "at most %d runs, %.0f training steps, %.1f core-seconds; the grid of every "
            "configuration at the last rung: %d runs, %d trainings, %.0f training steps, %.1f "
            "core-seconds (%.0f%% of its steps, %.0f%% of its core-seconds at most)\n",
            total_runs, total_steps, total_core, s->n_runs, trainings, grid_steps, grid_core,
            grid_steps > 0 ? 100 * total_steps / grid_steps : 0,
            grid_core > 0 ? 100 * total_core / grid_core : 0);
}
