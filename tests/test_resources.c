/* test_resources.c: what a run will need, before it runs (resources.h).
 *   the memory estimate grows with every size key, names the key that accounts for most of
 *     it, and saturates with an overflow flag where 64 bits do not hold it
 *   the refusal: "ORIGIN: KEY: the run needs about ... (N bytes) ..." with the bytes
 *   the limit: NCSN_MEMORY_LIMIT (with suffixes; a bad one refused), cgroup v2 (the smallest
 *     memory.max on the way to the root, "max" as none), cgroup v1 (memory.limit_in_bytes,
 *     its huge "no limit"), else MemAvailable: from fake /proc and /sys trees
 *   the cost model: seconds proportional to the work, thread counts between the measured
 *     ones, the calibration file written and read back, its errors naming file and line
 * The estimates against real runs' peak RSS are tests/cli/resources.sh's. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ncsn/resources.h"

static ncsn_memory estimate_of(const char *const *sets) {
    ncsn_config c;
    ncsn_fix_config_valid(&c, sets);
    ncsn_run_sizes s;
    ncsn_error err;
    CU_ASSERT_EQUAL(ncsn_run_sizes_of(&s, &c, 2, 1, 1, &err), 0);
    ncsn_memory m;
    ncsn_memory_estimate(&s, 1000, &m);
    ncsn_config_free(&c);
    return m;
}

static void test_grows_with_every_key(void) {
    const ncsn_memory base = estimate_of(NULL);
    CU_ASSERT(base.peak > 1000 && !base.overflow);
    static const char *const bigger[][2] = {
        {"sample.n=50000", "sample.n"},     {"noise.L=2000000", "noise.L"},
        {"dataset.n=3000000", "dataset.n"}, {"model.hidden=60000", "model.hidden"},
    };
    for (size_t i = 0; i < sizeof bigger / sizeof *bigger; i++) {
        const ncsn_memory m = estimate_of(SETS(bigger[i][0]));
        if (!(m.peak > base.peak) || !m.key || strcmp(m.key, bigger[i][1]) != 0)
            fprintf(stderr, "\n  %s: peak %llu (base %llu), key %s\n", bigger[i][0],
                    (unsigned long long)m.peak, (unsigned long long)base.peak,
                    m.key ? m.key : "(none)");
        CU_ASSERT(m.peak > base.peak);
        CU_ASSERT(m.key && strcmp(m.key, bigger[i][1]) == 0);
        CU_ASSERT(m.key_bytes > 0 && m.key_bytes <= m.peak);
    }
    /* the batch: training's tables */
    const ncsn_memory b = estimate_of(SETS("train.batch=1000"));
    CU_ASSERT(b.phase[NCSN_PHASE_TRAIN] > base.phase[NCSN_PHASE_TRAIN] + 800ull * 130 * 4);
    /* a dimension: the manifold at D = 4096 */
    const ncsn_memory d = estimate_of(SETS("dataset.name=manifold", "dataset.dim=4096"));
    CU_ASSERT(d.key && strcmp(d.key, "dataset.dim") == 0);
    CU_ASSERT(d.peak > base.peak + 4096ull * 4096 * 8); /* FD's covariances at least */
}

/* The chains, by hand: sample.n x D floats are in every phase from sampling on. */
static void test_samples_counted(void) {
    const ncsn_memory a = estimate_of(SETS("sample.n=100000", "sample.T=1"));
    const ncsn_memory b = estimate_of(SETS("sample.n=200000", "sample.T=1"));
    CU_ASSERT(b.phase[NCSN_PHASE_SAMPLE] - a.phase[NCSN_PHASE_SAMPLE] >= 100000ull * 2 * 4);
    /* the write holds the chains and the file image with them (twice more) */
    CU_ASSERT(b.phase[NCSN_PHASE_WRITE] - a.phase[NCSN_PHASE_WRITE] >= 100000ull * 2 * 4 * 3);
}

