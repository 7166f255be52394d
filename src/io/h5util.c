/* io/h5util.c: HDF5 error silencing, failure reasons, handle closing and in-memory file
 * images (see h5util.h). */
#include "ncsn/h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
