/* common.c: error buffers, checked allocation, clock. */
#include "ncsn/common.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int ncsn_seterr(ncsn_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void *ncsn_xmalloc_at(size_t bytes, const char *file, int line) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "ncsn: out of memory allocating %zu bytes at %s:%d\n", bytes, file, line);
        exit(NCSN_EXIT_RUNTIME);
    }
    return p;
}

void *ncsn_xcalloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "ncsn: out of memory allocating %zu x %zu bytes at %s:%d\n", count, size,
                file, line);
        exit(NCSN_EXIT_RUNTIME);
    }
    return p;
}

double ncsn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int ncsn_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
