/* test_io.c: the run file (io.h). A small hand-made run (config, model, samples, loss
 * history, metrics) is written, read back, inspected with the HDF5 C API and with h5py,
 * and then damaged in the ways a reader must refuse: truncated, a newer format_version, a
 * run that did not finish, a missing dataset, a text file. Every test also checks that no
 * "*.tmp.*" file is left behind. Sizes: N samples of dimension D, E = embedding width,
 * H = hidden width, L noise levels, K mixture components, NL loss-history entries. */
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "ncsn/io.h"

enum { N = 7, D = 2, E = 4, H = 8, L = 5, K = 2, NL = 4 };

/* The configuration the fixture uses: small network, a few levels, one bool switched on,
 * so that /config holds non-default values with origins. */
static const char *FIXTURE_YAML = "model:\n"
                                  "  emb: 4\n"
                                  "  hidden: 8\n"
                                  "  scale_by_sigma: true\n"
                                  "noise:\n"
                                  "  L: 5\n";

/* The fixture: FIXTURE_YAML's configuration, every value set, n samples. */
static void fixture_init(ncsn_fix_run *f, const char *status, int n) {
    ncsn_error err = {{0}};
    ncsn_config cfg;
    ncsn_config_default(&cfg);
    int rc = ncsn_config_load_string(&cfg, FIXTURE_YAML, "fixture.yaml", &err);
    if (rc) fprintf(stderr, "\n  fixture config: %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT_FATAL(cfg.dataset.dim == D && cfg.model.emb == E && cfg.model.hidden == H);
    ncsn_fix_run_init(f, &cfg, L, K, n, NL, status);
    ncsn_config_free(&cfg);

    /* Values that a lossy round trip would change: -0, a denormal, the largest float. */
    for (size_t i = 0; i < f->model.n_params; i++)
        f->model.params[i] = (float)((int)(i * 37 % 101) - 50) / 7.0f;
    f->model.params[0] = -0.0f;
    f->model.params[1] = 1e-40f;
    f->model.params[2] = 3.4028235e38f;

    for (int i = 0; i < L; i++) f->sigmas[i] = 20.0 * pow(0.1 / 20.0, i / (double)(L - 1));
    for (int i = 0; i < n * D; i++) f->samples[i] = (float)i * 0.25f - 1.0f;
    for (int i = 0; i < NL; i++) {
        f->loss_step[i] = 100 * (i + 1);
        f->loss[i] = 1.0f / (float)(i + 1);
    }
    f->mode_weights[0] = 0.9;
    f->mode_weights[1] = 0.1;
    for (int i = 0; i < L; i++) f->score_error[i] = 0.01 * (i + 1);
    ncsn_metrics *m = &f->metrics;
    m->mmd2 = 1.5e-3;
    m->swd = 0.25;
    m->mode_weight_error = 0.05;
    m->nll_true = 3.25;
    m->final_loss = 0.875;
    m->train_seconds = 12.5;
    m->sample_seconds = 2.5;
    m->noise_floor_mmd2 = 1e-4;
    m->noise_floor_swd = 0.02;
    m->fd = 0.125;
    m->noise_floor_fd = 0.01;
    m->nn_ratio = 0.75;
    m->n_nonfinite = 3;
}

/* Writes the fixture's run to dir/name (path gets the full name); returns the status. */
static int write_run(const char *dir, const char *name, const char *status, char *path,
                     size_t size) {
    ncsn_fix_run f;
    fixture_init(&f, status, N);
    snprintf(path, size, "%s/%s", dir, name);
    int rc = ncsn_fix_run_write(&f, path);
    ncsn_fix_run_free(&f);
    return rc;
}

/* Reads path expecting failure; err gets the message. */
static void expect_read_fails(const char *path, ncsn_error *err) {
    ncsn_run_input in;
    memset(err, 0, sizeof *err);
    int rc = ncsn_run_file_read(path, &in, err);
    CU_ASSERT(rc == -1);
    if (rc == 0) ncsn_run_input_free(&in);
    CU_ASSERT(strstr(err->msg, path) == err->msg);
    CU_ASSERT(strchr(err->msg, '\n') == NULL);
    printf("\n    refused as expected: %s", err->msg);
}

static char *config_yaml_of(const ncsn_config *c) { return ncsn_config_to_yaml(c); }

/* ---- round trip ----------------------------------------------------------------------- */

static void test_round_trip(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "round_trip");
    ncsn_fix_run f;
    fixture_init(&f, "complete", N);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    ncsn_error err = {{0}};
    int rc = ncsn_run_file_write(path, &f.out, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);

    ncsn_run_input in;
    rc = ncsn_run_file_read(path, &in, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(in.model.D == D && in.model.E == E && in.model.H == H);
    CU_ASSERT(in.model.sigma_input == f.model.sigma_input);
    CU_ASSERT(in.model.scale_by_sigma == f.model.scale_by_sigma && in.model.scale_by_sigma == 1);
    CU_ASSERT_FATAL(in.model.n_params == f.model.n_params);
    for (size_t i = 0; i < f.model.n_params; i++)
        if (memcmp(&in.model.params[i], &f.model.params[i], sizeof(float)) != 0) {
            fprintf(stderr, "\n  params[%zu]: read %.9g, wrote %.9g\n", i, in.model.params[i],
                    f.model.params[i]);
            CU_FAIL("model parameters differ");
            break;
        }
    char *want = config_yaml_of(&f.cfg), *got = config_yaml_of(&in.cfg);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  config read back:\n%s\n  config written:\n%s\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(want);
    free(got);
    CU_ASSERT_FATAL(in.n_loss == NL);
    CU_ASSERT(memcmp(in.loss_step, f.loss_step, sizeof(int64_t) * NL) == 0);
    CU_ASSERT(memcmp(in.loss, f.loss, sizeof(float) * NL) == 0);
    CU_ASSERT(in.train_seconds == f.metrics.train_seconds);
    CU_ASSERT_STRING_EQUAL(in.sigma_1_source, "explicit");
    CU_ASSERT_STRING_EQUAL(in.L_source, "explicit");
    CU_ASSERT_STRING_EQUAL(in.eps_source, "explicit");
    CU_ASSERT(in.final_loss == f.metrics.final_loss);
    ncsn_run_input_free(&in);
    CU_ASSERT(in.loss == NULL && in.model.params == NULL);

    /* Writing again over an existing file replaces it. */
    f.metrics.final_loss = 0.5;
    CU_ASSERT(ncsn_run_file_write(path, &f.out, &err) == 0);
    CU_ASSERT_FATAL(ncsn_run_file_read(path, &in, &err) == 0);
    CU_ASSERT(in.final_loss == 0.5);
    ncsn_run_input_free(&in);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    ncsn_fix_run_free(&f);
}

static void test_empty_loss_history(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "empty_loss");
    ncsn_fix_run f;
    fixture_init(&f, "complete", N);
    f.out.n_loss = 0;
    f.out.loss_step = NULL;
    f.out.loss = NULL;
    snprintf(path, sizeof path, "%s/run.h5", dir);
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_run_file_write(path, &f.out, &err) == 0);
    ncsn_run_input in;
    int rc = ncsn_run_file_read(path, &in, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(in.n_loss == 0);
    ncsn_run_input_free(&in);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    hid_t dset = H5Dopen2(file, "/train/loss", H5P_DEFAULT);
    CU_ASSERT(dset >= 0);
    hid_t space = H5Dget_space(dset);
    hsize_t dims[1] = {99};
    CU_ASSERT(H5Sget_simple_extent_ndims(space) == 1);
    H5Sget_simple_extent_dims(space, dims, NULL);
    CU_ASSERT(dims[0] == 0);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    ncsn_fix_run_free(&f);
}

