/* h5util.h: small HDF5 helpers shared by the run file (io/runfile.c), the sweep summary
 * (sweep/summary.c) and the HDF5 data set reader.
 *   ncsn_h5_quiet_begin / _end   silence HDF5's own error printing, then restore it
 *   ncsn_h5_reason               the innermost reason of the last HDF5 failure, as text
 *                                ("truncated file: eof = ...", a system call's message)
 *   ncsn_h5_close                close any handle by its type; H5I_INVALID_HID is a no-op
 *   ncsn_h5_image                a whole HDF5 file built in memory, as bytes */
#ifndef NCSN_H5UTIL_H
#define NCSN_H5UTIL_H

#include <hdf5.h>

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

/* Fills a new HDF5 file (the core driver: in memory, nothing touches the disk, so every
 * I/O error comes later from the caller's own write(2); it also sidesteps HDF5 1.10
 * leaving a dangling handle when H5Fclose fails to flush to a full disk) and returns its
 * bytes in *image (malloc'd) and *size. fill returns 0, or -1 after reporting its own
 * failure. Returns 0; -1 when fill failed; -2 when HDF5 failed at *what, for `reason`.
 * name only labels the file. */
typedef int (*ncsn_h5_fill_fn)(hid_t file, void *user);
int ncsn_h5_image(const char *name, ncsn_h5_fill_fn fill, void *user, void **image,
                  size_t *size, const char **what, char reason[NCSN_H5_REASON_MAX]);

#endif
