/* test_summary.c: the sweep summary file DIR/sweep.h5 (summary.h).
 * A hand-made sweep of seven runs is laid out in a directory in every state a run can be
 * in: complete (its "auto" eps and L resolved in the run file), diverged, failed
 * (runs/<id>.failed), running (claims/<id>), queued, and two broken run files (truncated,
 * not HDF5). The summary is checked with the HDF5 C API and with h5py (from another
 * working directory, following the external links), rewritten after the queued run
 * completes, and written by several processes at once (the lock file orders them;
 * ncsn_sweep_summary_refresh leaves the work to a process already waiting). Sizes: N samples of dimension D,
 * L noise levels, K mixture components, NL loss-history entries. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "ncsn/io.h"
#include "ncsn/summary.h"

enum { N = 5, D = 2, L = 3, K = 2, NL = 2, N_RUNS = 7 };

/* The runs, in expansion order, and what the directory says about each. */
enum { R_COMPLETE, R_DIVERGED, R_FAILED, R_RUNNING, R_QUEUED, R_TRUNCATED, R_NOT_HDF5 };
static const char *const IDS[N_RUNS] = {"c0000",    "c0001-r0", "c0001-r1", "c0002",
                                        "c0003",    "c0004",    "c0005"};
static const char *const FAILED_REASON = "noise.L: auto: no L in [1, 10000] reaches the "
                                         "target \xce\xb3 = 0.5";
/* Configuration of each run: lr, eps ("auto" or a number), weights, sigma_input. */
static const char *const SETS[N_RUNS][4] = {
    {"train.lr=0.001", "sample.eps=auto", "dataset.weights=[0.95, 0.05]",
     "model.sigma_input=sigma"},
    {"train.lr=0.1", "sample.eps=0.002", "dataset.weights=[0.5, 0.5]",
     "model.sigma_input=log_sigma"},
    {"train.lr=0.1", "sample.eps=0.002", "dataset.weights=[0.5, 0.5]",
     "model.sigma_input=log_sigma"},
    {"train.lr=0.01", "sample.eps=0.003", "dataset.weights=[0.95, 0.05]",
     "model.sigma_input=sigma"},
    {"train.lr=0.0001", "sample.eps=auto", "dataset.weights=[0.25, 0.75]",
     "model.sigma_input=sigma"},
    {"train.lr=0.001", "sample.eps=0.004", "dataset.weights=[0.95, 0.05]",
     "model.sigma_input=sigma"},
    {"train.lr=0.01", "sample.eps=0.005", "dataset.weights=[0.5, 0.5]",
     "model.sigma_input=log_sigma"},
};
static const char *const SWEPT[] = {"train.lr", "sample.eps", "dataset.weights",
                                    "model.sigma_input", "noise.L", "model.scale_by_sigma"};
enum { N_SWEPT = sizeof SWEPT / sizeof SWEPT[0] };
static const double RESOLVED_EPS = 0.0125; /* what the run file says "auto" became */
static const int64_t RESOLVED_L = 7;

/* ---- fixtures ------------------------------------------------------------------------ */

static void sweep_init(ncsn_sweep *s) {
    memset(s, 0, sizeof *s);
    s->n_runs = N_RUNS;
    s->runs = calloc(N_RUNS, sizeof *s->runs);
    CU_ASSERT_FATAL(s->runs != NULL);
    for (int r = 0; r < N_RUNS; r++) {
        ncsn_sweep_run *run = &s->runs[r];
        snprintf(run->id, sizeof run->id, "%s", IDS[r]);
        snprintf(run->group, sizeof run->group, "%.5s", IDS[r]);
        run->repeat = strstr(IDS[r], "-r1") ? 1 : 0;
        run->index = (uint32_t)r;
        ncsn_config_default(&run->cfg);
        for (int j = 0; j < 4; j++) ncsn_fix_set(&run->cfg, SETS[r][j]);
        ncsn_fix_set(&run->cfg, "noise.L=auto");
        ncsn_fix_set(&run->cfg, r % 2 ? "model.scale_by_sigma=true" : "model.scale_by_sigma=false");
        run->cfg.seed = 0xF000000000000000ull + (uint64_t)r; /* above INT64_MAX */
        run->cost = 1.0;
    }
    s->n_swept = N_SWEPT;
    s->swept_keys = calloc(N_SWEPT, sizeof *s->swept_keys);
    CU_ASSERT_FATAL(s->swept_keys != NULL);
    for (int j = 0; j < N_SWEPT; j++) s->swept_keys[j] = strdup(SWEPT[j]);
    s->base_seed = 42;
    s->repeats = 2;
    s->canonical = strdup("# the expanded sweep\ntrain:\n  lr: [0.001, 0.1]\n");
}

static void sweep_free(ncsn_sweep *s) {
    for (int r = 0; r < s->n_runs; r++) ncsn_config_free(&s->runs[r].cfg);
    for (int j = 0; j < s->n_swept; j++) free(s->swept_keys[j]);
    free(s->runs);
    free(s->swept_keys);
    free(s->canonical);
    memset(s, 0, sizeof *s);
}

/* The metrics a run file of run r holds: mmd2 = 0.001 (r + 1), and so on. */
static double metric_value(int r, int m) { return (m + 1) * 0.001 * (r + 1); }
enum { N_METRIC_FIELDS = 12 }; /* the metric columns, in the table's order */

