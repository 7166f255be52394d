/* common.h: what every module shares.
 *   ncsn_error      a message buffer that failing functions fill (return -1)
 *   ncsn_seterr()   printf-style fill of an ncsn_error (NULL-safe)
 *   NCSN_ASSERT     invariant check that stays on in release builds
 *   ncsn_xmalloc()  malloc/calloc that abort with file:line on failure
 *   ncsn_now()      monotonic wall clock in seconds
 * Exit codes of the command line: 0 ok, 1 failure at run time, 2 usage or configuration. */
#ifndef NCSN_COMMON_H
#define NCSN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NCSN_EXIT_OK 0
#define NCSN_EXIT_RUNTIME 1
#define NCSN_EXIT_USAGE 2

typedef struct {
    char msg[1024];
} ncsn_error;

#if defined(__GNUC__)
#define NCSN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NCSN_PRINTF(a, b)
#endif

/* Fills err (if not NULL) and returns -1, so callers can `return ncsn_seterr(...)`. */
int ncsn_seterr(ncsn_error *err, const char *fmt, ...) NCSN_PRINTF(2, 3);

#define NCSN_ASSERT(cond)                                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "ncsn: internal error at %s:%d: assertion `%s' failed\n", \
                    __FILE__, __LINE__, #cond);                                       \
            abort();                                                                  \
        }                                                                             \
    } while (0)

void *ncsn_xmalloc_at(size_t bytes, const char *file, int line);
void *ncsn_xcalloc_at(size_t count, size_t size, const char *file, int line);
#define ncsn_xmalloc(bytes) ncsn_xmalloc_at((bytes), __FILE__, __LINE__)
#define ncsn_xcalloc(count, size) ncsn_xcalloc_at((count), (size), __FILE__, __LINE__)

double ncsn_now(void);

/* Number of OpenMP threads that parallel regions will use (1 without OpenMP). */
int ncsn_max_threads(void);

#endif
