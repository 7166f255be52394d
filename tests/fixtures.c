/* fixtures.c: the CUnit tests' shared fixtures (see fixtures.h). */
#include "fixtures.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <stdlib.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ncsn/common.h"
#include "ncsn/noise.h"
#include "ncsn/rng.h"

void ncsn_fix_check_msg(const char *got, const char *want, const char *file, int line) {
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  %s:%d: message\n    got:  %s\n    want: %s\n", file, line, got,
                want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

void ncsn_fix_check_refused(int rc, const char *got, const char *want, const char *file,
                            int line) {
    if (rc != -1) fprintf(stderr, "\n  %s:%d: rc %d, wanted -1 and: %s\n", file, line, rc, want);
    CU_ASSERT_EQUAL(rc, -1);
    ncsn_fix_check_msg(got, want, file, line);
}

/* ---- configurations ------------------------------------------------------------------ */

void ncsn_fix_set(ncsn_config *c, const char *assignment) {
    ncsn_error err = {{0}};
    int rc = ncsn_config_set(c, assignment, &err);
    if (rc) fprintf(stderr, "\n  %s: %s\n", assignment, err.msg);
    CU_ASSERT_FATAL(rc == 0);
}

void ncsn_fix_config(ncsn_config *c, const char *const *sets) {
    ncsn_config_default(c);
    for (int i = 0; sets && sets[i]; i++) ncsn_fix_set(c, sets[i]);
}

void ncsn_fix_config_valid(ncsn_config *c, const char *const *sets) {
    ncsn_fix_config(c, sets);
    ncsn_error err = {{0}};
    int rc = ncsn_config_validate(c, &err);
    if (rc) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
}

/* ---- files --------------------------------------------------------------------------- */

const char *ncsn_fix_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", ncsn_test_tmpdir(), name);
    return buf;
}

const char *ncsn_fix_dir(char *buf, size_t size, const char *name) {
    ncsn_fix_mkdir(ncsn_fix_path(buf, size, name));
    return buf;
}

void ncsn_fix_mkdir(const char *path) {
    CU_ASSERT_FATAL(mkdir(path, 0777) == 0 || errno == EEXIST);
}

int ncsn_fix_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int ncsn_fix_count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) {
            fprintf(stderr, "\n  left behind: %s/%s\n", dir, e->d_name);
            count++;
        }
    closedir(d);
    return count;
}

char *ncsn_fix_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) fprintf(stderr, "\n  cannot open %s\n", path);
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    CU_ASSERT_FATAL(bytes >= 0);
    *size = (size_t)bytes;
    char *buf = ncsn_xmalloc(*size + 1);
    size_t got = fread(buf, 1, *size, f);
    fclose(f);
    buf[*size] = '\0';
    CU_ASSERT_FATAL(got == *size);
    return buf;
}

void ncsn_fix_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) fprintf(stderr, "\n  cannot create %s\n", path);
    CU_ASSERT_FATAL(f != NULL);
    size_t put = fwrite(data, 1, size, f);
    CU_ASSERT_FATAL(fclose(f) == 0 && put == size);
}

const char *ncsn_fix_write_tmp(const char *name, const char *text) {
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    ncsn_fix_write_file(ncsn_fix_path(p, sizeof paths[0], name), text, strlen(text));
    return p;
}

/* ---- mixtures and noise levels ------------------------------------------------------- */

void ncsn_fix_notebook_gmm(ncsn_gmm *g) {
    const double w[2] = {0.95, 0.05}, mu[4] = {-5, -5, 5, 5}, sd[2] = {1, 1};
    CU_ASSERT_FATAL(ncsn_gmm_init(g, 2, 2, w, mu, sd) == 0);
}

void ncsn_fix_sigmas(double sigma_1, double sigma_L, int L, float *out) {
    double *s = ncsn_xmalloc(sizeof(double) * (size_t)L);
    ncsn_noise_levels(sigma_1, sigma_L, L, s);
    for (int i = 0; i < L; i++) out[i] = (float)s[i];
    free(s);
}

/* ---- a hand-built run ---------------------------------------------------------------- */

