/* cli/sweep.c: `ncsn sweep`: its arguments, the run plan's and the memory's check of every
 * run before any work, the listing of --dry-run with each run's estimated memory and time
 * (cli/sweep_cost.c), then the runner (runner.h) over MPI ranks. */
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ncsn/cli.h"
#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/plan.h"
#include "ncsn/runner.h"
#include "ncsn/sweep.h"
#include "sweep_cost.h"

static const char *usage_sweep =
    "usage: ncsn sweep [SWEEP.yaml] [-s KEY=VALUE ...] -o DIR [options]\n"
    "       mpirun -n P ncsn sweep SWEEP.yaml -o DIR\n"
    "\n"
    "Runs every configuration of a sweep file (a run configuration in which any value may\n"
    "be a list, plus an optional `sweep:` block with mode, trials and repeats) and writes\n"
    "  DIR/runs/<id>.h5   one run file per configuration\n"
    "  DIR/logs/<id>.log  each run's progress\n"
    "  DIR/journal.log    every state change (queued, started, finished, failed,\n"
    "                     interrupted, deferred)\n"
    "  DIR/checkpoints/<id>.h5  the state of a run stopped part-way (removed when done)\n"
    "  DIR/sweep.h5       the table /runs and links /run/<id> to every run file\n"
    "Every MPI rank runs configurations, costliest first; OpenMP threads inside each.\n"
    "Runs that differ only in sample.* keys share one training: the first of them trains,\n"
    "the others sample the model in its run file once it exists (journal: kind=train,\n"
    "kind=sample), each run file the same as a separate `ncsn run` writes.\n"
    "sweep.mode: halving (sweep.rungs, sweep.keep, sweep.metric, sweep.sample_n) runs the\n"
    "grid by successive halving: rung k in DIR/rung<k>/ trains the configurations still in\n"
    "for its steps (continuing rung k-1's trainings), scores each by the mean metric over its\n"
    "repeats and promotes the best; DIR/rungs.tsv records the scores and promotions.\n"
    "Running the same command again continues: finished runs are kept, runs that were in\n"
    "flight resume from their checkpoints (or start again if they have none). A different\n"
    "sweep into an existing DIR is refused.\n"
    "\n"
    "SIGUSR1, SIGTERM or SIGINT stop the sweep cleanly: every rank stops its run at the\n"
    "next training step or sampling level, saves its state to DIR/checkpoints/<id>.h5,\n"
    "gives it back (journal: interrupted), takes no new run, and the sweep rewrites\n"
    "DIR/sweep.h5 and exits 3; the next invocation resumes the run where it stopped, with\n"
    "the same result as an uninterrupted run. Batch scripts requeue on exit 3 (jobs/).\n"
    "Against hard kills, set train.checkpoint_every (steps) and sample.checkpoint_every\n"
    "(levels) in the sweep file or with -s; they do not change results, so changing them\n"
    "does not make the sweep a different one.\n"
    "\n"
    "  -s, --set KEY=VALUE  override one key; a list sweeps it (-s train.lr=[1e-3,1e-4])\n"
    "  -o, --output DIR     the sweep directory (required)\n"
    "  --dry-run            validate every configuration, list them with each run's\n"
    "                       estimated peak memory and core-seconds and the run whose\n"
    "                       model it samples, the totals (runs, trainings) and the\n"
    "                       sbatch request (--mem, --time, tasks); run nothing\n"
    "  --ranks P            the dry run's ranks (default: the MPI ranks, 1 without mpirun)\n"
    "  --threads T          the dry run's threads per rank (default: OMP_NUM_THREADS, else\n"
    "                       this machine's cores / P)\n"
    "  --json               the dry run as one JSON object\n"
    "  --calibration FILE   the rates of the time estimates (`ncsn bench --calibrate`;\n"
    "                       default: NCSN_CALIBRATION, else built in)\n"
    "  --retry-failed       run the failed runs (failed, diverged, non-finite) again\n"
    "  --fail-fast          stop taking new runs after the first failure\n"
    "  --shard I/N          take only runs whose index is I modulo N (job arrays)\n"
    "  --deadline T         Unix time by which this invocation must end (default: the\n"
    "                       environment's NCSN_DEADLINE, if set): a rank does not start a\n"
    "                       run that, at the speed it measured on its earlier runs, would\n"
    "                       end after T (journal: deferred; its first run always starts\n"
    "                       unless T has passed)\n"
    "  -q, --quiet          no progress lines\n"
    "  -h, --help           this text\n"
    "\n"
    "A run whose estimated peak memory, times the ranks on a node, exceeds what the process\n"
    "may use (NCSN_MEMORY_LIMIT bytes, else the cgroup's limit, i.e. SLURM's --mem, else\n"
    "MemAvailable) is refused before any work (exit 2, naming the run and the key).\n"
    "\n"
    "Exit status: 0 every run complete, 1 some run failed or the sweep stopped early,\n"
    "2 usage or configuration error (nothing is run), 3 interrupted by a signal or runs\n"
    "deferred by --deadline: runs are left to do, and the same command continues.\n";

