/* sweep/summary.c: DIR/sweep.h5, the sweep's summary table (layout in summary.h).
 *
 * One call: take DIR/.summary.lock (flock), list DIR/runs and DIR/claims once, give every
 * run a row (its configuration first, then whatever its run file or runs/<id>.failed
 * says), build the whole summary file in memory (HDF5's core driver), write it to
 * "DIR/sweep.h5.tmp.<host>.<pid>", fsync and rename it over DIR/sweep.h5, release the
 * lock. The lock is held from the scan to the rename, so summaries are written in the
 * order their scans were taken: a later snapshot is never replaced by an earlier one.
 * ncsn_sweep_summary_refresh first tries DIR/.summary.wait without waiting: when another
 * process holds it, that process has yet to scan, so this call returns at once; else it
 * holds it until the summary lock is its own, so at most one process waits to scan.
 *
 * A run file is opened read-only without HDF5's file locking (run files are renamed into
 * place complete, so there is nothing to lock against, and locking fails on some parallel
 * file systems), and only its root attributes, /metrics scalars and the /config attributes
 * of the swept keys are read. Anything wrong with it makes that run's status "corrupt"
 * with the reason in `error`; it never fails the summary.
 *
 * Strings in /runs are fixed-length UTF-8 (NULLPAD), each column as wide as its longest
 * value: h5py returns compound string fields as bytes whatever their HDF5 string kind, and
 * fixed-length ones come back as a numpy "S" array, which np.char.decode and
 * pandas' .str.decode turn into str in one vectorised call (summary.h).
 *
 * HDF5's own error printing is off while ncsn_sweep_summary_write runs.
 *
 * Sections: HDF5 error handling | text helpers | the table (columns, cells) | filling a row
 * from the configuration | from the run file | from the directory | building the file |
 * locking and the atomic rewrite. */
#include "ncsn/h5util.h"
#include "ncsn/summary.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ncsn/io.h"
#include "ncsn/text.h"

/* ---- text helpers -------------------------------------------------------------------- */

/* An array as YAML flow text: "[a, b]" (rows entries, cols == 0) or "[[a, b], [c, d]]".
 * reals or ints holds rows * max(cols, 1) values. */
static char *flow_text(const double *reals, const int64_t *ints, int rows, int cols) {
    char *text = NULL, buf[NCSN_REAL_TEXT_MAX];
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    NCSN_ASSERT(f);
    int per_row = cols > 0 ? cols : rows, n_rows = cols > 0 ? rows : 1;
    fputc('[', f);
    for (int r = 0; r < n_rows; r++) {
        if (cols > 0) fprintf(f, "%s[", r ? ", " : "");
        for (int c = 0; c < per_row; c++) {
            size_t i = (size_t)r * (size_t)per_row + (size_t)c;
            if (reals) fprintf(f, "%s%s", c ? ", " : "", ncsn_format_real(reals[i], buf));
            else fprintf(f, "%s%" PRId64, c ? ", " : "", ints[i]);
        }
        if (cols > 0) fputc(']', f);
    }
    fputc(']', f);
    fclose(f);
    return text;
}

/* At most max bytes of s, cut at a UTF-8 character boundary, "..." marking a cut. */
enum { ERROR_TEXT_MAX = 1024 };
static void truncate_utf8(char *s, size_t max) {
    size_t n = strlen(s);
    if (n <= max) return;
    n = max - 3;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    memcpy(s + n, "...", 4);
}

/* ---- the table ----------------------------------------------------------------------- */

enum col_kind { COL_STR, COL_I64, COL_U64, COL_F64 };

typedef struct {
    const char *name; /* the field name (the dotted key for swept keys) */
    int kind;         /* enum col_kind */
    int key;          /* swept keys: the configuration key index; else -1 */
    int is_array;     /* a swept array key, written as YAML flow text */
    size_t width;     /* COL_STR: bytes of the longest value (at least 1) */
    size_t offset;    /* in a packed row */
} column;

typedef union {
    double f;
    int64_t i;
    uint64_t u;
    char *s; /* malloc'd */
} cell;

static const char *const METRIC_NAMES[] = {
    "mmd2",           "swd",           "mode_weight_error", "nll_true",        "final_loss",
    "train_seconds", "sample_seconds", "noise_floor_mmd2",  "noise_floor_swd", "fd",
    "noise_floor_fd", "nn_ratio",      "classifier_accuracy", "n_bad",
};
enum { N_METRICS = sizeof METRIC_NAMES / sizeof METRIC_NAMES[0] };

/* Fixed columns: id, group, repeat, status, seed, then the swept keys, the metrics, error. */
enum { C_ID, C_GROUP, C_REPEAT, C_STATUS, C_SEED, C_SWEPT };

typedef struct {
    int n_cols, n_swept, c_metrics, c_error;
    column *cols;
    int col_of_key[NCSN_MAX_KEYS]; /* configuration key index -> column, or -1 */
    int n_rows;
    cell *cells; /* (n_rows, n_cols) */
} table;

static cell *row_of(const table *t, int r) { return t->cells + (size_t)r * (size_t)t->n_cols; }

/* The kind of each key's column, from a default configuration's values. */
typedef struct {
    int kind[NCSN_MAX_KEYS], is_array[NCSN_MAX_KEYS];
} key_kinds;