static void test_input_free_is_safe(void) {
    ncsn_run_input in;
    memset(&in, 0, sizeof in);
    ncsn_run_input_free(&in);
    ncsn_run_input_free(&in);
    ncsn_run_input_free(NULL);
    CU_PASS("freeing a zeroed ncsn_run_input twice is fine");
}

/* ---- the layout, checked with the HDF5 C API ------------------------------------------ */

/* Class, element size and shape of a dataset; returns its rank (-1 if it cannot be opened). */
static int dataset_info(hid_t file, const char *name, H5T_class_t *cls, size_t *size,
                        hsize_t dims[2]) {
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset < 0) {
        fprintf(stderr, "\n  missing dataset %s\n", name);
        return -1;
    }
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    *cls = H5Tget_class(type);
    *size = H5Tget_size(type);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank >= 0 && rank <= 2) H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(dset);
    return rank;
}

static void check_dataset(hid_t file, const char *name, H5T_class_t cls, size_t size, int rank,
                          hsize_t d0, hsize_t d1) {
    H5T_class_t got_cls = H5T_NO_CLASS;
    size_t got_size = 0;
    hsize_t dims[2] = {0, 0};
    int got_rank = dataset_info(file, name, &got_cls, &got_size, dims);
    int ok = got_rank == rank && got_cls == cls && got_size == size &&
             (rank < 1 || dims[0] == d0) && (rank < 2 || dims[1] == d1);
    if (!ok)
        fprintf(stderr, "\n  %s: class %d size %zu rank %d dims (%llu, %llu)\n", name,
                (int)got_cls, got_size, got_rank, (unsigned long long)dims[0],
                (unsigned long long)dims[1]);
    CU_ASSERT(ok);
}

