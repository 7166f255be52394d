/* cli/sweep_cost.c: a sweep's resources before it runs (cli/sweep_cost.h): every run's peak
 * memory and seconds from resources.h, the refusal of a run that cannot fit, and the dry
 * run's totals with the SLURM request for P ranks of T threads (docs/cluster.md, Sizing a
 * job): --mem from the largest run, --time from the ranks taking runs costliest first as
 * the runner does, with the margins the deadline planning uses. */
#include "sweep_cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/plan.h"

/* The runner's deadline margin on a run's estimate (runner.c's DEADLINE_SAFETY), and what
 * the batch scripts keep free at the end (NCSN_DEADLINE_MARGIN) plus a minute to start. */
#define TIME_SAFETY 1.25
#define TIME_SLACK_SECONDS 240.0
/* --mem over the largest run's estimate: the model aims within 25% */
#define MEM_SAFETY 1.25
/* mpirun or srun's own process on the node */
#define LAUNCHER_BYTES (16.0 * 1024 * 1024)

/* noise.L of runs whose L and sigma_1 are both "auto": Technique 1 needs the training
 * points, so a run plan is made (the data read, Technique 1 and 2 run) once for each
 * distinct set of dataset.* and noise.* values, and its L serves every run that shares
 * them (a generator's runs differ only in their draws). 0 when no plan could be made:
 * the run reports why when it runs. */
typedef struct {
    char **keys;
    int *L;
    int n;
} levels_cache;

static char *data_noise_text(const ncsn_config *c) {
    size_t len = 0;
    char *text = ncsn_xmalloc(1);
    text[0] = '\0';
    for (int i = 0; i < ncsn_config_n_keys(); i++) {
        const char *name = ncsn_config_key_name(i);
        if (strncmp(name, "dataset.", 8) != 0 && strncmp(name, "noise.", 6) != 0) continue;
        char *v = ncsn_config_key_to_yaml(c, i);
        const size_t add = strlen(name) + strlen(v) + 3;
        char *more = ncsn_xmalloc(len + add + 1);
        memcpy(more, text, len);
        snprintf(more + len, add + 1, "%s=%s\n", name, v);
        len += strlen(more + len);
        free(text);
        free(v);
        text = more;
    }
    return text;
}

static int levels_of(levels_cache *lc, const ncsn_sweep_run *r) {
    char *key = data_noise_text(&r->cfg);
    for (int i = 0; i < lc->n; i++)
        if (!strcmp(lc->keys[i], key)) {
            free(key);
            return lc->L[i];
        }
    ncsn_plan plan;
    ncsn_error err;
    const int L = ncsn_plan_make(&plan, &r->cfg, &err) == 0 ? plan.L : 0;
    ncsn_plan_free(&plan);
    lc->keys = realloc(lc->keys, sizeof *lc->keys * (size_t)(lc->n + 1));
    lc->L = realloc(lc->L, sizeof *lc->L * (size_t)(lc->n + 1));
    NCSN_ASSERT(lc->keys && lc->L);
    lc->keys[lc->n] = key;
    lc->L[lc->n++] = L;
    return L;
}

void sweep_cost_of(const ncsn_sweep *s, const sweep_sizing *z, const int *trained_by,
                   sweep_run_cost *out) {
    levels_cache lc = {NULL, NULL, 0};
    /* the sweep's own (its journal, summary, MPI) and its table of runs beside every run */
    const uint64_t table = (uint64_t)s->n_runs * (sizeof(ncsn_sweep_run) + 256);
    const uint64_t baseline =
        (uint64_t)(z->cal.baseline_bytes + z->cal.sweep_bytes + (z->mpi ? z->cal.mpi_bytes : 0)) +
        table;
    for (int k = 0; k < s->n_runs; k++) {
        sweep_run_cost *c = &out[k];
        ncsn_run_sizes sz;
        ncsn_error ignored;
        ncsn_run_sizes_of(&sz, &s->runs[k].cfg, z->threads, 1, 1, &ignored);
        if (sz.L_assumed) {
            const int L = levels_of(&lc, &s->runs[k]);
            if (L > 0) ncsn_run_sizes_set_L(&sz, L);
        }
        ncsn_memory_estimate(&sz, baseline, &c->mem);
        ncsn_work w;
        ncsn_work_of(&sz, &w);
        c->seconds = ncsn_seconds_estimate(&w, &sz, &z->cal, z->threads, &c->train_seconds);
        if (trained_by && trained_by[k] != k) { /* it samples another run's model */
            c->seconds -= c->train_seconds;
            c->train_seconds = 0;
        }
        c->core_seconds = c->seconds * z->threads;
    }
    for (int i = 0; i < lc.n; i++) free(lc.keys[i]);
    free(lc.keys);
    free(lc.L);
}