/* DIR/runs/<id>.h5 for run r, its "auto" values resolved, with the given status. */
static void write_run_file(const char *dir, const ncsn_sweep *s, int r, const char *status) {
    ncsn_fix_run run;
    ncsn_fix_run_init(&run, &s->runs[r].cfg, L, K, N, NL, status);
    if (run.cfg.sample.eps_auto) run.cfg.sample.eps = RESOLVED_EPS;
    if (run.cfg.noise.L_auto) run.cfg.noise.L = (int)RESOLVED_L;
    for (size_t i = 0; i < run.model.n_params; i++) run.model.params[i] = (float)i * 1e-3f;
    memcpy(run.sigmas, (double[L]){10, 1, 0.1}, sizeof(double) * L);
    memcpy(run.mode_weights, (double[K]){0.9, 0.1}, sizeof(double) * K);
    memcpy(run.score_error, (double[L]){1, 2, 3}, sizeof(double) * L);
    memcpy(run.loss, (float[NL]){2.0f, 1.0f}, sizeof(float) * NL);
    memcpy(run.loss_step, (int64_t[NL]){100, 200}, sizeof(int64_t) * NL);
    for (int i = 0; i < N * D; i++) run.samples[i] = (float)i + 0.5f * (float)r;
    double *v[N_METRIC_FIELDS] = {
        &run.metrics.mmd2,           &run.metrics.swd,           &run.metrics.mode_weight_error,
        &run.metrics.nll_true,       &run.metrics.final_loss,    &run.metrics.train_seconds,
        &run.metrics.sample_seconds, &run.metrics.noise_floor_mmd2, &run.metrics.noise_floor_swd,
        &run.metrics.fd,             &run.metrics.noise_floor_fd, &run.metrics.nn_ratio};
    for (int m = 0; m < N_METRIC_FIELDS; m++) *v[m] = metric_value(r, m);
    char path[700];
    snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[r]);
    CU_ASSERT_FATAL(ncsn_fix_run_write(&run, path) == 0);
    ncsn_fix_run_free(&run);
}

/* A fresh sweep directory under the harness's temporary directory, with runs/ in it. */
static void sweep_dir(const char *name, char *dir, size_t size) {
    char path[800];
    ncsn_fix_dir(dir, size, name);
    snprintf(path, sizeof path, "%s/runs", dir);
    ncsn_fix_mkdir(path);
}

/* The same, every state laid out. */
static void lay_out(const char *name, const ncsn_sweep *s, char *dir, size_t size) {
    char path[800];
    sweep_dir(name, dir, size);
    snprintf(path, sizeof path, "%s/claims", dir);
    ncsn_fix_mkdir(path);
    write_run_file(dir, s, R_COMPLETE, "complete");
    write_run_file(dir, s, R_DIVERGED, "diverged");
    snprintf(path, sizeof path, "%s/runs/%s.failed", dir, IDS[R_FAILED]);
    char text[300];
    int n = snprintf(text, sizeof text, "%s\n\n", FAILED_REASON);
    ncsn_fix_write_file(path, text, (size_t)n);
    /* A claim of the failed run too: the .failed file decides. */
    snprintf(path, sizeof path, "%s/claims/%s", dir, IDS[R_FAILED]);
    ncsn_fix_write_file(path, "rank 1\n", 7);
    snprintf(path, sizeof path, "%s/claims/%s", dir, IDS[R_RUNNING]);
    ncsn_fix_write_file(path, "rank 0\n", 7);
    /* A truncated run file: a complete one cut in half. */
    write_run_file(dir, s, R_TRUNCATED, "complete");
    snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[R_TRUNCATED]);
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_FATAL(truncate(path, st.st_size / 2) == 0);
    snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[R_NOT_HDF5]);
    ncsn_fix_write_file(path, "not an HDF5 file\n", 17);
}

static int summarise(const char *dir, const ncsn_sweep *s) {
    ncsn_error err = {{0}};
    int rc = ncsn_sweep_summary_write(dir, s, &err);
    if (rc) fprintf(stderr, "\n  summary of %s: %s\n", dir, err.msg);
    return rc;
}

/* ---- reading the table with the HDF5 C API ------------------------------------------- */

enum { STR_MAX = 2048 };

/* Column `field` of /runs, read through a one-member compound type of mtype. */
static int read_column(hid_t file, const char *field, hid_t mtype, size_t size, void *buf) {
    hid_t dset = H5Dopen2(file, "/runs", H5P_DEFAULT);
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    herr_t ok = H5Tinsert(t, field, 0, mtype);
    herr_t rc = dset >= 0 && t >= 0 && ok >= 0
                    ? H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)
                    : -1;
    H5Tclose(t);
    H5Dclose(dset);
    return rc < 0 ? -1 : 0;
}

/* Column `field` as strings, each at most STR_MAX - 1 bytes: (rows, STR_MAX). */
static char *read_strings(hid_t file, const char *field, int rows) {
    char *buf = calloc((size_t)rows + 1, STR_MAX);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, STR_MAX);
    H5Tset_strpad(st, H5T_STR_NULLTERM);
    H5Tset_cset(st, H5T_CSET_UTF8);
    int rc = read_column(file, field, st, STR_MAX, buf);
    H5Tclose(st);
    CU_ASSERT(rc == 0);
    if (rc) fprintf(stderr, "\n  cannot read column %s\n", field);
    return buf;
}

static void read_f64(hid_t file, const char *field, double *v) {
    CU_ASSERT(read_column(file, field, H5T_NATIVE_DOUBLE, sizeof *v, v) == 0);
}

static void read_i64(hid_t file, const char *field, int64_t *v) {
    CU_ASSERT(read_column(file, field, H5T_NATIVE_INT64, sizeof *v, v) == 0);
}

static int64_t attr_int64(hid_t file, const char *name) {
    int64_t v = -999;
    hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    return v;
}