static double read_scalar_f64(hid_t file, const char *name) {
    double v = NAN;
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset >= 0) H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
    H5Dclose(dset);
    return v;
}

/* A variable-length UTF-8 string attribute as a malloc'd copy; NULL if it is anything else. */
static char *read_vlen_string_attr(hid_t loc, const char *name) {
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) {
        fprintf(stderr, "\n  missing attribute %s\n", name);
        return NULL;
    }
    hid_t type = H5Aget_type(attr);
    char *copy = NULL;
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 &&
        H5Tget_cset(type) == H5T_CSET_UTF8) {
        char *s = NULL;
        if (H5Aread(attr, type, &s) >= 0 && s) {
            copy = strdup(s);
            H5free_memory(s);
        }
    } else {
        fprintf(stderr, "\n  attribute %s is not a variable-length UTF-8 string\n", name);
    }
    H5Tclose(type);
    H5Aclose(attr);
    return copy;
}

/* For each configuration value: the /config attribute of that name exists with the right
 * file type and shape, and scalars hold the value. */
typedef struct {
    hid_t config;
    int checked, bad;
    const char *bool_key; /* the first BOOL key, for the h5py test */
} config_check;

static void check_config_value(const ncsn_config_value *v, void *user) {
    config_check *cc = user;
    cc->checked++;
    hid_t attr = H5Aopen(cc->config, v->key, H5P_DEFAULT);
    if (attr < 0) {
        fprintf(stderr, "\n  /config has no attribute %s\n", v->key);
        cc->bad++;
        return;
    }
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    H5T_class_t cls = H5Tget_class(type);
    int rank = H5Sget_simple_extent_ndims(space);
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    int want_rank = v->cols > 0 ? 2 : v->rows > 0 ? 1 : 0; /* matrix, list, scalar */
    int ok = rank == want_rank && npoints == (v->type == NCSN_VALUE_STRING ? 1 : v->count);
    switch (v->type) {
    case NCSN_VALUE_INT:
        ok = ok && cls == H5T_INTEGER && H5Tget_size(type) == 8 &&
             H5Tget_sign(type) == (v->is_unsigned ? H5T_SGN_NONE : H5T_SGN_2);
        if (ok && npoints == 1 && rank == 0) {
            int64_t x = 0; /* the seed's uint64 bits when is_unsigned */
            H5Aread(attr, v->is_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, &x);
            ok = x == v->ints[0];
        }
        break;
    case NCSN_VALUE_REAL:
        ok = ok && cls == H5T_FLOAT && H5Tget_size(type) == 8;
        if (ok && npoints == 1 && rank == 0) {
            double x = 0;
            H5Aread(attr, H5T_NATIVE_DOUBLE, &x);
            ok = memcmp(&x, &v->reals[0], sizeof x) == 0;
        }
        break;
    case NCSN_VALUE_STRING:
        ok = ok && cls == H5T_STRING && rank == 0;
        if (ok) {
            char *s = read_vlen_string_attr(cc->config, v->key);
            ok = s && strcmp(s, v->string) == 0;
            free(s);
        }
        break;
    case NCSN_VALUE_BOOL: {
        ok = ok && cls == H5T_ENUM && H5Tget_size(type) == 1 && H5Tget_nmembers(type) == 2;
        if (ok) {
            char *m0 = H5Tget_member_name(type, 0), *m1 = H5Tget_member_name(type, 1);
            int8_t v0 = -1, v1 = -1;
            H5Tget_member_value(type, 0, &v0);
            H5Tget_member_value(type, 1, &v1);
            ok = m0 && m1 && strcmp(m0, "FALSE") == 0 && v0 == 0 && strcmp(m1, "TRUE") == 0 &&
                 v1 == 1;
            H5free_memory(m0);
            H5free_memory(m1);
        }
        if (ok && npoints == 1 && rank == 0) {
            int8_t x = -1;
            H5Aread(attr, type, &x);
            ok = x == (v->ints[0] != 0);
        }
        if (!cc->bool_key) cc->bool_key = v->key;
        break;
    }
    default: ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "\n  /config attribute %s: class %d, rank %d, %lld values: wrong\n",
                v->key, (int)cls, rank, (long long)npoints);
        cc->bad++;
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attr);
}

