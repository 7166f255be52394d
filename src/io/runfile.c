/* io/runfile.c: the run file (layout in io.h), one HDF5 file per run that h5py users open directly.
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
 * this build reads, and says status "complete"; then config_yaml is parsed and /model,
 * /train and /metrics are read with their shapes checked against the configuration.
 *
 * HDF5's own error printing is switched off while these functions run and restored after.
 * Failures come back as one line, "PATH: what failed (HDF5's innermost reason)".
 *
 * Sections: error reporting | writing: helpers, then one function per group | reading:
 * helpers, then the sections in order. */
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

/* ---- error reporting ---------------------------------------------------------------- */

typedef struct {
    const char *path; /* the name the user gave (messages never show the temporary name) */
    ncsn_error *err;
} h5ctx;

/* "PATH: WHAT OBJECT (reason)", where OBJECT is loc's HDF5 name joined with name; loc < 0
 * names no object. Returns -1. */
static int h5_fail(const h5ctx *c, const char *what, hid_t loc, const char *name) {
    char reason[NCSN_H5_REASON_MAX], object[512] = "";
    ncsn_h5_reason(reason);
    if (loc < 0 && name) {
        snprintf(object, sizeof object, " %s", name);
    } else if (loc >= 0) {
        char where[256] = "";
        if (H5Iget_name(loc, where, sizeof where) < 0) where[0] = '\0';
        const char *sep = (name && strcmp(where, "/") != 0) ? "/" : "";
        snprintf(object, sizeof object, " %s%s%s", where, sep, name ? name : "");
    }
    return ncsn_seterr(c->err, "%s: %s%s (%s)", c->path, what, object, reason);
}


/* Closes id; a failed close fails the operation (*rc) if nothing failed before it. */
static void close_checked(const h5ctx *c, hid_t id, hid_t loc, const char *name, int *rc) {
    if (ncsn_h5_close(id) < 0 && *rc == 0) *rc = h5_fail(c, "cannot close", loc, name);
}

/* ---- writing: one helper per kind of object ------------------------------------------ */

static hid_t make_space(int rank, const hsize_t *dims) {
    return rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
}

/* Variable-length UTF-8 string type (h5py reads it as str). Close it after use. */
static hid_t vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

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

static hid_t make_group(const h5ctx *c, hid_t loc, const char *name) {
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) h5_fail(c, "cannot create group", loc, name);
    return g;
}

/* Dataset loc/name of file type ftype and shape dims (rank 0: scalar), filled from data
 * laid out as mtype. Contiguous, so h5py reads it in one piece. */
