/* sweep/runner.c: the runner of `ncsn sweep` (runner.h; the command's arguments and
 * listing are cli/sweep.c). Every MPI rank, rank 0 included, takes runs from
 * the expanded sweep (sweep.h), costliest first, and runs them one at a time with OpenMP
 * threads inside. A rank takes a run by creating DIR/claims/<id> with O_EXCL, so runs are
 * handed out dynamically with no messages and no coordinator: no rank waits while work
 * remains, and the same mechanism works without mpirun, across job-array tasks (--shard)
 * and after a restart. The directory layout is in summary.h.
 *
 * Train once, sample many (sweep.h, ncsn_sweep_trainings): of the runs that differ only in
 * sample.* keys, the first trains and the others sample the model in its run file
 * (ncsn_sample_model) once that file exists; ranks take the training runs first.
 *
 * Nothing is lost: run files are written atomically; running the same command again keeps
 * finished runs, forgets the claims of runs that were in flight, and runs what is left.
 * Results do not depend on the number of ranks: a run's random streams depend only on its
 * configuration (seed included; sweep.h).
 *
 * Stopping early (batch jobs, time limits): SIGUSR1, SIGTERM or SIGINT (common.h's stop
 * flag) stops every run in flight at its next training step or sampling level; the rank
 * gives the run back (removes its claim, journals `interrupted`), takes no new one, and
 * the sweep exits NCSN_EXIT_INTERRUPTED (3) once the summary is rewritten. With a deadline
 * (--deadline or NCSN_DEADLINE, Unix time), a rank does not start a run that its measured
 * speed says would end after it (for a run with a checkpoint, the work it has left;
 * journal `deferred`), and the sweep exits 3 too. A run
 * stopped by a signal leaves its state in DIR/checkpoints/<id>.h5 (run.h), as do its
 * periodic checkpoints (train.checkpoint_every, sample.checkpoint_every): whichever rank
 * takes it next resumes from there, and its file is bit for bit the one an uninterrupted
 * run writes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ncsn/common.h"
#include "ncsn/config.h"
#include "ncsn/io.h"
#include "ncsn/run.h"
#include "ncsn/runner.h"
#include "ncsn/summary.h"
#include "ncsn/sweep.h"
#include "ncsn/text.h"

#include "runner_internal.h"

/* ---- small helpers: paths, files, journal ---------------------------------------- */

static void path_of(char *buf, size_t size, const char *dir, const char *sub, const char *id,
                    const char *ext) {
    snprintf(buf, size, "%s/%s%s%s%s", dir, sub, id ? "/" : "", id ? id : "", ext ? ext : "");
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int make_dir(const char *path, ncsn_error *err) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        return ncsn_seterr(err, "%s: exists and is not a directory", path);
    }
    return ncsn_seterr(err, "%s: cannot create directory (%s)", path, strerror(errno));
}

/* Writes text to path atomically (ncsn_replace_file). */
static int write_text_atomic(const char *path, const char *text, ncsn_error *err) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    return ncsn_replace_file(path, tmp, -1, text, strlen(text), err);
}

/* Creates path with text unless it exists: 1 created, 0 it existed, -1 error. The file
 * appears whole (written under a temporary name, then hard-linked), so of several
 * processes starting at once (job-array tasks) exactly one creates it. Where hard links
 * are not supported, falls back to rename (then several may report "created"). */
static int create_text_once(const char *path, const char *text, ncsn_error *err) {
    char tmp[4250];
    snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid());
    if (write_text_atomic(tmp, text, err) != 0) return -1;
    int rc = 1;
    if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            rc = 0;
        } else if (rename(tmp, path) != 0) {
            rc = ncsn_seterr(err, "%s: cannot write (%s)", path, strerror(errno));
        }
    }
    unlink(tmp);
    return rc;
}

/* value as one journal value: as it is when it has no space, quote, backslash or control
 * character and is not empty; else in double quotes, with \\ and \" for a backslash
 * and a double quote inside and a control character (a newline) as a space, so that one
 * `key=value` line splits back into its pairs (Python: shlex.split). */
static void journal_value(char *buf, size_t size, const char *value) {
    size_t n = 0;
    int plain = value[0] != '\0';
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\'' || *p == '\\') plain = 0;
    if (!plain) buf[n++] = '"';
    for (const char *p = value; *p && n + 3 < size; p++) {
        if (!plain && (*p == '"' || *p == '\\')) buf[n++] = '\\';
        buf[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    if (!plain) buf[n++] = '"';
    buf[n] = '\0';
}

/* One line "time=... event=... rest" appended with a single write(), so lines from
 * several ranks never interleave. Values that may hold spaces or quotes go through
 * journal_value. */
static void journal_v(const char *dir, const char *event, const char *fmt, va_list ap) {
    char path[4200], line[2048], when[32];
    path_of(path, sizeof path, dir, "journal.log", NULL, NULL);
    ncsn_iso_time(when, sizeof when);
    int n = snprintf(line, sizeof line, "time=%s event=%s ", when, event);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) {
        fprintf(stderr, "ncsn sweep: %s: cannot append (%s)\n", path, strerror(errno));
        return;
    }
    if (write(fd, line, (size_t)n) != n)
        fprintf(stderr, "ncsn sweep: %s: short write (%s)\n", path, strerror(errno));
    close(fd);
}