static void test_layout(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "layout");
    ncsn_fix_run f;
    fixture_init(&f, "complete", N);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_run_file_write(path, &f.out, &err) == 0);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    check_dataset(file, "/samples", H5T_FLOAT, 4, 2, N, D);
    check_dataset(file, "/train/step", H5T_INTEGER, 8, 1, NL, 0);
    check_dataset(file, "/train/loss", H5T_FLOAT, 4, 1, NL, 0);
    check_dataset(file, "/noise/sigmas", H5T_FLOAT, 8, 1, L, 0);
    check_dataset(file, "/model/sigma_emb.0/weight", H5T_FLOAT, 4, 2, E, 1);
    check_dataset(file, "/model/sigma_emb.0/bias", H5T_FLOAT, 4, 1, E, 0);
    check_dataset(file, "/model/sigma_emb.2/weight", H5T_FLOAT, 4, 2, E, E);
    check_dataset(file, "/model/sigma_emb.2/bias", H5T_FLOAT, 4, 1, E, 0);
    check_dataset(file, "/model/backbone.0/weight", H5T_FLOAT, 4, 2, H, D + E);
    check_dataset(file, "/model/backbone.0/bias", H5T_FLOAT, 4, 1, H, 0);
    check_dataset(file, "/model/backbone.2/weight", H5T_FLOAT, 4, 2, D, H);
    check_dataset(file, "/model/backbone.2/bias", H5T_FLOAT, 4, 1, D, 0);
    const char *scalars[] = {"mmd2", "swd", "mode_weight_error", "nll_true", "final_loss",
                             "train_seconds", "sample_seconds", "noise_floor_mmd2",
                             "noise_floor_swd", "fd", "noise_floor_fd", "nn_ratio"};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "/metrics/%s", scalars[i]);
        check_dataset(file, name, H5T_FLOAT, 8, 0, 0, 0);
    }
    check_dataset(file, "/metrics/n_nonfinite", H5T_INTEGER, 8, 0, 0, 0);
    check_dataset(file, "/metrics/mode_weights", H5T_FLOAT, 8, 1, K, 0);
    check_dataset(file, "/metrics/score_error", H5T_FLOAT, 8, 1, L, 0);
    CU_ASSERT(read_scalar_f64(file, "/metrics/mmd2") == f.metrics.mmd2);
    CU_ASSERT(read_scalar_f64(file, "/metrics/noise_floor_swd") == f.metrics.noise_floor_swd);
    CU_ASSERT(read_scalar_f64(file, "/metrics/fd") == f.metrics.fd);
    CU_ASSERT(read_scalar_f64(file, "/metrics/noise_floor_fd") == f.metrics.noise_floor_fd);
    CU_ASSERT(read_scalar_f64(file, "/metrics/nn_ratio") == f.metrics.nn_ratio);
    CU_ASSERT(read_scalar_f64(file, "/metrics/n_nonfinite") == 3.0);

    /* The sample values and the noise levels. */
    float samples[N * D];
    hid_t dset = H5Dopen2(file, "/samples", H5P_DEFAULT);
    CU_ASSERT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, samples) >= 0);
    H5Dclose(dset);
    CU_ASSERT(memcmp(samples, f.samples, sizeof samples) == 0);
    double sigmas[L];
    dset = H5Dopen2(file, "/noise/sigmas", H5P_DEFAULT);
    CU_ASSERT(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sigmas) >= 0);
    H5Dclose(dset);
    CU_ASSERT(memcmp(sigmas, f.sigmas, sizeof sigmas) == 0);

    /* Root attributes. */
    int64_t version = -1;
    hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
    CU_ASSERT_FATAL(attr >= 0);
    hid_t type = H5Aget_type(attr);
    CU_ASSERT(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 8);
    H5Tclose(type);
    H5Aread(attr, H5T_NATIVE_INT64, &version);
    H5Aclose(attr);
    CU_ASSERT(version == NCSN_FORMAT_VERSION);
    char *s = read_vlen_string_attr(file, "status");
    CU_ASSERT(s && strcmp(s, "complete") == 0);
    free(s);
    s = read_vlen_string_attr(file, "ncsn_version");
    CU_ASSERT(s && strcmp(s, NCSN_VERSION) == 0);
    free(s);
    s = read_vlen_string_attr(file, "git_commit");
    CU_ASSERT(s && strcmp(s, NCSN_GIT_COMMIT) == 0);
    free(s);
    s = read_vlen_string_attr(file, "config_yaml");
    char *yaml = config_yaml_of(&f.cfg);
    CU_ASSERT(s && strcmp(s, yaml) == 0);
    free(yaml);
    free(s);
    s = read_vlen_string_attr(file, "created"); /* 2025-01-31T12:34:56Z */
    CU_ASSERT(s && strlen(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
              s[13] == ':' && s[16] == ':' && s[19] == 'Z');
    if (s) printf("\n    created = %s", s);
    free(s);

    /* /config: every visited key, plus "origins" and the five provenance attributes, and
     * nothing else. */
    hid_t config = H5Gopen2(file, "/config", H5P_DEFAULT);
    CU_ASSERT_FATAL(config >= 0);
    config_check cc = {config, 0, 0, NULL};
    ncsn_config_visit(&f.cfg, check_config_value, &cc);
    CU_ASSERT(cc.checked > 10);
    CU_ASSERT(cc.bad == 0);
    H5O_info_t info;
    CU_ASSERT(H5Oget_info(config, &info) >= 0);
    CU_ASSERT(info.num_attrs == (hsize_t)cc.checked + 6);
    const char *sources[][2] = {{"sigma_1_source", "explicit"}, {"L_source", "explicit"},
                                {"eps_source", "explicit"}};
    for (int i = 0; i < 3; i++) {
        s = read_vlen_string_attr(config, sources[i][0]);
        CU_ASSERT(s && strcmp(s, sources[i][1]) == 0);
        free(s);
    }
    double gamma = 0, eps_paper = 0;
    attr = H5Aopen(config, "gamma", H5P_DEFAULT);
    CU_ASSERT(attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &gamma) >= 0);
    H5Aclose(attr);
    attr = H5Aopen(config, "eps_paper", H5P_DEFAULT);
    CU_ASSERT(attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &eps_paper) >= 0);
    H5Aclose(attr);
    NCSN_CHECK_CLOSE(gamma, pow(20.0 / 0.1, 1.0 / (L - 1)), 1e-12);
    CU_ASSERT(eps_paper == f.cfg.sample.eps / 2);
    s = read_vlen_string_attr(config, "origins");
    CU_ASSERT(s && strstr(s, "model.emb: fixture.yaml:") && strstr(s, "noise.L: fixture.yaml:"));
    CU_ASSERT(s && !strstr(s, "train.lr:")); /* a default: no line */
    free(s);
    /* Spot checks whatever the visitor reports: a matrix, an int. */
    CU_ASSERT(H5Aexists(config, "dataset.means") > 0);
    attr = H5Aopen(config, "dataset.means", H5P_DEFAULT);
    hid_t space = H5Aget_space(attr);
    hsize_t dims[2] = {0, 0};
    CU_ASSERT(H5Sget_simple_extent_ndims(space) == 2);
    H5Sget_simple_extent_dims(space, dims, NULL);
    CU_ASSERT(dims[0] == K && dims[1] == D);
    H5Sclose(space);
    H5Aclose(attr);
    int64_t emb = 0;
    attr = H5Aopen(config, "model.emb", H5P_DEFAULT);
    H5Aread(attr, H5T_NATIVE_INT64, &emb);
    H5Aclose(attr);
    CU_ASSERT(emb == E);
    H5Gclose(config);
    H5Fclose(file);
    ncsn_fix_run_free(&f);
}

