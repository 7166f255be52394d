/* sweep/state.c: a run's state in a sweep directory, the one definition (summary.h) that
 * the runner and the summary share, from which of the run's files exist (one run by stat,
 * or every run from one listing of runs/ and claims/); and setting aside a run file that
 * cannot be read, so that its run is queued again. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ncsn/summary.h"
#include "ncsn/text.h"

ncsn_run_state ncsn_run_state_of(int has_run_file, int has_failed, int has_claim) {
    if (has_failed) return NCSN_RUN_FAILED;
    if (has_run_file) return NCSN_RUN_FINISHED;
    if (has_claim) return NCSN_RUN_RUNNING;
    return NCSN_RUN_QUEUED;
}

static int exists(const char *dir, const char *sub, const char *id, const char *ext) {
    char *path = ncsn_xasprintf("%s/%s/%s%s", dir, sub, id, ext);
    struct stat st;
    const int found = stat(path, &st) == 0;
    free(path);
    return found;
}

ncsn_run_state ncsn_sweep_run_state(const char *dir, const char *id) {
    return ncsn_run_state_of(exists(dir, "runs", id, ".h5"), exists(dir, "runs", id, ".failed"),
                             exists(dir, "claims", id, ""));
}

/* The sorted names in a directory (none when it does not exist). */
typedef struct {
    char **names;
    size_t n;
} listing;

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *path, listing *l, ncsn_error *err) {
    memset(l, 0, sizeof *l);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) return 0;
        return ncsn_seterr(err, "%s: cannot list (%s)", path, strerror(errno));
    }
    size_t cap = 0;
    errno = 0;
    for (struct dirent *e; (e = readdir(d)); errno = 0) {
        if (e->d_name[0] == '.') continue;
        if (l->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(l->names, cap * sizeof *grown);
            NCSN_ASSERT(grown);
            l->names = grown;
        }
        l->names[l->n++] = ncsn_xstrdup(e->d_name);
    }
    int e = errno;
    closedir(d);
    if (e) return ncsn_seterr(err, "%s: cannot list (%s)", path, strerror(e));
    if (l->n) qsort(l->names, l->n, sizeof *l->names, cmp_names);
    return 0;
}

static int listed(const listing *l, const char *name) {
    return l->n && bsearch(&name, l->names, l->n, sizeof *l->names, cmp_names) != NULL;
}

static void listing_free(listing *l) {
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

int ncsn_sweep_states(const char *dir, const ncsn_sweep *s, unsigned char *state,
                      unsigned char *has_run_file, ncsn_error *err) {
    char *runs_dir = ncsn_xasprintf("%s/runs", dir), *claims_dir = ncsn_xasprintf("%s/claims", dir);
    listing runs = {0}, claims = {0};
    int rc = list_dir(runs_dir, &runs, err);
    if (rc == 0) rc = list_dir(claims_dir, &claims, err);
    for (int r = 0; rc == 0 && r < s->n_runs; r++) {
        const char *id = s->runs[r].id;
        char h5[64], failed[64];
        snprintf(h5, sizeof h5, "%s.h5", id);
        snprintf(failed, sizeof failed, "%s.failed", id);
        const int has_h5 = listed(&runs, h5);
        state[r] = (unsigned char)ncsn_run_state_of(has_h5, listed(&runs, failed),
                                                    listed(&claims, id));
        if (has_run_file) has_run_file[r] = (unsigned char)has_h5;
    }
    listing_free(&claims);
    listing_free(&runs);
    free(claims_dir);
    free(runs_dir);
    return rc;
}

/* Quotes, backslashes and control characters become spaces: the text goes into one
 * journal line as reason="...". */
static void plain_text(char *s) {
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

char *ncsn_sweep_set_aside_corrupt(const char *dir, const ncsn_sweep *s, int r, char *aside,
                                   size_t aside_size) {
    NCSN_ASSERT(dir && s && r >= 0 && r < s->n_runs && aside && aside_size > 0);
    const char *id = s->runs[r].id;
    aside[0] = '\0';
    if (ncsn_sweep_run_state(dir, id) != NCSN_RUN_FINISHED) return NULL;
    char *why = ncsn_sweep_run_file_problem(dir, s, r);
    if (!why) return NULL;
    char *from = ncsn_xasprintf("%s/runs/%s.h5", dir, id);
    int moved = 0, e = EEXIST;
    for (int k = 0; k < 1000 && !moved && e == EEXIST; k++) {
        if (k == 0) snprintf(aside, aside_size, "runs/%s.h5.corrupt", id);
        else snprintf(aside, aside_size, "runs/%s.h5.corrupt.%d", id, k);
        char *to = ncsn_xasprintf("%s/%s", dir, aside);
        struct stat st;
        if (lstat(to, &st) == 0) e = EEXIST; /* an earlier damaged file: keep it */
        else if (rename(from, to) == 0) moved = 1;
        else e = errno;
        free(to);
    }
    free(from);
    if (moved) { /* the claim of the run that wrote it: without it the run is queued */
        char *claim = ncsn_xasprintf("%s/claims/%s", dir, id);
        unlink(claim);
        free(claim);
    } else {
        char *more = ncsn_xasprintf("%s; cannot move it aside (%s)", why, strerror(e));
        free(why);
        why = more;
        aside[0] = '\0';
    }
    plain_text(why);
    return why;
}