/* A vlen string attribute: malloc'd. */
static char *attr_string(hid_t file, const char *name) {
    hid_t a = H5Aopen(file, name, H5P_DEFAULT), t = H5Aget_type(a);
    char *s = NULL, *copy;
    CU_ASSERT(H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8);
    CU_ASSERT(H5Aread(a, t, &s) >= 0);
    copy = strdup(s ? s : "");
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

#define CELL(buf, r) ((buf) + (size_t)(r) * STR_MAX)

/* Rows in file order; statuses and counts as in the layout of lay_out. */
static void check_statuses(hid_t file, const char *const *want) {
    char *status = read_strings(file, "status", N_RUNS);
    for (int r = 0; r < N_RUNS; r++) {
        if (strcmp(CELL(status, r), want[r]) != 0)
            fprintf(stderr, "\n  row %d: status %s, expected %s\n", r, CELL(status, r), want[r]);
        CU_ASSERT(strcmp(CELL(status, r), want[r]) == 0);
    }
    free(status);
}

/* ---- the table ----------------------------------------------------------------------- */

static void test_table(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    lay_out("table", &s, dir, sizeof dir);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    snprintf(path, sizeof path, "%s/.summary.lock", dir);
    CU_ASSERT(access(path, F_OK) == 0);

    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);

    /* Shape, field order and types. */
    hid_t dset = H5Dopen2(file, "/runs", H5P_DEFAULT), space = H5Dget_space(dset);
    hid_t type = H5Dget_type(dset);
    hsize_t rows = 0;
    CU_ASSERT(H5Sget_simple_extent_ndims(space) == 1);
    H5Sget_simple_extent_dims(space, &rows, NULL);
    CU_ASSERT(rows == N_RUNS);
    const char *fields[] = {"id", "group", "repeat", "status", "seed", "train.lr", "sample.eps",
                            "dataset.weights", "model.sigma_input", "noise.L",
                            "model.scale_by_sigma", "mmd2", "swd", "mode_weight_error",
                            "nll_true", "final_loss", "train_seconds", "sample_seconds",
                            "noise_floor_mmd2", "noise_floor_swd", "fd", "noise_floor_fd",
                            "nn_ratio", "classifier_accuracy", "n_bad", "error"};
    const int nf = (int)(sizeof fields / sizeof fields[0]);
    CU_ASSERT(H5Tget_nmembers(type) == nf);
    for (int i = 0; i < nf && i < H5Tget_nmembers(type); i++) {
        char *name = H5Tget_member_name(type, (unsigned)i);
        if (strcmp(name, fields[i]) != 0)
            fprintf(stderr, "\n  field %d is %s, expected %s\n", i, name, fields[i]);
        CU_ASSERT(strcmp(name, fields[i]) == 0);
        hid_t mt = H5Tget_member_type(type, (unsigned)i);
        H5T_class_t cls = H5Tget_class(mt);
        int is_str = !strcmp(fields[i], "id") || !strcmp(fields[i], "group") ||
                     !strcmp(fields[i], "status") || !strcmp(fields[i], "error") ||
                     !strcmp(fields[i], "dataset.weights") ||
                     !strcmp(fields[i], "model.sigma_input");
        int is_int = !strcmp(fields[i], "repeat") || !strcmp(fields[i], "seed") ||
                     !strcmp(fields[i], "noise.L") || !strcmp(fields[i], "model.scale_by_sigma");
        if (is_str) {
            CU_ASSERT(cls == H5T_STRING && H5Tget_cset(mt) == H5T_CSET_UTF8);
            CU_ASSERT(H5Tis_variable_str(mt) == 0 && H5Tget_strpad(mt) == H5T_STR_NULLPAD);
        } else if (is_int) {
            CU_ASSERT(cls == H5T_INTEGER && H5Tget_size(mt) == 8);
            CU_ASSERT(H5Tget_sign(mt) == (!strcmp(fields[i], "seed") ? H5T_SGN_NONE : H5T_SGN_2));
        } else {
            CU_ASSERT(H5Tequal(mt, H5T_IEEE_F64LE) > 0);
        }
        H5Tclose(mt);
        H5free_memory(name);
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dset);

    /* Identity, status and error. */
    char *id = read_strings(file, "id", N_RUNS), *group = read_strings(file, "group", N_RUNS);
    char *error = read_strings(file, "error", N_RUNS);
    int64_t repeat[N_RUNS], L_[N_RUNS], scale[N_RUNS];
    uint64_t seed[N_RUNS];
    read_i64(file, "repeat", repeat);
    CU_ASSERT(read_column(file, "seed", H5T_NATIVE_UINT64, sizeof(uint64_t), seed) == 0);
    for (int r = 0; r < N_RUNS; r++) {
        CU_ASSERT(strcmp(CELL(id, r), IDS[r]) == 0);
        CU_ASSERT(strncmp(CELL(group, r), IDS[r], 5) == 0 && strlen(CELL(group, r)) == 5);
        CU_ASSERT(repeat[r] == (r == R_FAILED ? 1 : 0));
        CU_ASSERT(seed[r] == s.runs[r].cfg.seed);
    }
    const char *want[N_RUNS] = {"complete", "diverged", "failed", "running",
                                "queued",   "corrupt",  "corrupt"};
    check_statuses(file, want);
    CU_ASSERT(strcmp(CELL(error, R_FAILED), FAILED_REASON) == 0);
    for (int r = 0; r <= R_QUEUED; r++)
        if (r != R_FAILED) CU_ASSERT(CELL(error, r)[0] == '\0');
    printf("\n    truncated: %s\n    not HDF5:  %s", CELL(error, R_TRUNCATED),
           CELL(error, R_NOT_HDF5));
    CU_ASSERT(strncmp(CELL(error, R_TRUNCATED), "runs/c0004.h5: ", 15) == 0);
    CU_ASSERT(strstr(CELL(error, R_TRUNCATED), "truncated") != NULL);
    CU_ASSERT(strncmp(CELL(error, R_NOT_HDF5), "runs/c0005.h5: not an HDF5 file", 31) == 0);

    /* Swept values: the run file's resolved ones where it opened, else the configuration's,
     * "auto" left unresolved as NaN (real) or -1 (integer). */
    double lr[N_RUNS], eps[N_RUNS];
    read_f64(file, "train.lr", lr);
    read_f64(file, "sample.eps", eps);
    read_i64(file, "noise.L", L_);
    read_i64(file, "model.scale_by_sigma", scale);
    char *weights = read_strings(file, "dataset.weights", N_RUNS);
    char *sigma_input = read_strings(file, "model.sigma_input", N_RUNS);
    const double want_lr[N_RUNS] = {0.001, 0.1, 0.1, 0.01, 0.0001, 0.001, 0.01};
    for (int r = 0; r < N_RUNS; r++) {
        CU_ASSERT(lr[r] == want_lr[r]);
        CU_ASSERT(scale[r] == r % 2);
        const char *w = strchr(SETS[r][2], '=') + 1, *si = strchr(SETS[r][3], '=') + 1;
        CU_ASSERT(strcmp(CELL(weights, r), w) == 0);
        CU_ASSERT(strcmp(CELL(sigma_input, r), si) == 0);
    }
    CU_ASSERT(eps[R_COMPLETE] == RESOLVED_EPS && L_[R_COMPLETE] == RESOLVED_L);
    CU_ASSERT(L_[R_DIVERGED] == RESOLVED_L); /* resolved in its run file */
    CU_ASSERT(isnan(eps[R_QUEUED]) && L_[R_QUEUED] == -1);
    CU_ASSERT(eps[R_RUNNING] == 0.003 && L_[R_RUNNING] == -1);
    CU_ASSERT(eps[R_TRUNCATED] == 0.004);

    /* Metrics: the run file's, NaN where there is none. */
    for (int m = 0; m < N_METRIC_FIELDS; m++) {
        double v[N_RUNS];
        read_f64(file, fields[11 + m], v);
        CU_ASSERT(v[R_COMPLETE] == metric_value(R_COMPLETE, m));
        CU_ASSERT(v[R_DIVERGED] == metric_value(R_DIVERGED, m));
        for (int r = R_FAILED; r < N_RUNS; r++) CU_ASSERT(isnan(v[r]));
    }

    /* Root attributes. */
    CU_ASSERT(attr_int64(file, "format_version") == NCSN_SUMMARY_FORMAT_VERSION);
    CU_ASSERT(attr_int64(file, "n_runs") == N_RUNS);
    CU_ASSERT(attr_int64(file, "n_complete") == 1);
    CU_ASSERT(attr_int64(file, "n_failed") == 4); /* diverged, failed, two corrupt */
    CU_ASSERT(attr_int64(file, "n_running") == 1);
    CU_ASSERT(attr_int64(file, "n_queued") == 1);
    char *text = attr_string(file, "sweep");
    CU_ASSERT(strcmp(text, s.canonical) == 0);
    free(text);
    text = attr_string(file, "updated");
    CU_ASSERT(strlen(text) == 20 && text[10] == 'T' && text[19] == 'Z');
    free(text);
    text = attr_string(file, "ncsn_version");
    CU_ASSERT(strcmp(text, NCSN_VERSION) == 0);
    free(text);

    /* External links: only for the runs whose file opened. */
    for (int r = 0; r < N_RUNS; r++) {
        char link[64];
        snprintf(link, sizeof link, "/run/%s", IDS[r]);
        H5L_info_t info;
        htri_t exists = H5Lexists(file, link, H5P_DEFAULT);
        CU_ASSERT(exists == (r == R_COMPLETE || r == R_DIVERGED));
        if (exists <= 0) continue;
        CU_ASSERT(H5Lget_info(file, link, &info, H5P_DEFAULT) >= 0 && info.type == H5L_TYPE_EXTERNAL);
        char buf[256];
        const char *target_file = NULL, *target_obj = NULL;
        unsigned flags;
        CU_ASSERT(H5Lget_val(file, link, buf, sizeof buf, H5P_DEFAULT) >= 0);
        CU_ASSERT(H5Lunpack_elink_val(buf, info.u.val_size, &flags, &target_file, &target_obj) >= 0);
        char want_file[64];
        snprintf(want_file, sizeof want_file, "runs/%s.h5", IDS[r]);
        CU_ASSERT(target_file && strcmp(target_file, want_file) == 0);
        CU_ASSERT(target_obj && strcmp(target_obj, "/") == 0);
    }
    H5Fclose(file);
    free(id);
    free(group);
    free(error);
    free(weights);
    free(sigma_input);
    sweep_free(&s);
}