/* ---- h5py sees what a Python user expects ------------------------------------------- */

static void test_h5py(void) {
    if (!ncsn_fix_have_h5py()) return;
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "h5py");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    /* Which key is a bool depends on config.c; take the first one the visitor reports. */
    ncsn_fix_run f;
    fixture_init(&f, "complete", N);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t config = H5Gopen2(file, "/config", H5P_DEFAULT);
    config_check cc = {config, 0, 0, NULL};
    ncsn_config_visit(&f.cfg, check_config_value, &cc);
    H5Gclose(config);
    H5Fclose(file);
    CU_ASSERT_FATAL(cc.bool_key != NULL);

    const char *script =
        "import sys, h5py, numpy as np\n"
        "f = h5py.File(sys.argv[1], \"r\")\n"
        "w = f[\"model/backbone.0/weight\"]\n"
        "assert w.shape == (%d, %d) and w.dtype == np.float32, (w.shape, w.dtype)\n"
        "assert f[\"model/backbone.0/bias\"].shape == (%d,)\n"
        "s = f.attrs[\"status\"]\n"
        "assert type(s) is str and s == \"complete\", repr(s)\n"
        "assert type(f.attrs[\"config_yaml\"]) is str\n"
        "assert f.attrs[\"format_version\"] == 1 and f.attrs[\"format_version\"].dtype == np.int64\n"
        "b = f[\"config\"].attrs[sys.argv[2]]\n"
        "assert type(b) is np.bool_, type(b)\n"
        "assert f[\"config\"].attrs[\"model.scale_by_sigma\"] == True\n"
        "assert f[\"config\"].attrs[\"dataset.means\"].shape == (%d, %d)\n"
        "assert f[\"config\"].attrs[\"seed\"].dtype == np.uint64\n"
        "assert f[\"samples\"].shape == (%d, %d) and f[\"samples\"].dtype == np.float32\n"
        "assert f[\"train/step\"].dtype == np.int64 and f[\"train/loss\"].shape == (%d,)\n"
        "assert f[\"metrics/mmd2\"][()] == 1.5e-3 and f[\"metrics/n_nonfinite\"][()] == 3\n"
        "assert f[\"metrics/mode_weights\"].shape == (%d,)\n"
        "assert f[\"noise/sigmas\"].dtype == np.float64\n"
        "print(\"h5py ok:\", w.shape, repr(s), type(b).__name__)\n";
    char code[4096], cmd[8192];
    snprintf(code, sizeof code, script, H, D + E, H, K, D, N, D, NL, K);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s' '%s' '%s'", code, path, cc.bool_key);
    fflush(stdout);
    int rc = system(cmd);
    CU_ASSERT(rc == 0);
    ncsn_fix_run_free(&f);
}