void ncsn_sweep_journal(const char *dir, const char *event, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    journal_v(dir, event, fmt, ap);
    va_end(ap);
}

/* The stop signal's name without "SIG" for the journal ("USR1"; "other" when unknown). */
static const char *journal_signal(void) {
    const char *name = ncsn_stop_signal_name();
    return strncmp(name, "SIG", 3) == 0 ? name + 3 : "other";
}

/* Seconds since the epoch, for deadlines. */
static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the state of every run, read from the directory ------------------------------ */

int ncsn_sweep_in_shard(const ncsn_sweep_options *a, const ncsn_sweep_run *r) {
    return a->shard_n <= 1 || (int)(r->index % (uint32_t)a->shard_n) == a->shard_i;
}

typedef struct {
    int counts[4];      /* by ncsn_run_state, over this invocation's shard */
    double cost_left;   /* queued and running */
} sweep_census;

/* From one listing of the directory (ncsn_sweep_states); a directory that cannot be read
 * counts every run as queued. */
static sweep_census census(const char *dir, const ncsn_sweep *s, const ncsn_sweep_options *a) {
    sweep_census c;
    memset(&c, 0, sizeof c);
    unsigned char *state = ncsn_xcalloc((size_t)s->n_runs + 1, 1);
    ncsn_error err;
    if (ncsn_sweep_states(dir, s, state, NULL, &err) != 0)
        memset(state, NCSN_RUN_QUEUED, (size_t)s->n_runs);
    for (int k = 0; k < s->n_runs; k++) {
        if (!ncsn_sweep_in_shard(a, &s->runs[k])) continue;
        const int st = state[k];
        c.counts[st]++;
        if (st == NCSN_RUN_QUEUED || st == NCSN_RUN_RUNNING) c.cost_left += s->runs[k].cost;
    }
    free(state);
    return c;
}

/* ---- progress: rank 0 prints one line whenever the census changes ----------------- */

typedef struct {
    const char *dir;
    const ncsn_sweep *s;
    const ncsn_sweep_options *a;
    double t0;
    int done_at_start;
    double cost_at_start;
    sweep_census last;
    double last_check;
    FILE *log;          /* the current run's log, for the run's own progress */
    ncsn_summary *summary; /* rank 0: sweep.h5's rows, kept between rewrites; else NULL */
    double summary_at, summary_took; /* when the last rewrite ended, and what it took */
} progress_state;

static void fmt_duration(char *buf, size_t size, double seconds) {
    if (!isfinite(seconds) || seconds < 0) snprintf(buf, size, "?");
    else if (seconds < 120) snprintf(buf, size, "%.0fs", seconds);
    else if (seconds < 7200)
        snprintf(buf, size, "%.0fm%02.0fs", floor(seconds / 60), fmod(seconds, 60));
    else snprintf(buf, size, "%.0fh%02.0fm", floor(seconds / 3600), fmod(seconds, 3600) / 60);
}

static void print_progress(progress_state *p, int force) {
    double now = ncsn_now();
    if (!force && now - p->last_check < 2.0) return;
    p->last_check = now;
    sweep_census c = census(p->dir, p->s, p->a);
    if (!force && memcmp(c.counts, p->last.counts, sizeof c.counts) == 0) return;
    p->last = c;
    double elapsed = now - p->t0;
    int finished = c.counts[NCSN_RUN_FINISHED] + c.counts[NCSN_RUN_FAILED] - p->done_at_start;
    double cost_done = p->cost_at_start - c.cost_left;
    double rate = elapsed > 0 ? 3600.0 * finished / elapsed : 0;
    double eta = cost_done > 0 ? c.cost_left * elapsed / cost_done : NAN;
    char eta_s[32];
    const int left = c.counts[NCSN_RUN_QUEUED] + c.counts[NCSN_RUN_RUNNING];
    fmt_duration(eta_s, sizeof eta_s, left == 0 ? 0 : eta);
    fprintf(stderr, "sweep done=%d failed=%d running=%d queued=%d runs_per_hour=%.1f eta=%s\n",
            c.counts[NCSN_RUN_FINISHED], c.counts[NCSN_RUN_FAILED], c.counts[NCSN_RUN_RUNNING],
            c.counts[NCSN_RUN_QUEUED], rate, eta_s);
    fflush(stderr);
}

/* A rewrite of sweep.h5 is due when the time since the last one is at least this many
 * times what the last one took: its cost stays under 1/(1 + SUMMARY_SPACING) of rank 0's
 * time whatever the sweep's size (a rewrite that takes 2 ms happens after every run of a
 * small sweep, one of 1 s every 10 s or so at 10^5 runs). */
#define SUMMARY_SPACING 10.0

enum summary_when {
    SUMMARY_IF_DUE, /* from the rows kept, when due; skipped when another process waits */
    SUMMARY_NOW,    /* from the rows kept (the first call reads every run file) */
    SUMMARY_FRESH,  /* from scratch, every run file read: the end of an invocation */
};

/* Rank 0 rewrites sweep.h5 (the other ranks never do): from the rows it keeps
 * (ncsn_summary_update: only the runs that changed are read), or from scratch. */