static void note_kind(const ncsn_config_value *v, void *user) {
    key_kinds *k = user;
    int i = ncsn_config_key_index(v->key);
    if (i < 0 || i >= NCSN_MAX_KEYS) return;
    k->is_array[i] = v->rows > 0 || v->cols > 0;
    k->kind[i] = k->is_array[i] || v->type == NCSN_VALUE_STRING ? COL_STR
                 : v->type == NCSN_VALUE_REAL                   ? COL_F64
                 : v->is_unsigned                               ? COL_U64
                                                                : COL_I64;
}

/* Columns for sweep s and n_rows empty rows (s->n_runs for the summary). */
static int table_init(table *t, const ncsn_sweep *s, int n_rows, ncsn_error *err) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < NCSN_MAX_KEYS; i++) t->col_of_key[i] = -1;
    key_kinds kinds;
    memset(&kinds, 0, sizeof kinds);
    ncsn_config def;
    ncsn_config_default(&def);
    ncsn_config_visit(&def, note_kind, &kinds);
    ncsn_config_free(&def);

    t->cols = ncsn_xcalloc((size_t)(C_SWEPT + s->n_swept + N_METRICS + 1), sizeof *t->cols);
    static const column fixed[C_SWEPT] = {
        {"id", COL_STR, -1, 0, 0, 0},     {"group", COL_STR, -1, 0, 0, 0},
        {"repeat", COL_I64, -1, 0, 0, 0}, {"status", COL_STR, -1, 0, 0, 0},
        {"seed", COL_U64, -1, 0, 0, 0},
    };
    memcpy(t->cols, fixed, sizeof fixed);
    int n = C_SWEPT;
    for (int j = 0; j < s->n_swept; j++) {
        const char *key = s->swept_keys[j];
        int i = ncsn_config_key_index(key);
        if (i < 0 || i >= NCSN_MAX_KEYS) {
            free(t->cols);
            t->cols = NULL;
            return ncsn_seterr(err, "sweep summary: swept key \"%s\" is not a configuration key",
                               key);
        }
        /* The seed already has its column; a key listed twice gets one. */
        if (strcmp(key, "seed") == 0 || t->col_of_key[i] >= 0) continue;
        t->col_of_key[i] = n;
        t->cols[n++] = (column){key, kinds.kind[i], i, kinds.is_array[i], 0, 0};
    }
    t->n_swept = n - C_SWEPT;
    t->c_metrics = n;
    for (int m = 0; m < N_METRICS; m++) t->cols[n++] = (column){METRIC_NAMES[m], COL_F64, -1, 0, 0, 0};
    t->c_error = n;
    t->cols[n++] = (column){"error", COL_STR, -1, 0, 0, 0};
    t->n_cols = n;
    t->n_rows = n_rows;
    t->cells = ncsn_xcalloc((size_t)t->n_rows * (size_t)n + 1, sizeof *t->cells);
    return 0;
}

static void free_string_cells(const table *t, cell *row) {
    for (int c = 0; c < t->n_cols; c++)
        if (t->cols[c].kind == COL_STR) {
            free(row[c].s);
            row[c].s = NULL;
        }
}