/* ---- failed writes leave nothing behind ----------------------------------------------- */

/* Writing the fixture's run (n samples) to path is refused: err gets the message, which
 * starts with path. */
static void expect_write_fails(const char *path, int n, ncsn_error *err) {
    ncsn_fix_run f;
    fixture_init(&f, "complete", n);
    memset(err, 0, sizeof *err);
    CU_ASSERT(ncsn_run_file_write(path, &f.out, err) == -1);
    printf("\n    refused as expected: %s", err->msg);
    CU_ASSERT(strstr(err->msg, path) == err->msg);
    ncsn_fix_run_free(&f);
}

static void test_write_missing_directory(void) {
    char dir[512], path[700];
    ncsn_fix_dir(dir, sizeof dir, "missing_dir");
    snprintf(path, sizeof path, "%s/no/such/dir/run.h5", dir);
    ncsn_error err;
    expect_write_fails(path, N, &err);
    CU_ASSERT(strstr(err.msg, "cannot create") != NULL);
    CU_ASSERT(strstr(err.msg, strerror(ENOENT)) != NULL);
    CU_ASSERT(!ncsn_fix_exists(path));
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
}

static void test_write_path_is_directory(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "path_is_dir");
    snprintf(path, sizeof path, "%s/run.h5", dir);
    CU_ASSERT_FATAL(mkdir(path, 0777) == 0);
    ncsn_error err;
    expect_write_fails(path, N, &err);
    CU_ASSERT(strstr(err.msg, "directory") != NULL);
    struct stat st;
    CU_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(path) == 0);
    CU_ASSERT(rmdir(path) == 0); /* still empty */
}