/* ---- external links resolve against sweep.h5's directory --------------------------- */

static void test_links_from_another_directory(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], elsewhere[600], cwd[1024];
    lay_out("links", &s, dir, sizeof dir);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    ncsn_fix_dir(elsewhere, sizeof elsewhere, "elsewhere");
    /* A decoy runs/c0000.h5 under the working directory, of another shape: the link must
     * not pick it. */
    char decoy[700];
    snprintf(decoy, sizeof decoy, "%s/runs", elsewhere);
    ncsn_fix_mkdir(decoy);
    snprintf(decoy, sizeof decoy, "%s/runs/c0000.h5", elsewhere);
    ncsn_fix_write_file(decoy, "decoy", 5);
    CU_ASSERT_FATAL(getcwd(cwd, sizeof cwd) != NULL);
    CU_ASSERT_FATAL(chdir(elsewhere) == 0);
    hid_t file = H5Fopen("../links/sweep.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT(file >= 0);
    hid_t dset = H5Dopen2(file, "run/c0000/samples", H5P_DEFAULT);
    CU_ASSERT(dset >= 0);
    if (dset >= 0) {
        hid_t space = H5Dget_space(dset);
        hsize_t dims[2] = {0, 0};
        CU_ASSERT(H5Sget_simple_extent_dims(space, dims, NULL) == 2);
        CU_ASSERT(dims[0] == N && dims[1] == D);
        float x[N * D];
        CU_ASSERT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
        CU_ASSERT(x[1] == 1.0f);
        H5Sclose(space);
        H5Dclose(dset);
    }
    H5Fclose(file);
    CU_ASSERT(chdir(cwd) == 0);
    sweep_free(&s);
}