typedef struct {
    const char *file;
    ncsn_cli_sets sets;
    int dry_run, json;
    int ranks, threads;      /* --ranks, --threads (0: not given) */
    const char *calibration; /* --calibration */
    ncsn_sweep_options opt; /* dir, retry_failed, fail_fast, quiet, shard, deadline */
} sweep_cli;

/* A deadline: Unix time in seconds (fractions allowed); "" or "0" is none. */
static int parse_deadline(const char *what, const char *text, double *out) {
    char *end;
    errno = 0;
    double t = text[0] ? strtod(text, &end) : 0;
    if (text[0] && (errno != 0 || *end != '\0' || !isfinite(t) || t < 0)) {
        fprintf(stderr, "ncsn sweep: %s %s: expected a Unix time in seconds\n", what, text);
        return -1;
    }
    *out = t;
    return 0;
}

/* An option that takes a value: -s/--set, -o/--output, --shard, --deadline, --ranks,
 * --threads, --calibration. */
static int takes_value(const char *arg) {
    return !strcmp(arg, "-s") || !strcmp(arg, "--set") || !strcmp(arg, "-o") ||
           !strcmp(arg, "--output") || !strcmp(arg, "--shard") || !strcmp(arg, "--deadline") ||
           !strcmp(arg, "--ranks") || !strcmp(arg, "--threads") || !strcmp(arg, "--calibration");
}

/* A count of ranks or threads, 1 to 100000. */
static int parse_count(const char *opt, const char *val, int *out) {
    char *end;
    errno = 0;
    const long v = strtol(val, &end, 10);
    if (end == val || *end || errno || v < 1 || v > 100000) {
        fprintf(stderr, "ncsn sweep: %s %s: expected a whole number from 1 to 100000\n", opt, val);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Option arg with its value val. 0, or -1 after a usage error (reported). */
static int take_value(sweep_cli *a, const char *arg, const char *val, int *have_deadline) {
    ncsn_sweep_options *o = &a->opt;
    if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
        o->dir = val;
    } else if (!strcmp(arg, "--deadline")) {
        if (parse_deadline("--deadline", val, &o->deadline) != 0) return -1;
        *have_deadline = 1;
    } else if (!strcmp(arg, "--ranks")) {
        return parse_count(arg, val, &a->ranks);
    } else if (!strcmp(arg, "--threads")) {
        return parse_count(arg, val, &a->threads);
    } else if (!strcmp(arg, "--calibration")) {
        a->calibration = val;
    } else if (!strcmp(arg, "--shard")) {
        char tail;
        if (sscanf(val, "%d/%d%c", &o->shard_i, &o->shard_n, &tail) != 2 || o->shard_n < 1 ||
            o->shard_i < 0 || o->shard_i >= o->shard_n) {
            fprintf(stderr, "ncsn sweep: --shard %s: expected I/N with 0 <= I < N\n", val);
            return -1;
        }
    } else {
        return ncsn_cli_add_set("sweep", &a->sets, val);
    }
    return 0;
}

/* Returns 0, 1 when --help was printed, or -1 on a usage error (already reported). */
static int parse_args(int argc, char **argv, sweep_cli *a) {
    memset(a, 0, sizeof *a);
    ncsn_sweep_options *o = &a->opt;
    int have_deadline = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage_sweep, stdout);
            return 1;
        } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(arg, "--dry-run")) {
            a->dry_run = 1;
        } else if (!strcmp(arg, "--json")) {
            a->json = 1;
        } else if (!strcmp(arg, "--retry-failed")) {
            o->retry_failed = 1;
        } else if (!strcmp(arg, "--fail-fast")) {
            o->fail_fast = 1;
        } else if (takes_value(arg)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ncsn sweep: %s needs a value\n", arg);
                return -1;
            }
            if (take_value(a, arg, argv[++i], &have_deadline) != 0) return -1;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "ncsn sweep: unknown option %s (see ncsn sweep --help)\n", arg);
            return -1;
        } else if (ncsn_cli_not_an_override("sweep", arg) != 0) {
            return -1;
        } else if (!a->file) {
            a->file = arg;
        } else {
            fprintf(stderr, "ncsn sweep: unexpected argument %s\n", arg);
            return -1;
        }
    }
    if (!o->dir && !a->dry_run) {
        fprintf(stderr, "ncsn sweep: -o DIR is required (see ncsn sweep --help)\n");
        return -1;
    }
    const char *env = getenv("NCSN_DEADLINE");
    if (!have_deadline && env && parse_deadline("NCSN_DEADLINE", env, &o->deadline) != 0)
        return -1;
    return 0;
}