static int write_dataset(const h5ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                         int rank, const hsize_t *dims, const void *data) {
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    int rc = 0;
    if ((space = make_space(rank, dims)) < 0 ||
        (dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (H5Sget_simple_extent_npoints(space) > 0 &&
         H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        rc = h5_fail(c, "cannot write", loc, name);
    close_checked(c, dset, loc, name, &rc);
    close_checked(c, space, loc, name, &rc);
    return rc;
}

/* Attribute loc.name, as write_dataset. */
static int write_attr(const h5ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                      int rank, const hsize_t *dims, const void *data) {
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    int rc = 0;
    if ((space = make_space(rank, dims)) < 0 ||
        (attr = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (H5Sget_simple_extent_npoints(space) > 0 && H5Awrite(attr, mtype, data) < 0))
        rc = h5_fail(c, "cannot write attribute", loc, name);
    close_checked(c, attr, loc, name, &rc);
    close_checked(c, space, loc, name, &rc);
    return rc;
}

static int write_attr_string(const h5ctx *c, hid_t loc, const char *name, const char *s) {
    hid_t t = vlen_utf8();
    if (t < 0) return h5_fail(c, "cannot make a string type for", loc, name);
    int rc = write_attr(c, loc, name, t, t, 0, NULL, &s);
    close_checked(c, t, loc, name, &rc);
    return rc;
}

static int write_attr_int64(const h5ctx *c, hid_t loc, const char *name, int64_t v) {
    return write_attr(c, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &v);
}

static int write_scalar_f64(const h5ctx *c, hid_t loc, const char *name, double v) {
    return write_dataset(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int write_vector_f64(const h5ctx *c, hid_t loc, const char *name, const double *v,
                            int n) {
    hsize_t dims[1] = {(hsize_t)n};
    return write_dataset(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, v);
}

/* ---- writing: the groups, in file order ---------------------------------------------- */

static int write_root_attrs(const h5ctx *c, hid_t file, const ncsn_run_output *r) {
    char created[NCSN_ISO_TIME_MAX];
    ncsn_iso_time(created, sizeof created);

    char *yaml = ncsn_config_to_yaml(r->cfg);
    int rc = write_attr_int64(c, file, "format_version", NCSN_FORMAT_VERSION) ||
             write_attr_string(c, file, "ncsn_version", NCSN_VERSION) ||
             write_attr_string(c, file, "git_commit", NCSN_GIT_COMMIT) ||
             write_attr_string(c, file, "status", r->status) ||
             write_attr_string(c, file, "config_yaml", yaml) ||
             write_attr_string(c, file, "created", created);
    free(yaml);
    return rc ? -1 : 0;
}

/* /samples, /train/{step,loss}, /noise/sigmas. */
static int write_arrays(const h5ctx *c, hid_t file, const ncsn_run_output *r) {
    hsize_t sample_dims[2] = {(hsize_t)r->n, (hsize_t)r->D}, loss_dims[1] = {(hsize_t)r->n_loss};
    hid_t train = H5I_INVALID_HID, noise = H5I_INVALID_HID;
    int rc = -1;
    if (write_dataset(c, file, "samples", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, sample_dims,
                      r->samples) == 0 &&
        (train = make_group(c, file, "train")) >= 0 &&
        write_dataset(c, train, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, loss_dims,
                      r->loss_step) == 0 &&
        write_dataset(c, train, "loss", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, loss_dims,
                      r->loss) == 0 &&
        (noise = make_group(c, file, "noise")) >= 0 &&
        write_vector_f64(c, noise, "sigmas", r->sigmas, r->L) == 0)
        rc = 0;
    close_checked(c, noise, file, "noise", &rc);
    close_checked(c, train, file, "train", &rc);
    return rc;
}

/* /model/<layer>/{weight,bias}: "backbone.0.weight" is dataset weight in group backbone.0,
 * with PyTorch's shapes (rows, cols) and (rows). */
static int write_model(const h5ctx *c, hid_t file, const ncsn_model *m) {
    hid_t model = make_group(c, file, "model");
    if (model < 0) return -1;
    int rc = 0;
    for (int i = 0; m && i < NCSN_MODEL_N_TENSORS && rc == 0; i++) {
        const char *name;
        float *data;
        int rows, cols;
        ncsn_model_tensor(m, i, &name, &data, &rows, &cols);
        const char *dot = strrchr(name, '.');
        NCSN_ASSERT(dot && dot != name);
        char layer[NCSN_NAME_MAX];
        snprintf(layer, sizeof layer, "%.*s", (int)(dot - name), name);

        htri_t exists = H5Lexists(model, layer, H5P_DEFAULT);
        if (exists < 0) {
            rc = h5_fail(c, "cannot look up", model, layer);
            break;
        }
        hid_t g = exists ? H5Gopen2(model, layer, H5P_DEFAULT) : make_group(c, model, layer);
        if (g < 0) {
            rc = exists ? h5_fail(c, "cannot open group", model, layer) : -1;
            break;
        }
        hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
        rc = write_dataset(c, g, dot + 1, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, cols ? 2 : 1, dims,
                           data);
        close_checked(c, g, model, layer, &rc);
    }
    close_checked(c, model, file, "model", &rc);
    return rc;
}

static int write_metrics(const h5ctx *c, hid_t file, const ncsn_metrics *m) {
    hid_t g = make_group(c, file, "metrics");
    if (g < 0) return -1;
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
        };
        for (size_t i = 0; i < sizeof scalars / sizeof scalars[0] && rc == 0; i++)
            rc = write_scalar_f64(c, g, scalars[i].name, scalars[i].value);
        if (rc == 0)
            rc = write_dataset(c, g, "n_nonfinite", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL,
                               &m->n_nonfinite);
        if (rc == 0) rc = write_vector_f64(c, g, "mode_weights", m->mode_weights, m->K);
        if (rc == 0) rc = write_vector_f64(c, g, "score_error", m->score_error, m->L);
    }
    close_checked(c, g, file, "metrics", &rc);
    return rc;
}

/* State of the /config visitor: the first failure stops further writes. */
typedef struct {
    const h5ctx *c;
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
        w->rc = v->is_unsigned ? write_attr(w->c, w->group, v->key, H5T_STD_U64LE,
                                            H5T_NATIVE_UINT64, rank, dims, v->ints)
                               : write_attr(w->c, w->group, v->key, H5T_STD_I64LE,
                                            H5T_NATIVE_INT64, rank, dims, v->ints);
        break;
    case NCSN_VALUE_REAL:
        w->rc = write_attr(w->c, w->group, v->key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims,
                           v->reals);
        break;
    case NCSN_VALUE_STRING:
        w->rc = write_attr_string(w->c, w->group, v->key, v->string);
        break;
    case NCSN_VALUE_BOOL: {
        int8_t *b = ncsn_xmalloc((size_t)v->count);
        for (int i = 0; i < v->count; i++) b[i] = v->ints[i] != 0;
        w->rc = write_attr(w->c, w->group, v->key, w->bool_type, w->bool_type, rank, dims, b);
        free(b);
        break;
    }
    default: NCSN_ASSERT(0 && "unknown config value type");
    }
    if (v->origin && v->origin[0]) fprintf(w->origins, "%s: %s\n", v->key, v->origin);
}

/* The techniques' provenance (io.h): where sigma_1, L and eps came from, the realised
 * gamma, and eps in the paper's convention. */
static int write_provenance(const h5ctx *c, hid_t group, const ncsn_run_output *r) {
    const ncsn_config *cfg = r->cfg;
    const double ratio = cfg->noise.sigma_1 / cfg->noise.sigma_L;
    const double gamma = cfg->noise.L > 1 ? pow(ratio, 1.0 / (cfg->noise.L - 1)) : ratio;
    const double eps_paper = cfg->sample.eps / 2.0;
    return (write_attr_string(c, group, "sigma_1_source",
                              r->sigma_1_source ? r->sigma_1_source
                                                : ncsn_config_sigma_1_source(cfg)) ||
            write_attr_string(c, group, "L_source",
                              r->L_source ? r->L_source : ncsn_config_L_source(cfg)) ||
            write_attr_string(c, group, "eps_source",
                              r->eps_source ? r->eps_source : ncsn_config_eps_source(cfg)) ||
            write_attr(c, group, "gamma", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &gamma) ||
            write_attr(c, group, "eps_paper", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL,
                       &eps_paper))
               ? -1
               : 0;
}

/* /config: one attribute per configuration key, plus "origins" and the provenance. */
static int write_config(const h5ctx *c, hid_t file, const ncsn_run_output *r) {
    char *origins = NULL;
    size_t origins_len = 0;
    config_writer w = {c, H5I_INVALID_HID, H5I_INVALID_HID, NULL, 0};
    if ((w.group = make_group(c, file, "config")) < 0) return -1;
    if ((w.bool_type = bool_enum()) < 0) {
        w.rc = h5_fail(c, "cannot make the bool type for", w.group, NULL);
    } else {
        w.origins = open_memstream(&origins, &origins_len);
        NCSN_ASSERT(w.origins);
        ncsn_config_visit(r->cfg, write_config_value, &w);
        fclose(w.origins);
        if (w.rc == 0) w.rc = write_attr_string(c, w.group, "origins", origins);
        free(origins);
        if (w.rc == 0) w.rc = write_provenance(c, w.group, r);
    }
    close_checked(c, w.bool_type, w.group, NULL, &w.rc);
    close_checked(c, w.group, file, "config", &w.rc);
    return w.rc;
}

static int write_contents(const h5ctx *c, hid_t file, const ncsn_run_output *r) {
    return (write_root_attrs(c, file, r) || write_arrays(c, file, r) ||
            write_model(c, file, r->model) || write_metrics(c, file, r->metrics) ||
            write_config(c, file, r))
               ? -1
               : 0;
}

typedef int (*contents_fn)(const h5ctx *c, hid_t file, const void *data);

typedef struct {
    const h5ctx *c;
    contents_fn contents;
    const void *data;
} fill_ctx;

static int fill_contents(hid_t file, void *user) {
    const fill_ctx *f = user;
    return f->contents(f->c, file, f->data);
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

/* The file built by contents, written to "<path>.tmp.<pid>" and renamed over path
 * (ncsn_replace_file); on failure the temporary file is removed and path is left alone. */
static int write_atomically(const char *path, contents_fn contents, const void *data,
                            ncsn_error *err) {
    const h5ctx c = {path, err};
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ncsn_seterr(err, "%s: cannot write: it is a directory", path);

    size_t tmp_size = strlen(path) + 32;
    char *tmp = ncsn_xmalloc(tmp_size);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    /* Create the temporary file first: a missing directory or a permission problem is
     * reported with errno's reason before the file is built. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int rc = ncsn_seterr(err, "%s: cannot create (%s)", path, strerror(errno));
        free(tmp);
        return rc;
    }
    void *image = NULL;
    size_t size = 0;
    const char *what;
    char reason[NCSN_H5_REASON_MAX];
    fill_ctx f = {&c, contents, data};
    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    int rc = ncsn_h5_image(tmp, fill_contents, &f, &image, &size, &what, reason);
    ncsn_h5_quiet_end(&q);
    if (rc == -2) ncsn_seterr(err, "%s: %s (%s)", path, what, reason);
    if (rc == 0) {
        rc = ncsn_replace_file(path, tmp, fd, image, size, err);
    } else {
        close(fd);
        unlink(tmp);
    }
    free(image);
    free(tmp);
    return rc ? -1 : 0;
}

static int run_file_contents(const h5ctx *c, hid_t file, const void *data) {
    return write_contents(c, file, (const ncsn_run_output *)data);
}

int ncsn_run_file_write(const char *path, const ncsn_run_output *r, ncsn_error *err) {
    NCSN_ASSERT(path && r && r->cfg && r->status);
    NCSN_ASSERT(r->n >= 0 && r->D >= 0 && r->L >= 0 && r->n_loss >= 0);
    NCSN_ASSERT((r->samples || (size_t)r->n * (size_t)r->D == 0) && (r->sigmas || r->L == 0));
    NCSN_ASSERT((r->loss_step && r->loss) || r->n_loss == 0);
    return write_atomically(path, run_file_contents, r, err);
}

/* ---- reading: helpers ---------------------------------------------------------------- */

static const char *class_name(H5T_class_t cls) {
    switch (cls) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    default: return "other";
    }
}

/* Opens attribute loc.name and checks that it is one value of class cls. */
static hid_t open_attr(const h5ctx *c, hid_t loc, const char *name, H5T_class_t cls) {
    htri_t exists = H5Aexists(loc, name);
    if (exists < 0) {
        h5_fail(c, "cannot look up attribute", loc, name);
        return H5I_INVALID_HID;
    }
    if (exists == 0) {
        ncsn_seterr(c->err, "%s: missing attribute %s (not an ncsn run file?)", c->path, name);
        return H5I_INVALID_HID;
    }
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) {
        h5_fail(c, "cannot open attribute", loc, name);
        return H5I_INVALID_HID;
    }
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    int ok = type >= 0 && space >= 0 && H5Tget_class(type) == cls &&
             H5Sget_simple_extent_npoints(space) == 1;
    ncsn_h5_close(space);
    ncsn_h5_close(type);
    if (!ok) {
        ncsn_h5_close(attr);
        ncsn_seterr(c->err, "%s: attribute %s is not a single %s", c->path, name,
                    class_name(cls));
        return H5I_INVALID_HID;
    }
    return attr;
}

static int read_attr_int64(const h5ctx *c, hid_t loc, const char *name, int64_t *v) {
    hid_t attr = open_attr(c, loc, name, H5T_INTEGER);
    if (attr < 0) return -1;
    int rc = H5Aread(attr, H5T_NATIVE_INT64, v) < 0 ? h5_fail(c, "cannot read attribute", loc, name)
                                                     : 0;
    ncsn_h5_close(attr);
    return rc;
}

/* *s gets a malloc'd copy of a string attribute, variable- or fixed-length. */
static int read_attr_string(const h5ctx *c, hid_t loc, const char *name, char **s) {
    *s = NULL;
    hid_t attr = open_attr(c, loc, name, H5T_STRING);
    if (attr < 0) return -1;
    hid_t ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    int rc = -1;
    /* The memory type is a copy of the file's, so the character set matches. */
    if ((ftype = H5Aget_type(attr)) >= 0 && (mtype = H5Tcopy(ftype)) >= 0) {
        htri_t vlen = H5Tis_variable_str(ftype);
        if (vlen > 0) {
            char *hs = NULL;
            if (H5Aread(attr, mtype, &hs) >= 0) {
                *s = ncsn_xstrdup(hs ? hs : "");
                H5free_memory(hs);
                rc = 0;
            }
        } else if (vlen == 0) {
            size_t size = H5Tget_size(ftype);
            *s = ncsn_xcalloc(size + 1, 1);
            if (size > 0 && H5Aread(attr, mtype, *s) >= 0)
                rc = 0;
        }
    }
    if (rc) {
        rc = h5_fail(c, "cannot read attribute", loc, name);
        free(*s);
        *s = NULL;
    }
    ncsn_h5_close(mtype);
    ncsn_h5_close(ftype);
    ncsn_h5_close(attr);
    return rc;
}

static void format_shape(char *buf, size_t size, int rank, const hsize_t *dims) {
    int len = snprintf(buf, size, "(");
    for (int i = 0; i < rank && len > 0 && (size_t)len < size; i++)
        len += snprintf(buf + len, size - (size_t)len, "%s%llu", i ? ", " : "",
                        (unsigned long long)dims[i]);
    if (len > 0 && (size_t)len < size) snprintf(buf + len, size - (size_t)len, ")");
}

/* Opens dataset name (a path from the root) and checks its class and rank; dims gets its
 * shape. */
static hid_t open_dataset(const h5ctx *c, hid_t file, const char *name, H5T_class_t cls,
                          int rank, hsize_t *dims) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        ncsn_seterr(c->err, "%s: missing dataset %s", c->path, name);
        return H5I_INVALID_HID;
    }
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset < 0) {
        h5_fail(c, "cannot open dataset", H5I_INVALID_HID, name);
        return H5I_INVALID_HID;
    }
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    int ok_class = type >= 0 && H5Tget_class(type) == cls;
    int file_rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    int ok_rank = file_rank == rank && H5Sget_simple_extent_dims(space, dims, NULL) == rank;
    ncsn_h5_close(space);
    ncsn_h5_close(type);
    if (!ok_class || !ok_rank) {
        ncsn_h5_close(dset);
        if (!ok_class)
            ncsn_seterr(c->err, "%s: %s is not a %s dataset", c->path, name, class_name(cls));
        else
            ncsn_seterr(c->err, "%s: %s has %d dimensions, expected %d", c->path, name,
                        file_rank, rank);
        return H5I_INVALID_HID;
    }
    return dset;
}