/* ---- h5py ---------------------------------------------------------------------------- */

static void test_h5py(void) {
    if (!ncsn_fix_have_h5py()) return;
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], elsewhere[600];
    lay_out("h5py", &s, dir, sizeof dir);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    ncsn_fix_dir(elsewhere, sizeof elsewhere, "h5py-cwd");
    /* Strings come back as bytes (numpy "S"); np.char.decode makes them str. Run from
     * another directory, with the summary named by a relative path. */
    const char *script =
        "import sys, math, h5py, numpy as np\n"
        "f = h5py.File(sys.argv[1], \"r\")\n"
        "r = f[\"runs\"][()]\n"
        "assert r.shape == (7,), r.shape\n"
        "for k in (\"id\", \"group\", \"status\", \"error\", \"dataset.weights\", "
        "\"model.sigma_input\"):\n"
        "    assert r.dtype[k].kind == \"S\", (k, r.dtype[k])\n"
        "    assert h5py.check_string_dtype(f[\"runs\"].dtype[k]).encoding == \"utf-8\"\n"
        "ids = np.char.decode(r[\"id\"], \"utf-8\")\n"
        "assert list(ids) == [\"c0000\", \"c0001-r0\", \"c0001-r1\", \"c0002\", \"c0003\", "
        "\"c0004\", \"c0005\"], ids\n"
        "st = np.char.decode(r[\"status\"], \"utf-8\")\n"
        "assert list(st) == [\"complete\", \"diverged\", \"failed\", \"running\", \"queued\", "
        "\"corrupt\", \"corrupt\"], st\n"
        "assert (r[\"status\"] == b\"complete\").sum() == 1\n"
        "err = np.char.decode(r[\"error\"], \"utf-8\")\n"
        "assert err[2].endswith(\"\\u03b3 = 0.5\"), err[2]\n"
        "assert r.dtype[\"train.lr\"] == np.float64 and r[\"train.lr\"][4] == 1e-4\n"
        "assert r[\"sample.eps\"][0] == 0.0125 and math.isnan(r[\"sample.eps\"][4])\n"
        "assert r.dtype[\"noise.L\"] == np.int64 and list(r[\"noise.L\"][[0, 4]]) == [7, -1]\n"
        "assert r.dtype[\"seed\"] == np.uint64 and r[\"seed\"][6] == 0xF000000000000006\n"
        "assert r[\"dataset.weights\"][4].decode() == \"[0.25, 0.75]\"\n"
        "assert r[\"mmd2\"][0] == 0.001 and np.isnan(r[\"mmd2\"][2:]).all()\n"
        "assert f.attrs[\"n_runs\"] == 7 and f.attrs[\"n_queued\"] == 1\n"
        "assert type(f.attrs[\"sweep\"]) is str and type(f.attrs[\"updated\"]) is str\n"
        "x = f[\"run/c0000/samples\"]\n"
        "assert x.shape == (%d, %d) and x[0, 1] == 1.0, (x.shape, x[0])\n"
        "assert f[\"run/c0001-r0\"].attrs[\"status\"] == \"diverged\"\n"
        "assert \"c0002\" not in f[\"run\"] and \"c0004\" not in f[\"run\"]\n"
        "print(\"h5py ok:\", r.dtype[\"id\"], repr(r[\"status\"][0]), list(st[:3]))\n";
    char code[4096], cmd[8192];
    snprintf(code, sizeof code, script, N, D);
    snprintf(cmd, sizeof cmd, "cd '%s' && /usr/bin/python3 -c '%s' ../h5py/sweep.h5", elsewhere,
             code);
    fflush(stdout);
    CU_ASSERT(system(cmd) == 0);
    sweep_free(&s);
}

/* ---- rewriting ----------------------------------------------------------------------- */

static void test_rewrite_after_a_run_completes(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    lay_out("rewrite", &s, dir, sizeof dir);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    /* A reader that has the old summary open keeps reading the old one. */
    hid_t old = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(old >= 0);

    write_run_file(dir, &s, R_QUEUED, "complete");
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);

    CU_ASSERT(attr_int64(old, "n_queued") == 1);
    H5Fclose(old);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    const char *want[N_RUNS] = {"complete", "diverged", "failed", "running",
                                "complete", "corrupt",  "corrupt"};
    check_statuses(file, want);
    double eps[N_RUNS], mmd2[N_RUNS];
    int64_t L_[N_RUNS];
    read_f64(file, "sample.eps", eps);
    read_f64(file, "mmd2", mmd2);
    read_i64(file, "noise.L", L_);
    CU_ASSERT(eps[R_QUEUED] == RESOLVED_EPS && L_[R_QUEUED] == RESOLVED_L);
    CU_ASSERT(mmd2[R_QUEUED] == metric_value(R_QUEUED, 0));
    CU_ASSERT(attr_int64(file, "n_complete") == 2 && attr_int64(file, "n_queued") == 0);
    CU_ASSERT(H5Lexists(file, "/run/c0003", H5P_DEFAULT) > 0);
    H5Fclose(file);
    sweep_free(&s);
}

