/* h5util.h: the HDF5 helpers every writer and reader shares: the run file (io/runfile.c),
 * the checkpoint (io/checkpoint.c), the sweep summary (sweep/summary.c) and the data sets
 * read from files (data/dataset_h5.c, `ncsn techniques --data`).
 *   ncsn_h5_quiet_begin / _end   silence HDF5's own error printing, then restore it
 *   ncsn_h5_reason               the innermost reason of the last HDF5 failure, as text
 *                                ("truncated file: eof = ...", a system call's message)
 *   ncsn_h5_close                close any handle by its type; H5I_INVALID_HID is a no-op
 *   ncsn_h5_ctx, ncsn_h5_fail    one-line failures "PATH: what OBJECT (reason)"
 *   ncsn_h5_write_*              datasets, attributes and groups, every return checked,
 *                                explicit little-endian file types
 *   ncsn_h5_read_*               attributes and datasets checked for class and shape
 *   ncsn_h5_read_loss_history    a loss history: steps and losses, as long as each other
 *   ncsn_h5_read_file            open a file for reading, the checks in the order that
 *                                gives the most useful message, and hand it to a reader
 *   ncsn_h5_image                a whole HDF5 file built in memory, as bytes
 *   ncsn_h5_replace_file         that image written atomically over a path
 *   ncsn_h5_write_file           the same, with the temporary name "<path>.tmp.<pid>"
 *   ncsn_h5_read_array           an (N, D) array of numbers, read whole
 *   ncsn_h5_read_vector          an (N,) array of numbers, read whole
 *   ncsn_h5_array_shape          an (N, D) array's shape, checked like _read_array, unread */
#ifndef NCSN_H5UTIL_H
#define NCSN_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "ncsn/common.h"

typedef struct {
    H5E_auto2_t fn;
    void *data;
} ncsn_h5_quiet;

#define NCSN_H5_REASON_MAX 256

void ncsn_h5_quiet_begin(ncsn_h5_quiet *q);
void ncsn_h5_quiet_end(const ncsn_h5_quiet *q);
/* Must run right after the failing call: the next HDF5 call clears the error stack. */
void ncsn_h5_reason(char reason[NCSN_H5_REASON_MAX]);
herr_t ncsn_h5_close(hid_t id);

/* ---- failures ----------------------------------------------------------------------- */

typedef struct {
    const char *path; /* the name the user gave (messages never show a temporary name) */
    ncsn_error *err;
} ncsn_h5_ctx;

/* "PATH: WHAT OBJECT (reason)", where OBJECT is loc's HDF5 name joined with name; loc < 0
 * names name alone (or nothing when name is NULL). Returns -1. */
int ncsn_h5_fail(const ncsn_h5_ctx *c, const char *what, hid_t loc, const char *name);
/* Closes id; a failed close fails the operation (*rc) if nothing failed before it. */
void ncsn_h5_close_checked(const ncsn_h5_ctx *c, hid_t id, hid_t loc, const char *name,
                           int *rc);

/* ---- writing ------------------------------------------------------------------------ */

/* A dataspace of rank 0 (scalar), 1 or 2. */
hid_t ncsn_h5_space(int rank, const hsize_t *dims);
/* Variable-length UTF-8 string type (h5py reads it as str). Close it after use. */
hid_t ncsn_h5_vlen_utf8(void);
hid_t ncsn_h5_make_group(const ncsn_h5_ctx *c, hid_t loc, const char *name);
/* Dataset loc/name of file type ftype and shape dims (rank 0: scalar), filled from data
 * laid out as mtype. Contiguous, so h5py reads it in one piece. */
int ncsn_h5_write_dataset(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                          hid_t mtype, int rank, const hsize_t *dims, const void *data);
/* Attribute loc.name, as ncsn_h5_write_dataset. */
int ncsn_h5_write_attr(const ncsn_h5_ctx *c, hid_t loc, const char *name, hid_t ftype,
                       hid_t mtype, int rank, const hsize_t *dims, const void *data);
int ncsn_h5_write_attr_string(const ncsn_h5_ctx *c, hid_t loc, const char *name,
                              const char *s);
int ncsn_h5_write_attr_int64(const ncsn_h5_ctx *c, hid_t loc, const char *name, int64_t v);

/* ---- reading ------------------------------------------------------------------------ */

/* *s gets a malloc'd copy of the string attribute attr holds, variable- or fixed-length;
 * -1 (and *s NULL) when HDF5 fails: the caller reports it (ncsn_h5_reason). */
int ncsn_h5_attr_text(hid_t attr, char **s);
/* Attribute loc.name, one value of its class: missing ("missing attribute NAME (not an
 * ncsn run file?)"), of another class or shape, or unreadable fails. */
int ncsn_h5_read_attr_int64(const ncsn_h5_ctx *c, hid_t loc, const char *name, int64_t *v);
int ncsn_h5_read_attr_string(const ncsn_h5_ctx *c, hid_t loc, const char *name, char **s);
/* Reads dataset name (a path from the root) whole into buf as mtype; it must have class
 * cls, rank (at most 2) and shape want. */
int ncsn_h5_read_dataset(const ncsn_h5_ctx *c, hid_t file, const char *name, H5T_class_t cls,
                         hid_t mtype, int rank, const hsize_t *want, void *buf);
/* *n: the length of the 1-D dataset name of class cls. */
int ncsn_h5_dataset_length(const ncsn_h5_ctx *c, hid_t file, const char *name,
                           H5T_class_t cls, hsize_t *n);