void ncsn_fix_run_init(ncsn_fix_run *r, const ncsn_config *cfg, int L, int K, int n,
                       int n_loss, const char *status) {
    memset(r, 0, sizeof *r);
    ncsn_config_copy(&r->cfg, cfg);
    const int D = (int)cfg->dataset.dim;
    ncsn_model_alloc(&r->model, D, cfg->model.emb, cfg->model.hidden, cfg->model.sigma_input,
                     cfg->model.scale_by_sigma);
    r->sigmas = ncsn_xcalloc((size_t)L, sizeof *r->sigmas);
    r->samples = ncsn_xcalloc((size_t)n * (size_t)D, sizeof *r->samples);
    r->loss_step = ncsn_xcalloc((size_t)n_loss + 1, sizeof *r->loss_step);
    r->loss = ncsn_xcalloc((size_t)n_loss + 1, sizeof *r->loss);
    r->mode_weights = ncsn_xcalloc((size_t)K + 1, sizeof *r->mode_weights);
    r->score_error = ncsn_xcalloc((size_t)L, sizeof *r->score_error);
    r->metrics = (ncsn_metrics){.K = K, .mode_weights = r->mode_weights, .L = L,
                                .score_error = r->score_error};
    r->out = (ncsn_run_output){.cfg = &r->cfg, .model = &r->model, .sigmas = r->sigmas,
                               .L = L, .samples = r->samples, .n = n, .D = D,
                               .loss_step = r->loss_step, .loss = r->loss, .n_loss = n_loss,
                               .metrics = &r->metrics, .status = status};
}

int ncsn_fix_run_write(const ncsn_fix_run *r, const char *path) {
    ncsn_error err = {{0}};
    int rc = ncsn_run_file_write(path, &r->out, &err);
    if (rc) fprintf(stderr, "\n  write %s: %s\n", path, err.msg);
    return rc;
}

void ncsn_fix_run_free(ncsn_fix_run *r) {
    ncsn_config_free(&r->cfg);
    ncsn_model_free(&r->model);
    free(r->sigmas);
    free(r->samples);
    free(r->loss_step);
    free(r->loss);
    free(r->mode_weights);
    free(r->score_error);
    memset(r, 0, sizeof *r);
}

/* ---- thread counts ------------------------------------------------------------------- */

ncsn_fix_threads ncsn_fix_threads_range(int first, int last) {
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
#else
    const int saved = 1;
#endif
    return (ncsn_fix_threads){.threads = first - 1, .last = last, .saved = saved};
}

int ncsn_fix_threads_next(ncsn_fix_threads *t) {
    const int more = ++t->threads <= t->last;
#ifdef _OPENMP
    omp_set_num_threads(more ? t->threads : t->saved);
#endif
    return more;
}

/* ---- kernel variants ---------------------------------------------------------------- */

void ncsn_fix_isa_auto(void) {
    ncsn_isa_force(NCSN_ISA_AUTO);
    printf("(variant %s) ", ncsn_isa_name(ncsn_isa()));
    if (ncsn_isa_best() < NCSN_ISA_AVX2_FMA)
        ncsn_test_skip("this CPU has no AVX2+FMA: the baseline was compared with itself");
}

/* ---- HDF5 and Python ----------------------------------------------------------------- */

void ncsn_fix_test_no_hdf5_open(void) {
    ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_ids != 0) {
        hid_t ids[16];
        ssize_t n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_ALL, 16, ids);
        for (ssize_t i = 0; i < n; i++) {
            char name[256] = "?";
            if (H5Iget_type(ids[i]) == H5I_FILE) H5Fget_name(ids[i], name, sizeof name);
            fprintf(stderr, "\n  still open: HDF5 id of type %d (%s)\n", (int)H5Iget_type(ids[i]),
                    name);
        }
    }
    CU_ASSERT(open_ids == 0);
}

int ncsn_fix_have_h5py(void) {
    if (system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0) return 1;
    ncsn_test_skip("/usr/bin/python3 cannot import h5py");
    return 0;
}

void ncsn_fix_model_alloc(ncsn_model *m, int D, int E, int H, int option) {
    const int input = option == 1   ? NCSN_SIGMA_INPUT_LOG_SIGMA
                      : option == 3 ? NCSN_SIGMA_INPUT_NONE
                                    : NCSN_SIGMA_INPUT_SIGMA;
    ncsn_model_alloc(m, D, E, H, input, option >= 2);
}

void ncsn_fix_check_grads_close(const ncsn_model *m, const float *got, const float *want,
                                double rel, const char *label) {
    ncsn_model vg, vw;
    ncsn_model_view(m, (float *)got, &vg);
    ncsn_model_view(m, (float *)want, &vw);
    for (int t = 0; t < NCSN_MODEL_N_TENSORS; t++) {
        const char *name;
        float *a, *b;
        int rows, cols;
        ncsn_model_tensor(&vg, t, &name, &a, &rows, &cols);
        ncsn_model_tensor(&vw, t, &name, &b, &rows, &cols);
        double mx = 0, worst = 0;
        for (int j = 0; j < rows * (cols ? cols : 1); j++) {
            mx = fmax(mx, fabs(b[j]));
            worst = fmax(worst, fabs(a[j] - b[j]));
        }
        if (getenv("NCSN_TEST_VERBOSE") || !(worst <= rel * mx))
            fprintf(stderr, "\n  %s (%s): max %.3g, worst difference %.3g\n", name, label, mx,
                    worst);
        CU_ASSERT(worst <= rel * mx);
    }
}