/* The value of key in c as flow YAML ("auto" for values still to be resolved). */
static void value_text(const ncsn_config *c, const char *key, char *buf, size_t size) {
    char *text = ncsn_config_key_to_yaml(c, ncsn_config_key_index(key));
    snprintf(buf, size, "%s", text ? text : "?");
    free(text);
}

/* Every run of the shard: its share of the sweep's work, seed, estimates, the run whose
 * model it samples ("-": it trains its own; "exact": none) and its swept values. */
static void list_runs(const ncsn_sweep *s, const ncsn_sweep_options *a,
                      const sweep_run_cost *cost) {
    double total = 0;
    int trainings = 0;
    for (int k = 0; k < s->n_runs; k++) {
        total += cost[k].core_seconds;
        trainings += ncsn_sweep_in_shard(a, &s->runs[k]) && a->trained_by[k] == k &&
                     s->runs[k].cfg.sample.score == NCSN_SCORE_MODEL;
    }
    printf("%d runs", s->n_runs);
    if (s->repeats > 1) printf(" (%d configurations x %d repeats)", s->n_runs / s->repeats, s->repeats);
    printf(", %d trainings, swept: ", trainings);
    for (int j = 0; j < s->n_swept; j++) printf("%s%s", j ? ", " : "", s->swept_keys[j]);
    printf("%s\n", s->n_swept ? "" : "nothing");
    printf("%-12s %8s %20s %10s %10s %-12s", "id", "cost%", "seed", "peak_MiB", "core_s",
           "model");
    for (int j = 0; j < s->n_swept; j++) printf("  %s", s->swept_keys[j]);
    printf("\n");
    for (int k = 0; k < s->n_runs; k++) {
        const ncsn_sweep_run *r = &s->runs[k];
        if (!ncsn_sweep_in_shard(a, r)) continue;
        const int by = a->trained_by[k];
        printf("%-12s %8.2f %20llu %10.1f %10.3f %-12s", r->id,
               total > 0 ? 100 * cost[k].core_seconds / total : 0,
               (unsigned long long)r->cfg.seed, (double)cost[k].mem.peak / (1024.0 * 1024.0),
               cost[k].core_seconds,
               r->cfg.sample.score == NCSN_SCORE_EXACT ? "exact"
               : by == k                              ? "-"
                                                      : s->runs[by].id);
        for (int j = 0; j < s->n_swept; j++) {
            char v[256];
            value_text(&r->cfg, s->swept_keys[j], v, sizeof v);
            printf("  %s", v);
        }
        printf("\n");
    }
}

/* The sweep file expanded (every run validated) and checked by the run plan for what can
 * fail before any work (Technique 2 without a solution). Rank 0 reports a failure. */
static int load_checked(ncsn_sweep *s, const sweep_cli *a, const ncsn_world *w) {
    ncsn_error err = {{0}};
    if (ncsn_sweep_load(s, a->file, a->sets.sets, a->sets.n, &err) != 0) {
        if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
        return NCSN_EXIT_USAGE;
    }
    for (int k = 0; k < s->n_runs; k++)
        if (ncsn_plan_check(&s->runs[k].cfg, s->runs[k].id, &err) != 0) {
            if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
            return NCSN_EXIT_USAGE;
        }
    return NCSN_EXIT_OK;
}

