/* util/common.c: error buffers, checked allocation, clock, the stop flag. */
#include "ncsn/common.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

void *ncsn_xcalloc_lines_at(size_t count, size_t size, const char *file, int line) {
    if (!count) count = 1;
    if (!size) size = 1;
    void *p = NULL;
    if (count > SIZE_MAX / size || posix_memalign(&p, 64, count * size) != 0) {
        fprintf(stderr, "ncsn: out of memory allocating %zu x %zu bytes at %s:%d\n", count, size,
                file, line);
        exit(NCSN_EXIT_RUNTIME);
    }
    memset(p, 0, count * size);
    return p;
}

void ncsn_free_each(void *const *ptrs, size_t n) {
    for (size_t i = 0; i < n; i++) free(ptrs[i]);
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

/* ---- the stop flag (common.h) ------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (sig == SIGINT && stop_signal != 0) {
        /* a second Ctrl-C: stop now, as if there were no handler */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    if (stop_signal == 0) stop_signal = sig;
}

void ncsn_stop_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* reads and writes in progress complete */
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGINT stays ignored where it was (background jobs of a non-interactive shell,
     * nohup): there Ctrl-C is not meant for us */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
}

int ncsn_stop_requested(void) { return stop_signal != 0; }

int ncsn_stop_signal(void) { return stop_signal; }

void ncsn_stop_request(int sig) {
    if (stop_signal == 0) stop_signal = sig > 0 ? sig : SIGUSR1;
}

void ncsn_stop_reset(void) { stop_signal = 0; }

const char *ncsn_stop_signal_name(void) {
    const int sig = stop_signal;
    return sig == SIGUSR1 ? "SIGUSR1" : sig == SIGTERM ? "SIGTERM"
         : sig == SIGINT  ? "SIGINT"  : "a signal";
}

int ncsn_stop_error(ncsn_error *err) {
    ncsn_seterr(err, "interrupted by %s; nothing was written (run again to redo it)",
                ncsn_stop_signal_name());
    return NCSN_EXIT_INTERRUPTED;
}

int ncsn_write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

int ncsn_replace_file(const char *path, const char *tmp, int fd, const void *data, size_t size,
                      ncsn_error *err) {
    if (fd < 0 && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
        return ncsn_seterr(err, "%s: cannot create %s (%s)", path, tmp, strerror(errno));
    int rc = 0;
    if (ncsn_write_all(fd, data, size) != 0)
        rc = ncsn_seterr(err, "%s: cannot write (%s)", path, strerror(errno));
    /* fsync before rename: the data must be on disk before the name points at it; close
     * can report a deferred write error (NFS) */
    if (rc == 0 && fsync(fd) != 0)
        rc = ncsn_seterr(err, "%s: cannot sync to disk (%s)", path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = ncsn_seterr(err, "%s: cannot write (%s)", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ncsn_seterr(err, "%s: cannot rename %s into place (%s)", path, tmp, strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    /* the rename is visible at once; syncing the directory makes it survive a crash */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort */
        close(dfd);
    }
    return 0;
}

void ncsn_remove_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return;
    const size_t n = strlen(prefix), size = strlen(dir) + 300;
    char *path = ncsn_xmalloc(size);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, n) == 0) {
            snprintf(path, size, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    free(path);
    closedir(d);
}

void ncsn_remove_stale_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    const size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char *dir = ncsn_xmalloc(dir_len + 2);
    if (slash) memcpy(dir, path, dir_len ? dir_len : 1), dir[dir_len ? dir_len : 1] = '\0';
    else strcpy(dir, ".");
    const char *base = slash ? slash + 1 : path;
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    const size_t n = strlen(base), size = strlen(dir) + strlen(base) + 64;
    char *file = ncsn_xmalloc(size);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *rest = e->d_name + n;
        if (strncmp(e->d_name, base, n) != 0 || strncmp(rest, ".tmp.", 5) != 0) continue;
        char *end;
        errno = 0;
        const long pid = strtol(rest + 5, &end, 10);
        if (end == rest + 5 || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer still runs */
        snprintf(file, size, "%s/%s", dir, e->d_name);
        unlink(file);
    }
    free(file);
    free(dir);
    closedir(d);
}