static void test_write_permission_denied(void) {
    if (geteuid() == 0) {
        ncsn_test_skip("running as root, so a read-only directory is still writable");
        return;
    }
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_only");
    CU_ASSERT_FATAL(chmod(dir, 0555) == 0);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    ncsn_error err;
    expect_write_fails(path, N, &err);
    CU_ASSERT(strstr(err.msg, strerror(EACCES)) != NULL);
    CU_ASSERT(!ncsn_fix_exists(path));
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    chmod(dir, 0777);
}

/* A write that fails half-way (here the file-size limit, as on a full disk or a quota)
 * removes its temporary file and leaves the previous file at path untouched. */
static void test_write_failure_keeps_old_file(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "fail_midway");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    size_t size_before, size_after;
    char *before = ncsn_fix_read_file(path, &size_before);
    CU_ASSERT_FATAL(size_before > 0);

    struct rlimit old, small;
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small = old;
    small.rlim_cur = 64 * 1024;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &small) == 0);
    ncsn_error err;
    expect_write_fails(path, 100000, &err); /* 800 kB of samples */
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);

    char *after = ncsn_fix_read_file(path, &size_after);
    CU_ASSERT(size_after == size_before && memcmp(before, after, size_before) == 0);
    CU_ASSERT(ncsn_fix_count_tmp_files(dir) == 0);
    free(before);
    free(after);
}

/* ---- reads that must be refused ------------------------------------------------------- */

static void test_read_missing_file(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_missing");
    snprintf(path, sizeof path, "%s/nothing.h5", dir);
    ncsn_error err;
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, strerror(ENOENT)) != NULL);
}

static void test_read_text_file(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_text");
    snprintf(path, sizeof path, "%s/notes.h5", dir);
    const char *text = "this is not an HDF5 file\nmodel:\n  emb: 4\n";
    ncsn_fix_write_file(path, text, strlen(text));
    ncsn_error err;
    expect_read_fails(path, &err);
    char want[700];
    snprintf(want, sizeof want, "%s: not an HDF5 file", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

static void test_read_truncated(void) {
    char dir[512], path[600], half[700];
    ncsn_fix_dir(dir, sizeof dir, "read_truncated");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    size_t size;
    char *data = ncsn_fix_read_file(path, &size);
    CU_ASSERT_FATAL(size > 0);
    snprintf(half, sizeof half, "%s/half.h5", dir);
    ncsn_fix_write_file(half, data, size / 2);
    free(data);
    ncsn_error err;
    expect_read_fails(half, &err);
    CU_ASSERT(strstr(err.msg, "truncated") != NULL);
}

/* Opens path for writing with the C API, for the damage tests. */
static hid_t open_rw(const char *path) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    return file;
}

static void test_read_newer_format_version(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_version");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    hid_t file = open_rw(path);
    hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
    int64_t v = 99;
    CU_ASSERT(H5Awrite(attr, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(attr);
    H5Fclose(file);
    ncsn_error err;
    expect_read_fails(path, &err);
    char want[700];
    snprintf(want, sizeof want, "%s: format_version 99 is newer than this ncsn reads (1); "
                                "upgrade ncsn", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

static void test_read_bad_format_version(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_bad_version");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    /* Missing. */
    hid_t file = open_rw(path);
    CU_ASSERT(H5Adelete(file, "format_version") >= 0);
    H5Fclose(file);
    ncsn_error err;
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "format_version") != NULL && strstr(err.msg, "missing") != NULL);
    /* A string instead of an integer. */
    file = open_rw(path);
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, 2);
    hid_t attr = H5Acreate2(file, "format_version", type, space, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(H5Awrite(attr, type, "1") >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "format_version") != NULL && strstr(err.msg, "integer") != NULL);
}

static void test_read_unfinished_run(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_running");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "running", path, sizeof path) == 0);
    ncsn_error err;
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "\"running\"") != NULL && strstr(err.msg, "complete") != NULL);
    CU_ASSERT(write_run(dir, "diverged.h5", "diverged", path, sizeof path) == 0);
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "\"diverged\"") != NULL);
}