/* DIR/sweep.h5's /runs as its bytes in the file's own type, and their count; malloc'd. */
static unsigned char *runs_bytes(const char *dir, size_t *size) {
    char path[700];
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    hid_t dset = H5Dopen2(file, "runs", H5P_DEFAULT), type = H5Dget_type(dset);
    hid_t space = H5Dget_space(dset);
    *size = H5Tget_size(type) * (size_t)H5Sget_simple_extent_npoints(space);
    unsigned char *buf = calloc(*size + 1, 1);
    CU_ASSERT(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(dset);
    H5Fclose(file);
    return buf;
}

/* A summary that keeps its rows (ncsn_summary_update) writes, after every change to the
 * directory, the table a summary from scratch writes: a run completes, a claim goes, a
 * run fails, a run file is set aside and another written. */
static void test_kept_rows_follow_changes(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[800], aside[820];
    lay_out("kept", &s, dir, sizeof dir);
    ncsn_error err = {{0}};
    ncsn_summary *m = ncsn_summary_new(&s, &err);
    CU_ASSERT_FATAL(m != NULL);
    for (int step = 0; step < 5; step++) {
        if (step == 1) write_run_file(dir, &s, R_QUEUED, "complete");
        if (step == 2) {
            snprintf(path, sizeof path, "%s/claims/%s", dir, IDS[R_RUNNING]);
            CU_ASSERT(unlink(path) == 0); /* running -> queued */
        }
        if (step == 3) {
            snprintf(path, sizeof path, "%s/runs/%s.failed", dir, IDS[R_RUNNING]);
            ncsn_fix_write_file(path, "why\n", 4);
        }
        if (step == 4) { /* the truncated file set aside, a good one in its place */
            snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[R_TRUNCATED]);
            snprintf(aside, sizeof aside, "%s.corrupt", path);
            CU_ASSERT(rename(path, aside) == 0);
            CU_ASSERT_FATAL(ncsn_summary_update(m, dir, 0, &err) == 0);
            write_run_file(dir, &s, R_TRUNCATED, "complete");
        }
        CU_ASSERT_FATAL(ncsn_summary_update(m, dir, step % 2, &err) == 0);
        size_t n_kept, n_fresh;
        unsigned char *kept = runs_bytes(dir, &n_kept);
        CU_ASSERT_FATAL(summarise(dir, &s) == 0);
        unsigned char *fresh = runs_bytes(dir, &n_fresh);
        CU_ASSERT(n_kept == n_fresh && memcmp(kept, fresh, n_kept) == 0);
        if (n_kept != n_fresh || memcmp(kept, fresh, n_kept) != 0)
            fprintf(stderr, "\n  kept rows differ from a fresh summary after step %d\n", step);
        free(kept);
        free(fresh);
    }
    ncsn_summary_free(m);
    ncsn_summary_free(NULL);
    sweep_free(&s);
}

/* A temporary file that a writer left when it died is removed by the next writer. */
static void test_stale_temporary_removed(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    lay_out("stale", &s, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sweep.h5.tmp.deadhost.12345", dir);
    ncsn_fix_write_file(path, "half", 4);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    sweep_free(&s);
}

/* ---- broken run files ------------------------------------------------------------------ */

/* Every way a run file can be unusable gives "corrupt" with a reason, and HDF5 prints
 * nothing on stderr. */
static void test_corrupt_run_files(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    sweep_dir("corrupt", dir, sizeof dir);
    /* 0: empty file; 1: HDF5 without attributes; 2: newer format; 3: status of wrong type;
     * 4: a metric that is a string; 5: a /config attribute of the wrong type; 6: fine. */
    snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[0]);
    ncsn_fix_write_file(path, "", 0);
    for (int r = 1; r <= 6; r++) {
        write_run_file(dir, &s, r, "complete");
        if (r == 6) break;
        snprintf(path, sizeof path, "%s/runs/%s.h5", dir, IDS[r]);
        hid_t f = r == 1 ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)
                         : H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        CU_ASSERT_FATAL(f >= 0);
        hid_t space = H5Screate(H5S_SCALAR);
        if (r == 2) {
            int64_t v = 99;
            hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_INT64, &v);
            H5Aclose(a);
        } else if (r == 3) {
            H5Adelete(f, "status");
            double v = 1;
            hid_t a = H5Acreate2(f, "status", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
            H5Aclose(a);
        } else if (r == 4) {
            H5Ldelete(f, "/metrics/swd", H5P_DEFAULT);
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 4);
            hid_t d = H5Dcreate2(f, "/metrics/swd", t, space, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
            H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abc");
            H5Dclose(d);
            H5Tclose(t);
        } else if (r == 5) {
            hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
            H5Adelete(g, "train.lr");
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 4);
            hid_t a = H5Acreate2(g, "train.lr", t, space, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, "abc");
            H5Aclose(a);
            H5Tclose(t);
            H5Gclose(g);
        }
        H5Sclose(space);
        H5Fclose(f);
    }

    /* stderr to a file while the summary is written. */
    char errpath[700];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    ncsn_error err = {{0}};
    int rc = ncsn_sweep_summary_write(dir, &s, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CU_ASSERT_FATAL(rc == 0);
    struct stat st;
    CU_ASSERT(stat(errpath, &st) == 0 && st.st_size == 0);

    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    char *status = read_strings(file, "status", N_RUNS), *error = read_strings(file, "error", N_RUNS);
    double lr[N_RUNS], swd[N_RUNS];
    read_f64(file, "train.lr", lr);
    read_f64(file, "swd", swd);
    const char *reasons[6] = {"not an HDF5 file", "missing attribute format_version",
                              "format_version 99 is newer", "status is not a single string",
                              "/metrics/swd is not a number", "/config.train.lr is not a number"};
    for (int r = 0; r < 6; r++) {
        printf("\n    %s", CELL(error, r));
        CU_ASSERT(strcmp(CELL(status, r), "corrupt") == 0);
        CU_ASSERT(strstr(CELL(error, r), reasons[r]) != NULL);
        CU_ASSERT(strchr(CELL(error, r), '\n') == NULL);
        CU_ASSERT(isnan(swd[r])); /* nothing of a corrupt file is used */
        CU_ASSERT(lr[r] == s.runs[r].cfg.train.lr);
    }
    CU_ASSERT(strcmp(CELL(status, 6), "complete") == 0 && CELL(error, 6)[0] == '\0');
    CU_ASSERT(H5Lexists(file, "/run/c0005", H5P_DEFAULT) > 0);
    CU_ASSERT(H5Lexists(file, "/run/c0004", H5P_DEFAULT) == 0);
    CU_ASSERT(attr_int64(file, "n_failed") == 6 && attr_int64(file, "n_complete") == 1);
    H5Fclose(file);
    free(status);
    free(error);
    sweep_free(&s);
}

