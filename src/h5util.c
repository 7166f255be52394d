/* h5util.c: HDF5 error silencing, failure reasons and handle closing (see h5util.h). */
#include "ncsn/h5util.h"

#include <stdio.h>
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