static void test_overflow(void) {
    const ncsn_memory m = estimate_of(SETS("train.steps=9000000000000000000", "train.log_every=1"));
    CU_ASSERT(m.overflow);
    CU_ASSERT_EQUAL(m.peak, UINT64_MAX);
    CU_ASSERT(m.key && strcmp(m.key, "train.steps") == 0);
    ncsn_config c;
    ncsn_fix_config_valid(&c, SETS("train.steps=9000000000000000000", "train.log_every=1"));
    ncsn_error err;
    CU_ASSERT_EQUAL(ncsn_memory_check(&c, &m, UINT64_MAX, "test", NULL, 1, &err), -1);
    NCSN_CHECK_MSG(err.msg, "--set train.steps: the memory of the run overflows 64-bit "
                            "arithmetic at train.steps = 9000000000000000000: it cannot run "
                            "anywhere");
    ncsn_config_free(&c);
}

static void test_refusal_message(void) {
    ncsn_config c;
    ncsn_fix_config_valid(&c, SETS("sample.n=3000000"));
    ncsn_run_sizes s;
    ncsn_error err;
    ncsn_run_sizes_of(&s, &c, 1, 1, 1, &err);
    ncsn_memory m;
    ncsn_memory_estimate(&s, 0, &m);
    CU_ASSERT_EQUAL(ncsn_memory_check(&c, &m, m.peak, "test", NULL, 1, &err), 0);
    CU_ASSERT_EQUAL(ncsn_memory_check(&c, &m, m.peak - 1, "NCSN_MEMORY_LIMIT", "c0007", 1, &err),
                    -1);
    char want[64];
    snprintf(want, sizeof want, "(%llu bytes)", (unsigned long long)m.peak);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    CU_ASSERT(strncmp(err.msg, "--set sample.n: run c0007 needs about ", 38) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(NCSN_MEMORY_LIMIT); sample.n = 3000000 accounts"));
    if (!strstr(err.msg, want)) fprintf(stderr, "\n  %s\n", err.msg);
    /* two ranks on the node need twice as much */
    CU_ASSERT_EQUAL(ncsn_memory_check(&c, &m, 2 * m.peak - 1, "x", NULL, 2, &err), -1);
    CU_ASSERT_EQUAL(ncsn_memory_check(&c, &m, 2 * m.peak, "x", NULL, 2, &err), 0);
    ncsn_config_free(&c);
}

/* ---- the limit --------------------------------------------------------------------- */

static void put(const char *root, const char *rel, const char *text) {
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        ncsn_fix_mkdir(path);
        *p = '/';
    }
    ncsn_fix_write_file(path, text, strlen(text));
}

static const char *meminfo = "MemTotal:       16000000 kB\nMemFree:  1000 kB\n"
                             "MemAvailable:    8000000 kB\n";

static uint64_t limit_at(const char *root, const char **source) {
    uint64_t v = 0;
    ncsn_error err;
    CU_ASSERT_EQUAL(ncsn_memory_limit(root, &v, source, &err), 0);
    return v;
}