static void refresh_summary(progress_state *p, enum summary_when when) {
    if (!p->summary) return;
    const double now = ncsn_now();
    if (when == SUMMARY_IF_DUE && now - p->summary_at < SUMMARY_SPACING * p->summary_took)
        return;
    ncsn_error err;
    int rc = when == SUMMARY_FRESH
                 ? ncsn_sweep_summary_write(p->dir, p->s, &err)
                 : ncsn_summary_update(p->summary, p->dir, when == SUMMARY_IF_DUE, &err);
    if (rc != 0) fprintf(stderr, "ncsn sweep: summary: %s\n", err.msg);
    p->summary_at = ncsn_now();
    p->summary_took = p->summary_at - now;
}

/* A run's progress goes to its log; on rank 0 it is also the moment to report the sweep. */
static void run_progress(const char *phase, int64_t done, int64_t total, double rate,
                         const char *extra, void *user) {
    progress_state *p = user;
    ncsn_progress_stderr(phase, done, total, rate, extra, p->log);
    if (p->a && !p->a->quiet) print_progress(p, 0);
    refresh_summary(p, SUMMARY_IF_DUE); /* rank 0: other ranks' runs end during its own */
}

/* ---- MPI --------------------------------------------------------------------------- */

static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
           getenv("PMI_SIZE");
}

void ncsn_world_start(ncsn_world *w, int *argc, char ***argv) {
    memset(w, 0, sizeof *w);
    w->size = w->local_size = 1;
    if (gethostname(w->host, sizeof w->host - 1) != 0) strcpy(w->host, "unknown");
    if (!launched_by_mpi()) return;
    MPI_Init(argc, argv);
    w->use_mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &w->local_size);
    MPI_Comm_free(&local);
}

/* Waits for every rank without spinning: a non-blocking barrier polled every 50 ms.
 * While it waits, rank 0 reports the sweep's progress and keeps sweep.h5 up to date. */
static void world_wait(ncsn_world *w, progress_state *p) {
    if (!w->use_mpi) return;
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    for (;;) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) break;
        if (p && p->a && !p->a->quiet) print_progress(p, 0);
        if (p) refresh_summary(p, SUMMARY_IF_DUE);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The largest of every rank's value. */