int sweep_cost_check(const ncsn_sweep *s, const ncsn_sweep_options *o, const sweep_run_cost *c,
                     int local_ranks, int limit_too, ncsn_error *err) {
    uint64_t limit = UINT64_MAX;
    const char *source = "none";
    if (limit_too && ncsn_memory_limit("", &limit, &source, err) != 0) return -1;
    int worst = -1;
    for (int k = 0; k < s->n_runs; k++) {
        if (!ncsn_sweep_in_shard(o, &s->runs[k])) continue;
        if (c[k].mem.overflow) return ncsn_memory_check(&s->runs[k].cfg, &c[k].mem, limit,
                                                        source, s->runs[k].id, 1, err);
        if (worst < 0 || c[k].mem.peak > c[worst].mem.peak) worst = k;
    }
    if (worst < 0 || !limit_too) return 0;
    const int share = local_ranks < s->n_runs ? local_ranks : s->n_runs;
    return ncsn_memory_check(&s->runs[worst].cfg, &c[worst].mem, limit, source,
                             s->runs[worst].id, share, err);
}

/* ---- the totals ------------------------------------------------------------------------ */

typedef struct {
    int runs, trainings;
    double core_seconds, seconds;   /* sums over the runs */
    uint64_t peak;                  /* the largest run's */
    int peak_run;
    double wall;                    /* the ranks' makespan */
    double time_limit;              /* --time, seconds, whole minutes */
    double mem_rank, mem_node;      /* bytes: one rank's request, all ranks on one node */
} totals;