static void test_limit_sources(void) {
    unsetenv("NCSN_MEMORY_LIMIT");
    char v2[4096], v1[4096], none[4096];
    const char *src;
    /* cgroup v2: the job's memory.max under a parent with a smaller one */
    ncsn_fix_dir(v2, sizeof v2, "v2");
    put(v2, "proc/self/cgroup", "0::/slurm/job_7/step_0\n");
    put(v2, "proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    put(v2, "proc/meminfo", meminfo);
    put(v2, "sys/fs/cgroup/slurm/job_7/step_0/memory.max", "max\n");
    put(v2, "sys/fs/cgroup/slurm/job_7/memory.max", "2147483648\n");
    put(v2, "sys/fs/cgroup/slurm/memory.max", "8589934592\n");
    CU_ASSERT_EQUAL(limit_at(v2, &src), 2147483648ull);
    CU_ASSERT_STRING_EQUAL(src, "the cgroup's memory.max");
    put(v2, "sys/fs/cgroup/slurm/job_7/memory.max", "max\n");
    put(v2, "sys/fs/cgroup/slurm/memory.max", "max\n");
    CU_ASSERT_EQUAL(limit_at(v2, &src), 8000000ull * 1024); /* no limit: MemAvailable */
    CU_ASSERT_STRING_EQUAL(src, "MemAvailable in /proc/meminfo");
    /* cgroup v1, mounted with its own root (a container) */
    ncsn_fix_dir(v1, sizeof v1, "v1");
    put(v1, "proc/self/cgroup", "5:cpu:/x\n4:memory:/slurm/uid_0/job_9\n0::/\n");
    put(v1, "proc/self/mountinfo",
        "35 31 0:32 /slurm /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
    put(v1, "proc/meminfo", meminfo);
    put(v1, "sys/fs/cgroup/memory/uid_0/job_9/memory.limit_in_bytes", "1073741824\n");
    put(v1, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    CU_ASSERT_EQUAL(limit_at(v1, &src), 1073741824ull);
    CU_ASSERT_STRING_EQUAL(src, "the cgroup's memory.limit_in_bytes");
    put(v1, "sys/fs/cgroup/memory/uid_0/job_9/memory.limit_in_bytes", "9223372036854771712\n");
    CU_ASSERT_EQUAL(limit_at(v1, &src), 8000000ull * 1024);
    /* no cgroup files, no MemAvailable: MemTotal */
    ncsn_fix_dir(none, sizeof none, "none");
    put(none, "proc/meminfo", "MemTotal:       16000000 kB\n");
    CU_ASSERT_EQUAL(limit_at(none, &src), 16000000ull * 1024);
    CU_ASSERT_STRING_EQUAL(src, "MemTotal in /proc/meminfo");
    /* the override, whatever the files say */
    setenv("NCSN_MEMORY_LIMIT", "512M", 1);
    CU_ASSERT_EQUAL(limit_at(v2, &src), 512ull << 20);
    CU_ASSERT_STRING_EQUAL(src, "NCSN_MEMORY_LIMIT");
    setenv("NCSN_MEMORY_LIMIT", "123456", 1);
    CU_ASSERT_EQUAL(limit_at(v2, &src), 123456ull);
    setenv("NCSN_MEMORY_LIMIT", "lots", 1);
    uint64_t v;
    ncsn_error err;
    CU_ASSERT_EQUAL(ncsn_memory_limit(v2, &v, &src, &err), -1);
    NCSN_CHECK_MSG(err.msg, "NCSN_MEMORY_LIMIT=lots: expected a number of bytes (with an "
                            "optional K, M, G or T)");
    unsetenv("NCSN_MEMORY_LIMIT");
}

/* ---- time -------------------------------------------------------------------------- */

static double seconds_of(const char *const *sets, const ncsn_calibration *cal, int threads,
                         double *train) {
    ncsn_config c;
    ncsn_fix_config_valid(&c, sets);
    ncsn_run_sizes s;
    ncsn_error err;
    ncsn_run_sizes_of(&s, &c, threads, 1, 1, &err);
    ncsn_work w;
    ncsn_work_of(&s, &w);
    ncsn_config_free(&c);
    return ncsn_seconds_estimate(&w, &s, cal, threads, train);
}

static void test_seconds(void) {
    ncsn_calibration cal;
    ncsn_calibration_default(&cal);
    double t1, t2;
    const double a = seconds_of(SETS("train.steps=1000"), &cal, 1, &t1);
    const double b = seconds_of(SETS("train.steps=2000"), &cal, 1, &t2);
    /* training: steps x batch x 10 D H FLOPs at the small kernels' rate */
    NCSN_CHECK_CLOSE(t1, 1000.0 * 128 * 10 * 2 * 128 / (cal.train_small_gflops[0] * 1e9), 1e-12);
    NCSN_CHECK_CLOSE(t2, 2 * t1, 1e-12);
    NCSN_CHECK_CLOSE(b - a, t1, 1e-9);
    /* sampling: chains x levels x T x 4 D H at the D = 2 kernel's */
    const double s100 = seconds_of(SETS("train.steps=0", "sample.T=100"), &cal, 1, NULL);
    const double s200 = seconds_of(SETS("train.steps=0", "sample.T=200"), &cal, 1, NULL);
    NCSN_CHECK_CLOSE(s200 - s100, 5000.0 * 100 * 100 * 4 * 2 * 128 /
                                      (cal.sample_small_gflops[0] * 1e9), 1e-9);
    /* threads: the measured ones exactly; between them the efficiency's line */
    cal.threads = 4;
    cal.train_small_gflops[0] = 10;
    cal.train_small_gflops[1] = 25; /* 1.5 more per added thread: 11.5 at 2 */
    seconds_of(SETS("train.steps=1000"), &cal, 2, &t2);
    NCSN_CHECK_CLOSE(t2, 1000.0 * 128 * 10 * 2 * 128 / (15.0 * 1e9), 1e-12);
    seconds_of(SETS("train.steps=1000"), &cal, 4, &t2);
    NCSN_CHECK_CLOSE(t2, 1000.0 * 128 * 10 * 2 * 128 / (25.0 * 1e9), 1e-12);
}

static void test_calibration_file(void) {
    unsetenv("NCSN_CALIBRATION");
    ncsn_calibration cal, back;
    ncsn_error err;
    CU_ASSERT_EQUAL(ncsn_calibration_load(&cal, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(cal.source, "built in");
    cal.threads = 3;
    cal.train_blocked_gflops[1] = 123.25;
    cal.pair_plain_ns[1][1] = 0.125;
    cal.baseline_bytes = 20e6;
    char path[4096];
    ncsn_fix_path(path, sizeof path, "cal.txt");
    CU_ASSERT_EQUAL(ncsn_calibration_write(&cal, path, &err), 0);
    CU_ASSERT_EQUAL(ncsn_calibration_load(&back, path, &err), 0);
    CU_ASSERT_STRING_EQUAL(back.source, path);
    CU_ASSERT_EQUAL(back.threads, 3);
    CU_ASSERT_EQUAL(back.train_blocked_gflops[1], 123.25);
    CU_ASSERT_EQUAL(back.pair_plain_ns[1][1], 0.125);
    CU_ASSERT_EQUAL(back.baseline_bytes, 20e6);
    setenv("NCSN_CALIBRATION", path, 1); /* the environment's file */
    CU_ASSERT_EQUAL(ncsn_calibration_load(&back, NULL, &err), 0);
    CU_ASSERT_EQUAL(back.threads, 3);
    unsetenv("NCSN_CALIBRATION");
    const char *bad = ncsn_fix_write_tmp("bad.txt", "# x\nthreads=2\nsample_small_gflops_1=-3\n");
    CU_ASSERT_EQUAL(ncsn_calibration_load(&back, bad, &err), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: sample_small_gflops_1: expected a positive number, got "
             "\"-3\"", bad);
    NCSN_CHECK_MSG(err.msg, want);
    const char *unknown = ncsn_fix_write_tmp("unknown.txt", "speed=3\n");
    CU_ASSERT_EQUAL(ncsn_calibration_load(&back, unknown, &err), -1);
    snprintf(want, sizeof want, "%s:1: unknown key speed", unknown);
    NCSN_CHECK_MSG(err.msg, want);
    char missing[4096];
    ncsn_fix_path(missing, sizeof missing, "missing.txt");
    CU_ASSERT_EQUAL(ncsn_calibration_load(&back, missing, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing.txt"));
}

static const ncsn_test_case tests[] = {
    {"the estimate grows with every size key and names it", test_grows_with_every_key},
    {"the chains are counted in sampling and writing", test_samples_counted},
    {"sizes beyond 64 bits saturate and are refused", test_overflow},
    {"the refusal names the key, the bytes and the limit", test_refusal_message},
    {"the limit: override, cgroup v2 and v1, /proc/meminfo", test_limit_sources},
    {"seconds proportional to the work; threads between measured counts", test_seconds},
    {"the calibration file: written, read back, errors with file and line",
     test_calibration_file},
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("resources", tests);
}