static void table_free(table *t) {
    for (int r = 0; t->cells && r < t->n_rows; r++) free_string_cells(t, row_of(t, r));
    free(t->cells);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

static void set_string(cell *c, char *owned) {
    free(c->s);
    c->s = owned;
}

/* ---- filling a row: the configuration ------------------------------------------------ */

/* A key still "auto" has no number yet (config.c keeps a placeholder until the techniques
 * resolve it). */
static int key_is_auto(const ncsn_config *c, const char *key) {
    if (strcmp(key, "noise.sigma_1") == 0) return c->noise.sigma_1_auto;
    if (strcmp(key, "noise.L") == 0) return c->noise.L_auto;
    if (strcmp(key, "sample.eps") == 0) return c->sample.eps_auto;
    return 0;
}

typedef struct {
    const table *t;
    const ncsn_config *cfg;
    cell *row;
} config_fill;

static void fill_from_config(const ncsn_config_value *v, void *user) {
    config_fill *f = user;
    int i = ncsn_config_key_index(v->key);
    int c = i >= 0 && i < NCSN_MAX_KEYS ? f->t->col_of_key[i] : -1;
    if (c < 0) return;
    const column *col = &f->t->cols[c];
    cell *x = &f->row[c];
    int is_auto = key_is_auto(f->cfg, v->key);
    if (col->is_array) {
        set_string(x, v->type == NCSN_VALUE_REAL ? flow_text(v->reals, NULL, v->rows, v->cols)
                                                 : flow_text(NULL, v->ints, v->rows, v->cols));
    } else if (col->kind == COL_STR) {
        set_string(x, ncsn_xstrdup(v->type == NCSN_VALUE_STRING && v->string ? v->string : ""));
    } else if (col->kind == COL_F64) {
        x->f = is_auto || v->type != NCSN_VALUE_REAL ? NAN : v->reals[0];
    } else if (col->kind == COL_U64) {
        x->u = v->ints ? (uint64_t)v->ints[0] : 0;
    } else {
        x->i = is_auto || !v->ints ? -1 : v->ints[0];
    }
}

/* Everything the sweep itself knows: status "queued", metrics NaN, no error. */
static void fill_from_sweep(const table *t, const ncsn_sweep_run *run, cell *row) {
    set_string(&row[C_ID], ncsn_xstrdup(run->id));
    set_string(&row[C_GROUP], ncsn_xstrdup(run->group));
    row[C_REPEAT].i = run->repeat;
    set_string(&row[C_STATUS], ncsn_xstrdup("queued"));
    row[C_SEED].u = run->cfg.seed;
    config_fill f = {t, &run->cfg, row};
    ncsn_config_visit(&run->cfg, fill_from_config, &f);
    for (int m = 0; m < N_METRICS; m++) row[t->c_metrics + m].f = NAN;
    set_string(&row[t->c_error], ncsn_xstrdup(""));
}

/* ---- filling a row: the run file ----------------------------------------------------- */

typedef struct {
    const char *label; /* "runs/<id>.h5", for messages */
    char *why;         /* malloc'd: why the file is unusable */
} run_reader;

/* Records the first problem; returns -1. */
static int bad(run_reader *rr, const char *fmt, ...) NCSN_PRINTF(2, 3);
static int bad(run_reader *rr, const char *fmt, ...) {
    if (rr->why) return -1;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rr->why = ncsn_xasprintf("%s: %s", rr->label, msg);
    return -1;
}

/* As bad(), with HDF5's innermost reason appended. */
static int bad_h5(run_reader *rr, const char *what, const char *object) {
    char reason[NCSN_H5_REASON_MAX];
    ncsn_h5_reason(reason);
    return bad(rr, "%s %s (%s)", what, object, reason);
}

/* Attribute loc.name with its type, class and element count; -1 when it cannot be opened. */
static hid_t open_attr(run_reader *rr, hid_t loc, const char *name, const char *where,
                       hid_t *type, H5T_class_t *cls, hssize_t *npoints, int *rank,
                       hsize_t dims[2]) {
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) {
        bad_h5(rr, "cannot open attribute", where);
        return H5I_INVALID_HID;
    }
    hid_t space = H5Aget_space(attr);
    *type = H5Aget_type(attr);
    *cls = *type >= 0 ? H5Tget_class(*type) : H5T_NO_CLASS;
    *npoints = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    *rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (*rank >= 0 && *rank <= 2 && dims) H5Sget_simple_extent_dims(space, dims, NULL);
    ncsn_h5_close(space);
    if (*type < 0 || *npoints < 0 || *rank < 0) {
        bad_h5(rr, "cannot inspect attribute", where);
        ncsn_h5_close(*type);
        ncsn_h5_close(attr);
        return H5I_INVALID_HID;
    }
    return attr;
}

/* *s gets a malloc'd copy of a single string attribute, variable- or fixed-length. */
static int read_attr_string(run_reader *rr, hid_t loc, const char *name, const char *where,
                            char **s) {
    hid_t type;
    H5T_class_t cls;
    hssize_t np;
    int rank;
    hid_t attr = open_attr(rr, loc, name, where, &type, &cls, &np, &rank, NULL);
    if (attr < 0) return -1;
    int rc;
    if (cls != H5T_STRING || np != 1) rc = bad(rr, "attribute %s is not a single string", where);
    else if ((rc = ncsn_h5_attr_text(attr, s)) != 0) bad_h5(rr, "cannot read attribute", where);
    ncsn_h5_close(type);
    ncsn_h5_close(attr);
    return rc;
}

/* An integer held in an enum (h5py's bool) or integer type, as int64. */
static int read_attr_integer(run_reader *rr, hid_t attr, hid_t type, H5T_class_t cls,
                             const char *where, int64_t *v) {
    if (cls == H5T_INTEGER) {
        if (H5Aread(attr, H5T_NATIVE_INT64, v) < 0) return bad_h5(rr, "cannot read attribute", where);
        return 0;
    }
    /* HDF5 converts enums only to enums: read the enum as stored, then its base integer. */
    hid_t mtype = H5Tget_native_type(type, H5T_DIR_ASCEND);
    hid_t base = mtype >= 0 ? H5Tget_super(mtype) : H5I_INVALID_HID;
    size_t size = base >= 0 ? H5Tget_size(base) : 0;
    int is_signed = base >= 0 && H5Tget_sign(base) == H5T_SGN_2;
    unsigned char buf[8] = {0};
    int rc = 0;
    if (size == 0 || size > sizeof buf || H5Aread(attr, mtype, buf) < 0) {
        rc = bad_h5(rr, "cannot read attribute", where);
    } else if (size == 1) {
        *v = is_signed ? (int64_t)(int8_t)buf[0] : (int64_t)buf[0];
    } else if (size == 2) {
        int16_t a;
        uint16_t b;
        memcpy(&a, buf, 2);
        memcpy(&b, buf, 2);
        *v = is_signed ? a : b;
    } else if (size == 4) {
        int32_t a;
        uint32_t b;
        memcpy(&a, buf, 4);
        memcpy(&b, buf, 4);
        *v = is_signed ? a : (int64_t)b;
    } else {
        memcpy(v, buf, 8);
    }
    ncsn_h5_close(base);
    ncsn_h5_close(mtype);
    return rc;
}