/* A long .failed text is cut to 1024 bytes at a character boundary, marked "...". */
static void test_long_failed_reason(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    sweep_dir("long", dir, sizeof dir);
    enum { LONG = 5000 };
    char *text = malloc(LONG);
    for (int i = 0; i + 1 < LONG; i += 2) memcpy(text + i, "\xce\xb3", 2); /* gamma, 2 bytes */
    snprintf(path, sizeof path, "%s/runs/%s.failed", dir, IDS[0]);
    ncsn_fix_write_file(path, text, LONG);
    free(text);
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *error = read_strings(file, "error", N_RUNS);
    size_t n = strlen(CELL(error, 0));
    CU_ASSERT(n <= 1024 && n >= 1020);
    CU_ASSERT(strcmp(CELL(error, 0) + n - 3, "...") == 0);
    CU_ASSERT((n - 3) % 2 == 0); /* no gamma cut in half */
    H5Fclose(file);
    free(error);
    sweep_free(&s);
}

/* ---- concurrency --------------------------------------------------------------------- */

static double file_mtime(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
}

/* A writer waits while another process holds DIR/.summary.lock. */
static void test_lock_serialises_writers(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], lock[700], path[700];
    lay_out("lock", &s, dir, sizeof dir);
    snprintf(lock, sizeof lock, "%s/.summary.lock", dir);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0666);
    CU_ASSERT_FATAL(fd >= 0 && flock(fd, LOCK_EX) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fd);
        ncsn_error err = {{0}};
        _exit(ncsn_sweep_summary_write(dir, &s, &err) == 0 ? 0 : 1);
    }
    struct timespec wait = {0, 300 * 1000 * 1000};
    nanosleep(&wait, NULL);
    CU_ASSERT(access(path, F_OK) != 0); /* still waiting for the lock */
    CU_ASSERT(waitpid(pid, NULL, WNOHANG) == 0);
    CU_ASSERT(flock(fd, LOCK_UN) == 0);
    int status = -1;
    CU_ASSERT(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(access(path, F_OK) == 0);
    close(fd);
    sweep_free(&s);
}

/* Whether process pid holds an flock on path, from /proc/locks; -1 when that cannot be told. */
static int holds_flock(pid_t pid, const char *path) {
    struct stat st;
    FILE *f = fopen("/proc/locks", "r");
    if (!f || stat(path, &st) != 0) {
        if (f) fclose(f);
        return -1;
    }
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 1234 00:2f:56789 0 EOF"; blocked waiters have "->". */
        char kind[16], mode[16], type[16];
        long p;
        unsigned long long ino;
        unsigned maj, min;
        if (strstr(line, "->")) continue;
        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, type, &p, &maj, &min,
                   &ino) == 7 &&
            strcmp(kind, "FLOCK") == 0 && p == (long)pid && ino == (unsigned long long)st.st_ino)
            found = 1;
    }
    fclose(f);
    return found;
}