static int world_max(ncsn_world *w, int value) {
    int worst = value;
    if (w->use_mpi) MPI_Allreduce(&value, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

/* Rank 0's verdict (an exit status) shared with every rank. */
int ncsn_world_share(const ncsn_world *w, int status) {
    if (w->use_mpi) MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return status;
}

int ncsn_world_end(ncsn_world *w, int status) {
    if (w->use_mpi) {
        int worst = status;
        MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MPI_Finalize();
        return worst;
    }
    return status;
}

/* Without OMP_NUM_THREADS, ranks sharing a node share its cores. */
static void choose_threads(const ncsn_world *w) {
#ifdef _OPENMP
    if (getenv("OMP_NUM_THREADS") || w->local_size <= 1) return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores / w->local_size);
    omp_set_num_threads(t >= 1 ? t : 1);
#else
    (void)w;
#endif
}

/* ---- preparing the directory (rank 0) ----------------------------------------------- */

/* DIR/SUB/<id>.h5.tmp.*: what a killed process was writing when it died. */
static void remove_temporaries(const char *dir, const char *sub, const char *id) {
    char d[4200], prefix[300];
    path_of(d, sizeof d, dir, sub, NULL, NULL);
    snprintf(prefix, sizeof prefix, "%s.h5.tmp.", id);
    ncsn_remove_prefixed(d, prefix);
}

int ncsn_sweep_own_dir(const char *dir, const char *canonical, const char *const *ids,
                       int n_ids, ncsn_error *err) {
    char p[4200];
    if (make_dir(dir, err) != 0) return NCSN_EXIT_RUNTIME;
    path_of(p, sizeof p, dir, "sweep.txt", NULL, NULL);
    char *have;
    ncsn_read_file(p, &have, NULL, NULL); /* NULL: none yet */
    if (have && strcmp(have, canonical) != 0) {
        free(have);
        ncsn_seterr(err, "%s holds a different sweep (see %s); use a new output directory", dir, p);
        return NCSN_EXIT_USAGE;
    }
    if (!have) {
        int created = create_text_once(p, canonical, err);
        if (created < 0) return NCSN_EXIT_RUNTIME;
        if (created && ids) {
            ncsn_sweep_journal(dir, "created", "runs=%d", n_ids);
            for (int k = 0; ids && k < n_ids; k++)
                ncsn_sweep_journal(dir, "queued", "id=%s", ids[k]);
        } else if (ncsn_read_file(p, &have, NULL, NULL) != 0 || strcmp(have, canonical) != 0) {
            /* another process created it a moment ago */
            free(have);
            ncsn_seterr(err, "%s holds a different sweep (see %s); use a new output directory",
                        dir, p);
            return NCSN_EXIT_USAGE;
        }
    }
    free(have);
    return 0;
}

static int prepare_dir(const char *dir, const ncsn_sweep *s, const ncsn_sweep_options *a,
                       ncsn_error *err) {
    char p[4200];
    if (make_dir(dir, err) != 0) return NCSN_EXIT_RUNTIME;
    const char *subs[] = {"runs", "logs", "claims", "checkpoints", "states"};
    for (int i = 0; i < (a->keep_states ? 5 : 4); i++) {
        path_of(p, sizeof p, dir, subs[i], NULL, NULL);
        if (make_dir(p, err) != 0) return NCSN_EXIT_RUNTIME;
    }
    const char **ids = ncsn_xmalloc(sizeof *ids * (size_t)(s->n_runs ? s->n_runs : 1));
    for (int k = 0; k < s->n_runs; k++) ids[k] = s->runs[k].id;
    const int own = ncsn_sweep_own_dir(dir, s->canonical, ids, s->n_runs, err);
    free(ids);
    if (own != 0) return own;
    /* Runs that were in flight when an earlier invocation stopped start again; failed
     * runs too with --retry-failed. Only this shard's runs are touched. */
    for (int k = 0; k < s->n_runs; k++) {
        const ncsn_sweep_run *r = &s->runs[k];
        if (!ncsn_sweep_in_shard(a, r)) continue;
        ncsn_run_state st = ncsn_sweep_run_state(dir, r->id);
        char claim[4200];
        path_of(claim, sizeof claim, dir, "claims", r->id, NULL);
        if (st == NCSN_RUN_RUNNING) {
            unlink(claim);
            remove_temporaries(dir, "runs", r->id);
            remove_temporaries(dir, "checkpoints", r->id);
            ncsn_sweep_journal(dir, "requeued", "id=%s reason=in_flight_when_the_sweep_stopped",
                               r->id);
        } else if (st == NCSN_RUN_FINISHED) {
            /* a run file that cannot be read is no finished run: set aside, run again */
            char aside[256];
            char *why = ncsn_sweep_set_aside_corrupt(dir, s, k, aside, sizeof aside);
            if (why) {
                char reason[2048];
                journal_value(reason, sizeof reason, why);
                ncsn_sweep_journal(dir, "corrupt", "id=%s moved_to=%s reason=%s", r->id,
                        aside[0] ? aside : "none", reason);
                if (aside[0])
                    ncsn_sweep_journal(dir, "requeued", "id=%s reason=corrupt_run_file", r->id);
                free(why);
            }
            /* a checkpoint left by a stop between write and removal */
            path_of(p, sizeof p, dir, "checkpoints", r->id, ".h5");
            unlink(p);
        } else if (st == NCSN_RUN_FAILED && a->retry_failed) {
            path_of(p, sizeof p, dir, "runs", r->id, ".failed");
            unlink(p);
            path_of(p, sizeof p, dir, "runs", r->id, ".h5");
            unlink(p);
            unlink(claim);
            ncsn_sweep_journal(dir, "requeued", "id=%s reason=retry_failed", r->id);
        }
    }
    path_of(p, sizeof p, dir, "STOP", NULL, NULL);
    unlink(p);
    return NCSN_EXIT_OK;
}

/* ---- running ------------------------------------------------------------------------- */

static int claim(const char *dir, const char *id, const ncsn_world *w) {
    char p[4200];
    path_of(p, sizeof p, dir, "claims", id, NULL);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 0;
    char line[512];
    int n = snprintf(line, sizeof line, "rank=%d host=%s pid=%ld\n", w->rank, w->host,
                     (long)getpid());
    if (write(fd, line, (size_t)n) != n) { /* the claim holds even if the note is short */
    }
    close(fd);
    return 1;
}

enum run_outcome { RUN_COMPLETE, RUN_FAILED, RUN_INTERRUPTED };

/* What a run does: train (and sample its own configuration), sample the model another run
 * trained, or sample the exact score (train nothing). */
typedef struct {
    const char *kind;   /* "train", "sample" or "exact" (the journal's kind=) */
    const char *model;  /* sample: the id of the run whose file holds the model */
    int shares;         /* train: how many other runs sample this run's model */
} run_kind;

/* Runs one configuration, run k of the sweep (claimed by this rank). An interrupted run is
 * given back: its claim is removed, so it is queued again, and nothing else of it remains
 * but its log. */
static enum run_outcome run_one(const char *dir, const ncsn_sweep_options *a,
                                const ncsn_sweep_run *r, int k, const ncsn_world *w,
                                progress_state *p, const run_kind *kind, double *seconds_out) {
    char log_path[4200], out[4200], failed[4200], checkpoint[4200], state[4200];
    path_of(log_path, sizeof log_path, dir, "logs", r->id, ".log");
    path_of(out, sizeof out, dir, "runs", r->id, ".h5");
    path_of(failed, sizeof failed, dir, "runs", r->id, ".failed");
    path_of(checkpoint, sizeof checkpoint, dir, "checkpoints", r->id, ".h5");
    path_of(state, sizeof state, dir, "states", r->id, ".h5");
    const int has_checkpoint = exists(checkpoint);
    /* halving: a training continues the shorter one of the rung before (without that
     * state, it trains from step 0 to the same bits, and its log says so) */
    const char *from = a->train_from && !kind->model && !strcmp(kind->kind, "train")
                           ? a->train_from[k] : NULL;
    const int from_exists = from && exists(from);
    char model[4200], what[4400];
    if (kind->model) {
        path_of(model, sizeof model, dir, "runs", kind->model, ".h5");
        snprintf(what, sizeof what, "kind=sample model=runs/%s.h5", kind->model);
    } else if (!strcmp(kind->kind, "train")) {
        snprintf(what, sizeof what, "kind=train shares=%d%s%s", kind->shares,
                 from_exists ? " continues=" : "", from_exists ? from : "");
    } else {
        snprintf(what, sizeof what, "kind=%s", kind->kind);
    }
    ncsn_sweep_journal(dir, "started", "id=%s rank=%d host=%s pid=%ld%s%s%s %s", r->id, w->rank,
                       w->host, (long)getpid(), has_checkpoint ? " resume=checkpoints/" : "",
                       has_checkpoint ? r->id : "", has_checkpoint ? ".h5" : "", what);
    FILE *log = fopen(log_path, "a");
    if (log) {
        char *yaml = ncsn_config_to_yaml(&r->cfg);
        char when[32];
        ncsn_iso_time(when, sizeof when);
        fprintf(log, "# %s run %s on rank %d (%s), seed %llu\n%s", when, r->id, w->rank,
                w->host, (unsigned long long)r->cfg.seed, yaml);
        free(yaml);
        fflush(log);
    }
    p->log = log;
    ncsn_run_options opt = {0, run_progress, p, log, checkpoint, from,
                            a->keep_states ? state : NULL};
    ncsn_error err = {{0}};
    double t0 = ncsn_now();
    const ncsn_outcome o = kind->model ? ncsn_sample_model(model, &r->cfg, out, &opt, &err)
                                       : ncsn_run_outcome(&r->cfg, out, &opt, &err);
    double seconds = ncsn_now() - t0;
    *seconds_out = seconds;
    enum run_outcome outcome = o == NCSN_OUTCOME_COMPLETE ? RUN_COMPLETE : RUN_FAILED;
    if (o == NCSN_OUTCOME_COMPLETE) {
        ncsn_sweep_journal(dir, "finished", "id=%s rank=%d status=complete seconds=%.4f kind=%s",
                           r->id, w->rank, seconds, kind->kind);
    } else if (o == NCSN_OUTCOME_INTERRUPTED) {
        outcome = RUN_INTERRUPTED;
        char claim_path[4200];
        path_of(claim_path, sizeof claim_path, dir, "claims", r->id, NULL);
        unlink(claim_path);
        const int saved = exists(checkpoint);
        ncsn_sweep_journal(dir, "interrupted", "id=%s reason=signal signal=%s rank=%d "
                           "seconds=%.4f%s%s%s", r->id, journal_signal(), w->rank, seconds,
                           saved ? " checkpoint=checkpoints/" : "", saved ? r->id : "",
                           saved ? ".h5" : "");
        if (log) fprintf(log, "interrupted: %s\n", err.msg);
    } else {
        /* diverged and non-finite runs have a run file with their status; every failure
         * leaves runs/<id>.failed with the reason */
        ncsn_error werr;
        char text[1200];
        snprintf(text, sizeof text, "%s\n", err.msg);
        if (write_text_atomic(failed, text, &werr) != 0)
            fprintf(stderr, "ncsn sweep: %s\n", werr.msg);
        char reason[2 * sizeof err.msg + 3];
        journal_value(reason, sizeof reason, err.msg);
        ncsn_sweep_journal(dir, "failed", "id=%s rank=%d status=%s seconds=%.4f kind=%s "
                           "reason=%s", r->id, w->rank, ncsn_outcome_status(o), seconds,
                           kind->kind, reason);
        if (log) fprintf(log, "failed: %s\n", err.msg);
    }
    if (log) fclose(log);
    p->log = NULL;
    return outcome;
}

/* A run in the order ranks take them: the runs that train (or need no training) first,
 * then the runs that sample another's model; each part costliest first. */
typedef struct {
    const ncsn_sweep_run *r;
    int samples;        /* it samples another run's model (trained_by[k] != k) */
    double cost;        /* its cost model's work: a sampling run's sampling alone */
} job;

static int by_job(const void *x, const void *y) {
    const job *a = x, *b = y;
    if (a->samples != b->samples) return a->samples - b->samples;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    return a->r->index < b->r->index ? -1 : a->r->index > b->r->index;
}

/* The share of run r's work left: 1, less what its checkpoint (if any) says is done.
 * sampling_only: r samples a model trained already, and sampling is all its work. */
static double share_left(const char *dir, const ncsn_sweep_run *r, int sampling_only) {
    char p[4200];
    path_of(p, sizeof p, dir, "checkpoints", r->id, ".h5");
    double train_done, sample_done;
    if (r->cost <= 0 || !exists(p) || ncsn_checkpoint_progress(p, &train_done, &sample_done) != 0)
        return 1;
    if (sampling_only) return 1 - sample_done;
    const double train = r->train_cost, sample = r->cost - r->train_cost;
    return (train * (1 - train_done) + sample * (1 - sample_done)) / r->cost;
}

/* Why a rank stopped taking runs early; ranks agree on the largest. */
enum stop_reason { STOP_NONE = 0, STOP_DEADLINE = 1, STOP_SIGNAL = 2 };

/* A deadline's margin: a run is started only if its estimated duration times this fits. */
#define DEADLINE_SAFETY 1.25

typedef struct {
    int failures;             /* runs this rank saw fail */
    enum stop_reason stopped;
} work_result;

/* What this rank knows of a run in the order (worker.seen). */
enum { SEEN_OPEN = 0, SEEN_DONE, SEEN_DEFERRED };

/* One rank's taking of runs (work). */
typedef struct {
    const char *dir;
    const ncsn_sweep *s;
    const ncsn_sweep_options *a;
    const ncsn_world *w;
    progress_state *p;
    job *order;                 /* (n_runs) */
    int *pos_of;                /* (n_runs) a run's place in order, by its index in s->runs */
    int *shares;                /* (n_runs) how many other runs sample each run's model */
    unsigned char *at_start;    /* (n_runs) ncsn_run_state when this rank started */
    unsigned char *seen;        /* (n_runs, by place in order) SEEN_* */
    int pos;                    /* every place before it is SEEN_DONE or SEEN_DEFERRED */
    char stop[4200];            /* DIR/STOP (--fail-fast) */
    double model_done, seconds_done; /* over this rank's complete runs */
    int quiet;                  /* a run the model rules out may be passed over quietly */
    int passed_over;            /* and one was */
    int fallback;               /* the place of the first run passed over, or -1 */
    work_result res;
} worker;

enum take { TAKE_NONE, TAKE_RAN, TAKE_WAIT, TAKE_STOP };

/* Run k's trainer, when k samples another's model, and that run's state now (FINISHED: its
 * file holds the model; FAILED: k trains itself; else it is still to come). */
/* A failed trainer whose run file still holds its trained model (bad_samples: the samples
 * went wrong, not the training) serves its group all the same. */
static int trainer_has_model(const worker *wk, int first) {
    char path[4200];
    path_of(path, sizeof path, wk->dir, "runs", wk->s->runs[first].id, ".h5");
    return ncsn_run_file_has_model(path);
}

static int trainer_of(const worker *wk, int k, ncsn_run_state *state) {
    const int first = wk->a->trained_by ? wk->a->trained_by[k] : k;
    if (first != k) *state = ncsn_sweep_run_state(wk->dir, wk->s->runs[first].id);
    return first;
}

/* Takes the run at place i if it is this rank's to take: a run that samples another's model
 * waits for that model (TAKE_WAIT); with a deadline, a run that would not end before it is
 * passed over (quietly, until this rank has run something) or deferred; forced: the run
 * passed over first, which runs all the same. */
static enum take take(worker *wk, int i, int forced) {
    const ncsn_sweep *s = wk->s;
    const ncsn_sweep_options *a = wk->a;
    const ncsn_sweep_run *r = wk->order[i].r;
    const int k = (int)(r - s->runs);
    if (ncsn_stop_requested()) {
        wk->res.stopped = STOP_SIGNAL;
        return TAKE_STOP;
    }
    if (a->fail_fast && exists(wk->stop)) return TAKE_STOP;
    if (!ncsn_sweep_in_shard(a, r) || wk->at_start[k] != NCSN_RUN_QUEUED) {
        wk->seen[i] = SEEN_DONE;
        return TAKE_NONE;
    }
    ncsn_run_state trainer_state = NCSN_RUN_FINISHED;
    const int first = trainer_of(wk, k, &trainer_state);
    run_kind kind = {r->cfg.sample.score == NCSN_SCORE_EXACT ? "exact" : "train", NULL,
                     wk->shares[k]};
    if (first != k) {
        const int fi = wk->pos_of[first];
        if (trainer_state == NCSN_RUN_QUEUED || trainer_state == NCSN_RUN_RUNNING) {
            if (wk->seen[fi] == SEEN_DEFERRED) { /* the model will not come before then */
                ncsn_sweep_journal(wk->dir, "deferred", "id=%s rank=%d reason=deadline "
                                   "trainer=%s", r->id, wk->w->rank, s->runs[first].id);
                wk->seen[i] = SEEN_DEFERRED;
                if (wk->res.stopped < STOP_DEADLINE) wk->res.stopped = STOP_DEADLINE;
                return TAKE_NONE;
            }
            if (trainer_state == NCSN_RUN_QUEUED && wk->seen[fi] == SEEN_DONE) {
                /* given back by the rank that took it: this rank may take it */
                wk->seen[fi] = SEEN_OPEN;
                wk->at_start[first] = NCSN_RUN_QUEUED;
                if (fi < wk->pos) wk->pos = fi;
            }
            return TAKE_WAIT;
        }
        if (trainer_state == NCSN_RUN_FINISHED || trainer_has_model(wk, first))
            kind = (run_kind){"sample", s->runs[first].id, 0};
        /* else its trainer failed before it had a model: it trains its own (the same bits) */
    }
    const double model = a->estimate ? a->estimate[k] : 0;
    const double model_left =
        a->deadline > 0 ? model * share_left(wk->dir, r, kind.model != NULL) : model;
    if (a->deadline > 0) {
        const double left = a->deadline - unix_now();
        const int measured = wk->seconds_done > 0 && wk->model_done > 0;
        const double estimate =
            DEADLINE_SAFETY * model_left * (measured ? wk->seconds_done / wk->model_done : 1);
        if (wk->quiet && !forced && left > 0 && estimate > left) {
            if (wk->fallback < 0) wk->fallback = i; /* maybe a smaller run fits */
            wk->passed_over = 1;
            if (wk->res.stopped < STOP_DEADLINE) wk->res.stopped = STOP_DEADLINE;
            return TAKE_NONE;
        }
        if (left <= 0 || (!forced && estimate > left)) {
            ncsn_sweep_journal(wk->dir, "deferred", "id=%s rank=%d reason=deadline "
                               "estimate_seconds=%.1f seconds_left=%.1f", r->id, wk->w->rank,
                               estimate, left);
            wk->seen[i] = SEEN_DEFERRED;
            if (wk->res.stopped < STOP_DEADLINE) wk->res.stopped = STOP_DEADLINE;
            return TAKE_NONE;
        }
    }
    wk->seen[i] = SEEN_DONE;
    if (!claim(wk->dir, r->id, wk->w)) return TAKE_NONE;
    if (ncsn_sweep_run_state(wk->dir, r->id) != NCSN_RUN_RUNNING)
        return TAKE_NONE; /* done meanwhile */
    double seconds = 0;
    const enum run_outcome outcome = run_one(wk->dir, a, r, k, wk->w, wk->p, &kind, &seconds);
    if (outcome == RUN_INTERRUPTED) {
        wk->res.stopped = STOP_SIGNAL;
        return TAKE_STOP;
    }
    if (outcome == RUN_COMPLETE) { /* a resumed run did only the work it had left */
        wk->model_done += model_left;
        wk->seconds_done += seconds;
    }
    wk->quiet = 0;
    wk->res.failures += outcome == RUN_FAILED;
    refresh_summary(wk->p, SUMMARY_IF_DUE);
    if (wk->w->rank == 0 && !a->quiet) print_progress(wk->p, 0);
    if (outcome == RUN_FAILED && a->fail_fast) {
        ncsn_error err;
        write_text_atomic(wk->stop, r->id, &err);
        ncsn_sweep_journal(wk->dir, "stopping", "reason=fail_fast id=%s", r->id);
        return TAKE_STOP;
    }
    return TAKE_RAN;
}

/* A rank with nothing to take but runs waiting for models other ranks are training: 50 ms
 * (rank 0 reports the sweep meanwhile). */
static void wait_for_models(progress_state *p) {
    if (p->a && !p->a->quiet) print_progress(p, 0);
    refresh_summary(p, SUMMARY_IF_DUE);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Takes runs until none is left, a failure under --fail-fast, or a stop signal: the runs
 * that train first (costliest first), then the runs that sample a model another run
 * trained, each once that model's run file exists (costliest first; a run whose trainer
 * failed trains its own). After each run the order is looked at again from its first open
 * place, so a model that appeared meanwhile is sampled before a rank waits. A rank waits
 * only when every run left waits for a model that another rank is training.
 * With a deadline, skips (defers) runs that would not end before it: a run's estimate is the
 * cost model's seconds (a->estimate, resources.h) of the work it has left, scaled by the
 * ratio of measured to estimated seconds over this rank's complete runs so far once it has
 * some. Until this rank has run something, a run the model rules out is passed over quietly
 * for a smaller one; if none fits, the first of them runs all the same (every start makes
 * progress), and the runs passed over are looked at again. A run whose model this rank
 * deferred is deferred too.
 * What each run costs the file system here: the directory is listed once (two readdirs)
 * when the rank starts, so a run that was finished, failed or taken then costs nothing;
 * any other run one create of its claim (O_EXCL), which fails when another rank has it;
 * a run that samples another's model three stat() calls each time it is looked at while
 * that model is on its way; a run this rank takes three stat() calls more (its state,
 * checked again), its log, two journal lines, its checkpoint probe and its run file. */
static work_result work(const char *dir, const ncsn_sweep *s, const ncsn_sweep_options *a,
                        const ncsn_world *w, progress_state *p) {
    const int n = s->n_runs;
    const size_t cells = (size_t)(n ? n : 1);
    worker wk = {dir, s, a, w, p, ncsn_xmalloc(sizeof(job) * cells),
                 ncsn_xmalloc(sizeof(int) * cells), ncsn_xcalloc(cells, sizeof(int)),
                 ncsn_xcalloc(cells, 1), ncsn_xcalloc(cells, 1), 0, "", 0, 0, 1, 0, -1,
                 {0, STOP_NONE}};
    for (int k = 0; k < n; k++) {
        const ncsn_sweep_run *r = &s->runs[k];
        const int first = a->trained_by ? a->trained_by[k] : k;
        if (first != k) wk.shares[first]++;
        wk.order[k] = (job){r, first != k, first != k ? r->cost - r->train_cost : r->cost};
    }
    qsort(wk.order, (size_t)n, sizeof *wk.order, by_job);
    for (int i = 0; i < n; i++) wk.pos_of[wk.order[i].r - s->runs] = i;
    path_of(wk.stop, sizeof wk.stop, dir, "STOP", NULL, NULL);
    ncsn_error lerr; /* unread: NCSN_RUN_QUEUED, every run is tried */
    if (ncsn_sweep_states(dir, s, wk.at_start, NULL, &lerr) != 0)
        fprintf(stderr, "ncsn sweep: %s\n", lerr.msg);
    for (;;) {
        while (wk.pos < n && wk.seen[wk.pos] != SEEN_OPEN) wk.pos++;
        enum take t = TAKE_NONE;
        int waiting = 0;
        for (int i = wk.pos; i < n && t != TAKE_RAN && t != TAKE_STOP; i++) {
            if (wk.seen[i] != SEEN_OPEN) continue;
            t = take(&wk, i, 0);
            waiting |= t == TAKE_WAIT;
        }
        if (t == TAKE_STOP) break;
        if (t == TAKE_RAN) continue;
        if (wk.quiet && wk.passed_over) { /* nothing fitted: the first one passed over runs */
            wk.quiet = 0;                 /* all the same; then every run is looked at again */
            if (wk.fallback >= 0 && wk.seen[wk.fallback] == SEEN_OPEN &&
                take(&wk, wk.fallback, 1) == TAKE_STOP)
                break;
            continue;
        }
        if (!waiting) break;
        wait_for_models(p);
    }
    if (ncsn_stop_requested()) wk.res.stopped = STOP_SIGNAL; /* e.g. during the last run */
    free(wk.seen);
    free(wk.at_start);
    free(wk.shares);
    free(wk.pos_of);
    free(wk.order);
    return wk.res;
}

/* Rank 0's opening: the journal's sweep_started line, the first progress lines and the
 * summary. */
static void announce(const ncsn_sweep *s, const ncsn_sweep_options *a, const ncsn_world *w,
                     progress_state *prog, int todo) {
    char job[160] = "", when[64] = "";
    const char *job_id = getenv("SLURM_JOB_ID"), *restarts = getenv("SLURM_RESTART_COUNT");
    if (job_id)
        snprintf(job, sizeof job, " slurm_job=%.40s restart=%.20s", job_id,
                 restarts ? restarts : "0");
    if (a->deadline > 0)
        snprintf(when, sizeof when, " deadline=%.0f seconds_left=%.0f", a->deadline,
                 a->deadline - unix_now());
    ncsn_sweep_journal(a->dir, "sweep_started", "ranks=%d runs=%d todo=%d host=%s pid=%ld%s%s",
                       w->size, s->n_runs, todo, w->host, (long)getpid(), job, when);
    if (!a->quiet) {
        fprintf(stderr, "sweep dir=%s runs=%d todo=%d ranks=%d threads_per_rank=%d\n", a->dir,
                s->n_runs, todo, w->size, ncsn_max_threads());
        print_progress(prog, 1);
    }
    refresh_summary(prog, SUMMARY_NOW);
}

/* Rank 0's closing: the summary, the journal's sweep_ended line and the verdict. stopped:
 * the largest enum stop_reason of every rank. Returns the exit status. */
static int conclude(const ncsn_sweep *s, const ncsn_sweep_options *a, progress_state *prog,
                    int stopped) {
    int status = NCSN_EXIT_OK;
    refresh_summary(prog, SUMMARY_FRESH);
    sweep_census c = census(a->dir, s, a);
    const int left = c.counts[NCSN_RUN_QUEUED] + c.counts[NCSN_RUN_RUNNING];
    const char *why = !stopped || left == 0 ? ""
                      : stopped == STOP_SIGNAL ? " stopped=signal" : " stopped=deadline";
    ncsn_sweep_journal(a->dir, "sweep_ended", "done=%d failed=%d queued=%d%s",
                       c.counts[NCSN_RUN_FINISHED], c.counts[NCSN_RUN_FAILED], left, why);
    if (!a->quiet) print_progress(prog, 1);
    if (stopped && left > 0) {
        if (stopped == STOP_SIGNAL)
            fprintf(stderr, "ncsn sweep: interrupted by %s: %d runs left to do (the runs "
                    "in flight were given back); run the same command again to continue\n",
                    ncsn_stop_signal() ? ncsn_stop_signal_name() : "a signal to another rank",
                    left);
        else
            fprintf(stderr, "ncsn sweep: %d runs deferred: they would not end before the "
                    "deadline; run the same command again to continue\n", left);
        status = NCSN_EXIT_INTERRUPTED;
    } else if (c.counts[NCSN_RUN_FAILED] > 0 || left > 0) {
        fprintf(stderr, "ncsn sweep: %d of %d runs failed, %d not run; see %s/journal.log\n",
                c.counts[NCSN_RUN_FAILED],
                c.counts[NCSN_RUN_FINISHED] + c.counts[NCSN_RUN_FAILED] + left, left, a->dir);
        status = NCSN_EXIT_RUNTIME;
    }
    printf("%s/sweep.h5\n", a->dir);
    return status;
}

int ncsn_sweep_execute(const ncsn_sweep *s, const ncsn_sweep_options *a, ncsn_world *w) {
    choose_threads(w);
    ncsn_error err = {{0}};
    int status = NCSN_EXIT_OK;
    if (w->rank == 0) status = prepare_dir(a->dir, s, a, &err);
    if (ncsn_world_share(w, status) != NCSN_EXIT_OK) {
        if (w->rank == 0) fprintf(stderr, "ncsn sweep: %s\n", err.msg);
        return status;
    }
    progress_state prog;
    memset(&prog, 0, sizeof prog);
    prog.dir = a->dir;
    prog.s = s;
    prog.a = w->rank == 0 ? a : NULL; /* only rank 0 reports the sweep */
    prog.t0 = ncsn_now();
    if (w->rank == 0) { /* a bad swept key is found by ncsn_sweep_load: none here */
        prog.summary = ncsn_summary_new(s, &err);
        if (!prog.summary) fprintf(stderr, "ncsn sweep: summary: %s\n", err.msg);
    }
    const sweep_census c0 = census(a->dir, s, a);
    prog.done_at_start = c0.counts[NCSN_RUN_FINISHED] + c0.counts[NCSN_RUN_FAILED];
    prog.cost_at_start = c0.cost_left;
    if (w->rank == 0) announce(s, a, w, &prog, c0.counts[NCSN_RUN_QUEUED]);

    const work_result res = work(a->dir, s, a, w, &prog);
    world_wait(w, w->rank == 0 ? &prog : NULL);
    const int stopped = world_max(w, ncsn_stop_requested() ? STOP_SIGNAL : (int)res.stopped);
    if (w->rank == 0) status = conclude(s, a, &prog, stopped);
    ncsn_summary_free(prog.summary);
    return status;
}