/* /config attribute `key` into the row's cell for column col. */
static int read_config_attr(run_reader *rr, hid_t config, const column *col, cell *x) {
    char where[128];
    snprintf(where, sizeof where, "/config.%s", col->name);
    if (col->kind == COL_STR && !col->is_array) {
        char *s = NULL;
        if (read_attr_string(rr, config, col->name, where, &s)) return -1;
        set_string(x, s);
        return 0;
    }
    hid_t type;
    H5T_class_t cls;
    hssize_t np;
    int rank;
    hsize_t dims[2] = {0, 0};
    hid_t attr = open_attr(rr, config, col->name, where, &type, &cls, &np, &rank, dims);
    if (attr < 0) return -1;
    int rc = 0, numeric = cls == H5T_FLOAT || cls == H5T_INTEGER;
    if (col->is_array) {
        if (!numeric || rank > 2) {
            rc = bad(rr, "attribute %s is not an array of numbers", where);
        } else {
            double *v = ncsn_xcalloc((size_t)np + 1, sizeof *v);
            if (np > 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, v) < 0)
                rc = bad_h5(rr, "cannot read attribute", where);
            else if (rank == 2)
                set_string(x, flow_text(v, NULL, (int)dims[0], (int)dims[1]));
            else
                set_string(x, flow_text(v, NULL, (int)np, 0));
            free(v);
        }
    } else if (np != 1) {
        rc = bad(rr, "attribute %s is not a single value", where);
    } else if (col->kind == COL_F64) {
        if (!numeric) rc = bad(rr, "attribute %s is not a number", where);
        else if (H5Aread(attr, H5T_NATIVE_DOUBLE, &x->f) < 0)
            rc = bad_h5(rr, "cannot read attribute", where);
    } else if (col->kind == COL_U64) {
        if (cls != H5T_INTEGER) rc = bad(rr, "attribute %s is not an integer", where);
        else if (H5Aread(attr, H5T_NATIVE_UINT64, &x->u) < 0)
            rc = bad_h5(rr, "cannot read attribute", where);
    } else {
        if (cls != H5T_INTEGER && cls != H5T_ENUM)
            rc = bad(rr, "attribute %s is not an integer", where);
        else
            rc = read_attr_integer(rr, attr, type, cls, where, &x->i);
    }
    ncsn_h5_close(type);
    ncsn_h5_close(attr);
    return rc;
}

/* /metrics/<name>: absent is NaN (a run that stopped before measuring); present, it must be
 * one number. */
static int read_metric(run_reader *rr, hid_t metrics, const char *name, double *v) {
    char where[64];
    snprintf(where, sizeof where, "/metrics/%s", name);
    htri_t exists = H5Lexists(metrics, name, H5P_DEFAULT);
    if (exists < 0) return bad_h5(rr, "cannot look up", where);
    if (exists == 0) return 0;
    hid_t dset = H5Dopen2(metrics, name, H5P_DEFAULT);
    if (dset < 0) return bad_h5(rr, "cannot open dataset", where);
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int rc = 0;
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) rc = bad(rr, "%s is not a number", where);
    else if (np != 1) rc = bad(rr, "%s is not a single number", where);
    else if (H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = bad_h5(rr, "cannot read dataset", where);
    ncsn_h5_close(space);
    ncsn_h5_close(type);
    ncsn_h5_close(dset);
    return rc;
}

/* Group name in file; -1 when there is none (*failed = 0) or it cannot be opened (1). */
static hid_t open_optional_group(run_reader *rr, hid_t file, const char *name, int *failed) {
    htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    *failed = 0;
    if (exists == 0) return H5I_INVALID_HID;
    hid_t g = exists > 0 ? H5Gopen2(file, name, H5P_DEFAULT) : H5I_INVALID_HID;
    if (g < 0) {
        bad_h5(rr, "cannot open group", name);
        *failed = 1;
    }
    return g;
}

static int read_run_contents(run_reader *rr, hid_t file, const table *t, cell *row) {
    int64_t version = 0;
    char *status = NULL;
    hid_t type;
    H5T_class_t cls;
    hssize_t np;
    int rank;
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? "format_version" : "status";
        htri_t exists = H5Aexists(file, name);
        if (exists < 0) return bad_h5(rr, "cannot look up attribute", name);
        if (exists == 0) return bad(rr, "missing attribute %s (not an ncsn run file?)", name);
    }
    hid_t attr = open_attr(rr, file, "format_version", "format_version", &type, &cls, &np, &rank,
                           NULL);
    if (attr < 0) return -1;
    int rc = cls != H5T_INTEGER || np != 1
                 ? bad(rr, "attribute format_version is not a single integer")
             : H5Aread(attr, H5T_NATIVE_INT64, &version) < 0
                 ? bad_h5(rr, "cannot read attribute", "format_version")
                 : 0;
    ncsn_h5_close(type);
    ncsn_h5_close(attr);
    if (rc) return -1;
    if (version > NCSN_FORMAT_VERSION)
        return bad(rr, "format_version %" PRId64 " is newer than this ncsn reads (%d)", version,
                   NCSN_FORMAT_VERSION);
    if (version < 1) return bad(rr, "format_version %" PRId64 " is not valid", version);
    if (read_attr_string(rr, file, "status", "status", &status)) return -1;
    if (!status[0]) {
        free(status);
        return bad(rr, "attribute status is empty");
    }
    set_string(&row[C_STATUS], status);

    int failed;
    hid_t metrics = open_optional_group(rr, file, "metrics", &failed);
    if (failed) return -1;
    for (int m = 0; m < N_METRICS && rc == 0; m++)
        rc = read_metric(rr, metrics, METRIC_NAMES[m], &row[t->c_metrics + m].f);
    ncsn_h5_close(metrics);
    if (rc) return -1;

    hid_t config = open_optional_group(rr, file, "config", &failed);
    if (failed) return -1;
    for (int c = C_SEED; config >= 0 && c < C_SWEPT + t->n_swept && rc == 0; c++) {
        htri_t exists = H5Aexists(config, t->cols[c].name);
        if (exists < 0) rc = bad_h5(rr, "cannot look up attribute in /config:", t->cols[c].name);
        else if (exists > 0) rc = read_config_attr(rr, config, &t->cols[c], &row[c]);
    }
    ncsn_h5_close(config);
    return rc;
}

