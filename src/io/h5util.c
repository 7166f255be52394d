/* io/h5util.c: the HDF5 helpers of h5util.h: error silencing and failure reasons, checked
 * writers and readers of datasets and attributes, files opened for reading with the most
 * useful message first, whole files built in memory and written atomically, and (N, D)
 * arrays of numbers.
 *
 * Sections: errors and handles | writing | reading | whole files | (N, D) arrays. */
#include "ncsn/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ncsn/text.h"

/* ---- errors and handles -------------------------------------------------------------- */

void ncsn_h5_quiet_begin(ncsn_h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ncsn_h5_quiet_end(const ncsn_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

/* The innermost entry of HDF5's error stack is where the problem was found ("truncated
 * file: eof = ...", "file signature not found"); a system call's message is cut out of
 * the driver's long report. */
static herr_t innermost_error(unsigned n, const H5E_error2_t *e, void *user) {
    char *reason = user;
    if (n != 0 || !e->desc || !e->desc[0]) return 0;
    const char *sys = strstr(e->desc, "error message = '");
    if (sys) {
        sys += strlen("error message = '");
        snprintf(reason, NCSN_H5_REASON_MAX, "%.*s", (int)strcspn(sys, "'"), sys);
    } else {
        snprintf(reason, NCSN_H5_REASON_MAX, "%s", e->desc);
    }
    return 0;
}

void ncsn_h5_reason(char reason[NCSN_H5_REASON_MAX]) {
    snprintf(reason, NCSN_H5_REASON_MAX, "HDF5 error");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, reason);
}

herr_t ncsn_h5_close(hid_t id) {
    if (id < 0) return 0;
    switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    default: return -1;
    }
}

int ncsn_h5_fail(const ncsn_h5_ctx *c, const char *what, hid_t loc, const char *name) {
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

void ncsn_h5_close_checked(const ncsn_h5_ctx *c, hid_t id, hid_t loc, const char *name,
                           int *rc) {
    if (ncsn_h5_close(id) < 0 && *rc == 0) *rc = ncsn_h5_fail(c, "cannot close", loc, name);
}


/* ---- writing ------------------------------------------------------------------------- */

hid_t ncsn_h5_space(int rank, const hsize_t *dims) {
    return rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
}

hid_t ncsn_h5_vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t ncsn_h5_make_group(const ncsn_h5_ctx *c, hid_t loc, const char *name) {
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) ncsn_h5_fail(c, "cannot create group", loc, name);
    return g;
}

/* A dataset (is_attr 0) or an attribute (1) loc/name, created and written in one go. */
static int write_object(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                        hid_t mtype, int rank, const hsize_t *dims, const void *data,
                        int is_attr) {
    hid_t space = H5I_INVALID_HID, obj = H5I_INVALID_HID;
    int rc = 0;
    if ((space = ncsn_h5_space(rank, dims)) < 0 ||
        (obj = is_attr ? H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)
                       : H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT)) < 0 ||
        (H5Sget_simple_extent_npoints(space) > 0 &&
         (is_attr ? H5Awrite(obj, mtype, data)
                  : H5Dwrite(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data)) < 0))
        rc = ncsn_h5_fail(c, is_attr ? "cannot write attribute" : "cannot write", loc, name);
    ncsn_h5_close_checked(c, obj, loc, name, &rc);
    ncsn_h5_close_checked(c, space, loc, name, &rc);
    return rc;
}

int ncsn_h5_write_dataset(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                          hid_t mtype, int rank, const hsize_t *dims, const void *data) {
    return write_object(c, loc, name, ftype, mtype, rank, dims, data, 0);
}

int ncsn_h5_write_attr(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                       hid_t mtype, int rank, const hsize_t *dims, const void *data) {
    return write_object(c, loc, name, ftype, mtype, rank, dims, data, 1);
}

int ncsn_h5_write_attr_string(const ncsn_h5_ctx *c, hid_t loc, const char *name,
                              const char *s) {
    hid_t t = ncsn_h5_vlen_utf8();
    if (t < 0) return ncsn_h5_fail(c, "cannot make a string type for", loc, name);
    int rc = ncsn_h5_write_attr(c, loc, name, t, t, 0, NULL, &s);
    ncsn_h5_close_checked(c, t, loc, name, &rc);
    return rc;
}

