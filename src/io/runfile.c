/* io/runfile.c: the run file (layout in io.h), one HDF5 file per run that h5py users open
 * directly. The checkpoint of a run in flight is io/checkpoint.c; the HDF5 helpers both use
 * are io/h5util.c.
 *
 * Writing: HDF5 builds the whole file in memory (the core driver), every HDF5 return
 * value is checked, and only a complete image is written to "<path>.tmp.<pid>" beside
 * path, fsync'd, and renamed over path. On any failure the temporary file is removed and
 * whatever was at path is left alone. File types are explicit (little-endian int64,
 * float32, float64; variable-length UTF-8 strings; the int8 enum {FALSE, TRUE} that h5py
 * maps to numpy.bool_), so h5py returns the same numpy types on every machine.
 *
 * Reading: the checks run in the order that gives the most useful message: the file can
 * be opened, is HDF5, opens as HDF5 (a truncated copy fails here), has a format_version
 * this build reads, and says status "complete" (or "bad_samples": training finished, only
 * the samples went wrong, and the model is sound); then config_yaml is parsed and /model,
 * /train and /metrics are read with their shapes checked against the configuration.
 *
 * HDF5's own error printing is switched off while these functions run and restored after.
 * Failures come back as one line, "PATH: what failed (HDF5's innermost reason)".
 *
 * Sections: writing: helpers, then one function per group | reading: the sections in
 * order. */
#include "ncsn/h5util.h"
#include "ncsn/io.h"
#include "ncsn/text.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing: helpers ------------------------------------------------------------------ */