/* A loss history: the 1-D datasets step_name (integers) and loss_name (floats), read whole
 * into *step (int64) and *loss (float), both malloc'd (at least one element, even for an
 * empty history; the caller frees them, on failure too) and *n long. check, given both
 * lengths before anything is read, returns 0 or -1 after wording its caller's own complaint
 * through c (lengths that differ, a history too long). */
typedef int (*ncsn_h5_history_check_fn)(const ncsn_h5_ctx *c, hsize_t n_step, hsize_t n_loss,
                                        const void *user);
int ncsn_h5_read_loss_history(const ncsn_h5_ctx *c, hid_t file, const char *step_name,
                              const char *loss_name, ncsn_h5_history_check_fn check,
                              const void *user, int *n, int64_t **step, float **loss);

/* Opens path read-only and hands it to read (which reports its own failures through c).
 * Before HDF5 sees it: "PATH: cannot open (errno's reason)", "PATH: cannot read: it is a
 * directory", "PATH: not an HDF5 file"; then "PATH: cannot open as HDF5 (reason)" (a
 * truncated copy fails here). HDF5's printing is off meanwhile. */
typedef int (*ncsn_h5_reader_fn)(const ncsn_h5_ctx *c, hid_t file, void *data);
int ncsn_h5_read_file(const char *path, ncsn_h5_reader_fn read, void *data, ncsn_error *err);

/* ---- whole files -------------------------------------------------------------------- */

/* Fills a new HDF5 file (the core driver: in memory, nothing touches the disk, so every
 * I/O error comes later from the caller's own write(2); it also sidesteps HDF5 1.10
 * leaving a dangling handle when H5Fclose fails to flush to a full disk) and returns its
 * bytes in *image (malloc'd) and *size. fill returns 0, or -1 after reporting its own
 * failure. Returns 0; -1 when fill failed; -2 when HDF5 failed at *what, for `reason`.
 * name only labels the file. */
typedef int (*ncsn_h5_fill_fn)(hid_t file, void *user);
int ncsn_h5_image(const char *name, ncsn_h5_fill_fn fill, void *user, void **image,
                  size_t *size, const char **what, char reason[NCSN_H5_REASON_MAX]);
/* The file fill builds (ncsn_h5_image, HDF5's printing off), written to tmp (fd: already
 * open on it, or -1) and renamed over path (ncsn_replace_file). On failure tmp is removed
 * and path left alone; errors name path. */
int ncsn_h5_replace_file(const char *path, const char *tmp, int fd, ncsn_h5_fill_fn fill,
                         void *user, ncsn_error *err);
/* The file contents builds, written to "<path>.tmp.<pid>" and renamed over path. The
 * temporary file is created first, so a missing directory or a permission problem is
 * reported with errno's reason ("PATH: cannot create (...)") before the file is built; a
 * directory at path is refused ("PATH: cannot write: it is a directory"). */
typedef int (*ncsn_h5_writer_fn)(const ncsn_h5_ctx *c, hid_t file, const void *data);
int ncsn_h5_write_file(const char *path, ncsn_h5_writer_fn contents, const void *data,
                       ncsn_error *err);

/* ---- (N, D) arrays ------------------------------------------------------------------ */

/* What ncsn_h5_read_array found; the callers word their own messages. */
typedef enum {
    NCSN_H5_ARRAY_OK,
    NCSN_H5_ARRAY_NO_FILE,     /* fopen(3) failed: errnum */
    NCSN_H5_ARRAY_NOT_HDF5,    /* not an HDF5 file */
    NCSN_H5_ARRAY_UNOPENABLE,  /* HDF5 cannot open it */
    NCSN_H5_ARRAY_NO_OBJECT,   /* no object under key */
    NCSN_H5_ARRAY_NOT_DATASET, /* an object, but a group (or a named type) */
    NCSN_H5_ARRAY_BAD_RANK,    /* rank is not 2 (1 for a vector) */
    NCSN_H5_ARRAY_NOT_NUMBERS, /* neither integers nor floats */
    NCSN_H5_ARRAY_BAD_SHAPE,   /* no rows, no columns, more than max_cols or too large */
    NCSN_H5_ARRAY_UNREADABLE,  /* H5Dread failed */
} ncsn_h5_array_status;

typedef struct {
    int rank;        /* BAD_RANK: the rank found (-1: none) */
    hsize_t dims[2]; /* BAD_SHAPE and OK: the shape */
    int errnum;      /* NO_FILE: errno */
} ncsn_h5_array_info;

/* Dataset key of file path, an (N, D) array of numbers (any integer or floating type),
 * read whole into *x (malloc'd, N * D values of mtype, elem_size bytes each) with
 * 1 <= N <= INT_MAX and 1 <= D <= max_cols. HDF5's printing is off meanwhile. */
ncsn_h5_array_status ncsn_h5_read_array(const char *path, const char *key, hid_t mtype,
                                        size_t elem_size, hsize_t max_cols, void **x,
                                        ncsn_h5_array_info *info);
/* The checks of ncsn_h5_read_array (any number of columns) without reading the values:
 * info->dims the shape (memory estimates know a file's size before reading it). */
ncsn_h5_array_status ncsn_h5_array_shape(const char *path, const char *key,
                                         ncsn_h5_array_info *info);
/* The same for an (N,) array (BAD_RANK unless rank 1); info->dims = {N, 1}. */
ncsn_h5_array_status ncsn_h5_read_vector(const char *path, const char *key, hid_t mtype,
                                         size_t elem_size, void **x, ncsn_h5_array_info *info);

#endif