/* Waits up to seconds for pid to exit; its exit status, or -1 if it did not exit. */
static int wait_exit(pid_t pid, double seconds) {
    for (int i = 0; i < (int)(seconds * 100); i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return -1;
}

/* ncsn_sweep_summary_refresh returns at once when another process already waits for the
 * lock, and that process's summary includes the change made before the call. */
static void test_refresh_coalesces(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], lock[700], wait_lock[700], path[700];
    lay_out("coalesce", &s, dir, sizeof dir);
    snprintf(lock, sizeof lock, "%s/.summary.lock", dir);
    snprintf(wait_lock, sizeof wait_lock, "%s/.summary.wait", dir);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0666);
    CU_ASSERT_FATAL(fd >= 0 && flock(fd, LOCK_EX) == 0);
    pid_t child[2];
    for (int k = 0; k < 2; k++) {
        if (k == 1) {
            /* The first child holds the waiter's lock once it waits for the summary lock. */
            int held = 0;
            for (int i = 0; i < 500 && held == 0; i++) {
                held = holds_flock(child[0], wait_lock);
                struct timespec pause = {0, 10 * 1000 * 1000};
                if (held == 0) nanosleep(&pause, NULL);
            }
            if (held < 0) {
                struct timespec pause = {0, 500 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
            CU_ASSERT(held != 0);
            write_run_file(dir, &s, R_QUEUED, "complete"); /* before the second call */
        }
        fflush(NULL);
        child[k] = fork();
        CU_ASSERT_FATAL(child[k] >= 0);
        if (child[k] == 0) {
            close(fd);
            ncsn_error err = {{0}};
            int rc = ncsn_sweep_summary_refresh(dir, &s, &err);
            if (rc) fprintf(stderr, "\n  refresh %d: %s\n", k, err.msg);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    /* The second returns while the lock is still ours, having written nothing. */
    CU_ASSERT(wait_exit(child[1], 10) == 0);
    CU_ASSERT(access(path, F_OK) != 0);
    CU_ASSERT(waitpid(child[0], NULL, WNOHANG) == 0);
    CU_ASSERT(flock(fd, LOCK_UN) == 0);
    CU_ASSERT(wait_exit(child[0], 30) == 0);
    close(fd);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    const char *want[N_RUNS] = {"complete", "diverged", "failed", "running",
                                "complete", "corrupt",  "corrupt"};
    check_statuses(file, want);
    H5Fclose(file);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    sweep_free(&s);
}

/* Several processes writing the summary over and over: every call succeeds, the file is
 * always whole, nothing is left behind. */
static void test_concurrent_writers(void) {
    ncsn_sweep s;
    sweep_init(&s);
    char dir[512], path[700];
    lay_out("concurrent", &s, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    enum { WRITERS = 4, CALLS = 5 };
    pid_t pids[WRITERS];
    fflush(NULL);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        CU_ASSERT_FATAL(pids[w] >= 0);
        if (pids[w] == 0) {
            int failures = 0;
            for (int i = 0; i < CALLS; i++) {
                ncsn_error err = {{0}};
                if (ncsn_sweep_summary_write(dir, &s, &err) != 0) {
                    fprintf(stderr, "\n  writer %d: %s\n", w, err.msg);
                    failures++;
                }
            }
            _exit(failures ? 1 : 0);
        }
    }
    /* Meanwhile, every snapshot a reader opens is a whole file. */
    double last = -1;
    int reads = 0;
    for (int i = 0; i < 200; i++) {
        if (access(path, F_OK) == 0) {
            hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
            CU_ASSERT(f >= 0);
            if (f >= 0) {
                CU_ASSERT(attr_int64(f, "n_runs") == N_RUNS);
                H5Fclose(f);
                reads++;
            }
        }
        double t = file_mtime(path);
        CU_ASSERT(t >= last); /* snapshots only move forward */
        if (t > last) last = t;
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = -1;
        CU_ASSERT(waitpid(pids[w], &status, 0) == pids[w]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    printf("\n    %d whole snapshots read while %d processes wrote", reads, WRITERS);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT(f >= 0 && attr_int64(f, "n_complete") == 1);
    H5Fclose(f);
    sweep_free(&s);
}

/* ---- edge cases and errors ------------------------------------------------------------- */

static void test_empty_sweep(void) {
    ncsn_sweep s;
    memset(&s, 0, sizeof s);
    char dir[512], path[700];
    ncsn_fix_dir(dir, sizeof dir, "empty");
    CU_ASSERT_FATAL(summarise(dir, &s) == 0);
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    hid_t dset = H5Dopen2(file, "/runs", H5P_DEFAULT), space = H5Dget_space(dset);
    CU_ASSERT(H5Sget_simple_extent_npoints(space) == 0);
    CU_ASSERT(attr_int64(file, "n_runs") == 0);
    char *text = attr_string(file, "sweep");
    CU_ASSERT(text[0] == '\0');
    free(text);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
}

static void test_errors(void) {
    ncsn_sweep s;
    sweep_init(&s);
    ncsn_error err = {{0}};
    char dir[512];
    ncsn_fix_path(dir, sizeof dir, "no/such/dir");
    CU_ASSERT(ncsn_sweep_summary_write(dir, &s, &err) == -1);
    printf("\n    refused as expected: %s", err.msg);
    CU_ASSERT(strstr(err.msg, dir) == err.msg && strstr(err.msg, "No such file or directory"));

    free(s.swept_keys[1]);
    s.swept_keys[1] = strdup("train.lrr");
    ncsn_fix_dir(dir, sizeof dir, "badkey");
    memset(&err, 0, sizeof err);
    CU_ASSERT(ncsn_sweep_summary_write(dir, &s, &err) == -1);
    printf("\n    refused as expected: %s", err.msg);
    CU_ASSERT(strstr(err.msg, "\"train.lrr\"") != NULL);
    sweep_free(&s);
}

static const ncsn_test_case tests[] = {
    {"the table: rows, statuses, swept values, metrics, links (C API)", test_table},
    {"external links resolve from another directory", test_links_from_another_directory},
    {"h5py: bytes fields, np.char.decode, links from another cwd", test_h5py},
    {"rewrite after a run completes; old readers unaffected", test_rewrite_after_a_run_completes},
    {"kept rows (ncsn_summary_update) equal a fresh summary after changes",
     test_kept_rows_follow_changes},
    {"a dead writer's temporary file is removed", test_stale_temporary_removed},
    {"broken run files are \"corrupt\", quietly", test_corrupt_run_files},
    {"a long .failed text is cut at a character boundary", test_long_failed_reason},
    {"the lock file serialises writers", test_lock_serialises_writers},
    {"refresh leaves the summary to a process already waiting", test_refresh_coalesces},
    {"concurrent writers", test_concurrent_writers},
    {"an empty sweep", test_empty_sweep},
    {"a missing directory, an unknown swept key", test_errors},
    {"no HDF5 handles left open", ncsn_fix_test_no_hdf5_open}, /* last */
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("summary", tests);
}