static int by_cost(const void *x, const void *y) { /* runner.c's order: costliest first */
    const ncsn_sweep_run *a = *(ncsn_sweep_run *const *)x, *b = *(ncsn_sweep_run *const *)y;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static totals sum_up(const ncsn_sweep *s, const ncsn_sweep_options *o, const sweep_run_cost *c,
                     const sweep_sizing *z) {
    const int *by = o->trained_by;
    totals t;
    memset(&t, 0, sizeof t);
    t.peak_run = -1;
    const ncsn_sweep_run **order = malloc(sizeof *order * (size_t)(s->n_runs + 1));
    double *free_at = calloc((size_t)z->ranks, sizeof(double));
    NCSN_ASSERT(order && free_at);
    int n = 0;
    for (int k = 0; k < s->n_runs; k++) {
        if (!ncsn_sweep_in_shard(o, &s->runs[k])) continue;
        order[n++] = &s->runs[k];
        t.trainings += (!by || by[k] == k) && s->runs[k].cfg.sample.score == NCSN_SCORE_MODEL;
        t.core_seconds += c[k].core_seconds;
        t.seconds += c[k].seconds;
        if (t.peak_run < 0 || c[k].mem.peak > t.peak) t.peak = c[k].mem.peak, t.peak_run = k;
    }
    t.runs = n;
    qsort(order, (size_t)n, sizeof *order, by_cost);
    double need = 0; /* the latest a run must be able to start and still pass the deadline */
    for (int i = 0; i < n; i++) { /* each run to the rank that is free first */
        int r = 0;
        for (int j = 1; j < z->ranks; j++)
            if (free_at[j] < free_at[r]) r = j;
        const double sec = c[order[i] - s->runs].seconds;
        if (free_at[r] + TIME_SAFETY * sec > need) need = free_at[r] + TIME_SAFETY * sec;
        free_at[r] += sec;
        if (free_at[r] > t.wall) t.wall = free_at[r];
    }
    t.time_limit = 60.0 * ceil((need + TIME_SLACK_SECONDS) / 60.0);
    t.mem_rank = MEM_SAFETY * (double)t.peak;
    t.mem_node = z->ranks * t.mem_rank + (z->mpi ? LAUNCHER_BYTES : 0);
    free(order);
    free(free_at);
    return t;
}

/* seconds as SLURM's [D-]HH:MM:SS */
static void slurm_time(double seconds, char *buf, size_t size) {
    long s = (long)ceil(seconds);
    const long days = s / 86400;
    s %= 86400;
    if (days) snprintf(buf, size, "%ld-%02ld:%02ld:%02ld", days, s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

/* bytes rounded up to whole MiB, as SLURM's "123M" */
static long mib_up(double bytes) { return (long)ceil(bytes / (1024.0 * 1024.0)); }

void sweep_cost_print(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                      const sweep_run_cost *c, const sweep_sizing *z) {
    const totals t = sum_up(s, o, c, z);
    if (t.runs == 0) return;
    char peak[64], wall[32], tl[32];
    ncsn_bytes_text(t.peak, peak, sizeof peak);
    slurm_time(t.wall, wall, sizeof wall);
    slurm_time(t.time_limit, tl, sizeof tl);
    fprintf(out, "total: %d runs, %d trainings, %.1f core-seconds (%.1f s on one rank of %d "
            "thread%s); peak memory %s (run %s, %s)\n", t.runs, t.trainings, t.core_seconds,
            t.seconds, z->threads,
            z->threads > 1 ? "s" : "", peak, s->runs[t.peak_run].id,
            ncsn_phase_name(c[t.peak_run].mem.peak_phase));
    fprintf(out, "%d rank%s of %d thread%s: about %s of wall time (calibration: %s)\n",
            z->ranks, z->ranks > 1 ? "s" : "", z->threads, z->threads > 1 ? "s" : "", wall,
            z->cal.source);
    fprintf(out, "sbatch --ntasks=%d --cpus-per-task=%d --mem=%ldM --time=%s   "
            "(ranks on several nodes: --mem-per-cpu=%ldM)\n", z->ranks, z->threads,
            mib_up(t.mem_node), tl, mib_up(t.mem_rank / z->threads));
}

static void json_string(FILE *out, const char *v) {
    fputc('"', out);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if ((unsigned char)*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

void sweep_cost_json(FILE *out, const ncsn_sweep *s, const ncsn_sweep_options *o,
                     const sweep_run_cost *c, const sweep_sizing *z) {
    const totals t = sum_up(s, o, c, z);
    fprintf(out, "{\"runs\": %d, \"trainings\": %d, \"ranks\": %d, \"threads_per_rank\": %d, "
            "\"calibration\": ", t.runs, t.trainings, z->ranks, z->threads);
    json_string(out, z->cal.source);
    fprintf(out, ",\n \"per_run\": [");
    int first = 1;
    for (int k = 0; k < s->n_runs; k++) {
        if (!ncsn_sweep_in_shard(o, &s->runs[k])) continue;
        const sweep_run_cost *r = &c[k];
        const int by_k = o->trained_by ? o->trained_by[k] : k;
        fprintf(out, "%s\n  {\"id\": \"%s\", \"trained_by\": \"%s\", \"peak_bytes\": %llu, "
                "\"peak_phase\": \"%s\", "
                "\"key\": \"%s\", \"seconds\": %.17g, \"train_seconds\": %.17g, "
                "\"core_seconds\": %.17g, \"phase_bytes\": {", first ? "" : ",", s->runs[k].id,
                s->runs[by_k].id,
                (unsigned long long)r->mem.peak, ncsn_phase_name(r->mem.peak_phase),
                r->mem.key ? r->mem.key : "", r->seconds, r->train_seconds, r->core_seconds);
        for (int i = 0; i < NCSN_N_PHASES; i++)
            fprintf(out, "%s\"%s\": %llu", i ? ", " : "", ncsn_phase_name(i),
                    (unsigned long long)r->mem.phase[i]);
        fprintf(out, "}}");
        first = 0;
    }
    char tl[32];
    slurm_time(t.time_limit, tl, sizeof tl);
    fprintf(out, "],\n \"total\": {\"core_seconds\": %.17g, \"seconds\": %.17g, "
            "\"peak_bytes\": %llu, \"peak_run\": \"%s\", \"wall_seconds\": %.17g},\n",
            t.core_seconds, t.seconds, (unsigned long long)t.peak,
            t.peak_run >= 0 ? s->runs[t.peak_run].id : "", t.wall);
    fprintf(out, " \"slurm\": {\"ntasks\": %d, \"cpus_per_task\": %d, \"mem\": \"%ldM\", "
            "\"mem_bytes\": %.0f, \"mem_per_cpu\": \"%ldM\", \"time\": \"%s\", "
            "\"time_seconds\": %.0f}}\n", z->ranks, z->threads, mib_up(t.mem_node), t.mem_node,
            mib_up(t.mem_rank / z->threads), tl, t.time_limit);
}