int ncsn_h5_write_attr_int64(const ncsn_h5_ctx *c, hid_t loc, const char *name, int64_t v) {
    return ncsn_h5_write_attr(c, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &v);
}

/* ---- reading ------------------------------------------------------------------------- */

static const char *class_name(H5T_class_t cls) {
    switch (cls) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    default: return "other";
    }
}

/* Opens attribute loc.name (is_attr 1) or dataset name, a path from the root of file loc
 * (is_attr 0); a missing one, or one HDF5 cannot open, is reported in c. */
static hid_t open_object(const ncsn_h5_ctx *c, hid_t loc, const char *name, int is_attr) {
    htri_t exists = is_attr ? H5Aexists(loc, name) : H5Lexists(loc, name, H5P_DEFAULT);
    if (exists < 0 && is_attr) {
        ncsn_h5_fail(c, "cannot look up attribute", loc, name);
        return H5I_INVALID_HID;
    }
    if (exists <= 0) {
        ncsn_seterr(c->err,
                    is_attr ? "%s: missing attribute %s (not an ncsn run file?)"
                            : "%s: missing dataset %s",
                    c->path, name);
        return H5I_INVALID_HID;
    }
    hid_t obj = is_attr ? H5Aopen(loc, name, H5P_DEFAULT) : H5Dopen2(loc, name, H5P_DEFAULT);
    if (obj < 0)
        ncsn_h5_fail(c, is_attr ? "cannot open attribute" : "cannot open dataset",
                     is_attr ? loc : H5I_INVALID_HID, name);
    return obj;
}

/* Opens attribute loc.name and checks that it is one value of class cls. */
static hid_t open_attr(const ncsn_h5_ctx *c, hid_t loc, const char *name, H5T_class_t cls) {
    hid_t attr = open_object(c, loc, name, 1);
    if (attr < 0) return H5I_INVALID_HID;
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

int ncsn_h5_attr_text(hid_t attr, char **s) {
    *s = NULL;
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
            if (size > 0 && H5Aread(attr, mtype, *s) >= 0) rc = 0;
        }
    }
    if (rc) {
        free(*s);
        *s = NULL;
    }
    ncsn_h5_close(mtype);
    ncsn_h5_close(ftype);
    return rc;
}

int ncsn_h5_read_attr_int64(const ncsn_h5_ctx *c, hid_t loc, const char *name, int64_t *v) {
    hid_t attr = open_attr(c, loc, name, H5T_INTEGER);
    if (attr < 0) return -1;
    int rc = H5Aread(attr, H5T_NATIVE_INT64, v) < 0
                 ? ncsn_h5_fail(c, "cannot read attribute", loc, name)
                 : 0;
    ncsn_h5_close(attr);
    return rc;
}

