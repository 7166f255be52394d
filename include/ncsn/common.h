/* common.h: what every module shares.
 *   ncsn_error      a message buffer that failing functions fill (return -1)
 *   ncsn_seterr()   printf-style fill of an ncsn_error (NULL-safe)
 *   NCSN_ASSERT     invariant check that stays on in release builds
 *   ncsn_xmalloc()  malloc/calloc that abort with file:line on failure
 *   NCSN_FREE_ALL() free several pointers (any may be NULL) in one statement
 *   ncsn_now()      monotonic wall clock in seconds
 *   ncsn_write_all() write(2) until every byte is written
 *   ncsn_replace_file()  a file replaced atomically: temporary name, fsync, rename
 *   ncsn_remove_prefixed()  remove a directory's files whose names start with a prefix
 *   ncsn_remove_stale_temporaries()  remove a path's temporaries whose writer is dead
 *   ncsn_stop_*     the stop flag: set by SIGUSR1, SIGTERM or SIGINT once installed, checked
 *                   by the training loop (every step) and the sampler (every level)
 * Exit codes of the command line: 0 ok, 1 failure at run time, 2 usage or configuration,
 * 3 interrupted (a stop signal, or a sweep deferring runs that cannot finish before its
 * deadline): nothing was lost, and running the same command again continues. */
#ifndef NCSN_COMMON_H
#define NCSN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NCSN_EXIT_OK 0
#define NCSN_EXIT_RUNTIME 1
#define NCSN_EXIT_USAGE 2
#define NCSN_EXIT_INTERRUPTED 3

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
/* ncsn_xcalloc starting on a cache line (64 bytes; free() frees it), for arrays whose
 * pieces threads write at line boundaries (weights, gradients, Adam's moments, the training
 * step's tables): with malloc's 16-byte alignment, two threads' pieces would share a line at
 * every boundary. Touches every page (the caller writes them all anyway). */
void *ncsn_xcalloc_lines_at(size_t count, size_t size, const char *file, int line);
#define ncsn_xcalloc_lines(count, size) ncsn_xcalloc_lines_at((count), (size), __FILE__, __LINE__)

/* free() of each of ptrs (n), NULL ones included; NCSN_FREE_ALL(a, b, c) lists them. */
void ncsn_free_each(void *const *ptrs, size_t n);
#define NCSN_FREE_ALL(...)                                  \
    ncsn_free_each((void *const[]){__VA_ARGS__},            \
                   sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

double ncsn_now(void);

/* write(2) until done, retrying on EINTR; 0, or -1 with errno set. */
int ncsn_write_all(int fd, const void *data, size_t size);
/* data (size bytes) written to tmp (fd: already open on it, or -1 to create it), fsync'd,
 * renamed over path, and path's directory fsync'd: a reader sees the old file or the whole
 * new one, never part of it. On failure tmp is removed and path left alone; errors name
 * path. */
int ncsn_replace_file(const char *path, const char *tmp, int fd, const void *data, size_t size,
                      ncsn_error *err);
/* Removes every file in dir whose name starts with prefix (the temporary files of a writer
 * that died); errors are ignored. */
void ncsn_remove_prefixed(const char *dir, const char *prefix);
/* Removes path's temporaries "PATH.tmp.<pid>" (ncsn_replace_file's, the HDF5 writers')
 * whose process no longer runs on this machine: what a writer killed mid-write (kill -9)
 * left. Errors are ignored. */
void ncsn_remove_stale_temporaries(const char *path);

/* Number of OpenMP threads that parallel regions will use (1 without OpenMP). */
int ncsn_max_threads(void);

/* The stop flag. ncsn_stop_install() makes SIGUSR1, SIGTERM and SIGINT set it (handlers
 * with SA_RESTART that only store the signal number in a volatile sig_atomic_t; a second
 * SIGINT kills at once, as without the handler; SIGINT stays ignored if it was ignored, as
 * in background jobs of scripts). Long loops poll ncsn_stop_requested() at safe points
 * (training: before every step; sampling: before every level) and return early; their
 * callers return NCSN_EXIT_INTERRUPTED without writing results.
 *   ncsn_stop_signal()     the signal that set it first (0: none)
 *   ncsn_stop_request(sig) sets it by hand (tests); ncsn_stop_reset() clears it
 *   ncsn_stop_error(err)   fills err with "interrupted by SIGUSR1; ...", returns
 *                          NCSN_EXIT_INTERRUPTED
 * Without ncsn_stop_install() no signal sets the flag. */
void ncsn_stop_install(void);
int ncsn_stop_requested(void);
int ncsn_stop_signal(void);
const char *ncsn_stop_signal_name(void); /* "SIGUSR1", "SIGTERM", "SIGINT", "a signal" */
void ncsn_stop_request(int sig);
void ncsn_stop_reset(void);
int ncsn_stop_error(ncsn_error *err);

#endif