/* Fills row from the run file at path. On failure row is left as the sweep filled it and
 * *why says what is wrong with the file. */
static int read_run_file(const char *path, const char *label, const table *t, cell *row,
                         char **why) {
    run_reader rr = {label, NULL};
    cell *scratch = ncsn_xcalloc((size_t)t->n_cols, sizeof *scratch);
    memcpy(scratch, row, (size_t)t->n_cols * sizeof *row);
    for (int c = 0; c < t->n_cols; c++)
        if (t->cols[c].kind == COL_STR) scratch[c].s = ncsn_xstrdup(row[c].s ? row[c].s : "");

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = H5I_INVALID_HID;
    int rc = fapl < 0 ? bad_h5(&rr, "cannot make a file access list for", "it") : 0;
#if H5_VERSION_GE(1, 10, 7)
    /* Complete run files are never written again; some parallel file systems refuse locks. */
    if (rc == 0 && H5Pset_file_locking(fapl, 0, 1) < 0)
        rc = bad_h5(&rr, "cannot switch off file locking for", "it");
#endif
    if (rc == 0 && (file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
        char reason[NCSN_H5_REASON_MAX];
        ncsn_h5_reason(reason);
        if (strstr(reason, "signature not found"))
            rc = bad(&rr, "not an HDF5 file (%s)", reason);
        else
            rc = bad(&rr, "cannot open as HDF5 (%s)", reason);
    }
    if (rc == 0) rc = read_run_contents(&rr, file, t, scratch);
    if (file >= 0 && H5Fclose(file) < 0 && rc == 0) rc = bad_h5(&rr, "cannot close", "it");
    ncsn_h5_close(fapl);

    if (rc == 0) {
        free_string_cells(t, row);
        memcpy(row, scratch, (size_t)t->n_cols * sizeof *row);
    } else {
        free_string_cells(t, scratch);
    }
    free(scratch);
    *why = rr.why;
    return rc;
}

/* ---- filling a row: the directory ---------------------------------------------------- */

/* runs/<id>.failed: its text without trailing white space, at most ERROR_TEXT_MAX bytes. */
static char *read_failed_reason(const char *path, const char *label) {
    FILE *f = fopen(path, "rb");
    if (!f) return ncsn_xasprintf("%s: cannot read (%s)", label, strerror(errno));
    char *text = ncsn_xcalloc(ERROR_TEXT_MAX + 2, 1);
    size_t n = fread(text, 1, ERROR_TEXT_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(text);
        return ncsn_xasprintf("%s: cannot read", label);
    }
    text[n] = '\0'; /* the text ends at a NUL byte, if it has one */
    size_t len = strlen(text);
    while (len > 0 && strchr(" \t\r\n", text[len - 1])) text[--len] = '\0';
    truncate_utf8(text, ERROR_TEXT_MAX);
    return text;
}

typedef struct {
    int n_complete, n_failed, n_running, n_queued;
} counts;

/* A summary whose rows are kept between rewrites (summary.h). A row is filled again only
 * when the listing it was filled from changes (a run file or runs/<id>.failed appears or
 * goes, a claim comes or goes): a run file is written once, complete, and never changed in
 * place, so a row read from it stays true while the file is there. */
struct ncsn_summary {
    const ncsn_sweep *s;
    table t;
    unsigned char *linked; /* (n_runs) run r's file opened: it gets a /run/<id> link */
    unsigned char *seen;   /* (n_runs) the listing row r was filled from: 1 + its state +
                              4 * (it had a run file); 0 before the first fill */
};

/* Fills row r from DIR as ncsn_sweep_states found run r: its configuration, then whatever
 * its run file or runs/<id>.failed says. */
static void fill_row(const char *dir, ncsn_summary *m, int r, ncsn_run_state state, int has_h5,
                     char *path, size_t path_size) {
    const table *t = &m->t;
    const ncsn_sweep_run *run = &m->s->runs[r];
    cell *row = row_of(t, r);
    char h5[64], failed[64], label[80];
    snprintf(h5, sizeof h5, "%s.h5", run->id);
    snprintf(failed, sizeof failed, "%s.failed", run->id);
    fill_from_sweep(t, run, row);
    m->linked[r] = 0;
    if (has_h5) { /* finished, or failed with a run file: the file says how */
        char *why = NULL;
        snprintf(path, path_size, "%s/runs/%s", dir, h5);
        snprintf(label, sizeof label, "runs/%s", h5);
        if (read_run_file(path, label, t, row, &why) == 0) {
            m->linked[r] = 1;
            if (state == NCSN_RUN_FAILED) { /* diverged, non-finite: why, as for any failure */
                snprintf(path, path_size, "%s/runs/%s", dir, failed);
                snprintf(label, sizeof label, "runs/%s", failed);
                set_string(&row[t->c_error], read_failed_reason(path, label));
            }
        } else {
            set_string(&row[C_STATUS], ncsn_xstrdup("corrupt"));
            truncate_utf8(why, ERROR_TEXT_MAX);
            set_string(&row[t->c_error], why);
        }
    } else if (state == NCSN_RUN_FAILED) {
        snprintf(path, path_size, "%s/runs/%s", dir, failed);
        snprintf(label, sizeof label, "runs/%s", failed);
        set_string(&row[C_STATUS], ncsn_xstrdup("failed"));
        set_string(&row[t->c_error], read_failed_reason(path, label));
    } else if (state == NCSN_RUN_RUNNING) {
        set_string(&row[C_STATUS], ncsn_xstrdup("running"));
    }
}

/* Every run's row, from one listing of DIR: rows whose listing changed are filled again. */
static int scan_runs(const char *dir, ncsn_summary *m, counts *n, ncsn_error *err) {
    const ncsn_sweep *s = m->s;
    memset(n, 0, sizeof *n);
    unsigned char *state = ncsn_xmalloc((size_t)s->n_runs + 1);
    unsigned char *has_h5 = ncsn_xmalloc((size_t)s->n_runs + 1);
    if (ncsn_sweep_states(dir, s, state, has_h5, err) != 0) {
        free(has_h5);
        free(state);
        return -1;
    }
    size_t path_size = strlen(dir) + 128;
    char *path = ncsn_xmalloc(path_size);
    for (int r = 0; r < s->n_runs; r++) {
        const unsigned char key = (unsigned char)(1 + state[r] + 4 * has_h5[r]);
        if (m->seen[r] != key) {
            fill_row(dir, m, r, (ncsn_run_state)state[r], has_h5[r], path, path_size);
            m->seen[r] = key;
        }
        const char *st = row_of(&m->t, r)[C_STATUS].s;
        if (strcmp(st, "complete") == 0) n->n_complete++;
        else if (strcmp(st, "running") == 0) n->n_running++;
        else if (strcmp(st, "queued") == 0) n->n_queued++;
        else n->n_failed++;
    }
    free(path);
    free(has_h5);
    free(state);
    return 0;
}

/* ---- building the file --------------------------------------------------------------- */

static hid_t fixed_utf8(size_t width) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, width) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* The row type: packed, in memory (native numbers) or in the file (little-endian). */
static hid_t row_type(const table *t, size_t row_size, int in_file) {
    hid_t type = H5Tcreate(H5T_COMPOUND, row_size);
    if (type < 0) return type;
    for (int c = 0; c < t->n_cols; c++) {
        const column *col = &t->cols[c];
        hid_t member = H5I_INVALID_HID;
        int ok;
        switch (col->kind) {
        case COL_STR:
            member = fixed_utf8(col->width);
            ok = member >= 0 && H5Tinsert(type, col->name, col->offset, member) >= 0;
            ncsn_h5_close(member);
            break;
        case COL_I64:
            ok = H5Tinsert(type, col->name, col->offset,
                           in_file ? H5T_STD_I64LE : H5T_NATIVE_INT64) >= 0;
            break;
        case COL_U64:
            ok = H5Tinsert(type, col->name, col->offset,
                           in_file ? H5T_STD_U64LE : H5T_NATIVE_UINT64) >= 0;
            break;
        default:
            ok = H5Tinsert(type, col->name, col->offset,
                           in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE) >= 0;
            break;
        }
        if (!ok) {
            H5Tclose(type);
            return H5I_INVALID_HID;
        }
    }
    return type;
}

