/* cli/bench_sweep.c: `ncsn bench --sweep`: the real `ncsn sweep` of 4 configurations at
 * the notebook's full size, timed as a child process with P = 1 rank (all threads) and
 * P = 2 ranks (mpiexec, threads split), reported as runs per hour; and
 * `ncsn bench --sweep-overhead N,...`: the runner's own cost per run over sweeps of N
 * trivial runs (cli/bench.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ncsn/common.h"
#include "bench.h"

/* 4 configurations of sweeps/notebook-sweep.yaml (its sizes: 30000 steps, 5000 chains,
 * 100 levels x T 100), the eps and EMA axes, one seed. */
static const char *bench_sweep_yaml =
    "seed: 0\n"
    "dataset: {name: gmm, n: 1000, weights: [0.95, 0.05], means: [[-5, -5], [5, 5]], std: 1.0}\n"
    "model: {emb: 16, hidden: 128, sigma_input: sigma, scale_by_sigma: false}\n"
    "train: {steps: 30000, batch: 128, lr: 0.001, ema: [0, 0.999]}\n"
    "noise: {sigma_1: 20, sigma_L: 0.1, L: 100}\n"
    "sample: {n: 5000, T: 100, eps: [0.001, auto]}\n"
    "sweep: {repeats: 1}\n";

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void bench_remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int bench_find_in_path(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && len + strlen(name) + 2 < cap) {
            snprintf(out, cap, "%.*s/%s", (int)len, path, name);
            if (access(out, X_OK) == 0) return 1;
        }
        if (!end) break;
        path = end + 1;
    }
    return 0;
}

extern char **environ;

int bench_spawn(char **argv, const char *log, int threads, long *maxrss_kb) {
    char omp[32];
    snprintf(omp, sizeof omp, "%d", threads);
    setenv("OMP_NUM_THREADS", omp, 1);
    if (geteuid() == 0) {
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void bench_sweeps(bench_sweep_row *rows, int *n_rows, int max_t) {
    *n_rows = 0;
    char self[4096], mpiexec[4096], dir[4096], file[4200], log[4200], out[4200];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ncsn-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int ok = len > 0 && mkdtemp(dir) != NULL;
    if (len > 0) self[len] = 0;
    snprintf(file, sizeof file, "%s/sweep.yaml", dir);
    snprintf(log, sizeof log, "%s/sweep.log", dir);
    FILE *fp = ok ? fopen(file, "w") : NULL;
    if (fp) {
        fputs(bench_sweep_yaml, fp);
        ok = fclose(fp) == 0;
    } else {
        ok = 0;
    }
    const int have_mpiexec = bench_find_in_path("mpiexec", mpiexec, sizeof mpiexec);
    const char *old_omp = getenv("OMP_NUM_THREADS");
    char saved_omp[64];
    const int had_omp = old_omp && strlen(old_omp) < sizeof saved_omp;
    if (had_omp) strcpy(saved_omp, old_omp);
    int keep = 0; /* keep the directory (and its log) after a failure */
    for (int P = 1; P <= 2; P++) {
        bench_sweep_row *r = &rows[(*n_rows)++];
        memset(r, 0, sizeof *r);
        r->P = P;
        r->threads = max_t / P > 1 ? max_t / P : 1;
        r->seconds = -1;
        if (!ok) {
            snprintf(r->note, sizeof r->note, "skipped: no temporary directory or no /proc/self/exe");
            continue;
        }
        snprintf(out, sizeof out, "%s/p%d", dir, P);
        char np[16];
        snprintf(np, sizeof np, "%d", P);
        char *argv_1[] = {self, "sweep", file, "-q", "-o", out, NULL};
        char *argv_p[] = {mpiexec, "-n", np, "--oversubscribe", "-x", "OMP_NUM_THREADS",
                          self, "sweep", file, "-q", "-o", out, NULL};
        if (P > 1 && !have_mpiexec) {
            snprintf(r->note, sizeof r->note, "skipped: mpiexec not found in PATH");
            continue;
        }
        fprintf(stderr, "bench: timing `ncsn sweep` of %d runs with P = %d (%d thread%s each)...\n",
                BENCH_SWEEP_RUNS, P, r->threads, r->threads > 1 ? "s" : "");
        const double t0 = ncsn_now();
        const int rc = bench_spawn(P > 1 ? argv_p : argv_1, log, r->threads, NULL);
        const double t1 = ncsn_now();
        if (rc != 0) {
            snprintf(r->note, sizeof r->note, "failed: exit status %d (log: %s)", rc, log);
            keep = 1;
            continue;
        }
        r->seconds = t1 - t0;
    }
    if (had_omp) setenv("OMP_NUM_THREADS", saved_omp, 1);
    else unsetenv("OMP_NUM_THREADS");
    if (!keep && ok) bench_remove_tree(dir);
}

/* A run that does next to nothing: no training step, 2 chains, 1 level, 1 hidden unit. */
static const char *trivial_yaml =
    "dataset: {n: 2}\n"
    "model: {emb: 1, hidden: 1}\n"
    "train: {steps: 0, batch: 1, lr: {log_uniform: [1.0e-4, 1.0e-2]}}\n"
    "noise: {L: 1}\n"
    "sample: {n: 2, T: 1}\n"
    "sweep: {mode: random, trials: %d}\n";

/* The seconds= of every finished or failed line of a journal, summed; -1 when unreadable. */
static double journal_run_seconds(const char *path, int *n_runs) {
    FILE *f = fopen(path, "r");
    *n_runs = 0;
    if (!f) return -1;
    char line[4096];
    double sum = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, " event=finished ") && !strstr(line, " event=failed ")) continue;
        const char *p = strstr(line, " seconds=");
        if (!p) continue;
        sum += strtod(p + 9, NULL);
        ++*n_runs;
    }
    fclose(f);
    return sum;
}