/* numpy's bool as h5py stores it: an int8 enum with members FALSE = 0 and TRUE = 1. */
static hid_t bool_enum(void) {
    const int8_t no = 0, yes = 1;
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    if (t < 0) return t;
    if (H5Tenum_insert(t, "FALSE", &no) < 0 || H5Tenum_insert(t, "TRUE", &yes) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static int write_scalar_f64(const ncsn_h5_ctx *c, hid_t loc, const char *name, double v) {
    return ncsn_h5_write_dataset(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int write_vector_f64(const ncsn_h5_ctx *c, hid_t loc, const char *name, const double *v,
                            int n) {
    hsize_t dims[1] = {(hsize_t)n};
    return ncsn_h5_write_dataset(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, v);
}

/* ---- writing: the groups, in file order ---------------------------------------------- */

static int write_root_attrs(const ncsn_h5_ctx *c, hid_t file, const ncsn_run_output *r) {
    char created[NCSN_ISO_TIME_MAX];
    ncsn_iso_time(created, sizeof created);

    char *yaml = ncsn_config_to_yaml(r->cfg);
    int rc = ncsn_h5_write_attr_int64(c, file, "format_version", NCSN_FORMAT_VERSION) ||
             ncsn_h5_write_attr_string(c, file, "ncsn_version", NCSN_VERSION) ||
             ncsn_h5_write_attr_string(c, file, "git_commit", NCSN_GIT_COMMIT) ||
             ncsn_h5_write_attr_string(c, file, "status", r->status) ||
             ncsn_h5_write_attr_string(c, file, "config_yaml", yaml) ||
             ncsn_h5_write_attr_string(c, file, "created", created);
    free(yaml);
    return rc ? -1 : 0;
}

/* /samples, /train/{step,loss}, /noise/sigmas. */
static int write_arrays(const ncsn_h5_ctx *c, hid_t file, const ncsn_run_output *r) {
    hsize_t sample_dims[2] = {(hsize_t)r->n, (hsize_t)r->D}, loss_dims[1] = {(hsize_t)r->n_loss};
    hid_t train = H5I_INVALID_HID, noise = H5I_INVALID_HID;
    int rc = -1;
    if (ncsn_h5_write_dataset(c, file, "samples", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2,
                              sample_dims, r->samples) == 0 &&
        (train = ncsn_h5_make_group(c, file, "train")) >= 0 &&
        ncsn_h5_write_dataset(c, train, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, loss_dims,
                              r->loss_step) == 0 &&
        ncsn_h5_write_dataset(c, train, "loss", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, loss_dims,
                              r->loss) == 0 &&
        (noise = ncsn_h5_make_group(c, file, "noise")) >= 0 &&
        write_vector_f64(c, noise, "sigmas", r->sigmas, r->L) == 0)
        rc = 0;
    ncsn_h5_close_checked(c, noise, file, "noise", &rc);
    ncsn_h5_close_checked(c, train, file, "train", &rc);
    return rc;
}

/* Group loc/name, made, filled by fill (as a file's contents: fill(c, group, data)) and
 * closed; a failed close counts as a failure. */
static int write_group(const ncsn_h5_ctx *c, hid_t loc, const char *name,
                       ncsn_h5_writer_fn fill, const void *data) {
    hid_t g = ncsn_h5_make_group(c, loc, name);
    if (g < 0) return -1;
    int rc = fill(c, g, data);
    ncsn_h5_close_checked(c, g, loc, name, &rc);
    return rc;
}

/* /model/<layer>/{weight,bias} (model: the group /model): "backbone.0.weight" is dataset
 * weight in group backbone.0, with PyTorch's shapes (rows, cols) and (rows). */
static int write_model(const ncsn_h5_ctx *c, hid_t model, const void *data) {
    const ncsn_model *m = data;
    int rc = 0;
    for (int i = 0; m && i < NCSN_MODEL_N_TENSORS && rc == 0; i++) {
        const char *name;
        float *data;
        int rows, cols;
        ncsn_model_tensor(m, i, &name, &data, &rows, &cols);
        if (rows == 0) continue; /* sigma_input none: there is no sigma_emb (model.h) */
        const char *dot = strrchr(name, '.');
        NCSN_ASSERT(dot && dot != name);
        char layer[NCSN_NAME_MAX];
        snprintf(layer, sizeof layer, "%.*s", (int)(dot - name), name);

        htri_t exists = H5Lexists(model, layer, H5P_DEFAULT);
        if (exists < 0) {
            rc = ncsn_h5_fail(c, "cannot look up", model, layer);
            break;
        }
        hid_t g = exists ? H5Gopen2(model, layer, H5P_DEFAULT)
                         : ncsn_h5_make_group(c, model, layer);
        if (g < 0) {
            rc = exists ? ncsn_h5_fail(c, "cannot open group", model, layer) : -1;
            break;
        }
        hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
        rc = ncsn_h5_write_dataset(c, g, dot + 1, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                   cols ? 2 : 1, dims, data);
        ncsn_h5_close_checked(c, g, model, layer, &rc);
    }
    return rc;
}

/* /metrics (g: that group); empty without metrics. */
static int write_metrics(const ncsn_h5_ctx *c, hid_t g, const void *data) {
    const ncsn_metrics *m = data;
    int rc = 0;
    if (m) {
        const struct {
            const char *name;
            double value;
        } scalars[] = {
            {"mmd2", m->mmd2},
            {"swd", m->swd},
            {"mode_weight_error", m->mode_weight_error},
            {"nll_true", m->nll_true},
            {"final_loss", m->final_loss},
            {"train_seconds", m->train_seconds},
            {"sample_seconds", m->sample_seconds},
            {"noise_floor_mmd2", m->noise_floor_mmd2},
            {"noise_floor_swd", m->noise_floor_swd},
            {"fd", m->fd},
            {"noise_floor_fd", m->noise_floor_fd},
            {"nn_ratio", m->nn_ratio},
            {"bad_radius", m->bad_radius},
        };
        for (size_t i = 0; i < sizeof scalars / sizeof scalars[0] && rc == 0; i++)
            rc = write_scalar_f64(c, g, scalars[i].name, scalars[i].value);
        if (rc == 0 && m->labelled) /* data with labels only (classify.h) */
            rc = write_scalar_f64(c, g, "classifier_accuracy", m->classifier_accuracy) ||
                 write_vector_f64(c, g, "train_shares", m->train_shares, m->K);
        if (rc == 0)
            rc = ncsn_h5_write_dataset(c, g, "n_bad", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL,
                                       &m->n_bad) ||
                 ncsn_h5_write_dataset(c, g, "n_nonfinite", H5T_STD_I64LE, H5T_NATIVE_INT64,
                                       0, NULL, &m->n_nonfinite);
        if (rc == 0) rc = write_vector_f64(c, g, "mode_weights", m->mode_weights, m->K);
        if (rc == 0) rc = write_vector_f64(c, g, "score_error", m->score_error, m->L);
    }
    return rc;
}

/* /snapshots (train.h): step (S), model and ema (S, n_params). */
static int write_snapshots(const ncsn_h5_ctx *c, hid_t g, const void *data) {
    const ncsn_snapshots *s = data;
    const hsize_t steps[1] = {(hsize_t)s->n}, dims[2] = {(hsize_t)s->n, (hsize_t)s->n_params};
    return ncsn_h5_write_dataset(c, g, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, steps,
                                 s->step) ||
           ncsn_h5_write_dataset(c, g, "model", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                                 s->model) ||
           (s->ema && ncsn_h5_write_dataset(c, g, "ema", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2,
                                            dims, s->ema))
               ? -1
               : 0;
}

/* State of the /config visitor: the first failure stops further writes. */
typedef struct {
    const ncsn_h5_ctx *c;
    hid_t group, bool_type;
    FILE *origins; /* "key: origin" lines for keys not at their default */
    int rc;
} config_writer;

/* A value's dataspace (config.h): (rows, cols) for a matrix, (rows) for a list, even of
 * one element, and scalar for a single value (rows = 0). */
static int value_shape(const ncsn_config_value *v, hsize_t dims[2]) {
    dims[0] = (hsize_t)v->rows;
    dims[1] = (hsize_t)v->cols;
    return v->cols > 0 ? 2 : v->rows > 0 ? 1 : 0;
}

static void write_config_value(const ncsn_config_value *v, void *user) {
    config_writer *w = user;
    if (w->rc) return;
    hsize_t dims[2];
    int rank = value_shape(v, dims);
    switch (v->type) {
    case NCSN_VALUE_INT: /* the seed is a uint64 held in int64 bits */
        w->rc = v->is_unsigned ? ncsn_h5_write_attr(w->c, w->group, v->key, H5T_STD_U64LE,
                                                    H5T_NATIVE_UINT64, rank, dims, v->ints)
                               : ncsn_h5_write_attr(w->c, w->group, v->key, H5T_STD_I64LE,
                                                    H5T_NATIVE_INT64, rank, dims, v->ints);
        break;
    case NCSN_VALUE_REAL:
        w->rc = ncsn_h5_write_attr(w->c, w->group, v->key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                   rank, dims, v->reals);
        break;
    case NCSN_VALUE_STRING:
        w->rc = ncsn_h5_write_attr_string(w->c, w->group, v->key, v->string);
        break;
    case NCSN_VALUE_BOOL: {
        int8_t *b = ncsn_xmalloc((size_t)v->count);
        for (int i = 0; i < v->count; i++) b[i] = v->ints[i] != 0;
        w->rc = ncsn_h5_write_attr(w->c, w->group, v->key, w->bool_type, w->bool_type, rank,
                                   dims, b);
        free(b);
        break;
    }
    default: NCSN_ASSERT(0 && "unknown config value type");
    }
    if (v->origin && v->origin[0]) fprintf(w->origins, "%s: %s\n", v->key, v->origin);
}

/* The techniques' provenance (io.h), as the run plan worked it out: where sigma_1, L and
 * eps came from, the realised gamma, and eps in the paper's convention. */
static int write_provenance(const ncsn_h5_ctx *c, hid_t group, const ncsn_run_output *r) {
    ncsn_provenance own;
    const ncsn_provenance *p = r->provenance;
    if (!p) ncsn_provenance_of(r->cfg, &own), p = &own;
    return (ncsn_h5_write_attr_string(c, group, "sigma_1_source", p->sigma_1_source) ||
            ncsn_h5_write_attr_string(c, group, "L_source", p->L_source) ||
            ncsn_h5_write_attr_string(c, group, "eps_source", p->eps_source) ||
            ncsn_h5_write_attr(c, group, "gamma", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL,
                               &p->gamma) ||
            ncsn_h5_write_attr(c, group, "eps_paper", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0,
                               NULL, &p->eps_paper))
               ? -1
               : 0;
}

/* /config: one attribute per configuration key, plus "origins" and the provenance. */
static int write_config(const ncsn_h5_ctx *c, hid_t group, const void *data) {
    const ncsn_run_output *r = data;
    char *origins = NULL;
    size_t origins_len = 0;
    config_writer w = {c, group, H5I_INVALID_HID, NULL, 0};
    if ((w.bool_type = bool_enum()) < 0) {
        w.rc = ncsn_h5_fail(c, "cannot make the bool type for", w.group, NULL);
    } else {
        w.origins = open_memstream(&origins, &origins_len);
        NCSN_ASSERT(w.origins);
        ncsn_config_visit(r->cfg, write_config_value, &w);
        fclose(w.origins);
        if (w.rc == 0) w.rc = ncsn_h5_write_attr_string(c, w.group, "origins", origins);
        free(origins);
        if (w.rc == 0) w.rc = write_provenance(c, w.group, r);
    }
    ncsn_h5_close_checked(c, w.bool_type, w.group, NULL, &w.rc);
    return w.rc;
}

static int write_contents(const ncsn_h5_ctx *c, hid_t file, const ncsn_run_output *r) {
    return (write_root_attrs(c, file, r) || write_arrays(c, file, r) ||
            (r->model && write_group(c, file, "model", write_model, r->model)) ||
            (r->model && r->snapshots && r->snapshots->n_max > 0 &&
             write_group(c, file, "snapshots", write_snapshots, r->snapshots)) ||
            write_group(c, file, "metrics", write_metrics, r->metrics) ||
            write_group(c, file, "config", write_config, r))
               ? -1
               : 0;
}

int ncsn_run_file_check_writable(const char *path, ncsn_error *err) {
    struct stat st;
    if (!path || !path[0]) return ncsn_seterr(err, "the output path is empty");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ncsn_seterr(err, "%s: cannot write: it is a directory", path);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return ncsn_seterr(err, "%s: cannot create (%s)", path, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

/* 1 when path is a run file (format_version and status); its status into *status
 * (malloc'd, NULL when status is NULL or it cannot be read). */
static int run_file_status(const char *path, char **status) {
    struct stat st;
    if (status) *status = NULL;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    int is_run = 0;
    if (H5Fis_hdf5(path) > 0) {
        hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file >= 0)
            is_run = H5Aexists(file, "format_version") > 0 && H5Aexists(file, "status") > 0;
        if (is_run && status) {
            ncsn_error err;
            const ncsn_h5_ctx c = {path, &err};
            if (ncsn_h5_read_attr_string(&c, file, "status", status) != 0) *status = NULL;
        }
        ncsn_h5_close(file);
    }
    ncsn_h5_quiet_end(&q);
    return is_run;
}

int ncsn_run_file_exists(const char *path) { return run_file_status(path, NULL); }

/* The statuses whose run file holds a trained model: sampling went wrong, not training. */
static int status_has_model(const char *status) {
    return strcmp(status, "complete") == 0 || strcmp(status, "bad_samples") == 0;
}

int ncsn_run_file_has_model(const char *path) {
    char *status;
    const int ok = run_file_status(path, &status) && status && status_has_model(status);
    free(status);
    return ok;
}

static int run_file_contents(const ncsn_h5_ctx *c, hid_t file, const void *data) {
    return write_contents(c, file, (const ncsn_run_output *)data);
}

int ncsn_run_file_write(const char *path, const ncsn_run_output *r, ncsn_error *err) {
    NCSN_ASSERT(path && r && r->cfg && r->status);
    NCSN_ASSERT(r->n >= 0 && r->D >= 0 && r->L >= 0 && r->n_loss >= 0);
    NCSN_ASSERT((r->samples || (size_t)r->n * (size_t)r->D == 0) && (r->sigmas || r->L == 0));
    NCSN_ASSERT((r->loss_step && r->loss) || r->n_loss == 0);
    return ncsn_h5_write_file(path, run_file_contents, r, err);
}

/* ---- reading: the sections in order ---------------------------------------------------- */

/* format_version and status decide whether the rest is worth reading. */
static int check_header(const ncsn_h5_ctx *c, hid_t file) {
    int64_t version;
    if (ncsn_h5_read_attr_int64(c, file, "format_version", &version)) return -1;
    if (version > NCSN_FORMAT_VERSION)
        return ncsn_seterr(c->err, "%s: format_version %" PRId64
                                   " is newer than this ncsn reads (%d); upgrade ncsn",
                           c->path, version, NCSN_FORMAT_VERSION);
    if (version < 1)
        return ncsn_seterr(c->err, "%s: format_version %" PRId64 " is not valid", c->path,
                           version);
    char *status;
    if (ncsn_h5_read_attr_string(c, file, "status", &status)) return -1;
    int rc = 0;
    if (!status_has_model(status))
        rc = ncsn_seterr(c->err, "%s: status is \"%s\", not \"complete\": the run did not finish",
                         c->path, status);
    free(status);
    return rc;
}

static int read_config(const ncsn_h5_ctx *c, hid_t file, ncsn_config *cfg) {
    char *yaml;
    if (ncsn_h5_read_attr_string(c, file, "config_yaml", &yaml)) return -1;
    size_t label_size = strlen(c->path) + 16;
    char *label = ncsn_xmalloc(label_size);
    snprintf(label, label_size, "%s:config_yaml", c->path);
    ncsn_config_default(cfg);
    int rc = ncsn_config_load_string(cfg, yaml, label, c->err);
    free(label);
    free(yaml);
    return rc;
}

/* The model's shape comes from the configuration; each tensor must match it. */
static int read_model(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg, ncsn_model *m,
                      int *has_model) {
    *has_model = cfg->sample.score != NCSN_SCORE_EXACT;
    if (!*has_model) return 0; /* an exact-score run trained nothing, and wrote no /model */
    ncsn_model_alloc(m, cfg->dataset.dim, cfg->model.emb, cfg->model.hidden,
                     cfg->model.sigma_input, cfg->model.scale_by_sigma);
    for (int i = 0; i < NCSN_MODEL_N_TENSORS; i++) {
        const char *name;
        float *data;
        int rows, cols;
        ncsn_model_tensor(m, i, &name, &data, &rows, &cols);
        if (rows == 0) continue; /* no sigma_emb to read (write_model) */
        const char *dot = strrchr(name, '.');
        NCSN_ASSERT(dot);
        char object[NCSN_NAME_MAX + 16];
        snprintf(object, sizeof object, "/model/%.*s/%s", (int)(dot - name), name, dot + 1);
        hsize_t want[2] = {(hsize_t)rows, (hsize_t)cols};
        if (ncsn_h5_read_dataset(c, file, object, H5T_FLOAT, H5T_NATIVE_FLOAT, cols ? 2 : 1,
                                 want, data))
            return -1;
        /* ReLU would hide a NaN weight and the samples would look fine: refuse it */
        size_t count = (size_t)rows * (size_t)(cols ? cols : 1);
        for (size_t j = 0; j < count; j++)
            if (!isfinite(data[j]))
                return ncsn_seterr(c->err, "%s: %s holds a non-finite value (%g at %zu)",
                                   c->path, object, (double)data[j], j);
    }
    return 0;
}

/* /snapshots of a complete run: one every train.snapshot_every steps, at those steps. */
static int read_snapshots(const ncsn_h5_ctx *c, hid_t file, const ncsn_config *cfg,
                          ncsn_run_input *in) {
    ncsn_snapshots *s = &in->snapshots;
    ncsn_snapshots_alloc(s, cfg->train.steps, cfg->train.snapshot_every, in->model.n_params,
                         cfg->train.ema > 0);
    if (!in->has_model || s->n_max == 0) return 0;
    const hsize_t steps[1] = {(hsize_t)s->n_max},
                  dims[2] = {(hsize_t)s->n_max, (hsize_t)s->n_params};
    if (ncsn_h5_read_dataset(c, file, "/snapshots/step", H5T_INTEGER, H5T_NATIVE_INT64, 1,
                             steps, s->step) ||
        ncsn_h5_read_dataset(c, file, "/snapshots/model", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dims,
                             s->model) ||
        (s->ema && ncsn_h5_read_dataset(c, file, "/snapshots/ema", H5T_FLOAT, H5T_NATIVE_FLOAT,
                                        2, dims, s->ema)))
        return -1;
    for (int i = 0; i < s->n_max; i++)
        if (s->step[i] != (i + 1) * cfg->train.snapshot_every)
            return ncsn_seterr(c->err, "%s: /snapshots/step[%d] is %lld, expected %lld", c->path,
                               i, (long long)s->step[i],
                               (long long)((i + 1) * cfg->train.snapshot_every));
    s->n = s->n_max;
    return 0;
}

/* /train/step and /train/loss: as long as each other, and counted by an int. */
static int check_history_lengths(const ncsn_h5_ctx *c, hsize_t n_step, hsize_t n_loss,
                                 const void *user) {
    (void)user;
    if (n_step != n_loss)
        return ncsn_seterr(c->err, "%s: /train/step has %llu entries but /train/loss has %llu",
                           c->path, (unsigned long long)n_step, (unsigned long long)n_loss);
    if (n_loss > (hsize_t)INT32_MAX)
        return ncsn_seterr(c->err, "%s: /train/loss is too long (%llu)", c->path,
                           (unsigned long long)n_loss);
    return 0;
}

static int read_history(const ncsn_h5_ctx *c, hid_t file, ncsn_run_input *in) {
    return ncsn_h5_read_loss_history(c, file, "/train/step", "/train/loss",
                                     check_history_lengths, NULL, &in->n_loss, &in->loss_step,
                                     &in->loss);
}

/* /config's provenance strings, each left "" when the file predates it. */
static int read_provenance(const ncsn_h5_ctx *c, hid_t file, ncsn_run_input *in) {
    const struct {
        const char *name;
        char *to;
    } items[] = {{"sigma_1_source", in->sigma_1_source},
                 {"L_source", in->L_source},
                 {"eps_source", in->eps_source}};
    if (H5Lexists(file, "config", H5P_DEFAULT) <= 0) return 0;
    hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
    if (g < 0) return ncsn_h5_fail(c, "cannot open group", H5I_INVALID_HID, "/config");
    int rc = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0] && rc == 0; i++) {
        htri_t exists = H5Aexists(g, items[i].name);
        if (exists < 0) rc = ncsn_h5_fail(c, "cannot look up attribute", g, items[i].name);
        if (exists <= 0) continue;
        char *text;
        if ((rc = ncsn_h5_read_attr_string(c, g, items[i].name, &text)) == 0) {
            snprintf(items[i].to, sizeof in->sigma_1_source, "%s", text);
            free(text);
        }
    }
    ncsn_h5_close(g);
    return rc;
}

static int read_contents(const ncsn_h5_ctx *c, hid_t file, ncsn_run_input *in) {
    if (check_header(c, file) || read_config(c, file, &in->cfg) || read_provenance(c, file, in) ||
        read_model(c, file, &in->cfg, &in->model, &in->has_model) ||
        read_snapshots(c, file, &in->cfg, in) || read_history(c, file, in) ||
        ncsn_h5_read_dataset(c, file, "/metrics/train_seconds", H5T_FLOAT, H5T_NATIVE_DOUBLE,
                             0, NULL, &in->train_seconds) ||
        ncsn_h5_read_dataset(c, file, "/metrics/final_loss", H5T_FLOAT, H5T_NATIVE_DOUBLE, 0,
                             NULL, &in->final_loss))
        return -1;
    return 0;
}

static int run_file_reader(const ncsn_h5_ctx *c, hid_t file, void *data) {
    return read_contents(c, file, (ncsn_run_input *)data);
}

int ncsn_run_file_read(const char *path, ncsn_run_input *in, ncsn_error *err) {
    NCSN_ASSERT(path && in);
    memset(in, 0, sizeof *in);
    int rc = ncsn_h5_read_file(path, run_file_reader, in, err);
    if (rc) ncsn_run_input_free(in);
    return rc;
}

void ncsn_run_input_free(ncsn_run_input *in) {
    if (!in) return;
    ncsn_config_free(&in->cfg);
    ncsn_model_free(&in->model);
    ncsn_snapshots_free(&in->snapshots);
    free(in->loss_step);
    free(in->loss);
    memset(in, 0, sizeof *in);
}