/* Reads dataset name whole into buf as mtype; it must have class cls and shape want. */
static int read_dataset(const h5ctx *c, hid_t file, const char *name, H5T_class_t cls,
                        hid_t mtype, int rank, const hsize_t *want, void *buf) {
    hsize_t dims[2] = {0, 0};
    NCSN_ASSERT(rank <= 2);
    hid_t dset = open_dataset(c, file, name, cls, rank, dims);
    if (dset < 0) return -1;
    int rc = 0;
    if (rank > 0 && memcmp(dims, want, (size_t)rank * sizeof *dims) != 0) {
        char got[64], expected[64];
        format_shape(got, sizeof got, rank, dims);
        format_shape(expected, sizeof expected, rank, want);
        rc = ncsn_seterr(c->err, "%s: %s has shape %s, expected %s", c->path, name, got,
                         expected);
    } else {
        hssize_t n = 1;
        for (int i = 0; i < rank; i++) n *= (hssize_t)dims[i];
        if (n > 0 && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            rc = h5_fail(c, "cannot read dataset", H5I_INVALID_HID, name);
    }
    ncsn_h5_close(dset);
    return rc;
}

/* Length of the 1-D dataset name. */
static int dataset_length(const h5ctx *c, hid_t file, const char *name, H5T_class_t cls,
                          hsize_t *n) {
    hid_t dset = open_dataset(c, file, name, cls, 1, n);
    if (dset < 0) return -1;
    ncsn_h5_close(dset);
    return 0;
}

/* ---- reading: the sections in order ---------------------------------------------------- */

/* format_version and status decide whether the rest is worth reading. */
static int check_header(const h5ctx *c, hid_t file) {
    int64_t version;
    if (read_attr_int64(c, file, "format_version", &version)) return -1;
    if (version > NCSN_FORMAT_VERSION)
        return ncsn_seterr(c->err, "%s: format_version %" PRId64
                                   " is newer than this ncsn reads (%d); upgrade ncsn",
                           c->path, version, NCSN_FORMAT_VERSION);
    if (version < 1)
        return ncsn_seterr(c->err, "%s: format_version %" PRId64 " is not valid", c->path,
                           version);
    char *status;
    if (read_attr_string(c, file, "status", &status)) return -1;
    int rc = 0;
    if (strcmp(status, "complete") != 0)
        rc = ncsn_seterr(c->err, "%s: status is \"%s\", not \"complete\": the run did not finish",
                         c->path, status);
    free(status);
    return rc;
}

static int read_config(const h5ctx *c, hid_t file, ncsn_config *cfg) {
    char *yaml;
    if (read_attr_string(c, file, "config_yaml", &yaml)) return -1;
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
static int read_model(const h5ctx *c, hid_t file, const ncsn_config *cfg, ncsn_model *m) {
    ncsn_model_alloc(m, cfg->dataset.dim, cfg->model.emb, cfg->model.hidden,
                     cfg->model.sigma_input, cfg->model.scale_by_sigma);
    for (int i = 0; i < NCSN_MODEL_N_TENSORS; i++) {
        const char *name;
        float *data;
        int rows, cols;
        ncsn_model_tensor(m, i, &name, &data, &rows, &cols);
        const char *dot = strrchr(name, '.');
        NCSN_ASSERT(dot);
        char object[NCSN_NAME_MAX + 16];
        snprintf(object, sizeof object, "/model/%.*s/%s", (int)(dot - name), name, dot + 1);
        hsize_t want[2] = {(hsize_t)rows, (hsize_t)cols};
        if (read_dataset(c, file, object, H5T_FLOAT, H5T_NATIVE_FLOAT, cols ? 2 : 1, want, data))
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

static int read_history(const h5ctx *c, hid_t file, ncsn_run_input *in) {
    hsize_t n_step, n_loss;
    if (dataset_length(c, file, "/train/step", H5T_INTEGER, &n_step) ||
        dataset_length(c, file, "/train/loss", H5T_FLOAT, &n_loss))
        return -1;
    if (n_step != n_loss)
        return ncsn_seterr(c->err, "%s: /train/step has %llu entries but /train/loss has %llu",
                           c->path, (unsigned long long)n_step, (unsigned long long)n_loss);
    if (n_loss > (hsize_t)INT32_MAX)
        return ncsn_seterr(c->err, "%s: /train/loss is too long (%llu)", c->path,
                           (unsigned long long)n_loss);
    in->n_loss = (int)n_loss;
    in->loss_step = ncsn_xcalloc(n_loss, sizeof *in->loss_step);
    in->loss = ncsn_xcalloc(n_loss, sizeof *in->loss);
    if (read_dataset(c, file, "/train/step", H5T_INTEGER, H5T_NATIVE_INT64, 1, &n_loss,
                     in->loss_step) ||
        read_dataset(c, file, "/train/loss", H5T_FLOAT, H5T_NATIVE_FLOAT, 1, &n_loss, in->loss))
        return -1;
    return 0;
}

/* /config's provenance strings, each left "" when the file predates it. */
static int read_provenance(const h5ctx *c, hid_t file, ncsn_run_input *in) {
    const struct {
        const char *name;
        char *to;
    } items[] = {{"sigma_1_source", in->sigma_1_source},
                 {"L_source", in->L_source},
                 {"eps_source", in->eps_source}};
    if (H5Lexists(file, "config", H5P_DEFAULT) <= 0) return 0;
    hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
    if (g < 0) return h5_fail(c, "cannot open group", H5I_INVALID_HID, "/config");
    int rc = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0] && rc == 0; i++) {
        htri_t exists = H5Aexists(g, items[i].name);
        if (exists < 0) rc = h5_fail(c, "cannot look up attribute", g, items[i].name);
        if (exists <= 0) continue;
        char *text;
        if ((rc = read_attr_string(c, g, items[i].name, &text)) == 0) {
            snprintf(items[i].to, sizeof in->sigma_1_source, "%s", text);
            free(text);
        }
    }
    ncsn_h5_close(g);
    return rc;
}

static int read_contents(const h5ctx *c, hid_t file, ncsn_run_input *in) {
    if (check_header(c, file) || read_config(c, file, &in->cfg) || read_provenance(c, file, in) ||
        read_model(c, file, &in->cfg, &in->model) || read_history(c, file, in) ||
        read_dataset(c, file, "/metrics/train_seconds", H5T_FLOAT, H5T_NATIVE_DOUBLE, 0, NULL,
                     &in->train_seconds) ||
        read_dataset(c, file, "/metrics/final_loss", H5T_FLOAT, H5T_NATIVE_DOUBLE, 0, NULL,
                     &in->final_loss))
        return -1;
    return 0;
}

typedef int (*reader_fn)(const h5ctx *c, hid_t file, void *data);

/* Opens path as HDF5 and hands it to read: the checks in the order that gives the most
 * useful message. */
static int read_file(const char *path, reader_fn read, void *data, ncsn_error *err) {
    const h5ctx c = {path, err};
    /* open(2) first, for errno's reason ("No such file or directory"). */
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ncsn_seterr(err, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    int is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    if (is_dir) return ncsn_seterr(err, "%s: cannot read: it is a directory", path);

    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    int rc;
    hid_t file = H5I_INVALID_HID;
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 == 0)
        rc = ncsn_seterr(err, "%s: not an HDF5 file", path);
    else if (is_hdf5 < 0 || (file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        rc = h5_fail(&c, "cannot open as HDF5", H5I_INVALID_HID, NULL);
    else
        rc = read(&c, file, data);
    ncsn_h5_close(file);
    ncsn_h5_quiet_end(&q);
    return rc;
}

static int run_file_reader(const h5ctx *c, hid_t file, void *data) {
    return read_contents(c, file, (ncsn_run_input *)data);
}

int ncsn_run_file_read(const char *path, ncsn_run_input *in, ncsn_error *err) {
    NCSN_ASSERT(path && in);
    memset(in, 0, sizeof *in);
    int rc = read_file(path, run_file_reader, in, err);
    if (rc) ncsn_run_input_free(in);
    return rc;
}

void ncsn_run_input_free(ncsn_run_input *in) {
    if (!in) return;
    ncsn_config_free(&in->cfg);
    ncsn_model_free(&in->model);
    free(in->loss_step);
    free(in->loss);
    memset(in, 0, sizeof *in);
}

/* ---- the checkpoint ------------------------------------------------------------------ */

/* /counters: step, epoch, pos, adam_t, level, steps, levels; /reals: train_seconds,
 * sample_seconds, final_loss. Datasets rather than attributes, so that their checksums
 * cover them. */
enum { CKPT_N_COUNTERS = 7, CKPT_N_REALS = 3 };

typedef struct {
    const ncsn_config *cfg;
    const ncsn_checkpoint *ck;
} checkpoint_out;

/* A float32 or int64 array stored in chunks of at most 64 MiB, each with a Fletcher-32
 * checksum that HDF5 verifies when it reads the chunk back. */
static int write_checked(const h5ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                         int rank, const hsize_t *dims, const void *data) {
    hsize_t chunk[2] = {dims[0], rank == 2 ? dims[1] : 1};
    const hsize_t row_bytes = 8 * (rank == 2 ? (dims[1] ? dims[1] : 1) : 1);
    const hsize_t max_rows = ((hsize_t)64 << 20) / row_bytes;
    if (chunk[0] > max_rows) chunk[0] = max_rows > 0 ? max_rows : 1;
    if (dims[0] == 0 || (rank == 2 && dims[1] == 0)) /* HDF5 has no empty chunks */
        return write_dataset(c, loc, name, ftype, mtype, rank, dims, data);
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    int rc = 0;
    if ((space = make_space(rank, dims)) < 0 || (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 ||
        H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_fletcher32(dcpl) < 0 ||
        (dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
        H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = h5_fail(c, "cannot write", loc, name);
    close_checked(c, dset, loc, name, &rc);
    close_checked(c, dcpl, loc, name, &rc);
    close_checked(c, space, loc, name, &rc);
    return rc;
}

static int write_f32_checked(const h5ctx *c, hid_t loc, const char *name, size_t n,
                             const float *v) {
    hsize_t dims[1] = {(hsize_t)n};
    return write_checked(c, loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims, v);
}

static int checkpoint_contents(const h5ctx *c, hid_t file, const void *data) {
    const ncsn_checkpoint *ck = ((const checkpoint_out *)data)->ck;
    char *yaml = ncsn_config_results_yaml(((const checkpoint_out *)data)->cfg);
    const hsize_t loss_dims[1] = {(hsize_t)ck->n_loss};
    const hsize_t sample_dims[2] = {(hsize_t)ck->n, (hsize_t)ck->D};
    const int64_t counters[CKPT_N_COUNTERS] = {ck->step,  ck->epoch, ck->pos,   ck->adam_t,
                                               ck->level, ck->steps, ck->levels};
    const double reals[CKPT_N_REALS] = {ck->train_seconds, ck->sample_seconds, ck->final_loss};
    const hsize_t counter_dims[1] = {CKPT_N_COUNTERS}, real_dims[1] = {CKPT_N_REALS};
    int rc = write_attr_int64(c, file, "checkpoint_version", NCSN_CHECKPOINT_VERSION) ||
             write_attr_string(c, file, "ncsn_version", NCSN_VERSION) ||
             write_attr_string(c, file, "phase",
                               ck->phase == NCSN_CHECKPOINT_SAMPLE ? "sample" : "train") ||
             write_attr_string(c, file, "config_yaml", yaml) ||
             write_checked(c, file, "counters", H5T_STD_I64LE, H5T_NATIVE_INT64, 1,
                           counter_dims, counters) ||
             write_checked(c, file, "reals", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, real_dims,
                           reals) ||
             write_f32_checked(c, file, "model", ck->n_params, ck->model) ||
             (ck->ema && write_f32_checked(c, file, "ema", ck->n_params, ck->ema)) ||
             (ck->phase == NCSN_CHECKPOINT_TRAIN &&
              (write_f32_checked(c, file, "adam_m", ck->n_params, ck->adam_m) ||
               write_f32_checked(c, file, "adam_v", ck->n_params, ck->adam_v))) ||
             write_checked(c, file, "loss_step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, loss_dims,
                           ck->loss_step) ||
             write_checked(c, file, "loss", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, loss_dims,
                           ck->loss) ||
             (ck->phase == NCSN_CHECKPOINT_SAMPLE &&
              write_checked(c, file, "samples", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2,
                            sample_dims, ck->samples));
    free(yaml);
    return rc ? -1 : 0;
}

int ncsn_checkpoint_write(const char *path, const ncsn_config *cfg, const ncsn_checkpoint *ck,
                          ncsn_error *err) {
    NCSN_ASSERT(path && cfg && ck && ck->model && ck->n_loss >= 0);
    NCSN_ASSERT(ck->phase != NCSN_CHECKPOINT_TRAIN || (ck->adam_m && ck->adam_v));
    NCSN_ASSERT(ck->phase != NCSN_CHECKPOINT_SAMPLE || ck->samples);
    const checkpoint_out out = {cfg, ck};
    return write_atomically(path, checkpoint_contents, &out, err);
}

typedef struct {
    const ncsn_config *cfg;
    ncsn_checkpoint *ck;
} checkpoint_in;

static float *read_f32(const h5ctx *c, hid_t file, const char *name, size_t n, int *rc) {
    if (*rc) return NULL;
    float *v = ncsn_xmalloc(sizeof(float) * (n ? n : 1));
    hsize_t dims[1] = {(hsize_t)n};
    if (read_dataset(c, file, name, H5T_FLOAT, H5T_NATIVE_FLOAT, 1, dims, v) != 0) *rc = -1;
    return v;
}

/* A value of the checkpoint outside its range: the file is not one this run wrote. */
static int bad_value(const h5ctx *c, const char *name, long long v) {
    return ncsn_seterr(c->err, "%s: attribute %s = %lld is out of range for this run", c->path,
                       name, v);
}

static int checkpoint_reader(const h5ctx *c, hid_t file, void *data) {
    const ncsn_config *cfg = ((checkpoint_in *)data)->cfg;
    ncsn_checkpoint *ck = ((checkpoint_in *)data)->ck;
    int64_t version, step, epoch, pos, adam_t, level;
    char *phase = NULL, *yaml = NULL;
    if (read_attr_int64(c, file, "checkpoint_version", &version)) return -1;
    if (version != NCSN_CHECKPOINT_VERSION)
        return ncsn_seterr(c->err, "%s: checkpoint_version %lld is not the one this ncsn writes "
                           "(%d)", c->path, (long long)version, NCSN_CHECKPOINT_VERSION);
    if (read_attr_string(c, file, "phase", &phase)) return -1;
    const int is_train = strcmp(phase, "train") == 0, is_sample = strcmp(phase, "sample") == 0;
    free(phase);
    if (!is_train && !is_sample)
        return ncsn_seterr(c->err, "%s: phase is neither \"train\" nor \"sample\"", c->path);
    ck->phase = is_train ? NCSN_CHECKPOINT_TRAIN : NCSN_CHECKPOINT_SAMPLE;
    if (read_attr_string(c, file, "config_yaml", &yaml)) return -1;
    char *want = ncsn_config_results_yaml(cfg);
    const int same = strcmp(yaml, want) == 0;
    free(want);
    free(yaml);
    if (!same)
        return ncsn_seterr(c->err, "%s: is the checkpoint of a different configuration", c->path);
    int64_t counters[CKPT_N_COUNTERS];
    double reals[CKPT_N_REALS];
    const hsize_t counter_dims[1] = {CKPT_N_COUNTERS}, real_dims[1] = {CKPT_N_REALS};
    if (read_dataset(c, file, "/counters", H5T_INTEGER, H5T_NATIVE_INT64, 1, counter_dims,
                     counters) ||
        read_dataset(c, file, "/reals", H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, real_dims, reals))
        return -1;
    step = counters[0];
    epoch = counters[1];
    pos = counters[2];
    adam_t = counters[3];
    level = counters[4];
    if (counters[5] != cfg->train.steps) return bad_value(c, "steps", counters[5]);
    const int levels = ncsn_config_sampler_levels(cfg);
    if (counters[6] != levels) return bad_value(c, "levels", counters[6]);
    ck->steps = counters[5];
    ck->levels = levels;
    if (step < 0 || step > cfg->train.steps) return bad_value(c, "step", step);
    if (epoch < 0 || epoch > UINT32_MAX) return bad_value(c, "epoch", epoch);
    if (is_train && (pos < 0 || pos > cfg->dataset.n || (epoch == 0 && pos != cfg->dataset.n)))
        return bad_value(c, "pos", pos);
    if (adam_t != step) return bad_value(c, "adam_t", adam_t);
    if (level < 0 || level > levels || (is_train && level != 0))
        return bad_value(c, "level", level);
    ck->step = step;
    ck->epoch = (uint32_t)epoch;
    ck->pos = (int)pos;
    ck->adam_t = adam_t;
    ck->level = (int)level;
    ck->train_seconds = reals[0];
    ck->sample_seconds = reals[1];
    ck->final_loss = reals[2];
    int rc = 0;
    const size_t np = ck->n_params;
    ck->model = read_f32(c, file, "model", np, &rc);
    if (is_train && cfg->train.ema > 0) ck->ema = read_f32(c, file, "ema", np, &rc);
    if (is_train) {
        ck->adam_m = read_f32(c, file, "adam_m", np, &rc);
        ck->adam_v = read_f32(c, file, "adam_v", np, &rc);
    }
    if (rc) return -1;
    for (size_t j = 0; j < np; j++)
        if (!isfinite(ck->model[j]) || (ck->ema && !isfinite(ck->ema[j])))
            return ncsn_seterr(c->err, "%s: the weights hold a non-finite value at %zu", c->path,
                               j);
    hsize_t n_step, n_loss;
    if (dataset_length(c, file, "/loss_step", H5T_INTEGER, &n_step) ||
        dataset_length(c, file, "/loss", H5T_FLOAT, &n_loss))
        return -1;
    if (n_step != n_loss || n_loss > (hsize_t)step)
        return ncsn_seterr(c->err, "%s: the loss history has %llu steps and %llu losses for %lld "
                           "training steps", c->path, (unsigned long long)n_step,
                           (unsigned long long)n_loss, (long long)step);
    ck->n_loss = (int)n_loss;
    ck->loss_step = ncsn_xcalloc(n_loss ? n_loss : 1, sizeof *ck->loss_step);
    ck->loss = ncsn_xcalloc(n_loss ? n_loss : 1, sizeof *ck->loss);
    if (read_dataset(c, file, "/loss_step", H5T_INTEGER, H5T_NATIVE_INT64, 1, &n_loss,
                     ck->loss_step) ||
        read_dataset(c, file, "/loss", H5T_FLOAT, H5T_NATIVE_FLOAT, 1, &n_loss, ck->loss))
        return -1;
    if (is_sample) {
        ck->n = cfg->sample.n;
        ck->D = cfg->dataset.dim;
        const hsize_t dims[2] = {(hsize_t)ck->n, (hsize_t)ck->D};
        ck->samples = ncsn_xmalloc(sizeof(float) * ((size_t)ck->n * (size_t)ck->D + 1));
        if (read_dataset(c, file, "/samples", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dims, ck->samples))
            return -1;
    }
    return 0;
}

int ncsn_checkpoint_read(const char *path, const ncsn_config *cfg, size_t n_params,
                         ncsn_checkpoint *ck, ncsn_error *err) {
    NCSN_ASSERT(path && cfg && ck);
    memset(ck, 0, sizeof *ck);
    ck->n_params = n_params;
    checkpoint_in in = {cfg, ck};
    int rc = read_file(path, checkpoint_reader, &in, err);
    if (rc) ncsn_checkpoint_free(ck);
    return rc;
}

void ncsn_checkpoint_free(ncsn_checkpoint *ck) {
    if (!ck) return;
    free(ck->model);
    free(ck->ema);
    free(ck->adam_m);
    free(ck->adam_v);
    free(ck->loss_step);
    free(ck->loss);
    free(ck->samples);
    memset(ck, 0, sizeof *ck);
}

typedef struct {
    double train_done, sample_done;
} checkpoint_progress;

static int progress_reader(const h5ctx *c, hid_t file, void *data) {
    checkpoint_progress *p = data;
    int64_t counters[CKPT_N_COUNTERS];
    const hsize_t dims[1] = {CKPT_N_COUNTERS};
    char *phase = NULL;
    if (read_attr_string(c, file, "phase", &phase) ||
        read_dataset(c, file, "/counters", H5T_INTEGER, H5T_NATIVE_INT64, 1, dims, counters)) {
        free(phase);
        return -1;
    }
    const int sample = strcmp(phase, "sample") == 0;
    free(phase);
    const double steps = (double)counters[5], levels = (double)counters[6];
    p->train_done = sample ? 1 : steps > 0 ? (double)counters[0] / steps : 1;
    p->sample_done = !sample ? 0 : levels > 0 ? (double)counters[4] / levels : 1;
    if (!(p->train_done >= 0 && p->train_done <= 1 && p->sample_done >= 0 && p->sample_done <= 1))
        return ncsn_seterr(c->err, "%s: counters out of range", c->path);
    return 0;
}

int ncsn_checkpoint_progress(const char *path, double *train_done, double *sample_done) {
    checkpoint_progress p = {0, 0};
    ncsn_error err;
    if (read_file(path, progress_reader, &p, &err) != 0) return -1;
    *train_done = p.train_done;
    *sample_done = p.sample_done;
    return 0;
}