void bench_sweep_overhead(int runs, int P, bench_overhead_row *row) {
    memset(row, 0, sizeof *row);
    row->runs = runs;
    row->P = P;
    row->wall = -1;
    char self[4096], mpiexec[4096], dir[4096], file[4200], log[4200], out[4200], journal[4300];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ncsn-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len <= 0 || !mkdtemp(dir)) {
        snprintf(row->note, sizeof row->note, "skipped: no temporary directory or no /proc/self/exe");
        return;
    }
    self[len] = 0;
    snprintf(file, sizeof file, "%s/trivial.yaml", dir);
    snprintf(log, sizeof log, "%s/sweep.log", dir);
    snprintf(out, sizeof out, "%s/sweep", dir);
    snprintf(journal, sizeof journal, "%s/journal.log", out);
    FILE *fp = fopen(file, "w");
    int ok = fp != NULL;
    if (fp) {
        fprintf(fp, trivial_yaml, runs);
        ok = fclose(fp) == 0;
    }
    if (ok && P > 1 && !bench_find_in_path("mpiexec", mpiexec, sizeof mpiexec)) {
        snprintf(row->note, sizeof row->note, "skipped: mpiexec not found in PATH");
        ok = 0;
    }
    int keep = 0;
    if (ok) {
        char np[16];
        snprintf(np, sizeof np, "%d", P);
        char *argv_1[] = {self, "sweep", file, "-q", "-o", out, NULL};
        char *argv_p[] = {mpiexec, "-n", np, "--oversubscribe", "-x", "OMP_NUM_THREADS",
                          self, "sweep", file, "-q", "-o", out, NULL};
        const char *old_omp = getenv("OMP_NUM_THREADS");
        char saved[64] = "";
        const int had = old_omp && strlen(old_omp) < sizeof saved;
        if (had) strcpy(saved, old_omp);
        fprintf(stderr, "bench: `ncsn sweep` of %d trivial runs, P = %d...\n", runs, P);
        const double t0 = ncsn_now();
        const int rc = bench_spawn(P > 1 ? argv_p : argv_1, log, 1, NULL);
        row->wall = ncsn_now() - t0;
        if (had) setenv("OMP_NUM_THREADS", saved, 1);
        else unsetenv("OMP_NUM_THREADS");
        int n_done = 0;
        row->run_seconds = journal_run_seconds(journal, &n_done);
        if (rc != 0 || n_done != runs || row->run_seconds < 0) {
            snprintf(row->note, sizeof row->note, "failed: exit status %d, %d of %d runs "
                     "journaled (log: %s)", rc, n_done, runs, log);
            row->wall = -1;
            keep = 1;
        } else {
            row->overhead_ms = 1e3 * (P * row->wall - row->run_seconds) / runs;
        }
    }
    if (!keep) bench_remove_tree(dir);
}