/* Column widths and offsets, and the packed rows. */
static unsigned char *pack_rows(table *t, size_t *row_size) {
    size_t off = 0;
    for (int c = 0; c < t->n_cols; c++) {
        column *col = &t->cols[c];
        if (col->kind == COL_STR) {
            col->width = 1;
            for (int r = 0; r < t->n_rows; r++) {
                size_t n = strlen(row_of(t, r)[c].s);
                if (n > col->width) col->width = n;
            }
        } else {
            col->width = 8;
        }
        col->offset = off;
        off += col->width;
    }
    *row_size = off;
    unsigned char *buf = ncsn_xcalloc((size_t)t->n_rows * off + 1, 1);
    for (int r = 0; r < t->n_rows; r++) {
        const cell *row = row_of(t, r);
        unsigned char *p = buf + (size_t)r * off;
        for (int c = 0; c < t->n_cols; c++) {
            const column *col = &t->cols[c];
            if (col->kind == COL_STR) memcpy(p + col->offset, row[c].s, strlen(row[c].s));
            else memcpy(p + col->offset, &row[c], 8);
        }
    }
    return buf;
}

static int write_runs(const ncsn_h5_ctx *c, hid_t file, table *t) {
    size_t row_size;
    unsigned char *rows = pack_rows(t, &row_size);
    hsize_t dims[1] = {(hsize_t)t->n_rows};
    hid_t mtype = row_type(t, row_size, 0), ftype = row_type(t, row_size, 1);
    hid_t space = H5Screate_simple(1, dims, NULL), dset = H5I_INVALID_HID;
    int rc = 0;
    if (mtype < 0 || ftype < 0 || space < 0 ||
        (dset = H5Dcreate2(file, "runs", ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) <
            0 ||
        (t->n_rows > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0))
        rc = ncsn_h5_fail(c, "cannot write", H5I_INVALID_HID, "/runs");
    ncsn_h5_close_checked(c, dset, H5I_INVALID_HID, "/runs", &rc);
    ncsn_h5_close(space);
    ncsn_h5_close(ftype);
    ncsn_h5_close(mtype);
    free(rows);
    return rc;
}

static int write_links(const ncsn_h5_ctx *c, hid_t file, const ncsn_sweep *s,
                       const unsigned char *linked) {
    hid_t g = H5Gcreate2(file, "run", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return ncsn_h5_fail(c, "cannot create group", H5I_INVALID_HID, "/run");
    int rc = 0;
    for (int r = 0; r < s->n_runs && rc == 0; r++) {
        if (!linked[r]) continue;
        char target[64];
        snprintf(target, sizeof target, "runs/%s.h5", s->runs[r].id);
        if (H5Lcreate_external(target, "/", g, s->runs[r].id, H5P_DEFAULT, H5P_DEFAULT) < 0)
            rc = ncsn_h5_fail(c, "cannot create the external link /run/", H5I_INVALID_HID,
                              s->runs[r].id);
    }
    ncsn_h5_close_checked(c, g, H5I_INVALID_HID, "/run", &rc);
    return rc;
}

static int write_root_attrs(const ncsn_h5_ctx *c, hid_t file, const ncsn_sweep *s,
                            const counts *n, const char *updated) {
    return (ncsn_h5_write_attr_int64(c, file, "format_version", NCSN_SUMMARY_FORMAT_VERSION) ||
            ncsn_h5_write_attr_string(c, file, "ncsn_version", NCSN_VERSION) ||
            ncsn_h5_write_attr_int64(c, file, "n_runs", s->n_runs) ||
            ncsn_h5_write_attr_int64(c, file, "n_complete", n->n_complete) ||
            ncsn_h5_write_attr_int64(c, file, "n_failed", n->n_failed) ||
            ncsn_h5_write_attr_int64(c, file, "n_running", n->n_running) ||
            ncsn_h5_write_attr_int64(c, file, "n_queued", n->n_queued) ||
            ncsn_h5_write_attr_string(c, file, "updated", updated) ||
            ncsn_h5_write_attr_string(c, file, "sweep", s->canonical ? s->canonical : ""))
               ? -1
               : 0;
}

/* What fill_summary writes. */
typedef struct {
    const ncsn_h5_ctx *c;
    const ncsn_sweep *s;
    table *t;
    const unsigned char *linked;
    const counts *n;
    const char *updated;
} summary_fill;

static int fill_summary(hid_t file, void *user) {
    const summary_fill *f = user;
    return (write_root_attrs(f->c, file, f->s, f->n, f->updated) || write_runs(f->c, file, f->t) ||
            write_links(f->c, file, f->s, f->linked))
               ? -1
               : 0;
}

/* ---- locking and the atomic rewrite -------------------------------------------------- */

enum lock_state { LOCK_HELD, LOCK_BUSY, LOCK_NONE };

static int locking_unsupported(int e) {
    return e == ENOLCK || e == ENOSYS || e == EOPNOTSUPP || e == EINVAL;
}

/* An exclusive lock on DIR/name: flock, else a POSIX record lock where flock is not
 * supported (some Lustre mounts), else none (*state = LOCK_NONE: the rewrite stays atomic,
 * only the ordering of concurrent writers is lost). Without wait, *state = LOCK_BUSY when
 * another process holds it. Closing *fd releases the lock. */
static int lock_file(const char *dir, const char *name, int wait, int *fd, int *state,
                     ncsn_error *err) {
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = ncsn_xmalloc(size);
    snprintf(path, size, "%s/%s", dir, name);
    *state = LOCK_NONE;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) {
        int rc = ncsn_seterr(err, "%s: cannot open the lock file (%s)", path, strerror(errno));
        free(path);
        return rc;
    }
    int rc;
    while ((rc = flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR) {
    }
    if (rc != 0 && locking_unsupported(errno)) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        while ((rc = fcntl(*fd, wait ? F_SETLKW : F_SETLK, &fl)) != 0 && errno == EINTR) {
        }
        if (rc != 0 && (errno == EACCES || errno == EAGAIN)) errno = EWOULDBLOCK;
    }
    if (rc == 0) {
        *state = LOCK_HELD;
    } else if (!wait && errno == EWOULDBLOCK) {
        *state = LOCK_BUSY;
        rc = 0;
    } else if (locking_unsupported(errno)) {
        rc = 0; /* no locking here: go on unserialised */
    } else {
        rc = ncsn_seterr(err, "%s: cannot lock (%s)", path, strerror(errno));
    }
    if (rc != 0) {
        close(*fd);
        *fd = -1;
    }
    free(path);
    return rc;
}

/* "DIR/sweep.h5.tmp.<host>.<pid>" (malloc'd): unique to this writer on a shared disk. */
static char *temp_name(const char *dir) {
    char host[64] = "host";
    if (gethostname(host, sizeof host) != 0) strcpy(host, "host");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == '.') *p = '_';
    return ncsn_xasprintf("%s/sweep.h5.tmp.%s.%ld", dir, host, (long)getpid());
}