int ncsn_h5_read_attr_string(const ncsn_h5_ctx *c, hid_t loc, const char *name, char **s) {
    *s = NULL;
    hid_t attr = open_attr(c, loc, name, H5T_STRING);
    if (attr < 0) return -1;
    int rc = ncsn_h5_attr_text(attr, s) ? ncsn_h5_fail(c, "cannot read attribute", loc, name)
                                        : 0;
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
static hid_t open_dataset(const ncsn_h5_ctx *c, hid_t file, const char *name, H5T_class_t cls,
                          int rank, hsize_t *dims) {
    hid_t dset = open_object(c, file, name, 0);
    if (dset < 0) return H5I_INVALID_HID;
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

int ncsn_h5_read_dataset(const ncsn_h5_ctx *c, hid_t file, const char *name, H5T_class_t cls,
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
            rc = ncsn_h5_fail(c, "cannot read dataset", H5I_INVALID_HID, name);
    }
    ncsn_h5_close(dset);
    return rc;
}

int ncsn_h5_dataset_length(const ncsn_h5_ctx *c, hid_t file, const char *name,
                           H5T_class_t cls, hsize_t *n) {
    hid_t dset = open_dataset(c, file, name, cls, 1, n);
    if (dset < 0) return -1;
    ncsn_h5_close(dset);
    return 0;
}

int ncsn_h5_read_loss_history(const ncsn_h5_ctx *c, hid_t file, const char *step_name,
                              const char *loss_name, ncsn_h5_history_check_fn check,
                              const void *user, int *n, int64_t **step, float **loss) {
    hsize_t n_step, n_loss;
    if (ncsn_h5_dataset_length(c, file, step_name, H5T_INTEGER, &n_step) ||
        ncsn_h5_dataset_length(c, file, loss_name, H5T_FLOAT, &n_loss) ||
        check(c, n_step, n_loss, user))
        return -1;
    *n = (int)n_loss;
    *step = ncsn_xcalloc(n_loss, sizeof **step);
    *loss = ncsn_xcalloc(n_loss, sizeof **loss);
    if (ncsn_h5_read_dataset(c, file, step_name, H5T_INTEGER, H5T_NATIVE_INT64, 1, &n_loss,
                             *step) ||
        ncsn_h5_read_dataset(c, file, loss_name, H5T_FLOAT, H5T_NATIVE_FLOAT, 1, &n_loss,
                             *loss))
        return -1;
    return 0;
}

int ncsn_h5_read_file(const char *path, ncsn_h5_reader_fn read, void *data, ncsn_error *err) {
    const ncsn_h5_ctx c = {path, err};
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
        rc = ncsn_h5_fail(&c, "cannot open as HDF5", H5I_INVALID_HID, NULL);
    else
        rc = read(&c, file, data);
    ncsn_h5_close(file);
    ncsn_h5_quiet_end(&q);
    return rc;
}

/* ---- whole files --------------------------------------------------------------------- */

int ncsn_h5_image(const char *name, ncsn_h5_fill_fn fill, void *user, void **image,
                  size_t *size, const char **what, char reason[NCSN_H5_REASON_MAX]) {
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    int rc = 0;
    *image = NULL;
    *size = 0;
    *what = NULL;
    reason[0] = '\0';
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 ||
        (file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        *what = "cannot create the file in memory";
        ncsn_h5_reason(reason);
        rc = -2;
    }
    if (rc == 0 && fill(file, user) != 0) rc = -1;
    if (rc == 0 && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        *what = "cannot flush";
        ncsn_h5_reason(reason);
        rc = -2;
    }
    if (rc == 0) {
        ssize_t n = H5Fget_file_image(file, NULL, 0);
        if (n > 0) {
            *image = malloc((size_t)n);
            *size = (size_t)n;
        }
        if (n <= 0 || !*image || H5Fget_file_image(file, *image, (size_t)n) != n) {
            *what = "cannot take the file image";
            ncsn_h5_reason(reason);
            rc = -2;
        }
    }
    if (file >= 0 && H5Fclose(file) < 0 && rc == 0) {
        *what = "cannot close";
        ncsn_h5_reason(reason);
        rc = -2;
    }
    ncsn_h5_close(fapl);
    if (rc != 0) {
        free(*image);
        *image = NULL;
        *size = 0;
    }
    return rc;
}

int ncsn_h5_replace_file(const char *path, const char *tmp, int fd, ncsn_h5_fill_fn fill,
                         void *user, ncsn_error *err) {
    void *image = NULL;
    size_t size = 0;
    const char *what;
    char reason[NCSN_H5_REASON_MAX];
    ncsn_h5_quiet q;
    ncsn_h5_quiet_begin(&q);
    int rc = ncsn_h5_image(tmp, fill, user, &image, &size, &what, reason);
    ncsn_h5_quiet_end(&q);
    if (rc == -2) ncsn_seterr(err, "%s: %s (%s)", path, what, reason);
    if (rc == 0) {
        rc = ncsn_replace_file(path, tmp, fd, image, size, err);
    } else {
        if (fd >= 0) close(fd);
        unlink(tmp);
    }
    free(image);
    return rc ? -1 : 0;
}

/* ncsn_h5_write_file's contents as an ncsn_h5_fill_fn. */
typedef struct {
    const ncsn_h5_ctx *c;
    ncsn_h5_writer_fn contents;
    const void *data;
} fill_ctx;

static int fill_contents(hid_t file, void *user) {
    const fill_ctx *f = user;
    return f->contents(f->c, file, f->data);
}

int ncsn_h5_write_file(const char *path, ncsn_h5_writer_fn contents, const void *data,
                       ncsn_error *err) {
    const ncsn_h5_ctx c = {path, err};
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ncsn_seterr(err, "%s: cannot write: it is a directory", path);
    char *tmp = ncsn_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc;
    if (fd < 0) {
        rc = ncsn_seterr(err, "%s: cannot create (%s)", path, strerror(errno));
    } else {
        fill_ctx f = {&c, contents, data};
        rc = ncsn_h5_replace_file(path, tmp, fd, fill_contents, &f, err);
    }
    free(tmp);
    return rc;
}

/* ---- (N, D) arrays ------------------------------------------------------------------- */

/* The checks and the read of ncsn_h5_read_array, on an open file. */
static ncsn_h5_array_status read_array_from(hid_t file, const char *key, int want_rank,
                                            hid_t mtype, size_t elem_size, hsize_t max_cols,
                                            void **x, ncsn_h5_array_info *info) {
    ncsn_h5_array_status st = NCSN_H5_ARRAY_OK;
    hid_t obj = H5Oopen(file, key, H5P_DEFAULT), space = H5I_INVALID_HID,
          type = H5I_INVALID_HID;
    void *buf = NULL;
    hsize_t *dims = info->dims;
    if (obj < 0) return NCSN_H5_ARRAY_NO_OBJECT;
    if (H5Iget_type(obj) != H5I_DATASET) {
        st = NCSN_H5_ARRAY_NOT_DATASET;
        goto done;
    }
    space = H5Dget_space(obj);
    type = H5Dget_type(obj);
    info->rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    dims[1] = 1; /* an (N,) vector is read as N rows of one */
    if (info->rank == want_rank) H5Sget_simple_extent_dims(space, dims, NULL);
    if (info->rank != want_rank) st = NCSN_H5_ARRAY_BAD_RANK;
    else if (cls != H5T_FLOAT && cls != H5T_INTEGER) st = NCSN_H5_ARRAY_NOT_NUMBERS;
    else if (dims[0] < 1 || dims[1] < 1 || dims[0] > INT_MAX || dims[1] > max_cols ||
             dims[0] * dims[1] > (hsize_t)(SIZE_MAX / elem_size))
        st = NCSN_H5_ARRAY_BAD_SHAPE;
    if (st != NCSN_H5_ARRAY_OK || !x) goto done; /* x NULL: the shape only */
    buf = ncsn_xmalloc(elem_size * (size_t)(dims[0] * dims[1]));
    if (H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = NCSN_H5_ARRAY_UNREADABLE;
        goto done;
    }
    *x = buf;
    buf = NULL;
done:
    free(buf);
    ncsn_h5_close(type);
    ncsn_h5_close(space);
    if (obj >= 0) H5Oclose(obj);
    return st;
}

/* ncsn_h5_read_array and _read_vector: rank want_rank (2 or 1). */
static ncsn_h5_array_status read_file_array(const char *path, const char *key, int want_rank,
                                            hid_t mtype, size_t elem_size, hsize_t max_cols,
                                            void **x, ncsn_h5_array_info *info) {
    memset(info, 0, sizeof *info);
    if (x) *x = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        info->errnum = errno;
        return NCSN_H5_ARRAY_NO_FILE;
    }
    fclose(probe);
    ncsn_h5_quiet quiet;
    ncsn_h5_quiet_begin(&quiet);
    ncsn_h5_array_status st;
    hid_t file = H5I_INVALID_HID;
    if (H5Fis_hdf5(path) <= 0) st = NCSN_H5_ARRAY_NOT_HDF5;
    else if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        st = NCSN_H5_ARRAY_UNOPENABLE;
    else
        st = read_array_from(file, key, want_rank, mtype, elem_size, max_cols, x, info);
    ncsn_h5_close(file);
    ncsn_h5_quiet_end(&quiet);
    return st;
}

ncsn_h5_array_status ncsn_h5_read_array(const char *path, const char *key, hid_t mtype,
                                        size_t elem_size, hsize_t max_cols, void **x,
                                        ncsn_h5_array_info *info) {
    return read_file_array(path, key, 2, mtype, elem_size, max_cols, x, info);
}

ncsn_h5_array_status ncsn_h5_array_shape(const char *path, const char *key,
                                         ncsn_h5_array_info *info) {
    return read_file_array(path, key, 2, H5T_NATIVE_DOUBLE, sizeof(double), HSIZE_UNDEF - 1,
                           NULL, info);
}

ncsn_h5_array_status ncsn_h5_read_vector(const char *path, const char *key, hid_t mtype,
                                         size_t elem_size, void **x, ncsn_h5_array_info *info) {
    return read_file_array(path, key, 1, mtype, elem_size, 1, x, info);
}