/* The sizing the estimates use: --ranks and --threads for a dry run, else this job's. */
static int sizing_of(const sweep_cli *a, const ncsn_world *w, sweep_sizing *z) {
    ncsn_error err = {{0}};
    if (ncsn_calibration_load(&z->cal, a->calibration, &err) != 0) {
        if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
        return NCSN_EXIT_USAGE;
    }
    z->ranks = a->ranks ? a->ranks : w->size;
    const int per_node = a->dry_run ? 1 : w->local_size;
    z->threads = a->threads ? a->threads
                 : getenv("OMP_NUM_THREADS") ? ncsn_max_threads()
                 : ncsn_max_threads() / per_node > 1 ? ncsn_max_threads() / per_node : 1;
    if (a->dry_run && !a->threads && !getenv("OMP_NUM_THREADS"))
        z->threads = ncsn_max_threads() / z->ranks > 1 ? ncsn_max_threads() / z->ranks : 1;
    z->mpi = w->use_mpi || z->ranks > 1;
    return NCSN_EXIT_OK;
}

/* load_checked, then which runs share a training (into a->opt.trained_by, malloc'd) and
 * every run's memory against what this process may use (for a dry run, only sizes that
 * overflow): every rank checks its own node and all agree. *cost gets every run's
 * estimates (the caller frees it). */
static int load(ncsn_sweep *s, sweep_cli *a, ncsn_world *w, const sweep_sizing *z,
                sweep_run_cost **cost) {
    int status = load_checked(s, a, w);
    *cost = NULL;
    if (status != NCSN_EXIT_OK) return status;
    int *trained_by = ncsn_xmalloc(sizeof(int) * (size_t)(s->n_runs ? s->n_runs : 1));
    ncsn_sweep_trainings(s, a->opt.shard_n, trained_by);
    a->opt.trained_by = trained_by;
    *cost = ncsn_xcalloc((size_t)(s->n_runs ? s->n_runs : 1), sizeof **cost);
    sweep_cost_of(s, z, trained_by, *cost);
    ncsn_error err = {{0}};
    if (sweep_cost_check(s, &a->opt, *cost, w->local_size, !a->dry_run, &err) != 0)
        status = NCSN_EXIT_USAGE;
    int worst = status;
    if (w->use_mpi) MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (status != NCSN_EXIT_OK) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
    else if (worst != NCSN_EXIT_OK && w->rank == 0)
        fprintf(stderr, "ncsn sweep: another rank's node has too little memory for the sweep\n");
    return worst;
}

int ncsn_cmd_sweep(int argc, char **argv) {
    ncsn_world w;
    ncsn_world_start(&w, &argc, &argv);
    ncsn_stop_install(); /* after MPI_Init, so that these handlers are ours */
    sweep_cli a;
    const int p = parse_args(argc, argv, &a);
    if (p != 0) return ncsn_world_end(&w, p > 0 ? NCSN_EXIT_OK : NCSN_EXIT_USAGE);
    ncsn_sweep s;
    memset(&s, 0, sizeof s);
    sweep_sizing z;
    sweep_run_cost *cost = NULL;
    int status = sizing_of(&a, &w, &z);
    if (status == NCSN_EXIT_OK) status = load(&s, &a, &w, &z, &cost);
    if (status == NCSN_EXIT_OK && a.dry_run) {
        if (w.rank == 0 && a.json && s.halving.on) {
            printf("{\"halving\": ");
            sweep_halving_print(stdout, &s, &a.opt, cost, &z, 1);
            printf(", \"grid\": ");
            sweep_cost_json(stdout, &s, &a.opt, cost, &z);
            printf("}\n");
        } else if (w.rank == 0 && a.json) {
            sweep_cost_json(stdout, &s, &a.opt, cost, &z);
        } else if (w.rank == 0) {
            if (s.halving.on) {
                sweep_halving_print(stdout, &s, &a.opt, cost, &z, 0);
                printf("every configuration at the last rung, as a grid (the halving runs "
                       "the promoted ones):\n");
            }
            list_runs(&s, &a.opt, cost);
            sweep_cost_print(stdout, &s, &a.opt, cost, &z);
        }
    } else if (status == NCSN_EXIT_OK) { /* the deadline planning's estimates */
        double *seconds = ncsn_xmalloc(sizeof(double) * (size_t)(s.n_runs ? s.n_runs : 1));
        for (int k = 0; k < s.n_runs; k++) seconds[k] = cost[k].seconds;
        a.opt.estimate = seconds;
        status = s.halving.on ? ncsn_halving_execute(&s, &a.opt, &w, sweep_halving_estimate, &z)
                              : ncsn_sweep_execute(&s, &a.opt, &w);
        free(seconds);
    }
    free(cost);
    free((int *)a.opt.trained_by);
    ncsn_sweep_free(&s);
    return ncsn_world_end(&w, status);
}