/* With the summary lock taken (lock_held: really held, not unsupported): list DIR once,
 * fill the rows that changed, and replace DIR/sweep.h5 (built in memory, written to the
 * temporary name, fsync'd, renamed over it). */
static int scan_and_write(const char *dir, ncsn_summary *m, int lock_held, ncsn_error *err) {
    char *path = ncsn_xasprintf("%s/sweep.h5", dir), *tmp = temp_name(dir);
    /* temporary files of writers that died holding the lock (only theirs while we hold it) */
    if (lock_held) ncsn_remove_prefixed(dir, "sweep.h5.tmp.");
    char updated[NCSN_ISO_TIME_MAX];
    ncsn_iso_time(updated, sizeof updated);
    counts n;
    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    int rc = scan_runs(dir, m, &n, err);
    ncsn_h5_quiet_end(&q);
    if (rc == 0) {
        const ncsn_h5_ctx c = {path, err};
        summary_fill f = {&c, m->s, &m->t, m->linked, &n, updated};
        rc = ncsn_h5_replace_file(path, tmp, -1, fill_summary, &f, err);
    }
    free(tmp);
    free(path);
    return rc;
}

static int check_dir(const char *dir, ncsn_error *err) {
    struct stat st;
    if (stat(dir, &st) != 0)
        return ncsn_seterr(err, "%s: cannot use as the sweep directory (%s)", dir,
                           strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ncsn_seterr(err, "%s: cannot use as the sweep directory (not a directory)", dir);
    return 0;
}

ncsn_summary *ncsn_summary_new(const ncsn_sweep *s, ncsn_error *err) {
    NCSN_ASSERT(s && s->n_runs >= 0 && s->n_swept >= 0);
    NCSN_ASSERT(s->runs || s->n_runs == 0);
    NCSN_ASSERT(s->swept_keys || s->n_swept == 0);
    ncsn_summary *m = ncsn_xcalloc(1, sizeof *m);
    m->s = s;
    if (table_init(&m->t, s, s->n_runs, err) != 0) {
        free(m);
        return NULL;
    }
    m->linked = ncsn_xcalloc((size_t)s->n_runs + 1, 1);
    m->seen = ncsn_xcalloc((size_t)s->n_runs + 1, 1);
    return m;
}

void ncsn_summary_free(ncsn_summary *m) {
    if (!m) return;
    if (m->t.cols) table_free(&m->t);
    free(m->linked);
    free(m->seen);
    free(m);
}

int ncsn_summary_update(ncsn_summary *m, const char *dir, int coalesce, ncsn_error *err) {
    NCSN_ASSERT(m && dir);
    if (check_dir(dir, err)) return -1;
    /* The waiter's lock: its holder has not begun its scan yet, so that scan will see every
     * change made before now. Released once the summary lock is ours, before our scan. */
    int wait_fd = -1, wait_state = LOCK_NONE;
    if (coalesce) {
        if (lock_file(dir, ".summary.wait", 0, &wait_fd, &wait_state, err)) return -1;
        if (wait_state == LOCK_BUSY) {
            close(wait_fd);
            return 0;
        }
    }
    int lock_fd = -1, lock_state = LOCK_NONE;
    int rc = lock_file(dir, ".summary.lock", 1, &lock_fd, &lock_state, err);
    if (wait_fd >= 0) close(wait_fd);
    if (rc == 0) rc = scan_and_write(dir, m, lock_state == LOCK_HELD, err);
    if (lock_fd >= 0) close(lock_fd); /* releases the lock */
    return rc ? -1 : 0;
}

/* A summary from scratch: every row read. */
static int summary_write(const char *dir, const ncsn_sweep *s, int coalesce, ncsn_error *err) {
    ncsn_summary *m = ncsn_summary_new(s, err);
    if (!m) return -1;
    int rc = ncsn_summary_update(m, dir, coalesce, err);
    ncsn_summary_free(m);
    return rc;
}

char *ncsn_sweep_run_file_problem(const char *dir, const ncsn_sweep *s, int r) {
    NCSN_ASSERT(dir && s && r >= 0 && r < s->n_runs);
    table t;
    ncsn_error err = {{0}};
    if (table_init(&t, s, 1, &err) != 0) return ncsn_xstrdup(err.msg);
    const ncsn_sweep_run *run = &s->runs[r];
    char *path = ncsn_xasprintf("%s/runs/%s.h5", dir, run->id);
    char *label = ncsn_xasprintf("runs/%s.h5", run->id);
    char *why = NULL;
    fill_from_sweep(&t, run, row_of(&t, 0));
    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    if (read_run_file(path, label, &t, row_of(&t, 0), &why) == 0) {
        free(why);
        why = NULL;
    } else if (!why) {
        why = ncsn_xasprintf("%s: cannot read", label);
    }
    ncsn_h5_quiet_end(&q);
    free(label);
    free(path);
    table_free(&t);
    return why;
}

int ncsn_sweep_summary_write(const char *dir, const ncsn_sweep *s, ncsn_error *err) {
    return summary_write(dir, s, 0, err);
}

int ncsn_sweep_summary_refresh(const char *dir, const ncsn_sweep *s, ncsn_error *err) {
    return summary_write(dir, s, 1, err);
}