static void test_read_missing_dataset(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_missing_dataset");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    hid_t file = open_rw(path);
    CU_ASSERT(H5Ldelete(file, "/model/backbone.2/bias", H5P_DEFAULT) >= 0);
    H5Fclose(file);
    ncsn_error err;
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "missing dataset /model/backbone.2/bias") != NULL);

    /* A whole group gone. */
    CU_ASSERT_FATAL(write_run(dir, "run2.h5", "complete", path, sizeof path) == 0);
    file = open_rw(path);
    CU_ASSERT(H5Ldelete(file, "/train", H5P_DEFAULT) >= 0);
    H5Fclose(file);
    expect_read_fails(path, &err);
    CU_ASSERT(strstr(err.msg, "/train/step") != NULL);
}

/* config_yaml that describes a wider network than the tensors in /model. */
static void test_read_shape_mismatch(void) {
    char dir[512], path[600];
    ncsn_fix_dir(dir, sizeof dir, "read_shape");
    CU_ASSERT_FATAL(write_run(dir, "run.h5", "complete", path, sizeof path) == 0);
    ncsn_fix_run f;
    fixture_init(&f, "complete", N);
    ncsn_error err = {{0}};
    CU_ASSERT_FATAL(ncsn_config_load_string(&f.cfg, "model:\n  hidden: 16\n", "wide.yaml",
                                            &err) == 0);
    char *yaml = config_yaml_of(&f.cfg);
    hid_t file = open_rw(path);
    CU_ASSERT(H5Adelete(file, "config_yaml") >= 0);
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t attr = H5Acreate2(file, "config_yaml", type, space, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(H5Awrite(attr, type, &yaml) >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
    free(yaml);
    expect_read_fails(path, &err);
    char want[64];
    snprintf(want, sizeof want, "has shape (%d, %d), expected (%d, %d)", H, D + E, 16, D + E);
    CU_ASSERT(strstr(err.msg, "/model/backbone.0/weight") != NULL && strstr(err.msg, want));
    ncsn_fix_run_free(&f);
}

static const ncsn_test_case tests[] = {
    {"write and read back: model bit-identical, config equal", test_round_trip},
    {"an empty loss history", test_empty_loss_history},
    {"ncsn_run_input_free on a zeroed struct", test_input_free_is_safe},
    {"layout, types and attributes (HDF5 C API)", test_layout},
    {"h5py sees shapes, str and numpy.bool_", test_h5py},
    {"write into a missing directory", test_write_missing_directory},
    {"write to a path that is a directory", test_write_path_is_directory},
    {"write into a read-only directory", test_write_permission_denied},
    {"a failed write keeps the old file", test_write_failure_keeps_old_file},
    {"read a missing file", test_read_missing_file},
    {"read a text file", test_read_text_file},
    {"read a truncated file", test_read_truncated},
    {"read format_version 99", test_read_newer_format_version},
    {"read a missing or ill-typed format_version", test_read_bad_format_version},
    {"read a run that did not finish", test_read_unfinished_run},
    {"read with a dataset missing", test_read_missing_dataset},
    {"read with a tensor of the wrong shape", test_read_shape_mismatch},
    {"no HDF5 handles left open", ncsn_fix_test_no_hdf5_open}, /* last */
    {NULL},
};

void ncsn_test_register(void) {
    ncsn_test_suite("io", tests);
}
